/*
 * yaml: YAML <-> JSON conversion with sigs.k8s.io/yaml semantics.
 *
 * Reading walks libyaml's event stream and builds jansson values directly,
 * one stack frame per open mapping or sequence. Plain scalars are typed by
 * resolve_plain(), a transcription of go-yaml v2's YAML 1.1 rules. Anchors
 * keep the finished value plus its size and height, so an alias costs one
 * json_deep_copy() and the alias limits are checked in O(1) before copying.
 *
 * Errors come in go-yaml's stages, reported in its order of precedence:
 * a syntax error from libyaml ends parsing at once; a decode error (unknown
 * alias, bad merge, bad tag value, limits) stops building but the document
 * is still read to the end, since go-yaml parses a whole document before
 * decoding it and so reports a later syntax error first; duplicate keys are
 * collected ("unmarshal errors"); conversion errors (null keys, .inf) come
 * last, as sigs.k8s.io/yaml finds them after decoding.
 *
 * Writing drives libyaml's emitter with the style choices go-yaml v2 makes.
 */
#include "json/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define TAG_PREFIX  "tag:yaml.org,2002:"
#define MSG_PREFIX  "error converting YAML to JSON: "
#define TERRORS_MAX (64 * 1024)

/* ------------------------------------------------------------------ */
/* Scalar resolution (go-yaml v2 resolve.go semantics)                */
/* ------------------------------------------------------------------ */

enum kind {
	K_NULL,
	K_BOOL,
	K_INT,
	K_BIG,
	K_FLOAT,
	K_STR
};

/* A resolved scalar. K_BIG is an integer beyond int64, kept as a double. */
struct scalar {
	enum kind kind;
	int b;
	long long i;
	double f;
};

struct word {
	const char *text;
	enum kind kind;
	int sign; /* bool value, or for floats: 1 +inf, -1 -inf, 0 nan */
};

static const struct word words[] = {
	{"y", K_BOOL, 1},	{"Y", K_BOOL, 1},	{"yes", K_BOOL, 1},
	{"Yes", K_BOOL, 1},	{"YES", K_BOOL, 1},	{"true", K_BOOL, 1},
	{"True", K_BOOL, 1},	{"TRUE", K_BOOL, 1},	{"on", K_BOOL, 1},
	{"On", K_BOOL, 1},	{"ON", K_BOOL, 1},	{"n", K_BOOL, 0},
	{"N", K_BOOL, 0},	{"no", K_BOOL, 0},	{"No", K_BOOL, 0},
	{"NO", K_BOOL, 0},	{"false", K_BOOL, 0},	{"False", K_BOOL, 0},
	{"FALSE", K_BOOL, 0},	{"off", K_BOOL, 0},	{"Off", K_BOOL, 0},
	{"OFF", K_BOOL, 0},	{"", K_NULL, 0},	{"~", K_NULL, 0},
	{"null", K_NULL, 0},	{"Null", K_NULL, 0},	{"NULL", K_NULL, 0},
	{".nan", K_FLOAT, 0},	{".NaN", K_FLOAT, 0},	{".NAN", K_FLOAT, 0},
	{".inf", K_FLOAT, 1},	{".Inf", K_FLOAT, 1},	{".INF", K_FLOAT, 1},
	{"+.inf", K_FLOAT, 1},	{"+.Inf", K_FLOAT, 1},	{"+.INF", K_FLOAT, 1},
	{"-.inf", K_FLOAT, -1}, {"-.Inf", K_FLOAT, -1}, {"-.INF", K_FLOAT, -1},
};

static int lookup_word(const char *s, size_t n, struct scalar *out)
{
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].text) != n || memcmp(words[i].text, s, n))
			continue;
		out->kind = words[i].kind;
		out->b = words[i].sign;
		if (out->kind == K_FLOAT)
			out->f = words[i].sign ? words[i].sign * HUGE_VAL : NAN;
		return 1;
	}
	return 0;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* Number base chosen by Go's strconv base-0 prefix rules; advances *i. */
static unsigned int int_base(const char *s, size_t n, size_t *i)
{
	char c;

	if (n - *i < 2 || s[*i] != '0')
		return 10;
	c = (char)(s[*i + 1] | 0x20);
	*i += (c == 'x' || c == 'o' || c == 'b') ? 2 : 1;
	if (c == 'x')
		return 16;
	if (c == 'b')
		return 2;
	return 8;
}

/* Go's ParseInt/ParseUint(s, 0, 64) and big.Int fallback. 1 if valid. */
static int parse_go_int(const char *s, size_t n, struct scalar *out)
{
	unsigned long long acc = 0;
	double big = 0;
	unsigned int base;
	size_t i = 0;
	int neg = 0, over = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	base = int_base(s, n, &i);
	if (i >= n)
		return 0;
	for (; i < n; i++) {
		int d = digit_value(s[i]);

		if (d >= (int)base)
			return 0;
		if (acc > (ULLONG_MAX - (unsigned)d) / base)
			over = 1;
		else
			acc = acc * base + (unsigned)d;
		big = big * base + d;
	}
	if (!over && acc <= (unsigned long long)LLONG_MAX) {
		out->kind = K_INT;
		out->i = neg ? -(long long)acc : (long long)acc;
	} else if (!over && neg && acc == (unsigned long long)LLONG_MAX + 1) {
		out->kind = K_INT;
		out->i = LLONG_MIN;
	} else {
		out->kind = K_BIG;
		out->f = neg ? -big : big;
	}
	return 1;
}

static size_t skip_digits(const char *s, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && isdigit((unsigned char)s[*i]))
		(*i)++;
	return *i - start;
}

/* go-yaml's yamlStyleFloat:
 * ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int match_float(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		if (!skip_digits(s, n, &i))
			return 0;
	} else {
		if (!skip_digits(s, n, &i))
			return 0;
		if (i < n && s[i] == '.') {
			i++;
			skip_digits(s, n, &i);
		}
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!skip_digits(s, n, &i))
			return 0;
	}
	return i == n;
}

/* Float from text that matched match_float(); 0 when it overflows. */
static int parse_float(const char *s, size_t n, struct scalar *out)
{
	char *copy = xstrndup(s, n);
	double v;

	errno = 0;
	v = strtod(copy, NULL);
	free(copy);
	if (errno == ERANGE && isinf(v))
		return 0;
	out->kind = K_FLOAT;
	out->f = v;
	return 1;
}

/* Int or float from a scalar starting with a digit or sign. */
static void resolve_number(const char *s, size_t n, struct scalar *out)
{
	char *plain = xmalloc(n + 1);
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '_')
			plain[m++] = s[i];
	}
	plain[m] = '\0';
	if (!parse_go_int(plain, m, out) &&
	    !(match_float(plain, m) && parse_float(plain, m, out)))
		out->kind = K_STR;
	free(plain);
}

/* Type of an untagged plain scalar, exactly as go-yaml v2 resolves it. */
static void resolve_plain(const char *s, size_t n, struct scalar *out)
{
	unsigned char c = n ? (unsigned char)s[0] : 'N';

	memset(out, 0, sizeof(*out));
	out->kind = K_STR;
	if (lookup_word(s, n, out))
		return;
	if (c == '.') {
		if (match_float(s, n))
			parse_float(s, n, out);
	} else if (isdigit(c) || c == '+' || c == '-') {
		resolve_number(s, n, out);
	}
}

static const char *kind_tag(enum kind k)
{
	static const char *const names[] = {"null", "bool",  "int",
					    "int",  "float", "str"};
	return names[k];
}

/* ------------------------------------------------------------------ */
/* Builder state                                                      */
/* ------------------------------------------------------------------ */

struct frame {
	json_t *value; /* object or array under construction */
	int is_map;
	int have_key; /* map: a key was read, its value is next */
	int key_is_merge;
	int key_skip; /* key could not be converted; drop the value */
	int key_is_str;
	char *key;
	size_t key_len;
	unsigned long key_line;
	json_t *merges; /* objects from "<<", applied at the end */
	int anchor;	/* index into builder.anchors, or -1 */
	size_t nodes;
	int height;
};

struct anchor {
	char *name;
	json_t *value; /* NULL while the anchored node is still open */
	size_t nodes;
	int height;
};

struct builder {
	yaml_parser_t parser;
	struct frame *stack;
	size_t depth, stack_cap;
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
	json_t *root;
	size_t alias_uses, alias_nodes;
	struct buf terrors;
	int has_fatal, has_convert;
	char fatal[256];
	char convert[256];
	char msg[1024];
};

static void set_fatal(struct builder *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_fatal(struct builder *b, const char *fmt, ...)
{
	va_list ap;

	if (b->has_fatal)
		return;
	b->has_fatal = 1;
	va_start(ap, fmt);
	vsnprintf(b->fatal, sizeof(b->fatal), fmt, ap);
	va_end(ap);
}

static void set_convert(struct builder *b, const char *text)
{
	if (b->has_convert)
		return;
	b->has_convert = 1;
	snprintf(b->convert, sizeof(b->convert), "%s", text);
}

static void frame_release(struct frame *f)
{
	json_decref(f->value);
	json_decref(f->merges);
	free(f->key);
}

static void clear_key(struct frame *f)
{
	free(f->key);
	f->key = NULL;
	f->key_len = 0;
	f->have_key = 0;
	f->key_is_merge = 0;
	f->key_skip = 0;
	f->key_is_str = 0;
}

/* Forgets everything about the current document (anchors are per document). */
static void doc_reset(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->depth; i++)
		frame_release(&b->stack[i]);
	b->depth = 0;
	for (i = 0; i < b->nanchors; i++) {
		free(b->anchors[i].name);
		json_decref(b->anchors[i].value);
	}
	b->nanchors = 0;
	json_decref(b->root);
	b->root = NULL;
	b->alias_uses = 0;
	b->alias_nodes = 0;
	buf_reset(&b->terrors);
	b->has_fatal = 0;
	b->has_convert = 0;
}

static void builder_init(struct builder *b, const char *text, size_t len)
{
	memset(b, 0, sizeof(*b));
	if (!yaml_parser_initialize(&b->parser))
		abort(); /* only fails on out of memory */
	yaml_parser_set_input_string(&b->parser, (const unsigned char *)text,
				     len);
	buf_init(&b->terrors, TERRORS_MAX);
}

static void builder_release(struct builder *b)
{
	doc_reset(b);
	free(b->stack);
	free(b->anchors);
	buf_release(&b->terrors);
	yaml_parser_delete(&b->parser);
}

/* Records libyaml's error the way go-yaml's parser.fail() words it. */
static int syntax_error(struct builder *b)
{
	const yaml_parser_t *p = &b->parser;
	size_t line = 0;
	char where[48] = "";

	if (p->problem_mark.line != 0) {
		line = p->problem_mark.line;
		if (p->error == YAML_SCANNER_ERROR)
			line++;
	} else if (p->context_mark.line != 0) {
		line = p->context_mark.line;
	}
	if (line != 0)
		snprintf(where, sizeof(where), "line %zu: ", line);
	snprintf(b->msg, sizeof(b->msg), MSG_PREFIX "yaml: %s%s", where,
		 p->problem ? p->problem
			    : "unknown problem parsing YAML content");
	return ERR_PARSE;
}

/* ------------------------------------------------------------------ */
/* Anchors and keys                                                   */
/* ------------------------------------------------------------------ */

static int anchor_open(struct builder *b, const yaml_char_t *name)
{
	struct anchor *a;

	if (!name)
		return -1;
	if (b->nanchors == b->anchors_cap) {
		b->anchors_cap = b->anchors_cap ? 2 * b->anchors_cap : 8;
		b->anchors = xrealloc(b->anchors,
				      b->anchors_cap * sizeof(*b->anchors));
	}
	a = &b->anchors[b->nanchors];
	memset(a, 0, sizeof(*a));
	a->name = xstrdup((const char *)name);
	return (int)b->nanchors++;
}

/* Stores a finished anchored value; `v` is borrowed (increfed here). */
static void anchor_close(struct builder *b, int idx, json_t *v, size_t nodes,
			 int height)
{
	if (idx < 0)
		return;
	b->anchors[idx].value = json_incref(v);
	b->anchors[idx].nodes = nodes;
	b->anchors[idx].height = height;
}

/* The most recent anchor of that name (later definitions override). */
static const struct anchor *anchor_find(const struct builder *b,
					const char *name)
{
	size_t i;

	for (i = b->nanchors; i-- > 0;) {
		if (!strcmp(b->anchors[i].name, name))
			return &b->anchors[i];
	}
	return NULL;
}

/*
 * Go's strconv.FormatFloat(v, 'g', -1, bits): the shortest digits that
 * read back as the same float32/float64, in %e form when the exponent is
 * below -4 or at least 6 (Go's rule for shortest 'g').
 */
static void format_go_float(double v, int bits, char *out, size_t outlen)
{
	char digs[48];
	int prec;
	long exp;

	if (bits == 32)
		v = (float)v;
	if (isnan(v) || isinf(v)) {
		snprintf(out, outlen, "%s",
			 isnan(v) ? ".nan" : (v > 0 ? ".inf" : "-.inf"));
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(digs, sizeof(digs), "%.*e", prec - 1, v);
		if (bits == 32 ? strtof(digs, NULL) == (float)v
			       : strtod(digs, NULL) == v)
			break;
	}
	snprintf(digs, sizeof(digs), "%.*e", prec - 1, v);
	exp = strtol(strchr(digs, 'e') + 1, NULL, 10);
	if (exp < -4 || exp >= 6)
		snprintf(out, outlen, "%s", digs);
	else
		snprintf(out, outlen, "%.*f",
			 (int)(prec - 1 - exp > 0 ? prec - 1 - exp : 0), v);
}

/* JSON key text for a resolved scalar (sigs.k8s.io/yaml's conversion). */
static char *scalar_key(const struct scalar *sc, const char *s, size_t n,
			size_t *klen)
{
	char tmp[64];

	switch (sc->kind) {
	case K_STR:
		*klen = n;
		return xstrndup(s, n);
	case K_INT:
		snprintf(tmp, sizeof(tmp), "%lld", sc->i);
		break;
	case K_BIG:
		snprintf(tmp, sizeof(tmp), "%.0f", sc->f);
		break;
	case K_FLOAT:
		format_go_float(sc->f, 32, tmp, sizeof(tmp));
		break;
	case K_BOOL:
		snprintf(tmp, sizeof(tmp), "%s", sc->b ? "true" : "false");
		break;
	default:
		return NULL;
	}
	*klen = strlen(tmp);
	return xstrdup(tmp);
}

/* Go's %#v of a key for "already set in map": strings quoted. */
static void key_display(const struct frame *f, struct buf *out)
{
	size_t i;

	if (!f->key_is_str) {
		buf_append(out, f->key, f->key_len);
		return;
	}
	buf_putc(out, '"');
	for (i = 0; i < f->key_len; i++) {
		unsigned char c = (unsigned char)f->key[i];

		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c == '\n')
			buf_puts(out, "\\n");
		else if (c == '\t')
			buf_puts(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(out, "\\x%02x", c);
		else
			buf_putc(out, (char)c);
	}
	buf_putc(out, '"');
}

/* ------------------------------------------------------------------ */
/* Building values                                                    */
/* ------------------------------------------------------------------ */

/* A new JSON value for a resolved scalar; .inf/.nan become a deferred error. */
static json_t *scalar_json(struct builder *b, const struct scalar *sc,
			   const char *s, size_t n)
{
	json_t *v;

	switch (sc->kind) {
	case K_NULL:
		return json_null();
	case K_BOOL:
		return json_boolean(sc->b);
	case K_INT:
		return json_integer(sc->i);
	case K_BIG:
		return json_real(sc->f);
	case K_FLOAT:
		if (isnan(sc->f) || isinf(sc->f)) {
			set_convert(
				b, isnan(sc->f) ? "json: unsupported value: NaN"
				   : sc->f > 0
					   ? "json: unsupported value: +Inf"
					   : "json: unsupported value: -Inf");
			return json_null();
		}
		/* Go's encoder prints integral floats as integers. */
		if (floor(sc->f) == sc->f && fabs(sc->f) < 9.2e18)
			return json_integer((json_int_t)sc->f);
		return json_real(sc->f);
	default:
		v = json_stringn(s, n);
		return v ? v : json_string(""); /* libyaml checked UTF-8 */
	}
}

/* Resolves a scalar event honouring its tag; 0 or -1 with a fatal error. */
static int resolve_event(struct builder *b, const yaml_event_t *ev,
			 struct scalar *out)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *want;
	size_t plen = strlen(TAG_PREFIX);

	memset(out, 0, sizeof(*out));
	out->kind = K_STR;
	if (!tag) {
		if (ev->data.scalar.plain_implicit)
			resolve_plain(s, n, out);
		return 0;
	}
	if (strncmp(tag, TAG_PREFIX, plen))
		return 0; /* local or unknown tag: the text itself */
	want = tag + plen;
	if (strcmp(want, "int") && strcmp(want, "float") &&
	    strcmp(want, "bool") && strcmp(want, "null"))
		return 0; /* !!str, !!binary, !!timestamp, ...: a string */
	resolve_plain(s, n, out);
	if (!strcmp(kind_tag(out->kind), want))
		return 0;
	if (!strcmp(want, "float") && out->kind == K_INT) {
		out->kind = K_FLOAT;
		out->f = (double)out->i;
		return 0;
	}
	set_fatal(b, "cannot decode !!%s `%.*s` as a !!%s", kind_tag(out->kind),
		  (int)(n > 64 ? 64 : n), s, want);
	return -1;
}

static struct frame *top(struct builder *b)
{
	return b->depth ? &b->stack[b->depth - 1] : NULL;
}

/* Queues the value of a "<<" key; `v` is a new reference, consumed. */
static void add_merge(struct builder *b, struct frame *f, json_t *v,
		      int from_alias)
{
	int ok = json_is_object(v);

	if (!ok && json_is_array(v) && !from_alias) {
		size_t i;
		json_t *e;

		ok = 1;
		json_array_foreach(v, i, e)
		{
			if (!json_is_object(e))
				ok = 0;
		}
	}
	if (!ok) {
		set_fatal(b, "map merge requires map or sequence of maps as "
			     "the value");
		json_decref(v);
		return;
	}
	if (!f->merges)
		f->merges = json_array();
	if (json_is_object(v))
		json_array_append(f->merges, v);
	else
		json_array_extend(f->merges, v);
	json_decref(v);
}

/* Sets keys from merge sources that the mapping did not set itself. */
static void apply_merges(struct frame *f)
{
	size_t i, klen;
	json_t *src, *val;
	const char *key;

	json_array_foreach(f->merges, i, src)
	{
		json_object_keylen_foreach(src, key, klen, val)
		{
			if (!json_object_getn(f->value, key, klen))
				json_object_setn(f->value, key, klen, val);
		}
	}
}

/* Adds a finished value (new reference, consumed) to its parent. */
static void place(struct builder *b, json_t *v, size_t nodes, int height,
		  int from_alias)
{
	struct frame *f = top(b);

	if (!f) {
		json_decref(b->root);
		b->root = v;
		return;
	}
	f->nodes += nodes;
	if (height + 1 > f->height)
		f->height = height + 1;
	if (!f->is_map) {
		json_array_append_new(f->value, v);
		return;
	}
	if (f->key_is_merge) {
		add_merge(b, f, v, from_alias);
	} else if (f->key_skip) {
		json_decref(v);
	} else if (json_object_getn(f->value, f->key, f->key_len)) {
		buf_printf(&b->terrors, "\n  line %lu: key ", f->key_line);
		key_display(f, &b->terrors);
		buf_puts(&b->terrors, " already set in map");
		json_decref(v);
	} else {
		json_object_setn_new(f->value, f->key, f->key_len, v);
	}
	clear_key(f);
}

static int expecting_key(struct builder *b)
{
	struct frame *f = top(b);

	return f && f->is_map && !f->have_key;
}

static void on_start(struct builder *b, const yaml_event_t *ev, int is_map)
{
	struct frame *f;
	const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
					   : ev->data.sequence_start.anchor;

	if (expecting_key(b)) {
		set_fatal(b, "invalid map key: %s",
			  is_map ? "map[interface {}]interface {}"
				 : "[]interface {}");
		return;
	}
	if (b->depth >= YAML_MAX_DEPTH) {
		set_fatal(b, "exceeded max depth of %d", YAML_MAX_DEPTH);
		return;
	}
	if (b->depth == b->stack_cap) {
		b->stack_cap = b->stack_cap ? 2 * b->stack_cap : 16;
		b->stack = xrealloc(b->stack, b->stack_cap * sizeof(*b->stack));
	}
	f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->is_map = is_map;
	f->value = is_map ? json_object() : json_array();
	f->height = 1;
	f->anchor = anchor_open(b, anchor);
}

static void on_end(struct builder *b)
{
	struct frame f = b->stack[--b->depth];

	if (f.merges)
		apply_merges(&f);
	anchor_close(b, f.anchor, f.value, f.nodes + 1, f.height);
	place(b, f.value, f.nodes + 1, f.height, 0);
	f.value = NULL;
	frame_release(&f);
}

static int is_merge_key(const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;

	if (ev->data.scalar.length != 2 ||
	    memcmp(ev->data.scalar.value, "<<", 2))
		return 0;
	if (!tag)
		return ev->data.scalar.plain_implicit;
	return !strcmp(tag, TAG_PREFIX "merge");
}

static void take_key(struct builder *b, struct frame *f, char *key, size_t klen,
		     int is_str, unsigned long line)
{
	f->have_key = 1;
	f->key_line = line;
	f->key = key;
	f->key_len = klen;
	f->key_is_str = is_str;
	if (!key) {
		set_convert(b, "unsupported map key of type: %!s(<nil>), "
			       "key: <nil>");
		f->key_skip = 1;
	}
}

static void on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length, klen = 0;
	struct frame *f = top(b);
	struct scalar sc;
	json_t *v;
	char *key;

	if (resolve_event(b, ev, &sc))
		return;
	if (expecting_key(b) && is_merge_key(ev)) {
		f->have_key = 1;
		f->key_is_merge = 1;
		return;
	}
	if (expecting_key(b)) {
		key = scalar_key(&sc, s, n, &klen);
		take_key(b, f, key, klen, sc.kind == K_STR,
			 (unsigned long)ev->start_mark.line + 1);
		if (ev->data.scalar.anchor) {
			v = key ? json_stringn(key, klen) : json_null();
			anchor_close(b, anchor_open(b, ev->data.scalar.anchor),
				     v, 1, 0);
			json_decref(v);
		}
		return;
	}
	v = scalar_json(b, &sc, s, n);
	anchor_close(b, anchor_open(b, ev->data.scalar.anchor), v, 1, 0);
	place(b, v, 1, 0, 0);
}

/* Key text for an alias used as a key. */
static void alias_key(struct builder *b, const json_t *v, unsigned long line)
{
	struct scalar sc;

	memset(&sc, 0, sizeof(sc));
	switch (json_typeof(v)) {
	case JSON_STRING:
		take_key(b, top(b),
			 xstrndup(json_string_value(v), json_string_length(v)),
			 json_string_length(v), 1, line);
		return;
	case JSON_OBJECT:
	case JSON_ARRAY:
		set_fatal(b, "invalid map key: %s",
			  json_is_object(v) ? "map[interface {}]interface {}"
					    : "[]interface {}");
		return;
	case JSON_INTEGER:
		sc.kind = K_INT;
		sc.i = json_integer_value(v);
		break;
	case JSON_REAL:
		sc.kind = K_FLOAT;
		sc.f = json_real_value(v);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		sc.kind = K_BOOL;
		sc.b = json_is_true(v);
		break;
	default:
		sc.kind = K_NULL;
	}
	{
		size_t klen = 0;
		char *key = scalar_key(&sc, NULL, 0, &klen);

		take_key(b, top(b), key, klen, 0, line);
	}
}

static void on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = anchor_find(b, name);

	if (!a) {
		set_fatal(b, "unknown anchor '%s' referenced", name);
		return;
	}
	if (!a->value) {
		set_fatal(b, "anchor '%s' value contains itself", name);
		return;
	}
	b->alias_nodes += a->nodes;
	if (++b->alias_uses > YAML_MAX_ALIASES ||
	    b->alias_nodes > YAML_MAX_ALIAS_NODES) {
		set_fatal(b, "document contains excessive aliasing");
		return;
	}
	if (b->depth + (size_t)a->height > YAML_MAX_DEPTH) {
		set_fatal(b, "exceeded max depth of %d", YAML_MAX_DEPTH);
		return;
	}
	if (expecting_key(b)) {
		alias_key(b, a->value, (unsigned long)ev->start_mark.line + 1);
		return;
	}
	place(b, json_deep_copy(a->value), a->nodes, a->height, 1);
}

static void handle_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		on_scalar(b, ev);
		break;
	case YAML_ALIAS_EVENT:
		on_alias(b, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		on_start(b, ev, 0);
		break;
	case YAML_MAPPING_START_EVENT:
		on_start(b, ev, 1);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(b);
		break;
	default:
		break;
	}
}

/* Turns the collected non-syntax errors into the result. */
static int finish_document(struct builder *b, json_t **out)
{
	if (b->has_fatal) {
		snprintf(b->msg, sizeof(b->msg), MSG_PREFIX "yaml: %s",
			 b->fatal);
		return ERR_PARSE;
	}
	if (b->terrors.len) {
		snprintf(b->msg, sizeof(b->msg),
			 MSG_PREFIX "yaml: unmarshal errors:%s",
			 b->terrors.data);
		return ERR_PARSE;
	}
	if (b->has_convert) {
		snprintf(b->msg, sizeof(b->msg), MSG_PREFIX "%s", b->convert);
		return ERR_PARSE;
	}
	*out = b->root ? b->root : json_null();
	b->root = NULL;
	return 0;
}

/*
 * Reads events after DOCUMENT-START up to and including DOCUMENT-END.
 * Returns 0 with *out a new reference, or ERR_PARSE with b->msg set.
 */
static int load_document(struct builder *b, json_t **out)
{
	yaml_event_t ev;
	int done = 0, rc = 0;

	while (!done) {
		if (!yaml_parser_parse(&b->parser, &ev)) {
			rc = syntax_error(b);
			break;
		}
		done = ev.type == YAML_DOCUMENT_END_EVENT ||
		       ev.type == YAML_STREAM_END_EVENT;
		if (!b->has_fatal)
			handle_event(b, &ev);
		yaml_event_delete(&ev);
	}
	if (rc == 0)
		rc = finish_document(b, out);
	doc_reset(b);
	return rc;
}

/* Next stream-level event: 1 document start, 0 stream end, <0 error. */
static int next_document(struct builder *b)
{
	yaml_event_t ev;
	int rc;

	do {
		if (!yaml_parser_parse(&b->parser, &ev))
			return syntax_error(b);
		rc = ev.type == YAML_DOCUMENT_START_EVENT ? 1
		     : ev.type == YAML_STREAM_END_EVENT	  ? 0
							  : 2;
		yaml_event_delete(&ev);
	} while (rc == 2);
	return rc;
}

json_t *yaml_to_json(const char *text, size_t len, char *errbuf, size_t errlen)
{
	struct builder b;
	json_t *out = NULL;
	int rc;

	builder_init(&b, text, len);
	rc = next_document(&b);
	if (rc == 0)
		out = json_null();
	else if (rc > 0 && load_document(&b, &out) != 0)
		out = NULL;
	if (!out)
		err_set(errbuf, errlen, ERR_PARSE, "%s", b.msg);
	builder_release(&b);
	return out;
}

json_t *yaml_to_json_all(const char *text, size_t len, char *errbuf,
			 size_t errlen)
{
	struct builder b;
	json_t *all = json_array(), *doc;
	int rc;

	builder_init(&b, text, len);
	while ((rc = next_document(&b)) > 0) {
		rc = load_document(&b, &doc);
		if (rc)
			break;
		if (json_is_null(doc))
			json_decref(doc);
		else
			json_array_append_new(all, doc);
	}
	if (rc) {
		err_set(errbuf, errlen, ERR_PARSE, "%s", b.msg);
		json_decref(all);
		all = NULL;
	}
	builder_release(&b);
	return all;
}

/* ------------------------------------------------------------------ */
/* Writing YAML                                                       */
/* ------------------------------------------------------------------ */

/* go-yaml's isBase60Float: [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)? */
static int is_base60(const char *s, size_t n)
{
	size_t i = 0, groups = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || !isdigit((unsigned char)s[i]))
		return 0;
	while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'))
		i++;
	while (i < n && s[i] == ':') {
		i++;
		if (i + 1 < n && s[i] >= '0' && s[i] <= '5' &&
		    isdigit((unsigned char)s[i + 1]))
			i += 2;
		else if (i < n && isdigit((unsigned char)s[i]))
			i++;
		else
			return 0;
		groups++;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'))
			i++;
	}
	return groups > 0 && i == n;
}

/* Reads 1..max digits; 0 if none. */
static int take_digits(const char *s, size_t n, size_t *i, size_t max)
{
	size_t k = 0;

	while (*i < n && k < max && isdigit((unsigned char)s[*i])) {
		(*i)++;
		k++;
	}
	return k > 0;
}

/* Strings go-yaml would read back as a timestamp (hence quotes them). */
static int is_timestamp(const char *s, size_t n)
{
	size_t i = 0;
	char sep;

	if (!(take_digits(s, n, &i, 4) && i == 4 && i < n && s[i++] == '-' &&
	      take_digits(s, n, &i, 2) && i < n && s[i++] == '-' &&
	      take_digits(s, n, &i, 2)))
		return 0;
	if (i == n)
		return 1;
	sep = s[i++];
	if (sep != 'T' && sep != 't' && sep != ' ')
		return 0;
	if (!(take_digits(s, n, &i, 2) && i < n && s[i++] == ':' &&
	      take_digits(s, n, &i, 2) && i < n && s[i++] == ':' &&
	      take_digits(s, n, &i, 2)))
		return 0;
	if (i < n && s[i] == '.') {
		i++;
		if (!take_digits(s, n, &i, 9))
			return 0;
	}
	if (sep == ' ' || i == n)
		return i == n && sep == ' ';
	if (s[i] == 'Z')
		return i + 1 == n;
	if (s[i] != '+' && s[i] != '-')
		return 0;
	i++;
	return take_digits(s, n, &i, 2) && i < n && s[i++] == ':' &&
	       take_digits(s, n, &i, 2) && i == n;
}

/* The style go-yaml v2 picks for a string. */
static yaml_scalar_style_t string_style(const char *s, size_t n)
{
	struct scalar sc;

	if (memchr(s, '\n', n))
		return YAML_LITERAL_SCALAR_STYLE;
	resolve_plain(s, n, &sc);
	if (sc.kind != K_STR || is_base60(s, n) || is_timestamp(s, n) ||
	    (n == 2 && !memcmp(s, "<<", 2)))
		return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return YAML_PLAIN_SCALAR_STYLE;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, size_t n,
		       yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
					  (int)n, 1, 1, style))
		return 0;
	return yaml_emitter_emit(e, &ev);
}

static int emit_string(yaml_emitter_t *e, const char *s, size_t n)
{
	return emit_scalar(e, s, n, string_style(s, n));
}

struct key_ref {
	const char *s;
	size_t n;
	const json_t *v;
};

static int is_key_letter(unsigned char c)
{
	return isalpha(c) || c >= 0x80;
}

/* go-yaml v2's keyList.Less for string keys: letters after other
 * characters, runs of digits compared as numbers. */
static int key_cmp(const void *pa, const void *pb)
{
	const struct key_ref *a = pa, *b = pb;
	unsigned long long an, bn;
	size_t i, j, ai, bi;

	for (i = 0; i < a->n && i < b->n; i++) {
		unsigned char ca = (unsigned char)a->s[i];
		unsigned char cb = (unsigned char)b->s[i];

		if (ca == cb)
			continue;
		if (is_key_letter(ca) && is_key_letter(cb))
			return ca < cb ? -1 : 1;
		if (is_key_letter(ca) || is_key_letter(cb))
			return is_key_letter(cb) ? -1 : 1;
		an = bn = 0;
		if (ca == '0' || cb == '0') {
			for (j = i;
			     j-- > 0 && isdigit((unsigned char)a->s[j]);) {
				if (a->s[j] != '0') {
					an = bn = 1;
					break;
				}
			}
		}
		for (ai = i; ai < a->n && isdigit((unsigned char)a->s[ai]);
		     ai++)
			an = an * 10 + (unsigned)(a->s[ai] - '0');
		for (bi = i; bi < b->n && isdigit((unsigned char)b->s[bi]);
		     bi++)
			bn = bn * 10 + (unsigned)(b->s[bi] - '0');
		if (an != bn)
			return an < bn ? -1 : 1;
		if (ai != bi)
			return ai < bi ? -1 : 1;
		return ca < cb ? -1 : 1;
	}
	return a->n < b->n ? -1 : (a->n > b->n);
}

static int emit_value(yaml_emitter_t *e, const json_t *v);

static int emit_object(yaml_emitter_t *e, const json_t *v)
{
	size_t n = json_object_size(v), i = 0, klen;
	struct key_ref *keys = xcalloc(n ? n : 1, sizeof(*keys));
	const char *key;
	json_t *val;
	yaml_event_t ev;
	int ok;

	json_object_keylen_foreach((json_t *)v, key, klen, val)
	{
		keys[i].s = key;
		keys[i].n = klen;
		keys[i++].v = val;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						 YAML_BLOCK_MAPPING_STYLE) &&
	     yaml_emitter_emit(e, &ev);
	for (i = 0; ok && i < n; i++)
		ok = emit_string(e, keys[i].s, keys[i].n) &&
		     emit_value(e, keys[i].v);
	ok = ok && yaml_mapping_end_event_initialize(&ev) &&
	     yaml_emitter_emit(e, &ev);
	free(keys);
	return ok;
}

static int emit_array(yaml_emitter_t *e, const json_t *v)
{
	yaml_event_t ev;
	size_t i;
	int ok;

	ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						  YAML_BLOCK_SEQUENCE_STYLE) &&
	     yaml_emitter_emit(e, &ev);
	for (i = 0; ok && i < json_array_size(v); i++)
		ok = emit_value(e, json_array_get(v, i));
	return ok && yaml_sequence_end_event_initialize(&ev) &&
	       yaml_emitter_emit(e, &ev);
}

static int emit_value(yaml_emitter_t *e, const json_t *v)
{
	char tmp[64];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return emit_object(e, v);
	case JSON_ARRAY:
		return emit_array(e, v);
	case JSON_STRING:
		return emit_string(e, json_string_value(v),
				   json_string_length(v));
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		break;
	case JSON_REAL:
		format_go_float(json_real_value(v), 64, tmp, sizeof(tmp));
		break;
	case JSON_TRUE:
		snprintf(tmp, sizeof(tmp), "true");
		break;
	case JSON_FALSE:
		snprintf(tmp, sizeof(tmp), "false");
		break;
	default:
		snprintf(tmp, sizeof(tmp), "null");
	}
	return emit_scalar(e, tmp, strlen(tmp), YAML_PLAIN_SCALAR_STYLE);
}

static int write_out(void *data, unsigned char *buffer, size_t size)
{
	return buf_append(data, buffer, size) == 0;
}

/* Emits stream and document framing around `v`; 1 on success. */
static int emit_document(yaml_emitter_t *e, const json_t *v)
{
	yaml_event_t ev;

	return yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	       yaml_emitter_emit(e, &ev) &&
	       yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	       yaml_emitter_emit(e, &ev) && emit_value(e, v) &&
	       yaml_document_end_event_initialize(&ev, 1) &&
	       yaml_emitter_emit(e, &ev) &&
	       yaml_stream_end_event_initialize(&ev) &&
	       yaml_emitter_emit(e, &ev);
}

char *json_to_yaml(const json_t *value)
{
	yaml_emitter_t e;
	struct buf out;
	char *text = NULL;

	if (!value)
		return NULL;
	buf_init(&out, BUF_UNLIMITED);
	if (!yaml_emitter_initialize(&e))
		abort(); /* only fails on out of memory */
	yaml_emitter_set_output(&e, write_out, &out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_indent(&e, 2);
	if (emit_document(&e, value))
		text = buf_detach(&out, NULL);
	yaml_emitter_delete(&e);
	buf_release(&out);
	return text;
}

/*
 * selector: label and field selectors with Kubernetes' grammar and error
 * messages (see selector.h for the contracts).
 *
 * The label parser follows k8s.io/apimachinery labels.Parse: a lexer turns
 * the whole text into tokens first, then a recursive-descent parser with one
 * token of lookahead builds requirements, which are checked the way
 * labels.NewRequirement checks them (key, operator arity, value syntax). The
 * structured LabelSelector goes through the same checks. The field parser
 * follows fields.ParseSelector: split on unescaped commas, sort the terms,
 * split each at its first operator and unescape the value.
 */
#include "kube/selector.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

/* Limits and messages of k8s.io/apimachinery/pkg/util/validation. */
#define NAME_MAX_LEN	    63
#define SUBDOMAIN_MAX_LEN   253
#define LABEL_VALUE_MAX_LEN 63

#define QNAME_MSG                                                             \
	"must consist of alphanumeric characters, '-', '_' or '.', and must " \
	"start and end with an alphanumeric character (e.g. 'MyName',  or "   \
	"'my.name',  or '123-abc', regex used for validation is "             \
	"'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define SUBDOMAIN_MSG                                                          \
	"a lowercase RFC 1123 subdomain must consist of lower case "           \
	"alphanumeric characters, '-' or '.', and must start and end with an " \
	"alphanumeric character (e.g. 'example.com', regex used for "          \
	"validation is "                                                       \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABEL_VALUE_MSG                                                     \
	"a valid label must be an empty string or consist of alphanumeric " \
	"characters, '-', '_' or '.', and must start and end with an "      \
	"alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "      \
	"'12345', "                                                         \
	"regex used for validation is "                                     \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

/* ---- error lists, formatted like field.ErrorList.ToAggregate() ---- */

struct errlist {
	char **msgs;
	size_t n;
};

/* Takes ownership of msg; a message already present is dropped. */
static void errlist_add(struct errlist *l, char *msg)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->msgs[i], msg) == 0) {
			free(msg);
			return;
		}
	}
	l->msgs = xrealloc(l->msgs, (l->n + 1) * sizeof(*l->msgs));
	l->msgs[l->n++] = msg;
}

/* One message alone, several as "[a, b]". */
static void errlist_format(const struct errlist *l, struct buf *out)
{
	if (l->n == 1) {
		buf_puts(out, l->msgs[0]);
		return;
	}
	buf_putc(out, '[');
	for (size_t i = 0; i < l->n; i++)
		buf_printf(out, "%s%s", i ? ", " : "", l->msgs[i]);
	buf_putc(out, ']');
}

static void errlist_release(struct errlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->msgs[i]);
	free(l->msgs);
	l->msgs = NULL;
	l->n = 0;
}

/* ---- Go-style quoting, for "Invalid value: %q" ---- */

/* Length of the valid UTF-8 sequence starting at s (lead byte >= 0x80). */
static size_t utf8_seq_len(const unsigned char *s)
{
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static void quote_control(struct buf *b, unsigned char c)
{
	static const char from[] = "\a\b\f\n\r\t\v";
	static const char to[] = "abfnrtv";
	const char *hit = c ? strchr(from, c) : NULL;

	if (hit)
		buf_printf(b, "\\%c", to[hit - from]);
	else
		buf_printf(b, "\\x%02x", c);
}

/* Appends s as Go's %q would print it. */
static void go_quote(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	buf_putc(b, '"');
	while (*p) {
		if (*p == '"' || *p == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)*p++);
		} else if (*p >= 0x20 && *p < 0x7f) {
			buf_putc(b, (char)*p++);
		} else if (*p >= 0x80 && (n = utf8_seq_len(p)) > 0) {
			buf_append(b, p, n);
			p += n;
		} else {
			quote_control(b, *p++);
		}
	}
	buf_putc(b, '"');
}

/* "<path>: Invalid value: "<value>": <detail>", a new heap string. */
static char *invalid_msg(const char *path, const char *value,
			 const char *detail)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	buf_printf(&b, "%s: Invalid value: ", path);
	go_quote(&b, value);
	buf_printf(&b, ": %s", detail);
	return buf_detach(&b, NULL);
}

/* Same with a []string bad value, printed like Go's %#v. */
static char *invalid_list_msg(const char *path, char *const *values, size_t n,
			      const char *detail)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	buf_printf(&b, "%s: Invalid value: ", path);
	if (n == 0) {
		buf_puts(&b, "[]string(nil)");
	} else {
		buf_puts(&b, "[]string{");
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_puts(&b, ", ");
			go_quote(&b, values[i]);
		}
		buf_putc(&b, '}');
	}
	buf_printf(&b, ": %s", detail);
	return buf_detach(&b, NULL);
}

/* ---- key and value syntax ---- */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n). */
static bool matches_name(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return false;
	return true;
}

/* Dot-separated DNS-1123 labels over s[0..n). */
static bool matches_subdomain(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (i == start || !is_lower_alnum(s[start]) ||
		    !is_lower_alnum(s[i - 1]))
			return false;
		for (size_t j = start; j < i; j++)
			if (!is_lower_alnum(s[j]) && s[j] != '-')
				return false;
		start = i + 1;
	}
	return true;
}

static void add_reason(struct buf *why, const char *reason)
{
	if (why->len)
		buf_puts(why, "; ");
	buf_puts(why, reason);
}

/*
 * validation.IsQualifiedName: on failure returns false with the reasons,
 * joined by "; ", appended to the empty buffer `why`.
 */
static bool check_label_key(const char *key, struct buf *why)
{
	const char *slash = strchr(key, '/');
	const char *name = key;
	size_t len;

	if (slash && strchr(slash + 1, '/')) {
		add_reason(why, "a qualified name " QNAME_MSG
				" with an optional DNS subdomain prefix and "
				"'/' (e.g. 'example.com/MyName')");
		return false;
	}
	if (slash) {
		len = (size_t)(slash - key);
		name = slash + 1;
		if (len == 0)
			add_reason(why, "prefix part must be non-empty");
		if (len > SUBDOMAIN_MAX_LEN)
			add_reason(why, "prefix part must be no more than 253 "
					"characters");
		if (len > 0 && !matches_subdomain(key, len))
			add_reason(why, "prefix part " SUBDOMAIN_MSG);
	}
	len = strlen(name);
	if (len == 0)
		add_reason(why, "name part must be non-empty");
	else if (len > NAME_MAX_LEN)
		add_reason(why, "name part must be no more than 63 characters");
	if (!matches_name(name, len))
		add_reason(why, "name part " QNAME_MSG);
	return why->len == 0;
}

/* validation.IsValidLabelValue, reporting like check_label_key(). */
static bool check_label_value(const char *value, struct buf *why)
{
	size_t len = strlen(value);

	if (len > LABEL_VALUE_MAX_LEN)
		add_reason(why, "must be no more than 63 characters");
	if (len > 0 && !matches_name(value, len))
		add_reason(why, LABEL_VALUE_MSG);
	return why->len == 0;
}

/* strconv.ParseInt(s, 10, 64). */
static bool parse_int64(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0;
	uint64_t limit;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (*s == '\0')
		return false;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (*s < '0' || *s > '9' || v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg)
		*out = v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return true;
}

/* ---- requirements ---- */

enum label_op {
	OP_IN,
	OP_NOT_IN,
	OP_EQUALS,
	OP_DOUBLE_EQUALS,
	OP_NOT_EQUALS,
	OP_GT,
	OP_LT,
	OP_EXISTS,
	OP_DOES_NOT_EXIST,
};

struct requirement {
	char *key;
	enum label_op op;
	char **values;
	size_t nvalues;
	size_t seq; /* input position: keeps equal keys in input order */
};

struct label_selector {
	struct requirement *reqs;
	size_t n;
	size_t cap;
};

static void requirement_release(struct requirement *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	memset(r, 0, sizeof(*r));
}

static void requirement_add_value(struct requirement *r, const char *v,
				  size_t len)
{
	r->values = xrealloc(r->values, (r->nvalues + 1) * sizeof(*r->values));
	r->values[r->nvalues++] = xstrndup(v, len);
}

/* Adds v unless present: the parser's values form a set. */
static void requirement_add_unique(struct requirement *r, const char *v,
				   size_t len)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strlen(r->values[i]) == len &&
		    memcmp(r->values[i], v, len) == 0)
			return;
	requirement_add_value(r, v, len);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_values_arity(const struct requirement *r,
			       struct errlist *errs)
{
	const char *why = NULL;

	switch (r->op) {
	case OP_IN:
	case OP_NOT_IN:
		if (r->nvalues == 0)
			why = "for 'in', 'notin' operators, values set can't "
			      "be empty";
		break;
	case OP_EQUALS:
	case OP_DOUBLE_EQUALS:
	case OP_NOT_EQUALS:
		if (r->nvalues != 1)
			why = "exact-match compatibility requires one single "
			      "value";
		break;
	case OP_EXISTS:
	case OP_DOES_NOT_EXIST:
		if (r->nvalues != 0)
			why = "values set must be empty for exists and does "
			      "not exist";
		break;
	case OP_GT:
	case OP_LT:
		if (r->nvalues != 1)
			why = "for 'Gt', 'Lt' operators, exactly one value is "
			      "required";
		break;
	}
	if (why)
		errlist_add(errs, invalid_list_msg("values", r->values,
						   r->nvalues, why));
}

/* The checks of labels.NewRequirement, with its nil field path. */
static void requirement_validate(const struct requirement *r,
				 struct errlist *errs)
{
	struct buf why;
	int64_t ignored;

	buf_init(&why, BUF_UNLIMITED);
	if (!check_label_key(r->key, &why))
		errlist_add(errs, invalid_msg("key", r->key, why.data));
	check_values_arity(r, errs);
	for (size_t i = 0; i < r->nvalues && (r->op == OP_GT || r->op == OP_LT);
	     i++) {
		if (parse_int64(r->values[i], &ignored))
			continue;
		char *path = xasprintf("values[%zu]", i);
		errlist_add(errs, invalid_msg(path, r->values[i],
					      "for 'Gt', 'Lt' operators, the "
					      "value must be an integer"));
		free(path);
	}
	for (size_t i = 0; i < r->nvalues; i++) {
		buf_reset(&why);
		if (check_label_value(r->values[i], &why))
			continue;
		char *path = xasprintf("values[%zu][%s]", i, r->key);
		errlist_add(errs, invalid_msg(path, r->values[i], why.data));
		free(path);
	}
	buf_release(&why);
}

/*
 * Validates r and moves it into sel, or releases it and puts the aggregate
 * message into `msg`, returning `code`.
 */
static int selector_add(struct label_selector *sel, struct requirement *r,
			int code, struct buf *msg)
{
	struct errlist errs = {0};

	requirement_validate(r, &errs);
	if (errs.n) {
		errlist_format(&errs, msg);
		errlist_release(&errs);
		requirement_release(r);
		return code;
	}
	if (sel->n == sel->cap) {
		sel->cap = sel->cap ? sel->cap * 2 : 4;
		sel->reqs = xrealloc(sel->reqs, sel->cap * sizeof(*sel->reqs));
	}
	r->seq = sel->n;
	sel->reqs[sel->n++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

static int cmp_requirement(const void *a, const void *b)
{
	const struct requirement *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void selector_sort(struct label_selector *sel)
{
	if (sel->n > 1)
		qsort(sel->reqs, sel->n, sizeof(*sel->reqs), cmp_requirement);
}

/* ---- label selector lexer ---- */

enum token_type {
	TOK_EOS,
	TOK_CLOSE_PAR,
	TOK_COMMA,
	TOK_NOT,
	TOK_DOUBLE_EQUALS,
	TOK_EQUALS,
	TOK_GT,
	TOK_IDENT,
	TOK_IN,
	TOK_LT,
	TOK_NOT_EQUALS,
	TOK_NOT_IN,
	TOK_OPEN_PAR,
};

struct token {
	enum token_type type;
	const char *text;
	int len;
};

static const struct {
	const char *text;
	enum token_type type;
} keywords[] = {
	{")", TOK_CLOSE_PAR},	{",", TOK_COMMA},
	{"!", TOK_NOT},		{"==", TOK_DOUBLE_EQUALS},
	{"=", TOK_EQUALS},	{">", TOK_GT},
	{"in", TOK_IN},		{"<", TOK_LT},
	{"!=", TOK_NOT_EQUALS}, {"notin", TOK_NOT_IN},
	{"(", TOK_OPEN_PAR},
};

static bool keyword_lookup(const char *s, size_t len, enum token_type *type)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strlen(keywords[i].text) == len &&
		    memcmp(keywords[i].text, s, len) == 0) {
			*type = keywords[i].type;
			return true;
		}
	}
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c != '\0' && strchr("=!(),><", c) != NULL;
}

/* Longest operator made of special characters at p. */
static const char *scan_special(const char *p, struct token *t)
{
	enum token_type type;

	t->len = 0;
	for (size_t n = 1; is_special(p[n - 1]); n++) {
		if (!keyword_lookup(p, n, &type))
			break;
		t->type = type;
		t->len = (int)n;
	}
	return p + t->len;
}

static const char *scan_word(const char *p, struct token *t)
{
	size_t n = 0;

	while (p[n] && !is_space(p[n]) && !is_special(p[n]))
		n++;
	if (!keyword_lookup(p, n, &t->type))
		t->type = TOK_IDENT;
	t->len = (int)n;
	return p + n;
}

/* Tokenises all of text; the array always ends with one TOK_EOS. */
static struct token *lex(const char *text, size_t *ntoks)
{
	struct token *toks = NULL;
	size_t n = 0;
	const char *p = text;

	for (;;) {
		struct token t = {TOK_EOS, NULL, 0};

		while (is_space(*p))
			p++;
		t.text = p;
		if (is_special(*p))
			p = scan_special(p, &t);
		else if (*p)
			p = scan_word(p, &t);
		toks = xrealloc(toks, (n + 1) * sizeof(*toks));
		toks[n++] = t;
		if (t.type == TOK_EOS)
			break;
	}
	*ntoks = n;
	return toks;
}

/* ---- label selector parser ---- */

struct parser {
	struct token *toks;
	size_t n;
	size_t pos;
	struct buf err;
};

/* In value position "in" and "notin" are plain identifiers. */
static enum token_type kind(const struct token *t, bool values)
{
	if (values && (t->type == TOK_IN || t->type == TOK_NOT_IN))
		return TOK_IDENT;
	return t->type;
}

static const struct token *peek(const struct parser *p)
{
	return &p->toks[p->pos];
}

/* Consumes a token; the final TOK_EOS is never passed. */
static const struct token *next(struct parser *p)
{
	const struct token *t = &p->toks[p->pos];

	if (p->pos + 1 < p->n)
		p->pos++;
	return t;
}

static int parse_fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&p->err, fmt, ap);
	va_end(ap);
	return ERR_BADREQUEST;
}

/* Key with optional '!'; infers Exists / DoesNotExist (*unary). */
static int parse_key(struct parser *p, struct requirement *r, bool *unary)
{
	const struct token *t = next(p);
	bool negated = kind(t, true) == TOK_NOT;
	enum token_type la;
	struct buf why;

	if (negated)
		t = next(p);
	if (kind(t, true) != TOK_IDENT)
		return parse_fail(p, "found '%.*s', expected: identifier",
				  t->len, t->text);
	r->key = xstrndup(t->text, (size_t)t->len);
	buf_init(&why, BUF_UNLIMITED);
	if (!check_label_key(r->key, &why)) {
		char *msg = invalid_msg("<nil>", r->key, why.data);

		parse_fail(p, "%s", msg);
		free(msg);
		buf_release(&why);
		return ERR_BADREQUEST;
	}
	buf_release(&why);
	la = kind(peek(p), true);
	*unary = negated || la == TOK_EOS || la == TOK_COMMA;
	r->op = negated ? OP_DOES_NOT_EXIST : OP_EXISTS;
	return 0;
}

static int parse_operator(struct parser *p, enum label_op *op)
{
	const struct token *t = next(p);

	switch (kind(t, false)) {
	case TOK_IN:
		*op = OP_IN;
		return 0;
	case TOK_NOT_IN:
		*op = OP_NOT_IN;
		return 0;
	case TOK_EQUALS:
		*op = OP_EQUALS;
		return 0;
	case TOK_DOUBLE_EQUALS:
		*op = OP_DOUBLE_EQUALS;
		return 0;
	case TOK_NOT_EQUALS:
		*op = OP_NOT_EQUALS;
		return 0;
	case TOK_GT:
		*op = OP_GT;
		return 0;
	case TOK_LT:
		*op = OP_LT;
		return 0;
	default:
		return parse_fail(p,
				  "found '%.*s', expected: in, notin, =, ==, "
				  "!=, gt, lt",
				  t->len, t->text);
	}
}

/* The inside of "( ... )", up to but not including the ')'. */
static int parse_value_list(struct parser *p, struct requirement *r)
{
	for (;;) {
		const struct token *t = next(p);
		const struct token *la;

		switch (kind(t, true)) {
		case TOK_IDENT:
			requirement_add_unique(r, t->text, (size_t)t->len);
			la = peek(p);
			if (kind(la, true) == TOK_CLOSE_PAR)
				return 0;
			if (kind(la, true) != TOK_COMMA)
				return parse_fail(p,
						  "found '%.*s', expected: ',' "
						  "or ')'",
						  la->len, la->text);
			break;
		case TOK_COMMA:
			if (r->nvalues == 0)
				requirement_add_unique(r, "", 0);
			la = peek(p);
			if (kind(la, true) == TOK_CLOSE_PAR) {
				requirement_add_unique(r, "", 0);
				return 0;
			}
			if (kind(la, true) == TOK_COMMA) {
				next(p);
				requirement_add_unique(r, "", 0);
			}
			break;
		default:
			return parse_fail(p,
					  "found '%.*s', expected: ',', or "
					  "identifier",
					  t->len, t->text);
		}
	}
}

static int parse_values(struct parser *p, struct requirement *r)
{
	const struct token *t = next(p);
	int rc;

	if (kind(t, true) != TOK_OPEN_PAR)
		return parse_fail(p, "found '%.*s' expected: '('", t->len,
				  t->text);
	t = peek(p);
	switch (kind(t, true)) {
	case TOK_IDENT:
	case TOK_COMMA:
		rc = parse_value_list(p, r);
		if (rc == 0)
			next(p); /* the ')' */
		return rc;
	case TOK_CLOSE_PAR:
		next(p);
		requirement_add_unique(r, "", 0);
		return 0;
	default:
		return parse_fail(p,
				  "found '%.*s', expected: ',', ')' or "
				  "identifier",
				  t->len, t->text);
	}
}

static int parse_exact_value(struct parser *p, struct requirement *r)
{
	const struct token *t = peek(p);

	if (kind(t, true) == TOK_EOS || kind(t, true) == TOK_COMMA) {
		requirement_add_value(r, "", 0);
		return 0;
	}
	t = next(p);
	if (kind(t, true) != TOK_IDENT)
		return parse_fail(p, "found '%.*s', expected: identifier",
				  t->len, t->text);
	requirement_add_value(r, t->text, (size_t)t->len);
	return 0;
}

/* One requirement into sel; errors are reported unwrapped in p->err. */
static int parse_requirement(struct parser *p, struct label_selector *sel)
{
	struct requirement r = {0};
	bool unary = false;
	int rc;

	rc = parse_key(p, &r, &unary);
	if (rc == 0 && !unary) {
		rc = parse_operator(p, &r.op);
		if (rc == 0 && (r.op == OP_IN || r.op == OP_NOT_IN))
			rc = parse_values(p, &r);
		else if (rc == 0)
			rc = parse_exact_value(p, &r);
	}
	if (rc) {
		requirement_release(&r);
		return rc;
	}
	if (r.nvalues > 1)
		qsort(r.values, r.nvalues, sizeof(*r.values), cmp_strp);
	return selector_add(sel, &r, ERR_BADREQUEST, &p->err);
}

static int wrap_requirement_error(struct parser *p)
{
	struct buf wrapped;

	buf_init(&wrapped, BUF_UNLIMITED);
	buf_printf(&wrapped, "unable to parse requirement: %s", p->err.data);
	buf_release(&p->err);
	p->err = wrapped;
	return ERR_BADREQUEST;
}

static int parse_selector(struct parser *p, struct label_selector *sel)
{
	for (;;) {
		const struct token *t = peek(p);
		enum token_type la;

		switch (kind(t, true)) {
		case TOK_EOS:
			return 0;
		case TOK_IDENT:
		case TOK_NOT:
			if (parse_requirement(p, sel))
				return wrap_requirement_error(p);
			t = next(p);
			if (kind(t, true) == TOK_EOS)
				return 0;
			if (kind(t, true) != TOK_COMMA)
				return parse_fail(p,
						  "found '%.*s', expected: ',' "
						  "or 'end of string'",
						  t->len, t->text);
			t = peek(p);
			la = kind(t, true);
			if (la != TOK_IDENT && la != TOK_NOT)
				return parse_fail(p,
						  "found '%.*s', expected: "
						  "identifier after ','",
						  t->len, t->text);
			break;
		default:
			return parse_fail(p,
					  "found '%.*s', expected: !, "
					  "identifier, or 'end of string'",
					  t->len, t->text);
		}
	}
}

int label_selector_parse(const char *text, struct label_selector **out,
			 char *errbuf, size_t errlen)
{
	struct label_selector *sel = xcalloc(1, sizeof(*sel));
	struct parser p = {0};
	int rc;

	*out = NULL;
	buf_init(&p.err, BUF_UNLIMITED);
	p.toks = lex(text ? text : "", &p.n);
	rc = parse_selector(&p, sel);
	if (rc) {
		err_set(errbuf, errlen, rc, "%s", p.err.data);
		goto out;
	}
	selector_sort(sel);
	*out = sel;
	sel = NULL;
out:
	free(p.toks);
	buf_release(&p.err);
	label_selector_free(sel);
	return rc;
}

/* ---- structured LabelSelector ---- */

static int add_match_labels(struct label_selector *sel, const json_t *ml,
			    struct buf *msg)
{
	const char *key;
	json_t *val;
	int rc;

	if (!ml || json_is_null(ml))
		return 0;
	if (!json_is_object(ml)) {
		buf_puts(msg, "matchLabels: must be an object");
		return ERR_INVAL;
	}
	json_object_foreach((json_t *)ml, key, val)
	{
		struct requirement r = {0};

		if (!json_is_string(val)) {
			buf_printf(msg, "matchLabels.%s: must be a string",
				   key);
			return ERR_INVAL;
		}
		r.key = xstrdup(key);
		r.op = OP_EQUALS;
		requirement_add_value(&r, json_string_value(val),
				      json_string_length(val));
		rc = selector_add(sel, &r, ERR_INVAL, msg);
		if (rc)
			return rc;
	}
	return 0;
}

static bool operator_from_name(const char *name, enum label_op *op)
{
	static const struct {
		const char *name;
		enum label_op op;
	} ops[] = {
		{"In", OP_IN},
		{"NotIn", OP_NOT_IN},
		{"Exists", OP_EXISTS},
		{"DoesNotExist", OP_DOES_NOT_EXIST},
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].name, name) == 0) {
			*op = ops[i].op;
			return true;
		}
	}
	return false;
}

/* Reads expression `i` into r (key, operator, values) without validating. */
static int read_expression(const json_t *e, size_t i, struct requirement *r,
			   struct buf *msg)
{
	const json_t *key = json_object_get(e, "key");
	const json_t *op = json_object_get(e, "operator");
	const json_t *vals = json_object_get(e, "values");
	const char *opname = json_is_string(op) ? json_string_value(op) : "";

	if ((key && !json_is_string(key)) || (op && !json_is_string(op)) ||
	    (vals && !json_is_array(vals) && !json_is_null(vals))) {
		buf_printf(msg,
			   "matchExpressions[%zu]: key and operator must "
			   "be strings, values an array of strings",
			   i);
		return ERR_INVAL;
	}
	if (!operator_from_name(opname, &r->op)) {
		go_quote(msg, opname);
		buf_puts(msg, " is not a valid label selector operator");
		return ERR_INVAL;
	}
	r->key = xstrdup(key ? json_string_value(key) : "");
	for (size_t j = 0; j < json_array_size(vals); j++) {
		const json_t *v = json_array_get(vals, j);

		if (!json_is_string(v)) {
			buf_printf(msg,
				   "matchExpressions[%zu].values[%zu]: "
				   "must be a string",
				   i, j);
			return ERR_INVAL;
		}
		requirement_add_value(r, json_string_value(v),
				      json_string_length(v));
	}
	return 0;
}

static int add_match_expressions(struct label_selector *sel,
				 const json_t *exprs, struct buf *msg)
{
	int rc;

	if (!exprs || json_is_null(exprs))
		return 0;
	if (!json_is_array(exprs)) {
		buf_puts(msg, "matchExpressions: must be an array");
		return ERR_INVAL;
	}
	for (size_t i = 0; i < json_array_size(exprs); i++) {
		const json_t *e = json_array_get(exprs, i);
		struct requirement r = {0};

		if (!json_is_object(e)) {
			buf_printf(msg,
				   "matchExpressions[%zu]: must be an "
				   "object",
				   i);
			return ERR_INVAL;
		}
		rc = read_expression(e, i, &r, msg);
		if (rc) {
			requirement_release(&r);
			return rc;
		}
		rc = selector_add(sel, &r, ERR_INVAL, msg);
		if (rc)
			return rc;
	}
	return 0;
}

int label_selector_from_json(const json_t *js, struct label_selector **out,
			     char *errbuf, size_t errlen)
{
	struct label_selector *sel = xcalloc(1, sizeof(*sel));
	struct buf msg;
	int rc = 0;

	*out = NULL;
	buf_init(&msg, BUF_UNLIMITED);
	if (js && !json_is_null(js)) {
		if (!json_is_object(js)) {
			buf_puts(&msg, "label selector must be a JSON object");
			rc = ERR_INVAL;
		}
		if (rc == 0)
			rc = add_match_labels(
				sel, json_object_get(js, "matchLabels"), &msg);
		if (rc == 0)
			rc = add_match_expressions(
				sel, json_object_get(js, "matchExpressions"),
				&msg);
	}
	if (rc) {
		err_set(errbuf, errlen, rc, "%s", msg.data);
		goto out;
	}
	selector_sort(sel);
	*out = sel;
	sel = NULL;
out:
	buf_release(&msg);
	label_selector_free(sel);
	return rc;
}

/* ---- label matching, printing, freeing ---- */

static bool has_value(const struct requirement *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

static bool compare_numeric(const struct requirement *r, const char *v)
{
	int64_t have, want;

	if (r->nvalues != 1 || !parse_int64(v, &have) ||
	    !parse_int64(r->values[0], &want))
		return false;
	return r->op == OP_GT ? have > want : have < want;
}

static bool requirement_matches(const struct requirement *r,
				const json_t *labels)
{
	const json_t *lv =
		json_is_object(labels) ? json_object_get(labels, r->key) : NULL;
	const char *v = json_is_string(lv) ? json_string_value(lv) : "";

	switch (r->op) {
	case OP_IN:
	case OP_EQUALS:
	case OP_DOUBLE_EQUALS:
		return lv && has_value(r, v);
	case OP_NOT_IN:
	case OP_NOT_EQUALS:
		return !lv || !has_value(r, v);
	case OP_EXISTS:
		return lv != NULL;
	case OP_DOES_NOT_EXIST:
		return lv == NULL;
	case OP_GT:
	case OP_LT:
		return lv && compare_numeric(r, v);
	}
	return false;
}

bool label_selector_matches(const struct label_selector *sel,
			    const json_t *labels)
{
	if (!sel)
		return true;
	for (size_t i = 0; i < sel->n; i++)
		if (!requirement_matches(&sel->reqs[i], labels))
			return false;
	return true;
}

bool label_selector_is_empty(const struct label_selector *sel)
{
	return !sel || sel->n == 0;
}

static const char *op_text(enum label_op op)
{
	switch (op) {
	case OP_EQUALS:
		return "=";
	case OP_DOUBLE_EQUALS:
		return "==";
	case OP_NOT_EQUALS:
		return "!=";
	case OP_IN:
		return " in ";
	case OP_NOT_IN:
		return " notin ";
	case OP_GT:
		return ">";
	case OP_LT:
		return "<";
	case OP_EXISTS:
	case OP_DOES_NOT_EXIST:
		break;
	}
	return "";
}

static void requirement_write(const struct requirement *r, struct buf *b)
{
	bool set = r->op == OP_IN || r->op == OP_NOT_IN;
	char **sorted;

	if (r->op == OP_DOES_NOT_EXIST)
		buf_putc(b, '!');
	buf_puts(b, r->key);
	if (r->op == OP_EXISTS || r->op == OP_DOES_NOT_EXIST)
		return;
	buf_puts(b, op_text(r->op));
	if (set)
		buf_putc(b, '(');
	sorted = xmalloc((r->nvalues + 1) * sizeof(*sorted));
	memcpy(sorted, r->values, r->nvalues * sizeof(*sorted));
	qsort(sorted, r->nvalues, sizeof(*sorted), cmp_strp);
	for (size_t i = 0; i < r->nvalues; i++)
		buf_printf(b, "%s%s", i ? "," : "", sorted[i]);
	free(sorted);
	if (set)
		buf_putc(b, ')');
}

char *label_selector_string(const struct label_selector *sel)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	for (size_t i = 0; sel && i < sel->n; i++) {
		if (i)
			buf_putc(&b, ',');
		requirement_write(&sel->reqs[i], &b);
	}
	return buf_detach(&b, NULL);
}

void label_selector_free(struct label_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		requirement_release(&sel->reqs[i]);
	free(sel->reqs);
	free(sel);
}

/* ---- field selectors ---- */

struct field_term {
	char *field;
	char *value;
	bool negated;
};

struct field_selector {
	struct field_term *terms;
	size_t n;
};

/* Splits at commas not preceded by an escaping backslash. */
static char **split_terms(const char *text, size_t *n)
{
	char **parts = NULL;
	size_t count = 0, start = 0;
	bool in_slash = false;

	for (size_t i = 0;; i++) {
		bool end = text[i] == '\0';

		if (in_slash && !end) {
			in_slash = false;
		} else if (text[i] == '\\') {
			in_slash = true;
		} else if (text[i] == ',' || end) {
			parts = xrealloc(parts, (count + 1) * sizeof(*parts));
			parts[count++] = xstrndup(text + start, i - start);
			start = i + 1;
		}
		if (end)
			break;
	}
	*n = count;
	return parts;
}

/* First "!=", "==" or "=" in term (in that order of preference). */
static bool split_term(const char *term, size_t *lhs_len, size_t *op_len,
		       bool *negated)
{
	for (size_t i = 0; term[i]; i++) {
		if (strncmp(term + i, "!=", 2) == 0 ||
		    strncmp(term + i, "==", 2) == 0) {
			*negated = term[i] == '!';
			*lhs_len = i;
			*op_len = 2;
			return true;
		}
		if (term[i] == '=') {
			*negated = false;
			*lhs_len = i;
			*op_len = 1;
			return true;
		}
	}
	return false;
}

/* fields.UnescapeValue; on success *out is a new heap string. */
static int unescape_value(const char *s, char **out, char *errbuf,
			  size_t errlen)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;
	int rc = 0;

	buf_init(&b, BUF_UNLIMITED);
	for (; *p && rc == 0; p++) {
		if (*p == ',' || *p == '=') {
			rc = err_set(errbuf, errlen, ERR_BADREQUEST,
				     "invalid field selector: unescaped "
				     "character in value: %d",
				     *p);
		} else if (*p != '\\') {
			buf_putc(&b, (char)*p);
		} else if (p[1] == '\\' || p[1] == ',' || p[1] == '=') {
			buf_putc(&b, (char)*++p);
		} else {
			size_t n = p[1] < 0x80 ? 1 : utf8_seq_len(p + 1);
			const char *seq =
				n ? (const char *)p + 1 : "\xef\xbf\xbd";

			rc = err_set(errbuf, errlen, ERR_BADREQUEST,
				     "invalid field selector: invalid escape "
				     "sequence: \\%.*s",
				     p[1] ? (int)(n ? n : 3) : 0, seq);
		}
	}
	if (rc == 0)
		*out = buf_detach(&b, NULL);
	buf_release(&b);
	return rc;
}

static void field_selector_push(struct field_selector *sel, char *field,
				char *value, bool negated)
{
	sel->terms = xrealloc(sel->terms, (sel->n + 1) * sizeof(*sel->terms));
	sel->terms[sel->n].field = field;
	sel->terms[sel->n].value = value;
	sel->terms[sel->n].negated = negated;
	sel->n++;
}

int field_selector_parse(const char *text, struct field_selector **out,
			 char *errbuf, size_t errlen)
{
	struct field_selector *sel = xcalloc(1, sizeof(*sel));
	char **parts = NULL;
	size_t nparts = 0, lhs_len, op_len;
	bool negated;
	char *value;
	int rc = 0;

	*out = NULL;
	if (text && *text)
		parts = split_terms(text, &nparts);
	if (nparts > 1)
		qsort(parts, nparts, sizeof(*parts), cmp_strp);
	for (size_t i = 0; i < nparts && rc == 0; i++) {
		if (parts[i][0] == '\0')
			continue;
		if (!split_term(parts[i], &lhs_len, &op_len, &negated)) {
			rc = err_set(errbuf, errlen, ERR_BADREQUEST,
				     "invalid selector: '%s'; can't "
				     "understand '%s'",
				     text, parts[i]);
			break;
		}
		rc = unescape_value(parts[i] + lhs_len + op_len, &value, errbuf,
				    errlen);
		if (rc)
			break;
		/* An empty field with an empty value selects everything. */
		if (lhs_len == 0 && value[0] == '\0') {
			free(value);
			continue;
		}
		field_selector_push(sel, xstrndup(parts[i], lhs_len), value,
				    negated);
	}
	for (size_t i = 0; i < nparts; i++)
		free(parts[i]);
	free(parts);
	if (rc == 0) {
		*out = sel;
		sel = NULL;
	}
	field_selector_free(sel);
	return rc;
}

static bool is_supported(const char *field, const char *const *supported)
{
	for (size_t i = 0; supported && supported[i]; i++)
		if (strcmp(field, supported[i]) == 0)
			return true;
	return false;
}

int field_selector_check(const struct field_selector *sel,
			 const char *const *supported, char *errbuf,
			 size_t errlen)
{
	for (size_t i = 0; sel && i < sel->n; i++)
		if (!is_supported(sel->terms[i].field, supported))
			return err_set(errbuf, errlen, ERR_BADREQUEST,
				       "field label not supported: %s",
				       sel->terms[i].field);
	return 0;
}

bool field_selector_matches(const struct field_selector *sel,
			    field_getter_fn get, void *data)
{
	for (size_t i = 0; sel && i < sel->n; i++) {
		const struct field_term *t = &sel->terms[i];
		const char *have = get(t->field, data);
		bool equal = strcmp(have ? have : "", t->value) == 0;

		if (equal == t->negated)
			return false;
	}
	return true;
}

bool field_selector_is_empty(const struct field_selector *sel)
{
	return !sel || sel->n == 0;
}

void field_selector_free(struct field_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++) {
		free(sel->terms[i].field);
		free(sel->terms[i].value);
	}
	free(sel->terms);
	free(sel);
}

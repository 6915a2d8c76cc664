/*
 * schema: pruning, defaulting and validation of custom resources against a
 * CRD's structural schema, reproducing the apiserver's algorithms
 * (apiextensions-apiserver pruning/defaulting, kube-openapi validation) and
 * its messages (apimachinery field.Error), see schema.h.
 *
 * Each pass is a recursive walker over (value, schema) pairs that keeps the
 * current field path in a growable buffer: a key is pushed before
 * descending and popped on the way back. The messages embed Go-formatted
 * values, so the bottom of this file holds small printers that mimic Go's
 * %q, %v for float64 and encoding/json.
 */
#include "devcluster/schema.h"

#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

#define X_PRESERVE	"x-kubernetes-preserve-unknown-fields"
#define X_EMBEDDED	"x-kubernetes-embedded-resource"
#define X_INT_OR_STRING "x-kubernetes-int-or-string"

static void go_quote(struct buf *b, const char *s);
static void go_float(struct buf *b, double f);
static void go_json(struct buf *b, const json_t *v);
static void go_bad_value(struct buf *b, const json_t *v);

/* ---- schema accessors (all tolerate a NULL schema) ---- */

static const json_t *sch_get(const json_t *s, const char *key)
{
	return json_is_object(s) ? json_object_get(s, key) : NULL;
}

static int sch_flag(const json_t *s, const char *key)
{
	return json_is_true(sch_get(s, key));
}

static const json_t *sch_property(const json_t *s, const char *name)
{
	const json_t *props = sch_get(s, "properties");

	return json_is_object(props) ? json_object_get(props, name) : NULL;
}

/*
 * Whether `s` has additionalProperties (a schema or true); *sub receives
 * the schema, or NULL for `true`.
 */
static int sch_additional(const json_t *s, const json_t **sub)
{
	const json_t *ap = sch_get(s, "additionalProperties");

	*sub = json_is_object(ap) ? ap : NULL;
	return json_is_object(ap) || json_is_true(ap);
}

static const json_t *sch_items(const json_t *s)
{
	const json_t *items = sch_get(s, "items");

	return json_is_object(items) ? items : NULL;
}

/* The default value, or NULL when there is none (or it is null). */
static const json_t *sch_default(const json_t *s)
{
	const json_t *d = sch_get(s, "default");

	return json_is_null(d) ? NULL : d;
}

/* Schema of the value under `key`: its property, else additionalProperties. */
static const json_t *sch_field(const json_t *s, const char *key)
{
	const json_t *prop = sch_property(s, key);
	const json_t *ap;

	if (prop)
		return prop;
	sch_additional(s, &ap);
	return ap;
}

static int is_meta_field(const char *key)
{
	return !strcmp(key, "apiVersion") || !strcmp(key, "kind") ||
	       !strcmp(key, "metadata");
}

/* ---- field path buffer ---- */

/* Appends ".key" (or "key" at the start); returns the mark for path_pop. */
static size_t path_push_key(struct buf *p, const char *key)
{
	size_t mark = p->len;

	if (p->len > 0)
		buf_putc(p, '.');
	buf_puts(p, key);
	return mark;
}

static size_t path_push_index(struct buf *p, size_t index)
{
	size_t mark = p->len;

	buf_printf(p, "[%zu]", index);
	return mark;
}

static void path_pop(struct buf *p, size_t mark)
{
	p->len = mark;
	p->data[mark] = '\0';
}

/* ---- pruning ---- */

struct prune_walk {
	struct buf path;
	json_t *paths; /* unsorted pruned paths */
};

static void prune_value(struct prune_walk *w, json_t *x, const json_t *s,
			int root);

static void prune_record(struct prune_walk *w, const char *key)
{
	size_t mark = path_push_key(&w->path, key);

	json_array_append_new(w->paths, json_string(w->path.data));
	path_pop(&w->path, mark);
}

static void prune_child(struct prune_walk *w, json_t *v, const char *key,
			const json_t *s)
{
	size_t mark = path_push_key(&w->path, key);

	prune_value(w, v, s, 0);
	path_pop(&w->path, mark);
}

/* No schema at all: every field of the object goes. */
static void prune_all_fields(struct prune_walk *w, json_t *x)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(x, tmp, key, v)
	{
		prune_record(w, key);
		json_object_del(x, key);
	}
}

static void prune_object(struct prune_walk *w, json_t *x, const json_t *s,
			 int root)
{
	int embedded = root || sch_flag(s, X_EMBEDDED);
	const json_t *ap;
	int has_ap = sch_additional(s, &ap);
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(x, tmp, key, v)
	{
		const json_t *prop = sch_property(s, key);

		if (embedded && is_meta_field(key))
			continue;
		if (prop || has_ap) {
			prune_child(w, v, key, prop ? prop : ap);
		} else {
			prune_record(w, key);
			json_object_del(x, key);
		}
	}
}

/* Below x-kubernetes-preserve-unknown-fields: prune only known fields. */
static void skip_prune(struct prune_walk *w, json_t *x, const json_t *s,
		       int root)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!s)
		return;
	if (json_is_object(x)) {
		int embedded = root || sch_flag(s, X_EMBEDDED);
		const json_t *ap;
		int has_ap = sch_additional(s, &ap);

		json_object_foreach(x, key, v)
		{
			const json_t *prop = sch_property(s, key);

			if (embedded && is_meta_field(key))
				continue;
			if (prop || has_ap)
				prune_child(w, v, key, prop ? prop : ap);
		}
	} else if (json_is_array(x)) {
		json_array_foreach(x, i, v)
		{
			size_t mark = path_push_index(&w->path, i);

			skip_prune(w, v, sch_items(s), 0);
			path_pop(&w->path, mark);
		}
	}
}

static void prune_value(struct prune_walk *w, json_t *x, const json_t *s,
			int root)
{
	json_t *v;
	size_t i;

	if (sch_flag(s, X_PRESERVE)) {
		skip_prune(w, x, s, root);
	} else if (json_is_object(x)) {
		if (s)
			prune_object(w, x, s, root);
		else
			prune_all_fields(w, x);
	} else if (json_is_array(x)) {
		json_array_foreach(x, i, v)
		{
			size_t mark = path_push_index(&w->path, i);

			prune_value(w, v, sch_items(s), 0);
			path_pop(&w->path, mark);
		}
	}
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the strings of `from` to `to`, sorted bytewise. */
static void append_sorted(json_t *to, const json_t *from)
{
	size_t n = json_array_size(from);
	const char **v = xcalloc(n ? n : 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(from, i));
	qsort(v, n, sizeof(*v), compare_strings);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(to, json_string(v[i]));
	free(v);
}

void schema_prune(json_t *obj, const json_t *schema, json_t *pruned)
{
	struct prune_walk w;
	json_t *empty = schema ? NULL : json_object();

	buf_init(&w.path, BUF_UNLIMITED);
	w.paths = json_array();
	prune_value(&w, obj, schema ? schema : empty, 1);
	if (pruned)
		append_sorted(pruned, w.paths);
	json_decref(w.paths);
	json_decref(empty);
	buf_release(&w.path);
}

/* ---- defaulting ---- */

static int is_non_nullable_null(const json_t *x, const json_t *s)
{
	return json_is_null(x) && s && !sch_flag(s, "nullable");
}

/* Removes non-nullable nulls that have no default to replace them. */
static void prune_nulls(json_t *x, const json_t *s)
{
	const char *key;
	json_t *v;
	void *tmp;
	size_t i;

	if (json_is_object(x)) {
		json_object_foreach_safe(x, tmp, key, v)
		{
			const json_t *sub = sch_field(s, key);

			if (is_non_nullable_null(v, sub) && !sch_default(sub))
				json_object_del(x, key);
			else
				prune_nulls(v, sub);
		}
	} else if (json_is_array(x)) {
		json_array_foreach(x, i, v) prune_nulls(v, sch_items(s));
	}
}

static void default_value(json_t *x, const json_t *s);

static void default_object(json_t *x, const json_t *s)
{
	const json_t *props = sch_get(s, "properties");
	const json_t *prop, *ap;
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach((json_t *)props, key, prop)
	{
		const json_t *def = sch_default(prop);

		v = json_object_get(x, key);
		if (def && (!v || is_non_nullable_null(v, prop)))
			json_object_set_new(x, key, json_deep_copy(def));
	}
	sch_additional(s, &ap);
	json_object_foreach_safe(x, tmp, key, v)
	{
		prop = sch_property(s, key);
		if (prop) {
			default_value(v, prop);
			continue;
		}
		if (!ap)
			continue;
		if (is_non_nullable_null(v, ap) && sch_default(ap)) {
			v = json_deep_copy(sch_default(ap));
			json_object_set_new(x, key, v);
		}
		default_value(v, ap);
	}
}

static void default_array(json_t *x, const json_t *s)
{
	const json_t *items = sch_items(s);
	json_t *v;
	size_t i;

	json_array_foreach(x, i, v)
	{
		if (is_non_nullable_null(v, items) && sch_default(items)) {
			v = json_deep_copy(sch_default(items));
			json_array_set_new(x, i, v);
		}
		default_value(v, items);
	}
}

static void default_value(json_t *x, const json_t *s)
{
	if (!s)
		return;
	if (json_is_object(x))
		default_object(x, s);
	else if (json_is_array(x))
		default_array(x, s);
}

void schema_apply_defaults(json_t *obj, const json_t *schema)
{
	prune_nulls(obj, schema);
	default_value(obj, schema);
}

/* ---- validation: causes ---- */

struct vwalk {
	struct buf path;
	json_t *causes;
	int count;
};

/* The field.ErrorType text that opens a cause message. */
static const char *reason_text(const char *reason)
{
	if (!strcmp(reason, "FieldValueRequired"))
		return "Required value";
	if (!strcmp(reason, "FieldValueNotSupported"))
		return "Unsupported value";
	if (!strcmp(reason, "FieldValueTooLong"))
		return "Too long";
	if (!strcmp(reason, "FieldValueTooMany"))
		return "Too many";
	return "Invalid value";
}

/*
 * Appends a cause at the current path. The message is field.Error's body:
 * "<type text>[: <bad value>][: <detail>]"; Required and TooLong omit the
 * value. `detail` may be NULL.
 */
static void add_cause(struct vwalk *w, const char *reason, const json_t *bad,
		      const char *detail)
{
	struct buf m;
	int omit = !strcmp(reason, "FieldValueRequired") ||
		   !strcmp(reason, "FieldValueTooLong");

	buf_init(&m, BUF_UNLIMITED);
	buf_puts(&m, reason_text(reason));
	if (!omit) {
		buf_puts(&m, ": ");
		go_bad_value(&m, bad);
	}
	if (detail && *detail)
		buf_printf(&m, ": %s", detail);
	json_array_append_new(w->causes, json_pack("{s:s, s:s, s:s}", "reason",
						   reason, "message", m.data,
						   "field", w->path.data));
	buf_release(&m);
	w->count++;
}

/* add_cause() for a kube-openapi failure: Invalid with a formatted detail. */
static void add_invalid(struct vwalk *w, const json_t *bad, char *detail)
{
	add_cause(w, "FieldValueInvalid", bad, detail);
	free(detail);
}

/* Like add_invalid() with an integer bad value (a count). */
static void add_invalid_count(struct vwalk *w, json_int_t n, char *detail)
{
	json_t *bad = json_integer(n);

	add_invalid(w, bad, detail);
	json_decref(bad);
}

static void add_too_many(struct vwalk *w, json_int_t actual, json_int_t max)
{
	json_t *bad = json_integer(actual);
	char *detail = xasprintf("must have at most %lld item%s",
				 (long long)max, max == 1 ? "" : "s");

	add_cause(w, "FieldValueTooMany", bad, detail);
	free(detail);
	json_decref(bad);
}

/* ---- validation: numbers ---- */

/* swag.IsFloat64AJSONInteger: integral within 2^53, or nearly so. */
static int float_is_json_integer(double f)
{
	const double max = 9007199254740991.0;
	double g, diff, sum;

	if (f != f || f < -max || f > max)
		return 0;
	g = (double)(int64_t)f;
	if (f == g)
		return 1;
	if (g == 0)
		return 0;
	diff = f > g ? f - g : g - f;
	sum = (f < 0 ? -f : f) + (g < 0 ? -g : g);
	return diff / sum < 1e-15;
}

/* Go's int64(f) for a schema bound, saturating instead of overflowing. */
static json_int_t bound_to_int(double f)
{
	if (f >= 9223372036854775807.0)
		return INT64_MAX;
	if (f <= -9223372036854775808.0)
		return INT64_MIN;
	return (json_int_t)f;
}

static void check_multiple_of(struct vwalk *w, const json_t *x, const json_t *s)
{
	const json_t *mo = sch_get(s, "multipleOf");
	double factor = json_number_value(mo);
	struct buf f;
	int bad;

	if (!json_is_number(mo) || factor <= 0)
		return;
	buf_init(&f, BUF_UNLIMITED);
	if (json_is_integer(x) && bound_to_int(factor) != 0) {
		json_int_t k = bound_to_int(factor);

		bad = json_integer_value(x) % k != 0;
		buf_printf(&f, "%lld", (long long)k);
	} else {
		double d = json_number_value(x);
		double mult = factor < 1 ? 1 / factor * d : d / factor;

		bad = !float_is_json_integer(mult);
		go_float(&f, factor);
	}
	if (bad)
		add_invalid(w, x,
			    xasprintf("%s in body should be a multiple of %s",
				      w->path.data, f.data));
	buf_release(&f);
}

/* minimum (is_min) or maximum with its exclusive flag. */
static void check_bound(struct vwalk *w, const json_t *x, const json_t *s,
			int is_min)
{
	const json_t *lim = sch_get(s, is_min ? "minimum" : "maximum");
	int excl =
		sch_flag(s, is_min ? "exclusiveMinimum" : "exclusiveMaximum");
	int as_int = json_is_integer(x);
	struct buf t;
	double cmp;

	if (!json_is_number(lim))
		return;
	if (as_int) {
		json_int_t d = json_integer_value(x);
		json_int_t l = bound_to_int(json_number_value(lim));

		cmp = d < l ? -1 : d > l ? 1 : 0;
	} else {
		double d = json_number_value(x), l = json_number_value(lim);

		cmp = d < l ? -1 : d > l ? 1 : 0;
	}
	if (is_min ? (cmp > 0 || (cmp == 0 && !excl))
		   : (cmp < 0 || (cmp == 0 && !excl)))
		return;
	buf_init(&t, BUF_UNLIMITED);
	if (as_int)
		buf_printf(&t, "%lld",
			   (long long)bound_to_int(json_number_value(lim)));
	else
		go_float(&t, json_number_value(lim));
	add_invalid(w, x,
		    xasprintf("%s in body should be %s%s %s", w->path.data,
			      is_min ? "greater than" : "less than",
			      excl ? "" : " or equal to", t.data));
	buf_release(&t);
}

static void check_number(struct vwalk *w, const json_t *x, const json_t *s)
{
	check_multiple_of(w, x, s);
	check_bound(w, x, s, 1);
	check_bound(w, x, s, 0);
}

/* ---- validation: strings ---- */

static size_t utf8_count(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * Rewrites the Perl classes of a Go (RE2) pattern that POSIX ERE lacks:
 * \d, \D, \w, \W, \s, \S, and escaped characters inside brackets.
 */
static void pattern_to_posix(struct buf *out, const char *re)
{
	int in_class = 0;

	for (const char *p = re; *p; p++) {
		if (*p == '[' && !in_class) {
			in_class = 1;
			buf_putc(out, '[');
			if (p[1] == '^')
				buf_putc(out, *++p);
			if (p[1] == ']')
				buf_putc(out, *++p);
			continue;
		}
		if (*p == ']' && in_class) {
			in_class = 0;
			buf_putc(out, ']');
			continue;
		}
		if (*p != '\\' || !p[1]) {
			buf_putc(out, *p);
			continue;
		}
		p++;
		if (in_class) {
			if (*p == 'd')
				buf_puts(out, "0-9");
			else if (*p == 'w')
				buf_puts(out, "0-9A-Za-z_");
			else if (*p == 's')
				buf_puts(out, "[:space:]");
			else
				buf_putc(out, *p);
		} else if (*p == 'd' || *p == 'D') {
			buf_puts(out, *p == 'd' ? "[0-9]" : "[^0-9]");
		} else if (*p == 'w' || *p == 'W') {
			buf_puts(out,
				 *p == 'w' ? "[0-9A-Za-z_]" : "[^0-9A-Za-z_]");
		} else if (*p == 's' || *p == 'S') {
			buf_puts(out,
				 *p == 's' ? "[[:space:]]" : "[^[:space:]]");
		} else {
			buf_putc(out, '\\');
			buf_putc(out, *p);
		}
	}
}

/* Go's regexp MatchString: an unanchored search. */
static void check_pattern(struct vwalk *w, const json_t *x, const char *pattern)
{
	struct buf posix;
	regex_t re;
	int rc;

	buf_init(&posix, BUF_UNLIMITED);
	pattern_to_posix(&posix, pattern);
	rc = regcomp(&re, posix.data, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char err[128];

		regerror(rc, &re, err, sizeof(err));
		add_invalid(w, x,
			    xasprintf("%s in body should match '%s, but "
				      "pattern is invalid: %s'",
				      w->path.data, pattern, err));
		goto out;
	}
	if (regexec(&re, json_string_value(x), 0, NULL, 0) != 0)
		add_invalid(w, x,
			    xasprintf("%s in body should match '%s'",
				      w->path.data, pattern));
	regfree(&re);
out:
	buf_release(&posix);
}

/* maxLength, minLength, pattern: only the first failure is reported. */
static void check_string(struct vwalk *w, const json_t *x, const json_t *s)
{
	const json_t *max = sch_get(s, "maxLength");
	const json_t *min = sch_get(s, "minLength");
	const json_t *pattern = sch_get(s, "pattern");
	json_int_t len = (json_int_t)utf8_count(json_string_value(x));

	if (json_is_integer(max) && len > json_integer_value(max)) {
		json_int_t m = json_integer_value(max);
		char *detail = xasprintf("may not be more than %lld byte%s",
					 (long long)m, m == 1 ? "" : "s");

		add_cause(w, "FieldValueTooLong", x, detail);
		free(detail);
		return;
	}
	if (json_is_integer(min) && len < json_integer_value(min)) {
		add_invalid(w, x,
			    xasprintf("%s in body should be at least %lld "
				      "chars long",
				      w->path.data,
				      (long long)json_integer_value(min)));
		return;
	}
	if (json_is_string(pattern) && *json_string_value(pattern))
		check_pattern(w, x, json_string_value(pattern));
}

/* ---- validation: types, enum ---- */

/* The JSON type kube-openapi infers for a decoded value. */
static const char *value_type(const json_t *x)
{
	switch (json_typeof(x)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

/* The format kube-openapi infers (int64 and float64 values in Go). */
static const char *value_format(const json_t *x)
{
	if (json_is_integer(x))
		return "int64";
	return json_is_real(x) ? "float64" : "";
}

/* The schema's types joined by ",": "integer,string" for int-or-string. */
static const char *schema_types(const json_t *s)
{
	const json_t *type = sch_get(s, "type");

	if (sch_flag(s, X_INT_OR_STRING))
		return "integer,string";
	return json_is_string(type) ? json_string_value(type) : "";
}

static int types_contain(const char *types, const char *t)
{
	size_t n = strlen(t);

	for (const char *p = types; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !strncmp(p, t, n))
			return 1;
		p += len + (end ? 1 : 0);
	}
	return 0;
}

static void add_type_error(struct vwalk *w, const char *want, const char *got)
{
	json_t *bad = json_string(got);
	struct buf d;

	buf_init(&d, BUF_UNLIMITED);
	buf_printf(&d, "%s in body must be of type %s: ", w->path.data, want);
	go_quote(&d, got);
	add_cause(w, "FieldValueTypeInvalid", bad, d.data);
	buf_release(&d);
	json_decref(bad);
}

/* kube-openapi's typeValidator. Returns 0 when the type is acceptable. */
static int check_type(struct vwalk *w, const json_t *x, const json_t *s)
{
	const char *types = schema_types(s);
	const json_t *fmt_j = sch_get(s, "format");
	const char *format =
		json_is_string(fmt_j) ? json_string_value(fmt_j) : "";
	const char *got = value_type(x);
	int container_or_string = json_is_string(x) || json_is_array(x);
	int float_int = json_is_real(x) &&
			float_is_json_integer(json_real_value(x)) &&
			types_contain(types, "integer");
	int int_float = json_is_integer(x) && types_contain(types, "number");
	int ok = types_contain(types, got) || float_int || int_float;

	if (!*types && !*format)
		return 0;
	if (json_is_null(x)) {
		if (*types && !sch_flag(s, "nullable")) {
			add_type_error(w, types, "null");
			return -1;
		}
		return 0;
	}
	if (!container_or_string && *format && !ok &&
	    strcmp(format, value_format(x)) != 0) {
		add_type_error(w, format, value_format(x));
		return -1;
	}
	if (container_or_string && *format && !types_contain(types, "number") &&
	    !types_contain(types, "integer"))
		return 0;
	if (!ok) {
		add_type_error(w, types, got);
		return -1;
	}
	return 0;
}

/* reflect.DeepEqual after converting the data to the enum value's type. */
static int enum_matches(const json_t *x, const json_t *e)
{
	if (json_is_null(x) || json_is_null(e))
		return 0;
	if (json_is_number(x) && json_is_number(e)) {
		if (json_is_integer(e))
			return json_is_integer(x)
				       ? json_integer_value(x) ==
						 json_integer_value(e)
				       : bound_to_int(json_real_value(x)) ==
						 json_integer_value(e);
		return json_number_value(x) == json_real_value(e);
	}
	return json_equal((json_t *)x, (json_t *)e);
}

static void check_enum(struct vwalk *w, const json_t *x, const json_t *s)
{
	const json_t *en = sch_get(s, "enum");
	const json_t *e;
	struct buf d;
	size_t i;

	if (!json_is_array(en) || json_array_size(en) == 0)
		return;
	json_array_foreach(en, i, e) if (enum_matches(x, e)) return;
	buf_init(&d, BUF_UNLIMITED);
	buf_puts(&d, "supported values: ");
	json_array_foreach(en, i, e)
	{
		struct buf one;

		buf_init(&one, BUF_UNLIMITED);
		if (json_is_string(e))
			buf_puts(&one, json_string_value(e));
		else
			go_json(&one, e);
		if (i > 0)
			buf_puts(&d, ", ");
		go_quote(&d, one.data);
		buf_release(&one);
	}
	add_cause(w, "FieldValueNotSupported", x, d.data);
	buf_release(&d);
}

/* ---- validation: walker ---- */

static void validate_value(struct vwalk *w, const json_t *x, const json_t *s,
			   int root);

static void validate_child(struct vwalk *w, const json_t *v, const char *key,
			   const json_t *s)
{
	size_t mark = path_push_key(&w->path, key);

	validate_value(w, v, s, 0);
	path_pop(&w->path, mark);
}

static void check_array(struct vwalk *w, const json_t *x, const json_t *s)
{
	const json_t *items = sch_items(s);
	const json_t *min = sch_get(s, "minItems");
	const json_t *max = sch_get(s, "maxItems");
	json_int_t n = (json_int_t)json_array_size(x);
	const json_t *v;
	size_t i;

	if (items) {
		json_array_foreach(x, i, v)
		{
			size_t mark = path_push_index(&w->path, i);

			validate_value(w, v, items, 0);
			path_pop(&w->path, mark);
		}
	}
	if (json_is_integer(min) && n < json_integer_value(min))
		add_invalid_count(
			w, n,
			xasprintf("%s in body should have at least "
				  "%lld items",
				  w->path.data,
				  (long long)json_integer_value(min)));
	if (json_is_integer(max) && n > json_integer_value(max))
		add_too_many(w, n, json_integer_value(max));
}

static void check_required(struct vwalk *w, const json_t *x, const json_t *s)
{
	const json_t *req = sch_get(s, "required");
	const json_t *k;
	size_t i;

	json_array_foreach(req, i, k)
	{
		size_t mark;

		if (!json_is_string(k) ||
		    json_object_get(x, json_string_value(k)))
			continue;
		mark = path_push_key(&w->path, json_string_value(k));
		add_cause(w, "FieldValueRequired", NULL, NULL);
		path_pop(&w->path, mark);
	}
}

static void check_object(struct vwalk *w, const json_t *x, const json_t *s,
			 int root)
{
	const json_t *min = sch_get(s, "minProperties");
	const json_t *max = sch_get(s, "maxProperties");
	const json_t *props = sch_get(s, "properties");
	json_int_t n = (json_int_t)json_object_size(x);
	const json_t *ap, *v, *prop;
	const char *key;

	if (json_is_integer(min) && n < json_integer_value(min))
		add_invalid_count(
			w, n,
			xasprintf("%s in body should have at least "
				  "%lld properties",
				  w->path.data,
				  (long long)json_integer_value(min)));
	if (json_is_integer(max) && n > json_integer_value(max))
		add_too_many(w, n, json_integer_value(max));
	sch_additional(s, &ap);
	if (ap) {
		json_object_foreach((json_t *)x, key,
				    v) if (!sch_property(s, key))
			validate_child(w, v, key, ap);
	}
	json_object_foreach((json_t *)props, key, prop)
	{
		if (root && !strcmp(key, "metadata"))
			continue;
		v = json_object_get(x, key);
		if (v)
			validate_child(w, v, key, prop);
	}
	check_required(w, x, s);
}

/* Runs kube-openapi's validators in its order: each applies by value kind. */
static void validate_value(struct vwalk *w, const json_t *x, const json_t *s,
			   int root)
{
	if (!json_is_object(s))
		return;
	check_type(w, x, s);
	if (json_is_null(x)) {
		check_enum(w, x, s);
		return;
	}
	if (json_is_string(x))
		check_string(w, x, s);
	if (json_is_number(x))
		check_number(w, x, s);
	if (json_is_array(x))
		check_array(w, x, s);
	check_enum(w, x, s);
	if (json_is_object(x))
		check_object(w, x, s, root);
}

int schema_validate(const json_t *obj, const json_t *schema, json_t *causes)
{
	struct vwalk w;

	buf_init(&w.path, BUF_UNLIMITED);
	w.causes = causes;
	w.count = 0;
	validate_value(&w, obj, schema, 1);
	buf_release(&w.path);
	return w.count;
}

/* ---- the Status message ---- */

static int seen_before(const json_t *causes, size_t upto, const char *entry)
{
	for (size_t i = 0; i < upto; i++) {
		const json_t *c = json_array_get(causes, i);
		const char *f = json_string_value(json_object_get(c, "field"));
		const char *m =
			json_string_value(json_object_get(c, "message"));
		size_t flen = f ? strlen(f) : 0;

		if (!strncmp(entry, f ? f : "", flen) &&
		    !strncmp(entry + flen, ": ", 2) &&
		    !strcmp(entry + flen + 2, m ? m : ""))
			return 1;
	}
	return 0;
}

char *schema_invalid_message(const char *kind, const char *group,
			     const char *name, const json_t *causes)
{
	struct buf b, list;
	size_t unique = 0, i;
	const json_t *c;

	buf_init(&b, BUF_UNLIMITED);
	buf_init(&list, BUF_UNLIMITED);
	buf_puts(&b, kind);
	if (group && *group)
		buf_printf(&b, ".%s", group);
	buf_putc(&b, ' ');
	go_quote(&b, name ? name : "");
	buf_puts(&b, " is invalid");
	json_array_foreach(causes, i, c)
	{
		const char *f = json_string_value(json_object_get(c, "field"));
		const char *m =
			json_string_value(json_object_get(c, "message"));
		char *entry = xasprintf("%s: %s", f ? f : "", m ? m : "");

		if (!seen_before(causes, i, entry)) {
			buf_printf(&list, "%s%s", unique ? ", " : "", entry);
			unique++;
		}
		free(entry);
	}
	if (unique == 1)
		buf_printf(&b, ": %s", list.data);
	else if (unique > 1)
		buf_printf(&b, ": [%s]", list.data);
	buf_release(&list);
	return buf_detach(&b, NULL);
}

/* ---- Go formatting ---- */

/* Decodes one UTF-8 sequence; returns its length, or 0 when invalid. */
static int utf8_decode(const unsigned char *s, unsigned *cp)
{
	int n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;

	if (s[0] >= 0xF8 || n == 0)
		return 0;
	*cp = s[0] & (0x7F >> n);
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	return n;
}

/* Code points strconv.Quote escapes although they are valid UTF-8. */
static int go_unprintable(unsigned cp)
{
	return cp < 0xA1 || cp == 0xAD || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0xFEFF || (cp >= 0xD800 && cp <= 0xDFFF);
}

/* strconv.Quote: a double-quoted Go string literal. */
static void go_quote(struct buf *b, const char *s)
{
	static const char esc[] = "\a"
				  "a"
				  "\b"
				  "b"
				  "\f"
				  "f"
				  "\n"
				  "n"
				  "\r"
				  "r"
				  "\t"
				  "t"
				  "\v"
				  "v";
	const unsigned char *p = (const unsigned char *)s;

	buf_putc(b, '"');
	while (*p) {
		unsigned cp;
		int n;
		const char *e;

		if (*p == '"' || *p == '\\') {
			buf_printf(b, "\\%c", *p++);
		} else if (*p >= 0x20 && *p < 0x7F) {
			buf_putc(b, (char)*p++);
		} else if (*p < 0x80) {
			e = strchr(esc, *p);
			if (e && (e - esc) % 2 == 0)
				buf_printf(b, "\\%c", e[1]);
			else
				buf_printf(b, "\\x%02x", *p);
			p++;
		} else if ((n = utf8_decode(p, &cp)) == 0) {
			buf_printf(b, "\\x%02x", *p++);
		} else {
			if (go_unprintable(cp))
				buf_printf(b, "\\u%04x", cp);
			else
				buf_append(b, p, (size_t)n);
			p += n;
		}
	}
	buf_putc(b, '"');
}

/*
 * Shortest decimal digits that read back as |f|: digits without the point
 * (no trailing zeros) and the position of the point (dp), as in strconv.
 */
static void float_digits(double f, char *digits, size_t cap, int *dp)
{
	char tmp[40] = "0e+00", *e;
	size_t n = 0;

	memset(digits, 0, cap);
	if (f == 0) {
		snprintf(digits, cap, "0");
		*dp = 1;
		return;
	}
	for (int prec = 0; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	e = strchr(tmp, 'e');
	if (!e) { /* not finite: callers never pass these */
		snprintf(digits, cap, "0");
		*dp = 1;
		return;
	}
	for (char *p = tmp; p < e && n + 1 < cap; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	*dp = (int)strtol(e + 1, NULL, 10) + 1;
}

/* %e with the shortest digits; `min_exp_digits` is 2 for Go's %v. */
static void put_exp(struct buf *b, const char *d, int dp, int min_exp_digits)
{
	int exp = dp - 1;

	buf_putc(b, d[0]);
	if (d[1])
		buf_printf(b, ".%s", d + 1);
	buf_printf(b, "e%c%0*d", exp < 0 ? '-' : '+', min_exp_digits,
		   exp < 0 ? -exp : exp);
}

/* %f with exactly the shortest digits. */
static void put_fixed(struct buf *b, const char *d, int dp)
{
	int nd = (int)strlen(d);

	if (dp <= 0) {
		buf_putc(b, '0');
	} else {
		for (int i = 0; i < dp; i++)
			buf_putc(b, i < nd ? d[i] : '0');
	}
	if (nd > dp) {
		buf_putc(b, '.');
		for (int i = dp; i < nd; i++)
			buf_putc(b, i < 0 ? '0' : d[i]);
	}
}

/*
 * Go's %v for a float64: strconv 'g' with the shortest digits, which
 * switches to %e when the exponent is < -4 or >= 6 (1e+06, 1.5e-05).
 */
static void go_float(struct buf *b, double f)
{
	char d[32];
	int dp, exp;

	if (f < 0 || (f == 0 && 1 / f < 0)) {
		buf_putc(b, '-');
		f = -f;
	}
	float_digits(f, d, sizeof(d), &dp);
	exp = dp - 1;
	if (f != 0 && (exp < -4 || exp >= 6))
		put_exp(b, d, dp, 2);
	else
		put_fixed(b, d, dp);
}

/* encoding/json's float64 text. */
static void go_json_float(struct buf *b, double f)
{
	char d[32];
	int dp;
	double a = f < 0 ? -f : f;

	if (f < 0) {
		buf_putc(b, '-');
		f = -f;
	}
	float_digits(f, d, sizeof(d), &dp);
	if (a != 0 && (a < 1e-6 || a >= 1e21))
		put_exp(b, d, dp, 1);
	else
		put_fixed(b, d, dp);
}

/* encoding/json string escaping (HTML-safe, as json.Marshal does). */
static void go_json_string(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	buf_putc(b, '"');
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_puts(b, "\\n");
		else if (*p == '\r')
			buf_puts(b, "\\r");
		else if (*p == '\t')
			buf_puts(b, "\\t");
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
			buf_printf(b, "\\u%04x", *p);
		else if (*p == 0xE2 && p[1] == 0x80 &&
			 (p[2] == 0xA8 || p[2] == 0xA9)) {
			buf_printf(b, "\\u202%c", p[2] == 0xA8 ? '8' : '9');
			p += 2;
		} else
			buf_putc(b, (char)*p);
	}
	buf_putc(b, '"');
}

/* json.Marshal of a decoded value: compact, object keys sorted. */
static void go_json(struct buf *b, const json_t *v)
{
	const char *key;
	const json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		json_t *keys = json_array();

		json_object_foreach((json_t *)v, key, e)
			json_array_append_new(keys, json_string(key));
		json_t *sorted = json_array();

		append_sorted(sorted, keys);
		buf_putc(b, '{');
		json_array_foreach(sorted, i, e)
		{
			key = json_string_value(e);
			buf_puts(b, i ? "," : "");
			go_json_string(b, key);
			buf_putc(b, ':');
			go_json(b, json_object_get(v, key));
		}
		buf_putc(b, '}');
		json_decref(sorted);
		json_decref(keys);
		break;
	}
	case JSON_ARRAY:
		buf_putc(b, '[');
		json_array_foreach(v, i, e)
		{
			buf_puts(b, i ? "," : "");
			go_json(b, e);
		}
		buf_putc(b, ']');
		break;
	case JSON_STRING:
		go_json_string(b, json_string_value(v));
		break;
	case JSON_INTEGER:
		buf_printf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		go_json_float(b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_puts(b, "true");
		break;
	case JSON_FALSE:
		buf_puts(b, "false");
		break;
	default:
		buf_puts(b, "null");
	}
}

/*
 * field.Error's rendering of a bad value: %v for numbers and booleans, %q
 * for strings, JSON for everything else (null, objects, arrays).
 */
static void go_bad_value(struct buf *b, const json_t *v)
{
	if (json_is_string(v))
		go_quote(b, json_string_value(v));
	else if (json_is_real(v))
		go_float(b, json_real_value(v));
	else if (v)
		go_json(b, v);
	else
		buf_puts(b, "null");
}

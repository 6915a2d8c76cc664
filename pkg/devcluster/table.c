/*
 * table: builds meta.k8s.io/v1 Tables the way kube-apiserver does (see
 * table.h). The file has four parts: time helpers (RFC3339 parsing and
 * HumanDuration), a small JSONPath evaluator for CRD printer columns, the
 * CRD column convertor, and the built-in printers, each a column list plus
 * a function that appends one object's cells.
 */
#include "devcluster/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/rfc3339.h"

#define DESC_NAME                                                            \
	"Name must be unique within a namespace. Is required when creating " \
	"resources, although some resources may allow a client to request "  \
	"the generation of an appropriate name automatically. Name is "      \
	"primarily intended for creation idempotence and configuration "     \
	"definition. Cannot be updated. More info: "                         \
	"https://kubernetes.io/docs/concepts/overview/working-with-objects/" \
	"names#names"
#define DESC_AGE                                                               \
	"CreationTimestamp is a timestamp representing the server time when "  \
	"this object was created. It is not guaranteed to be set in "          \
	"happens-before order across separate operations. Clients may not "    \
	"set this value. It is represented in RFC3339 form and is in UTC.\n\n" \
	"Populated by the system. Read-only. Null for lists. More info: "      \
	"https://git.k8s.io/community/contributors/devel/sig-architecture/"    \
	"api-conventions.md#metadata"

/* ---- small JSON accessors (all borrowed references) ---- */

/* Follows a dotted path of object keys; NULL when any step is missing. */
static const json_t *get(const json_t *obj, const char *dotted)
{
	const char *p = dotted;

	while (obj && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		obj = json_is_object(obj) ? json_object_getn(obj, p, n) : NULL;
		p += n + (dot ? 1 : 0);
	}
	return obj;
}

/* The string at `dotted`, or "" when absent or not a string. */
static const char *get_str(const json_t *obj, const char *dotted)
{
	const char *s = json_string_value(get(obj, dotted));

	return s ? s : "";
}

static json_int_t get_int(const json_t *obj, const char *dotted,
			  json_int_t dflt)
{
	const json_t *v = get(obj, dotted);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (json_int_t)json_real_value(v);
	return dflt;
}

static size_t get_size(const json_t *obj, const char *dotted)
{
	const json_t *v = get(obj, dotted);

	if (json_is_array(v))
		return json_array_size(v);
	if (json_is_object(v))
		return json_object_size(v);
	return 0;
}

static bool is_set(const json_t *obj, const char *dotted)
{
	const json_t *v = get(obj, dotted);

	return v && !json_is_null(v);
}

/* ---- time ---- */

void table_human_duration(double seconds, char *out, size_t outlen)
{
	long long s, m, h, d, y;

	if (seconds != seconds) /* NaN */
		seconds = -2;
	if (seconds > 1e15 || seconds < -1e15) /* keep the cast defined */
		seconds = seconds > 0 ? 1e15 : -1e15;
	s = (long long)seconds; /* truncates toward zero, like Go */
	m = s / 60;
	h = s / 3600;
	d = h / 24;
	y = d / 365;

	if (!out || outlen == 0)
		return;
	if (s < -1)
		snprintf(out, outlen, "<invalid>");
	else if (s < 0)
		snprintf(out, outlen, "0s");
	else if (s < 120)
		snprintf(out, outlen, "%llds", s);
	else if (m < 10 && s % 60)
		snprintf(out, outlen, "%lldm%llds", m, s % 60);
	else if (m < 180)
		snprintf(out, outlen, "%lldm", m);
	else if (h < 8 && m % 60)
		snprintf(out, outlen, "%lldh%lldm", h, m % 60);
	else if (h < 48)
		snprintf(out, outlen, "%lldh", h);
	else if (h < 24 * 8 && h % 24)
		snprintf(out, outlen, "%lldd%lldh", d, h % 24);
	else if (h < 24 * 365 * 2)
		snprintf(out, outlen, "%lldd", d);
	else if (h < 24 * 365 * 8 && d % 365)
		snprintf(out, outlen, "%lldy%lldd", y, d % 365);
	else
		snprintf(out, outlen, "%lldy", y);
}

/* translateTimestampSince: "<unknown>" for a missing or unparsable time. */
static void age_since(const char *ts, time_t now, char *out, size_t outlen)
{
	double t;

	if (!ts || !*ts || rfc3339_parse(ts, &t) < 0)
		snprintf(out, outlen, "<unknown>");
	else
		table_human_duration((double)now - t, out, outlen);
}

static json_t *age_cell(const char *ts, time_t now)
{
	char age[32];

	age_since(ts, now, age, sizeof(age));
	return json_string(age);
}

/* ---- JSONPath subset ---- */

struct nodes {
	const json_t **v;
	size_t n, cap;
};

static void nodes_push(struct nodes *ns, const json_t *j)
{
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 8;
		ns->v = xrealloc(ns->v, ns->cap * sizeof(*ns->v));
	}
	ns->v[ns->n++] = j;
}

static int eval_path(const json_t *root, const char *p, const char *end,
		     struct nodes *out);

/* Characters that end a bare field name. */
static bool ends_name(char c)
{
	return c == '.' || c == '[' || strchr(" =!<>)", c) != NULL;
}

/* End of the bracket expression starting at p ('['), or NULL. */
static const char *bracket_end(const char *p, const char *end)
{
	char quote = 0;
	int depth = 0;

	for (; p < end; p++) {
		if (quote) {
			quote = *p == quote ? 0 : quote;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '[' || *p == '(') {
			depth++;
		} else if ((*p == ']' || *p == ')') && --depth == 0) {
			return p;
		}
	}
	return NULL;
}

static void apply_field(const json_t *node, const char *key, size_t n,
			struct nodes *next)
{
	const json_t *v =
		json_is_object(node) ? json_object_getn(node, key, n) : NULL;

	if (v)
		nodes_push(next, v);
}

static void apply_wildcard(const json_t *node, struct nodes *next)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(node)) {
		json_array_foreach(node, i, v)
		{
			nodes_push(next, v);
		}
	} else if (json_is_object(node)) {
		json_object_foreach((json_t *)node, key, v)
		{
			nodes_push(next, v);
		}
	}
}

static void apply_index(const json_t *node, long idx, struct nodes *next)
{
	long size = (long)json_array_size(node);

	if (idx < 0)
		idx += size;
	if (json_is_array(node) && idx >= 0 && idx < size)
		nodes_push(next, json_array_get(node, (size_t)idx));
}

/* A filter literal: quoted string, true/false, or number. */
struct literal {
	const char *str;
	size_t len;
	int kind; /* 's' string, 'n' number, 'b' boolean */
	double num;
	bool b;
};

static int parse_literal(const char *p, const char *end, struct literal *lit)
{
	char tmp[64], *stop;
	size_t n = (size_t)(end - p);

	if (n >= 2 && (*p == '"' || *p == '\'') && end[-1] == *p) {
		*lit = (struct literal){
			.str = p + 1, .len = n - 2, .kind = 's'};
		return 0;
	}
	if ((n == 4 && !strncmp(p, "true", 4)) ||
	    (n == 5 && !strncmp(p, "false", 5))) {
		*lit = (struct literal){.kind = 'b', .b = n == 4};
		return 0;
	}
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	*lit = (struct literal){.kind = 'n', .num = strtod(tmp, &stop)};
	return *stop ? -1 : 0;
}

/* Compares a JSON value with a literal under `op`. */
static bool compare(const json_t *v, const char *op, const struct literal *l)
{
	int c;

	if (l->kind == 's' && json_is_string(v)) {
		size_t vn = json_string_length(v);
		c = strncmp(json_string_value(v), l->str,
			    vn < l->len ? vn : l->len);
		if (c == 0)
			c = vn < l->len ? -1 : vn > l->len;
	} else if (l->kind == 'n' && json_is_number(v)) {
		double d = json_number_value(v);
		c = d < l->num ? -1 : d > l->num;
	} else if (l->kind == 'b' && json_is_boolean(v)) {
		c = json_is_true(v) != l->b;
		if (strcmp(op, "==") && strcmp(op, "!="))
			return false;
	} else {
		return false;
	}
	if (!strcmp(op, "=="))
		return c == 0;
	if (!strcmp(op, "!="))
		return c != 0;
	if (!strcmp(op, "<"))
		return c < 0;
	if (!strcmp(op, "<="))
		return c <= 0;
	if (!strcmp(op, ">"))
		return c > 0;
	return !strcmp(op, ">=") && c >= 0;
}

/* Does array element `elem` satisfy `@path [op literal]`? */
static bool filter_match(const json_t *elem, const char *path,
			 const char *path_end, const char *op,
			 const struct literal *lit)
{
	struct nodes found = {0};
	bool match = false;

	if (eval_path(elem, path, path_end, &found) == 0) {
		for (size_t i = 0; i < found.n && !match; i++)
			match = !op || compare(found.v[i], op, lit);
	}
	free(found.v);
	return match;
}

/* Applies `?(@.path op literal)`; p..end is the text inside the parens. */
static int apply_filter(const struct nodes *cur, const char *p, const char *end,
			struct nodes *next)
{
	static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">"};
	const char *path, *path_end, *op = NULL;
	struct literal lit = {0};

	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	if (p == end || *p != '@')
		return -1;
	path = ++p;
	while (p < end && !strchr(" =!<>", *p)) {
		const char *q = *p == '[' ? bracket_end(p, end) : p;

		if (!q)
			return -1;
		p = q + 1;
	}
	path_end = p;
	while (p < end && *p == ' ')
		p++;
	for (size_t i = 0; p < end && i < sizeof(ops) / sizeof(*ops); i++) {
		if (!strncmp(p, ops[i], strlen(ops[i]))) {
			op = ops[i];
			p += strlen(op);
			break;
		}
	}
	if (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (!op || parse_literal(p, end, &lit) < 0)
			return -1;
	}
	for (size_t i = 0; i < cur->n; i++) {
		size_t j;
		json_t *elem;

		json_array_foreach(cur->v[i], j, elem)
		{
			if (filter_match(elem, path, path_end, op, &lit))
				nodes_push(next, elem);
		}
	}
	return 0;
}

/* Applies one bracket step; p points at '[' and q at the matching ']'. */
static int apply_bracket(const struct nodes *cur, const char *p, const char *q,
			 struct nodes *next)
{
	char *stop;
	long idx;

	p++;
	if (q - p >= 2 && (*p == '\'' || *p == '"') && q[-1] == *p) {
		for (size_t i = 0; i < cur->n; i++)
			apply_field(cur->v[i], p + 1, (size_t)(q - p - 2),
				    next);
		return 0;
	}
	if (q - p == 1 && *p == '*') {
		for (size_t i = 0; i < cur->n; i++)
			apply_wildcard(cur->v[i], next);
		return 0;
	}
	if (q - p >= 3 && p[0] == '?' && p[1] == '(' && q[-1] == ')')
		return apply_filter(cur, p + 2, q - 1, next);
	idx = strtol(p, &stop, 10);
	if (stop != q || stop == p)
		return -1; /* slices, unions and other syntax */
	for (size_t i = 0; i < cur->n; i++)
		apply_index(cur->v[i], idx, next);
	return 0;
}

/* Applies the step at *pp, advancing it past the step. */
static int eval_step(const struct nodes *cur, const char **pp, const char *end,
		     struct nodes *next)
{
	const char *p = *pp, *q;

	if (*p == '[') {
		q = bracket_end(p, end);
		if (!q || *q != ']')
			return -1;
		*pp = q + 1;
		return apply_bracket(cur, p, q, next);
	}
	if (*p != '.' || p + 1 >= end || p[1] == '.')
		return -1; /* recursive descent and stray text */
	for (q = ++p; q < end && !ends_name(*q); q++)
		;
	if (q == p)
		return -1;
	*pp = q;
	for (size_t i = 0; i < cur->n; i++) {
		if (q - p == 1 && *p == '*')
			apply_wildcard(cur->v[i], next);
		else
			apply_field(cur->v[i], p, (size_t)(q - p), next);
	}
	return 0;
}

/* Appends every match of the path p..end (relative to root) to out. */
static int eval_path(const json_t *root, const char *p, const char *end,
		     struct nodes *out)
{
	struct nodes cur = {0}, next = {0}, tmp;
	int rc = 0;

	nodes_push(&cur, root);
	while (p < end && rc == 0 && cur.n > 0) {
		next.n = 0;
		rc = eval_step(&cur, &p, end, &next);
		tmp = cur;
		cur = next;
		next = tmp;
	}
	for (size_t i = 0; rc == 0 && i < cur.n; i++)
		nodes_push(out, cur.v[i]);
	free(cur.v);
	free(next.v);
	return rc;
}

json_t *table_jsonpath_eval(const json_t *obj, const char *path)
{
	struct nodes found = {0};
	const char *p = path, *end;
	json_t *result = NULL;

	if (!obj || !path)
		return NULL;
	end = p + strlen(p);
	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	if (p < end && *p == '{') {
		if (end[-1] != '}')
			return NULL;
		p++;
		end--;
	}
	if (p < end && *p == '$')
		p++;
	if (eval_path(obj, p, end, &found) == 0 && found.n > 0)
		result = json_incref((json_t *)found.v[0]);
	free(found.v);
	return result;
}

/* ---- CRD printer columns (apiextensions tableconvertor) ---- */

/* Go's %v for a float64: shortest round-trip digits, %e when exp<-4||>=6. */
static void go_float(double v, char *out, size_t outlen)
{
	char tmp[40], *e;
	int prec, exp;

	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
	e = strchr(tmp, 'e');
	exp = e ? (int)strtol(e + 1, NULL, 10) : 0;
	if (exp < -4 || exp >= 6)
		snprintf(out, outlen, "%s", tmp);
	else
		snprintf(out, outlen, "%.*f",
			 prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

/* A "string" column cell: jsonpath's PrintResults of one value. */
static json_t *string_cell(const json_t *v)
{
	char num[48];
	char *dump;
	json_t *cell;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_stringn(json_string_value(v),
				    json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return json_string(num);
	case JSON_REAL:
		go_float(json_real_value(v), num, sizeof(num));
		return json_string(num);
	case JSON_TRUE:
		return json_string("true");
	case JSON_FALSE:
		return json_string("false");
	case JSON_NULL:
		return json_string("<no value>");
	default:
		dump = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
					     JSON_ENCODE_ANY);
		cell = dump ? json_string(dump) : json_null();
		free(dump);
		return cell;
	}
}

/* cellForJSONValue: typed cells; anything that does not fit is null. */
static json_t *typed_cell(const char *type, const json_t *v, time_t now)
{
	if (!strcmp(type, "integer") && json_is_integer(v))
		return json_integer(json_integer_value(v));
	if (!strcmp(type, "integer") && json_is_real(v))
		return json_integer((json_int_t)json_real_value(v));
	if (!strcmp(type, "number") && json_is_number(v))
		return json_real(json_number_value(v));
	if (!strcmp(type, "boolean") && json_is_boolean(v))
		return json_boolean(json_is_true(v));
	if (!strcmp(type, "date") && json_is_string(v)) {
		const char *s = json_string_value(v);
		double t;

		if (!*s || !strcmp(s, "null"))
			return json_string("<unknown>");
		if (rfc3339_parse(s, &t) < 0)
			return json_string("<invalid>");
		return age_cell(s, now);
	}
	return json_null();
}

static json_t *column_def(const char *name, const char *type,
			  const char *format, const char *desc,
			  json_int_t priority)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", name, "type",
			 type, "format", format ? format : "", "description",
			 desc ? desc : "", "priority", priority);
}

static json_t *crd_column_defs(const json_t *columns)
{
	json_t *defs = json_array(), *col;
	size_t i;

	json_array_append_new(
		defs, column_def("Name", "string", "name", DESC_NAME, 0));
	json_array_foreach(columns, i, col)
	{
		const char *desc = get_str(col, "description");
		char *dflt = xasprintf("Custom resource definition column (in "
				       "JSONPath format): %s",
				       get_str(col, "jsonPath"));

		json_array_append_new(
			defs,
			column_def(get_str(col, "name"), get_str(col, "type"),
				   get_str(col, "format"), *desc ? desc : dflt,
				   get_int(col, "priority", 0)));
		free(dflt);
	}
	return defs;
}

static void crd_cells(const json_t *obj, const json_t *columns, time_t now,
		      json_t *cells)
{
	json_t *col;
	size_t i;

	json_array_foreach(columns, i, col)
	{
		const char *type = get_str(col, "type");
		json_t *v = table_jsonpath_eval(obj, get_str(col, "jsonPath"));

		if (!v)
			json_array_append_new(cells, json_null());
		else if (!strcmp(type, "string"))
			json_array_append_new(cells, string_cell(v));
		else
			json_array_append_new(cells, typed_cell(type, v, now));
		json_decref(v);
	}
}

/* ---- string building helpers for built-in printers ---- */

static void add_str(json_t *cells, const char *s)
{
	json_array_append_new(cells, json_string(s ? s : ""));
}

static void add_int(json_t *cells, json_int_t v)
{
	json_array_append_new(cells, json_integer(v));
}

static void add_age(json_t *cells, const json_t *obj, time_t now)
{
	json_array_append_new(
		cells,
		age_cell(get_str(obj, "metadata.creationTimestamp"), now));
}

/* Appends the heap string s as a cell and frees it. */
static void add_owned(json_t *cells, char *s)
{
	add_str(cells, s);
	free(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Joins strings with sep; sorted and deduplicated when `set` is true. */
static char *join(const char **v, size_t n, const char *sep, bool set)
{
	struct buf b;

	if (set)
		qsort(v, n, sizeof(*v), cmp_str);
	buf_init(&b, BUF_UNLIMITED);
	for (size_t i = 0; i < n; i++) {
		if (set && i > 0 && !strcmp(v[i], v[i - 1]))
			continue;
		if (b.len)
			buf_puts(&b, sep);
		buf_puts(&b, v[i]);
	}
	return buf_detach(&b, NULL);
}

/* Comma-joined values of `field` in each element of the array at `arr`. */
static char *join_field(const json_t *obj, const char *arr, const char *field)
{
	const json_t *a = get(obj, arr), *el;
	size_t n = json_array_size(a), i;
	const char **v = xcalloc(n + 1, sizeof(*v));
	char *s;

	json_array_foreach(a, i, el)
	{
		v[i] = get_str(el, field);
	}
	s = join(v, n, ",", false);
	free(v);
	return s;
}

/* labels.FormatLabels: sorted "k=v" pairs, "<none>" when empty. */
static char *format_labels(const json_t *map)
{
	size_t n = json_object_size(map), i = 0;
	char **pairs = xcalloc(n + 1, sizeof(*pairs));
	const char *key;
	json_t *v;
	char *s;

	json_object_foreach((json_t *)map, key, v)
	{
		pairs[i++] = xasprintf(
			"%s=%s", key,
			json_string_value(v) ? json_string_value(v) : "");
	}
	s = join((const char **)pairs, i, ",", true);
	for (size_t j = 0; j < i; j++)
		free(pairs[j]);
	free(pairs);
	if (!*s) {
		free(s);
		s = xstrdup("<none>");
	}
	return s;
}

/* One requirement of a label selector, e.g. "tier in (a,b)". */
static char *requirement(const json_t *expr)
{
	const char *key = get_str(expr, "key"), *op = get_str(expr, "operator");
	const json_t *vals = get(expr, "values"), *v;
	size_t n = json_array_size(vals), i;
	const char **list;
	char *joined, *s;

	if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist"))
		return n ? NULL : xasprintf("%s%s", *op == 'D' ? "!" : "", key);
	if ((strcmp(op, "In") && strcmp(op, "NotIn")) || n == 0)
		return NULL;
	list = xcalloc(n, sizeof(*list));
	json_array_foreach(vals, i, v)
	{
		list[i] = json_string_value(v) ? json_string_value(v) : "";
	}
	joined = join(list, n, ",", true);
	s = xasprintf("%s %s (%s)", key, !strcmp(op, "In") ? "in" : "notin",
		      joined);
	free(joined);
	free(list);
	return s;
}

static int cmp_requirement(const void *a, const void *b)
{
	char *const *x = a, *const *y = b;
	size_t nx = strcspn(*x + (**x == '!'), "=! "),
	       ny = strcspn(*y + (**y == '!'), "=! ");
	int c = strncmp(*x + (**x == '!'), *y + (**y == '!'),
			nx < ny ? nx : ny);

	return c ? c : (nx > ny) - (nx < ny);
}

/*
 * A metav1.LabelSelector as labels.Selector.String(): requirements sorted
 * by key, "" for nil or empty. NULL when the selector is invalid.
 */
static char *selector_string(const json_t *sel)
{
	const json_t *labels = get(sel, "matchLabels"),
		     *exprs = get(sel, "matchExpressions"), *e;
	size_t n = json_object_size(labels) + json_array_size(exprs), k = 0, i;
	char **reqs = xcalloc(n + 1, sizeof(*reqs));
	const char *key;
	json_t *v;
	char *s = NULL;

	json_object_foreach((json_t *)labels, key, v)
	{
		reqs[k++] = xasprintf(
			"%s=%s", key,
			json_string_value(v) ? json_string_value(v) : "");
	}
	json_array_foreach(exprs, i, e)
	{
		if (!(reqs[k] = requirement(e)))
			goto out;
		k++;
	}
	qsort(reqs, k, sizeof(*reqs), cmp_requirement);
	s = join((const char **)reqs, k, ",", false);
out:
	for (i = 0; i < k; i++)
		free(reqs[i]);
	free(reqs);
	return s;
}

/* metav1.FormatLabelSelector: "<none>" when empty, "<error>" if invalid. */
static char *format_selector(const json_t *sel)
{
	char *s = selector_string(sel);

	if (!s)
		return xstrdup("<error>");
	if (!*s) {
		free(s);
		return xstrdup("<none>");
	}
	return s;
}

/* Containers and Images cells of a pod template at `spec`. */
static void add_containers(json_t *cells, const json_t *obj,
			   const char *containers)
{
	add_owned(cells, join_field(obj, containers, "name"));
	add_owned(cells, join_field(obj, containers, "image"));
}

/* ---- built-in printers ---- */

struct col {
	const char *name, *type, *format, *desc;
	int priority;
};

typedef void (*cells_fn)(const json_t *obj, time_t now, json_t *cells);

struct printer {
	const char *group, *resource;
	const struct col *cols;
	size_t ncols;
	cells_fn cells;
};

#define NAME_COL                                       \
	{                                              \
		"Name", "string", "name", DESC_NAME, 0 \
	}
#define AGE_COL                                  \
	{                                        \
		"Age", "string", "", DESC_AGE, 0 \
	}
#define CONTAINER_COLS                                                \
	{"Containers", "string", "",                                  \
	 "Names of each container in the "                            \
	 "template.",                                                 \
	 1},                                                          \
	{                                                             \
		"Images", "string", "",                               \
			"Images referenced by each container in the " \
			"template.",                                  \
			1                                             \
	}

/* Restart bookkeeping of printPod: a count and the latest termination. */
struct restarts {
	json_int_t count;
	double last;
	bool has_last;
};

static void restarts_add(struct restarts *r, const json_t *status)
{
	const char *fin = json_string_value(
		get(status, "lastState.terminated.finishedAt"));
	double t;

	r->count += get_int(status, "restartCount", 0);
	if (fin && rfc3339_parse(fin, &t) == 0 &&
	    (!r->has_last || t > r->last)) {
		r->last = t;
		r->has_last = true;
	}
}

static bool has_condition(const json_t *conds, const char *type,
			  const char *status)
{
	const json_t *c;
	size_t i;

	json_array_foreach(conds, i, c)
	{
		if (!strcmp(get_str(c, "type"), type))
			return !strcmp(get_str(c, "status"), status);
	}
	return false;
}

/* Sidecar (restartPolicy: Always) init container called `name`? */
static bool restartable_init(const json_t *pod, const char *name)
{
	const json_t *c;
	size_t i;

	json_array_foreach(get(pod, "spec.initContainers"), i, c)
	{
		if (!strcmp(get_str(c, "name"), name))
			return !strcmp(get_str(c, "restartPolicy"), "Always");
	}
	return false;
}

/* "Init:" + reason for a terminated (init) container with no reason. */
static void terminated_reason(const json_t *term, const char *prefix,
			      char *reason, size_t len)
{
	const char *r = get_str(term, "reason");
	json_int_t sig = get_int(term, "signal", 0);

	if (*r)
		snprintf(reason, len, "%s%s", prefix, r);
	else if (sig)
		snprintf(reason, len, "%sSignal:%" JSON_INTEGER_FORMAT, prefix,
			 sig);
	else
		snprintf(reason, len, "%sExitCode:%" JSON_INTEGER_FORMAT,
			 prefix, get_int(term, "exitCode", 0));
}

struct pod_state {
	int ready, total;
	struct restarts all, sidecars;
	char reason[256];
};

/* The init container loop of printPod; true while still initializing. */
static bool pod_init_state(const json_t *pod, struct pod_state *st)
{
	const json_t *cs;
	size_t i, ninit = get_size(pod, "spec.initContainers");

	json_array_foreach(get(pod, "status.initContainerStatuses"), i, cs)
	{
		const json_t *term = get(cs, "state.terminated");
		const char *wait = get_str(cs, "state.waiting.reason");
		bool sidecar = restartable_init(pod, get_str(cs, "name"));

		restarts_add(&st->all, cs);
		if (sidecar)
			restarts_add(&st->sidecars, cs);
		if (json_is_object(term) && get_int(term, "exitCode", 0) == 0)
			continue;
		if (sidecar && json_is_true(get(cs, "started"))) {
			st->ready += json_is_true(get(cs, "ready"));
			continue;
		}
		if (json_is_object(term))
			terminated_reason(term, "Init:", st->reason,
					  sizeof(st->reason));
		else if (*wait && strcmp(wait, "PodInitializing"))
			snprintf(st->reason, sizeof(st->reason), "Init:%s",
				 wait);
		else
			snprintf(st->reason, sizeof(st->reason), "Init:%zu/%zu",
				 i, ninit);
		return true;
	}
	return false;
}

/* The regular container loop of printPod (walked last to first). */
static void pod_container_state(const json_t *pod, struct pod_state *st)
{
	const json_t *list = get(pod, "status.containerStatuses");
	bool running = false;

	st->all = st->sidecars;
	for (size_t i = json_array_size(list); i-- > 0;) {
		const json_t *cs = json_array_get(list, i);
		const json_t *term = get(cs, "state.terminated");
		const char *wait = get_str(cs, "state.waiting.reason");

		restarts_add(&st->all, cs);
		if (*wait) {
			snprintf(st->reason, sizeof(st->reason), "%s", wait);
		} else if (json_is_object(term)) {
			terminated_reason(term, "", st->reason,
					  sizeof(st->reason));
		} else if (json_is_true(get(cs, "ready")) &&
			   json_is_object(get(cs, "state.running"))) {
			running = true;
			st->ready++;
		}
	}
	if (!strcmp(st->reason, "Completed") && running) {
		bool ready = has_condition(get(pod, "status.conditions"),
					   "Ready", "True");
		snprintf(st->reason, sizeof(st->reason), "%s",
			 ready ? "Running" : "NotReady");
	}
}

static void pod_status(const json_t *pod, struct pod_state *st)
{
	const char *phase = get_str(pod, "status.phase");
	const char *why = get_str(pod, "status.reason");
	const json_t *c, *conds = get(pod, "status.conditions");
	const json_t *init;
	size_t i;

	memset(st, 0, sizeof(*st));
	snprintf(st->reason, sizeof(st->reason), "%s", *why ? why : phase);
	json_array_foreach(conds, i, c)
	{
		if (!strcmp(get_str(c, "type"), "PodScheduled") &&
		    !strcmp(get_str(c, "reason"), "SchedulingGated"))
			snprintf(st->reason, sizeof(st->reason),
				 "SchedulingGated");
	}
	st->total = (int)get_size(pod, "spec.containers");
	json_array_foreach(get(pod, "spec.initContainers"), i, init)
	{
		st->total += !strcmp(get_str(init, "restartPolicy"), "Always");
	}
	if (!pod_init_state(pod, st) ||
	    has_condition(conds, "Initialized", "True"))
		pod_container_state(pod, st);
	if (is_set(pod, "metadata.deletionTimestamp")) {
		if (!strcmp(why, "NodeLost"))
			snprintf(st->reason, sizeof(st->reason), "Unknown");
		else if (strcmp(phase, "Succeeded") && strcmp(phase, "Failed"))
			snprintf(st->reason, sizeof(st->reason), "Terminating");
	}
}

static const char *or_none(const char *s)
{
	return *s ? s : "<none>";
}

static void pod_readiness_gates(const json_t *pod, json_t *cells)
{
	const json_t *gates = get(pod, "spec.readinessGates"), *g;
	const json_t *conds = get(pod, "status.conditions");
	size_t i, ok = 0;
	char s[48];

	if (json_array_size(gates) == 0) {
		add_str(cells, "<none>");
		return;
	}
	json_array_foreach(gates, i, g)
	{
		ok += has_condition(conds, get_str(g, "conditionType"), "True");
	}
	snprintf(s, sizeof(s), "%zu/%zu", ok, json_array_size(gates));
	add_str(cells, s);
}

static void pod_cells(const json_t *pod, time_t now, json_t *cells)
{
	struct pod_state st;
	char ready[32], age[32];
	const char *ip =
		get_str(json_array_get(get(pod, "status.podIPs"), 0), "ip");

	pod_status(pod, &st);
	snprintf(ready, sizeof(ready), "%d/%d", st.ready, st.total);
	add_str(cells, get_str(pod, "metadata.name"));
	add_str(cells, ready);
	add_str(cells, st.reason);
	if (st.all.count != 0 && st.all.has_last) {
		table_human_duration((double)now - st.all.last, age,
				     sizeof(age));
		add_owned(cells, xasprintf("%" JSON_INTEGER_FORMAT " (%s ago)",
					   st.all.count, age));
	} else {
		add_owned(cells,
			  xasprintf("%" JSON_INTEGER_FORMAT, st.all.count));
	}
	add_age(cells, pod, now);
	add_str(cells, or_none(*ip ? ip : get_str(pod, "status.podIP")));
	add_str(cells, or_none(get_str(pod, "spec.nodeName")));
	add_str(cells, or_none(get_str(pod, "status.nominatedNodeName")));
	pod_readiness_gates(pod, cells);
}

/* Row conditions the pod printer sets for finished pods, or NULL. */
static json_t *pod_row_conditions(const json_t *pod)
{
	const char *phase = get_str(pod, "status.phase");
	bool ok = !strcmp(phase, "Succeeded");

	if (!ok && strcmp(phase, "Failed"))
		return NULL;
	return json_pack("[{s:s, s:s, s:s, s:s}]", "type", "Completed",
			 "status", "True", "reason", phase, "message",
			 ok ? "The pod has completed successfully."
			    : "The pod failed.");
}

static const struct col pod_cols[] = {
	NAME_COL,
	{"Ready", "string", "",
	 "The aggregate readiness state of this pod for accepting traffic.", 0},
	{"Status", "string", "",
	 "The aggregate status of the containers in this pod.", 0},
	{"Restarts", "string", "",
	 "The number of times the containers in this pod have been restarted "
	 "and when the last container in this pod has restarted.",
	 0},
	AGE_COL,
	{"IP", "string", "", "IP address allocated to the pod.", 1},
	{"Node", "string", "", "The node the pod is scheduled onto.", 1},
	{"Nominated Node", "string", "",
	 "The node the scheduler nominated for preemption.", 1},
	{"Readiness Gates", "string", "",
	 "Pod readiness gates that are true, of all gates.", 1},
};

/* Sorted, de-duplicated load-balancer ingress addresses (IP or hostname). */
static size_t lb_addresses(const json_t *svc, const char **out)
{
	const json_t *ing = get(svc, "status.loadBalancer.ingress"), *v;
	size_t n = 0, u = 0, i;

	json_array_foreach(ing, i, v)
	{
		const char *ip = get_str(v, "ip"),
			   *host = get_str(v, "hostname");

		if (*ip || *host)
			out[n++] = *ip ? ip : host;
	}
	qsort(out, n, sizeof(*out), cmp_str);
	for (i = 0; i < n; i++) {
		if (u == 0 || strcmp(out[i], out[u - 1]))
			out[u++] = out[i];
	}
	return u;
}

/* getServiceExternalIP for the wide (unclipped) output the server makes. */
static char *service_external_ip(const json_t *svc, const char *type)
{
	const json_t *ext = get(svc, "spec.externalIPs"), *v;
	size_t n, i;
	const char **list;
	char *s;

	if (!strcmp(type, "ExternalName"))
		return xstrdup(get_str(svc, "spec.externalName"));
	if (strcmp(type, "ClusterIP") && strcmp(type, "NodePort") &&
	    strcmp(type, "LoadBalancer"))
		return xstrdup("<unknown>");
	list = xcalloc(json_array_size(ext) +
			       json_array_size(get(
				       svc, "status.loadBalancer.ingress")) +
			       1,
		       sizeof(*list));
	n = strcmp(type, "LoadBalancer") ? 0 : lb_addresses(svc, list);
	json_array_foreach(ext, i, v)
	{
		list[n++] = json_string_value(v) ? json_string_value(v) : "";
	}
	if (n > 0)
		s = join(list, n, ",", false);
	else if (!strcmp(type, "LoadBalancer"))
		s = xstrdup("<pending>");
	else
		s = xstrdup("<none>");
	free(list);
	return s;
}

static char *service_ports(const json_t *svc)
{
	const json_t *ports = get(svc, "spec.ports"), *p;
	struct buf b;
	size_t i;

	buf_init(&b, BUF_UNLIMITED);
	json_array_foreach(ports, i, p)
	{
		const char *proto = get_str(p, "protocol");
		json_int_t node = get_int(p, "nodePort", 0);

		if (i)
			buf_putc(&b, ',');
		buf_printf(&b, "%" JSON_INTEGER_FORMAT, get_int(p, "port", 0));
		if (node > 0)
			buf_printf(&b, ":%" JSON_INTEGER_FORMAT, node);
		buf_printf(&b, "/%s", *proto ? proto : "TCP");
	}
	if (b.len == 0)
		buf_puts(&b, "<none>");
	return buf_detach(&b, NULL);
}

static void service_cells(const json_t *svc, time_t now, json_t *cells)
{
	const char *type = get_str(svc, "spec.type");
	const char *ip = json_string_value(
		json_array_get(get(svc, "spec.clusterIPs"), 0));

	if (!*type)
		type = "ClusterIP"; /* the apiserver's default */
	if (!ip || !*ip)
		ip = get_str(svc, "spec.clusterIP");
	add_str(cells, get_str(svc, "metadata.name"));
	add_str(cells, type);
	add_str(cells, or_none(ip));
	add_owned(cells, service_external_ip(svc, type));
	add_owned(cells, service_ports(svc));
	add_age(cells, svc, now);
	add_owned(cells, format_labels(get(svc, "spec.selector")));
}

static const struct col service_cols[] = {
	NAME_COL,
	{"Type", "string", "", "How the Service is exposed.", 0},
	{"Cluster-IP", "string", "", "The IP address of the service.", 0},
	{"External-IP", "string", "",
	 "IP addresses for which nodes in the cluster accept traffic.", 0},
	{"Port(s)", "string", "", "The ports exposed by this service.", 0},
	AGE_COL,
	{"Selector", "string", "",
	 "Pods with labels matching this selector receive the traffic.", 1},
};

static void deployment_cells(const json_t *d, time_t now, json_t *cells)
{
	char *sel = selector_string(get(d, "spec.selector"));

	add_str(cells, get_str(d, "metadata.name"));
	add_owned(cells,
		  xasprintf("%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			    get_int(d, "status.readyReplicas", 0),
			    get_int(d, "spec.replicas", 1)));
	add_int(cells, get_int(d, "status.updatedReplicas", 0));
	add_int(cells, get_int(d, "status.availableReplicas", 0));
	add_age(cells, d, now);
	add_containers(cells, d, "spec.template.spec.containers");
	add_owned(cells, sel ? sel : xstrdup("<invalid>"));
}

static const struct col deployment_cols[] = {
	NAME_COL,
	{"Ready", "string", "", "Number of the pod with ready state", 0},
	{"Up-to-date", "string", "",
	 "Total number of non-terminated pods targeted by this deployment "
	 "that have the desired template spec.",
	 0},
	{"Available", "string", "",
	 "Total number of available pods (ready for at least minReadySeconds) "
	 "targeted by this deployment.",
	 0},
	AGE_COL,
	CONTAINER_COLS,
	{"Selector", "string", "", "Label selector for pods.", 1},
};

static void replicaset_cells(const json_t *rs, time_t now, json_t *cells)
{
	add_str(cells, get_str(rs, "metadata.name"));
	add_int(cells, get_int(rs, "spec.replicas", 1));
	add_int(cells, get_int(rs, "status.replicas", 0));
	add_int(cells, get_int(rs, "status.readyReplicas", 0));
	add_age(cells, rs, now);
	add_containers(cells, rs, "spec.template.spec.containers");
	add_owned(cells, format_selector(get(rs, "spec.selector")));
}

static const struct col replicaset_cols[] = {
	NAME_COL,
	{"Desired", "integer", "", "Number of desired pods.", 0},
	{"Current", "integer", "", "Number of most recently observed pods.", 0},
	{"Ready", "integer", "", "Number of pods with a Ready condition.", 0},
	AGE_COL,
	CONTAINER_COLS,
	{"Selector", "string", "", "Label selector for pods.", 1},
};

static const char *job_status(const json_t *job)
{
	const json_t *conds = get(job, "status.conditions");

	if (has_condition(conds, "Complete", "True"))
		return "Complete";
	if (has_condition(conds, "Failed", "True"))
		return "Failed";
	if (is_set(job, "metadata.deletionTimestamp"))
		return "Terminating";
	if (has_condition(conds, "Suspended", "True"))
		return "Suspended";
	if (has_condition(conds, "FailureTarget", "True"))
		return "FailureTarget";
	return "Running";
}

static void job_cells(const json_t *job, time_t now, json_t *cells)
{
	json_int_t ok = get_int(job, "status.succeeded", 0);
	json_int_t par = get_int(job, "spec.parallelism", 0);
	double start, end = (double)now;
	char dur[32] = "";

	add_str(cells, get_str(job, "metadata.name"));
	add_str(cells, job_status(job));
	if (is_set(job, "spec.completions"))
		add_owned(cells,
			  xasprintf("%" JSON_INTEGER_FORMAT
				    "/%" JSON_INTEGER_FORMAT,
				    ok, get_int(job, "spec.completions", 0)));
	else if (par > 1)
		add_owned(cells, xasprintf("%" JSON_INTEGER_FORMAT
					   "/1 of %" JSON_INTEGER_FORMAT,
					   ok, par));
	else
		add_owned(cells, xasprintf("%" JSON_INTEGER_FORMAT "/1", ok));
	if (rfc3339_parse(json_string_value(get(job, "status.startTime")),
			  &start) == 0) {
		rfc3339_parse(
			json_string_value(get(job, "status.completionTime")),
			&end);
		table_human_duration(end - start, dur, sizeof(dur));
	}
	add_str(cells, dur);
	add_age(cells, job, now);
	add_containers(cells, job, "spec.template.spec.containers");
	add_owned(cells, format_selector(get(job, "spec.selector")));
}

static const struct col job_cols[] = {
	NAME_COL,
	{"Status", "string", "", "Status of the job.", 0},
	{"Completions", "string", "",
	 "The number of pods which reached phase Succeeded.", 0},
	{"Duration", "string", "", "Time required to complete the job.", 0},
	AGE_COL,
	CONTAINER_COLS,
	{"Selector", "string", "", "Label selector for pods.", 1},
};

static void namespace_cells(const json_t *ns, time_t now, json_t *cells)
{
	add_str(cells, get_str(ns, "metadata.name"));
	add_str(cells, get_str(ns, "status.phase"));
	add_age(cells, ns, now);
}

static const struct col namespace_cols[] = {
	NAME_COL,
	{"Status", "string", "", "The status of the namespace", 0},
	AGE_COL,
};

static void configmap_cells(const json_t *cm, time_t now, json_t *cells)
{
	add_str(cells, get_str(cm, "metadata.name"));
	add_int(cells, (json_int_t)(get_size(cm, "data") +
				    get_size(cm, "binaryData")));
	add_age(cells, cm, now);
}

static const struct col configmap_cols[] = {
	NAME_COL,
	{"Data", "string", "", "Number of data entries.", 0},
	AGE_COL,
};

static void secret_cells(const json_t *s, time_t now, json_t *cells)
{
	add_str(cells, get_str(s, "metadata.name"));
	add_str(cells, get_str(s, "type"));
	add_int(cells, (json_int_t)get_size(s, "data"));
	add_age(cells, s, now);
}

static const struct col secret_cols[] = {
	NAME_COL,
	{"Type", "string", "",
	 "Used to facilitate programmatic handling of "
	 "secret data.",
	 0},
	{"Data", "string", "", "Number of data entries.", 0},
	AGE_COL,
};

static void serviceaccount_cells(const json_t *sa, time_t now, json_t *cells)
{
	add_str(cells, get_str(sa, "metadata.name"));
	add_int(cells, (json_int_t)get_size(sa, "secrets"));
	add_age(cells, sa, now);
}

static const struct col serviceaccount_cols[] = {
	NAME_COL,
	{"Secrets", "string", "", "Number of secrets listed.", 0},
	AGE_COL,
};

/* formatEndpoints: up to three "ip:port" entries, then "+ N more...". */
static char *endpoints_string(const json_t *ep)
{
	const json_t *subsets = get(ep, "subsets"), *ss, *port, *addr;
	size_t i, j, k, shown = 0, count = 0;
	struct buf b;

	if (json_array_size(subsets) == 0)
		return xstrdup("<none>");
	buf_init(&b, BUF_UNLIMITED);
	json_array_foreach(subsets, i, ss)
	{
		const json_t *ports = get(ss, "ports"),
			     *addrs = get(ss, "addresses");
		size_t np = json_array_size(ports);

		for (j = 0; j < (np ? np : 1); j++) {
			port = json_array_get(ports, j);
			count += json_array_size(addrs);
			json_array_foreach(addrs, k, addr)
			{
				const char *ip = get_str(addr, "ip");
				if (shown == 3)
					break;
				buf_puts(&b, shown++ ? "," : "");
				buf_printf(&b, strchr(ip, ':') ? "[%s]" : "%s",
					   ip);
				if (np)
					buf_printf(&b, ":%" JSON_INTEGER_FORMAT,
						   get_int(port, "port", 0));
			}
		}
	}
	if (count > 3)
		buf_printf(&b, " + %zu more...", count - 3);
	return buf_detach(&b, NULL);
}

static void endpoints_cells(const json_t *ep, time_t now, json_t *cells)
{
	add_str(cells, get_str(ep, "metadata.name"));
	add_owned(cells, endpoints_string(ep));
	add_age(cells, ep, now);
}

static const struct col endpoints_cols[] = {
	NAME_COL,
	{"Endpoints", "string", "", "The set of all endpoints.", 0},
	AGE_COL,
};

static char *trim(const char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n && strchr(" \t\n\r", s[n - 1]))
		n--;
	return xstrndup(s, n);
}

static void event_cells(const json_t *ev, time_t now, json_t *cells)
{
	const char *first_ts = get_str(ev, "firstTimestamp");
	const char *kind = get_str(ev, "involvedObject.kind");
	const char *name = get_str(ev, "involvedObject.name");
	const char *comp = get_str(ev, "source.component");
	const char *host = get_str(ev, "source.host");
	json_int_t count = get_int(ev, "count", 0);
	char first[32], last[32];
	char *lower = xstrdup(kind);

	age_since(*first_ts ? first_ts : get_str(ev, "eventTime"), now, first,
		  sizeof(first));
	if (*get_str(ev, "lastTimestamp"))
		age_since(get_str(ev, "lastTimestamp"), now, last,
			  sizeof(last));
	else
		snprintf(last, sizeof(last), "%s", first);
	if (is_set(ev, "series")) {
		age_since(get_str(ev, "series.lastObservedTime"), now, last,
			  sizeof(last));
		count = get_int(ev, "series.count", 0);
	} else if (count == 0) {
		count = 1;
	}
	for (char *c = lower; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	comp = *comp ? comp : get_str(ev, "reportingComponent");
	host = *host ? host : get_str(ev, "reportingInstance");
	add_str(cells, last);
	add_str(cells, get_str(ev, "type"));
	add_str(cells, get_str(ev, "reason"));
	add_owned(cells,
		  *name ? xasprintf("%s/%s", lower, name) : xstrdup(lower));
	add_str(cells, get_str(ev, "involvedObject.fieldPath"));
	add_owned(cells,
		  *host ? xasprintf("%s, %s", comp, host) : xstrdup(comp));
	add_owned(cells, trim(get_str(ev, "message")));
	add_str(cells, first);
	add_int(cells, count);
	add_str(cells, get_str(ev, "metadata.name"));
	free(lower);
}

static const struct col event_cols[] = {
	{"Last Seen", "string", "", "The time the event was last recorded.", 0},
	{"Type", "string", "", "Type of this event (Normal, Warning).", 0},
	{"Reason", "string", "", "Why the action was taken.", 0},
	{"Object", "string", "", "The object this event is about.", 0},
	{"Subobject", "string", "", "The part of the object, if any.", 1},
	{"Source", "string", "", "The component reporting this event.", 1},
	{"Message", "string", "", "A human-readable description.", 0},
	{"First Seen", "string", "", "The time the event was first recorded.",
	 1},
	{"Count", "string", "", "The number of times this event occurred.", 1},
	{"Name", "string", "name", DESC_NAME, 1},
};

static void lease_cells(const json_t *l, time_t now, json_t *cells)
{
	add_str(cells, get_str(l, "metadata.name"));
	add_str(cells, get_str(l, "spec.holderIdentity"));
	add_age(cells, l, now);
}

static const struct col lease_cols[] = {
	NAME_COL,
	{"Holder", "string", "", "The holder of the lease.", 0},
	AGE_COL,
};

static char *node_status(const json_t *node)
{
	const char *ready = "Unknown";
	size_t i;
	json_t *c;

	json_array_foreach(
		json_object_get(json_object_get(node, "status"), "conditions"),
		i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *st =
			json_string_value(json_object_get(c, "status"));

		if (t && st && strcmp(t, "Ready") == 0)
			ready = strcmp(st, "True") == 0 ? "Ready" : "NotReady";
	}
	return xasprintf(
		"%s%s", ready,
		json_is_true(json_object_get(json_object_get(node, "spec"),
					     "unschedulable"))
			? ",SchedulingDisabled"
			: "");
}

/* Roles from node-role.kubernetes.io/<role> labels, sorted by jansson. */
static char *node_roles(const json_t *node)
{
	json_t *labels =
		json_object_get(json_object_get(node, "metadata"), "labels");
	struct buf b;
	const char *k;
	json_t *v;

	buf_init(&b, BUF_UNLIMITED);
	json_object_foreach(labels, k, v)
	{
		if (strncmp(k, "node-role.kubernetes.io/", 24) == 0 && k[24]) {
			if (b.len)
				buf_putc(&b, ',');
			buf_puts(&b, k + 24);
		}
	}
	if (!b.len)
		buf_puts(&b, "<none>");
	return buf_detach(&b, NULL);
}

static const char *node_address(const json_t *node, const char *type)
{
	size_t i;
	json_t *a;

	json_array_foreach(
		json_object_get(json_object_get(node, "status"), "addresses"),
		i, a)
	{
		const char *t = json_string_value(json_object_get(a, "type"));

		if (t && strcmp(t, type) == 0)
			return json_string_value(json_object_get(a, "address"));
	}
	return "<none>";
}

static void node_cells(const json_t *node, time_t now, json_t *cells)
{
	add_str(cells, get_str(node, "metadata.name"));
	add_owned(cells, node_status(node));
	add_owned(cells, node_roles(node));
	add_age(cells, node, now);
	add_str(cells, get_str(node, "status.nodeInfo.kubeletVersion"));
	add_str(cells, node_address(node, "InternalIP"));
	add_str(cells, node_address(node, "ExternalIP"));
	add_str(cells, get_str(node, "status.nodeInfo.osImage"));
	add_str(cells, get_str(node, "status.nodeInfo.kernelVersion"));
	add_str(cells,
		get_str(node, "status.nodeInfo.containerRuntimeVersion"));
}

static const struct col node_cols[] = {
	NAME_COL,
	{"Status", "string", "", "The status of the node", 0},
	{"Roles", "string", "", "The roles of the node", 0},
	AGE_COL,
	{"Version", "string", "", "Kubelet Version reported by the node.", 0},
	{"Internal-IP", "string", "", "List of internal IPs.", 1},
	{"External-IP", "string", "", "List of external IPs.", 1},
	{"OS-Image", "string", "", "OS image reported by the node.", 1},
	{"Kernel-Version", "string", "", "Kernel version reported by the node.",
	 1},
	{"Container-Runtime", "string", "",
	 "Container runtime version reported by the node.", 1},
};

/* "80,443", or "<unset>" when the slice has no ports. */
static char *slice_ports(const json_t *slice)
{
	struct buf b;
	size_t i;
	json_t *p;

	buf_init(&b, BUF_UNLIMITED);
	json_array_foreach(json_object_get(slice, "ports"), i, p)
	{
		json_t *port = json_object_get(p, "port");

		if (b.len)
			buf_putc(&b, ',');
		if (json_is_integer(port))
			buf_printf(&b, "%lld",
				   (long long)json_integer_value(port));
		else
			buf_puts(&b, "<unset>");
	}
	if (!b.len)
		buf_puts(&b, "<unset>");
	return buf_detach(&b, NULL);
}

/* The first three addresses and how many more, or "<unset>". */
static char *slice_endpoints(const json_t *slice)
{
	struct buf b;
	size_t i, j, total = 0;
	json_t *e, *a;

	buf_init(&b, BUF_UNLIMITED);
	json_array_foreach(json_object_get(slice, "endpoints"), i, e)
	{
		json_array_foreach(json_object_get(e, "addresses"), j, a)
		{
			if (total++ < 3) {
				if (b.len)
					buf_putc(&b, ',');
				buf_puts(&b, json_string_value(a) ?: "");
			}
		}
	}
	if (!total)
		buf_puts(&b, "<unset>");
	else if (total > 3)
		buf_printf(&b, " + %zu more...", total - 3);
	return buf_detach(&b, NULL);
}

static void endpointslice_cells(const json_t *slice, time_t now, json_t *cells)
{
	add_str(cells, get_str(slice, "metadata.name"));
	add_str(cells, get_str(slice, "addressType"));
	add_owned(cells, slice_ports(slice));
	add_owned(cells, slice_endpoints(slice));
	add_age(cells, slice, now);
}

static const struct col endpointslice_cols[] = {
	NAME_COL,
	{"AddressType", "string", "", "The IP protocol for this slice.", 0},
	{"Ports", "string", "", "The ports of the endpoints in this slice.", 0},
	{"Endpoints", "string", "", "The addresses of the endpoints.", 0},
	AGE_COL,
};

/* The apiserver's default table convertor: name and creation time. */
static void created_at_cells(const json_t *obj, time_t now, json_t *cells)
{
	double t;
	char when[40] = "0001-01-01T00:00:00Z";

	(void)now;
	if (rfc3339_parse(get_str(obj, "metadata.creationTimestamp"), &t) == 0)
		rfc3339_format(t, when, sizeof(when));
	add_str(cells, get_str(obj, "metadata.name"));
	add_str(cells, when);
}

static const struct col created_at_cols[] = {
	NAME_COL,
	{"Created At", "date", "", DESC_AGE, 0},
};

#define PRINTER(g, r, cols, fn)                              \
	{                                                    \
		g, r, cols, sizeof(cols) / sizeof(*cols), fn \
	}

static const struct printer printers[] = {
	PRINTER("", "pods", pod_cols, pod_cells),
	PRINTER("", "services", service_cols, service_cells),
	PRINTER("", "namespaces", namespace_cols, namespace_cells),
	PRINTER("", "configmaps", configmap_cols, configmap_cells),
	PRINTER("", "secrets", secret_cols, secret_cells),
	PRINTER("", "serviceaccounts", serviceaccount_cols,
		serviceaccount_cells),
	PRINTER("", "endpoints", endpoints_cols, endpoints_cells),
	PRINTER("", "events", event_cols, event_cells),
	PRINTER("apps", "deployments", deployment_cols, deployment_cells),
	PRINTER("apps", "replicasets", replicaset_cols, replicaset_cells),
	PRINTER("batch", "jobs", job_cols, job_cells),
	PRINTER("coordination.k8s.io", "leases", lease_cols, lease_cells),
	PRINTER("", "nodes", node_cols, node_cells),
	PRINTER("discovery.k8s.io", "endpointslices", endpointslice_cols,
		endpointslice_cells),
	PRINTER("apiextensions.k8s.io", "customresourcedefinitions",
		created_at_cols, created_at_cells),
};

static const struct printer *printer_find(const char *group,
					  const char *resource)
{
	for (size_t i = 0; i < sizeof(printers) / sizeof(*printers); i++) {
		if (!strcmp(printers[i].group, group ? group : "") &&
		    !strcmp(printers[i].resource, resource ? resource : ""))
			return &printers[i];
	}
	return NULL;
}

static json_t *printer_column_defs(const struct printer *pr)
{
	json_t *defs = json_array();

	for (size_t i = 0; i < pr->ncols; i++) {
		const struct col *c = &pr->cols[i];
		json_array_append_new(defs,
				      column_def(c->name, c->type, c->format,
						 c->desc, c->priority));
	}
	return defs;
}

/* ---- assembling the Table ---- */

/* PartialObjectMetadata for a row: the item's metadata sans managedFields. */
static json_t *row_object(const json_t *item)
{
	const json_t *meta = get(item, "metadata");
	json_t *copy =
		json_is_object(meta) ? json_deep_copy(meta) : json_object();

	json_object_del(copy, "managedFields");
	return json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata",
			 "apiVersion", "meta.k8s.io/v1", "metadata", copy);
}

static json_t *table_metadata(const json_t *list_meta)
{
	static const char *const keys[] = {"selfLink", "resourceVersion",
					   "continue"};
	const json_t *rem = get(list_meta, "remainingItemCount");
	json_t *meta = json_object();

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		const char *v = json_string_value(get(list_meta, keys[i]));
		if (v && *v)
			json_object_set_new(meta, keys[i], json_string(v));
	}
	if (json_is_integer(rem))
		json_object_set_new(meta, "remainingItemCount",
				    json_integer(json_integer_value(rem)));
	return meta;
}

json_t *table_build(const char *group, const char *resource,
		    const json_t *printer_columns, const json_t *items,
		    const json_t *list_meta, bool include_column_definitions,
		    time_t now)
{
	const struct printer *pr = NULL;
	json_t *default_cols = NULL, *defs, *rows = json_array(), *item;
	const json_t *cols = printer_columns;
	size_t i;

	if (json_array_size(printer_columns) == 0)
		pr = printer_find(group, resource);
	if (!pr && json_array_size(printer_columns) == 0) {
		default_cols = json_pack("[{s:s, s:s, s:s, s:s}]", "name",
					 "Age", "type", "date", "jsonPath",
					 ".metadata.creationTimestamp",
					 "description", DESC_AGE);
		cols = default_cols;
	}
	json_array_foreach(items, i, item)
	{
		json_t *cells = json_array();
		json_t *conds = pr && pr->cells == pod_cells
					? pod_row_conditions(item)
					: NULL;

		if (pr) {
			pr->cells(item, now, cells);
		} else {
			add_str(cells, get_str(item, "metadata.name"));
			crd_cells(item, cols, now, cells);
		}
		json_array_append_new(rows,
				      json_pack("{s:o, s:o}", "cells", cells,
						"object", row_object(item)));
		if (conds)
			json_object_set_new(json_array_get(rows, i),
					    "conditions", conds);
	}
	if (!include_column_definitions)
		defs = json_null();
	else
		defs = pr ? printer_column_defs(pr) : crd_column_defs(cols);
	json_decref(default_cols);
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Table",
			 "apiVersion", "meta.k8s.io/v1", "metadata",
			 table_metadata(list_meta), "columnDefinitions", defs,
			 "rows", rows);
}

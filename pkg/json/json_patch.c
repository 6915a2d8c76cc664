/*
 * json_patch: RFC 6902 JSON patch and RFC 6901 JSON pointer.
 *
 * json_patch_apply() works in two passes. The first decodes every operation
 * into a struct op (kind, parsed pointers, borrowed value) and rejects a
 * malformed patch before touching anything. The second deep-copies the
 * document once and applies the operations to that copy in place; on the
 * first failure the copy is dropped. Error texts mirror evanphx/json-patch,
 * the library kube-apiserver uses, so kubectl users see familiar messages.
 */
#include "json/json_patch.h"

#include <stdint.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

/* A parsed JSON pointer: n decoded reference tokens (heap strings). */
struct pointer {
	char **tokens;
	size_t n;
};

enum op_kind {
	OP_ADD,
	OP_REMOVE,
	OP_REPLACE,
	OP_MOVE,
	OP_COPY,
	OP_TEST,
};

/* Which members each operation needs besides "op" and "path". */
static const struct op_def {
	const char *name;
	enum op_kind kind;
	int needs_value;
	int needs_from;
} op_defs[] = {
	{"add", OP_ADD, 1, 0},	       {"remove", OP_REMOVE, 0, 0},
	{"replace", OP_REPLACE, 1, 0}, {"move", OP_MOVE, 0, 1},
	{"copy", OP_COPY, 0, 1},       {"test", OP_TEST, 1, 0},
};

/* One decoded operation. Strings and value are borrowed from the patch. */
struct op {
	const struct op_def *def;
	const char *path_str;
	struct pointer path;
	const char *from_str;
	struct pointer from;
	json_t *value;
};

/* ---- JSON pointer -------------------------------------------------- */

static void pointer_release(struct pointer *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->tokens[i]);
	free(p->tokens);
	p->tokens = NULL;
	p->n = 0;
}

/* Decodes one reference token of `len` bytes; NULL on a bad ~ escape. */
static char *token_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '~') {
			out[o++] = s[i];
			continue;
		}
		if (i + 1 < len && (s[i + 1] == '0' || s[i + 1] == '1')) {
			out[o++] = s[i + 1] == '0' ? '~' : '/';
			i++;
			continue;
		}
		free(out);
		return NULL;
	}
	out[o] = '\0';
	return out;
}

/*
 * Parses `s` into `p` (which the caller releases). Returns 0, or -1 when
 * `s` is neither "" nor starts with '/', or holds a bad ~ escape.
 */
static int pointer_parse(const char *s, struct pointer *p)
{
	size_t count = 0;

	p->tokens = NULL;
	p->n = 0;
	if (*s == '\0')
		return 0;
	if (*s != '/')
		return -1;
	for (const char *c = s; *c; c++)
		count += *c == '/';
	p->tokens = xcalloc(count, sizeof(*p->tokens));
	while (*s == '/') {
		const char *start = s + 1;
		const char *end = strchr(start, '/');
		size_t len = end ? (size_t)(end - start) : strlen(start);

		p->tokens[p->n] = token_decode(start, len);
		if (!p->tokens[p->n]) {
			pointer_release(p);
			return -1;
		}
		p->n++;
		s = start + len;
	}
	return 0;
}

static int pointer_equal(const struct pointer *a, const struct pointer *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->tokens[i], b->tokens[i]) != 0)
			return 0;
	}
	return 1;
}

/*
 * Parses an RFC 6901 array index ("0" or digits without a leading zero).
 * Returns 0 and sets *idx, or -1 for anything else, "-" included.
 */
static int index_parse(const char *tok, size_t *idx)
{
	size_t v = 0;

	if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
		return -1;
	for (const char *c = tok; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		if (v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*c - '0');
	}
	*idx = v;
	return 0;
}

/* Borrowed child of an object or array named by `tok`, or NULL. */
static json_t *child_get(json_t *c, const char *tok)
{
	size_t idx;

	if (json_is_object(c))
		return json_object_get(c, tok);
	if (json_is_array(c) && index_parse(tok, &idx) == 0)
		return json_array_get(c, idx);
	return NULL;
}

/* Borrowed value at the first `depth` tokens of `p`, or NULL. */
static json_t *pointer_walk(json_t *root, const struct pointer *p, size_t depth)
{
	json_t *cur = root;

	for (size_t i = 0; i < depth && cur; i++)
		cur = child_get(cur, p->tokens[i]);
	return cur;
}

/* Borrowed container that holds the last token of `p` (n > 0), or NULL. */
static json_t *parent_get(json_t *root, const struct pointer *p)
{
	json_t *parent = pointer_walk(root, p, p->n - 1);

	if (json_is_object(parent) || json_is_array(parent))
		return parent;
	return NULL;
}

static const char *last_token(const struct pointer *p)
{
	return p->tokens[p->n - 1];
}

json_t *json_pointer_get(json_t *doc, const char *pointer)
{
	struct pointer p;
	json_t *found;

	if (!doc || !pointer || pointer_parse(pointer, &p) != 0)
		return NULL;
	found = pointer_walk(doc, &p, p.n);
	pointer_release(&p);
	return found;
}

/* ---- equality ------------------------------------------------------ */

static int number_equal(const json_t *a, const json_t *b)
{
	const json_t *i = json_is_integer(a) ? a : b;
	const json_t *r = json_is_integer(a) ? b : a;
	double d;

	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_real(a) && json_is_real(b))
		return json_real_value(a) == json_real_value(b);
	d = json_real_value(r);
	/* Compare as integers when the real is integral and in range. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return 0;
	return (double)(json_int_t)d == d &&
	       (json_int_t)d == json_integer_value(i);
}

static int object_equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *value;

	if (json_object_size(a) != json_object_size(b))
		return 0;
	json_object_foreach((json_t *)a, key, value)
	{
		if (!json_value_equal(value, json_object_get(b, key)))
			return 0;
	}
	return 1;
}

static int array_equal(const json_t *a, const json_t *b)
{
	size_t n = json_array_size(a);

	if (n != json_array_size(b))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!json_value_equal(json_array_get(a, i),
				      json_array_get(b, i)))
			return 0;
	}
	return 1;
}

int json_value_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return 0;
	if (json_is_number(a) && json_is_number(b))
		return number_equal(a, b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		return object_equal(a, b);
	case JSON_ARRAY:
		return array_equal(a, b);
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b),
			      json_string_length(a)) == 0;
	default:
		return 1; /* true, false, null */
	}
}

/* ---- decoding the patch -------------------------------------------- */

/* Go's name for a JSON type, as in its "cannot unmarshal" errors. */
static const char *go_type_name(const json_t *v)
{
	if (json_is_array(v))
		return "array";
	if (json_is_string(v))
		return "string";
	if (json_is_number(v))
		return "number";
	if (json_is_boolean(v))
		return "bool";
	return "object";
}

static const struct op_def *op_def_find(const json_t *obj)
{
	const char *name = json_string_value(json_object_get(obj, "op"));

	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(op_defs) / sizeof(op_defs[0]); i++) {
		if (strcmp(op_defs[i].name, name) == 0)
			return &op_defs[i];
	}
	return NULL;
}

/* Reads and parses the pointer member `member` ("path" or "from"). */
static int op_pointer(const json_t *obj, const struct op_def *def,
		      const char *member, const char **str, struct pointer *p,
		      char *errbuf, size_t errlen)
{
	*str = json_string_value(json_object_get(obj, member));
	if (!*str)
		return err_set(errbuf, errlen, ERR_BADREQUEST,
			       "%s operation failed to decode %s: operation "
			       "missing %s field: missing value",
			       def->name, member, member);
	if (pointer_parse(*str, p) != 0)
		return err_set(errbuf, errlen, ERR_BADREQUEST,
			       "%s operation failed to decode %s: invalid JSON "
			       "pointer: \"%s\"",
			       def->name, member, *str);
	return 0;
}

/* Fills `op` from one element of the patch array. */
static int op_decode(const json_t *obj, struct op *op, char *errbuf,
		     size_t errlen)
{
	const json_t *kind = json_object_get(obj, "op");
	int rc;

	if (!json_is_object(obj) && !json_is_null(obj))
		return err_set(errbuf, errlen, ERR_BADREQUEST,
			       "json: cannot unmarshal %s into Go value of "
			       "type jsonpatch.Operation",
			       go_type_name(obj));
	op->def = op_def_find(obj);
	if (!op->def)
		return err_set(errbuf, errlen, ERR_BADREQUEST,
			       "Unexpected kind: %s",
			       json_is_string(kind) ? json_string_value(kind)
						    : "unknown");
	rc = op_pointer(obj, op->def, "path", &op->path_str, &op->path, errbuf,
			errlen);
	if (rc == 0 && op->def->needs_from)
		rc = op_pointer(obj, op->def, "from", &op->from_str, &op->from,
				errbuf, errlen);
	op->value = json_object_get(obj, "value");
	if (rc == 0 && op->def->needs_value && !op->value)
		rc = err_set(errbuf, errlen, ERR_BADREQUEST,
			     "%s operation failed to decode value: operation, "
			     "missing value field: missing value",
			     op->def->name);
	return rc;
}

static void ops_free(struct op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pointer_release(&ops[i].path);
		pointer_release(&ops[i].from);
	}
	free(ops);
}

/* Decodes the whole patch into a new array of n ops (freed by ops_free). */
static int ops_decode(const json_t *patch, struct op **out, size_t *n,
		      char *errbuf, size_t errlen)
{
	size_t count = json_array_size(patch);
	struct op *ops;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_array(patch))
		return err_set(errbuf, errlen, ERR_BADREQUEST,
			       "json: cannot unmarshal %s into Go value of "
			       "type jsonpatch.Patch",
			       patch ? go_type_name(patch) : "null");
	ops = xcalloc(count ? count : 1, sizeof(*ops));
	for (size_t i = 0; i < count && rc == 0; i++)
		rc = op_decode(json_array_get(patch, i), &ops[i], errbuf,
			       errlen);
	if (rc != 0) {
		ops_free(ops, count);
		return rc;
	}
	*out = ops;
	*n = count;
	return 0;
}

/* ---- applying operations ------------------------------------------- */

/*
 * Inserts `value` (reference consumed) at `p` in *root, as "add" does.
 * `opname` is the operation on whose behalf this runs; it shapes messages.
 */
static int insert_at(json_t **root, const struct pointer *p, const char *ptr,
		     json_t *value, const char *opname, char *errbuf,
		     size_t errlen)
{
	json_t *parent;
	size_t idx;
	int rc = 0;

	if (p->n == 0) {
		json_decref(*root);
		*root = value;
		return 0;
	}
	parent = parent_get(*root, p);
	if (!parent && strcmp(opname, "add") == 0) {
		rc = err_set(errbuf, errlen, ERR_INVAL,
			     "add operation does not apply: doc is missing "
			     "path: \"%s\": missing value",
			     ptr);
	} else if (!parent) {
		rc = err_set(errbuf, errlen, ERR_INVAL,
			     "%s operation does not apply: doc is missing "
			     "destination path: %s: missing value",
			     opname, ptr);
	} else if (json_is_object(parent)) {
		json_object_set(parent, last_token(p), value);
	} else if (strcmp(last_token(p), "-") == 0) {
		json_array_append(parent, value);
	} else if (index_parse(last_token(p), &idx) != 0) {
		rc = err_set(errbuf, errlen, ERR_INVAL,
			     "error in %s for path: '%s': value was not a "
			     "proper array index: '%s'",
			     opname, ptr, last_token(p));
	} else if (idx > json_array_size(parent)) {
		rc = err_set(errbuf, errlen, ERR_INVAL,
			     "error in %s for path: '%s': Unable to access "
			     "invalid index: %zu: invalid index referenced",
			     opname, ptr, idx);
	} else {
		json_array_insert(parent, idx, value);
	}
	json_decref(value);
	return rc;
}

/*
 * Detaches the value at `p` from *root and returns it in *taken (a new
 * reference). `opname` is "remove" or "move" and shapes the messages.
 */
static int take_at(json_t *root, const struct pointer *p, const char *ptr,
		   const char *opname, json_t **taken, char *errbuf,
		   size_t errlen)
{
	int is_move = strcmp(opname, "move") == 0;
	json_t *parent;
	size_t idx;

	*taken = NULL;
	if (p->n == 0)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s operation does not apply: cannot remove the "
			       "whole document",
			       opname);
	parent = parent_get(root, p);
	if (!parent)
		return err_set(
			errbuf, errlen, ERR_INVAL,
			is_move ? "move operation does not apply: doc is "
				  "missing from path: %s: missing value"
				: "remove operation does not apply: doc is "
				  "missing path: \"%s\": missing value",
			ptr);
	if (json_is_object(parent)) {
		*taken = json_incref(json_object_get(parent, last_token(p)));
		if (!*taken)
			return err_set(errbuf, errlen, ERR_INVAL,
				       "error in %s for path: '%s': Unable to "
				       "remove nonexistent key: %s: missing "
				       "value",
				       opname, ptr, last_token(p));
		json_object_del(parent, last_token(p));
		return 0;
	}
	if (index_parse(last_token(p), &idx) != 0 ||
	    idx >= json_array_size(parent))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "error in %s for path: '%s': Unable to access "
			       "invalid index: %s: invalid index referenced",
			       opname, ptr, last_token(p));
	*taken = json_incref(json_array_get(parent, idx));
	json_array_remove(parent, idx);
	return 0;
}

static int op_remove(json_t **root, const struct op *op, char *errbuf,
		     size_t errlen)
{
	json_t *taken;
	int rc;

	rc = take_at(*root, &op->path, op->path_str, "remove", &taken, errbuf,
		     errlen);
	json_decref(taken);
	return rc;
}

static int op_replace(json_t **root, const struct op *op, char *errbuf,
		      size_t errlen)
{
	json_t *parent;
	size_t idx;

	if (op->path.n == 0) {
		json_decref(*root);
		*root = json_deep_copy(op->value);
		return 0;
	}
	parent = parent_get(*root, &op->path);
	if (!parent)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "replace operation does not apply: doc is "
			       "missing path: %s: missing value",
			       op->path_str);
	if (!child_get(parent, last_token(&op->path)))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "replace operation does not apply: doc is "
			       "missing key: %s: missing value",
			       op->path_str);
	if (json_is_object(parent))
		return json_object_set_new(parent, last_token(&op->path),
					   json_deep_copy(op->value)) == 0
			       ? 0
			       : ERR_INTERNAL;
	index_parse(last_token(&op->path), &idx);
	return json_array_set_new(parent, idx, json_deep_copy(op->value)) == 0
		       ? 0
		       : ERR_INTERNAL;
}

static int op_move(json_t **root, const struct op *op, char *errbuf,
		   size_t errlen)
{
	json_t *value;
	int rc;

	if (pointer_equal(&op->from, &op->path)) {
		if (pointer_walk(*root, &op->from, op->from.n))
			return 0;
		return err_set(errbuf, errlen, ERR_INVAL,
			       "move operation does not apply: doc is missing "
			       "from path: %s: missing value",
			       op->from_str);
	}
	/*
	 * Remove, then add. A "from" that is a proper prefix of "path" makes
	 * the destination vanish with the removal, so the add fails as RFC
	 * 6902 section 4.4 requires.
	 */
	rc = take_at(*root, &op->from, op->from_str, "move", &value, errbuf,
		     errlen);
	if (rc != 0)
		return rc;
	return insert_at(root, &op->path, op->path_str, value, "move", errbuf,
			 errlen);
}

static int op_copy(json_t **root, const struct op *op, char *errbuf,
		   size_t errlen)
{
	json_t *value = pointer_walk(*root, &op->from, op->from.n);

	if (!value)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "copy operation does not apply: doc is missing "
			       "from path: %s: missing value",
			       op->from_str);
	return insert_at(root, &op->path, op->path_str, json_deep_copy(value),
			 "copy", errbuf, errlen);
}

static int op_test(json_t **root, const struct op *op, char *errbuf,
		   size_t errlen)
{
	json_t *found;

	if (op->path.n > 0 && !parent_get(*root, &op->path))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "test operation does not apply: is missing "
			       "path: %s: missing value",
			       op->path_str);
	found = pointer_walk(*root, &op->path, op->path.n);
	if (!json_value_equal(found, op->value))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "testing value %s failed: test failed",
			       op->path_str);
	return 0;
}

static int op_apply(json_t **root, const struct op *op, char *errbuf,
		    size_t errlen)
{
	switch (op->def->kind) {
	case OP_ADD:
		return insert_at(root, &op->path, op->path_str,
				 json_deep_copy(op->value), "add", errbuf,
				 errlen);
	case OP_REMOVE:
		return op_remove(root, op, errbuf, errlen);
	case OP_REPLACE:
		return op_replace(root, op, errbuf, errlen);
	case OP_MOVE:
		return op_move(root, op, errbuf, errlen);
	case OP_COPY:
		return op_copy(root, op, errbuf, errlen);
	case OP_TEST:
		return op_test(root, op, errbuf, errlen);
	}
	return err_set(errbuf, errlen, ERR_INTERNAL, "unknown operation");
}

int json_patch_apply(const json_t *doc, const json_t *ops, json_t **out,
		     char *errbuf, size_t errlen)
{
	struct op *decoded = NULL;
	json_t *root = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (!doc)
		return err_set(errbuf, errlen, ERR_INVAL, "no document");
	rc = ops_decode(ops, &decoded, &n, errbuf, errlen);
	if (rc != 0)
		goto out;
	root = json_deep_copy(doc);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = op_apply(&root, &decoded[i], errbuf, errlen);
	if (rc == 0) {
		*out = root;
		root = NULL;
	}
out:
	json_decref(root);
	ops_free(decoded, n);
	return rc;
}

/*
 * ssa: a compact server-side apply for knit-devcluster.
 *
 * The file has four layers. Field sets ("fs_"): FieldsV1-shaped JSON trees
 * held in a normalised form where a node is owned exactly when it has a "."
 * key (FieldsV1 writes a childless owned node as {}); conversion happens only
 * at the managedFields boundary. Types ("ctx"): what the schema, or the
 * built-in table, says a map or list is. Value walkers: the field set of a
 * value, the merge of two values, and the comparison of two values into
 * added / modified / removed sets, following structured-merge-diff's typed
 * package. Managers ("mf_"): decoding, updating and encoding
 * metadata.managedFields, conflict detection and the apiserver's messages.
 */
#include "devcluster/ssa.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define MEMBER	      "."
#define MAX_LIST_KEYS 4
#define MSG_MAX	      (64 * 1024)

/* jansson's iteration macros take non-const objects; we only read. */
static json_t *rw(const json_t *v)
{
	return (json_t *)v;
}

/* ---- field sets ---------------------------------------------------- */

static json_t *fs_child(json_t *node, const char *key)
{
	json_t *c = json_object_get(node, key);

	if (!c) {
		c = json_object();
		json_object_set_new(node, key, c);
	}
	return c;
}

static json_t *fs_field(json_t *node, const char *name)
{
	char *key = xasprintf("f:%s", name);
	json_t *c = fs_child(node, key);

	free(key);
	return c;
}

static void fs_mark(json_t *node)
{
	json_object_set_new(node, MEMBER, json_object());
}

static bool fs_is_member(const json_t *node)
{
	return json_object_get(node, MEMBER) != NULL;
}

static bool fs_empty(const json_t *node)
{
	return !node || json_object_size(node) == 0;
}

/* Drops childless non-member nodes below `node`; true when node is empty. */
static bool fs_compact(json_t *node)
{
	const char *key;
	json_t *child;
	void *tmp;

	json_object_foreach_safe(node, tmp, key, child)
	{
		if (strcmp(key, MEMBER) != 0 && fs_compact(child))
			json_object_del(node, key);
	}
	return json_object_size(node) == 0;
}

static void fs_union(json_t *dst, const json_t *src)
{
	const char *key;
	json_t *child;

	json_object_foreach(rw(src), key, child)
	{
		if (strcmp(key, MEMBER) == 0)
			fs_mark(dst);
		else
			fs_union(fs_child(dst, key), child);
	}
}

static void fs_subtract(json_t *dst, const json_t *src)
{
	const char *key;
	json_t *child;

	json_object_foreach(rw(src), key, child)
	{
		json_t *d = json_object_get(dst, key);

		if (strcmp(key, MEMBER) == 0)
			json_object_del(dst, MEMBER);
		else if (d)
			fs_subtract(d, child);
	}
}

/* New set of the members in both a and b. */
static json_t *fs_intersect(const json_t *a, const json_t *b)
{
	json_t *r = json_object();
	const char *key;
	json_t *child;

	json_object_foreach(rw(a), key, child)
	{
		const json_t *other = json_object_get(b, key);
		json_t *sub;

		if (!other)
			continue;
		if (strcmp(key, MEMBER) == 0) {
			fs_mark(r);
			continue;
		}
		sub = fs_intersect(child, other);
		if (json_object_size(sub) > 0)
			json_object_set_new(r, key, sub);
		else
			json_decref(sub);
	}
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of `obj` sorted bytewise, "." excluded; free() the array. */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
	const char **keys = xcalloc(json_object_size(obj) + 1, sizeof(*keys));
	const char *key;
	json_t *child;

	*n = 0;
	json_object_foreach(rw(obj), key, child)
	{
		if (strcmp(key, MEMBER) != 0)
			keys[(*n)++] = key;
	}
	qsort(keys, *n, sizeof(*keys), cmp_str);
	return keys;
}

static json_t *fs_from_v1(const json_t *v1)
{
	json_t *r = json_object();
	const char *key;
	json_t *child;

	if (json_is_object(v1) && json_object_size(v1) == 0)
		fs_mark(r);
	json_object_foreach(rw(v1), key, child)
	{
		if (strcmp(key, MEMBER) == 0)
			fs_mark(r);
		else if (json_is_object(child))
			json_object_set_new(r, key, fs_from_v1(child));
	}
	return r;
}

/* FieldsV1 form of a compacted set, keys in Kubernetes' sorted order. */
static json_t *fs_to_v1(const json_t *node)
{
	json_t *r = json_object();
	size_t n, i;
	const char **keys = sorted_keys(node, &n);

	if (n > 0 && fs_is_member(node))
		json_object_set_new(r, MEMBER, json_object());
	for (i = 0; i < n; i++)
		json_object_set_new(r, keys[i],
				    fs_to_v1(json_object_get(node, keys[i])));
	free(keys);
	return r;
}

/* The paths the apiserver never records: apiVersion, kind, server metadata. */
static json_t *fs_ignored(void)
{
	static const char *const meta[] = {
		"name",	      "namespace",     "creationTimestamp",
		"selfLink",   "uid",	       "clusterName",
		"generation", "managedFields", "resourceVersion",
	};
	json_t *s = json_object();
	json_t *m;
	size_t i;

	fs_mark(fs_field(s, "apiVersion"));
	fs_mark(fs_field(s, "kind"));
	m = fs_field(s, "metadata");
	fs_mark(m);
	for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
		fs_mark(fs_field(m, meta[i]));
	return s;
}

/* ---- types --------------------------------------------------------- */

struct ctx {
	const json_t *schema; /* openAPI node for this value, or NULL */
	const char *name;     /* field holding the value ("" at the root) */
	bool builtin;	      /* no schema: consult the built-in table */
	bool root;
};

enum list_kind {
	LIST_ATOMIC,
	LIST_SET,
	LIST_MAP
};

struct list_type {
	enum list_kind kind;
	const char *keys[MAX_LIST_KEYS];
	size_t nkeys;
};

static const struct {
	const char *field;
	enum list_kind kind;
	const char *key;
} builtin_lists[] = {
	{"containers", LIST_MAP, "name"},
	{"initContainers", LIST_MAP, "name"},
	{"ephemeralContainers", LIST_MAP, "name"},
	{"env", LIST_MAP, "name"},
	{"volumes", LIST_MAP, "name"},
	{"volumeMounts", LIST_MAP, "mountPath"},
	{"ports", LIST_MAP, "containerPort"},
	{"conditions", LIST_MAP, "type"},
	{"ownerReferences", LIST_MAP, "uid"},
	{"finalizers", LIST_SET, NULL},
};

static struct ctx ctx_root(const json_t *schema)
{
	struct ctx c = {schema, "", schema == NULL, true};

	return c;
}

static struct ctx ctx_field(const struct ctx *c, const char *name)
{
	struct ctx r = {NULL, name, c->builtin, false};
	const json_t *extra;

	if (c->root && strcmp(name, "metadata") == 0) {
		r.builtin = true; /* ObjectMeta, whatever the CRD says */
		return r;
	}
	if (!c->schema)
		return r;
	r.schema =
		json_object_get(json_object_get(c->schema, "properties"), name);
	extra = json_object_get(c->schema, "additionalProperties");
	if (!r.schema && json_is_object(extra))
		r.schema = extra;
	return r;
}

static struct ctx ctx_item(const struct ctx *c)
{
	struct ctx r = {json_object_get(c->schema, "items"), c->name,
			c->builtin, false};

	return r;
}

static bool map_atomic(const struct ctx *c)
{
	const char *t = json_string_value(
		json_object_get(c->schema, "x-kubernetes-map-type"));

	return t && strcmp(t, "atomic") == 0;
}

static void list_type_from_schema(const json_t *schema, struct list_type *lt)
{
	const char *t = json_string_value(
		json_object_get(schema, "x-kubernetes-list-type"));
	const json_t *keys =
		json_object_get(schema, "x-kubernetes-list-map-keys");
	size_t i;

	if (t && strcmp(t, "set") == 0) {
		lt->kind = LIST_SET;
		return;
	}
	if (!t || strcmp(t, "map") != 0)
		return;
	for (i = 0; i < json_array_size(keys) && i < MAX_LIST_KEYS; i++) {
		lt->keys[i] = json_string_value(json_array_get(keys, i));
		if (!lt->keys[i])
			return;
	}
	lt->nkeys = i;
	if (lt->nkeys > 0)
		lt->kind = LIST_MAP;
}

static void list_type_of(const struct ctx *c, struct list_type *lt)
{
	size_t i;

	memset(lt, 0, sizeof(*lt));
	lt->kind = LIST_ATOMIC;
	if (c->schema) {
		list_type_from_schema(c->schema, lt);
		return;
	}
	if (!c->builtin)
		return;
	for (i = 0; i < sizeof(builtin_lists) / sizeof(builtin_lists[0]); i++) {
		if (strcmp(c->name, builtin_lists[i].field) != 0)
			continue;
		lt->kind = builtin_lists[i].kind;
		lt->keys[0] = builtin_lists[i].key;
		lt->nkeys = lt->keys[0] ? 1 : 0;
		return;
	}
}

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* Path element of a list item ("k:{...}" or "v:..."), or NULL if unfit. */
static char *item_element(const json_t *item, const struct list_type *lt)
{
	json_t *key;
	char *s, *r;
	size_t i;

	if (lt->kind == LIST_SET) {
		if (!is_scalar(item))
			return NULL;
		s = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
		r = xasprintf("v:%s", s);
		free(s);
		return r;
	}
	if (!json_is_object(item))
		return NULL;
	key = json_object();
	for (i = 0; i < lt->nkeys; i++) {
		json_t *v = json_object_get(item, lt->keys[i]);

		if (!v || !is_scalar(v) || json_is_null(v)) {
			json_decref(key);
			return NULL;
		}
		json_object_set(key, lt->keys[i], v);
	}
	s = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS);
	r = xasprintf("k:%s", s);
	free(s);
	json_decref(key);
	return r;
}

static int elements_find(const json_t *els, const char *el)
{
	size_t i;

	for (i = 0; i < json_array_size(els); i++) {
		if (strcmp(json_string_value(json_array_get(els, i)), el) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Path elements of the items of `arr` (NULL counts as empty) when the list
 * is a map or set and every item fits; NULL when it is to be atomic.
 */
static json_t *list_elements(const json_t *arr, const struct ctx *c)
{
	struct list_type lt;
	json_t *els;
	size_t i;

	list_type_of(c, &lt);
	if (lt.kind == LIST_ATOMIC || (arr && !json_is_array(arr)))
		return NULL;
	els = json_array();
	for (i = 0; i < json_array_size(arr); i++) {
		char *el = item_element(json_array_get(arr, i), &lt);

		if (!el || elements_find(els, el) >= 0) {
			free(el);
			json_decref(els);
			return NULL;
		}
		json_array_append_new(els, json_string(el));
		free(el);
	}
	return els;
}

static const char *element_at(const json_t *els, size_t i)
{
	return json_string_value(json_array_get(els, i));
}

/* ---- value walkers ------------------------------------------------- */

/* Adds the fields `v` sets (ToFieldSet) to the set node `node`. */
static void value_to_set(const json_t *v, const struct ctx *c, json_t *node)
{
	const char *key;
	json_t *child, *els;
	size_t i;

	if (json_is_object(v) && !map_atomic(c)) {
		json_object_foreach(rw(v), key, child)
		{
			struct ctx cc = ctx_field(c, key);

			value_to_set(child, &cc, fs_field(node, key));
		}
		return;
	}
	els = json_is_array(v) ? list_elements(v, c) : NULL;
	if (els) {
		struct ctx ic = ctx_item(c);

		for (i = 0; i < json_array_size(els); i++) {
			json_t *n = fs_child(node, element_at(els, i));

			fs_mark(n);
			value_to_set(json_array_get(v, i), &ic, n);
		}
		json_decref(els);
		return;
	}
	if (!c->root)
		fs_mark(node);
}

static json_t *merge(const json_t *l, const json_t *r, const struct ctx *c);

/* Merge of two keyed lists: lhs order, then new rhs items; NULL if atomic. */
static json_t *merge_lists(const json_t *l, const json_t *r,
			   const struct ctx *c)
{
	json_t *le = list_elements(l, c);
	json_t *re = list_elements(r, c);
	json_t *out = NULL;
	struct ctx ic = ctx_item(c);
	size_t i;

	if (!le || !re)
		goto done;
	out = json_array();
	for (i = 0; i < json_array_size(l); i++) {
		int j = elements_find(re, element_at(le, i));
		const json_t *li = json_array_get(l, i);

		json_array_append_new(
			out, j < 0 ? json_deep_copy(li)
				   : merge(li, json_array_get(r, j), &ic));
	}
	for (i = 0; i < json_array_size(r); i++) {
		if (elements_find(le, element_at(re, i)) < 0)
			json_array_append_new(
				out, json_deep_copy(json_array_get(r, i)));
	}
done:
	json_decref(le);
	json_decref(re);
	return out;
}

/* New value: `r` applied over `l` (either may be NULL, not both). */
static json_t *merge(const json_t *l, const json_t *r, const struct ctx *c)
{
	const char *key;
	json_t *child, *out;

	if (!r)
		return json_deep_copy(l);
	if (!l)
		return json_deep_copy(r);
	if (json_is_object(l) && json_is_object(r) && !map_atomic(c)) {
		out = json_deep_copy(l);
		json_object_foreach(rw(r), key, child)
		{
			struct ctx cc = ctx_field(c, key);

			json_object_set_new(
				out, key,
				merge(json_object_get(l, key), child, &cc));
		}
		return out;
	}
	if (json_is_array(l) && json_is_array(r)) {
		out = merge_lists(l, r, c);
		if (out)
			return out;
	}
	return json_deep_copy(r);
}

/* Set nodes for one path in the three sets of a comparison. */
struct diff {
	json_t *added;
	json_t *modified;
	json_t *removed;
};

static struct diff diff_child(const struct diff *d, const char *key)
{
	struct diff r = {fs_child(d->added, key), fs_child(d->modified, key),
			 fs_child(d->removed, key)};

	return r;
}

static void compare(const json_t *l, const json_t *r, const struct ctx *c,
		    const struct diff *d);

static void compare_fields(const json_t *l, const json_t *r,
			   const struct ctx *c, const struct diff *d)
{
	const char *key;
	json_t *child;

	json_object_foreach(rw(r), key, child)
	{
		struct ctx cc = ctx_field(c, key);
		char *fk = xasprintf("f:%s", key);
		struct diff dc = diff_child(d, fk);

		compare(json_object_get(l, key), child, &cc, &dc);
		free(fk);
	}
	json_object_foreach(rw(l), key, child)
	{
		struct ctx cc = ctx_field(c, key);
		char *fk;
		struct diff dc;

		if (json_object_get(r, key))
			continue;
		fk = xasprintf("f:%s", key);
		dc = diff_child(d, fk);
		compare(child, NULL, &cc, &dc);
		free(fk);
	}
}

/* Compares keyed lists item by item; false when they are atomic. */
static bool compare_items(const json_t *l, const json_t *r, const struct ctx *c,
			  const struct diff *d)
{
	json_t *le = list_elements(l, c);
	json_t *re = list_elements(r, c);
	struct ctx ic = ctx_item(c);
	bool keyed = le && re;
	size_t i;

	for (i = 0; keyed && i < json_array_size(re); i++) {
		const char *el = element_at(re, i);
		int j = elements_find(le, el);
		struct diff dc = diff_child(d, el);

		compare(j < 0 ? NULL : json_array_get(l, j),
			json_array_get(r, i), &ic, &dc);
	}
	for (i = 0; keyed && i < json_array_size(le); i++) {
		const char *el = element_at(le, i);
		struct diff dc;

		if (elements_find(re, el) >= 0)
			continue;
		dc = diff_child(d, el);
		compare(json_array_get(l, i), NULL, &ic, &dc);
	}
	json_decref(le);
	json_decref(re);
	return keyed;
}

static bool empty_container(const json_t *v)
{
	return !v || (json_is_object(v) && json_object_size(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0);
}

/* Walks a non-leaf pair; false when the pair is to be compared as a leaf. */
static bool compare_nested(const json_t *l, const json_t *r,
			   const struct ctx *c, const struct diff *d)
{
	const json_t *any = l ? l : r;

	if (l && r && json_typeof(l) != json_typeof(r))
		return false;
	if (empty_container(l) && empty_container(r))
		return false;
	if (json_is_object(any) && !map_atomic(c)) {
		compare_fields(l, r, c, d);
		return true;
	}
	if (json_is_array(any))
		return compare_items(l, r, c, d);
	return false;
}

static void compare(const json_t *l, const json_t *r, const struct ctx *c,
		    const struct diff *d)
{
	if (!l && !r)
		return;
	if (compare_nested(l, r, c, d)) {
		if (c->root)
			return;
		if (!l)
			fs_mark(d->added);
		else if (!r)
			fs_mark(d->removed);
		return;
	}
	if (!l)
		fs_mark(d->added);
	else if (!r)
		fs_mark(d->removed);
	else if (!json_equal(l, r))
		fs_mark(d->modified);
}

/*
 * Compares two objects (managedFields already stripped) into *changed
 * (added or modified) and *removed, without the ignored paths; new sets.
 */
static void diff_objects(const json_t *old, const json_t *new,
			 const json_t *schema, json_t **changed,
			 json_t **removed)
{
	struct diff d = {json_object(), json_object(), json_object()};
	struct ctx root = ctx_root(schema);
	json_t *ignored = fs_ignored();

	compare(old, new, &root, &d);
	fs_union(d.added, d.modified);
	fs_subtract(d.added, ignored);
	fs_subtract(d.removed, ignored);
	fs_compact(d.added);
	fs_compact(d.removed);
	json_decref(d.modified);
	json_decref(ignored);
	*changed = d.added;
	*removed = d.removed;
}

/* Index of the item a "k:"/"v:" element names in `arr`, or -1. */
static int find_item(const json_t *arr, const char *el)
{
	bool keyed = strncmp(el, "k:", 2) == 0;
	json_t *want = json_loads(el + 2, JSON_DECODE_ANY, NULL);
	int found = -1;
	size_t i;

	for (i = 0; want && found < 0 && i < json_array_size(arr); i++) {
		const json_t *item = json_array_get(arr, i);
		const char *key;
		json_t *v;
		bool match = true;

		if (!keyed) {
			match = json_equal(item, want);
		} else {
			json_object_foreach(want, key, v)
			{
				match = match &&
					json_equal(json_object_get(item, key),
						   v);
			}
		}
		if (match)
			found = (int)i;
	}
	json_decref(want);
	return found;
}

/*
 * Deletes from `v` the members of `rm` (fields the applier gave up) that
 * nobody in `owned` owns, keeping nodes under which something is owned.
 * `keys` (may be NULL) holds the key fields of the list item `v` is, which
 * stay so that the item remains addressable.
 */
static void prune(json_t *v, const json_t *rm, const json_t *owned,
		  const json_t *keys)
{
	const char *key;
	json_t *child;

	json_object_foreach(rw(rm), key, child)
	{
		const json_t *co = json_object_get(owned, key);
		json_t *cv = NULL, *ck = NULL;
		int idx = -1;

		if (strcmp(key, MEMBER) == 0)
			continue;
		if (json_is_object(v) && strncmp(key, "f:", 2) == 0 &&
		    !json_object_get(keys, key + 2))
			cv = json_object_get(v, key + 2);
		else if (json_is_array(v) && (idx = find_item(v, key)) >= 0)
			cv = json_array_get(v, (size_t)idx);
		if (!cv)
			continue;
		if (fs_is_member(child) && fs_empty(co)) {
			if (idx >= 0)
				json_array_remove(v, (size_t)idx);
			else
				json_object_del(v, key + 2);
			continue;
		}
		if (strncmp(key, "k:", 2) == 0)
			ck = json_loads(key + 2, 0, NULL);
		prune(cv, child, co, ck);
		json_decref(ck);
	}
}

/* ---- managedFields ------------------------------------------------- */

struct mf_entry {
	char *manager;
	char *operation;
	char *api_version; /* may be NULL */
	char *time;	   /* may be NULL */
	char *subresource; /* may be NULL */
	json_t *set;	   /* normalised field set */
};

struct mf_list {
	struct mf_entry *v;
	size_t n;
};

static char *dup_member(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? xstrdup(s) : NULL;
}

/* Decodes `arr` (may be NULL); leaves room for one more entry. */
static void mf_decode(struct mf_list *l, const json_t *arr)
{
	size_t i;

	l->v = xcalloc(json_array_size(arr) + 1, sizeof(*l->v));
	l->n = 0;
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *it = json_array_get(arr, i);
		struct mf_entry *e = &l->v[l->n];

		if (!json_is_string(json_object_get(it, "manager")) ||
		    !json_is_string(json_object_get(it, "operation")))
			continue;
		e->manager = dup_member(it, "manager");
		e->operation = dup_member(it, "operation");
		e->api_version = dup_member(it, "apiVersion");
		e->time = dup_member(it, "time");
		e->subresource = dup_member(it, "subresource");
		e->set = fs_from_v1(json_object_get(it, "fieldsV1"));
		fs_compact(e->set);
		l->n++;
	}
}

static void mf_entry_release(struct mf_entry *e)
{
	free(e->manager);
	free(e->operation);
	free(e->api_version);
	free(e->time);
	free(e->subresource);
	json_decref(e->set);
	memset(e, 0, sizeof(*e));
}

static void mf_release(struct mf_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		mf_entry_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static void replace_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

/* Index of the entry with this identity, or -1. */
static int mf_find(const struct mf_list *l, const char *manager, const char *op,
		   const char *api_version, const char *subresource)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct mf_entry *e = &l->v[i];

		if (str_eq(e->manager, manager) && str_eq(e->operation, op) &&
		    str_eq(e->subresource, subresource) &&
		    (strcmp(op, "Apply") == 0 ||
		     str_eq(e->api_version, api_version)))
			return (int)i;
	}
	return -1;
}

/* Appends an entry with an empty set; returns its index. */
static int mf_add(struct mf_list *l, const char *manager, const char *op,
		  const char *api_version, const char *subresource)
{
	struct mf_entry *e = &l->v[l->n];

	e->manager = xstrdup(manager);
	e->operation = xstrdup(op);
	e->api_version = api_version ? xstrdup(api_version) : NULL;
	e->subresource =
		subresource && *subresource ? xstrdup(subresource) : NULL;
	e->set = json_object();
	return (int)l->n++;
}

/* Strips ignored paths everywhere and drops empty entries but `keep`. */
static void mf_tidy(struct mf_list *l, int keep)
{
	json_t *ignored = fs_ignored();
	size_t i, o = 0;

	for (i = 0; i < l->n; i++) {
		fs_subtract(l->v[i].set, ignored);
		if (fs_compact(l->v[i].set) && (int)i != keep) {
			mf_entry_release(&l->v[i]);
			continue;
		}
		l->v[o++] = l->v[i];
	}
	l->n = o;
	json_decref(ignored);
}

/* The apiserver's order: operation, time, manager, apiVersion, subresource. */
static int mf_cmp(const void *pa, const void *pb)
{
	const struct mf_entry *a = pa, *b = pb;
	int d = strcmp(a->operation, b->operation);

	if (!d)
		d = strcmp(a->time ? a->time : "", b->time ? b->time : "");
	if (!d)
		d = strcmp(a->manager, b->manager);
	if (!d)
		d = strcmp(a->api_version ? a->api_version : "",
			   b->api_version ? b->api_version : "");
	if (!d)
		d = strcmp(a->subresource ? a->subresource : "",
			   b->subresource ? b->subresource : "");
	return d;
}

static json_t *mf_encode(struct mf_list *l)
{
	json_t *arr = json_array();
	size_t i;

	qsort(l->v, l->n, sizeof(*l->v), mf_cmp);
	for (i = 0; i < l->n; i++) {
		const struct mf_entry *e = &l->v[i];
		json_t *o = json_object();

		json_object_set_new(o, "manager", json_string(e->manager));
		json_object_set_new(o, "operation", json_string(e->operation));
		if (e->api_version)
			json_object_set_new(o, "apiVersion",
					    json_string(e->api_version));
		if (e->time)
			json_object_set_new(o, "time", json_string(e->time));
		json_object_set_new(o, "fieldsType", json_string("FieldsV1"));
		json_object_set_new(o, "fieldsV1", fs_to_v1(e->set));
		if (e->subresource && *e->subresource)
			json_object_set_new(o, "subresource",
					    json_string(e->subresource));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Stores the encoded list in obj.metadata.managedFields (removed if none). */
static void mf_store(struct mf_list *l, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");

	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	if (l->n == 0)
		json_object_del(meta, "managedFields");
	else
		json_object_set_new(meta, "managedFields", mf_encode(l));
}

/* ---- conflict messages --------------------------------------------- */

static char *quote(const char *s)
{
	json_t *j = json_string(s ? s : "");
	char *r = json_dumps(j, JSON_ENCODE_ANY);

	json_decref(j);
	return r;
}

/* fieldpath.PathElement.String() of one FieldsV1 key. */
static char *element_string(const char *key)
{
	json_t *v = NULL;
	struct buf b;
	size_t n = 0, i;
	const char **keys;
	char *s;

	if (strncmp(key, "f:", 2) != 0)
		v = json_loads(key + 2, JSON_DECODE_ANY, NULL);
	if (!v)
		return xasprintf(".%s", key + 2);
	buf_init(&b, BUF_UNLIMITED);
	if (strncmp(key, "v:", 2) == 0 || !json_is_object(v)) {
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		buf_printf(&b, "[=%s]", s);
		free(s);
	} else {
		keys = sorted_keys(v, &n);
		buf_putc(&b, '[');
		for (i = 0; i < n; i++) {
			s = json_dumps(json_object_get(v, keys[i]),
				       JSON_COMPACT | JSON_ENCODE_ANY);
			buf_printf(&b, "%s%s=%s", i ? "," : "", keys[i], s);
			free(s);
		}
		buf_putc(&b, ']');
		free(keys);
	}
	json_decref(v);
	return buf_detach(&b, NULL);
}

/* Appends the paths of `node` in fieldpath.Set.Iterate order. */
static void fs_paths(const json_t *node, const char *prefix, json_t *out)
{
	size_t n, i;
	const char **keys = sorted_keys(node, &n);
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const json_t *c = json_object_get(node, keys[i]);
			bool kids =
				json_object_size(c) > (fs_is_member(c) ? 1 : 0);
			char *el, *p;

			if ((pass == 0 && !fs_is_member(c)) ||
			    (pass == 1 && !kids))
				continue;
			el = element_string(keys[i]);
			p = xasprintf("%s%s", prefix, el);
			if (pass == 0)
				json_array_append_new(out, json_string(p));
			else
				fs_paths(c, p, out);
			free(el);
			free(p);
		}
	}
	free(keys);
}

/* printManager(): how the apiserver names a manager in conflicts. */
static char *manager_string(const struct mf_entry *e)
{
	char *m = quote(e->manager), *sub = NULL, *r;

	if (e->subresource && *e->subresource)
		sub = quote(e->subresource);
	r = xasprintf("%s%s%s%s%s", m, sub ? " with subresource " : "",
		      sub ? sub : "",
		      strcmp(e->operation, "Update") == 0 ? " using " : "",
		      strcmp(e->operation, "Update") == 0 && e->api_version
			      ? e->api_version
			      : "");
	free(m);
	free(sub);
	return r;
}

/* The manager identifier the apiserver sorts conflicts by. */
static char *manager_ident(const struct mf_entry *e)
{
	json_t *o = json_object();
	char *r;

	json_object_set_new(o, "manager", json_string(e->manager));
	json_object_set_new(o, "operation", json_string(e->operation));
	if (strcmp(e->operation, "Update") == 0 && e->api_version)
		json_object_set_new(o, "apiVersion",
				    json_string(e->api_version));
	if (e->subresource && *e->subresource)
		json_object_set_new(o, "subresource",
				    json_string(e->subresource));
	r = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return r;
}

struct conflict {
	const struct mf_entry *entry;
	char *ident;
	json_t *paths;
};

static int conflict_cmp(const void *pa, const void *pb)
{
	const struct conflict *a = pa, *b = pb;

	return strcmp(a->ident, b->ident);
}

/* Writes the 409 message and causes for `nc` conflicting managers. */
static void conflict_report(struct conflict *cs, size_t nc, json_t **causes,
			    char *errbuf, size_t errlen)
{
	size_t i, j, total = 0;
	struct buf b;
	json_t *arr = json_array();

	qsort(cs, nc, sizeof(*cs), conflict_cmp);
	for (i = 0; i < nc; i++)
		total += json_array_size(cs[i].paths);
	buf_init(&b, MSG_MAX);
	buf_printf(&b, "Apply failed with %zu conflict%s: ", total,
		   total == 1 ? "" : "s");
	for (i = 0; i < nc; i++) {
		char *ms = manager_string(cs[i].entry);

		if (total > 1)
			buf_printf(&b, "%sconflicts with %s:", i ? "\n" : "",
				   ms);
		for (j = 0; j < json_array_size(cs[i].paths); j++) {
			const char *p = json_string_value(
				json_array_get(cs[i].paths, j));

			if (total == 1)
				buf_printf(&b, "conflict with %s: %s", ms, p);
			else
				buf_printf(&b, "\n- %s", p);
			json_array_append_new(
				arr,
				json_pack("{s:s, s:s+, s:s}", "reason",
					  "FieldManagerConflict", "message",
					  "conflict with ", ms, "field", p));
		}
		free(ms);
	}
	err_set(errbuf, errlen, ERR_CONFLICT, "%s", b.data);
	buf_release(&b);
	if (causes)
		*causes = arr;
	else
		json_decref(arr);
}

/*
 * Finds the fields in `changed` owned by entries other than `self`. Without
 * force, reports them and returns ERR_CONFLICT; otherwise takes them away
 * from their owners and returns 0.
 */
static int settle_conflicts(struct mf_list *l, int self, const json_t *changed,
			    bool force, json_t **causes, char *errbuf,
			    size_t errlen)
{
	struct conflict *cs = xcalloc(l->n + 1, sizeof(*cs));
	size_t i, nc = 0;
	int rc = 0;

	for (i = 0; i < l->n; i++) {
		json_t *c;

		if ((int)i == self)
			continue;
		c = fs_intersect(l->v[i].set, changed);
		if (fs_compact(c)) {
			json_decref(c);
			continue;
		}
		fs_subtract(l->v[i].set, c);
		cs[nc].entry = &l->v[i];
		cs[nc].ident = manager_ident(&l->v[i]);
		cs[nc].paths = json_array();
		fs_paths(c, "", cs[nc].paths);
		nc++;
		json_decref(c);
	}
	if (nc > 0 && !force) {
		conflict_report(cs, nc, causes, errbuf, errlen);
		rc = ERR_CONFLICT;
	}
	for (i = 0; i < nc; i++) {
		free(cs[i].ident);
		json_decref(cs[i].paths);
	}
	free(cs);
	return rc;
}

/* ---- public API ----------------------------------------------------- */

/* Deep copy of `obj` ({} for NULL) without metadata.managedFields. */
static json_t *copy_without_mf(const json_t *obj)
{
	json_t *c = obj ? json_deep_copy(obj) : json_object();

	json_object_del(json_object_get(c, "metadata"), "managedFields");
	return c;
}

static void restore_server_fields(json_t *merged, const json_t *live)
{
	static const char *const keep[] = {"resourceVersion", "uid",
					   "creationTimestamp", "generation"};
	const json_t *lm = json_object_get(live, "metadata");
	json_t *mm = json_object_get(merged, "metadata");
	size_t i;

	for (i = 0; json_is_object(mm) && i < sizeof(keep) / sizeof(keep[0]);
	     i++) {
		json_t *v = json_object_get(lm, keep[i]);

		if (v)
			json_object_set(mm, keep[i], v);
	}
}

/* Union of every entry's set; new reference. */
static json_t *owned_by_all(const struct mf_list *l)
{
	json_t *owned = json_object();
	size_t i;

	for (i = 0; i < l->n; i++)
		fs_union(owned, l->v[i].set);
	return owned;
}

/*
 * Installs `new_set` as the applier's entry (index `self`, -1 if new) and
 * removes from `merged` what the previous set owned and nobody owns now.
 * Returns the applier's index.
 */
static int take_applied_set(struct mf_list *l, int self, json_t *new_set,
			    json_t *merged, const char *manager,
			    const char *subresource)
{
	json_t *last, *owned;

	if (self < 0)
		self = mf_add(l, manager, "Apply", NULL, subresource);
	last = l->v[self].set;
	l->v[self].set = json_incref(new_set);
	owned = owned_by_all(l);
	fs_compact(owned);
	fs_subtract(last, owned);
	if (!fs_compact(last))
		prune(merged, last, owned, NULL);
	json_decref(last);
	json_decref(owned);
	return self;
}

int ssa_apply(const json_t *live, const json_t *applied, const char *manager,
	      bool force, const json_t *schema, const char *api_version,
	      const char *subresource, const char *now, json_t **out,
	      json_t **causes, char *errbuf, size_t errlen)
{
	struct mf_list mf = {NULL, 0};
	struct ctx root = ctx_root(schema);
	json_t *live_c = NULL, *app_c = NULL, *merged = NULL, *new_set = NULL;
	json_t *old_set = NULL, *changed = NULL, *removed = NULL;
	int self, rc = 0;
	size_t i;

	*out = NULL;
	if (causes)
		*causes = NULL;
	if (!json_is_object(applied) || !manager || !*manager)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "apply needs an object and a field manager");
	mf_decode(&mf, json_object_get(json_object_get(live, "metadata"),
				       "managedFields"));
	live_c = copy_without_mf(live);
	app_c = copy_without_mf(applied);
	new_set = json_object();
	value_to_set(app_c, &root, new_set);
	fs_compact(new_set);
	merged = live ? merge(live_c, app_c, &root) : json_incref(app_c);
	restore_server_fields(merged, live);

	self = mf_find(&mf, manager, "Apply", NULL, subresource);
	if (self >= 0)
		old_set = json_deep_copy(mf.v[self].set);
	self = take_applied_set(&mf, self, new_set, merged, manager,
				subresource);
	diff_objects(live_c, merged, schema, &changed, &removed);
	rc = settle_conflicts(&mf, self, changed, force, causes, errbuf,
			      errlen);
	if (rc)
		goto out;
	for (i = 0; i < mf.n; i++) {
		if ((int)i != self)
			fs_subtract(mf.v[i].set, removed);
	}
	mf_tidy(&mf, self);
	self = mf_find(&mf, manager, "Apply", NULL, subresource);
	replace_str(&mf.v[self].api_version, api_version);
	if (!old_set || !fs_empty(changed) || !fs_empty(removed) ||
	    !json_equal(old_set, mf.v[self].set))
		replace_str(&mf.v[self].time, now);
	mf_store(&mf, merged);
	*out = json_incref(merged);
out:
	mf_release(&mf);
	json_decref(live_c);
	json_decref(app_c);
	json_decref(merged);
	json_decref(new_set);
	json_decref(old_set);
	json_decref(changed);
	json_decref(removed);
	return rc;
}

/* The list to start from: new_obj's own when non-empty, else old_obj's. */
static const json_t *update_source(const json_t *new_mf, const json_t *old)
{
	if (json_array_size(new_mf) > 0)
		return new_mf;
	return json_object_get(json_object_get(old, "metadata"),
			       "managedFields");
}

void ssa_track_update(json_t *new_obj, const json_t *old_obj,
		      const char *manager, const json_t *schema,
		      const char *api_version, const char *subresource,
		      const char *now)
{
	struct mf_list mf = {NULL, 0};
	json_t *meta = json_object_get(new_obj, "metadata");
	json_t *new_mf = json_object_get(meta, "managedFields");
	json_t *old_c, *new_c, *changed, *removed;
	int self;
	size_t i;

	if (!json_is_object(new_obj) || !manager)
		return;
	if (json_is_array(new_mf) && json_array_size(new_mf) == 0) {
		json_object_del(meta, "managedFields");
		return;
	}
	mf_decode(&mf, update_source(new_mf, old_obj));
	old_c = copy_without_mf(old_obj);
	new_c = copy_without_mf(new_obj);
	diff_objects(old_c, new_c, schema, &changed, &removed);
	self = mf_find(&mf, manager, "Update", api_version, subresource);
	for (i = 0; i < mf.n; i++) {
		if ((int)i != self)
			fs_subtract(mf.v[i].set, changed);
		fs_subtract(mf.v[i].set, removed);
	}
	if (!fs_empty(changed)) {
		if (self < 0)
			self = mf_add(&mf, manager, "Update", api_version,
				      subresource);
		fs_union(mf.v[self].set, changed);
		replace_str(&mf.v[self].time, now);
	}
	mf_tidy(&mf, -1);
	mf_store(&mf, new_obj);
	mf_release(&mf);
	json_decref(old_c);
	json_decref(new_c);
	json_decref(changed);
	json_decref(removed);
}

char *ssa_manager_from_user_agent(const char *user_agent)
{
	const unsigned char *p =
		(const unsigned char *)(user_agent ? user_agent : "");
	char *out = xmalloc(129);
	size_t n = 0;

	while (*p && *p != '/') {
		size_t len = 1;

		if (*p >= 0xf0)
			len = 4;
		else if (*p >= 0xe0)
			len = 3;
		else if (*p >= 0xc0)
			len = 2;
		if (len == 1 && (*p < 0x20 || *p == 0x7f)) {
			p++;
			continue;
		}
		if (n + len > 128 || strnlen((const char *)p, len) < len)
			break;
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	out[n] = '\0';
	return out;
}

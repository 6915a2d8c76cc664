/*
 * store: collections of immutable object versions, the global
 * resourceVersion counter and the change history (see store.h).
 */
#include "devcluster/store.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

void store_init(struct store *s, size_t history_size)
{
	memset(s, 0, sizeof(*s));
	hashmap_init(&s->collections);
	s->history_size = history_size ? history_size : 1;
	s->history = xcalloc(s->history_size, sizeof(*s->history));
}

static void change_release(struct change *c)
{
	object_unref(c->obj);
	object_unref(c->prev);
	memset(c, 0, sizeof(*c));
}

void store_release(struct store *s)
{
	const char *key;
	void *value;

	for (size_t i = 0; i < s->history_len; i++)
		change_release(
			&s->history[(s->history_start + i) % s->history_size]);
	free(s->history);
	for (size_t i = 0; hashmap_next(&s->collections, &i, &key, &value);) {
		struct collection *c = value;
		void *o;

		for (size_t j = 0; hashmap_next(&c->items, &j, NULL, &o);)
			object_unref(o);
		hashmap_release(&c->items);
		free(c->group);
		free(c->resource);
		free(c);
	}
	hashmap_release(&s->collections);
}

struct collection *store_find_collection(struct store *s, const char *group,
					 const char *resource)
{
	char key[512];

	snprintf(key, sizeof(key), "%s/%s", group, resource);
	return hashmap_get(&s->collections, key);
}

struct collection *store_collection(struct store *s, const char *group,
				    const char *resource, bool namespaced)
{
	struct collection *c = store_find_collection(s, group, resource);
	char key[512];

	if (c)
		return c;
	c = xcalloc(1, sizeof(*c));
	c->group = xstrdup(group);
	c->resource = xstrdup(resource);
	c->namespaced = namespaced;
	hashmap_init(&c->items);
	snprintf(key, sizeof(key), "%s/%s", group, resource);
	hashmap_put(&s->collections, key, c);
	return c;
}

static char *make_key(const char *ns, const char *name)
{
	return xasprintf("%s/%s", ns ? ns : "", name);
}

struct object *store_get(struct collection *c, const char *ns, const char *name)
{
	char key[640];

	snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name);
	return hashmap_get(&c->items, key);
}

struct object *object_ref(struct object *o)
{
	if (o)
		o->refs++;
	return o;
}

void object_unref(struct object *o)
{
	if (!o || --o->refs > 0)
		return;
	for (size_t i = 0; i < o->n_owners; i++)
		free(o->owner_uids[i]);
	free(o->owner_uids);
	free(o->key);
	free(o->ns);
	free(o->name);
	free(o->uid);
	free(o->json);
	free(o);
}

json_t *object_parse(const struct object *o)
{
	return json_loadb(o->json, o->len, 0, NULL);
}

static const char *meta_str(json_t *meta, const char *field)
{
	const char *v = json_string_value(json_object_get(meta, field));

	return v ? v : "";
}

static void collect_owners(struct object *o, json_t *meta)
{
	json_t *refs = json_object_get(meta, "ownerReferences");
	size_t i;
	json_t *ref;

	if (!json_is_array(refs) || json_array_size(refs) == 0)
		return;
	o->owner_uids = xcalloc(json_array_size(refs), sizeof(char *));
	json_array_foreach(refs, i, ref)
	{
		const char *uid =
			json_string_value(json_object_get(ref, "uid"));

		if (uid)
			o->owner_uids[o->n_owners++] = xstrdup(uid);
	}
}

struct object *object_new(json_t *obj, uint64_t rv)
{
	struct object *o = xcalloc(1, sizeof(*o));
	json_t *meta = json_object_get(obj, "metadata");
	json_t *fin = json_object_get(meta, "finalizers");

	o->refs = 1;
	o->rv = rv;
	o->ns = xstrdup(meta_str(meta, "namespace"));
	o->name = xstrdup(meta_str(meta, "name"));
	o->uid = xstrdup(meta_str(meta, "uid"));
	o->key = make_key(o->ns, o->name);
	o->deleting = json_object_get(meta, "deletionTimestamp") != NULL;
	o->has_finalizers = json_is_array(fin) && json_array_size(fin) > 0;
	collect_owners(o, meta);
	o->json = json_dumps(obj, JSON_COMPACT);
	if (!o->json) {
		o->json = xstrdup("{}");
	}
	o->len = strlen(o->json);
	return o;
}

static void set_rv(json_t *obj, uint64_t rv)
{
	json_t *meta = json_object_get(obj, "metadata");
	char text[32];

	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	snprintf(text, sizeof(text), "%llu", (unsigned long long)rv);
	json_object_set_new(meta, "resourceVersion", json_string(text));
}

void store_compact(struct store *s)
{
	for (size_t i = 0; i < s->history_len; i++)
		change_release(
			&s->history[(s->history_start + i) % s->history_size]);
	s->history_start = 0;
	s->history_len = 0;
	s->compacted_rv = s->rv;
}

static void record(struct store *s, enum change_type type, struct collection *c,
		   struct object *obj, struct object *prev)
{
	struct change *slot;

	if (s->history_len == s->history_size) {
		slot = &s->history[s->history_start];
		s->compacted_rv = slot->rv;
		change_release(slot);
		s->history_start = (s->history_start + 1) % s->history_size;
		s->history_len--;
	}
	slot = &s->history[(s->history_start + s->history_len) %
			   s->history_size];
	slot->rv = obj->rv;
	slot->type = type;
	slot->coll = c;
	slot->obj = object_ref(obj);
	slot->prev = object_ref(prev);
	s->history_len++;
	if (s->on_change)
		s->on_change(slot, s->on_change_data);
}

struct object *store_put(struct store *s, struct collection *c, json_t *obj)
{
	struct object *o, *prev;

	set_rv(obj, ++s->rv);
	o = object_new(obj, s->rv);
	prev = hashmap_put(&c->items, o->key, o);
	if (prev) {
		s->bytes -= prev->len;
	} else {
		s->count++;
	}
	s->bytes += o->len;
	record(s, prev ? CHANGE_MODIFIED : CHANGE_ADDED, c, o, prev);
	object_unref(prev);
	return o;
}

int store_delete(struct store *s, struct collection *c, const char *ns,
		 const char *name, json_t *last)
{
	char *key = make_key(ns, name);
	struct object *prev = hashmap_remove(&c->items, key);
	struct object *o;

	free(key);
	if (!prev)
		return ERR_NOTFOUND;
	s->bytes -= prev->len;
	s->count--;
	set_rv(last, ++s->rv);
	o = object_new(last, s->rv);
	record(s, CHANGE_DELETED, c, o, prev);
	object_unref(o);
	object_unref(prev);
	return 0;
}

static int cmp_objects(const void *a, const void *b)
{
	const struct object *x = *(struct object *const *)a;
	const struct object *y = *(struct object *const *)b;

	return strcmp(x->key, y->key);
}

static bool key_wanted(const struct object *o, const char *ns,
		       const char *after)
{
	if (ns && *ns && strcmp(o->ns, ns) != 0)
		return false;
	return !after || strcmp(o->key, after) > 0;
}

/*
 * Builds the map key -> state-at-`at` for every key of `c` changed after
 * `at`: walking the history newest first, the last write wins, which is the
 * `prev` of the earliest change after `at`. A NULL value means absent.
 */
static void undo_changes(struct store *s, struct collection *c, uint64_t at,
			 struct hashmap *undo)
{
	for (size_t i = s->history_len; i-- > 0;) {
		struct change *ch =
			&s->history[(s->history_start + i) % s->history_size];

		if (ch->rv <= at)
			break;
		if (ch->coll != c)
			continue;
		/* the map stores NULL as a marker through this sentinel */
		hashmap_put(undo, ch->obj->key,
			    ch->prev ? (void *)ch->prev : (void *)undo);
	}
}

int store_list(struct store *s, struct collection *c, const char *ns,
	       uint64_t at, const char *after, struct object ***out, size_t *n)
{
	struct hashmap undo;
	struct object **items;
	size_t count = 0;
	void *v;
	const char *key;

	if (at && at < s->compacted_rv)
		return ERR_GONE;
	hashmap_init(&undo);
	if (at)
		undo_changes(s, c, at, &undo);
	items = xcalloc(c->items.size + undo.size + 1, sizeof(*items));
	for (size_t i = 0; hashmap_next(&c->items, &i, &key, &v);) {
		if (undo.size && hashmap_get(&undo, key))
			continue;
		if (key_wanted(v, ns, after))
			items[count++] = object_ref(v);
	}
	for (size_t i = 0; hashmap_next(&undo, &i, &key, &v);) {
		if (v != &undo && key_wanted(v, ns, after))
			items[count++] = object_ref(v);
	}
	hashmap_release(&undo);
	qsort(items, count, sizeof(*items), cmp_objects);
	*out = items;
	*n = count;
	return 0;
}

void store_list_free(struct object **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		object_unref(items[i]);
	free(items);
}

int store_changes_since(struct store *s, uint64_t since,
			void (*fn)(const struct change *c, void *data),
			void *data)
{
	if (since < s->compacted_rv)
		return ERR_GONE;
	for (size_t i = 0; i < s->history_len; i++) {
		struct change *ch =
			&s->history[(s->history_start + i) % s->history_size];

		if (ch->rv > since)
			fn(ch, data);
	}
	return 0;
}

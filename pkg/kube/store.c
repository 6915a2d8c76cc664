/*
 * store: an informer's indexed cache of kube_obj (see store.h).
 *
 * Memory is the point of this file: a controller may cache tens of
 * thousands of objects, so every per-object cost counts. The store
 * therefore uses one small open-addressing table of pointers for
 * everything instead of a map that copies its keys:
 *
 *  - the main table holds the objects themselves, hashed by obj->key (the
 *    key lives in the object, so a cached object costs one pointer slot);
 *  - each index (namespace, controller owner uid, each indexed label key)
 *    is a table of buckets hashed by the bucket's own key, and a bucket is
 *    a set of object pointers (a table hashed by address).
 *
 * Tables use linear probing with backward-shift deletion (no tombstones)
 * and shrink when mostly empty, so churn leaves no garbage behind. A
 * bucket is freed when its last object leaves. Objects are never modified;
 * a put or remove moves whole objects in and out of every structure under
 * the write lock, so readers see the old or the new version of an object,
 * never a mixture.
 */
#include "kube/store.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/selector.h"
#include "util/alloc.h"

/* Returns the string an element is hashed by; NULL: hash the address. */
typedef const char *(*key_fn)(const void *elem);

/* An open-addressing table of non-NULL pointers. */
struct table {
	void **slots;
	uint32_t cap; /* 0 or a power of two */
	uint32_t n;
};

/* An index entry: the objects whose indexed value is `key`. */
struct bucket {
	struct table set; /* of struct kube_obj *, by address */
	char key[];
};

struct label_index {
	char *label;	     /* the label key, e.g. "app" */
	struct table values; /* of struct bucket *, by label value */
};

struct kube_store {
	pthread_rwlock_t lock;
	struct table objs;     /* of struct kube_obj *, by obj->key */
	struct table by_ns;    /* of struct bucket *, by namespace */
	struct table by_owner; /* of struct bucket *, by controller uid */
	struct label_index *labels;
	size_t nlabels;
	size_t obj_bytes; /* sum of alloc_cost(kube_obj_size()) */
};

#define TABLE_MIN_CAP 2

static const char *obj_key(const void *elem)
{
	return ((const struct kube_obj *)elem)->key;
}

static const char *bucket_key(const void *elem)
{
	return ((const struct bucket *)elem)->key;
}

static size_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static size_t ptr_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h;
}

static size_t elem_hash(const void *elem, key_fn kf)
{
	return kf ? str_hash(kf(elem)) : ptr_hash(elem);
}

/*
 * The slot holding the element matching `key` (a string when kf is set, an
 * address otherwise), or the empty slot where it would go. t->cap > 0.
 */
static size_t table_slot(const struct table *t, key_fn kf, const void *key)
{
	size_t mask = t->cap - 1;
	size_t i = (kf ? str_hash(key) : ptr_hash(key)) & mask;

	for (; t->slots[i]; i = (i + 1) & mask) {
		if (kf ? strcmp(kf(t->slots[i]), key) == 0 : t->slots[i] == key)
			return i;
	}
	return i;
}

static void table_release(struct table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

static void table_resize(struct table *t, key_fn kf, uint32_t cap)
{
	struct table old = *t;

	t->slots = xcalloc(cap, sizeof(*t->slots));
	t->cap = cap;
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.slots[i])
			continue;
		size_t j = elem_hash(old.slots[i], kf) & (cap - 1);
		while (t->slots[j])
			j = (j + 1) & (cap - 1);
		t->slots[j] = old.slots[i];
	}
	free(old.slots);
}

static void *table_get(const struct table *t, key_fn kf, const void *key)
{
	return t->cap ? t->slots[table_slot(t, kf, key)] : NULL;
}

/* Inserts elem, returning the element with the same key it replaced. */
static void *table_put(struct table *t, key_fn kf, void *elem)
{
	size_t i;
	void *old;

	if ((size_t)(t->n + 1) * 4 > (size_t)t->cap * 3)
		table_resize(t, kf, t->cap ? t->cap * 2 : TABLE_MIN_CAP);
	i = table_slot(t, kf, kf ? kf(elem) : elem);
	old = t->slots[i];
	t->slots[i] = elem;
	if (!old)
		t->n++;
	return old;
}

/* Removes and returns the element matching key, or NULL. */
static void *table_del(struct table *t, key_fn kf, const void *key)
{
	size_t mask = t->cap - 1, i, j;
	void *elem;

	if (!t->cap || !(elem = t->slots[i = table_slot(t, kf, key)]))
		return NULL;
	/* Backward shift: pull later members of the run into the hole when
	 * their home slot is not between the hole and themselves. */
	for (j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
		size_t home = elem_hash(t->slots[j], kf) & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = NULL;
	t->n--;
	if (t->n == 0)
		table_release(t);
	else if (t->cap > 16 && t->n * 8 < t->cap)
		table_resize(t, kf, t->cap / 2);
	return elem;
}

/* Iterates elements: `for (size_t i = 0; (e = table_next(t, &i));)`. */
static void *table_next(const struct table *t, size_t *iter)
{
	while (*iter < t->cap) {
		void *e = t->slots[(*iter)++];
		if (e)
			return e;
	}
	return NULL;
}

/* Approximate heap cost of a malloc(n) with glibc's chunk rounding. */
static size_t alloc_cost(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
}

static size_t table_cost(const struct table *t)
{
	return t->cap ? alloc_cost(t->cap * sizeof(void *)) : 0;
}

static void index_add(struct table *idx, const char *key, struct kube_obj *obj)
{
	struct bucket *b = table_get(idx, bucket_key, key);

	if (!b) {
		size_t len = strlen(key) + 1;

		b = xmalloc(sizeof(*b) + len);
		b->set = (struct table){0};
		memcpy(b->key, key, len);
		table_put(idx, bucket_key, b);
	}
	table_put(&b->set, NULL, obj);
}

static void index_del(struct table *idx, const char *key, struct kube_obj *obj)
{
	struct bucket *b = table_get(idx, bucket_key, key);

	if (!b)
		return;
	table_del(&b->set, NULL, obj);
	if (b->set.n == 0) {
		table_del(idx, bucket_key, key);
		free(b);
	}
}

static void index_release(struct table *idx)
{
	struct bucket *b;

	for (size_t i = 0; (b = table_next(idx, &i));) {
		table_release(&b->set);
		free(b);
	}
	table_release(idx);
}

static size_t index_cost(const struct table *idx)
{
	size_t n = table_cost(idx);
	struct bucket *b;

	for (size_t i = 0; (b = table_next(idx, &i));)
		n += alloc_cost(sizeof(*b) + strlen(b->key) + 1) +
		     table_cost(&b->set);
	return n;
}

/* Adds (add != 0) or removes obj in every index. */
static void index_obj(struct kube_store *s, struct kube_obj *obj, int add)
{
	void (*op)(struct table *, const char *, struct kube_obj *) =
		add ? index_add : index_del;

	op(&s->by_ns, obj->ns, obj);
	if (obj->owner_uid)
		op(&s->by_owner, obj->owner_uid, obj);
	for (size_t i = 0; i < s->nlabels; i++) {
		const char *v = kube_obj_label(obj, s->labels[i].label);

		if (v)
			op(&s->labels[i].values, v, obj);
	}
	if (add)
		s->obj_bytes += alloc_cost(kube_obj_size(obj));
	else
		s->obj_bytes -= alloc_cost(kube_obj_size(obj));
}

static void indexes_release(struct kube_store *s)
{
	index_release(&s->by_ns);
	index_release(&s->by_owner);
	for (size_t i = 0; i < s->nlabels; i++)
		index_release(&s->labels[i].values);
	s->obj_bytes = 0;
}

struct kube_store *kube_store_new(const char *const *index_labels)
{
	struct kube_store *s = xcalloc(1, sizeof(*s));

	pthread_rwlock_init(&s->lock, NULL);
	while (index_labels && index_labels[s->nlabels])
		s->nlabels++;
	s->labels = xcalloc(s->nlabels ? s->nlabels : 1, sizeof(*s->labels));
	for (size_t i = 0; index_labels && i < s->nlabels; i++)
		s->labels[i].label = xstrdup(index_labels[i]);
	return s;
}

void kube_store_free(struct kube_store *s)
{
	struct kube_obj *o;

	if (!s)
		return;
	for (size_t i = 0; (o = table_next(&s->objs, &i));)
		kube_obj_unref(o);
	table_release(&s->objs);
	indexes_release(s);
	for (size_t i = 0; i < s->nlabels; i++)
		free(s->labels[i].label);
	free(s->labels);
	pthread_rwlock_destroy(&s->lock);
	free(s);
}

struct kube_obj *kube_store_put(struct kube_store *s, struct kube_obj *obj)
{
	struct kube_obj *old;

	pthread_rwlock_wrlock(&s->lock);
	old = table_put(&s->objs, obj_key, obj);
	if (old)
		index_obj(s, old, 0);
	index_obj(s, obj, 1);
	pthread_rwlock_unlock(&s->lock);
	return old;
}

struct kube_obj *kube_store_remove(struct kube_store *s, const char *key)
{
	struct kube_obj *old;

	pthread_rwlock_wrlock(&s->lock);
	old = table_del(&s->objs, obj_key, key);
	if (old)
		index_obj(s, old, 0);
	pthread_rwlock_unlock(&s->lock);
	return old;
}

struct kube_obj *kube_store_get(struct kube_store *s, const char *key)
{
	struct kube_obj *o;

	pthread_rwlock_rdlock(&s->lock);
	o = kube_obj_ref(table_get(&s->objs, obj_key, key));
	pthread_rwlock_unlock(&s->lock);
	return o;
}

size_t kube_store_len(struct kube_store *s)
{
	size_t n;

	pthread_rwlock_rdlock(&s->lock);
	n = s->objs.n;
	pthread_rwlock_unlock(&s->lock);
	return n;
}

/* What a lookup keeps from the candidates it walks. */
struct filter {
	const char *ns;	   /* NULL: any namespace */
	const char *label; /* NULL: no label condition */
	const char *value;
	const struct label_selector *sel; /* NULL or empty: all */
};

static bool filter_matches(const struct filter *f, const struct kube_obj *o)
{
	bool ok;
	json_t *labels;

	if (f->ns && strcmp(o->ns, f->ns) != 0)
		return false;
	if (f->label) {
		const char *v = kube_obj_label(o, f->label);

		if (!v || strcmp(v, f->value) != 0)
			return false;
	}
	if (!f->sel)
		return true;
	labels = kube_obj_labels_json(o);
	ok = label_selector_matches(f->sel, labels);
	json_decref(labels);
	return ok;
}

/* New references to the members of `t` that pass f, as a new array. */
static size_t collect(const struct table *t, const struct filter *f,
		      struct kube_obj ***out)
{
	struct kube_obj **arr, *o;
	size_t n = 0;

	*out = NULL;
	if (!t || !t->n)
		return 0;
	arr = xmalloc(t->n * sizeof(*arr));
	for (size_t i = 0; (o = table_next(t, &i));) {
		if (filter_matches(f, o))
			arr[n++] = kube_obj_ref(o);
	}
	if (!n) {
		free(arr);
		arr = NULL;
	}
	*out = arr;
	return n;
}

/* The smallest set holding every object of namespace ns (NULL: all). */
static const struct table *ns_candidates(struct kube_store *s, const char *ns)
{
	const struct bucket *b;

	if (!ns)
		return &s->objs;
	b = table_get(&s->by_ns, bucket_key, ns);
	return b ? &b->set : NULL;
}

size_t kube_store_list(struct kube_store *s, const char *ns,
		       struct kube_obj ***out)
{
	struct filter f = {0};
	size_t n;

	pthread_rwlock_rdlock(&s->lock);
	n = collect(ns_candidates(s, ns), &f, out);
	pthread_rwlock_unlock(&s->lock);
	return n;
}

size_t kube_store_by_owner(struct kube_store *s, const char *owner_uid,
			   struct kube_obj ***out)
{
	struct filter f = {0};
	const struct bucket *b;
	size_t n;

	pthread_rwlock_rdlock(&s->lock);
	b = table_get(&s->by_owner, bucket_key, owner_uid);
	n = collect(b ? &b->set : NULL, &f, out);
	pthread_rwlock_unlock(&s->lock);
	return n;
}

static const struct label_index *find_label_index(const struct kube_store *s,
						  const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		if (strcmp(s->labels[i].label, key) == 0)
			return &s->labels[i];
	}
	return NULL;
}

size_t kube_store_by_label(struct kube_store *s, const char *ns,
			   const char *key, const char *value,
			   struct kube_obj ***out)
{
	struct filter f = {.ns = ns, .label = key, .value = value};
	const struct label_index *li = find_label_index(s, key);
	const struct table *cand;
	const struct bucket *b;
	size_t n;

	pthread_rwlock_rdlock(&s->lock);
	if (li) {
		b = table_get(&li->values, bucket_key, value);
		cand = b ? &b->set : NULL;
	} else {
		cand = ns_candidates(s, ns);
	}
	n = collect(cand, &f, out);
	pthread_rwlock_unlock(&s->lock);
	return n;
}

size_t kube_store_select(struct kube_store *s, const char *ns,
			 const struct label_selector *sel,
			 struct kube_obj ***out)
{
	struct filter f = {.ns = ns};
	size_t n;

	if (!label_selector_is_empty(sel))
		f.sel = sel;
	pthread_rwlock_rdlock(&s->lock);
	n = collect(ns_candidates(s, ns), &f, out);
	pthread_rwlock_unlock(&s->lock);
	return n;
}

/* One change found by kube_store_replace, holding a reference to each. */
struct change {
	struct kube_obj *old, *new;
};

/*
 * Diffs the old table against the store's new content, consuming the
 * old table's references: changes get them, unchanged objects drop them.
 * Every `new` in a change is a new reference.
 */
static size_t diff(struct table *old, const struct table *cur,
		   struct change **out)
{
	struct change *ch = xmalloc((old->n + cur->n + 1) * sizeof(*ch));
	struct kube_obj *o, *prev;
	size_t n = 0;

	for (size_t i = 0; (o = table_next(cur, &i));) {
		prev = table_del(old, obj_key, o->key);
		if (prev &&
		    strcmp(prev->resource_version, o->resource_version) == 0) {
			kube_obj_unref(prev);
		} else {
			ch[n].old = prev;
			ch[n++].new = kube_obj_ref(o);
		}
	}
	for (size_t i = 0; (o = table_next(old, &i));) {
		ch[n].old = o;
		ch[n++].new = NULL;
	}
	table_release(old);
	*out = ch;
	return n;
}

void kube_store_replace(struct kube_store *s, struct kube_obj **objs, size_t n,
			kube_store_change_fn fn, void *data)
{
	struct table fresh = {0}, old;
	struct change *ch;
	struct kube_obj *o;
	size_t nch;

	for (size_t i = 0; i < n; i++)
		kube_obj_unref(table_put(&fresh, obj_key, objs[i]));
	pthread_rwlock_wrlock(&s->lock);
	old = s->objs;
	s->objs = fresh;
	indexes_release(s);
	for (size_t i = 0; (o = table_next(&s->objs, &i));)
		index_obj(s, o, 1);
	nch = diff(&old, &s->objs, &ch);
	pthread_rwlock_unlock(&s->lock);
	for (size_t i = 0; i < nch; i++) {
		if (fn)
			fn(ch[i].old, ch[i].new, data);
		kube_obj_unref(ch[i].old);
		kube_obj_unref(ch[i].new);
	}
	free(ch);
}

size_t kube_store_bytes(struct kube_store *s)
{
	size_t n = alloc_cost(sizeof(*s));

	pthread_rwlock_rdlock(&s->lock);
	n += s->obj_bytes + table_cost(&s->objs) + index_cost(&s->by_ns) +
	     index_cost(&s->by_owner);
	for (size_t i = 0; i < s->nlabels; i++)
		n += alloc_cost(strlen(s->labels[i].label) + 1) +
		     index_cost(&s->labels[i].values);
	pthread_rwlock_unlock(&s->lock);
	return n;
}

/*
 * store: an informer's thread-safe cache of kube_obj, with indexes.
 *
 * Objects are keyed by "ns/name" (or "name"). Three indexes answer the
 * questions controllers ask without scanning: by namespace, by the uid of
 * the controller owner (ownerReferences[controller=true]), and by the value
 * of each label key given at creation (e.g. "app"). Lookups by a label key
 * that is not indexed scan the namespace (or everything).
 *
 * Invariants: the store holds one reference to each object it contains.
 * Every lookup returns new references (the caller unrefs them, or frees an
 * array with kube_obj_array_free()); since objects are immutable, a reader
 * can never see a torn update: it sees either the old or the new version.
 * Thread-safety: every function may be called from any thread; writers are
 * serialised by a rwlock that readers share. Arrays are in no particular
 * order unless stated.
 */
#ifndef KNIT_KUBE_STORE_H
#define KNIT_KUBE_STORE_H

#include <stddef.h>

#include "kube/object.h"

struct kube_store;
struct label_selector;

/*
 * Creates an empty store indexing the label keys in `index_labels` (a
 * NULL-terminated array, copied; NULL for none).
 */
struct kube_store *kube_store_new(const char *const *index_labels);
/* Frees the store and drops its references. NULL is a no-op. */
void kube_store_free(struct kube_store *s);

/*
 * Inserts or replaces the object under obj->key, taking over the caller's
 * reference to obj. Returns the replaced object (its reference passes to the
 * caller) or NULL.
 */
struct kube_obj *kube_store_put(struct kube_store *s, struct kube_obj *obj);

/* Removes `key`; returns the removed object (the reference passes to the
 * caller) or NULL when absent. */
struct kube_obj *kube_store_remove(struct kube_store *s, const char *key);

/* The object under `key` as a new reference, or NULL. */
struct kube_obj *kube_store_get(struct kube_store *s, const char *key);

size_t kube_store_len(struct kube_store *s);

/*
 * Lookups: each stores in *out a new array of new references (NULL when
 * empty) and returns its length. `ns` NULL means every namespace.
 */
size_t kube_store_list(struct kube_store *s, const char *ns,
		       struct kube_obj ***out);
size_t kube_store_by_owner(struct kube_store *s, const char *owner_uid,
			   struct kube_obj ***out);
size_t kube_store_by_label(struct kube_store *s, const char *ns,
			   const char *key, const char *value,
			   struct kube_obj ***out);
/* Objects in `ns` (NULL: all) whose labels match `sel` (NULL: all). */
size_t kube_store_select(struct kube_store *s, const char *ns,
			 const struct label_selector *sel,
			 struct kube_obj ***out);

/*
 * Replaces the whole content with objs[0..n) (taking over those references;
 * the array itself stays the caller's), as after a relist. For every change
 * calls fn(old, new, data) after the swap, outside the lock: old NULL for an
 * addition, new NULL for a deletion; unchanged objects (same
 * resourceVersion) are not reported. Both pointers are borrowed for the
 * call. `fn` may be NULL.
 */
typedef void (*kube_store_change_fn)(struct kube_obj *old, struct kube_obj *new,
				     void *data);
void kube_store_replace(struct kube_store *s, struct kube_obj **objs, size_t n,
			kube_store_change_fn fn, void *data);

/* Bytes held by the store's objects and indexes (approximate). */
size_t kube_store_bytes(struct kube_store *s);

#endif

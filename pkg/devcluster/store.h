/*
 * store: knit-devcluster's in-memory object storage, with one global
 * resourceVersion and a bounded history of changes for watches.
 *
 * Objects are kept as compact JSON text (not parsed trees), so memory stays
 * close to the size of the stored JSON; callers parse on demand. Each stored
 * version is an immutable, reference-counted `struct object`: a reader may
 * keep one alive (a watch queue, a list page) while the store moves on.
 *
 * Every write gets the next resourceVersion and is appended to a ring of the
 * last `history_size` changes. That ring serves watches that resume from a
 * resourceVersion and list requests pinned to an older resourceVersion
 * (continue tokens): the state at version R is the current state with the
 * changes after R undone. When R is older than the ring, the caller answers
 * 410 Expired, as the real server does after etcd compaction.
 *
 * Objects live in collections, one per (group, resource) storage identity;
 * several API versions or views (core/v1 and events.k8s.io/v1 Events) may
 * share one collection. Keys are "namespace/name" ("/name" when
 * cluster-scoped), ordered like etcd keys in lists.
 *
 * Not thread-safe: the devcluster runs on a single event-loop thread.
 */
#ifndef KNIT_DEVCLUSTER_STORE_H
#define KNIT_DEVCLUSTER_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hashmap.h"

enum change_type {
	CHANGE_ADDED,
	CHANGE_MODIFIED,
	CHANGE_DELETED
};

struct object {
	int refs;
	uint64_t rv;
	char *key; /* "ns/name" */
	char *ns;  /* "" when cluster-scoped */
	char *name;
	char *uid;
	char *json; /* compact JSON of the whole object */
	size_t len;
	char **owner_uids; /* uids named in metadata.ownerReferences */
	size_t n_owners;
	bool deleting; /* metadata.deletionTimestamp is set */
	bool has_finalizers;
};

struct collection {
	char *group;
	char *resource;
	bool namespaced;
	struct hashmap items; /* key -> struct object * */
};

struct change {
	uint64_t rv;
	enum change_type type;
	struct collection *coll;
	struct object *obj;  /* new state; for DELETED the last state */
	struct object *prev; /* state before, or NULL when added */
};

typedef void (*store_change_fn)(const struct change *c, void *data);

struct store {
	uint64_t rv;
	uint64_t compacted_rv;	    /* changes at or below this are forgotten */
	struct hashmap collections; /* "group/resource" -> collection */
	struct change *history;	    /* ring of history_size entries */
	size_t history_size;
	size_t history_start;
	size_t history_len;
	size_t bytes; /* total JSON bytes of current objects */
	size_t count; /* current objects */
	store_change_fn on_change;
	void *on_change_data;
};

void store_init(struct store *s, size_t history_size);
void store_release(struct store *s);

/* Returns the collection for (group, resource), creating it when absent. */
struct collection *store_collection(struct store *s, const char *group,
				    const char *resource, bool namespaced);
/* Returns the collection or NULL. */
struct collection *store_find_collection(struct store *s, const char *group,
					 const char *resource);

/* Borrowed pointer to the current object, or NULL. */
struct object *store_get(struct collection *c, const char *ns,
			 const char *name);

/*
 * Stores `obj` (its metadata.namespace/name select the key) as the next
 * version: sets metadata.resourceVersion in `obj` to the new global version,
 * serialises it and records an ADDED or MODIFIED change. Returns the new
 * stored object (borrowed; the store keeps it).
 */
struct object *store_put(struct store *s, struct collection *c, json_t *obj);

/*
 * Removes the object under (ns, name). `last` is the final state to report
 * (its resourceVersion is set to the new global version). Records a DELETED
 * change. Returns 0 or ERR_NOTFOUND.
 */
int store_delete(struct store *s, struct collection *c, const char *ns,
		 const char *name, json_t *last);

/*
 * Fills *out with the objects of `c` in namespace `ns` (NULL or "" for all),
 * as they were at resourceVersion `at` (0 for now), with keys strictly
 * greater than `after` (NULL for the beginning), sorted by key. Each entry
 * holds a reference: release the array with store_list_free().
 * Returns 0, or ERR_GONE when `at` is older than the kept history.
 */
int store_list(struct store *s, struct collection *c, const char *ns,
	       uint64_t at, const char *after, struct object ***out, size_t *n);
void store_list_free(struct object **items, size_t n);

/*
 * Calls fn for every kept change with rv > since, oldest first. Returns 0,
 * or ERR_GONE when changes after `since` have already been forgotten.
 */
int store_changes_since(struct store *s, uint64_t since,
			void (*fn)(const struct change *c, void *data),
			void *data);

/*
 * Forgets every kept change, as etcd compaction does: watches and continue
 * tokens from before now get ERR_GONE (410 Expired).
 */
void store_compact(struct store *s);

struct object *object_ref(struct object *o);
void object_unref(struct object *o);
/* Parses the object's JSON; new reference (never NULL for stored objects). */
json_t *object_parse(const struct object *o);

/* Stored object from JSON (used when loading snapshots); new reference. */
struct object *object_new(json_t *obj, uint64_t rv);

#endif

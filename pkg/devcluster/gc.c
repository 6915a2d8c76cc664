/*
 * gc: the background work a real cluster's controller manager does, which
 * knit-devcluster has to do itself: garbage collection through
 * ownerReferences (background, foreground, orphan), emptying terminating
 * namespaces, and removing a deleted CRD's objects. Runs from
 * devcluster_tick() on the event loop; every step is a normal store write,
 * so watchers see it as they would in a real cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devcluster/api_internal.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/rfc3339.h"

#define CRD_CLEANUP "customresourcecleanup.apiextensions.k8s.io"
/* How long Events are kept after their last update (kube-apiserver: 1 h). */
#define EVENT_TTL 3600

struct resource_type *api_type_of(struct devcluster *dc, struct collection *c)
{
	for (size_t i = 0; i < dc->reg.n; i++)
		if (dc->reg.types[i]->coll == c &&
		    dc->reg.types[i]->view == VIEW_PLAIN)
			return dc->reg.types[i];
	return NULL;
}

static bool has_finalizer(const json_t *obj, const char *name)
{
	size_t i;
	json_t *f;

	json_array_foreach(
		json_object_get(json_object_get(obj, "metadata"), "finalizers"),
		i, f) if (strcmp(json_string_value(f) ?: "", name) ==
			  0) return true;
	return false;
}

static void remove_finalizer(json_t *obj, const char *name)
{
	json_t *fin =
		json_object_get(json_object_get(obj, "metadata"), "finalizers");

	for (size_t i = json_array_size(fin); i-- > 0;)
		if (strcmp(json_string_value(json_array_get(fin, i)) ?: "",
			   name) == 0)
			json_array_remove(fin, i);
}

void api_internal_update(struct devcluster *dc, struct collection *c,
			 json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *fin = json_object_get(meta, "finalizers");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *uid = json_string_value(json_object_get(meta, "uid"));
	struct resource_type *t = api_type_of(dc, c);

	dc->dirty = true;
	if (json_object_get(meta, "deletionTimestamp") &&
	    json_integer_value(
		    json_object_get(meta, "deletionGracePeriodSeconds")) == 0 &&
	    json_array_size(fin) == 0) {
		json_array_append_new(dc->gc_queue,
				      json_string(uid ? uid : ""));
		store_delete(&dc->store, c, ns ? ns : "", name ? name : "",
			     obj);
		if (t && strcmp(t->resource, "customresourcedefinitions") == 0)
			crd_established(dc, obj);
		return;
	}
	store_put(&dc->store, c, obj);
}

int api_internal_delete(struct devcluster *dc, struct collection *c,
			const char *ns, const char *name,
			const char *propagation)
{
	struct object *o = store_get(c, ns, name);
	struct resource_type *t = api_type_of(dc, c);
	int code;

	if (!o || !t)
		return -2;
	if (o->deleting)
		return 0;
	json_decref(
		api_delete_object(dc, c, t, o, propagation, -1, false, &code));
	return 0;
}

/* A snapshot of every stored object, so writes during a pass are safe. */
struct entry {
	struct collection *coll;
	struct object *obj;
};

static struct entry *all_objects(struct devcluster *dc, size_t *n)
{
	struct entry *out = xcalloc(dc->store.count + 1, sizeof(*out));
	const char *key;
	void *cv, *ov;

	*n = 0;
	for (size_t i = 0; hashmap_next(&dc->store.collections, &i, &key, &cv);)
		for (size_t j = 0; hashmap_next(
			     &((struct collection *)cv)->items, &j, NULL, &ov);)
			if (*n < dc->store.count + 1) {
				out[*n].coll = cv;
				out[(*n)++].obj = object_ref(ov);
			}
	return out;
}

static void free_entries(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		object_unref(e[i].obj);
	free(e);
}

/* Handles one dependent: collect, orphan or leave it. */
static void collect_dependent(struct devcluster *dc, struct entry *dep,
			      struct hashmap *by_uid)
{
	size_t absent = 0;
	bool orphan_from = false, foreground = false;

	for (size_t k = 0; k < dep->obj->n_owners; k++) {
		struct object *owner =
			hashmap_get(by_uid, dep->obj->owner_uids[k]);

		if (!owner) {
			absent++;
			continue;
		}
		if (owner->deleting) {
			json_t *o = object_parse(owner);

			orphan_from |= has_finalizer(o, "orphan");
			foreground |= has_finalizer(o, "foregroundDeletion");
			json_decref(o);
		}
	}
	if (orphan_from) {
		json_t *obj = object_parse(dep->obj);
		json_t *refs = json_object_get(json_object_get(obj, "metadata"),
					       "ownerReferences");

		for (size_t i = json_array_size(refs); i-- > 0;) {
			const char *uid = json_string_value(json_object_get(
				json_array_get(refs, i), "uid"));
			struct object *owner =
				uid ? hashmap_get(by_uid, uid) : NULL;

			if (owner && owner->deleting)
				json_array_remove(refs, i);
		}
		if (json_array_size(refs) == 0)
			json_object_del(json_object_get(obj, "metadata"),
					"ownerReferences");
		api_internal_update(dc, dep->coll, obj);
		json_decref(obj);
		return;
	}
	if ((absent == dep->obj->n_owners || foreground) && !dep->obj->deleting)
		api_internal_delete(dc, dep->coll, dep->obj->ns, dep->obj->name,
				    foreground ? "Foreground" : "Background");
}

static bool has_dependents(struct entry *all, size_t n, const char *uid)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < all[i].obj->n_owners; k++)
			if (strcmp(all[i].obj->owner_uids[k], uid) == 0)
				return true;
	return false;
}

/* Releases owners whose foreground/orphan finalizer has done its work. */
static void finish_owner(struct devcluster *dc, struct entry *e,
			 struct entry *all, size_t n)
{
	json_t *obj;
	bool changed = false;

	if (!e->obj->deleting || !e->obj->has_finalizers)
		return;
	obj = object_parse(e->obj);
	if (has_finalizer(obj, "orphan") &&
	    !has_dependents(all, n, e->obj->uid)) {
		remove_finalizer(obj, "orphan");
		changed = true;
	}
	if (has_finalizer(obj, "foregroundDeletion") &&
	    !has_dependents(all, n, e->obj->uid)) {
		remove_finalizer(obj, "foregroundDeletion");
		changed = true;
	}
	if (changed)
		api_internal_update(dc, e->coll, obj);
	json_decref(obj);
}

static void collect_garbage(struct devcluster *dc)
{
	size_t n;
	struct entry *all = all_objects(dc, &n);
	struct hashmap by_uid;

	hashmap_init(&by_uid);
	for (size_t i = 0; i < n; i++)
		if (*all[i].obj->uid)
			hashmap_put(&by_uid, all[i].obj->uid, all[i].obj);
	for (size_t i = 0; i < n; i++)
		if (all[i].obj->n_owners)
			collect_dependent(dc, &all[i], &by_uid);
	hashmap_release(&by_uid);
	free_entries(all, n);
	all = all_objects(dc, &n);
	for (size_t i = 0; i < n; i++)
		finish_owner(dc, &all[i], all, n);
	free_entries(all, n);
}

/* Deletes the content of terminating namespaces, then the namespaces. */
static void finish_namespaces(struct devcluster *dc)
{
	struct collection *nsc =
		store_find_collection(&dc->store, "", "namespaces");
	size_t n;
	struct entry *all;

	if (!nsc)
		return;
	all = all_objects(dc, &n);
	for (size_t i = 0; i < n; i++) {
		struct object *ns = all[i].obj;
		bool empty = true;

		if (all[i].coll != nsc || !ns->deleting)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (strcmp(all[j].obj->ns, ns->name) != 0 ||
			    !all[j].coll->namespaced)
				continue;
			empty = false;
			api_internal_delete(dc, all[j].coll, all[j].obj->ns,
					    all[j].obj->name, "Background");
		}
		if (empty) {
			json_t *obj = object_parse(ns);

			json_object_set_new(json_object_get(obj, "spec"),
					    "finalizers", json_array());
			if (json_array_size(json_object_get(
				    json_object_get(obj, "metadata"),
				    "finalizers")) == 0)
				store_delete(&dc->store, nsc, "", ns->name,
					     obj);
			else
				store_put(&dc->store, nsc, obj);
			json_decref(obj);
			dc->dirty = true;
		}
	}
	free_entries(all, n);
}

/* Removes the objects of CRDs being deleted, then releases the CRDs. */
static void finish_crds(struct devcluster *dc)
{
	struct collection *crds =
		store_find_collection(&dc->store, "apiextensions.k8s.io",
				      "customresourcedefinitions");
	size_t n;
	struct entry *all;

	if (!crds)
		return;
	all = all_objects(dc, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *crd, *spec;
		struct collection *items;
		const char *key;
		void *v;

		if (all[i].coll != crds || !all[i].obj->deleting)
			continue;
		crd = object_parse(all[i].obj);
		spec = json_object_get(crd, "spec");
		items = store_find_collection(
			&dc->store,
			json_string_value(json_object_get(spec, "group")) ?: "",
			json_string_value(json_object_get(
				json_object_get(spec, "names"), "plural"))
				?: "");
		if (items && items->items.size) {
			struct object **objs;
			size_t m;

			store_list(&dc->store, items, NULL, 0, NULL, &objs, &m);
			for (size_t j = 0; j < m; j++)
				api_internal_delete(dc, items, objs[j]->ns,
						    objs[j]->name,
						    "Background");
			store_list_free(objs, m);
			(void)key;
			(void)v;
		} else if (has_finalizer(crd, CRD_CLEANUP)) {
			remove_finalizer(crd, CRD_CLEANUP);
			api_internal_update(dc, crds, json_incref(crd));
			json_decref(crd);
		}
		json_decref(crd);
	}
	free_entries(all, n);
}

/* The newest time an Event records (its last write, as far as we know). */
static double event_time(const json_t *ev)
{
	static const char *const fields[] = {"lastTimestamp", "eventTime",
					     "firstTimestamp", NULL};
	double t, newest = 0;

	for (int i = 0; fields[i]; i++)
		if (rfc3339_parse(
			    json_string_value(json_object_get(ev, fields[i])),
			    &t) == 0 &&
		    t > newest)
			newest = t;
	if (rfc3339_parse(
		    json_string_value(json_object_get(
			    json_object_get(ev, "series"), "lastObservedTime")),
		    &t) == 0 &&
	    t > newest)
		newest = t;
	if (!newest && rfc3339_parse(json_string_value(json_object_get(
					     json_object_get(ev, "metadata"),
					     "creationTimestamp")),
				     &t) == 0)
		newest = t;
	return newest;
}

/*
 * Events live EVENT_TTL seconds after their last update, as with the real
 * API server's --event-ttl (1 h): a busy simulation would otherwise grow
 * the store without bound.
 */
static void expire_events(struct devcluster *dc, time_t now)
{
	struct collection *c = store_find_collection(&dc->store, "", "events");
	struct object **items;
	size_t n;

	if (!c || store_list(&dc->store, c, NULL, 0, NULL, &items, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *ev = object_parse(items[i]);

		if (event_time(ev) + EVENT_TTL < (double)now)
			api_internal_delete(dc, c, items[i]->ns, items[i]->name,
					    "Background");
		json_decref(ev);
	}
	store_list_free(items, n);
}

bool devcluster_tick(struct devcluster *dc)
{
	bool more;
	static time_t last_save, last_expiry;
	static double last_gc;
	time_t now = time(NULL);
	double mono = api_monotonic();
	char err[256];

	/*
	 * A full pass at most every 200 ms after deletions, however often the
	 * loop ticks; new owner references (a pod created by a ReplicaSet) only
	 * need checking for owners that are already gone, which can wait 5 s.
	 */
	if (((dc->gc_pending || json_array_size(dc->gc_queue)) &&
	     mono - last_gc >= 0.2) ||
	    (dc->gc_owners && mono - last_gc >= 5)) {
		last_gc = mono;
		/* a pass may itself write; those writes ask for the next one */
		dc->gc_pending = false;
		dc->gc_owners = false;
		json_array_clear(dc->gc_queue);
		collect_garbage(dc);
		finish_namespaces(dc);
		finish_crds(dc);
	}
	more = sim_tick(dc->sim, 0);
	if (now - last_expiry >= 60) {
		expire_events(dc, now);
		last_expiry = now;
	}
	if (dc->opt.snapshot && dc->dirty && now - last_save >= 2) {
		if (snapshot_save(dc, dc->opt.snapshot, err, sizeof(err)))
			LOG_WARNF("snapshot not saved", "error=\"%s\"", err);
		else
			dc->dirty = false;
		last_save = now;
	}
	return more;
}

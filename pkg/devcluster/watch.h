/*
 * watch: the watchers of knit-devcluster and the rendering of objects as a
 * client asked for them.
 *
 * The hub receives every store change (store.on_change) and appends one
 * compact JSON line per matching change to each watcher's output buffer,
 * then wakes the transport (the `wake` callback) to flush it. A watcher
 * whose buffer passes its limit (a client that stopped reading) is marked
 * `overflowed` and closed by the transport, as the real server drops slow
 * watchers; every other client keeps being served.
 *
 * With label or field selectors, a change is judged against the object
 * before and after it: entering the selection is ADDED, leaving it DELETED.
 *
 * `struct view` carries what rendering needs (group/version/kind, Events
 * v1 conversion, Table output) as owned copies, so a watcher outlives the
 * resource type that created it. Not thread-safe.
 */
#ifndef KNIT_DEVCLUSTER_WATCH_H
#define KNIT_DEVCLUSTER_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "devcluster/registry.h"
#include "devcluster/store.h"
#include "kube/selector.h"
#include "util/buf.h"

struct view {
	char *group;
	char *version;
	char *resource;
	char *kind;
	char *crd_name;
	enum resource_view kind_view;
	bool is_custom;
	bool table;		 /* render as meta.k8s.io/v1 Table rows */
	json_t *printer_columns; /* owned reference or NULL */
	json_t *selectable_fields;
};

/* Fills v from t; table selects Table rendering. Release with view_release. */
void view_init(struct view *v, const struct resource_type *t, bool table);
void view_release(struct view *v);

/*
 * Converts a stored object to what a client of this view sees: the API
 * version of the request and, for events.k8s.io/v1, the renamed fields.
 * Takes obj (stolen) and returns a new reference.
 */
json_t *view_render(const struct view *v, json_t *obj);
/* The inverse for writes: a request object to the storage form. Stolen/new. */
json_t *view_to_storage(const struct view *v, json_t *obj);

/* Value of a selectable field of obj as a string for field selectors. */
const char *view_field_value(const struct view *v, const json_t *obj,
			     const char *field, char *scratch, size_t len);
/* NULL-terminated list of fields the view supports in fieldSelector. */
const char *const *view_supported_fields(const struct view *v);

struct watcher {
	struct watch_hub *hub;
	struct watcher *prev, *next;
	struct collection *coll;
	struct view view;
	char *ns; /* NULL for all namespaces */
	struct label_selector *labels;
	struct field_selector *fields;
	bool bookmarks;
	uint64_t last_rv; /* last resourceVersion delivered */
	time_t deadline;  /* 0: none */
	time_t last_bookmark;
	struct buf out; /* pending output lines */
	bool overflowed;
	bool done; /* deadline passed or collection gone */
	void (*wake)(void *data);
	void *wake_data;
};

struct watch_hub {
	struct watcher *head;
	size_t count;
	size_t max_pending; /* per-watcher output limit in bytes */
};

void watch_hub_init(struct watch_hub *h, size_t max_pending);
/* Closes and frees all watchers still attached. */
void watch_hub_release(struct watch_hub *h);
/* store_change_fn: dispatches one change to every interested watcher. */
void watch_hub_on_change(const struct change *c, void *data);
/* Periodic duties: bookmarks and timeouts. */
void watch_hub_tick(struct watch_hub *h, time_t now);
/* Marks every watcher of the collection done (e.g. its CRD was deleted). */
void watch_hub_close_collection(struct watch_hub *h, struct collection *c);

/*
 * New watcher attached to the hub. Takes ownership of labels and fields
 * (may be NULL). Initial events are queued by the caller with
 * watcher_send_object() before the stream starts.
 */
struct watcher *watcher_new(struct watch_hub *h, const struct resource_type *t,
			    const char *ns, struct label_selector *labels,
			    struct field_selector *fields, bool table,
			    bool bookmarks, int timeout_seconds);
/* Detaches and frees the watcher. */
void watcher_free(struct watcher *w);

/* true when obj (parsed storage form) matches namespace and selectors. */
bool watcher_matches(const struct watcher *w, const json_t *obj);
/* Queues {"type":type,"object":rendered(stored)}. */
void watcher_send_object(struct watcher *w, const char *type,
			 const struct object *o);
/* Queues a BOOKMARK at rv, with the initial-events-end annotation if asked. */
void watcher_send_bookmark(struct watcher *w, uint64_t rv,
			   bool initial_events_end);
/* Queues an ERROR event carrying `status` (borrowed). */
void watcher_send_error(struct watcher *w, const json_t *status);

#endif

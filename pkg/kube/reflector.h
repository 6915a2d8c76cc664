/*
 * reflector: keeps a store equal to one resource's state on the server.
 *
 * The client-go loop, on its own thread:
 *   1. list (in pages of page_size, most recent state) and replace the
 *      store's content with the result, reporting each difference;
 *   2. watch from the list's resourceVersion with allowWatchBookmarks and a
 *      random timeoutSeconds in [300, 600); apply each ADDED, MODIFIED and
 *      DELETED event to the store and report it; BOOKMARK events only move
 *      the resourceVersion forward;
 *   3. when the watch ends (server timeout, disconnect, dropped stream),
 *      watch again from the last resourceVersion seen, after a backoff
 *      (800 ms doubling to 30 s, reset by a watch that delivered events or
 *      lasted long enough); when the server says the resourceVersion is
 *      gone (410 Expired or Gone, as an HTTP status or an ERROR event), go
 *      back to 1.
 * List failures back off the same way. An event larger than max_event, or
 * a malformed one, abandons that watch (logged) and the loop carries on.
 *
 * Cached objects are packed with one kube_codec per reflector (see
 * codec.h): the first object's text becomes the deflate dictionary for
 * the rest, which makes a typical ReplicaSet cost a few hundred bytes.
 *
 * Changes are reported through `change(old, new, data)` on the reflector's
 * thread: old NULL for an addition, new NULL for a deletion (old is then the
 * object's last state). Both are borrowed for the call.
 *
 * Stopping interrupts whatever the loop is doing (a list, a watch, a
 * backoff or Retry-After wait) within about 200 ms.
 *
 * Thread-safety: reflector_start/stop/free from one controlling thread;
 * the counters may be read from any thread.
 */
#ifndef KNIT_KUBE_REFLECTOR_H
#define KNIT_KUBE_REFLECTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"
#include "kube/object.h"
#include "kube/store.h"

struct reflector;

struct reflector_options {
	const struct kube_resource *resource;
	const char *ns;		     /* NULL or "": every namespace */
	const char *label_selector;  /* may be NULL */
	const char *field_selector;  /* may be NULL */
	long page_size;		     /* 0: 500 */
	size_t max_event;	     /* 0: 16 MiB */
	kube_transform_fn transform; /* may be NULL; see object.h */
	void *transform_data;
	kube_store_change_fn change; /* may be NULL */
	void *change_data;
	/* Called once per successful (re)list, after the store was replaced. */
	void (*listed)(void *data);
	void *listed_data;
	long backoff_base_ms; /* 0: 800 */
	long backoff_cap_ms;  /* 0: 30000 */
};

/* Counters for tests and metrics (read with atomic loads). */
struct reflector_stats {
	atomic_long lists;     /* successful lists */
	atomic_long relists;   /* lists caused by 410 or an ERROR event */
	atomic_long watches;   /* watch requests started */
	atomic_long events;    /* ADDED/MODIFIED/DELETED applied */
	atomic_long bookmarks; /* BOOKMARK events */
	atomic_long errors;    /* failed lists and watches */
};

/*
 * Creates a reflector feeding `store` (borrowed; both must outlive it).
 * Strings in `opt` are copied. Does not start it.
 */
struct reflector *reflector_new(struct kube_client *c, struct kube_store *store,
				const struct reflector_options *opt);

/* Starts the thread. 0, or ERR_INTERNAL when the thread cannot start. */
int reflector_start(struct reflector *r);

/* Asks the loop to stop and waits for its thread (about 200 ms: lists,
 * watches and waits are all interrupted). Safe to call twice or before
 * start. */
void reflector_stop(struct reflector *r);

/* Stops if needed and frees. NULL is a no-op. */
void reflector_free(struct reflector *r);

/* The resourceVersion of the last list, event or bookmark, as a new heap
 * string ("" before the first list). */
char *reflector_last_rv(struct reflector *r);

const struct reflector_stats *reflector_stats(const struct reflector *r);

#endif

/*
 * informer: a cache of one resource kept in sync by a reflector, with event
 * handlers that turn changes into work.
 *
 * An informer owns a kube_store (indexed by namespace, controller owner and
 * the label keys named in the options) and a reflector feeding it. Handlers
 * registered before informer_start() are called on the reflector's thread
 * for every change, in order: (NULL, new) for an addition, (old, new) for an
 * update, (last, NULL) for a deletion. They must be quick: a controller's
 * handler only reduces the change to a key and adds it to a workqueue.
 * informer_enqueue_self() and informer_enqueue_owner() are such handlers.
 *
 * "Synced" becomes true after the first complete list has been stored and
 * its changes reported; controllers wait for it before their first
 * reconcile, so they never act on a partial view.
 *
 * Thread-safety: the store may be read from any thread at any time;
 * start/stop/free from one controlling thread.
 */
#ifndef KNIT_KUBE_INFORMER_H
#define KNIT_KUBE_INFORMER_H

#include <stdbool.h>

#include "kube/client.h"
#include "kube/reflector.h"
#include "kube/store.h"

struct informer;
struct workqueue;

struct informer_options {
	const struct kube_resource *resource;
	const char *ns;			 /* NULL: every namespace */
	const char *label_selector;	 /* may be NULL */
	const char *field_selector;	 /* may be NULL */
	const char *const *index_labels; /* NULL-terminated, may be NULL */
	kube_transform_fn transform;	 /* may be NULL; see object.h */
	void *transform_data;
	long page_size; /* 0: 500 */
};

/* (old, new) as described above; both borrowed for the call. */
typedef void (*informer_handler_fn)(struct kube_obj *old, struct kube_obj *new,
				    void *data);

/* Creates an informer (not started). `c` must outlive it. */
struct informer *informer_new(struct kube_client *c,
			      const struct informer_options *opt);

/* Registers a handler; only before informer_start(). At most 8. Returns 0
 * or ERR_TOOBIG. */
int informer_add_handler(struct informer *inf, informer_handler_fn fn,
			 void *data);

int informer_start(struct informer *inf);
bool informer_has_synced(struct informer *inf);
/* Waits until synced; 0, or ERR_TIMEOUT after timeout_ms. */
int informer_wait_synced(struct informer *inf, long timeout_ms);
void informer_stop(struct informer *inf);
/* Stops if needed and frees the informer and its store. NULL is a no-op. */
void informer_free(struct informer *inf);

/* The cache (borrowed; lives as long as the informer). */
struct kube_store *informer_store(struct informer *inf);
const struct reflector_stats *informer_stats(const struct informer *inf);

/* Handler: adds the changed object's own key to the workqueue `data`. */
void informer_enqueue_self(struct kube_obj *old, struct kube_obj *new,
			   void *data);

/* Handler data for informer_enqueue_owner(). */
struct informer_owner_target {
	struct workqueue *queue;
	const char *kind; /* the owner kind that is queued, e.g. "Rollout" */
};

/*
 * Handler: adds "ns/owner" for the controller owner of the old and the new
 * object when its kind is target->kind (`data` is a struct
 * informer_owner_target), so a change to a ReplicaSet wakes its Rollout.
 */
void informer_enqueue_owner(struct kube_obj *old, struct kube_obj *new,
			    void *data);

#endif

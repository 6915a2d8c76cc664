/*
 * informer: a store, a reflector feeding it, and the handlers it fans
 * changes out to (see informer.h).
 */
#include "kube/informer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/workqueue.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/mono.h"

#define MAX_HANDLERS 8

struct handler {
	informer_handler_fn fn;
	void *data;
};

struct informer {
	struct kube_store *store;
	struct reflector *reflector;
	struct handler handlers[MAX_HANDLERS];
	int nhandlers;

	pthread_mutex_t lock; /* guards synced; with cond, the waits */
	pthread_cond_t cond;
	bool synced;
};

static void dispatch(struct kube_obj *old, struct kube_obj *new, void *data)
{
	struct informer *inf = data;

	for (int i = 0; i < inf->nhandlers; i++)
		inf->handlers[i].fn(old, new, inf->handlers[i].data);
}

static void listed(void *data)
{
	struct informer *inf = data;

	pthread_mutex_lock(&inf->lock);
	inf->synced = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
}

struct informer *informer_new(struct kube_client *c,
			      const struct informer_options *opt)
{
	struct informer *inf = xcalloc(1, sizeof(*inf));
	struct reflector_options ro = {
		.resource = opt->resource,
		.ns = opt->ns,
		.label_selector = opt->label_selector,
		.field_selector = opt->field_selector,
		.page_size = opt->page_size,
		.transform = opt->transform,
		.transform_data = opt->transform_data,
		.change = dispatch,
		.change_data = inf,
		.listed = listed,
		.listed_data = inf,
	};
	inf->store = kube_store_new(opt->index_labels);
	inf->reflector = reflector_new(c, inf->store, &ro);
	pthread_mutex_init(&inf->lock, NULL);
	mono_cond_init(&inf->cond);
	return inf;
}

int informer_add_handler(struct informer *inf, informer_handler_fn fn,
			 void *data)
{
	if (inf->nhandlers == MAX_HANDLERS)
		return ERR_TOOBIG;
	inf->handlers[inf->nhandlers++] = (struct handler){fn, data};
	return 0;
}

int informer_start(struct informer *inf)
{
	return reflector_start(inf->reflector);
}

bool informer_has_synced(struct informer *inf)
{
	bool synced;

	pthread_mutex_lock(&inf->lock);
	synced = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return synced;
}

int informer_wait_synced(struct informer *inf, long timeout_ms)
{
	struct timespec until = mono_deadline_ms(timeout_ms);
	int rc = 0;

	pthread_mutex_lock(&inf->lock);
	while (!inf->synced && rc == 0)
		rc = pthread_cond_timedwait(&inf->cond, &inf->lock, &until);
	rc = inf->synced ? 0 : ERR_TIMEOUT;
	pthread_mutex_unlock(&inf->lock);
	return rc;
}

void informer_stop(struct informer *inf)
{
	reflector_stop(inf->reflector);
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	reflector_free(inf->reflector);
	kube_store_free(inf->store);
	pthread_mutex_destroy(&inf->lock);
	pthread_cond_destroy(&inf->cond);
	free(inf);
}

struct kube_store *informer_store(struct informer *inf)
{
	return inf->store;
}

const struct reflector_stats *informer_stats(const struct informer *inf)
{
	return reflector_stats(inf->reflector);
}

void informer_enqueue_self(struct kube_obj *old, struct kube_obj *new,
			   void *data)
{
	workqueue_add(data, new ? new->key : old->key);
}

static void enqueue_owner_of(const struct kube_obj *o,
			     const struct informer_owner_target *t)
{
	char *key;

	if (!o || !o->owner_kind || strcmp(o->owner_kind, t->kind) != 0 ||
	    !o->owner_name || !*o->owner_name)
		return;
	key = *o->ns ? xasprintf("%s/%s", o->ns, o->owner_name)
		     : xstrdup(o->owner_name);
	workqueue_add(t->queue, key);
	free(key);
}

void informer_enqueue_owner(struct kube_obj *old, struct kube_obj *new,
			    void *data)
{
	const struct informer_owner_target *t = data;

	enqueue_owner_of(old, t);
	if (new && (!old || !old->owner_uid || !new->owner_uid ||
		    strcmp(old->owner_uid, new->owner_uid) != 0))
		enqueue_owner_of(new, t);
}

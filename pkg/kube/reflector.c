/*
 * reflector: list, then watch, then watch again or relist, forever; see
 * reflector.h for the loop and its guarantees. All state lives on the
 * reflector's own thread except the cancel flag, the counters and the last
 * resourceVersion (guarded by `lock`).
 */
#include "kube/reflector.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/backoff.h"
#include "kube/codec.h"
#include "kube/client_internal.h"
#include "kube/watch.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mono.h"

#define DEFAULT_PAGE	  500
#define DEFAULT_MAX_EVENT (16u << 20)
/* A watch that lasted this long counts as healthy: the next one starts at
 * once and the backoff is reset. */
#define HEALTHY_WATCH_MS 1000

struct reflector {
	struct kube_client *client;
	struct kube_store *store;
	struct reflector_options opt; /* strings point at the copies below */
	char *ns;
	char *label_selector;
	char *field_selector;

	pthread_t thread;
	bool started;
	atomic_int cancel;
	pthread_mutex_t lock; /* guards rv; with cond, the backoff sleeps */
	pthread_cond_t cond;
	char *rv;

	struct kube_codec *codec; /* packs every cached object's text */
	struct backoff backoff;
	unsigned seed;
	struct reflector_stats stats;
};

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

struct reflector *reflector_new(struct kube_client *c, struct kube_store *store,
				const struct reflector_options *opt)
{
	struct reflector *r = xcalloc(1, sizeof(*r));
	r->client = c;
	r->store = store;
	r->opt = *opt;
	r->ns = dup_or_null(opt->ns);
	r->label_selector = dup_or_null(opt->label_selector);
	r->field_selector = dup_or_null(opt->field_selector);
	r->opt.ns = r->ns;
	r->opt.label_selector = r->label_selector;
	r->opt.field_selector = r->field_selector;
	if (r->opt.page_size <= 0)
		r->opt.page_size = DEFAULT_PAGE;
	if (!r->opt.max_event)
		r->opt.max_event = DEFAULT_MAX_EVENT;
	backoff_init(&r->backoff,
		     opt->backoff_base_ms > 0 ? opt->backoff_base_ms : 800,
		     opt->backoff_cap_ms > 0 ? opt->backoff_cap_ms : 30000,
		     1.0);
	r->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)r;
	r->backoff.seed = r->seed;
	r->rv = xstrdup("");
	r->codec = kube_codec_new();
	pthread_mutex_init(&r->lock, NULL);
	mono_cond_init(&r->cond);
	return r;
}

const struct reflector_stats *reflector_stats(const struct reflector *r)
{
	return &r->stats;
}

char *reflector_last_rv(struct reflector *r)
{
	char *rv;

	pthread_mutex_lock(&r->lock);
	rv = xstrdup(r->rv);
	pthread_mutex_unlock(&r->lock);
	return rv;
}

static void set_rv(struct reflector *r, const char *rv)
{
	if (!rv || !*rv)
		return;
	pthread_mutex_lock(&r->lock);
	free(r->rv);
	r->rv = xstrdup(rv);
	pthread_mutex_unlock(&r->lock);
}

/* Sleeps `ms` or until stopped; returns false when stopped. */
static bool pause_ms(struct reflector *r, long ms)
{
	struct timespec until = mono_deadline_ms(ms);

	pthread_mutex_lock(&r->lock);
	while (!atomic_load(&r->cancel) &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0)
		;
	pthread_mutex_unlock(&r->lock);
	return !atomic_load(&r->cancel);
}

static bool back_off(struct reflector *r)
{
	atomic_fetch_add(&r->stats.errors, 1);
	return pause_ms(r, backoff_next(&r->backoff));
}

static void report(struct reflector *r, struct kube_obj *old,
		   struct kube_obj *new)
{
	if (r->opt.change)
		r->opt.change(old, new, r->opt.change_data);
}

/* ---- list ---- */

struct list_ctx {
	struct reflector *r;
	struct kube_obj **objs;
	size_t n, cap;
};

/* List items carry no kind or apiVersion; watch events do. Give list items
 * theirs so cached objects look the same whichever way they arrived. */
static void set_type_meta(json_t *item, const struct kube_resource *res)
{
	if (!json_object_get(item, "kind"))
		json_object_set_new(item, "kind", json_string(res->kind));
	if (!json_object_get(item, "apiVersion")) {
		char *av = *res->group ? xasprintf("%s/%s", res->group,
						   res->version)
				       : xstrdup(res->version);

		json_object_set_new(item, "apiVersion", json_string(av));
		free(av);
	}
}

static int collect_item(json_t *item, void *data)
{
	struct list_ctx *l = data;
	char err[256];
	struct kube_obj *o;

	set_type_meta(item, l->r->opt.resource);
	o = kube_obj_new(item, l->r->opt.transform, l->r->opt.transform_data,
			 l->r->codec, err, sizeof(err));
	if (!o) {
		LOG_WARNF("reflector: skipping a listed item",
			  "resource=%s err=\"%s\"", l->r->opt.resource->plural,
			  err);
		return 0;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->objs = xrealloc(l->objs, l->cap * sizeof(*l->objs));
	}
	l->objs[l->n++] = o;
	return 0;
}

/*
 * A list parses every page into a jansson tree (about ten times the JSON)
 * while the compact cached objects are allocated in between. Once the
 * pages are freed, hand the holes back to the kernel so a cache of 10,000
 * objects does not keep the list's peak resident forever.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KNIT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KNIT_SANITIZED 1
#endif
#endif

static void release_list_memory(void)
{
	/* Not under a sanitizer: its allocator replaces glibc's, whose
	 * malloc_trim() then walks arenas that were never set up (SEGV). */
#if defined(__GLIBC__) && !defined(KNIT_SANITIZED)
	malloc_trim(0);
#endif
}

/*
 * One list without pagination. Used when a continue token expired in the
 * middle of a paginated list (the server compacted its history faster than
 * the pages came), as client-go's pager does: a single full list cannot
 * expire half way.
 */
static int list_whole(struct reflector *r, struct list_ctx *l, char **rv,
		      struct kube_error *err)
{
	struct kube_list_options lo = {
		.label_selector = r->label_selector,
		.field_selector = r->field_selector,
		.cancel = &r->cancel,
	};
	json_t *list = NULL, *item;
	size_t i;
	int rc = kube_list(r->client, r->opt.resource, r->ns, &lo, &list, err);

	if (rc)
		return rc;
	json_array_foreach(json_object_get(list, "items"), i, item)
		collect_item(item, l);
	*rv = xstrdup(
		json_string_value(json_object_get(
			json_object_get(list, "metadata"), "resourceVersion"))
			?: "");
	json_decref(list);
	return 0;
}

static int list_and_replace(struct reflector *r)
{
	struct kube_list_options lo = {
		.label_selector = r->label_selector,
		.field_selector = r->field_selector,
		.limit = r->opt.page_size,
		.cancel = &r->cancel,
	};
	struct kube_error err = KUBE_ERROR_INIT;
	struct list_ctx l = {.r = r};
	char *rv = NULL;
	int rc;

	rc = kube_list_each(r->client, r->opt.resource, r->ns, &lo,
			    collect_item, &l, &rv, &err);
	if (rc == ERR_GONE) {
		kube_obj_array_free(l.objs, l.n);
		l = (struct list_ctx){.r = r};
		free(rv);
		rv = NULL;
		rc = list_whole(r, &l, &rv, &err);
	}
	if (rc) {
		LOG_WARNF("reflector: list failed",
			  "resource=%s err=%s msg=\"%s\"",
			  r->opt.resource->plural, err_name(rc), err.message);
		kube_obj_array_free(l.objs, l.n);
		kube_error_release(&err);
		return rc;
	}
	kube_store_replace(r->store, l.objs, l.n, r->opt.change,
			   r->opt.change_data);
	free(l.objs);
	set_rv(r, rv);
	free(rv);
	release_list_memory();
	atomic_fetch_add(&r->stats.lists, 1);
	if (r->opt.listed)
		r->opt.listed(r->opt.listed_data);
	kube_error_release(&err);
	return 0;
}

/* ---- watch ---- */

struct watch_ctx {
	struct reflector *r;
	struct watch_parser parser;
	long events;
	bool error_event; /* the server sent an ERROR event */
	char err[256];
};

static int apply_upsert(struct reflector *r, json_t *obj)
{
	char err[256];
	struct kube_obj *o, *old;

	o = kube_obj_new(obj, r->opt.transform, r->opt.transform_data, r->codec,
			 err, sizeof(err));
	if (!o) {
		LOG_WARNF("reflector: skipping an event",
			  "resource=%s err=\"%s\"", r->opt.resource->plural,
			  err);
		return 0;
	}
	set_rv(r, o->resource_version);
	old = kube_store_put(r->store, o);
	/* Only this thread writes the store, so o stays alive for the call. */
	report(r, old, o);
	kube_obj_unref(old);
	return 0;
}

static int apply_delete(struct reflector *r, json_t *obj)
{
	char err[256];
	struct kube_obj *last, *old;

	last = kube_obj_new(obj, r->opt.transform, r->opt.transform_data,
			    r->codec, err, sizeof(err));
	if (!last)
		return 0;
	set_rv(r, last->resource_version);
	old = kube_store_remove(r->store, last->key);
	if (old)
		report(r, last, NULL);
	kube_obj_unref(old);
	kube_obj_unref(last);
	return 0;
}

static int on_event(enum watch_type type, json_t *obj, void *data)
{
	struct watch_ctx *w = data;
	struct reflector *r = w->r;
	const char *reason;
	json_t *code;

	switch (type) {
	case WATCH_ADDED:
	case WATCH_MODIFIED:
		w->events++;
		atomic_fetch_add(&r->stats.events, 1);
		return apply_upsert(r, obj);
	case WATCH_DELETED:
		w->events++;
		atomic_fetch_add(&r->stats.events, 1);
		return apply_delete(r, obj);
	case WATCH_BOOKMARK:
		atomic_fetch_add(&r->stats.bookmarks, 1);
		set_rv(r, json_string_value(json_object_get(
				  json_object_get(obj, "metadata"),
				  "resourceVersion")));
		return 0;
	case WATCH_ERROR:
		code = json_object_get(obj, "code");
		reason = json_string_value(json_object_get(obj, "reason"));
		snprintf(w->err, sizeof(w->err), "%s",
			 json_string_value(json_object_get(obj, "message"))
				 ?: "watch ERROR event");
		w->error_event = true;
		/* client-go decides expiry by the reason as well as the code */
		if (json_integer_value(code) == 410 ||
		    (reason &&
		     (!strcmp(reason, "Expired") || !strcmp(reason, "Gone"))))
			return ERR_GONE;
		return ERR_INTERNAL;
	}
	return 0;
}

static int on_bytes(const char *data, size_t len, void *ud)
{
	struct watch_ctx *w = ud;

	if (atomic_load(&w->r->cancel))
		return ERR_TIMEOUT; /* any nonzero value ends the stream */
	return watch_parser_feed(&w->parser, data, len, on_event, w, w->err,
				 sizeof(w->err));
}

static char *watch_path(struct reflector *r, long timeout_s)
{
	struct buf b;
	char *base = kube_path(r->opt.resource, r->ns, NULL, NULL);
	char *rv = reflector_last_rv(r);
	char secs[24];

	snprintf(secs, sizeof(secs), "%ld", timeout_s);
	buf_init(&b, BUF_UNLIMITED);
	buf_puts(&b, base);
	kube_query_add(&b, "allowWatchBookmarks", "true");
	kube_query_add(&b, "fieldSelector", r->field_selector);
	kube_query_add(&b, "labelSelector", r->label_selector);
	kube_query_add(&b, "resourceVersion", rv);
	kube_query_add(&b, "timeoutSeconds", secs);
	kube_query_add(&b, "watch", "true");
	free(base);
	free(rv);
	return buf_detach(&b, NULL);
}

/*
 * Runs one watch. Returns 0 when it ended normally, ERR_GONE when the
 * resourceVersion is gone (relist now), another code on failure. *healthy
 * tells whether it delivered events or lasted long enough to reset the
 * backoff; *relist that the server sent an ERROR event, after which
 * client-go lists again (after a backoff) rather than trusting the stream.
 */
static int watch_once(struct reflector *r, bool *healthy, bool *relist)
{
	struct kube_error err = KUBE_ERROR_INIT;
	struct watch_ctx w = {.r = r};
	long timeout_s = 300 + rand_r(&r->seed) % 300;
	long started = mono_now_ms();
	char *path = watch_path(r, timeout_s);
	int rc;

	watch_parser_init(&w.parser, r->opt.max_event);
	atomic_fetch_add(&r->stats.watches, 1);
	rc = kube_stream(r->client, path, on_bytes, &w, &r->cancel,
			 (timeout_s + 30) * 1000L, &err);
	*healthy = w.events > 0 || mono_now_ms() - started >= HEALTHY_WATCH_MS;
	*relist = w.error_event;
	if (atomic_load(&r->cancel))
		rc = 0;
	else if (rc && rc != ERR_GONE)
		LOG_INFOF("reflector: watch ended",
			  "resource=%s err=%s msg=\"%s\"",
			  r->opt.resource->plural, err_name(rc),
			  *w.err ? w.err : err.message);
	watch_parser_release(&w.parser);
	kube_error_release(&err);
	free(path);
	return rc;
}

static void *run(void *arg)
{
	struct reflector *r = arg;
	bool need_list = true;

	while (!atomic_load(&r->cancel)) {
		bool healthy = false, relist = false;
		int rc;

		if (need_list) {
			if (list_and_replace(r)) {
				if (!back_off(r))
					break;
				continue;
			}
			need_list = false;
			backoff_reset(&r->backoff);
		}
		rc = watch_once(r, &healthy, &relist);
		if (rc == ERR_GONE) {
			atomic_fetch_add(&r->stats.relists, 1);
			need_list = true;
			continue;
		}
		/* A healthy watch that the server ended or dropped (closing
		 * the connection mid-stream, as proxies and apiservers do)
		 * is simply resumed, as client-go's watchHandler does. */
		if (healthy && !relist &&
		    (!rc || rc == ERR_TRANSPORT || rc == ERR_TIMEOUT)) {
			backoff_reset(&r->backoff);
			continue;
		}
		if (relist) {
			atomic_fetch_add(&r->stats.relists, 1);
			need_list = true;
		}
		if (!back_off(r))
			break;
	}
	return NULL;
}

int reflector_start(struct reflector *r)
{
	if (r->started)
		return 0;
	atomic_store(&r->cancel, 0);
	if (pthread_create(&r->thread, NULL, run, r))
		return ERR_INTERNAL;
	r->started = true;
	return 0;
}

void reflector_stop(struct reflector *r)
{
	if (!r->started)
		return;
	pthread_mutex_lock(&r->lock);
	atomic_store(&r->cancel, 1);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->started = false;
}

void reflector_free(struct reflector *r)
{
	if (!r)
		return;
	reflector_stop(r);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->ns);
	free(r->label_selector);
	free(r->field_selector);
	free(r->rv);
	kube_codec_unref(r->codec);
	free(r);
}

/*
 * events: the event correlator (pure: aggregation, repeat counting, spam
 * buckets, each in a bounded LRU cache) and the asynchronous recorder that
 * writes its plans to the API server from one worker thread. See events.h.
 */
#include "kube/events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/client.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/mono.h"
#include "util/rfc3339.h"

#define MAX_MESSAGE	1024
#define COMBINED_PREFIX "(combined from similar events): "

/* ---- A small LRU cache of owned values ---- */

struct lru_node {
	struct lru_node *prev, *next;
	char *key;
	void *value;
};

struct lru {
	struct hashmap map;   /* key -> struct lru_node */
	struct lru_node head; /* sentinel: head.next is the most recent */
	size_t max;
	void (*free_value)(void *value);
};

static void lru_init(struct lru *l, size_t max, void (*free_value)(void *))
{
	hashmap_init(&l->map);
	l->head.next = l->head.prev = &l->head;
	l->max = max;
	l->free_value = free_value;
}

static void node_unlink(struct lru_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

static void node_push_front(struct lru *l, struct lru_node *n)
{
	n->next = l->head.next;
	n->prev = &l->head;
	l->head.next->prev = n;
	l->head.next = n;
}

static void node_free(struct lru *l, struct lru_node *n)
{
	l->free_value(n->value);
	free(n->key);
	free(n);
}

/* Returns the value under key (borrowed) and marks it most recent. */
static void *lru_get(struct lru *l, const char *key)
{
	struct lru_node *n = hashmap_get(&l->map, key);

	if (!n)
		return NULL;
	node_unlink(n);
	node_push_front(l, n);
	return n->value;
}

/* Stores value (taking ownership) under key, freeing a value it replaces
 * and evicting the least recent entry beyond max. */
static void lru_put(struct lru *l, const char *key, void *value)
{
	struct lru_node *n = hashmap_get(&l->map, key);

	if (n) {
		if (n->value != value)
			l->free_value(n->value);
		n->value = value;
		node_unlink(n);
		node_push_front(l, n);
		return;
	}
	n = xcalloc(1, sizeof(*n));
	n->key = xstrdup(key);
	n->value = value;
	hashmap_put(&l->map, key, n);
	node_push_front(l, n);
	if (l->map.size > l->max) {
		struct lru_node *old = l->head.prev;
		node_unlink(old);
		hashmap_remove(&l->map, old->key);
		node_free(l, old);
	}
}

static void lru_release(struct lru *l)
{
	struct lru_node *n = l->head.next;

	while (n != &l->head) {
		struct lru_node *next = n->next;
		node_free(l, n);
		n = next;
	}
	hashmap_release(&l->map);
	l->head.next = l->head.prev = &l->head;
}

/* ---- Drafts and plans ---- */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void event_draft_init(struct event_draft *d, const char *component,
		      const char *host, const struct event_ref *involved,
		      const char *type, const char *reason, const char *message)
{
	d->component = dup_or_null(component);
	d->host = dup_or_null(host);
	d->api_version = dup_or_null(involved->api_version);
	d->kind = dup_or_null(involved->kind);
	d->ns = involved->ns && *involved->ns ? xstrdup(involved->ns) : NULL;
	d->name = dup_or_null(involved->name);
	d->uid = dup_or_null(involved->uid);
	d->resource_version = dup_or_null(involved->resource_version);
	d->field_path = dup_or_null(involved->field_path);
	d->type = dup_or_null(type);
	d->reason = dup_or_null(reason);
	d->message = dup_or_null(message);
}

void event_draft_release(struct event_draft *d)
{
	char **fields[] = {
		&d->component,	&d->host, &d->api_version, &d->kind,
		&d->ns,		&d->name, &d->uid,	   &d->resource_version,
		&d->field_path, &d->type, &d->reason,	   &d->message};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

void event_plan_release(struct event_plan *p)
{
	free(p->name);
	free(p->message);
	memset(p, 0, sizeof(*p));
}

const char *event_namespace(const struct event_draft *d)
{
	return d->ns ? d->ns : "default";
}

/* Joins the fields with a unit separator so keys cannot collide. */
static char *join_key(const char *const *parts, size_t n)
{
	size_t len = 1;

	for (size_t i = 0; i < n; i++)
		len += (parts[i] ? strlen(parts[i]) : 0) + 1;
	char *key = xmalloc(len), *p = key;
	for (size_t i = 0; i < n; i++) {
		size_t l = parts[i] ? strlen(parts[i]) : 0;
		memcpy(p, parts[i] ? parts[i] : "", l);
		p += l;
		*p++ = '\x1f';
	}
	*p = '\0';
	return key;
}

static char *spam_key(const struct event_draft *d)
{
	const char *parts[] = {d->component, d->host, d->kind,	     d->ns,
			       d->name,	     d->uid,  d->api_version};
	return join_key(parts, sizeof(parts) / sizeof(parts[0]));
}

static char *aggregate_key(const struct event_draft *d)
{
	const char *parts[] = {d->component,   d->host, d->kind,
			       d->ns,	       d->name, d->uid,
			       d->api_version, d->type, d->reason};
	return join_key(parts, sizeof(parts) / sizeof(parts[0]));
}

static char *event_key(const struct event_draft *d)
{
	const char *parts[] = {d->component, d->host,	     d->kind,
			       d->ns,	     d->name,	     d->field_path,
			       d->uid,	     d->api_version, d->type,
			       d->reason,    d->message};
	return join_key(parts, sizeof(parts) / sizeof(parts[0]));
}

/* ---- Correlator ---- */

struct aggregate_record {
	char **messages; /* distinct messages, at most aggregate_max */
	int n;
	int64_t last_ns;
};

struct repeat_record {
	char *name;
	long count;
	int64_t first_ns;
};

struct spam_record {
	double tokens;
	int64_t last_ns;
};

struct event_correlator {
	struct event_correlator_options o;
	struct lru aggregates, repeats, spam;
	int64_t last_name_ns; /* keeps generated names unique */
};

static void aggregate_free(void *v)
{
	struct aggregate_record *a = v;

	for (int i = 0; i < a->n; i++)
		free(a->messages[i]);
	free(a->messages);
	free(a);
}

static void repeat_free(void *v)
{
	struct repeat_record *r = v;

	free(r->name);
	free(r);
}

struct event_correlator *
event_correlator_new(const struct event_correlator_options *opt)
{
	struct event_correlator *c = xcalloc(1, sizeof(*c));

	if (opt)
		c->o = *opt;
	if (c->o.cache_max == 0)
		c->o.cache_max = 4096;
	if (c->o.spam_burst == 0)
		c->o.spam_burst = 25;
	if (c->o.spam_refill_s <= 0)
		c->o.spam_refill_s = 300;
	if (c->o.aggregate_max <= 0)
		c->o.aggregate_max = 10;
	if (c->o.aggregate_interval_s <= 0)
		c->o.aggregate_interval_s = 600;
	lru_init(&c->aggregates, c->o.cache_max, aggregate_free);
	lru_init(&c->repeats, c->o.cache_max, repeat_free);
	lru_init(&c->spam, c->o.cache_max, free);
	return c;
}

void event_correlator_free(struct event_correlator *c)
{
	if (!c)
		return;
	lru_release(&c->aggregates);
	lru_release(&c->repeats);
	lru_release(&c->spam);
	free(c);
}

void event_correlator_sizes(const struct event_correlator *c, size_t *aggregate,
			    size_t *repeats, size_t *spam)
{
	*aggregate = c->aggregates.map.size;
	*repeats = c->repeats.map.size;
	*spam = c->spam.map.size;
}

/*
 * Aggregation: remembers the distinct messages per source/object/type/
 * reason. Returns true (and sets *key to the aggregate key) when this
 * event is the aggregate_max-th distinct one within the interval.
 */
static bool aggregate(struct event_correlator *c, const struct event_draft *d,
		      int64_t now_ns, char **key)
{
	char *akey = aggregate_key(d);
	const char *msg = d->message ? d->message : "";
	struct aggregate_record *a = lru_get(&c->aggregates, akey);
	double interval_ns = c->o.aggregate_interval_s * 1e9;
	int i;

	if (!a || (double)(now_ns - a->last_ns) > interval_ns) {
		a = xcalloc(1, sizeof(*a));
		a->messages =
			xcalloc((size_t)c->o.aggregate_max, sizeof(char *));
		lru_put(&c->aggregates, akey, a);
	}
	a->last_ns = now_ns;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->messages[i], msg) == 0)
			break;
	if (i == a->n)
		a->messages[a->n++] = xstrdup(msg);
	if (a->n < c->o.aggregate_max) {
		free(akey);
		return false;
	}
	/* keep the set below the limit: forget this message */
	free(a->messages[i]);
	a->messages[i] = a->messages[--a->n];
	*key = akey;
	return true;
}

static bool spam_accept(struct event_correlator *c, const struct event_draft *d,
			int64_t now_ns)
{
	char *key;
	struct spam_record *s;
	bool ok;

	if (c->o.spam_burst < 0)
		return true;
	key = spam_key(d);
	s = lru_get(&c->spam, key);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->tokens = c->o.spam_burst;
		s->last_ns = now_ns;
		lru_put(&c->spam, key, s);
	}
	if (now_ns > s->last_ns) {
		s->tokens += (double)(now_ns - s->last_ns) / 1e9 /
			     c->o.spam_refill_s;
		if (s->tokens > c->o.spam_burst)
			s->tokens = c->o.spam_burst;
		s->last_ns = now_ns;
	}
	ok = s->tokens >= 1.0;
	if (ok)
		s->tokens -= 1.0;
	free(key);
	return ok;
}

static char *new_name(struct event_correlator *c, const struct event_draft *d,
		      int64_t now_ns)
{
	int64_t ns = now_ns > c->last_name_ns ? now_ns : c->last_name_ns + 1;

	c->last_name_ns = ns;
	return xasprintf("%s.%llx", d->name ? d->name : "",
			 (unsigned long long)ns);
}

void event_correlate(struct event_correlator *c, const struct event_draft *d,
		     int64_t now_ns, struct event_plan *plan)
{
	char *key = NULL;
	bool combined = aggregate(c, d, now_ns, &key);
	struct repeat_record *r;

	memset(plan, 0, sizeof(*plan));
	if (combined)
		plan->message = xasprintf(COMBINED_PREFIX "%s",
					  d->message ? d->message : "");
	else
		plan->message = xstrdup(d->message ? d->message : "");
	if (!key)
		key = event_key(d);
	plan->last_ns = now_ns;
	r = lru_get(&c->repeats, key);
	if (r) {
		plan->action = EVENT_PATCH;
		r->count++;
	} else {
		plan->action = EVENT_CREATE;
		r = xcalloc(1, sizeof(*r));
		r->name = new_name(c, d, now_ns);
		r->count = 1;
		r->first_ns = now_ns;
		lru_put(&c->repeats, key, r);
	}
	plan->name = xstrdup(r->name);
	plan->count = r->count;
	plan->first_ns = r->first_ns;
	if (!spam_accept(c, d, now_ns))
		plan->action = EVENT_SKIP;
	free(key);
}

/* ---- Event objects ---- */

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static json_t *timestamp(int64_t ns)
{
	char buf[32];
	int64_t secs = ns / 1000000000; /* Event timestamps are whole seconds */

	rfc3339_format((double)secs, buf, sizeof(buf));
	return json_string(buf);
}

json_t *event_build(const struct event_draft *d, const struct event_plan *p)
{
	json_t *ev = json_object(), *meta = json_object(), *inv = json_object(),
	       *src = json_object();

	json_object_set_new(ev, "apiVersion", json_string("v1"));
	json_object_set_new(ev, "kind", json_string("Event"));
	set_str(meta, "name", p->name);
	set_str(meta, "namespace", event_namespace(d));
	json_object_set_new(ev, "metadata", meta);
	set_str(inv, "apiVersion", d->api_version);
	set_str(inv, "kind", d->kind);
	set_str(inv, "namespace", d->ns);
	set_str(inv, "name", d->name);
	set_str(inv, "uid", d->uid);
	set_str(inv, "resourceVersion", d->resource_version);
	set_str(inv, "fieldPath", d->field_path);
	json_object_set_new(ev, "involvedObject", inv);
	set_str(ev, "reason", d->reason);
	set_str(ev, "message", p->message);
	set_str(src, "component", d->component);
	set_str(src, "host", d->host);
	json_object_set_new(ev, "source", src);
	json_object_set_new(ev, "firstTimestamp", timestamp(p->first_ns));
	json_object_set_new(ev, "lastTimestamp", timestamp(p->last_ns));
	json_object_set_new(ev, "count", json_integer(p->count));
	set_str(ev, "type", d->type);
	set_str(ev, "reportingComponent", d->component);
	json_object_set_new(ev, "reportingInstance",
			    json_string(d->host ? d->host : ""));
	return ev;
}

json_t *event_build_patch(const struct event_plan *p)
{
	json_t *patch = json_object();

	json_object_set_new(patch, "count", json_integer(p->count));
	json_object_set_new(patch, "lastTimestamp", timestamp(p->last_ns));
	set_str(patch, "message", p->message);
	return patch;
}

/* ---- Recorder ---- */

struct queued {
	struct queued *next;
	struct event_draft d;
	int64_t ns;
};

struct event_recorder {
	struct kube_client *client;
	struct event_sink sink;
	char *component, *host;
	size_t queue_max;
	int max_tries;
	long retry_sleep_ms;
	struct event_correlator *corr; /* worker thread only */
	bool merge_only;	       /* worker: server refused SMP */
	unsigned int seed;	       /* worker */

	pthread_mutex_t mu;
	pthread_cond_t work; /* queue non-empty or stop */
	pthread_cond_t idle; /* queue empty and nothing in flight */
	struct queued *head, *tail;
	size_t len;
	bool busy, stop;
	struct event_recorder_stats stats;
	pthread_t thread;
};

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void count(struct event_recorder *r, unsigned long *field)
{
	pthread_mutex_lock(&r->mu);
	(*field)++;
	pthread_mutex_unlock(&r->mu);
}

static bool retryable(int rc)
{
	return rc == ERR_TRANSPORT || rc == ERR_TIMEOUT || rc == ERR_INTERNAL ||
	       rc == ERR_TOOMANY;
}

static int client_create(const char *ns, json_t *event, void *data)
{
	struct event_recorder *r = data;
	struct kube_error err = KUBE_ERROR_INIT;
	int rc = kube_create(r->client, &KUBE_EVENTS, ns, event, NULL, NULL,
			     &err);

	if (rc)
		LOG_WARNF("creating event failed", "ns=%s err=%s msg=\"%s\"",
			  ns, err_name(rc), err.message);
	kube_error_release(&err);
	return rc;
}

static int client_patch(const char *ns, const char *name, json_t *patch,
			void *data)
{
	struct event_recorder *r = data;
	struct kube_error err = KUBE_ERROR_INIT;
	int rc = kube_patch(r->client, &KUBE_EVENTS, ns, name, NULL,
			    r->merge_only ? KUBE_PATCH_MERGE
					  : KUBE_PATCH_STRATEGIC,
			    patch, NULL, NULL, &err);

	if (rc == ERR_UNSUPPORTED && !r->merge_only) {
		/* a server without strategic merge for events */
		r->merge_only = true;
		kube_error_release(&err);
		rc = kube_patch(r->client, &KUBE_EVENTS, ns, name, NULL,
				KUBE_PATCH_MERGE, patch, NULL, NULL, &err);
	}
	if (rc && rc != ERR_NOTFOUND)
		LOG_WARNF("patching event failed",
			  "object=%s/%s err=%s msg=\"%s\"", ns, name,
			  err_name(rc), err.message);
	kube_error_release(&err);
	return rc;
}

/* One attempt at writing the plan: PATCH for repeats (POST on 404). */
static int write_once(struct event_recorder *r, const struct event_draft *d,
		      const struct event_plan *p)
{
	const char *ns = event_namespace(d);
	int rc = ERR_NOTFOUND;

	if (p->action == EVENT_PATCH) {
		json_t *patch = event_build_patch(p);
		rc = r->sink.patch(ns, p->name, patch, r->sink.data);
		json_decref(patch);
	}
	if (rc == ERR_NOTFOUND) {
		json_t *ev = event_build(d, p);
		rc = r->sink.create(ns, ev, r->sink.data);
		json_decref(ev);
	}
	return rc;
}

/* Sleeps up to ms unless stopped; returns true when stopping. */
static bool sleep_unless_stopped(struct event_recorder *r, long ms)
{
	struct timespec until = mono_deadline_ms(ms);

	pthread_mutex_lock(&r->mu);
	while (!r->stop)
		if (pthread_cond_timedwait(&r->work, &r->mu, &until) != 0)
			break;
	bool s = r->stop;
	pthread_mutex_unlock(&r->mu);
	return s;
}

static void write_with_retries(struct event_recorder *r,
			       const struct event_draft *d,
			       const struct event_plan *p)
{
	for (int tries = 1;; tries++) {
		int rc = write_once(r, d, p);
		if (rc == 0) {
			count(r, &r->stats.written);
			return;
		}
		if (!retryable(rc) || tries >= r->max_tries) {
			count(r, &r->stats.failed);
			return;
		}
		long ms = r->retry_sleep_ms;
		if (tries == 1) /* spread the first retry as client-go does */
			ms = (long)((double)ms * ((double)rand_r(&r->seed) /
						  ((double)RAND_MAX + 1.0)));
		if (sleep_unless_stopped(r, ms)) {
			count(r, &r->stats.failed);
			return;
		}
	}
}

static void process(struct event_recorder *r, struct queued *q)
{
	struct event_plan plan;

	event_correlate(r->corr, &q->d, q->ns, &plan);
	if (plan.action == EVENT_SKIP)
		count(r, &r->stats.spam_filtered);
	else
		write_with_retries(r, &q->d, &plan);
	event_plan_release(&plan);
}

static void free_queued(struct queued *q)
{
	event_draft_release(&q->d);
	free(q);
}

static void *worker(void *arg)
{
	struct event_recorder *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && !r->head)
			pthread_cond_wait(&r->work, &r->mu);
		if (r->stop)
			break;
		struct queued *q = r->head;
		r->head = q->next;
		if (!r->head)
			r->tail = NULL;
		r->len--;
		r->busy = true;
		pthread_mutex_unlock(&r->mu);
		process(r, q);
		free_queued(q);
		pthread_mutex_lock(&r->mu);
		r->busy = false;
		if (!r->head)
			pthread_cond_broadcast(&r->idle);
	}
	pthread_cond_broadcast(&r->idle);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct event_recorder *
event_recorder_new(struct kube_client *c,
		   const struct event_recorder_options *o)
{
	struct event_recorder *r = xcalloc(1, sizeof(*r));
	struct event_correlator_options co = {0};

	r->client = c;
	if (o && o->sink) {
		r->sink = *o->sink;
	} else {
		r->sink.create = client_create;
		r->sink.patch = client_patch;
		r->sink.data = r;
	}
	r->component = xstrdup(o && o->component ? o->component : "knit");
	r->host = dup_or_null(o ? o->host : NULL);
	r->queue_max = o && o->queue_max ? o->queue_max : 1000;
	r->max_tries = o && o->max_tries > 0 ? o->max_tries : 12;
	r->retry_sleep_ms =
		o && o->retry_sleep_ms > 0 ? o->retry_sleep_ms : 10000;
	if (o) {
		co.cache_max = o->cache_max;
		co.spam_burst = o->spam_burst;
		co.spam_refill_s = o->spam_refill_s;
	}
	r->corr = event_correlator_new(&co);
	r->seed = (unsigned int)wall_ns();
	pthread_mutex_init(&r->mu, NULL);
	mono_cond_init(&r->work);
	mono_cond_init(&r->idle);
	if (pthread_create(&r->thread, NULL, worker, r) != 0) {
		LOG_ERRORF("cannot start the event recorder", "%s", "");
		abort();
	}
	return r;
}

/* Cuts s to at most MAX_MESSAGE bytes on a UTF-8 character boundary. */
static void truncate_message(char *s)
{
	size_t n = strlen(s);

	if (n <= MAX_MESSAGE)
		return;
	n = MAX_MESSAGE;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	s[n] = '\0';
}

void event_record(struct event_recorder *r, const struct event_ref *involved,
		  const char *type, const char *reason, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	struct queued *q;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	msg = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	if (vsnprintf(msg, (size_t)n + 1, fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	truncate_message(msg);

	pthread_mutex_lock(&r->mu);
	if (r->len >= r->queue_max || r->stop) {
		r->stats.dropped++;
		pthread_mutex_unlock(&r->mu);
		free(msg);
		return;
	}
	pthread_mutex_unlock(&r->mu);

	q = xcalloc(1, sizeof(*q));
	event_draft_init(&q->d, r->component, r->host, involved, type, reason,
			 msg);
	q->ns = wall_ns();
	free(msg);

	pthread_mutex_lock(&r->mu);
	if (r->len >= r->queue_max || r->stop) {
		r->stats.dropped++;
		pthread_mutex_unlock(&r->mu);
		free_queued(q);
		return;
	}
	if (r->tail)
		r->tail->next = q;
	else
		r->head = q;
	r->tail = q;
	r->len++;
	r->stats.recorded++;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
}

int event_recorder_flush(struct event_recorder *r, long timeout_ms)
{
	struct timespec until = mono_deadline_ms(timeout_ms);
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	while ((r->head || r->busy) && !r->stop)
		if (pthread_cond_timedwait(&r->idle, &r->mu, &until) != 0) {
			rc = (r->head || r->busy) ? ERR_TIMEOUT : 0;
			break;
		}
	if (r->stop && (r->head || r->busy))
		rc = ERR_TIMEOUT;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void event_recorder_stats(struct event_recorder *r,
			  struct event_recorder_stats *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->stats;
	pthread_mutex_unlock(&r->mu);
}

void event_recorder_free(struct event_recorder *r)
{
	if (!r)
		return;
	event_recorder_flush(r, 2000);
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	while (r->head) {
		struct queued *q = r->head;
		r->head = q->next;
		free_queued(q);
	}
	event_correlator_free(r->corr);
	pthread_cond_destroy(&r->work);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->mu);
	free(r->component);
	free(r->host);
	free(r);
}

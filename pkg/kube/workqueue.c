/*
 * workqueue: client-go style work queue of string keys (see workqueue.h).
 *
 * State, all under one mutex:
 *   ring        FIFO of keys ready to hand out (each key at most once);
 *   dirty       keys that need processing: everything in the ring, plus
 *               keys added again while a worker holds them;
 *   processing  keys handed out and not yet done;
 *   heap        delayed keys, a binary min-heap on (deadline, seq), with
 *   waiting     key -> heap entry, so each key waits at most once;
 *   failures    key -> failure count (stored as the pointer value, >= 1);
 *   bucket      the overall token bucket of rate-limited adds (ratelimit.h;
 *               its own mutex is a leaf lock, taken inside ours).
 * Getters move due delayed keys into the ring themselves and otherwise
 * sleep on `ready` until the earliest deadline; `idle` is signalled when
 * the processing set empties, for workqueue_shutdown_drain().
 */
#include "kube/workqueue.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "kube/ratelimit.h"
#include "util/alloc.h"
#include "util/hashmap.h"
#include "util/mono.h"

#define NS_PER_MS  1000000LL
#define NS_PER_SEC 1000000000LL
/* Longest delay honoured (about 30 years); longer ones are clamped. */
#define MAX_DELAY_MS 1000000000000LL

struct delayed {
	char *key;
	int64_t deadline_ns;
	uint64_t seq; /* insertion order, breaks deadline ties */
	size_t idx;   /* position in the heap */
};

struct workqueue {
	pthread_mutex_t mu;
	pthread_cond_t ready; /* a key may be ready, or shutdown */
	pthread_cond_t idle;  /* processing set became empty */
	bool shutting_down;

	char **ring;
	size_t ring_cap, ring_head, ring_len;
	struct hashmap dirty;
	struct hashmap processing;

	struct delayed **heap;
	size_t heap_len, heap_cap;
	uint64_t seq;
	struct hashmap waiting;

	struct hashmap failures;
	long base_ms, max_ms;
	struct ratelimit bucket;
};

/* Value stored in the dirty and processing sets (any non-NULL pointer). */
static char present;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* ---- ready ring ---- */

static void ring_push(struct workqueue *q, char *key)
{
	if (q->ring_len == q->ring_cap) {
		size_t cap = q->ring_cap ? q->ring_cap * 2 : 16;
		char **ring = xmalloc(cap * sizeof(*ring));

		for (size_t i = 0; i < q->ring_len; i++)
			ring[i] = q->ring[(q->ring_head + i) % q->ring_cap];
		free(q->ring);
		q->ring = ring;
		q->ring_cap = cap;
		q->ring_head = 0;
	}
	q->ring[(q->ring_head + q->ring_len) % q->ring_cap] = key;
	q->ring_len++;
}

static char *ring_pop(struct workqueue *q)
{
	char *key = q->ring[q->ring_head];

	q->ring_head = (q->ring_head + 1) % q->ring_cap;
	q->ring_len--;
	return key;
}

/* ---- delay heap ---- */

static bool heap_less(const struct delayed *a, const struct delayed *b)
{
	if (a->deadline_ns != b->deadline_ns)
		return a->deadline_ns < b->deadline_ns;
	return a->seq < b->seq;
}

static void heap_swap(struct workqueue *q, size_t i, size_t j)
{
	struct delayed *t = q->heap[i];

	q->heap[i] = q->heap[j];
	q->heap[j] = t;
	q->heap[i]->idx = i;
	q->heap[j]->idx = j;
}

static void heap_up(struct workqueue *q, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!heap_less(q->heap[i], q->heap[parent]))
			break;
		heap_swap(q, i, parent);
		i = parent;
	}
}

static void heap_down(struct workqueue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->heap_len && heap_less(q->heap[l], q->heap[m]))
			m = l;
		if (r < q->heap_len && heap_less(q->heap[r], q->heap[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(q, i, m);
		i = m;
	}
}

static void heap_push(struct workqueue *q, struct delayed *d)
{
	if (q->heap_len == q->heap_cap) {
		q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 16;
		q->heap = xrealloc(q->heap, q->heap_cap * sizeof(*q->heap));
	}
	d->idx = q->heap_len;
	q->heap[q->heap_len++] = d;
	heap_up(q, d->idx);
}

static struct delayed *heap_pop(struct workqueue *q)
{
	struct delayed *top = q->heap[0];

	q->heap_len--;
	if (q->heap_len > 0) {
		q->heap[0] = q->heap[q->heap_len];
		q->heap[0]->idx = 0;
		heap_down(q, 0);
	}
	return top;
}

/* ---- operations with q->mu held ---- */

static void add_locked(struct workqueue *q, const char *key)
{
	if (hashmap_get(&q->dirty, key))
		return;
	hashmap_put(&q->dirty, key, &present);
	if (hashmap_get(&q->processing, key))
		return; /* queued again by workqueue_done() */
	ring_push(q, xstrdup(key));
	pthread_cond_signal(&q->ready);
}

/* Moves every delayed key whose deadline has passed into the ring. */
static void promote_due(struct workqueue *q, int64_t now)
{
	while (q->heap_len > 0 && q->heap[0]->deadline_ns <= now) {
		struct delayed *d = heap_pop(q);

		hashmap_remove(&q->waiting, d->key);
		add_locked(q, d->key);
		free(d->key);
		free(d);
	}
}

static void add_after_locked(struct workqueue *q, const char *key,
			     long delay_ms)
{
	struct delayed *d;
	int64_t deadline;

	if (delay_ms <= 0) {
		add_locked(q, key);
		return;
	}
	if (delay_ms > MAX_DELAY_MS)
		delay_ms = MAX_DELAY_MS;
	deadline = now_ns() + (int64_t)delay_ms * NS_PER_MS;
	d = hashmap_get(&q->waiting, key);
	if (d) {
		if (deadline >= d->deadline_ns)
			return; /* the earlier deadline wins */
		d->deadline_ns = deadline;
		heap_up(q, d->idx);
	} else {
		d = xmalloc(sizeof(*d));
		d->key = xstrdup(key);
		d->deadline_ns = deadline;
		d->seq = q->seq++;
		heap_push(q, d);
		hashmap_put(&q->waiting, key, d);
	}
	if (d->idx == 0) /* earliest deadline changed: sleepers recompute */
		pthread_cond_broadcast(&q->ready);
}

/* Takes one token from the overall bucket; returns the wait it implies. */
static long bucket_reserve_ms(struct workqueue *q)
{
	double wait_s = ratelimit_reserve(&q->bucket);

	if (wait_s <= 0)
		return 0;
	if (wait_s * 1000.0 >= (double)MAX_DELAY_MS)
		return MAX_DELAY_MS;
	return (long)(wait_s * 1000.0) + 1; /* round up: never early */
}

/* ---- public API ---- */

struct workqueue *workqueue_new(const struct workqueue_opts *opts)
{
	struct workqueue *q = xcalloc(1, sizeof(*q));
	double qps = WORKQUEUE_DEFAULT_QPS;
	int burst = WORKQUEUE_DEFAULT_BURST;

	pthread_mutex_init(&q->mu, NULL);
	mono_cond_init(&q->ready);
	mono_cond_init(&q->idle);
	hashmap_init(&q->dirty);
	hashmap_init(&q->processing);
	hashmap_init(&q->waiting);
	hashmap_init(&q->failures);

	q->base_ms = WORKQUEUE_DEFAULT_BASE_DELAY_MS;
	q->max_ms = WORKQUEUE_DEFAULT_MAX_DELAY_MS;
	if (opts && opts->base_delay_ms > 0)
		q->base_ms = opts->base_delay_ms;
	if (opts && opts->max_delay_ms > 0)
		q->max_ms = opts->max_delay_ms;
	if (opts && opts->qps != 0)
		qps = opts->qps; /* negative: no overall limit */
	if (opts && opts->burst > 0)
		burst = opts->burst;
	if (q->max_ms < q->base_ms)
		q->max_ms = q->base_ms;
	ratelimit_init(&q->bucket, qps, burst);
	return q;
}

void workqueue_free(struct workqueue *q)
{
	if (!q)
		return;
	while (q->ring_len > 0)
		free(ring_pop(q));
	free(q->ring);
	for (size_t i = 0; i < q->heap_len; i++) {
		free(q->heap[i]->key);
		free(q->heap[i]);
	}
	free(q->heap);
	hashmap_release(&q->dirty);
	hashmap_release(&q->processing);
	hashmap_release(&q->waiting);
	hashmap_release(&q->failures);
	ratelimit_release(&q->bucket);
	pthread_cond_destroy(&q->ready);
	pthread_cond_destroy(&q->idle);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

void workqueue_add(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	if (!q->shutting_down)
		add_locked(q, key);
	pthread_mutex_unlock(&q->mu);
}

void workqueue_add_after(struct workqueue *q, const char *key, long delay_ms)
{
	pthread_mutex_lock(&q->mu);
	if (!q->shutting_down)
		add_after_locked(q, key, delay_ms);
	pthread_mutex_unlock(&q->mu);
}

long workqueue_failure_delay_ms(long base_ms, long max_ms, unsigned failures)
{
	long delay = base_ms;

	for (unsigned i = 0; i < failures; i++) {
		if (delay > max_ms / 2)
			return max_ms;
		delay *= 2;
	}
	return delay < max_ms ? delay : max_ms;
}

void workqueue_add_rate_limited(struct workqueue *q, const char *key)
{
	uintptr_t failures;
	long delay, wait;

	pthread_mutex_lock(&q->mu);
	if (q->shutting_down)
		goto out;
	failures = (uintptr_t)hashmap_get(&q->failures, key);
	/* Stored as count >= 1; absent (NULL) means no failures. */
	delay = workqueue_failure_delay_ms(q->base_ms, q->max_ms,
					   (unsigned)failures);
	if (failures < UINT_MAX)
		hashmap_put(&q->failures, key, (void *)(failures + 1));
	wait = bucket_reserve_ms(q);
	add_after_locked(q, key, wait > delay ? wait : delay);
out:
	pthread_mutex_unlock(&q->mu);
}

void workqueue_forget(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	hashmap_remove(&q->failures, key);
	pthread_mutex_unlock(&q->mu);
}

unsigned workqueue_num_requeues(struct workqueue *q, const char *key)
{
	uintptr_t failures;

	pthread_mutex_lock(&q->mu);
	failures = (uintptr_t)hashmap_get(&q->failures, key);
	pthread_mutex_unlock(&q->mu);
	return (unsigned)failures;
}

/* Sleeps on `ready` until signalled or until `until_ns` (-1: no limit). */
static void wait_until(struct workqueue *q, int64_t until_ns)
{
	struct timespec ts;

	if (until_ns < 0) {
		pthread_cond_wait(&q->ready, &q->mu);
		return;
	}
	ts.tv_sec = (time_t)(until_ns / NS_PER_SEC);
	ts.tv_nsec = (long)(until_ns % NS_PER_SEC);
	pthread_cond_timedwait(&q->ready, &q->mu, &ts);
}

/* The getter: `give_up_ns` is an absolute deadline, or -1 to block. */
static char *get_until(struct workqueue *q, int64_t give_up_ns)
{
	char *key = NULL;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		int64_t now = now_ns(), wake = -1;

		if (q->shutting_down)
			break;
		promote_due(q, now);
		if (q->ring_len > 0) {
			key = ring_pop(q);
			hashmap_put(&q->processing, key, &present);
			hashmap_remove(&q->dirty, key);
			break;
		}
		if (give_up_ns >= 0 && now >= give_up_ns)
			break;
		if (q->heap_len > 0)
			wake = q->heap[0]->deadline_ns;
		if (give_up_ns >= 0 && (wake < 0 || give_up_ns < wake))
			wake = give_up_ns;
		wait_until(q, wake);
	}
	pthread_mutex_unlock(&q->mu);
	return key;
}

char *workqueue_get(struct workqueue *q)
{
	return get_until(q, -1);
}

char *workqueue_get_timeout(struct workqueue *q, long timeout_ms)
{
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (timeout_ms > MAX_DELAY_MS)
		timeout_ms = MAX_DELAY_MS;
	return get_until(q, now_ns() + (int64_t)timeout_ms * NS_PER_MS);
}

void workqueue_done(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	if (!hashmap_remove(&q->processing, key))
		goto out;
	if (!q->shutting_down && hashmap_get(&q->dirty, key)) {
		ring_push(q, xstrdup(key));
		pthread_cond_signal(&q->ready);
	}
	if (q->processing.size == 0)
		pthread_cond_broadcast(&q->idle);
out:
	pthread_mutex_unlock(&q->mu);
}

void workqueue_shutdown(struct workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutting_down = true;
	pthread_cond_broadcast(&q->ready);
	pthread_cond_broadcast(&q->idle);
	pthread_mutex_unlock(&q->mu);
}

void workqueue_shutdown_drain(struct workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutting_down = true;
	pthread_cond_broadcast(&q->ready);
	while (q->processing.size > 0)
		pthread_cond_wait(&q->idle, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

bool workqueue_shutting_down(struct workqueue *q)
{
	bool down;

	pthread_mutex_lock(&q->mu);
	down = q->shutting_down;
	pthread_mutex_unlock(&q->mu);
	return down;
}

size_t workqueue_len(struct workqueue *q)
{
	size_t len;

	pthread_mutex_lock(&q->mu);
	promote_due(q, now_ns());
	len = q->ring_len;
	pthread_mutex_unlock(&q->mu);
	return len;
}

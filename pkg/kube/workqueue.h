/*
 * workqueue: the queue of object keys between event handlers and reconcile
 * workers, with client-go's util/workqueue guarantees.
 *
 * Event handlers reduce every change to a key ("ns/name") and add it; N
 * worker threads loop on workqueue_get() -> reconcile(key) ->
 * workqueue_done(). The queue promises:
 *   - Stingy: a key added again while it waits in the queue is queued once.
 *   - Exclusive: a key is never handed to two workers at once. A key added
 *     while a worker processes it is marked dirty and queued again only when
 *     that worker calls workqueue_done(), so the change is never lost.
 *   - Fair: otherwise keys come out in the order they were first added.
 *   - Delayed adds: workqueue_add_after() queues a key once its deadline
 *     passes. Delayed keys wait in a min-heap by deadline with one entry per
 *     key; a second add_after for a waiting key keeps the earlier deadline
 *     (client-go's waitingForQueue dedup). Blocked getters sleep until the
 *     earliest deadline (a timed condvar wait on CLOCK_MONOTONIC), so there
 *     is neither a timer thread nor a busy loop.
 *   - Rate-limited adds: workqueue_add_rate_limited() delays a key by the
 *     larger of its own exponential failure backoff (base * 2^failures,
 *     capped at max) and an overall token bucket (qps, burst): client-go's
 *     DefaultControllerRateLimiter. workqueue_forget() ends the key's failure
 *     streak.
 *
 * Memory is bounded by the number of distinct keys: each key appears at
 * most once in the ready queue, the dirty and processing sets, the delay
 * heap and the failure table, and forget() drops its failure entry.
 *
 * Shutdown (differs on purpose from client-go, whose Get keeps handing out
 * queued items after ShutDown): after workqueue_shutdown() every getter
 * returns NULL at once, adds of every kind are ignored, keys still waiting
 * are dropped (freed by workqueue_free()). Workers finish their current key,
 * call workqueue_done() and exit on the NULL.
 *
 * Ownership: the queue copies every key it is given. workqueue_get()
 * returns a new heap string owned by the caller, who passes it to
 * workqueue_done() and then frees it with free().
 * Thread-safety: every function except workqueue_new() and workqueue_free()
 * may be called from any thread at any time; one mutex guards all state and
 * is never held while the caller's code runs.
 */
#ifndef KNIT_KUBE_WORKQUEUE_H
#define KNIT_KUBE_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>

/* client-go's defaults, except the cap (minutes, not 1000 s). */
#define WORKQUEUE_DEFAULT_BASE_DELAY_MS 5L
#define WORKQUEUE_DEFAULT_MAX_DELAY_MS	(5L * 60 * 1000)
#define WORKQUEUE_DEFAULT_QPS		10.0
#define WORKQUEUE_DEFAULT_BURST		100

/*
 * Tuning of the rate-limited adds. A zero field takes the default above;
 * a negative qps disables the overall token bucket (per-key backoff only).
 */
struct workqueue_opts {
	long base_delay_ms; /* first per-key failure delay */
	long max_delay_ms;  /* largest per-key failure delay */
	double qps;	    /* token bucket refill rate, keys per second */
	int burst;	    /* token bucket size */
};

struct workqueue;

/* Creates an empty queue. `opts` may be NULL for all defaults; it is copied. */
struct workqueue *workqueue_new(const struct workqueue_opts *opts);

/*
 * Frees the queue and every key it still holds. Call it only after
 * workqueue_shutdown() and once no thread uses the queue any more (workers
 * joined). NULL is a no-op.
 */
void workqueue_free(struct workqueue *q);

/*
 * Queues `key` (copied) unless it is already queued, or marks it dirty when
 * a worker is processing it. Wakes one getter. Ignored after shutdown.
 */
void workqueue_add(struct workqueue *q, const char *key);

/*
 * Adds `key` once delay_ms milliseconds have passed; delay_ms <= 0 adds it
 * now. If the key already waits for a deadline, the earlier deadline wins.
 * Keys whose deadlines are equal come out in the order they were added.
 * Ignored after shutdown.
 */
void workqueue_add_after(struct workqueue *q, const char *key, long delay_ms);

/*
 * Adds `key` after its rate-limit delay: the larger of
 * workqueue_failure_delay_ms(base, max, failures) and the wait for a token
 * of the overall bucket. Counts one more failure for the key and takes one
 * token. Ignored after shutdown.
 */
void workqueue_add_rate_limited(struct workqueue *q, const char *key);

/*
 * Ends the key's failure streak: its next rate-limited add starts again at
 * the base delay and workqueue_num_requeues() returns 0. Frees the key's
 * failure entry. Does not remove the key from the queue. Call it when a
 * reconcile succeeds.
 */
void workqueue_forget(struct workqueue *q, const char *key);

/* How many rate-limited adds the key has had since it was last forgotten. */
unsigned workqueue_num_requeues(struct workqueue *q, const char *key);

/*
 * The per-key failure delay, a pure function: base_ms * 2^failures, or
 * max_ms when that is larger than max_ms (or would overflow). failures 0
 * gives base_ms, so with the defaults successive failures wait 5, 10, 20,
 * 40 ... ms up to 5 minutes.
 */
long workqueue_failure_delay_ms(long base_ms, long max_ms, unsigned failures);

/*
 * Blocks until a key is ready and returns it as a new heap string, marking
 * it as being processed. The caller must pass it to workqueue_done() when
 * finished, then free() it. Returns NULL once the queue is shut down
 * (including for getters already blocked when that happens).
 */
char *workqueue_get(struct workqueue *q);

/*
 * Like workqueue_get() but gives up after timeout_ms milliseconds
 * (timeout_ms <= 0: do not wait) and returns NULL. Tell a timeout from
 * shutdown with workqueue_shutting_down().
 */
char *workqueue_get_timeout(struct workqueue *q, long timeout_ms);

/*
 * Marks `key` (a key returned by workqueue_get()) as finished. If it was
 * added again while being processed it goes back to the end of the queue.
 * Calling it for a key that is not being processed does nothing.
 */
void workqueue_done(struct workqueue *q, const char *key);

/*
 * Starts shutdown: wakes every blocked getter (they return NULL), makes
 * later gets return NULL and later adds no-ops. Returns at once; calling it
 * twice is harmless.
 */
void workqueue_shutdown(struct workqueue *q);

/*
 * workqueue_shutdown(), then waits until every key handed out has been
 * passed to workqueue_done(). Must not be called from a worker that holds a
 * key (it would wait for itself).
 */
void workqueue_shutdown_drain(struct workqueue *q);

/* True once workqueue_shutdown() (or _drain) has been called. */
bool workqueue_shutting_down(struct workqueue *q);

/*
 * Number of keys ready to be handed out now (delayed keys whose deadline
 * has passed included; keys being processed and keys still waiting for a
 * deadline excluded).
 */
size_t workqueue_len(struct workqueue *q);

#endif

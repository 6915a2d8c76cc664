/*
 * ratelimit: a token-bucket rate limiter (client-go's flowcontrol QPS and
 * burst), shared by every request of a Kubernetes client.
 *
 * The bucket holds at most `burst` tokens and gains `qps` tokens per
 * second. Taking a token when none is left reserves a future one: the
 * token count goes negative and the caller sleeps until its token would
 * have arrived, without holding the lock. So concurrent waiters are served
 * in arrival order and the long-run rate never exceeds qps.
 *
 * Time is CLOCK_MONOTONIC in seconds (a double). The arithmetic lives in
 * pure functions of (tokens, last, now, qps, burst) so tests need no sleep.
 *
 * Ownership and thread-safety: a struct ratelimit is embedded by its owner
 * (ratelimit_init / ratelimit_release). ratelimit_wait(), ratelimit_try()
 * and ratelimit_reserve() may be called from any number of threads at
 * once. The internal mutex is a leaf lock (nothing else is locked while it
 * is held), so callers may hold their own locks while calling
 * ratelimit_try() or ratelimit_reserve().
 */
#ifndef KNIT_KUBE_RATELIMIT_H
#define KNIT_KUBE_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>

struct ratelimit {
	pthread_mutex_t mu;
	double qps;    /* tokens per second; <= 0 means unlimited */
	double burst;  /* bucket size, >= 1 */
	double tokens; /* at time `last`; negative when reserved ahead */
	double last;   /* monotonic seconds of the last update */
};

/*
 * Initialises `rl` with a full bucket. qps <= 0 means unlimited (callers
 * with a "0 means default" convention resolve it first); burst < 1 is
 * taken as 1.
 */
void ratelimit_init(struct ratelimit *rl, double qps, int burst);

/* Releases the mutex. No thread may be inside wait/try. */
void ratelimit_release(struct ratelimit *rl);

/* Takes one token, sleeping until it is available. */
void ratelimit_wait(struct ratelimit *rl);

/* Takes one token if one is available now; returns whether it did. */
bool ratelimit_try(struct ratelimit *rl);

/*
 * Takes one token without blocking, reserving a future one when the bucket
 * is empty (exactly as ratelimit_wait() books it), and returns the seconds
 * until that token may be used: 0 when one is available now (or the limiter
 * is unlimited). The caller is expected to wait that long itself, e.g. by
 * delaying the work it schedules.
 */
double ratelimit_reserve(struct ratelimit *rl);

/*
 * Pure: the tokens of a bucket that held `tokens` at time `last`, at time
 * `now` (refilled at `qps`, capped at `burst`; `now` before `last` counts
 * as no time passing).
 */
double ratelimit_tokens_at(double tokens, double last, double now, double qps,
			   double burst);

/*
 * Pure: seconds from `now` until one whole token is available in a bucket
 * that held `tokens` at time `last`; 0 when one is available now (or qps
 * <= 0, unlimited).
 */
double ratelimit_delay(double tokens, double last, double now, double qps,
		       double burst);

#endif

/*
 * ratelimit: token bucket with reservations (see ratelimit.h). The lock
 * only guards the arithmetic; sleeping happens outside it, until an
 * absolute monotonic deadline so signals cannot shorten the wait.
 */
#include "kube/ratelimit.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#include "util/mono.h"

void ratelimit_init(struct ratelimit *rl, double qps, int burst)
{
	pthread_mutex_init(&rl->mu, NULL);
	rl->qps = qps;
	rl->burst = burst < 1 ? 1 : burst;
	rl->tokens = rl->burst;
	rl->last = mono_now();
}

void ratelimit_release(struct ratelimit *rl)
{
	pthread_mutex_destroy(&rl->mu);
}

double ratelimit_tokens_at(double tokens, double last, double now, double qps,
			   double burst)
{
	double elapsed = now > last ? now - last : 0;
	double t = tokens + elapsed * qps;

	return t > burst ? burst : t;
}

double ratelimit_delay(double tokens, double last, double now, double qps,
		       double burst)
{
	double t;

	if (qps <= 0)
		return 0;
	t = ratelimit_tokens_at(tokens, last, now, qps, burst);
	return t >= 1 ? 0 : (1 - t) / qps;
}

/* Sleeps until monotonic time `until` (seconds). */
static void sleep_until(double until)
{
	struct timespec ts;
	double whole = floor(until);

	ts.tv_sec = (time_t)whole;
	ts.tv_nsec = (long)((until - whole) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/*
 * Takes a token (reserving a future one when `reserve`) and returns the
 * seconds from *now until it may be used: 0 for "now", -1 when !reserve and
 * none is available. The clock is read under the lock so `last` never moves
 * backwards; *now is that reading (0 when unlimited).
 */
static double take(struct ratelimit *rl, bool reserve, double *now)
{
	double delay;

	*now = 0;
	if (rl->qps <= 0)
		return 0;
	pthread_mutex_lock(&rl->mu);
	*now = mono_now();
	delay = ratelimit_delay(rl->tokens, rl->last, *now, rl->qps, rl->burst);
	if (delay > 0 && !reserve) {
		pthread_mutex_unlock(&rl->mu);
		return -1;
	}
	rl->tokens = ratelimit_tokens_at(rl->tokens, rl->last, *now, rl->qps,
					 rl->burst) -
		     1;
	rl->last = *now;
	pthread_mutex_unlock(&rl->mu);
	return delay;
}

void ratelimit_wait(struct ratelimit *rl)
{
	double now, delay = take(rl, true, &now);

	if (delay > 0)
		sleep_until(now + delay);
}

bool ratelimit_try(struct ratelimit *rl)
{
	double now;

	return take(rl, false, &now) == 0;
}

double ratelimit_reserve(struct ratelimit *rl)
{
	double now;

	return take(rl, true, &now);
}

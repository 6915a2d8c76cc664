/*
 * backoff: exponential backoff with optional jitter (see backoff.h).
 *
 * The jitter PRNG is a 32-bit counter passed through an integer hash
 * (a splitmix-style finaliser): tiny, deterministic and good enough to
 * spread retries; it is not for anything that needs real randomness.
 */
#include "kube/backoff.h"

#include <limits.h>
#include <stdint.h>

/* Advances *state and returns a uniform double in [0, 1). */
static double prng_next(unsigned *state)
{
	uint32_t z = (uint32_t)*state + 0x9e3779b9u;

	*state = z;
	z ^= z >> 16;
	z *= 0x85ebca6bu;
	z ^= z >> 13;
	z *= 0xc2b2ae35u;
	z ^= z >> 16;
	return (double)z / 4294967296.0;
}

void backoff_init(struct backoff *b, long base_ms, long cap_ms, double jitter)
{
	if (base_ms < 1)
		base_ms = 1;
	if (cap_ms < base_ms)
		cap_ms = base_ms;
	b->base_ms = base_ms;
	b->cap_ms = cap_ms;
	b->next_ms = base_ms;
	b->jitter = jitter > 0 ? jitter : 0;
	b->seed = BACKOFF_DEFAULT_SEED;
}

long backoff_next(struct backoff *b)
{
	long delay = b->next_ms;

	if (b->jitter > 0) {
		double extra = prng_next(&b->seed) * b->jitter * (double)delay;

		if (extra >= (double)(LONG_MAX - delay))
			delay = LONG_MAX;
		else
			delay += (long)extra;
	}
	if (b->next_ms > b->cap_ms / 2)
		b->next_ms = b->cap_ms;
	else
		b->next_ms *= 2;
	return delay;
}

void backoff_reset(struct backoff *b)
{
	b->next_ms = b->base_ms;
}

/*
 * backoff: exponential backoff with optional jitter.
 *
 * Used wherever Knit retries after a failure: reflectors re-watch after a
 * disconnect (client-go uses 800 ms doubling up to 30 s with jitter 1.0),
 * and the workqueue's per-key failure delays are the same shape.
 *
 * Each call to backoff_next() returns the delay to wait now and doubles the
 * delay for the next call, never beyond cap_ms. With jitter j > 0 the
 * returned delay is next + r * j * next for r uniform in [0, 1), so it lies
 * in [next, next * (1 + j)); as in client-go's wait.Jitter the jittered
 * delay may exceed cap_ms (at most by the factor 1 + j), which keeps clients
 * that all reached the cap from retrying in lockstep.
 *
 * Invariants after backoff_init(): 1 <= base_ms <= cap_ms and
 * base_ms <= next_ms <= cap_ms; jitter >= 0.
 * Determinism: the module is pure. The jitter comes from a small private
 * PRNG whose whole state is `seed` (never rand()), so the same seed gives
 * the same sequence. backoff_init() sets a fixed seed; callers that want
 * processes to spread out assign `seed` (e.g. from the pid) after init.
 * Ownership: the struct is embedded by its user and owns nothing, so there
 * is no release function.
 * Thread-safety: none; a backoff belongs to one thread (or its owner's lock).
 */
#ifndef KNIT_KUBE_BACKOFF_H
#define KNIT_KUBE_BACKOFF_H

struct backoff {
	long base_ms;  /* first delay */
	long cap_ms;   /* largest un-jittered delay */
	long next_ms;  /* delay the next backoff_next() starts from */
	double jitter; /* extra random fraction, 0 for none */
	unsigned seed; /* PRNG state for the jitter */
};

/* The seed backoff_init() starts from. */
#define BACKOFF_DEFAULT_SEED 0x4b6e6974u

/*
 * Prepares `b` to return base_ms first. base_ms below 1 is raised to 1,
 * cap_ms below base_ms is raised to base_ms, negative jitter becomes 0.
 * Sets seed to BACKOFF_DEFAULT_SEED.
 */
void backoff_init(struct backoff *b, long base_ms, long cap_ms, double jitter);

/*
 * Returns the delay in milliseconds to wait before the next attempt (>= 1)
 * and doubles next_ms for the following call, capped at cap_ms. Advances the
 * seed only when jitter > 0.
 */
long backoff_next(struct backoff *b);

/* Starts over from base_ms (call it after a success). Keeps the seed. */
void backoff_reset(struct backoff *b);

#endif

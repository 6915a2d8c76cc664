/*
 * test_ratelimit: the token bucket's arithmetic (pure functions, no
 * sleeping) and the real limiter's behaviour: burst, refusal when empty,
 * waiting at the configured rate, non-blocking reservations, unlimited
 * mode, and many threads sharing one bucket without exceeding it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "kube/ratelimit.h"
#include "util/mono.h"

#define EPS 1e-9

static void test_tokens_refill_and_cap(void **state)
{
	(void)state;
	/* 2 tokens at t=10, qps 4: half a second later 4 tokens. */
	assert_float_equal(ratelimit_tokens_at(2, 10, 10.5, 4, 100), 4, EPS);
	/* Capped at burst. */
	assert_float_equal(ratelimit_tokens_at(2, 10, 20, 4, 5), 5, EPS);
	/* Reserved (negative) tokens are paid back first. */
	assert_float_equal(ratelimit_tokens_at(-3, 0, 0.5, 4, 5), -1, EPS);
	/* A clock before `last` counts as no time passing. */
	assert_float_equal(ratelimit_tokens_at(1.5, 10, 9, 4, 5), 1.5, EPS);
}

static void test_delay(void **state)
{
	(void)state;
	/* A whole token: no wait. */
	assert_float_equal(ratelimit_delay(1, 0, 0, 10, 5), 0, EPS);
	/* Empty bucket at 10 qps: a tenth of a second. */
	assert_float_equal(ratelimit_delay(0, 0, 0, 10, 5), 0.1, EPS);
	/* Two reservations ahead: three tenths. */
	assert_float_equal(ratelimit_delay(-2, 0, 0, 10, 5), 0.3, EPS);
	/* Time already passed counts: empty at t=0, now t=0.05. */
	assert_float_equal(ratelimit_delay(0, 0, 0.05, 10, 5), 0.05, EPS);
	/* Unlimited never waits. */
	assert_float_equal(ratelimit_delay(-100, 0, 0, 0, 5), 0, EPS);
	assert_float_equal(ratelimit_delay(-100, 0, 0, -1, 5), 0, EPS);
}

static void test_try_burst_then_refuse(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0.5, 3); /* one token every 2 s */
	assert_true(ratelimit_try(&rl));
	assert_true(ratelimit_try(&rl));
	assert_true(ratelimit_try(&rl));
	assert_false(ratelimit_try(&rl));
	assert_false(ratelimit_try(&rl));
	ratelimit_release(&rl);
}

static void test_burst_below_one(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0.5, 0);
	assert_true(ratelimit_try(&rl));
	assert_false(ratelimit_try(&rl));
	ratelimit_release(&rl);
}

static void test_unlimited(void **state)
{
	struct ratelimit rl;
	double t0;

	(void)state;
	ratelimit_init(&rl, -1, 1);
	t0 = mono_now();
	for (int i = 0; i < 10000; i++) {
		assert_true(ratelimit_try(&rl));
		ratelimit_wait(&rl);
	}
	assert_true(mono_now() - t0 < 0.5);
	ratelimit_release(&rl);
}

static void test_wait_paces(void **state)
{
	struct ratelimit rl;
	double t0, dt;

	(void)state;
	ratelimit_init(&rl, 20, 2);
	t0 = mono_now();
	/* 2 from the burst, then 4 at 50 ms each: ~200 ms. */
	for (int i = 0; i < 6; i++)
		ratelimit_wait(&rl);
	dt = mono_now() - t0;
	assert_true(dt >= 0.19);
	assert_true(dt < 1.0);
	/* The waits consumed everything: nothing is left right now. */
	assert_false(ratelimit_try(&rl));
	ratelimit_release(&rl);
}

static void test_reserve_books_ahead(void **state)
{
	struct ratelimit rl;
	double t0, d;

	(void)state;
	ratelimit_init(&rl, 10, 2);
	t0 = mono_now();
	/* The burst: no delay. */
	assert_float_equal(ratelimit_reserve(&rl), 0, EPS);
	assert_float_equal(ratelimit_reserve(&rl), 0, EPS);
	/* Then one tenth of a second per token, booked in order (a little
	 * less when time passes between the calls). */
	d = ratelimit_reserve(&rl);
	assert_true(d > 0.08 && d <= 0.1 + EPS);
	d = ratelimit_reserve(&rl);
	assert_true(d > 0.18 && d <= 0.2 + EPS);
	/* It never blocked, and the bucket is now booked ahead. */
	assert_true(mono_now() - t0 < 0.05);
	assert_false(ratelimit_try(&rl));
	ratelimit_release(&rl);
}

static void test_reserve_then_wait_queues_behind(void **state)
{
	struct ratelimit rl;
	double t0, dt;

	(void)state;
	ratelimit_init(&rl, 20, 1);
	t0 = mono_now();
	assert_float_equal(ratelimit_reserve(&rl), 0, EPS);
	assert_true(ratelimit_reserve(&rl) > 0.04);
	assert_true(ratelimit_reserve(&rl) > 0.09);
	/* A waiter comes after the two reservations: ~150 ms. */
	ratelimit_wait(&rl);
	dt = mono_now() - t0;
	assert_true(dt >= 0.14);
	assert_true(dt < 1.0);
	ratelimit_release(&rl);
}

static void test_reserve_unlimited(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0, 1);
	for (int i = 0; i < 1000; i++)
		assert_float_equal(ratelimit_reserve(&rl), 0, EPS);
	ratelimit_release(&rl);
}

#define THREADS		 4
#define WAITS_PER_THREAD 5

static void *waiter(void *arg)
{
	struct ratelimit *rl = arg;

	for (int i = 0; i < WAITS_PER_THREAD; i++)
		ratelimit_wait(rl);
	return NULL;
}

static void test_threads_share_bucket(void **state)
{
	struct ratelimit rl;
	pthread_t th[THREADS];
	double t0, dt;

	(void)state;
	ratelimit_init(&rl, 100, 1);
	t0 = mono_now();
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, waiter, &rl), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	dt = mono_now() - t0;
	/* 20 tokens, 1 from the burst, 19 at 10 ms each. */
	assert_true(dt >= 0.185);
	assert_true(dt < 2.0);
	ratelimit_release(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens_refill_and_cap),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_try_burst_then_refuse),
		cmocka_unit_test(test_burst_below_one),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_wait_paces),
		cmocka_unit_test(test_reserve_books_ahead),
		cmocka_unit_test(test_reserve_then_wait_queues_behind),
		cmocka_unit_test(test_reserve_unlimited),
		cmocka_unit_test(test_threads_share_bucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

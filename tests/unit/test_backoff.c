/*
 * Unit tests for kube/backoff: the doubling sequence and its cap, reset,
 * argument clamping, jitter bounds, determinism for a seed, and no overflow
 * near LONG_MAX.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kube/backoff.h"

static void test_doubles_to_cap(void **state)
{
	static const long want[] = {800,   1600,  3200,	 6400,
				    12800, 25600, 30000, 30000};
	struct backoff b;

	(void)state;
	backoff_init(&b, 800, 30000, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(backoff_next(&b), want[i]);
	assert_int_equal(b.next_ms, 30000);
}

static void test_reset(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 5, 1000, 0);
	assert_int_equal(backoff_next(&b), 5);
	assert_int_equal(backoff_next(&b), 10);
	assert_int_equal(backoff_next(&b), 20);
	backoff_reset(&b);
	assert_int_equal(backoff_next(&b), 5);
	assert_int_equal(backoff_next(&b), 10);
}

static void test_clamps_arguments(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 0, -5, -1.0);
	assert_int_equal(b.base_ms, 1);
	assert_int_equal(b.cap_ms, 1);
	assert_true(b.jitter == 0);
	assert_int_equal(backoff_next(&b), 1);
	assert_int_equal(backoff_next(&b), 1);

	backoff_init(&b, 100, 50, 0);
	assert_int_equal(b.cap_ms, 100);
	assert_int_equal(backoff_next(&b), 100);
	assert_int_equal(backoff_next(&b), 100);
}

static void test_cap_not_power_of_two(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 3, 10, 0);
	assert_int_equal(backoff_next(&b), 3);
	assert_int_equal(backoff_next(&b), 6);
	assert_int_equal(backoff_next(&b), 10);
	assert_int_equal(backoff_next(&b), 10);
}

static void test_jitter_bounds_and_spread(void **state)
{
	struct backoff b;
	long base = 800, distinct = 0, prev = -1;

	(void)state;
	backoff_init(&b, base, base, 1.0); /* un-jittered delay fixed at 800 */
	for (int i = 0; i < 1000; i++) {
		long d = backoff_next(&b);

		assert_true(d >= base);
		assert_true(d < 2 * base);
		if (d != prev)
			distinct++;
		prev = d;
	}
	/* A real spread, not a constant: consecutive values mostly differ. */
	assert_true(distinct > 900);
}

static void test_jitter_follows_doubling(void **state)
{
	struct backoff b;
	long next = 800;

	(void)state;
	backoff_init(&b, 800, 30000, 0.5);
	for (int i = 0; i < 10; i++) {
		long d = backoff_next(&b);

		assert_true(d >= next);
		assert_true((double)d < next * 1.5);
		next = next * 2 > 30000 ? 30000 : next * 2;
	}
}

static void test_deterministic_for_seed(void **state)
{
	struct backoff a, b, c;
	int differ = 0;

	(void)state;
	backoff_init(&a, 100, 100000, 1.0);
	backoff_init(&b, 100, 100000, 1.0);
	backoff_init(&c, 100, 100000, 1.0);
	assert_int_equal(a.seed, BACKOFF_DEFAULT_SEED);
	c.seed = 12345;
	for (int i = 0; i < 20; i++) {
		long da = backoff_next(&a), db = backoff_next(&b);
		long dc = backoff_next(&c);

		assert_int_equal(da, db);
		if (dc != da)
			differ++;
	}
	assert_true(differ > 10);
	/* reset keeps the seed: equal backoffs stay in step */
	backoff_reset(&a);
	backoff_reset(&b);
	assert_int_equal(backoff_next(&a), backoff_next(&b));
}

static void test_no_overflow(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, LONG_MAX / 4, LONG_MAX, 0);
	assert_int_equal(backoff_next(&b), LONG_MAX / 4);
	assert_int_equal(backoff_next(&b), (LONG_MAX / 4) * 2);
	assert_int_equal(backoff_next(&b), (LONG_MAX / 4) * 4);
	assert_int_equal(backoff_next(&b), LONG_MAX);
	assert_int_equal(backoff_next(&b), LONG_MAX);

	backoff_init(&b, LONG_MAX, LONG_MAX, 1.0);
	for (int i = 0; i < 10; i++)
		assert_true(backoff_next(&b) >= LONG_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_to_cap),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_clamps_arguments),
		cmocka_unit_test(test_cap_not_power_of_two),
		cmocka_unit_test(test_jitter_bounds_and_spread),
		cmocka_unit_test(test_jitter_follows_doubling),
		cmocka_unit_test(test_deterministic_for_seed),
		cmocka_unit_test(test_no_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for kube/workqueue, with real threads: dedup while queued,
 * FIFO order, a key never held by two workers at once (workers and
 * producers hammering a few keys), a key changed while in progress is
 * processed again, delayed adds (order, timing, earliest deadline wins),
 * rate-limited adds (exact per-key delays, a real delayed delivery, the
 * token bucket, forget), shutdown waking blocked getters, shutdown_drain
 * waiting for in-flight keys. Timing bounds are generous so the tests
 * stay reliable on a loaded machine and under sanitizers.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kube/workqueue.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Gets a key (waiting at most 2 s), checks it and completes it. */
static void expect_key(struct workqueue *q, const char *want)
{
	char *key = workqueue_get_timeout(q, 2000);

	assert_non_null(key);
	assert_string_equal(key, want);
	workqueue_done(q, key);
	free(key);
}

static void test_dedup_while_queued(void **state)
{
	struct workqueue *q = workqueue_new(NULL);

	(void)state;
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/b");
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/a");
	assert_int_equal(workqueue_len(q), 2);
	expect_key(q, "ns/a");
	expect_key(q, "ns/b");
	assert_null(workqueue_get_timeout(q, 0));
	assert_false(workqueue_shutting_down(q));
	workqueue_shutdown(q);
	workqueue_free(q);
}

static void test_fifo(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	char key[16];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		workqueue_add(q, key);
	}
	workqueue_add(q, "k0"); /* already queued: keeps its place */
	assert_int_equal(workqueue_len(q), 100);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		expect_key(q, key);
	}
	assert_int_equal(workqueue_len(q), 0);
	workqueue_shutdown(q);
	workqueue_free(q);
}

static void test_readd_while_processing(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	char *a, *b;

	(void)state;
	workqueue_add(q, "a");
	a = workqueue_get(q);
	assert_string_equal(a, "a");
	/* changed while in progress: not handed out again yet */
	workqueue_add(q, "a");
	workqueue_add(q, "a");
	workqueue_add(q, "b");
	assert_int_equal(workqueue_len(q), 1);
	b = workqueue_get_timeout(q, 1000);
	assert_string_equal(b, "b");
	assert_null(workqueue_get_timeout(q, 30));
	workqueue_done(q, b);
	free(b);
	/* ... but once done, processed again, exactly once */
	workqueue_done(q, a);
	workqueue_done(q, a); /* a second done is a no-op */
	free(a);
	assert_int_equal(workqueue_len(q), 1);
	expect_key(q, "a");
	assert_null(workqueue_get_timeout(q, 30));
	/* done for a key never handed out does not queue it */
	workqueue_done(q, "zzz");
	assert_int_equal(workqueue_len(q), 0);
	workqueue_shutdown(q);
	workqueue_free(q);
}

/* ---- exclusivity under load ---- */

#define NKEYS	   5
#define NWORKERS   4
#define NPRODUCERS 3
#define NADDS	   3000

struct hammer {
	struct workqueue *q;
	atomic_int in_progress[NKEYS];
	atomic_int generation[NKEYS]; /* bumped by producers before adding */
	atomic_int seen[NKEYS];	      /* generation a worker last started */
	atomic_int violations;
	atomic_long processed;
};

struct producer_arg {
	struct hammer *h;
	int id;
};

static const char *const hammer_keys[NKEYS] = {"ns/k0", "ns/k1", "ns/k2",
					       "ns/k3", "ns/k4"};

static int key_index(const char *key)
{
	for (int i = 0; i < NKEYS; i++)
		if (strcmp(key, hammer_keys[i]) == 0)
			return i;
	return -1;
}

static void *hammer_worker(void *arg)
{
	struct hammer *h = arg;
	char *key;

	while ((key = workqueue_get(h->q))) {
		int i = key_index(key);

		if (i < 0 || atomic_exchange(&h->in_progress[i], 1) != 0) {
			atomic_fetch_add(&h->violations, 1);
		} else {
			atomic_store(&h->seen[i],
				     atomic_load(&h->generation[i]));
			if (atomic_fetch_add(&h->processed, 1) % 7 == 0)
				sleep_ms(1); /* let adds land mid-process */
			atomic_store(&h->in_progress[i], 0);
		}
		workqueue_done(h->q, key);
		free(key);
	}
	return NULL;
}

static void *hammer_producer(void *arg)
{
	struct producer_arg *p = arg;
	unsigned x = 2463534242u + (unsigned)p->id * 7919u;

	for (int n = 0; n < NADDS; n++) {
		int i;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		i = (int)(x % NKEYS);
		atomic_fetch_add(&p->h->generation[i], 1);
		workqueue_add(p->h->q, hammer_keys[i]);
	}
	return NULL;
}

static int all_caught_up(struct hammer *h)
{
	for (int i = 0; i < NKEYS; i++)
		if (atomic_load(&h->seen[i]) != atomic_load(&h->generation[i]))
			return 0;
	return 1;
}

static void test_never_two_workers(void **state)
{
	struct hammer *h = calloc(1, sizeof(*h));
	pthread_t workers[NWORKERS], producers[NPRODUCERS];
	struct producer_arg pargs[NPRODUCERS];
	long give_up = now_ms() + 20000;

	(void)state;
	h->q = workqueue_new(NULL);
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&workers[i], NULL, hammer_worker, h);
	for (int i = 0; i < NPRODUCERS; i++) {
		pargs[i].h = h;
		pargs[i].id = i;
		pthread_create(&producers[i], NULL, hammer_producer, &pargs[i]);
	}
	for (int i = 0; i < NPRODUCERS; i++)
		pthread_join(producers[i], NULL);
	/*
	 * Every key's last change must be processed by a run that started
	 * after it: no change is lost even when it arrived mid-process.
	 */
	while (!all_caught_up(h) && now_ms() < give_up)
		sleep_ms(5);
	assert_int_equal(atomic_load(&h->violations), 0);
	assert_true(all_caught_up(h));
	workqueue_shutdown_drain(h->q);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(workers[i], NULL);
	assert_int_equal(atomic_load(&h->violations), 0);
	/* dedup collapsed most of the adds */
	assert_true(atomic_load(&h->processed) > 0);
	assert_true(atomic_load(&h->processed) <= NPRODUCERS * NADDS);
	workqueue_free(h->q);
	free(h);
}

/* ---- delayed adds ---- */

static void test_add_after_order_and_timing(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	long start = now_ms(), t;

	(void)state;
	workqueue_add_after(q, "c", 300);
	workqueue_add_after(q, "a", 100);
	workqueue_add_after(q, "b", 200);
	workqueue_add_after(q, "now", 0);
	assert_int_equal(workqueue_len(q), 1);
	expect_key(q, "now");
	assert_true(now_ms() - start < 90);
	expect_key(q, "a");
	t = now_ms() - start;
	assert_true(t >= 95);
	expect_key(q, "b");
	assert_true(now_ms() - start >= 195);
	expect_key(q, "c");
	t = now_ms() - start;
	assert_true(t >= 295);
	assert_true(t < 2000);
	workqueue_shutdown(q);
	workqueue_free(q);
}

static void test_add_after_earliest_wins(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	long start = now_ms();

	(void)state;
	/* a later add_after with an earlier deadline moves the key up */
	workqueue_add_after(q, "x", 5000);
	workqueue_add_after(q, "x", 50);
	expect_key(q, "x");
	assert_true(now_ms() - start < 1500);
	/* ... and the key waited once: no second delivery */
	assert_null(workqueue_get_timeout(q, 150));

	/* a later deadline does not postpone the earlier one */
	start = now_ms();
	workqueue_add_after(q, "y", 50);
	workqueue_add_after(q, "y", 5000);
	expect_key(q, "y");
	assert_true(now_ms() - start < 1500);
	assert_null(workqueue_get_timeout(q, 150));
	workqueue_shutdown(q);
	workqueue_free(q);
}

static void test_add_after_dedups_with_queued(void **state)
{
	struct workqueue *q = workqueue_new(NULL);

	(void)state;
	workqueue_add(q, "k");
	workqueue_add_after(q, "k", 30);
	sleep_ms(60);
	assert_int_equal(workqueue_len(q), 1); /* still one "k" queued */
	expect_key(q, "k");
	assert_null(workqueue_get_timeout(q, 50));
	workqueue_shutdown(q);
	workqueue_free(q);
}

struct getter {
	struct workqueue *q;
	char *got;
	long at;
};

static void *getter_thread(void *arg)
{
	struct getter *g = arg;

	g->got = workqueue_get(g->q);
	g->at = now_ms();
	if (g->got)
		workqueue_done(g->q, g->got);
	return NULL;
}

static void test_blocked_getter_sees_new_earlier_deadline(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	struct getter g = {q, NULL, 0};
	pthread_t t;
	long start = now_ms();

	(void)state;
	workqueue_add_after(q, "late", 10000);
	pthread_create(&t, NULL, getter_thread, &g);
	sleep_ms(30); /* the getter sleeps until the 10 s deadline */
	workqueue_add_after(q, "soon", 50);
	pthread_join(t, NULL);
	assert_string_equal(g.got, "soon");
	assert_true(g.at - start < 2000);
	free(g.got);
	workqueue_shutdown(q);
	workqueue_free(q); /* frees the still-waiting "late" */
}

/* ---- rate-limited adds ---- */

static void test_failure_delay_exact(void **state)
{
	static const long want[] = {5, 10, 20, 40, 80, 160, 320, 640, 1280};
	const long max = 5L * 60 * 1000;

	(void)state;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(workqueue_failure_delay_ms(5, max, i),
				 want[i]);
	/* 5 * 2^15 = 163840 < 300000 < 5 * 2^16 */
	assert_int_equal(workqueue_failure_delay_ms(5, max, 15), 163840);
	assert_int_equal(workqueue_failure_delay_ms(5, max, 16), max);
	assert_int_equal(workqueue_failure_delay_ms(5, max, 200), max);
	assert_int_equal(workqueue_failure_delay_ms(5, max, 4000000000u), max);
	assert_int_equal(workqueue_failure_delay_ms(5, 1000, 7), 640);
	assert_int_equal(workqueue_failure_delay_ms(5, 1000, 8), 1000);
}

static void test_num_requeues_and_forget(void **state)
{
	struct workqueue_opts o = {.qps = -1};
	struct workqueue *q = workqueue_new(&o);

	(void)state;
	assert_int_equal(workqueue_num_requeues(q, "k"), 0);
	workqueue_add_rate_limited(q, "k");
	workqueue_add_rate_limited(q, "k");
	workqueue_add_rate_limited(q, "k");
	workqueue_add_rate_limited(q, "other");
	assert_int_equal(workqueue_num_requeues(q, "k"), 3);
	assert_int_equal(workqueue_num_requeues(q, "other"), 1);
	workqueue_forget(q, "k");
	assert_int_equal(workqueue_num_requeues(q, "k"), 0);
	assert_int_equal(workqueue_num_requeues(q, "other"), 1);
	/* the delayed "k" still arrives once (forget does not dequeue) */
	expect_key(q, "k");
	expect_key(q, "other");
	assert_null(workqueue_get_timeout(q, 50));
	workqueue_shutdown(q);
	workqueue_free(q);
}

/* Rate-limits `key` and returns how long it took to come out. */
static long rate_limited_delivery_ms(struct workqueue *q, const char *key)
{
	long start = now_ms();

	workqueue_add_rate_limited(q, key);
	expect_key(q, key);
	return now_ms() - start;
}

static void test_rate_limited_real_delays(void **state)
{
	struct workqueue_opts o = {
		.base_delay_ms = 100, .max_delay_ms = 250, .qps = -1};
	struct workqueue *q = workqueue_new(&o);
	long t;

	(void)state;
	workqueue_add_rate_limited(q, "k");
	assert_int_equal(workqueue_len(q), 0); /* not yet */
	workqueue_forget(q, "k");
	expect_key(q, "k");

	t = rate_limited_delivery_ms(q, "k"); /* 100 ms */
	assert_true(t >= 95 && t < 1500);
	t = rate_limited_delivery_ms(q, "k"); /* 200 ms */
	assert_true(t >= 195 && t < 1500);
	t = rate_limited_delivery_ms(q, "k"); /* capped at 250 ms */
	assert_true(t >= 245 && t < 1500);
	assert_int_equal(workqueue_num_requeues(q, "k"), 3);
	workqueue_forget(q, "k");
	t = rate_limited_delivery_ms(q, "k"); /* back to 100 ms */
	assert_true(t >= 95 && t < 195);
	workqueue_shutdown(q);
	workqueue_free(q);
}

static void test_token_bucket(void **state)
{
	struct workqueue_opts o = {.base_delay_ms = 1, .qps = 10, .burst = 2};
	struct workqueue *q = workqueue_new(&o);
	long start = now_ms(), t;

	(void)state;
	/* three distinct first failures: the third waits for a token */
	workqueue_add_rate_limited(q, "a");
	workqueue_add_rate_limited(q, "b");
	workqueue_add_rate_limited(q, "c");
	expect_key(q, "a");
	expect_key(q, "b");
	assert_true(now_ms() - start < 90);
	expect_key(q, "c");
	t = now_ms() - start;
	assert_true(t >= 95 && t < 2000);
	assert_int_equal(workqueue_num_requeues(q, "c"), 1);
	workqueue_shutdown(q);
	workqueue_free(q);
}

/* ---- shutdown ---- */

static void test_shutdown_wakes_getters(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	struct getter g[3];
	pthread_t t[3];

	(void)state;
	workqueue_add_after(q, "later", 60000);
	for (int i = 0; i < 3; i++) {
		g[i] = (struct getter){q, NULL, 0};
		pthread_create(&t[i], NULL, getter_thread, &g[i]);
	}
	sleep_ms(50);
	workqueue_shutdown(q);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_null(g[i].got);
	}
	assert_true(workqueue_shutting_down(q));
	workqueue_free(q);
}

static void test_after_shutdown(void **state)
{
	struct workqueue *q = workqueue_new(NULL);

	(void)state;
	workqueue_add(q, "queued");
	workqueue_add_rate_limited(q, "failing");
	workqueue_shutdown(q);
	workqueue_shutdown(q); /* twice is harmless */
	assert_null(workqueue_get(q));
	assert_null(workqueue_get_timeout(q, 1000));
	workqueue_add(q, "x");
	workqueue_add_after(q, "y", 1);
	workqueue_add_rate_limited(q, "z");
	assert_int_equal(workqueue_num_requeues(q, "z"), 0);
	assert_null(workqueue_get_timeout(q, 20));
	workqueue_free(q); /* frees what was still queued */
}

struct slow_worker {
	struct workqueue *q;
	atomic_int holding;
	atomic_int finished;
};

static void *slow_worker_thread(void *arg)
{
	struct slow_worker *w = arg;
	char *key = workqueue_get(w->q);

	atomic_store(&w->holding, 1);
	sleep_ms(200);
	atomic_store(&w->finished, 1);
	workqueue_done(w->q, key);
	free(key);
	return NULL;
}

static void test_shutdown_drain_waits(void **state)
{
	struct slow_worker w = {.q = workqueue_new(NULL)};
	pthread_t t;
	long start;

	(void)state;
	workqueue_add(w.q, "k");
	pthread_create(&t, NULL, slow_worker_thread, &w);
	while (!atomic_load(&w.holding))
		sleep_ms(1);
	start = now_ms();
	workqueue_shutdown_drain(w.q);
	assert_int_equal(atomic_load(&w.finished), 1);
	assert_true(now_ms() - start >= 100);
	assert_null(workqueue_get(w.q));
	pthread_join(t, NULL);
	workqueue_free(w.q);
}

static void test_shutdown_drain_idle(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	long start = now_ms();

	(void)state;
	workqueue_add(q, "never-taken");
	workqueue_shutdown_drain(q); /* nothing in flight: returns at once */
	assert_true(now_ms() - start < 1000);
	workqueue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup_while_queued),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_readd_while_processing),
		cmocka_unit_test(test_never_two_workers),
		cmocka_unit_test(test_add_after_order_and_timing),
		cmocka_unit_test(test_add_after_earliest_wins),
		cmocka_unit_test(test_add_after_dedups_with_queued),
		cmocka_unit_test(test_blocked_getter_sees_new_earlier_deadline),
		cmocka_unit_test(test_failure_delay_exact),
		cmocka_unit_test(test_num_requeues_and_forget),
		cmocka_unit_test(test_rate_limited_real_delays),
		cmocka_unit_test(test_token_bucket),
		cmocka_unit_test(test_shutdown_wakes_getters),
		cmocka_unit_test(test_after_shutdown),
		cmocka_unit_test(test_shutdown_drain_waits),
		cmocka_unit_test(test_shutdown_drain_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_metrics: the controller's Prometheus registry renders the exact text
 * exposition format (HELP/TYPE, labels, cumulative histogram buckets), keeps
 * declaration and first-use order, ignores undeclared or mistyped samples,
 * and stays consistent under concurrent updates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "controller/metrics.h"

static void check_render(struct metrics *m, const char *want)
{
	char *got = metrics_render(m);

	assert_string_equal(got, want);
	free(got);
}

static void test_empty(void **state)
{
	struct metrics *m = metrics_new();

	(void)state;
	check_render(m, "");
	metrics_declare(m, "knit_leader", METRIC_GAUGE, "1 when leading");
	check_render(m, "# HELP knit_leader 1 when leading\n"
			"# TYPE knit_leader gauge\n");
	metrics_free(m);
	metrics_free(NULL);
}

static void test_counter_labels_order(void **state)
{
	struct metrics *m = metrics_new();

	(void)state;
	metrics_declare(m, "knit_reconcile_total", METRIC_COUNTER,
			"Reconciles by result.");
	metrics_declare(m, "knit_api_requests_total", METRIC_COUNTER,
			"API requests.");
	/* declaring again keeps the first */
	metrics_declare(m, "knit_reconcile_total", METRIC_GAUGE, "other");
	metrics_add(m, "knit_api_requests_total", "verb=\"GET\",code=\"200\"",
		    1);
	metrics_add(m, "knit_reconcile_total", "result=\"success\"", 1);
	metrics_add(m, "knit_reconcile_total", "result=\"error\"", 1);
	metrics_add(m, "knit_reconcile_total", "result=\"success\"", 2);
	metrics_add(m, "knit_api_requests_total", "verb=\"PUT\",code=\"409\"",
		    1);
	metrics_add(m, "knit_api_requests_total", "verb=\"GET\",code=\"200\"",
		    1);
	/* counters never go down; undeclared families are ignored */
	metrics_add(m, "knit_reconcile_total", "result=\"error\"", -5);
	metrics_add(m, "knit_nope", NULL, 1);
	/* a gauge operation on a counter is ignored */
	metrics_set(m, "knit_reconcile_total", "result=\"error\"", 100);
	check_render(m, "# HELP knit_reconcile_total Reconciles by result.\n"
			"# TYPE knit_reconcile_total counter\n"
			"knit_reconcile_total{result=\"success\"} 3\n"
			"knit_reconcile_total{result=\"error\"} 1\n"
			"# HELP knit_api_requests_total API requests.\n"
			"# TYPE knit_api_requests_total counter\n"
			"knit_api_requests_total{verb=\"GET\",code=\"200\"} 2\n"
			"knit_api_requests_total{verb=\"PUT\",code=\"409\"} "
			"1\n");
	metrics_free(m);
}

static void test_gauge_zero_and_numbers(void **state)
{
	struct metrics *m = metrics_new();

	(void)state;
	metrics_declare(m, "knit_rollouts", METRIC_GAUGE,
			"Rollouts by phase.\nSecond \\ line");
	metrics_declare(m, "knit_api_throttled_seconds_total", METRIC_COUNTER,
			"Throttled.");
	metrics_set(m, "knit_rollouts", "phase=\"Healthy\"", 3);
	metrics_set(m, "knit_rollouts", "phase=\"Paused\"", 2);
	metrics_zero(m, "knit_rollouts");
	metrics_set(m, "knit_rollouts", "phase=\"Paused\"", 1);
	metrics_add(m, "knit_api_throttled_seconds_total", "", 0.1);
	metrics_add(m, "knit_api_throttled_seconds_total", NULL, 0.025);
	check_render(m, "# HELP knit_rollouts Rollouts by phase.\\nSecond \\\\ "
			"line\n"
			"# TYPE knit_rollouts gauge\n"
			"knit_rollouts{phase=\"Healthy\"} 0\n"
			"knit_rollouts{phase=\"Paused\"} 1\n"
			"# HELP knit_api_throttled_seconds_total Throttled.\n"
			"# TYPE knit_api_throttled_seconds_total counter\n"
			"knit_api_throttled_seconds_total 0.125\n");
	metrics_set(m, "knit_rollouts", "phase=\"Paused\"", -1.5);
	metrics_set(m, "knit_rollouts", "phase=\"Healthy\"", 1e20);
	check_render(m, "# HELP knit_rollouts Rollouts by phase.\\nSecond \\\\ "
			"line\n"
			"# TYPE knit_rollouts gauge\n"
			"knit_rollouts{phase=\"Healthy\"} 1e+20\n"
			"knit_rollouts{phase=\"Paused\"} -1.5\n"
			"# HELP knit_api_throttled_seconds_total Throttled.\n"
			"# TYPE knit_api_throttled_seconds_total counter\n"
			"knit_api_throttled_seconds_total 0.125\n");
	metrics_free(m);
}

static void test_histogram(void **state)
{
	struct metrics *m = metrics_new();

	(void)state;
	metrics_declare(m, "d_seconds", METRIC_HISTOGRAM, "Durations.");
	metrics_observe(m, "d_seconds", NULL, 0.005); /* le is inclusive */
	metrics_observe(m, "d_seconds", NULL, 0.3);
	metrics_observe(m, "d_seconds", NULL, 20);
	metrics_observe(m, "d_seconds", "r=\"x\"", 1);
	check_render(m, "# HELP d_seconds Durations.\n"
			"# TYPE d_seconds histogram\n"
			"d_seconds_bucket{le=\"0.005\"} 1\n"
			"d_seconds_bucket{le=\"0.01\"} 1\n"
			"d_seconds_bucket{le=\"0.025\"} 1\n"
			"d_seconds_bucket{le=\"0.05\"} 1\n"
			"d_seconds_bucket{le=\"0.1\"} 1\n"
			"d_seconds_bucket{le=\"0.25\"} 1\n"
			"d_seconds_bucket{le=\"0.5\"} 2\n"
			"d_seconds_bucket{le=\"1\"} 2\n"
			"d_seconds_bucket{le=\"2.5\"} 2\n"
			"d_seconds_bucket{le=\"5\"} 2\n"
			"d_seconds_bucket{le=\"10\"} 2\n"
			"d_seconds_bucket{le=\"+Inf\"} 3\n"
			"d_seconds_sum 20.305\n"
			"d_seconds_count 3\n"
			"d_seconds_bucket{r=\"x\",le=\"0.005\"} 0\n"
			"d_seconds_bucket{r=\"x\",le=\"0.01\"} 0\n"
			"d_seconds_bucket{r=\"x\",le=\"0.025\"} 0\n"
			"d_seconds_bucket{r=\"x\",le=\"0.05\"} 0\n"
			"d_seconds_bucket{r=\"x\",le=\"0.1\"} 0\n"
			"d_seconds_bucket{r=\"x\",le=\"0.25\"} 0\n"
			"d_seconds_bucket{r=\"x\",le=\"0.5\"} 0\n"
			"d_seconds_bucket{r=\"x\",le=\"1\"} 1\n"
			"d_seconds_bucket{r=\"x\",le=\"2.5\"} 1\n"
			"d_seconds_bucket{r=\"x\",le=\"5\"} 1\n"
			"d_seconds_bucket{r=\"x\",le=\"10\"} 1\n"
			"d_seconds_bucket{r=\"x\",le=\"+Inf\"} 1\n"
			"d_seconds_sum{r=\"x\"} 1\n"
			"d_seconds_count{r=\"x\"} 1\n");
	metrics_free(m);
}

#define THREADS 4
#define ADDS	10000

static void *adder(void *arg)
{
	struct metrics *m = arg;

	for (int i = 0; i < ADDS; i++) {
		metrics_add(m, "c_total", i % 2 ? "k=\"a\"" : "k=\"b\"", 1);
		metrics_observe(m, "h", NULL, 0.001);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct metrics *m = metrics_new();
	pthread_t t[THREADS];
	char *text;

	(void)state;
	metrics_declare(m, "c_total", METRIC_COUNTER, "c");
	metrics_declare(m, "h", METRIC_HISTOGRAM, "h");
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, adder, m);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	text = metrics_render(m);
	assert_non_null(strstr(text, "c_total{k=\"a\"} 20000\n"));
	assert_non_null(strstr(text, "c_total{k=\"b\"} 20000\n"));
	assert_non_null(strstr(text, "h_count 40000\n"));
	assert_non_null(strstr(text, "h_bucket{le=\"0.005\"} 40000\n"));
	free(text);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_counter_labels_order),
		cmocka_unit_test(test_gauge_zero_and_numbers),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_run: AnalysisTemplates and AnalysisRuns (pkg/analysis/run.h) --
 * metric validation and its messages, the verdict of one result, the
 * metric and run phases after each measurement (limits, counts, dry runs,
 * precedence), retention, Job measurements, fixed-rate scheduling,
 * termination, invalid runs, the status round trip and building runs from
 * templates.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/run.h"
#include "analysis/run_internal.h"
#include "util/alloc.h"
#include "util/err.h"

#define T0 1800000000.0 /* 2027-01-15T08:00:00Z */

#define PROM                                                           \
	"\"provider\":{\"prometheus\":{\"address\":\"http://p:9090\"," \
	"\"query\":\"up\"}}"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j)
		fail_msg("bad JSON in test: %s: %s", e.text, text);
	return j;
}

/* Parses an AnalysisRun with spec {<extra> "metrics": <metrics>}. */
static void run_from(struct run *r, const char *metrics, const char *extra)
{
	char *text = xasprintf(
		"{\"metadata\":{\"name\":\"shop-abc-1-step-2\",\"namespace\":"
		"\"prod\",\"creationTimestamp\":\"2027-01-15T08:00:00Z\"},"
		"\"spec\":{%s\"metrics\":%s}}",
		extra ? extra : "", metrics);
	json_t *obj = load(text);
	char err[256] = "";

	assert_int_equal(run_parse(obj, r, err, sizeof(err)), 0);
	json_decref(obj);
	free(text);
}

static struct measurement meas(enum mphase p, const char *msg, double t)
{
	struct measurement m;

	memset(&m, 0, sizeof(m));
	m.phase = p;
	m.value = xstrdup("0.5");
	m.message = msg ? xstrdup(msg) : NULL;
	m.started_at = t;
	m.finished_at = t + 0.25;
	return m;
}

static enum mphase phase_of(char c)
{
	switch (c) {
	case 'S':
		return MPHASE_SUCCESSFUL;
	case 'F':
		return MPHASE_FAILED;
	case 'I':
		return MPHASE_INCONCLUSIVE;
	case 'R':
		return MPHASE_RUNNING;
	default:
		return MPHASE_ERROR;
	}
}

/* Records one measurement per letter of seq for metric i, 10 s apart. */
static void record_seq(struct run *r, size_t i, const char *seq)
{
	for (size_t k = 0; seq[k]; k++) {
		char msg[32];
		struct measurement m;

		snprintf(msg, sizeof(msg), "m%zu %c", k, seq[k]);
		m = meas(phase_of(seq[k]), msg, T0 + 10.0 * (double)k);
		run_record(r, i, &m, T0 + 10.0 * (double)k + 1);
		assert_null(m.message);
	}
}

/* ---- Names and resources ---- */

static void test_names(void **state)
{
	assert_string_equal(KNIT_ANALYSISRUNS.plural, "analysisruns");
	assert_string_equal(KNIT_ANALYSISRUNS.kind, "AnalysisRun");
	assert_string_equal(KNIT_ANALYSISRUNS.group, "knit.dev");
	assert_true(KNIT_ANALYSISRUNS.namespaced);
	assert_string_equal(KNIT_ANALYSISTEMPLATES.kind, "AnalysisTemplate");
	assert_true(KNIT_ANALYSISTEMPLATES.namespaced);
	assert_string_equal(KNIT_CLUSTERANALYSISTEMPLATES.plural,
			    "clusteranalysistemplates");
	assert_false(KNIT_CLUSTERANALYSISTEMPLATES.namespaced);
	for (int p = MPHASE_PENDING; p <= MPHASE_INCONCLUSIVE; p++)
		assert_int_equal(mphase_parse(mphase_name((enum mphase)p)), p);
	assert_string_equal(mphase_name(MPHASE_INCONCLUSIVE), "Inconclusive");
	assert_int_equal(mphase_parse("Succeeded"), -1);
	assert_int_equal(mphase_parse(NULL), -1);
	assert_false(mphase_done(MPHASE_PENDING));
	assert_false(mphase_done(MPHASE_RUNNING));
	assert_true(mphase_done(MPHASE_ERROR));
	assert_true(mphase_done(MPHASE_INCONCLUSIVE));
}

static void test_time_format(void **state)
{
	char buf[32];

	run_time_format(T0 + 0.123, buf, sizeof(buf));
	assert_string_equal(buf, "2027-01-15T08:00:00.123Z");
	run_time_format(T0 + 59.9996, buf, sizeof(buf));
	assert_string_equal(buf, "2027-01-15T08:01:00.000Z");
	run_time_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "");
	run_time_format(NAN, buf, sizeof(buf));
	assert_string_equal(buf, "");
	run_time_format(1e13, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

/* ---- metrics_parse ---- */

static void test_metrics_defaults(void **state)
{
	json_t *j = load(
		"[{\"name\":\"error-rate\"," PROM
		"},{\"name\":\"lat\",\"interval\":\"30s\",\"count\":5,"
		"\"initialDelay\":\"1m\",\"successCondition\":\"result < 0.5\","
		"\"failureLimit\":-1,\"inconclusiveLimit\":2,"
		"\"consecutiveErrorLimit\":-1,\"dryRun\":true,"
		"\"web\":{\"url\":\"http://w/x\",\"timeout\":\"5s\"}},"
		"{\"name\":\"job\",\"thresholdRange\":{\"max\":0.05},"
		"\"provider\":{\"job\":{\"spec\":{}}}}]");
	struct metric_spec *m;
	char err[256] = "";
	size_t n;

	assert_int_equal(metrics_parse(j, &m, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].name, "error-rate");
	assert_int_equal(m[0].failure_limit, 0);
	assert_int_equal(m[0].inconclusive_limit, 0);
	assert_int_equal(m[0].consecutive_error_limit, 4);
	assert_true(m[0].interval_s == 0 && m[0].count == 0);
	assert_int_equal(run_metric_want(&m[0]), 1);
	assert_int_equal(m[0].provider, PROVIDER_PROMETHEUS);
	assert_null(m[0].success);
	assert_false(m[0].has_threshold);
	/* the default timeout is filled into the provider's copy */
	assert_string_equal(json_string_value(json_object_get(
				    m[0].provider_spec, "timeout")),
			    "10s");
	assert_string_equal(
		json_string_value(json_object_get(m[0].provider_spec, "query")),
		"up");

	assert_true(m[1].interval_s == 30 && m[1].count == 5);
	assert_true(m[1].initial_delay_s == 60);
	assert_int_equal(run_metric_want(&m[1]), 5);
	assert_string_equal(m[1].success, "result < 0.5");
	assert_int_equal(m[1].failure_limit, -1);
	assert_int_equal(m[1].inconclusive_limit, 2);
	assert_int_equal(m[1].consecutive_error_limit, -1);
	assert_true(m[1].dry_run);
	assert_int_equal(m[1].provider, PROVIDER_WEB);
	assert_string_equal(json_string_value(json_object_get(
				    m[1].provider_spec, "timeout")),
			    "5s");

	assert_int_equal(m[2].provider, PROVIDER_JOB);
	assert_true(m[2].has_threshold);
	assert_true(isinf(m[2].min) && m[2].min < 0);
	assert_true(m[2].max == 0.05);
	metrics_release(m, n);
	json_decref(j);
}

struct bad_case {
	const char *metrics;
	const char *message; /* expected exactly, or as prefix with '*' */
};

static const struct bad_case BAD[] = {
	{"{}", "metrics: must be a list"},
	{"[]", "metrics: at least one metric is required"},
	{"[7]", "metrics[0]: must be an object"},
	{"[{" PROM "}]", "metrics[0].name: required"},
	{"[{\"name\":\"a\"," PROM "},{\"name\":\"a\"," PROM "}]",
	 "metrics[1].name: \"a\" is already the name of metrics[0]"},
	{"[{\"name\":\"a\",\"interval\":\"5x\"," PROM "}]",
	 "metrics[0].interval: \"5x\" is not a duration*"},
	{"[{\"name\":\"a\",\"interval\":\"0s\"," PROM "}]",
	 "metrics[0].interval: must be greater than 0"},
	{"[{\"name\":\"a\",\"initialDelay\":true," PROM "}]",
	 "metrics[0].initialDelay: must be a duration such as \"30s\""},
	{"[{\"name\":\"a\",\"count\":3," PROM "}]",
	 "metrics[0].interval: required when count is more than 1"},
	{"[{\"name\":\"a\",\"count\":-1," PROM "}]",
	 "metrics[0].count: must be at least 0"},
	{"[{\"name\":\"a\",\"failureLimit\":-2," PROM "}]",
	 "metrics[0].failureLimit: must be at least -1"},
	{"[{\"name\":\"a\",\"consecutiveErrorLimit\":\"4\"," PROM "}]",
	 "metrics[0].consecutiveErrorLimit: must be an integer"},
	{"[{\"name\":\"a\",\"dryRun\":1," PROM "}]",
	 "metrics[0].dryRun: must be true or false"},
	{"[{\"name\":\"a\",\"successCondition\":7," PROM "}]",
	 "metrics[0].successCondition: must be a string"},
	{"[{\"name\":\"a\",\"failureCondition\":\"SYNTAXERR ((\"," PROM "}]",
	 "metrics[0].failureCondition: *"},
	{"[{\"name\":\"a\",\"successCondition\":\"result < 1\","
	 "\"thresholdRange\":{\"max\":1}," PROM "}]",
	 "metrics[0].thresholdRange: cannot be combined with successCondition "
	 "or failureCondition"},
	{"[{\"name\":\"a\",\"thresholdRange\":{}," PROM "}]",
	 "metrics[0].thresholdRange: needs min or max"},
	{"[{\"name\":\"a\",\"thresholdRange\":{\"min\":2,\"max\":1}," PROM "}]",
	 "metrics[0].thresholdRange: min 2 is greater than max 1"},
	{"[{\"name\":\"a\"}]",
	 "metrics[0].provider: needs one of prometheus, web or job"},
	{"[{\"name\":\"a\",\"web\":{\"url\":\"u\"}," PROM "}]",
	 "metrics[0].provider: must set only one of prometheus, web or job"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"http://p\"}}]",
	 "metrics[0].prometheus.query: required"},
	{"[{\"name\":\"a\",\"provider\":{\"prometheus\":{\"query\":\"up\"}}}]",
	 "metrics[0].provider.prometheus.address: required"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"http://p\","
	 "\"query\":\"\"}}]",
	 "metrics[0].prometheus.query: required"},
	{"[{\"name\":\"a\",\"prometheus\":[]}]",
	 "metrics[0].prometheus: must be an object"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"a\",\"query\":\"q\","
	 "\"timeout\":\"2m\"}}]",
	 "metrics[0].prometheus.timeout: must be greater than 0 and at most "
	 "60s"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"a\",\"query\":\"q\","
	 "\"timeout\":\"0s\"}}]",
	 "metrics[0].prometheus.timeout: must be greater than 0 and at most "
	 "60s"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"a\",\"query\":\"q\","
	 "\"headers\":[{\"value\":\"v\"}]}}]",
	 "metrics[0].prometheus.headers[0].name: required"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"a\",\"query\":\"q\","
	 "\"authentication\":{\"bearer\":{\"secretKeyRef\":{\"name\":\"s\"}}}"
	 "}}]",
	 "metrics[0].prometheus.authentication.bearer.secretKeyRef.key: "
	 "required"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"a\",\"query\":\"q\","
	 "\"authentication\":{\"bearer\":{},\"basic\":{}}}}]",
	 "metrics[0].prometheus.authentication: only one of bearer or basic "
	 "may be set"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"a\",\"query\":\"q\","
	 "\"authentication\":{\"basic\":{\"username\":\"u\"}}}}]",
	 "metrics[0].prometheus.authentication.basic.passwordSecretKeyRef: "
	 "must be an object"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"a\",\"query\":\"q\","
	 "\"range\":{\"start\":\"10m\"}}}]",
	 "metrics[0].prometheus.range.step: required and greater than 0"},
	{"[{\"name\":\"a\",\"prometheus\":{\"address\":\"a\",\"query\":\"q\","
	 "\"range\":{\"start\":\"1m\",\"end\":\"5m\",\"step\":\"1m\"}}}]",
	 "metrics[0].prometheus.range: start must be further back than end"},
	{"[{\"name\":\"a\",\"web\":{}}]", "metrics[0].web.url: required"},
	{"[{\"name\":\"a\",\"web\":{\"url\":\"u\",\"method\":\"DELETE\"}}]",
	 "metrics[0].web.method: must be GET, POST or PUT, not \"DELETE\""},
	{"[{\"name\":\"a\",\"web\":{\"url\":\"u\",\"timeout\":\"61s\"}}]",
	 "metrics[0].web.timeout: must be greater than 0 and at most 60s"},
	{"[{\"name\":\"a\",\"job\":{}}]", "metrics[0].job.spec: required"},
	{"[{\"name\":\"a\",\"job\":{\"spec\":[]}}]",
	 "metrics[0].job.spec: must be an object"},
	{"[{\"name\":\"a\"," PROM "},{\"name\":\"b\",\"job\":{}}]",
	 "metrics[1].job.spec: required"},
};

static void test_metrics_errors(void **state)
{
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		json_t *j = load(BAD[i].metrics);
		struct metric_spec *m = (struct metric_spec *)&m;
		char err[512] = "";
		const char *want = BAD[i].message;
		size_t n = 99, star = strcspn(want, "*");

		assert_int_equal(metrics_parse(j, &m, &n, err, sizeof(err)),
				 ERR_INVAL);
		assert_null(m);
		assert_int_equal(n, 0);
		if (want[star] == '*') {
			if (strncmp(err, want, star) != 0)
				fail_msg("case %zu: got \"%s\"", i, err);
			assert_true(strlen(err) > star);
		} else if (strcmp(err, want) != 0) {
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
				 want);
		}
		json_decref(j);
	}
}

/* ---- run_judge ---- */

struct judge_case {
	const char *success, *failure;
	bool threshold;
	double min, max;
	const char *result; /* JSON */
	enum mphase want;
	const char *msg; /* substring of the message; "" for none */
};

static const struct judge_case JUDGE[] = {
	/* success only */
	{"result < 0.05", NULL, false, 0, 0, "0.01", MPHASE_SUCCESSFUL, ""},
	{"result[0] < 0.05", NULL, false, 0, 0, "[0.1995]", MPHASE_FAILED,
	 "result [0.1995] does not satisfy result[0] < 0.05"},
	/* failure only */
	{NULL, "result > 0.1", false, 0, 0, "0.2", MPHASE_FAILED,
	 "result 0.2 satisfies failureCondition result > 0.1"},
	{NULL, "result > 0.1", false, 0, 0, "0.05", MPHASE_SUCCESSFUL, ""},
	/* both */
	{"result < 0.05", "result > 0.1", false, 0, 0, "0.01",
	 MPHASE_SUCCESSFUL, ""},
	{"result < 0.05", "result > 0.1", false, 0, 0, "0.2", MPHASE_FAILED,
	 "satisfies failureCondition"},
	{"result < 0.05", "result > 0.1", false, 0, 0, "0.07",
	 MPHASE_INCONCLUSIVE,
	 "result 0.07 satisfies neither successCondition result < 0.05 nor "
	 "failureCondition result > 0.1"},
	/* failure is checked first, so it wins over success */
	{"result < 0.5", "result > 0.1", false, 0, 0, "0.2", MPHASE_FAILED,
	 "satisfies failureCondition"},
	/* errors */
	{"result[0] < 0.05", NULL, false, 0, 0, "[]", MPHASE_ERROR,
	 "out of range"},
	{NULL, "result[0] > 0.05", false, 0, 0, "[]", MPHASE_ERROR,
	 "condition result[0] > 0.05, result []"},
	/* no condition: any result is a success */
	{NULL, NULL, false, 0, 0, "[]", MPHASE_SUCCESSFUL, ""},
	/* thresholdRange */
	{NULL, NULL, true, 0, 0.05, "0.01", MPHASE_SUCCESSFUL, ""},
	{NULL, NULL, true, 0, 0.05, "[0.01,0.2]", MPHASE_FAILED,
	 "result [0.01, 0.2] is outside thresholdRange: 0.2 is above max 0.05"},
	{NULL, NULL, true, 0.9, INFINITY, "[[0.95,0.5]]", MPHASE_FAILED,
	 "0.5 is below min 0.9"},
	{NULL, NULL, true, 0.9, INFINITY, "[[0.95,0.99],[1]]",
	 MPHASE_SUCCESSFUL, ""},
	{NULL, NULL, true, 0, 1, "[]", MPHASE_ERROR, "the result is empty"},
	{NULL, NULL, true, 0, 1, "\"up\"", MPHASE_ERROR,
	 "thresholdRange needs numbers"},
};

static void test_judge(void **state)
{
	for (size_t i = 0; i < sizeof(JUDGE) / sizeof(JUDGE[0]); i++) {
		const struct judge_case *c = &JUDGE[i];
		struct metric_spec m;
		struct aval v;
		json_t *j = load(c->result);
		enum mphase p = MPHASE_PENDING;
		char msg[512] = "x";

		memset(&m, 0, sizeof(m));
		m.success = (char *)c->success;
		m.failure = (char *)c->failure;
		m.has_threshold = c->threshold;
		m.min = c->min;
		m.max = c->max;
		assert_int_equal(aval_from_json(j, &v, msg, sizeof(msg)), 0);
		run_judge(&m, &v, &p, msg, sizeof(msg));
		if (p != c->want || !strstr(msg, c->msg) || (!*c->msg && *msg))
			fail_msg("case %zu: got %s \"%s\"", i, mphase_name(p),
				 msg);
		aval_clear(&v);
		json_decref(j);
	}
}

static void test_judge_nan(void **state)
{
	struct metric_spec m;
	struct aval v;
	enum mphase p;
	char msg[256];

	memset(&m, 0, sizeof(m));
	m.success = "result < 0.05";
	aval_number(&v, NAN);
	run_judge(&m, &v, &p, msg, sizeof(msg));
	assert_int_equal(p, MPHASE_ERROR);
	assert_non_null(strstr(msg, "NaN"));
	m.success = NULL;
	m.has_threshold = true;
	m.min = 0;
	m.max = 1;
	run_judge(&m, &v, &p, msg, sizeof(msg));
	assert_int_equal(p, MPHASE_ERROR);
	assert_non_null(strstr(msg, "result is NaN"));
}

/* ---- run_record: limits and counts ---- */

struct seq_case {
	const char *fields; /* extra metric fields */
	const char *seq;    /* S F I E per measurement */
	enum mphase metric, run;
	const char *message; /* the metric's message; NULL: none */
};

static const struct seq_case SEQ[] = {
	/* no interval: one measurement */
	{"", "S", MPHASE_SUCCESSFUL, MPHASE_SUCCESSFUL,
	 "1 of 1 measurements successful"},
	{"", "F", MPHASE_FAILED, MPHASE_FAILED,
	 "failed 1 of 1 measurements (limit 0): m0 F"},
	{"", "I", MPHASE_INCONCLUSIVE, MPHASE_INCONCLUSIVE,
	 "inconclusive 1 of 1 measurements (limit 0): m0 I"},
	{"", "E", MPHASE_RUNNING, MPHASE_RUNNING, "1 consecutive errors: m0 E"},
	{"", "EEEEE", MPHASE_ERROR, MPHASE_ERROR,
	 "5 consecutive errors (limit 4): m4 E"},
	{"", "EES", MPHASE_SUCCESSFUL, MPHASE_SUCCESSFUL,
	 "1 of 3 measurements successful"},
	/* failureLimit */
	{"\"interval\":\"10s\",\"failureLimit\":1,", "F", MPHASE_RUNNING,
	 MPHASE_RUNNING, NULL},
	{"\"interval\":\"10s\",\"failureLimit\":1,", "FSF", MPHASE_FAILED,
	 MPHASE_FAILED, "failed 2 of 3 measurements (limit 1): m2 F"},
	{"\"interval\":\"10s\",\"failureLimit\":-1,", "FFFFFFFF",
	 MPHASE_RUNNING, MPHASE_RUNNING, NULL},
	{"\"interval\":\"10s\",\"count\":3,\"failureLimit\":-1,", "FFF",
	 MPHASE_INCONCLUSIVE, MPHASE_INCONCLUSIVE,
	 "no successful measurement in 3"},
	/* inconclusiveLimit */
	{"\"interval\":\"10s\",\"inconclusiveLimit\":1,", "SI", MPHASE_RUNNING,
	 MPHASE_RUNNING, NULL},
	{"\"interval\":\"10s\",\"inconclusiveLimit\":1,", "ISI",
	 MPHASE_INCONCLUSIVE, MPHASE_INCONCLUSIVE,
	 "inconclusive 2 of 3 measurements (limit 1): m2 I"},
	{"\"interval\":\"10s\",\"inconclusiveLimit\":-1,", "IIIIII",
	 MPHASE_RUNNING, MPHASE_RUNNING, NULL},
	/* consecutiveErrorLimit 4: the fifth consecutive error ends it */
	{"\"interval\":\"10s\",", "EEEE", MPHASE_RUNNING, MPHASE_RUNNING,
	 "4 consecutive errors: m3 E"},
	{"\"interval\":\"10s\",", "EEEEE", MPHASE_ERROR, MPHASE_ERROR,
	 "5 consecutive errors (limit 4): m4 E"},
	{"\"interval\":\"10s\",", "EEEESEEEE", MPHASE_RUNNING, MPHASE_RUNNING,
	 "4 consecutive errors: m8 E"},
	{"\"interval\":\"10s\",\"failureLimit\":5,", "EEEEFEEEE",
	 MPHASE_RUNNING, MPHASE_RUNNING, "4 consecutive errors: m8 E"},
	{"\"interval\":\"10s\",\"consecutiveErrorLimit\":0,", "E", MPHASE_ERROR,
	 MPHASE_ERROR, "1 consecutive errors (limit 0): m0 E"},
	{"\"interval\":\"10s\",\"consecutiveErrorLimit\":-1,", "EEEEEEEEEE",
	 MPHASE_RUNNING, MPHASE_RUNNING, "10 consecutive errors: m9 E"},
	/* count: errors are retried, not counted; one success is enough */
	{"\"interval\":\"10s\",\"count\":3,", "SSS", MPHASE_SUCCESSFUL,
	 MPHASE_SUCCESSFUL, "3 of 3 measurements successful"},
	{"\"interval\":\"10s\",\"count\":3,\"failureLimit\":1,", "SFS",
	 MPHASE_SUCCESSFUL, MPHASE_SUCCESSFUL,
	 "2 of 3 measurements successful"},
	{"\"interval\":\"10s\",\"count\":3,", "EESSS", MPHASE_SUCCESSFUL,
	 MPHASE_SUCCESSFUL, "3 of 5 measurements successful"},
	{"\"interval\":\"10s\",\"count\":2,", "EE", MPHASE_RUNNING,
	 MPHASE_RUNNING, "2 consecutive errors: m1 E"},
	{"\"interval\":\"10s\",\"count\":3,", "SS", MPHASE_RUNNING,
	 MPHASE_RUNNING, NULL},
	/* limits are checked in order: failed first */
	{"\"interval\":\"10s\",\"count\":1,", "F", MPHASE_FAILED, MPHASE_FAILED,
	 "failed 1 of 1 measurements (limit 0): m0 F"},
	/* dry run: measured, kept, never fails the run */
	{"\"dryRun\":true,", "F", MPHASE_FAILED, MPHASE_SUCCESSFUL,
	 "failed 1 of 1 measurements (limit 0): m0 F"},
};

static void test_record_sequences(void **state)
{
	for (size_t i = 0; i < sizeof(SEQ) / sizeof(SEQ[0]); i++) {
		const struct seq_case *c = &SEQ[i];
		char *metrics = xasprintf(
			"[{\"name\":\"error-rate\",%s" PROM "}]", c->fields);
		struct run r;
		const struct metric_result *res;

		run_from(&r, metrics, NULL);
		assert_null(r.invalid);
		assert_int_equal(r.phase, MPHASE_PENDING);
		record_seq(&r, 0, c->seq);
		res = &r.results[0];
		if (res->phase != c->metric || r.phase != c->run)
			fail_msg("case %zu: metric %s run %s", i,
				 mphase_name(res->phase), mphase_name(r.phase));
		if (c->message &&
		    (!res->message || strcmp(res->message, c->message) != 0))
			fail_msg("case %zu: message \"%s\"", i,
				 res->message ? res->message : "(null)");
		if (!c->message && res->message)
			fail_msg("case %zu: unexpected message \"%s\"", i,
				 res->message);
		assert_int_equal(res->count, (int)strlen(c->seq));
		run_release(&r);
		free(metrics);
	}
}

static void test_record_counters(void **state)
{
	struct run r;
	const struct metric_result *res;

	run_from(&r,
		 "[{\"name\":\"a\",\"interval\":\"10s\",\"failureLimit\":-1,"
		 "\"inconclusiveLimit\":-1," PROM "}]",
		 NULL);
	record_seq(&r, 0, "SFIEESFE");
	res = &r.results[0];
	assert_int_equal(res->count, 8);
	assert_int_equal(res->successful, 2);
	assert_int_equal(res->failed, 2);
	assert_int_equal(res->inconclusive, 1);
	assert_int_equal(res->error, 3);
	assert_int_equal(res->consecutive_error, 1);
	assert_int_equal(res->n_m, 8);
	assert_string_equal(res->m[7].message, "m7 E");
	assert_true(r.started_at == T0); /* creationTimestamp */
	assert_int_equal(r.phase, MPHASE_RUNNING);
	assert_null(r.message);
	run_release(&r);
}

static void test_run_messages(void **state)
{
	struct run r;

	run_from(&r, "[{\"name\":\"error-rate\"," PROM "}]", NULL);
	{
		struct measurement m = meas(
			MPHASE_FAILED,
			"result [0.1995] does not satisfy result[0] < 0.05",
			T0);
		run_record(&r, 0, &m, T0);
	}
	assert_int_equal(r.phase, MPHASE_FAILED);
	assert_string_equal(r.message,
			    "metric \"error-rate\" Failed: failed 1 of 1 "
			    "measurements (limit 0): result [0.1995] does not "
			    "satisfy result[0] < 0.05");
	run_release(&r);
}

static void test_precedence(void **state)
{
	static const char METRICS[] =
		"[{\"name\":\"a\",\"interval\":\"10s\"," PROM "},"
		"{\"name\":\"b\",\"interval\":\"10s\"," PROM "},"
		"{\"name\":\"c\",\"interval\":\"10s\"," PROM "},"
		"{\"name\":\"d\",\"interval\":\"10s\"," PROM "}]";
	struct run r;

	run_from(&r, METRICS, NULL);
	assert_int_equal(r.phase, MPHASE_PENDING);
	record_seq(&r, 0, "I");
	assert_int_equal(r.phase, MPHASE_INCONCLUSIVE);
	record_seq(&r, 1, "EEEEE");
	assert_int_equal(r.phase, MPHASE_ERROR);
	assert_non_null(strstr(r.message, "metric \"b\" Error: 5 "));
	record_seq(&r, 2, "F");
	assert_int_equal(r.phase, MPHASE_FAILED);
	assert_non_null(strstr(r.message, "metric \"c\" Failed"));
	/* d never finished: it just stops */
	assert_int_equal(r.results[3].phase, MPHASE_PENDING);
	run_release(&r);

	/* Running until every metric is done; all Successful -> Successful */
	run_from(&r, "[{\"name\":\"a\"," PROM "},{\"name\":\"b\"," PROM "}]",
		 NULL);
	record_seq(&r, 0, "S");
	assert_int_equal(r.phase, MPHASE_RUNNING);
	record_seq(&r, 1, "S");
	assert_int_equal(r.phase, MPHASE_SUCCESSFUL);
	assert_null(r.message);
	run_release(&r);
}

static void test_dry_run(void **state)
{
	struct run r;

	run_from(&r,
		 "[{\"name\":\"real\"," PROM "},{\"name\":\"shadow\","
		 "\"dryRun\":true," PROM "}]",
		 NULL);
	record_seq(&r, 1, "F");
	assert_int_equal(r.results[1].phase, MPHASE_FAILED);
	assert_int_equal(r.phase, MPHASE_RUNNING);
	record_seq(&r, 0, "S");
	assert_int_equal(r.phase, MPHASE_SUCCESSFUL);
	assert_string_equal(r.message,
			    "dry-run metric \"shadow\" Failed: failed 1 of 1 "
			    "measurements (limit 0): m0 F");
	run_release(&r);

	/* a real failure and a dry-run one: both in the message */
	run_from(&r,
		 "[{\"name\":\"real\"," PROM "},{\"name\":\"shadow\","
		 "\"dryRun\":true," PROM "}]",
		 NULL);
	record_seq(&r, 1, "I");
	record_seq(&r, 0, "F");
	assert_int_equal(r.phase, MPHASE_FAILED);
	assert_string_equal(r.message,
			    "metric \"real\" Failed: failed 1 of 1 "
			    "measurements (limit 0): m0 F; dry-run metric "
			    "\"shadow\" Inconclusive: inconclusive 1 of 1 "
			    "measurements (limit 0): m0 I");
	run_release(&r);
}

static void test_retention(void **state)
{
	struct run r;

	run_from(&r, "[{\"name\":\"a\",\"interval\":\"10s\"," PROM "}]",
		 "\"measurementRetention\":2,");
	assert_int_equal(r.retention, 2);
	record_seq(&r, 0, "SSS");
	assert_int_equal(r.results[0].n_m, 2);
	assert_int_equal(r.results[0].count, 3);
	assert_string_equal(r.results[0].m[0].message, "m1 S");
	assert_string_equal(r.results[0].m[1].message, "m2 S");
	run_release(&r);

	run_from(&r, "[{\"name\":\"a\",\"interval\":\"10s\"," PROM "}]", NULL);
	assert_int_equal(r.retention, 10);
	record_seq(&r, 0, "SSSSSSSSSSSS");
	assert_int_equal(r.results[0].n_m, 10);
	assert_string_equal(r.results[0].m[0].message, "m2 S");
	run_release(&r);

	run_from(&r, "[{\"name\":\"a\"," PROM "}]",
		 "\"measurementRetention\":101,");
	assert_string_equal(r.invalid,
			    "spec.measurementRetention: must be at most 100");
	run_release(&r);
}

static void test_job_measurement(void **state)
{
	struct run r;
	struct measurement m;
	double next;

	run_from(&r,
		 "[{\"name\":\"smoke\",\"provider\":{\"job\":{\"spec\":{"
		 "\"template\":{}}}}}]",
		 NULL);
	assert_int_equal(run_metric_due(&r, 0, T0 + 1, &next), DUE_MEASURE);
	memset(&m, 0, sizeof(m));
	m.phase = MPHASE_RUNNING;
	m.started_at = T0 + 1.5;
	m.job_name = xstrdup("shop-abc-1-step-2-smoke-1");
	run_record(&r, 0, &m, T0 + 1.5);
	assert_int_equal(r.results[0].phase, MPHASE_RUNNING);
	assert_int_equal(r.results[0].count, 0);
	assert_int_equal(r.phase, MPHASE_RUNNING);
	assert_int_equal(run_metric_due(&r, 0, T0 + 100, &next), DUE_CHECK_JOB);
	assert_true(next == 0);

	memset(&m, 0, sizeof(m));
	m.phase = MPHASE_SUCCESSFUL;
	m.message = xstrdup("Job completed");
	run_record(&r, 0, &m, T0 + 30);
	assert_int_equal(r.results[0].n_m, 1);
	assert_int_equal(r.results[0].count, 1);
	assert_int_equal(r.results[0].m[0].phase, MPHASE_SUCCESSFUL);
	assert_string_equal(r.results[0].m[0].job_name,
			    "shop-abc-1-step-2-smoke-1");
	assert_true(r.results[0].m[0].started_at == T0 + 1.5);
	assert_true(r.results[0].m[0].finished_at == T0 + 30);
	assert_int_equal(r.phase, MPHASE_SUCCESSFUL);
	assert_int_equal(run_metric_due(&r, 0, T0 + 100, &next), DUE_NONE);
	run_release(&r);
}

/* ---- Scheduling ---- */

static void test_schedule(void **state)
{
	struct run r;
	struct measurement m;
	double next = -1;

	run_from(&r,
		 "[{\"name\":\"a\",\"interval\":\"10s\",\"count\":3,"
		 "\"initialDelay\":\"30s\"," PROM "}]",
		 NULL);
	/* first at creation + initialDelay */
	assert_int_equal(run_metric_due(&r, 0, T0 + 10, &next), DUE_NONE);
	assert_true(next == T0 + 30);
	assert_int_equal(run_metric_due(&r, 0, T0 + 30, &next), DUE_MEASURE);
	assert_true(next == T0 + 30);
	/* fixed rate: from the previous startedAt, not the record time */
	m = meas(MPHASE_SUCCESSFUL, NULL, T0 + 30.2);
	run_record(&r, 0, &m, T0 + 31);
	assert_int_equal(run_metric_due(&r, 0, T0 + 35, &next), DUE_NONE);
	assert_true(fabs(next - (T0 + 40.2)) < 1e-9);
	/* after a restart long after: due now, once */
	assert_int_equal(run_metric_due(&r, 0, T0 + 1000, &next), DUE_MEASURE);
	m = meas(MPHASE_SUCCESSFUL, NULL, T0 + 1000);
	run_record(&r, 0, &m, T0 + 1000);
	assert_int_equal(run_metric_due(&r, 0, T0 + 1001, &next), DUE_NONE);
	assert_true(next == T0 + 1010);
	m = meas(MPHASE_SUCCESSFUL, NULL, T0 + 1010);
	run_record(&r, 0, &m, T0 + 1010);
	/* count reached */
	assert_int_equal(r.results[0].phase, MPHASE_SUCCESSFUL);
	assert_int_equal(run_metric_due(&r, 0, T0 + 2000, &next), DUE_NONE);
	assert_true(next == 0);
	assert_int_equal(run_metric_due(&r, 5, T0, &next), DUE_NONE);
	run_release(&r);
}

static void test_schedule_stopped(void **state)
{
	struct run r;
	double next = -1;
	json_t *obj = load("{\"metadata\":{\"name\":\"x\"},\"spec\":{"
			   "\"metrics\":[{\"name\":\"a\"," PROM "}]}}");
	char err[64];

	/* no creationTimestamp or startedAt: due at once */
	assert_int_equal(run_parse(obj, &r, err, sizeof(err)), 0);
	assert_true(r.started_at == 0);
	assert_int_equal(run_metric_due(&r, 0, T0, &next), DUE_MEASURE);
	r.terminate = true;
	assert_int_equal(run_metric_due(&r, 0, T0, &next), DUE_NONE);
	assert_true(next == 0);
	run_release(&r);
	json_decref(obj);

	run_from(&r, "[{\"name\":\"a\"," PROM "}]", NULL);
	r.phase = MPHASE_FAILED;
	assert_int_equal(run_metric_due(&r, 0, T0, &next), DUE_NONE);
	run_release(&r);
}

/* ---- Finishing ---- */

static void test_terminate(void **state)
{
	struct run r;
	struct measurement m;
	double next;

	run_from(&r,
		 "[{\"name\":\"a\",\"interval\":\"10s\"," PROM "},"
		 "{\"name\":\"b\",\"job\":{\"spec\":{}}}]",
		 NULL);
	record_seq(&r, 0, "SS");
	memset(&m, 0, sizeof(m));
	m.phase = MPHASE_RUNNING;
	m.job_name = xstrdup("j");
	run_record(&r, 1, &m, T0 + 5);
	assert_false(run_finish(&r, T0 + 50)); /* not asked to */
	r.terminate = true;
	assert_true(run_finish(&r, T0 + 50));
	assert_int_equal(r.phase, MPHASE_SUCCESSFUL);
	assert_string_equal(r.message, "terminated");
	assert_int_equal(r.results[0].phase, MPHASE_SUCCESSFUL);
	assert_string_equal(r.results[0].message, "terminated");
	assert_int_equal(r.results[1].m[0].phase, MPHASE_SUCCESSFUL);
	assert_true(r.results[1].m[0].finished_at == T0 + 50);
	assert_false(run_finish(&r, T0 + 60));
	assert_int_equal(run_metric_due(&r, 0, T0 + 100, &next), DUE_NONE);
	run_release(&r);

	/* a run that already failed stays failed */
	run_from(&r, "[{\"name\":\"a\"," PROM "}]", "\"terminate\":true,");
	assert_true(r.terminate);
	record_seq(&r, 0, "F");
	assert_false(run_finish(&r, T0 + 50));
	assert_int_equal(r.phase, MPHASE_FAILED);
	run_release(&r);
}

static void test_invalid(void **state)
{
	struct run r;
	json_t *obj;
	char err[128] = "";

	run_from(&r,
		 "[{\"name\":\"a\",\"prometheus\":{\"address\":\"http://p\"}}]",
		 NULL);
	assert_string_equal(r.invalid, "spec.metrics[0].prometheus.query: "
				       "required");
	assert_int_equal(r.n_metrics, 0);
	assert_true(run_finish(&r, T0));
	assert_int_equal(r.phase, MPHASE_ERROR);
	assert_string_equal(r.message, r.invalid);
	assert_false(run_finish(&r, T0));
	run_release(&r);

	run_from(&r, "[]", "\"args\":[{\"name\":\"x\"}],");
	assert_string_equal(r.invalid,
			    "spec.args[0]: needs value or "
			    "valueFrom.secretKeyRef; spec.metrics: at least "
			    "one metric is required");
	run_release(&r);

	obj = load("{\"metadata\":{\"name\":\"x\"}}");
	assert_int_equal(run_parse(obj, &r, err, sizeof(err)), 0);
	assert_string_equal(r.invalid, "spec: required");
	run_release(&r);
	json_decref(obj);

	obj = load("{\"metadata\":{},\"spec\":{}}");
	assert_int_equal(run_parse(obj, &r, err, sizeof(err)), ERR_PARSE);
	assert_string_equal(err, "AnalysisRun: metadata.name is required");
	json_decref(obj);
	obj = load("[]");
	assert_int_equal(run_parse(obj, &r, err, sizeof(err)), ERR_PARSE);
	json_decref(obj);
}

static void test_args(void **state)
{
	struct run r;

	run_from(&r, "[{\"name\":\"a\"," PROM "}]",
		 "\"args\":[{\"name\":\"service\",\"value\":\"shop\"},"
		 "{\"name\":\"token\",\"valueFrom\":{\"secretKeyRef\":{"
		 "\"name\":\"s\",\"key\":\"k\"}}}],");
	assert_null(r.invalid);
	assert_int_equal(r.n_args, 2);
	assert_string_equal(run_arg_value(&r, "service"), "shop");
	assert_null(run_arg_value(&r, "token"));
	assert_null(run_arg_value(&r, "nope"));
	assert_string_equal(r.args[1].secret_name, "s");
	assert_string_equal(r.args[1].secret_key, "k");
	run_release(&r);
}

/* ---- Status round trip ---- */

static json_t *with_status(const char *metrics, json_t *status)
{
	char *text = xasprintf(
		"{\"metadata\":{\"name\":\"r\",\"namespace\":\"prod\","
		"\"creationTimestamp\":\"2027-01-15T08:00:00Z\"},"
		"\"spec\":{\"measurementRetention\":3,\"metrics\":%s}}",
		metrics);
	json_t *obj = load(text);

	free(text);
	json_object_set_new(obj, "status", status);
	return obj;
}

static void test_round_trip(void **state)
{
	static const char METRICS[] =
		"[{\"name\":\"error-rate\",\"interval\":\"10s\","
		"\"failureLimit\":2," PROM "},"
		"{\"name\":\"shadow\",\"dryRun\":true,\"interval\":"
		"\"10s\"," PROM "},{\"name\":\"smoke\",\"job\":{\"spec\":{}}},"
		"{\"name\":\"never\",\"interval\":\"1m\"," PROM "}]";
	struct run r, r2;
	struct measurement m;
	json_t *obj, *st, *st2, *mr;
	char err[64], *a, *b;

	obj = with_status(METRICS, json_object());
	assert_int_equal(run_parse(obj, &r, err, sizeof(err)), 0);
	json_decref(obj);
	record_seq(&r, 0, "SFEIS");
	record_seq(&r, 1, "EF");
	memset(&m, 0, sizeof(m));
	m.phase = MPHASE_RUNNING;
	m.started_at = T0 + 0.123;
	m.job_name = xstrdup("smoke-1");
	run_record(&r, 2, &m, T0 + 0.5);
	st = run_status_json(&r);
	assert_string_equal(json_string_value(json_object_get(st, "startedAt")),
			    "2027-01-15T08:00:00.000Z");
	mr = json_array_get(json_object_get(st, "metricResults"), 2);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(mr, "measurements"), 0),
			"startedAt")),
		"2027-01-15T08:00:00.123Z");

	/* a result for a metric that no longer exists is dropped */
	json_array_append_new(
		json_object_get(st, "metricResults"),
		json_pack("{s:s, s:s}", "name", "gone", "phase", "Failed"));
	obj = with_status(METRICS, st);
	assert_int_equal(run_parse(obj, &r2, err, sizeof(err)), 0);
	json_decref(obj);
	st = run_status_json(&r);
	st2 = run_status_json(&r2);
	a = json_dumps(st, JSON_SORT_KEYS);
	b = json_dumps(st2, JSON_SORT_KEYS);
	assert_string_equal(a, b);
	assert_true(json_equal(st, st2));

	/* and the parsed run behaves the same */
	assert_int_equal(r2.phase, r.phase);
	assert_int_equal(r2.results[0].count, 5);
	assert_int_equal(r2.results[0].n_m, 3);
	assert_int_equal(r2.results[0].failed, 1);
	assert_int_equal(r2.results[1].consecutive_error, 0);
	assert_int_equal(r2.results[1].failed, 1);
	assert_int_equal(r2.results[3].phase, MPHASE_PENDING);
	assert_string_equal(r2.results[2].m[0].job_name, "smoke-1");
	assert_true(fabs(r2.results[2].m[0].started_at - (T0 + 0.123)) < 1e-6);
	assert_true(r2.results[2].m[0].finished_at == 0);
	assert_true(fabs(r2.results[0].m[2].finished_at -
			 r.results[0].m[2].finished_at) < 1e-6);
	free(a);
	free(b);
	json_decref(st);
	json_decref(st2);
	run_release(&r);
	run_release(&r2);
}

static void test_status_parse_trims(void **state)
{
	json_t *st = load(
		"{\"phase\":\"Running\",\"startedAt\":\"2027-01-15T08:00:05."
		"5Z\","
		"\"metricResults\":[{\"name\":\"a\",\"phase\":\"Running\","
		"\"count\":-4,\"successful\":99999999999,\"measurements\":["
		"{\"phase\":\"Successful\",\"message\":\"1\"},"
		"{\"phase\":\"Successful\",\"message\":\"2\"},7,"
		"{\"phase\":\"Bogus\",\"message\":\"3\"},"
		"{\"phase\":\"Failed\",\"message\":\"4\"}]}]}");
	json_t *obj = with_status(
		"[{\"name\":\"a\",\"interval\":\"1s\"," PROM "}]", st);
	struct run r;
	char err[64];

	assert_int_equal(run_parse(obj, &r, err, sizeof(err)), 0);
	assert_int_equal(r.phase, MPHASE_RUNNING);
	assert_true(r.started_at == T0 + 5.5);
	assert_int_equal(r.results[0].count, 0);
	assert_int_equal(r.results[0].successful, 2147483647);
	/* retention 3: the newest three items, one of them not an object */
	assert_int_equal(r.results[0].n_m, 2);
	assert_string_equal(r.results[0].m[0].message, "3");
	assert_int_equal(r.results[0].m[0].phase, MPHASE_ERROR);
	assert_string_equal(r.results[0].m[1].message, "4");
	run_release(&r);
	json_decref(obj);
}

/* ---- run_build ---- */

static const char TMPL_A[] =
	"{\"kind\":\"AnalysisTemplate\",\"metadata\":{\"name\":\"error-rate\"},"
	"\"spec\":{\"args\":[{\"name\":\"service\"},{\"name\":\"threshold\","
	"\"value\":\"0.05\"},{\"name\":\"token\",\"valueFrom\":{"
	"\"secretKeyRef\":{\"name\":\"prom\",\"key\":\"token\"}}}],"
	"\"metrics\":[{\"name\":\"errors\",\"successCondition\":\"result < "
	"0.05\",\"provider\":{\"prometheus\":{\"address\":\"http://p\","
	"\"query\":\"rate({{args.service}})\"}}}]}}";
static const char TMPL_B[] =
	"{\"kind\":\"ClusterAnalysisTemplate\",\"metadata\":{\"name\":"
	"\"latency\"},\"spec\":{\"args\":[{\"name\":\"service\",\"value\":"
	"\"default-svc\"}],\"metrics\":[{\"name\":\"p99\",\"interval\":\"1m\","
	"\"prometheus\":{\"address\":\"http://p\",\"query\":\"q\"}},{\"name\":"
	"\"p50\",\"web\":{\"url\":\"http://w\"}}]}}";

static void test_build(void **state)
{
	json_t *ta = load(TMPL_A), *tb = load(TMPL_B), *out = NULL;
	const json_t *tmpls[2] = {ta, tb};
	json_t *labels = json_pack("{s:s}", "knit.dev/rollout", "shop");
	json_t *owner = json_pack("{s:s, s:s, s:s, s:b}", "kind", "Rollout",
				  "name", "shop", "uid", "u1", "controller", 1);
	struct run_arg args[] = {
		{"service", "shop-canary", NULL, NULL},
		{"unused", "x", NULL, NULL},
		{"threshold", NULL, "cfg", "t"},
	};
	json_t *want_args = load(
		"[{\"name\":\"service\",\"value\":\"shop-canary\"},"
		"{\"name\":\"threshold\",\"valueFrom\":{\"secretKeyRef\":{"
		"\"name\":\"cfg\",\"key\":\"t\"}}},{\"name\":\"token\","
		"\"valueFrom\":{\"secretKeyRef\":{\"name\":\"prom\",\"key\":"
		"\"token\"}}}]");
	json_t *spec, *meta, *metrics;
	struct run r;
	char err[256] = "";

	assert_int_equal(run_build("prod", "shop-abc-1-step-2", tmpls, 2, args,
				   3, labels, owner, &out, err, sizeof(err)),
			 0);
	assert_string_equal(
		json_string_value(json_object_get(out, "apiVersion")),
		"knit.dev/v1alpha1");
	assert_string_equal(json_string_value(json_object_get(out, "kind")),
			    "AnalysisRun");
	meta = json_object_get(out, "metadata");
	assert_string_equal(json_string_value(json_object_get(meta, "name")),
			    "shop-abc-1-step-2");
	assert_string_equal(
		json_string_value(json_object_get(meta, "namespace")), "prod");
	assert_true(json_equal(json_object_get(meta, "labels"), labels));
	assert_int_equal(
		json_array_size(json_object_get(meta, "ownerReferences")), 1);
	assert_true(json_equal(
		json_array_get(json_object_get(meta, "ownerReferences"), 0),
		owner));
	spec = json_object_get(out, "spec");
	assert_true(json_equal(json_object_get(spec, "args"), want_args));
	assert_null(json_object_get(spec, "measurementRetention"));
	metrics = json_object_get(spec, "metrics");
	assert_int_equal(json_array_size(metrics), 3);
	assert_true(json_equal(
		json_array_get(metrics, 0),
		json_array_get(
			json_object_get(json_object_get(ta, "spec"), "metrics"),
			0)));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(metrics, 2), "name")),
			    "p50");
	/* deep copies: the templates are untouched by later edits */
	json_object_set_new(json_array_get(metrics, 0), "name",
			    json_string("changed"));
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(
				json_object_get(json_object_get(ta, "spec"),
						"metrics"),
				0),
			"name")),
		"errors");
	json_object_set_new(json_array_get(metrics, 0), "name",
			    json_string("errors"));

	/* what it builds is a valid run */
	assert_int_equal(run_parse(out, &r, err, sizeof(err)), 0);
	assert_null(r.invalid);
	assert_int_equal(r.n_metrics, 3);
	assert_string_equal(run_arg_value(&r, "service"), "shop-canary");
	assert_int_equal(r.phase, MPHASE_PENDING);
	run_release(&r);
	json_decref(out);

	/* no owner, no labels, defaults from the templates */
	{
		struct run_arg only = {"service", NULL, NULL, NULL};

		assert_int_equal(run_build("prod", "r2", tmpls + 1, 1, &only, 1,
					   NULL, NULL, &out, err, sizeof(err)),
				 0);
		meta = json_object_get(out, "metadata");
		assert_null(json_object_get(meta, "ownerReferences"));
		assert_null(json_object_get(meta, "labels"));
		assert_string_equal(
			json_string_value(json_object_get(
				json_array_get(
					json_object_get(
						json_object_get(out, "spec"),
						"args"),
					0),
				"value")),
			"default-svc");
		json_decref(out);
	}
	json_decref(ta);
	json_decref(tb);
	json_decref(labels);
	json_decref(owner);
	json_decref(want_args);
}

struct build_bad {
	const char *tmpl;
	const char *message;
};

static const struct build_bad BUILD_BAD[] = {
	{"{\"metadata\":{\"name\":\"t\"},\"spec\":{}}",
	 "analysis template \"t\": spec.metrics: required"},
	{"{\"metadata\":{\"name\":\"t\"}}",
	 "analysis template \"t\": spec: required"},
	{"[]", "analysis template 1: not an object"},
	{"{\"metadata\":{\"name\":\"t\"},\"spec\":{\"metrics\":[{\"name\":"
	 "\"x\",\"prometheus\":{\"address\":\"a\"}}]}}",
	 "analysis template \"t\": spec.metrics[0].prometheus.query: "
	 "required"},
	{"{\"metadata\":{\"name\":\"t\"},\"spec\":{\"metrics\":[{\"name\":"
	 "\"errors\",\"job\":{\"spec\":{}}}]}}",
	 "analysis template \"t\": metric \"errors\" is already defined by "
	 "analysis template \"error-rate\""},
	{"{\"metadata\":{\"name\":\"t\"},\"spec\":{\"args\":[{\"name\":"
	 "\"region\"}],\"metrics\":[{\"name\":\"y\",\"job\":{\"spec\":{}}}]}}",
	 "analysis template \"t\": argument \"region\" has no value"},
	{"{\"metadata\":{\"name\":\"t\"},\"spec\":{\"args\":[{\"value\":"
	 "\"v\"}],\"metrics\":[{\"name\":\"y\",\"job\":{\"spec\":{}}}]}}",
	 "analysis template \"t\": spec.args[0].name: required"},
	{"{\"metadata\":{\"name\":\"t\"},\"spec\":{\"args\":{},"
	 "\"metrics\":[{\"name\":\"y\",\"job\":{\"spec\":{}}}]}}",
	 "analysis template \"t\": spec.args: must be a list"},
};

static void test_build_errors(void **state)
{
	json_t *ta = load(TMPL_A);
	struct run_arg args[] = {{"service", "s", NULL, NULL}};
	char err[256];

	for (size_t i = 0; i < sizeof(BUILD_BAD) / sizeof(BUILD_BAD[0]); i++) {
		json_t *tb = load(BUILD_BAD[i].tmpl), *out = (json_t *)&out;
		const json_t *tmpls[2] = {ta, tb};

		err[0] = '\0';
		assert_int_equal(run_build("prod", "r", tmpls, 2, args, 1, NULL,
					   NULL, &out, err, sizeof(err)),
				 ERR_INVAL);
		assert_null(out);
		if (strcmp(err, BUILD_BAD[i].message) != 0)
			fail_msg("case %zu: got \"%s\"", i, err);
		json_decref(tb);
	}
	/* a template argument without a value and no caller arg */
	{
		json_t *out = NULL;
		const json_t *tmpls[1] = {ta};

		assert_int_equal(run_build("prod", "r", tmpls, 1, NULL, 0, NULL,
					   NULL, &out, err, sizeof(err)),
				 ERR_INVAL);
		assert_string_equal(err, "analysis template \"error-rate\": "
					 "argument \"service\" has no value");
		assert_int_equal(run_build("prod", "r", tmpls, 0, NULL, 0, NULL,
					   NULL, &out, err, sizeof(err)),
				 ERR_INVAL);
	}
	json_decref(ta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_metrics_defaults),
		cmocka_unit_test(test_metrics_errors),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_judge_nan),
		cmocka_unit_test(test_record_sequences),
		cmocka_unit_test(test_record_counters),
		cmocka_unit_test(test_run_messages),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_job_measurement),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_schedule_stopped),
		cmocka_unit_test(test_terminate),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_status_parse_trims),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

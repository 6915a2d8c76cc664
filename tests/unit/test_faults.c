/*
 * Unit tests for devcluster/faults: the JSON form of GET/PUT /admin/faults
 * (round trip and every error message), the deterministic choice of failing
 * requests, verb/resource/subresource matching, rule order, the watch-drop
 * schedule, the down window, and the command-line forms. Every failed
 * setter must leave the previous configuration untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "devcluster/faults.h"
#include "util/err.h"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("bad test JSON: %s at %d", err.text, err.position);
	return j;
}

/* Asserts that f printed at `now` equals the JSON `want`. */
static void assert_faults_json(const struct faults *f, double now,
			       const char *want)
{
	json_t *got = faults_to_json(f, now), *exp = parse(want);
	char *text = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	bool same = json_equal(got, exp);

	json_decref(got);
	json_decref(exp);
	if (!same)
		print_error("got  %s\nwant %s\n", text, want);
	free(text);
	assert_true(same);
}

/* Applies the JSON body `text` at `now`; returns the result code. */
static int put(struct faults *f, const char *text, double now, char *errbuf,
	       size_t errlen)
{
	json_t *cfg = parse(text);
	int rc = faults_from_json(f, cfg, now, errbuf, errlen);

	json_decref(cfg);
	return rc;
}

static void put_ok(struct faults *f, const char *text, double now)
{
	char err[256] = "";

	if (put(f, text, now, err, sizeof(err)) != 0)
		fail_msg("PUT %s failed: %s", text, err);
}

/* Code of one decision, for short pattern assertions. */
static int decide(struct faults *f, const char *verb, const char *group,
		  const char *resource, const char *sub)
{
	struct fault_decision d;

	faults_decide(f, verb, group, resource, sub, &d);
	return d.code;
}

/* ---- JSON form ---- */

static void test_json_round_trip(void **state)
{
	static const char *body =
		"{\"latencyMilliseconds\": 200,"
		" \"errors\": ["
		"  {\"code\": 503, \"rate\": 0.5, \"verbs\": [\"watch\", "
		"\"list\"], \"resources\": [\"pods\", \"rollouts.knit.dev/"
		"status\"]},"
		"  {\"code\": 429, \"rate\": 1, \"retryAfterSeconds\": 2},"
		"  {\"code\": 429, \"rate\": 0.25},"
		"  {\"code\": 500, \"rate\": 0.1, \"resources\": "
		"[\"replicasets.apps\"]}],"
		" \"dropWatchesEverySeconds\": 10,"
		" \"downForSeconds\": 5}";
	static const char *want =
		"{\"latencyMilliseconds\": 200,"
		" \"errors\": ["
		"  {\"code\": 503, \"rate\": 0.5, \"verbs\": [\"list\", "
		"\"watch\"], \"resources\": [\"pods\", \"rollouts.knit.dev/"
		"status\"]},"
		"  {\"code\": 429, \"rate\": 1.0, \"retryAfterSeconds\": 2},"
		"  {\"code\": 429, \"rate\": 0.25, \"retryAfterSeconds\": 1},"
		"  {\"code\": 500, \"rate\": 0.1, \"resources\": "
		"[\"replicasets.apps\"]}],"
		" \"dropWatchesEverySeconds\": 10,"
		" \"downForSeconds\": 5}";
	struct faults f, g;
	json_t *out;

	faults_init(&f);
	faults_init(&g);
	put_ok(&f, body, 100.0);
	assert_int_equal(f.nrules, 4);
	assert_faults_json(&f, 100.0, want);

	/* What GET returns is accepted by PUT and prints the same. */
	out = faults_to_json(&f, 100.0);
	assert_int_equal(faults_from_json(&g, out, 100.0, NULL, 0), 0);
	json_decref(out);
	assert_faults_json(&g, 100.0, want);
	faults_release(&f);
	faults_release(&g);
}

static void test_json_empty_and_nulls(void **state)
{
	struct faults f;

	faults_init(&f);
	assert_false(faults_any(&f, 0.0));
	assert_faults_json(&f, 0.0, "{}");
	put_ok(&f,
	       "{\"latencyMilliseconds\": 5, \"errors\": [{\"code\": 503,"
	       " \"rate\": 1}]}",
	       0.0);
	assert_true(faults_any(&f, 0.0));

	/* PUT replaces everything: null and missing members mean off. */
	put_ok(&f, "{\"latencyMilliseconds\": null, \"errors\": null}", 0.0);
	assert_false(faults_any(&f, 0.0));
	assert_int_equal(f.nrules, 0);
	assert_faults_json(&f, 0.0, "{}");
	put_ok(&f,
	       "{\"errors\": [{\"code\": 500, \"rate\": 1, \"verbs\": [],"
	       " \"resources\": []}]}",
	       0.0);
	assert_faults_json(&f, 0.0,
			   "{\"errors\": [{\"code\": 500, \"rate\": 1.0}]}");
	faults_release(&f);
}

static void test_json_errors_and_unchanged(void **state)
{
	static const struct {
		const char *body;
		const char *msg;
	} cases[] = {
		{"[1]", "body: not a JSON object"},
		{"{\"latency\": 5}", "unknown field \"latency\""},
		{"{\"latencyMilliseconds\": 60001}",
		 "latencyMilliseconds: must be an integer from 0 to 60000"},
		{"{\"latencyMilliseconds\": -1}",
		 "latencyMilliseconds: must be an integer from 0 to 60000"},
		{"{\"latencyMilliseconds\": \"200ms\"}",
		 "latencyMilliseconds: must be an integer from 0 to 60000"},
		{"{\"latencyMilliseconds\": 1.5}",
		 "latencyMilliseconds: must be an integer from 0 to 60000"},
		{"{\"dropWatchesEverySeconds\": 86401}",
		 "dropWatchesEverySeconds: must be an integer from 0 to 86400"},
		{"{\"downForSeconds\": 3601}",
		 "downForSeconds: must be an integer from 0 to 3600"},
		{"{\"errors\": {}}", "errors: must be an array"},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1}, \"x\"]}",
		 "errors[1]: must be an object"},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1},"
		 " {\"code\": 404, \"rate\": 1}]}",
		 "errors[1].code: must be 500, 503 or 429, got 404"},
		{"{\"errors\": [{\"code\": \"503\", \"rate\": 1}]}",
		 "errors[0].code: must be the integer 500, 503 or 429"},
		{"{\"errors\": [{\"rate\": 1}]}", "errors[0].code: required"},
		{"{\"errors\": [{\"code\": 503}]}", "errors[0].rate: required"},
		{"{\"errors\": [{\"code\": 503, \"rate\": 0}]}",
		 "errors[0].rate: must be a number greater than 0 and at most "
		 "1, got 0"},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1.5}]}",
		 "errors[0].rate: must be a number greater than 0 and at most "
		 "1, got 1.5"},
		{"{\"errors\": [{\"code\": 503, \"rate\": \"1\"}]}",
		 "errors[0].rate: must be a number greater than 0 and at most "
		 "1"},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1, \"verbs\":"
		 " [\"get\", \"list\", \"fetch\"]}]}",
		 "errors[0].verbs[2]: unknown verb \"fetch\""},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1, \"verbs\":"
		 " [\"get\", \"get\"]}]}",
		 "errors[0].verbs[1]: duplicate verb \"get\""},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1, \"verbs\": "
		 "\"get\"}]}",
		 "errors[0].verbs: must be an array of strings"},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1, \"verbs\": [3]}]}",
		 "errors[0].verbs[0]: must be a string"},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1, \"resources\":"
		 " [\"Pods\"]}]}",
		 "errors[0].resources[0]: invalid resource \"Pods\": want "
		 "lowercase RESOURCE[.GROUP][/SUBRESOURCE], e.g. \"pods\", "
		 "\"replicasets.apps\" or \"pods/status\""},
		{"{\"errors\": [{\"code\": 503, \"rate\": 1, \"resources\":"
		 " [\"pods.core\"]}]}",
		 "errors[0].resources[0]: the core group has no suffix: write "
		 "\"pods\" instead of \"pods.core\""},
		{"{\"errors\": [{\"code\": 429, \"rate\": 1, "
		 "\"retryAfterSeconds\":"
		 " 0}]}",
		 "errors[0].retryAfterSeconds: must be an integer from 1 to "
		 "3600"},
		{"{\"errors\": [{\"code\": 429, \"rate\": 1, \"retry\": 3}]}",
		 "errors[0]: unknown field \"retry\""},
	};
	static const char *before = "{\"latencyMilliseconds\": 7, \"errors\":"
				    " [{\"code\": 500, \"rate\": 0.5}],"
				    " \"downForSeconds\": 9}";
	struct faults f;
	char err[512];

	faults_init(&f);
	put_ok(&f, before, 0.0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(err, 0, sizeof(err));
		assert_int_equal(put(&f, cases[i].body, 0.0, err, sizeof(err)),
				 ERR_INVAL);
		if (strcmp(err, cases[i].msg) != 0)
			fail_msg("case %zu: got '%s'\nwant '%s'", i, err,
				 cases[i].msg);
		assert_faults_json(&f, 0.0, before);
	}
	faults_release(&f);
}

static void test_json_limits(void **state)
{
	json_t *cfg = json_object(), *rules = json_array(), *rule, *res;
	struct faults f;
	char err[256] = "", name[300];
	int rc;

	faults_init(&f);
	for (int i = 0; i < 33; i++)
		json_array_append_new(rules, json_pack("{s:i,s:f}", "code", 503,
						       "rate", 1.0));
	json_object_set(cfg, "errors", rules);
	rc = faults_from_json(&f, cfg, 0.0, err, sizeof(err));
	assert_int_equal(rc, ERR_INVAL);
	assert_string_equal(err, "errors: at most 32 rules, got 33");

	/* 32 rules are fine. */
	json_array_remove(rules, 32);
	assert_int_equal(faults_from_json(&f, cfg, 0.0, NULL, 0), 0);
	assert_int_equal(f.nrules, 32);

	/* 17 resources in one rule are not; nor a 254-character name. */
	rule = json_array_get(rules, 0);
	res = json_array();
	for (int i = 0; i < 17; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		json_array_append_new(res, json_string(name));
	}
	json_object_set_new(rule, "resources", res);
	rc = faults_from_json(&f, cfg, 0.0, err, sizeof(err));
	assert_int_equal(rc, ERR_INVAL);
	assert_string_equal(err,
			    "errors[0].resources: at most 16 entries, got 17");
	memset(name, 'a', 254);
	name[254] = '\0';
	json_object_set_new(rule, "resources", json_pack("[s]", name));
	rc = faults_from_json(&f, cfg, 0.0, err, sizeof(err));
	assert_int_equal(rc, ERR_INVAL);
	assert_string_equal(err, "errors[0].resources[0]: longer than 253 "
				 "characters");
	assert_int_equal(f.nrules, 32);
	assert_null(f.rules[0].resources[0].text);

	json_decref(rules);
	json_decref(cfg);
	faults_release(&f);
}

/* ---- deterministic selection ---- */

static void test_rate_half_alternates(void **state)
{
	struct faults f;
	int failed = 0;

	faults_init(&f);
	put_ok(&f, "{\"errors\": [{\"code\": 503, \"rate\": 0.5}]}", 0.0);
	for (int i = 1; i <= 10; i++) {
		int code = decide(&f, "get", "", "pods", NULL);

		assert_int_equal(code, i % 2 == 0 ? 503 : 0);
		failed += code != 0;
	}
	assert_int_equal(failed, 5);
	faults_release(&f);
}

static void test_rate_quarter_and_tenth(void **state)
{
	struct faults f;

	faults_init(&f);
	put_ok(&f, "{\"errors\": [{\"code\": 500, \"rate\": 0.25}]}", 0.0);
	for (int i = 1; i <= 12; i++)
		assert_int_equal(decide(&f, "list", "", "pods", NULL),
				 i % 4 == 0 ? 500 : 0);

	/* 0.1 added ten times is 0.999...: the epsilon makes it the 10th. */
	put_ok(&f, "{\"errors\": [{\"code\": 500, \"rate\": 0.1}]}", 0.0);
	for (int i = 1; i <= 30; i++)
		assert_int_equal(decide(&f, "list", "", "pods", NULL),
				 i % 10 == 0 ? 500 : 0);

	put_ok(&f, "{\"errors\": [{\"code\": 500, \"rate\": 1}]}", 0.0);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(decide(&f, NULL, NULL, NULL, NULL), 500);
	faults_release(&f);
}

static void test_decision_fields(void **state)
{
	struct faults f;
	struct fault_decision d;

	faults_init(&f);
	faults_decide(&f, "get", "", "pods", NULL, &d);
	assert_int_equal(d.code, 0);
	assert_int_equal(d.delay_ms, 0);

	put_ok(&f,
	       "{\"latencyMilliseconds\": 250, \"errors\": ["
	       "{\"code\": 429, \"rate\": 1, \"verbs\": [\"list\"],"
	       " \"retryAfterSeconds\": 3},"
	       "{\"code\": 429, \"rate\": 1, \"verbs\": [\"watch\"]},"
	       "{\"code\": 503, \"rate\": 1, \"verbs\": [\"create\"]}]}",
	       0.0);
	faults_decide(&f, "list", "", "pods", NULL, &d);
	assert_int_equal(d.code, 429);
	assert_int_equal(d.retry_after, 3);
	assert_int_equal(d.delay_ms, 250);
	faults_decide(&f, "watch", "", "pods", NULL, &d);
	assert_int_equal(d.code, 429);
	assert_int_equal(d.retry_after, 1);
	faults_decide(&f, "create", "", "pods", NULL, &d);
	assert_int_equal(d.code, 503);
	assert_int_equal(d.retry_after, 0);
	assert_int_equal(d.delay_ms, 250);
	faults_decide(&f, "get", "", "pods", NULL, &d);
	assert_int_equal(d.code, 0);
	assert_int_equal(d.retry_after, 0);
	assert_int_equal(d.delay_ms, 250);
	faults_release(&f);
}

/* ---- matching ---- */

static void test_match_verbs(void **state)
{
	struct faults f;

	faults_init(&f);
	put_ok(&f,
	       "{\"errors\": [{\"code\": 503, \"rate\": 1, \"verbs\":"
	       " [\"list\", \"watch\", \"deletecollection\"]}]}",
	       0.0);
	assert_int_equal(decide(&f, "get", "", "pods", NULL), 0);
	assert_int_equal(decide(&f, "list", "", "pods", NULL), 503);
	assert_int_equal(decide(&f, "watch", "apps", "deployments", NULL), 503);
	assert_int_equal(decide(&f, "deletecollection", "", "pods", NULL), 503);
	assert_int_equal(decide(&f, "delete", "", "pods", NULL), 0);
	assert_int_equal(decide(&f, "proxy", "", "pods", NULL), 0);
	assert_int_equal(decide(&f, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(decide(&f, "LIST", "", "pods", NULL), 0);
	faults_release(&f);
}

static void test_match_resources(void **state)
{
	struct faults f;

	faults_init(&f);
	put_ok(&f,
	       "{\"errors\": [{\"code\": 503, \"rate\": 1, \"resources\":"
	       " [\"pods\", \"deployments.apps\", "
	       "\"rollouts.knit.dev/status\", \"pods/log\"]}]}",
	       0.0);
	/* Core pods, no subresource; NULL group and "" sub mean none. */
	assert_int_equal(decide(&f, "get", "", "pods", NULL), 503);
	assert_int_equal(decide(&f, "get", NULL, "pods", ""), 503);
	assert_int_equal(decide(&f, "get", "", "pods", "status"), 0);
	assert_int_equal(decide(&f, "get", "", "pods", "log"), 503);
	assert_int_equal(decide(&f, "get", "apps", "pods", NULL), 0);
	assert_int_equal(decide(&f, "get", "", "services", NULL), 0);
	/* Groups must match exactly. */
	assert_int_equal(decide(&f, "list", "apps", "deployments", NULL), 503);
	assert_int_equal(decide(&f, "list", "", "deployments", NULL), 0);
	assert_int_equal(decide(&f, "list", "extensions", "deployments", NULL),
			 0);
	assert_int_equal(decide(&f, "patch", "apps", "deployments", "scale"),
			 0);
	/* Subresource of a custom resource in a dotted group. */
	assert_int_equal(decide(&f, "update", "knit.dev", "rollouts", NULL), 0);
	assert_int_equal(decide(&f, "update", "knit.dev", "rollouts", "status"),
			 503);
	assert_int_equal(decide(&f, "update", "dev", "rollouts", "status"), 0);
	/* Non-resource requests do not match a resources list. */
	assert_int_equal(decide(&f, "get", NULL, NULL, NULL), 0);
	faults_release(&f);
}

static void test_rule_order(void **state)
{
	struct faults f;

	faults_init(&f);
	/* Not chosen by the first rule -> the second still applies. */
	put_ok(&f,
	       "{\"errors\": ["
	       "{\"code\": 503, \"rate\": 0.5, \"resources\": [\"pods\"]},"
	       "{\"code\": 500, \"rate\": 1}]}",
	       0.0);
	for (int i = 1; i <= 6; i++)
		assert_int_equal(decide(&f, "get", "", "pods", NULL),
				 i % 2 == 0 ? 503 : 500);
	assert_int_equal(decide(&f, "get", "", "services", NULL), 500);

	/* A request the first rule fails is not counted by later rules. */
	put_ok(&f,
	       "{\"errors\": ["
	       "{\"code\": 500, \"rate\": 1, \"resources\": [\"pods\"]},"
	       "{\"code\": 503, \"rate\": 0.5}]}",
	       0.0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(decide(&f, "get", "", "pods", NULL), 500);
	assert_int_equal(decide(&f, "get", "", "services", NULL), 0);
	assert_int_equal(decide(&f, "get", "", "services", NULL), 503);
	assert_int_equal(decide(&f, "get", "", "services", NULL), 0);

	/* PUT restarts the accumulators. */
	put_ok(&f, "{\"errors\": [{\"code\": 503, \"rate\": 0.5}]}", 0.0);
	assert_int_equal(decide(&f, "get", "", "pods", NULL), 0);
	put_ok(&f, "{\"errors\": [{\"code\": 503, \"rate\": 0.5}]}", 0.0);
	assert_int_equal(decide(&f, "get", "", "pods", NULL), 0);
	assert_int_equal(decide(&f, "get", "", "pods", NULL), 503);
	faults_release(&f);
}

/* ---- watch drops and the down window ---- */

static void test_watch_drop_schedule(void **state)
{
	struct faults f;

	faults_init(&f);
	assert_false(faults_watch_drop_due(&f, 1e6));
	put_ok(&f, "{\"dropWatchesEverySeconds\": 10}", 100.0);
	assert_true(faults_any(&f, 100.0));
	assert_false(faults_watch_drop_due(&f, 100.0));
	assert_false(faults_watch_drop_due(&f, 109.999));
	assert_true(faults_watch_drop_due(&f, 110.0));
	assert_false(faults_watch_drop_due(&f, 110.0));
	assert_false(faults_watch_drop_due(&f, 119.5));
	assert_true(faults_watch_drop_due(&f, 120.5));
	/* Missed periods count as one drop; the grid is kept. */
	assert_true(faults_watch_drop_due(&f, 155.0));
	assert_false(faults_watch_drop_due(&f, 159.9));
	assert_true(faults_watch_drop_due(&f, 160.0));

	/* Re-applying restarts the schedule from now. */
	put_ok(&f, "{\"dropWatchesEverySeconds\": 5}", 161.0);
	assert_false(faults_watch_drop_due(&f, 165.0));
	assert_true(faults_watch_drop_due(&f, 166.0));
	put_ok(&f, "{}", 170.0);
	assert_false(faults_watch_drop_due(&f, 1e6));
	faults_release(&f);
}

static void test_down_window(void **state)
{
	struct faults f;

	faults_init(&f);
	assert_false(faults_is_down(&f, 0.0));
	put_ok(&f, "{\"downForSeconds\": 5}", 100.0);
	assert_true(faults_is_down(&f, 100.0));
	assert_true(faults_is_down(&f, 104.9));
	assert_false(faults_is_down(&f, 105.0));
	assert_faults_json(&f, 100.0, "{\"downForSeconds\": 5}");
	assert_faults_json(&f, 100.2, "{\"downForSeconds\": 5}");
	assert_faults_json(&f, 103.0, "{\"downForSeconds\": 2}");
	assert_faults_json(&f, 104.01, "{\"downForSeconds\": 1}");
	assert_faults_json(&f, 105.0, "{}");
	assert_true(faults_any(&f, 104.0));
	assert_false(faults_any(&f, 105.0));

	put_ok(&f, "{\"downForSeconds\": 0}", 200.0);
	assert_false(faults_is_down(&f, 200.0));
	faults_release(&f);
}

/* ---- command-line forms ---- */

static void test_flags_good(void **state)
{
	static const struct {
		const char *arg;
		int ms;
	} lat[] = {{"250ms", 250}, {"2s", 2000},   {"1.5s", 1500}, {"0", 0},
		   {"300", 300},   {"60s", 60000}, {"0.5ms", 1},   {"0ms", 0}};
	struct faults f;
	char err[256] = "";

	faults_init(&f);
	for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		f.latency_ms = -1;
		if (faults_set_latency_flag(&f, lat[i].arg, err, sizeof(err)))
			fail_msg("%s: %s", lat[i].arg, err);
		assert_int_equal(f.latency_ms, lat[i].ms);
	}

	assert_int_equal(faults_add_error_flag(&f, "503:0.5", err, sizeof(err)),
			 0);
	assert_int_equal(faults_add_error_flag(&f, "429:1:list,watch:pods:3",
					       err, sizeof(err)),
			 0);
	assert_int_equal(faults_add_error_flag(&f, "500:0.1::replicasets.apps",
					       err, sizeof(err)),
			 0);
	assert_int_equal(
		faults_add_error_flag(&f, "429:1:::", err, sizeof(err)), 0);
	assert_int_equal(faults_add_error_flag(
				 &f, "503:1:get:pods/status,rollouts.knit.dev",
				 err, sizeof(err)),
			 0);
	assert_int_equal(
		faults_set_drop_watches_flag(&f, "30", 10.0, err, sizeof(err)),
		0);
	assert_int_equal(faults_set_down_flag(&f, "5s", 10.0, err, sizeof(err)),
			 0);
	assert_faults_json(
		&f, 10.0,
		"{\"errors\": ["
		"{\"code\": 503, \"rate\": 0.5},"
		"{\"code\": 429, \"rate\": 1.0, \"verbs\": [\"list\", "
		"\"watch\"],"
		" \"resources\": [\"pods\"], \"retryAfterSeconds\": 3},"
		"{\"code\": 500, \"rate\": 0.1, \"resources\":"
		" [\"replicasets.apps\"]},"
		"{\"code\": 429, \"rate\": 1.0, \"retryAfterSeconds\": 1},"
		"{\"code\": 503, \"rate\": 1.0, \"verbs\": [\"get\"],"
		" \"resources\": [\"pods/status\", \"rollouts.knit.dev\"]}],"
		" \"dropWatchesEverySeconds\": 30, \"downForSeconds\": 5}");
	assert_true(faults_is_down(&f, 14.9));
	assert_false(faults_is_down(&f, 15.0));
	assert_false(faults_watch_drop_due(&f, 39.0));
	assert_true(faults_watch_drop_due(&f, 40.0));

	/* The flag rules decide like JSON ones. */
	assert_int_equal(decide(&f, "list", "apps", "replicasets", NULL), 429);
	assert_int_equal(decide(&f, "get", "", "pods", NULL), 503);

	assert_int_equal(
		faults_set_drop_watches_flag(&f, "0", 50.0, err, sizeof(err)),
		0);
	assert_int_equal(faults_set_down_flag(&f, "0", 10.0, err, sizeof(err)),
			 0);
	assert_false(faults_watch_drop_due(&f, 1e6));
	assert_false(faults_is_down(&f, 10.0));
	faults_release(&f);
}

static void test_flags_bad(void **state)
{
	static const struct {
		const char *arg;
		const char *msg; /* NULL: only check it fails */
	} lat[] = {
		{"abc", "--fault-latency: invalid duration \"abc\": want e.g. "
			"250ms, 2s, 1.5s or 0 (milliseconds)"},
		{"61s", "--fault-latency: must be at most 60s, got \"61s\""},
		{"60001", NULL},
		{"-5ms", NULL},
		{"1.5", NULL},
		{"", NULL},
		{"ms", NULL},
		{"5m", NULL},
		{"1e3", NULL},
		{"inf", NULL},
		{"0x10", NULL},
		{" 5", NULL},
	};
	static const struct {
		const char *spec;
		const char *msg;
	} errs[] = {
		{"404:1", "--fault-error \"404:1\": code: must be 500, 503 or "
			  "429, got 404"},
		{"x:1", "--fault-error \"x:1\": code: must be 500, 503 or "
			"429, got \"x\""},
		{"503", "--fault-error \"503\": want CODE:RATE[:VERBS"
			"[:RESOURCES[:RETRY_AFTER]]], e.g. 503:0.5"},
		{"503:0", "--fault-error \"503:0\": rate: must be a number "
			  "greater than 0 and at most 1, got 0"},
		{"503:1.5", "--fault-error \"503:1.5\": rate: must be a number "
			    "greater than 0 and at most 1, got 1.5"},
		{"503:half", "--fault-error \"503:half\": rate: must be a "
			     "number greater than 0 and at most 1, got "
			     "\"half\""},
		{"503:1:list,fetch", "--fault-error \"503:1:list,fetch\": "
				     "verbs[1]: unknown verb \"fetch\""},
		{"503:1:list,,watch", "--fault-error \"503:1:list,,watch\": "
				      "verbs[1]: empty entry"},
		{"503:1::pods,Deployments.apps",
		 "--fault-error \"503:1::pods,Deployments.apps\": "
		 "resources[1]: invalid resource \"Deployments.apps\": want "
		 "lowercase RESOURCE[.GROUP][/SUBRESOURCE], e.g. \"pods\", "
		 "\"replicasets.apps\" or \"pods/status\""},
		{"503:1::pods/status/x", NULL},
		{"503:1::pods.", NULL},
		{"503:1::.apps", NULL},
		{"503:1::pods..apps", NULL},
		{"503:1::/status", NULL},
		{"429:1:::0", "--fault-error \"429:1:::0\": retry-after: must "
			      "be an integer from 1 to 3600"},
		{"429:1:::3601", NULL},
		{"429:1:::x", NULL},
		{"503:1:get:pods:1:x",
		 "--fault-error \"503:1:get:pods:1:x\": want CODE:RATE[:VERBS"
		 "[:RESOURCES[:RETRY_AFTER]]], e.g. 503:0.5"},
	};
	struct faults f;
	char err[512];
	json_t *before;

	faults_init(&f);
	assert_int_equal(faults_set_latency_flag(&f, "100ms", NULL, 0), 0);
	assert_int_equal(faults_add_error_flag(&f, "500:0.5", NULL, 0), 0);
	before = faults_to_json(&f, 0.0);
	for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		err[0] = '\0';
		assert_int_equal(faults_set_latency_flag(&f, lat[i].arg, err,
							 sizeof(err)),
				 ERR_INVAL);
		if (lat[i].msg && strcmp(err, lat[i].msg) != 0)
			fail_msg("latency %zu: got '%s'", i, err);
		assert_true(err[0] != '\0');
	}
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		err[0] = '\0';
		assert_int_equal(faults_add_error_flag(&f, errs[i].spec, err,
						       sizeof(err)),
				 ERR_INVAL);
		if (errs[i].msg && strcmp(err, errs[i].msg) != 0)
			fail_msg("error %zu: got '%s'\nwant '%s'", i, err,
				 errs[i].msg);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(faults_set_drop_watches_flag(&f, "86401", 0.0, err,
						      sizeof(err)),
			 ERR_INVAL);
	assert_string_equal(err, "--fault-drop-watches-every: must be whole "
				 "seconds from 0 to 86400, got \"86401\"");
	assert_int_equal(
		faults_set_drop_watches_flag(&f, "-1", 0.0, err, sizeof(err)),
		ERR_INVAL);
	assert_int_equal(faults_set_down_flag(&f, "1.5", 0.0, err, sizeof(err)),
			 ERR_INVAL);
	assert_string_equal(err, "--fault-down-for: must be whole seconds "
				 "from 0 to 3600, got \"1.5\"");
	assert_int_equal(faults_set_down_flag(&f, "s", 0.0, err, sizeof(err)),
			 ERR_INVAL);

	/* Nothing changed. */
	{
		json_t *after = faults_to_json(&f, 0.0);

		assert_true(json_equal(before, after));
		json_decref(after);
	}
	assert_int_equal(f.nrules, 1);
	json_decref(before);
	faults_release(&f);
}

static void test_flags_rule_limit(void **state)
{
	struct faults f;
	char err[256];

	faults_init(&f);
	for (int i = 0; i < FAULTS_MAX_RULES; i++)
		assert_int_equal(faults_add_error_flag(&f, "503:1::pods", err,
						       sizeof(err)),
				 0);
	assert_int_equal(faults_add_error_flag(&f, "503:1", err, sizeof(err)),
			 ERR_INVAL);
	assert_string_equal(err, "--fault-error \"503:1\": at most 32 rules");
	assert_int_equal(f.nrules, FAULTS_MAX_RULES);
	faults_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_empty_and_nulls),
		cmocka_unit_test(test_json_errors_and_unchanged),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_rate_half_alternates),
		cmocka_unit_test(test_rate_quarter_and_tenth),
		cmocka_unit_test(test_decision_fields),
		cmocka_unit_test(test_match_verbs),
		cmocka_unit_test(test_match_resources),
		cmocka_unit_test(test_rule_order),
		cmocka_unit_test(test_watch_drop_schedule),
		cmocka_unit_test(test_down_window),
		cmocka_unit_test(test_flags_good),
		cmocka_unit_test(test_flags_bad),
		cmocka_unit_test(test_flags_rule_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

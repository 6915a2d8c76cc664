/*
 * Unit tests for rollout/rollout: parsing a Rollout (defaults, every
 * InvalidSpec rule, pause durations), the status decisions, pending
 * operation requests and who asked for them, the revision hash and the
 * ReplicaSet built for a revision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollout/rollout.h"
#include "rollout/rollout_internal.h"
#include "util/err.h"
#include "util/rfc3339.h"

static const char BASE[] =
	"{\"apiVersion\":\"knit.dev/v1alpha1\",\"kind\":\"Rollout\","
	"\"metadata\":{\"name\":\"shop\",\"namespace\":\"prod\",\"uid\":\"u-"
	"1\","
	"\"resourceVersion\":\"42\",\"generation\":3},"
	"\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"shop\"}},"
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"shop\"}},"
	"\"spec\":{\"containers\":[{\"name\":\"shop\","
	"\"image\":\"registry.example/shop:1.0\"}]}}}}";

static json_t *base(void)
{
	json_t *o = json_loads(BASE, 0, NULL);

	assert_non_null(o);
	return o;
}

static json_t *spec_of(json_t *o)
{
	return json_object_get(o, "spec");
}

/* Sets spec.<key> to the JSON text `value`. */
static void set_spec(json_t *o, const char *key, const char *value)
{
	json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	json_object_set_new(spec_of(o), key, v);
}

static void parse_ok(json_t *o, struct rollout *r)
{
	char err[128] = "";

	assert_int_equal(rollout_parse(o, r, err, sizeof(err)), 0);
}

/* Parses `o` (consumed) and checks exactly one InvalidSpec sentence that
 * starts with `prefix`. */
static void expect_invalid(json_t *o, const char *prefix)
{
	struct rollout r;

	parse_ok(o, &r);
	json_decref(o);
	if (r.n_invalid != 1)
		fail_msg("expected 1 sentence starting '%s', got %zu (%s)",
			 prefix, r.n_invalid, r.n_invalid ? r.invalid[0] : "-");
	if (strncmp(r.invalid[0], prefix, strlen(prefix)) != 0)
		fail_msg("'%s' does not start with '%s'", r.invalid[0], prefix);
	rollout_release(&r);
}

static void test_defaults(void **state)
{
	json_t *o = base();
	struct rollout r;

	(void)state;
	parse_ok(o, &r);
	assert_int_equal(r.n_invalid, 0);
	assert_string_equal(r.ns, "prod");
	assert_string_equal(r.name, "shop");
	assert_string_equal(r.uid, "u-1");
	assert_string_equal(r.resource_version, "42");
	assert_int_equal(r.generation, 3);
	assert_int_equal(r.spec.replicas, 1);
	assert_int_equal(r.spec.min_ready_seconds, 0);
	assert_int_equal(r.spec.revision_history_limit, 10);
	assert_int_equal(r.spec.progress_deadline_s, 600);
	assert_true(r.spec.progress_deadline_abort);
	assert_false(r.spec.paused);
	assert_null(r.spec.restart_at);
	assert_int_equal(r.spec.strategy, STRATEGY_ROLLING);
	assert_true(r.spec.max_surge.percent);
	assert_int_equal(r.spec.max_surge.value, 25);
	assert_true(r.spec.max_unavailable.percent);
	assert_int_equal(r.spec.max_unavailable.value, 25);
	assert_non_null(r.spec.template);
	assert_non_null(r.spec.selector);
	/* status absent: {} and "nothing decided yet" */
	assert_true(json_is_object(r.status));
	assert_int_equal(json_object_size(r.status), 0);
	assert_null(r.st.current_pod_hash);
	assert_null(r.st.stable_rs);
	assert_int_equal(r.st.current_step_index, -1);
	assert_int_equal(r.st.canary_replicas_override, -1);
	assert_int_equal(r.st.canary_weight_override, -1);
	assert_true(r.st.pause_start == 0);
	assert_int_equal(r.n_requests, 0);
	assert_null(r.template_manager);
	assert_null(r.change_cause);
	rollout_release(&r);
	json_decref(o);
}

static void test_strategy_defaults(void **state)
{
	json_t *o = base();
	struct rollout r;

	(void)state;
	set_spec(o, "strategy",
		 "{\"blueGreen\":{\"activeService\":\"shop-active\"}}");
	parse_ok(o, &r);
	assert_int_equal(r.n_invalid, 0);
	assert_int_equal(r.spec.strategy, STRATEGY_BLUEGREEN);
	assert_string_equal(r.spec.active_service, "shop-active");
	assert_null(r.spec.preview_service);
	assert_true(r.spec.auto_promotion_enabled);
	assert_int_equal(r.spec.auto_promotion_seconds, 0);
	assert_int_equal(r.spec.preview_replica_count, -1);
	assert_int_equal(r.spec.scale_down_delay_seconds, 30);
	rollout_release(&r);

	set_spec(
		o, "strategy",
		"{\"canary\":{\"maxSurge\":2,\"maxUnavailable\":\"0%\","
		"\"stableService\":\"s\",\"canaryService\":\"c\","
		"\"steps\":[{\"setWeight\":20},{\"pause\":{}},"
		"{\"pause\":{\"duration\":\"1h30m\"}},"
		"{\"pause\":{\"duration\":45}},"
		"{\"setCanaryScale\":{\"replicas\":3}},"
		"{\"setCanaryScale\":{\"matchTrafficWeight\":true}},"
		"{\"analysis\":{\"templates\":[{\"templateName\":\"x\"}]}}]}}");
	parse_ok(o, &r);
	assert_int_equal(r.n_invalid, 0);
	assert_int_equal(r.spec.strategy, STRATEGY_CANARY);
	assert_false(r.spec.max_surge.percent);
	assert_int_equal(r.spec.max_surge.value, 2);
	assert_true(r.spec.max_unavailable.percent);
	assert_int_equal(r.spec.max_unavailable.value, 0);
	assert_string_equal(r.spec.stable_service, "s");
	assert_string_equal(r.spec.canary_service, "c");
	assert_int_equal(r.spec.n_steps, 7);
	assert_int_equal(r.spec.steps[0].kind, STEP_SET_WEIGHT);
	assert_int_equal(r.spec.steps[0].weight, 20);
	assert_int_equal(r.spec.steps[1].kind, STEP_PAUSE);
	assert_true(r.spec.steps[1].duration_s < 0);
	assert_true(r.spec.steps[2].duration_s == 5400);
	assert_true(r.spec.steps[3].duration_s == 45);
	assert_int_equal(r.spec.steps[4].kind, STEP_SET_CANARY_SCALE);
	assert_int_equal(r.spec.steps[4].scale_replicas, 3);
	assert_int_equal(r.spec.steps[4].scale_weight, -1);
	assert_false(r.spec.steps[4].scale_match);
	assert_true(r.spec.steps[5].scale_match);
	assert_int_equal(r.spec.steps[5].scale_replicas, -1);
	assert_int_equal(r.spec.steps[6].kind, STEP_ANALYSIS);
	rollout_release(&r);
	json_decref(o);
}

static void test_invalid_rules(void **state)
{
	json_t *o;

	(void)state;
	o = base();
	json_object_del(spec_of(o), "selector");
	expect_invalid(o, "spec.selector: ");
	o = base();
	set_spec(o, "selector", "{}");
	expect_invalid(o, "spec.selector: ");
	o = base();
	set_spec(o, "selector", "{\"matchLabels\":{\"app\":\"other\"}}");
	expect_invalid(o, "spec.selector: does not match");
	o = base();
	set_spec(o, "selector",
		 "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":"
		 "\"NotIn\",\"values\":[\"shop\"]}]}");
	expect_invalid(o, "spec.selector: does not match");
	o = base();
	json_object_del(spec_of(o), "template");
	expect_invalid(o, "spec.template: is required");
	o = base();
	set_spec(o, "strategy",
		 "{\"canary\":{},\"blueGreen\":{\"activeService\":\"a\"}}");
	expect_invalid(o, "spec.strategy: only one of");
	o = base();
	set_spec(o, "strategy", "{\"canary\":{\"steps\":[{}]}}");
	expect_invalid(o, "spec.strategy.canary.steps[0]: must set exactly");
	o = base();
	set_spec(o, "strategy",
		 "{\"canary\":{\"steps\":[{\"setWeight\":5},"
		 "{\"setWeight\":10,\"pause\":{}}]}}");
	expect_invalid(o, "spec.strategy.canary.steps[1]: must set exactly");
	o = base();
	set_spec(o, "strategy",
		 "{\"canary\":{\"steps\":[{\"setWeight\":150}]}}");
	expect_invalid(o, "spec.strategy.canary.steps[0].setWeight: must be "
			  "between 0 and 100");
	o = base();
	set_spec(o, "strategy",
		 "{\"canary\":{\"steps\":[{\"setWeight\":-1}]}}");
	expect_invalid(o, "spec.strategy.canary.steps[0].setWeight:");
	o = base();
	set_spec(
		o, "strategy",
		"{\"canary\":{\"steps\":[{\"pause\":{\"duration\":\"5x\"}}]}}");
	expect_invalid(o, "spec.strategy.canary.steps[0].pause.duration: "
			  "invalid duration \"5x\"");
	o = base();
	set_spec(o, "strategy",
		 "{\"canary\":{\"steps\":[{\"setCanaryScale\":{\"replicas\":1,"
		 "\"weight\":5}}]}}");
	expect_invalid(o, "spec.strategy.canary.steps[0].setCanaryScale: "
			  "must set exactly one");
	o = base();
	set_spec(o, "replicas", "-1");
	expect_invalid(o, "spec.replicas: must be greater than or equal to 0");
	o = base();
	set_spec(o, "revisionHistoryLimit", "-3");
	expect_invalid(o, "spec.revisionHistoryLimit: ");
	o = base();
	set_spec(o, "progressDeadlineSeconds", "-3");
	expect_invalid(o, "spec.progressDeadlineSeconds: ");
	o = base();
	set_spec(o, "strategy", "{\"blueGreen\":{\"previewService\":\"p\"}}");
	expect_invalid(o, "spec.strategy.blueGreen.activeService: is required");
	o = base();
	set_spec(o, "strategy",
		 "{\"blueGreen\":{\"activeService\":\"a\","
		 "\"previewService\":\"a\"}}");
	expect_invalid(o, "spec.strategy.blueGreen.previewService: must "
			  "differ from activeService");
	o = base();
	set_spec(o, "strategy",
		 "{\"canary\":{\"stableService\":\"s\","
		 "\"canaryService\":\"s\"}}");
	expect_invalid(o, "spec.strategy.canary.canaryService: must differ "
			  "from stableService");
	o = base();
	set_spec(o, "strategy", "{\"rollingUpdate\":{\"maxSurge\":\"abc\"}}");
	expect_invalid(o, "spec.strategy.rollingUpdate.maxSurge: ");
	o = base();
	set_spec(o, "restartAt", "\"yesterday\"");
	expect_invalid(o, "spec.restartAt: ");
}

static void test_not_a_rollout(void **state)
{
	struct rollout r;
	char err[128] = "";
	json_t *o = json_pack("{s:{}}", "metadata");
	json_t *a = json_array();

	(void)state;
	assert_int_equal(rollout_parse(o, &r, err, sizeof(err)), ERR_PARSE);
	assert_non_null(strstr(err, "metadata.name"));
	assert_int_equal(rollout_parse(a, &r, err, sizeof(err)), ERR_PARSE);
	json_decref(o);
	json_decref(a);
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		double secs;
	} good[] = {{"30s", 30},     {"5m", 300},     {"1h", 3600},
		    {"1h30m", 5400}, {"250ms", 0.25}, {"45", 45},
		    {"0", 0},	     {"1.5h", 5400},  {"2m3s", 123}};
	static const char *const bad[] = {"",	  "5x", "-1s", "m",	 "1h ",
					  "30 s", "1d", "s30", "1.2.3s", "abc"};
	double d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		d = -1;
		assert_int_equal(rollout_duration_parse(good[i].text, &d), 0);
		if (d != good[i].secs)
			fail_msg("%s: got %g", good[i].text, d);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = -7;
		if (rollout_duration_parse(bad[i], &d) != ERR_PARSE)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(d == -7);
	}
	assert_int_equal(rollout_duration_parse(NULL, &d), ERR_PARSE);
}

static void test_intstr_resolve(void **state)
{
	int s, u;

	(void)state;
	intstr_resolve((struct intstr){true, 25}, (struct intstr){true, 25}, 10,
		       &s, &u);
	assert_int_equal(s, 3); /* 2.5 rounds up */
	assert_int_equal(u, 2); /* 2.5 rounds down */
	intstr_resolve((struct intstr){false, 0}, (struct intstr){true, 25}, 3,
		       &s, &u);
	assert_int_equal(s, 0);
	assert_int_equal(u, 1); /* 0 and 0 would never move */
	intstr_resolve((struct intstr){false, 2}, (struct intstr){false, 0}, 5,
		       &s, &u);
	assert_int_equal(s, 2);
	assert_int_equal(u, 0);
	intstr_resolve((struct intstr){true, 100}, (struct intstr){true, 0}, 1,
		       &s, &u);
	assert_int_equal(s, 1);
	assert_int_equal(u, 0);
}

static void test_hash(void **state)
{
	json_t *a = json_loads(
		"{\"metadata\":{\"labels\":{\"app\":\"shop\"}},\"spec\":"
		"{\"containers\":[{\"name\":\"shop\",\"image\":"
		"\"registry.example/shop:1.0\"}]}}",
		0, NULL);
	json_t *b =
		json_loads("{\"spec\":{\"containers\":[{\"image\":"
			   "\"registry.example/shop:1.0\",\"name\":\"shop\"}]},"
			   "\"metadata\":{\"labels\":{\"app\":\"shop\"}}}",
			   0, NULL);
	char ha[16], hb[16], hc[16], hd[16];
	size_t i;

	(void)state;
	rollout_template_hash(a, 0, ha);
	rollout_template_hash(b, 0, hb);
	/* FNV-32a of the sorted compact JSON is 2978800150; each decimal
	 * digit goes through the safe alphabet. */
	assert_string_equal(ha, "6fcdd44594");
	assert_string_equal(ha, hb);
	rollout_template_hash(a, 1, hc);
	assert_string_equal(hc, "65d45b8c87");
	assert_string_not_equal(hc, ha);
	json_object_set_new(
		json_array_get(json_object_get(json_object_get(b, "spec"),
					       "containers"),
			       0),
		"image", json_string("registry.example/shop:2.0"));
	rollout_template_hash(b, 0, hd);
	assert_string_not_equal(hd, ha);
	for (i = 0; hd[i]; i++)
		assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", hd[i]));
	rollout_json_hash(a, hc);
	assert_string_equal(hc, ha);
	json_decref(a);
	json_decref(b);
}

static void test_images(void **state)
{
	json_t *t = json_loads(
		"{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"a:1\"},"
		"{\"name\":\"b\",\"image\":\"b:2\"}]}}",
		0, NULL);
	json_t *empty = json_object();
	char *s;

	(void)state;
	s = rollout_template_images(t);
	assert_string_equal(s, "a:1, b:2");
	free(s);
	s = rollout_template_images(empty);
	assert_string_equal(s, "");
	free(s);
	json_decref(t);
	json_decref(empty);
}

static void test_build_rs(void **state)
{
	json_t *o = base(), *rs, *meta, *owner, *sel, *pod_labels;
	struct rollout r;

	(void)state;
	set_spec(o, "minReadySeconds", "5");
	parse_ok(o, &r);
	rs = rollout_build_rs(&r, "6fcdd44594", 4, 3);
	assert_non_null(rs);
	assert_string_equal(
		json_string_value(json_object_get(rs, "apiVersion")),
		"apps/v1");
	assert_string_equal(json_string_value(json_object_get(rs, "kind")),
			    "ReplicaSet");
	meta = json_object_get(rs, "metadata");
	assert_string_equal(json_string_value(json_object_get(meta, "name")),
			    "shop-6fcdd44594");
	assert_string_equal(
		json_string_value(json_object_get(meta, "namespace")), "prod");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(meta, "labels"),
				    LABEL_POD_TEMPLATE_HASH)),
			    "6fcdd44594");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(meta, "labels"), "app")),
			    "shop");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(meta, "annotations"), ANN_REVISION)),
		"4");
	owner = json_array_get(json_object_get(meta, "ownerReferences"), 0);
	assert_string_equal(
		json_string_value(json_object_get(owner, "apiVersion")),
		"knit.dev/v1alpha1");
	assert_string_equal(json_string_value(json_object_get(owner, "kind")),
			    "Rollout");
	assert_string_equal(json_string_value(json_object_get(owner, "name")),
			    "shop");
	assert_string_equal(json_string_value(json_object_get(owner, "uid")),
			    "u-1");
	assert_true(json_is_true(json_object_get(owner, "controller")));
	assert_true(json_is_true(json_object_get(owner, "blockOwnerDeletion")));
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(rs, "spec"), "replicas")),
			 3);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(rs, "spec"),
						   "minReadySeconds")),
		5);
	sel = json_object_get(json_object_get(rs, "spec"), "selector");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(sel, "matchLabels"),
				    LABEL_POD_TEMPLATE_HASH)),
			    "6fcdd44594");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(sel, "matchLabels"), "app")),
		"shop");
	pod_labels = json_object_get(
		json_object_get(json_object_get(json_object_get(rs, "spec"),
						"template"),
				"metadata"),
		"labels");
	assert_string_equal(json_string_value(json_object_get(
				    pod_labels, LABEL_POD_TEMPLATE_HASH)),
			    "6fcdd44594");
	/* the Rollout's own template is not modified */
	assert_null(json_object_get(
		json_object_get(json_object_get(r.spec.template, "metadata"),
				"labels"),
		LABEL_POD_TEMPLATE_HASH));
	json_decref(rs);
	rollout_release(&r);
	json_decref(o);
}

static const char MANAGED[] =
	"[{\"manager\":\"kubectl-client-side-apply\",\"operation\":\"Update\","
	"\"time\":\"2026-01-01T10:00:00Z\",\"fieldsType\":\"FieldsV1\","
	"\"fieldsV1\":{\"f:spec\":{\"f:template\":{\"f:spec\":{}}}}},"
	"{\"manager\":\"argocd\",\"operation\":\"Apply\","
	"\"time\":\"2026-01-02T10:00:00Z\",\"fieldsType\":\"FieldsV1\","
	"\"fieldsV1\":{\"f:spec\":{\"f:replicas\":{},\"f:template\":{}}}},"
	"{\"manager\":\"kubectl-annotate\",\"operation\":\"Update\","
	"\"time\":\"2026-01-03T09:00:00Z\",\"fieldsType\":\"FieldsV1\","
	"\"fieldsV1\":{\"f:metadata\":{\"f:annotations\":{"
	"\"f:knit.dev/promote\":{},\"f:knit.dev/abort\":{}}}}},"
	"{\"manager\":\"knit-controller\",\"operation\":\"Update\","
	"\"subresource\":\"status\",\"time\":\"2026-01-03T09:30:00Z\","
	"\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{}}}]";

static void test_requests(void **state)
{
	json_t *o = base(), *meta, *ann;
	struct rollout r;

	(void)state;
	meta = json_object_get(o, "metadata");
	json_object_set_new(meta, "managedFields",
			    json_loads(MANAGED, 0, NULL));
	ann = json_pack("{s:s, s:s, s:s, s:s, s:s}", ANN_OP_PROMOTE, "p2",
			ANN_OP_ABORT, "a1", ANN_OP_RETRY, "r1",
			ANN_OP_PROMOTE_FULL, "", ANN_CHANGE_CAUSE,
			"bump to 1.0");
	json_object_set_new(meta, "annotations", ann);
	json_object_set_new(o, "status",
			    json_loads("{\"operations\":{\"promote\":\"p1\","
				       "\"retry\":\"r1\"}}",
				       0, NULL));
	parse_ok(o, &r);
	/* retry acknowledged, promote-full empty: abort then promote */
	assert_int_equal(r.n_requests, 2);
	assert_int_equal(r.requests[0].op, OP_ABORT);
	assert_string_equal(r.requests[0].value, "a1");
	assert_string_equal(r.requests[0].manager, "kubectl-annotate");
	assert_string_equal(r.requests[0].time, "2026-01-03T09:00:00Z");
	assert_int_equal(r.requests[1].op, OP_PROMOTE);
	assert_string_equal(r.requests[1].value, "p2");
	assert_string_equal(r.requests[1].manager, "kubectl-annotate");
	assert_string_equal(r.st.op_promote, "p1");
	assert_string_equal(r.st.op_retry, "r1");
	assert_null(r.st.op_abort);
	/* the most recent owner of spec.template */
	assert_string_equal(r.template_manager, "argocd");
	assert_string_equal(r.template_time, "2026-01-02T10:00:00Z");
	assert_string_equal(r.change_cause, "bump to 1.0");
	rollout_release(&r);

	/* all acknowledged: nothing pending; no managedFields: no manager */
	json_object_del(meta, "managedFields");
	json_object_set_new(o, "status",
			    json_loads("{\"operations\":{\"promote\":\"p2\","
				       "\"retry\":\"r1\",\"abort\":\"x\"}}",
				       0, NULL));
	parse_ok(o, &r);
	assert_int_equal(r.n_requests, 1);
	assert_int_equal(r.requests[0].op, OP_ABORT);
	assert_null(r.requests[0].manager);
	assert_null(r.requests[0].time);
	assert_null(r.template_manager);
	rollout_release(&r);
	json_object_set_new(json_object_get(o, "status"), "operations",
			    json_pack("{s:s, s:s, s:s}", "promote", "p2",
				      "retry", "r1", "abort", "a1"));
	parse_ok(o, &r);
	assert_int_equal(r.n_requests, 0);
	rollout_release(&r);
	json_decref(o);
}

static const char STATUS[] =
	"{\"observedGeneration\":3,\"phase\":\"Paused\","
	"\"currentPodHash\":\"abc\",\"stableRS\":\"def\","
	"\"currentStepIndex\":2,\"currentStepHash\":\"zz\","
	"\"collisionCount\":1,\"abort\":true,"
	"\"abortedAt\":\"2026-11-27T13:00:00Z\",\"promoteFull\":true,"
	"\"pauseConditions\":[{\"reason\":\"PausedBySpec\","
	"\"startTime\":\"2026-11-27T12:00:00Z\"},{\"reason\":"
	"\"CanaryPauseStep\",\"startTime\":\"2026-11-27T13:00:00.5Z\"}],"
	"\"blueGreen\":{\"previewAvailableSince\":\"2026-11-27T13:00:01Z\"},"
	"\"lastProgressTime\":\"2026-11-27T13:00:02Z\","
	"\"restartedAt\":\"2026-11-27T13:00:03Z\","
	"\"canary\":{\"weight\":20,\"replicasOverride\":4,"
	"\"weightOverride\":30}}";

static void test_status_decisions(void **state)
{
	json_t *o = base();
	struct rollout r;
	const double t0 = 1795784400;

	(void)state;
	json_object_set_new(o, "status", json_loads(STATUS, 0, NULL));
	parse_ok(o, &r);
	assert_string_equal(r.st.current_pod_hash, "abc");
	assert_string_equal(r.st.stable_rs, "def");
	assert_int_equal(r.st.current_step_index, 2);
	assert_string_equal(r.st.step_hash, "zz");
	assert_int_equal(r.st.collision_count, 1);
	assert_true(r.st.abort);
	assert_true(r.st.aborted_at == t0);
	assert_true(r.st.promote_full);
	/* the step pause wins over PausedBySpec */
	assert_string_equal(r.st.pause_reason, "CanaryPauseStep");
	assert_true(r.st.pause_start == t0 + 0.5);
	assert_true(r.st.available_since == t0 + 1);
	assert_true(r.st.last_progress == t0 + 2);
	assert_true(r.st.restarted_at == t0 + 3);
	assert_int_equal(r.st.canary_replicas_override, 4);
	assert_int_equal(r.st.canary_weight_override, 30);
	assert_string_equal(
		json_string_value(json_object_get(r.status, "phase")),
		"Paused");
	rollout_release(&r);

	/* only PausedBySpec: still reported; bad times read as 0 */
	json_object_set_new(
		o, "status",
		json_loads("{\"pauseConditions\":[{\"reason\":\"PausedBySpec\","
			   "\"startTime\":\"2026-11-27T13:00:00Z\"}],"
			   "\"lastProgressTime\":\"soon\"}",
			   0, NULL));
	parse_ok(o, &r);
	assert_string_equal(r.st.pause_reason, "PausedBySpec");
	assert_true(r.st.pause_start == t0);
	assert_true(r.st.last_progress == 0);
	assert_false(r.st.abort);
	assert_int_equal(r.st.current_step_index, -1);
	rollout_release(&r);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_strategy_defaults),
		cmocka_unit_test(test_invalid_rules),
		cmocka_unit_test(test_not_a_rollout),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_intstr_resolve),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_build_rs),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_status_decisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

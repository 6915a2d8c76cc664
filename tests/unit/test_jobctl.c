/*
 * test_jobctl: Job defaulting and Job controller plans against the
 * behaviour of Kubernetes 1.32 (SetDefaults_Job, the job REST strategy's
 * generateSelector, and syncJob with JobPodReplacementPolicy and
 * JobSuccessPolicy on, i.e. the interim FailureTarget / SuccessCriteriaMet
 * conditions before Failed / Complete).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "devcluster/jobctl.h"
#include "util/err.h"
#include "util/rfc3339.h"

#define T0 "2026-11-27T13:00:00Z"
#define T1 "2026-11-27T13:00:30Z"
#define T2 "2026-11-27T13:01:00Z"
#define T3 "2026-11-27T13:01:30Z"

#define MSG_BACKOFF  "Job has reached the specified backoff limit"
#define MSG_DEADLINE "Job was active longer than specified deadline"
#define MSG_COMPLETE "Reached expected number of succeeded pods"

/* ---- helpers ---- */

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);

	if (!v)
		fail_msg("bad test JSON: %s", err.text);
	return v;
}

/* A stored Job with the given spec members (JSON text without braces). */
static json_t *new_job(const char *spec_members)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\","
		 "\"metadata\":{\"name\":\"pi\",\"namespace\":\"default\","
		 "\"uid\":\"job-uid\"},"
		 "\"spec\":{%s%s\"template\":{\"spec\":{\"restartPolicy\":"
		 "\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}"
		 "}}",
		 spec_members, *spec_members ? "," : "");
	return parse(buf);
}

static json_t *defaulted_job(const char *spec_members)
{
	json_t *job = new_job(spec_members);

	jobctl_default(job);
	return job;
}

static double secs(const char *t)
{
	double v = 0;

	assert_int_equal(rfc3339_parse(t, &v), 0);
	return v;
}

static json_t *find_pod(json_t *pods, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(pods, i, p)
	{
		const char *n = json_string_value(json_object_get(
			json_object_get(p, "metadata"), "name"));

		if (n && strcmp(n, name) == 0)
			return p;
	}
	fail_msg("no pod %s", name);
	return NULL;
}

static json_t *pod_status(json_t *pods, const char *name)
{
	return json_object_get(find_pod(pods, name), "status");
}

/* Moves pod `name` to `phase`, optionally Ready. */
static void set_phase(json_t *pods, const char *name, const char *phase,
		      int ready, const char *at)
{
	json_t *st = pod_status(pods, name);

	json_object_set_new(st, "phase", json_string(phase));
	json_object_set_new(st, "conditions",
			    json_pack("[{s:s, s:s, s:s}]", "type", "Ready",
				      "status", ready ? "True" : "False",
				      "lastTransitionTime", at));
}

static void remove_finalizer(json_t *pod)
{
	json_t *meta = json_object_get(pod, "metadata");

	json_object_set_new(meta, "finalizers", json_array());
}

/*
 * Does what the lead's wiring does with a plan: store the status, drop
 * finalizers, mark deleted Pods, create new Pending Pods named p1, p2, ...
 */
static int pod_seq;

static void apply_plan(json_t *job, json_t *pods, const struct job_plan *p,
		       const char *now)
{
	size_t i;
	json_t *n;
	int k;

	json_object_set(job, "status", p->status);
	json_array_foreach(p->unfinalize, i, n)
		remove_finalizer(find_pod(pods, json_string_value(n)));
	json_array_foreach(p->remove, i, n) json_object_set_new(
		json_object_get(find_pod(pods, json_string_value(n)),
				"metadata"),
		"deletionTimestamp", json_string(now));
	for (k = 0; k < p->create; k++) {
		json_t *pod = jobctl_new_pod(job);
		json_t *meta = json_object_get(pod, "metadata");
		char name[32], uid[32];

		pod_seq++;
		snprintf(name, sizeof(name), "p%d", pod_seq);
		snprintf(uid, sizeof(uid), "uid-%d", pod_seq);
		json_object_set_new(meta, "name", json_string(name));
		json_object_set_new(meta, "uid", json_string(uid));
		json_object_set_new(meta, "creationTimestamp",
				    json_string(now));
		json_object_set_new(pod, "status",
				    json_pack("{s:s}", "phase", "Pending"));
		json_array_append_new(pods, pod);
	}
}

static void drop_pod(json_t *pods, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(pods, i, p)
	{
		const char *n = json_string_value(json_object_get(
			json_object_get(p, "metadata"), "name"));

		if (n && strcmp(n, name) == 0) {
			json_array_remove(pods, i);
			return;
		}
	}
}

static void plan_at(const json_t *job, const json_t *pods, const char *now,
		    struct job_plan *p)
{
	jobctl_plan(job, pods, now, secs(now), p);
}

/* Plans, applies, and checks that planning again changes nothing. */
static void step(json_t *job, json_t *pods, const char *now, struct job_plan *p)
{
	struct job_plan again;

	plan_at(job, pods, now, p);
	apply_plan(job, pods, p, now);
	plan_at(job, pods, now, &again);
	assert_int_equal(again.create, 0);
	assert_int_equal(json_array_size(again.remove), 0);
	assert_int_equal(json_array_size(again.unfinalize), 0);
	if (!json_equal(again.status, json_object_get(job, "status"))) {
		char *a = json_dumps(again.status, JSON_SORT_KEYS);
		char *b = json_dumps(json_object_get(job, "status"),
				     JSON_SORT_KEYS);

		print_error("replan: %s\napplied: %s\n", a, b);
		free(a);
		free(b);
		fail();
	}
	job_plan_release(&again);
}

static json_int_t status_int(const json_t *job, const char *key)
{
	return json_integer_value(
		json_object_get(json_object_get(job, "status"), key));
}

static int status_has(const json_t *job, const char *key)
{
	return json_object_get(json_object_get(job, "status"), key) != NULL;
}

static const char *status_str(const json_t *job, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(job, "status"), key));
}

static json_t *conditions(const json_t *job)
{
	return json_object_get(json_object_get(job, "status"), "conditions");
}

/* Asserts condition `i` exactly (absent reason/message when NULL). */
static void assert_cond(const json_t *job, size_t i, const char *type,
			const char *status, const char *reason,
			const char *message, const char *at)
{
	json_t *c = json_array_get(conditions(job), i);
	json_t *want = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "status",
				 status, "lastProbeTime", at,
				 "lastTransitionTime", at);

	if (reason)
		json_object_set_new(want, "reason", json_string(reason));
	if (message)
		json_object_set_new(want, "message", json_string(message));
	if (!json_equal(c, want)) {
		char *a = json_dumps(c, JSON_SORT_KEYS);

		print_error("condition %zu is %s\n", i, a ? a : "(none)");
		free(a);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

static const char *str_at(const json_t *obj, const char *path1,
			  const char *path2, const char *key)
{
	const json_t *o = json_object_get(obj, path1);

	if (path2)
		o = json_object_get(o, path2);
	return json_string_value(json_object_get(o, key));
}

/* ---- defaulting ---- */

static void test_default_fills_spec_and_labels(void **state)
{
	json_t *job = defaulted_job("");
	json_t *spec = json_object_get(job, "spec");
	json_t *tl = json_object_get(
		json_object_get(json_object_get(spec, "template"), "metadata"),
		"labels");
	json_t *want_tl = parse(
		"{\"job-name\":\"pi\",\"batch.kubernetes.io/job-name\":\"pi\","
		"\"controller-uid\":\"job-uid\","
		"\"batch.kubernetes.io/controller-uid\":\"job-uid\"}");
	json_t *want_sel = parse("{\"matchLabels\":{\"batch.kubernetes.io/"
				 "controller-uid\":\"job-uid\"}}");

	(void)state;
	assert_int_equal(
		json_integer_value(json_object_get(spec, "completions")), 1);
	assert_int_equal(
		json_integer_value(json_object_get(spec, "parallelism")), 1);
	assert_int_equal(
		json_integer_value(json_object_get(spec, "backoffLimit")), 6);
	assert_string_equal(str_at(job, "spec", NULL, "completionMode"),
			    "NonIndexed");
	assert_string_equal(str_at(job, "spec", NULL, "podReplacementPolicy"),
			    "TerminatingOrFailed");
	assert_true(json_is_false(json_object_get(spec, "suspend")));
	assert_true(json_is_false(json_object_get(spec, "manualSelector")));
	assert_true(json_equal(tl, want_tl));
	assert_true(json_equal(json_object_get(spec, "selector"), want_sel));
	/* a Job without labels takes the (generated) template labels */
	assert_true(json_equal(
		json_object_get(json_object_get(job, "metadata"), "labels"),
		want_tl));
	json_decref(want_tl);
	json_decref(want_sel);
	json_decref(job);
}

static void test_default_parallelism_only(void **state)
{
	json_t *job = defaulted_job("\"parallelism\":3");
	json_t *spec = json_object_get(job, "spec");

	(void)state;
	assert_null(json_object_get(spec, "completions"));
	assert_int_equal(
		json_integer_value(json_object_get(spec, "parallelism")), 3);
	json_decref(job);

	job = defaulted_job("\"completions\":5");
	spec = json_object_get(job, "spec");
	assert_int_equal(
		json_integer_value(json_object_get(spec, "completions")), 5);
	assert_int_equal(
		json_integer_value(json_object_get(spec, "parallelism")), 1);
	json_decref(job);
}

static void test_default_keeps_user_values(void **state)
{
	json_t *job = new_job("\"backoffLimit\":0,\"suspend\":true,"
			      "\"podFailurePolicy\":{\"rules\":[]},"
			      "\"backoffLimitPerIndex\":1");
	json_t *meta = json_object_get(job, "metadata");
	json_t *spec = json_object_get(job, "spec");

	(void)state;
	json_object_set_new(meta, "labels", parse("{\"team\":\"a\"}"));
	json_object_set_new(json_object_get(spec, "template"), "metadata",
			    parse("{\"labels\":{\"job-name\":\"custom\"}}"));
	jobctl_default(job);
	assert_int_equal(
		json_integer_value(json_object_get(spec, "backoffLimit")), 0);
	assert_true(json_is_true(json_object_get(spec, "suspend")));
	assert_string_equal(str_at(job, "spec", NULL, "podReplacementPolicy"),
			    "Failed");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(
				json_object_get(
					json_object_get(spec, "template"),
					"metadata"),
				"labels"),
			"job-name")),
		"custom");
	/* the Job's own labels win over the template's */
	assert_int_equal(json_object_size(json_object_get(meta, "labels")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(meta, "labels"), "team")),
			    "a");
	json_decref(job);

	job = new_job("\"backoffLimitPerIndex\":1");
	jobctl_default(job);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(job, "spec"), "backoffLimit")),
			 2147483647);
	json_decref(job);
}

static void test_default_manual_selector(void **state)
{
	json_t *job = new_job("\"manualSelector\":true,\"selector\":{"
			      "\"matchLabels\":{\"app\":\"x\"}}");
	json_t *spec = json_object_get(job, "spec");
	json_t *want = parse("{\"matchLabels\":{\"app\":\"x\"}}");

	(void)state;
	json_object_set_new(json_object_get(spec, "template"), "metadata",
			    parse("{\"labels\":{\"app\":\"x\"}}"));
	jobctl_default(job);
	assert_true(json_equal(json_object_get(spec, "selector"), want));
	assert_int_equal(
		json_object_size(json_object_get(
			json_object_get(json_object_get(spec, "template"),
					"metadata"),
			"labels")),
		1);
	json_decref(want);
	json_decref(job);
}

static void test_parse_time(void **state)
{
	double t = 0;

	(void)state;
	assert_int_equal(rfc3339_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_true(t == 0);
	assert_int_equal(rfc3339_parse("2026-11-27T13:00:00Z", &t), 0);
	assert_true(t == 1795784400.0);
	assert_int_equal(rfc3339_parse("2026-11-27T14:00:00.5+01:00", &t), 0);
	assert_true(t == 1795784400.5);
	assert_int_equal(rfc3339_parse("2024-02-29T00:00:00Z", &t), 0);
	assert_true(t == 1709164800.0);
	assert_int_equal(rfc3339_parse("2026-11-27 13:00:00Z", &t), ERR_PARSE);
	assert_int_equal(rfc3339_parse("2026-11-27T13:00:00", &t), ERR_PARSE);
	assert_int_equal(rfc3339_parse("", &t), ERR_PARSE);
}

static void test_new_pod(void **state)
{
	json_t *job = defaulted_job("");
	json_t *pod = jobctl_new_pod(job);
	json_t *want_owner = parse("[{\"apiVersion\":\"batch/"
				   "v1\",\"kind\":\"Job\",\"name\":\"pi\","
				   "\"uid\":\"job-uid\",\"controller\":true,"
				   "\"blockOwnerDeletion\":true}]");
	json_t *meta = json_object_get(pod, "metadata");

	(void)state;
	assert_string_equal(str_at(pod, "metadata", NULL, "generateName"),
			    "pi-");
	assert_string_equal(str_at(pod, "metadata", NULL, "namespace"),
			    "default");
	assert_true(json_equal(json_object_get(meta, "ownerReferences"),
			       want_owner));
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(meta, "finalizers"), 0)),
			    JOBCTL_TRACKING_FINALIZER);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(meta, "labels"), "job-name")),
		"pi");
	assert_string_equal(str_at(pod, "spec", NULL, "restartPolicy"),
			    "Never");
	json_decref(want_owner);
	json_decref(pod);
	json_decref(job);
}

/* ---- planning ---- */

static void test_single_completion(void **state)
{
	json_t *job = defaulted_job("");
	json_t *pods = json_array();
	json_t *want;
	struct job_plan p;

	(void)state;
	pod_seq = 0;
	step(job, pods, T0, &p);
	assert_int_equal(p.create, 1);
	assert_true(p.requeue_after == 0);
	want = parse("{\"startTime\":\"" T0 "\",\"active\":1,"
		     "\"terminating\":0,\"uncountedTerminatedPods\":{},"
		     "\"ready\":0}");
	assert_true(json_equal(p.status, want));
	json_decref(want);
	job_plan_release(&p);

	set_phase(pods, "p1", "Running", 1, T1);
	step(job, pods, T1, &p);
	assert_int_equal(p.create, 0);
	assert_int_equal(status_int(job, "active"), 1);
	assert_int_equal(status_int(job, "ready"), 1);
	job_plan_release(&p);

	set_phase(pods, "p1", "Succeeded", 0, T2);
	step(job, pods, T2, &p);
	assert_int_equal(p.create, 0);
	assert_int_equal(json_array_size(p.remove), 0);
	assert_string_equal(json_string_value(json_array_get(p.unfinalize, 0)),
			    "p1");
	assert_int_equal(status_int(job, "succeeded"), 1);
	assert_false(status_has(job, "active"));
	assert_false(status_has(job, "failed"));
	assert_int_equal(status_int(job, "ready"), 0);
	assert_int_equal(status_int(job, "terminating"), 0);
	assert_string_equal(status_str(job, "startTime"), T0);
	assert_string_equal(status_str(job, "completionTime"), T2);
	assert_int_equal(json_array_size(conditions(job)), 2);
	assert_cond(job, 0, "SuccessCriteriaMet", "True", "CompletionsReached",
		    MSG_COMPLETE, T2);
	assert_cond(job, 1, "Complete", "True", "CompletionsReached",
		    MSG_COMPLETE, T2);
	job_plan_release(&p);

	/* finished: a later plan keeps the status and does nothing */
	plan_at(job, pods, T3, &p);
	assert_true(json_equal(p.status, json_object_get(job, "status")));
	assert_int_equal(p.create, 0);
	assert_true(p.requeue_after == 0);
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

static void test_completions_parallelism(void **state)
{
	json_t *job = defaulted_job("\"completions\":3,\"parallelism\":2");
	json_t *pods = json_array();
	struct job_plan p;

	(void)state;
	pod_seq = 0;
	step(job, pods, T0, &p);
	assert_int_equal(p.create, 2);
	assert_int_equal(status_int(job, "active"), 2);
	job_plan_release(&p);

	/* one done: one more to run, still at most 2 at a time */
	set_phase(pods, "p1", "Succeeded", 0, T1);
	set_phase(pods, "p2", "Running", 1, T1);
	step(job, pods, T1, &p);
	assert_int_equal(p.create, 1);
	assert_int_equal(status_int(job, "succeeded"), 1);
	assert_int_equal(status_int(job, "active"), 2);
	assert_int_equal(status_int(job, "ready"), 1);
	assert_null(conditions(job));
	job_plan_release(&p);

	/* two done, one running: nothing to create (3 - 2 = 1 active) */
	set_phase(pods, "p2", "Succeeded", 0, T2);
	set_phase(pods, "p3", "Running", 0, T2);
	step(job, pods, T2, &p);
	assert_int_equal(p.create, 0);
	assert_int_equal(status_int(job, "succeeded"), 2);
	assert_int_equal(status_int(job, "active"), 1);
	job_plan_release(&p);

	set_phase(pods, "p3", "Succeeded", 0, T3);
	step(job, pods, T3, &p);
	assert_int_equal(status_int(job, "succeeded"), 3);
	assert_cond(job, 1, "Complete", "True", "CompletionsReached",
		    MSG_COMPLETE, T3);
	assert_string_equal(status_str(job, "completionTime"), T3);
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

static void test_backoff_limit_exceeded(void **state)
{
	json_t *job = defaulted_job(
		"\"completions\":3,\"parallelism\":3,\"backoffLimit\":1");
	json_t *pods = json_array();
	struct job_plan p;

	(void)state;
	pod_seq = 0;
	step(job, pods, T0, &p);
	assert_int_equal(p.create, 3);
	job_plan_release(&p);

	set_phase(pods, "p1", "Failed", 0, T1);
	set_phase(pods, "p2", "Failed", 0, T1);
	set_phase(pods, "p3", "Running", 1, T1);
	step(job, pods, T1, &p);
	assert_int_equal(p.create, 0);
	assert_int_equal(json_array_size(p.remove), 1);
	assert_string_equal(json_string_value(json_array_get(p.remove, 0)),
			    "p3");
	assert_int_equal(json_array_size(p.unfinalize), 3);
	/* the killed Pod counts as failed too */
	assert_int_equal(status_int(job, "failed"), 3);
	assert_false(status_has(job, "active"));
	assert_int_equal(status_int(job, "ready"), 0);
	assert_int_equal(status_int(job, "terminating"), 1);
	assert_int_equal(json_array_size(conditions(job)), 1);
	assert_cond(job, 0, "FailureTarget", "True", "BackoffLimitExceeded",
		    MSG_BACKOFF, T1);
	job_plan_release(&p);

	/* Failed only once no Pod is terminating */
	drop_pod(pods, "p3");
	step(job, pods, T2, &p);
	assert_int_equal(status_int(job, "terminating"), 0);
	assert_int_equal(status_int(job, "failed"), 3);
	assert_int_equal(json_array_size(conditions(job)), 2);
	assert_cond(job, 0, "FailureTarget", "True", "BackoffLimitExceeded",
		    MSG_BACKOFF, T1);
	assert_cond(job, 1, "Failed", "True", "BackoffLimitExceeded",
		    MSG_BACKOFF, T2);
	assert_false(status_has(job, "completionTime"));
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

static void test_backoff_delay(void **state)
{
	json_t *job = defaulted_job("");
	json_t *pods = json_array();
	struct jobctl_options opt;
	struct job_plan p;
	json_t *term = parse("[{\"name\":\"c\",\"restartCount\":0,\"state\":{"
			     "\"terminated\":{\"exitCode\":1,\"finishedAt\":"
			     "\"2026-11-27T13:00:25Z\"}}}]");

	(void)state;
	pod_seq = 0;
	step(job, pods, T0, &p);
	job_plan_release(&p);
	set_phase(pods, "p1", "Failed", 0, T1);
	json_object_set_new(pod_status(pods, "p1"), "containerStatuses", term);

	/* real base 10 s: 5 s after the failure, 5 s still to wait */
	plan_at(job, pods, "2026-11-27T13:00:30Z", &p);
	assert_int_equal(p.create, 0);
	assert_true(p.requeue_after == 5.0);
	assert_int_equal(json_object_get(p.status, "failed") ? 1 : 0, 1);
	job_plan_release(&p);

	/* simulation base 0.5 s: replace at once */
	jobctl_options_init(&opt);
	opt.backoff_base = 0.5;
	jobctl_plan_opts(job, pods, T1, secs(T1), &opt, &p);
	assert_int_equal(p.create, 1);
	assert_true(p.requeue_after == 0);
	job_plan_release(&p);

	/* after the wait, the replacement is created */
	step(job, pods, "2026-11-27T13:00:35Z", &p);
	assert_int_equal(p.create, 1);
	assert_int_equal(status_int(job, "failed"), 1);
	assert_int_equal(status_int(job, "active"), 1);
	job_plan_release(&p);

	/* second failure doubles the delay: 20 s */
	set_phase(pods, "p2", "Failed", 0, T2);
	plan_at(job, pods, T2, &p);
	assert_int_equal(p.create, 0);
	assert_true(p.requeue_after == 20.0);
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

static void test_active_deadline(void **state)
{
	json_t *job = defaulted_job("\"activeDeadlineSeconds\":60");
	json_t *pods = json_array();
	struct job_plan p;

	(void)state;
	pod_seq = 0;
	step(job, pods, T0, &p);
	assert_true(p.requeue_after == 60.0);
	job_plan_release(&p);

	set_phase(pods, "p1", "Running", 1, T1);
	step(job, pods, T1, &p);
	assert_true(p.requeue_after == 30.0);
	assert_null(conditions(job));
	job_plan_release(&p);

	step(job, pods, T2, &p);
	assert_string_equal(json_string_value(json_array_get(p.remove, 0)),
			    "p1");
	assert_cond(job, 0, "FailureTarget", "True", "DeadlineExceeded",
		    MSG_DEADLINE, T2);
	assert_int_equal(json_array_size(conditions(job)), 1);
	assert_int_equal(status_int(job, "failed"), 1);
	assert_int_equal(status_int(job, "terminating"), 1);
	assert_true(p.requeue_after == 0);
	job_plan_release(&p);

	/* the kubelet ends the deleted Pod: Failed follows */
	set_phase(pods, "p1", "Failed", 0, T3);
	step(job, pods, T3, &p);
	assert_int_equal(status_int(job, "failed"), 1);
	assert_cond(job, 1, "Failed", "True", "DeadlineExceeded", MSG_DEADLINE,
		    T3);
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

static void test_suspend(void **state)
{
	json_t *job = defaulted_job("\"suspend\":true,\"parallelism\":2,"
				    "\"completions\":4");
	json_t *spec = json_object_get(job, "spec");
	json_t *pods = json_array();
	struct job_plan p;

	(void)state;
	pod_seq = 0;
	/* created suspended: no Pods, no startTime */
	step(job, pods, T0, &p);
	assert_int_equal(p.create, 0);
	assert_false(status_has(job, "startTime"));
	assert_cond(job, 0, "Suspended", "True", "JobSuspended",
		    "Job suspended", T0);
	job_plan_release(&p);

	/* resumed */
	json_object_set_new(spec, "suspend", json_false());
	step(job, pods, T1, &p);
	assert_int_equal(p.create, 2);
	assert_string_equal(status_str(job, "startTime"), T1);
	assert_cond(job, 0, "Suspended", "False", "JobResumed", "Job resumed",
		    T1);
	job_plan_release(&p);

	/* suspended again while running: active Pods go, not as failures */
	set_phase(pods, "p1", "Running", 1, T2);
	json_object_set_new(spec, "suspend", json_true());
	step(job, pods, T2, &p);
	assert_int_equal(json_array_size(p.remove), 2);
	assert_int_equal(json_array_size(p.unfinalize), 2);
	assert_false(status_has(job, "active"));
	assert_false(status_has(job, "failed"));
	assert_int_equal(status_int(job, "terminating"), 2);
	assert_int_equal(status_int(job, "ready"), 0);
	assert_cond(job, 0, "Suspended", "True", "JobSuspended",
		    "Job suspended", T2);
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

static void test_work_queue(void **state)
{
	json_t *job = defaulted_job("\"parallelism\":2");
	json_t *pods = json_array();
	struct job_plan p;

	(void)state;
	pod_seq = 0;
	assert_null(
		json_object_get(json_object_get(job, "spec"), "completions"));
	step(job, pods, T0, &p);
	assert_int_equal(p.create, 2);
	job_plan_release(&p);

	/* one success: no new Pods, wait for the other to finish */
	set_phase(pods, "p1", "Succeeded", 0, T1);
	set_phase(pods, "p2", "Running", 1, T1);
	step(job, pods, T1, &p);
	assert_int_equal(p.create, 0);
	assert_int_equal(status_int(job, "active"), 1);
	assert_int_equal(status_int(job, "succeeded"), 1);
	assert_null(conditions(job));
	job_plan_release(&p);

	set_phase(pods, "p2", "Succeeded", 0, T2);
	step(job, pods, T2, &p);
	assert_int_equal(status_int(job, "succeeded"), 2);
	assert_cond(job, 1, "Complete", "True", "CompletionsReached",
		    MSG_COMPLETE, T2);
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

static void test_on_failure_restarts(void **state)
{
	json_t *job = defaulted_job("\"backoffLimit\":2");
	json_t *pods = json_array();
	json_t *pspec = json_object_get(
		json_object_get(json_object_get(job, "spec"), "template"),
		"spec");
	struct job_plan p;

	(void)state;
	pod_seq = 0;
	json_object_set_new(pspec, "restartPolicy", json_string("OnFailure"));
	step(job, pods, T0, &p);
	job_plan_release(&p);
	set_phase(pods, "p1", "Running", 1, T1);
	json_object_set_new(pod_status(pods, "p1"), "containerStatuses",
			    parse("[{\"name\":\"c\",\"restartCount\":1}]"));
	step(job, pods, T1, &p);
	assert_null(conditions(job));
	job_plan_release(&p);

	json_object_set_new(pod_status(pods, "p1"), "containerStatuses",
			    parse("[{\"name\":\"c\",\"restartCount\":2}]"));
	step(job, pods, T2, &p);
	assert_string_equal(json_string_value(json_array_get(p.remove, 0)),
			    "p1");
	assert_cond(job, 0, "FailureTarget", "True", "BackoffLimitExceeded",
		    MSG_BACKOFF, T2);
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

static void test_deleted_pod_is_replaced(void **state)
{
	json_t *job = defaulted_job("");
	json_t *pods = json_array();
	struct job_plan p;

	(void)state;
	pod_seq = 0;
	step(job, pods, T0, &p);
	job_plan_release(&p);
	/* a user deletes the running Pod: it is terminating and, under
	 * TerminatingOrFailed, a failure that is replaced at once */
	set_phase(pods, "p1", "Running", 1, T1);
	json_object_set_new(json_object_get(find_pod(pods, "p1"), "metadata"),
			    "deletionTimestamp", json_string(T1));
	step(job, pods, T1, &p);
	assert_int_equal(p.create, 1);
	assert_int_equal(status_int(job, "failed"), 1);
	assert_int_equal(status_int(job, "terminating"), 1);
	assert_int_equal(status_int(job, "active"), 1);
	job_plan_release(&p);
	json_decref(pods);
	json_decref(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_fills_spec_and_labels),
		cmocka_unit_test(test_default_parallelism_only),
		cmocka_unit_test(test_default_keeps_user_values),
		cmocka_unit_test(test_default_manual_selector),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_new_pod),
		cmocka_unit_test(test_single_completion),
		cmocka_unit_test(test_completions_parallelism),
		cmocka_unit_test(test_backoff_limit_exceeded),
		cmocka_unit_test(test_backoff_delay),
		cmocka_unit_test(test_active_deadline),
		cmocka_unit_test(test_suspend),
		cmocka_unit_test(test_work_queue),
		cmocka_unit_test(test_on_failure_restarts),
		cmocka_unit_test(test_deleted_pod_is_replaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * jobctl: Kubernetes 1.32 Job semantics for knit-devcluster, as pure
 * functions: create-time defaulting (jobctl_default) and one controller
 * sync turned into a plan (jobctl_plan). The flow of jobctl_plan_opts()
 * mirrors syncJob: count finished Pods, decide failure (backoff limit,
 * deadline), otherwise manage the number of active Pods (suspend, scale,
 * pod-failure backoff), decide success, then record the interim
 * FailureTarget / SuccessCriteriaMet condition and, once no Pod is left
 * terminating, the terminal Failed / Complete one.
 */
#include "devcluster/jobctl.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/rfc3339.h"

#define LEGACY_UID_LABEL    "controller-uid"
#define UID_LABEL	    "batch.kubernetes.io/controller-uid"
#define LEGACY_NAME_LABEL   "job-name"
#define NAME_LABEL	    "batch.kubernetes.io/job-name"
#define JOB_CONTROLLER_NAME "kubernetes.io/job-controller"

#define MSG_BACKOFF  "Job has reached the specified backoff limit"
#define MSG_DEADLINE "Job was active longer than specified deadline"
#define MSG_COMPLETE "Reached expected number of succeeded pods"

/* Same cap as MaxPodCreateDeletePerSync. */
#define MAX_CREATE_PER_SYNC 500

/* ---- small JSON helpers ---- */

static json_t *obj_child(json_t *parent, const char *key)
{
	json_t *child = json_object_get(parent, key);

	if (!json_is_object(child)) {
		child = json_object();
		json_object_set_new(parent, key, child);
	}
	return child;
}

static bool has_value(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return v && !json_is_null(v);
}

static bool get_int(const json_t *obj, const char *key, long long *val)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return false;
	*val = json_integer_value(v);
	return true;
}

static const char *get_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool array_has_str(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (str_eq(json_string_value(v), s))
			return true;
	}
	return false;
}

/* ---- time ---- */

/* Parses `text`, or returns `fallback` when it is absent or malformed. */
static double time_or(const char *text, double fallback)
{
	double t;

	return text && rfc3339_parse(text, &t) == 0 ? t : fallback;
}

/* ---- defaulting ---- */

static void default_int(json_t *spec, const char *key, long long val)
{
	if (!has_value(spec, key))
		json_object_set_new(spec, key, json_integer(val));
}

static void default_str(json_t *spec, const char *key, const char *val)
{
	if (!has_value(spec, key))
		json_object_set_new(spec, key, json_string(val));
}

static void default_label(json_t *labels, const char *key, const char *val)
{
	if (!json_object_get(labels, key))
		json_object_set_new(labels, key, json_string(val));
}

static void generate_selector(json_t *job, json_t *spec)
{
	json_t *meta = json_object_get(job, "metadata");
	const char *name = get_str(meta, "name");
	const char *uid = get_str(meta, "uid");
	json_t *tmeta = obj_child(obj_child(spec, "template"), "metadata");
	json_t *labels = obj_child(tmeta, "labels");
	json_t *match = obj_child(obj_child(spec, "selector"), "matchLabels");

	default_label(labels, LEGACY_NAME_LABEL, name ? name : "");
	default_label(labels, NAME_LABEL, name ? name : "");
	default_label(labels, LEGACY_UID_LABEL, uid ? uid : "");
	default_label(labels, UID_LABEL, uid ? uid : "");
	default_label(match, UID_LABEL, uid ? uid : "");
}

void jobctl_default(json_t *job)
{
	json_t *spec, *meta, *tlabels;

	if (!json_is_object(job))
		return;
	spec = obj_child(job, "spec");
	if (!has_value(spec, "completions") && !has_value(spec, "parallelism"))
		default_int(spec, "completions", 1);
	default_int(spec, "parallelism", 1);
	default_int(spec, "backoffLimit",
		    has_value(spec, "backoffLimitPerIndex") ? INT32_MAX : 6);
	default_str(spec, "completionMode", "NonIndexed");
	if (!has_value(spec, "suspend"))
		json_object_set_new(spec, "suspend", json_false());
	default_str(spec, "podReplacementPolicy",
		    has_value(spec, "podFailurePolicy")
			    ? "Failed"
			    : "TerminatingOrFailed");
	if (!has_value(spec, "manualSelector"))
		json_object_set_new(spec, "manualSelector", json_false());
	if (!json_is_true(json_object_get(spec, "manualSelector")))
		generate_selector(job, spec);

	/* SetDefaults_Job: a Job without labels takes its template's. */
	meta = obj_child(job, "metadata");
	tlabels = json_object_get(
		json_object_get(json_object_get(spec, "template"), "metadata"),
		"labels");
	if (json_object_size(tlabels) > 0 &&
	    json_object_size(json_object_get(meta, "labels")) == 0)
		json_object_set_new(meta, "labels", json_deep_copy(tlabels));
}

/* ---- new pods ---- */

static json_t *owner_ref(const json_t *job)
{
	const json_t *meta = json_object_get(job, "metadata");
	const char *name = get_str(meta, "name");
	const char *uid = get_str(meta, "uid");

	return json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion",
			 "batch/v1", "kind", "Job", "name", name ? name : "",
			 "uid", uid ? uid : "", "controller", 1,
			 "blockOwnerDeletion", 1);
}

json_t *jobctl_new_pod(const json_t *job)
{
	const json_t *jmeta = json_object_get(job, "metadata");
	const json_t *tmpl =
		json_object_get(json_object_get(job, "spec"), "template");
	const json_t *tmeta = json_object_get(tmpl, "metadata");
	const char *name = get_str(jmeta, "name");
	const char *ns = get_str(jmeta, "namespace");
	json_t *pod =
		json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "Pod");
	json_t *meta = obj_child(pod, "metadata");
	json_t *fin, *spec;
	char *gen = xasprintf("%s-", name ? name : "");

	json_object_set_new(meta, "generateName", json_string(gen));
	free(gen);
	if (ns)
		json_object_set_new(meta, "namespace", json_string(ns));
	if (json_is_object(json_object_get(tmeta, "labels")))
		json_object_set_new(
			meta, "labels",
			json_deep_copy(json_object_get(tmeta, "labels")));
	if (json_is_object(json_object_get(tmeta, "annotations")))
		json_object_set_new(
			meta, "annotations",
			json_deep_copy(json_object_get(tmeta, "annotations")));
	fin = json_deep_copy(json_object_get(tmeta, "finalizers"));
	if (!json_is_array(fin)) {
		json_decref(fin);
		fin = json_array();
	}
	if (!array_has_str(fin, JOBCTL_TRACKING_FINALIZER))
		json_array_append_new(fin,
				      json_string(JOBCTL_TRACKING_FINALIZER));
	json_object_set_new(meta, "finalizers", fin);
	json_object_set_new(meta, "ownerReferences", owner_ref(job));
	spec = json_deep_copy(json_object_get(tmpl, "spec"));
	json_object_set_new(pod, "spec", spec ? spec : json_object());
	return pod;
}

/* ---- the observed Pods ---- */

enum pod_phase {
	PHASE_PENDING,
	PHASE_UNKNOWN,
	PHASE_RUNNING,
	PHASE_OK,
	PHASE_FAILED
};

struct pod_info {
	const char *name;
	const char *uid;
	enum pod_phase phase;
	bool deleting;
	bool tracked; /* still carries the tracking finalizer */
	bool ready;
	bool assigned; /* spec.nodeName set */
	double created;
	double finished; /* when it reached a terminal phase (best effort) */
	long long restarts;
	bool removed; /* deleted by this plan */
};

static enum pod_phase phase_of(const char *phase)
{
	if (str_eq(phase, "Running"))
		return PHASE_RUNNING;
	if (str_eq(phase, "Succeeded"))
		return PHASE_OK;
	if (str_eq(phase, "Failed"))
		return PHASE_FAILED;
	if (str_eq(phase, "Unknown"))
		return PHASE_UNKNOWN;
	return PHASE_PENDING;
}

static const json_t *find_pod_condition(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		if (str_eq(get_str(c, "type"), type))
			return c;
	}
	return NULL;
}

static long long sum_restarts(const json_t *status, const char *key)
{
	long long sum = 0, n;
	size_t i;
	json_t *cs;

	json_array_foreach(json_object_get(status, key), i, cs)
	{
		if (get_int(cs, "restartCount", &n))
			sum += n;
	}
	return sum;
}

/* getFinishedTime: last container exit, else Ready=False, else deletion. */
static double finish_time(const json_t *meta, const json_t *status,
			  double created)
{
	double best = -INFINITY;
	const json_t *rc;
	size_t i;
	json_t *cs;

	json_array_foreach(json_object_get(status, "containerStatuses"), i, cs)
	{
		const char *at =
			get_str(json_object_get(json_object_get(cs, "state"),
						"terminated"),
				"finishedAt");
		double t = time_or(at, -INFINITY);

		if (t > best)
			best = t;
	}
	if (best > -INFINITY)
		return best;
	rc = find_pod_condition(status, "Ready");
	if (rc && str_eq(get_str(rc, "status"), "False") &&
	    get_str(rc, "lastTransitionTime"))
		return time_or(get_str(rc, "lastTransitionTime"), created);
	return time_or(get_str(meta, "deletionTimestamp"), created);
}

static void pod_info_read(const json_t *pod, struct pod_info *pi)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const json_t *status = json_object_get(pod, "status");
	const json_t *rc = find_pod_condition(status, "Ready");

	memset(pi, 0, sizeof(*pi));
	pi->name = get_str(meta, "name");
	pi->uid = get_str(meta, "uid");
	pi->phase = phase_of(get_str(status, "phase"));
	pi->deleting = has_value(meta, "deletionTimestamp");
	pi->tracked = array_has_str(json_object_get(meta, "finalizers"),
				    JOBCTL_TRACKING_FINALIZER);
	pi->ready = rc && str_eq(get_str(rc, "status"), "True");
	pi->assigned = get_str(json_object_get(pod, "spec"), "nodeName") &&
		       *get_str(json_object_get(pod, "spec"), "nodeName");
	pi->created = time_or(get_str(meta, "creationTimestamp"), 0);
	pi->finished = finish_time(meta, status, pi->created);
	pi->restarts = sum_restarts(status, "initContainerStatuses") +
		       sum_restarts(status, "containerStatuses");
}

static bool pod_terminal(const struct pod_info *p)
{
	return p->phase == PHASE_OK || p->phase == PHASE_FAILED;
}

static bool pod_active(const struct pod_info *p)
{
	return !p->deleting && !pod_terminal(p);
}

/* ---- one sync ---- */

/* A condition the sync decided on; strings are static or borrowed. */
struct finish {
	const char *type; /* NULL: none */
	const char *reason;
	const char *message;
};

struct sync {
	const json_t *job;
	const json_t *spec;
	const json_t *old; /* old status, may be NULL */
	const char *now;
	double now_secs;
	struct jobctl_options opt;

	bool has_completions;
	long long completions, parallelism, backoff_limit;
	bool suspended, only_failed, on_failure, job_deleting;
	bool has_deadline;
	long long deadline;

	struct pod_info *pods;
	size_t npods;
	const json_t *unc_ok, *unc_failed; /* old uncountedTerminatedPods */

	long long succeeded, failed; /* incl. newly finished Pods */
	long long active, ready, terminating;
	json_t *conditions; /* owned copy */
	char *start_time;   /* owned, NULL when unset */
	char *completion_time;
	struct finish fin;
	struct job_plan *out;
};

static void requeue(struct sync *s, double after)
{
	if (after <= 0)
		return;
	if (s->out->requeue_after == 0 || after < s->out->requeue_after)
		s->out->requeue_after = after;
}

static bool pod_failed(const struct sync *s, const struct pod_info *p)
{
	if (p->phase == PHASE_FAILED)
		return true;
	if (s->only_failed)
		return false;
	return p->deleting && p->phase != PHASE_OK;
}

static bool uncounted(const struct sync *s, const struct pod_info *p)
{
	return p->uid && (array_has_str(s->unc_ok, p->uid) ||
			  array_has_str(s->unc_failed, p->uid));
}

static void read_spec(struct sync *s)
{
	const json_t *pspec =
		json_object_get(json_object_get(s->spec, "template"), "spec");

	s->has_completions = get_int(s->spec, "completions", &s->completions);
	if (!get_int(s->spec, "parallelism", &s->parallelism))
		s->parallelism = 1;
	if (!get_int(s->spec, "backoffLimit", &s->backoff_limit))
		s->backoff_limit = 6;
	s->suspended = json_is_true(json_object_get(s->spec, "suspend"));
	s->only_failed =
		str_eq(get_str(s->spec, "podReplacementPolicy"), "Failed") ||
		has_value(s->spec, "podFailurePolicy");
	s->on_failure = str_eq(get_str(pspec, "restartPolicy"), "OnFailure");
	s->has_deadline =
		get_int(s->spec, "activeDeadlineSeconds", &s->deadline);
	s->job_deleting = has_value(json_object_get(s->job, "metadata"),
				    "deletionTimestamp");
}

static void read_pods(struct sync *s, const json_t *pods)
{
	size_t i;
	json_t *pod;

	s->pods = xcalloc(json_array_size(pods) + 1, sizeof(*s->pods));
	json_array_foreach(pods, i, pod)
	{
		struct pod_info *p = &s->pods[s->npods];

		if (!json_is_object(pod))
			continue;
		pod_info_read(pod, p);
		s->npods++;
		if (pod_active(p)) {
			s->active++;
			s->ready += p->ready;
		} else if (p->deleting && !pod_terminal(p)) {
			s->terminating++;
		}
	}
}

/* status.succeeded/failed plus Pods finished but not yet counted. */
static void count_finished(struct sync *s)
{
	size_t i;

	get_int(s->old, "succeeded", &s->succeeded);
	get_int(s->old, "failed", &s->failed);
	s->succeeded += (long long)json_array_size(s->unc_ok);
	s->failed += (long long)json_array_size(s->unc_failed);
	for (i = 0; i < s->npods; i++) {
		const struct pod_info *p = &s->pods[i];

		if (!p->tracked || uncounted(s, p))
			continue;
		if (p->phase == PHASE_OK)
			s->succeeded++;
		else if (pod_failed(s, p))
			s->failed++;
	}
}

static const json_t *find_cond(const json_t *conds, const char *type)
{
	size_t i;
	json_t *c;

	json_array_foreach(conds, i, c)
	{
		if (str_eq(get_str(c, "type"), type))
			return c;
	}
	return NULL;
}

static bool cond_true(const json_t *conds, const char *type)
{
	return str_eq(get_str(find_cond(conds, type), "status"), "True");
}

static json_t *new_cond(const char *type, const char *status,
			const char *reason, const char *message,
			const char *now)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "status",
			      status, "lastProbeTime", now,
			      "lastTransitionTime", now);

	if (reason && *reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (message && *message)
		json_object_set_new(c, "message", json_string(message));
	return c;
}

/*
 * ensureJobConditionStatus: rewrites the condition of `type` when its
 * status, reason or message differ, appends it when missing (unless the
 * status is False). Returns whether the list changed.
 */
static bool ensure_cond(struct sync *s, const char *type, const char *status,
			const char *reason, const char *message)
{
	size_t i;
	json_t *c;

	json_array_foreach(s->conditions, i, c)
	{
		if (!str_eq(get_str(c, "type"), type))
			continue;
		if (str_eq(get_str(c, "status"), status) &&
		    strcmp(get_str(c, "reason") ? get_str(c, "reason") : "",
			   reason) == 0 &&
		    strcmp(get_str(c, "message") ? get_str(c, "message") : "",
			   message) == 0)
			return false;
		json_array_set_new(
			s->conditions, i,
			new_cond(type, status, reason, message, s->now));
		return true;
	}
	if (strcmp(status, "False") == 0)
		return false;
	json_array_append_new(s->conditions,
			      new_cond(type, status, reason, message, s->now));
	return true;
}

static void set_start_now(struct sync *s)
{
	free(s->start_time);
	s->start_time = xstrdup(s->now);
}

/* pastBackoffLimitOnFailure: container restarts of live Pods. */
static bool past_restart_limit(const struct sync *s)
{
	long long sum = 0;
	size_t i;

	if (!s->on_failure)
		return false;
	for (i = 0; i < s->npods; i++) {
		const struct pod_info *p = &s->pods[i];

		if (p->phase == PHASE_RUNNING || p->phase == PHASE_PENDING)
			sum += p->restarts;
	}
	return s->backoff_limit == 0 ? sum > 0 : sum >= s->backoff_limit;
}

/* Seconds the Job has been active, or -1 when the deadline does not run. */
static double active_for(const struct sync *s)
{
	if (!s->has_deadline || !s->start_time || s->suspended)
		return -1;
	return s->now_secs - time_or(s->start_time, s->now_secs);
}

static void decide_failure(struct sync *s)
{
	const json_t *target = find_cond(s->conditions, "FailureTarget");
	double elapsed;

	if (cond_true(s->conditions, "SuccessCriteriaMet")) {
		const json_t *c =
			find_cond(s->conditions, "SuccessCriteriaMet");

		s->fin = (struct finish){"SuccessCriteriaMet",
					 get_str(c, "reason"),
					 get_str(c, "message")};
		return;
	}
	if (target && str_eq(get_str(target, "status"), "True")) {
		s->fin = (struct finish){"Failed", get_str(target, "reason"),
					 get_str(target, "message")};
		return;
	}
	if (s->failed > s->backoff_limit || past_restart_limit(s)) {
		s->fin = (struct finish){"FailureTarget",
					 "BackoffLimitExceeded", MSG_BACKOFF};
		return;
	}
	elapsed = active_for(s);
	if (elapsed < 0)
		return;
	if (elapsed >= (double)s->deadline)
		s->fin = (struct finish){"FailureTarget", "DeadlineExceeded",
					 MSG_DEADLINE};
	else
		requeue(s, (double)s->deadline - elapsed);
}

static void remove_pod(struct sync *s, struct pod_info *p, bool unfinalize)
{
	p->removed = true;
	json_array_append_new(s->out->remove, json_string(p->name));
	if (unfinalize && p->tracked) {
		json_array_append_new(s->out->unfinalize, json_string(p->name));
		p->tracked = false; /* deleteJobPods drops it before deleting */
	}
	s->active--;
	s->ready -= p->ready;
	s->terminating++;
}

/* controller.ActivePods order: the cheapest Pods to lose first. */
static int removal_order(const void *a, const void *b)
{
	const struct pod_info *x = *(struct pod_info *const *)a;
	const struct pod_info *y = *(struct pod_info *const *)b;

	if (x->assigned != y->assigned)
		return x->assigned ? 1 : -1;
	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	if (x->ready != y->ready)
		return x->ready ? 1 : -1;
	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return 0;
}

/* Deletes `count` active Pods, cheapest first. */
static void remove_active(struct sync *s, long long count, bool unfinalize)
{
	struct pod_info **cand = xcalloc(s->npods + 1, sizeof(*cand));
	size_t n = 0, i;

	for (i = 0; i < s->npods; i++) {
		if (pod_active(&s->pods[i]))
			cand[n++] = &s->pods[i];
	}
	qsort(cand, n, sizeof(*cand), removal_order);
	for (i = 0; i < n && (long long)i < count; i++)
		remove_pod(s, cand[i], unfinalize);
	free(cand);
}

/* Seconds before failed Pods may be replaced (backoffRecord), 0 = now. */
static double backoff_remaining(const struct sync *s)
{
	double last_ok = -INFINITY, last_fail = -INFINITY, delay;
	long long failures = 0, i;
	size_t k;

	for (k = 0; k < s->npods; k++) {
		if (s->pods[k].phase == PHASE_OK &&
		    s->pods[k].finished > last_ok)
			last_ok = s->pods[k].finished;
	}
	for (k = 0; k < s->npods; k++) {
		const struct pod_info *p = &s->pods[k];

		if (p->phase != PHASE_FAILED || p->finished <= last_ok)
			continue;
		failures++;
		if (p->finished > last_fail)
			last_fail = p->finished;
	}
	if (failures == 0)
		return 0;
	delay = s->opt.backoff_base;
	for (i = 1; i < failures && delay < s->opt.backoff_max; i++)
		delay *= 2;
	if (delay > s->opt.backoff_max)
		delay = s->opt.backoff_max;
	return delay - (s->now_secs - last_fail);
}

/* manageJob: suspend, scale down, or create with backoff. */
static void manage(struct sync *s)
{
	long long want, diff;
	double wait;

	if (s->suspended) {
		remove_active(s, s->active, true);
		return;
	}
	if (!s->has_completions)
		want = s->succeeded > 0 ? s->active : s->parallelism;
	else
		want = s->completions - s->succeeded < s->parallelism
			       ? s->completions - s->succeeded
			       : s->parallelism;
	if (want < 0)
		want = 0;
	if (s->active > want) {
		remove_active(s, s->active - want, true);
		return;
	}
	diff = want - s->active - (s->only_failed ? s->terminating : 0);
	if (diff <= 0)
		return;
	wait = backoff_remaining(s);
	if (wait > 0) {
		requeue(s, wait);
		return;
	}
	if (diff > MAX_CREATE_PER_SYNC)
		diff = MAX_CREATE_PER_SYNC;
	s->out->create = (int)diff;
	s->active += diff;
}

static void manage_and_decide_success(struct sync *s)
{
	bool complete;

	if (s->job_deleting)
		return;
	manage(s);
	if (!s->has_completions)
		complete = s->succeeded > 0 && s->active == 0;
	else
		complete = s->succeeded >= s->completions && s->active == 0;
	if (complete) {
		s->fin = (struct finish){"SuccessCriteriaMet",
					 "CompletionsReached", MSG_COMPLETE};
		return;
	}
	if (s->suspended) {
		ensure_cond(s, "Suspended", "True", "JobSuspended",
			    "Job suspended");
	} else if (ensure_cond(s, "Suspended", "False", "JobResumed",
			       "Job resumed")) {
		set_start_now(s);
	}
}

/*
 * trackJobStatusAndRemoveFinalizers, collapsed: count finished Pods that
 * still carry the finalizer (every unfinished one counts as failed once the
 * Job is failing) and have the finalizer removed.
 */
static void track_pods(struct sync *s)
{
	bool failing = s->fin.type && strcmp(s->fin.type, "SuccessCriteriaMet");
	long long ok = 0, failed = 0;
	size_t i;

	get_int(s->old, "succeeded", &ok);
	get_int(s->old, "failed", &failed);
	ok += (long long)json_array_size(s->unc_ok);
	failed += (long long)json_array_size(s->unc_failed);
	for (i = 0; i < s->npods; i++) {
		const struct pod_info *p = &s->pods[i];
		bool is_failed = pod_failed(s, p) || (p->removed && failing);

		if (!p->tracked)
			continue;
		if (!s->job_deleting && !s->fin.type && p->phase != PHASE_OK &&
		    !is_failed)
			continue;
		json_array_append_new(s->out->unfinalize, json_string(p->name));
		if (uncounted(s, p))
			continue;
		if (p->phase == PHASE_OK)
			ok++;
		else if (is_failed || failing)
			failed++;
	}
	s->succeeded = ok;
	s->failed = failed;
}

/* Interim condition now, terminal one once no Pod is terminating. */
static void record_finish(struct sync *s)
{
	const char *final;

	if (!s->fin.type)
		return;
	if (strcmp(s->fin.type, "FailureTarget") == 0) {
		ensure_cond(s, "FailureTarget", "True", s->fin.reason,
			    s->fin.message);
		final = "Failed";
	} else if (strcmp(s->fin.type, "SuccessCriteriaMet") == 0) {
		if (!find_cond(s->conditions, "SuccessCriteriaMet"))
			ensure_cond(s, "SuccessCriteriaMet", "True",
				    s->fin.reason, s->fin.message);
		final = "Complete";
	} else {
		final = s->fin.type;
	}
	if (s->terminating > 0)
		return;
	ensure_cond(s, final, "True", s->fin.reason ? s->fin.reason : "",
		    s->fin.message ? s->fin.message : "");
	if (strcmp(final, "Complete") == 0) {
		free(s->completion_time);
		s->completion_time = xstrdup(s->now);
	}
}

static void set_count(json_t *status, const char *key, long long n)
{
	if (n > 0)
		json_object_set_new(status, key, json_integer(n));
}

/* JobStatus in the field order of the Go type, omitempty respected. */
static json_t *build_status(struct sync *s)
{
	json_t *st = json_object();

	if (json_array_size(s->conditions) > 0)
		json_object_set(st, "conditions", s->conditions);
	if (s->start_time)
		json_object_set_new(st, "startTime",
				    json_string(s->start_time));
	if (s->completion_time)
		json_object_set_new(st, "completionTime",
				    json_string(s->completion_time));
	set_count(st, "active", s->active);
	set_count(st, "succeeded", s->succeeded);
	set_count(st, "failed", s->failed);
	json_object_set_new(st, "terminating", json_integer(s->terminating));
	json_object_set_new(st, "uncountedTerminatedPods", json_object());
	json_object_set_new(st, "ready", json_integer(s->ready));
	return st;
}

static bool job_finished(const json_t *status)
{
	const json_t *conds = json_object_get(status, "conditions");

	return cond_true(conds, "Complete") || cond_true(conds, "Failed");
}

static bool managed_elsewhere(const json_t *spec)
{
	const char *by = get_str(spec, "managedBy");

	return by && strcmp(by, JOB_CONTROLLER_NAME) != 0;
}

static void sync_init(struct sync *s, const json_t *job, const char *now,
		      double now_secs, const struct jobctl_options *opt,
		      struct job_plan *out)
{
	const json_t *unc;

	memset(s, 0, sizeof(*s));
	s->job = job;
	s->spec = json_object_get(job, "spec");
	s->old = json_object_get(job, "status");
	s->now = now ? now : "";
	s->now_secs = now_secs;
	if (opt)
		s->opt = *opt;
	else
		jobctl_options_init(&s->opt);
	s->out = out;
	unc = json_object_get(s->old, "uncountedTerminatedPods");
	s->unc_ok = json_object_get(unc, "succeeded");
	s->unc_failed = json_object_get(unc, "failed");
	s->conditions = json_deep_copy(json_object_get(s->old, "conditions"));
	if (!json_is_array(s->conditions)) {
		json_decref(s->conditions);
		s->conditions = json_array();
	}
	if (get_str(s->old, "startTime"))
		s->start_time = xstrdup(get_str(s->old, "startTime"));
	if (get_str(s->old, "completionTime"))
		s->completion_time = xstrdup(get_str(s->old, "completionTime"));
}

static void sync_release(struct sync *s)
{
	json_decref(s->conditions);
	free(s->start_time);
	free(s->completion_time);
	free(s->pods);
}

void jobctl_options_init(struct jobctl_options *opt)
{
	opt->backoff_base = 10;
	opt->backoff_max = 600;
}

void jobctl_plan_opts(const json_t *job, const json_t *pods, const char *now,
		      double now_secs, const struct jobctl_options *opt,
		      struct job_plan *out)
{
	struct sync s;
	const json_t *old = json_object_get(job, "status");

	memset(out, 0, sizeof(*out));
	out->remove = json_array();
	out->unfinalize = json_array();
	if (job_finished(old) ||
	    managed_elsewhere(json_object_get(job, "spec"))) {
		out->status = json_is_object(old) ? json_deep_copy(old)
						  : json_object();
		return;
	}
	sync_init(&s, job, now, now_secs, opt, out);
	read_spec(&s);
	read_pods(&s, pods);
	count_finished(&s);
	if (!s.start_time && !s.suspended)
		set_start_now(&s);
	decide_failure(&s);
	if (s.fin.type)
		remove_active(&s, s.active, false);
	else
		manage_and_decide_success(&s);
	track_pods(&s);
	record_finish(&s);
	out->status = build_status(&s);
	sync_release(&s);
}

void jobctl_plan(const json_t *job, const json_t *pods, const char *now,
		 double now_secs, struct job_plan *out)
{
	jobctl_plan_opts(job, pods, now, now_secs, NULL, out);
}

void job_plan_release(struct job_plan *p)
{
	if (!p)
		return;
	json_decref(p->status);
	json_decref(p->remove);
	json_decref(p->unfinalize);
	memset(p, 0, sizeof(*p));
}

/*
 * jobctl: the decision logic of knit-devcluster's Job controller and the
 * create-time defaulting of batch/v1 Jobs, following Kubernetes 1.32
 * (pkg/controller/job/job_controller.go, pkg/apis/batch/v1/defaults.go,
 * pkg/registry/batch/job/strategy.go).
 *
 * Invariants and ownership:
 *  - Everything here is a pure function of its arguments: no store, no
 *    clock, no I/O. The caller reads the Job and its Pods, calls
 *    jobctl_plan(), and applies the plan. All functions are thread-safe.
 *  - Pods count toward a Job's succeeded/failed counters exactly once, the
 *    way the real controller does it: every Pod is created with the
 *    tracking finalizer JOBCTL_TRACKING_FINALIZER (jobctl_new_pod() adds
 *    it); a plan counts each finished Pod that still carries the finalizer
 *    and lists it in `unfinalize`; once the finalizer is gone the Pod is
 *    never counted again. A Pod created without the finalizer is treated as
 *    already counted, so the caller must keep that protocol.
 *  - Applying a plan and planning again on the resulting state gives
 *    create = 0, empty `remove` / `unfinalize` and an equal status (unless
 *    time moved past a deadline or a Pod changed).
 *
 * Applying a plan (recommended order): write `status` with the status
 * subresource semantics (replace .status), remove the tracking finalizer
 * from the `unfinalize` Pods, DELETE the `remove` Pods (graceful: they get a
 * deletionTimestamp), create `create` Pods from jobctl_new_pod(), and plan
 * again after `requeue_after` seconds when it is > 0.
 */
#ifndef KNIT_DEVCLUSTER_JOBCTL_H
#define KNIT_DEVCLUSTER_JOBCTL_H

#include <jansson.h>

/* The finalizer the Job controller puts on its Pods until it counted them. */
#define JOBCTL_TRACKING_FINALIZER "batch.kubernetes.io/job-tracking"

/*
 * Tunables. The real controller waits backoff_base * 2^(n-1) seconds
 * (10 s, 20 s, 40 s, ... capped at backoff_max = 600 s) before replacing
 * Pods after n failures since the last success; the simulation uses a much
 * shorter base (e.g. 0.5 s) so failing Jobs play out quickly.
 */
struct jobctl_options {
	double backoff_base; /* seconds; real: 10 */
	double backoff_max;  /* seconds; real: 600 */
};

/* Fills `opt` with the real controller's values (10 s and 600 s). */
void jobctl_options_init(struct jobctl_options *opt);

/*
 * Applies what the API server does to a new Job (`job` is modified in
 * place; metadata.name and metadata.uid must already be set):
 *  - SetDefaults_Job: completions and parallelism both unset -> 1 and 1;
 *    parallelism unset -> 1 (completions stays unset); backoffLimit -> 6
 *    (2147483647 when backoffLimitPerIndex is set); completionMode ->
 *    NonIndexed; suspend -> false; podReplacementPolicy ->
 *    TerminatingOrFailed (Failed when podFailurePolicy is set);
 *    manualSelector -> false.
 *  - generateSelector, unless spec.manualSelector is true: adds the
 *    template labels "controller-uid", "batch.kubernetes.io/controller-uid"
 *    (uid), "job-name", "batch.kubernetes.io/job-name" (name) when absent,
 *    and selector.matchLabels["batch.kubernetes.io/controller-uid"] = uid
 *    when absent.
 *  - metadata.labels, when empty, become a copy of the template labels.
 * Does nothing when `job` is not an object.
 */
void jobctl_default(json_t *job);

/* What the controller wants done now; see the file comment for applying. */
struct job_plan {
	json_t *status;	      /* the Job's new status object, new reference */
	int create;	      /* pods to create now (>= 0) */
	json_t *remove;	      /* array of pod names to DELETE, new reference */
	json_t *unfinalize;   /* array of pod names whose tracking finalizer
				 must be removed, new reference */
	double requeue_after; /* seconds until the plan should be recomputed
				 even without changes; 0 = none */
};

/*
 * Plans one sync of `job` (borrowed) given `pods` (borrowed array of the
 * Pods it controls, in any order), with `now` the current instant as
 * RFC 3339 ("2026-11-27T13:00:00Z") and `now_secs` the same instant in Unix
 * seconds. `opt` may be NULL for the real controller's values. Fills every
 * member of `out`; release it with job_plan_release(). Never fails: missing
 * or malformed fields take their API defaults.
 */
void jobctl_plan_opts(const json_t *job, const json_t *pods, const char *now,
		      double now_secs, const struct jobctl_options *opt,
		      struct job_plan *out);

/* jobctl_plan_opts() with the real controller's options. */
void jobctl_plan(const json_t *job, const json_t *pods, const char *now,
		 double now_secs, struct job_plan *out);

/* Drops the references in `p` and zeroes it; NULL and zeroed plans are ok. */
void job_plan_release(struct job_plan *p);

/*
 * The Pod to POST for one new replica of `job` (borrowed): apiVersion/kind,
 * metadata.generateName "<job>-", namespace, the template's labels,
 * annotations and finalizers plus JOBCTL_TRACKING_FINALIZER, a controller
 * ownerReference to the Job (blockOwnerDeletion true), and the template
 * spec. Returns a new reference.
 */
json_t *jobctl_new_pod(const json_t *job);

#endif

/*
 * run: AnalysisTemplates and AnalysisRuns (knit.dev/v1alpha1) and the pure
 * rules that turn measurements into a verdict.
 *
 * Objects:
 *   AnalysisTemplate (namespaced), ClusterAnalysisTemplate (cluster):
 *     spec.args [{name, value?}] (value is the default), spec.metrics [...]
 *   AnalysisRun (namespaced, usually owned by a Rollout):
 *     spec.metrics [...]  (copied from the templates; queries still hold
 *                          {{args.x}}, rendered at each measurement)
 *     spec.args [{name, value} | {name, valueFrom: {secretKeyRef:
 *                {name, key}}}]  (secrets are read at measurement time and
 *                          never written into the run)
 *     spec.terminate (bool): stop measuring; running metrics end
 *                          Successful ("terminated")
 *     spec.measurementRetention (1..100, default 10): measurements kept per
 *                          metric in status (lowered so that a run keeps
 *                          at most 200 in all; at most 20 metrics)
 *     status: phase, message, startedAt, metricResults[] (see below)
 *
 * A metric: name; interval (duration, "30s"); count; initialDelay;
 * successCondition and/or failureCondition (expr.h) or thresholdRange
 * {min, max}; failureLimit (default 0; -1: no limit); inconclusiveLimit
 * (0; -1: no limit); consecutiveErrorLimit (4; -1: no limit); dryRun; and
 * exactly one provider: prometheus {address, query, timeout, headers
 * [{name,value}], authentication {bearer: {secretKeyRef}, basic:
 * {username, passwordSecretKeyRef}}, insecureSkipVerify, range {start,
 * end, step}}, web {url, method, headers, body, jsonPath, timeout,
 * insecureSkipVerify}, job {metadata?, spec} -- written either in the
 * metric or under `provider:` as Argo Rollouts does.
 *
 * Measurement verdict (run_judge): failureCondition true -> Failed; else
 * successCondition true -> Successful; with both conditions given and
 * neither true -> Inconclusive; with only a successCondition, false ->
 * Failed; with only a failureCondition, false -> Successful;
 * thresholdRange: Successful when every number in the result lies in
 * [min, max], Failed otherwise; with no condition and no thresholdRange,
 * Successful. A condition that cannot be evaluated (NaN,
 * empty list, out of range, type) -> Error with the expression's message.
 *
 * Metric phase after each measurement (run_record), checked in this
 * order: failed > failureLimit -> Failed; inconclusive >
 * inconclusiveLimit -> Inconclusive; consecutiveError >
 * consecutiveErrorLimit -> Error; count reached (count > 0 and
 * measurements taken == count, not counting Errors: an error is retried
 * at the next interval (5 s for a metric without interval) up to
 * consecutiveErrorLimit, as in Argo Rollouts;
 * status `count` still counts every measurement) -> Successful if at least
 * one measurement was Successful, else Inconclusive ("no successful
 * measurement in N"); otherwise Running. A metric without interval takes
 * one measurement (count 1). A metric with interval and no count runs
 * until the run is terminated. dryRun metrics are measured and recorded
 * like the others but never make the run fail: their phase is kept, the
 * run's phase ignores it, and the run's message mentions it.
 *
 * Run phase: Pending before the first measurement is recorded; Failed,
 * Error or Inconclusive as soon as one non-dry-run metric is (in that
 * order of precedence; the other metrics stop); Successful when every
 * non-dry-run metric is Successful and every dry-run one has finished;
 * otherwise Running. A run with no
 * metrics, or whose spec cannot be parsed, is Error with the reason.
 *
 * status.metricResults[i]: name, phase, message, count (measurements
 * taken), successful, failed, inconclusive, error, consecutiveError,
 * dryRun, measurements[] (newest last, at most measurementRetention):
 * {phase, value, message, startedAt, finishedAt, metadata: {jobName}}.
 * A Job measurement is recorded as phase Running with startedAt and
 * metadata.jobName when the Job is created, and completed later.
 *
 * Times in status are RFC 3339 with milliseconds ("2026-11-27T10:00:00.123Z")
 * so measurement jitter can be read back. Scheduling is fixed-rate: the
 * next measurement of a metric is due at the previous one's startedAt +
 * interval (the first at run startedAt + initialDelay; startedAt is
 * metadata.creationTimestamp until status has one), so a controller
 * restart re-takes at most the one measurement it lost.
 *
 * Structs here own their strings and JSON; *_release frees them. Pure and
 * thread-safe: no clock, no I/O.
 */
#ifndef KNIT_ANALYSIS_RUN_H
#define KNIT_ANALYSIS_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "analysis/value.h"
#include "kube/client.h"

extern const struct kube_resource KNIT_ANALYSISRUNS;
extern const struct kube_resource KNIT_ANALYSISTEMPLATES;
extern const struct kube_resource KNIT_CLUSTERANALYSISTEMPLATES;

/* Labels on runs (set by the Rollout controller) and their Jobs. */
#define LABEL_RUN_ROLLOUT "knit.dev/rollout" /* rollout name */
#define LABEL_RUN_KIND                                               \
	"knit.dev/analysis"		      /* step-N, background, \
						 pre-promotion,      \
						 post-promotion */
#define LABEL_JOB_RUN "knit.dev/analysis-run" /* on measurement Jobs */

enum mphase {
	MPHASE_PENDING = 0,
	MPHASE_RUNNING,
	MPHASE_SUCCESSFUL,
	MPHASE_FAILED,
	MPHASE_ERROR,
	MPHASE_INCONCLUSIVE,
};
/* "Pending", "Running", ... ; and back (-1 when unknown). */
const char *mphase_name(enum mphase p);
int mphase_parse(const char *s);
/* Successful, Failed, Error or Inconclusive. */
bool mphase_done(enum mphase p);

enum provider_kind {
	PROVIDER_PROMETHEUS,
	PROVIDER_WEB,
	PROVIDER_JOB,
};

struct metric_spec {
	char *name;
	double interval_s;	/* 0: unset */
	int count;		/* 0: unset (see above) */
	double initial_delay_s; /* 0: none */
	char *success;		/* NULL: none */
	char *failure;		/* NULL: none */
	bool has_threshold;
	double min, max;   /* thresholdRange; -Inf/+Inf when a side is unset */
	int failure_limit; /* -1: none */
	int inconclusive_limit;	     /* -1: none */
	int consecutive_error_limit; /* -1: none */
	bool dry_run;
	enum provider_kind provider;
	json_t *provider_spec; /* the provider's object (owned) */
};

/* One argument of a run. value NULL means from secret (name/key). */
struct run_arg {
	char *name;
	char *value;
	char *secret_name, *secret_key;
};

struct measurement {
	enum mphase phase;
	char *value;   /* aval_format() of the result; NULL: none */
	char *message; /* NULL: none */
	double started_at, finished_at; /* wall seconds; finished 0: running */
	char *job_name;			/* NULL unless a Job measurement */
};

struct metric_result {
	enum mphase phase;
	char *message;
	int count, successful, failed, inconclusive, error, consecutive_error;
	struct measurement *m; /* newest last */
	size_t n_m;
};

struct run {
	char *ns, *name, *uid, *resource_version;
	struct metric_spec *metrics;
	size_t n_metrics;
	struct run_arg *args;
	size_t n_args;
	bool terminate;
	int retention;
	/* status */
	enum mphase phase;
	char *message;
	double started_at;	       /* 0: not started */
	struct metric_result *results; /* n_metrics of them, by index */
	/* spec problems (like rollout's `invalid`): non-NULL means the run
	 * is Error with this message */
	char *invalid;
};

/*
 * Parses metrics (a JSON array, as in a template or a run) into a new
 * array. Returns 0, or ERR_INVAL with a message naming the field
 * ("metrics[1].interval: \"5x\" is not a duration") -- every rule above is
 * checked, including expr_check() of both conditions, exactly one provider,
 * provider fields (prometheus needs address and query, web needs url,
 * job needs spec), unique names.
 */
int metrics_parse(const json_t *metrics, struct metric_spec **out, size_t *n,
		  char *err, size_t errlen);
void metrics_release(struct metric_spec *m, size_t n);

/* Parses an AnalysisRun object (spec and status). Spec problems do not
 * fail: they set r->invalid. ERR_PARSE only when obj is not an object
 * with metadata.name. */
int run_parse(const json_t *obj, struct run *r, char *err, size_t errlen);
void run_release(struct run *r);

/* The value of argument `name` when it is a literal; NULL otherwise. */
const char *run_arg_value(const struct run *r, const char *name);

/*
 * Builds a new AnalysisRun (new reference) named `name` in `ns` from
 * `templates` (AnalysisTemplate or ClusterAnalysisTemplate objects, in
 * order) and the caller's `args` (which take precedence over template
 * defaults; an arg given but declared by no template is ignored). Metrics
 * are concatenated (a duplicate name across templates is an error); every
 * declared arg must end up with a value or a secretKeyRef. `labels`
 * (object, borrowed, may be NULL) and `owner` (one ownerReference object,
 * borrowed, may be NULL) are set in metadata. Returns 0, or ERR_INVAL with
 * a message ("analysis template \"error-rate\": argument \"service\" has
 * no value").
 */
int run_build(const char *ns, const char *name, const json_t *const *templates,
	      size_t n_templates, const struct run_arg *args, size_t n_args,
	      const json_t *labels, const json_t *owner, json_t **out,
	      char *err, size_t errlen);

/*
 * Verdict of one result for metric m: sets *phase (SUCCESSFUL, FAILED,
 * INCONCLUSIVE or ERROR) and, for ERROR and FAILED/INCONCLUSIVE, a message
 * ("result 0.1995 does not satisfy result[0] < 0.05"; the expression's
 * error for ERROR).
 */
void run_judge(const struct metric_spec *m, const struct aval *result,
	       enum mphase *phase, char *msg, size_t msglen);

/* What a metric needs now. */
enum run_due {
	DUE_NONE,      /* finished, or not due yet */
	DUE_MEASURE,   /* take a new measurement now */
	DUE_CHECK_JOB, /* its newest measurement is a running Job */
};

/*
 * What metric i needs at `now`, and when it next will (*next_at, wall
 * seconds; 0 when never: finished or waiting only on a Job). A run that
 * is done (phase finished), terminating or invalid needs nothing.
 */
enum run_due run_metric_due(const struct run *r, size_t i, double now,
			    double *next_at);

/*
 * Records measurement m (moved: r takes ownership of its strings and m is
 * zeroed) for metric i: appends it, or when the newest measurement is a
 * running Job measurement and m completes it (m->phase done), replaces
 * that one; drops the oldest beyond retention; updates counters and the
 * metric's and the run's phase and message; sets started_at at the first
 * record (`now`).
 */
void run_record(struct run *r, size_t i, struct measurement *m, double now);

/*
 * Finishes a run whose spec.terminate is set, or an invalid one: running
 * or pending metrics become Successful with message "terminated" (or the
 * run becomes Error with r->invalid); the run's phase is recomputed.
 * Returns true when anything changed.
 */
bool run_finish(struct run *r, double now);

/* The status object for r (new reference), as described above. */
json_t *run_status_json(const struct run *r);

/* Release of one measurement's strings (zeroes it). */
void measurement_release(struct measurement *m);

#endif

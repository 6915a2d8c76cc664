/*
 * controller_internal: what the three parts of the Rollout controller share.
 *
 *   controller.c  lifecycle: informers, handlers, workers, housekeeping
 *                 (gauges, resync) and the metric families;
 *   reconcile.c   one key: read the caches, build the planner's views,
 *                 plan_compute(), hand the plan to apply;
 *   apply.c       one plan: the status PUT, the ReplicaSet, Service and
 *                 Pod writes, and the Events, in plan.h's order.
 *
 * struct controller is created by controller_new() and read-only after
 * controller_run() starts its workers, except for the fields noted.
 */
#ifndef KNIT_CONTROLLER_INTERNAL_H
#define KNIT_CONTROLLER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "controller/controller.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/workqueue.h"
#include "util/hashmap.h"
#include "rollout/plan.h"
#include "rollout/rollout.h"

/* Metric family names (declared by controller_declare_metrics()). */
#define M_RECONCILE_TOTAL	"knit_reconcile_total"
#define M_RECONCILE_DURATION	"knit_reconcile_duration_seconds"
#define M_WORKQUEUE_DEPTH	"knit_workqueue_depth"
#define M_WORKQUEUE_ADDS	"knit_workqueue_adds_total"
#define M_API_REQUESTS		"knit_api_requests_total"
#define M_API_THROTTLED		"knit_api_throttled_seconds_total"
#define M_ROLLOUTS		"knit_rollouts"
#define M_LEADER		"knit_leader"
#define M_ANALYSIS_MEASUREMENTS "knit_analysis_measurements_total"

struct controller {
	struct kube_client *client;
	char *ns; /* NULL: every namespace */
	int workers;
	struct event_recorder *recorder; /* may be NULL */
	struct metrics *metrics;	 /* may be NULL */
	long resync_ms;

	struct workqueue *queue;
	struct informer *rollouts, *replicasets, *services;
	/* AnalysisRuns: the informer feeds both the Rollout views and the
	 * analysis queue ("ns/name" of runs), served by analysis_workers
	 * threads (analysis.c). */
	struct informer *runs;
	struct workqueue *aqueue;
	int analysis_workers;
	/* run key -> its last seen status.phase (heap strings), so a watch
	 * event parses only the new object to notice a phase change */
	pthread_mutex_t run_phase_lock;
	struct hashmap run_phases;

	/* key -> the resourceVersion our last status PUT replaced. While the
	 * cache still holds that version it has not seen our own write, and
	 * a plan made from it would act on decisions already superseded;
	 * such a reconcile waits for the watch event instead. Only an
	 * optimisation of timing: after a restart the map is empty and the
	 * PUT's resourceVersion precondition still guards correctness. */
	pthread_mutex_t written_lock;
	struct hashmap written; /* values: heap strings */
	/* key -> 1 + index in ROLLOUT_PHASES of the phase its last
	 * successful reconcile wrote (under written_lock): the
	 * rollouts-by-phase gauge counts it instead of parsing every
	 * cached Rollout. */
	struct hashmap phases;

	pthread_mutex_t lock; /* guards stop */
	pthread_cond_t cond;  /* signalled by controller_stop() */
	bool stop;
	atomic_bool synced;
};

/* The outcome of one reconcile, which decides the requeue. */
enum reconcile_result {
	RECONCILE_SUCCESS,
	RECONCILE_ERROR,
	RECONCILE_CONFLICT,
};

/* Queues `key` now and counts the add. Thread-safe. */
void controller_enqueue(struct controller *c, const char *key);

/*
 * Reconciles the Rollout `key` ("ns/name") once. On success *requeue_ms
 * is the plan's delay (0: none). Never blocks on anything but API calls.
 */
enum reconcile_result reconcile_key(struct controller *c, const char *key,
				    long *requeue_ms);

/* What apply needs besides the plan (all borrowed). */
struct apply_input {
	const struct rollout *ro;
	json_t *obj; /* the Rollout as read (mutable copy, owned by caller) */
	const struct rs_view *rs;
	size_t n_rs;
	const struct svc_view *svc;
	size_t n_svc;
	json_t *pods; /* the stable revision's pods when listed, or NULL */
};

/*
 * Applies `p` in plan.h's order: status PUT (a conflict stops and returns
 * RECONCILE_CONFLICT; a missing Rollout stops with success), then the
 * ReplicaSet and Service writes and restart deletions (failures are logged,
 * the rest still tried, the result is RECONCILE_ERROR), then the plan's
 * Events. Writes that would change nothing are skipped.
 */
enum reconcile_result apply_plan(struct controller *c,
				 const struct apply_input *in,
				 const struct plan *p);

/* ---- runs.c: the Rollout's AnalysisRuns ---- */

/* On a run created without metrics: why it cannot measure. */
#define ANN_RUN_ERROR "knit.dev/analysis-error"

/* The planner's views of the runs a Rollout owns (borrowing from obj and
 * json, released together). */
struct run_views {
	struct kube_obj **obj;
	json_t **json;
	struct run_view *v;
	size_t n;
};
void run_views_build(struct controller *c, const struct rollout *ro,
		     struct run_views *rv);
void run_views_release(struct run_views *rv);
/* Carries out p->runs (create with templates and arguments resolved,
 * terminate, delete). Events about the Rollout go to `ref`. Returns
 * false when a write failed (logged; the reconcile is retried). */
bool runs_apply(struct controller *c, const struct apply_input *in,
		const struct plan *p, const struct event_ref *ref);

/* ---- analysis.c: the AnalysisRun controller ---- */

/* Informer handler for runs: queues new runs and spec changes for
 * measuring, and the owning Rollout when a run appears, goes or changes
 * phase. */
void analysis_on_run(struct kube_obj *old, struct kube_obj *new, void *data);
/* A worker thread of the analysis queue (arg: the controller). */
void *analysis_worker(void *arg);

/* Remembers that our status PUT replaced version `old_rv` of `key`. */
void controller_note_write(struct controller *c, const char *key,
			   const char *old_rv);
/* True when the cache's version `rv` of `key` predates our last status
 * PUT (forgets the note once a newer version is seen). */
bool controller_cache_behind(struct controller *c, const char *key,
			     const char *rv);

/* Records the phase a reconcile of `key` wrote; NULL forgets the key
 * (the Rollout is gone). Thread-safe. */
void controller_note_phase(struct controller *c, const char *key,
			   const char *phase);

/* Lists the pods of revision `hash` in `ns`: a new List reference or NULL
 * (logged) on failure. */
json_t *list_revision_pods(struct controller *c, const char *ns,
			   const char *hash);

/* `s` with '"' and '\\' escaped and newlines turned into spaces, for a
 * quoted log value: a new string. */
char *log_quote(const char *s);

#endif

/*
 * plan: the Rollout controller's decisions, as a pure function of
 * (rollout, observed ReplicaSets, observed Services, now).
 *
 * plan_compute() never talks to the API server and never reads a clock: it
 * gets everything in a struct plan_input and returns a struct plan saying
 * (1) the complete new status of the Rollout and (2) the writes that bring
 * the cluster to what that status decided: ReplicaSets to create, scale,
 * mark or delete, Services to point at a revision, and Events to record.
 *
 * The controller applies a plan in this order, which is what makes it
 * restart-safe and race-safe:
 *   1. if plan.status differs from the served status, PUT it (with the
 *      served resourceVersion; a conflict drops the whole plan and the key
 *      is requeued);
 *   2. then the ReplicaSet and Service writes, which are idempotent (they
 *      set absolute values computed from the decisions in plan.status);
 *   3. then the Events, which are recorded only after the status write
 *      carrying their decision succeeded (so a decision is never announced
 *      twice; a kill between 1 and 3 can lose an Event, never repeat one).
 * Decisions (step index, pause start, abort, stable revision, handled
 * operations) therefore exist in the API server before anything acts on
 * them, and a plan computed from a stale cache fails at step 1.
 *
 * Rules (see docs/api.md for the user-facing description):
 *   - at most one decision step per plan: a canary step completes, or an
 *     operation is handled, or a pause starts or ends -- never two, so
 *     every step is visible in status once and Events are one per step;
 *   - the new revision is the one whose hash is rollout_template_hash(
 *     spec.template, collisionCount); when it has no ReplicaSet, the plan
 *     creates it (name "<rollout>-<hash>", revision max+1) with 0 replicas,
 *     or spec.replicas when there is no stable revision yet (first deploy:
 *     no steps; the revision becomes stable once available). A ReplicaSet
 *     of that name that exists with another template (not ours) raises
 *     collisionCount;
 *   - with an invalid spec: status phase Degraded, condition InvalidSpec
 *     True with the sentences, a Warning Event InvalidSpec once (when the
 *     condition becomes True), and no ReplicaSet or Service write;
 *   - the full rules of each strategy, pauses, operations, abort, the
 *     progress deadline, scale-down of old revisions and history are in
 *     plan.c and docs/api.md.
 */
#ifndef KNIT_ROLLOUT_PLAN_H
#define KNIT_ROLLOUT_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "rollout/rollout.h"

/* One ReplicaSet owned (controller reference) by the Rollout. */
struct rs_view {
	const char *name;
	const char *hash;      /* LABEL_POD_TEMPLATE_HASH; may be NULL */
	long revision;	       /* ANN_REVISION; 0 when absent */
	bool template_matches; /* its pod template (without the hash label)
				  equals spec.template */
	int spec_replicas;     /* spec.replicas */
	int replicas;	       /* status.replicas */
	int ready;	       /* status.readyReplicas */
	int available;	       /* status.availableReplicas */
	bool observed;	       /* status.observedGeneration >= generation */
	double scale_down_at;  /* ANN_SCALE_DOWN_DEADLINE in wall seconds;
				  0: none */
	bool deleting;	       /* metadata.deletionTimestamp set */
	const char *created;   /* metadata.creationTimestamp */
	const char *images;    /* rollout_template_images() of its template */
};

/* A Service named by the spec (stable/canary/active/preview). */
struct svc_view {
	const char *name;
	bool exists;
	const char *selector_hash; /* its selector's LABEL_POD_TEMPLATE_HASH,
				      NULL when absent */
	const char *managed_by;	   /* ANN_MANAGED_BY or NULL */
};

/* An AnalysisRun owned (controller reference) by the Rollout. */
struct run_view {
	const char *name;
	const char *kind;    /* label knit.dev/analysis: "step-2", ... */
	const char *hash;    /* LABEL_POD_TEMPLATE_HASH */
	const char *phase;   /* status.phase; NULL before the first status */
	const char *message; /* status.message; may be NULL */
	bool terminate;	     /* spec.terminate */
	bool deleting;	     /* metadata.deletionTimestamp set */
};

struct plan_input {
	const struct rollout *ro;
	const struct rs_view *rs; /* every owned ReplicaSet */
	size_t n_rs;
	const struct svc_view *svc; /* the Services the spec names */
	size_t n_svc;
	const struct run_view *runs; /* every owned AnalysisRun */
	size_t n_runs;
	double now; /* wall clock, seconds since the epoch */
	/* Only while spec.restartAt is due and not yet carried out
	 * (status.restartedAt older): how many pods of the stable revision
	 * were created before restartAt (the controller lists them); -1
	 * otherwise. */
	int restart_old_pods;
};

enum rs_action_kind {
	RS_CREATE,	  /* name, hash, revision, replicas */
	RS_SCALE,	  /* name, replicas */
	RS_SCALE_DOWN_AT, /* name, deadline (0: remove the annotation) */
	RS_DELETE,	  /* name (beyond revisionHistoryLimit) */
};

struct rs_action {
	enum rs_action_kind kind;
	char *name;
	char *hash;
	long revision;
	int replicas;
	double deadline;
};

/* Point Service `name` at revision `hash` (selector label) and mark it
 * ANN_MANAGED_BY the Rollout. */
struct svc_action {
	char *name;
	char *hash;
};

/*
 * AnalysisRun writes. RUN_CREATE: create run `name` (labels: kind, hash,
 * rollout) from `analysis` (borrowed from the rollout's spec; valid while
 * the rollout is) -- the controller resolves the templates and arguments;
 * an AlreadyExists answer means it is done. RUN_TERMINATE: set
 * spec.terminate on a run that is no longer needed (its revision moved on,
 * aborted or finished). RUN_DELETE: delete a run of a revision that no
 * longer has a ReplicaSet.
 */
enum run_action_kind {
	RUN_CREATE,
	RUN_TERMINATE,
	RUN_DELETE,
};

struct run_action {
	enum run_action_kind kind;
	char *name;
	char *kind_label; /* CREATE */
	char *hash;	  /* CREATE: the revision it judges */
	const struct rollout_analysis *analysis; /* CREATE */
};

struct plan_event {
	const char *type;   /* "Normal" or "Warning" (static) */
	const char *reason; /* static, documented in docs/api.md */
	char *message;
};

struct plan {
	json_t *status;	     /* the complete new status (owned) */
	bool status_changed; /* differs from the served status */
	struct rs_action *rs;
	size_t n_rs;
	struct svc_action *svc;
	size_t n_svc;
	struct run_action *runs;
	size_t n_runs;
	struct plan_event *events;
	size_t n_events;
	/* Restart: delete up to restart_max pods of ReplicaSet restart_rs
	 * created before restart_before (oldest first). NULL: none. */
	char *restart_rs;
	int restart_max;
	double restart_before;
	/* Reconcile again after this many ms even without a change (timed
	 * pauses, scale-down delays, the progress deadline); 0: no need. */
	long requeue_ms;
};

/* Computes the plan. Never fails; `out` is zeroed first. */
void plan_compute(const struct plan_input *in, struct plan *out);
void plan_release(struct plan *p);

#endif

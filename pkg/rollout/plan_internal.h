/*
 * plan_internal: what the planner's files (plan.c, plan_canary.c,
 * plan_bluegreen.c, plan_rolling.c, plan_status.c) share: the working
 * context of one plan_compute() call and the helpers that record decisions,
 * actions and Events into it.
 *
 * Invariants: a struct pctx lives for one plan_compute() call. Its decision
 * fields start as the served decisions (rollout->st) and are changed only by
 * the one decision this plan makes (`decided` is set then, and no second
 * decision may follow). `desired[i]` is the replica count ReplicaSet
 * in->rs[i] should have after this plan; `new_desired` is the count of the
 * new revision's ReplicaSet when it does not exist yet (new_idx < 0).
 * Nothing here is thread-safe or visible outside pkg/rollout/plan*.c.
 */
#ifndef KNIT_ROLLOUT_PLAN_INTERNAL_H
#define KNIT_ROLLOUT_PLAN_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "rollout/plan.h"

/* Pause reasons (status.pauseConditions[].reason). */
#define PAUSE_CANARY	   "CanaryPauseStep"
#define PAUSE_BLUEGREEN	   "BlueGreenPause"
#define PAUSE_SPEC	   "PausedBySpec"
#define PAUSE_INCONCLUSIVE "InconclusiveAnalysis"

/* History outcomes. */
#define OUTCOME_PROGRESSING "Progressing"
#define OUTCOME_PROMOTED    "Promoted"
#define OUTCOME_ABORTED	    "Aborted"
#define OUTCOME_SUPERSEDED  "Superseded"

#define HISTORY_MAX 20

struct pctx {
	const struct plan_input *in;
	const struct rollout *ro;
	struct plan *out;
	json_t *status; /* the status being built (owned until handed over) */
	double now;
	double now_s; /* now floored to seconds: what status times hold */
	int R, surge, unavail;
	char new_hash[16];
	char step_hash[16]; /* canary: hash of the steps; "" otherwise */
	long new_revision;
	int new_idx;	/* in->rs index of the new revision, -1: to create */
	int stable_idx; /* in->rs index of the stable revision, -1: none */
	/* decisions, starting from the served ones */
	int collision_count;
	char *cur_hash; /* owned */
	char *stable;	/* owned; NULL: no stable revision yet */
	int step;
	const char *pause_reason; /* static PAUSE_* or NULL */
	double pause_start;
	bool abort;
	double aborted_at;
	bool promote_full;
	double available_since;
	double last_progress;
	double restarted_at;
	int ovr_replicas, ovr_weight;
	int attempt;   /* analysis attempt: names the runs */
	bool switched; /* blue-green: active at the new revision */
	char *message; /* owned: status.message set by a decision (abort) */
	bool decided;
	bool progressed;	/* lastProgressTime := now */
	bool deadline_exceeded; /* Progressing=False ProgressDeadlineExceeded */
	bool invalid;
	const char *phase; /* set by plan_status_write() */
	/* replicas wanted */
	int *desired;
	int new_desired;
	size_t cap_rs, cap_svc, cap_ev, cap_runs;
};

static inline bool pause_is(const struct pctx *c, const char *reason)
{
	return c->pause_reason && strcmp(c->pause_reason, reason) == 0;
}

/* plan.c: recording */
void plan_add_event(struct pctx *c, const char *type, const char *reason,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void plan_add_rs(struct pctx *c, enum rs_action_kind kind, const char *name,
		 const char *hash, long revision, int replicas,
		 double deadline);
void plan_requeue(struct pctx *c, double at);
/* Marks the plan's one decision; progress=true also moves
 * lastProgressTime to now. */
void plan_decide(struct pctx *c, bool progress);
bool plan_progressing(const struct pctx *c);
/* Available pods of in->rs[i] that will stay: min(available, spec). */
int plan_avail(const struct pctx *c, int i);
int plan_spec(const struct pctx *c, int i);
void plan_set_desired(struct pctx *c, int i, int replicas);
int plan_get_desired(const struct pctx *c, int i);
/* "Step 2/4" style label for step index i (0-based). */
const char *plan_step_kind(const struct canary_step *s, char *out, size_t len);
/* Makes the new revision stable (decision): history Promoted, Event
 * RolloutCompleted. */
void plan_complete(struct pctx *c);
/* Aborts (decision): back to the stable revision, `why` completes the
 * message "Aborted <why>: back to revision N"; Event RolloutAborted. */
void plan_abort(struct pctx *c, const char *why);

/* plan_rolling.c */
/* Moves every ReplicaSet toward its target within maxSurge (total spec
 * replicas <= R + surge) and maxUnavailable (available >= R - unavail;
 * strict: >= R while the scale-ups fit in the surge). targets[i] for
 * in->rs[i]; new_target for a new revision to create. */
void plan_scale_within(struct pctx *c, const int *targets, int new_target,
		       bool strict);
void plan_rolling(struct pctx *c);

/* plan_canary.c */
void plan_canary(struct pctx *c);
/* What a step does, "setWeight 20" / "pause 30s" (written into out). */
const char *plan_step_kind(const struct canary_step *s, char *out, size_t len);
/* The parsed steps as JSON (new reference), hashed into currentStepHash
 * (so "30s" and 30 are the same step). */
json_t *plan_steps_json(const struct rollout_spec *s);
/* The setWeight in effect at step index `step` (100 when >= n). */
int plan_canary_weight(const struct rollout_spec *s, int step);

/* plan_bluegreen.c */
void plan_bluegreen(struct pctx *c);
/* Old blue-green ReplicaSets: deadline, then 0. */
void plan_bluegreen_old(struct pctx *c);

/* plan_analysis.c */
/* What an analysis gate says about the run of `kind` (current revision
 * and attempt). */
enum gate {
	GATE_WAIT,	   /* no run yet, or still measuring */
	GATE_PASS,	   /* Successful */
	GATE_FAIL,	   /* Failed or Error */
	GATE_INCONCLUSIVE, /* Inconclusive */
};
/* The gate's state; *run gets the run (NULL when none yet). */
enum gate plan_gate(const struct pctx *c, const char *kind,
		    const struct run_view **run);
/* Decisions on a finished gate: abort with the run's message (Event
 * AnalysisRunFailed/AnalysisRunError then RolloutAborted), or pause
 * InconclusiveAnalysis (Event AnalysisRunInconclusive) unless paused so
 * already; and the Event of a passed gate. */
void plan_gate_failed(struct pctx *c, const struct run_view *run);
void plan_gate_inconclusive(struct pctx *c, const struct run_view *run);
void plan_gate_passed(struct pctx *c, const struct run_view *run);
/* plan_gate(), then the decision of a gate that finished badly (failed:
 * abort; inconclusive: pause). Passing is left to the caller. */
enum gate plan_gate_check(struct pctx *c, const char *kind,
			  const struct run_view **run);
/* The kind label of canary step index i ("step-<i+1>"). */
void plan_step_run_kind(int i, char *out, size_t len);
/* Whether the revision is waiting on analysis (the progress deadline
 * does not run then). */
bool plan_analysis_waiting(const struct pctx *c);
/* True when the current canary step is an analysis step whose run is
 * Inconclusive (a promote then completes the step). */
bool plan_step_inconclusive(const struct pctx *c);
/* Raises c->attempt past every attempt that already has runs for
 * c->cur_hash, so a revision deployed again never reuses old runs. */
void plan_fresh_attempt(struct pctx *c);
/* After the decisions: create the runs the final state wants, terminate
 * running ones it no longer wants, delete those of vanished revisions, and
 * write status.analysisRuns. */
void plan_runs_emit(struct pctx *c);

/* plan_status.c */
void plan_status_write(struct pctx *c);
/* History: add an entry for the new revision (newest first). */
void plan_history_add(struct pctx *c);
/* Sets outcome (and finishedAt unless Progressing) of hash's entry. */
void plan_history_set(struct pctx *c, const char *hash, const char *outcome,
		      const char *message);
/* The revision number of a hash from the ReplicaSets or history; 0. */
long plan_revision_of(const struct pctx *c, const char *hash);
/* Whether the served condition `type` has status "True" or, when reason
 * is non-NULL, has that reason (whatever its status). */
bool plan_cond_is(const struct pctx *c, const char *type, const char *reason);

#endif

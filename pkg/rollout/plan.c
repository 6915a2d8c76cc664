/*
 * plan: the Rollout planner's entry point (plan.h). plan_compute() picks
 * the new revision, makes at most one decision (template change, operation,
 * spec.paused, progress deadline, then the strategy's own step), scales the
 * ReplicaSets toward what the decisions want, points the Services, deletes
 * revisions beyond revisionHistoryLimit, carries out spec.restartAt and
 * builds the status. The strategies live in plan_rolling.c, plan_canary.c
 * and plan_bluegreen.c; status, conditions and history in plan_status.c.
 */
#include "rollout/plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/plan_internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/rfc3339.h"

/* ---- recording helpers ---- */

void plan_add_event(struct pctx *c, const char *type, const char *reason,
		    const char *fmt, ...)
{
	struct plan *p = c->out;
	struct buf b;
	va_list ap;

	if (p->n_events == c->cap_ev) {
		c->cap_ev = c->cap_ev ? 2 * c->cap_ev : 4;
		p->events = xrealloc(p->events, c->cap_ev * sizeof(*p->events));
	}
	buf_init(&b, 4096);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	p->events[p->n_events].type = type;
	p->events[p->n_events].reason = reason;
	p->events[p->n_events].message = buf_detach(&b, NULL);
	p->n_events++;
}

void plan_add_rs(struct pctx *c, enum rs_action_kind kind, const char *name,
		 const char *hash, long revision, int replicas, double deadline)
{
	struct plan *p = c->out;
	struct rs_action *a;

	if (p->n_rs == c->cap_rs) {
		c->cap_rs = c->cap_rs ? 2 * c->cap_rs : 4;
		p->rs = xrealloc(p->rs, c->cap_rs * sizeof(*p->rs));
	}
	a = &p->rs[p->n_rs++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->name = xstrdup(name);
	a->hash = hash ? xstrdup(hash) : NULL;
	a->revision = revision;
	a->replicas = replicas;
	a->deadline = deadline;
}

static void add_svc(struct pctx *c, const char *name, const char *hash)
{
	struct plan *p = c->out;

	if (p->n_svc == c->cap_svc) {
		c->cap_svc = c->cap_svc ? 2 * c->cap_svc : 4;
		p->svc = xrealloc(p->svc, c->cap_svc * sizeof(*p->svc));
	}
	p->svc[p->n_svc].name = xstrdup(name);
	p->svc[p->n_svc].hash = xstrdup(hash);
	p->n_svc++;
}

void plan_requeue(struct pctx *c, double at)
{
	double ms = ceil((at - c->now) * 1000.0);
	long v = ms < 1 ? 1 : (long)ms;

	if (c->out->requeue_ms == 0 || v < c->out->requeue_ms)
		c->out->requeue_ms = v;
}

void plan_decide(struct pctx *c, bool progress)
{
	c->decided = true;
	if (progress) {
		c->progressed = true;
		c->last_progress = c->now_s;
	}
}

int plan_spec(const struct pctx *c, int i)
{
	return i < 0 ? 0 : c->in->rs[i].spec_replicas;
}

int plan_avail(const struct pctx *c, int i)
{
	const struct rs_view *r;

	if (i < 0)
		return 0;
	r = &c->in->rs[i];
	return r->available < r->spec_replicas ? r->available
					       : r->spec_replicas;
}

void plan_set_desired(struct pctx *c, int i, int replicas)
{
	if (i < 0)
		c->new_desired = replicas;
	else
		c->desired[i] = replicas;
}

int plan_get_desired(const struct pctx *c, int i)
{
	return i < 0 ? c->new_desired : c->desired[i];
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* The new revision is stable and has all its replicas available. */
static bool stable_ready(const struct pctx *c)
{
	return same(c->stable, c->cur_hash) && c->stable_idx >= 0 &&
	       plan_spec(c, c->stable_idx) == c->R &&
	       plan_avail(c, c->stable_idx) >= c->R;
}

bool plan_progressing(const struct pctx *c)
{
	return !c->invalid && !c->abort && !c->pause_reason && !stable_ready(c);
}

void plan_complete(struct pctx *c)
{
	long rev = plan_revision_of(c, c->cur_hash);

	free(c->stable);
	c->stable = xstrdup(c->cur_hash);
	c->stable_idx = c->new_idx;
	c->promote_full = false;
	c->switched = false;
	c->pause_reason = NULL;
	c->pause_start = 0;
	c->ovr_replicas = -1;
	c->ovr_weight = -1;
	c->available_since = 0;
	if (c->ro->spec.strategy == STRATEGY_CANARY)
		c->step = (int)c->ro->spec.n_steps;
	plan_history_set(c, c->cur_hash, OUTCOME_PROMOTED, NULL);
	plan_add_event(c, "Normal", "RolloutCompleted",
		       "Revision %ld (%s) is now stable", rev, c->cur_hash);
	plan_decide(c, true);
}

/* ---- setup ---- */

static const char *pause_static(const char *r)
{
	if (!r)
		return NULL;
	if (strcmp(r, PAUSE_BLUEGREEN) == 0)
		return PAUSE_BLUEGREEN;
	if (strcmp(r, PAUSE_SPEC) == 0)
		return PAUSE_SPEC;
	if (strcmp(r, PAUSE_INCONCLUSIVE) == 0)
		return PAUSE_INCONCLUSIVE;
	return PAUSE_CANARY;
}

static void ctx_init(struct pctx *c, const struct plan_input *in,
		     struct plan *out)
{
	const struct rollout *ro = in->ro;
	const struct rollout_decisions *st = &ro->st;

	c->in = in;
	c->ro = ro;
	c->out = out;
	c->status = ro->status ? json_deep_copy(ro->status) : json_object();
	if (!json_is_object(c->status)) {
		json_decref(c->status);
		c->status = json_object();
	}
	c->now = in->now;
	c->now_s = floor(in->now);
	c->R = ro->spec.replicas;
	intstr_resolve(ro->spec.max_surge, ro->spec.max_unavailable, c->R,
		       &c->surge, &c->unavail);
	c->collision_count = st->collision_count;
	c->cur_hash =
		st->current_pod_hash ? xstrdup(st->current_pod_hash) : NULL;
	c->stable = st->stable_rs ? xstrdup(st->stable_rs) : NULL;
	c->step = st->current_step_index;
	c->pause_reason = pause_static(st->pause_reason);
	c->pause_start = st->pause_start;
	c->abort = st->abort;
	c->aborted_at = st->aborted_at;
	c->promote_full = st->promote_full;
	c->available_since = st->available_since;
	c->last_progress = st->last_progress;
	c->restarted_at = st->restarted_at;
	c->ovr_replicas = st->canary_replicas_override;
	c->ovr_weight = st->canary_weight_override;
	c->attempt = st->attempt > 0 ? st->attempt : 1;
	c->switched = st->switched;
	c->new_idx = -1;
	c->stable_idx = -1;
	c->desired = xcalloc(in->n_rs ? in->n_rs : 1, sizeof(int));
	for (size_t i = 0; i < in->n_rs; i++)
		c->desired[i] = in->rs[i].spec_replicas;
}

static void ctx_release(struct pctx *c)
{
	free(c->cur_hash);
	free(c->stable);
	free(c->message);
	free(c->desired);
	json_decref(c->status);
}

static int find_rs(const struct pctx *c, const char *hash)
{
	for (size_t i = 0; i < c->in->n_rs; i++)
		if (same(c->in->rs[i].hash, hash) && !c->in->rs[i].deleting)
			return (int)i;
	return -1;
}

/* Field path of a Service name in the spec, for InvalidSpec sentences. */
static const char *svc_field(const struct rollout_spec *s, const char *name)
{
	if (same(s->stable_service, name))
		return "spec.strategy.canary.stableService";
	if (same(s->canary_service, name))
		return "spec.strategy.canary.canaryService";
	if (same(s->active_service, name))
		return "spec.strategy.blueGreen.activeService";
	if (same(s->preview_service, name))
		return "spec.strategy.blueGreen.previewService";
	return "spec.strategy";
}

/* Collects the spec's problems into c->message ("; "-joined). */
static void check_invalid(struct pctx *c)
{
	const struct rollout *ro = c->ro;
	struct buf b;

	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < ro->n_invalid; i++)
		buf_printf(&b, "%s%s", b.len ? "; " : "", ro->invalid[i]);
	for (size_t i = 0; i < c->in->n_svc; i++) {
		const struct svc_view *v = &c->in->svc[i];

		if (!v->exists)
			buf_printf(&b, "%s%s: Service \"%s\" not found",
				   b.len ? "; " : "",
				   svc_field(&ro->spec, v->name), v->name);
	}
	if (b.len) {
		c->invalid = true;
		c->message = buf_detach(&b, NULL);
		if (!plan_cond_is(c, "InvalidSpec", NULL))
			plan_add_event(c, "Warning", "InvalidSpec", "%s",
				       c->message);
	} else {
		buf_release(&b);
		if (plan_cond_is(c, "InvalidSpec", NULL))
			plan_add_event(c, "Normal", "InvalidSpecResolved",
				       "The spec is valid again");
	}
}

/* The new revision's hash; a ReplicaSet with that hash but another template
 * raises collisionCount. */
static void pick_revision(struct pctx *c)
{
	long max_rev = 0;

	for (int tries = 0; tries < 100; tries++) {
		int i;

		if (c->collision_count == c->ro->st.collision_count &&
		    c->ro->template_hash[0])
			memcpy(c->new_hash, c->ro->template_hash,
			       sizeof(c->new_hash));
		else
			rollout_template_hash(c->ro->spec.template,
					      c->collision_count, c->new_hash);
		i = find_rs(c, c->new_hash);
		if (i < 0 || c->in->rs[i].template_matches)
			break;
		c->collision_count++;
	}
	c->new_idx = find_rs(c, c->new_hash);
	c->stable_idx = c->stable ? find_rs(c, c->stable) : -1;
	for (size_t i = 0; i < c->in->n_rs; i++)
		if (c->in->rs[i].revision > max_rev)
			max_rev = c->in->rs[i].revision;
	c->new_revision =
		c->new_idx >= 0 ? c->in->rs[c->new_idx].revision : max_rev + 1;
}

/* Progress from observations: the new revision's pods or the available
 * pods changed since the served status. */
static void check_counts(struct pctx *c)
{
	json_t *s = c->ro->status;
	long upd = c->new_idx >= 0 ? c->in->rs[c->new_idx].replicas : 0;
	long avail = 0;

	for (size_t i = 0; i < c->in->n_rs; i++)
		avail += c->in->rs[i].available;
	if (!c->cur_hash || strcmp(c->cur_hash, c->new_hash) != 0)
		return;
	if (json_integer_value(json_object_get(s, "updatedReplicas")) != upd ||
	    json_integer_value(json_object_get(s, "availableReplicas")) < avail)
		c->progressed = true;
	/* Leaving Healthy (a pod lost, a scale, a restart) opens a new
	 * window for the progress deadline instead of measuring from the
	 * last progress of an update long finished. */
	if (same(json_string_value(json_object_get(s, "phase")), "Healthy") &&
	    !stable_ready(c))
		c->progressed = true;
	if (c->progressed)
		c->last_progress = c->now_s;
}

/* ---- decisions ---- */

static void on_template_change(struct pctx *c)
{
	const char *prev = c->cur_hash;
	bool first = c->stable == NULL;

	if (prev && !same(prev, c->stable)) {
		plan_history_set(c, prev, OUTCOME_SUPERSEDED, NULL);
		plan_add_event(c, "Normal", "RolloutSuperseded",
			       "Revision %ld (%s) superseded by revision %ld "
			       "(%s)",
			       plan_revision_of(c, prev), prev, c->new_revision,
			       c->new_hash);
	}
	free(c->cur_hash);
	c->cur_hash = xstrdup(c->new_hash);
	plan_fresh_attempt(c);
	c->step = 0;
	c->pause_reason = NULL;
	c->pause_start = 0;
	c->abort = false;
	c->aborted_at = 0;
	c->promote_full = false;
	c->switched = false; /* the active Service goes back to stable */
	c->ovr_replicas = -1;
	c->ovr_weight = -1;
	c->available_since = 0;
	if (first) {
		c->stable = xstrdup(c->new_hash);
		c->stable_idx = c->new_idx;
	}
	if (same(c->stable, c->new_hash))
		c->step = (int)c->ro->spec.n_steps;
	if (first || !same(c->stable, c->new_hash))
		plan_history_add(c);
	plan_decide(c, true);
}

static void on_steps_change(struct pctx *c)
{
	c->step = same(c->stable, c->cur_hash) ? (int)c->ro->spec.n_steps : 0;
	if (!same(c->stable, c->cur_hash))
		c->attempt++; /* the steps start over with fresh runs */
	c->pause_reason = NULL;
	c->pause_start = 0;
	c->ovr_replicas = -1;
	c->ovr_weight = -1;
	plan_decide(c, true);
}

static void decide_revision(struct pctx *c)
{
	bool canary = c->ro->spec.strategy == STRATEGY_CANARY;

	if (canary) {
		json_t *steps = plan_steps_json(&c->ro->spec);

		rollout_json_hash(steps, c->step_hash);
		json_decref(steps);
	}
	if (!c->stable || !same(c->cur_hash, c->new_hash) ||
	    c->collision_count != c->ro->st.collision_count)
		on_template_change(c);
	else if (canary &&
		 (!same(c->step_hash, c->ro->st.step_hash) || c->step < 0))
		on_steps_change(c);
}

/* "by <manager> at <time>" for an operation request. */
static char *who(const struct rollout_request *r)
{
	const char *m = r->manager ? r->manager : "an unknown manager";

	if (r->time)
		return xasprintf("by %s at %s", m, r->time);
	return xasprintf("by %s", m);
}

void plan_abort(struct pctx *c, const char *why)
{
	long back = plan_revision_of(c, c->stable);

	c->abort = true;
	c->aborted_at = c->now_s;
	c->pause_reason = NULL;
	c->pause_start = 0;
	c->promote_full = false;
	c->switched = false;
	free(c->message);
	c->message = xasprintf("Aborted %s: back to revision %ld", why, back);
	plan_history_set(c, c->cur_hash, OUTCOME_ABORTED, c->message);
	plan_add_event(c, "Warning", "RolloutAborted", "%s", c->message);
	plan_decide(c, false);
}

static void ack(struct pctx *c, const char *field, const char *value)
{
	json_t *ops = json_object_get(c->status, "operations");

	if (!json_is_object(ops)) {
		ops = json_object();
		json_object_set_new(c->status, "operations", ops);
	}
	json_object_set_new(ops, field, json_string(value ? value : ""));
}

static bool can_promote(const struct pctx *c)
{
	if (c->abort || same(c->stable, c->cur_hash))
		return false;
	/* an Inconclusive background run can pause after the last step */
	if (c->ro->spec.strategy == STRATEGY_CANARY)
		return c->step < (int)c->ro->spec.n_steps ||
		       pause_is(c, PAUSE_INCONCLUSIVE);
	if (c->ro->spec.strategy == STRATEGY_BLUEGREEN)
		return !c->promote_full || pause_is(c, PAUSE_INCONCLUSIVE);
	return false;
}

static void op_promote(struct pctx *c, const char *by, bool full)
{
	int n = (int)c->ro->spec.n_steps;
	bool accepted = false, step_accepted;

	if (!can_promote(c)) {
		plan_add_event(c, "Normal", "PromoteIgnored",
			       "Nothing to promote (requested %s)", by);
		plan_decide(c, false);
		return;
	}
	/* an inconclusive step run moves on; a background one only resumes */
	step_accepted = plan_step_inconclusive(c);
	if (pause_is(c, PAUSE_INCONCLUSIVE)) {
		accepted = true;
		c->attempt++; /* later gates start fresh runs */
	}
	if (!pause_is(c, PAUSE_SPEC)) {
		c->pause_reason = NULL;
		c->pause_start = 0;
	}
	if (c->ro->spec.strategy == STRATEGY_BLUEGREEN && c->switched) {
		plan_add_event(c, "Normal", "RolloutPromoted",
			       "Promoted %s: post-promotion analysis "
			       "accepted",
			       by);
		c->switched = false;
		plan_complete(c);
		return;
	}
	if (c->ro->spec.strategy == STRATEGY_BLUEGREEN) {
		c->promote_full = true;
		plan_add_event(c, "Normal", "RolloutPromoted",
			       "Promoted %s: revision %ld", by,
			       c->new_revision);
	} else if (full) {
		c->promote_full = true;
		c->step = n;
		plan_add_event(c, "Normal", "RolloutPromoted",
			       "Fully promoted %s: all steps skipped", by);
	} else if (c->step >= n || (accepted && !step_accepted)) {
		plan_add_event(c, "Normal", "RolloutPromoted",
			       "Promoted %s: inconclusive analysis accepted",
			       by);
	} else {
		c->step++;
		plan_add_event(c, "Normal", "RolloutPromoted",
			       "Promoted %s: step %d/%d", by, c->step, n);
	}
	plan_decide(c, true);
}

static void op_retry(struct pctx *c, const char *by)
{
	if (!c->abort) {
		plan_add_event(c, "Normal", "RetryIgnored",
			       "Not aborted, nothing to retry (requested %s)",
			       by);
		plan_decide(c, false);
		return;
	}
	c->abort = false;
	c->aborted_at = 0;
	c->attempt++;
	c->step = 0;
	c->pause_reason = NULL;
	c->pause_start = 0;
	c->available_since = 0;
	c->ovr_replicas = -1;
	c->ovr_weight = -1;
	free(c->message);
	c->message = NULL;
	plan_history_set(c, c->cur_hash, OUTCOME_PROGRESSING, NULL);
	plan_add_event(c, "Normal", "RolloutRetried", "Retried %s", by);
	plan_decide(c, true);
}

static void decide_operation(struct pctx *c)
{
	const struct rollout_request *r;
	char *by;

	if (c->ro->n_requests == 0)
		return;
	r = &c->ro->requests[0];
	by = who(r);
	switch (r->op) {
	case OP_ABORT:
		ack(c, "abort", r->value);
		if (!c->abort && !same(c->stable, c->cur_hash))
			plan_abort(c, by);
		else
			plan_decide(c, false);
		break;
	case OP_RETRY:
		ack(c, "retry", r->value);
		op_retry(c, by);
		break;
	case OP_PROMOTE_FULL:
		ack(c, "promoteFull", r->value);
		op_promote(c, by, true);
		break;
	case OP_PROMOTE:
		ack(c, "promote", r->value);
		op_promote(c, by, false);
		break;
	case OP_NONE:
		break;
	}
	free(by);
}

static void decide_spec_pause(struct pctx *c)
{
	bool moving = !c->abort && !same(c->stable, c->cur_hash);

	if (c->ro->spec.paused && moving && !pause_is(c, PAUSE_SPEC)) {
		c->pause_reason = PAUSE_SPEC;
		c->pause_start = c->now_s;
		plan_add_event(c, "Normal", "RolloutPaused",
			       "Paused by spec.paused");
		plan_decide(c, false);
	} else if (!c->ro->spec.paused && pause_is(c, PAUSE_SPEC)) {
		c->pause_reason = NULL;
		c->pause_start = 0;
		plan_add_event(c, "Normal", "RolloutResumed",
			       "Resumed: spec.paused is false");
		plan_decide(c, true);
	}
}

static void decide_deadline(struct pctx *c)
{
	double pd = c->ro->spec.progress_deadline_s;
	double end = c->last_progress + pd;

	c->deadline_exceeded =
		!c->progressed &&
		plan_cond_is(c, "Progressing", "ProgressDeadlineExceeded");
	if (c->decided || !plan_progressing(c) || c->deadline_exceeded ||
	    c->progressed || c->last_progress <= 0)
		return;
	/* A blue-green preview waiting out autoPromotionSeconds is on
	 * schedule, not stuck. */
	if (c->ro->spec.strategy == STRATEGY_BLUEGREEN &&
	    c->available_since > 0 && !c->promote_full)
		return;
	/* Analysis has its own limits (count, failureLimit, ...). */
	if (plan_analysis_waiting(c))
		return;
	if (c->now <= end)
		return;
	c->deadline_exceeded = true;
	plan_add_event(c, "Warning", "ProgressDeadlineExceeded",
		       "Revision %ld made no progress for %.0f s",
		       c->new_revision, pd);
	if (c->ro->spec.progress_deadline_abort &&
	    !same(c->stable, c->cur_hash))
		plan_abort(c, "because the progress deadline was exceeded");
	plan_decide(c, false);
}

/* A first deploy (or a revision that became stable before it was
 * available) is Promoted in history once it is available. */
static void decide_first_ready(struct pctx *c)
{
	json_t *h = json_object_get(c->status, "history");
	json_t *e = json_array_get(h, 0);

	if (c->decided || !stable_ready(c) || c->abort ||
	    !same(json_string_value(json_object_get(e, "podTemplateHash")),
		  c->stable) ||
	    !same(json_string_value(json_object_get(e, "outcome")),
		  OUTCOME_PROGRESSING))
		return;
	plan_history_set(c, c->stable, OUTCOME_PROMOTED, NULL);
	plan_add_event(c, "Normal", "RolloutCompleted",
		       "Revision %ld (%s) is now stable",
		       plan_revision_of(c, c->stable), c->stable);
	plan_decide(c, true);
}

/* ---- writes ---- */

static void emit_scaling(struct pctx *c)
{
	for (size_t i = 0; i < c->in->n_rs; i++) {
		const struct rs_view *r = &c->in->rs[i];

		if (!r->deleting && c->desired[i] != r->spec_replicas)
			plan_add_rs(c, RS_SCALE, r->name, NULL, 0,
				    c->desired[i], 0);
	}
	if (c->new_idx < 0) {
		char *name = xasprintf("%s-%s", c->ro->name, c->new_hash);

		plan_add_rs(c, RS_CREATE, name, c->new_hash, c->new_revision,
			    c->new_desired, 0);
		free(name);
	}
}

static void point(struct pctx *c, const char *svc, const char *hash)
{
	if (!svc || !hash)
		return;
	for (size_t i = 0; i < c->in->n_svc; i++) {
		const struct svc_view *v = &c->in->svc[i];

		if (!same(v->name, svc) || !v->exists)
			continue;
		if (!same(v->selector_hash, hash) ||
		    !same(v->managed_by, c->ro->name))
			add_svc(c, svc, hash);
		return;
	}
}

static void emit_services(struct pctx *c)
{
	const struct rollout_spec *s = &c->ro->spec;
	bool moving = !c->abort && !same(c->stable, c->cur_hash);
	const char *next = moving ? c->cur_hash : c->stable;

	point(c, s->stable_service, c->stable);
	point(c, s->canary_service, next);
	point(c, s->active_service,
	      c->switched && moving ? c->cur_hash : c->stable);
	point(c, s->preview_service, next);
}

static int by_revision(const void *a, const void *b)
{
	const struct rs_view *x = *(const struct rs_view *const *)a;
	const struct rs_view *y = *(const struct rs_view *const *)b;

	return (x->revision > y->revision) - (x->revision < y->revision);
}

/* Old revisions at 0 beyond revisionHistoryLimit, oldest first. */
static void emit_deletes(struct pctx *c)
{
	const struct rs_view **old = xcalloc(c->in->n_rs + 1, sizeof(*old));
	size_t n = 0;
	size_t limit = (size_t)c->ro->spec.revision_history_limit;

	for (size_t i = 0; i < c->in->n_rs; i++) {
		const struct rs_view *r = &c->in->rs[i];

		if ((int)i == c->new_idx || (int)i == c->stable_idx ||
		    r->deleting || r->spec_replicas != 0 || r->replicas != 0 ||
		    c->desired[i] != 0)
			continue;
		old[n++] = r;
	}
	qsort(old, n, sizeof(*old), by_revision);
	for (size_t i = 0; n > limit && i < n - limit; i++)
		plan_add_rs(c, RS_DELETE, old[i]->name, NULL, 0, 0, 0);
	free(old);
}

static void plan_restart(struct pctx *c)
{
	double at;
	int max;

	if (!c->ro->spec.restart_at ||
	    rfc3339_parse(c->ro->spec.restart_at, &at) != 0 ||
	    at <= c->restarted_at)
		return;
	if (at > c->now) {
		plan_requeue(c, at);
		return;
	}
	if (!stable_ready(c) || c->abort || c->in->restart_old_pods < 0)
		return;
	if (c->in->restart_old_pods == 0) {
		if (c->decided)
			return;
		c->restarted_at = at;
		plan_add_event(c, "Normal", "RolloutRestarted",
			       "Restarted: every pod created before %s was "
			       "replaced",
			       c->ro->spec.restart_at);
		plan_decide(c, false);
		return;
	}
	max = (c->unavail > 1 ? c->unavail : 1) -
	      (c->R - plan_avail(c, c->stable_idx));
	if (max > c->in->restart_old_pods)
		max = c->in->restart_old_pods;
	if (max <= 0)
		return;
	c->out->restart_rs = xstrdup(c->in->rs[c->stable_idx].name);
	c->out->restart_max = max;
	c->out->restart_before = at;
}

static void run_strategy(struct pctx *c)
{
	switch (c->ro->spec.strategy) {
	case STRATEGY_CANARY:
		plan_canary(c);
		break;
	case STRATEGY_BLUEGREEN:
		plan_bluegreen(c);
		break;
	default:
		plan_rolling(c);
		break;
	}
}

void plan_compute(const struct plan_input *in, struct plan *out)
{
	struct pctx c;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	ctx_init(&c, in, out);
	check_invalid(&c);
	if (!c.invalid) {
		pick_revision(&c);
		check_counts(&c);
		decide_revision(&c);
		if (!c.decided)
			decide_operation(&c);
		if (!c.decided)
			decide_spec_pause(&c);
		decide_deadline(&c);
		decide_first_ready(&c);
		run_strategy(&c);
		emit_scaling(&c);
		emit_services(&c);
		emit_deletes(&c);
		plan_runs_emit(&c);
		plan_restart(&c);
	}
	plan_status_write(&c);
	out->status = c.status;
	c.status = NULL;
	out->status_changed = !json_equal(out->status, in->ro->status);
	ctx_release(&c);
}

void plan_release(struct plan *p)
{
	if (!p)
		return;
	json_decref(p->status);
	for (size_t i = 0; i < p->n_rs; i++) {
		free(p->rs[i].name);
		free(p->rs[i].hash);
	}
	free(p->rs);
	for (size_t i = 0; i < p->n_svc; i++) {
		free(p->svc[i].name);
		free(p->svc[i].hash);
	}
	free(p->svc);
	for (size_t i = 0; i < p->n_runs; i++) {
		free(p->runs[i].name);
		free(p->runs[i].kind_label);
		free(p->runs[i].hash);
	}
	free(p->runs);
	for (size_t i = 0; i < p->n_events; i++)
		free(p->events[i].message);
	free(p->events);
	free(p->restart_rs);
	memset(p, 0, sizeof(*p));
}

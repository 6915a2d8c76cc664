/*
 * plan_canary: the canary strategy. The step at status.currentStepIndex
 * decides the replica targets of the canary (new) and stable revisions;
 * one plan completes at most one step; when every step is done the canary
 * is scaled to spec.replicas and, once available, becomes stable.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/plan_internal.h"
#include "rollout/rollout_internal.h"
#include "util/alloc.h"

const char *plan_step_kind(const struct canary_step *s, char *out, size_t len)
{
	switch (s->kind) {
	case STEP_SET_WEIGHT:
		snprintf(out, len, "setWeight %d", s->weight);
		break;
	case STEP_PAUSE:
		if (s->duration_s >= 0)
			snprintf(out, len, "pause %.0fs", s->duration_s);
		else
			snprintf(out, len, "pause");
		break;
	case STEP_SET_CANARY_SCALE:
		if (s->scale_replicas >= 0)
			snprintf(out, len, "setCanaryScale replicas %d",
				 s->scale_replicas);
		else if (s->scale_weight >= 0)
			snprintf(out, len, "setCanaryScale weight %d",
				 s->scale_weight);
		else
			snprintf(out, len, "setCanaryScale matchTrafficWeight");
		break;
	case STEP_ANALYSIS:
		snprintf(out, len, "analysis");
		break;
	}
	return out;
}

/* JSON of the parsed canary steps, hashed into currentStepHash. */
json_t *plan_steps_json(const struct rollout_spec *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n_steps; i++) {
		const struct canary_step *st = &s->steps[i];
		json_t *o = NULL;

		switch (st->kind) {
		case STEP_SET_WEIGHT:
			o = json_pack("{s:i}", "setWeight", st->weight);
			break;
		case STEP_PAUSE:
			o = json_pack("{s:{s:f}}", "pause", "duration",
				      st->duration_s);
			break;
		case STEP_SET_CANARY_SCALE:
			o = json_pack("{s:{s:i,s:i,s:b}}", "setCanaryScale",
				      "replicas", st->scale_replicas, "weight",
				      st->scale_weight, "matchTrafficWeight",
				      st->scale_match);
			break;
		case STEP_ANALYSIS:
			o = json_pack("{s:o}", "analysis",
				      rollout_analysis_json(st->analysis));
			break;
		}
		json_array_append_new(a, o ? o : json_null());
	}
	return a;
}

static int pct(int weight, int replicas)
{
	return (int)ceil((double)weight * replicas / 100.0);
}

int plan_canary_weight(const struct rollout_spec *s, int step)
{
	int w = 0;

	if (step >= (int)s->n_steps)
		return 100;
	for (int i = 0; i <= step && i < (int)s->n_steps; i++)
		if (s->steps[i].kind == STEP_SET_WEIGHT)
			w = s->steps[i].weight;
	return w;
}

/* Targets of the canary and stable revisions while progressing. */
static void targets_of(const struct pctx *c, int *tc, int *ts)
{
	int w = plan_canary_weight(&c->ro->spec, c->step);
	int wr = pct(w, c->R);

	if (c->step >= (int)c->ro->spec.n_steps) {
		*tc = c->R;
		*ts = 0;
		return;
	}
	if (c->ovr_replicas >= 0)
		*tc = c->ovr_replicas;
	else if (c->ovr_weight >= 0)
		*tc = pct(c->ovr_weight, c->R);
	else
		*tc = wr;
	*ts = c->R - wr;
}

static void step_done(struct pctx *c)
{
	char k[64];
	int n = (int)c->ro->spec.n_steps;

	plan_add_event(
		c, "Normal", "RolloutStepCompleted",
		"Revision %ld: step %d/%d completed: %s", c->new_revision,
		c->step + 1, n,
		plan_step_kind(&c->ro->spec.steps[c->step], k, sizeof(k)));
	c->step++;
	plan_decide(c, true);
}

static void pause_step(struct pctx *c, const struct canary_step *s)
{
	char k[64];
	int n = (int)c->ro->spec.n_steps;
	double end;

	if (!pause_is(c, PAUSE_CANARY)) {
		c->pause_reason = PAUSE_CANARY;
		c->pause_start = c->now_s;
		plan_add_event(c, "Normal", "RolloutPaused",
			       "Paused at step %d/%d: %s", c->step + 1, n,
			       plan_step_kind(s, k, sizeof(k)));
		plan_decide(c, false);
		if (s->duration_s >= 0)
			plan_requeue(c, c->pause_start + s->duration_s);
		return;
	}
	if (s->duration_s < 0)
		return; /* until promoted */
	end = c->pause_start + s->duration_s;
	if (c->now < end) {
		plan_requeue(c, end);
		return;
	}
	c->pause_reason = NULL;
	c->pause_start = 0;
	plan_add_event(c, "Normal", "RolloutResumed",
		       "Resumed at step %d/%d after %s", c->step + 1, n,
		       plan_step_kind(s, k, sizeof(k)));
	step_done(c);
}

/* An analysis step completes when its run succeeds. */
static void step_analysis(struct pctx *c)
{
	const struct run_view *run;
	char kind[32];

	plan_step_run_kind(c->step, kind, sizeof(kind));
	if (plan_gate_check(c, kind, &run) == GATE_PASS) {
		plan_gate_passed(c, run);
		step_done(c);
	}
}

static void canary_decide(struct pctx *c)
{
	const struct canary_step *s;
	int n = (int)c->ro->spec.n_steps, tc, ts;

	if (pause_is(c, PAUSE_SPEC))
		return;
	if (c->step >= n) {
		if (plan_spec(c, c->new_idx) == c->R &&
		    plan_avail(c, c->new_idx) >= c->R && c->new_idx >= 0)
			plan_complete(c);
		return;
	}
	s = &c->ro->spec.steps[c->step];
	switch (s->kind) {
	case STEP_SET_WEIGHT:
		targets_of(c, &tc, &ts);
		if (c->new_idx >= 0 && plan_spec(c, c->new_idx) == tc &&
		    plan_avail(c, c->new_idx) >= tc &&
		    (c->stable_idx < 0 || plan_spec(c, c->stable_idx) == ts))
			step_done(c);
		break;
	case STEP_PAUSE:
		pause_step(c, s);
		break;
	case STEP_SET_CANARY_SCALE:
		c->ovr_replicas = s->scale_replicas;
		c->ovr_weight = s->scale_replicas >= 0 ? -1 : s->scale_weight;
		if (s->scale_match) {
			c->ovr_replicas = -1;
			c->ovr_weight = -1;
		}
		step_done(c);
		break;
	case STEP_ANALYSIS:
		step_analysis(c);
		break;
	}
}

/* Background analysis: judged before the step, whatever the step. */
static void background_gate(struct pctx *c)
{
	const struct rollout_analysis *bg = c->ro->spec.background;
	const struct run_view *run;

	if (!bg || c->step < bg->starting_step || pause_is(c, PAUSE_SPEC))
		return;
	plan_gate_check(c, "background", &run);
}

void plan_canary(struct pctx *c)
{
	size_t n = c->in->n_rs;
	int *targets = xcalloc(n ? n : 1, sizeof(int));
	int tc, ts, new_target;
	bool same = strcmp(c->stable, c->cur_hash) == 0;

	if (!c->abort && !same && !c->decided)
		background_gate(c);
	if (!c->abort && !same && !c->decided &&
	    !pause_is(c, PAUSE_INCONCLUSIVE))
		canary_decide(c);
	same = strcmp(c->stable, c->cur_hash) == 0;
	if (same || c->abort) {
		tc = same ? c->R : 0;
		ts = c->R;
	} else {
		targets_of(c, &tc, &ts);
	}
	for (size_t i = 0; i < n; i++) {
		if ((int)i == c->stable_idx)
			targets[i] = ts;
		if ((int)i == c->new_idx)
			targets[i] = tc;
	}
	new_target = tc;
	plan_scale_within(c, targets, new_target, true);
	free(targets);
}

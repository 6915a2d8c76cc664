/*
 * plan_bluegreen: the blue-green strategy. The new revision runs beside the
 * stable one at previewReplicaCount behind the preview Service; once
 * available it is promoted (automatically after autoPromotionSeconds, or by
 * a promote request after a BlueGreenPause), scaled to spec.replicas, and
 * when fully available the active Service switches to it and it becomes
 * stable. The old revision keeps its pods until its scale-down deadline
 * (scaleDownDelaySeconds) passes.
 *
 * status.promoteFull records that the new revision was promoted (by any
 * means) and is being scaled up for the switch.
 */
#include <string.h>

#include "rollout/plan_internal.h"
#include "util/rfc3339.h"

static int preview_count(const struct pctx *c)
{
	int p = c->ro->spec.preview_replica_count;

	return p < 0 ? c->R : p;
}

static bool has(const struct pctx *c, int idx, int replicas)
{
	return idx >= 0 && plan_spec(c, idx) == replicas &&
	       plan_avail(c, idx) >= replicas;
}

static void bg_switch(struct pctx *c)
{
	double at = c->now_s + c->ro->spec.scale_down_delay_seconds;
	int old = c->stable_idx;
	char t[32];

	plan_complete(c);
	if (old >= 0 && old != c->new_idx && plan_spec(c, old) > 0) {
		rfc3339_format(at, t, sizeof(t));
		plan_add_event(c, "Normal", "ScaleDownScheduled",
			       "ReplicaSet %s scales down at %s",
			       c->in->rs[old].name, t);
	}
}

/* Fully scaled after promotion: switch, or with post-promotion analysis
 * point the active Service first and make the revision stable only once
 * the analysis passed. */
static void bg_promoted(struct pctx *c)
{
	const struct run_view *run;

	if (!c->ro->spec.post_promotion) {
		bg_switch(c);
		return;
	}
	if (!c->switched) {
		c->switched = true;
		plan_add_event(c, "Normal", "ActiveSwitched",
			       "Service %s points at revision %ld; "
			       "post-promotion analysis starts",
			       c->ro->spec.active_service, c->new_revision);
		plan_decide(c, true);
		return;
	}
	if (plan_gate_check(c, "post-promotion", &run) == GATE_PASS) {
		plan_gate_passed(c, run);
		bg_switch(c);
	}
}

/* Pre-promotion analysis: true when the preview may be promoted. */
static bool pre_gate(struct pctx *c)
{
	const struct run_view *run;

	if (!c->ro->spec.pre_promotion)
		return true;
	return plan_gate_check(c, "pre-promotion", &run) == GATE_PASS;
}

/* Passing pre-promotion analysis is not a decision of its own: its Event
 * goes with the promotion or pause decided next. */
static void pre_passed(struct pctx *c)
{
	const struct run_view *run;

	if (c->ro->spec.pre_promotion &&
	    plan_gate(c, "pre-promotion", &run) == GATE_PASS)
		plan_gate_passed(c, run);
}

static void bg_decide(struct pctx *c)
{
	int p = preview_count(c);
	double at;

	if (pause_is(c, PAUSE_SPEC))
		return;
	if (pause_is(c, PAUSE_INCONCLUSIVE))
		return; /* until promoted or aborted */
	if (c->promote_full) {
		if (has(c, c->new_idx, c->R))
			bg_promoted(c);
		return;
	}
	if (c->available_since <= 0) {
		if (has(c, c->new_idx, p)) {
			c->available_since = c->now_s;
			plan_decide(c, true);
		}
		return;
	}
	if (!pre_gate(c))
		return;
	if (c->ro->spec.auto_promotion_enabled) {
		at = c->available_since + c->ro->spec.auto_promotion_seconds;
		if (c->now < at) {
			plan_requeue(c, at);
			return;
		}
		c->promote_full = true;
		pre_passed(c);
		plan_add_event(c, "Normal", "RolloutPromoted",
			       "Promoted automatically: revision %ld",
			       c->new_revision);
		plan_decide(c, true);
		return;
	}
	if (!pause_is(c, PAUSE_BLUEGREEN)) {
		c->pause_reason = PAUSE_BLUEGREEN;
		c->pause_start = c->now_s;
		pre_passed(c);
		plan_add_event(c, "Normal", "RolloutPaused",
			       "Revision %ld is available in preview; waiting "
			       "for promotion",
			       c->new_revision);
		plan_decide(c, false);
	}
}

void plan_bluegreen_old(struct pctx *c)
{
	double delay = c->ro->spec.scale_down_delay_seconds;

	for (size_t i = 0; i < c->in->n_rs; i++) {
		const struct rs_view *r = &c->in->rs[i];
		int idx = (int)i;

		if (r->deleting)
			continue;
		if (idx == c->new_idx || idx == c->stable_idx) {
			if (r->scale_down_at > 0)
				plan_add_rs(c, RS_SCALE_DOWN_AT, r->name, NULL,
					    0, 0, 0);
			continue;
		}
		if (r->spec_replicas == 0) {
			if (r->scale_down_at > 0)
				plan_add_rs(c, RS_SCALE_DOWN_AT, r->name, NULL,
					    0, 0, 0);
			continue;
		}
		if (r->scale_down_at <= 0) {
			plan_add_rs(c, RS_SCALE_DOWN_AT, r->name, NULL, 0, 0,
				    c->now_s + delay);
			plan_requeue(c, c->now_s + delay);
		} else if (c->now >= r->scale_down_at) {
			plan_set_desired(c, idx, 0);
		} else {
			plan_requeue(c, r->scale_down_at);
		}
	}
}

void plan_bluegreen(struct pctx *c)
{
	bool same = strcmp(c->stable, c->cur_hash) == 0;

	if (!c->abort && !same && !c->decided)
		bg_decide(c);
	same = strcmp(c->stable, c->cur_hash) == 0;
	if (same) {
		plan_set_desired(c, c->new_idx, c->R);
	} else if (c->abort) {
		plan_set_desired(c, c->stable_idx, c->R);
		plan_set_desired(c, c->new_idx, 0);
	} else {
		if (c->stable_idx >= 0)
			plan_set_desired(c, c->stable_idx, c->R);
		plan_set_desired(c, c->new_idx,
				 c->promote_full ? c->R : preview_count(c));
	}
	plan_bluegreen_old(c);
}

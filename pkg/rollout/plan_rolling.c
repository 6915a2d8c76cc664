/*
 * plan_rolling: scaling ReplicaSets toward targets within maxSurge and
 * maxUnavailable (shared by rollingUpdate and canary), and the rollingUpdate
 * strategy itself (a Deployment's behaviour: new revision up, old ones down,
 * then the new one becomes stable).
 */
#include <stdlib.h>
#include <string.h>

#include "rollout/plan_internal.h"
#include "util/alloc.h"

/* Scale-ups: the sum of spec replicas (as observed, before this plan's
 * scale-downs take effect) never passes R + surge. Returns whether every
 * ReplicaSet got all it wanted. */
static bool scale_up(struct pctx *c, const int *targets, int new_target,
		     int total_spec)
{
	/* long: R and maxSurge may both be near INT_MAX */
	long room = (long)c->R + c->surge - total_spec;
	bool all = true;

	for (int i = -1; i < (int)c->in->n_rs; i++) {
		int spec, target, inc;

		if ((i < 0 && c->new_idx >= 0) ||
		    (i >= 0 && c->in->rs[i].deleting))
			continue;
		spec = plan_spec(c, i);
		target = i < 0 ? new_target : targets[i];
		if (target <= spec)
			continue;
		inc = target - spec;
		if (inc > room) {
			inc = room > 0 ? (int)room : 0;
			all = false;
		}
		room -= inc;
		plan_set_desired(c, i, spec + inc);
	}
	return all;
}

/* Scale-downs: a ReplicaSet first loses its pods that are not available
 * (free), then available ones only while the available pods of all
 * ReplicaSets stay at `floor` or more. Other revisions go first. */
static void scale_down(struct pctx *c, const int *targets, int budget)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->in->n_rs; i++) {
			int idx = (int)i, spec = plan_spec(c, idx);
			int free_pods = spec - plan_avail(c, idx), dec;
			int extra = budget > 0 ? budget : 0;
			bool main_rs =
				idx == c->new_idx || idx == c->stable_idx;

			if (c->in->rs[i].deleting || targets[i] >= spec ||
			    main_rs != (pass == 1))
				continue;
			dec = spec - targets[i];
			if (dec > free_pods + extra)
				dec = free_pods + extra;
			if (dec > free_pods)
				budget -= dec - free_pods;
			plan_set_desired(c, idx, spec - dec);
		}
	}
}

/*
 * Rolling: available pods stay >= R - maxUnavailable. Canary (strict):
 * available pods stay >= R while the scale-ups fit in maxSurge (the stable
 * revision goes down only as canary pods become available), and >= R -
 * maxUnavailable when they do not (so maxSurge 0 can still move).
 */
void plan_scale_within(struct pctx *c, const int *targets, int new_target,
		       bool strict)
{
	int total_spec = 0, total_avail = 0, floor;
	bool all;

	for (size_t i = 0; i < c->in->n_rs; i++) {
		if (c->in->rs[i].deleting)
			continue;
		total_spec += plan_spec(c, (int)i);
		total_avail += plan_avail(c, (int)i);
	}
	all = scale_up(c, targets, new_target, total_spec);
	floor = strict && all ? c->R : c->R - c->unavail;
	scale_down(c, targets, total_avail - floor);
}

void plan_rolling(struct pctx *c)
{
	size_t n = c->in->n_rs;
	int *targets = xcalloc(n ? n : 1, sizeof(int));
	bool same = c->stable && strcmp(c->stable, c->cur_hash) == 0;
	bool back = c->abort || same;
	int keep = back ? c->stable_idx : c->new_idx;
	int others = 0;

	if (!back && pause_is(c, PAUSE_SPEC))
		goto out; /* paused: hold every ReplicaSet where it is */
	for (size_t i = 0; i < n; i++) {
		targets[i] = (int)i == keep ? c->R : 0;
		if ((int)i != c->new_idx && !c->in->rs[i].deleting)
			others += plan_spec(c, (int)i);
	}
	plan_scale_within(c, targets, back && !same ? 0 : c->R, false);
	if (!back && !c->decided && plan_spec(c, c->new_idx) == c->R &&
	    plan_avail(c, c->new_idx) >= c->R && others == 0)
		plan_complete(c);
out:
	free(targets);
}

/*
 * plan_status: builds the Rollout status a plan ends with: the decision
 * fields (written only when a decision changed them, so a plan that decided
 * nothing reproduces the served status exactly), the replica counts, phase
 * and message, the canary/blueGreen summaries, the conditions (kstatus
 * Ready/Reconciling/Stalled and Knit's Progressing/Available/Paused/
 * InvalidSpec) and the deploy history.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kube/selector.h"
#include "rollout/plan_internal.h"
#include "util/alloc.h"
#include "util/rfc3339.h"

static bool same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static json_t *time_json(double t)
{
	char s[32];

	rfc3339_format(t, s, sizeof(s));
	return json_string(s);
}

/* Sets obj[key] to time t unless t equals the served value `was`; t <= 0
 * removes the key. */
static void set_time(json_t *obj, const char *key, double t, double was)
{
	if (t == was)
		return;
	if (t <= 0)
		json_object_del(obj, key);
	else
		json_object_set_new(obj, key, time_json(t));
}

static void set_str(json_t *obj, const char *key, const char *v,
		    const char *was)
{
	if (same(v, was))
		return;
	if (!v)
		json_object_del(obj, key);
	else
		json_object_set_new(obj, key, json_string(v));
}

bool plan_cond_is(const struct pctx *c, const char *type, const char *reason)
{
	json_t *conds = json_object_get(c->ro->status, "conditions");
	size_t i;
	json_t *e;

	json_array_foreach(conds, i, e)
	{
		if (!same(json_string_value(json_object_get(e, "type")), type))
			continue;
		if (reason)
			return same(
				json_string_value(json_object_get(e, "reason")),
				reason);
		return same(json_string_value(json_object_get(e, "status")),
			    "True");
	}
	return false;
}

/* ---- history ---- */

static json_t *history(struct pctx *c)
{
	json_t *h = json_object_get(c->status, "history");

	if (!json_is_array(h)) {
		h = json_array();
		json_object_set_new(c->status, "history", h);
	}
	return h;
}

static json_t *history_find(struct pctx *c, const char *hash, size_t *at)
{
	json_t *h = json_object_get(c->status, "history");
	size_t i;
	json_t *e;

	json_array_foreach(h, i, e)
	{
		if (same(json_string_value(
				 json_object_get(e, "podTemplateHash")),
			 hash)) {
			if (at)
				*at = i;
			return e;
		}
	}
	return NULL;
}

long plan_revision_of(const struct pctx *c, const char *hash)
{
	json_t *e;

	if (!hash)
		return 0;
	for (size_t i = 0; i < c->in->n_rs; i++)
		if (c->in->rs[i].hash && strcmp(c->in->rs[i].hash, hash) == 0)
			return c->in->rs[i].revision;
	if (strcmp(hash, c->new_hash) == 0)
		return c->new_revision;
	e = history_find((struct pctx *)c, hash, NULL);
	return (long)json_integer_value(json_object_get(e, "revision"));
}

void plan_history_add(struct pctx *c)
{
	json_t *h = history(c), *e = json_object();
	size_t at;
	char *images;

	if (history_find(c, c->new_hash, &at))
		json_array_remove(h, at);
	if (c->new_idx >= 0 && c->in->rs[c->new_idx].images)
		images = xstrdup(c->in->rs[c->new_idx].images);
	else
		images = rollout_template_images(c->ro->spec.template);
	json_object_set_new(e, "revision", json_integer(c->new_revision));
	json_object_set_new(e, "podTemplateHash", json_string(c->new_hash));
	json_object_set_new(e, "images", json_string(images));
	json_object_set_new(e, "startedAt", time_json(c->now_s));
	json_object_set_new(e, "outcome", json_string(OUTCOME_PROGRESSING));
	if (c->ro->change_cause)
		json_object_set_new(e, "changeCause",
				    json_string(c->ro->change_cause));
	if (c->ro->template_manager)
		json_object_set_new(e, "manager",
				    json_string(c->ro->template_manager));
	json_array_insert_new(h, 0, e);
	while (json_array_size(h) > HISTORY_MAX)
		json_array_remove(h, json_array_size(h) - 1);
	free(images);
}

void plan_history_set(struct pctx *c, const char *hash, const char *outcome,
		      const char *message)
{
	json_t *e = history_find(c, hash, NULL);

	if (!e)
		return;
	json_object_set_new(e, "outcome", json_string(outcome));
	if (strcmp(outcome, OUTCOME_PROGRESSING) == 0) {
		json_object_del(e, "finishedAt");
		json_object_del(e, "message");
	} else {
		json_object_set_new(e, "finishedAt", time_json(c->now_s));
	}
	if (message)
		json_object_set_new(e, "message", json_string(message));
}

/* ---- decisions ---- */

static void write_pause(struct pctx *c)
{
	const struct rollout_decisions *st = &c->ro->st;
	json_t *a, *e;

	if (same(c->pause_reason, st->pause_reason) &&
	    c->pause_start == st->pause_start &&
	    json_object_get(c->status, "pauseConditions"))
		return;
	a = json_array();
	if (c->pause_reason) {
		e = json_object();
		json_object_set_new(e, "reason", json_string(c->pause_reason));
		json_object_set_new(e, "startTime", time_json(c->pause_start));
		json_array_append_new(a, e);
	}
	json_object_set_new(c->status, "pauseConditions", a);
}

static void write_decisions(struct pctx *c)
{
	const struct rollout_decisions *st = &c->ro->st;
	json_t *s = c->status;

	set_str(s, "currentPodHash", c->cur_hash, st->current_pod_hash);
	set_str(s, "stableRS", c->stable, st->stable_rs);
	if (c->collision_count != st->collision_count)
		json_object_set_new(s, "collisionCount",
				    json_integer(c->collision_count));
	if (c->ro->spec.strategy == STRATEGY_CANARY) {
		if (c->step != st->current_step_index)
			json_object_set_new(s, "currentStepIndex",
					    json_integer(c->step));
		set_str(s, "currentStepHash", c->step_hash, st->step_hash);
	} else {
		json_object_del(s, "currentStepIndex");
		json_object_del(s, "currentStepHash");
	}
	write_pause(c);
	if (c->abort != st->abort || !json_object_get(s, "abort"))
		json_object_set_new(s, "abort", json_boolean(c->abort));
	set_time(s, "abortedAt", c->abort ? c->aborted_at : 0, st->aborted_at);
	if (c->promote_full != st->promote_full ||
	    !json_object_get(s, "promoteFull"))
		json_object_set_new(s, "promoteFull",
				    json_boolean(c->promote_full));
	if (c->restarted_at != st->restarted_at && c->ro->spec.restart_at)
		json_object_set_new(s, "restartedAt",
				    json_string(c->ro->spec.restart_at));
	set_time(s, "lastProgressTime", c->last_progress, st->last_progress);
	if (c->attempt != st->attempt || !json_object_get(s, "attempt"))
		json_object_set_new(s, "attempt", json_integer(c->attempt));
}

/* ---- observations ---- */

static void write_counts(struct pctx *c)
{
	json_t *s = c->status;
	long rep = 0, ready = 0, avail = 0, upd = 0;
	struct label_selector *sel = NULL;
	char err[256];

	for (size_t i = 0; i < c->in->n_rs; i++) {
		rep += c->in->rs[i].replicas;
		ready += c->in->rs[i].ready;
		avail += c->in->rs[i].available;
	}
	if (!c->invalid && c->new_idx >= 0)
		upd = c->in->rs[c->new_idx].replicas;
	else if (c->invalid)
		upd = json_integer_value(
			json_object_get(c->ro->status, "updatedReplicas"));
	json_object_set_new(s, "replicas", json_integer(rep));
	json_object_set_new(s, "updatedReplicas", json_integer(upd));
	json_object_set_new(s, "readyReplicas", json_integer(ready));
	json_object_set_new(s, "availableReplicas", json_integer(avail));
	if (label_selector_from_json(c->ro->spec.selector, &sel, err,
				     sizeof(err)) == 0) {
		char *str = label_selector_string(sel);

		json_object_set_new(s, "selector", json_string(str));
		free(str);
		label_selector_free(sel);
	}
}

static bool healthy(const struct pctx *c)
{
	return c->stable && same(c->stable, c->cur_hash) &&
	       c->stable_idx >= 0 && plan_spec(c, c->stable_idx) == c->R &&
	       plan_avail(c, c->stable_idx) >= c->R;
}

/* Phase and message; the returned message is new. */
static char *phase_of(struct pctx *c)
{
	const char *served =
		json_string_value(json_object_get(c->ro->status, "message"));
	int n = (int)c->ro->spec.n_steps;

	if (c->invalid) {
		c->phase = "Degraded";
		return xasprintf("InvalidSpec: %s", c->message);
	}
	if (c->abort) {
		c->phase = "Degraded";
		if (c->message)
			return xstrdup(c->message);
		return xstrdup(served ? served : "Aborted");
	}
	if (c->deadline_exceeded) {
		c->phase = "Degraded";
		return xasprintf("Progress deadline exceeded: revision %ld "
				 "made no progress for %d s",
				 c->new_revision,
				 c->ro->spec.progress_deadline_s);
	}
	if (c->pause_reason) {
		c->phase = "Paused";
		if (pause_is(c, PAUSE_SPEC))
			return xstrdup("Paused by spec.paused");
		if (pause_is(c, PAUSE_BLUEGREEN))
			return xasprintf("Revision %ld waits for promotion",
					 c->new_revision);
		if (pause_is(c, PAUSE_INCONCLUSIVE))
			return xasprintf("Revision %ld: analysis was "
					 "inconclusive; promote to go on or "
					 "abort",
					 c->new_revision);
		return xasprintf("Paused at step %d/%d", c->step + 1, n);
	}
	if (healthy(c)) {
		c->phase = "Healthy";
		return xasprintf("Revision %ld is stable and available",
				 plan_revision_of(c, c->stable));
	}
	c->phase = "Progressing";
	if (c->ro->spec.strategy == STRATEGY_CANARY &&
	    !same(c->stable, c->cur_hash))
		return xasprintf("Revision %ld at step %d/%d%s",
				 c->new_revision, c->step < n ? c->step + 1 : n,
				 n,
				 plan_analysis_waiting(c) ? ": analysis" : "");
	if (plan_analysis_waiting(c))
		return xasprintf("Revision %ld: %s-promotion analysis",
				 c->new_revision, c->switched ? "post" : "pre");
	return xasprintf("Revision %ld is rolling out", c->new_revision);
}

static void write_strategy(struct pctx *c)
{
	bool moving = !c->abort && !same(c->stable, c->cur_hash);
	json_t *o;

	if (c->ro->spec.strategy == STRATEGY_CANARY) {
		int w = !moving ? (c->abort ? 0 : 100)
				: plan_canary_weight(&c->ro->spec, c->step);

		o = json_pack("{s:i,s:i}", "weight", w, "stableWeight",
			      100 - w);
		if (c->ovr_replicas >= 0)
			json_object_set_new(o, "replicasOverride",
					    json_integer(c->ovr_replicas));
		if (c->ovr_weight >= 0)
			json_object_set_new(o, "weightOverride",
					    json_integer(c->ovr_weight));
		json_object_set_new(c->status, "canary", o);
	} else if (c->ro->spec.strategy == STRATEGY_BLUEGREEN) {
		json_t *was = json_object_get(c->ro->status, "blueGreen");
		json_t *since = json_object_get(was, "previewAvailableSince");

		o = json_pack("{s:s,s:s}", "activeSelector",
			      c->switched && moving ? c->cur_hash : c->stable,
			      "previewSelector",
			      moving ? c->cur_hash : c->stable);
		if (c->switched && moving)
			json_object_set_new(o, "switched", json_true());
		if (c->available_since > 0 &&
		    c->available_since == c->ro->st.available_since && since)
			json_object_set(o, "previewAvailableSince", since);
		else if (c->available_since > 0)
			json_object_set_new(o, "previewAvailableSince",
					    time_json(c->available_since));
		json_object_set_new(c->status, "blueGreen", o);
	}
}

/* ---- conditions ---- */

static json_t *served_cond(const struct pctx *c, const char *type)
{
	json_t *conds = json_object_get(c->ro->status, "conditions");
	size_t i;
	json_t *e;

	json_array_foreach(conds, i, e)
	{
		if (same(json_string_value(json_object_get(e, "type")), type))
			return e;
	}
	return NULL;
}

static void cond(struct pctx *c, json_t *arr, const char *type, bool status,
		 const char *reason, const char *message)
{
	json_t *old = served_cond(c, type);
	const char *st = status ? "True" : "False";
	json_t *e = json_object();
	json_t *lt = json_object_get(old, "lastTransitionTime");
	json_t *lu = json_object_get(old, "lastUpdateTime");
	bool same_status =
		same(json_string_value(json_object_get(old, "status")), st);
	bool same_all = same_status &&
			same(json_string_value(json_object_get(old, "reason")),
			     reason) &&
			same(json_string_value(json_object_get(old, "message")),
			     message);

	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "status", json_string(st));
	json_object_set_new(e, "reason", json_string(reason));
	json_object_set_new(e, "message", json_string(message));
	if (same_status && lt)
		json_object_set(e, "lastTransitionTime", lt);
	else
		json_object_set_new(e, "lastTransitionTime",
				    time_json(c->now_s));
	if (same_all && lu)
		json_object_set(e, "lastUpdateTime", lu);
	else
		json_object_set_new(e, "lastUpdateTime", time_json(c->now_s));
	json_object_set_new(e, "observedGeneration",
			    json_integer(c->ro->generation));
	json_array_append_new(arr, e);
}

static const char *progressing_reason(const struct pctx *c, bool *status)
{
	*status = false;
	if (c->invalid)
		return "InvalidSpec";
	if (c->deadline_exceeded)
		return "ProgressDeadlineExceeded";
	if (c->abort)
		return "RolloutAborted";
	*status = true;
	if (c->pause_reason)
		return "RolloutPaused";
	if (strcmp(c->phase, "Healthy") == 0)
		return "NewReplicaSetAvailable";
	return "ReplicaSetUpdated";
}

static void write_conditions(struct pctx *c, const char *msg)
{
	json_t *a = json_array();
	const char *ph = c->phase;
	bool degraded = strcmp(ph, "Degraded") == 0, pst;
	const char *preason = progressing_reason(c, &pst);
	bool avail = !c->invalid && c->stable_idx >= 0 &&
		     plan_avail(c, c->stable_idx) >= c->R;

	cond(c, a, "Ready", strcmp(ph, "Healthy") == 0, ph, msg);
	cond(c, a, "Reconciling",
	     strcmp(ph, "Progressing") == 0 || strcmp(ph, "Paused") == 0, ph,
	     msg);
	cond(c, a, "Stalled", degraded, degraded ? preason : ph, msg);
	cond(c, a, "Progressing", pst, preason, msg);
	cond(c, a, "Available", avail,
	     avail ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
	     avail ? "The stable revision has all its replicas available"
		   : "The stable revision does not have all its replicas "
		     "available");
	cond(c, a, "Paused", c->pause_reason != NULL,
	     c->pause_reason ? c->pause_reason : "NotPaused",
	     c->pause_reason ? msg : "");
	cond(c, a, "InvalidSpec", c->invalid,
	     c->invalid ? "InvalidSpec" : "SpecValid",
	     c->invalid ? c->message : "");
	json_object_set_new(c->status, "conditions", a);
}

void plan_status_write(struct pctx *c)
{
	char *msg;

	json_object_set_new(c->status, "observedGeneration",
			    json_integer(c->ro->generation));
	if (!c->invalid)
		write_decisions(c);
	write_counts(c);
	msg = phase_of(c);
	json_object_set_new(c->status, "phase", json_string(c->phase));
	json_object_set_new(c->status, "message", json_string(msg));
	if (!c->invalid)
		write_strategy(c);
	write_conditions(c, msg);
	if (strcmp(c->phase, "Progressing") == 0 && c->last_progress > 0)
		plan_requeue(c, c->last_progress +
					c->ro->spec.progress_deadline_s + 1);
	free(msg);
}

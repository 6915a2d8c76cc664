/*
 * test_plan: the Rollout planner (pkg/rollout/plan.h) on small scenarios:
 * first deploy, steady state, rolling update, canary steps and pauses,
 * blue-green previews and promotion, operations, abort, the progress
 * deadline, supersede and rollback, invalid specs, history limits, restart,
 * and analysis: canary step and background runs, blue-green pre- and
 * post-promotion gates, attempts (retry, steps edits, accepted
 * Inconclusive runs) and which runs are created, terminated or deleted.
 * A tiny simulator applies a plan's writes to the observed ReplicaSets and
 * Services (and its status to the Rollout, re-read with the real status
 * parser) so multi-plan runs can be checked end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollout/plan.h"
#include "rollout/rollout_internal.h"
#include "util/alloc.h"
#include "util/rfc3339.h"

#define T0     1800000000.0
#define MAX_RS 16

struct fx {
	struct rollout ro;
	json_t *meta; /* metadata: annotations and managedFields */
	struct rs_view rs[MAX_RS];
	char rs_name[MAX_RS][64], rs_hash[MAX_RS][16];
	size_t n_rs;
	struct svc_view svc[4];
	char svc_sel[4][16];
	size_t n_svc;
	double now;
	int restart_old_pods;
	/* AnalysisRuns: created by RUN_CREATE with phase `run_outcome`
	 * (NULL: no status yet) */
	struct run_view runs[MAX_RS];
	char run_name[MAX_RS][128], run_kind[MAX_RS][32], run_hash[MAX_RS][16];
	char run_phase[MAX_RS][16];
	size_t n_runs;
	const char *run_outcome;
	size_t n_terminated;
	struct plan p;
};

static json_t *template_of(const char *image)
{
	return json_pack("{s:{s:{s:s}},s:{s:[{s:s,s:s}]}}", "metadata",
			 "labels", "app", "web", "spec", "containers", "name",
			 "web", "image", image);
}

/* Re-reads decisions and pending requests from status and meta, like
 * rollout_parse() does. */
static void reload(struct fx *f)
{
	struct rollout_decisions *st = &f->ro.st;

	rollout_release_observed(&f->ro);
	rollout_parse_status(f->ro.status, st);
	rollout_parse_requests(&f->ro, f->meta);
	rollout_template_hash(f->ro.spec.template, st->collision_count,
			      f->ro.template_hash);
}

static struct fx *fx_new(enum rollout_strategy s, int replicas)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct rollout_spec *sp = &f->ro.spec;

	f->ro.ns = xstrdup("default");
	f->ro.name = xstrdup("web");
	f->ro.generation = 1;
	sp->replicas = replicas;
	sp->selector = json_pack("{s:{s:s}}", "matchLabels", "app", "web");
	sp->template = template_of("nginx:1");
	rollout_template_hash(sp->template, 0, f->ro.template_hash);
	sp->revision_history_limit = 10;
	sp->progress_deadline_s = 600;
	sp->progress_deadline_abort = true;
	sp->strategy = s;
	sp->max_surge = (struct intstr){true, 25};
	sp->max_unavailable = (struct intstr){true, 25};
	sp->auto_promotion_enabled = true;
	sp->preview_replica_count = -1;
	sp->scale_down_delay_seconds = 30;
	f->ro.status = json_object();
	f->meta = json_pack("{s:{}}", "annotations");
	f->now = T0;
	f->restart_old_pods = -1;
	reload(f);
	return f;
}

static void fx_free(struct fx *f)
{
	plan_release(&f->p);
	json_decref(f->meta);
	rollout_release(&f->ro);
	free(f);
}

static void set_steps(struct fx *f, size_t n, const struct canary_step *s)
{
	free(f->ro.spec.steps);
	f->ro.spec.steps = xcalloc(n ? n : 1, sizeof(*s));
	memcpy(f->ro.spec.steps, s, n * sizeof(*s));
	f->ro.spec.n_steps = n;
}

static struct canary_step weight(int w)
{
	return (struct canary_step){STEP_SET_WEIGHT, w, 0, -1, -1, false, NULL};
}

static struct canary_step pause_for(double d)
{
	return (struct canary_step){STEP_PAUSE, 0, d, -1, -1, false, NULL};
}

static void add_svc(struct fx *f, const char *name, char **field)
{
	struct svc_view *v = &f->svc[f->n_svc++];

	*field = xstrdup(name);
	v->name = *field;
	v->exists = true;
}

static void set_template(struct fx *f, const char *image)
{
	json_decref(f->ro.spec.template);
	f->ro.spec.template = template_of(image);
	f->ro.generation++;
	rollout_template_hash(f->ro.spec.template, f->ro.st.collision_count,
			      f->ro.template_hash);
}

static void request(struct fx *f, const char *ann, const char *value,
		    const char *manager)
{
	json_t *mf;
	char key[96];

	json_object_set_new(json_object_get(f->meta, "annotations"), ann,
			    json_string(value));
	snprintf(key, sizeof(key), "f:%s", ann);
	mf = json_pack("[{s:s,s:s,s:{s:{s:{s:{}}}}}]", "manager", manager,
		       "time", "2026-11-27T19:30:00Z", "fieldsV1", "f:metadata",
		       "f:annotations", key);
	json_object_set_new(f->meta, "managedFields", mf);
	reload(f);
}

static void plan(struct fx *f)
{
	struct plan_input in = {
		.ro = &f->ro,
		.rs = f->rs,
		.n_rs = f->n_rs,
		.svc = f->svc,
		.n_svc = f->n_svc,
		.runs = f->runs,
		.n_runs = f->n_runs,
		.now = f->now,
		.restart_old_pods = f->restart_old_pods,
	};

	plan_release(&f->p);
	plan_compute(&in, &f->p);
}

static void apply_runs(struct fx *f);

static int find_rs(struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->n_rs; i++)
		if (strcmp(f->rs[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int find_hash(struct fx *f, const char *hash)
{
	for (size_t i = 0; i < f->n_rs; i++)
		if (strcmp(f->rs[i].hash, hash) == 0)
			return (int)i;
	fail_msg("no ReplicaSet %s", hash);
	return -1;
}

static void add_rs(struct fx *f, const char *name, const char *hash,
		   long revision, int replicas)
{
	size_t i = f->n_rs++;

	snprintf(f->rs_name[i], sizeof(f->rs_name[i]), "%s", name);
	snprintf(f->rs_hash[i], sizeof(f->rs_hash[i]), "%s", hash);
	memset(&f->rs[i], 0, sizeof(f->rs[i]));
	f->rs[i].name = f->rs_name[i];
	f->rs[i].hash = f->rs_hash[i];
	f->rs[i].revision = revision;
	f->rs[i].spec_replicas = replicas;
	f->rs[i].template_matches = true;
	f->rs[i].observed = true;
	f->rs[i].images = "nginx";
}

/* Applies the plan's status and writes to the fixture (pods not ready). */
static void apply(struct fx *f)
{
	struct plan *p = &f->p;

	json_decref(f->ro.status);
	f->ro.status = json_deep_copy(p->status);
	reload(f);
	for (size_t i = 0; i < p->n_rs; i++) {
		struct rs_action *a = &p->rs[i];
		int k = find_rs(f, a->name);

		switch (a->kind) {
		case RS_CREATE:
			assert_int_equal(k, -1);
			add_rs(f, a->name, a->hash, a->revision, a->replicas);
			break;
		case RS_SCALE:
			assert_true(k >= 0);
			f->rs[k].spec_replicas = a->replicas;
			break;
		case RS_SCALE_DOWN_AT:
			assert_true(k >= 0);
			f->rs[k].scale_down_at = a->deadline;
			break;
		case RS_DELETE:
			assert_true(k >= 0);
			f->rs[k] = f->rs[f->n_rs - 1];
			memcpy(f->rs_name[k], f->rs_name[f->n_rs - 1], 64);
			memcpy(f->rs_hash[k], f->rs_hash[f->n_rs - 1], 16);
			f->rs[k].name = f->rs_name[k];
			f->rs[k].hash = f->rs_hash[k];
			f->n_rs--;
			break;
		}
	}
	apply_runs(f);
	for (size_t i = 0; i < p->n_svc; i++)
		for (size_t k = 0; k < f->n_svc; k++)
			if (strcmp(f->svc[k].name, p->svc[i].name) == 0) {
				snprintf(f->svc_sel[k], 16, "%s",
					 p->svc[i].hash);
				f->svc[k].selector_hash = f->svc_sel[k];
				f->svc[k].managed_by = "web";
			}
}

static int find_run(struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->n_runs; i++)
		if (strcmp(f->runs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Sets the phase of the run whose name ends with `suffix` (the kind). */
static void set_run_phase(struct fx *f, const char *suffix, const char *ph)
{
	size_t n = strlen(suffix);

	for (size_t i = 0; i < f->n_runs; i++) {
		size_t m = strlen(f->run_name[i]);

		if (m >= n && strcmp(f->run_name[i] + m - n, suffix) == 0) {
			snprintf(f->run_phase[i], 16, "%s", ph);
			f->runs[i].phase = f->run_phase[i];
		}
	}
}

static void apply_runs(struct fx *f)
{
	struct plan *p = &f->p;

	for (size_t i = 0; i < p->n_runs; i++) {
		struct run_action *a = &p->runs[i];
		int k = find_run(f, a->name);
		size_t n = f->n_runs;

		if (a->kind == RUN_CREATE) {
			assert_int_equal(k, -1);
			assert_non_null(a->analysis);
			assert_true(n < MAX_RS);
			snprintf(f->run_name[n], 128, "%s", a->name);
			snprintf(f->run_kind[n], 32, "%s", a->kind_label);
			snprintf(f->run_hash[n], 16, "%s", a->hash);
			snprintf(f->run_phase[n], 16, "%s",
				 f->run_outcome ? f->run_outcome : "");
			f->runs[n] = (struct run_view){
				f->run_name[n],
				f->run_kind[n],
				f->run_hash[n],
				f->run_outcome ? f->run_phase[n] : NULL,
				"measured",
				false,
				false};
			f->n_runs++;
		} else if (a->kind == RUN_TERMINATE) {
			assert_true(k >= 0);
			f->runs[k].terminate = true;
			f->n_terminated++;
		} else {
			assert_true(k >= 0);
			f->runs[k].deleting = true;
		}
	}
}

/* Every pod of every ReplicaSet is there and available. */
static void settle(struct fx *f)
{
	for (size_t i = 0; i < f->n_rs; i++) {
		f->rs[i].replicas = f->rs[i].spec_replicas;
		f->rs[i].ready = f->rs[i].spec_replicas;
		f->rs[i].available = f->rs[i].spec_replicas;
	}
}

static void set_avail(struct fx *f, const char *hash, int n)
{
	for (size_t i = 0; i < f->n_rs; i++)
		if (strcmp(f->rs[i].hash, hash) == 0) {
			f->rs[i].replicas = f->rs[i].spec_replicas;
			f->rs[i].ready = n;
			f->rs[i].available = n;
		}
}

static const char *sget(struct fx *f, const char *key)
{
	return json_string_value(json_object_get(f->p.status, key));
}

static long iget(struct fx *f, const char *key)
{
	return (long)json_integer_value(json_object_get(f->p.status, key));
}

static int count_events(struct fx *f, const char *reason)
{
	int n = 0;

	for (size_t i = 0; i < f->p.n_events; i++)
		if (strcmp(f->p.events[i].reason, reason) == 0)
			n++;
	return n;
}

static const char *event_msg(struct fx *f, const char *reason)
{
	for (size_t i = 0; i < f->p.n_events; i++)
		if (strcmp(f->p.events[i].reason, reason) == 0)
			return f->p.events[i].message;
	return NULL;
}

static const struct rs_action *rs_act(struct fx *f, enum rs_action_kind k,
				      const char *hash_or_name)
{
	for (size_t i = 0; i < f->p.n_rs; i++) {
		const struct rs_action *a = &f->p.rs[i];

		if (a->kind == k &&
		    (strstr(a->name, hash_or_name) ||
		     (a->hash && !strcmp(a->hash, hash_or_name))))
			return a;
	}
	return NULL;
}

static const char *svc_to(struct fx *f, const char *svc)
{
	for (size_t i = 0; i < f->p.n_svc; i++)
		if (strcmp(f->p.svc[i].name, svc) == 0)
			return f->p.svc[i].hash;
	return NULL;
}

static const char *cond_status(struct fx *f, const char *type)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(f->p.status, "conditions"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "type")),
			    type))
			return json_string_value(json_object_get(e, "status"));
	}
	return NULL;
}

static const char *cond_reason(struct fx *f, const char *type)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(f->p.status, "conditions"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "type")),
			    type))
			return json_string_value(json_object_get(e, "reason"));
	}
	return NULL;
}

static const char *hist(struct fx *f, size_t i, const char *key)
{
	json_t *h = json_array_get(json_object_get(f->p.status, "history"), i);

	return json_string_value(json_object_get(h, key));
}

/* A no-op reconcile: same observations, no decision, no write. */
static void assert_noop(struct fx *f)
{
	plan(f);
	assert_false(f->p.status_changed);
	assert_int_equal(f->p.n_rs, 0);
	assert_int_equal(f->p.n_svc, 0);
	assert_int_equal(f->p.n_events, 0);
}

/* Plans, applies and settles until nothing changes (at most `max`). */
static void run(struct fx *f, int max)
{
	for (int i = 0; i < max; i++) {
		plan(f);
		if (!f->p.status_changed && f->p.n_rs == 0 && f->p.n_svc == 0 &&
		    f->p.n_runs == 0)
			return;
		apply(f);
		settle(f);
		f->now += 1;
	}
	fail_msg("no steady state after %d plans", max);
}

/* A healthy revision nginx:1 (revision 1), `R` replicas. */
static void deploy(struct fx *f)
{
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Healthy");
}

/* ---- tests ---- */

static void test_first_deploy(void **state)
{
	struct fx *f = fx_new(STRATEGY_ROLLING, 3);
	const struct rs_action *a;
	char hash[16];

	(void)state;
	rollout_template_hash(f->ro.spec.template, 0, hash);
	plan(f);
	assert_true(f->p.status_changed);
	a = rs_act(f, RS_CREATE, hash);
	assert_non_null(a);
	assert_int_equal(a->replicas, 3);
	assert_int_equal(a->revision, 1);
	assert_string_equal(sget(f, "currentPodHash"), hash);
	assert_string_equal(sget(f, "stableRS"), hash);
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_string_equal(cond_status(f, "Reconciling"), "True");
	assert_string_equal(hist(f, 0, "outcome"), "Progressing");
	assert_string_equal(hist(f, 0, "images"), "nginx:1");
	apply(f);
	settle(f);
	f->now += 2;
	plan(f);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_string_equal(cond_status(f, "Ready"), "True");
	assert_string_equal(cond_status(f, "Reconciling"), "False");
	assert_string_equal(cond_status(f, "Stalled"), "False");
	assert_int_equal(count_events(f, "RolloutCompleted"), 1);
	assert_string_equal(hist(f, 0, "outcome"), "Promoted");
	assert_int_equal(iget(f, "availableReplicas"), 3);
	assert_string_equal(sget(f, "selector"), "app=web");
	apply(f);
	f->now += 100;
	assert_noop(f);
	assert_int_equal(f->p.requeue_ms, 0);
	fx_free(f);
}

static void test_steady_state_scales_and_deletes(void **state)
{
	struct fx *f = fx_new(STRATEGY_ROLLING, 2);

	(void)state;
	f->ro.spec.revision_history_limit = 1;
	add_rs(f, "web-old1", "old1", 1, 0);
	add_rs(f, "web-old2", "old2", 2, 0);
	add_rs(f, "web-old3", "old3", 3, 0);
	deploy(f);
	/* revisions 1 and 2 were deleted, 3 kept (limit 1) */
	assert_int_equal(f->n_rs, 2);
	assert_true(find_rs(f, "web-old3") >= 0);
	f->ro.spec.replicas = 5;
	plan(f);
	assert_int_equal(f->p.n_rs, 1);
	assert_int_equal(f->p.rs[0].kind, RS_SCALE);
	assert_int_equal(f->p.rs[0].replicas, 5);
	fx_free(f);
}

static void test_rolling_update_within_limits(void **state)
{
	struct fx *f = fx_new(STRATEGY_ROLLING, 4);
	char h1[16], h2[16];
	int plans = 0;

	(void)state;
	deploy(f);
	rollout_template_hash(f->ro.spec.template, 0, h1);
	set_template(f, "nginx:2");
	rollout_template_hash(f->ro.spec.template, 0, h2);
	plan(f);
	/* surge 1: the new revision starts at 1; unavailable 1: old to 3 */
	assert_int_equal(rs_act(f, RS_CREATE, h2)->replicas, 1);
	assert_int_equal(rs_act(f, RS_SCALE, h1)->replicas, 3);
	assert_int_equal(count_events(f, "RolloutCompleted"), 0);
	for (;;) {
		int spec = 0, avail = 0;

		apply(f);
		for (size_t i = 0; i < f->n_rs; i++) {
			spec += f->rs[i].spec_replicas;
			avail += f->rs[i].available < f->rs[i].spec_replicas
					 ? f->rs[i].available
					 : f->rs[i].spec_replicas;
		}
		assert_true(spec <= 5);
		assert_true(avail >= 3);
		settle(f);
		f->now += 1;
		plan(f);
		if (++plans > 30)
			fail_msg("rolling update did not finish");
		if (count_events(f, "RolloutCompleted"))
			break;
	}
	assert_string_equal(sget(f, "stableRS"), h2);
	assert_string_equal(hist(f, 0, "outcome"), "Promoted");
	assert_string_equal(hist(f, 1, "podTemplateHash"), h1);
	apply(f);
	run(f, 5);
	assert_string_equal(sget(f, "phase"), "Healthy");
	fx_free(f);
}

static struct fx *canary_fx(int replicas, size_t n,
			    const struct canary_step *steps, char *h1, char *h2)
{
	struct fx *f = fx_new(STRATEGY_CANARY, replicas);

	set_steps(f, n, steps);
	add_svc(f, "web-stable", &f->ro.spec.stable_service);
	add_svc(f, "web-canary", &f->ro.spec.canary_service);
	deploy(f);
	rollout_template_hash(f->ro.spec.template, 0, h1);
	set_template(f, "nginx:2");
	rollout_template_hash(f->ro.spec.template, 0, h2);
	return f;
}

static void test_canary_set_weight(void **state)
{
	struct canary_step steps[] = {weight(20), pause_for(-1)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(5, 2, steps, h1, h2);

	(void)state;
	assert_int_equal(iget(f, "currentStepIndex"), 2);
	plan(f);
	/* the template change: revision 2 created with the canary's 1 */
	assert_int_equal(rs_act(f, RS_CREATE, h2)->replicas, 1);
	assert_null(rs_act(f, RS_SCALE, h1));
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	assert_string_equal(svc_to(f, "web-canary"), h2);
	assert_null(svc_to(f, "web-stable"));
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(f->p.status, "canary"), "weight")),
		20);
	apply(f);
	/* canary not available yet: nothing moves */
	plan(f);
	assert_int_equal(f->p.n_rs, 0);
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	apply(f);
	set_avail(f, h2, 1);
	plan(f);
	assert_int_equal(rs_act(f, RS_SCALE, h1)->replicas, 4);
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	apply(f);
	settle(f);
	plan(f);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_int_equal(count_events(f, "RolloutStepCompleted"), 1);
	assert_string_equal(event_msg(f, "RolloutStepCompleted"),
			    "Revision 2: step 1/2 completed: setWeight 20");
	apply(f);
	/* step 2: an indefinite pause starts, once */
	plan(f);
	assert_string_equal(sget(f, "phase"), "Paused");
	assert_int_equal(count_events(f, "RolloutPaused"), 1);
	assert_int_equal(f->p.requeue_ms, 0);
	apply(f);
	f->now += 3600;
	assert_noop(f);
	fx_free(f);
}

static void test_canary_timed_pause(void **state)
{
	struct canary_step steps[] = {pause_for(30), weight(50)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(4, 2, steps, h1, h2);
	json_t *pc;

	(void)state;
	plan(f);
	apply(f);
	settle(f);
	plan(f);
	assert_string_equal(sget(f, "phase"), "Paused");
	pc = json_array_get(json_object_get(f->p.status, "pauseConditions"), 0);
	assert_string_equal(json_string_value(json_object_get(pc, "reason")),
			    "CanaryPauseStep");
	assert_non_null(json_object_get(pc, "startTime"));
	assert_int_equal(f->p.requeue_ms, 30000);
	apply(f);
	f->now += 10;
	plan(f);
	assert_false(f->p.status_changed);
	assert_true(f->p.requeue_ms > 19000 && f->p.requeue_ms <= 20000);
	f->now += 21;
	plan(f);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_int_equal(count_events(f, "RolloutResumed"), 1);
	assert_int_equal(count_events(f, "RolloutStepCompleted"), 1);
	assert_string_equal(sget(f, "phase"), "Progressing");
	fx_free(f);
}

/* A 4-step canary runs to Healthy; each step index shows once, in order,
 * one step per plan, and availability never drops below R - 1. */
static void test_canary_full_run(void **state)
{
	struct canary_step an = {STEP_ANALYSIS,
				 0,
				 0,
				 -1,
				 -1,
				 false,
				 xcalloc(1, sizeof(struct rollout_analysis))};
	struct canary_step sc = {
		STEP_SET_CANARY_SCALE, 0, 0, 3, -1, false, NULL};
	struct canary_step steps[] = {weight(20), pause_for(5), sc, an,
				      weight(60)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(5, 5, steps, h1, h2);
	int seen[6] = {0}, last = -1, completed = 0, done = 0;

	(void)state;
	f->run_outcome = "Successful";
	for (int i = 0; i < 100 && !done; i++) {
		int step, avail = 0;

		plan(f);
		step = (int)iget(f, "currentStepIndex");
		assert_true(step == last || step == last + 1 || last < 0);
		if (step != last)
			seen[step]++;
		last = step;
		completed += count_events(f, "RolloutStepCompleted");
		assert_true(count_events(f, "RolloutStepCompleted") <= 1);
		done = count_events(f, "RolloutCompleted");
		apply(f);
		for (size_t k = 0; k < f->n_rs; k++)
			avail += f->rs[k].available < f->rs[k].spec_replicas
					 ? f->rs[k].available
					 : f->rs[k].spec_replicas;
		assert_true(avail >= 4);
		settle(f);
		f->now += 1;
	}
	assert_true(done);
	for (int i = 0; i <= 5; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(completed, 5);
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_string_equal(sget(f, "stableRS"), h2);
	assert_string_equal(f->svc[1].selector_hash, h2);
	assert_string_equal(f->svc[0].selector_hash, h2);
	assert_int_equal(f->rs[find_hash(f, h1)].spec_replicas, 0);
	fx_free(f);
}

static struct canary_step analysis_step(void)
{
	return (struct canary_step){
		STEP_ANALYSIS,
		0,
		0,
		-1,
		-1,
		false,
		xcalloc(1, sizeof(struct rollout_analysis))};
}

/* An analysis step creates its run once, waits while it measures (no
 * progress deadline), and a Failed run aborts the rollout with the run's
 * message; the background run is terminated then. */
static void test_analysis_step_fails(void **state)
{
	struct canary_step steps[] = {weight(20), analysis_step(), weight(60)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(5, 3, steps, h1, h2);
	char name[128];

	(void)state;
	f->ro.spec.background = xcalloc(1, sizeof(struct rollout_analysis));
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	snprintf(name, sizeof(name), "web-%s-1-step-2", h2);
	assert_true(find_run(f, name) >= 0);
	snprintf(name, sizeof(name), "web-%s-1-background", h2);
	assert_true(find_run(f, name) >= 0);
	assert_int_equal(f->n_runs, 2);
	f->now += 3600; /* measuring for an hour is not a stuck rollout */
	run(f, 3);
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	set_run_phase(f, "step-2", "Failed");
	plan(f);
	assert_int_equal(count_events(f, "AnalysisRunFailed"), 1);
	assert_int_equal(count_events(f, "RolloutAborted"), 1);
	apply(f);
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_non_null(strstr(sget(f, "message"), "step-2 ended Failed"));
	assert_int_equal(f->n_terminated, 1); /* the background run */
	assert_int_equal(f->n_runs, 2);
	fx_free(f);
}

/* Inconclusive pauses; promote accepts it and moves on; retry starts a
 * new attempt with fresh runs. */
static void test_analysis_inconclusive(void **state)
{
	struct canary_step steps[] = {analysis_step(), weight(50)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(2, 2, steps, h1, h2);
	json_t *ann;

	(void)state;
	run(f, 10);
	set_run_phase(f, "step-1", "Inconclusive");
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Paused");
	ann = json_object_get(f->meta, "annotations");
	json_object_set_new(ann, ANN_OP_PROMOTE, json_string("1"));
	reload(f);
	run(f, 10);
	assert_int_equal(iget(f, "attempt"), 2);
	assert_string_equal(sget(f, "phase"), "Healthy");
	fx_free(f);
}

/* Going back to a revision whose runs still exist (its ReplicaSet is kept
 * as history) starts fresh runs: the old run, terminated and Successful,
 * must not open the gate. */
static void test_redeploy_fresh_runs(void **state)
{
	struct canary_step steps[] = {weight(20), analysis_step(), weight(60)};
	char h1[16], h2[16], name[128];
	struct fx *f = canary_fx(5, 3, steps, h1, h2);

	(void)state;
	run(f, 10);
	snprintf(name, sizeof(name), "web-%s-1-step-2", h2);
	assert_true(find_run(f, name) >= 0);
	set_template(f, "nginx:3");
	run(f, 10);
	set_run_phase(f, "-1-step-2", "Successful"); /* terminated */
	set_template(f, "nginx:2");
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	snprintf(name, sizeof(name), "web-%s-2-step-2", h2);
	assert_true(find_run(f, name) >= 0);
	assert_string_equal(sget(f, "phase"), "Progressing");
	fx_free(f);
}

/* Promoting past an Inconclusive background run resumes the current step
 * (an analysis step still measuring is not skipped). */
static void test_background_inconclusive_keeps_step(void **state)
{
	struct canary_step steps[] = {weight(20), analysis_step(), weight(60)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(5, 3, steps, h1, h2);
	json_t *ann;

	(void)state;
	f->ro.spec.background = xcalloc(1, sizeof(struct rollout_analysis));
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	set_run_phase(f, "-1-background", "Inconclusive");
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Paused");
	ann = json_object_get(f->meta, "annotations");
	json_object_set_new(ann, ANN_OP_PROMOTE, json_string("1"));
	reload(f);
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_int_equal(iget(f, "attempt"), 2);
	assert_string_equal(sget(f, "phase"), "Progressing");
	fx_free(f);
}

static void test_promote_in_pause(void **state)
{
	struct canary_step steps[] = {pause_for(-1), weight(50)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(2, 2, steps, h1, h2);
	json_t *ops;

	(void)state;
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Paused");
	request(f, ANN_OP_PROMOTE, "p1", "alice");
	plan(f);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	ops = json_object_get(f->p.status, "operations");
	assert_string_equal(json_string_value(json_object_get(ops, "promote")),
			    "p1");
	assert_string_equal(event_msg(f, "RolloutPromoted"),
			    "Promoted by alice at 2026-11-27T19:30:00Z: step "
			    "1/2");
	assert_int_equal(f->p.n_events, 1);
	apply(f);
	assert_int_equal(f->ro.n_requests, 0);
	plan(f);
	assert_int_equal(count_events(f, "RolloutPromoted"), 0);
	fx_free(f);
}

static void test_ops_order_and_ignored(void **state)
{
	struct fx *f = fx_new(STRATEGY_CANARY, 2);

	(void)state;
	deploy(f);
	request(f, ANN_OP_PROMOTE, "p1", "bob");
	request(f, ANN_OP_RETRY, "r1", "bob");
	assert_int_equal(f->ro.n_requests, 2);
	plan(f);
	/* retry comes first; promote waits */
	assert_int_equal(count_events(f, "RetryIgnored"), 1);
	assert_int_equal(f->p.n_events, 1);
	assert_null(json_object_get(json_object_get(f->p.status, "operations"),
				    "promote"));
	apply(f);
	assert_int_equal(f->ro.n_requests, 1);
	plan(f);
	assert_int_equal(count_events(f, "PromoteIgnored"), 1);
	assert_string_equal(sget(f, "phase"), "Healthy");
	apply(f);
	assert_noop(f);
	fx_free(f);
}

static void test_abort_and_retry(void **state)
{
	struct canary_step steps[] = {weight(20), pause_for(-1)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(5, 2, steps, h1, h2);

	(void)state;
	run(f, 20);
	assert_string_equal(sget(f, "phase"), "Paused");
	request(f, ANN_OP_ABORT, "a1", "carol");
	plan(f);
	assert_true(json_is_true(json_object_get(f->p.status, "abort")));
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_string_equal(cond_status(f, "Stalled"), "True");
	assert_string_equal(cond_status(f, "Ready"), "False");
	assert_int_equal(count_events(f, "RolloutAborted"), 1);
	assert_non_null(strstr(event_msg(f, "RolloutAborted"), "carol"));
	assert_string_equal(f->p.events[0].type, "Warning");
	assert_string_equal(svc_to(f, "web-canary"), h1);
	/* stable up first; the canary goes once stable pods are available */
	assert_int_equal(rs_act(f, RS_SCALE, h1)->replicas, 5);
	assert_null(rs_act(f, RS_SCALE, h2));
	assert_string_equal(hist(f, 0, "outcome"), "Aborted");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(f->p.status, "operations"), "abort")),
		"a1");
	apply(f);
	settle(f);
	plan(f);
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 0);
	assert_int_equal(f->p.n_events, 0);
	apply(f);
	settle(f);
	plan(f);
	apply(f);
	assert_noop(f);
	assert_string_equal(sget(f, "phase"), "Degraded");
	request(f, ANN_OP_RETRY, "r1", "carol");
	plan(f);
	assert_false(json_is_true(json_object_get(f->p.status, "abort")));
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	assert_int_equal(count_events(f, "RolloutRetried"), 1);
	assert_string_equal(hist(f, 0, "outcome"), "Progressing");
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 1);
	fx_free(f);
}

static void test_progress_deadline(void **state)
{
	struct canary_step steps[] = {weight(50)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(2, 1, steps, h1, h2);

	(void)state;
	plan(f);
	assert_int_equal(f->p.requeue_ms, 601000);
	apply(f);
	f->now += 599;
	assert_noop(f);
	f->now += 3;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 1);
	assert_int_equal(count_events(f, "RolloutAborted"), 1);
	assert_string_equal(cond_reason(f, "Progressing"),
			    "ProgressDeadlineExceeded");
	assert_true(json_is_true(json_object_get(f->p.status, "abort")));
	apply(f);
	assert_noop(f);
	fx_free(f);
}

static void test_progress_deadline_no_abort(void **state)
{
	struct canary_step steps[] = {weight(50)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(2, 1, steps, h1, h2);

	(void)state;
	f->ro.spec.progress_deadline_abort = false;
	plan(f);
	apply(f);
	f->now += 700;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 1);
	assert_int_equal(count_events(f, "RolloutAborted"), 0);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_string_equal(cond_status(f, "Progressing"), "False");
	assert_int_equal(f->p.n_rs, 0);
	apply(f);
	f->now += 700;
	assert_noop(f);
	/* progress again: no longer degraded */
	set_avail(f, h2, 1);
	plan(f);
	assert_string_equal(sget(f, "phase"), "Progressing");
	fx_free(f);
}

static void test_supersede_and_rollback(void **state)
{
	struct canary_step steps[] = {weight(50), pause_for(-1)};
	char h1[16], h2[16], h3[16];
	struct fx *f = canary_fx(2, 2, steps, h1, h2);

	(void)state;
	run(f, 20);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	set_template(f, "nginx:3");
	rollout_template_hash(f->ro.spec.template, 0, h3);
	plan(f);
	assert_int_equal(count_events(f, "RolloutSuperseded"), 1);
	assert_string_equal(hist(f, 0, "podTemplateHash"), h3);
	assert_string_equal(hist(f, 1, "outcome"), "Superseded");
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	assert_non_null(rs_act(f, RS_CREATE, h3));
	apply(f);
	settle(f);
	/* rollback: the stable template again -> straight to stable */
	set_template(f, "nginx:1");
	plan(f);
	assert_string_equal(sget(f, "currentPodHash"), h1);
	assert_int_equal(iget(f, "currentStepIndex"), 2);
	assert_null(rs_act(f, RS_CREATE, ""));
	assert_string_equal(svc_to(f, "web-canary"), h1);
	assert_string_equal(hist(f, 0, "outcome"), "Superseded");
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_int_equal(f->rs[find_hash(f, h3)].spec_replicas, 0);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 0);
	fx_free(f);
}

static void test_invalid_spec(void **state)
{
	struct fx *f = fx_new(STRATEGY_CANARY, 2);

	(void)state;
	add_svc(f, "web-stable", &f->ro.spec.stable_service);
	f->svc[0].exists = false;
	plan(f);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_string_equal(cond_status(f, "InvalidSpec"), "True");
	assert_string_equal(cond_status(f, "Stalled"), "True");
	assert_string_equal(event_msg(f, "InvalidSpec"),
			    "spec.strategy.canary.stableService: Service "
			    "\"web-stable\" not found");
	assert_string_equal(f->p.events[0].type, "Warning");
	assert_int_equal(f->p.n_rs, 0);
	assert_int_equal(f->p.n_svc, 0);
	apply(f);
	f->now += 5;
	assert_noop(f);
	f->svc[0].exists = true;
	plan(f);
	assert_int_equal(count_events(f, "InvalidSpecResolved"), 1);
	assert_string_equal(cond_status(f, "InvalidSpec"), "False");
	assert_int_equal(f->p.n_rs, 1);
	fx_free(f);
}

static void test_spec_paused(void **state)
{
	struct canary_step steps[] = {weight(50), weight(100)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(2, 2, steps, h1, h2);

	(void)state;
	f->ro.spec.paused = true;
	plan(f); /* template decision */
	apply(f);
	settle(f);
	plan(f);
	assert_string_equal(sget(f, "phase"), "Paused");
	assert_int_equal(count_events(f, "RolloutPaused"), 1);
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	apply(f);
	settle(f);
	run(f, 5);
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	f->ro.spec.paused = false;
	plan(f);
	assert_int_equal(count_events(f, "RolloutResumed"), 1);
	assert_string_equal(sget(f, "phase"), "Progressing");
	fx_free(f);
}

static void test_bluegreen_auto(void **state)
{
	struct fx *f = fx_new(STRATEGY_BLUEGREEN, 3);
	char h1[16], h2[16];
	const struct rs_action *a;

	(void)state;
	f->ro.spec.preview_replica_count = 1;
	f->ro.spec.auto_promotion_seconds = 10;
	add_svc(f, "web-active", &f->ro.spec.active_service);
	add_svc(f, "web-preview", &f->ro.spec.preview_service);
	deploy(f);
	rollout_template_hash(f->ro.spec.template, 0, h1);
	assert_string_equal(f->svc[0].selector_hash, h1);
	set_template(f, "nginx:2");
	rollout_template_hash(f->ro.spec.template, 0, h2);
	plan(f);
	assert_int_equal(rs_act(f, RS_CREATE, h2)->replicas, 1);
	assert_string_equal(svc_to(f, "web-preview"), h2);
	assert_null(svc_to(f, "web-active"));
	apply(f);
	settle(f);
	plan(f); /* preview available */
	assert_non_null(
		json_object_get(json_object_get(f->p.status, "blueGreen"),
				"previewAvailableSince"));
	apply(f);
	plan(f);
	assert_int_equal(f->p.requeue_ms, 10000);
	assert_false(f->p.status_changed);
	f->now += 10;
	plan(f);
	assert_int_equal(count_events(f, "RolloutPromoted"), 1);
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 3);
	apply(f);
	settle(f);
	plan(f); /* the switch */
	assert_string_equal(sget(f, "stableRS"), h2);
	assert_string_equal(svc_to(f, "web-active"), h2);
	assert_int_equal(count_events(f, "RolloutCompleted"), 1);
	assert_int_equal(count_events(f, "ScaleDownScheduled"), 1);
	a = rs_act(f, RS_SCALE_DOWN_AT, h1);
	assert_non_null(a);
	assert_true(a->deadline >= f->now + 29);
	assert_null(rs_act(f, RS_SCALE, h1));
	apply(f);
	plan(f);
	assert_true(f->p.requeue_ms > 0 && f->p.requeue_ms <= 30000);
	assert_int_equal(f->p.n_rs, 0);
	f->now += 31;
	plan(f);
	assert_int_equal(rs_act(f, RS_SCALE, h1)->replicas, 0);
	assert_string_equal(sget(f, "phase"), "Healthy");
	fx_free(f);
}

static void test_bluegreen_manual(void **state)
{
	struct fx *f = fx_new(STRATEGY_BLUEGREEN, 2);
	char h2[16];

	(void)state;
	f->ro.spec.auto_promotion_enabled = false;
	add_svc(f, "web-active", &f->ro.spec.active_service);
	deploy(f);
	set_template(f, "nginx:2");
	rollout_template_hash(f->ro.spec.template, 0, h2);
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Paused");
	assert_string_equal(cond_reason(f, "Paused"), "BlueGreenPause");
	request(f, ANN_OP_PROMOTE_FULL, "f1", "dave");
	plan(f);
	assert_int_equal(count_events(f, "RolloutPromoted"), 1);
	assert_true(json_is_true(json_object_get(f->p.status, "promoteFull")));
	run(f, 10);
	assert_string_equal(sget(f, "stableRS"), h2);
	assert_string_equal(f->svc[0].selector_hash, h2);
	fx_free(f);
}

static void test_restart(void **state)
{
	struct fx *f = fx_new(STRATEGY_ROLLING, 4);

	(void)state;
	deploy(f);
	f->ro.spec.restart_at = xstrdup("2027-02-01T00:00:00Z");
	plan(f);
	assert_null(f->p.restart_rs);
	assert_true(f->p.requeue_ms > 0);
	f->now += 86400 * 365;
	f->restart_old_pods = 3;
	plan(f);
	assert_non_null(f->p.restart_rs);
	assert_int_equal(f->p.restart_max, 1);
	assert_false(f->p.status_changed);
	f->restart_old_pods = 0;
	plan(f);
	assert_int_equal(count_events(f, "RolloutRestarted"), 1);
	assert_string_equal(sget(f, "restartedAt"), "2027-02-01T00:00:00Z");
	apply(f);
	f->restart_old_pods = -1;
	assert_noop(f);
	fx_free(f);
}

static void test_collision(void **state)
{
	struct fx *f = fx_new(STRATEGY_ROLLING, 1);
	char h0[16], h1[16], name[64];

	(void)state;
	rollout_template_hash(f->ro.spec.template, 0, h0);
	rollout_template_hash(f->ro.spec.template, 1, h1);
	snprintf(name, sizeof(name), "web-%s", h0);
	add_rs(f, name, h0, 1, 1);
	f->rs[0].template_matches = false;
	plan(f);
	assert_int_equal(iget(f, "collisionCount"), 1);
	assert_string_equal(sget(f, "currentPodHash"), h1);
	assert_non_null(rs_act(f, RS_CREATE, h1));
	fx_free(f);
}

static void test_condition_times_stable(void **state)
{
	struct fx *f = fx_new(STRATEGY_ROLLING, 1);
	json_t *c0, *c1;

	(void)state;
	deploy(f);
	c0 = json_deep_copy(json_object_get(f->p.status, "conditions"));
	f->ro.spec.replicas = 2;
	f->now += 50;
	plan(f);
	c1 = json_object_get(f->p.status, "conditions");
	/* Ready flips to False: a new transition time */
	assert_string_not_equal(
		json_string_value(json_object_get(json_array_get(c0, 0),
						  "lastTransitionTime")),
		json_string_value(json_object_get(json_array_get(c1, 0),
						  "lastTransitionTime")));
	/* InvalidSpec stayed False: its time is unchanged */
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(c0, 6),
						  "lastTransitionTime")),
		json_string_value(json_object_get(json_array_get(c1, 6),
						  "lastTransitionTime")));
	json_decref(c0);
	fx_free(f);
}

/* ---- planner fixes: deadline window, auto-promotion, overrides, pause ---- */

static void assert_last_progress(struct fx *f, double t)
{
	char want[32];

	rfc3339_format(t, want, sizeof(want));
	assert_non_null(sget(f, "lastProgressTime"));
	assert_string_equal(sget(f, "lastProgressTime"), want);
}

/* Healthy for longer than progressDeadlineSeconds, then a pod is lost: the
 * deadline counts from the moment the rollout left Healthy. */
static void test_deadline_window_after_pod_lost(void **state)
{
	struct fx *f = fx_new(STRATEGY_ROLLING, 3);
	char h1[16];
	double left;

	(void)state;
	deploy(f);
	rollout_template_hash(f->ro.spec.template, 0, h1);
	f->now += 5000;
	assert_noop(f);
	set_avail(f, h1, 2);
	left = f->now;
	plan(f);
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_string_equal(cond_status(f, "Progressing"), "True");
	assert_last_progress(f, left);
	assert_int_equal(f->p.requeue_ms, 601000);
	apply(f);
	f->now += 599;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_last_progress(f, left);
	apply(f);
	f->now += 2;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 1);
	assert_string_equal(cond_reason(f, "Progressing"),
			    "ProgressDeadlineExceeded");
	assert_string_equal(sget(f, "phase"), "Degraded");
	fx_free(f);
}

/* The same for a scale-up (spec.replicas raised) of a long-Healthy
 * rollout. */
static void test_deadline_window_after_scale_up(void **state)
{
	struct fx *f = fx_new(STRATEGY_ROLLING, 3);
	char h1[16];
	double left;

	(void)state;
	deploy(f);
	rollout_template_hash(f->ro.spec.template, 0, h1);
	f->now += 5000;
	assert_noop(f);
	f->ro.spec.replicas = 5;
	f->ro.generation++;
	left = f->now;
	plan(f);
	assert_int_equal(rs_act(f, RS_SCALE, h1)->replicas, 5);
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_last_progress(f, left);
	apply(f); /* the new pods never become available */
	f->now += 599;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_string_equal(sget(f, "phase"), "Progressing");
	apply(f);
	f->now += 2;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 1);
	assert_string_equal(sget(f, "phase"), "Degraded");
	fx_free(f);
}

/* Blue-green: waiting out an autoPromotionSeconds longer than the progress
 * deadline is on schedule, not stuck. */
static void test_bluegreen_auto_promotion_beyond_deadline(void **state)
{
	struct fx *f = fx_new(STRATEGY_BLUEGREEN, 2);
	char h2[16];

	(void)state;
	f->ro.spec.auto_promotion_seconds = 900;
	f->ro.spec.preview_replica_count = 1;
	add_svc(f, "web-active", &f->ro.spec.active_service);
	add_svc(f, "web-preview", &f->ro.spec.preview_service);
	deploy(f);
	set_template(f, "nginx:2");
	rollout_template_hash(f->ro.spec.template, 0, h2);
	plan(f);
	apply(f);
	settle(f);
	plan(f); /* preview available */
	assert_non_null(
		json_object_get(json_object_get(f->p.status, "blueGreen"),
				"previewAvailableSince"));
	apply(f);
	f->now += 700;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_int_equal(count_events(f, "RolloutAborted"), 0);
	assert_false(json_is_true(json_object_get(f->p.status, "abort")));
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_true(f->p.requeue_ms > 0 && f->p.requeue_ms <= 200000);
	apply(f);
	f->now += 199;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_int_equal(count_events(f, "RolloutPromoted"), 0);
	apply(f);
	f->now += 2;
	plan(f);
	assert_int_equal(count_events(f, "RolloutPromoted"), 1);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 2);
	apply(f);
	settle(f);
	run(f, 10);
	assert_string_equal(sget(f, "stableRS"), h2);
	assert_string_equal(f->svc[0].selector_hash, h2);
	fx_free(f);
}

static long canary_int(struct fx *f, const char *key)
{
	json_t *v =
		json_object_get(json_object_get(f->p.status, "canary"), key);

	return v ? (long)json_integer_value(v) : -1;
}

/* R=10, steps setWeight 20, setCanaryScale replicas 5, pause: paused at
 * step 3 with the canary at the override 5. */
static struct fx *override_fx(char *h1, char *h2)
{
	struct canary_step sc = {
		STEP_SET_CANARY_SCALE, 0, 0, 5, -1, false, NULL};
	struct canary_step steps[] = {weight(20), sc, pause_for(-1)};
	struct fx *f = canary_fx(10, 3, steps, h1, h2);

	run(f, 40);
	assert_string_equal(sget(f, "phase"), "Paused");
	assert_int_equal(iget(f, "currentStepIndex"), 2);
	assert_int_equal(canary_int(f, "replicasOverride"), 5);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 5);
	return f;
}

/* Step 0 (setWeight 20 of 10) after the override was cleared: the canary
 * goes to 2 and the step completes there. */
static void assert_step0_without_override(struct fx *f, const char *h2)
{
	const struct rs_action *a;

	assert_int_equal(iget(f, "currentStepIndex"), 0);
	assert_int_equal(canary_int(f, "replicasOverride"), -1);
	assert_int_equal(canary_int(f, "weightOverride"), -1);
	a = rs_act(f, RS_SCALE, h2);
	if (a)
		assert_int_equal(a->replicas, 2);
	for (int i = 0; i < 10 && iget(f, "currentStepIndex") == 0; i++) {
		apply(f);
		settle(f);
		f->now += 1;
		plan(f);
	}
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 2);
}

static void test_retry_clears_canary_scale(void **state)
{
	char h1[16], h2[16];
	struct fx *f = override_fx(h1, h2);

	(void)state;
	request(f, ANN_OP_ABORT, "a1", "erin");
	run(f, 10);
	assert_true(json_is_true(json_object_get(f->p.status, "abort")));
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 0);
	request(f, ANN_OP_RETRY, "r1", "erin");
	plan(f);
	assert_int_equal(count_events(f, "RolloutRetried"), 1);
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 2);
	assert_step0_without_override(f, h2);
	fx_free(f);
}

static void test_steps_edit_clears_canary_scale(void **state)
{
	struct canary_step steps[] = {weight(20), pause_for(-1)};
	char h1[16], h2[16];
	struct fx *f = override_fx(h1, h2);

	(void)state;
	set_steps(f, 2, steps);
	f->ro.generation++;
	plan(f);
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 2);
	assert_step0_without_override(f, h2);
	fx_free(f);
}

/* spec.paused after promote-full (every step done, the canary scaling to
 * R) holds the rollout: it does not become stable until resumed. */
static void test_spec_paused_after_promote_full(void **state)
{
	struct canary_step steps[] = {weight(20), pause_for(-1)};
	char h1[16], h2[16];
	struct fx *f = canary_fx(4, 2, steps, h1, h2);
	int completed = 0;

	(void)state;
	run(f, 20);
	assert_string_equal(sget(f, "phase"), "Paused");
	request(f, ANN_OP_PROMOTE_FULL, "f1", "frank");
	plan(f);
	assert_int_equal(iget(f, "currentStepIndex"), 2);
	apply(f);
	f->ro.spec.paused = true;
	f->ro.generation++;
	plan(f);
	assert_int_equal(count_events(f, "RolloutPaused"), 1);
	assert_string_equal(cond_reason(f, "Paused"), "PausedBySpec");
	for (int i = 0; i < 20; i++) {
		apply(f);
		settle(f);
		f->now += 1;
		plan(f);
		completed += count_events(f, "RolloutCompleted");
		assert_string_equal(sget(f, "phase"), "Paused");
		assert_string_equal(sget(f, "stableRS"), h1);
	}
	assert_int_equal(completed, 0);
	assert_string_equal(f->svc[0].selector_hash, h1);
	apply(f);
	f->ro.spec.paused = false;
	f->ro.generation++;
	plan(f);
	assert_int_equal(count_events(f, "RolloutResumed"), 1);
	assert_int_equal(count_events(f, "RolloutCompleted"), 0);
	apply(f);
	run(f, 20);
	assert_string_equal(sget(f, "stableRS"), h2);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_string_equal(f->svc[0].selector_hash, h2);
	fx_free(f);
}

/* ---- analysis: blue-green gates, background, attempts, run lifecycle ---- */

/* Sets phase and message of the run named exactly `name`. */
static void set_run(struct fx *f, const char *name, const char *ph,
		    const char *msg)
{
	int k = find_run(f, name);

	assert_true(k >= 0);
	snprintf(f->run_phase[k], 16, "%s", ph);
	f->runs[k].phase = f->run_phase[k];
	if (msg)
		f->runs[k].message = msg;
}

/* The plan's run action of `kind` on the run named `name`, or NULL. */
static const struct run_action *run_act(struct fx *f, enum run_action_kind kind,
					const char *name)
{
	for (size_t i = 0; i < f->p.n_runs; i++)
		if (f->p.runs[i].kind == kind &&
		    strcmp(f->p.runs[i].name, name) == 0)
			return &f->p.runs[i];
	return NULL;
}

static size_t count_run_acts(struct fx *f, enum run_action_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < f->p.n_runs; i++)
		n += f->p.runs[i].kind == kind;
	return n;
}

static char *run_named(char *out, const char *hash, int attempt,
		       const char *kind)
{
	snprintf(out, 128, "web-%s-%d-%s", hash, attempt, kind);
	return out;
}

static const char *svc_sel(struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->n_svc; i++)
		if (strcmp(f->svc[i].name, name) == 0)
			return f->svc[i].selector_hash;
	fail_msg("no Service %s", name);
	return NULL;
}

static json_t *bg_status(struct fx *f, const char *key)
{
	return json_object_get(json_object_get(f->p.status, "blueGreen"), key);
}

/* status.analysisRuns[i].key */
static const char *ar_get(struct fx *f, size_t i, const char *key)
{
	json_t *e =
		json_array_get(json_object_get(f->p.status, "analysisRuns"), i);

	return json_string_value(json_object_get(e, key));
}

/* Plans and applies (pods settle) until currentStepIndex reaches `step`;
 * f->p is then the plan that reached it (not applied yet). */
static void run_to_step(struct fx *f, int step)
{
	for (int i = 0; i < 40; i++) {
		plan(f);
		if (iget(f, "currentStepIndex") == step)
			return;
		apply(f);
		settle(f);
		f->now += 1;
	}
	fail_msg("step %d not reached", step);
}

/* Blue-green, R=3, preview 1, auto promotion at once, revision 1 healthy
 * and nginx:2 in the spec; `pre`/`post`: with that analysis. */
static struct fx *bg_fx(bool pre, bool post, char *h1, char *h2)
{
	struct fx *f = fx_new(STRATEGY_BLUEGREEN, 3);

	f->ro.spec.preview_replica_count = 1;
	add_svc(f, "web-active", &f->ro.spec.active_service);
	add_svc(f, "web-preview", &f->ro.spec.preview_service);
	if (pre)
		f->ro.spec.pre_promotion =
			xcalloc(1, sizeof(struct rollout_analysis));
	if (post)
		f->ro.spec.post_promotion =
			xcalloc(1, sizeof(struct rollout_analysis));
	deploy(f);
	/* the first deploy has nothing to judge */
	assert_int_equal(f->n_runs, 0);
	rollout_template_hash(f->ro.spec.template, 0, h1);
	set_template(f, "nginx:2");
	rollout_template_hash(f->ro.spec.template, 0, h2);
	return f;
}

/* Pre-promotion: the run starts only once the preview is available and
 * holds the promotion (and the active Service) while it measures. */
static struct fx *bg_pre_running(char *h1, char *h2, char *name)
{
	struct fx *f = bg_fx(true, false, h1, h2);
	const struct run_action *a;

	run_named(name, h2, 1, "pre-promotion");
	plan(f);
	assert_int_equal(rs_act(f, RS_CREATE, h2)->replicas, 1);
	assert_int_equal(f->p.n_runs, 0);
	apply(f);
	plan(f); /* preview not available yet */
	assert_int_equal(f->p.n_runs, 0);
	apply(f);
	settle(f);
	plan(f);
	assert_non_null(bg_status(f, "previewAvailableSince"));
	assert_int_equal(f->p.n_runs, 1);
	a = run_act(f, RUN_CREATE, name);
	assert_non_null(a);
	assert_string_equal(a->kind_label, "pre-promotion");
	assert_string_equal(a->hash, h2);
	assert_ptr_equal(a->analysis, f->ro.spec.pre_promotion);
	apply(f);
	set_run(f, name, "Running", NULL);
	f->now += 3600; /* longer than the progress deadline */
	for (int i = 0; i < 3; i++) {
		plan(f);
		assert_int_equal(count_events(f, "RolloutPromoted"), 0);
		assert_int_equal(count_events(f, "ProgressDeadlineExceeded"),
				 0);
		assert_null(svc_to(f, "web-active"));
		assert_int_equal(f->p.n_runs, 0);
		assert_string_equal(sget(f, "phase"), "Progressing");
		assert_string_equal(sget(f, "message"),
				    "Revision 2: pre-promotion analysis");
		assert_string_equal(ar_get(f, 0, "phase"), "Running");
		apply(f);
		f->now += 60;
	}
	assert_string_equal(svc_sel(f, "web-active"), h1);
	assert_string_equal(svc_sel(f, "web-preview"), h2);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 1);
	return f;
}

static void test_bg_pre_promotion_successful(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f = bg_pre_running(h1, h2, name);
	char want[256];

	(void)state;
	set_run(f, name, "Successful", "success-rate 0.99");
	plan(f);
	/* the run's Event goes with the promotion it allowed */
	assert_int_equal(count_events(f, "AnalysisRunSuccessful"), 1);
	snprintf(want, sizeof(want),
		 "Analysis run %s Successful: "
		 "success-rate 0.99",
		 name);
	assert_string_equal(event_msg(f, "AnalysisRunSuccessful"), want);
	assert_int_equal(count_events(f, "RolloutPromoted"), 1);
	assert_true(json_is_true(json_object_get(f->p.status, "promoteFull")));
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 3);
	assert_null(svc_to(f, "web-active"));
	assert_int_equal(f->p.n_runs, 0); /* finished: nothing to terminate */
	apply(f);
	settle(f);
	plan(f);
	assert_int_equal(count_events(f, "RolloutCompleted"), 1);
	assert_string_equal(svc_to(f, "web-active"), h2);
	assert_string_equal(sget(f, "stableRS"), h2);
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_string_equal(svc_sel(f, "web-active"), h2);
	assert_int_equal(f->n_runs, 1);
	assert_int_equal(f->n_terminated, 0);
	fx_free(f);
}

static void test_bg_pre_promotion_failed(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f = bg_pre_running(h1, h2, name);

	(void)state;
	set_run(f, name, "Failed", "success-rate 0.42 < 0.95");
	plan(f);
	assert_int_equal(count_events(f, "AnalysisRunFailed"), 1);
	assert_int_equal(count_events(f, "RolloutAborted"), 1);
	assert_int_equal(count_events(f, "RolloutPromoted"), 0);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_non_null(strstr(sget(f, "message"), name));
	assert_non_null(strstr(sget(f, "message"), "success-rate 0.42"));
	assert_null(svc_to(f, "web-active"));
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 0);
	assert_null(rs_act(f, RS_SCALE, h1));
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_string_equal(svc_sel(f, "web-active"), h1);
	assert_string_equal(svc_sel(f, "web-preview"), h1);
	assert_int_equal(f->rs[find_hash(f, h1)].spec_replicas, 3);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 0);
	assert_int_equal(f->n_runs, 1);
	fx_free(f);
}

static void test_bg_pre_promotion_inconclusive(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f = bg_pre_running(h1, h2, name);

	(void)state;
	set_run(f, name, "Inconclusive", "2 of 5 inconclusive");
	plan(f);
	assert_int_equal(count_events(f, "AnalysisRunInconclusive"), 1);
	assert_non_null(strstr(event_msg(f, "AnalysisRunInconclusive"),
			       "2 of 5 inconclusive"));
	assert_int_equal(count_events(f, "RolloutPromoted"), 0);
	assert_string_equal(sget(f, "phase"), "Paused");
	assert_string_equal(cond_reason(f, "Paused"), "InconclusiveAnalysis");
	assert_string_equal(sget(f, "message"),
			    "Revision 2: analysis was inconclusive; promote "
			    "to go on or abort");
	apply(f);
	f->now += 3600;
	assert_noop(f); /* paused once, no repeated Event, no deadline */
	assert_int_equal(f->p.n_runs, 0);
	request(f, ANN_OP_PROMOTE, "p1", "gina");
	plan(f);
	assert_int_equal(count_events(f, "RolloutPromoted"), 1);
	assert_int_equal(iget(f, "attempt"), 2);
	assert_true(json_is_true(json_object_get(f->p.status, "promoteFull")));
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 3);
	assert_int_equal(f->p.n_runs, 0); /* no new pre-promotion run */
	assert_string_equal(sget(f, "phase"), "Progressing");
	apply(f);
	settle(f);
	run(f, 10);
	assert_string_equal(sget(f, "stableRS"), h2);
	assert_string_equal(svc_sel(f, "web-active"), h2);
	assert_int_equal(f->n_runs, 1);
	fx_free(f);
}

/* Pre-promotion passed, autoPromotionSeconds not yet: the rollout no
 * longer says it waits on analysis, and promotes on the timer. */
static void test_bg_pre_promotion_then_timer(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f;

	(void)state;
	f = bg_pre_running(h1, h2, name);
	f->ro.spec.auto_promotion_seconds = 100000;
	set_run(f, name, "Successful", NULL);
	plan(f);
	assert_int_equal(count_events(f, "RolloutPromoted"), 0);
	assert_string_equal(sget(f, "message"), "Revision 2 is rolling out");
	assert_true(f->p.requeue_ms > 0);
	apply(f);
	f->now += 100000;
	plan(f);
	assert_int_equal(count_events(f, "AnalysisRunSuccessful"), 1);
	assert_int_equal(count_events(f, "RolloutPromoted"), 1);
	fx_free(f);
}

/* Post-promotion: after the full scale-up the active Service points at
 * the new revision while the stable one stays at R, until the run ends. */
static struct fx *bg_post_running(char *h1, char *h2, char *name)
{
	struct fx *f = bg_fx(false, true, h1, h2);

	run_named(name, h2, 1, "post-promotion");
	run(f, 20);
	assert_true(json_is_true(bg_status(f, "switched")));
	assert_string_equal(json_string_value(bg_status(f, "activeSelector")),
			    h2);
	assert_string_equal(svc_sel(f, "web-active"), h2);
	assert_string_equal(sget(f, "stableRS"), h1);
	assert_int_equal(f->rs[find_hash(f, h1)].spec_replicas, 3);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 3);
	assert_int_equal(f->n_runs, 1);
	assert_true(find_run(f, name) >= 0);
	assert_string_equal(f->runs[0].kind, "post-promotion");
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_string_equal(sget(f, "message"),
			    "Revision 2: post-promotion analysis");
	assert_string_equal(ar_get(f, 0, "name"), name);
	assert_string_equal(ar_get(f, 0, "phase"), "Pending");
	f->now += 3600;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_false(f->p.status_changed);
	return f;
}

static void test_bg_post_promotion_switch_first(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f = bg_fx(false, true, h1, h2);

	(void)state;
	run_named(name, h2, 1, "post-promotion");
	/* promote, scale up: no switch and no run before all R available */
	for (int i = 0; i < 20 && !count_events(f, "ActiveSwitched"); i++) {
		apply(f);
		settle(f);
		f->now += 1;
		plan(f);
		if (!count_events(f, "ActiveSwitched")) {
			assert_int_equal(f->p.n_runs, 0);
			assert_null(svc_to(f, "web-active"));
		}
	}
	assert_int_equal(count_events(f, "ActiveSwitched"), 1);
	assert_string_equal(f->p.events[0].type, "Normal");
	assert_string_equal(svc_to(f, "web-active"), h2);
	assert_non_null(run_act(f, RUN_CREATE, name));
	assert_int_equal(count_events(f, "RolloutCompleted"), 0);
	assert_null(rs_act(f, RS_SCALE, h1));
	assert_null(rs_act(f, RS_SCALE_DOWN_AT, h1));
	fx_free(f);
}

static void test_bg_post_promotion_successful(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f = bg_post_running(h1, h2, name);

	(void)state;
	set_run(f, name, "Successful", "error-rate 0.001");
	plan(f);
	assert_int_equal(count_events(f, "AnalysisRunSuccessful"), 1);
	assert_int_equal(count_events(f, "RolloutCompleted"), 1);
	assert_int_equal(count_events(f, "ScaleDownScheduled"), 1);
	assert_string_equal(sget(f, "stableRS"), h2);
	assert_null(bg_status(f, "switched"));
	assert_null(svc_to(f, "web-active")); /* already there */
	assert_non_null(rs_act(f, RS_SCALE_DOWN_AT, h1));
	assert_int_equal(f->p.n_runs, 0);
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_string_equal(svc_sel(f, "web-active"), h2);
	assert_string_equal(hist(f, 0, "outcome"), "Promoted");
	fx_free(f);
}

static void test_bg_post_promotion_failed(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f = bg_post_running(h1, h2, name);

	(void)state;
	set_run(f, name, "Failed", "error-rate 0.2 > 0.01");
	plan(f);
	assert_int_equal(count_events(f, "AnalysisRunFailed"), 1);
	assert_int_equal(count_events(f, "RolloutAborted"), 1);
	assert_int_equal(count_events(f, "RolloutCompleted"), 0);
	assert_string_equal(sget(f, "stableRS"), h1);
	assert_null(bg_status(f, "switched"));
	assert_string_equal(svc_to(f, "web-active"), h1);
	assert_non_null(strstr(sget(f, "message"), "error-rate 0.2 > 0.01"));
	/* the old revision never lost a pod: nothing to scale back */
	assert_null(rs_act(f, RS_SCALE, h1));
	assert_int_equal(rs_act(f, RS_SCALE, h2)->replicas, 0);
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_string_equal(svc_sel(f, "web-active"), h1);
	assert_int_equal(f->rs[find_hash(f, h1)].spec_replicas, 3);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 0);
	fx_free(f);
}

/* A new template while the active Service points at a revision under
 * post-promotion analysis: the active Service goes back to the stable
 * revision (the new preview is not even available) and no post-promotion
 * run starts for the new revision. */
static void test_bg_post_promotion_superseded(void **state)
{
	char h1[16], h2[16], h3[16], name[128], n3[128];
	struct fx *f = bg_post_running(h1, h2, name);

	(void)state;
	apply(f);
	set_template(f, "nginx:3");
	rollout_template_hash(f->ro.spec.template, 0, h3);
	run_named(n3, h3, 1, "post-promotion");
	plan(f);
	assert_int_equal(count_events(f, "RolloutSuperseded"), 1);
	assert_string_equal(svc_to(f, "web-active"), h1);
	assert_null(bg_status(f, "switched"));
	assert_null(run_act(f, RUN_CREATE, n3));
	assert_non_null(run_act(f, RUN_TERMINATE, name));
	apply(f);
	plan(f);
	assert_string_equal(svc_sel(f, "web-active"), h1);
	assert_int_equal(f->p.n_runs, 0);
	/* revision 3 goes the whole way: switched, then its own run */
	apply(f);
	settle(f);
	run(f, 20);
	assert_string_equal(svc_sel(f, "web-active"), h3);
	assert_true(json_is_true(bg_status(f, "switched")));
	assert_true(find_run(f, n3) >= 0);
	assert_string_equal(sget(f, "stableRS"), h1);
	fx_free(f);
}

/* Canary R=5 with background analysis from step 1 (0-based). */
static struct fx *background_fx(char *h1, char *h2, char *name)
{
	struct canary_step steps[] = {weight(20), pause_for(30), weight(60)};
	struct fx *f = fx_new(STRATEGY_CANARY, 5);

	set_steps(f, 3, steps);
	f->ro.spec.background = xcalloc(1, sizeof(struct rollout_analysis));
	f->ro.spec.background->starting_step = 1;
	add_svc(f, "web-stable", &f->ro.spec.stable_service);
	add_svc(f, "web-canary", &f->ro.spec.canary_service);
	deploy(f);
	assert_int_equal(f->n_runs, 0); /* not for the first deploy */
	rollout_template_hash(f->ro.spec.template, 0, h1);
	set_template(f, "nginx:2");
	rollout_template_hash(f->ro.spec.template, 0, h2);
	run_named(name, h2, 1, "background");
	for (int i = 0; i < 40 && iget(f, "currentStepIndex") != 1; i++) {
		plan(f);
		if (iget(f, "currentStepIndex") == 0)
			assert_int_equal(f->p.n_runs, 0);
		apply(f);
		settle(f);
		f->now += 1;
	}
	/* the plan that reached startingStep created the run */
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_non_null(run_act(f, RUN_CREATE, name));
	assert_string_equal(run_act(f, RUN_CREATE, name)->kind_label,
			    "background");
	assert_int_equal(f->p.n_runs, 1);
	plan(f); /* the timed pause starts */
	assert_string_equal(cond_reason(f, "Paused"), "CanaryPauseStep");
	assert_int_equal(f->p.n_runs, 0);
	apply(f);
	set_run(f, name, "Running", NULL);
	return f;
}

static void test_background_fails_in_timed_pause(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f = background_fx(h1, h2, name);

	(void)state;
	f->now += 10;
	set_run(f, name, "Failed", "p99 latency 2.1 > 0.5");
	plan(f);
	assert_int_equal(count_events(f, "AnalysisRunFailed"), 1);
	assert_int_equal(count_events(f, "RolloutAborted"), 1);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_non_null(strstr(sget(f, "message"), "background ended Failed"));
	assert_non_null(strstr(sget(f, "message"), "p99 latency 2.1 > 0.5"));
	assert_null(json_array_get(
		json_object_get(f->p.status, "pauseConditions"), 0));
	assert_string_equal(svc_to(f, "web-canary"), h1);
	assert_int_equal(f->p.n_runs, 0);
	run(f, 10);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 0);
	assert_int_equal(f->n_terminated, 0);
	fx_free(f);
}

static void test_background_terminated_on_completion(void **state)
{
	char h1[16], h2[16], name[128];
	struct fx *f = background_fx(h1, h2, name);
	int terminated_at_completion = -1;

	(void)state;
	f->now += 31;
	for (int i = 0; i < 40 && terminated_at_completion < 0; i++) {
		plan(f);
		if (count_events(f, "RolloutCompleted"))
			terminated_at_completion =
				run_act(f, RUN_TERMINATE, name) != NULL;
		else
			assert_int_equal(f->p.n_runs, 0);
		apply(f);
		settle(f);
		f->now += 1;
	}
	assert_int_equal(terminated_at_completion, 1);
	assert_int_equal(f->n_terminated, 1);
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_int_equal(f->n_terminated, 1);
	assert_int_equal(f->n_runs, 1);
	fx_free(f);
}

/* After a Failed step analysis, a retry is attempt 2: fresh runs named
 * "-2-", the old ones are left as they are. */
static void test_retry_after_analysis_failure(void **state)
{
	struct canary_step steps[] = {weight(20), analysis_step(), weight(60)};
	char h1[16], h2[16], s1[128], s2[128], b1[128], b2[128];
	struct fx *f = canary_fx(5, 3, steps, h1, h2);

	(void)state;
	f->ro.spec.background = xcalloc(1, sizeof(struct rollout_analysis));
	run_named(s1, h2, 1, "step-2");
	run_named(s2, h2, 2, "step-2");
	run_named(b1, h2, 1, "background");
	run_named(b2, h2, 2, "background");
	run(f, 10);
	assert_int_equal(iget(f, "attempt"), 1);
	set_run(f, s1, "Failed", "error-rate 0.3");
	run(f, 10);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_int_equal(f->n_terminated, 1); /* background */
	request(f, ANN_OP_RETRY, "r1", "hank");
	plan(f);
	assert_int_equal(count_events(f, "RolloutRetried"), 1);
	assert_int_equal(iget(f, "attempt"), 2);
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	assert_non_null(run_act(f, RUN_CREATE, b2));
	assert_null(run_act(f, RUN_CREATE, b1));
	assert_int_equal(f->p.n_runs, 1);
	apply(f);
	run_to_step(f, 1);
	assert_non_null(run_act(f, RUN_CREATE, s2));
	assert_int_equal(f->p.n_runs, 1);
	apply(f);
	run(f, 10);
	/* still waiting on the fresh run: the old Failed one does not count */
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_int_equal(f->n_runs, 4);
	assert_int_equal(
		json_array_size(json_object_get(f->p.status, "analysisRuns")),
		2);
	for (size_t i = 0; i < 2; i++)
		assert_non_null(strstr(ar_get(f, i, "name"), "-2-"));
	set_run(f, s2, "Successful", NULL);
	plan(f);
	assert_int_equal(iget(f, "currentStepIndex"), 2);
	assert_int_equal(count_events(f, "AnalysisRunSuccessful"), 1);
	run(f, 20);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_int_equal(f->n_runs, 4);
	fx_free(f);
}

/* spec.paused during an analysis step: the run keeps measuring (a
 * terminated run would end Successful), and neither the pause nor the
 * wait afterwards trips the progress deadline. */
static void test_spec_paused_keeps_analysis(void **state)
{
	struct canary_step steps[] = {weight(20), analysis_step(), weight(60)};
	char h1[16], h2[16], s1[128];
	struct fx *f = canary_fx(5, 3, steps, h1, h2);

	(void)state;
	run_named(s1, h2, 1, "step-2");
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_true(find_run(f, s1) >= 0);
	set_run(f, s1, "Running", NULL);
	f->ro.spec.paused = true;
	f->ro.generation++;
	plan(f);
	assert_int_equal(count_events(f, "RolloutPaused"), 1);
	assert_string_equal(cond_reason(f, "Paused"), "PausedBySpec");
	assert_int_equal(count_run_acts(f, RUN_TERMINATE), 0);
	assert_int_equal(f->p.n_runs, 0);
	apply(f);
	f->now += 3600;
	set_run(f, s1, "Successful", NULL);
	plan(f); /* paused: the step does not complete */
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_int_equal(f->p.n_events, 0);
	assert_int_equal(f->p.n_runs, 0);
	set_run(f, s1, "Running", NULL);
	f->ro.spec.paused = false;
	f->ro.generation++;
	plan(f);
	assert_int_equal(count_events(f, "RolloutResumed"), 1);
	apply(f);
	f->now += 3600;
	plan(f);
	assert_int_equal(count_events(f, "ProgressDeadlineExceeded"), 0);
	assert_int_equal(count_events(f, "RolloutAborted"), 0);
	assert_string_equal(sget(f, "phase"), "Progressing");
	assert_string_equal(sget(f, "message"), "Revision 2 at step 2/3: "
						"analysis");
	assert_int_equal(f->n_terminated, 0);
	set_run(f, s1, "Successful", NULL);
	plan(f);
	assert_int_equal(iget(f, "currentStepIndex"), 2);
	fx_free(f);
}

/* Editing the steps mid-canary starts a new attempt: the old attempt's
 * run is terminated (it ends Successful) and does not pass the gate. */
static void test_steps_edit_new_attempt(void **state)
{
	struct canary_step steps[] = {weight(20), analysis_step(), weight(60)};
	struct canary_step edited[] = {weight(40), analysis_step(), weight(60)};
	char h1[16], h2[16], s1[128], s2[128];
	struct fx *f = canary_fx(5, 3, steps, h1, h2);

	(void)state;
	run_named(s1, h2, 1, "step-2");
	run_named(s2, h2, 2, "step-2");
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	set_run(f, s1, "Running", NULL);
	for (size_t i = 0; i < f->ro.spec.n_steps; i++)
		rollout_analysis_free(f->ro.spec.steps[i].analysis);
	set_steps(f, 3, edited);
	f->ro.generation++;
	plan(f);
	assert_int_equal(iget(f, "currentStepIndex"), 0);
	assert_int_equal(iget(f, "attempt"), 2);
	assert_non_null(run_act(f, RUN_TERMINATE, s1));
	assert_int_equal(f->p.n_runs, 1);
	apply(f);
	set_run(f, s1, "Successful", "terminated");
	run_to_step(f, 1);
	assert_non_null(run_act(f, RUN_CREATE, s2));
	apply(f);
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_string_equal(sget(f, "message"), "Revision 2 at step 2/3: "
						"analysis");
	assert_int_equal(f->n_runs, 2);
	assert_int_equal(f->n_terminated, 1);
	fx_free(f);
}

/* Runs of a revision whose ReplicaSet is gone are deleted, once. */
static void test_runs_of_deleted_revision(void **state)
{
	struct canary_step steps[] = {weight(50), analysis_step()};
	char h1[16], h2[16], h3[16], s2[128], s3[128];
	struct fx *f = canary_fx(2, 2, steps, h1, h2);
	int deleted_rs = 0;

	(void)state;
	f->ro.spec.revision_history_limit = 0;
	run_named(s2, h2, 1, "step-2");
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_true(find_run(f, s2) >= 0);
	set_template(f, "nginx:3");
	rollout_template_hash(f->ro.spec.template, 0, h3);
	run_named(s3, h3, 1, "step-2");
	plan(f);
	assert_int_equal(count_events(f, "RolloutSuperseded"), 1);
	assert_non_null(run_act(f, RUN_TERMINATE, s2));
	assert_null(run_act(f, RUN_DELETE, s2));
	/* revision 2 scales to 0, then goes (revisionHistoryLimit 0); its
	 * run stays while the ReplicaSet does */
	for (int i = 0; i < 10 && !deleted_rs; i++) {
		apply(f);
		settle(f);
		f->now += 1;
		plan(f);
		deleted_rs = rs_act(f, RS_DELETE, h2) != NULL;
		assert_null(run_act(f, RUN_DELETE, s2));
		assert_null(run_act(f, RUN_TERMINATE, s2));
	}
	assert_true(deleted_rs);
	apply(f);
	plan(f);
	assert_non_null(run_act(f, RUN_DELETE, s2));
	assert_int_equal(count_run_acts(f, RUN_DELETE), 1);
	apply(f);
	assert_true(f->runs[find_run(f, s2)].deleting);
	settle(f);
	run(f, 10);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_true(find_run(f, s3) >= 0);
	assert_false(f->runs[find_run(f, s3)].deleting);
	/* status.analysisRuns shows the current revision's runs only */
	assert_int_equal(
		json_array_size(json_object_get(f->p.status, "analysisRuns")),
		1);
	assert_string_equal(ar_get(f, 0, "name"), s3);
	assert_string_equal(ar_get(f, 0, "kind"), "step-2");
	fx_free(f);
}

/* A run that cannot be built (its template is missing) ends in Error:
 * the rollout aborts with the run's reason instead of waiting forever. */
static void test_analysis_error_aborts(void **state)
{
	struct canary_step steps[] = {weight(20), analysis_step(), weight(60)};
	char h1[16], h2[16], s1[128], want[256];
	struct fx *f = canary_fx(5, 3, steps, h1, h2);
	const char *why = "AnalysisTemplate \"nope\" not found";

	(void)state;
	run_named(s1, h2, 1, "step-2");
	run(f, 10);
	set_run(f, s1, "Error", why);
	plan(f);
	assert_int_equal(count_events(f, "AnalysisRunError"), 1);
	assert_int_equal(count_events(f, "AnalysisRunFailed"), 0);
	assert_int_equal(count_events(f, "RolloutAborted"), 1);
	snprintf(want, sizeof(want), "Analysis run %s ended in Error: %s", s1,
		 why);
	assert_string_equal(event_msg(f, "AnalysisRunError"), want);
	assert_string_equal(f->p.events[0].type, "Warning");
	snprintf(want, sizeof(want),
		 "Aborted because analysis run %s ended Error: %s: back to "
		 "revision 1",
		 s1, why);
	assert_string_equal(sget(f, "message"), want);
	assert_string_equal(hist(f, 0, "outcome"), "Aborted");
	assert_string_equal(hist(f, 0, "message"), want);
	assert_string_equal(ar_get(f, 0, "phase"), "Error");
	assert_string_equal(ar_get(f, 0, "message"), why);
	assert_string_equal(sget(f, "phase"), "Degraded");
	assert_string_equal(svc_to(f, "web-canary"), h1);
	apply(f);
	settle(f);
	run(f, 10);
	assert_int_equal(f->rs[find_hash(f, h2)].spec_replicas, 0);
	fx_free(f);
}

/* A background run Inconclusive after the last step (the canary scaling
 * to R): the pause says "promote to go on", so a promote accepts it. */
static void test_background_inconclusive_after_last_step(void **state)
{
	struct canary_step steps[] = {weight(25)};
	char h1[16], h2[16], b1[128], b2[128];
	struct fx *f = canary_fx(4, 1, steps, h1, h2);

	(void)state;
	f->ro.spec.background = xcalloc(1, sizeof(struct rollout_analysis));
	run_named(b1, h2, 1, "background");
	run_named(b2, h2, 2, "background");
	run_to_step(f, 1);
	apply(f); /* the canary scales up; its pods are not ready yet */
	set_run(f, b1, "Inconclusive", "1 of 3 inconclusive");
	plan(f);
	assert_string_equal(cond_reason(f, "Paused"), "InconclusiveAnalysis");
	apply(f);
	request(f, ANN_OP_PROMOTE, "p1", "ivy");
	plan(f);
	assert_int_equal(count_events(f, "PromoteIgnored"), 0);
	assert_int_equal(count_events(f, "RolloutPromoted"), 1);
	assert_non_null(strstr(event_msg(f, "RolloutPromoted"),
			       "inconclusive analysis accepted"));
	assert_int_equal(iget(f, "attempt"), 2);
	assert_int_equal(iget(f, "currentStepIndex"), 1);
	assert_string_not_equal(sget(f, "phase"), "Paused");
	assert_non_null(run_act(f, RUN_CREATE, b2));
	apply(f);
	settle(f);
	run(f, 20);
	assert_string_equal(sget(f, "phase"), "Healthy");
	assert_string_equal(sget(f, "stableRS"), h2);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_deploy),
		cmocka_unit_test(test_steady_state_scales_and_deletes),
		cmocka_unit_test(test_rolling_update_within_limits),
		cmocka_unit_test(test_canary_set_weight),
		cmocka_unit_test(test_canary_timed_pause),
		cmocka_unit_test(test_canary_full_run),
		cmocka_unit_test(test_analysis_step_fails),
		cmocka_unit_test(test_analysis_inconclusive),
		cmocka_unit_test(test_redeploy_fresh_runs),
		cmocka_unit_test(test_background_inconclusive_keeps_step),
		cmocka_unit_test(test_promote_in_pause),
		cmocka_unit_test(test_ops_order_and_ignored),
		cmocka_unit_test(test_abort_and_retry),
		cmocka_unit_test(test_progress_deadline),
		cmocka_unit_test(test_progress_deadline_no_abort),
		cmocka_unit_test(test_supersede_and_rollback),
		cmocka_unit_test(test_invalid_spec),
		cmocka_unit_test(test_spec_paused),
		cmocka_unit_test(test_bluegreen_auto),
		cmocka_unit_test(test_bluegreen_manual),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_collision),
		cmocka_unit_test(test_condition_times_stable),
		cmocka_unit_test(test_deadline_window_after_pod_lost),
		cmocka_unit_test(test_deadline_window_after_scale_up),
		cmocka_unit_test(test_bluegreen_auto_promotion_beyond_deadline),
		cmocka_unit_test(test_retry_clears_canary_scale),
		cmocka_unit_test(test_steps_edit_clears_canary_scale),
		cmocka_unit_test(test_spec_paused_after_promote_full),
		cmocka_unit_test(test_bg_pre_promotion_successful),
		cmocka_unit_test(test_bg_pre_promotion_failed),
		cmocka_unit_test(test_bg_pre_promotion_inconclusive),
		cmocka_unit_test(test_bg_pre_promotion_then_timer),
		cmocka_unit_test(test_bg_post_promotion_switch_first),
		cmocka_unit_test(test_bg_post_promotion_successful),
		cmocka_unit_test(test_bg_post_promotion_failed),
		cmocka_unit_test(test_bg_post_promotion_superseded),
		cmocka_unit_test(test_background_fails_in_timed_pause),
		cmocka_unit_test(test_background_terminated_on_completion),
		cmocka_unit_test(test_retry_after_analysis_failure),
		cmocka_unit_test(test_spec_paused_keeps_analysis),
		cmocka_unit_test(test_steps_edit_new_attempt),
		cmocka_unit_test(test_runs_of_deleted_revision),
		cmocka_unit_test(test_analysis_error_aborts),
		cmocka_unit_test(test_background_inconclusive_after_last_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

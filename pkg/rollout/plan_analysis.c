/*
 * plan_analysis: the planner's side of analysis. A canary analysis step,
 * the canary's background analysis and blue-green's pre- and
 * post-promotion analysis are gates: each is one AnalysisRun per revision
 * and attempt, named "<rollout>-<hash>-<attempt>-<kind>". The strategies
 * ask plan_gate() what the run says and decide (pass, abort, pause); which
 * runs should exist is derived from the final decisions alone in
 * plan_runs_emit(), so a run is created once its gate is reached and
 * terminated as soon as nothing waits on it (the step moved on, the
 * rollout aborted or completed), whatever the path that led there.
 *
 * status.attempt grows on retry and on a promote that accepts an
 * inconclusive run, so the next gate starts a fresh run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/plan_internal.h"
#include "util/alloc.h"

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Run names stay within the API's 253 characters: the Rollout's name is
 * cut to 200 (the owner reference, not the name, ties a run to it). */
static char *prefix_of(const struct pctx *c, int attempt)
{
	return xasprintf("%.200s-%s-%d-", c->ro->name,
			 c->cur_hash ? c->cur_hash : "", attempt);
}

static char *run_name(const struct pctx *c, const char *kind)
{
	char *p = prefix_of(c, c->attempt);
	char *name = xasprintf("%s%s", p, kind);

	free(p);
	return name;
}

static bool attempt_used(const struct pctx *c, int attempt)
{
	char *p = prefix_of(c, attempt);
	size_t n = strlen(p);
	bool used = false;

	for (size_t i = 0; i < c->in->n_runs && !used; i++)
		used = strncmp(c->in->runs[i].name, p, n) == 0;
	free(p);
	return used;
}

void plan_fresh_attempt(struct pctx *c)
{
	while (attempt_used(c, c->attempt) && c->attempt < 1000000)
		c->attempt++;
}

bool plan_step_inconclusive(const struct pctx *c)
{
	const struct rollout_spec *s = &c->ro->spec;
	const struct run_view *run;
	char kind[32];

	if (s->strategy != STRATEGY_CANARY || c->step < 0 ||
	    c->step >= (int)s->n_steps ||
	    s->steps[c->step].kind != STEP_ANALYSIS)
		return false;
	plan_step_run_kind(c->step, kind, sizeof(kind));
	return plan_gate(c, kind, &run) == GATE_INCONCLUSIVE;
}

static const struct run_view *find_run(const struct pctx *c, const char *name)
{
	for (size_t i = 0; i < c->in->n_runs; i++)
		if (same(c->in->runs[i].name, name) && !c->in->runs[i].deleting)
			return &c->in->runs[i];
	return NULL;
}

void plan_step_run_kind(int i, char *out, size_t len)
{
	snprintf(out, len, "step-%d", i + 1);
}

enum gate plan_gate(const struct pctx *c, const char *kind,
		    const struct run_view **run)
{
	char *name = run_name(c, kind);
	const struct run_view *r = find_run(c, name);

	free(name);
	*run = r;
	if (!r || !r->phase)
		return GATE_WAIT;
	if (strcmp(r->phase, "Successful") == 0)
		return GATE_PASS;
	if (strcmp(r->phase, "Failed") == 0 || strcmp(r->phase, "Error") == 0)
		return GATE_FAIL;
	if (strcmp(r->phase, "Inconclusive") == 0)
		return GATE_INCONCLUSIVE;
	return GATE_WAIT;
}

static const char *msg_of(const struct run_view *r)
{
	return r->message && *r->message ? r->message : "no message";
}

void plan_gate_failed(struct pctx *c, const struct run_view *run)
{
	bool error = same(run->phase, "Error");
	char *why = xasprintf("because analysis run %s ended %s: %s", run->name,
			      run->phase, msg_of(run));

	plan_add_event(c, "Warning",
		       error ? "AnalysisRunError" : "AnalysisRunFailed",
		       "Analysis run %s %s: %s", run->name,
		       error ? "ended in Error" : "Failed", msg_of(run));
	plan_abort(c, why);
	free(why);
}

void plan_gate_inconclusive(struct pctx *c, const struct run_view *run)
{
	if (pause_is(c, PAUSE_INCONCLUSIVE))
		return;
	c->pause_reason = PAUSE_INCONCLUSIVE;
	c->pause_start = c->now_s;
	plan_add_event(c, "Warning", "AnalysisRunInconclusive",
		       "Analysis run %s was inconclusive: %s; paused until "
		       "promoted or aborted",
		       run->name, msg_of(run));
	plan_decide(c, false);
}

enum gate plan_gate_check(struct pctx *c, const char *kind,
			  const struct run_view **run)
{
	enum gate g = plan_gate(c, kind, run);

	if (g == GATE_FAIL)
		plan_gate_failed(c, *run);
	else if (g == GATE_INCONCLUSIVE)
		plan_gate_inconclusive(c, *run);
	return g;
}

void plan_gate_passed(struct pctx *c, const struct run_view *run)
{
	plan_add_event(c, "Normal", "AnalysisRunSuccessful",
		       "Analysis run %s Successful: %s", run->name,
		       msg_of(run));
}

bool plan_analysis_waiting(const struct pctx *c)
{
	const struct rollout_spec *s = &c->ro->spec;
	const struct run_view *run;

	if (c->abort || same(c->stable, c->cur_hash))
		return false;
	if (s->strategy == STRATEGY_CANARY)
		return c->step >= 0 && c->step < (int)s->n_steps &&
		       s->steps[c->step].kind == STEP_ANALYSIS;
	if (s->strategy == STRATEGY_BLUEGREEN)
		return (s->pre_promotion && c->available_since > 0 &&
			!c->promote_full &&
			plan_gate(c, "pre-promotion", &run) != GATE_PASS) ||
		       (s->post_promotion && c->switched);
	return false;
}

/* ---- which runs should exist ---- */

struct want {
	char kind[32];
	const struct rollout_analysis *a;
};

static size_t wanted(const struct pctx *c, struct want w[3])
{
	const struct rollout_spec *s = &c->ro->spec;
	size_t n = 0;

	/* (spec.paused keeps runs going: terminating one would end it
	 * Successful and let its gate pass unmeasured) */
	if (c->abort || !c->cur_hash || same(c->stable, c->cur_hash))
		return 0;
	if (s->strategy == STRATEGY_CANARY) {
		if (c->step >= 0 && c->step < (int)s->n_steps &&
		    s->steps[c->step].kind == STEP_ANALYSIS &&
		    s->steps[c->step].analysis) {
			plan_step_run_kind(c->step, w[n].kind,
					   sizeof(w[n].kind));
			w[n++].a = s->steps[c->step].analysis;
		}
		if (s->background && c->step >= s->background->starting_step) {
			snprintf(w[n].kind, sizeof(w[n].kind), "background");
			w[n++].a = s->background;
		}
	} else if (s->strategy == STRATEGY_BLUEGREEN) {
		if (s->pre_promotion && c->available_since > 0 &&
		    !c->promote_full) {
			snprintf(w[n].kind, sizeof(w[n].kind), "pre-promotion");
			w[n++].a = s->pre_promotion;
		}
		if (s->post_promotion && c->switched) {
			snprintf(w[n].kind, sizeof(w[n].kind),
				 "post-promotion");
			w[n++].a = s->post_promotion;
		}
	}
	return n;
}

static void add_run(struct pctx *c, enum run_action_kind kind, const char *name,
		    const struct want *w)
{
	struct plan *p = c->out;
	struct run_action *a;

	if (p->n_runs == c->cap_runs) {
		c->cap_runs = c->cap_runs ? 2 * c->cap_runs : 4;
		p->runs = xrealloc(p->runs, c->cap_runs * sizeof(*p->runs));
	}
	a = &p->runs[p->n_runs++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->name = xstrdup(name);
	if (w) {
		a->kind_label = xstrdup(w->kind);
		a->hash = xstrdup(c->cur_hash);
		a->analysis = w->a;
	}
}

static bool finished(const struct run_view *r)
{
	return r->phase && (strcmp(r->phase, "Successful") == 0 ||
			    strcmp(r->phase, "Failed") == 0 ||
			    strcmp(r->phase, "Error") == 0 ||
			    strcmp(r->phase, "Inconclusive") == 0);
}

static bool revision_exists(const struct pctx *c, const char *hash)
{
	if (same(hash, c->cur_hash) || same(hash, c->stable))
		return true;
	for (size_t i = 0; i < c->in->n_rs; i++)
		if (same(c->in->rs[i].hash, hash))
			return true;
	return false;
}

/* status.analysisRuns: the runs of the current revision and attempt. */
static void write_runs(struct pctx *c)
{
	char *prefix = prefix_of(c, c->attempt);
	size_t plen = strlen(prefix);
	json_t *a = json_array();

	for (size_t i = 0; i < c->in->n_runs; i++) {
		const struct run_view *r = &c->in->runs[i];
		json_t *e;

		if (strncmp(r->name, prefix, plen) != 0 || r->deleting)
			continue;
		e = json_pack("{s:s,s:s,s:s}", "name", r->name, "kind",
			      r->kind ? r->kind : "", "phase",
			      r->phase ? r->phase : "Pending");
		if (r->message && *r->message)
			json_object_set_new(e, "message",
					    json_string(r->message));
		json_array_append_new(a, e);
	}
	free(prefix);
	if (json_array_size(a) == 0 &&
	    !json_object_get(c->ro->status, "analysisRuns"))
		json_decref(a);
	else
		json_object_set_new(c->status, "analysisRuns", a);
}

void plan_runs_emit(struct pctx *c)
{
	struct want w[3];
	size_t n = wanted(c, w);
	char *names[3] = {NULL, NULL, NULL};

	for (size_t k = 0; k < n; k++) {
		names[k] = run_name(c, w[k].kind);
		if (!find_run(c, names[k]))
			add_run(c, RUN_CREATE, names[k], &w[k]);
	}
	for (size_t i = 0; i < c->in->n_runs; i++) {
		const struct run_view *r = &c->in->runs[i];
		bool want = false;

		if (r->deleting)
			continue;
		for (size_t k = 0; k < n; k++)
			want = want || same(r->name, names[k]);
		if (!revision_exists(c, r->hash))
			add_run(c, RUN_DELETE, r->name, NULL);
		else if (!want && !finished(r) && !r->terminate)
			add_run(c, RUN_TERMINATE, r->name, NULL);
	}
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	write_runs(c);
}

/*
 * analysis: the AnalysisRun controller, running beside the Rollout
 * controller in knit-controller.
 *
 * Each run key ("ns/name") is reconciled by one worker of the analysis
 * queue: read the run from the cache, work out which metrics are due
 * (run_metric_due), take those measurements (measure.c), fold them in
 * (run_record), and PUT the new status with the cached resourceVersion.
 * Then the key is queued again for the earliest next measurement. A run
 * whose spec.terminate is set (the Rollout no longer needs it) or that
 * cannot measure is finished (run_finish) the same way.
 *
 * Progress is only in the run's status: measurements are scheduled from
 * the previous measurement's startedAt, so after a restart a run carries
 * on where its status says, re-taking at most the one measurement whose
 * status write was lost. A measurement taken from a stale cache is
 * dropped by the resourceVersion precondition (409) and retaken.
 *
 * When a write changes a run's phase, its Rollout is queued at once
 * (through the run informer's handler, so the Rollout's reconcile reads a
 * cache that already holds the new phase); a finished run gets an Event.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/run.h"
#include "controller/controller_internal.h"
#include "controller/measure.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mono.h"
#include "util/rfc3339.h"

/* How often a running Job measurement is looked at. */
#define JOB_CHECK_MS 1000L
/* Longest wait before a run is looked at again: an hour. */
#define REQUEUE_MAX_MS 3600000.0

static char *phase_of(const struct kube_obj *o)
{
	json_t *j = kube_obj_parse(o);
	const char *p = json_string_value(
		json_object_get(json_object_get(j, "status"), "phase"));
	char *out = xstrdup(p ? p : "");

	json_decref(j);
	return out;
}

static void enqueue_rollout(struct controller *c, const struct kube_obj *o)
{
	char *key;

	if (!o->owner_kind || strcmp(o->owner_kind, ROLLOUT_KIND) != 0)
		return;
	key = xasprintf("%s/%s", o->ns, o->owner_name);
	controller_enqueue(c, key);
	free(key);
}

/* Records `phase` as the last seen phase of run `key` (NULL forgets it);
 * true when it differs from the one recorded before. */
static bool note_phase(struct controller *c, const char *key, char *phase)
{
	char *prev;
	bool changed;

	pthread_mutex_lock(&c->run_phase_lock);
	prev = phase ? hashmap_put(&c->run_phases, key, phase)
		     : hashmap_remove(&c->run_phases, key);
	pthread_mutex_unlock(&c->run_phase_lock);
	changed = !prev || !phase || strcmp(prev, phase) != 0;
	free(prev);
	return changed;
}

void analysis_on_run(struct kube_obj *old, struct kube_obj *new, void *data)
{
	struct controller *c = data;

	if (new && (!old || new->generation != old->generation))
		workqueue_add(c->aqueue, new->key);
	if (!new) {
		note_phase(c, old->key, NULL);
		enqueue_rollout(c, old);
		return;
	}
	/* one parse per event: the old object's phase is remembered */
	if (note_phase(c, new->key, phase_of(new)) || !old)
		enqueue_rollout(c, new);
}

/* ---- one reconcile ---- */

static void count_measurement(struct controller *c, enum mphase p)
{
	char labels[48];

	if (!c->metrics || p == MPHASE_RUNNING) /* a Job just started */
		return;
	snprintf(labels, sizeof(labels), "phase=\"%s\"", mphase_name(p));
	metrics_add(c->metrics, M_ANALYSIS_MEASUREMENTS, labels, 1);
}

/* After recording into metric i: when it next needs a look (0: never). */
static double next_look(const struct run *r, size_t i)
{
	double at = 0, now = rfc3339_now();

	if (run_metric_due(r, i, now, &at) == DUE_CHECK_JOB)
		at = now + JOB_CHECK_MS / 1000.0;
	return at;
}

/*
 * Measures what is due; returns true when r changed. *next gets the wall
 * time of the earliest next measurement or Job check (0: none).
 */
static bool measure_due(struct controller *c, struct run *r, double *next)
{
	bool changed = false;

	*next = 0;
	for (size_t i = 0; i < r->n_metrics && !mphase_done(r->phase); i++) {
		struct measurement m;
		double at = 0, now = rfc3339_now();
		enum run_due due = run_metric_due(r, i, now, &at);

		if (due == DUE_MEASURE) {
			measure_take(c->client, r, i, now, &m);
			count_measurement(c, m.phase);
			run_record(r, i, &m, rfc3339_now());
			measurement_release(&m);
			changed = true;
			at = next_look(r, i);
		} else if (due == DUE_CHECK_JOB) {
			if (measure_check_job(c->client, r, i, now, &m)) {
				count_measurement(c, m.phase);
				run_record(r, i, &m, rfc3339_now());
				measurement_release(&m);
				changed = true;
				at = next_look(r, i);
			} else {
				at = now + JOB_CHECK_MS / 1000.0;
			}
		}
		if (at > 0 && (*next == 0 || at < *next))
			*next = at;
	}
	return changed;
}

static void record_finished(struct controller *c, const struct run *r)
{
	char *api = xasprintf("%s/%s", ROLLOUT_GROUP, ROLLOUT_VERSION);
	struct event_ref ref = {
		.api_version = api,
		.kind = "AnalysisRun",
		.ns = r->ns,
		.name = r->name,
		.uid = r->uid,
		.resource_version = r->resource_version,
	};
	bool ok = r->phase == MPHASE_SUCCESSFUL;
	char reason[48];

	snprintf(reason, sizeof(reason), "AnalysisRun%s",
		 mphase_name(r->phase));
	if (c->recorder)
		event_record(c->recorder, &ref, ok ? "Normal" : "Warning",
			     reason, "%s",
			     r->message ? r->message : mphase_name(r->phase));
	LOG_INFOF("analysis run finished", "object=%s/%s phase=%s", r->ns,
		  r->name, mphase_name(r->phase));
	free(api);
}

/* PUTs r's status over obj; returns the reconcile's result. */
static enum reconcile_result put_status(struct controller *c, const char *wkey,
					json_t *obj, struct run *r)
{
	struct kube_error e = KUBE_ERROR_INIT;
	int rc;

	json_object_set_new(obj, "status", run_status_json(r));
	rc = kube_update_status(c->client, &KNIT_ANALYSISRUNS, r->ns, obj, NULL,
				NULL, &e);
	if (rc && rc != ERR_CONFLICT && rc != ERR_NOTFOUND)
		LOG_WARNF("cannot write analysis run status",
			  "object=%s/%s err=%s code=%ld", r->ns, r->name,
			  err_name(rc), e.http_status);
	kube_error_release(&e);
	if (!rc)
		controller_note_write(c, wkey, r->resource_version);
	if (rc == ERR_CONFLICT)
		return RECONCILE_CONFLICT;
	return rc && rc != ERR_NOTFOUND ? RECONCILE_ERROR : RECONCILE_SUCCESS;
}

static void apply_error_annotation(json_t *obj, struct run *r)
{
	const char *why = json_string_value(json_object_get(
		json_object_get(json_object_get(obj, "metadata"),
				"annotations"),
		ANN_RUN_ERROR));

	if (!why)
		return;
	free(r->invalid);
	r->invalid = xstrdup(why);
}

/*
 * Milliseconds from now until wall time `at`: at least 1, at most
 * REQUEUE_MAX_MS (an interval or initialDelay of years must neither
 * overflow a long nor be spun on; the run is simply looked at again).
 */
static long requeue_in(double at)
{
	double ms = ceil((at - rfc3339_now()) * 1000.0);

	if (!(ms >= 1.0))
		return 1;
	if (ms > REQUEUE_MAX_MS)
		return (long)REQUEUE_MAX_MS;
	return (long)ms;
}

static enum reconcile_result
analysis_reconcile(struct controller *c, const char *key, long *requeue_ms)
{
	struct kube_obj *o = kube_store_get(informer_store(c->runs), key);
	enum reconcile_result res = RECONCILE_SUCCESS;
	char err[256], *wkey;
	struct run r;
	double next = 0;
	enum mphase was;
	bool changed;
	json_t *obj;

	*requeue_ms = 0;
	if (!o)
		return RECONCILE_SUCCESS;
	wkey = xasprintf("run:%s", key);
	if (o->deleting ||
	    controller_cache_behind(c, wkey, o->resource_version)) {
		*requeue_ms = o->deleting ? 0 : 1000;
		kube_obj_unref(o);
		free(wkey);
		return RECONCILE_SUCCESS;
	}
	obj = kube_obj_parse(o);
	kube_obj_unref(o);
	if (run_parse(obj, &r, err, sizeof(err))) {
		LOG_ERRORF("cannot parse analysis run",
			   "object=%s error=\"%s\"", key, err);
		goto out;
	}
	apply_error_annotation(obj, &r);
	was = r.phase;
	if (mphase_done(r.phase))
		goto release;
	changed = run_finish(&r, rfc3339_now());
	if (!changed)
		changed = measure_due(c, &r, &next);
	if (changed)
		res = put_status(c, wkey, obj, &r);
	if (res == RECONCILE_SUCCESS && changed && mphase_done(r.phase) &&
	    r.phase != was)
		record_finished(c, &r);
	if (res == RECONCILE_SUCCESS && next > 0)
		*requeue_ms = requeue_in(next);
release:
	run_release(&r);
out:
	json_decref(obj);
	free(wkey);
	return res;
}

void *analysis_worker(void *arg)
{
	struct controller *c = arg;
	char *key;

	while ((key = workqueue_get(c->aqueue))) {
		long requeue_ms = 0;
		enum reconcile_result r =
			analysis_reconcile(c, key, &requeue_ms);

		if (r == RECONCILE_SUCCESS) {
			workqueue_forget(c->aqueue, key);
			if (requeue_ms > 0)
				workqueue_add_after(c->aqueue, key, requeue_ms);
		} else {
			workqueue_add_rate_limited(c->aqueue, key);
		}
		workqueue_done(c->aqueue, key);
		free(key);
	}
	return NULL;
}

/*
 * controller: the Rollout controller's lifecycle (see controller.h).
 *
 * Three informers feed one workqueue of Rollout keys:
 *   - Rollouts: every change queues the Rollout itself;
 *   - ReplicaSets carrying the knit.dev/pod-template-hash label (ours
 *     only, selected on the server): a change queues the controller owner
 *     when it is a Rollout;
 *   - Services: a change queues every Rollout of that namespace whose spec
 *     names the Service (the Rollouts are parsed lazily, only then).
 * Workers take keys and call reconcile_key() (reconcile.c); the outcome
 * decides the requeue: success forgets the key's failure streak and
 * requeues after the plan's delay, an error or a conflict requeues with
 * backoff. The thread in controller_run() does the housekeeping every few
 * seconds: the workqueue depth and rollouts-by-phase gauges and, with
 * resync_ms, a periodic requeue of every Rollout.
 */
#include "controller/controller.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "analysis/run.h"
#include "controller/controller_internal.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mono.h"

#define HOUSEKEEPING_MS 2000L
#define SYNC_LOG_MS	30000L

void controller_declare_metrics(struct metrics *m)
{
	metrics_declare(m, M_RECONCILE_TOTAL, METRIC_COUNTER,
			"Reconciles of Rollouts by result (success, error, "
			"conflict).");
	metrics_declare(m, M_RECONCILE_DURATION, METRIC_HISTOGRAM,
			"Time one Rollout reconcile took, in seconds.");
	metrics_declare(m, M_WORKQUEUE_DEPTH, METRIC_GAUGE,
			"Rollout keys waiting in the workqueue.");
	metrics_declare(m, M_WORKQUEUE_ADDS, METRIC_COUNTER,
			"Keys added to the workqueue.");
	metrics_declare(m, M_API_REQUESTS, METRIC_COUNTER,
			"Kubernetes API requests by verb and HTTP code (0: "
			"no answer).");
	metrics_declare(m, M_API_THROTTLED, METRIC_COUNTER,
			"Seconds API requests waited for the client-side rate "
			"limiter.");
	metrics_declare(m, M_ROLLOUTS, METRIC_GAUGE,
			"Rollouts by status.phase.");
	metrics_declare(m, M_LEADER, METRIC_GAUGE,
			"1 while this replica holds the leader lease.");
	metrics_declare(m, M_ANALYSIS_MEASUREMENTS, METRIC_COUNTER,
			"Analysis measurements taken, by phase.");
}

void controller_enqueue(struct controller *c, const char *key)
{
	workqueue_add(c->queue, key);
	if (c->metrics)
		metrics_add(c->metrics, M_WORKQUEUE_ADDS, NULL, 1);
}

static void on_rollout(struct kube_obj *old, struct kube_obj *new, void *data)
{
	struct controller *c = data;

	controller_enqueue(c, new ? new->key : old->key);
}

/* Queues the Rollout controlling `o`, after delay_ms (0: now). */
static void enqueue_owner(struct controller *c, const struct kube_obj *o,
			  long delay_ms)
{
	char *key;

	if (!o || !o->owner_kind || strcmp(o->owner_kind, ROLLOUT_KIND))
		return;
	key = xasprintf("%s/%s", o->ns, o->owner_name);
	if (delay_ms > 0) {
		workqueue_add_after(c->queue, key, delay_ms);
		if (c->metrics)
			metrics_add(c->metrics, M_WORKQUEUE_ADDS, NULL, 1);
	} else {
		controller_enqueue(c, key);
	}
	free(key);
}

/*
 * A ReplicaSet's creation or deletion wakes its Rollout at once. An update
 * (mostly the ReplicaSet controller counting pods: replicas, then ready,
 * then available, each a separate write) wakes it after RS_UPDATE_BATCH_MS,
 * so one reconcile and one status write cover the burst.
 */
#define RS_UPDATE_BATCH_MS 200L

static void on_replicaset(struct kube_obj *old, struct kube_obj *new,
			  void *data)
{
	struct controller *c = data;

	enqueue_owner(c, new, old && new ? RS_UPDATE_BATCH_MS : 0);
	if (old && (!new || !new->owner_name || !old->owner_name ||
		    strcmp(old->owner_name, new->owner_name)))
		enqueue_owner(c, old, 0);
}

static bool names(json_t *obj, const char *key, const char *name)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v && strcmp(v, name) == 0;
}

/* True when the Rollout's spec names Service `name`. */
static bool rollout_names_service(json_t *ro, const char *name)
{
	json_t *strategy =
		json_object_get(json_object_get(ro, "spec"), "strategy");
	json_t *canary = json_object_get(strategy, "canary");
	json_t *bg = json_object_get(strategy, "blueGreen");

	return names(canary, "stableService", name) ||
	       names(canary, "canaryService", name) ||
	       names(bg, "activeService", name) ||
	       names(bg, "previewService", name);
}

static void on_service(struct kube_obj *old, struct kube_obj *new, void *data)
{
	struct controller *c = data;
	struct kube_obj *svc = new ? new : old;
	struct kube_obj **ros = NULL;
	size_t n = kube_store_list(informer_store(c->rollouts), svc->ns, &ros);

	for (size_t i = 0; i < n; i++) {
		json_t *ro = kube_obj_parse(ros[i]);

		if (rollout_names_service(ro, svc->name))
			controller_enqueue(c, ros[i]->key);
		json_decref(ro);
	}
	kube_obj_array_free(ros, n);
}

static struct informer *make_informer(struct controller *c,
				      const struct kube_resource *r,
				      const char *label_selector,
				      informer_handler_fn fn)
{
	struct informer_options o = {
		.resource = r,
		.ns = c->ns,
		.label_selector = label_selector,
	};
	struct informer *inf = informer_new(c->client, &o);

	informer_add_handler(inf, fn, c);
	return inf;
}

struct controller *controller_new(const struct controller_options *o)
{
	struct controller *c = xcalloc(1, sizeof(*c));

	c->client = o->client;
	c->ns = o->ns && *o->ns ? xstrdup(o->ns) : NULL;
	c->workers = o->workers > 0 ? o->workers : 4;
	c->analysis_workers = o->analysis_workers > 0 ? o->analysis_workers : 4;
	c->recorder = o->recorder;
	c->metrics = o->metrics;
	c->resync_ms = o->resync_ms > 0 ? o->resync_ms : 0;
	c->queue = workqueue_new(NULL);
	c->aqueue = workqueue_new(NULL);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->written_lock, NULL);
	hashmap_init(&c->written);
	hashmap_init(&c->phases);
	pthread_mutex_init(&c->run_phase_lock, NULL);
	hashmap_init(&c->run_phases);
	mono_cond_init(&c->cond);
	/* Cached objects never keep metadata.managedFields (object.h): the
	 * reconcile GETs a Rollout when it needs to know who asked. */
	c->rollouts = make_informer(c, &KNIT_ROLLOUTS, NULL, on_rollout);
	c->replicasets = make_informer(c, &KUBE_REPLICASETS,
				       LABEL_POD_TEMPLATE_HASH, on_replicaset);
	c->services = make_informer(c, &KUBE_SERVICES, NULL, on_service);
	c->runs = make_informer(c, &KNIT_ANALYSISRUNS, NULL, analysis_on_run);
	return c;
}

static void observe_reconcile(struct controller *c, enum reconcile_result r,
			      double seconds)
{
	static const char *const labels[] = {
		[RECONCILE_SUCCESS] = "result=\"success\"",
		[RECONCILE_ERROR] = "result=\"error\"",
		[RECONCILE_CONFLICT] = "result=\"conflict\"",
	};

	if (!c->metrics)
		return;
	metrics_add(c->metrics, M_RECONCILE_TOTAL, labels[r], 1);
	metrics_observe(c->metrics, M_RECONCILE_DURATION, NULL, seconds);
}

static void *worker(void *arg)
{
	struct controller *c = arg;
	char *key;

	while ((key = workqueue_get(c->queue))) {
		long requeue_ms = 0;
		double start = mono_now();
		enum reconcile_result r = reconcile_key(c, key, &requeue_ms);

		observe_reconcile(c, r, mono_now() - start);
		if (r == RECONCILE_SUCCESS) {
			workqueue_forget(c->queue, key);
			if (requeue_ms > 0)
				workqueue_add_after(c->queue, key, requeue_ms);
		} else {
			workqueue_add_rate_limited(c->queue, key);
		}
		workqueue_done(c->queue, key);
		free(key);
	}
	return NULL;
}

static bool stopping(struct controller *c)
{
	bool stop;

	pthread_mutex_lock(&c->lock);
	stop = c->stop;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

/* Sleeps up to ms or until controller_stop(); true when stopping. */
static bool wait_stop(struct controller *c, long ms)
{
	struct timespec deadline = mono_deadline_ms(ms);
	bool stop;

	pthread_mutex_lock(&c->lock);
	if (!c->stop)
		pthread_cond_timedwait(&c->cond, &c->lock, &deadline);
	stop = c->stop;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

/* Waits for the three caches; false when stopped first. */
static bool wait_caches(struct controller *c)
{
	struct informer *infs[] = {c->rollouts, c->replicasets, c->services,
				   c->runs};
	static const char *const what[] = {"rollouts", "replicasets",
					   "services", "analysisruns"};
	long waited = 0;

	for (size_t i = 0; i < 4; i++) {
		while (informer_wait_synced(infs[i], 200) == ERR_TIMEOUT) {
			if (stopping(c))
				return false;
			waited += 200;
			if (waited % SYNC_LOG_MS == 0)
				LOG_WARNF("cache not synced yet",
					  "resource=%s waited_s=%ld", what[i],
					  waited / 1000);
		}
	}
	return true;
}

static const char *const phases[] = {"Healthy", "Progressing", "Paused",
				     "Degraded"};

void controller_note_phase(struct controller *c, const char *key,
			   const char *phase)
{
	uintptr_t v = 0;

	for (size_t k = 0; phase && k < 4; k++)
		if (strcmp(phase, phases[k]) == 0)
			v = k + 1;
	pthread_mutex_lock(&c->written_lock);
	if (v)
		hashmap_put(&c->phases, key, (void *)v);
	else
		hashmap_remove(&c->phases, key);
	pthread_mutex_unlock(&c->written_lock);
}

/* The rollouts-by-phase and queue depth gauges: counting a small map, so
 * an idle controller with thousands of Rollouts stays idle. */
static void sample_gauges(struct controller *c)
{
	double count[4] = {0};
	const char *key;
	void *v;
	char labels[64];

	if (!c->metrics)
		return;
	metrics_set(c->metrics, M_WORKQUEUE_DEPTH, NULL,
		    (double)workqueue_len(c->queue));
	pthread_mutex_lock(&c->written_lock);
	for (size_t i = 0; hashmap_next(&c->phases, &i, &key, &v);)
		count[((uintptr_t)v - 1) & 3]++;
	pthread_mutex_unlock(&c->written_lock);
	for (size_t k = 0; k < 4; k++) {
		snprintf(labels, sizeof(labels), "phase=\"%s\"", phases[k]);
		metrics_set(c->metrics, M_ROLLOUTS, labels, count[k]);
	}
}

static void resync(struct controller *c)
{
	struct kube_obj **ros = NULL;
	size_t n = kube_store_list(informer_store(c->rollouts), NULL, &ros);

	for (size_t i = 0; i < n; i++)
		controller_enqueue(c, ros[i]->key);
	kube_obj_array_free(ros, n);
}

/* The controlling thread's loop between sync and stop. */
static void housekeeping(struct controller *c)
{
	long next_resync = c->resync_ms ? mono_now_ms() + c->resync_ms : 0;

	do {
		sample_gauges(c);
		if (next_resync && mono_now_ms() >= next_resync) {
			resync(c);
			next_resync = mono_now_ms() + c->resync_ms;
		}
	} while (!wait_stop(c, HOUSEKEEPING_MS));
}

int controller_run(struct controller *c)
{
	int total = c->workers + c->analysis_workers;
	pthread_t *threads = xcalloc((size_t)total, sizeof(*threads));
	int started = 0;

	informer_start(c->rollouts);
	informer_start(c->replicasets);
	informer_start(c->services);
	informer_start(c->runs);
	if (wait_caches(c)) {
		atomic_store(&c->synced, true);
		LOG_INFOF("caches synced, starting workers", "workers=%d",
			  c->workers);
		for (; started < total; started++)
			if (pthread_create(&threads[started], NULL,
					   started < c->workers
						   ? worker
						   : analysis_worker,
					   c))
				break;
		housekeeping(c);
	}
	workqueue_shutdown_drain(c->queue);
	workqueue_shutdown(c->aqueue);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	informer_stop(c->rollouts);
	informer_stop(c->replicasets);
	informer_stop(c->services);
	informer_stop(c->runs);
	LOG_INFOF("controller stopped", "workers=%d", started);
	return 0;
}

void controller_stop(struct controller *c)
{
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	workqueue_shutdown(c->queue);
	workqueue_shutdown(c->aqueue);
}

bool controller_synced(struct controller *c)
{
	return atomic_load(&c->synced);
}

void controller_free(struct controller *c)
{
	const char *k;
	void *v;

	if (!c)
		return;
	informer_free(c->rollouts);
	informer_free(c->replicasets);
	informer_free(c->services);
	informer_free(c->runs);
	workqueue_shutdown(c->queue);
	workqueue_free(c->queue);
	workqueue_shutdown(c->aqueue);
	workqueue_free(c->aqueue);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	for (size_t i = 0; hashmap_next(&c->written, &i, &k, &v);)
		free(v);
	hashmap_release(&c->written);
	hashmap_release(&c->phases);
	for (size_t i = 0; hashmap_next(&c->run_phases, &i, &k, &v);)
		free(v);
	hashmap_release(&c->run_phases);
	pthread_mutex_destroy(&c->run_phase_lock);
	pthread_mutex_destroy(&c->written_lock);
	free(c->ns);
	free(c);
}

void controller_note_write(struct controller *c, const char *key,
			   const char *old_rv)
{
	pthread_mutex_lock(&c->written_lock);
	free(hashmap_put(&c->written, key, xstrdup(old_rv)));
	pthread_mutex_unlock(&c->written_lock);
}

bool controller_cache_behind(struct controller *c, const char *key,
			     const char *rv)
{
	bool behind = false;
	char *old;

	pthread_mutex_lock(&c->written_lock);
	old = hashmap_get(&c->written, key);
	if (old && rv && strcmp(old, rv) == 0)
		behind = true;
	else if (old)
		free(hashmap_remove(&c->written, key));
	pthread_mutex_unlock(&c->written_lock);
	return behind;
}

/*
 * sim: the simulation's life cycle, the helpers its parts share (requests
 * as a cluster component, Events, marks and timers) and its tick (see
 * sim.h). sim_index.c turns store changes into records and marks;
 * sim_tick() then runs, within a time budget, the reconcilers, the due
 * kubelet steps and the traffic generator.
 */
#include "devcluster/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devcluster/jobctl.h"
#include "devcluster/sim_internal.h"
#include "util/alloc.h"
#include "util/rfc3339.h"
#include "util/err.h"
#include "util/log.h"

void sim_options_default(struct sim_options *o)
{
	memset(o, 0, sizeof(*o));
	o->ready_delay = 1.0;
	o->request_rate = 10.0;
	o->latency_ms = 20.0;
	o->backoff_base = 1.0;
	o->backoff_max = 30.0;
}

struct sim *sim_new(struct devcluster *dc, const struct sim_options *o)
{
	struct sim *s = xcalloc(1, sizeof(*s));

	s->dc = dc;
	s->opt = *o;
	hashmap_init(&s->namespaces);
	hashmap_init(&s->owners);
	hashmap_init(&s->dirty_rs);
	hashmap_init(&s->dirty_jobs);
	hashmap_init(&s->dirty_svc);
	hashmap_init(&s->orphans);
	hashmap_init(&s->gone_services);
	hashmap_init(&s->stale_slices);
	hashmap_init(&s->timed);
	hashmap_init(&s->ips);
	s->next_ip = (10u << 24) | (244u << 16) | 2u;
	s->rng = o->seed ? o->seed : (uint64_t)time(NULL) * 2654435761u + 1;
	return s;
}

/* ---- records ---- */

void sim_pod_free(struct sim_pod *p)
{
	free(p->key);
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p->created);
	json_decref(p->labels);
	free(p->owner_uid);
	free(p->hash);
	free(p->node);
	free(p->ip);
	free(p->svcs);
	free(p);
}

void sim_rs_free(struct sim_rs *r)
{
	free(r->key);
	free(r->ns);
	free(r->name);
	free(r->uid);
	label_selector_free(r->sel);
	hashmap_release(&r->pods);
	free(r);
}

void sim_job_free(struct sim_job *j)
{
	free(j->key);
	free(j->ns);
	free(j->name);
	free(j->uid);
	hashmap_release(&j->pods);
	free(j);
}

void sim_service_free(struct sim_service *v)
{
	const char *k;
	void *val;

	for (size_t i = 0; hashmap_next(&v->series, &i, &k, &val);)
		series_free(val);
	hashmap_release(&v->series);
	hashmap_release(&v->pods);
	free(v->key);
	free(v->ns);
	free(v->name);
	free(v->uid);
	label_selector_free(v->sel);
	json_decref(v->svc);
	free(v->slice);
	free(v);
}

static void free_values(struct hashmap *m, void (*fn)(void *))
{
	const char *k;
	void *v;

	for (size_t i = 0; hashmap_next(m, &i, &k, &v);)
		fn(v);
	hashmap_release(m);
}

void slice_ref_free(struct slice_ref *r)
{
	if (!r)
		return;
	free(r->service);
	free(r->owner);
	free(r);
}

static void ns_free(void *v)
{
	struct sim_ns *n = v;
	const char *k;
	void *val;

	for (size_t i = 0; hashmap_next(&n->pods, &i, &k, &val);)
		sim_pod_free(val);
	for (size_t i = 0; hashmap_next(&n->rs, &i, &k, &val);)
		sim_rs_free(val);
	for (size_t i = 0; hashmap_next(&n->jobs, &i, &k, &val);)
		sim_job_free(val);
	for (size_t i = 0; hashmap_next(&n->services, &i, &k, &val);)
		sim_service_free(val);
	for (size_t i = 0; hashmap_next(&n->slices, &i, &k, &val);)
		slice_ref_free(val);
	hashmap_release(&n->slices);
	hashmap_release(&n->pods);
	hashmap_release(&n->rs);
	hashmap_release(&n->jobs);
	hashmap_release(&n->services);
	free(n);
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	free_values(&s->namespaces, ns_free);
	free_values(&s->owners, free);
	free_values(&s->dirty_rs, free);
	free_values(&s->dirty_jobs, free);
	hashmap_release(&s->dirty_svc);
	hashmap_release(&s->orphans);
	hashmap_release(&s->gone_services);
	hashmap_release(&s->stale_slices);
	hashmap_release(&s->timed);
	hashmap_release(&s->ips);
	free(s);
}

struct sim_ns *sim_ns_get(struct sim *s, const char *ns, bool create)
{
	struct sim_ns *n = hashmap_get(&s->namespaces, ns);

	if (!n && create) {
		n = xcalloc(1, sizeof(*n));
		hashmap_init(&n->pods);
		hashmap_init(&n->rs);
		hashmap_init(&n->jobs);
		hashmap_init(&n->services);
		hashmap_init(&n->slices);
		hashmap_put(&s->namespaces, ns, n);
	}
	return n;
}

/* ---- small helpers ---- */

double sim_random(struct sim *s)
{
	/* xorshift64* */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (double)((s->rng * 2685821657736338717ull) >> 11) /
	       9007199254740992.0;
}

static void mark_at(struct hashmap *m, const char *key, double when)
{
	double *due = hashmap_get(m, key);

	if (!due) {
		due = xmalloc(sizeof(*due));
		*due = when;
		hashmap_put(m, key, due);
	} else if (when < *due) {
		*due = when;
	}
}

void sim_mark_rs(struct sim *s, const char *key, double when)
{
	mark_at(&s->dirty_rs, key, when);
}

void sim_mark_job(struct sim *s, const char *key, double when)
{
	mark_at(&s->dirty_jobs, key, when);
}

void sim_mark_service(struct sim *s, const char *key)
{
	hashmap_put(&s->dirty_svc, key, (void *)1);
}

void sim_pod_set_due(struct sim *s, struct sim_pod *p, double due)
{
	p->due = due;
	if (due > 0)
		hashmap_put(&s->timed, p->key, p);
	else
		hashmap_remove(&s->timed, p->key);
}

void sim_format_time(double t, char *out, size_t len)
{
	rfc3339_format(t, out, len);
}

double sim_parse_time(const char *text)
{
	double t;

	return rfc3339_parse(text, &t) == 0 ? t : 0;
}

char *sim_key_split(const char *key, const char **name)
{
	const char *slash = strchr(key, '/');

	if (name)
		*name = slash ? slash + 1 : key;
	return xstrndup(key, slash ? (size_t)(slash - key) : 0);
}

int sim_call(struct sim *s, enum http_method m, const char *path,
	     const json_t *body, const char *agent, json_t **out)
{
	struct api_request req;
	struct api_response resp;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int code;

	memset(&req, 0, sizeof(req));
	api_response_init(&resp);
	req.method = m;
	req.path = xstrdup(path);
	req.user_agent = xstrdup(agent);
	req.accept = xstrdup("application/json");
	if (text) {
		req.content_type =
			xstrdup(m == HTTP_PATCH ? "application/merge-patch+json"
						: "application/json");
		req.body = text;
		req.body_len = strlen(text);
	}
	api_handle(s->dc, &req, &resp);
	code = resp.code;
	if (code >= 300)
		LOG_DEBUGF("simulated request failed",
			   "path=%s code=%d body=%s", path, code,
			   resp.body.data);
	if (out)
		*out = json_loadb(resp.body.data, resp.body.len, 0, NULL);
	free(text);
	api_request_release(&req);
	api_response_release(&resp);
	return code;
}

json_t *sim_get(struct sim *s, const char *group, const char *resource,
		const char *ns, const char *name)
{
	struct collection *c =
		store_find_collection(&s->dc->store, group, resource);
	struct object *o = c ? store_get(c, ns, name) : NULL;

	return o ? object_parse(o) : NULL;
}

void sim_event(struct sim *s, const json_t *obj, const char *type,
	       const char *reason, const char *message, const char *component)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	char now[32], ev_name[320];
	char *path;
	json_t *ev;

	if (!ns || !name)
		return;
	sim_format_time(s->now, now, sizeof(now));
	snprintf(ev_name, sizeof(ev_name), "%.250s.%llx", name,
		 (unsigned long long)(s->now * 1e9) + s->events++);
	ev = json_pack(
		"{s:s,s:s,s:{s:s,s:s},s:{s:O,s:O,s:s,s:s,s:O,s:O},"
		"s:s,s:s,s:{s:s},s:s,s:s,s:i,s:s,s:n,s:s,s:s}",
		"apiVersion", "v1", "kind", "Event", "metadata", "name",
		ev_name, "namespace", ns, "involvedObject", "apiVersion",
		json_object_get(obj, "apiVersion"), "kind",
		json_object_get(obj, "kind"), "namespace", ns, "name", name,
		"uid", json_object_get(meta, "uid"), "resourceVersion",
		json_object_get(meta, "resourceVersion"), "reason", reason,
		"message", message, "source", "component", component,
		"firstTimestamp", now, "lastTimestamp", now, "count", 1, "type",
		type, "eventTime", "reportingComponent", component,
		"reportingInstance", "");
	if (!ev)
		return;
	path = xasprintf("/api/v1/namespaces/%s/events", ns);
	sim_call(s, HTTP_POST, path, ev, AGENT_CONTROLLERS, NULL);
	free(path);
	json_decref(ev);
}

bool sim_delete_pod(struct sim *s, const json_t *owner, const char *ns,
		    const char *name, const char *component)
{
	char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	char msg[512];
	bool ok = sim_call(s, HTTP_DELETE, path, NULL, AGENT_CONTROLLERS,
			   NULL) < 300;

	if (ok) {
		snprintf(msg, sizeof(msg), "Deleted pod: %s", name);
		sim_event(s, owner, "Normal", "SuccessfulDelete", msg,
			  component);
	}
	free(path);
	return ok;
}

/* Replays the stored objects of one collection as ADDED changes. */
static void replay(struct sim *s, const char *group, const char *resource)
{
	struct collection *c =
		store_find_collection(&s->dc->store, group, resource);
	struct object **items;
	size_t n;

	if (!c || store_list(&s->dc->store, c, NULL, 0, NULL, &items, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct change ch = {items[i]->rv, CHANGE_ADDED, c, items[i],
				    NULL};

		sim_on_change(s, &ch);
	}
	store_list_free(items, n);
}

void sim_start(struct sim *s)
{
	if (!s || s->opt.disabled || s->started)
		return;
	s->started = true;
	/* owners before pods, so pods find them; services after pods */
	replay(s, "apps", "replicasets");
	replay(s, "batch", "jobs");
	replay(s, "", "pods");
	replay(s, "", "services");
	s->replaying = true;
	replay(s, "discovery.k8s.io", "endpointslices");
	replay(s, "", "endpoints");
	s->replaying = false;
	s->last_traffic = s->now = rfc3339_now();
	kubelet_ensure_node(s);
}

/* ---- the tick ---- */

/* Takes the keys of `m` due by `now` out of it. */
static json_t *take_due(struct hashmap *m, double now, bool timed)
{
	json_t *keys = json_array();
	const char *k;
	void *v;

	for (size_t i = 0; hashmap_next(m, &i, &k, &v);) {
		if (timed && *(double *)v > now)
			continue;
		json_array_append_new(keys, json_string(k));
	}
	for (size_t i = 0; i < json_array_size(keys); i++) {
		void *old = hashmap_remove(
			m, json_string_value(json_array_get(keys, i)));

		if (timed)
			free(old);
	}
	return keys;
}

/* Runs fn on each key until the budget ends; re-marks the rest. */
static bool run_keys(struct sim *s, json_t *keys, double deadline,
		     void (*fn)(struct sim *, const char *),
		     void (*again)(struct sim *, const char *))
{
	size_t i;
	json_t *k;

	json_array_foreach(keys, i, k)
	{
		if (api_monotonic() > deadline) {
			for (; i < json_array_size(keys); i++)
				again(s, json_string_value(
						 json_array_get(keys, i)));
			json_decref(keys);
			return true;
		}
		fn(s, json_string_value(k));
	}
	json_decref(keys);
	return false;
}

static void rs_again(struct sim *s, const char *key)
{
	sim_mark_rs(s, key, 0);
}

static void job_again(struct sim *s, const char *key)
{
	sim_mark_job(s, key, 0);
}

static void svc_again(struct sim *s, const char *key)
{
	sim_mark_service(s, key);
}

static void orphan_again(struct sim *s, const char *key)
{
	hashmap_put(&s->orphans, key, (void *)1);
}

static void release_orphan(struct sim *s, const char *key)
{
	const char *name;
	char *ns = sim_key_split(key, &name);

	job_release_pod(s, ns, name);
	free(ns);
}

static void forget_endpoints(struct sim *s, const char *key)
{
	const char *name;
	char *ns = sim_key_split(key, &name);

	/* unless a Service of that name came back meanwhile */
	if (!hashmap_get(&sim_ns_get(s, ns, true)->services, key))
		endpoints_forget(s, ns, name);
	free(ns);
}

static void gone_again(struct sim *s, const char *key)
{
	hashmap_put(&s->gone_services, key, (void *)1);
}

/* Deletes a slice that claims a Service which keeps another one. */
static void delete_stale_slice(struct sim *s, const char *key)
{
	const char *name;
	char *ns = sim_key_split(key, &name);
	json_t *slice =
		sim_get(s, "discovery.k8s.io", "endpointslices", ns, name);
	const char *svc = json_string_value(json_object_get(
		json_object_get(json_object_get(slice, "metadata"), "labels"),
		"kubernetes.io/service-name"));
	struct sim_ns *n = sim_ns_get(s, ns, true);
	char svc_key[512], *path;
	struct sim_service *v;

	snprintf(svc_key, sizeof(svc_key), "%s/%s", ns, svc ? svc : "");
	v = hashmap_get(&n->services, svc_key);
	if (slice && (!v || !v->slice || strcmp(v->slice, name) != 0)) {
		path = xasprintf("/apis/discovery.k8s.io/v1/namespaces/%s/"
				 "endpointslices/%s",
				 ns, name);
		sim_call(s, HTTP_DELETE, path, NULL, AGENT_CONTROLLERS, NULL);
		free(path);
	}
	json_decref(slice);
	free(ns);
}

static void stale_again(struct sim *s, const char *key)
{
	hashmap_put(&s->stale_slices, key, (void *)1);
}

static void step_pod(struct sim *s, const char *key)
{
	struct sim_pod *p = hashmap_get(&s->timed, key);

	/* an earlier step may have deleted or rescheduled it */
	if (p && p->due > 0 && p->due <= s->now) {
		sim_pod_set_due(s, p, 0);
		kubelet_pod_step(s, p);
	}
}

static void pod_again(struct sim *s, const char *key)
{
	(void)s;
	(void)key; /* still in `timed` with its due time */
}

static json_t *due_pods(struct sim *s)
{
	json_t *due = json_array();
	const char *k;
	void *v;

	for (size_t it = 0; hashmap_next(&s->timed, &it, &k, &v);)
		if (((struct sim_pod *)v)->due <= s->now)
			json_array_append_new(due, json_string(k));
	return due;
}

bool sim_over_budget(const struct sim *s)
{
	return api_monotonic() > s->deadline;
}

void sim_defer_rs(struct sim *s, const char *key)
{
	sim_mark_rs(s, key, 0);
	s->deferred = true;
}

bool sim_tick(struct sim *s, double now)
{
	double deadline = api_monotonic() + SIM_TICK_BUDGET;
	bool more = false;

	if (!s || s->opt.disabled || !s->started)
		return false;
	s->deadline = deadline;
	s->deferred = false;
	s->now = now ? now : rfc3339_now();
	kubelet_ensure_node(s);
	more |= run_keys(s, take_due(&s->dirty_rs, s->now, true), deadline,
			 rs_reconcile, rs_again);
	more |= run_keys(s, take_due(&s->dirty_jobs, s->now, true), deadline,
			 job_reconcile, job_again);
	more |= run_keys(s, take_due(&s->orphans, s->now, false), deadline,
			 release_orphan, orphan_again);
	more |= run_keys(s, due_pods(s), deadline, step_pod, pod_again);
	more |= run_keys(s, take_due(&s->dirty_svc, s->now, false), deadline,
			 endpoints_reconcile, svc_again);
	more |= run_keys(s, take_due(&s->gone_services, s->now, false),
			 deadline, forget_endpoints, gone_again);
	more |= run_keys(s, take_due(&s->stale_slices, s->now, false), deadline,
			 delete_stale_slice, stale_again);
	if (s->now > s->last_traffic) {
		double dt = s->now - s->last_traffic;

		/* after a stall, do not burst more than 5 s of traffic */
		traffic_run(s, dt > 5 ? 5 : dt);
		s->last_traffic = s->now;
	}
	return more || s->deferred;
}

void sim_counts(const struct sim *s, size_t *pods, size_t *ready)
{
	*pods = s ? s->n_pods : 0;
	*ready = s ? s->n_ready : 0;
}

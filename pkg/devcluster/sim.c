/*
 * sim: the simulation's indexes and its tick (see sim.h). Store changes to
 * Pods, ReplicaSets, Jobs, Services, Endpoints and EndpointSlices update
 * per-namespace records and mark what must be reconciled; sim_tick() then
 * runs the reconcilers, the due kubelet steps and the traffic generator.
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
	hashmap_init(&s->timed);
	hashmap_init(&s->ips);
	s->next_ip = (10u << 24) | (244u << 16) | 2u;
	s->rng = o->seed ? o->seed : (uint64_t)time(NULL) * 2654435761u + 1;
	return s;
}

/* ---- records ---- */

static void pod_free(struct sim_pod *p)
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

static void rs_free(struct sim_rs *r)
{
	free(r->key);
	free(r->ns);
	free(r->name);
	free(r->uid);
	label_selector_free(r->sel);
	hashmap_release(&r->pods);
	free(r);
}

static void job_free(struct sim_job *j)
{
	free(j->key);
	free(j->ns);
	free(j->name);
	free(j->uid);
	hashmap_release(&j->pods);
	free(j);
}

static void service_free(struct sim_service *v)
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

static void ns_free(void *v)
{
	struct sim_ns *n = v;
	const char *k;
	void *val;

	for (size_t i = 0; hashmap_next(&n->pods, &i, &k, &val);)
		pod_free(val);
	for (size_t i = 0; hashmap_next(&n->rs, &i, &k, &val);)
		rs_free(val);
	for (size_t i = 0; hashmap_next(&n->jobs, &i, &k, &val);)
		job_free(val);
	for (size_t i = 0; hashmap_next(&n->services, &i, &k, &val);)
		service_free(val);
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
	time_t secs = (time_t)t;
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double sim_parse_time(const char *text)
{
	double t;

	return text && jobctl_parse_time(text, &t) == 0 ? t : 0;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* ---- index maintenance ---- */

static const char *meta_str(const json_t *obj, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(obj, "metadata"), key));
}

static char *controller_uid(const json_t *obj)
{
	json_t *refs = json_object_get(json_object_get(obj, "metadata"),
				       "ownerReferences");
	size_t i;
	json_t *r;

	json_array_foreach(refs, i, r)
	{
		if (json_is_true(json_object_get(r, "controller")))
			return xstrdup(
				json_string_value(json_object_get(r, "uid")));
	}
	return NULL;
}

static struct sim_owner *owner_of(struct sim *s, const char *uid)
{
	return uid ? hashmap_get(&s->owners, uid) : NULL;
}

static struct hashmap *owner_pods(struct sim_owner *o)
{
	if (!o)
		return NULL;
	return o->kind == 'R' ? &((struct sim_rs *)o->rec)->pods
			      : &((struct sim_job *)o->rec)->pods;
}

static void mark_owner(struct sim *s, struct sim_owner *o)
{
	if (!o)
		return;
	if (o->kind == 'R')
		sim_mark_rs(s, ((struct sim_rs *)o->rec)->key, 0);
	else
		sim_mark_job(s, ((struct sim_job *)o->rec)->key, 0);
}

/* Orphans may be adopted: every ReplicaSet in ns that selects p looks. */
static void mark_adopters(struct sim *s, struct sim_ns *n,
			  const struct sim_pod *p)
{
	const char *k;
	void *v;

	for (size_t i = 0; hashmap_next(&n->rs, &i, &k, &v);) {
		struct sim_rs *r = v;

		if (r->sel && !label_selector_is_empty(r->sel) &&
		    label_selector_matches(r->sel, p->labels))
			sim_mark_rs(s, r->key, 0);
	}
}

/* ---- which Services select which pods (kept both ways) ---- */

static void link_pod(struct sim_service *svc, struct sim_pod *p)
{
	hashmap_put(&svc->pods, p->key, p);
	p->svcs = xrealloc(p->svcs, (p->n_svcs + 1) * sizeof(*p->svcs));
	p->svcs[p->n_svcs++] = svc;
}

static void unlink_pod(struct sim_service *svc, struct sim_pod *p)
{
	hashmap_remove(&svc->pods, p->key);
	for (size_t i = 0; i < p->n_svcs; i++) {
		if (p->svcs[i] == svc) {
			p->svcs[i] = p->svcs[--p->n_svcs];
			break;
		}
	}
}

static void unlink_all_pods(struct sim_service *svc)
{
	const char *k;
	void *v;

	for (size_t i = 0; hashmap_next(&svc->pods, &i, &k, &v);)
		unlink_pod(svc, v);
}

/*
 * Keeps the Services that select p up to date and marks those whose
 * endpoints change. Only a new pod or new labels can change which Services
 * select it; otherwise only the Services already selecting it are looked
 * at, so status writes cost nothing per Service in the namespace.
 */
static void pod_services(struct sim *s, struct sim_ns *n, struct sim_pod *p,
			 bool relabelled, bool changed)
{
	const char *k;
	void *v;

	if (!relabelled) {
		for (size_t i = 0; changed && i < p->n_svcs; i++)
			sim_mark_service(s, p->svcs[i]->key);
		return;
	}
	for (size_t i = 0; hashmap_next(&n->services, &i, &k, &v);) {
		struct sim_service *svc = v;
		bool was = hashmap_get(&svc->pods, p->key) != NULL;
		bool is =
			svc->sel && label_selector_matches(svc->sel, p->labels);

		if (is && !was)
			link_pod(svc, p);
		else if (!is && was)
			unlink_pod(svc, p);
		if (is != was || (is && changed))
			sim_mark_service(s, svc->key);
	}
}

/* A deleted pod leaves its Services' endpoints and every traffic series. */
static void pod_gone(struct sim *s, struct sim_ns *n, struct sim_pod *p)
{
	const char *k;
	void *v;

	while (p->n_svcs) {
		sim_mark_service(s, p->svcs[0]->key);
		unlink_pod(p->svcs[0], p);
	}
	for (size_t i = 0; hashmap_next(&n->services, &i, &k, &v);)
		traffic_forget(v, p->key);
}

static void pod_detach(struct sim *s, struct sim_pod *p)
{
	struct hashmap *pods = owner_pods(owner_of(s, p->owner_uid));

	if (pods)
		hashmap_remove(pods, p->key);
}

static void pod_attach(struct sim *s, struct sim_pod *p)
{
	struct hashmap *pods = owner_pods(owner_of(s, p->owner_uid));

	if (pods)
		hashmap_put(pods, p->key, p);
}

static bool has_tracking_finalizer(const json_t *pod)
{
	size_t i;
	json_t *f;

	json_array_foreach(
		json_object_get(json_object_get(pod, "metadata"), "finalizers"),
		i, f)
	{
		if (strcmp(json_string_value(f) ?: "",
			   JOBCTL_TRACKING_FINALIZER) == 0)
			return true;
	}
	return false;
}

static void on_pod(struct sim *s, const struct change *c)
{
	struct sim_ns *n = sim_ns_get(s, c->obj->ns, true);
	struct sim_pod *p = hashmap_get(&n->pods, c->obj->key);
	json_t *pod;
	bool was_ready, changed, relabelled;
	char *old_ip;

	if (c->type == CHANGE_DELETED) {
		if (!p)
			return;
		mark_owner(s, owner_of(s, p->owner_uid));
		pod_detach(s, p);
		pod_gone(s, n, p);
		sim_pod_set_due(s, p, 0);
		kubelet_pod_forget(s, p);
		if (p->ready)
			s->n_ready--;
		s->n_pods--;
		hashmap_remove(&n->pods, p->key);
		pod_free(p);
		return;
	}
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->key = xstrdup(c->obj->key);
		p->ns = xstrdup(c->obj->ns);
		p->name = xstrdup(c->obj->name);
		hashmap_put(&n->pods, p->key, p);
		s->n_pods++;
	}
	pod = object_parse(c->obj);
	relabelled =
		c->type == CHANGE_ADDED || !p->labels ||
		!json_equal(p->labels,
			    json_object_get(json_object_get(pod, "metadata"),
					    "labels")
				    ?: json_object());
	was_ready = p->ready;
	old_ip = p->ip ? xstrdup(p->ip) : NULL;
	pod_detach(s, p);
	free(p->owner_uid);
	p->owner_uid = controller_uid(pod);
	kubelet_pod_load(s, p, pod);
	pod_attach(s, p);
	if (was_ready != p->ready)
		s->n_ready += p->ready ? 1 : (size_t)-1;
	changed = was_ready != p->ready ||
		  (old_ip == NULL) != (p->ip == NULL) || p->deleting;
	mark_owner(s, owner_of(s, p->owner_uid));
	if (!p->owner_uid)
		mark_adopters(s, n, p);
	pod_services(s, n, p, relabelled, changed || c->type == CHANGE_ADDED);
	if (p->deleting && !owner_of(s, p->owner_uid) &&
	    has_tracking_finalizer(pod))
		hashmap_put(&s->orphans, p->key, (void *)1);
	kubelet_pod_plan(s, p);
	free(old_ip);
	json_decref(pod);
}

static void fill_ident(char **key, char **ns, char **name, char **uid,
		       const struct object *o)
{
	if (!*key) {
		*key = xstrdup(o->key);
		*ns = xstrdup(o->ns);
		*name = xstrdup(o->name);
	}
	free(*uid);
	*uid = xstrdup(o->uid ? o->uid : "");
}

static void owner_register(struct sim *s, const char *uid, char kind, void *rec)
{
	struct sim_owner *o = hashmap_get(&s->owners, uid);

	if (!o) {
		o = xmalloc(sizeof(*o));
		hashmap_put(&s->owners, uid, o);
	}
	o->kind = kind;
	o->rec = rec;
}

/* Collects the already indexed pods controlled by uid into pods. */
static void collect_owned(struct sim_ns *n, const char *uid,
			  struct hashmap *pods)
{
	const char *k;
	void *v;

	for (size_t i = 0; hashmap_next(&n->pods, &i, &k, &v);) {
		struct sim_pod *p = v;

		if (p->owner_uid && strcmp(p->owner_uid, uid) == 0)
			hashmap_put(pods, p->key, p);
	}
}

static void on_rs(struct sim *s, const struct change *c)
{
	struct sim_ns *n = sim_ns_get(s, c->obj->ns, true);
	struct sim_rs *r = hashmap_get(&n->rs, c->obj->key);
	json_t *obj;

	if (c->type == CHANGE_DELETED) {
		if (!r)
			return;
		free(hashmap_remove(&s->owners, r->uid));
		hashmap_remove(&n->rs, r->key);
		rs_free(r);
		return;
	}
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		hashmap_init(&r->pods);
		fill_ident(&r->key, &r->ns, &r->name, &r->uid, c->obj);
		hashmap_put(&n->rs, r->key, r);
		owner_register(s, r->uid, 'R', r);
		collect_owned(n, r->uid, &r->pods);
	}
	obj = object_parse(c->obj);
	label_selector_free(r->sel);
	r->sel = NULL;
	if (label_selector_from_json(
		    json_object_get(json_object_get(obj, "spec"), "selector"),
		    &r->sel, NULL, 0))
		r->sel = NULL;
	json_decref(obj);
	sim_mark_rs(s, r->key, 0);
}

static void on_job(struct sim *s, const struct change *c)
{
	struct sim_ns *n = sim_ns_get(s, c->obj->ns, true);
	struct sim_job *j = hashmap_get(&n->jobs, c->obj->key);

	if (c->type == CHANGE_DELETED) {
		if (!j)
			return;
		free(hashmap_remove(&s->owners, j->uid));
		hashmap_remove(&n->jobs, j->key);
		job_free(j);
		return;
	}
	if (!j) {
		j = xcalloc(1, sizeof(*j));
		hashmap_init(&j->pods);
		fill_ident(&j->key, &j->ns, &j->name, &j->uid, c->obj);
		hashmap_put(&n->jobs, j->key, j);
		owner_register(s, j->uid, 'J', j);
		collect_owned(n, j->uid, &j->pods);
	}
	sim_mark_job(s, j->key, 0);
}

static double service_rate(struct sim *s, const json_t *svc)
{
	const char *text = json_string_value(json_object_get(
		json_object_get(json_object_get(svc, "metadata"),
				"annotations"),
		SIM_ANNOTATION "request-rate"));
	char *end;
	double v;

	if (!text)
		return s->opt.request_rate;
	v = strtod(text, &end);
	if (end == text || *end || !isfinite(v) || v < 0 || v > 1e6) {
		LOG_WARNF("bad request-rate annotation", "service=%s value=%s",
			  meta_str(svc, "name"), text);
		return s->opt.request_rate;
	}
	return v;
}

/* Rebuilds the set of pods the Service selects. */
static void service_select(struct sim_ns *n, struct sim_service *v)
{
	const char *k;
	void *val;

	unlink_all_pods(v);
	if (!v->sel)
		return;
	for (size_t i = 0; hashmap_next(&n->pods, &i, &k, &val);) {
		struct sim_pod *p = val;

		if (label_selector_matches(v->sel, p->labels))
			link_pod(v, p);
	}
}

static void on_service(struct sim *s, const struct change *c)
{
	struct sim_ns *n = sim_ns_get(s, c->obj->ns, true);
	struct sim_service *v = hashmap_get(&n->services, c->obj->key);
	json_t *obj, *sel;

	if (c->type == CHANGE_DELETED) {
		if (!v)
			return;
		hashmap_remove(&s->dirty_svc, v->key);
		if (v->sel) /* the endpoints controller deletes its Endpoints */
			hashmap_put(&s->gone_services, v->key, (void *)1);
		unlink_all_pods(v);
		hashmap_remove(&n->services, v->key);
		service_free(v);
		return;
	}
	if (!v) {
		v = xcalloc(1, sizeof(*v));
		hashmap_init(&v->pods);
		hashmap_init(&v->series);
		fill_ident(&v->key, &v->ns, &v->name, &v->uid, c->obj);
		hashmap_put(&n->services, v->key, v);
	}
	obj = object_parse(c->obj);
	json_decref(v->svc);
	v->svc = obj;
	v->rate = service_rate(s, obj);
	label_selector_free(v->sel);
	v->sel = NULL;
	sel = json_object_get(json_object_get(obj, "spec"), "selector");
	/* a Service without a selector has user-managed endpoints */
	if (json_is_object(sel) && json_object_size(sel)) {
		json_t *wrapped = json_pack("{s:O}", "matchLabels", sel);

		if (label_selector_from_json(wrapped, &v->sel, NULL, 0))
			v->sel = NULL;
		json_decref(wrapped);
	}
	service_select(n, v);
	sim_mark_service(s, v->key);
}

static const char *label_of(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(obj, "metadata"), "labels"),
		key));
}

/* Endpoints or a slice changed: its Service re-asserts what it owns. */
static void on_endpoints(struct sim *s, const struct change *c, bool slice)
{
	struct sim_ns *n = sim_ns_get(s, c->obj->ns, false);
	json_t *obj = slice ? object_parse(c->obj) : NULL;
	const char *svc_name =
		slice ? label_of(obj, "kubernetes.io/service-name")
		      : c->obj->name;
	const char *manager = label_of(obj, SLICE_MANAGED_BY);
	struct sim_service *v = NULL;
	char key[512];

	if (n && svc_name) {
		snprintf(key, sizeof(key), "%s/%s", c->obj->ns, svc_name);
		v = hashmap_get(&n->services, key);
	}
	if (v && slice && manager && strcmp(manager, SLICE_MANAGER) == 0) {
		free(v->slice);
		v->slice = c->type == CHANGE_DELETED ? NULL
						     : xstrdup(c->obj->name);
	}
	if (v)
		sim_mark_service(s, v->key);
	json_decref(obj);
}

void sim_on_change(struct sim *s, const struct change *c)
{
	const char *g = c->coll->group, *r = c->coll->resource;

	if (!s || s->opt.disabled || !s->started)
		return;
	if (!*g && strcmp(r, "pods") == 0)
		on_pod(s, c);
	else if (strcmp(g, "apps") == 0 && strcmp(r, "replicasets") == 0)
		on_rs(s, c);
	else if (strcmp(g, "batch") == 0 && strcmp(r, "jobs") == 0)
		on_job(s, c);
	else if (!*g && strcmp(r, "services") == 0)
		on_service(s, c);
	else if (!*g && strcmp(r, "endpoints") == 0)
		on_endpoints(s, c, false);
	else if (strcmp(g, "discovery.k8s.io") == 0 &&
		 strcmp(r, "endpointslices") == 0)
		on_endpoints(s, c, true);
	else if (!*g && strcmp(r, "nodes") == 0 && c->type == CHANGE_DELETED)
		s->dc->gc_pending = true; /* recreated on the next tick */
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
	replay(s, "discovery.k8s.io", "endpointslices");
	s->last_traffic = s->now = wall_now();
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

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
		if (mono_now() > deadline) {
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
	const char *slash = strchr(key, '/');
	char *ns = xstrndup(key, slash ? (size_t)(slash - key) : 0);

	job_release_pod(s, ns, slash ? slash + 1 : key);
	free(ns);
}

static void forget_endpoints(struct sim *s, const char *key)
{
	const char *slash = strchr(key, '/');
	char *ns = xstrndup(key, slash ? (size_t)(slash - key) : 0);

	/* unless a Service of that name came back meanwhile */
	if (!hashmap_get(&sim_ns_get(s, ns, true)->services, key))
		endpoints_forget(s, ns, slash ? slash + 1 : key);
	free(ns);
}

static void gone_again(struct sim *s, const char *key)
{
	hashmap_put(&s->gone_services, key, (void *)1);
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

bool sim_tick(struct sim *s, double now)
{
	double deadline = mono_now() + SIM_TICK_BUDGET;
	bool more = false;

	if (!s || s->opt.disabled || !s->started)
		return false;
	s->now = now ? now : wall_now();
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
	if (s->now > s->last_traffic) {
		double dt = s->now - s->last_traffic;

		/* after a stall, do not burst more than 5 s of traffic */
		traffic_run(s, dt > 5 ? 5 : dt);
		s->last_traffic = s->now;
	}
	return more;
}

void sim_counts(const struct sim *s, size_t *pods, size_t *ready)
{
	*pods = s ? s->n_pods : 0;
	*ready = s ? s->n_ready : 0;
}

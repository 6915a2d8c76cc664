/*
 * sim_index: how the simulation learns about objects, like informers feeding
 * work queues. Every store change to a Pod, ReplicaSet, Job, Service,
 * Endpoints or EndpointSlice updates the per-namespace records (sim.h,
 * sim_internal.h) and marks what must be reconciled: a pod's owner, the
 * ReplicaSets that may adopt an orphan, the Services whose endpoints move,
 * and the pod's own kubelet timer. Nothing here writes to the store.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/jobctl.h"
#include "devcluster/sim_internal.h"
#include "util/alloc.h"
#include "util/log.h"

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

/* Whether two label sets are the same; NULL is the empty set. */
static bool labels_equal(const json_t *a, const json_t *b)
{
	if (!json_object_size(a) || !json_object_size(b))
		return json_object_size(a) == json_object_size(b);
	return json_equal(a, b);
}

static void on_pod(struct sim *s, const struct change *c)
{
	struct sim_ns *n = sim_ns_get(s, c->obj->ns, true);
	struct sim_pod *p = hashmap_get(&n->pods, c->obj->key);
	json_t *pod;
	bool was_ready, was_active, changed, relabelled;
	struct sim_owner *old_owner;
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
		sim_pod_free(p);
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
		!labels_equal(p->labels,
			      json_object_get(json_object_get(pod, "metadata"),
					      "labels"));
	was_ready = p->ready;
	was_active = c->type == CHANGE_ADDED || pod_is_active(p);
	old_owner = owner_of(s, p->owner_uid);
	old_ip = p->ip ? xstrdup(p->ip) : NULL;
	pod_detach(s, p);
	free(p->owner_uid);
	p->owner_uid = controller_uid(pod);
	kubelet_pod_load(s, p, pod);
	pod_attach(s, p);
	if (was_ready != p->ready)
		s->n_ready += p->ready ? 1 : (size_t)-1;
	changed = was_ready != p->ready || was_active != pod_is_active(p) ||
		  (old_ip == NULL) != (p->ip == NULL) || p->deleting;
	/* a released pod wakes the controller it left, too */
	if (old_owner != owner_of(s, p->owner_uid))
		mark_owner(s, old_owner);
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
		sim_rs_free(r);
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
		sim_job_free(j);
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
		sim_service_free(v);
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

/* The uid of the slice's controlling owner, or "". */
static const char *slice_owner(const json_t *slice)
{
	json_t *refs = json_object_get(json_object_get(slice, "metadata"),
				       "ownerReferences");
	size_t i;
	json_t *r;

	json_array_foreach(refs, i, r)
	{
		if (json_is_true(json_object_get(r, "controller")))
			return json_string_value(json_object_get(r, "uid"))
				       ?: "";
	}
	return "";
}

/*
 * A managed EndpointSlice changed. The Service keeps one slice, owned by it;
 * any other slice that claims the Service (left over from an earlier
 * Service of the same name, or a duplicate) is deleted on the next tick.
 */
static void on_slice(struct sim *s, struct sim_service *v,
		     const struct change *c, const json_t *slice)
{
	const char *name = c->obj->name;
	bool ours = strcmp(slice_owner(slice), v->uid) == 0;

	if (c->type == CHANGE_DELETED) {
		if (v->slice && strcmp(v->slice, name) == 0) {
			free(v->slice);
			v->slice = NULL;
		}
	} else if (ours && !v->slice) {
		v->slice = xstrdup(name);
	} else if (!v->slice || strcmp(v->slice, name) != 0) {
		hashmap_put(&s->stale_slices, c->obj->key, (void *)1);
	}
}

/* Keeps the namespace's index of managed slices current. */
static void index_slice(struct sim_ns *n, const struct change *c,
			const json_t *slice, const char *svc_name, bool managed)
{
	struct slice_ref *r;

	slice_ref_free(hashmap_remove(&n->slices, c->obj->name));
	if (c->type == CHANGE_DELETED || !managed || !svc_name)
		return;
	r = xmalloc(sizeof(*r));
	r->service = xstrdup(svc_name);
	r->owner = xstrdup(slice_owner(slice));
	hashmap_put(&n->slices, c->obj->name, r);
}

/* Endpoints or a slice changed: its Service re-asserts what it owns. */
static void on_endpoints(struct sim *s, const struct change *c, bool slice)
{
	struct sim_ns *n = sim_ns_get(s, c->obj->ns, true);
	json_t *obj = slice ? object_parse(c->obj) : NULL;
	const char *svc_name =
		slice ? label_of(obj, "kubernetes.io/service-name")
		      : c->obj->name;
	const char *manager = label_of(obj, SLICE_MANAGED_BY);
	bool managed = manager && strcmp(manager, SLICE_MANAGER) == 0;
	struct sim_service *v = NULL;
	char key[512];

	if (slice)
		index_slice(n, c, obj, svc_name, managed);
	if (svc_name) {
		snprintf(key, sizeof(key), "%s/%s", c->obj->ns, svc_name);
		v = hashmap_get(&n->services, key);
	}
	if (v && v->sel && slice && managed)
		on_slice(s, v, c, obj);
	if (v)
		sim_mark_service(s, v->key);
	else if (!slice && s->replaying)
		/* left over from a Service deleted before a restart */
		hashmap_put(&s->gone_services, c->obj->key, (void *)1);
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

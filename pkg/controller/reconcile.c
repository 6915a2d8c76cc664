/*
 * reconcile: one pass over one Rollout key (see controller_internal.h).
 *
 * Reads the Rollout from the cache (gone or being deleted: nothing to do,
 * the garbage collector removes its ReplicaSets through their
 * ownerReferences), parses it, builds the planner's views of its
 * ReplicaSets (owned, from the cache) and of the Services its spec names (from
 * the cache), counts the pods a pending restart still has to replace (the only
 * list made here, and only while a restart is due), runs plan_compute() with
 * the wall clock and hands the plan to apply_plan().
 *
 * Cached objects carry no metadata.managedFields, which rollout_parse()
 * reads to say who asked for an operation and who changed the template.
 * So when an operation is pending or the template changed, the Rollout is
 * GET from the server (and that fresher copy is used throughout); a
 * reconcile with nothing to do makes no API call at all.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/controller_internal.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rfc3339.h"

#define MAX_SERVICES 4

/* What the views borrow from, released together. */
struct views {
	struct kube_obj **rs_obj;
	json_t **rs_json;
	char **images;
	struct rs_view *rs;
	size_t n_rs;
	json_t *svc_json[MAX_SERVICES];
	struct svc_view svc[MAX_SERVICES];
	size_t n_svc;
	json_t *pods;
};

static void views_release(struct views *v)
{
	for (size_t i = 0; i < v->n_rs; i++) {
		json_decref(v->rs_json[i]);
		free(v->images[i]);
	}
	kube_obj_array_free(v->rs_obj, v->n_rs);
	free(v->rs_json);
	free(v->images);
	free(v->rs);
	for (size_t i = 0; i < v->n_svc; i++)
		json_decref(v->svc_json[i]);
	json_decref(v->pods);
	memset(v, 0, sizeof(*v));
}

static int int_at(json_t *obj, const char *key, int dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

/* A value Go's encoding/json leaves out under omitempty (null, false, 0,
 * "", [], {} or an object of such values): the server's copy of a pod
 * template may not have it. */
static bool json_is_empty_value(json_t *v)
{
	const char *k;
	json_t *m;

	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return true;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	case JSON_REAL:
		return json_real_value(v) == 0;
	case JSON_STRING:
		return json_string_length(v) == 0;
	case JSON_ARRAY:
		return json_array_size(v) == 0;
	case JSON_OBJECT:
		json_object_foreach(v, k, m)
		{
			if (!json_is_empty_value(m))
				return false;
		}
		return true;
	default:
		return false;
	}
}

/* A resource quantity ("500m", "1Gi", "1e3", 2, 0.5) as a number. */
static bool quantity_value(json_t *v, double *out)
{
	static const struct {
		const char *suffix;
		double scale;
	} units[] = {
		{"", 1},	{"n", 1e-9},	{"u", 1e-6},	{"m", 1e-3},
		{"k", 1e3},	{"M", 1e6},	{"G", 1e9},	{"T", 1e12},
		{"P", 1e15},	{"E", 1e18},	{"Ki", 0x1p10}, {"Mi", 0x1p20},
		{"Gi", 0x1p30}, {"Ti", 0x1p40}, {"Pi", 0x1p50}, {"Ei", 0x1p60},
	};
	const char *s = json_string_value(v);
	char *end;
	double x;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (!s || !*s || !strchr("+-.0123456789", *s))
		return false;
	x = strtod(s, &end);
	if (end == s || strspn(s, "+-.0123456789eE") < (size_t)(end - s))
		return false; /* hex, inf, nan */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			*out = x * units[i].scale;
			return true;
		}
	}
	return false;
}

/* Equal leaves, or the same quantity written two ways: the server writes
 * resource quantities in canonical form ("0.5" -> "500m", 1 -> "1"). */
static bool leaf_covers(json_t *want, json_t *have)
{
	double a, b;

	if (json_equal(want, have))
		return true;
	if (!quantity_value(want, &a) || !quantity_value(have, &b))
		return false;
	return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/*
 * True when every field of `want` is in `have` with the same value
 * (arrays: same length, element by element). The server defaults fields
 * of a ReplicaSet's pod template that the Rollout's template leaves out,
 * drops empty ones (omitempty) and canonicalises quantities, none of which
 * the Rollout's copy (a custom resource, stored as written) sees, so "our
 * template" means "covered", not "equal". Were it "equal", every new
 * ReplicaSet would look like a hash collision and the planner would raise
 * collisionCount and create another one, without end.
 */
static bool json_covers(json_t *want, json_t *have)
{
	const char *k;
	json_t *v, *hv;
	size_t i;

	if (json_is_object(want)) {
		if (!json_is_object(have))
			return false;
		json_object_foreach(want, k, v)
		{
			hv = json_object_get(have, k);
			if (hv ? !json_covers(v, hv) : !json_is_empty_value(v))
				return false;
		}
		return true;
	}
	if (json_is_array(want)) {
		if (!json_is_array(have) ||
		    json_array_size(want) != json_array_size(have))
			return false;
		json_array_foreach(want, i, v)
		{
			if (!json_covers(v, json_array_get(have, i)))
				return false;
		}
		return true;
	}
	return leaf_covers(want, have);
}

/* Is the ReplicaSet's pod template (without our hash label) the spec's? */
static bool template_matches(json_t *rs, const json_t *spec_template)
{
	json_t *tmpl = json_object_get(json_object_get(rs, "spec"), "template");
	json_t *copy, *labels;
	bool same;

	if (!json_is_object(tmpl) || !spec_template)
		return false;
	copy = json_deep_copy(tmpl);
	labels = json_object_get(json_object_get(copy, "metadata"), "labels");
	json_object_del(labels, LABEL_POD_TEMPLATE_HASH);
	same = json_covers((json_t *)spec_template, copy);
	json_decref(copy);
	return same;
}

static void fill_rs_view(struct rs_view *v, const struct kube_obj *o,
			 json_t *rs, const struct rollout *ro, char **images)
{
	json_t *meta = json_object_get(rs, "metadata");
	json_t *ann = json_object_get(meta, "annotations");
	json_t *spec = json_object_get(rs, "spec");
	json_t *status = json_object_get(rs, "status");
	const char *rev = json_string_value(json_object_get(ann, ANN_REVISION));
	const char *deadline = json_string_value(
		json_object_get(ann, ANN_SCALE_DOWN_DEADLINE));
	double t = 0;

	v->name = o->name;
	v->hash = kube_obj_label(o, LABEL_POD_TEMPLATE_HASH);
	v->revision = rev ? strtol(rev, NULL, 10) : 0;
	v->template_matches = template_matches(rs, ro->spec.template);
	v->spec_replicas = int_at(spec, "replicas", 1);
	v->replicas = int_at(status, "replicas", 0);
	v->ready = int_at(status, "readyReplicas", 0);
	v->available = int_at(status, "availableReplicas", 0);
	v->observed = int_at(status, "observedGeneration", 0) >= o->generation;
	v->scale_down_at = deadline && rfc3339_parse(deadline, &t) == 0 ? t : 0;
	v->deleting = o->deleting;
	v->created =
		json_string_value(json_object_get(meta, "creationTimestamp"));
	*images = rollout_template_images(json_object_get(spec, "template"));
	v->images = *images;
}

static void build_rs_views(struct controller *c, const struct rollout *ro,
			   struct views *v)
{
	struct kube_store *st = informer_store(c->replicasets);
	size_t n = kube_store_by_owner(st, ro->uid, &v->rs_obj);

	v->n_rs = n;
	v->rs_json = xcalloc(n ? n : 1, sizeof(*v->rs_json));
	v->images = xcalloc(n ? n : 1, sizeof(*v->images));
	v->rs = xcalloc(n ? n : 1, sizeof(*v->rs));
	for (size_t i = 0; i < n; i++) {
		v->rs_json[i] = kube_obj_parse(v->rs_obj[i]);
		fill_rs_view(&v->rs[i], v->rs_obj[i], v->rs_json[i], ro,
			     &v->images[i]);
	}
}

static void add_svc_view(struct controller *c, const struct rollout *ro,
			 const char *name, struct views *v)
{
	struct svc_view *sv;
	struct kube_obj *o;
	json_t *svc, *ann;
	char *key;

	if (!name || v->n_svc == MAX_SERVICES)
		return;
	for (size_t i = 0; i < v->n_svc; i++)
		if (strcmp(v->svc[i].name, name) == 0)
			return;
	sv = &v->svc[v->n_svc];
	memset(sv, 0, sizeof(*sv));
	sv->name = name;
	key = xasprintf("%s/%s", ro->ns, name);
	o = kube_store_get(informer_store(c->services), key);
	free(key);
	if (o) {
		svc = kube_obj_parse(o);
		v->svc_json[v->n_svc] = svc;
		sv->exists = !o->deleting;
		sv->selector_hash = json_string_value(json_object_get(
			json_object_get(json_object_get(svc, "spec"),
					"selector"),
			LABEL_POD_TEMPLATE_HASH));
		ann = json_object_get(json_object_get(svc, "metadata"),
				      "annotations");
		sv->managed_by =
			json_string_value(json_object_get(ann, ANN_MANAGED_BY));
		kube_obj_unref(o);
	}
	v->n_svc++;
}

json_t *list_revision_pods(struct controller *c, const char *ns,
			   const char *hash)
{
	struct kube_error e = KUBE_ERROR_INIT;
	char *sel = xasprintf("%s=%s", LABEL_POD_TEMPLATE_HASH, hash);
	struct kube_list_options lo = {.label_selector = sel};
	json_t *list = NULL;
	int rc = kube_list(c->client, &KUBE_PODS, ns, &lo, &list, &e);

	if (rc)
		LOG_WARNF("cannot list pods",
			  "namespace=%s selector=%s err=%s code=%ld", ns, sel,
			  err_name(rc), e.http_status);
	kube_error_release(&e);
	free(sel);
	return rc ? NULL : list;
}

/* Pods of the stable revision created before restartAt, or -1 when no
 * restart is due (or the count is unknown). */
static int restart_old_pods(struct controller *c, const struct rollout *ro,
			    double now, struct views *v)
{
	double at = 0, created;
	size_t i;
	json_t *pod;
	int n = 0;

	if (!ro->spec.restart_at || !ro->st.stable_rs ||
	    rfc3339_parse(ro->spec.restart_at, &at) || at > now ||
	    at <= ro->st.restarted_at)
		return -1;
	v->pods = list_revision_pods(c, ro->ns, ro->st.stable_rs);
	if (!v->pods)
		return -1;
	json_array_foreach(json_object_get(v->pods, "items"), i, pod)
	{
		json_t *meta = json_object_get(pod, "metadata");

		/* A terminating old pod still counts: the restart is done
		 * when every old pod is gone, not when the last delete was
		 * sent (apply skips terminating pods when deleting). */
		if (rfc3339_parse(json_string_value(json_object_get(
					  meta, "creationTimestamp")),
				  &created) == 0 &&
		    created < at)
			n++;
	}
	return n;
}

/* Does the parse lack managedFields facts the plan will need? */
static bool needs_full_object(const struct rollout *ro)
{
	/* an invalid spec handles no request and records no revision */
	if (ro->n_invalid > 0)
		return false;
	if (ro->n_requests > 0 && !ro->requests[0].manager)
		return true;
	if (!ro->spec.template || ro->template_manager)
		return false;
	return !ro->st.current_pod_hash ||
	       strcmp(ro->st.current_pod_hash, ro->template_hash) != 0;
}

/* GETs the Rollout and parses it again into *ro. Returns 0, 1 when it is
 * gone, or an error. */
static int refetch(struct controller *c, const char *key, json_t **obj,
		   struct rollout *ro)
{
	struct kube_error e = KUBE_ERROR_INIT;
	char *ns = xstrdup(ro->ns), *name = xstrdup(ro->name);
	json_t *full = NULL;
	char err[256];
	int rc = kube_get(c->client, &KNIT_ROLLOUTS, ns, name, &full, &e);

	if (rc == ERR_NOTFOUND) {
		rc = 1;
	} else if (rc) {
		LOG_WARNF("cannot get rollout", "object=%s err=%s code=%ld",
			  key, err_name(rc), e.http_status);
	} else {
		rollout_release(ro);
		rc = rollout_parse(full, ro, err, sizeof(err));
		if (rc)
			LOG_ERRORF("cannot parse rollout",
				   "object=%s error=\"%s\"", key, err);
		json_decref(*obj);
		*obj = full;
	}
	kube_error_release(&e);
	free(ns);
	free(name);
	return rc;
}

static enum reconcile_result plan_and_apply(struct controller *c,
					    struct rollout *ro, json_t *obj,
					    long *requeue_ms)
{
	struct views v = {0};
	struct run_views rv = {0};
	struct plan p;
	double now = rfc3339_now();
	struct plan_input in = {.ro = ro, .now = now};
	enum reconcile_result r;

	build_rs_views(c, ro, &v);
	add_svc_view(c, ro, ro->spec.stable_service, &v);
	add_svc_view(c, ro, ro->spec.canary_service, &v);
	add_svc_view(c, ro, ro->spec.active_service, &v);
	add_svc_view(c, ro, ro->spec.preview_service, &v);
	in.rs = v.rs;
	in.n_rs = v.n_rs;
	in.svc = v.svc;
	in.n_svc = v.n_svc;
	run_views_build(c, ro, &rv);
	in.runs = rv.v;
	in.n_runs = rv.n;
	in.restart_old_pods = restart_old_pods(c, ro, now, &v);
	plan_compute(&in, &p);
	struct apply_input ai = {
		.ro = ro,
		.obj = obj,
		.rs = v.rs,
		.n_rs = v.n_rs,
		.svc = v.svc,
		.n_svc = v.n_svc,
		.pods = v.pods,
	};
	r = apply_plan(c, &ai, &p);
	if (r == RECONCILE_SUCCESS) {
		char *key = xasprintf("%s/%s", ro->ns, ro->name);

		*requeue_ms = p.requeue_ms;
		controller_note_phase(
			c, key,
			json_string_value(json_object_get(p.status, "phase")));
		free(key);
	}
	plan_release(&p);
	views_release(&v);
	run_views_release(&rv);
	return r;
}

enum reconcile_result reconcile_key(struct controller *c, const char *key,
				    long *requeue_ms)
{
	struct kube_obj *o = kube_store_get(informer_store(c->rollouts), key);
	enum reconcile_result r = RECONCILE_SUCCESS;
	struct rollout ro;
	json_t *obj;
	char err[256];
	int rc;

	*requeue_ms = 0;
	if (!o) {
		LOG_DEBUGF("rollout gone", "object=%s", key);
		controller_note_phase(c, key, NULL);
		return RECONCILE_SUCCESS;
	}
	if (o->deleting) {
		/* The garbage collector is removing its ReplicaSets (in the
		 * foreground, the Rollout waits for them): recreating them
		 * would fight it until the Rollout is gone. */
		LOG_DEBUGF("rollout being deleted", "object=%s", key);
		kube_obj_unref(o);
		return RECONCILE_SUCCESS;
	}
	if (controller_cache_behind(c, key, o->resource_version)) {
		/* Our own status write is on its way through the watch, which
		 * queues the key again; the timer is only a safety net. */
		LOG_DEBUGF("cache behind our write", "object=%s", key);
		kube_obj_unref(o);
		*requeue_ms = 1000;
		return RECONCILE_SUCCESS;
	}
	obj = kube_obj_parse(o);
	kube_obj_unref(o);
	if (rollout_parse(obj, &ro, err, sizeof(err))) {
		LOG_ERRORF("cannot parse rollout", "object=%s error=\"%s\"",
			   key, err);
		json_decref(obj);
		return RECONCILE_SUCCESS; /* retrying cannot help */
	}
	if (needs_full_object(&ro)) {
		rc = refetch(c, key, &obj, &ro);
		if (rc) {
			r = rc == 1 || rc == ERR_PARSE ? RECONCILE_SUCCESS
						       : RECONCILE_ERROR;
			goto out;
		}
	}
	r = plan_and_apply(c, &ro, obj, requeue_ms);
out:
	rollout_release(&ro);
	json_decref(obj);
	return r;
}

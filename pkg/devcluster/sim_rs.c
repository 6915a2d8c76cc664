/*
 * sim_rs: the ReplicaSet controller, after Kubernetes' own. One pass for a
 * ReplicaSet adopts orphan pods its selector matches, releases pods it no
 * longer matches, creates or deletes pods until the active ones number
 * spec.replicas (scale-down picks unscheduled, pending, not-ready,
 * recently-ready, often-restarted and new pods first), and writes a status
 * computed from the pods. Every pod it creates or deletes is reported as an
 * Event, as the real controller does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/sim_internal.h"
#include "util/alloc.h"
#include "util/log.h"

/* The real controller creates at most this many pods per pass. */
#define BURST_REPLICAS 500

bool pod_is_active(const struct sim_pod *p)
{
	return !p->deleting && p->phase != PHASE_SUCCEEDED &&
	       p->phase != PHASE_FAILED;
}

json_t *pod_from_template(const json_t *tmpl, const char *ns,
			  const char *owner_api, const char *owner_kind,
			  const char *owner_name, const char *owner_uid)
{
	json_t *tmeta = json_object_get(tmpl, "metadata");
	json_t *spec = json_object_get(tmpl, "spec");
	char prefix[64];
	json_t *pod, *meta;
	const char *k;
	json_t *v;

	/* generated names keep room for the 5-character suffix */
	snprintf(prefix, sizeof(prefix), "%.57s-", owner_name);
	pod = json_pack("{s:s,s:s,s:{s:s,s:s},s:O}", "apiVersion", "v1", "kind",
			"Pod", "metadata", "generateName", prefix, "namespace",
			ns, "spec",
			json_is_object(spec) ? spec : json_object());
	if (!json_is_object(spec))
		json_decref(json_object_get(pod, "spec"));
	meta = json_object_get(pod, "metadata");
	json_object_foreach(tmeta, k, v)
	{
		if (strcmp(k, "labels") == 0 || strcmp(k, "annotations") == 0 ||
		    strcmp(k, "finalizers") == 0)
			json_object_set(meta, k, v);
	}
	json_object_set_new(meta, "ownerReferences",
			    json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]",
				      "apiVersion", owner_api, "kind",
				      owner_kind, "name", owner_name, "uid",
				      owner_uid, "controller", 1,
				      "blockOwnerDeletion", 1));
	return pod;
}

/* ---- adoption and release ---- */

static json_t *owner_ref(const struct sim_rs *r)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "apps/v1",
			 "kind", "ReplicaSet", "name", r->name, "uid", r->uid,
			 "controller", 1, "blockOwnerDeletion", 1);
}

/* Rewrites the pod's ownerReferences: adds ours or drops the given uid. */
static void set_owner(struct sim *s, const struct sim_rs *r, const char *pod,
		      bool adopt)
{
	json_t *obj = sim_get(s, "", "pods", r->ns, pod);
	json_t *refs, *kept = json_array(), *patch;
	char *path;
	size_t i;
	json_t *ref;

	if (!obj) {
		json_decref(kept);
		return;
	}
	refs = json_object_get(json_object_get(obj, "metadata"),
			       "ownerReferences");
	json_array_foreach(refs, i, ref)
	{
		const char *uid =
			json_string_value(json_object_get(ref, "uid"));

		if (!adopt && uid && strcmp(uid, r->uid) == 0)
			continue;
		json_array_append(kept, ref);
	}
	if (adopt)
		json_array_append_new(kept, owner_ref(r));
	patch = json_pack(
		"{s:{s:o,s:s}}", "metadata", "ownerReferences",
		json_array_size(kept) ? kept : json_null(), "resourceVersion",
		json_string_value(json_object_get(
			json_object_get(obj, "metadata"), "resourceVersion")));
	if (!json_array_size(kept))
		json_decref(kept);
	path = xasprintf("/api/v1/namespaces/%s/pods/%s", r->ns, pod);
	sim_call(s, HTTP_PATCH, path, patch, AGENT_CONTROLLERS, NULL);
	free(path);
	json_decref(patch);
	json_decref(obj);
}

static void adopt_and_release(struct sim *s, struct sim_ns *n, struct sim_rs *r)
{
	json_t *adopt = json_array(), *release = json_array();
	const char *k;
	void *v;
	size_t i;
	json_t *name;

	for (size_t it = 0; hashmap_next(&n->pods, &it, &k, &v);) {
		struct sim_pod *p = v;

		if (!p->owner_uid && !p->deleting && r->sel &&
		    !label_selector_is_empty(r->sel) &&
		    label_selector_matches(r->sel, p->labels))
			json_array_append_new(adopt, json_string(p->name));
	}
	for (size_t it = 0; hashmap_next(&r->pods, &it, &k, &v);) {
		struct sim_pod *p = v;

		if (!p->deleting &&
		    !(r->sel && label_selector_matches(r->sel, p->labels)))
			json_array_append_new(release, json_string(p->name));
	}
	json_array_foreach(adopt, i, name)
		set_owner(s, r, json_string_value(name), true);
	json_array_foreach(release, i, name)
		set_owner(s, r, json_string_value(name), false);
	json_decref(adopt);
	json_decref(release);
}

/* ---- scaling ---- */

static int phase_rank(const struct sim_pod *p)
{
	return p->phase == PHASE_PENDING ? 0 : 2;
}

/* controller.ActivePods order: the pods to delete first sort first. */
static int deletion_order(const void *a, const void *b)
{
	const struct sim_pod *x = *(struct sim_pod *const *)a;
	const struct sim_pod *y = *(struct sim_pod *const *)b;
	int c;

	if ((x->node == NULL) != (y->node == NULL))
		return x->node == NULL ? -1 : 1;
	if (phase_rank(x) != phase_rank(y))
		return phase_rank(x) - phase_rank(y);
	if (x->ready != y->ready)
		return x->ready ? 1 : -1;
	if (x->ready && x->ready_since != y->ready_since)
		return x->ready_since > y->ready_since ? -1 : 1;
	if (x->restarts != y->restarts)
		return y->restarts - x->restarts;
	c = strcmp(y->created ? y->created : "", x->created ? x->created : "");
	return c ? c : strcmp(y->name, x->name);
}

static size_t active_pods(struct sim_rs *r, struct sim_pod ***out)
{
	struct sim_pod **list = xmalloc((r->pods.size + 1) * sizeof(*list));
	size_t n = 0;
	const char *k;
	void *v;

	for (size_t it = 0; hashmap_next(&r->pods, &it, &k, &v);)
		if (pod_is_active(v))
			list[n++] = v;
	*out = list;
	return n;
}

/* Creates one pod; returns NULL or why it failed (heap string). */
static char *create_one(struct sim *s, struct sim_rs *r, const json_t *rs,
			const char *path)
{
	json_t *tmpl = json_object_get(json_object_get(rs, "spec"), "template");
	json_t *pod = pod_from_template(tmpl, r->ns, "apps/v1", "ReplicaSet",
					r->name, r->uid);
	json_t *resp = NULL;
	int code = sim_call(s, HTTP_POST, path, pod, AGENT_CONTROLLERS, &resp);
	char msg[512], *failure = NULL;

	if (code == 201) {
		snprintf(msg, sizeof(msg), "Created pod: %s",
			 json_string_value(json_object_get(
				 json_object_get(resp, "metadata"), "name")));
		sim_event(s, rs, "Normal", "SuccessfulCreate", msg,
			  "replicaset-controller");
	} else {
		failure = xstrdup(
			json_string_value(json_object_get(resp, "message"))
				?: "create failed");
		snprintf(msg, sizeof(msg), "Error creating: %s", failure);
		sim_event(s, rs, "Warning", "FailedCreate", msg,
			  "replicaset-controller");
	}
	json_decref(pod);
	json_decref(resp);
	return failure;
}

/*
 * Creates up to `want` pods (at most BURST_REPLICAS a pass, and fewer when
 * the tick's budget runs out: the ReplicaSet comes back next tick).
 * Returns a failure message (heap) or NULL.
 */
static char *create_pods(struct sim *s, struct sim_rs *r, const json_t *rs,
			 int want)
{
	char *path = xasprintf("/api/v1/namespaces/%s/pods", r->ns);
	char *failure = NULL;

	for (int i = 0; i < want && i < BURST_REPLICAS && !failure; i++) {
		if (i > 0 && sim_over_budget(s)) {
			sim_defer_rs(s, r->key);
			break;
		}
		failure = create_one(s, r, rs, path);
	}
	free(path);
	return failure;
}

/* Deletes the `excess` pods that go first, within the same limits. */
static void delete_pods(struct sim *s, struct sim_rs *r, const json_t *rs,
			struct sim_pod **active, size_t n, size_t excess)
{
	json_t *names = json_array();
	size_t i;
	json_t *name;

	qsort(active, n, sizeof(*active), deletion_order);
	for (i = 0; i < excess && i < n && i < BURST_REPLICAS; i++)
		json_array_append_new(names, json_string(active[i]->name));
	json_array_foreach(names, i, name)
	{
		if (i > 0 && sim_over_budget(s)) {
			sim_defer_rs(s, r->key);
			break;
		}
		sim_delete_pod(s, rs, r->ns, json_string_value(name),
			       "replicaset-controller");
	}
	json_decref(names);
}

/* ---- status ---- */

static bool labels_cover(const json_t *want, const json_t *have)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)want, k, v)
	{
		if (!json_equal(v, json_object_get(have, k)))
			return false;
	}
	return true;
}

static void set_count(json_t *st, const char *key, size_t v)
{
	if (v)
		json_object_set_new(st, key, json_integer((json_int_t)v));
}

/* The new status; *next_due gets when a pod becomes available (or 0). */
static json_t *compute_status(struct sim *s, struct sim_rs *r, const json_t *rs,
			      const char *failure, double *next_due)
{
	json_t *spec = json_object_get(rs, "spec");
	json_t *tlabels = json_object_get(
		json_object_get(json_object_get(spec, "template"), "metadata"),
		"labels");
	double min_ready = (double)json_integer_value(
		json_object_get(spec, "minReadySeconds"));
	json_t *gen =
		json_object_get(json_object_get(rs, "metadata"), "generation");
	size_t replicas = 0, labeled = 0, ready = 0, available = 0;
	json_t *st;
	const char *k;
	void *v;

	*next_due = 0;
	for (size_t it = 0; hashmap_next(&r->pods, &it, &k, &v);) {
		struct sim_pod *p = v;

		if (!pod_is_active(p))
			continue;
		replicas++;
		labeled += labels_cover(tlabels, p->labels);
		if (!p->ready)
			continue;
		ready++;
		if (p->ready_since + min_ready <= s->now) {
			available++;
		} else if (!*next_due ||
			   p->ready_since + min_ready < *next_due) {
			*next_due = p->ready_since + min_ready;
		}
	}
	st = json_pack("{s:I}", "replicas", (json_int_t)replicas);
	set_count(st, "fullyLabeledReplicas", labeled);
	set_count(st, "readyReplicas", ready);
	set_count(st, "availableReplicas", available);
	if (gen)
		json_object_set(st, "observedGeneration", gen);
	if (failure) {
		char now[32];
		json_t *old = json_object_get(json_object_get(rs, "status"),
					      "conditions");
		json_t *c = json_array_get(old, 0);

		sim_format_time(s->now, now, sizeof(now));
		json_object_set_new(st, "conditions",
				    json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "type",
					      "ReplicaFailure", "status",
					      "True", "lastTransitionTime",
					      json_string_value(json_object_get(
						      c, "lastTransitionTime"))
						      ?: now,
					      "reason", "FailedCreate",
					      "message", failure));
	}
	return st;
}

static void write_status(struct sim *s, struct sim_rs *r, json_t *rs,
			 json_t *st)
{
	char *path;

	if (json_equal(st, json_object_get(rs, "status"))) {
		json_decref(st);
		return;
	}
	json_object_set_new(rs, "status", st);
	path = xasprintf("/apis/apps/v1/namespaces/%s/replicasets/%s/status",
			 r->ns, r->name);
	sim_call(s, HTTP_PUT, path, rs, AGENT_CONTROLLERS, NULL);
	free(path);
}

void rs_reconcile(struct sim *s, const char *key)
{
	char *ns = sim_key_split(key, NULL);
	struct sim_ns *n = sim_ns_get(s, ns, false);
	struct sim_rs *r = n ? hashmap_get(&n->rs, key) : NULL;
	json_t *rs =
		r ? sim_get(s, "apps", "replicasets", r->ns, r->name) : NULL;
	struct sim_pod **active = NULL;
	char *failure = NULL;
	double due;
	size_t count;
	json_int_t want;

	if (!rs)
		goto out;
	want = json_integer_value(
		json_object_get(json_object_get(rs, "spec"), "replicas"));
	if (!json_object_get(json_object_get(rs, "metadata"),
			     "deletionTimestamp")) {
		adopt_and_release(s, n, r);
		count = active_pods(r, &active);
		if ((json_int_t)count < want)
			failure = create_pods(s, r, rs,
					      (int)(want - (json_int_t)count));
		else if ((json_int_t)count > want)
			delete_pods(s, r, rs, active, count,
				    count - (size_t)want);
	}
	json_decref(rs);
	/* the writes above moved the ReplicaSet's resourceVersion on */
	rs = sim_get(s, "apps", "replicasets", r->ns, r->name);
	if (!rs)
		goto out;
	write_status(s, r, rs, compute_status(s, r, rs, failure, &due));
	if (due > 0)
		sim_mark_rs(s, key, due);
out:
	free(active);
	free(failure);
	free(ns);
	json_decref(rs);
}

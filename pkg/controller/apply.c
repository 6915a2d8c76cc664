/*
 * apply: carries out one plan (see plan.h for why in this order).
 *
 *   1. status: PUT /status with the Rollout as read (its resourceVersion)
 *      and status replaced by the plan's. A conflict means the plan was
 *      made from a stale view: nothing else is done and the key is retried.
 *   2. ReplicaSets (create, scale, mark or unmark for scale-down, delete),
 *      Services (selector and managed-by annotation, merge patches that
 *      keep other keys), then restart pod deletions. These set absolute
 *      values, so a retry repeats them harmlessly; a write that would not
 *      change what the cache shows is skipped, so a plan that decides
 *      nothing new makes no call. Each successful write records its Event
 *      (RevisionCreated, ScalingReplicaSet, ServiceSwitched).
 *   3. the plan's own Events, only after the status that carries their
 *      decision was stored.
 * Every Event is about the Rollout.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "controller/controller_internal.h"
#include "kube/events.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rfc3339.h"

struct applier {
	struct controller *c;
	const struct apply_input *in;
	struct event_ref ref;
	char *api_version;
	char *key;
	bool failed;
};

char *log_quote(const char *s)
{
	char *out = xmalloc(2 * strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*o++ = '\\';
		*o++ = *s == '\n' ? ' ' : *s;
	}
	*o = '\0';
	return out;
}

static void record(struct applier *a, const char *type, const char *reason,
		   const char *msg)
{
	char *quoted;

	if (a->c->recorder)
		event_record(a->c->recorder, &a->ref, type, reason, "%s", msg);
	if (LOG_INFO < log_threshold)
		return;
	quoted = log_quote(msg);
	LOG_INFOF("event", "object=%s type=%s reason=%s message=\"%s\"", a->key,
		  type, reason, quoted);
	free(quoted);
}

/* Logs a failed write and marks the reconcile as failed. */
static void write_failed(struct applier *a, const char *what, const char *name,
			 int rc, const struct kube_error *e)
{
	char *m = log_quote(e->message);

	LOG_WARNF("write failed",
		  "object=%s action=%s target=%s err=%s message=\"%s\"", a->key,
		  what, name, err_name(rc), m);
	free(m);
	a->failed = true;
}

static const struct rs_view *find_rs(const struct apply_input *in,
				     const char *name)
{
	for (size_t i = 0; i < in->n_rs; i++)
		if (strcmp(in->rs[i].name, name) == 0)
			return &in->rs[i];
	return NULL;
}

static const struct svc_view *find_svc(const struct apply_input *in,
				       const char *name)
{
	for (size_t i = 0; i < in->n_svc; i++)
		if (strcmp(in->svc[i].name, name) == 0)
			return &in->svc[i];
	return NULL;
}

/* 1: the status PUT. Returns 0 or the client's error. */
static int put_status(struct applier *a, const struct plan *p)
{
	struct kube_error e = KUBE_ERROR_INIT;
	const struct rollout *ro = a->in->ro;
	int rc;

	json_object_set(a->in->obj, "status", p->status);
	rc = kube_update_status(a->c->client, &KNIT_ROLLOUTS, ro->ns,
				a->in->obj, NULL, NULL, &e);
	if (!rc)
		controller_note_write(a->c, a->key, ro->resource_version);
	if (rc == ERR_CONFLICT)
		LOG_DEBUGF("status conflict, retrying", "object=%s", a->key);
	else if (rc && rc != ERR_NOTFOUND)
		LOG_WARNF("cannot write status", "object=%s err=%s code=%ld",
			  a->key, err_name(rc), e.http_status);
	kube_error_release(&e);
	return rc;
}

static int patch_rs(struct applier *a, const char *name, json_t *patch)
{
	struct kube_error e = KUBE_ERROR_INIT;
	int rc =
		kube_patch(a->c->client, &KUBE_REPLICASETS, a->in->ro->ns, name,
			   NULL, KUBE_PATCH_MERGE, patch, NULL, NULL, &e);

	if (rc)
		write_failed(a, "patch-replicaset", name, rc, &e);
	kube_error_release(&e);
	json_decref(patch);
	return rc;
}

/* Is `obj`'s controller ownerReference the Rollout being applied? */
static bool controlled_by_us(struct applier *a, json_t *obj)
{
	json_t *refs = json_object_get(json_object_get(obj, "metadata"),
				       "ownerReferences");
	json_t *ref;
	size_t i;

	json_array_foreach(refs, i, ref)
	{
		const char *uid =
			json_string_value(json_object_get(ref, "uid"));

		if (json_is_true(json_object_get(ref, "controller")))
			return uid && strcmp(uid, a->in->ro->uid) == 0;
	}
	return false;
}

/*
 * The create met a ReplicaSet of that name. Ours: the cache has not seen it
 * yet and its arrival queues the Rollout again. Anyone else's (an orphan
 * of a deleted Rollout of the same name, say) blocks this revision until it
 * is removed: that is logged and retried with backoff, not left silent.
 */
static void rs_exists(struct applier *a, const struct rs_action *act)
{
	struct kube_error e = KUBE_ERROR_INIT;
	json_t *rs = NULL;
	int rc = kube_get(a->c->client, &KUBE_REPLICASETS, a->in->ro->ns,
			  act->name, &rs, &e);

	if (rc == 0 && !controlled_by_us(a, rs)) {
		char *msg = xasprintf("ReplicaSet %s exists and is not "
				      "controlled by this Rollout; delete it "
				      "or change the template",
				      act->name);

		record(a, "Warning", "ReplicaSetConflict", msg);
		free(msg);
		a->failed = true;
	} else if (rc) {
		write_failed(a, "get-replicaset", act->name, rc, &e);
	}
	kube_error_release(&e);
	json_decref(rs);
}

static void rs_create(struct applier *a, const struct rs_action *act)
{
	struct kube_error e = KUBE_ERROR_INIT;
	json_t *rs = rollout_build_rs(a->in->ro, act->hash, act->revision,
				      act->replicas);
	int rc = kube_create(a->c->client, &KUBE_REPLICASETS, a->in->ro->ns, rs,
			     NULL, NULL, &e);
	char *msg;

	if (rc == 0) {
		msg = xasprintf("Created ReplicaSet %s (revision %ld) with %d "
				"replicas",
				act->name, act->revision, act->replicas);
		record(a, "Normal", "RevisionCreated", msg);
		free(msg);
	} else if (rc == ERR_EXISTS) {
		rs_exists(a, act);
	} else {
		write_failed(a, "create-replicaset", act->name, rc, &e);
	}
	kube_error_release(&e);
	json_decref(rs);
}

static void rs_scale(struct applier *a, const struct rs_action *act)
{
	const struct rs_view *v = find_rs(a->in, act->name);
	int from = v ? v->spec_replicas : -1;
	char *msg;

	if (from == act->replicas)
		return;
	if (patch_rs(a, act->name,
		     json_pack("{s:{s:i}}", "spec", "replicas", act->replicas)))
		return;
	msg = xasprintf("Scaled %s ReplicaSet %s from %d to %d",
			act->replicas > from ? "up" : "down", act->name,
			from < 0 ? 0 : from, act->replicas);
	record(a, "Normal", "ScalingReplicaSet", msg);
	free(msg);
}

static void rs_mark(struct applier *a, const struct rs_action *act)
{
	const struct rs_view *v = find_rs(a->in, act->name);
	char when[32];
	json_t *value;

	if (v && (act->deadline > 0
			  ? fabs(v->scale_down_at - floor(act->deadline)) < 1
			  : v->scale_down_at == 0))
		return;
	if (act->deadline > 0) {
		rfc3339_format(act->deadline, when, sizeof(when));
		value = json_string(when);
	} else {
		value = json_null();
	}
	patch_rs(a, act->name,
		 json_pack("{s:{s:{s:o}}}", "metadata", "annotations",
			   ANN_SCALE_DOWN_DEADLINE, value));
}

static void rs_delete(struct applier *a, const struct rs_action *act)
{
	struct kube_error e = KUBE_ERROR_INIT;
	struct kube_delete_options o = KUBE_DELETE_OPTIONS_INIT;
	const struct rs_view *v = find_rs(a->in, act->name);
	int rc;

	if (v && v->deleting)
		return;
	o.propagation = "Background";
	rc = kube_delete(a->c->client, &KUBE_REPLICASETS, a->in->ro->ns,
			 act->name, &o, &e);
	if (rc == 0)
		LOG_INFOF("deleted old revision", "object=%s replicaset=%s",
			  a->key, act->name);
	else if (rc != ERR_NOTFOUND)
		write_failed(a, "delete-replicaset", act->name, rc, &e);
	kube_error_release(&e);
}

static void apply_rs(struct applier *a, const struct rs_action *act)
{
	switch (act->kind) {
	case RS_CREATE:
		rs_create(a, act);
		break;
	case RS_SCALE:
		rs_scale(a, act);
		break;
	case RS_SCALE_DOWN_AT:
		rs_mark(a, act);
		break;
	case RS_DELETE:
		rs_delete(a, act);
		break;
	}
}

static void apply_svc(struct applier *a, const struct svc_action *act)
{
	const struct svc_view *v = find_svc(a->in, act->name);
	const char *ro_name = a->in->ro->name;
	struct kube_error e = KUBE_ERROR_INIT;
	json_t *patch;
	char *msg;
	int rc;

	if (v && v->selector_hash && strcmp(v->selector_hash, act->hash) == 0 &&
	    v->managed_by && strcmp(v->managed_by, ro_name) == 0)
		return;
	patch = json_pack("{s:{s:{s:s}},s:{s:{s:s}}}", "spec", "selector",
			  LABEL_POD_TEMPLATE_HASH, act->hash, "metadata",
			  "annotations", ANN_MANAGED_BY, ro_name);
	rc = kube_patch(a->c->client, &KUBE_SERVICES, a->in->ro->ns, act->name,
			NULL, KUBE_PATCH_MERGE, patch, NULL, NULL, &e);
	if (rc) {
		write_failed(a, "patch-service", act->name, rc, &e);
	} else if (!v || !v->selector_hash ||
		   strcmp(v->selector_hash, act->hash)) {
		msg = xasprintf("Service %s now selects revision %s", act->name,
				act->hash);
		record(a, "Normal", "ServiceSwitched", msg);
		free(msg);
	}
	kube_error_release(&e);
	json_decref(patch);
}

/* Candidate pods for a restart, oldest first. */
struct old_pod {
	double created;
	const char *name;
};

static int by_created(const void *x, const void *y)
{
	const struct old_pod *a = x, *b = y;

	return (a->created > b->created) - (a->created < b->created);
}

static bool owned_by(json_t *pod, const char *rs)
{
	json_t *refs = json_object_get(json_object_get(pod, "metadata"),
				       "ownerReferences");
	json_t *ref;
	size_t i;

	json_array_foreach(refs, i, ref)
	{
		if (json_is_true(json_object_get(ref, "controller")))
			return json_string_value(
				       json_object_get(ref, "name")) &&
			       strcmp(json_string_value(
					      json_object_get(ref, "name")),
				      rs) == 0;
	}
	return false;
}

static bool pod_ready(json_t *pod)
{
	json_t *conds = json_object_get(json_object_get(pod, "status"),
					"conditions"),
	       *cond;
	size_t i;

	json_array_foreach(conds, i, cond)
	{
		const char *type =
			json_string_value(json_object_get(cond, "type"));
		const char *st =
			json_string_value(json_object_get(cond, "status"));

		if (type && strcmp(type, "Ready") == 0)
			return st && strcmp(st, "True") == 0;
	}
	return false;
}

/*
 * The pods of the restarting revision created before restartAt, oldest
 * first, and in *busy how many of its pods are terminating or not Ready
 * right now. The pod list is fresher than the ReplicaSet status the plan
 * saw, so a deletion a moment ago counts against this round's budget.
 */
static size_t collect_old_pods(json_t *pods, const struct plan *p,
			       struct old_pod **out, int *busy)
{
	json_t *items = json_object_get(pods, "items"), *pod;
	struct old_pod *v = xcalloc(json_array_size(items) + 1, sizeof(*v));
	size_t i, n = 0;
	double created;

	*busy = 0;
	json_array_foreach(items, i, pod)
	{
		json_t *meta = json_object_get(pod, "metadata");

		if (!owned_by(pod, p->restart_rs))
			continue;
		if (json_object_get(meta, "deletionTimestamp") ||
		    !pod_ready(pod)) {
			(*busy)++;
			continue;
		}
		if (rfc3339_parse(json_string_value(json_object_get(
					  meta, "creationTimestamp")),
				  &created) ||
		    created >= p->restart_before)
			continue;
		v[n].created = created;
		v[n].name = json_string_value(json_object_get(meta, "name"));
		if (v[n].name)
			n++;
	}
	qsort(v, n, sizeof(*v), by_created);
	*out = v;
	return n;
}

static void restart_pods(struct applier *a, const struct plan *p)
{
	const struct rs_view *rs = find_rs(a->in, p->restart_rs);
	json_t *pods = a->in->pods ? json_incref(a->in->pods) : NULL;
	struct old_pod *old = NULL;
	int busy = 0;
	size_t n;

	if (!pods && rs && rs->hash)
		pods = list_revision_pods(a->c, a->in->ro->ns, rs->hash);
	if (!pods) {
		a->failed = true;
		return;
	}
	n = collect_old_pods(pods, p, &old, &busy);
	for (size_t i = 0; i < n && (int)i < p->restart_max - busy; i++) {
		struct kube_error e = KUBE_ERROR_INIT;
		int rc = kube_delete(a->c->client, &KUBE_PODS, a->in->ro->ns,
				     old[i].name, NULL, &e);

		if (rc == 0)
			LOG_INFOF("restarted pod", "object=%s pod=%s", a->key,
				  old[i].name);
		else if (rc != ERR_NOTFOUND)
			write_failed(a, "delete-pod", old[i].name, rc, &e);
		kube_error_release(&e);
	}
	free(old);
	json_decref(pods);
}

static void applier_init(struct applier *a, struct controller *c,
			 const struct apply_input *in)
{
	memset(a, 0, sizeof(*a));
	a->c = c;
	a->in = in;
	a->api_version = xasprintf("%s/%s", ROLLOUT_GROUP, ROLLOUT_VERSION);
	a->key = xasprintf("%s/%s", in->ro->ns, in->ro->name);
	a->ref.api_version = a->api_version;
	a->ref.kind = ROLLOUT_KIND;
	a->ref.ns = in->ro->ns;
	a->ref.name = in->ro->name;
	a->ref.uid = in->ro->uid;
	a->ref.resource_version = in->ro->resource_version;
}

enum reconcile_result apply_plan(struct controller *c,
				 const struct apply_input *in,
				 const struct plan *p)
{
	enum reconcile_result r = RECONCILE_SUCCESS;
	struct applier a;

	applier_init(&a, c, in);
	if (p->status_changed) {
		int rc = put_status(&a, p);

		/* gone: nothing left to do; the GC removes its objects */
		if (rc) {
			r = rc == ERR_CONFLICT	 ? RECONCILE_CONFLICT
			    : rc == ERR_NOTFOUND ? RECONCILE_SUCCESS
						 : RECONCILE_ERROR;
			goto out;
		}
	}
	for (size_t i = 0; i < p->n_rs; i++)
		apply_rs(&a, &p->rs[i]);
	for (size_t i = 0; i < p->n_svc; i++)
		apply_svc(&a, &p->svc[i]);
	if (p->n_runs && !runs_apply(c, in, p, &a.ref))
		a.failed = true;
	if (p->restart_rs && p->restart_max > 0)
		restart_pods(&a, p);
	for (size_t i = 0; i < p->n_events; i++)
		record(&a, p->events[i].type, p->events[i].reason,
		       p->events[i].message);
	r = a.failed ? RECONCILE_ERROR : RECONCILE_SUCCESS;
out:
	free(a.api_version);
	free(a.key);
	return r;
}

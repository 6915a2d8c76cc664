/*
 * sim_endpoints: the endpoints and EndpointSlice controllers. For every
 * Service with a selector, the Endpoints object of the same name lists the
 * selected pods that have an IP and are not finished or being deleted -
 * ready ones under `addresses`, the others under `notReadyAddresses` - and
 * one EndpointSlice (owned by the Service, so the garbage collector removes
 * it with the Service) lists the same pods with their ready, serving and
 * terminating conditions. Target ports named by string are looked up in
 * each pod's container ports; a pod without that port is left out of it.
 * Objects are written only when their content changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/sim_internal.h"
#include "util/alloc.h"
#include "util/log.h"

/* The container port of `pod` named `name`, or 0. */
static json_int_t named_port(const json_t *pod, const char *name)
{
	size_t i, j;
	json_t *c, *p;

	json_array_foreach(
		json_object_get(json_object_get(pod, "spec"), "containers"), i,
		c)
	{
		json_array_foreach(json_object_get(c, "ports"), j, p)
		{
			const char *n =
				json_string_value(json_object_get(p, "name"));

			if (n && strcmp(n, name) == 0)
				return json_integer_value(
					json_object_get(p, "containerPort"));
		}
	}
	return 0;
}

/* The Service's ports resolved for one pod (EndpointPort list). */
static json_t *pod_ports(const json_t *svc, const json_t *pod)
{
	json_t *out = json_array();
	size_t i;
	json_t *sp;

	json_array_foreach(
		json_object_get(json_object_get(svc, "spec"), "ports"), i, sp)
	{
		json_t *target = json_object_get(sp, "targetPort");
		json_int_t port = json_is_integer(target)
					  ? json_integer_value(target)
					  : 0;
		const char *name =
			json_string_value(json_object_get(sp, "name"));
		const char *proto =
			json_string_value(json_object_get(sp, "protocol"));
		json_t *ep;

		if (json_is_string(target))
			port = named_port(pod, json_string_value(target));
		if (!target)
			port = json_integer_value(json_object_get(sp, "port"));
		if (port <= 0)
			continue;
		ep = json_pack("{s:I,s:s}", "port", port, "protocol",
			       proto ? proto : "TCP");
		if (name && *name)
			json_object_set_new(ep, "name", json_string(name));
		json_array_append_new(out, ep);
	}
	return out;
}

static json_t *target_ref(const struct sim_pod *p)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace", p->ns,
			 "name", p->name, "uid", p->uid ? p->uid : "");
}

static int by_ip(const void *a, const void *b)
{
	const struct sim_pod *x = *(struct sim_pod *const *)a;
	const struct sim_pod *y = *(struct sim_pod *const *)b;

	return strcmp(x->ip, y->ip);
}

/*
 * The pods that belong in the Service's endpoints, sorted by IP; with
 * `terminating`, also those being deleted that have not finished (slices
 * list them as terminating).
 */
static size_t endpoint_pods(struct sim_service *v, bool terminating,
			    struct sim_pod ***out)
{
	struct sim_pod **list = xmalloc((v->pods.size + 1) * sizeof(*list));
	size_t n = 0;
	const char *k;
	void *val;

	for (size_t it = 0; hashmap_next(&v->pods, &it, &k, &val);) {
		struct sim_pod *p = val;

		if (p->ip && (pod_is_active(p) ||
			      (terminating && p->phase != PHASE_SUCCEEDED &&
			       p->phase != PHASE_FAILED)))
			list[n++] = p;
	}
	qsort(list, n, sizeof(*list), by_ip);
	*out = list;
	return n;
}

/* ---- Endpoints ---- */

static json_t *address(const struct sim_pod *p)
{
	json_t *a =
		json_pack("{s:s,s:o}", "ip", p->ip, "targetRef", target_ref(p));

	if (p->node)
		json_object_set_new(a, "nodeName", json_string(p->node));
	return a;
}

/* Whether any target port is a name, which needs each pod's spec. */
static bool named_target_ports(const json_t *svc)
{
	size_t i;
	json_t *sp;

	json_array_foreach(
		json_object_get(json_object_get(svc, "spec"), "ports"), i, sp)
	{
		if (json_is_string(json_object_get(sp, "targetPort")))
			return true;
	}
	return false;
}

/* Groups the pods into subsets by their resolved port lists. */
static json_t *subsets(struct sim *s, struct sim_service *v,
		       struct sim_pod **pods, size_t n, bool publish_not_ready)
{
	json_t *out = json_array();
	bool named = named_target_ports(v->svc);

	for (size_t i = 0; i < n; i++) {
		json_t *pod = named ? sim_get(s, "", "pods", pods[i]->ns,
					      pods[i]->name)
				    : NULL;
		json_t *ports = pod_ports(v->svc, pod);
		const char *list = pods[i]->ready || publish_not_ready
					   ? "addresses"
					   : "notReadyAddresses";
		json_t *subset = NULL, *sub;
		size_t j;

		json_array_foreach(out, j, sub)
		{
			if (json_equal(json_object_get(sub, "ports"), ports))
				subset = sub;
		}
		if (!subset) {
			subset = json_pack("{s:O}", "ports", ports);
			json_array_append_new(out, subset);
		}
		if (!json_object_get(subset, list))
			json_object_set_new(subset, list, json_array());
		json_array_append_new(json_object_get(subset, list),
				      address(pods[i]));
		json_decref(ports);
		json_decref(pod);
	}
	return out;
}

static json_t *service_labels(const struct sim_service *v)
{
	json_t *l =
		json_object_get(json_object_get(v->svc, "metadata"), "labels");

	return json_is_object(l) ? json_deep_copy(l) : json_object();
}

static void write_endpoints(struct sim *s, struct sim_service *v, json_t *subs)
{
	json_t *cur = sim_get(s, "", "endpoints", v->ns, v->name);
	json_t *labels = service_labels(v);
	char *path;
	json_t *ep;

	if (cur && json_equal(json_object_get(cur, "subsets"), subs) &&
	    json_equal(
		    json_object_get(json_object_get(cur, "metadata"), "labels")
			    ?: labels,
		    labels)) {
		json_decref(cur);
		json_decref(labels);
		json_decref(subs);
		return;
	}
	ep = cur ? cur
		 : json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1",
			     "kind", "Endpoints", "metadata", "name", v->name,
			     "namespace", v->ns);
	json_object_set_new(json_object_get(ep, "metadata"), "labels", labels);
	if (json_array_size(subs))
		json_object_set_new(ep, "subsets", subs);
	else {
		json_object_del(ep, "subsets");
		json_decref(subs);
	}
	path = cur ? xasprintf("/api/v1/namespaces/%s/endpoints/%s", v->ns,
			       v->name)
		   : xasprintf("/api/v1/namespaces/%s/endpoints", v->ns);
	sim_call(s, cur ? HTTP_PUT : HTTP_POST, path, ep, AGENT_CONTROLLERS,
		 NULL);
	free(path);
	json_decref(ep);
}

void endpoints_forget(struct sim *s, const char *ns, const char *name)
{
	char *path = xasprintf("/api/v1/namespaces/%s/endpoints/%s", ns, name);

	sim_call(s, HTTP_DELETE, path, NULL, AGENT_CONTROLLERS, NULL);
	free(path);
}

/* ---- EndpointSlices ---- */

static json_t *slice_endpoints(struct sim_pod **pods, size_t n)
{
	json_t *out = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *e = json_pack(
			"{s:[s],s:{s:b,s:b,s:b},s:o}", "addresses", pods[i]->ip,
			"conditions", "ready",
			pods[i]->ready && !pods[i]->deleting, "serving",
			pods[i]->ready, "terminating", pods[i]->deleting,
			"targetRef", target_ref(pods[i]));

		if (pods[i]->node)
			json_object_set_new(e, "nodeName",
					    json_string(pods[i]->node));
		json_array_append_new(out, e);
	}
	return out;
}

/* Slice ports: the Service's ports as resolved for the first pod. */
static json_t *slice_ports(struct sim *s, struct sim_service *v,
			   struct sim_pod **pods, size_t n)
{
	json_t *pod =
		n ? sim_get(s, "", "pods", pods[0]->ns, pods[0]->name) : NULL;
	json_t *ports = pod_ports(v->svc, pod);
	size_t i;
	json_t *p;

	json_array_foreach(ports, i, p)
	{
		if (!json_object_get(p, "name"))
			json_object_set_new(p, "name", json_string(""));
	}
	json_decref(pod);
	return ports;
}

static json_t *new_slice(const struct sim_service *v)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%.57s-", v->name);
	return json_pack(
		"{s:s,s:s,s:{s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},s:s}",
		"apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice",
		"metadata", "generateName", prefix, "namespace", v->ns,
		"ownerReferences", "apiVersion", "v1", "kind", "Service",
		"name", v->name, "uid", v->uid, "controller", 1,
		"blockOwnerDeletion", 1, "addressType", "IPv4");
}

static void write_slice(struct sim *s, struct sim_service *v, json_t *eps,
			json_t *ports)
{
	json_t *cur = v->slice ? sim_get(s, "discovery.k8s.io",
					 "endpointslices", v->ns, v->slice)
			       : NULL;
	json_t *labels = service_labels(v);
	json_t *slice;
	char *path;

	json_object_set_new(labels, "kubernetes.io/service-name",
			    json_string(v->name));
	json_object_set_new(labels, SLICE_MANAGED_BY,
			    json_string(SLICE_MANAGER));
	if (cur && json_equal(json_object_get(cur, "endpoints"), eps) &&
	    json_equal(json_object_get(cur, "ports"), ports) &&
	    json_equal(
		    json_object_get(json_object_get(cur, "metadata"), "labels"),
		    labels)) {
		json_decref(cur);
		json_decref(labels);
		json_decref(eps);
		json_decref(ports);
		return;
	}
	slice = cur ? cur : new_slice(v);
	json_object_set_new(json_object_get(slice, "metadata"), "labels",
			    labels);
	json_object_set_new(slice, "endpoints", eps);
	json_object_set_new(slice, "ports", ports);
	path = cur ? xasprintf("/apis/discovery.k8s.io/v1/namespaces/%s/"
			       "endpointslices/%s",
			       v->ns, v->slice)
		   : xasprintf("/apis/discovery.k8s.io/v1/namespaces/%s/"
			       "endpointslices",
			       v->ns);
	sim_call(s, cur ? HTTP_PUT : HTTP_POST, path, slice, AGENT_CONTROLLERS,
		 NULL);
	free(path);
	json_decref(slice);
}

/*
 * A Service without a known slice looks for the managed slices that claim
 * it, in the namespace's slice index: it takes one it owns and has the
 * others (left from an earlier Service of the same name, say) deleted.
 */
static void find_slices(struct sim *s, struct sim_service *v)
{
	struct sim_ns *n = sim_ns_get(s, v->ns, true);
	const char *name;
	void *val;
	char key[512];

	for (size_t i = 0; hashmap_next(&n->slices, &i, &name, &val);) {
		struct slice_ref *r = val;

		if (strcmp(r->service, v->name) != 0)
			continue;
		if (!v->slice && strcmp(r->owner, v->uid) == 0) {
			v->slice = xstrdup(name);
		} else {
			snprintf(key, sizeof(key), "%s/%s", v->ns, name);
			hashmap_put(&s->stale_slices, key, (void *)1);
		}
	}
}

void endpoints_reconcile(struct sim *s, const char *key)
{
	char *ns = sim_key_split(key, NULL);
	struct sim_ns *n = sim_ns_get(s, ns, false);
	struct sim_service *v = n ? hashmap_get(&n->services, key) : NULL;
	struct sim_pod **pods = NULL;
	size_t count;
	bool publish;

	if (!v || !v->sel)
		goto out;
	publish = json_is_true(json_object_get(json_object_get(v->svc, "spec"),
					       "publishNotReadyAddresses"));
	if (!v->slice)
		find_slices(s, v);
	count = endpoint_pods(v, false, &pods);
	write_endpoints(s, v, subsets(s, v, pods, count, publish));
	free(pods);
	count = endpoint_pods(v, true, &pods);
	write_slice(s, v, slice_endpoints(pods, count),
		    slice_ports(s, v, pods, count));
out:
	free(pods);
	free(ns);
}

/*
 * discovery: the API discovery documents (aggregated apidiscovery.k8s.io/v2
 * and the legacy /api, /apis, /api/v1, /apis/G/V forms) and the OpenAPI v3
 * index and per-group-version documents, all computed from the registry on
 * each request so a new CRD is discoverable at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/api_internal.h"
#include "devcluster/openapi.h"
#include "devcluster/status.h"
#include "util/alloc.h"

#define AGGREGATED_TYPE \
	"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

static const char *const all_verbs[] = {"create", "delete", "deletecollection",
					"get",	  "list",   "patch",
					"update", "watch",  NULL};

static json_t *verbs_json(void)
{
	json_t *a = json_array();

	for (int i = 0; all_verbs[i]; i++)
		json_array_append_new(a, json_string(all_verbs[i]));
	return a;
}

static json_t *gvk(const struct resource_type *t, const char *group,
		   const char *version, const char *kind)
{
	(void)t;
	return json_pack("{s:s,s:s,s:s}", "group", group, "version", version,
			 "kind", kind);
}

static json_t *aggregated_resource(const struct resource_type *t)
{
	json_t *r = json_object();
	json_t *subs = json_array();

	json_object_set_new(r, "resource", json_string(t->resource));
	json_object_set_new(r, "responseKind",
			    gvk(t, t->group, t->version, t->kind));
	json_object_set_new(
		r, "scope",
		json_string(t->namespaced ? "Namespaced" : "Cluster"));
	json_object_set_new(r, "singularResource", json_string(t->singular));
	json_object_set_new(r, "verbs", verbs_json());
	if (json_array_size(t->short_names))
		json_object_set(r, "shortNames", t->short_names);
	if (json_array_size(t->categories))
		json_object_set(r, "categories", t->categories);
	if (t->has_status)
		json_array_append_new(
			subs, json_pack("{s:s,s:o,s:[sss]}", "subresource",
					"status", "responseKind",
					gvk(t, t->group, t->version, t->kind),
					"verbs", "get", "patch", "update"));
	if (t->has_scale)
		json_array_append_new(
			subs, json_pack("{s:s,s:o,s:[sss]}", "subresource",
					"scale", "responseKind",
					gvk(t, "autoscaling", "v1", "Scale"),
					"verbs", "get", "patch", "update"));
	if (json_array_size(subs))
		json_object_set_new(r, "subresources", subs);
	else
		json_decref(subs);
	return r;
}

/* Finds or adds the entry for `key` in an array of objects by "name". */
static json_t *entry_for(json_t *arr, const char *field, const char *key,
			 json_t *(*make)(const char *key))
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, field)) ?: "",
			   key) == 0)
			return e;
	}
	e = make(key);
	json_array_append_new(arr, e);
	return e;
}

static json_t *make_version(const char *v)
{
	return json_pack("{s:s,s:[],s:s}", "version", v, "resources",
			 "freshness", "Current");
}

static json_t *make_group_item(const char *g)
{
	json_t *item = json_pack("{s:{},s:[]}", "metadata", "versions");

	if (*g)
		json_object_set_new(json_object_get(item, "metadata"), "name",
				    json_string(g));
	json_object_set_new(item, "_group", json_string(g));
	return item;
}

static json_t *aggregated(struct devcluster *dc, bool core)
{
	json_t *items = json_array();
	size_t i;
	json_t *item;

	for (size_t k = 0; k < dc->reg.n; k++) {
		struct resource_type *t = dc->reg.types[k];

		if ((*t->group == '\0') != core)
			continue;
		item = entry_for(items, "_group", t->group, make_group_item);
		json_t *ver = entry_for(json_object_get(item, "versions"),
					"version", t->version, make_version);
		json_array_append_new(json_object_get(ver, "resources"),
				      aggregated_resource(t));
	}
	json_array_foreach(items, i, item) json_object_del(item, "_group");
	return json_pack("{s:s,s:s,s:{},s:o}", "kind", "APIGroupDiscoveryList",
			 "apiVersion", "apidiscovery.k8s.io/v2", "metadata",
			 "items", items);
}

static json_t *legacy_groups(struct devcluster *dc)
{
	json_t *groups = json_array();
	size_t i;
	json_t *g;

	for (size_t k = 0; k < dc->reg.n; k++) {
		struct resource_type *t = dc->reg.types[k];
		char gv[256];

		if (!*t->group)
			continue;
		g = entry_for(groups, "name", t->group, make_group_item);
		json_object_set_new(g, "name", json_string(t->group));
		snprintf(gv, sizeof(gv), "%s/%s", t->group, t->version);
		json_t *vers = json_object_get(g, "versions");
		bool seen = false;
		size_t j;
		json_t *v;

		json_array_foreach(vers, j, v) seen |=
			strcmp(json_string_value(json_object_get(v, "version")),
			       t->version) == 0;
		if (!seen)
			json_array_append_new(
				vers, json_pack("{s:s,s:s}", "groupVersion", gv,
						"version", t->version));
		if (!json_object_get(g, "preferredVersion") ||
		    t->storage_version)
			json_object_set_new(g, "preferredVersion",
					    json_pack("{s:s,s:s}",
						      "groupVersion", gv,
						      "version", t->version));
	}
	json_array_foreach(groups, i, g)
	{
		json_object_del(g, "_group");
		json_object_del(g, "metadata");
	}
	return groups;
}

static json_t *resource_list(struct devcluster *dc, const char *group,
			     const char *version)
{
	json_t *res = json_array();
	char gv[256];

	for (size_t k = 0; k < dc->reg.n; k++) {
		struct resource_type *t = dc->reg.types[k];
		json_t *r;
		char sub[256];

		if (strcmp(t->group, group) != 0 ||
		    strcmp(t->version, version) != 0)
			continue;
		r = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", t->resource,
			      "singularName", t->singular, "namespaced",
			      t->namespaced, "kind", t->kind, "verbs",
			      verbs_json());
		if (json_array_size(t->short_names))
			json_object_set(r, "shortNames", t->short_names);
		if (json_array_size(t->categories))
			json_object_set(r, "categories", t->categories);
		json_array_append_new(res, r);
		if (t->has_status) {
			snprintf(sub, sizeof(sub), "%s/status", t->resource);
			json_array_append_new(
				res,
				json_pack("{s:s,s:s,s:b,s:s,s:[sss]}", "name",
					  sub, "singularName", "", "namespaced",
					  t->namespaced, "kind", t->kind,
					  "verbs", "get", "patch", "update"));
		}
		if (t->has_scale) {
			snprintf(sub, sizeof(sub), "%s/scale", t->resource);
			json_array_append_new(
				res,
				json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:[sss]}",
					  "name", sub, "singularName", "",
					  "namespaced", t->namespaced, "group",
					  "autoscaling", "version", "v1",
					  "kind", "Scale", "verbs", "get",
					  "patch", "update"));
		}
	}
	if (json_array_size(res) == 0) {
		json_decref(res);
		return NULL;
	}
	if (*group)
		snprintf(gv, sizeof(gv), "%s/%s", group, version);
	else
		snprintf(gv, sizeof(gv), "%s", version);
	return json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList",
			 "apiVersion", "v1", "groupVersion", gv, "resources",
			 res);
}

static bool wants_aggregated(const struct api_request *req)
{
	return req->accept && strstr(req->accept, "as=APIGroupDiscoveryList") &&
	       strstr(req->accept, "v=v2;") != NULL;
}

/* Fills an openapi_resource array for one group-version. */
static size_t openapi_resources(struct devcluster *dc, const char *group,
				const char *version,
				struct openapi_resource *out, size_t max)
{
	size_t n = 0;

	for (size_t k = 0; k < dc->reg.n && n < max; k++) {
		struct resource_type *t = dc->reg.types[k];

		if (strcmp(t->group, group) != 0 ||
		    strcmp(t->version, version) != 0)
			continue;
		out[n].group = t->group;
		out[n].version = t->version;
		out[n].resource = t->resource;
		out[n].kind = t->kind;
		out[n].list_kind = t->list_kind;
		out[n].namespaced = t->namespaced;
		out[n].has_status = t->has_status;
		out[n].has_scale = t->has_scale;
		out[n].is_custom = t->is_custom;
		out[n].schema = t->schema;
		n++;
	}
	return n;
}

static json_t *gv_doc(struct devcluster *dc, const char *group,
		      const char *version)
{
	struct openapi_resource res[64];
	size_t n = openapi_resources(dc, group, version, res, 64);

	return n ? openapi_group_version_doc(res, n) : NULL;
}

static json_t *openapi_index(struct devcluster *dc)
{
	json_t *paths = json_object();

	for (size_t k = 0; k < dc->reg.n; k++) {
		struct resource_type *t = dc->reg.types[k];
		char *key = openapi_gv_path(t->group, t->version);

		if (!json_object_get(paths, key)) {
			json_t *doc = gv_doc(dc, t->group, t->version);
			char *hash = doc ? openapi_doc_hash(doc) : NULL;
			char *url = xasprintf("/openapi/v3/%s?hash=%s", key,
					      hash ? hash : "0");

			json_object_set_new(
				paths, key,
				json_pack("{s:s}", "serverRelativeURL", url));
			free(url);
			free(hash);
			json_decref(doc);
		}
		free(key);
	}
	return json_pack("{s:o}", "paths", paths);
}

static void handle_openapi(struct devcluster *dc, const char **segs, size_t n,
			   struct api_response *resp)
{
	json_t *doc = NULL;

	if (n == 2) {
		api_respond_json(resp, 200, openapi_index(dc), NULL);
		return;
	}
	if (n == 4 && strcmp(segs[2], "api") == 0)
		doc = gv_doc(dc, "", segs[3]);
	else if (n == 5 && strcmp(segs[2], "apis") == 0)
		doc = gv_doc(dc, segs[3], segs[4]);
	if (!doc) {
		api_respond_status(resp, status_path_not_found());
		return;
	}
	api_respond_json(resp, 200, doc, NULL);
}

void api_handle_discovery(struct devcluster *dc, const struct api_request *req,
			  const char **segs, size_t n,
			  struct api_response *resp)
{
	json_t *doc = NULL;

	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		api_respond_status(resp, status_method_not_allowed());
		return;
	}
	if (n >= 2 && strcmp(segs[0], "openapi") == 0 &&
	    strcmp(segs[1], "v3") == 0) {
		handle_openapi(dc, segs, n, resp);
		return;
	}
	if (n == 1 && strcmp(segs[0], "api") == 0) {
		if (wants_aggregated(req)) {
			api_respond_json(resp, 200, aggregated(dc, true),
					 AGGREGATED_TYPE);
			return;
		}
		doc = json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind",
				"APIVersions", "versions", "v1",
				"serverAddressByClientCIDRs", "clientCIDR",
				"0.0.0.0/0", "serverAddress", "127.0.0.1");
	} else if (n == 1 && strcmp(segs[0], "apis") == 0) {
		if (wants_aggregated(req)) {
			api_respond_json(resp, 200, aggregated(dc, false),
					 AGGREGATED_TYPE);
			return;
		}
		doc = json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList",
				"apiVersion", "v1", "groups",
				legacy_groups(dc));
	} else if (n == 2 && strcmp(segs[0], "api") == 0) {
		doc = resource_list(dc, "", segs[1]);
	} else if (n == 3 && strcmp(segs[0], "apis") == 0) {
		doc = resource_list(dc, segs[1], segs[2]);
	} else if (n == 2 && strcmp(segs[0], "apis") == 0) {
		json_t *groups = legacy_groups(dc);
		size_t i;
		json_t *g;

		json_array_foreach(groups, i, g) if (
			strcmp(json_string_value(json_object_get(g, "name")),
			       segs[1]) == 0) doc = json_incref(g);
		json_decref(groups);
		if (doc) {
			json_object_set_new(doc, "kind",
					    json_string("APIGroup"));
			json_object_set_new(doc, "apiVersion",
					    json_string("v1"));
		}
	}
	if (!doc) {
		api_respond_status(resp, status_path_not_found());
		return;
	}
	api_respond_json(resp, 200, doc, NULL);
}

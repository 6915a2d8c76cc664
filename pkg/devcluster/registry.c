/*
 * registry: the table of built-in resources and the CRD-driven types
 * (see registry.h).
 */
#include "devcluster/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

struct builtin {
	const char *group, *version, *resource, *singular, *kind;
	bool namespaced, status, scale;
	const char *short_names; /* comma-separated */
	const char *categories;	 /* comma-separated */
	enum resource_view view;
};

static const struct builtin builtins[] = {
	{"", "v1", "namespaces", "namespace", "Namespace", false, true, false,
	 "ns", "", VIEW_PLAIN},
	{"", "v1", "pods", "pod", "Pod", true, true, false, "po", "all",
	 VIEW_PLAIN},
	{"", "v1", "services", "service", "Service", true, true, false, "svc",
	 "all", VIEW_PLAIN},
	{"", "v1", "endpoints", "endpoints", "Endpoints", true, false, false,
	 "ep", "", VIEW_PLAIN},
	{"", "v1", "nodes", "node", "Node", false, true, false, "no", "",
	 VIEW_PLAIN},
	{"discovery.k8s.io", "v1", "endpointslices", "endpointslice",
	 "EndpointSlice", true, false, false, "", "", VIEW_PLAIN},
	{"", "v1", "configmaps", "configmap", "ConfigMap", true, false, false,
	 "cm", "", VIEW_PLAIN},
	{"", "v1", "secrets", "secret", "Secret", true, false, false, "", "",
	 VIEW_PLAIN},
	{"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true,
	 false, false, "sa", "", VIEW_PLAIN},
	{"", "v1", "events", "event", "Event", true, false, false, "ev", "",
	 VIEW_PLAIN},
	{"events.k8s.io", "v1", "events", "event", "Event", true, false, false,
	 "ev", "", VIEW_EVENTS_V1},
	{"apps", "v1", "deployments", "deployment", "Deployment", true, true,
	 true, "deploy", "all", VIEW_PLAIN},
	{"apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, true,
	 true, "rs", "all", VIEW_PLAIN},
	{"batch", "v1", "jobs", "job", "Job", true, true, false, "", "all",
	 VIEW_PLAIN},
	{"coordination.k8s.io", "v1", "leases", "lease", "Lease", true, false,
	 false, "", "", VIEW_PLAIN},
	{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
	 "customresourcedefinition", "CustomResourceDefinition", false, true,
	 false, "crd,crds", "api-extensions", VIEW_PLAIN},
};

void registry_init(struct registry *r)
{
	r->types = NULL;
	r->n = 0;
	r->generation = 1;
}

static void type_free(struct resource_type *t)
{
	free(t->group);
	free(t->version);
	free(t->resource);
	free(t->singular);
	free(t->kind);
	free(t->list_kind);
	free(t->scale_spec_path);
	free(t->scale_status_path);
	free(t->scale_selector_path);
	json_decref(t->schema);
	json_decref(t->printer_columns);
	json_decref(t->short_names);
	json_decref(t->categories);
	json_decref(t->selectable_fields);
	free(t->crd_name);
	free(t);
}

void registry_release(struct registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		type_free(r->types[i]);
	free(r->types);
	registry_init(r);
}

static void add_type(struct registry *r, struct resource_type *t)
{
	r->types = xrealloc(r->types, (r->n + 1) * sizeof(*r->types));
	r->types[r->n++] = t;
	r->generation++;
}

static json_t *split_list(const char *csv)
{
	json_t *arr = json_array();
	const char *p = csv;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		json_array_append_new(arr, json_stringn(p, len));
		p = comma ? comma + 1 : NULL;
	}
	return arr;
}

void registry_add_builtins(struct registry *r, struct store *s)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		const struct builtin *b = &builtins[i];
		struct resource_type *t = xcalloc(1, sizeof(*t));

		t->group = xstrdup(b->group);
		t->version = xstrdup(b->version);
		t->resource = xstrdup(b->resource);
		t->singular = xstrdup(b->singular);
		t->kind = xstrdup(b->kind);
		t->list_kind = xasprintf("%sList", b->kind);
		t->namespaced = b->namespaced;
		t->has_status = b->status;
		t->has_scale = b->scale;
		t->storage_version = true;
		t->short_names = split_list(b->short_names);
		t->categories = split_list(b->categories);
		t->view = b->view;
		if (b->scale) {
			t->scale_spec_path = xstrdup(".spec.replicas");
			t->scale_status_path = xstrdup(".status.replicas");
			t->scale_selector_path = xstrdup(".status.selector");
		}
		/* both Event views share the core/v1 storage */
		t->coll = store_collection(
			s, b->view == VIEW_EVENTS_V1 ? "" : b->group,
			b->resource, b->namespaced);
		add_type(r, t);
	}
}

struct resource_type *registry_find(const struct registry *r, const char *group,
				    const char *version, const char *resource)
{
	for (size_t i = 0; i < r->n; i++) {
		struct resource_type *t = r->types[i];

		if (strcmp(t->group, group) == 0 &&
		    strcmp(t->version, version) == 0 &&
		    strcmp(t->resource, resource) == 0)
			return t;
	}
	return NULL;
}

struct resource_type *registry_find_kind(const struct registry *r,
					 const char *group, const char *version,
					 const char *kind)
{
	for (size_t i = 0; i < r->n; i++) {
		struct resource_type *t = r->types[i];

		if (strcmp(t->group, group) == 0 &&
		    strcmp(t->version, version) == 0 &&
		    strcmp(t->kind, kind) == 0)
			return t;
	}
	return NULL;
}

struct resource_type *registry_find_group_kind(const struct registry *r,
					       const char *group,
					       const char *kind)
{
	for (size_t i = 0; i < r->n; i++) {
		struct resource_type *t = r->types[i];

		if (strcmp(t->group, group) == 0 && strcmp(t->kind, kind) == 0)
			return t;
	}
	return NULL;
}

void registry_remove_crd(struct registry *r, const char *crd_name)
{
	size_t j = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct resource_type *t = r->types[i];

		if (t->crd_name && strcmp(t->crd_name, crd_name) == 0)
			type_free(t);
		else
			r->types[j++] = t;
	}
	if (j != r->n)
		r->generation++;
	r->n = j;
}

static const char *str_at(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *copy_or_empty(json_t *v)
{
	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

static void set_scale_paths(struct resource_type *t, const json_t *subres)
{
	json_t *scale = json_object_get(subres, "scale");

	if (!json_is_object(scale))
		return;
	t->has_scale = true;
	t->scale_spec_path =
		xstrdup(str_at(scale, "specReplicasPath") ?: ".spec.replicas");
	t->scale_status_path = xstrdup(str_at(scale, "statusReplicasPath")
					       ?: ".status.replicas");
	if (str_at(scale, "labelSelectorPath"))
		t->scale_selector_path =
			xstrdup(str_at(scale, "labelSelectorPath"));
}

static struct resource_type *type_from_version(const json_t *crd,
					       const json_t *spec,
					       const json_t *names,
					       const json_t *ver)
{
	struct resource_type *t = xcalloc(1, sizeof(*t));
	json_t *subres = json_object_get(ver, "subresources");
	json_t *schema = json_object_get(json_object_get(ver, "schema"),
					 "openAPIV3Schema");
	json_t *cols = json_object_get(ver, "additionalPrinterColumns");
	json_t *sel = json_object_get(ver, "selectableFields");

	t->group = xstrdup(str_at(spec, "group"));
	t->version = xstrdup(str_at(ver, "name"));
	t->resource = xstrdup(str_at(names, "plural"));
	t->kind = xstrdup(str_at(names, "kind"));
	t->singular = xstrdup(str_at(names, "singular") ?: "");
	if (!*t->singular) {
		free(t->singular);
		t->singular = xstrdup(t->kind);
		for (char *p = t->singular; *p; p++)
			*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	}
	t->list_kind = str_at(names, "listKind")
			       ? xstrdup(str_at(names, "listKind"))
			       : xasprintf("%sList", t->kind);
	t->namespaced = !str_at(spec, "scope") ||
			strcmp(str_at(spec, "scope"), "Namespaced") == 0;
	t->has_status = json_is_object(json_object_get(subres, "status"));
	set_scale_paths(t, subres);
	t->is_custom = true;
	t->storage_version = json_is_true(json_object_get(ver, "storage"));
	t->schema = json_is_object(schema) ? json_deep_copy(schema) : NULL;
	t->printer_columns = json_is_array(cols) ? json_deep_copy(cols) : NULL;
	t->selectable_fields = json_is_array(sel) ? json_deep_copy(sel) : NULL;
	t->short_names = copy_or_empty(json_object_get(names, "shortNames"));
	t->categories = copy_or_empty(json_object_get(names, "categories"));
	t->crd_name =
		xstrdup(str_at(json_object_get(crd, "metadata"), "name") ?: "");
	return t;
}

int registry_sync_crd(struct registry *r, struct store *s, const json_t *crd)
{
	json_t *spec = json_object_get(crd, "spec");
	json_t *names = json_object_get(spec, "names");
	json_t *versions = json_object_get(spec, "versions");
	const char *name = str_at(json_object_get(crd, "metadata"), "name");
	size_t i;
	json_t *ver;
	struct collection *coll;

	if (!name || !str_at(spec, "group") || !str_at(names, "plural") ||
	    !str_at(names, "kind") || !json_is_array(versions))
		return ERR_INVAL;
	registry_remove_crd(r, name);
	coll = store_collection(
		s, str_at(spec, "group"), str_at(names, "plural"),
		!str_at(spec, "scope") ||
			strcmp(str_at(spec, "scope"), "Namespaced") == 0);
	json_array_foreach(versions, i, ver)
	{
		struct resource_type *t;

		if (!json_is_true(json_object_get(ver, "served")) ||
		    !str_at(ver, "name"))
			continue;
		t = type_from_version(crd, spec, names, ver);
		t->coll = coll;
		add_type(r, t);
	}
	return 0;
}

void resource_type_qualified(const struct resource_type *t, char *out,
			     size_t outlen)
{
	if (*t->group)
		snprintf(out, outlen, "%s.%s", t->resource, t->group);
	else
		snprintf(out, outlen, "%s", t->resource);
}

void resource_type_qualified_kind(const struct resource_type *t, char *out,
				  size_t outlen)
{
	if (*t->group)
		snprintf(out, outlen, "%s.%s", t->kind, t->group);
	else
		snprintf(out, outlen, "%s", t->kind);
}

void resource_type_api_version(const struct resource_type *t, char *out,
			       size_t outlen)
{
	if (*t->group)
		snprintf(out, outlen, "%s/%s", t->group, t->version);
	else
		snprintf(out, outlen, "%s", t->version);
}

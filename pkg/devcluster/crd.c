/*
 * crd: the CustomResourceDefinition lifecycle inside knit-devcluster:
 * validation of a CRD, its status on creation (names accepted,
 * established), and keeping the registry in step with stored CRDs so a new
 * resource is served - and discoverable - as soon as the CRD is created.
 */
#include <stdio.h>
#include <string.h>

#include "devcluster/api_internal.h"
#include "util/alloc.h"

#define CRD_CLEANUP "customresourcecleanup.apiextensions.k8s.io"

static void add_cause(json_t *causes, const char *reason, const char *field,
		      const char *msg)
{
	json_array_append_new(causes,
			      json_pack("{s:s,s:s,s:s}", "reason", reason,
					"message", msg, "field", field));
}

static void validate_versions(json_t *versions, json_t *causes)
{
	size_t i;
	json_t *v;
	int storage = 0;
	char field[128];

	if (!json_is_array(versions) || json_array_size(versions) == 0) {
		add_cause(causes, "FieldValueInvalid", "spec.versions",
			  "Invalid value: null: must have exactly one version "
			  "marked as storage version");
		return;
	}
	json_array_foreach(versions, i, v)
	{
		json_t *schema = json_object_get(json_object_get(v, "schema"),
						 "openAPIV3Schema");

		storage += json_is_true(json_object_get(v, "storage"));
		if (!json_string_length(json_object_get(v, "name"))) {
			snprintf(field, sizeof(field),
				 "spec.versions[%zu].name", i);
			add_cause(causes, "FieldValueRequired", field,
				  "Required value");
		}
		if (!json_is_object(schema)) {
			snprintf(field, sizeof(field),
				 "spec.versions[%zu].schema.openAPIV3Schema",
				 i);
			add_cause(causes, "FieldValueRequired", field,
				  "Required value: schemas are required");
		}
	}
	if (storage != 1)
		add_cause(causes, "FieldValueInvalid", "spec.versions",
			  "Invalid value: must have exactly one version "
			  "marked as storage version");
}

json_t *crd_validate(struct devcluster *dc, const json_t *crd,
		     const json_t *old)
{
	json_t *causes = json_array();
	json_t *spec = json_object_get(crd, "spec");
	json_t *names = json_object_get(spec, "names");
	const char *group = json_string_value(json_object_get(spec, "group"));
	const char *plural =
		json_string_value(json_object_get(names, "plural"));
	const char *kind = json_string_value(json_object_get(names, "kind"));
	const char *scope = json_string_value(json_object_get(spec, "scope"));
	const char *name = json_string_value(
		json_object_get(json_object_get(crd, "metadata"), "name"));
	char msg[512];

	(void)dc;
	if (!group || !*group)
		add_cause(causes, "FieldValueRequired", "spec.group",
			  "Required value");
	if (!plural || !*plural)
		add_cause(causes, "FieldValueRequired", "spec.names.plural",
			  "Required value");
	if (!kind || !*kind)
		add_cause(causes, "FieldValueRequired", "spec.names.kind",
			  "Required value");
	if (!scope || (strcmp(scope, "Namespaced") && strcmp(scope, "Cluster")))
		add_cause(causes, "FieldValueNotSupported", "spec.scope",
			  "Unsupported value: \"\": supported values: "
			  "\"Cluster\", \"Namespaced\"");
	if (group && plural && name) {
		char *want = xasprintf("%s.%s", plural, group);

		if (strcmp(want, name) != 0) {
			snprintf(msg, sizeof(msg),
				 "Invalid value: \"%s\": must be "
				 "spec.names.plural+\".\"+spec.group",
				 name);
			add_cause(causes, "FieldValueInvalid", "metadata.name",
				  msg);
		}
		free(want);
	}
	validate_versions(json_object_get(spec, "versions"), causes);
	if (old && group &&
	    strcmp(group, json_string_value(json_object_get(
				  json_object_get(old, "spec"), "group"))
				  ?: "") != 0)
		add_cause(causes, "FieldValueInvalid", "spec.group",
			  "Invalid value: field is immutable");
	return causes;
}

void crd_prepare(json_t *crd, bool create)
{
	json_t *spec = json_object_get(crd, "spec");
	json_t *versions = json_object_get(spec, "versions");
	json_t *status = json_object();
	json_t *stored = json_array();
	json_t *conds = json_array();
	json_t *meta = json_object_get(crd, "metadata");
	json_t *fin = json_object_get(meta, "finalizers");
	char now[32];
	size_t i;
	json_t *v;

	(void)create;
	api_now(now, sizeof(now));
	json_array_foreach(versions, i,
			   v) if (json_is_true(json_object_get(v, "storage")))
		json_array_append(stored, json_object_get(v, "name"));
	json_array_append_new(
		conds,
		json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "NamesAccepted",
			  "status", "True", "lastTransitionTime", now, "reason",
			  "NoConflicts", "message", "no conflicts found"));
	json_array_append_new(
		conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "Established",
				 "status", "True", "lastTransitionTime", now,
				 "reason", "InitialNamesAccepted", "message",
				 "the initial names have been accepted"));
	json_object_set(status, "acceptedNames",
			json_object_get(spec, "names"));
	json_object_set_new(status, "conditions", conds);
	json_object_set_new(status, "storedVersions", stored);
	json_object_set_new(crd, "status", status);
	if (!json_is_array(fin)) {
		fin = json_array();
		json_object_set_new(meta, "finalizers", fin);
	}
	json_array_append_new(fin, json_string(CRD_CLEANUP));
}

void crd_established(struct devcluster *dc, const json_t *crd)
{
	const char *name = json_string_value(
		json_object_get(json_object_get(crd, "metadata"), "name"));
	struct collection *c =
		store_find_collection(&dc->store, "apiextensions.k8s.io",
				      "customresourcedefinitions");
	json_t *spec = json_object_get(crd, "spec");

	if (!name || !c)
		return;
	if (store_get(c, "", name)) {
		registry_sync_crd(&dc->reg, &dc->store, crd);
		return;
	}
	registry_remove_crd(&dc->reg, name);
	struct collection *items = store_find_collection(
		&dc->store,
		json_string_value(json_object_get(spec, "group")) ?: "",
		json_string_value(json_object_get(
			json_object_get(spec, "names"), "plural"))
			?: "");
	if (items)
		watch_hub_close_collection(&dc->hub, items);
}

void api_create_default_namespaces(struct devcluster *dc)
{
	static const char *const names[] = {"default", "kube-system",
					    "kube-public", NULL};
	struct collection *c =
		store_collection(&dc->store, "", "namespaces", false);
	char now[32];
	char uid[40];

	api_now(now, sizeof(now));
	for (int i = 0; names[i]; i++) {
		json_t *ns;

		if (store_get(c, "", names[i]))
			continue;
		snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012d",
			 i + 1);
		ns = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s}},s:{s:[s]},"
			       "s:{s:s}}",
			       "apiVersion", "v1", "kind", "Namespace",
			       "metadata", "name", names[i], "uid", uid,
			       "creationTimestamp", now, "labels",
			       "kubernetes.io/metadata.name", names[i], "spec",
			       "finalizers", "kubernetes", "status", "phase",
			       "Active");
		store_put(&dc->store, c, ns);
		json_decref(ns);
	}
}

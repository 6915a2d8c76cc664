/*
 * Unit tests for pkg/devcluster/openapi: the OpenAPI v3 documents must let
 * kubectl find a fieldValidation-capable PATCH for every kind (so it sends
 * fieldValidation=Strict), pick merge patch for custom resources and
 * strategic merge patch for built-ins, and find schemas by GVK under the
 * real server's names. The kubectl look-ups are re-implemented here from
 * cli-runtime's query_param_verifier_v3.go and kubectl's apply patcher.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "devcluster/openapi.h"

static const struct openapi_resource rollout = {
	"knit.dev", "v1alpha1", "rollouts", "Rollout", "RolloutList",
	true,	    true,	true,	    true,      NULL,
};

static const struct openapi_resource deployment = {
	"apps", "v1", "deployments", "Deployment", "DeploymentList",
	true,	true, true,	     false,	   NULL,
};

static const struct openapi_resource core[] = {
	{"", "v1", "pods", "Pod", "PodList", true, true, false, false, NULL},
	{"", "v1", "namespaces", "Namespace", "NamespaceList", false, true,
	 false, false, NULL},
	{"", "v1", "configmaps", "ConfigMap", "ConfigMapList", true, false,
	 false, false, NULL},
};

static int str_field_is(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static int gvk_fields_match(json_t *gvk, const char *group, const char *version,
			    const char *kind)
{
	return json_is_object(gvk) && str_field_is(gvk, "group", group) &&
	       str_field_is(gvk, "version", version) &&
	       str_field_is(gvk, "kind", kind);
}

/* kubectl's hasGVKExtensionV3 / gvkMatchesSingle. */
static int gvk_single_matches(json_t *op, const char *group,
			      const char *version, const char *kind)
{
	return gvk_fields_match(
		json_object_get(op, "x-kubernetes-group-version-kind"), group,
		version, kind);
}

/* The first PATCH operation whose single-object GVK matches, as kubectl. */
static json_t *find_patch_op(json_t *doc, const char *group,
			     const char *version, const char *kind)
{
	const char *key;
	json_t *item, *op;

	json_object_foreach(json_object_get(doc, "paths"), key, item)
	{
		op = json_object_get(item, "patch");
		if (op && gvk_single_matches(op, group, version, kind))
			return op;
	}
	return NULL;
}

static int op_has_param(json_t *op, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(op, "parameters"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "name")),
			   name) == 0)
			return 1;
	}
	return 0;
}

static int patch_accepts(json_t *op, const char *type)
{
	json_t *content =
		json_object_get(json_object_get(op, "requestBody"), "content");

	return json_object_get(content, type) != NULL;
}

/* kubectl's buildStrategicMergePatchFromOpenAPIV3 schema search. */
static const char *find_schema_by_gvk(json_t *doc, const char *group,
				      const char *version, const char *kind)
{
	json_t *schemas =
		json_object_get(json_object_get(doc, "components"), "schemas");
	const char *name;
	json_t *s, *g;
	size_t i;

	json_object_foreach(schemas, name, s)
	{
		json_array_foreach(
			json_object_get(s, "x-kubernetes-group-version-kind"),
			i, g)
		{
			if (gvk_fields_match(g, group, version, kind))
				return name;
		}
	}
	return NULL;
}

static json_t *schema_get(json_t *doc, const char *name)
{
	return json_object_get(
		json_object_get(json_object_get(doc, "components"), "schemas"),
		name);
}

static json_t *path_get(json_t *doc, const char *path)
{
	return json_object_get(json_object_get(doc, "paths"), path);
}

/* Every "$ref" below `v` names an existing component schema. */
static void assert_refs_resolve(json_t *doc, json_t *v)
{
	const char *key, *ref;
	json_t *child;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			assert_refs_resolve(doc, child);
		}
		return;
	}
	json_object_foreach(v, key, child)
	{
		if (strcmp(key, "$ref") == 0) {
			ref = json_string_value(child);
			assert_non_null(ref);
			assert_int_equal(
				strncmp(ref, "#/components/schemas/", 21), 0);
			if (!schema_get(doc, ref + 21))
				fail_msg("dangling $ref %s", ref);
		} else {
			assert_refs_resolve(doc, child);
		}
	}
}

static void test_crd_patch_is_strict_and_not_smp(void **state)
{
	json_t *doc = openapi_group_version_doc(&rollout, 1);
	json_t *op;

	(void)state;
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")),
			    "3.0.0");
	op = find_patch_op(doc, "knit.dev", "v1alpha1", "Rollout");
	assert_non_null(op);
	assert_true(op_has_param(op, "fieldValidation"));
	assert_true(op_has_param(op, "fieldManager"));
	assert_true(op_has_param(op, "dryRun"));
	assert_true(op_has_param(op, "force"));
	assert_false(
		patch_accepts(op, "application/strategic-merge-patch+json"));
	assert_true(patch_accepts(op, "application/merge-patch+json"));
	assert_true(patch_accepts(op, "application/json-patch+json"));
	assert_true(patch_accepts(op, "application/apply-patch+yaml"));
	/* Status patch must not offer SMP either. */
	op = json_object_get(
		path_get(doc, "/apis/knit.dev/v1alpha1/namespaces/{namespace}/"
			      "rollouts/{name}/status"),
		"patch");
	assert_non_null(op);
	assert_false(
		patch_accepts(op, "application/strategic-merge-patch+json"));
	assert_string_equal(
		json_string_value(json_object_get(op, "operationId")),
		"patchKnitDevV1alpha1NamespacedRolloutStatus");
	json_decref(doc);
}

static void test_builtin_patch_offers_smp(void **state)
{
	json_t *doc = openapi_group_version_doc(&deployment, 1);
	json_t *op;

	(void)state;
	op = find_patch_op(doc, "apps", "v1", "Deployment");
	assert_non_null(op);
	assert_true(op_has_param(op, "fieldValidation"));
	assert_true(
		patch_accepts(op, "application/strategic-merge-patch+json"));
	assert_true(patch_accepts(op, "application/merge-patch+json"));
	assert_string_equal(
		json_string_value(json_object_get(op, "x-kubernetes-action")),
		"patch");
	json_decref(doc);
}

static void test_crd_schema_copied_and_named(void **state)
{
	json_t *crd = json_pack("{s:s,s:{s:{s:s,s:{s:{s:s}}},s:{s:s,s:{s:s}}}}",
				"type", "object", "properties", "spec", "type",
				"object", "properties", "replicas", "type",
				"integer", "metadata", "type", "object",
				"properties", "name", "string");
	struct openapi_resource r = rollout;
	json_t *doc, *s, *gvk, *list;

	(void)state;
	r.schema = crd;
	doc = openapi_group_version_doc(&r, 1);
	assert_string_equal(
		find_schema_by_gvk(doc, "knit.dev", "v1alpha1", "Rollout"),
		"dev.knit.v1alpha1.Rollout");
	assert_string_equal(
		find_schema_by_gvk(doc, "knit.dev", "v1alpha1", "RolloutList"),
		"dev.knit.v1alpha1.RolloutList");
	s = schema_get(doc, "dev.knit.v1alpha1.Rollout");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(
				json_object_get(
					json_object_get(
						json_object_get(s,
								"properties"),
						"spec"),
					"properties"),
				"replicas"),
			"type")),
		"integer");
	/* metadata is replaced by the ObjectMeta reference. */
	assert_non_null(json_object_get(
		json_object_get(json_object_get(s, "properties"), "metadata"),
		"allOf"));
	gvk = json_object_get(s, "x-kubernetes-group-version-kind");
	assert_true(json_is_array(gvk));
	assert_int_equal(json_array_size(gvk), 1);
	/* The caller's schema is untouched. */
	assert_null(json_object_get(crd, "x-kubernetes-group-version-kind"));
	list = schema_get(doc, "dev.knit.v1alpha1.RolloutList");
	assert_non_null(list);
	assert_refs_resolve(doc, doc);
	json_decref(doc);
	json_decref(crd);
}

static void test_schemaless_crd_preserves_unknown(void **state)
{
	json_t *doc = openapi_group_version_doc(&rollout, 1);
	json_t *s = schema_get(doc, "dev.knit.v1alpha1.Rollout");
	json_t *props = json_object_get(s, "properties");

	(void)state;
	assert_true(json_is_true(
		json_object_get(s, "x-kubernetes-preserve-unknown-fields")));
	assert_int_equal(json_object_size(props), 3);
	assert_non_null(json_object_get(props, "apiVersion"));
	assert_non_null(json_object_get(props, "kind"));
	assert_non_null(json_object_get(props, "metadata"));
	json_decref(doc);
}

static void test_subresource_paths_follow_flags(void **state)
{
	struct openapi_resource plain = rollout;
	json_t *doc;
	json_t *op;

	(void)state;
	doc = openapi_group_version_doc(&deployment, 1);
	assert_non_null(path_get(doc, "/apis/apps/v1/namespaces/{namespace}/"
				      "deployments/{name}/status"));
	op = json_object_get(path_get(doc, "/apis/apps/v1/namespaces/"
					   "{namespace}/deployments/{name}/"
					   "scale"),
			     "patch");
	assert_non_null(op);
	assert_true(gvk_single_matches(op, "autoscaling", "v1", "Scale"));
	assert_non_null(schema_get(doc, "io.k8s.api.autoscaling.v1.Scale"));
	assert_refs_resolve(doc, doc);
	json_decref(doc);

	plain.has_status = false;
	plain.has_scale = false;
	doc = openapi_group_version_doc(&plain, 1);
	assert_non_null(path_get(doc, "/apis/knit.dev/v1alpha1/namespaces/"
				      "{namespace}/rollouts/{name}"));
	assert_null(path_get(doc, "/apis/knit.dev/v1alpha1/namespaces/"
				  "{namespace}/rollouts/{name}/status"));
	assert_null(path_get(doc, "/apis/knit.dev/v1alpha1/namespaces/"
				  "{namespace}/rollouts/{name}/scale"));
	assert_null(schema_get(doc, "io.k8s.api.autoscaling.v1.Scale"));
	json_decref(doc);
}

static void test_core_paths_and_operations(void **state)
{
	json_t *doc = openapi_group_version_doc(core, 3);
	json_t *coll, *all, *item, *ns_item;

	(void)state;
	coll = path_get(doc, "/api/v1/namespaces/{namespace}/pods");
	all = path_get(doc, "/api/v1/pods");
	item = path_get(doc, "/api/v1/namespaces/{namespace}/pods/{name}");
	ns_item = path_get(doc, "/api/v1/namespaces/{name}");
	assert_non_null(coll);
	assert_non_null(all);
	assert_non_null(item);
	assert_non_null(ns_item);
	assert_non_null(path_get(doc, "/api/v1/namespaces"));
	assert_null(path_get(doc, "/api/v1/namespaces/{namespace}/"
				  "configmaps/{name}/status"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(coll, "get"),
						  "operationId")),
		"listCoreV1NamespacedPod");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(coll, "delete"),
				    "x-kubernetes-action")),
			    "deletecollection");
	assert_true(
		op_has_param(json_object_get(coll, "get"), "labelSelector"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(all, "get"),
						  "operationId")),
		"listCoreV1PodForAllNamespaces");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(item, "put"),
						  "operationId")),
		"replaceCoreV1NamespacedPod");
	assert_true(
		op_has_param(json_object_get(item, "put"), "fieldValidation"));
	assert_true(
		op_has_param(json_object_get(coll, "post"), "fieldValidation"));
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(ns_item, "patch"), "operationId")),
		"patchCoreV1Namespace");
	/* kubectl's CRD fallback checks the Namespace PATCH. */
	assert_true(op_has_param(find_patch_op(doc, "", "v1", "Namespace"),
				 "fieldValidation"));
	assert_true(op_has_param(find_patch_op(doc, "", "v1", "ConfigMap"),
				 "fieldValidation"));
	assert_non_null(json_object_get(item, "delete"));
	assert_null(json_object_get(item, "post"));
	assert_refs_resolve(doc, doc);
	json_decref(doc);
}

static void test_builtin_schema_names_and_fields(void **state)
{
	json_t *doc = openapi_group_version_doc(core, 3);
	json_t *pod, *cm, *meta, *owners, *labels;

	(void)state;
	assert_string_equal(find_schema_by_gvk(doc, "", "v1", "Pod"),
			    "io.k8s.api.core.v1.Pod");
	assert_string_equal(find_schema_by_gvk(doc, "", "v1", "PodList"),
			    "io.k8s.api.core.v1.PodList");
	pod = schema_get(doc, "io.k8s.api.core.v1.Pod");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(pod, "properties"),
					"spec"),
			"type")),
		"object");
	cm = schema_get(doc, "io.k8s.api.core.v1.ConfigMap");
	assert_non_null(
		json_object_get(json_object_get(cm, "properties"), "data"));
	assert_null(json_object_get(json_object_get(cm, "properties"), "spec"));
	meta = json_object_get(
		schema_get(doc, "io.k8s.apimachinery.pkg.apis.meta.v1."
				"ObjectMeta"),
		"properties");
	labels = json_object_get(meta, "labels");
	assert_string_equal(json_string_value(json_object_get(labels, "type")),
			    "object");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(labels, "additionalProperties"),
			"type")),
		"string");
	owners = json_object_get(meta, "ownerReferences");
	assert_string_equal(json_string_value(json_object_get(
				    owners, "x-kubernetes-patch-merge-key")),
			    "uid");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(meta, "generation"), "format")),
		"int64");
	assert_non_null(schema_get(doc, "io.k8s.apimachinery.pkg.apis.meta.v1."
					"ListMeta"));
	assert_non_null(schema_get(doc, "io.k8s.apimachinery.pkg.apis.meta.v1."
					"Status"));
	assert_non_null(schema_get(doc, "io.k8s.apimachinery.pkg.apis.meta.v1."
					"DeleteOptions"));
	assert_non_null(schema_get(doc, "io.k8s.apimachinery.pkg.apis.meta.v1."
					"Patch"));
	json_decref(doc);
}

static void assert_schema_name(const char *group, const char *kind, bool custom,
			       const char *want)
{
	struct openapi_resource r = {group,	  "v1", "things", kind,
				     "ThingList", true, false,	  false,
				     custom,	  NULL};
	json_t *doc = openapi_group_version_doc(&r, 1);

	assert_non_null(doc);
	if (!schema_get(doc, want))
		fail_msg("no schema %s", want);
	json_decref(doc);
}

static void test_group_schema_names(void **state)
{
	(void)state;
	assert_schema_name("rbac.authorization.k8s.io", "Role", false,
			   "io.k8s.api.rbac.v1.Role");
	assert_schema_name("coordination.k8s.io", "Lease", false,
			   "io.k8s.api.coordination.v1.Lease");
	assert_schema_name("batch", "Job", false, "io.k8s.api.batch.v1.Job");
	assert_schema_name("apiextensions.k8s.io", "CustomResourceDefinition",
			   false,
			   "io.k8s.apiextensions-apiserver.pkg.apis."
			   "apiextensions.v1.CustomResourceDefinition");
	assert_schema_name("monitoring.coreos.com", "ServiceMonitor", true,
			   "com.coreos.monitoring.v1.ServiceMonitor");
	assert_schema_name("example", "Widget", true, "example.v1.Widget");
}

static void test_operation_ids_for_groups(void **state)
{
	struct openapi_resource r = {"rbac.authorization.k8s.io",
				     "v1",
				     "clusterroles",
				     "ClusterRole",
				     "ClusterRoleList",
				     false,
				     false,
				     false,
				     false,
				     NULL};
	json_t *doc = openapi_group_version_doc(&r, 1);
	json_t *coll = path_get(doc, "/apis/rbac.authorization.k8s.io/v1/"
				     "clusterroles");

	(void)state;
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(coll, "delete"), "operationId")),
		"deleteRbacAuthorizationV1CollectionClusterRole");
	/* Cluster-scoped: no all-namespaces path, no namespace parameter. */
	assert_null(path_get(doc, "/apis/rbac.authorization.k8s.io/v1/"
				  "namespaces/{namespace}/clusterroles"));
	json_decref(doc);
}

static void test_hash_stable_and_sensitive(void **state)
{
	json_t *a = openapi_group_version_doc(core, 3);
	json_t *b = openapi_group_version_doc(core, 3);
	json_t *c = json_pack("{s:i,s:i}", "x", 1, "y", 2);
	json_t *d = json_pack("{s:i,s:i}", "y", 2, "x", 1);
	char *ha = openapi_doc_hash(a), *hb = openapi_doc_hash(b);
	char *hc = openapi_doc_hash(c), *hd = openapi_doc_hash(d);
	char *changed;

	(void)state;
	assert_int_equal(strlen(ha), 128);
	assert_int_equal(strspn(ha, "0123456789ABCDEF"), 128);
	assert_string_equal(ha, hb);
	assert_string_equal(hc, hd);
	json_object_set_new(json_object_get(b, "info"), "version",
			    json_string("v1.33.0"));
	changed = openapi_doc_hash(b);
	assert_string_not_equal(ha, changed);
	assert_string_not_equal(ha, hc);
	assert_null(openapi_doc_hash(NULL));
	free(ha);
	free(hb);
	free(hc);
	free(hd);
	free(changed);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
}

static void test_gv_path(void **state)
{
	char *p;

	(void)state;
	p = openapi_gv_path("", "v1");
	assert_string_equal(p, "api/v1");
	free(p);
	p = openapi_gv_path(NULL, "v1");
	assert_string_equal(p, "api/v1");
	free(p);
	p = openapi_gv_path("knit.dev", "v1alpha1");
	assert_string_equal(p, "apis/knit.dev/v1alpha1");
	free(p);
}

static void test_rejects_bad_input(void **state)
{
	struct openapi_resource mixed[2] = {rollout, deployment};
	struct openapi_resource nokind = rollout;

	(void)state;
	assert_null(openapi_group_version_doc(&rollout, 0));
	assert_null(openapi_group_version_doc(NULL, 1));
	assert_null(openapi_group_version_doc(mixed, 2));
	nokind.kind = NULL;
	assert_null(openapi_group_version_doc(&nokind, 1));
}

static void test_every_operation_is_tagged(void **state)
{
	json_t *doc = openapi_group_version_doc(&deployment, 1);
	const char *path, *method;
	json_t *item, *op;
	int ops = 0;

	(void)state;
	json_object_foreach(json_object_get(doc, "paths"), path, item)
	{
		json_object_foreach(item, method, op)
		{
			if (strcmp(method, "parameters") == 0)
				continue;
			ops++;
			assert_true(json_is_string(
				json_object_get(op, "operationId")));
			assert_true(json_is_string(
				json_object_get(op, "x-kubernetes-action")));
			assert_true(json_is_object(json_object_get(
				op, "x-kubernetes-group-version-kind")));
			assert_true(json_is_object(
				json_object_get(op, "responses")));
		}
	}
	/* collection 3 + all-namespaces 1 + item 4 + status 3 + scale 3 */
	assert_int_equal(ops, 14);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crd_patch_is_strict_and_not_smp),
		cmocka_unit_test(test_builtin_patch_offers_smp),
		cmocka_unit_test(test_crd_schema_copied_and_named),
		cmocka_unit_test(test_schemaless_crd_preserves_unknown),
		cmocka_unit_test(test_subresource_paths_follow_flags),
		cmocka_unit_test(test_core_paths_and_operations),
		cmocka_unit_test(test_builtin_schema_names_and_fields),
		cmocka_unit_test(test_group_schema_names),
		cmocka_unit_test(test_operation_ids_for_groups),
		cmocka_unit_test(test_hash_stable_and_sensitive),
		cmocka_unit_test(test_gv_path),
		cmocka_unit_test(test_rejects_bad_input),
		cmocka_unit_test(test_every_operation_is_tagged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

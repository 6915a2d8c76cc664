/*
 * openapi: builds the per group-version OpenAPI v3 documents of
 * knit-devcluster (see openapi.h for what kubectl reads from them).
 *
 * Everything is data: tables of query parameters, of operations per kind of
 * path (collection, all-namespaces list, item, /status, /scale), of the
 * meta/v1 schemas and of the top-level fields of common built-in kinds. Field
 * types use a tiny notation read by type_schema(): "string", "boolean",
 * "int32", "int64", "time", "object", "map" (string to string), "bytemap"
 * (string to base64), "[T]" (array of T), "@Name" (reference to the meta/v1
 * schema Name) and "$full.Name" (reference to any component schema).
 */
#include "devcluster/openapi.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/alloc.h"

#define SCHEMA_REF "#/components/schemas/"
#define META	   "io.k8s.apimachinery.pkg.apis.meta.v1."
#define SCALE	   "io.k8s.api.autoscaling.v1.Scale"
#define KUBE_VER   "v1.32.2"
#define SMP_TYPE   "application/strategic-merge-patch+json"
#define MAX_CODES  3

/* ---- field and schema tables ---- */

/*
 * One object property. merge_key: NULL for none, "" for patch strategy
 * "merge" without a key (lists of scalars), else the merge key.
 */
struct prop {
	const char *name;
	const char *type;
	const char *merge_key;
};

struct schema_def {
	const char *name; /* full component name */
	const char *desc;
	const struct prop *props; /* ends with a NULL name */
	const char *gvk_group;	  /* non-NULL: add a GVK array */
	const char *gvk_version;
	const char *gvk_kind;
};

static const struct prop object_meta_props[] = {
	{"annotations", "map", NULL},
	{"creationTimestamp", "time", NULL},
	{"deletionGracePeriodSeconds", "int64", NULL},
	{"deletionTimestamp", "time", NULL},
	{"finalizers", "[string]", ""},
	{"generateName", "string", NULL},
	{"generation", "int64", NULL},
	{"labels", "map", NULL},
	{"managedFields", "[@ManagedFieldsEntry]", NULL},
	{"name", "string", NULL},
	{"namespace", "string", NULL},
	{"ownerReferences", "[@OwnerReference]", "uid"},
	{"resourceVersion", "string", NULL},
	{"selfLink", "string", NULL},
	{"uid", "string", NULL},
	{NULL, NULL, NULL},
};

static const struct prop list_meta_props[] = {
	{"continue", "string", NULL},
	{"remainingItemCount", "int64", NULL},
	{"resourceVersion", "string", NULL},
	{"selfLink", "string", NULL},
	{NULL, NULL, NULL},
};

static const struct prop owner_ref_props[] = {
	{"apiVersion", "string", NULL},
	{"blockOwnerDeletion", "boolean", NULL},
	{"controller", "boolean", NULL},
	{"kind", "string", NULL},
	{"name", "string", NULL},
	{"uid", "string", NULL},
	{NULL, NULL, NULL},
};

static const struct prop managed_fields_props[] = {
	{"apiVersion", "string", NULL}, {"fieldsType", "string", NULL},
	{"fieldsV1", "object", NULL},	{"manager", "string", NULL},
	{"operation", "string", NULL},	{"subresource", "string", NULL},
	{"time", "time", NULL},		{NULL, NULL, NULL},
};

static const struct prop status_props[] = {
	{"apiVersion", "string", NULL},
	{"code", "int32", NULL},
	{"details", "object", NULL},
	{"kind", "string", NULL},
	{"message", "string", NULL},
	{"metadata", "@ListMeta", NULL},
	{"reason", "string", NULL},
	{"status", "string", NULL},
	{NULL, NULL, NULL},
};

static const struct prop delete_options_props[] = {
	{"apiVersion", "string", NULL},
	{"dryRun", "[string]", NULL},
	{"gracePeriodSeconds", "int64", NULL},
	{"ignoreStoreReadErrorWithClusterBreakingPotential", "boolean", NULL},
	{"kind", "string", NULL},
	{"orphanDependents", "boolean", NULL},
	{"preconditions", "object", NULL},
	{"propagationPolicy", "string", NULL},
	{NULL, NULL, NULL},
};

static const struct prop no_props[] = {{NULL, NULL, NULL}};

static const struct prop scale_props[] = {
	{"apiVersion", "string", NULL},	      {"kind", "string", NULL},
	{"metadata", "@ObjectMeta", NULL},    {"spec", "$" SCALE "Spec", NULL},
	{"status", "$" SCALE "Status", NULL}, {NULL, NULL, NULL},
};

static const struct prop scale_spec_props[] = {
	{"replicas", "int32", NULL},
	{NULL, NULL, NULL},
};

static const struct prop scale_status_props[] = {
	{"replicas", "int32", NULL},
	{"selector", "string", NULL},
	{NULL, NULL, NULL},
};

static const struct schema_def meta_schemas[] = {
	{META "ObjectMeta", "Metadata that all persisted resources have.",
	 object_meta_props, NULL, NULL, NULL},
	{META "ListMeta", "Metadata of a list (resourceVersion, continue).",
	 list_meta_props, NULL, NULL, NULL},
	{META "OwnerReference", "Identifies an owning object.", owner_ref_props,
	 NULL, NULL, NULL},
	{META "ManagedFieldsEntry", "A field set owned by one manager.",
	 managed_fields_props, NULL, NULL, NULL},
	{META "Status",
	 "Result of an operation that does not return an object.", status_props,
	 "", "v1", "Status"},
	{META "DeleteOptions", "Options for a delete request.",
	 delete_options_props, NULL, NULL, NULL},
	{META "Patch", "The body of a PATCH request.", no_props, NULL, NULL,
	 NULL},
};

static const struct schema_def scale_schemas[] = {
	{SCALE, "Scale of a resource.", scale_props, "autoscaling", "v1",
	 "Scale"},
	{SCALE "Spec", "Desired scale.", scale_spec_props, NULL, NULL, NULL},
	{SCALE "Status", "Observed scale.", scale_status_props, NULL, NULL,
	 NULL},
};

/* Top-level fields of built-in kinds without the usual spec/status. */
static const struct prop config_map_props[] = {
	{"binaryData", "bytemap", NULL},
	{"data", "map", NULL},
	{"immutable", "boolean", NULL},
	{NULL, NULL, NULL},
};

static const struct prop secret_props[] = {
	{"data", "bytemap", NULL},   {"immutable", "boolean", NULL},
	{"stringData", "map", NULL}, {"type", "string", NULL},
	{NULL, NULL, NULL},
};

static const struct prop event_props[] = {
	{"action", "string", NULL},
	{"count", "int32", NULL},
	{"eventTime", "time", NULL},
	{"firstTimestamp", "time", NULL},
	{"involvedObject", "object", NULL},
	{"lastTimestamp", "time", NULL},
	{"message", "string", NULL},
	{"reason", "string", NULL},
	{"related", "object", NULL},
	{"reportingComponent", "string", NULL},
	{"reportingInstance", "string", NULL},
	{"series", "object", NULL},
	{"source", "object", NULL},
	{"type", "string", NULL},
	{NULL, NULL, NULL},
};

static const struct prop service_account_props[] = {
	{"automountServiceAccountToken", "boolean", NULL},
	{"imagePullSecrets", "[object]", NULL},
	{"secrets", "[object]", "name"},
	{NULL, NULL, NULL},
};

static const struct prop rbac_role_props[] = {
	{"rules", "[object]", NULL},
	{NULL, NULL, NULL},
};

static const struct prop rbac_binding_props[] = {
	{"roleRef", "object", NULL},
	{"subjects", "[object]", NULL},
	{NULL, NULL, NULL},
};

struct kind_props {
	const char *group;
	const char *kind;
	const struct prop *props;
};

static const struct kind_props builtin_kinds[] = {
	{"", "ConfigMap", config_map_props},
	{"", "Secret", secret_props},
	{"", "Event", event_props},
	{"", "ServiceAccount", service_account_props},
	{"rbac.authorization.k8s.io", "Role", rbac_role_props},
	{"rbac.authorization.k8s.io", "ClusterRole", rbac_role_props},
	{"rbac.authorization.k8s.io", "RoleBinding", rbac_binding_props},
	{"rbac.authorization.k8s.io", "ClusterRoleBinding", rbac_binding_props},
};

/* ---- operation tables ---- */

struct param_def {
	const char *name;
	const char *type;
	const char *desc;
};

static const struct param_def query_params[] = {
	{"allowWatchBookmarks", "boolean", "Request watch BOOKMARK events."},
	{"continue", "string", "Continue token from a previous chunked list."},
	{"dryRun", "string",
	 "When present, changes are not persisted. Valid value: All."},
	{"fieldManager", "string", "Name of the actor making the change."},
	{"fieldSelector", "string", "Restrict the list by object fields."},
	{"fieldValidation", "string",
	 "How to treat unknown or duplicate fields: Ignore, Warn or Strict."},
	{"force", "boolean",
	 "Re-acquire fields owned by other managers (apply patches only)."},
	{"gracePeriodSeconds", "integer", "Seconds before the object is gone."},
	{"ignoreStoreReadErrorWithClusterBreakingPotential", "boolean",
	 "Delete objects that cannot be read from storage."},
	{"labelSelector", "string", "Restrict the list by labels."},
	{"limit", "integer", "Maximum number of items in one chunk."},
	{"orphanDependents", "boolean", "Deprecated: use propagationPolicy."},
	{"pretty", "string", "If 'true', the output is pretty printed."},
	{"propagationPolicy", "string",
	 "Garbage collection policy: Orphan, Background or Foreground."},
	{"resourceVersion", "string", "Resource version constraint."},
	{"resourceVersionMatch", "string", "How resourceVersion is applied."},
	{"sendInitialEvents", "boolean", "Send synthetic ADDED events first."},
	{"timeoutSeconds", "integer", "Timeout for list and watch calls."},
	{"watch", "boolean", "Watch for changes instead of listing."},
};

static const char *const list_params[] = {
	"allowWatchBookmarks",
	"continue",
	"fieldSelector",
	"labelSelector",
	"limit",
	"resourceVersion",
	"resourceVersionMatch",
	"sendInitialEvents",
	"timeoutSeconds",
	"watch",
	NULL,
};
static const char *const write_params[] = {"dryRun", "fieldManager",
					   "fieldValidation", NULL};
static const char *const patch_params[] = {"dryRun", "fieldManager",
					   "fieldValidation", "force", NULL};
static const char *const delete_params[] = {
	"dryRun",
	"gracePeriodSeconds",
	"ignoreStoreReadErrorWithClusterBreakingPotential",
	"orphanDependents",
	"propagationPolicy",
	NULL,
};
static const char *const delete_collection_params[] = {
	"continue",
	"dryRun",
	"fieldSelector",
	"gracePeriodSeconds",
	"ignoreStoreReadErrorWithClusterBreakingPotential",
	"labelSelector",
	"limit",
	"orphanDependents",
	"propagationPolicy",
	"resourceVersion",
	"resourceVersionMatch",
	"sendInitialEvents",
	"timeoutSeconds",
	NULL,
};
static const char *const no_params[] = {NULL};

enum body_kind {
	BODY_NONE,
	BODY_OBJECT,
	BODY_PATCH,
	BODY_DELETE
};
enum reply_kind {
	REPLY_OBJECT,
	REPLY_LIST,
	REPLY_STATUS
};

struct op_def {
	const char *method; /* key in the path item: "get" */
	const char *verb;   /* operationId prefix: "read" */
	const char *action; /* x-kubernetes-action */
	const char *desc;   /* followed by the kind */
	bool collection;    /* "Collection" in the operationId */
	enum body_kind body;
	enum reply_kind reply;
	int codes[MAX_CODES]; /* response codes, 0-terminated */
	const char *const *params;
};

/* clang-format off */
static const struct op_def collection_ops[] = {
	{"get", "list", "list", "list or watch objects of kind ", false,
	 BODY_NONE, REPLY_LIST, {200}, list_params},
	{"post", "create", "post", "create a ", false,
	 BODY_OBJECT, REPLY_OBJECT, {200, 201, 202}, write_params},
	{"delete", "delete", "deletecollection", "delete collection of ", true,
	 BODY_DELETE, REPLY_STATUS, {200}, delete_collection_params},
};

static const struct op_def all_namespaces_ops[] = {
	{"get", "list", "list", "list or watch objects of kind ", false,
	 BODY_NONE, REPLY_LIST, {200}, list_params},
};

static const struct op_def item_ops[] = {
	{"get", "read", "get", "read the specified ", false,
	 BODY_NONE, REPLY_OBJECT, {200}, no_params},
	{"put", "replace", "put", "replace the specified ", false,
	 BODY_OBJECT, REPLY_OBJECT, {200, 201}, write_params},
	{"patch", "patch", "patch", "partially update the specified ", false,
	 BODY_PATCH, REPLY_OBJECT, {200, 201}, patch_params},
	{"delete", "delete", "delete", "delete a ", false,
	 BODY_DELETE, REPLY_STATUS, {200, 202}, delete_params},
};

static const struct op_def status_ops[] = {
	{"get", "read", "get", "read status of the specified ", false,
	 BODY_NONE, REPLY_OBJECT, {200}, no_params},
	{"put", "replace", "put", "replace status of the specified ", false,
	 BODY_OBJECT, REPLY_OBJECT, {200, 201}, write_params},
	{"patch", "patch", "patch", "partially update status of the specified ",
	 false, BODY_PATCH, REPLY_OBJECT, {200, 201}, patch_params},
};

static const struct op_def scale_ops[] = {
	{"get", "read", "get", "read scale of the specified ", false,
	 BODY_NONE, REPLY_OBJECT, {200}, no_params},
	{"put", "replace", "put", "replace scale of the specified ", false,
	 BODY_OBJECT, REPLY_OBJECT, {200, 201}, write_params},
	{"patch", "patch", "patch", "partially update scale of the specified ",
	 false, BODY_PATCH, REPLY_OBJECT, {200, 201}, patch_params},
};
/* clang-format on */

/* Content types of PATCH bodies; the last one only for built-in kinds. */
static const char *const patch_types[] = {
	"application/apply-patch+yaml",
	"application/json-patch+json",
	"application/merge-patch+json",
	SMP_TYPE,
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "io.k8s.api.apps" for built-in groups, "dev.knit" for custom ones. */
static char *group_package(const char *group, bool is_custom)
{
	const char *dot;
	char *out, *tmp;

	if (!is_custom) {
		if (group[0] == '\0')
			return xstrdup("io.k8s.api.core");
		if (strcmp(group, "apiextensions.k8s.io") == 0)
			return xstrdup("io.k8s.apiextensions-apiserver.pkg."
				       "apis.apiextensions");
		if (strcmp(group, "apiregistration.k8s.io") == 0)
			return xstrdup("io.k8s.kube-aggregator.pkg.apis."
				       "apiregistration");
		if (ends_with(group, ".k8s.io"))
			return xasprintf("io.k8s.api.%.*s",
					 (int)strcspn(group, "."), group);
		return xasprintf("io.k8s.api.%s", group);
	}
	/* Reverse the DNS labels: "knit.dev" -> "dev.knit". */
	out = xstrdup("");
	while ((dot = strchr(group, '.')) != NULL) {
		tmp = out[0] ? xasprintf("%.*s.%s", (int)(dot - group), group,
					 out)
			     : xstrndup(group, (size_t)(dot - group));
		free(out);
		out = tmp;
		group = dot + 1;
	}
	tmp = out[0] ? xasprintf("%s.%s", group, out) : xstrdup(group);
	free(out);
	return tmp;
}

/* Component schema name of `kind` in the resource's group-version. */
static char *schema_name(const struct openapi_resource *r, const char *kind)
{
	char *pkg = group_package(r->group, r->is_custom);
	char *name = xasprintf("%s.%s.%s", pkg, r->version, kind);

	free(pkg);
	return name;
}

static char *schema_ref(const char *name)
{
	return xasprintf(SCHEMA_REF "%s", name);
}

/* Appends `word` with its first letter in upper case. */
static void append_capital(char *dst, size_t cap, const char *word, size_t len)
{
	size_t used = strlen(dst);

	if (len == 0 || used + len >= cap)
		return;
	memcpy(dst + used, word, len);
	if (dst[used] >= 'a' && dst[used] <= 'z')
		dst[used] = (char)(dst[used] - 'a' + 'A');
	dst[used + len] = '\0';
}

/*
 * The group-version part of operation ids: "CoreV1", "AppsV1",
 * "RbacAuthorizationV1", "KnitDevV1alpha1". Built-in groups drop ".k8s.io".
 */
static char *op_gv_id(const struct openapi_resource *r)
{
	char out[256] = "";
	const char *g = r->group[0] ? r->group : "core";
	size_t glen = strlen(g), n;

	if (!r->is_custom && ends_with(g, ".k8s.io"))
		glen -= strlen(".k8s.io");
	while (glen > 0) {
		n = strcspn(g, ".-");
		if (n > glen)
			n = glen;
		append_capital(out, sizeof(out), g, n);
		g += n;
		glen -= n;
		if (glen > 0) {
			g++;
			glen--;
		}
	}
	append_capital(out, sizeof(out), r->version, strlen(r->version));
	return xstrdup(out);
}

/* ---- schemas ---- */

static json_t *ref_schema(const char *full_name)
{
	char *ref = schema_ref(full_name);
	json_t *s =
		json_pack("{s:[{s:s}],s:{}}", "allOf", "$ref", ref, "default");

	free(ref);
	return s;
}

static json_t *type_schema(const char *t);

static json_t *array_schema(const char *t)
{
	char *inner = xstrndup(t + 1, strlen(t) - 2);
	json_t *s = json_pack("{s:s,s:o}", "type", "array", "items",
			      type_schema(inner));

	free(inner);
	return s;
}

/* Schema for a field type in the notation described atop this file. */
static json_t *type_schema(const char *t)
{
	char *name;
	json_t *s;

	if (t[0] == '[')
		return array_schema(t);
	if (t[0] == '$')
		return ref_schema(t + 1);
	if (t[0] == '@') {
		name = xasprintf(META "%s", t + 1);
		s = ref_schema(name);
		free(name);
		return s;
	}
	if (strcmp(t, "int32") == 0 || strcmp(t, "int64") == 0)
		return json_pack("{s:s,s:s}", "type", "integer", "format", t);
	if (strcmp(t, "time") == 0)
		return json_pack("{s:s,s:s}", "type", "string", "format",
				 "date-time");
	if (strcmp(t, "map") == 0)
		return json_pack("{s:s,s:{s:s,s:s}}", "type", "object",
				 "additionalProperties", "type", "string",
				 "default", "");
	if (strcmp(t, "bytemap") == 0)
		return json_pack("{s:s,s:{s:s,s:s}}", "type", "object",
				 "additionalProperties", "type", "string",
				 "format", "byte");
	return json_pack("{s:s}", "type", t);
}

static json_t *prop_schema(const struct prop *p)
{
	json_t *s = type_schema(p->type);

	if (p->merge_key) {
		json_object_set_new(s, "x-kubernetes-patch-strategy",
				    json_string("merge"));
		if (p->merge_key[0])
			json_object_set_new(s, "x-kubernetes-patch-merge-key",
					    json_string(p->merge_key));
	}
	return s;
}

static void add_props(json_t *properties, const struct prop *props)
{
	for (; props->name; props++)
		json_object_set_new(properties, props->name,
				    prop_schema(props));
}

static json_t *gvk_object(const char *group, const char *version,
			  const char *kind)
{
	return json_pack("{s:s,s:s,s:s}", "group", group, "kind", kind,
			 "version", version);
}

static json_t *gvk_array(const char *group, const char *version,
			 const char *kind)
{
	return json_pack("[o]", gvk_object(group, version, kind));
}

static json_t *def_schema(const struct schema_def *d)
{
	json_t *props = json_object();
	json_t *s;

	add_props(props, d->props);
	s = json_pack("{s:s,s:s,s:o}", "description", d->desc, "type", "object",
		      "properties", props);
	if (d->gvk_kind)
		json_object_set_new(
			s, "x-kubernetes-group-version-kind",
			gvk_array(d->gvk_group, d->gvk_version, d->gvk_kind));
	return s;
}

static void add_defs(json_t *schemas, const struct schema_def *defs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_object_set_new(schemas, defs[i].name,
				    def_schema(&defs[i]));
}

/* The fields every kind has: apiVersion, kind, metadata. */
static void add_type_meta(json_t *properties)
{
	json_object_set_new(properties, "apiVersion",
			    json_pack("{s:s,s:s}", "description",
				      "Versioned schema of this object.",
				      "type", "string"));
	json_object_set_new(properties, "kind",
			    json_pack("{s:s,s:s}", "description",
				      "REST resource this object represents.",
				      "type", "string"));
	json_object_set_new(properties, "metadata", type_schema("@ObjectMeta"));
}

static const struct prop *builtin_props(const struct openapi_resource *r)
{
	for (size_t i = 0; i < ARRAY_LEN(builtin_kinds); i++)
		if (strcmp(builtin_kinds[i].group, r->group) == 0 &&
		    strcmp(builtin_kinds[i].kind, r->kind) == 0)
			return builtin_kinds[i].props;
	return NULL;
}

/* Top-level fields beyond apiVersion/kind/metadata of a schemaless kind. */
static void add_default_props(json_t *properties,
			      const struct openapi_resource *r)
{
	const struct prop *props;

	if (r->is_custom)
		return;
	props = builtin_props(r);
	if (props) {
		add_props(properties, props);
		return;
	}
	json_object_set_new(properties, "spec", type_schema("object"));
	if (r->has_status)
		json_object_set_new(properties, "status",
				    type_schema("object"));
}

/*
 * The kind's schema: a copy of the CRD schema, or a minimal one that keeps
 * unknown fields. Either way apiVersion/kind/metadata are the standard
 * ones and the GVK array is attached, as the real server does.
 */
static json_t *resource_schema(const struct openapi_resource *r)
{
	json_t *s, *props;

	if (r->schema && json_is_object(r->schema)) {
		s = json_deep_copy(r->schema);
	} else {
		s = json_pack("{s:s,s:s,s:b}", "description",
			      r->is_custom ? "Custom resource."
					   : "Built-in resource.",
			      "type", "object",
			      "x-kubernetes-preserve-unknown-fields", 1);
	}
	props = json_object_get(s, "properties");
	if (!json_is_object(props)) {
		props = json_object();
		json_object_set_new(s, "properties", props);
		if (!r->schema)
			add_default_props(props, r);
	}
	add_type_meta(props);
	json_object_set_new(s, "x-kubernetes-group-version-kind",
			    gvk_array(r->group, r->version, r->kind));
	return s;
}

static json_t *list_schema(const struct openapi_resource *r,
			   const char *item_name)
{
	json_t *props = json_object();
	json_t *s;

	add_type_meta(props);
	json_object_set_new(props, "metadata", type_schema("@ListMeta"));
	json_object_set_new(props, "items",
			    json_pack("{s:s,s:o}", "type", "array", "items",
				      ref_schema(item_name)));
	s = json_pack("{s:s,s:s,s:[s],s:o,s:o}", "description",
		      "A list of objects.", "type", "object", "required",
		      "items", "properties", props,
		      "x-kubernetes-group-version-kind",
		      gvk_array(r->group, r->version, r->list_kind));
	return s;
}

static void add_resource_schemas(json_t *schemas,
				 const struct openapi_resource *r)
{
	char *name = schema_name(r, r->kind);
	char *list_name = schema_name(r, r->list_kind);

	json_object_set_new(schemas, name, resource_schema(r));
	json_object_set_new(schemas, list_name, list_schema(r, name));
	free(name);
	free(list_name);
}

/* ---- operations ---- */

static const struct param_def *find_param(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(query_params); i++)
		if (strcmp(query_params[i].name, name) == 0)
			return &query_params[i];
	return NULL;
}

static json_t *param_json(const char *name, const char *in, const char *type,
			  const char *desc)
{
	json_t *p = json_pack("{s:s,s:s,s:s,s:{s:s}}", "name", name, "in", in,
			      "description", desc, "schema", "type", type);

	if (strcmp(in, "path") == 0)
		json_object_set_new(p, "required", json_true());
	return p;
}

static json_t *query_params_json(const char *const *names)
{
	json_t *arr = json_array();
	const struct param_def *d;

	for (; *names; names++) {
		d = find_param(*names);
		if (d)
			json_array_append_new(
				arr,
				param_json(d->name, "query", d->type, d->desc));
	}
	return arr;
}

static json_t *content_json(const char *const *types, size_t n, const char *ref)
{
	json_t *content = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(
			content, types[i],
			json_pack("{s:{s:s}}", "schema", "$ref", ref));
	return content;
}

static json_t *request_body(enum body_kind kind, const char *object_ref,
			    bool is_custom)
{
	static const char *const any[] = {"*/*"};
	size_t npatch = ARRAY_LEN(patch_types) - (is_custom ? 1 : 0);
	json_t *content;

	switch (kind) {
	case BODY_OBJECT:
		content = content_json(any, 1, object_ref);
		break;
	case BODY_PATCH:
		content = content_json(patch_types, npatch,
				       SCHEMA_REF META "Patch");
		break;
	case BODY_DELETE:
		content = content_json(any, 1, SCHEMA_REF META "DeleteOptions");
		break;
	default:
		return NULL;
	}
	return json_pack("{s:o,s:b}", "content", content, "required",
			 kind != BODY_DELETE);
}

static const char *code_text(int code)
{
	switch (code) {
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	default:
		return "OK";
	}
}

static json_t *responses_json(const struct op_def *op, const char *ref)
{
	static const char *const media[] = {"application/json",
					    "application/yaml"};
	json_t *res = json_object();
	char key[8];

	for (size_t i = 0; i < MAX_CODES && op->codes[i]; i++) {
		snprintf(key, sizeof(key), "%d", op->codes[i]);
		json_object_set_new(
			res, key,
			json_pack("{s:s,s:o}", "description",
				  code_text(op->codes[i]), "content",
				  content_json(media, ARRAY_LEN(media), ref)));
	}
	json_object_set_new(res, "401",
			    json_pack("{s:s}", "description", "Unauthorized"));
	return res;
}

/* What one path serves: which ops, which schemas, how ids are spelled. */
struct path_ctx {
	const struct openapi_resource *r;
	const char *gv_id;	/* "AppsV1" */
	const char *suffix;	/* "", "Status", "Scale" */
	bool namespaced_id;	/* "Namespaced" in operation ids */
	bool all_namespaces;	/* "ForAllNamespaces" in operation ids */
	const char *object_ref; /* body/reply schema */
	const char *list_ref;
	const char *gvk_group; /* GVK of the operations */
	const char *gvk_version;
	const char *gvk_kind;
};

static char *operation_id(const struct path_ctx *c, const struct op_def *op)
{
	return xasprintf("%s%s%s%s%s%s%s", op->verb, c->gv_id,
			 op->collection ? "Collection" : "",
			 c->namespaced_id ? "Namespaced" : "", c->r->kind,
			 c->suffix,
			 c->all_namespaces ? "ForAllNamespaces" : "");
}

static json_t *operation_json(const struct path_ctx *c, const struct op_def *op)
{
	char *id = operation_id(c, op);
	char *desc = xasprintf("%s%s", op->desc, c->r->kind);
	const char *reply = op->reply == REPLY_LIST	? c->list_ref
			    : op->reply == REPLY_STATUS ? SCHEMA_REF META
				    "Status"
							: c->object_ref;
	json_t *body = request_body(op->body, c->object_ref, c->r->is_custom);
	json_t *o;

	o = json_pack("{s:s,s:s,s:o,s:o,s:s,s:o}", "description", desc,
		      "operationId", id, "parameters",
		      query_params_json(op->params), "responses",
		      responses_json(op, reply), "x-kubernetes-action",
		      op->action, "x-kubernetes-group-version-kind",
		      gvk_object(c->gvk_group, c->gvk_version, c->gvk_kind));
	if (body)
		json_object_set_new(o, "requestBody", body);
	free(id);
	free(desc);
	return o;
}

static json_t *path_params(const struct path_ctx *c, bool has_name)
{
	json_t *arr = json_array();
	char *desc;

	if (has_name) {
		desc = xasprintf("name of the %s", c->gvk_kind);
		json_array_append_new(
			arr, param_json("name", "path", "string", desc));
		free(desc);
	}
	if (c->namespaced_id)
		json_array_append_new(
			arr, param_json("namespace", "path", "string",
					"object name and auth scope, such as "
					"for teams and projects"));
	json_array_append_new(arr, param_json("pretty", "query", "string",
					      find_param("pretty")->desc));
	return arr;
}

static void add_path(json_t *paths, const char *key, const struct path_ctx *c,
		     const struct op_def *ops, size_t n, bool has_name)
{
	json_t *item = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(item, ops[i].method,
				    operation_json(c, &ops[i]));
	json_object_set_new(item, "parameters", path_params(c, has_name));
	json_object_set_new(paths, key, item);
}

/* The item path and its /status and /scale subresources. */
static void add_item_paths(json_t *paths, const char *item_key,
			   struct path_ctx *c)
{
	const struct openapi_resource *r = c->r;
	char *key;

	add_path(paths, item_key, c, item_ops, ARRAY_LEN(item_ops), true);
	if (r->has_status) {
		key = xasprintf("%s/status", item_key);
		c->suffix = "Status";
		add_path(paths, key, c, status_ops, ARRAY_LEN(status_ops),
			 true);
		free(key);
	}
	if (r->has_scale) {
		key = xasprintf("%s/scale", item_key);
		c->suffix = "Scale";
		c->object_ref = SCHEMA_REF SCALE;
		c->gvk_group = "autoscaling";
		c->gvk_version = "v1";
		c->gvk_kind = "Scale";
		add_path(paths, key, c, scale_ops, ARRAY_LEN(scale_ops), true);
		free(key);
	}
}

static void add_resource_paths(json_t *paths, const struct openapi_resource *r)
{
	char *prefix = r->group[0]
			       ? xasprintf("/apis/%s/%s", r->group, r->version)
			       : xasprintf("/api/%s", r->version);
	const char *ns = r->namespaced ? "/namespaces/{namespace}" : "";
	char *collection = xasprintf("%s%s/%s", prefix, ns, r->resource);
	char *item = xasprintf("%s/{name}", collection);
	char *all = xasprintf("%s/%s", prefix, r->resource);
	char *gv_id = op_gv_id(r);
	char *name = schema_name(r, r->kind);
	char *list_name = schema_name(r, r->list_kind);
	char *object_ref = schema_ref(name);
	char *list_ref = schema_ref(list_name);
	struct path_ctx c = {r,		 gv_id,	     "",       r->namespaced,
			     false,	 object_ref, list_ref, r->group,
			     r->version, r->kind};

	add_path(paths, collection, &c, collection_ops,
		 ARRAY_LEN(collection_ops), false);
	if (r->namespaced) {
		c.namespaced_id = false;
		c.all_namespaces = true;
		add_path(paths, all, &c, all_namespaces_ops,
			 ARRAY_LEN(all_namespaces_ops), false);
		c.namespaced_id = true;
		c.all_namespaces = false;
	}
	add_item_paths(paths, item, &c);
	free(prefix);
	free(collection);
	free(item);
	free(all);
	free(gv_id);
	free(name);
	free(list_name);
	free(object_ref);
	free(list_ref);
}

/* ---- public API ---- */

static bool resource_valid(const struct openapi_resource *r,
			   const struct openapi_resource *first)
{
	return r->group && r->version && r->resource && r->kind &&
	       r->list_kind && strcmp(r->group, first->group) == 0 &&
	       strcmp(r->version, first->version) == 0;
}

json_t *openapi_group_version_doc(const struct openapi_resource *resources,
				  size_t n)
{
	json_t *doc, *paths, *schemas;
	bool scale = false;

	if (!resources || n == 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!resource_valid(&resources[i], &resources[0]))
			return NULL;
	paths = json_object();
	schemas = json_object();
	for (size_t i = 0; i < n; i++) {
		add_resource_paths(paths, &resources[i]);
		add_resource_schemas(schemas, &resources[i]);
		scale = scale || resources[i].has_scale;
	}
	add_defs(schemas, meta_schemas, ARRAY_LEN(meta_schemas));
	if (scale)
		add_defs(schemas, scale_schemas, ARRAY_LEN(scale_schemas));
	doc = json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:o}}", "openapi", "3.0.0",
			"info", "title", "Kubernetes", "version", KUBE_VER,
			"paths", paths, "components", "schemas", schemas);
	return doc;
}

char *openapi_gv_path(const char *group, const char *version)
{
	if (!group || group[0] == '\0')
		return xasprintf("api/%s", version);
	return xasprintf("apis/%s/%s", group, version);
}

char *openapi_doc_hash(const json_t *doc)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *text, *out = NULL;

	if (!doc)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return NULL;
	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha512(), NULL) ==
	    1) {
		out = xmalloc(2 * (size_t)mdlen + 1);
		for (unsigned int i = 0; i < mdlen; i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 0xf];
		}
		out[2 * mdlen] = '\0';
	}
	free(text);
	return out;
}

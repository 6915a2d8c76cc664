/*
 * builtin: defaults and validation for the built-in kinds knit-devcluster
 * serves, and the metadata rules every object obeys. This is a subset of
 * the real registry strategies: the fields controllers read back (service
 * cluster IPs, deployment strategy, pod phase) and the mistakes kubectl
 * users make most often (missing containers, selector/labels mismatch,
 * invalid names) are handled like the real server handles them.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/api_internal.h"
#include "devcluster/jobctl.h"
#include "kube/selector.h"
#include "util/alloc.h"

#define SUBDOMAIN_MSG                                                          \
	"a lowercase RFC 1123 subdomain must consist of lower case "           \
	"alphanumeric characters, '-' or '.', and must start and end with an " \
	"alphanumeric character (e.g. 'example.com', regex used for "          \
	"validation is "                                                       \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABEL_MSG                                                              \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric "  \
	"characters or '-', and must start and end with an alphanumeric "      \
	"character (e.g. 'my-name',  or '123-abc', regex used for validation " \
	"is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS1035_MSG                                                            \
	"a DNS-1035 label must consist of lower case alphanumeric characters " \
	"or '-', start with an alphabetic character, and end with an "         \
	"alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used "   \
	"for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define LABEL_VALUE_MSG                                                     \
	"a valid label must be an empty string or consist of alphanumeric " \
	"characters, '-', '_' or '.', and must start and end with an "      \
	"alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "      \
	"'12345', "                                                         \
	"regex used for validation is "                                     \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static void cause(json_t *causes, const char *reason, const char *field,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void cause(json_t *causes, const char *reason, const char *field,
		  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(causes,
			      json_pack("{s:s,s:s,s:s}", "reason", reason,
					"message", msg, "field", field));
}

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool dns_label(const char *s, bool alpha_first)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !is_alnum_lower(s[0]) ||
	    !is_alnum_lower(s[n - 1]))
		return false;
	if (alpha_first && !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum_lower(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool dns_subdomain(const char *s)
{
	char copy[254];
	char *save = NULL;
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' ||
	    strstr(s, ".."))
		return false;
	memcpy(copy, s, n + 1);
	for (char *p = strtok_r(copy, ".", &save); p;
	     p = strtok_r(NULL, ".", &save)) {
		size_t m = strlen(p);

		if (!is_alnum_lower(p[0]) || !is_alnum_lower(p[m - 1]))
			return false;
		for (size_t i = 0; i < m; i++)
			if (!is_alnum_lower(p[i]) && p[i] != '-')
				return false;
	}
	return true;
}

static bool label_value_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return true;
	if (n > 63 || !isalnum((unsigned char)v[0]) ||
	    !isalnum((unsigned char)v[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]))
			return false;
	return true;
}

static bool label_key_ok(const char *k)
{
	const char *slash = strchr(k, '/');
	const char *name = slash ? slash + 1 : k;

	if (slash) {
		char prefix[254];
		size_t n = (size_t)(slash - k);

		if (n == 0 || n > 253)
			return false;
		memcpy(prefix, k, n);
		prefix[n] = '\0';
		if (!dns_subdomain(prefix))
			return false;
	}
	return *name && label_value_ok(name);
}

static void validate_name(const struct resource_type *t, const char *name,
			  json_t *causes)
{
	bool core = !*t->group;

	if (core && strcmp(t->resource, "namespaces") == 0) {
		if (!dns_label(name, false))
			cause(causes, "FieldValueInvalid", "metadata.name",
			      "Invalid value: \"%s\": " LABEL_MSG, name);
	} else if (core && strcmp(t->resource, "services") == 0) {
		if (!dns_label(name, true))
			cause(causes, "FieldValueInvalid", "metadata.name",
			      "Invalid value: \"%s\": " DNS1035_MSG, name);
	} else if (!dns_subdomain(name)) {
		cause(causes, "FieldValueInvalid", "metadata.name",
		      "Invalid value: \"%s\": " SUBDOMAIN_MSG, name);
	}
}

static void validate_labels(json_t *labels, json_t *causes)
{
	const char *k;
	json_t *v;

	if (labels && !json_is_object(labels)) {
		cause(causes, "FieldValueTypeInvalid", "metadata.labels",
		      "Invalid value: must be a map of strings");
		return;
	}
	json_object_foreach(labels, k, v)
	{
		if (!label_key_ok(k))
			cause(causes, "FieldValueInvalid", "metadata.labels",
			      "Invalid value: \"%s\": name part must consist "
			      "of alphanumeric characters, '-', '_' or '.', "
			      "and must start and end with an alphanumeric "
			      "character",
			      k);
		else if (!json_is_string(v) ||
			 !label_value_ok(json_string_value(v)))
			cause(causes, "FieldValueInvalid", "metadata.labels",
			      "Invalid value: \"%s\": " LABEL_VALUE_MSG,
			      json_is_string(v) ? json_string_value(v) : "");
	}
}

static void validate_owners(json_t *refs, json_t *causes)
{
	size_t i;
	json_t *r;
	int controllers = 0;
	char field[64];

	json_array_foreach(refs, i, r)
	{
		const char *req[] = {"apiVersion", "kind", "name", "uid"};

		for (int j = 0; j < 4; j++) {
			if (!json_string_length(json_object_get(r, req[j]))) {
				snprintf(field, sizeof(field),
					 "metadata.ownerReferences.%s", req[j]);
				cause(causes, "FieldValueInvalid", field,
				      "Invalid value: \"\": %s must not be "
				      "empty",
				      req[j]);
			}
		}
		controllers += json_is_true(json_object_get(r, "controller"));
	}
	if (controllers > 1)
		cause(causes, "FieldValueInvalid", "metadata.ownerReferences",
		      "Invalid value: only one reference can have Controller "
		      "set to true. Found \"true\" in references for %d "
		      "owners",
		      controllers);
}

void meta_validate(const struct resource_type *t, const json_t *obj,
		   json_t *causes)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	json_t *ann = json_object_get(meta, "annotations");
	const char *k;
	json_t *v;

	if (!name || !*name)
		cause(causes, "FieldValueRequired", "metadata.name",
		      "Required value: name or generateName is required");
	else
		validate_name(t, name, causes);
	validate_labels(json_object_get(meta, "labels"), causes);
	json_object_foreach(ann, k, v)
	{
		if (!label_key_ok(k) || !json_is_string(v))
			cause(causes, "FieldValueInvalid",
			      "metadata.annotations",
			      "Invalid value: \"%s\": name part must consist "
			      "of alphanumeric characters, '-', '_' or '.', "
			      "and must start and end with an alphanumeric "
			      "character",
			      k);
	}
	validate_owners(json_object_get(meta, "ownerReferences"), causes);
}

bool builtin_tracks_generation(const struct resource_type *t)
{
	static const char *const kinds[] = {"deployments", "replicasets",
					    "jobs", "customresourcedefinitions",
					    NULL};

	for (int i = 0; kinds[i]; i++)
		if (strcmp(t->resource, kinds[i]) == 0)
			return true;
	return false;
}

/* ---- defaults ---- */

static json_t *obj_at(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

static void set_default(json_t *obj, const char *key, json_t *value)
{
	if (!json_object_get(obj, key))
		json_object_set(obj, key, value);
	json_decref(value);
}

static void default_container(json_t *c)
{
	const char *image = json_string_value(json_object_get(c, "image"));
	const char *colon = image ? strrchr(image, ':') : NULL;
	bool latest =
		!colon || strchr(colon, '/') || strcmp(colon, ":latest") == 0;
	size_t i;
	json_t *p;

	set_default(c, "imagePullPolicy",
		    json_string(latest ? "Always" : "IfNotPresent"));
	set_default(c, "terminationMessagePath",
		    json_string("/dev/termination-log"));
	set_default(c, "terminationMessagePolicy", json_string("File"));
	set_default(c, "resources", json_object());
	json_array_foreach(json_object_get(c, "ports"), i, p)
		set_default(p, "protocol", json_string("TCP"));
}

static void default_pod_spec(json_t *spec)
{
	size_t i;
	json_t *c;

	set_default(spec, "restartPolicy", json_string("Always"));
	set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
	set_default(spec, "terminationGracePeriodSeconds", json_integer(30));
	set_default(spec, "schedulerName", json_string("default-scheduler"));
	set_default(spec, "securityContext", json_object());
	json_array_foreach(json_object_get(spec, "containers"), i, c)
		default_container(c);
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
		default_container(c);
}

static void default_service(struct devcluster *dc, json_t *obj,
			    const json_t *old)
{
	json_t *spec = obj_at(obj, "spec");
	const char *type = json_string_value(json_object_get(spec, "type"));
	json_t *old_spec = json_object_get(old, "spec");
	size_t i;
	json_t *p;

	set_default(spec, "type", json_string("ClusterIP"));
	set_default(spec, "sessionAffinity", json_string("None"));
	if (!json_object_get(spec, "clusterIP") &&
	    json_object_get(old_spec, "clusterIP"))
		json_object_set(spec, "clusterIP",
				json_object_get(old_spec, "clusterIP"));
	if (!json_object_get(spec, "clusterIP") &&
	    !(type && strcmp(type, "ExternalName") == 0)) {
		uint32_t ip = dc->next_cluster_ip++;
		char text[32];

		snprintf(text, sizeof(text), "%u.%u.%u.%u", ip >> 24,
			 (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
		json_object_set_new(spec, "clusterIP", json_string(text));
	}
	if (json_object_get(spec, "clusterIP") &&
	    !json_object_get(spec, "clusterIPs"))
		json_object_set_new(
			spec, "clusterIPs",
			json_pack("[O]", json_object_get(spec, "clusterIP")));
	set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
	set_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
	set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		set_default(p, "protocol", json_string("TCP"));
		if (json_object_get(p, "port"))
			set_default(p, "targetPort",
				    json_copy(json_object_get(p, "port")));
	}
	set_default(obj, "status", json_pack("{s:{}}", "loadBalancer"));
}

static void default_workload(json_t *obj, bool deployment)
{
	json_t *spec = obj_at(obj, "spec");
	json_t *tmpl = json_object_get(spec, "template");

	set_default(spec, "replicas", json_integer(1));
	if (deployment) {
		set_default(spec, "revisionHistoryLimit", json_integer(10));
		set_default(spec, "progressDeadlineSeconds", json_integer(600));
		set_default(spec, "strategy",
			    json_pack("{s:s,s:{s:s,s:s}}", "type",
				      "RollingUpdate", "rollingUpdate",
				      "maxUnavailable", "25%", "maxSurge",
				      "25%"));
	}
	if (json_is_object(tmpl))
		default_pod_spec(obj_at(tmpl, "spec"));
}

void builtin_default(struct devcluster *dc, const struct resource_type *t,
		     json_t *obj, const json_t *old)
{
	const char *r = t->resource;
	const char *g = t->group;

	if (!*g && strcmp(r, "namespaces") == 0) {
		json_t *labels = obj_at(obj_at(obj, "metadata"), "labels");
		const char *name = json_string_value(json_object_get(
			json_object_get(obj, "metadata"), "name"));

		if (name)
			json_object_set_new(labels,
					    "kubernetes.io/metadata.name",
					    json_string(name));
		set_default(obj_at(obj, "spec"), "finalizers",
			    json_pack("[s]", "kubernetes"));
		set_default(obj_at(obj, "status"), "phase",
			    json_string("Active"));
	} else if (!*g && strcmp(r, "services") == 0) {
		default_service(dc, obj, old);
	} else if (!*g && strcmp(r, "pods") == 0) {
		default_pod_spec(obj_at(obj, "spec"));
		set_default(obj_at(obj, "status"), "phase",
			    json_string("Pending"));
	} else if (!*g && strcmp(r, "secrets") == 0) {
		set_default(obj, "type", json_string("Opaque"));
	} else if (strcmp(g, "apps") == 0) {
		default_workload(obj, strcmp(r, "deployments") == 0);
	} else if (strcmp(g, "batch") == 0 && strcmp(r, "jobs") == 0) {
		json_t *spec = obj_at(obj, "spec");

		if (!old)
			jobctl_default(obj);
		if (json_is_object(json_object_get(spec, "template")))
			default_pod_spec(obj_at(
				json_object_get(spec, "template"), "spec"));
	}
}

/* ---- validation ---- */

static void validate_containers(json_t *spec, const char *prefix,
				json_t *causes)
{
	json_t *cs = json_object_get(spec, "containers");
	size_t i;
	json_t *c;
	char field[256];

	snprintf(field, sizeof(field), "%s.containers", prefix);
	if (!json_is_array(cs) || json_array_size(cs) == 0) {
		cause(causes, "FieldValueRequired", field, "Required value");
		return;
	}
	json_array_foreach(cs, i, c)
	{
		if (!json_string_length(json_object_get(c, "name"))) {
			snprintf(field, sizeof(field),
				 "%s.containers[%zu].name", prefix, i);
			cause(causes, "FieldValueRequired", field,
			      "Required value");
		}
		if (!json_string_length(json_object_get(c, "image"))) {
			snprintf(field, sizeof(field),
				 "%s.containers[%zu].image", prefix, i);
			cause(causes, "FieldValueRequired", field,
			      "Required value");
		}
	}
}

static void validate_workload(const json_t *obj, const json_t *old,
			      json_t *causes)
{
	json_t *spec = json_object_get(obj, "spec");
	json_t *sel = json_object_get(spec, "selector");
	json_t *tmpl = json_object_get(spec, "template");
	json_t *labels =
		json_object_get(json_object_get(tmpl, "metadata"), "labels");
	json_t *replicas = json_object_get(spec, "replicas");
	struct label_selector *ls = NULL;
	char err[256];

	const char *rp = json_string_value(json_object_get(
		json_object_get(tmpl, "spec"), "restartPolicy"));

	if (json_integer_value(replicas) < 0)
		cause(causes, "FieldValueInvalid", "spec.replicas",
		      "Invalid value: %lld: must be greater than or equal to 0",
		      (long long)json_integer_value(replicas));
	if (json_integer_value(replicas) > 2147483647)
		cause(causes, "FieldValueInvalid", "spec.replicas",
		      "Invalid value: %lld: must be no more than 2147483647",
		      (long long)json_integer_value(replicas));
	/* workload pods run forever: a template may only restart Always */
	if (rp && strcmp(rp, "Always") != 0)
		cause(causes, "FieldValueNotSupported",
		      "spec.template.spec.restartPolicy",
		      "Unsupported value: \"%s\": supported values: "
		      "\"Always\"",
		      rp);
	if (!json_is_object(sel)) {
		cause(causes, "FieldValueRequired", "spec.selector",
		      "Required value");
		return;
	}
	if (label_selector_from_json(sel, &ls, err, sizeof(err)) ||
	    label_selector_is_empty(ls)) {
		cause(causes, "FieldValueInvalid", "spec.selector",
		      "Invalid value: empty selector is invalid for "
		      "deployment");
	} else if (!label_selector_matches(ls, labels)) {
		cause(causes, "FieldValueInvalid",
		      "spec.template.metadata.labels",
		      "Invalid value: map[string]string{...}: `selector` does "
		      "not match template `labels`");
	}
	label_selector_free(ls);
	validate_containers(json_object_get(tmpl, "spec"), "spec.template.spec",
			    causes);
	if (old &&
	    !json_equal(sel, json_object_get(json_object_get(old, "spec"),
					     "selector")))
		cause(causes, "FieldValueInvalid", "spec.selector",
		      "Invalid value: field is immutable");
}

static void validate_service(const json_t *obj, json_t *causes)
{
	json_t *spec = json_object_get(obj, "spec");
	const char *type = json_string_value(json_object_get(spec, "type"));
	const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
	json_t *ports = json_object_get(spec, "ports");
	size_t i;
	json_t *p;
	char field[64];

	if (json_array_size(ports) == 0 &&
	    !(type && strcmp(type, "ExternalName") == 0) &&
	    !(ip && strcmp(ip, "None") == 0))
		cause(causes, "FieldValueRequired", "spec.ports",
		      "Required value");
	json_array_foreach(ports, i, p)
	{
		json_int_t port =
			json_integer_value(json_object_get(p, "port"));

		if (port < 1 || port > 65535) {
			snprintf(field, sizeof(field), "spec.ports[%zu].port",
				 i);
			cause(causes, "FieldValueInvalid", field,
			      "Invalid value: %lld: must be between 1 and "
			      "65535, inclusive",
			      (long long)port);
		}
	}
}

static void validate_config_keys(const json_t *obj, const char *field,
				 json_t *causes)
{
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(obj, field), k, v)
	{
		bool ok = *k && strlen(k) <= 253;

		for (const char *p = k; *p && ok; p++)
			ok = isalnum((unsigned char)*p) || strchr("-._", *p);
		if (!ok)
			cause(causes, "FieldValueInvalid", field,
			      "Invalid value: \"%s\": a valid config key must "
			      "consist of alphanumeric characters, '-', '_' or "
			      "'.' (e.g. 'key.name',  or 'KEY_NAME',  or "
			      "'key-name', regex used for validation is "
			      "'[-._a-zA-Z0-9]+')",
			      k);
	}
}

void builtin_validate(const struct resource_type *t, const json_t *obj,
		      const json_t *old, json_t *causes)
{
	const char *r = t->resource;
	const char *g = t->group;

	if (!*g && strcmp(r, "pods") == 0) {
		validate_containers(json_object_get(obj, "spec"), "spec",
				    causes);
	} else if (!*g && strcmp(r, "services") == 0) {
		validate_service(obj, causes);
	} else if (!*g && (strcmp(r, "configmaps") == 0 ||
			   strcmp(r, "secrets") == 0)) {
		validate_config_keys(obj, "data", causes);
	} else if (strcmp(g, "apps") == 0) {
		validate_workload(obj, old, causes);
	} else if (strcmp(g, "batch") == 0 && strcmp(r, "jobs") == 0) {
		json_t *tspec = json_object_get(
			json_object_get(json_object_get(obj, "spec"),
					"template"),
			"spec");
		const char *rp = json_string_value(
			json_object_get(tspec, "restartPolicy"));

		validate_containers(tspec, "spec.template.spec", causes);
		if (!rp || (strcmp(rp, "Never") && strcmp(rp, "OnFailure")))
			cause(causes, "FieldValueRequired",
			      "spec.template.spec.restartPolicy",
			      "Required value: valid values: \"OnFailure\", "
			      "\"Never\"");
	}
}

/*
 * status: builders for metav1.Status error bodies with the real server's
 * reasons and message formats (k8s.io/apimachinery/pkg/api/errors).
 */
#include "devcluster/status.h"

#include <stdio.h>
#include <string.h>

#include "devcluster/schema.h"
#include "util/alloc.h"

json_t *status_new(int code, const char *reason, const char *message,
		   const char *group, const char *kind, const char *name,
		   json_t *causes)
{
	json_t *st = json_object();
	json_t *details = json_object();

	json_object_set_new(st, "kind", json_string("Status"));
	json_object_set_new(st, "apiVersion", json_string("v1"));
	json_object_set_new(st, "metadata", json_object());
	json_object_set_new(st, "status",
			    json_string(code < 300 ? "Success" : "Failure"));
	if (message)
		json_object_set_new(st, "message", json_string(message));
	if (reason && *reason)
		json_object_set_new(st, "reason", json_string(reason));
	if (name)
		json_object_set_new(details, "name", json_string(name));
	if (group && *group)
		json_object_set_new(details, "group", json_string(group));
	if (kind)
		json_object_set_new(details, "kind", json_string(kind));
	if (causes)
		json_object_set_new(details, "causes", causes);
	if (json_object_size(details))
		json_object_set_new(st, "details", details);
	else
		json_decref(details);
	json_object_set_new(st, "code", json_integer(code));
	return st;
}

json_t *status_success(const struct resource_type *t, const char *name,
		       const char *uid)
{
	json_t *st =
		status_new(200, NULL, NULL, t->group, t->resource, name, NULL);
	json_t *details = json_object_get(st, "details");

	if (uid && details)
		json_object_set_new(details, "uid", json_string(uid));
	return st;
}

/* Builds `<qualified> "<name>" <suffix>` Statuses (not found, exists). */
static json_t *named(int code, const char *reason,
		     const struct resource_type *t, const char *name,
		     const char *suffix)
{
	char qual[256];
	char msg[1024];

	resource_type_qualified(t, qual, sizeof(qual));
	snprintf(msg, sizeof(msg), "%s \"%s\" %s", qual, name, suffix);
	return status_new(code, reason, msg, t->group, t->resource, name, NULL);
}

json_t *status_not_found(const struct resource_type *t, const char *name)
{
	return named(404, "NotFound", t, name, "not found");
}

json_t *status_already_exists(const struct resource_type *t, const char *name)
{
	return named(409, "AlreadyExists", t, name, "already exists");
}

json_t *status_conflict(const struct resource_type *t, const char *name)
{
	return status_conflict_msg(
		t, name,
		"the object has been modified; please apply your changes to "
		"the latest version and try again");
}

json_t *status_conflict_msg(const struct resource_type *t, const char *name,
			    const char *why)
{
	char qual[256];
	char *msg;
	json_t *st;

	resource_type_qualified(t, qual, sizeof(qual));
	msg = xasprintf("Operation cannot be fulfilled on %s \"%s\": %s", qual,
			name, why);
	st = status_new(409, "Conflict", msg, t->group, t->resource, name,
			NULL);
	free(msg);
	return st;
}

json_t *status_invalid(const struct resource_type *t, const char *name,
		       json_t *causes)
{
	char *msg = schema_invalid_message(t->kind, t->group, name, causes);
	json_t *st = status_new(422, "Invalid", msg, t->group, t->kind, name,
				causes);

	free(msg);
	return st;
}

json_t *status_invalid1(const struct resource_type *t, const char *name,
			const char *reason, const char *field,
			const char *message)
{
	json_t *causes = json_array();

	json_array_append_new(causes,
			      json_pack("{s:s,s:s,s:s}", "reason", reason,
					"message", message, "field", field));
	return status_invalid(t, name, causes);
}

json_t *status_bad_request(const char *message)
{
	return status_new(400, "BadRequest", message, NULL, NULL, NULL, NULL);
}

json_t *status_expired(const char *message)
{
	return status_new(410, "Expired", message, NULL, NULL, NULL, NULL);
}

json_t *status_method_not_allowed(void)
{
	return status_new(405, "MethodNotAllowed",
			  "the server does not allow this method on the "
			  "requested resource",
			  NULL, NULL, NULL, NULL);
}

json_t *status_path_not_found(void)
{
	return status_new(404, "NotFound",
			  "the server could not find the requested resource",
			  NULL, NULL, NULL, NULL);
}

json_t *status_unsupported_media(const char *accepted)
{
	char *msg = xasprintf("the body of the request was in an unknown "
			      "format - accepted media types include: %s",
			      accepted);
	json_t *st = status_new(415, "UnsupportedMediaType", msg, NULL, NULL,
				NULL, NULL);

	free(msg);
	return st;
}

json_t *status_too_large(size_t limit)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "Request entity too large: limit is %zu",
		 limit);
	return status_new(413, "RequestEntityTooLarge", msg, NULL, NULL, NULL,
			  NULL);
}

json_t *status_unauthorized(void)
{
	return status_new(401, "Unauthorized", "Unauthorized", NULL, NULL, NULL,
			  NULL);
}

json_t *status_too_many(int retry_after)
{
	json_t *st = status_new(429, "TooManyRequests",
				"Too many requests, please try again later.",
				NULL, NULL, NULL, NULL);
	json_t *details = json_object();

	json_object_set_new(details, "retryAfterSeconds",
			    json_integer(retry_after));
	json_object_set_new(st, "details", details);
	return st;
}

json_t *status_internal(const char *message)
{
	char *msg = xasprintf("Internal error occurred: %s", message);
	json_t *st =
		status_new(500, "InternalError", msg, NULL, NULL, NULL, NULL);

	free(msg);
	return st;
}

json_t *status_not_acceptable(void)
{
	return status_new(406, "NotAcceptable",
			  "only the following media types are accepted: "
			  "application/json, application/yaml, "
			  "application/vnd.kubernetes.protobuf",
			  NULL, NULL, NULL, NULL);
}

int status_code(const json_t *status)
{
	return (int)json_integer_value(json_object_get(status, "code"));
}

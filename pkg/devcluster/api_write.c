/*
 * api_write: the write side of the API - create, update, patch (merge,
 * JSON, strategic, server-side apply), delete and deletecollection - with
 * the real server's preconditions: namespaces must exist, PUT needs the
 * current resourceVersion, generation moves only with the spec, /status
 * writes only status, finalizers hold deletion, schemas prune, default and
 * validate custom resources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "devcluster/api_internal.h"
#include "devcluster/schema.h"
#include "devcluster/smp.h"
#include "devcluster/ssa.h"
#include "devcluster/status.h"
#include "json/json_patch.h"
#include "json/merge_patch.h"
#include "json/yaml.h"
#include "kube/selector.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/rfc3339.h"

#define CR_PATCH_TYPES                                                \
	"application/json-patch+json, application/merge-patch+json, " \
	"application/apply-patch+yaml"
#define BUILTIN_PATCH_TYPES                                           \
	"application/json-patch+json, application/merge-patch+json, " \
	"application/strategic-merge-patch+json, application/apply-patch+yaml"

enum validation {
	VALIDATE_WARN,
	VALIDATE_STRICT,
	VALIDATE_IGNORE
};

struct write_ctx {
	struct devcluster *dc;
	const struct api_request *req;
	struct route *rt;
	struct api_response *resp;
	struct view view;
	enum validation validation;
	bool dry_run;
	char *manager;
	char now[32];
	char api_version[256];
};

static bool media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return ctype && strncmp(ctype, want, n) == 0 &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static void add_warning(struct write_ctx *w, const char *text)
{
	char *h = xasprintf("299 - \"%s\"", text);

	if (!w->resp->warnings)
		w->resp->warnings = json_array();
	json_array_append_new(w->resp->warnings, json_string(h));
	free(h);
}

/* Decodes a JSON or YAML body into an object; NULL + Status on error. */
static json_t *decode_body(struct write_ctx *w, bool yaml_ok, json_t **status)
{
	json_error_t jerr;
	char err[512];
	json_t *obj;

	if (w->req->body_len == 0) {
		*status = status_bad_request("the request body is empty");
		return NULL;
	}
	obj = json_loadb(w->req->body, w->req->body_len, JSON_REJECT_DUPLICATES,
			 &jerr);
	if (!obj && yaml_ok) {
		obj = yaml_to_json(w->req->body, w->req->body_len, err,
				   sizeof(err));
		if (!obj) {
			*status = status_bad_request(err);
			return NULL;
		}
	} else if (!obj) {
		snprintf(err, sizeof(err),
			 "couldn't get version/kind; json parse error: %s "
			 "(line %d, column %d)",
			 jerr.text, jerr.line, jerr.column);
		*status = status_bad_request(err);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		*status = status_bad_request(
			"couldn't get version/kind; json parse error: json: "
			"cannot unmarshal non-object into Go value of type "
			"struct { APIVersion string \"json:\\\"apiVersion,"
			"omitempty\\\"\"; Kind string \"json:\\\"kind,"
			"omitempty\\\"\" }");
		return NULL;
	}
	return obj;
}

static json_t *check_type_meta(struct write_ctx *w, json_t *obj)
{
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	char msg[512];

	if (!kind || !*kind) {
		snprintf(msg, sizeof(msg),
			 "Object 'Kind' is missing in '%.200s'", w->req->body);
		return status_bad_request(msg);
	}
	if (!av || !*av) {
		snprintf(msg, sizeof(msg),
			 "Object 'apiVersion' is missing in '%.200s'",
			 w->req->body);
		return status_bad_request(msg);
	}
	if (strcmp(av, w->api_version) != 0) {
		snprintf(msg, sizeof(msg),
			 "the API version in the data (%s) does not match the "
			 "expected API version (%s)",
			 av, w->api_version);
		return status_bad_request(msg);
	}
	if (strcmp(kind, w->rt->type->kind) != 0) {
		snprintf(msg, sizeof(msg),
			 "%s in version \"%s\" cannot be handled as a %s: "
			 "no kind \"%s\" is registered for version \"%s\"",
			 w->rt->type->kind, w->rt->type->version,
			 w->rt->type->kind, kind, w->api_version);
		return status_bad_request(msg);
	}
	return NULL;
}

static json_t *meta_of(json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");

	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	return meta;
}

static const char *meta_string(json_t *obj, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(obj, "metadata"), key));
}

/* Prunes unknown fields per fieldValidation; a Status when Strict fails. */
static json_t *prune_unknown(struct write_ctx *w, json_t *obj)
{
	json_t *pruned = json_array();
	json_t *st = NULL;
	size_t i;
	json_t *p;
	char msg[1024];

	schema_prune(obj, w->rt->type->schema, pruned);
	if (json_array_size(pruned) && w->validation == VALIDATE_STRICT) {
		int n = snprintf(msg, sizeof(msg),
				 "%s in version \"%s\" cannot be handled as a "
				 "%s: strict decoding error: ",
				 w->rt->type->kind, w->rt->type->version,
				 w->rt->type->kind);
		json_array_foreach(pruned, i, p)
		{
			if (n > 0 && (size_t)n < sizeof(msg))
				n += snprintf(msg + n, sizeof(msg) - (size_t)n,
					      "%sunknown field \"%s\"",
					      i ? ", " : "",
					      json_string_value(p));
		}
		st = status_bad_request(msg);
	} else if (w->validation == VALIDATE_WARN) {
		json_array_foreach(pruned, i, p)
		{
			snprintf(msg, sizeof(msg), "unknown field \\\"%s\\\"",
				 json_string_value(p));
			add_warning(w, msg);
		}
	}
	json_decref(pruned);
	return st;
}

/*
 * Admission for every write: defaults and validation by type, metadata
 * rules. Returns a Status on rejection.
 */
static json_t *admit(struct write_ctx *w, json_t *obj, const json_t *old)
{
	const struct resource_type *t = w->rt->type;
	json_t *causes = json_array();
	json_t *st;

	if (t->is_custom && t->schema) {
		st = prune_unknown(w, obj);
		if (st) {
			json_decref(causes);
			return st;
		}
		schema_apply_defaults(obj, t->schema);
		schema_validate(obj, t->schema, causes);
	} else if (!t->is_custom) {
		builtin_default(w->dc, t, obj, old);
		builtin_validate(t, obj, old, causes);
	}
	meta_validate(t, obj, causes);
	if (strcmp(t->resource, "customresourcedefinitions") == 0 &&
	    json_array_size(causes) == 0) {
		json_t *more = crd_validate(w->dc, obj, old);

		if (more)
			json_array_extend(causes, more);
		json_decref(more);
	}
	if (json_array_size(causes)) {
		const char *name = meta_string(obj, "name");

		return status_invalid(t, name ? name : "", causes);
	}
	json_decref(causes);
	return NULL;
}

static void respond_object(struct write_ctx *w, int code, json_t *obj)
{
	api_respond_json(w->resp, code, view_render(&w->view, obj), NULL);
}

static bool namespace_usable(struct write_ctx *w, const char *ns)
{
	struct collection *nsc =
		store_find_collection(&w->dc->store, "", "namespaces");
	struct object *o = nsc ? store_get(nsc, "", ns) : NULL;
	char msg[512];

	if (!o) {
		json_t *st = status_new(404, "NotFound", NULL, NULL,
					"namespaces", ns, NULL);

		snprintf(msg, sizeof(msg), "namespaces \"%s\" not found", ns);
		json_object_set_new(st, "message", json_string(msg));
		api_respond_status(w->resp, st);
		return false;
	}
	if (o->deleting) {
		char qual[256];

		resource_type_qualified(w->rt->type, qual, sizeof(qual));
		snprintf(msg, sizeof(msg),
			 "%s \"%s\" is forbidden: unable to create new content "
			 "in namespace %s because it is being terminated",
			 qual, w->rt->name ? w->rt->name : "", ns);
		api_respond_status(w->resp, status_new(403, "Forbidden", msg,
						       NULL, NULL, NULL, NULL));
		return false;
	}
	return true;
}

/* n random bytes from the kernel, without opening a file per call. */
static void random_bytes(unsigned char *raw, size_t n)
{
	if (getrandom(raw, n, 0) != (ssize_t)n)
		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char)rand();
}

static void random_suffix(char *out, size_t n)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char raw[16];

	random_bytes(raw, n);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
	out[n] = '\0';
}

static void new_uid(char *out)
{
	unsigned char raw[16];

	random_bytes(raw, sizeof(raw));
	raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40);
	raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
		 "%02x%02x",
		 raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
		 raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14],
		 raw[15]);
}

static const char *const server_owned[] = {"uid",
					   "creationTimestamp",
					   "generation",
					   "resourceVersion",
					   "deletionTimestamp",
					   "deletionGracePeriodSeconds",
					   "selfLink",
					   NULL};

static void init_server_fields(struct write_ctx *w, json_t *obj)
{
	json_t *meta = meta_of(obj);
	char uid[37];

	for (int i = 0; server_owned[i]; i++)
		json_object_del(meta, server_owned[i]);
	new_uid(uid);
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(w->now));
	if (w->rt->type->is_custom || builtin_tracks_generation(w->rt->type))
		json_object_set_new(meta, "generation", json_integer(1));
	if (w->rt->type->has_status &&
	    (w->rt->type->is_custom || builtin_tracks_generation(w->rt->type)))
		json_object_del(obj, "status");
}

/* Copies the server-owned metadata of `old` into `obj`. */
static void keep_server_fields(json_t *obj, const json_t *old)
{
	json_t *meta = meta_of(obj);
	json_t *old_meta = json_object_get(old, "metadata");

	for (int i = 0; server_owned[i]; i++) {
		json_t *v = json_object_get(old_meta, server_owned[i]);

		if (v)
			json_object_set(meta, server_owned[i], v);
		else
			json_object_del(meta, server_owned[i]);
	}
	json_object_set(meta, "name", json_object_get(old_meta, "name"));
	if (json_object_get(old_meta, "namespace"))
		json_object_set(meta, "namespace",
				json_object_get(old_meta, "namespace"));
	if (!json_object_get(meta, "managedFields") &&
	    json_object_get(old_meta, "managedFields"))
		json_object_set(meta, "managedFields",
				json_object_get(old_meta, "managedFields"));
}

static json_t *without(const json_t *obj, const char *a, const char *b)
{
	json_t *copy = json_copy((json_t *)obj);

	json_object_del(copy, a);
	if (b)
		json_object_del(copy, b);
	return copy;
}

static bool spec_changed(const struct resource_type *t, const json_t *obj,
			 const json_t *old)
{
	json_t *x = without(obj, "metadata", t->has_status ? "status" : NULL);
	json_t *y = without(old, "metadata", t->has_status ? "status" : NULL);
	bool changed = !json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return changed;
}

static void bump_generation(json_t *obj)
{
	json_t *meta = meta_of(obj);
	json_int_t g = json_integer_value(json_object_get(meta, "generation"));

	json_object_set_new(meta, "generation", json_integer(g + 1));
}

static json_t *finalizer_rule(struct write_ctx *w, json_t *obj,
			      const json_t *old)
{
	json_t *fin =
		json_object_get(json_object_get(obj, "metadata"), "finalizers");
	json_t *old_fin =
		json_object_get(json_object_get(old, "metadata"), "finalizers");
	size_t i, j;
	json_t *f, *g;
	char msg[512];

	if (!json_object_get(json_object_get(old, "metadata"),
			     "deletionTimestamp"))
		return NULL;
	json_array_foreach(fin, i, f)
	{
		bool known = false;

		json_array_foreach(old_fin, j, g) known |= json_equal(f, g);
		if (!known) {
			snprintf(msg, sizeof(msg),
				 "Forbidden: no new finalizers can be added if "
				 "the object is being deleted, found new "
				 "finalizers []string{\"%s\"}",
				 json_string_value(f));
			return status_invalid1(w->rt->type,
					       w->rt->name ? w->rt->name : "",
					       "FieldValueForbidden",
					       "metadata.finalizers", msg);
		}
	}
	return NULL;
}

/*
 * Whether a write removes the object: it is being deleted, nothing holds it
 * any more and no grace period is running (a pod in its grace period stays
 * until the kubelet deletes it), as the real store decides on update.
 */
static bool no_finalizers_left(json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *fin = json_object_get(meta, "finalizers");

	return json_object_get(meta, "deletionTimestamp") &&
	       json_integer_value(json_object_get(
		       meta, "deletionGracePeriodSeconds")) == 0 &&
	       (!json_is_array(fin) || json_array_size(fin) == 0);
}

static void after_write(struct devcluster *dc, const struct resource_type *t,
			json_t *obj)
{
	dc->dirty = true;
	if (strcmp(t->resource, "customresourcedefinitions") == 0 &&
	    !t->is_custom)
		crd_established(dc, obj);
}

/*
 * Stores `obj` (request form) as the new version of `old` (may be NULL for
 * create). `code` is the success code. Takes obj.
 */
static void commit(struct write_ctx *w, json_t *obj, const json_t *old,
		   int code)
{
	struct collection *c = w->rt->type->coll;
	json_t *stored;

	obj = view_to_storage(&w->view, obj);
	if (old && json_equal(obj, old)) {
		respond_object(w, 200, obj);
		return;
	}
	if (w->dry_run) {
		respond_object(w, code, obj);
		return;
	}
	if (old && no_finalizers_left(obj)) {
		json_t *last = json_deep_copy(obj);

		store_delete(&w->dc->store, c, meta_string(obj, "namespace"),
			     meta_string(obj, "name"), last);
		json_array_append_new(w->dc->gc_queue,
				      json_string(meta_string(obj, "uid")));
		after_write(w->dc, w->rt->type, last);
		json_decref(last);
		respond_object(w, 200, obj);
		return;
	}
	store_put(&w->dc->store, c, obj);
	stored = json_incref(obj);
	after_write(w->dc, w->rt->type, stored);
	json_decref(stored);
	respond_object(w, code, obj);
}

/* ---- create ---- */

/*
 * Creates `obj` (taking the reference). An apply that creates passes
 * `applied`: its managedFields already record the Apply operation, which
 * must not be turned into an Update entry.
 */
static void do_create(struct write_ctx *w, json_t *obj, bool applied)
{
	json_t *meta = meta_of(obj);
	const char *ns = meta_string(obj, "namespace");
	const char *name = meta_string(obj, "name");
	const char *gen = meta_string(obj, "generateName");
	json_t *st;
	char *generated = NULL;

	if (w->rt->type->namespaced) {
		if (ns && *ns && strcmp(ns, w->rt->ns ? w->rt->ns : "") != 0) {
			api_respond_status(
				w->resp,
				status_bad_request(
					"the namespace of the provided object "
					"does not match the namespace sent on "
					"the request"));
			goto out;
		}
		json_object_set_new(meta, "namespace", json_string(w->rt->ns));
	} else {
		json_object_del(meta, "namespace");
	}
	if ((!name || !*name) && gen && *gen) {
		char suffix[6];

		random_suffix(suffix, 5);
		generated = xasprintf("%s%s", gen, suffix);
		json_object_set_new(meta, "name", json_string(generated));
	}
	init_server_fields(w, obj);
	st = admit(w, obj, NULL);
	if (st) {
		api_respond_status(w->resp, st);
		goto out;
	}
	name = meta_string(obj, "name");
	if (w->rt->type->namespaced && !namespace_usable(w, w->rt->ns))
		goto out;
	if (store_get(w->rt->type->coll, w->rt->ns, name)) {
		api_respond_status(w->resp,
				   status_already_exists(w->rt->type, name));
		goto out;
	}
	if (strcmp(w->rt->type->resource, "customresourcedefinitions") == 0)
		crd_prepare(obj, true);
	if (!applied)
		ssa_track_update(obj, NULL, w->manager, w->rt->type->schema,
				 w->api_version, NULL, w->now);
	commit(w, json_incref(obj), NULL, 201);
out:
	free(generated);
	json_decref(obj);
}

/* ---- update (PUT and the tail of PATCH) ---- */

static json_t *check_rv(struct write_ctx *w, json_t *obj, struct object *o,
			bool required)
{
	const char *rv = meta_string(obj, "resourceVersion");
	char cur[32];

	if (!rv || !*rv) {
		if (!required)
			return NULL;
		return status_invalid1(w->rt->type, w->rt->name,
				       "FieldValueInvalid",
				       "metadata.resourceVersion",
				       "Invalid value: 0x0: must be specified "
				       "for an update");
	}
	snprintf(cur, sizeof(cur), "%llu", (unsigned long long)o->rv);
	if (strcmp(rv, cur) != 0)
		return status_conflict(w->rt->type, w->rt->name);
	return NULL;
}

/* Applies subresource rules and writes obj as the successor of o. */
static void finish_update(struct write_ctx *w, json_t *obj, struct object *o)
{
	json_t *old = object_parse(o);
	const char *sub = w->rt->subresource;
	json_t *st;

	old = view_render(&w->view, old);
	if (sub && strcmp(sub, "status") == 0) {
		json_t *status = json_incref(json_object_get(obj, "status"));
		json_t *mf = json_incref(json_object_get(
			json_object_get(obj, "metadata"), "managedFields"));

		json_decref(obj);
		obj = json_deep_copy(old);
		if (status)
			json_object_set_new(obj, "status", status);
		else
			json_object_del(obj, "status");
		if (mf)
			json_object_set_new(meta_of(obj), "managedFields", mf);
	} else {
		keep_server_fields(obj, old);
		if (w->rt->type->has_status) {
			json_t *s = json_object_get(old, "status");

			if (s)
				json_object_set(obj, "status", s);
			else
				json_object_del(obj, "status");
		}
	}
	st = finalizer_rule(w, obj, old);
	if (!st)
		st = admit(w, obj, old);
	if (st) {
		api_respond_status(w->resp, st);
		goto out;
	}
	if ((!sub || strcmp(sub, "status") != 0) &&
	    json_object_get(json_object_get(obj, "metadata"), "generation") &&
	    spec_changed(w->rt->type, obj, old))
		bump_generation(obj);
	ssa_track_update(obj, old, w->manager, w->rt->type->schema,
			 w->api_version, sub, w->now);
	commit(w, json_incref(obj), old, 200);
out:
	json_decref(obj);
	json_decref(old);
}

static void do_update(struct write_ctx *w, json_t *obj)
{
	struct object *o = store_get(w->rt->type->coll, w->rt->ns, w->rt->name);
	const char *name = meta_string(obj, "name");
	json_t *st;
	char msg[512];

	if (name && strcmp(name, w->rt->name) != 0) {
		snprintf(msg, sizeof(msg),
			 "the name of the object (%s) does not match the name "
			 "on the URL (%s)",
			 name, w->rt->name);
		api_respond_status(w->resp, status_bad_request(msg));
		json_decref(obj);
		return;
	}
	if (!o) {
		api_respond_status(w->resp,
				   status_not_found(w->rt->type, w->rt->name));
		json_decref(obj);
		return;
	}
	st = check_rv(w, obj, o, w->rt->type->is_custom);
	if (st) {
		api_respond_status(w->resp, st);
		json_decref(obj);
		return;
	}
	finish_update(w, obj, o);
}

/* ---- patch ---- */

static json_t *apply_patch(struct write_ctx *w, const char *ctype,
			   json_t *current, json_t *patch, json_t **status)
{
	char err[512];
	json_t *out = NULL;
	int rc;

	if (media_is(ctype, "application/merge-patch+json")) {
		if (!json_is_object(patch)) {
			*status = status_bad_request(
				"json: cannot unmarshal into Go value of type "
				"map[string]interface {}");
			return NULL;
		}
		return merge_patch_apply(current, patch);
	}
	if (media_is(ctype, "application/json-patch+json")) {
		rc = json_patch_apply(current, patch, &out, err, sizeof(err));
		if (rc == ERR_BADREQUEST)
			*status = status_bad_request(err);
		else if (rc)
			*status = status_new(422, "Invalid", err, NULL, NULL,
					     NULL, NULL);
		return out;
	}
	rc = smp_apply(current, patch, w->rt->type->kind, &out, err,
		       sizeof(err));
	if (rc)
		*status = status_bad_request(err);
	return out;
}

static void do_apply(struct write_ctx *w, json_t *applied, struct object *o)
{
	const char *force = api_query(w->req, "force");
	json_t *live = o ? view_render(&w->view, object_parse(o)) : NULL;
	json_t *out = NULL, *causes = NULL, *st;
	char err[1024];
	int rc;

	st = check_type_meta(w, applied);
	if (st) {
		api_respond_status(w->resp, st);
		goto out;
	}
	if (!api_query(w->req, "fieldManager")) {
		api_respond_status(
			w->resp,
			status_invalid1(w->rt->type, w->rt->name,
					"FieldValueRequired", "fieldManager",
					"Required value: is required for apply "
					"patch"));
		goto out;
	}
	rc = ssa_apply(live, applied, w->manager,
		       force && strcmp(force, "true") == 0, w->rt->type->schema,
		       w->api_version, w->rt->subresource, w->now, &out,
		       &causes, err, sizeof(err));
	if (rc == ERR_CONFLICT) {
		st = status_new(409, "Conflict", err, w->rt->type->group,
				w->rt->type->resource, w->rt->name, causes);
		api_respond_status(w->resp, st);
		goto out;
	}
	if (rc) {
		json_decref(causes);
		api_respond_status(w->resp, status_bad_request(err));
		goto out;
	}
	json_decref(causes);
	json_object_set_new(meta_of(out), "name", json_string(w->rt->name));
	if (!o) {
		do_create(w, out, true);
		goto out;
	}
	st = check_rv(w, applied, o, false);
	if (st) {
		api_respond_status(w->resp, st);
		json_decref(out);
		goto out;
	}
	finish_update(w, out, o);
out:
	json_decref(live);
	json_decref(applied);
}

static void do_patch(struct write_ctx *w)
{
	const char *ctype = w->req->content_type;
	struct object *o;
	json_t *patch, *current, *out, *st = NULL;
	bool is_apply = media_is(ctype, "application/apply-patch+yaml");
	bool smp = media_is(ctype, "application/strategic-merge-patch+json");

	if (!is_apply && !media_is(ctype, "application/merge-patch+json") &&
	    !media_is(ctype, "application/json-patch+json") &&
	    !(smp && !w->rt->type->is_custom)) {
		api_respond_status(w->resp,
				   status_unsupported_media(
					   w->rt->type->is_custom
						   ? CR_PATCH_TYPES
						   : BUILTIN_PATCH_TYPES));
		return;
	}
	if (is_apply) {
		patch = decode_body(w, true, &st);
	} else {
		json_error_t jerr;

		patch = json_loadb(w->req->body, w->req->body_len, 0, &jerr);
		if (!patch) {
			char msg[512];

			snprintf(msg, sizeof(msg),
				 "error decoding patch: %s (line %d, column "
				 "%d)",
				 jerr.text, jerr.line, jerr.column);
			st = status_bad_request(msg);
		}
	}
	if (!patch) {
		api_respond_status(w->resp, st);
		return;
	}
	o = store_get(w->rt->type->coll, w->rt->ns, w->rt->name);
	if (is_apply) {
		do_apply(w, patch, o);
		return;
	}
	if (!o) {
		api_respond_status(w->resp,
				   status_not_found(w->rt->type, w->rt->name));
		json_decref(patch);
		return;
	}
	current = view_render(&w->view, object_parse(o));
	out = apply_patch(w, ctype, current, patch, &st);
	json_decref(current);
	json_decref(patch);
	if (!out) {
		api_respond_status(w->resp, st);
		return;
	}
	st = check_rv(w, out, o, false);
	if (!st && !json_is_object(json_object_get(out, "metadata")))
		st = status_bad_request("metadata must be an object");
	if (st) {
		json_decref(out);
		api_respond_status(w->resp, st);
		return;
	}
	finish_update(w, out, o);
}

/* ---- scale subresource ---- */

/* Sets an integer at a dotted path, creating objects on the way. */
static void path_set_int(json_t *obj, const char *path, json_int_t v)
{
	char copy[256];
	char *save = NULL;
	char *p = strtok_r((snprintf(copy, sizeof(copy), "%s", path), copy),
			   ".", &save);

	while (p) {
		char *next = strtok_r(NULL, ".", &save);
		json_t *child;

		if (!next) {
			json_object_set_new(obj, p, json_integer(v));
			return;
		}
		child = json_object_get(obj, p);
		if (!json_is_object(child)) {
			child = json_object();
			json_object_set_new(obj, p, child);
		}
		obj = child;
		p = next;
	}
}

static json_t *scale_of(const struct resource_type *t, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");

	return json_pack(
		"{s:s,s:s,s:{s:O,s:O,s:O,s:O},s:{s:I},s:{s:I}}", "kind",
		"Scale", "apiVersion", "autoscaling/v1", "metadata", "name",
		json_object_get(meta, "name"), "namespace",
		json_object_get(meta, "namespace") ?: json_null(), "uid",
		json_object_get(meta, "uid"), "resourceVersion",
		json_object_get(meta, "resourceVersion"), "spec", "replicas",
		json_integer_value(api_path_get(obj, t->scale_spec_path)),
		"status", "replicas",
		json_integer_value(api_path_get(obj, t->scale_status_path)));
}

/*
 * PUT or PATCH of /scale: the change is made to a Scale view of the object
 * and its spec.replicas written back through the main update path; the
 * answer is the resulting Scale.
 */
static void do_scale_write(struct write_ctx *w)
{
	struct object *o = store_get(w->rt->type->coll, w->rt->ns, w->rt->name);
	json_t *obj, *scale, *out = NULL, *st = NULL, *patch;
	json_t *replicas;

	if (!o) {
		api_respond_status(w->resp,
				   status_not_found(w->rt->type, w->rt->name));
		return;
	}
	obj = view_render(&w->view, object_parse(o));
	scale = scale_of(w->rt->type, obj);
	patch = json_loadb(w->req->body, w->req->body_len, 0, NULL);
	if (!patch)
		st = status_bad_request("error decoding the Scale body");
	else if (w->req->method == HTTP_PUT)
		out = json_incref(patch);
	else
		out = apply_patch(w, w->req->content_type, scale, patch, &st);
	replicas = json_object_get(json_object_get(out, "spec"), "replicas");
	if (!st && !json_is_integer(replicas))
		st = status_bad_request(
			"Scale spec.replicas must be an integer");
	if (st) {
		api_respond_status(w->resp, st);
		goto out;
	}
	path_set_int(obj, w->rt->type->scale_spec_path,
		     json_integer_value(replicas));
	w->rt->subresource = NULL;
	finish_update(w, json_incref(obj), o);
	if (w->resp->code == 200) {
		struct object *now =
			store_get(w->rt->type->coll, w->rt->ns, w->rt->name);
		json_t *cur = view_render(&w->view, object_parse(now));

		api_respond_json(w->resp, 200, scale_of(w->rt->type, cur),
				 NULL);
		json_decref(cur);
	}
out:
	json_decref(patch);
	json_decref(out);
	json_decref(scale);
	json_decref(obj);
}

/* ---- delete ---- */

struct delete_opts {
	const char *propagation;
	const char *uid;
	const char *rv;
	bool dry_run;
	long grace; /* gracePeriodSeconds, -1 when not given */
};

static json_t *parse_delete_opts(struct write_ctx *w, json_t **body,
				 struct delete_opts *d)
{
	const char *q = api_query(w->req, "propagationPolicy");
	json_t *pre, *dry;

	memset(d, 0, sizeof(*d));
	d->grace = -1;
	*body = NULL;
	if (w->req->body_len) {
		json_error_t jerr;

		*body = json_loadb(w->req->body, w->req->body_len, 0, &jerr);
		if (!json_is_object(*body))
			return status_bad_request(
				"the body of the request was not a valid "
				"DeleteOptions object");
		d->propagation = json_string_value(
			json_object_get(*body, "propagationPolicy"));
		pre = json_object_get(*body, "preconditions");
		d->uid = json_string_value(json_object_get(pre, "uid"));
		d->rv = json_string_value(
			json_object_get(pre, "resourceVersion"));
		dry = json_object_get(*body, "dryRun");
		d->dry_run = json_is_array(dry) && json_array_size(dry) > 0;
		if (json_is_integer(
			    json_object_get(*body, "gracePeriodSeconds")))
			d->grace = (long)json_integer_value(
				json_object_get(*body, "gracePeriodSeconds"));
	}
	if (q)
		d->propagation = q;
	if (api_query(w->req, "gracePeriodSeconds")) {
		char *end;
		const char *g = api_query(w->req, "gracePeriodSeconds");
		long v = strtol(g, &end, 10);

		if (!*g || *end)
			return status_bad_request(
				"gracePeriodSeconds: invalid value");
		d->grace = v;
	}
	if (d->grace < -1)
		d->grace = 0; /* negative means now, as the real server does */
	if (w->dry_run)
		d->dry_run = true;
	if (d->propagation && strcmp(d->propagation, "Orphan") != 0 &&
	    strcmp(d->propagation, "Background") != 0 &&
	    strcmp(d->propagation, "Foreground") != 0) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "propagationPolicy: Unsupported value: \"%s\": "
			 "supported values: \"Foreground\", \"Background\", "
			 "\"Orphan\"",
			 d->propagation);
		return status_new(422, "Invalid", msg, NULL, NULL, NULL, NULL);
	}
	return NULL;
}

static json_t *check_preconditions(struct write_ctx *w,
				   const struct delete_opts *d,
				   const struct object *o)
{
	char why[512];
	char cur[32];

	if (!o)
		return NULL;
	if (d->uid && strcmp(d->uid, o->uid) != 0) {
		snprintf(why, sizeof(why),
			 "Precondition failed: UID in precondition: %s, UID "
			 "in object meta: %s",
			 d->uid, o->uid);
		return status_conflict_msg(w->rt->type, w->rt->name, why);
	}
	snprintf(cur, sizeof(cur), "%llu", (unsigned long long)o->rv);
	if (d->rv && strcmp(d->rv, cur) != 0) {
		snprintf(why, sizeof(why),
			 "Precondition failed: ResourceVersion in "
			 "precondition: %s, ResourceVersion in object meta: "
			 "%s",
			 d->rv, cur);
		return status_conflict_msg(w->rt->type, w->rt->name, why);
	}
	return NULL;
}

static void add_finalizer(json_t *obj, const char *name)
{
	json_t *meta = meta_of(obj);
	json_t *fin = json_object_get(meta, "finalizers");
	size_t i;
	json_t *f;

	if (!json_is_array(fin)) {
		fin = json_array();
		json_object_set_new(meta, "finalizers", fin);
	}
	json_array_foreach(fin, i, f) if (strcmp(json_string_value(f) ?: "",
						 name) == 0) return;
	json_array_append_new(fin, json_string(name));
}

/* Marks or removes one object; the response carries the outcome. */
/*
 * The grace period a pod's deletion gets: the request's, else the pod's
 * terminationGracePeriodSeconds. Pods that never ran or have finished go at
 * once (0), as with the real server.
 */
static long pod_grace(const json_t *pod, long requested)
{
	json_t *spec = json_object_get(pod, "spec");
	const char *phase = json_string_value(
		json_object_get(json_object_get(pod, "status"), "phase"));
	json_t *tgps = json_object_get(spec, "terminationGracePeriodSeconds");

	if (!json_object_get(spec, "nodeName") ||
	    (phase &&
	     (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)))
		return 0;
	if (requested >= 0)
		return requested;
	return json_is_integer(tgps) ? (long)json_integer_value(tgps) : 30;
}

/*
 * Marks a running pod for graceful deletion: deletionTimestamp is when the
 * grace period ends; a later request may only shorten it. The kubelet
 * removes the pod once its containers have stopped.
 */
static void mark_graceful(json_t *obj, long grace)
{
	json_t *meta = meta_of(obj);
	json_t *cur = json_object_get(meta, "deletionGracePeriodSeconds");
	char when[32];

	if (json_object_get(meta, "deletionTimestamp") &&
	    json_integer_value(cur) <= grace)
		return;
	rfc3339_format((double)(time(NULL) + grace), when, sizeof(when));
	json_object_set_new(meta, "deletionTimestamp", json_string(when));
	json_object_set_new(meta, "deletionGracePeriodSeconds",
			    json_integer(grace));
}

json_t *api_delete_object(struct devcluster *dc, struct collection *c,
			  const struct resource_type *t, struct object *o,
			  const char *propagation, long grace, bool dry_run,
			  int *code)
{
	json_t *obj, *meta;
	char now[32];
	bool graceful = false;

	*code = 404;
	if (!o)
		return json_object();
	obj = object_parse(o);
	meta = meta_of(obj);
	*code = 200;
	if (!t->is_custom && !*t->group && strcmp(t->resource, "pods") == 0) {
		long g = pod_grace(obj, grace);

		graceful = g > 0;
		if (graceful) {
			mark_graceful(obj, g);
		} else if (json_integer_value(json_object_get(
				   meta, "deletionGracePeriodSeconds")) > 0) {
			/* the grace period ends now (the kubelet is done) */
			api_now(now, sizeof(now));
			json_object_set_new(meta, "deletionTimestamp",
					    json_string(now));
			json_object_set_new(meta, "deletionGracePeriodSeconds",
					    json_integer(0));
		}
	}
	if (propagation && strcmp(propagation, "Foreground") == 0)
		add_finalizer(obj, "foregroundDeletion");
	else if (propagation && strcmp(propagation, "Orphan") == 0)
		add_finalizer(obj, "orphan");
	bool ns_held = false;

	if (strcmp(t->resource, "namespaces") == 0 && !t->is_custom) {
		json_t *status = json_object_get(obj, "status");

		if (!json_is_object(status)) {
			status = json_object();
			json_object_set_new(obj, "status", status);
		}
		json_object_set_new(status, "phase",
				    json_string("Terminating"));
		/* spec.finalizers hold a namespace until it is emptied */
		ns_held = json_array_size(json_object_get(
				  json_object_get(obj, "spec"), "finalizers")) >
			  0;
	}
	if (strcmp(t->resource, "customresourcedefinitions") == 0 &&
	    !t->is_custom)
		add_finalizer(obj,
			      "customresourcecleanup.apiextensions.k8s.io");
	if (!ns_held && !graceful &&
	    !json_array_size(json_object_get(meta, "finalizers"))) {
		if (!dry_run) {
			json_t *last = json_deep_copy(obj);

			store_delete(&dc->store, c, o->ns, o->name, last);
			json_array_append_new(dc->gc_queue,
					      json_string(o->uid));
			after_write(dc, t, last);
			json_decref(last);
			dc->dirty = true;
		}
		return obj;
	}
	if (!json_object_get(meta, "deletionTimestamp")) {
		api_now(now, sizeof(now));
		json_object_set_new(meta, "deletionTimestamp",
				    json_string(now));
		json_object_set_new(meta, "deletionGracePeriodSeconds",
				    json_integer(0));
		if (json_object_get(meta, "generation"))
			bump_generation(obj);
	}
	*code = 202;
	if (!dry_run) {
		struct object *cur = store_get(c, o->ns, o->name);
		json_t *before = object_parse(cur);

		if (!json_equal(before, obj))
			store_put(&dc->store, c, obj);
		json_decref(before);
		dc->dirty = true;
	}
	return obj;
}

static void do_delete(struct write_ctx *w)
{
	struct object *o = store_get(w->rt->type->coll, w->rt->ns, w->rt->name);
	struct delete_opts d;
	json_t *body, *st, *obj;
	int code;

	st = parse_delete_opts(w, &body, &d);
	if (!st && !o)
		st = status_not_found(w->rt->type, w->rt->name);
	if (!st)
		st = check_preconditions(w, &d, o);
	if (st) {
		api_respond_status(w->resp, st);
		json_decref(body);
		return;
	}
	obj = api_delete_object(w->dc, w->rt->type->coll, w->rt->type, o,
				d.propagation, d.grace, d.dry_run, &code);
	if (code == 202) {
		/* still present (finalizers): the real server answers 200 */
		respond_object(w, 200, obj);
	} else {
		api_respond_status(w->resp,
				   status_success(w->rt->type, w->rt->name,
						  meta_string(obj, "uid")));
		json_decref(obj);
	}
	json_decref(body);
}

static void do_delete_collection(struct write_ctx *w)
{
	struct label_selector *ls = NULL;
	const char *sel = api_query(w->req, "labelSelector");
	struct object **objs;
	size_t n;
	char err[512];
	struct delete_opts d;
	json_t *body, *st;
	int code;

	st = parse_delete_opts(w, &body, &d);
	if (!st && sel && *sel &&
	    label_selector_parse(sel, &ls, err, sizeof(err)))
		st = status_bad_request(err);
	if (st) {
		json_decref(body);
		api_respond_status(w->resp, st);
		return;
	}
	store_list(&w->dc->store, w->rt->type->coll, w->rt->ns, 0, NULL, &objs,
		   &n);
	for (size_t i = 0; i < n; i++) {
		json_t *obj = object_parse(objs[i]);
		bool match =
			!ls ||
			label_selector_matches(
				ls, json_object_get(
					    json_object_get(obj, "metadata"),
					    "labels"));

		json_decref(obj);
		if (match)
			json_decref(api_delete_object(
				w->dc, w->rt->type->coll, w->rt->type, objs[i],
				d.propagation, d.grace, d.dry_run, &code));
	}
	store_list_free(objs, n);
	label_selector_free(ls);
	json_decref(body);
	api_respond_status(w->resp, status_success(w->rt->type, NULL, NULL));
}

/* ---- entry ---- */

static json_t *parse_write_params(struct write_ctx *w)
{
	const char *fv = api_query(w->req, "fieldValidation");
	const char *dry = api_query(w->req, "dryRun");
	const char *fm = api_query(w->req, "fieldManager");
	char msg[256];

	w->validation = VALIDATE_WARN;
	if (fv && strcmp(fv, "Strict") == 0)
		w->validation = VALIDATE_STRICT;
	else if (fv && strcmp(fv, "Ignore") == 0)
		w->validation = VALIDATE_IGNORE;
	else if (fv && *fv && strcmp(fv, "Warn") != 0) {
		snprintf(msg, sizeof(msg),
			 "fieldValidation parameter unsupported: %s", fv);
		return status_bad_request(msg);
	}
	if (dry && *dry) {
		if (strcmp(dry, "All") != 0) {
			snprintf(msg, sizeof(msg),
				 "dryRun: Unsupported value: \"%s\": supported "
				 "values: \"All\"",
				 dry);
			return status_bad_request(msg);
		}
		w->dry_run = true;
	}
	if (fm && strlen(fm) > 128)
		return status_bad_request(
			"fieldManager: Too long: may not be more than 128 "
			"bytes");
	w->manager = fm && *fm ? xstrdup(fm)
			       : ssa_manager_from_user_agent(
					 w->req->user_agent ? w->req->user_agent
							    : "unknown");
	return NULL;
}

static bool body_media_ok(struct write_ctx *w, bool *yaml)
{
	const char *ct = w->req->content_type;

	*yaml = media_is(ct, "application/yaml");
	if (!ct || media_is(ct, "application/json") || *yaml)
		return true;
	api_respond_status(
		w->resp,
		status_unsupported_media("application/json, application/yaml"));
	return false;
}

void api_handle_write(struct devcluster *dc, const struct api_request *req,
		      struct route *rt, struct api_response *resp)
{
	struct write_ctx w;
	json_t *st, *obj;
	bool yaml = false;

	memset(&w, 0, sizeof(w));
	w.dc = dc;
	w.req = req;
	w.rt = rt;
	w.resp = resp;
	view_init(&w.view, rt->type, false);
	api_now(w.now, sizeof(w.now));
	resource_type_api_version(rt->type, w.api_version,
				  sizeof(w.api_version));
	st = parse_write_params(&w);
	if (st) {
		api_respond_status(resp, st);
		goto out;
	}
	if (rt->type->namespaced && !rt->ns && !rt->name &&
	    (req->method == HTTP_POST || req->method == HTTP_DELETE)) {
		/* The all-namespaces path of a namespaced resource serves only
		 * list and watch, as kube-apiserver registers it. */
		api_respond_status(resp, status_method_not_allowed());
	} else if (req->method == HTTP_POST && !rt->name) {
		if (!body_media_ok(&w, &yaml))
			goto out;
		obj = decode_body(&w, yaml, &st);
		if (obj && (st = check_type_meta(&w, obj)) != NULL) {
			json_decref(obj);
			obj = NULL;
		}
		if (!obj)
			api_respond_status(resp, st);
		else
			do_create(&w, obj, false);
	} else if (req->method == HTTP_PUT && rt->name) {
		if (!body_media_ok(&w, &yaml))
			goto out;
		obj = decode_body(&w, yaml, &st);
		if (obj && (st = check_type_meta(&w, obj)) != NULL) {
			json_decref(obj);
			obj = NULL;
		}
		if (!obj)
			api_respond_status(resp, st);
		else
			do_update(&w, obj);
	} else if ((req->method == HTTP_PATCH || req->method == HTTP_PUT) &&
		   rt->subresource && strcmp(rt->subresource, "scale") == 0) {
		do_scale_write(&w);
	} else if (req->method == HTTP_PATCH && rt->name) {
		do_patch(&w);
	} else if (req->method == HTTP_DELETE && rt->name && !rt->subresource) {
		do_delete(&w);
	} else if (req->method == HTTP_DELETE && !rt->name) {
		do_delete_collection(&w);
	} else {
		api_respond_status(resp, status_method_not_allowed());
	}
out:
	free(w.manager);
	view_release(&w.view);
}

/*
 * api: routing of requests to handlers, and the read side of the API:
 * get, list (with selectors and pagination), watch, /version and health.
 * Writes live in api_write.c, discovery and OpenAPI in discovery.c.
 */
#include "devcluster/api.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devcluster/api_internal.h"
#include "devcluster/status.h"
#include "devcluster/table.h"
#include "kube/selector.h"
#include "util/alloc.h"
#include "util/err.h"

#define MAX_SEGS 8

/* Whether a change altered the object's owners (or it is new with some). */
static bool owners_changed(const struct change *c)
{
	if (!c->prev)
		return c->obj->n_owners > 0;
	if (c->prev->n_owners != c->obj->n_owners)
		return true;
	for (size_t i = 0; i < c->obj->n_owners; i++)
		if (strcmp(c->prev->owner_uids[i], c->obj->owner_uids[i]) != 0)
			return true;
	return false;
}

/*
 * Every store change goes to the watchers and the simulation; deletions,
 * objects being deleted and changes of owners also wake the garbage
 * collector (a status write of an owned pod does not).
 */
static void on_store_change(const struct change *c, void *data)
{
	struct devcluster *dc = data;

	if (c->type == CHANGE_DELETED || c->obj->deleting)
		dc->gc_pending = true;
	else if (owners_changed(c))
		dc->gc_owners = true;
	watch_hub_on_change(c, &dc->hub);
	sim_on_change(dc->sim, c);
}

void devcluster_init(struct devcluster *dc, const struct devcluster_options *o)
{
	memset(dc, 0, sizeof(*dc));
	dc->opt = *o;
	store_init(&dc->store, o->history_size);
	registry_init(&dc->reg);
	registry_add_builtins(&dc->reg, &dc->store);
	watch_hub_init(&dc->hub, o->watch_buffer ? o->watch_buffer : 16u << 20);
	dc->store.on_change = on_store_change;
	dc->store.on_change_data = dc;
	dc->next_cluster_ip = (10u << 24) | (96u << 16) | 10u;
	dc->gc_queue = json_array();
	dc->sim = sim_new(dc, &o->sim);
	faults_init(&dc->faults);
	hashmap_init(&dc->request_counts);
}

void devcluster_release(struct devcluster *dc)
{
	const char *k;
	void *v;

	for (size_t i = 0; hashmap_next(&dc->request_counts, &i, &k, &v);)
		free(v);
	hashmap_release(&dc->request_counts);
	faults_release(&dc->faults);
	sim_free(dc->sim);
	dc->sim = NULL;
	watch_hub_release(&dc->hub);
	registry_release(&dc->reg);
	store_release(&dc->store);
	json_decref(dc->gc_queue);
}

void api_request_release(struct api_request *r)
{
	for (size_t i = 0; i < r->n_params; i++) {
		free(r->params[i].key);
		free(r->params[i].value);
	}
	free(r->params);
	free(r->path);
	free(r->accept);
	free(r->content_type);
	free(r->user_agent);
	memset(r, 0, sizeof(*r));
}

void api_response_init(struct api_response *r)
{
	memset(r, 0, sizeof(*r));
	r->code = 200;
	buf_init(&r->body, BUF_UNLIMITED);
}

void api_response_release(struct api_response *r)
{
	free(r->content_type);
	buf_release(&r->body);
	json_decref(r->warnings);
	r->content_type = NULL;
	r->warnings = NULL;
}

const char *api_query(const struct api_request *r, const char *key)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return r->params[i].value;
	return NULL;
}

void api_respond_json(struct api_response *resp, int code, json_t *body,
		      const char *content_type)
{
	char *text = json_dumps(body, JSON_COMPACT);

	resp->code = code;
	free(resp->content_type);
	resp->content_type =
		xstrdup(content_type ? content_type : "application/json");
	buf_reset(&resp->body);
	if (text) {
		buf_puts(&resp->body, text);
		free(text);
	}
	buf_putc(&resp->body, '\n');
	json_decref(body);
}

void api_respond_status(struct api_response *resp, json_t *status)
{
	int code = status_code(status);
	json_t *details = json_object_get(status, "details");
	json_t *retry = json_object_get(details, "retryAfterSeconds");

	if (json_is_integer(retry))
		resp->retry_after = (int)json_integer_value(retry);
	api_respond_json(resp, code, status, NULL);
}

void api_now(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void api_now_micro(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

bool api_wants_table(const struct api_request *req)
{
	return req->accept && strstr(req->accept, "as=Table");
}

/* JSON is served unless the client accepts none of the types we speak. */
static bool acceptable(const struct api_request *req)
{
	const char *a = req->accept;

	if (!a || !*a)
		return true;
	return strstr(a, "application/json") || strstr(a, "*/*") ||
	       strstr(a, "application/*");
}

json_t *api_render(const struct resource_type *t, const struct object *o)
{
	struct view v;
	json_t *obj;

	view_init(&v, t, false);
	obj = view_render(&v, object_parse(o));
	view_release(&v);
	return obj;
}

static bool is_watch(const struct api_request *req);

/* ---- routing ---- */

static size_t split_path(char *path, const char **segs)
{
	size_t n = 0;
	char *save = NULL;

	for (char *p = strtok_r(path, "/", &save); p;
	     p = strtok_r(NULL, "/", &save)) {
		if (n == MAX_SEGS)
			return MAX_SEGS + 1;
		segs[n++] = p;
	}
	return n;
}

/* Fills rt from the segments after the group-version; false: no route. */
static bool parse_resource_path(const char **rest, size_t n, struct route *rt)
{
	bool core = !*rt->group;

	if (n == 0)
		return false;
	if (strcmp(rest[0], "namespaces") == 0 && n >= 3 &&
	    !(core && n == 3 &&
	      (strcmp(rest[2], "status") == 0 ||
	       strcmp(rest[2], "finalize") == 0))) {
		rt->ns = rest[1];
		rest += 2;
		n -= 2;
	}
	if (n > 3)
		return false;
	rt->resource = rest[0];
	rt->name = n > 1 ? rest[1] : NULL;
	rt->subresource = n > 2 ? rest[2] : NULL;
	return true;
}

static void handle_version(struct api_response *resp)
{
	api_respond_json(resp, 200,
			 json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
				   "major", "1", "minor", "32", "gitVersion",
				   "v1.32.2", "gitCommit", "knit-devcluster",
				   "gitTreeState", "clean", "buildDate",
				   "2026-11-01T00:00:00Z", "goVersion",
				   "go1.23.6", "compiler", "gc", "platform",
				   "linux/amd64"),
			 NULL);
}

static void respond_text(struct api_response *resp, int code, const char *text)
{
	resp->code = code;
	free(resp->content_type);
	resp->content_type = xstrdup("text/plain; charset=utf-8");
	buf_reset(&resp->body);
	buf_puts(&resp->body, text);
}

/* ---- get ---- */

static void respond_scale(struct api_response *resp,
			  const struct resource_type *t, json_t *obj);

/*
 * Built-in types are stored exactly as a plain-JSON client sees them, so
 * GETs and lists send the stored text without parsing and printing it
 * again. Custom resources (pruning, versions) and Tables need rendering.
 */
static bool serves_stored_text(const struct api_request *req,
			       const struct resource_type *t)
{
	return !api_wants_table(req) && t->view == VIEW_PLAIN && !t->is_custom;
}

static void handle_get(struct devcluster *dc, const struct api_request *req,
		       struct route *rt, struct api_response *resp)
{
	struct object *o = store_get(rt->type->coll, rt->ns, rt->name);
	json_t *obj;

	if (!o) {
		api_respond_status(resp, status_not_found(rt->type, rt->name));
		return;
	}
	if (serves_stored_text(req, rt->type) && !rt->subresource) {
		resp->code = 200;
		free(resp->content_type);
		resp->content_type = xstrdup("application/json");
		buf_reset(&resp->body);
		buf_append(&resp->body, o->json, o->len);
		buf_putc(&resp->body, '\n');
		return;
	}
	obj = api_render(rt->type, o);
	if (rt->subresource && strcmp(rt->subresource, "scale") == 0) {
		respond_scale(resp, rt->type, obj);
		return;
	}
	if (api_wants_table(req)) {
		json_t *items = json_pack("[o]", obj);

		api_respond_json(
			resp, 200,
			table_build(rt->type->group, rt->type->resource,
				    rt->type->printer_columns, items, NULL,
				    true, time(NULL)),
			"application/json;as=Table;v=v1;g=meta.k8s.io");
		json_decref(items);
		return;
	}
	api_respond_json(resp, 200, obj, NULL);
}

json_t *api_path_get(json_t *obj, const char *path)
{
	char copy[256];
	char *save = NULL;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *p = strtok_r(copy, ".", &save); p && obj;
	     p = strtok_r(NULL, ".", &save))
		obj = json_object_get(obj, p);
	return obj;
}

static void respond_scale(struct api_response *resp,
			  const struct resource_type *t, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *scale = json_object();
	json_t *smeta = json_object();
	json_t *status = json_object();
	json_t *spec_r = api_path_get(obj, t->scale_spec_path);
	json_t *stat_r = api_path_get(obj, t->scale_status_path);
	json_t *sel = t->scale_selector_path
			      ? api_path_get(obj, t->scale_selector_path)
			      : NULL;
	const char *keys[] = {"name", "namespace", "uid", "resourceVersion",
			      "creationTimestamp"};

	for (size_t i = 0; i < 5; i++)
		if (json_object_get(meta, keys[i]))
			json_object_set(smeta, keys[i],
					json_object_get(meta, keys[i]));
	json_object_set_new(scale, "kind", json_string("Scale"));
	json_object_set_new(scale, "apiVersion", json_string("autoscaling/v1"));
	json_object_set_new(scale, "metadata", smeta);
	json_object_set_new(
		scale, "spec",
		json_pack("{s:I}", "replicas", json_integer_value(spec_r)));
	json_object_set_new(status, "replicas",
			    json_integer(json_integer_value(stat_r)));
	if (json_is_string(sel))
		json_object_set(status, "selector", sel);
	else if (json_is_object(sel)) {
		struct label_selector *ls = NULL;

		if (label_selector_from_json(sel, &ls, NULL, 0) == 0) {
			char *text = label_selector_string(ls);

			json_object_set_new(status, "selector",
					    json_string(text));
			free(text);
		}
		label_selector_free(ls);
	}
	json_object_set_new(scale, "status", status);
	json_decref(obj);
	api_respond_json(resp, 200, scale, NULL);
}

/* ---- list ---- */

struct list_params {
	struct label_selector *labels;
	struct field_selector *fields;
	long limit;
	uint64_t at;	 /* resourceVersion to list at; 0 for latest */
	char *after;	 /* continue: last key of the previous page */
	uint64_t rv_min; /* watch: start after this version */
	bool rv_given;
};

static void list_params_release(struct list_params *p)
{
	label_selector_free(p->labels);
	field_selector_free(p->fields);
	free(p->after);
}

static char *encode_continue(uint64_t rv, const char *key)
{
	json_t *tok = json_pack("{s:s,s:I,s:s}", "v", "meta.k8s.io/v1", "rv",
				(json_int_t)rv, "start", key);
	char *text = json_dumps(tok, JSON_COMPACT);
	size_t len = strlen(text);
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (unsigned char *)text, (int)len);
	free(text);
	json_decref(tok);
	return out;
}

static int decode_continue(const char *token, uint64_t *rv, char **key)
{
	size_t len = strlen(token);
	unsigned char *raw = xmalloc(len + 4);
	int n = EVP_DecodeBlock(raw, (const unsigned char *)token, (int)len);
	json_t *tok = NULL;
	int rc = ERR_BADREQUEST;

	while (n > 0 && raw[n - 1] == '\0')
		n--;
	if (n > 0)
		tok = json_loadb((char *)raw, (size_t)n, 0, NULL);
	if (json_is_integer(json_object_get(tok, "rv")) &&
	    json_is_string(json_object_get(tok, "start"))) {
		*rv = (uint64_t)json_integer_value(json_object_get(tok, "rv"));
		*key = xstrdup(
			json_string_value(json_object_get(tok, "start")));
		rc = 0;
	}
	json_decref(tok);
	free(raw);
	return rc;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return false;
	v = strtoull(s, &end, 10);
	if (*end)
		return false;
	*out = v;
	return true;
}

static json_t *too_large_rv(uint64_t asked, uint64_t current)
{
	char msg[160];
	json_t *causes = json_array();

	snprintf(msg, sizeof(msg),
		 "Too large resource version: %llu, current: %llu",
		 (unsigned long long)asked, (unsigned long long)current);
	json_array_append_new(causes, json_pack("{s:s,s:s}", "reason",
						"ResourceVersionTooLarge",
						"message", msg));
	json_t *st = status_new(504, "Timeout", msg, NULL, NULL, NULL, causes);
	json_object_set_new(json_object_get(st, "details"), "retryAfterSeconds",
			    json_integer(1));
	return st;
}

/* Parses list/watch parameters; on error returns a Status (new ref). */
static json_t *parse_list_params_into(struct devcluster *dc,
				      const struct api_request *req,
				      struct route *rt, bool watch,
				      struct list_params *p)
{
	char err[512];
	const char *ls = api_query(req, "labelSelector");
	const char *fs = api_query(req, "fieldSelector");
	const char *limit = api_query(req, "limit");
	const char *cont = api_query(req, "continue");
	const char *rv = api_query(req, "resourceVersion");
	const char *match = api_query(req, "resourceVersionMatch");
	struct view v;
	uint64_t n;

	memset(p, 0, sizeof(*p));
	if (ls && *ls && label_selector_parse(ls, &p->labels, err, sizeof(err)))
		return status_bad_request(err);
	if (fs && *fs) {
		if (field_selector_parse(fs, &p->fields, err, sizeof(err)))
			return status_bad_request(err);
		view_init(&v, rt->type, false);
		int rc = field_selector_check(
			p->fields, view_supported_fields(&v), err, sizeof(err));
		view_release(&v);
		if (rc)
			return status_bad_request(err);
	}
	if (limit && *limit) {
		char *end;
		long l = strtol(limit, &end, 10);

		if (*end || l < 0)
			return status_bad_request(
				"limit must be a non-negative integer");
		p->limit = l;
	}
	if (rv && *rv) {
		if (!parse_u64(rv, &n)) {
			snprintf(err, sizeof(err),
				 "invalid resource version: %s", rv);
			return status_bad_request(err);
		}
		if (n > dc->store.rv)
			return too_large_rv(n, dc->store.rv);
		p->rv_given = n != 0;
		p->rv_min = n;
		if (!watch && match && strcmp(match, "Exact") == 0)
			p->at = n;
	}
	if (match && *match && strcmp(match, "Exact") != 0 &&
	    strcmp(match, "NotOlderThan") != 0) {
		snprintf(err, sizeof(err),
			 "resourceVersionMatch: Unsupported value: \"%s\": "
			 "supported values: \"Exact\", \"NotOlderThan\"",
			 match);
		return status_bad_request(err);
	}
	if (cont && *cont && !watch) {
		if (rv && *rv && strcmp(rv, "0") != 0)
			return status_bad_request(
				"specifying resource version is not allowed "
				"when using continue");
		if (decode_continue(cont, &p->at, &p->after))
			return status_bad_request(
				"continue key is not valid: illegal base64 "
				"data or malformed JSON");
		if (p->at == 0)
			p->at = dc->store.rv;
	}
	return NULL;
}

/* parse_list_params_into(), releasing what it parsed when it fails. */
static json_t *parse_list_params(struct devcluster *dc,
				 const struct api_request *req,
				 struct route *rt, bool watch,
				 struct list_params *p)
{
	json_t *st = parse_list_params_into(dc, req, rt, watch, p);

	if (st)
		list_params_release(p);
	return st;
}

static bool object_selected(const struct list_params *p,
			    const struct resource_type *t, const json_t *obj)
{
	struct watcher probe;
	bool ok;

	if (!p->labels && !p->fields)
		return true;
	memset(&probe, 0, sizeof(probe));
	view_init(&probe.view, t, false);
	probe.labels = p->labels;
	probe.fields = p->fields;
	ok = watcher_matches(&probe, obj);
	view_release(&probe.view);
	return ok;
}

static const char *expired_continue_msg =
	"The provided continue parameter is too old to display a consistent "
	"list result. You can start a new list without the continue "
	"parameter, or use the continue token in this response to retrieve "
	"the remainder of the results. Continuing with the provided token "
	"results in an inconsistent list - objects that were created, "
	"modified, or deleted between the time the first chunk was returned "
	"and now may show up in the list.";

/* Whether the stored object passes the list's selectors; parses it only
 * when there are selectors. */
static bool stored_selected(const struct list_params *p,
			    const struct resource_type *t,
			    const struct object *o)
{
	json_t *obj;
	bool ok;

	if (!p->labels && !p->fields)
		return true;
	obj = api_render(t, o);
	ok = object_selected(p, t, obj);
	json_decref(obj);
	return ok;
}

/* A list of stored texts joined (see serves_stored_text()). */
static void respond_list_raw(struct api_response *resp,
			     const struct resource_type *t, json_t *meta,
			     struct object **page, size_t n)
{
	char api_version[256];
	char *md = json_dumps(meta, JSON_COMPACT);
	size_t total = 256 + strlen(md);

	for (size_t i = 0; i < n; i++)
		total += page[i]->len + 1;
	resource_type_api_version(t, api_version, sizeof(api_version));
	resp->code = 200;
	free(resp->content_type);
	resp->content_type = xstrdup("application/json");
	buf_reset(&resp->body);
	buf_reserve(&resp->body, total);
	buf_printf(&resp->body,
		   "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":%s,"
		   "\"items\":[",
		   t->list_kind, api_version, md);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&resp->body, ',');
		buf_append(&resp->body, page[i]->json, page[i]->len);
	}
	buf_puts(&resp->body, "]}\n");
	free(md);
	json_decref(meta);
}

static void respond_list_json(const struct api_request *req,
			      struct api_response *resp,
			      const struct resource_type *t, json_t *meta,
			      struct object **page, size_t n)
{
	json_t *items = json_array();
	char api_version[256];

	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, api_render(t, page[i]));
	if (api_wants_table(req)) {
		api_respond_json(
			resp, 200,
			table_build(t->group, t->resource, t->printer_columns,
				    items, meta, true, time(NULL)),
			"application/json;as=Table;v=v1;g=meta.k8s.io");
		json_decref(items);
		json_decref(meta);
		return;
	}
	resource_type_api_version(t, api_version, sizeof(api_version));
	api_respond_json(resp, 200,
			 json_pack("{s:s,s:s,s:o,s:o}", "kind", t->list_kind,
				   "apiVersion", api_version, "metadata", meta,
				   "items", items),
			 NULL);
}

static void handle_list(struct devcluster *dc, const struct api_request *req,
			struct route *rt, struct api_response *resp)
{
	const struct resource_type *t = rt->type;
	struct list_params p;
	json_t *err = parse_list_params(dc, req, rt, false, &p);
	struct object **objs = NULL, **page;
	size_t n = 0, taken = 0, i;
	uint64_t at;
	json_t *meta;
	char rvtext[32];

	if (err) {
		api_respond_status(resp, err);
		return;
	}
	at = p.at ? p.at : dc->store.rv;
	if (store_list(&dc->store, t->coll, rt->ns, p.at ? p.at : 0, p.after,
		       &objs, &n)) {
		api_respond_status(resp,
				   status_expired(p.after ? expired_continue_msg
							  : "too old resource "
							    "version"));
		list_params_release(&p);
		return;
	}
	page = xcalloc(n ? n : 1, sizeof(*page));
	for (i = 0; i < n; i++) {
		if (p.limit && taken == (size_t)p.limit)
			break;
		if (stored_selected(&p, t, objs[i]))
			page[taken++] = objs[i];
	}
	meta = json_object();
	snprintf(rvtext, sizeof(rvtext), "%llu", (unsigned long long)at);
	json_object_set_new(meta, "resourceVersion", json_string(rvtext));
	/* more pages only when a later object would be selected too */
	for (; i < n && taken; i++) {
		if (!stored_selected(&p, t, objs[i]))
			continue;
		char *tok = encode_continue(at, page[taken - 1]->key);

		json_object_set_new(meta, "continue", json_string(tok));
		free(tok);
		if (!p.labels && !p.fields)
			json_object_set_new(meta, "remainingItemCount",
					    json_integer((json_int_t)(n - i)));
		break;
	}
	if (serves_stored_text(req, t))
		respond_list_raw(resp, t, meta, page, taken);
	else
		respond_list_json(req, resp, t, meta, page, taken);
	free(page);
	store_list_free(objs, n);
	list_params_release(&p);
}

/* ---- watch ---- */

static int parse_timeout(const char *s)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v > 86400)
		return 0;
	return (int)v;
}

static void replay_change(const struct change *c, void *data)
{
	watch_hub_on_change(c, ((struct watcher *)data)->hub);
}

static void queue_initial(struct devcluster *dc, struct watcher *w,
			  struct route *rt)
{
	struct object **objs;
	size_t n;

	if (store_list(&dc->store, rt->type->coll, rt->ns, 0, NULL, &objs, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *obj = object_parse(objs[i]);

		if (watcher_matches(w, obj))
			watcher_send_object(w, "ADDED", objs[i]);
		json_decref(obj);
	}
	store_list_free(objs, n);
	w->last_rv = dc->store.rv;
}

static void handle_watch(struct devcluster *dc, const struct api_request *req,
			 struct route *rt, struct api_response *resp)
{
	struct list_params p;
	json_t *err = parse_list_params(dc, req, rt, true, &p);
	const char *to = api_query(req, "timeoutSeconds");
	const char *bm = api_query(req, "allowWatchBookmarks");
	const char *initial = api_query(req, "sendInitialEvents");
	bool send_initial = initial && strcmp(initial, "true") == 0;
	struct watcher *w;
	char msg[160];

	if (err) {
		api_respond_status(resp, err);
		return;
	}
	if (rt->name) {
		/* watching one object: a metadata.name field selector */
		struct field_selector *fs = NULL;
		char *sel = xasprintf("metadata.name=%s", rt->name);

		field_selector_parse(sel, &fs, NULL, 0);
		free(sel);
		field_selector_free(p.fields);
		p.fields = fs;
	}
	w = watcher_new(&dc->hub, rt->type, rt->ns, p.labels, p.fields,
			api_wants_table(req), bm && strcmp(bm, "true") == 0,
			parse_timeout(to));
	p.labels = NULL;
	p.fields = NULL;
	if (!p.rv_given || send_initial) {
		queue_initial(dc, w, rt);
		if (send_initial)
			watcher_send_bookmark(w, dc->store.rv, true);
	} else {
		w->last_rv = p.rv_min;
		if (store_changes_since(&dc->store, p.rv_min, replay_change,
					w)) {
			snprintf(msg, sizeof(msg),
				 "too old resource version: %llu (%llu)",
				 (unsigned long long)p.rv_min,
				 (unsigned long long)dc->store.compacted_rv +
					 1);
			json_t *st = status_expired(msg);

			watcher_send_error(w, st);
			json_decref(st);
			w->done = true;
		}
		w->last_rv = dc->store.rv;
	}
	resp->code = 200;
	free(resp->content_type);
	resp->content_type =
		xstrdup(api_wants_table(req)
				? "application/json;as=Table;v=v1;g=meta.k8s.io"
				: "application/json");
	resp->watch = w;
	list_params_release(&p);
}

/* ---- dispatch ---- */

static bool is_watch(const struct api_request *req)
{
	const char *w = api_query(req, "watch");

	return w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0);
}

static void handle_resource(struct devcluster *dc,
			    const struct api_request *req, struct route *rt,
			    struct api_response *resp)
{
	rt->type =
		registry_find(&dc->reg, rt->group, rt->version, rt->resource);
	if (!rt->type || (rt->ns && !rt->type->namespaced) ||
	    (rt->subresource && !((strcmp(rt->subresource, "status") == 0 &&
				   rt->type->has_status) ||
				  (strcmp(rt->subresource, "scale") == 0 &&
				   rt->type->has_scale)))) {
		api_respond_status(resp, status_path_not_found());
		return;
	}
	if (!rt->type->namespaced && rt->ns) {
		api_respond_status(resp, status_path_not_found());
		return;
	}
	if (!acceptable(req)) {
		api_respond_status(resp, status_not_acceptable());
		return;
	}
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		if (is_watch(req))
			handle_watch(dc, req, rt, resp);
		else if (rt->name)
			handle_get(dc, req, rt, resp);
		else
			handle_list(dc, req, rt, resp);
		return;
	}
	api_handle_write(dc, req, rt, resp);
}

static void handle_metrics(struct devcluster *dc, const struct api_request *req,
			   struct api_response *resp)
{
	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		api_respond_status(resp, status_method_not_allowed());
		return;
	}
	resp->code = 200;
	free(resp->content_type);
	resp->content_type = xstrdup("text/plain; version=0.0.4; "
				     "charset=utf-8");
	buf_reset(&resp->body);
	api_metrics(dc, &resp->body);
}

static void copy_seg(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static const char *verb_of(const struct api_request *req,
			   const struct route *rt)
{
	switch (req->method) {
	case HTTP_GET:
	case HTTP_HEAD:
		if (is_watch(req))
			return "watch";
		return rt->name ? "get" : "list";
	case HTTP_POST:
		return "create";
	case HTTP_PUT:
		return "update";
	case HTTP_PATCH:
		return "patch";
	case HTTP_DELETE:
		return rt->name ? "delete" : "deletecollection";
	default:
		return NULL;
	}
}

void api_classify(const struct api_request *req, struct api_class *out)
{
	char *path = xstrdup(req->path ? req->path : "/");
	const char *segs[MAX_SEGS + 1];
	size_t n = split_path(path, segs);
	struct route rt;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	memset(&rt, 0, sizeof(rt));
	if (n <= MAX_SEGS && n >= 3 && strcmp(segs[0], "api") == 0) {
		rt.group = "";
		rt.version = segs[1];
		ok = parse_resource_path(segs + 2, n - 2, &rt);
	} else if (n <= MAX_SEGS && n >= 4 && strcmp(segs[0], "apis") == 0) {
		rt.group = segs[1];
		rt.version = segs[2];
		ok = parse_resource_path(segs + 3, n - 3, &rt);
	}
	if (ok) {
		out->verb = verb_of(req, &rt);
		out->apply = req->method == HTTP_PATCH && req->content_type &&
			     strncmp(req->content_type,
				     "application/apply-patch", 23) == 0;
		copy_seg(out->group, sizeof(out->group), rt.group);
		copy_seg(out->version, sizeof(out->version), rt.version);
		copy_seg(out->resource, sizeof(out->resource), rt.resource);
		copy_seg(out->subresource, sizeof(out->subresource),
			 rt.subresource);
	}
	free(path);
}

void api_handle(struct devcluster *dc, const struct api_request *req,
		struct api_response *resp)
{
	char *path = xstrdup(req->path ? req->path : "/");
	const char *segs[MAX_SEGS + 1];
	size_t n = split_path(path, segs);
	struct route rt;

	memset(&rt, 0, sizeof(rt));
	if (n > MAX_SEGS) {
		api_respond_status(resp, status_path_not_found());
	} else if (n == 1 && strcmp(segs[0], "version") == 0) {
		handle_version(resp);
	} else if (n >= 1 && strcmp(segs[0], "admin") == 0) {
		api_handle_admin(dc, req, api_monotonic(), resp);
	} else if (n >= 1 && (strcmp(segs[0], "healthz") == 0 ||
			      strcmp(segs[0], "readyz") == 0 ||
			      strcmp(segs[0], "livez") == 0)) {
		respond_text(resp, 200, "ok");
	} else if (n == 1 && strcmp(segs[0], "metrics") == 0) {
		handle_metrics(dc, req, resp);
	} else if (n >= 3 && strcmp(segs[0], "api") == 0 &&
		   strcmp(segs[1], "v1") == 0) {
		rt.group = "";
		rt.version = "v1";
		if (parse_resource_path(segs + 2, n - 2, &rt))
			handle_resource(dc, req, &rt, resp);
		else
			api_respond_status(resp, status_path_not_found());
	} else if (n >= 4 && strcmp(segs[0], "apis") == 0) {
		rt.group = segs[1];
		rt.version = segs[2];
		if (parse_resource_path(segs + 3, n - 3, &rt))
			handle_resource(dc, req, &rt, resp);
		else
			api_respond_status(resp, status_path_not_found());
	} else {
		api_handle_discovery(dc, req, segs, n, resp);
	}
	free(path);
}

/*
 * watch: the watch hub, per-watcher filtering and output, and the views
 * that render stored objects for a client (see watch.h).
 */
#include "devcluster/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/table.h"
#include "util/alloc.h"
#include "util/log.h"

/* core/v1 Event field -> events.k8s.io/v1 field */
static const char *const event_renames[][2] = {
	{"involvedObject", "regarding"},
	{"message", "note"},
	{"reportingComponent", "reportingController"},
	{"source", "deprecatedSource"},
	{"firstTimestamp", "deprecatedFirstTimestamp"},
	{"lastTimestamp", "deprecatedLastTimestamp"},
	{"count", "deprecatedCount"},
};

void view_init(struct view *v, const struct resource_type *t, bool table)
{
	memset(v, 0, sizeof(*v));
	v->group = xstrdup(t->group);
	v->version = xstrdup(t->version);
	v->resource = xstrdup(t->resource);
	v->kind = xstrdup(t->kind);
	v->crd_name = t->crd_name ? xstrdup(t->crd_name) : NULL;
	v->kind_view = t->view;
	v->is_custom = t->is_custom;
	v->table = table;
	v->printer_columns = json_incref(t->printer_columns);
	v->selectable_fields = json_incref(t->selectable_fields);
}

void view_release(struct view *v)
{
	free(v->group);
	free(v->version);
	free(v->resource);
	free(v->kind);
	free(v->crd_name);
	json_decref(v->printer_columns);
	json_decref(v->selectable_fields);
	memset(v, 0, sizeof(*v));
}

static void rename_fields(json_t *obj, int from, int to)
{
	for (size_t i = 0; i < sizeof(event_renames) / sizeof(event_renames[0]);
	     i++) {
		json_t *val = json_object_get(obj, event_renames[i][from]);

		if (!val)
			continue;
		json_object_set(obj, event_renames[i][to], val);
		json_object_del(obj, event_renames[i][from]);
	}
}

json_t *view_render(const struct view *v, json_t *obj)
{
	char api_version[256];

	if (*v->group)
		snprintf(api_version, sizeof(api_version), "%s/%s", v->group,
			 v->version);
	else
		snprintf(api_version, sizeof(api_version), "%s", v->version);
	json_object_set_new(obj, "apiVersion", json_string(api_version));
	json_object_set_new(obj, "kind", json_string(v->kind));
	if (v->kind_view == VIEW_EVENTS_V1)
		rename_fields(obj, 0, 1);
	return obj;
}

json_t *view_to_storage(const struct view *v, json_t *obj)
{
	if (v->kind_view == VIEW_EVENTS_V1) {
		rename_fields(obj, 1, 0);
		json_object_set_new(obj, "apiVersion", json_string("v1"));
	}
	return obj;
}

static const char *const plain_fields[] = {"metadata.name",
					   "metadata.namespace", NULL};
static const char *const event_fields[] = {
	"metadata.name",
	"metadata.namespace",
	"involvedObject.kind",
	"involvedObject.namespace",
	"involvedObject.name",
	"involvedObject.uid",
	"involvedObject.apiVersion",
	"involvedObject.resourceVersion",
	"involvedObject.fieldPath",
	"reason",
	"reportingComponent",
	"source",
	"type",
	NULL,
};
static const char *const events_v1_fields[] = {
	"metadata.name",
	"metadata.namespace",
	"regarding.kind",
	"regarding.namespace",
	"regarding.name",
	"regarding.uid",
	"regarding.apiVersion",
	"regarding.resourceVersion",
	"regarding.fieldPath",
	"reason",
	"reportingController",
	"type",
	NULL,
};
static const char *const pod_fields[] = {
	"metadata.name",
	"metadata.namespace",
	"spec.nodeName",
	"spec.restartPolicy",
	"spec.schedulerName",
	"spec.serviceAccountName",
	"status.phase",
	"status.podIP",
	"status.nominatedNodeName",
	NULL,
};

const char *const *view_supported_fields(const struct view *v)
{
	if (strcmp(v->resource, "events") == 0)
		return v->kind_view == VIEW_EVENTS_V1 ? events_v1_fields
						      : event_fields;
	if (strcmp(v->resource, "pods") == 0 && !*v->group)
		return pod_fields;
	return plain_fields;
}

/* Maps an events.k8s.io/v1 field name to its storage (core/v1) field. */
static const char *storage_field(const struct view *v, const char *field,
				 char *scratch, size_t len)
{
	if (v->kind_view != VIEW_EVENTS_V1)
		return field;
	for (size_t i = 0; i < sizeof(event_renames) / sizeof(event_renames[0]);
	     i++) {
		size_t n = strlen(event_renames[i][1]);

		if (strncmp(field, event_renames[i][1], n) == 0 &&
		    (field[n] == '\0' || field[n] == '.')) {
			snprintf(scratch, len, "%s%s", event_renames[i][0],
				 field + n);
			return scratch;
		}
	}
	return field;
}

const char *view_field_value(const struct view *v, const json_t *obj,
			     const char *field, char *scratch, size_t len)
{
	char path[256];
	const json_t *cur = obj;
	char *save = NULL;
	char *part;

	if (strcmp(field, "source") == 0 && strcmp(v->resource, "events") == 0)
		field = "source.component";
	snprintf(path, sizeof(path), "%s",
		 storage_field(v, field, scratch, len));
	if (path[0] == '.')
		memmove(path, path + 1, strlen(path));
	for (part = strtok_r(path, ".", &save); part && cur;
	     part = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, part);
	if (json_is_string(cur))
		return json_string_value(cur);
	if (json_is_integer(cur)) {
		snprintf(scratch, len, "%lld",
			 (long long)json_integer_value(cur));
		return scratch;
	}
	if (json_is_boolean(cur))
		return json_is_true(cur) ? "true" : "false";
	return "";
}

void watch_hub_init(struct watch_hub *h, size_t max_pending)
{
	h->head = NULL;
	h->count = 0;
	h->max_pending = max_pending;
}

void watch_hub_release(struct watch_hub *h)
{
	while (h->head)
		watcher_free(h->head);
}

struct watcher *watcher_new(struct watch_hub *h, const struct resource_type *t,
			    const char *ns, struct label_selector *labels,
			    struct field_selector *fields, bool table,
			    bool bookmarks, int timeout_seconds)
{
	struct watcher *w = xcalloc(1, sizeof(*w));

	w->hub = h;
	w->coll = t->coll;
	view_init(&w->view, t, table);
	w->ns = ns && *ns ? xstrdup(ns) : NULL;
	w->labels = labels;
	w->fields = fields;
	w->bookmarks = bookmarks;
	w->last_bookmark = time(NULL);
	if (timeout_seconds > 0)
		w->deadline = time(NULL) + timeout_seconds;
	buf_init(&w->out, h->max_pending);
	w->next = h->head;
	if (h->head)
		h->head->prev = w;
	h->head = w;
	h->count++;
	return w;
}

void watcher_free(struct watcher *w)
{
	if (!w)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else if (w->hub->head == w)
		w->hub->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->hub->count--;
	view_release(&w->view);
	free(w->ns);
	label_selector_free(w->labels);
	field_selector_free(w->fields);
	buf_release(&w->out);
	free(w);
}

static const char *field_get(const char *field, void *data)
{
	static char scratch[256];
	void **ctx = data;

	return view_field_value(ctx[0], ctx[1], field, scratch,
				sizeof(scratch));
}

bool watcher_matches(const struct watcher *w, const json_t *obj)
{
	const json_t *meta = json_object_get(obj, "metadata");

	if (w->ns &&
	    strcmp(json_string_value(json_object_get(meta, "namespace")) ?: "",
		   w->ns) != 0)
		return false;
	if (w->labels &&
	    !label_selector_matches(w->labels, json_object_get(meta, "labels")))
		return false;
	if (w->fields) {
		const void *ctx[2] = {&w->view, obj};

		if (!field_selector_matches(w->fields, field_get, (void *)ctx))
			return false;
	}
	return true;
}

static void queue_line(struct watcher *w, const char *type, const char *obj,
		       size_t len)
{
	size_t before = w->out.len;

	if (w->overflowed)
		return;
	if (buf_printf(&w->out, "{\"type\":\"%s\",\"object\":", type) ||
	    buf_append(&w->out, obj, len) || buf_puts(&w->out, "}\n")) {
		w->out.len = before;
		w->overflowed = true;
		LOG_WARNF("watch dropped", "reason=slow-client resource=%s",
			  w->view.resource);
	}
	if (w->wake)
		w->wake(w->wake_data);
}

static bool plain_view(const struct view *v)
{
	return !v->table && v->kind_view == VIEW_PLAIN && !v->is_custom;
}

void watcher_send_object(struct watcher *w, const char *type,
			 const struct object *o)
{
	json_t *obj, *out;
	char *text;

	if (plain_view(&w->view)) {
		queue_line(w, type, o->json, o->len);
		w->last_rv = o->rv;
		return;
	}
	obj = view_render(&w->view, object_parse(o));
	if (w->view.table) {
		json_t *items = json_pack("[O]", obj);

		out = table_build(w->view.group, w->view.resource,
				  w->view.printer_columns, items, NULL, false,
				  time(NULL));
		json_decref(items);
		json_decref(obj);
	} else {
		out = obj;
	}
	text = json_dumps(out, JSON_COMPACT);
	queue_line(w, type, text, strlen(text));
	free(text);
	json_decref(out);
	w->last_rv = o->rv;
}

void watcher_send_bookmark(struct watcher *w, uint64_t rv,
			   bool initial_events_end)
{
	json_t *obj = json_object();
	json_t *meta = json_object();
	char rvtext[32];
	char *text;
	char api_version[256];

	snprintf(rvtext, sizeof(rvtext), "%llu", (unsigned long long)rv);
	if (*w->view.group)
		snprintf(api_version, sizeof(api_version), "%s/%s",
			 w->view.group, w->view.version);
	else
		snprintf(api_version, sizeof(api_version), "%s",
			 w->view.version);
	json_object_set_new(obj, "kind", json_string(w->view.kind));
	json_object_set_new(obj, "apiVersion", json_string(api_version));
	json_object_set_new(meta, "resourceVersion", json_string(rvtext));
	if (initial_events_end)
		json_object_set_new(meta, "annotations",
				    json_pack("{s:s}",
					      "k8s.io/initial-events-end",
					      "true"));
	json_object_set_new(obj, "metadata", meta);
	text = json_dumps(obj, JSON_COMPACT);
	queue_line(w, "BOOKMARK", text, strlen(text));
	free(text);
	json_decref(obj);
	w->last_bookmark = time(NULL);
}

void watcher_send_error(struct watcher *w, const json_t *status)
{
	char *text = json_dumps(status, JSON_COMPACT);

	queue_line(w, "ERROR", text, strlen(text));
	free(text);
}

/* Decides the event type a selective watcher sees for one change. */
static const char *selective_type(struct watcher *w, const struct change *c)
{
	json_t *now = object_parse(c->obj);
	json_t *before = c->prev ? object_parse(c->prev) : NULL;
	bool match_now = c->type != CHANGE_DELETED && watcher_matches(w, now);
	bool match_before = before && watcher_matches(w, before);
	const char *type = NULL;

	if (c->type == CHANGE_DELETED)
		type = match_before ? "DELETED" : NULL;
	else if (match_now && match_before)
		type = "MODIFIED";
	else if (match_now)
		type = "ADDED";
	else if (match_before)
		type = "DELETED";
	json_decref(now);
	json_decref(before);
	return type;
}

static const char *const change_names[] = {"ADDED", "MODIFIED", "DELETED"};

void watch_hub_on_change(const struct change *c, void *data)
{
	struct watch_hub *h = data;

	for (struct watcher *w = h->head; w; w = w->next) {
		const char *type;

		if (w->coll != c->coll || w->done || w->overflowed)
			continue;
		if (c->rv <= w->last_rv)
			continue;
		if (w->labels || w->fields) {
			type = selective_type(w, c);
		} else {
			if (w->ns && strcmp(c->obj->ns, w->ns) != 0)
				continue;
			type = change_names[c->type];
		}
		if (type)
			watcher_send_object(w, type, c->obj);
		w->last_rv = c->rv;
	}
}

void watch_hub_tick(struct watch_hub *h, time_t now)
{
	for (struct watcher *w = h->head; w; w = w->next) {
		if (w->done)
			continue;
		if (w->deadline && now >= w->deadline) {
			w->done = true;
			if (w->wake)
				w->wake(w->wake_data);
			continue;
		}
		if (w->bookmarks && now - w->last_bookmark >= 5 && w->last_rv)
			watcher_send_bookmark(w, w->last_rv, false);
	}
}

void watch_hub_close_collection(struct watch_hub *h, struct collection *c)
{
	for (struct watcher *w = h->head; w; w = w->next) {
		if (w->coll == c) {
			w->done = true;
			if (w->wake)
				w->wake(w->wake_data);
		}
	}
}

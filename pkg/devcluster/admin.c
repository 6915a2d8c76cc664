/*
 * admin: knit-devcluster's admin endpoints, for tests that break the API
 * server on purpose. They sit behind the same bearer token as the API and
 * are never subject to the faults they control.
 *
 *   GET  /admin/faults        the fault configuration (JSON, faults.h)
 *   PUT  /admin/faults        replaces it; {} clears every fault
 *   POST /admin/drop-watches  closes every open watch connection now
 *   POST /admin/compact       forgets the change history, so watches and
 *                             continue tokens from before get 410 Expired
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devcluster/api_internal.h"
#include "devcluster/status.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/mono.h"

double api_monotonic(void)
{
	return mono_now();
}

void api_drop_watches(struct devcluster *dc)
{
	size_t n = 0;

	for (struct watcher *w = dc->hub.head; w; w = w->next) {
		w->overflowed = true; /* the transport closes the connection */
		if (w->wake)
			w->wake(w->wake_data);
		n++;
	}
	LOG_INFOF("dropped every watch", "count=%zu", n);
}

static void respond_faults(struct devcluster *dc, double now,
			   struct api_response *resp)
{
	json_t *cfg = faults_to_json(&dc->faults, now);
	char *text = json_dumps(cfg, JSON_COMPACT | JSON_REAL_PRECISION(15));

	resp->code = 200;
	free(resp->content_type);
	resp->content_type = xstrdup("application/json");
	buf_reset(&resp->body);
	buf_puts(&resp->body, text ? text : "{}");
	buf_putc(&resp->body, '\n');
	free(text);
	json_decref(cfg);
}

static void put_faults(struct devcluster *dc, const struct api_request *req,
		       double now, struct api_response *resp)
{
	json_error_t jerr;
	json_t *cfg =
		json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
	char err[512], msg[600];

	if (!cfg) {
		snprintf(msg, sizeof(msg), "body: invalid JSON: %s", jerr.text);
		api_respond_status(resp, status_bad_request(msg));
		return;
	}
	if (faults_from_json(&dc->faults, cfg, now, err, sizeof(err))) {
		api_respond_status(resp, status_bad_request(err));
	} else {
		LOG_INFOF("faults changed", "by=admin");
		respond_faults(dc, now, resp);
	}
	json_decref(cfg);
}

static void respond_small(struct api_response *resp, json_t *body)
{
	api_respond_json(resp, 200, body, NULL);
}

void api_handle_admin(struct devcluster *dc, const struct api_request *req,
		      double now, struct api_response *resp)
{
	const char *path = req->path ? req->path : "";
	char rv[32];

	if (strcmp(path, "/admin/faults") == 0) {
		if (req->method == HTTP_GET)
			respond_faults(dc, now, resp);
		else if (req->method == HTTP_PUT)
			put_faults(dc, req, now, resp);
		else
			api_respond_status(resp, status_method_not_allowed());
	} else if (strcmp(path, "/admin/drop-watches") == 0) {
		if (req->method != HTTP_POST) {
			api_respond_status(resp, status_method_not_allowed());
			return;
		}
		respond_small(resp, json_pack("{s:I}", "dropped",
					      (json_int_t)dc->hub.count));
		api_drop_watches(dc);
	} else if (strcmp(path, "/admin/compact") == 0) {
		if (req->method != HTTP_POST) {
			api_respond_status(resp, status_method_not_allowed());
			return;
		}
		store_compact(&dc->store);
		snprintf(rv, sizeof(rv), "%llu",
			 (unsigned long long)dc->store.compacted_rv);
		LOG_INFOF("history compacted", "resourceVersion=%s", rv);
		respond_small(resp, json_pack("{s:s}",
					      "compactedResourceVersion", rv));
	} else {
		api_respond_status(resp, status_path_not_found());
	}
}

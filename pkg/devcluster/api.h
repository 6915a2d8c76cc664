/*
 * api: knit-devcluster's request handling, independent of the transport.
 *
 * The HTTP layer (http.c) turns each request into a `struct api_request`
 * and calls api_handle(), which fills a `struct api_response`: a status
 * code, a content type, a body and optional headers, or a watcher when the
 * request opened a watch stream. Everything here runs on the event-loop
 * thread; nothing blocks.
 *
 * `struct devcluster` is the whole server state: the store, the registry,
 * the watch hub and the options. main() owns it.
 */
#ifndef KNIT_DEVCLUSTER_API_H
#define KNIT_DEVCLUSTER_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "devcluster/faults.h"
#include "devcluster/registry.h"
#include "devcluster/sim.h"
#include "devcluster/store.h"
#include "devcluster/watch.h"
#include "util/buf.h"

enum http_method {
	HTTP_GET,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_HEAD,
	HTTP_OTHER
};

struct query_param {
	char *key;
	char *value;
};

struct api_request {
	enum http_method method;
	char *path; /* decoded, without the query string */
	struct query_param *params;
	size_t n_params;
	char *accept;
	char *content_type;
	char *user_agent;
	const char *body;
	size_t body_len;
};

struct api_response {
	int code;
	char *content_type; /* heap string */
	struct buf body;
	json_t *warnings;      /* array of Warning header texts, or NULL */
	int retry_after;       /* seconds; 0 for none */
	struct watcher *watch; /* non-NULL: stream this watcher */
};

struct devcluster_options {
	size_t history_size;  /* changes kept for watch resume */
	size_t max_body;      /* request body limit in bytes */
	int max_inflight;     /* 429 above this many writes per tick; 0 off */
	const char *snapshot; /* file path or NULL */
	size_t watch_buffer;  /* per-watcher output limit in bytes */
	struct sim_options sim;
};

struct devcluster {
	struct store store;
	struct registry reg;
	struct watch_hub hub;
	struct devcluster_options opt;
	uint32_t next_cluster_ip;
	json_t *gc_queue; /* uids of deleted owners awaiting collection */
	bool dirty;	  /* changed since the last snapshot */
	bool gc_pending;  /* a change background work must look at */
	bool gc_owners;	  /* owner references changed: check within 5 s */
	struct sim *sim;  /* the simulated workloads */
	struct faults faults;
	struct hashmap request_counts; /* metric labels -> uint64_t * */
	double metrics_seconds;	       /* how long the last /metrics took */
	size_t metrics_bytes;	       /* and how long it was */
	size_t metrics_reserve;	       /* buffer size /metrics starts with */
};

/*
 * What a request is, in the terms of RBAC and apiserver metrics. `verb` is
 * "get", "list", "watch", "create", "update", "patch", "delete" or
 * "deletecollection" for resource requests and NULL for the others
 * (discovery, /version, /metrics). Strings are empty when absent.
 */
struct api_class {
	const char *verb;
	bool apply; /* a server-side apply PATCH */
	char group[128];
	char version[64];
	char resource[128];
	char subresource[64];
};

/* Classifies req without handling it. */
void api_classify(const struct api_request *req, struct api_class *out);
/* Counts one answered request for /metrics. */
void api_count_request(struct devcluster *dc, const struct api_class *cls,
		       int code);
/* Renders /metrics (Prometheus text) into out. */
void api_metrics(struct devcluster *dc, struct buf *out);
/*
 * The admin endpoints under /admin/ (fault injection); `now` is monotonic
 * seconds. Always fills resp.
 */
void api_handle_admin(struct devcluster *dc, const struct api_request *req,
		      double now, struct api_response *resp);
/* Monotonic clock in seconds (fault windows and schedules). */
double api_monotonic(void);
/* Closes every open watch now, as a dropped connection would. */
void api_drop_watches(struct devcluster *dc);

void devcluster_init(struct devcluster *dc, const struct devcluster_options *o);
void devcluster_release(struct devcluster *dc);

void api_request_release(struct api_request *r);
void api_response_init(struct api_response *r);
void api_response_release(struct api_response *r);

/* The decoded value of query parameter `key`, or NULL. Borrowed. */
const char *api_query(const struct api_request *r, const char *key);

/* Handles one request. The response is always filled. */
void api_handle(struct devcluster *dc, const struct api_request *req,
		struct api_response *resp);

/* Sets a JSON body (stolen) with the given code. */
void api_respond_json(struct api_response *resp, int code, json_t *body,
		      const char *content_type);
/* Sets a Status body (stolen); code from the Status. */
void api_respond_status(struct api_response *resp, json_t *status);

/*
 * Background work between requests: garbage collection, namespace cleanup
 * and the simulated cluster. Called by the event loop every 200 ms; each
 * call does a bounded slice of work and returns true when more is pending,
 * so the loop calls again soon while still serving requests in between.
 */
bool devcluster_tick(struct devcluster *dc);

#endif

/*
 * client: the Kubernetes REST client (contracts in client.h).
 *
 * Layers: transport.c does one HTTP exchange (TLS, pooled connections,
 * timeouts, caps); this file adds what makes it a Kubernetes client: the
 * rate-limit token, the Authorization header, retries (Retry-After on 429
 * and 5xx, one retry on 401 with a fresh credential), paths and query
 * strings, and the typed verbs on top of kube_request(). Decoding error
 * answers into codes and messages is status.c's.
 */
#include "kube/client.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/auth.h"
#include "kube/client_internal.h"
#include "kube/ratelimit.h"
#include "kube/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mono.h"

#define DEFAULT_QPS	   50.0
#define DEFAULT_BURST	   100
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_RETRIES	   10
#define DEFAULT_MAX_BODY   ((size_t)256 << 20)
#define DEFAULT_PAGE	   500
#define RETRY_AFTER_CAP	   60

const struct kube_resource KUBE_CONFIGMAPS = {"", "v1", "configmaps",
					      "ConfigMap", true};
const struct kube_resource KUBE_DEPLOYMENTS = {"apps", "v1", "deployments",
					       "Deployment", true};
const struct kube_resource KUBE_EVENTS = {"", "v1", "events", "Event", true};
const struct kube_resource KUBE_LEASES = {"coordination.k8s.io", "v1", "leases",
					  "Lease", true};
const struct kube_resource KUBE_NAMESPACES = {"", "v1", "namespaces",
					      "Namespace", false};
const struct kube_resource KUBE_PODS = {"", "v1", "pods", "Pod", true};
const struct kube_resource KUBE_REPLICASETS = {"apps", "v1", "replicasets",
					       "ReplicaSet", true};
const struct kube_resource KUBE_SECRETS = {"", "v1", "secrets", "Secret", true};
const struct kube_resource KUBE_SERVICES = {"", "v1", "services", "Service",
					    true};

struct kube_client {
	const struct kube_config *cfg;
	struct transport *tr;
	struct kube_auth *auth;
	struct ratelimit rl;
	long timeout_ms;
	int max_retries;
	size_t max_body;
	void (*observe)(const char *method, int status, double seconds,
			double throttled_seconds, void *data);
	void *observe_data;
};

/* ---- Paths and queries ---- */

char *kube_path(const struct kube_resource *r, const char *ns, const char *name,
		const char *subresource)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	if (r->group && r->group[0])
		buf_printf(&b, "/apis/%s/%s", r->group, r->version);
	else
		buf_printf(&b, "/api/%s", r->version);
	if (r->namespaced && ns && ns[0])
		buf_printf(&b, "/namespaces/%s", ns);
	buf_printf(&b, "/%s", r->plural);
	if (name && name[0]) {
		buf_printf(&b, "/%s", name);
		if (subresource && subresource[0])
			buf_printf(&b, "/%s", subresource);
	}
	return buf_detach(&b, NULL);
}

void kube_query_add(struct buf *q, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";

	if (!value || !value[0])
		return;
	buf_printf(q, "%c%s=", memchr(q->data, '?', q->len) ? '&' : '?', key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~') {
			buf_putc(q, (char)*p);
		} else {
			buf_putc(q, '%');
			buf_putc(q, hex[*p >> 4]);
			buf_putc(q, hex[*p & 15]);
		}
	}
}

char *kube_list_path(const struct kube_resource *r, const char *ns,
		     const struct kube_list_options *opt)
{
	char *path = kube_path(r, ns, NULL, NULL);
	char limit[32];
	struct buf b;

	if (!opt)
		return path;
	buf_init(&b, BUF_UNLIMITED);
	buf_puts(&b, path);
	free(path);
	kube_query_add(&b, "labelSelector", opt->label_selector);
	kube_query_add(&b, "fieldSelector", opt->field_selector);
	kube_query_add(&b, "resourceVersion", opt->resource_version);
	if (opt->limit > 0) {
		snprintf(limit, sizeof(limit), "%ld", opt->limit);
		kube_query_add(&b, "limit", limit);
	}
	kube_query_add(&b, "continue", opt->continue_token);
	return buf_detach(&b, NULL);
}

char *kube_write_path(const struct kube_resource *r, const char *ns,
		      const char *name, const char *subresource,
		      const struct kube_write_options *opt, bool apply)
{
	char *path = kube_path(r, ns, name, subresource);
	struct buf b;

	if (!opt)
		return path;
	buf_init(&b, BUF_UNLIMITED);
	buf_puts(&b, path);
	free(path);
	kube_query_add(&b, "fieldManager", opt->field_manager);
	if (apply && opt->force)
		kube_query_add(&b, "force", "true");
	if (opt->dry_run)
		kube_query_add(&b, "dryRun", "All");
	return buf_detach(&b, NULL);
}

json_t *kube_delete_options_json(const struct kube_delete_options *opt)
{
	json_t *o = json_pack("{s:s, s:s}", "kind", "DeleteOptions",
			      "apiVersion", "v1");
	json_t *pre;

	if (!opt)
		return o;
	if (opt->propagation && opt->propagation[0])
		json_object_set_new(o, "propagationPolicy",
				    json_string(opt->propagation));
	if (opt->grace_period >= 0)
		json_object_set_new(o, "gracePeriodSeconds",
				    json_integer(opt->grace_period));
	if ((opt->uid && opt->uid[0]) ||
	    (opt->resource_version && opt->resource_version[0])) {
		pre = json_object();
		if (opt->uid && opt->uid[0])
			json_object_set_new(pre, "uid", json_string(opt->uid));
		if (opt->resource_version && opt->resource_version[0])
			json_object_set_new(pre, "resourceVersion",
					    json_string(opt->resource_version));
		json_object_set_new(o, "preconditions", pre);
	}
	return o;
}

/* ---- Client lifecycle ---- */

int kube_client_new(const struct kube_config *cfg,
		    const struct kube_client_options *opt,
		    struct kube_client **out, char *errbuf, size_t errlen)
{
	struct kube_client_options o = {0};
	struct kube_client *c;
	char *ua;
	int rc;

	*out = NULL;
	if (opt)
		o = *opt;
	ua = o.component && o.component[0]
		     ? xasprintf("knit/%s (linux) %s", KNIT_VERSION,
				 o.component)
		     : xasprintf("knit/%s (linux)", KNIT_VERSION);
	c = xcalloc(1, sizeof(*c));
	rc = transport_new(cfg, ua, &c->tr, errbuf, errlen);
	free(ua);
	if (rc) {
		free(c);
		return rc;
	}
	c->cfg = cfg;
	c->auth = kube_auth_new(cfg);
	ratelimit_init(&c->rl, o.qps == 0 ? DEFAULT_QPS : o.qps,
		       o.burst == 0 ? DEFAULT_BURST : o.burst);
	c->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
	c->max_retries = o.max_retries == 0  ? DEFAULT_RETRIES
			 : o.max_retries < 0 ? 0
					     : o.max_retries;
	c->max_body = o.max_body ? o.max_body : DEFAULT_MAX_BODY;
	c->observe = o.observe;
	c->observe_data = o.observe_data;
	*out = c;
	return 0;
}

void kube_client_free(struct kube_client *c)
{
	if (!c)
		return;
	transport_free(c->tr);
	kube_auth_free(c->auth);
	ratelimit_release(&c->rl);
	free(c);
}

const struct kube_config *kube_client_config(const struct kube_client *c)
{
	return c->cfg;
}

void kube_response_release(struct kube_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->content_type);
	memset(r, 0, sizeof(*r));
}

/* ---- The request loop ---- */

/* Sleeps `secs` seconds, waking early when *cancel becomes nonzero. */
static void sleep_cancellable(long secs, const atomic_int *cancel)
{
	struct timespec step = {0, 200 * 1000 * 1000};

	for (long i = 0; i < secs * 5; i++) {
		if (cancel && atomic_load(cancel))
			return;
		nanosleep(&step, NULL);
	}
}

/* Whether an answer may be retried, and after how long (seconds). */
static bool should_retry(const struct kube_client *c,
			 const struct transport_result *res, int retries,
			 long *wait)
{
	long s = res->http_status;

	if (s != 429 && s < 500)
		return false;
	if (res->retry_after < 0 || retries >= c->max_retries)
		return false;
	*wait = res->retry_after > RETRY_AFTER_CAP ? RETRY_AFTER_CAP
						   : res->retry_after;
	return true;
}

/*
 * Runs `req` with rate limiting, auth and retries until a final answer.
 * Returns 0 for a 2xx answer (or a cancelled stream) with `res` holding
 * it, else the code with `err` filled.
 */
static int exchange(struct kube_client *c, struct transport_request *req,
		    struct transport_result *res, struct kube_error *err)
{
	char msg[512] = "";
	char *auth = NULL;
	bool auth_retried = false;
	int retries = 0, rc;
	long wait;

	for (;;) {
		double t0 = mono_now(), t1;

		ratelimit_wait(&c->rl);
		t1 = mono_now();
		free(auth);
		auth = NULL;
		rc = kube_auth_header(c->auth, &auth, msg, sizeof(msg));
		if (rc) {
			kube_error_set(err, rc, 0, msg);
			break;
		}
		req->auth_header = auth;
		rc = transport_do(c->tr, req, res);
		if (c->observe)
			c->observe(req->method, rc ? 0 : (int)res->http_status,
				   mono_now() - t1, t1 - t0, c->observe_data);
		if (rc) {
			kube_error_set(err, rc, 0, res->message);
			break;
		}
		if (req->cancel && atomic_load(req->cancel))
			break;
		if (res->http_status >= 200 && res->http_status < 300)
			break;
		if (res->http_status == 401 && auth && !auth_retried &&
		    kube_auth_invalidate(c->auth, auth) == 1) {
			auth_retried = true;
			continue;
		}
		if (should_retry(c, res, retries, &wait)) {
			retries++;
			LOG_INFOF("retrying request",
				  "method=%s path=%s "
				  "status=%ld retry_after=%ld attempt=%d",
				  req->method, req->path, res->http_status,
				  wait, retries);
			sleep_cancellable(wait, req->cancel);
			if (req->cancel && atomic_load(req->cancel)) {
				rc = 0; /* the caller reports the cancel */
				break;
			}
			continue;
		}
		rc = kube_error_from_response(
			res->http_status, req->method, res->content_type,
			res->body.data, res->body.len, res->retry_after, err);
		break;
	}
	free(auth);
	return rc;
}

/* kube_request() that gives up when *cancel becomes nonzero (NULL: never):
 * the transfer and any Retry-After wait end within 200 ms and the call
 * returns ERR_TIMEOUT. */
static int request_cancellable(struct kube_client *c, const char *method,
			       const char *path, const char *content_type,
			       const char *body, size_t body_len,
			       const atomic_int *cancel,
			       struct kube_response *resp,
			       struct kube_error *err)
{
	struct transport_request req = {
		.method = method,
		.path = path,
		.content_type = body ? content_type : NULL,
		.body = body,
		.body_len = body_len,
		.timeout_ms = c->timeout_ms,
		.max_body = c->max_body,
		.cancel = cancel,
	};
	struct transport_result res;
	int rc;

	transport_result_init(&res);
	rc = exchange(c, &req, &res, err);
	if (rc == 0 && cancel && atomic_load(cancel))
		rc = kube_error_set(err, ERR_TIMEOUT, 0, "request cancelled");
	if (rc == 0 && resp) {
		resp->http_status = res.http_status;
		resp->body = buf_detach(&res.body, &resp->len);
		resp->content_type = res.content_type;
		res.content_type = NULL;
	}
	transport_result_release(&res);
	return rc;
}

int kube_request(struct kube_client *c, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 struct kube_response *resp, struct kube_error *err)
{
	return request_cancellable(c, method, path, content_type, body,
				   body_len, NULL, resp, err);
}

int kube_stream(struct kube_client *c, const char *path, kube_stream_fn fn,
		void *ud, const atomic_int *cancel, long idle_timeout_ms,
		struct kube_error *err)
{
	struct transport_request req = {
		.method = "GET",
		.path = path,
		.idle_timeout_ms = idle_timeout_ms,
		.cancel = cancel,
		.max_body = c->max_body,
		.stream = fn,
		.stream_ud = ud,
	};
	struct transport_result res;
	int rc;

	transport_result_init(&res);
	rc = exchange(c, &req, &res, err);
	transport_result_release(&res);
	return rc;
}

/* ---- Typed verbs ---- */

/* Sends a request whose 2xx body is an object returned in *out. */
static int request_json_cancellable(struct kube_client *c, const char *method,
				    const char *path, const char *content_type,
				    json_t *body_obj, const atomic_int *cancel,
				    json_t **out, struct kube_error *err)
{
	struct kube_response resp = {0};
	char *body = NULL;
	json_error_t jerr;
	int rc;

	if (out)
		*out = NULL;
	if (body_obj)
		body = json_dumps(body_obj, JSON_COMPACT);
	if (body_obj && !body) {
		rc = kube_error_set(err, ERR_INVAL, 0,
				    "body is not serialisable");
		goto out;
	}
	rc = request_cancellable(c, method, path, content_type, body,
				 body ? strlen(body) : 0, cancel,
				 out ? &resp : NULL, err);
	if (rc || !out)
		goto out;
	*out = json_loadb(resp.body, resp.len, 0, &jerr);
	if (!*out) {
		char m[300];

		snprintf(m, sizeof(m), "%s %s: response is not JSON: %s",
			 method, path, jerr.text);
		rc = kube_error_set(err, ERR_PARSE, resp.http_status, m);
	}
out:
	kube_response_release(&resp);
	free(body);
	return rc;
}

static int request_json(struct kube_client *c, const char *method,
			const char *path, const char *content_type,
			json_t *body_obj, json_t **out, struct kube_error *err)
{
	return request_json_cancellable(c, method, path, content_type, body_obj,
					NULL, out, err);
}

/* The namespace of a named object: the argument, else the config's (a
 * namespaced object always lives in one). */
static const char *object_ns(const struct kube_client *c,
			     const struct kube_resource *r, const char *ns)
{
	return r->namespaced && (!ns || !ns[0]) ? c->cfg->namespace : ns;
}

int kube_get(struct kube_client *c, const struct kube_resource *r,
	     const char *ns, const char *name, json_t **out,
	     struct kube_error *err)
{
	char *path;
	int rc;

	if (!name || !name[0])
		return kube_error_set(err, ERR_INVAL, 0,
				      "resource name may not be empty");
	path = kube_path(r, object_ns(c, r, ns), name, NULL);
	rc = request_json(c, "GET", path, NULL, NULL, out, err);
	free(path);
	return rc;
}

int kube_list(struct kube_client *c, const struct kube_resource *r,
	      const char *ns, const struct kube_list_options *opt, json_t **out,
	      struct kube_error *err)
{
	char *path = kube_list_path(r, ns, opt);
	int rc = request_json_cancellable(c, "GET", path, NULL, NULL,
					  opt ? opt->cancel : NULL, out, err);

	free(path);
	return rc;
}

int kube_list_each(struct kube_client *c, const struct kube_resource *r,
		   const char *ns, const struct kube_list_options *opt,
		   kube_item_fn fn, void *data, char **rv,
		   struct kube_error *err)
{
	struct kube_list_options o = {0};
	json_t *page = NULL, *item, *meta;
	char *token = NULL;
	const char *next;
	size_t i;
	int rc;

	if (rv)
		*rv = NULL;
	if (opt)
		o = *opt;
	if (o.limit <= 0)
		o.limit = DEFAULT_PAGE;
	for (;;) {
		rc = kube_list(c, r, ns, &o, &page, err);
		if (rc)
			break;
		json_array_foreach(json_object_get(page, "items"), i, item)
		{
			rc = fn(item, data);
			if (rc)
				goto out;
		}
		meta = json_object_get(page, "metadata");
		next = json_string_value(json_object_get(meta, "continue"));
		if (!next || !next[0]) {
			const char *v = json_string_value(
				json_object_get(meta, "resourceVersion"));
			if (rv)
				*rv = xstrdup(v ? v : "");
			break;
		}
		free(token);
		token = xstrdup(next);
		o.continue_token = token;
		o.resource_version = NULL; /* not allowed with continue */
		json_decref(page);
		page = NULL;
	}
out:
	json_decref(page);
	free(token);
	return rc;
}

/*
 * The namespace to write to: the argument, else the object's own, else the
 * config's (as kubectl does).
 */
static const char *write_ns(const struct kube_client *c,
			    const struct kube_resource *r, const char *ns,
			    json_t *obj)
{
	const char *own;

	if (!r->namespaced || (ns && ns[0]))
		return ns;
	own = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "namespace"));
	return own && own[0] ? own : c->cfg->namespace;
}

int kube_create(struct kube_client *c, const struct kube_resource *r,
		const char *ns, json_t *obj,
		const struct kube_write_options *opt, json_t **out,
		struct kube_error *err)
{
	char *path = kube_write_path(r, write_ns(c, r, ns, obj), NULL, NULL,
				     opt, false);
	int rc = request_json(c, "POST", path, "application/json", obj, out,
			      err);

	free(path);
	return rc;
}

static int put_object(struct kube_client *c, const struct kube_resource *r,
		      const char *ns, json_t *obj, const char *subresource,
		      const struct kube_write_options *opt, json_t **out,
		      struct kube_error *err)
{
	const char *name = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "name"));
	char *path;
	int rc;

	if (out)
		*out = NULL;
	if (!name || !name[0])
		return kube_error_set(err, ERR_INVAL, 0,
				      "object has no metadata.name");
	path = kube_write_path(r, write_ns(c, r, ns, obj), name, subresource,
			       opt, false);
	rc = request_json(c, "PUT", path, "application/json", obj, out, err);
	free(path);
	return rc;
}

int kube_update(struct kube_client *c, const struct kube_resource *r,
		const char *ns, json_t *obj,
		const struct kube_write_options *opt, json_t **out,
		struct kube_error *err)
{
	return put_object(c, r, ns, obj, NULL, opt, out, err);
}

int kube_update_status(struct kube_client *c, const struct kube_resource *r,
		       const char *ns, json_t *obj,
		       const struct kube_write_options *opt, json_t **out,
		       struct kube_error *err)
{
	return put_object(c, r, ns, obj, "status", opt, out, err);
}

int kube_patch(struct kube_client *c, const struct kube_resource *r,
	       const char *ns, const char *name, const char *subresource,
	       enum kube_patch_type type, json_t *patch,
	       const struct kube_write_options *opt, json_t **out,
	       struct kube_error *err)
{
	static const char *const types[] = {
		[KUBE_PATCH_MERGE] = "application/merge-patch+json",
		[KUBE_PATCH_JSON] = "application/json-patch+json",
		[KUBE_PATCH_APPLY] = "application/apply-patch+yaml",
		[KUBE_PATCH_STRATEGIC] =
			"application/strategic-merge-patch+json",
	};
	bool apply = type == KUBE_PATCH_APPLY;
	char *path;
	int rc;

	if (out)
		*out = NULL;
	if ((unsigned)type > KUBE_PATCH_STRATEGIC || !patch)
		return kube_error_set(err, ERR_INVAL, 0, "invalid patch");
	if (!name || !name[0])
		return kube_error_set(err, ERR_INVAL, 0,
				      "resource name may not be empty");
	if (apply && (!opt || !opt->field_manager || !opt->field_manager[0]))
		return kube_error_set(
			err, ERR_INVAL, 0,
			"fieldManager is required for apply patch");
	path = kube_write_path(r, object_ns(c, r, ns), name, subresource, opt,
			       apply);
	rc = request_json(c, "PATCH", path, types[type], patch, out, err);
	free(path);
	return rc;
}

int kube_delete(struct kube_client *c, const struct kube_resource *r,
		const char *ns, const char *name,
		const struct kube_delete_options *opt, struct kube_error *err)
{
	json_t *body;
	char *path;
	int rc;

	if (!name || !name[0])
		return kube_error_set(err, ERR_INVAL, 0,
				      "resource name may not be empty");
	body = kube_delete_options_json(opt);
	path = kube_path(r, object_ns(c, r, ns), name, NULL);
	rc = request_json(c, "DELETE", path, "application/json", body, NULL,
			  err);
	free(path);
	json_decref(body);
	return rc;
}

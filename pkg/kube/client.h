/*
 * client: a REST client for the Kubernetes API on libcurl.
 *
 * Objects are jansson values (raw JSON, as the server sent them); the client
 * never models types, so fields it does not know survive a write-back.
 * Resources are named by a struct kube_resource (group, version, plural,
 * scope), from which paths are built:
 *   /api/v1/namespaces/<ns>/<plural>[/<name>[/<subresource>]]
 *   /apis/<group>/<version>/...        (cluster-scoped: no namespaces/<ns>)
 *
 * Behaviour:
 *   - TLS verification is on unless the config says insecure-skip-tls-verify;
 *     CA, client certificate and key come from the config (file or in-memory
 *     PEM); tls-server-name and proxy-url are honoured. HTTP/2 is used when
 *     the server offers it over TLS (ALPN), HTTP/1.1 otherwise.
 *   - Connections are reused: each client keeps a pool of curl handles.
 *   - Client-side rate limiting: a token bucket of `qps` and `burst` shared
 *     by every request of the client (watches included, at their start).
 *   - Retries: a 429 or any 5xx answer carrying "Retry-After: <seconds>" is
 *     retried after that many seconds (capped at 60), at most max_retries
 *     times, as client-go does; without the header the error is returned.
 *     A 401 is retried once when the credential source can offer a new
 *     token (exec plugin, rotated token file).
 *   - Every request has a timeout (timeout_ms; watches use their own).
 *   - User-Agent: "knit/<KNIT_VERSION> (linux) <component>".
 *
 * Errors: every call returns 0 or a negative code from pkg/util/err.h:
 *   404 ERR_NOTFOUND, 409 AlreadyExists ERR_EXISTS, 409 Conflict
 *   ERR_CONFLICT, 422 ERR_INVAL, 410 ERR_GONE, 429 ERR_TOOMANY,
 *   401 ERR_UNAUTHORIZED, 403 ERR_FORBIDDEN, 504 and client timeouts
 *   ERR_TIMEOUT, 400 ERR_BADREQUEST, 415 ERR_UNSUPPORTED, other 5xx
 *   ERR_INTERNAL, connection/TLS/DNS failures ERR_TRANSPORT, an unparseable
 *   success body ERR_PARSE, a body over max_body ERR_TOOBIG.
 * When `err` is non-NULL it receives the detail: HTTP status, the Status
 * reason and message (or curl's message for transport failures, e.g.
 * "SSL certificate problem: unable to get local issuer certificate"), and
 * the Status object itself for callers that want details.causes.
 *
 * Thread-safety: every function may be called from any thread at once on
 * one client; a request never holds a lock while on the network.
 * curl_global_init() is done once by kube_client_new() (thread-safe via
 * pthread_once); nothing ever calls curl_global_cleanup().
 */
#ifndef KNIT_KUBE_CLIENT_H
#define KNIT_KUBE_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "kube/kubeconfig.h"

#ifndef KNIT_VERSION
#define KNIT_VERSION "0.1.0"
#endif

struct kube_client;

/* A resource type. Strings are borrowed and must outlive their use. */
struct kube_resource {
	const char *group; /* "" for the core group */
	const char *version;
	const char *plural; /* "replicasets" */
	const char *kind;   /* "ReplicaSet" */
	bool namespaced;
};

/* Resources Knit uses, defined in client.c. */
extern const struct kube_resource KUBE_CONFIGMAPS;
extern const struct kube_resource KUBE_DEPLOYMENTS;
extern const struct kube_resource KUBE_EVENTS;
extern const struct kube_resource KUBE_LEASES;
extern const struct kube_resource KUBE_NAMESPACES;
extern const struct kube_resource KUBE_PODS;
extern const struct kube_resource KUBE_REPLICASETS;
extern const struct kube_resource KUBE_SECRETS;
extern const struct kube_resource KUBE_SERVICES;

/* Detail of a failed call. Initialise with KUBE_ERROR_INIT or zero it; free
 * with kube_error_release(). A later failing call overwrites it. */
struct kube_error {
	int code;	    /* the value the call returned */
	long http_status;   /* 0 when no HTTP answer arrived */
	char reason[64];    /* Status.reason, e.g. "Conflict"; "" when none */
	char message[1024]; /* Status.message or transport error; never "" on
			       failure */
	json_t *status;	    /* new reference to the Status object, or NULL */
	long retry_after;   /* seconds from Retry-After, or -1 */
};
#define KUBE_ERROR_INIT           \
	{                         \
		.retry_after = -1 \
	}
void kube_error_release(struct kube_error *e);

struct kube_client_options {
	double qps;	 /* requests per second; 0 means 50; <0 unlimited */
	int burst;	 /* bucket size; 0 means 100 */
	long timeout_ms; /* per request; 0 means 30000 */
	int max_retries; /* Retry-After retries; 0 means 10; <0 none */
	size_t max_body; /* response size cap; 0 means 256 MiB */
	const char *component; /* appended to the User-Agent, may be NULL */
	/* Called after every HTTP exchange (each retry too) with the method,
	 * the HTTP status (0 when the transport failed), its duration and
	 * how long the client-side rate limiter held it back, in seconds.
	 * May be NULL; must be thread-safe and quick. */
	void (*observe)(const char *method, int status, double seconds,
			double throttled_seconds, void *data);
	void *observe_data;
};

/*
 * Creates a client for `cfg`, which must outlive it. `opt` may be NULL for
 * the defaults. Fails with ERR_INVAL (bad server URL, unreadable client
 * key or certificate) and a message in errbuf.
 */
int kube_client_new(const struct kube_config *cfg,
		    const struct kube_client_options *opt,
		    struct kube_client **out, char *errbuf, size_t errlen);
/* Frees the client. No request may be in progress. NULL is a no-op. */
void kube_client_free(struct kube_client *c);

/* The config the client was made from (borrowed). */
const struct kube_config *kube_client_config(const struct kube_client *c);

/*
 * Builds the path of a collection (name NULL) or an object, with an
 * optional subresource: a new heap string. `ns` is ignored for
 * cluster-scoped resources; NULL or "" for a namespaced resource means all
 * namespaces (collections only).
 */
char *kube_path(const struct kube_resource *r, const char *ns, const char *name,
		const char *subresource);

/* ---- Generic request ---- */

struct kube_response {
	long http_status;
	char *body; /* NUL-terminated; heap, owned by the response */
	size_t len;
	char *content_type; /* may be NULL */
};
void kube_response_release(struct kube_response *r);

/*
 * Sends one request (with rate limiting, auth and retries) to `path`
 * (starting with '/', query included). `body` may be NULL. On 2xx returns 0
 * and fills *resp (when non-NULL); otherwise returns the mapped error code
 * and fills err. The Accept header is always application/json.
 */
int kube_request(struct kube_client *c, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 struct kube_response *resp, struct kube_error *err);

/* ---- Typed verbs. `out` may be NULL; otherwise *out is a new reference
 * to the object the server returned. For a namespaced resource, a NULL or
 * "" `ns` in a call about one object means the config's namespace (create
 * and update first take the object's metadata.namespace), as kubectl does;
 * for lists it means every namespace. ---- */

int kube_get(struct kube_client *c, const struct kube_resource *r,
	     const char *ns, const char *name, json_t **out,
	     struct kube_error *err);

struct kube_list_options {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version; /* "" or NULL: most recent */
	long limit;		      /* 0: no limit */
	const char *continue_token;
	/* May be NULL. When *cancel becomes nonzero the call stops within
	 * 200 ms (transfer, Retry-After waits, later pages) and returns
	 * ERR_TIMEOUT: how a reflector's stop interrupts a long list. */
	const atomic_int *cancel;
};

/* One page: *out is the List object (items, metadata.continue, RV). */
int kube_list(struct kube_client *c, const struct kube_resource *r,
	      const char *ns, const struct kube_list_options *opt, json_t **out,
	      struct kube_error *err);

/*
 * Every page (limit `opt->limit`, 500 when 0), calling `fn` for each item
 * with a borrowed reference; a nonzero return from fn stops and is
 * returned. On success *rv (when non-NULL) receives the list's
 * resourceVersion as a new heap string. A 410 on a continue token returns
 * ERR_GONE (the caller restarts the list).
 */
typedef int (*kube_item_fn)(json_t *item, void *data);
int kube_list_each(struct kube_client *c, const struct kube_resource *r,
		   const char *ns, const struct kube_list_options *opt,
		   kube_item_fn fn, void *data, char **rv,
		   struct kube_error *err);

struct kube_write_options {
	const char *field_manager; /* NULL: none sent */
	bool force;		   /* apply patches only */
	bool dry_run;		   /* dryRun=All */
};

int kube_create(struct kube_client *c, const struct kube_resource *r,
		const char *ns, json_t *obj,
		const struct kube_write_options *opt, json_t **out,
		struct kube_error *err);
/* PUT of the whole object; metadata.name and resourceVersion come from obj. */
int kube_update(struct kube_client *c, const struct kube_resource *r,
		const char *ns, json_t *obj,
		const struct kube_write_options *opt, json_t **out,
		struct kube_error *err);
/* PUT to the status subresource. */
int kube_update_status(struct kube_client *c, const struct kube_resource *r,
		       const char *ns, json_t *obj,
		       const struct kube_write_options *opt, json_t **out,
		       struct kube_error *err);

enum kube_patch_type {
	KUBE_PATCH_MERGE,    /* application/merge-patch+json */
	KUBE_PATCH_JSON,     /* application/json-patch+json */
	KUBE_PATCH_APPLY,    /* application/apply-patch+yaml (server-side apply;
			      * field_manager required) */
	KUBE_PATCH_STRATEGIC /* application/strategic-merge-patch+json
			      * (built-in types only) */
};

/* PATCH with `patch` serialised as the body; `subresource` may be NULL. */
int kube_patch(struct kube_client *c, const struct kube_resource *r,
	       const char *ns, const char *name, const char *subresource,
	       enum kube_patch_type type, json_t *patch,
	       const struct kube_write_options *opt, json_t **out,
	       struct kube_error *err);

struct kube_delete_options {
	const char
		*propagation; /* "Background", "Foreground", "Orphan", NULL */
	long grace_period;    /* seconds; <0 means not sent */
	const char *uid;      /* precondition, may be NULL */
	const char *resource_version; /* precondition, may be NULL */
};
#define KUBE_DELETE_OPTIONS_INIT   \
	{                          \
		.grace_period = -1 \
	}

/* DELETE; `opt` may be NULL. */
int kube_delete(struct kube_client *c, const struct kube_resource *r,
		const char *ns, const char *name,
		const struct kube_delete_options *opt, struct kube_error *err);

/* ---- Streaming (watch) ---- */

/* Receives body bytes as they arrive; nonzero aborts the stream and becomes
 * kube_stream()'s return value. */
typedef int (*kube_stream_fn)(const char *data, size_t len, void *ud);

/*
 * GETs `path` and hands the 2xx body to `fn` chunk by chunk. Returns 0 when
 * the server ends the body or `*cancel` becomes nonzero (checked at least
 * every 200 ms; `cancel` may be NULL), fn's value when fn aborts, and
 * ERR_TIMEOUT when no byte arrives for `idle_timeout_ms` (0: no limit). A
 * non-2xx answer is read whole and returned as kube_request() does.
 */
int kube_stream(struct kube_client *c, const char *path, kube_stream_fn fn,
		void *ud, const atomic_int *cancel, long idle_timeout_ms,
		struct kube_error *err);

#endif

/*
 * transport: one HTTP exchange with the API server over libcurl, for
 * client.c. It knows TLS, connection reuse, timeouts, size caps and
 * cancellation; it knows nothing of Kubernetes errors, auth or retries.
 *
 * A transport keeps a free list of curl handles (each an easy handle in
 * its own multi handle, whose connection cache keeps the connection open
 * between requests). A request takes a handle, resets it, applies the TLS
 * and per-request options, runs it and gives it back, so connections are
 * reused without a lock held during I/O.
 *
 * Ownership: the transport borrows the kube_config, which must outlive it.
 * Thread-safety: transport_do() may run on many threads at once.
 */
#ifndef KNIT_KUBE_TRANSPORT_H
#define KNIT_KUBE_TRANSPORT_H

#include <stdatomic.h>
#include <stddef.h>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "util/buf.h"

struct transport;

/*
 * Creates a transport for `cfg`. Does curl_global_init() once per process.
 * Fails with ERR_INVAL (server URL not http(s)://host[:port][/prefix],
 * client certificate without key or unreadable) and a message in errbuf.
 */
int transport_new(const struct kube_config *cfg, const char *user_agent,
		  struct transport **out, char *errbuf, size_t errlen);
/* Frees every pooled handle. No request may be in progress. NULL: no-op. */
void transport_free(struct transport *t);

struct transport_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* appended to the server URL, query included */
	const char *auth_header;  /* "Authorization: ..." or NULL */
	const char *content_type; /* NULL when no body */
	const char *body;
	size_t body_len;
	long timeout_ms;	  /* whole exchange; 0: none */
	long idle_timeout_ms;	  /* no byte for this long; 0: none */
	const atomic_int *cancel; /* may be NULL; polled every 200 ms */
	size_t max_body;	  /* cap on a buffered body */
	/* When set, a 2xx body goes to stream() as it arrives instead of
	 * into the result; other bodies are still buffered (for errors). */
	kube_stream_fn stream;
	void *stream_ud;
};

struct transport_result {
	long http_status;   /* 0 when no answer arrived */
	struct buf body;    /* buffered body (NUL-terminated) */
	char *content_type; /* heap or NULL */
	long retry_after;   /* Retry-After seconds, or -1 */
	char message[1024]; /* set when transport_do() fails */
};

/* Prepares `res` for transport_do(). */
void transport_result_init(struct transport_result *res);
/* Frees what `res` holds; it may be inited again. */
void transport_result_release(struct transport_result *res);

/*
 * Runs one exchange. Returns 0 when an HTTP answer arrived whole (any
 * status) or the stream was cancelled; otherwise ERR_TRANSPORT (connect,
 * TLS, DNS, broken connection), ERR_TIMEOUT (timeout_ms or
 * idle_timeout_ms), ERR_TOOBIG (body over max_body), or the nonzero value
 * returned by stream(), with a message in res->message of the form
 * `Get "<url>": <detail>`.
 */
int transport_do(struct transport *t, const struct transport_request *req,
		 struct transport_result *res);

/*
 * Parses a Retry-After header value (`len` bytes, surrounding blanks
 * allowed) as integer seconds; -1 for anything else (HTTP dates included:
 * client-go ignores them too).
 */
long transport_retry_after_parse(const char *v, size_t len);

#endif

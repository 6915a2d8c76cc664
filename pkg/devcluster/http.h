/*
 * http: knit-devcluster's HTTPS front end on libwebsockets.
 *
 * One event-loop thread serves every connection: it reads a request (body
 * limited to opt.max_body), checks the bearer token, hands the request to
 * api_handle(), and writes the response with a Content-Length, or, for a
 * watch, as a chunked stream that stays open until the watch ends. HTTP/1.1
 * only (ALPN "http/1.1"), keep-alive on.
 *
 * http_server_run() blocks until http_server_stop() is called (from a signal
 * handler, for instance), then returns 0.
 */
#ifndef KNIT_DEVCLUSTER_HTTP_H
#define KNIT_DEVCLUSTER_HTTP_H

#include "devcluster/api.h"

struct http_server_config {
	const char *address; /* "127.0.0.1" */
	int port;	     /* 0: pick a free port */
	const char *cert_path;
	const char *key_path;
	const char *token; /* required bearer token */
	/* called once listening, with the bound port */
	void (*on_listen)(int port, void *data);
	void *data;
};

int http_server_run(struct devcluster *dc, const struct http_server_config *cfg,
		    char *errbuf, size_t errlen);
/* Async-signal-safe: asks the running server to return. */
void http_server_stop(void);

#endif

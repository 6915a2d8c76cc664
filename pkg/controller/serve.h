/*
 * serve: knit-controller's HTTP endpoints, on libwebsockets.
 *
 *   GET /metrics  the registry's text exposition (text/plain; version=0.0.4)
 *   GET /healthz  200 "ok" while the process serves
 *   GET /readyz   200 "ok" when ready() says so, else 503 with its reason
 * Anything else is 404, a method other than GET/HEAD 405; requests are
 * bounded (headers by libwebsockets, no bodies read). One thread runs the
 * server loop; serve_stop() ends it from any thread.
 */
#ifndef KNIT_CONTROLLER_SERVE_H
#define KNIT_CONTROLLER_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "controller/metrics.h"

struct serve_options {
	const char *address; /* "host:port"; port 0 picks a free one */
	struct metrics *metrics;
	/* Readiness: true when ready; otherwise fills why. May be NULL
	 * (always ready). Called on the server thread. */
	bool (*ready)(char *why, size_t len, void *data);
	void *data;
};

struct server;

/* Binds and starts the server thread. Returns 0 or ERR_INVAL / ERR_IO with
 * a message (bad address, port in use). */
int serve_start(const struct serve_options *o, struct server **out, char *err,
		size_t errlen);
/* The port actually bound. */
int serve_port(const struct server *s);
/* Stops the thread and frees. NULL is a no-op. */
void serve_stop(struct server *s);

#endif

/*
 * serve: knit-controller's plain-HTTP endpoints (/metrics, /healthz,
 * /readyz) on libwebsockets (see serve.h).
 *
 * serve_start() creates the context and the listening vhost on the
 * caller's thread, so a bad address or a port in use is reported at once,
 * then one thread runs lws_service() until serve_stop() sets the stop flag
 * and wakes it with lws_cancel_service(). Each request is answered whole:
 * the response (status, type, body) is built when the request line
 * arrives, and written on the writable callbacks: headers first, then the
 * body in chunks. Request bodies are never waited for: a request that
 * carries one (or uses a method other than GET/HEAD) is answered at once
 * with "connection: close" and the connection is closed after the answer,
 * so neither an unread body nor a body libwebsockets cannot frame (chunked,
 * "Content-Length: 0" on a GET) can hold a response back.
 */
#include "controller/serve.h"

#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

#define WRITE_CHUNK 8192

struct server {
	struct lws_context *context;
	pthread_t thread;
	atomic_int stop;
	int port;
	struct metrics *metrics;
	bool (*ready)(char *why, size_t len, void *data);
	void *data;
};

/* One connection's current exchange. */
struct session {
	int code;
	const char *content_type; /* static */
	char *body;		  /* heap */
	size_t len, sent;
	bool head;	   /* HEAD: headers only */
	bool close;	   /* close the connection after this answer */
	bool headers_sent; /* headers are on the wire */
	bool active;	   /* a response is pending */
};

static void session_reset(struct session *s)
{
	free(s->body);
	memset(s, 0, sizeof(*s));
}

static void respond(struct session *s, int code, const char *body)
{
	s->code = code;
	s->content_type = "text/plain; charset=utf-8";
	s->body = xstrdup(body);
	s->len = strlen(body);
	s->active = true;
}

/* Builds the answer to `method` on `path`. */
static void route(struct server *srv, struct session *s, int method,
		  const char *path)
{
	char why[256] = "";

	s->head = method == LWSHUMETH_HEAD;
	if (strcmp(path, "/metrics") && strcmp(path, "/healthz") &&
	    strcmp(path, "/readyz")) {
		respond(s, 404, "404 page not found\n");
	} else if (method != LWSHUMETH_GET && method != LWSHUMETH_HEAD) {
		respond(s, 405, "method not allowed\n");
	} else if (strcmp(path, "/metrics") == 0) {
		s->code = 200;
		s->content_type = "text/plain; version=0.0.4; charset=utf-8";
		s->body = metrics_render(srv->metrics);
		s->len = strlen(s->body);
		s->active = true;
	} else if (strcmp(path, "/healthz") == 0) {
		respond(s, 200, "ok\n");
	} else if (!srv->ready || srv->ready(why, sizeof(why), srv->data)) {
		respond(s, 200, "ok\n");
	} else {
		char *text = xasprintf("not ready: %s\n", why);

		respond(s, 503, text);
		free(text);
	}
}

/* Does the request carry a body (any Transfer-Encoding, or a
 * Content-Length other than 0)? */
static bool carries_body(struct lws *wsi)
{
	char cl[32];
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
		return true;
	if (n <= 0)
		return false;
	if ((size_t)n >= sizeof(cl) ||
	    lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <
		    0)
		return true;
	return cl[strspn(cl, "0")] != '\0';
}

static int on_request(struct lws *wsi, struct session *s)
{
	struct server *srv = lws_context_user(lws_get_context(wsi));
	char *uri = NULL;
	int uri_len = 0;
	int method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
	char *path;

	session_reset(s);
	path = xstrndup(uri ? uri : "/", uri ? (size_t)uri_len : 1);
	route(srv, s, method, path);
	free(path);
	s->close = (method != LWSHUMETH_GET && method != LWSHUMETH_HEAD) ||
		   carries_body(wsi);
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_headers(struct lws *wsi, struct session *s)
{
	unsigned char hdr[LWS_PRE + 1024];
	unsigned char *start = hdr + LWS_PRE, *p = start,
		      *end = hdr + sizeof(hdr) - 1;
	static const char allow[] = "GET, HEAD", conn_close[] = "close";

	if (lws_add_http_header_status(wsi, (unsigned int)s->code, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)s->content_type,
					 (int)strlen(s->content_type), &p,
					 end) ||
	    lws_add_http_header_content_length(wsi, (lws_filepos_t)s->len, &p,
					       end))
		return -1;
	if (s->code == 405 &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
					(const unsigned char *)allow,
					(int)strlen(allow), &p, end))
		return -1;
	if (s->close &&
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
					 (const unsigned char *)conn_close,
					 (int)strlen(conn_close), &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	s->headers_sent = true;
	return 0;
}

/* Writes the next piece of the body; 1 when the exchange is complete. */
static int write_body(struct lws *wsi, struct session *s)
{
	unsigned char out[LWS_PRE + WRITE_CHUNK];
	size_t left = s->len - s->sent;
	size_t n = left < WRITE_CHUNK ? left : WRITE_CHUNK;

	if (s->head || left == 0)
		return 1;
	memcpy(out + LWS_PRE, s->body + s->sent, n);
	if (lws_write(wsi, out + LWS_PRE, n,
		      n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)n)
		return -1;
	s->sent += n;
	return s->sent == s->len;
}

static int on_writable(struct lws *wsi, struct session *s)
{
	int rc;

	if (!s->active)
		return 0;
	if (!s->headers_sent) {
		if (write_headers(wsi, s))
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	rc = write_body(wsi, s);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (s->close)
		return -1; /* lws flushes what is buffered, then closes */
	session_reset(s);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct session *s = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_request(wsi, s);
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return 0; /* bodies are dropped; the answer does not wait */
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return on_writable(wsi, s);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (s)
			session_reset(s);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{"http", callback, sizeof(struct session), 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *serve_thread(void *arg)
{
	struct server *srv = arg;
	int n = 0;

	while (n >= 0 && !atomic_load(&srv->stop))
		n = lws_service(srv->context, 0);
	return NULL;
}

/* Splits "host:port" ("[v6]:port", ":port" = every interface). */
static int parse_address(const char *address, char **host, int *port, char *err,
			 size_t errlen)
{
	const char *colon = address ? strrchr(address, ':') : NULL;
	const char *h = address;
	size_t hl;
	char *end;
	long p;

	if (!colon)
		return err_set(err, errlen, ERR_INVAL,
			       "address \"%s\": want host:port",
			       address ? address : "");
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
		return err_set(err, errlen, ERR_INVAL,
			       "address \"%s\": bad port", address);
	hl = (size_t)(colon - h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	*host = hl ? xstrndup(h, hl) : NULL;
	*port = (int)p;
	return 0;
}

int serve_start(const struct serve_options *o, struct server **out, char *err,
		size_t errlen)
{
	struct lws_context_creation_info info;
	struct server *srv = NULL;
	struct lws_vhost *vh;
	char *host = NULL;
	int port = 0, rc;

	*out = NULL;
	rc = parse_address(o->address, &host, &port, err, errlen);
	if (rc)
		return rc;
	srv = xcalloc(1, sizeof(*srv));
	srv->metrics = o->metrics;
	srv->ready = o->ready;
	srv->data = o->data;
	memset(&info, 0, sizeof(info));
	lws_set_log_level(LLL_ERR, NULL);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	if (!host || !strchr(host, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.port = port;
	info.iface = host;
	info.protocols = protocols;
	info.user = srv;
	info.keepalive_timeout = 60;
	info.timeout_secs = 30;
	info.vhost_name = "knit-controller";
	srv->context = lws_create_context(&info);
	if (!srv->context) {
		rc = err_set(err, errlen, ERR_INTERNAL,
			     "cannot create the libwebsockets context");
		goto out;
	}
	vh = lws_create_vhost(srv->context, &info);
	if (!vh) {
		rc = err_set(err, errlen, ERR_IO,
			     "cannot listen on %s (address in use or not "
			     "local?)",
			     o->address);
		goto out;
	}
	srv->port = lws_get_vhost_listen_port(vh);
	if (srv->port <= 0)
		srv->port = port;
	if (pthread_create(&srv->thread, NULL, serve_thread, srv)) {
		rc = err_set(err, errlen, ERR_INTERNAL,
			     "cannot start the server thread");
		goto out;
	}
	*out = srv;
	srv = NULL;
out:
	if (srv) {
		if (srv->context)
			lws_context_destroy(srv->context);
		free(srv);
	}
	free(host);
	return rc;
}

int serve_port(const struct server *s)
{
	return s->port;
}

void serve_stop(struct server *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, 1);
	lws_cancel_service(s->context);
	pthread_join(s->thread, NULL);
	lws_context_destroy(s->context);
	free(s);
}

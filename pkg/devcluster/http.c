/*
 * http: the libwebsockets glue between sockets and api_handle() (see
 * http.h). Each connection owns a `struct session` for the request in
 * flight; it is reset at the start of every keep-alive transaction.
 */
#include "devcluster/http.h"

#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "devcluster/status.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#define WRITE_CHUNK 32768

struct session {
	struct lws *wsi;
	struct api_request req;
	struct api_response resp;
	struct buf body;
	bool body_too_big;
	bool active;
	bool headers_sent;
	bool finished; /* final chunk or body written */
	bool held;     /* an injected latency holds the answer back */
	bool rejected; /* answered already (401); ignore the body */
	size_t sent;
	struct lws_sorted_usec_list delay;
};

static struct devcluster *server_dc;
static const char *server_token;
static volatile sig_atomic_t stop_requested;
static struct lws_context *server_context;

void http_server_stop(void)
{
	stop_requested = 1;
	if (server_context)
		lws_cancel_service(server_context);
}

static char *header_copy(struct lws *wsi, enum lws_token_indexes tok)
{
	int len = lws_hdr_total_length(wsi, tok);
	char *s;

	if (len <= 0)
		return NULL;
	s = xmalloc((size_t)len + 1);
	if (lws_hdr_copy(wsi, s, len + 1, tok) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX and '+' in place. */
static void url_decode(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*out++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else if (*s == '+') {
			*out++ = ' ';
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

static void add_param(struct api_request *r, const char *frag)
{
	const char *eq = strchr(frag, '=');
	struct query_param *p;

	r->params = xrealloc(r->params, (r->n_params + 1) * sizeof(*r->params));
	p = &r->params[r->n_params++];
	p->key = eq ? xstrndup(frag, (size_t)(eq - frag)) : xstrdup(frag);
	p->value = xstrdup(eq ? eq + 1 : "");
	url_decode(p->key);
	url_decode(p->value);
}

static void parse_args(struct lws *wsi, struct api_request *r)
{
	int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
	char *frag;

	if (total <= 0)
		return;
	frag = xmalloc((size_t)total + 1);
	for (int i = 0;; i++) {
		if (lws_hdr_copy_fragment(wsi, frag, total + 1,
					  WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			break;
		add_param(r, frag);
	}
	free(frag);
}

static enum http_method method_of(int m)
{
	switch (m) {
	case LWSHUMETH_GET:
		return HTTP_GET;
	case LWSHUMETH_POST:
		return HTTP_POST;
	case LWSHUMETH_PUT:
		return HTTP_PUT;
	case LWSHUMETH_PATCH:
		return HTTP_PATCH;
	case LWSHUMETH_DELETE:
		return HTTP_DELETE;
	case LWSHUMETH_HEAD:
		return HTTP_HEAD;
	default:
		return HTTP_OTHER;
	}
}

static void session_reset(struct session *s)
{
	lws_sul_cancel(&s->delay);
	s->held = false;
	s->rejected = false;
	api_request_release(&s->req);
	api_response_release(&s->resp);
	buf_release(&s->body);
	if (s->resp.watch) {
		watcher_free(s->resp.watch);
		s->resp.watch = NULL;
	}
	memset(&s->req, 0, sizeof(s->req));
	api_response_init(&s->resp);
	s->body_too_big = false;
	s->active = false;
	s->headers_sent = false;
	s->finished = false;
	s->sent = 0;
}

static bool token_ok(struct lws *wsi)
{
	char *auth = header_copy(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	size_t want = strlen(server_token);
	bool ok = false;

	if (auth && strncmp(auth, "Bearer ", 7) == 0 &&
	    strlen(auth + 7) == want)
		ok = CRYPTO_memcmp(auth + 7, server_token, want) == 0;
	free(auth);
	return ok;
}

static void wake_session(void *data)
{
	struct session *s = data;

	lws_callback_on_writable(s->wsi);
}

static void release_held(struct lws_sorted_usec_list *sul)
{
	struct session *s = lws_container_of(sul, struct session, delay);

	s->held = false;
	lws_callback_on_writable(s->wsi);
}

static bool is_admin(const struct api_request *req)
{
	return req->path && strncmp(req->path, "/admin/", 7) == 0;
}

/* An injected error reply for `code` (500, 503 or 429). */
static json_t *fault_status(int code, int retry_after)
{
	json_t *st;

	if (code == 429)
		return status_too_many(retry_after);
	if (code == 503)
		st = status_new(503, "ServiceUnavailable",
				"the server is currently unable to handle "
				"the request (injected fault)",
				NULL, NULL, NULL, NULL);
	else
		st = status_internal("injected fault");
	if (retry_after > 0)
		json_object_set_new(
			st, "details",
			json_pack("{s:i}", "retryAfterSeconds", retry_after));
	return st;
}

/* Handles the request, subject to the injected faults. */
static void dispatch(struct session *s)
{
	struct api_class cls;
	struct fault_decision fd = {0, 0, 0};

	s->req.body = s->body.data;
	s->req.body_len = s->body.len;
	api_classify(&s->req, &cls);
	if (!is_admin(&s->req))
		faults_decide(&server_dc->faults, cls.verb, cls.group,
			      cls.resource, cls.subresource, &fd);
	if (s->body_too_big)
		api_respond_status(&s->resp,
				   status_too_large(server_dc->opt.max_body));
	else if (fd.code)
		api_respond_status(&s->resp,
				   fault_status(fd.code, fd.retry_after));
	else
		api_handle(server_dc, &s->req, &s->resp);
	if (s->resp.watch) {
		s->resp.watch->wake = wake_session;
		s->resp.watch->wake_data = s;
	}
	if (!is_admin(&s->req))
		api_count_request(server_dc, &cls, s->resp.code);
	LOG_DEBUGF("request", "method=%d path=%s code=%d", s->req.method,
		   s->req.path, s->resp.code);
	if (fd.delay_ms > 0) {
		s->held = true;
		lws_sul_schedule(server_context, 0, &s->delay, release_held,
				 (lws_usec_t)fd.delay_ms * LWS_US_PER_MS);
		return;
	}
	lws_callback_on_writable(s->wsi);
}

static bool expects_body(struct lws *wsi)
{
	char *cl = header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	char *te = header_copy(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING);
	bool yes = (cl && strtoul(cl, NULL, 10) > 0) || te;

	free(cl);
	free(te);
	return yes;
}

static int on_request(struct lws *wsi, struct session *s)
{
	char *uri = NULL;
	int uri_len = 0;
	int m = lws_http_get_uri_and_method(wsi, &uri, &uri_len);

	session_reset(s);
	s->wsi = wsi;
	s->active = true;
	buf_init(&s->body, server_dc->opt.max_body);
	s->req.method = method_of(m);
	s->req.path = xstrndup(uri ? uri : "/", uri ? (size_t)uri_len : 1);
	parse_args(wsi, &s->req);
	s->req.accept = header_copy(wsi, WSI_TOKEN_HTTP_ACCEPT);
	s->req.content_type = header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
	s->req.user_agent = header_copy(wsi, WSI_TOKEN_HTTP_USER_AGENT);
	if (!is_admin(&s->req) &&
	    faults_is_down(&server_dc->faults, api_monotonic())) {
		session_reset(s);
		return -1; /* "down": the connection closes unanswered */
	}
	if (!token_ok(wsi)) {
		/* with a body, answer once it is read (and thrown away) */
		s->rejected = true;
		api_respond_status(&s->resp, status_unauthorized());
		if (!expects_body(wsi))
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (expects_body(wsi))
		return 0; /* wait for LWS_CALLBACK_HTTP_BODY_COMPLETION */
	dispatch(s);
	return 0;
}

static int write_headers(struct lws *wsi, struct session *s, bool stream)
{
	unsigned char hdr[LWS_PRE + 4096];
	unsigned char *start = hdr + LWS_PRE, *p = start,
		      *end = hdr + sizeof(hdr) - 1;
	const char *ctype = s->resp.content_type ? s->resp.content_type
						 : "application/json";
	size_t i;
	json_t *w;

	if (lws_add_http_header_status(wsi, (unsigned int)s->resp.code, &p,
				       end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)ctype,
					 (int)strlen(ctype), &p, end))
		return -1;
	json_array_foreach(s->resp.warnings, i, w)
	{
		const char *text = json_string_value(w);

		if (lws_add_http_header_by_name(
			    wsi, (const unsigned char *)"warning:",
			    (const unsigned char *)text, (int)strlen(text), &p,
			    end))
			return -1;
	}
	if (s->resp.retry_after > 0) {
		char ra[16];
		int n = snprintf(ra, sizeof(ra), "%d", s->resp.retry_after);

		if (lws_add_http_header_by_name(
			    wsi, (const unsigned char *)"retry-after:",
			    (const unsigned char *)ra, n, &p, end))
			return -1;
	}
	if (stream) {
		if (lws_add_http_header_by_name(
			    wsi, (const unsigned char *)"transfer-encoding:",
			    (const unsigned char *)"chunked", 7, &p, end))
			return -1;
	} else if (lws_add_http_header_content_length(
			   wsi, (lws_filepos_t)s->resp.body.len, &p, end)) {
		return -1;
	}
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	s->headers_sent = true;
	return 0;
}

/* Writes one piece of a fixed-length body. Returns 1 when complete. */
static int write_body(struct lws *wsi, struct session *s)
{
	unsigned char out[LWS_PRE + WRITE_CHUNK];
	size_t left = s->resp.body.len - s->sent;
	size_t n = left < WRITE_CHUNK ? left : WRITE_CHUNK;
	enum lws_write_protocol mode =
		n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;

	if (s->req.method == HTTP_HEAD)
		return 1;
	memcpy(out + LWS_PRE, s->resp.body.data + s->sent, n);
	if (lws_write(wsi, out + LWS_PRE, n, mode) != (int)n)
		return -1;
	s->sent += n;
	return s->sent == s->resp.body.len;
}

/* Writes pending watch output as one HTTP chunk; ends the stream when done. */
static int write_stream(struct lws *wsi, struct session *s)
{
	struct watcher *w = s->resp.watch;
	unsigned char out[LWS_PRE + WRITE_CHUNK + 32];
	size_t n = w->out.len < WRITE_CHUNK ? w->out.len : WRITE_CHUNK;
	int hl;

	if (w->overflowed)
		return -1; /* a client that stopped reading: drop it */
	if (n) {
		char *start = (char *)out + LWS_PRE;

		hl = snprintf(start, 16, "%zx\r\n", n);
		memcpy(start + hl, w->out.data, n);
		memcpy(start + hl + n, "\r\n", 2);
		if (lws_write(wsi, out + LWS_PRE, (size_t)hl + n + 2,
			      LWS_WRITE_HTTP) < 0)
			return -1;
		memmove(w->out.data, w->out.data + n, w->out.len - n);
		w->out.len -= n;
		w->out.data[w->out.len] = '\0';
		if (w->out.len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	if (!w->done)
		return 0;
	memcpy(out + LWS_PRE, "0\r\n\r\n", 5);
	if (lws_write(wsi, out + LWS_PRE, 5, LWS_WRITE_HTTP_FINAL) < 0)
		return -1;
	return 1;
}

static int on_writable(struct lws *wsi, struct session *s)
{
	int rc;

	if (!s->active || s->held)
		return 0;
	if (!s->headers_sent) {
		if (write_headers(wsi, s, s->resp.watch != NULL))
			return -1;
		if (s->resp.watch)
			lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		lws_callback_on_writable(wsi);
		return 0;
	}
	rc = s->resp.watch ? write_stream(wsi, s) : write_body(wsi, s);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (!s->resp.watch)
			lws_callback_on_writable(wsi);
		return 0;
	}
	session_reset(s);
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct session *s = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_request(wsi, s);
	case LWS_CALLBACK_HTTP_BODY:
		if (!s->rejected && !s->body_too_big &&
		    buf_append(&s->body, in, len))
			s->body_too_big = true;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (s->rejected)
			lws_callback_on_writable(wsi);
		else
			dispatch(s);
		return 0;
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

static struct lws_sorted_usec_list tick_sul;

/* Periodic watch drops, and dropping them all when the server goes down. */
static void fault_tick(void)
{
	static bool was_down;
	double now = api_monotonic();
	bool down = faults_is_down(&server_dc->faults, now);

	if ((down && !was_down) ||
	    faults_watch_drop_due(&server_dc->faults, now))
		api_drop_watches(server_dc);
	was_down = down;
}

static void on_tick(struct lws_sorted_usec_list *sul)
{
	bool more;

	fault_tick();
	more = devcluster_tick(server_dc);
	watch_hub_tick(&server_dc->hub, time(NULL));
	/* with work left, come back once pending requests had their turn */
	lws_sul_schedule(server_context, 0, &tick_sul, on_tick,
			 (more ? 5 : 200) * LWS_US_PER_MS);
}

static int bound_port(struct lws_vhost *vh, int requested)
{
	int port = lws_get_vhost_listen_port(vh);

	return port > 0 ? port : requested;
}

int http_server_run(struct devcluster *dc, const struct http_server_config *cfg,
		    char *errbuf, size_t errlen)
{
	struct lws_context_creation_info info;
	struct lws_vhost *vh;
	int n = 0;

	memset(&info, 0, sizeof(info));
	lws_set_log_level(LLL_ERR, NULL);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       LWS_SERVER_OPTION_DISABLE_IPV6;
	info.port = cfg->port;
	info.iface = cfg->address;
	info.protocols = protocols;
	info.ssl_cert_filepath = cfg->cert_path;
	info.ssl_private_key_filepath = cfg->key_path;
	info.alpn = "http/1.1";
	info.keepalive_timeout = 120;
	info.timeout_secs = 60;
	info.max_http_header_data = 16384;
	info.vhost_name = "knit-devcluster";
	server_dc = dc;
	server_token = cfg->token;
	stop_requested = 0;
	server_context = lws_create_context(&info);
	if (!server_context)
		return err_set(errbuf, errlen, ERR_INTERNAL,
			       "cannot create the libwebsockets context");
	vh = lws_create_vhost(server_context, &info);
	if (!vh) {
		lws_context_destroy(server_context);
		server_context = NULL;
		return err_set(errbuf, errlen, ERR_IO,
			       "cannot listen on %s:%d (in use, or a bad "
			       "certificate?)",
			       cfg->address, cfg->port);
	}
	if (cfg->on_listen)
		cfg->on_listen(bound_port(vh, cfg->port), cfg->data);
	lws_sul_schedule(server_context, 0, &tick_sul, on_tick,
			 200 * LWS_US_PER_MS);
	while (n >= 0 && !stop_requested)
		n = lws_service(server_context, 0);
	lws_sul_cancel(&tick_sul);
	lws_context_destroy(server_context);
	server_context = NULL;
	return 0;
}

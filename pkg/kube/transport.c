/*
 * transport: libcurl plumbing for client.c (see transport.h).
 *
 * Every handle is an easy handle driven through its own multi handle: the
 * multi's connection cache keeps the connection (HTTP/2 or keep-alive
 * HTTP/1.1) between requests, and driving it ourselves lets us poll a
 * cancel flag and an idle deadline every 200 ms. Before each request the
 * easy handle is reset (which keeps connections and the TLS session cache)
 * and every option is applied again, so no option leaks between requests.
 *
 * tls-server-name: libcurl has no option to set the SNI and verified name
 * apart from the URL's host. So when the config sets it, the URL we give
 * curl names that host and CURLOPT_CONNECT_TO sends the connection to the
 * real server; a Host header keeps the server's own name on the wire.
 * Messages always show the server URL from the config.
 */
#include "kube/transport.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/mono.h"

#define POLL_MS		   200
#define CONNECT_TIMEOUT_MS 30000L

struct handle {
	CURL *easy;
	CURLM *multi;
	struct handle *next;
};

struct transport {
	const struct kube_config *cfg;
	char *user_agent;
	char *display_base; /* cfg->server without trailing '/' */
	char *wire_base;    /* with tls-server-name as host, when set */
	struct curl_slist *connect_to;
	char *host_header; /* "Host: server:port" when tls-server-name */
	pthread_mutex_t mu;
	struct handle *free_list;
};

/* State of one exchange shared with the curl callbacks. */
struct xfer {
	const struct transport_request *req;
	struct transport_result *res;
	CURL *easy;
	long long last_byte_ms;
	int stream_rc;
	bool too_big;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Splits cfg->server into the bases and the CONNECT_TO mapping. */
static int parse_server(struct transport *t, char *errbuf, size_t errlen)
{
	const struct kube_config *cfg = t->cfg;
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	size_t n;
	int rc = ERR_INVAL;

	if (curl_url_set(u, CURLUPART_URL, cfg->server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		err_set(errbuf, errlen, ERR_INVAL,
			"invalid server URL \"%s\": want http(s)://host[:port]",
			cfg->server);
		goto out;
	}
	t->display_base = xstrdup(cfg->server);
	n = strlen(t->display_base);
	while (n > 0 && t->display_base[n - 1] == '/')
		t->display_base[--n] = '\0';
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		path[--n] = '\0';
	if (cfg->tls_server_name && cfg->tls_server_name[0]) {
		char *map = xasprintf("%s:%s:%s:%s", cfg->tls_server_name, port,
				      host, port);
		t->connect_to = curl_slist_append(NULL, map);
		free(map);
		t->host_header = xasprintf("Host: %s:%s", host, port);
		t->wire_base = xasprintf("%s://%s:%s%s", scheme,
					 cfg->tls_server_name, port, path);
	} else {
		t->wire_base = xstrdup(t->display_base);
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

static int check_readable(const char *path, const char *what, char *errbuf,
			  size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return err_set(errbuf, errlen, ERR_INVAL, "%s %s: %s", what,
			       path, strerror(errno));
	fclose(f);
	return 0;
}

/* Checks the client certificate and key before the first request. */
static int check_client_cert(const struct kube_config *cfg, char *errbuf,
			     size_t errlen)
{
	bool cert = cfg->cert_data || cfg->cert_file;
	bool key = cfg->key_data || cfg->key_file;
	int rc;

	if (cert != key)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "client certificate and key must be given "
			       "together (%s has only the %s)",
			       cfg->source ? cfg->source : "config",
			       cert ? "certificate" : "key");
	if (!cfg->cert_data && cfg->cert_file) {
		rc = check_readable(cfg->cert_file, "client certificate",
				    errbuf, errlen);
		if (rc)
			return rc;
	}
	if (!cfg->key_data && cfg->key_file)
		return check_readable(cfg->key_file, "client key", errbuf,
				      errlen);
	return 0;
}

int transport_new(const struct kube_config *cfg, const char *user_agent,
		  struct transport **out, char *errbuf, size_t errlen)
{
	struct transport *t;
	int rc;

	*out = NULL;
	pthread_once(&global_once, global_init);
	t = xcalloc(1, sizeof(*t));
	t->cfg = cfg;
	t->user_agent = xstrdup(user_agent);
	pthread_mutex_init(&t->mu, NULL);
	rc = cfg->server ? parse_server(t, errbuf, errlen)
			 : err_set(errbuf, errlen, ERR_INVAL, "no server URL");
	if (rc == 0)
		rc = check_client_cert(cfg, errbuf, errlen);
	if (rc) {
		transport_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void transport_free(struct transport *t)
{
	struct handle *h, *next;

	if (!t)
		return;
	for (h = t->free_list; h; h = next) {
		next = h->next;
		curl_easy_cleanup(h->easy);
		curl_multi_cleanup(h->multi);
		free(h);
	}
	pthread_mutex_destroy(&t->mu);
	curl_slist_free_all(t->connect_to);
	free(t->host_header);
	free(t->wire_base);
	free(t->display_base);
	free(t->user_agent);
	free(t);
}

static struct handle *handle_take(struct transport *t)
{
	struct handle *h;

	pthread_mutex_lock(&t->mu);
	h = t->free_list;
	if (h)
		t->free_list = h->next;
	pthread_mutex_unlock(&t->mu);
	if (h)
		return h;
	h = xcalloc(1, sizeof(*h));
	h->easy = curl_easy_init();
	h->multi = curl_multi_init();
	if (!h->easy || !h->multi) {
		fprintf(stderr, "knit: curl handle allocation failed\n");
		abort();
	}
	return h;
}

static void handle_give(struct transport *t, struct handle *h)
{
	pthread_mutex_lock(&t->mu);
	h->next = t->free_list;
	t->free_list = h;
	pthread_mutex_unlock(&t->mu);
}

void transport_result_init(struct transport_result *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->body, BUF_UNLIMITED);
	res->retry_after = -1;
}

void transport_result_release(struct transport_result *res)
{
	buf_release(&res->body);
	free(res->content_type);
	res->content_type = NULL;
}

long transport_retry_after_parse(const char *v, size_t len)
{
	long secs = 0;
	size_t i = 0, digits = 0;

	while (i < len && isspace((unsigned char)v[i]))
		i++;
	for (; i < len && isdigit((unsigned char)v[i]); i++, digits++) {
		if (secs > 100000000L)
			return -1;
		secs = secs * 10 + (v[i] - '0');
	}
	while (i < len && isspace((unsigned char)v[i]))
		i++;
	return digits > 0 && i == len ? secs : -1;
}

/* "Retry-After: 3\r\n" and "Content-Type: ..." from the answer headers. */
static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n, vlen;
	const char *v;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new status line (after 1xx): forget earlier headers. */
		x->res->retry_after = -1;
		free(x->res->content_type);
		x->res->content_type = NULL;
		return len;
	}
	v = memchr(p, ':', len);
	if (!v)
		return len;
	v++;
	vlen = len - (size_t)(v - p);
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
		vlen--;
	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		x->res->retry_after = transport_retry_after_parse(v, vlen);
	} else if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
		while (vlen > 0 && isspace((unsigned char)*v)) {
			v++;
			vlen--;
		}
		free(x->res->content_type);
		x->res->content_type = xstrndup(v, vlen);
	}
	return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	long code = 0;
	int rc;

	x->last_byte_ms = mono_now_ms();
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (x->req->stream && code >= 200 && code < 300) {
		rc = x->req->stream(p, len, x->req->stream_ud);
		if (rc) {
			x->stream_rc = rc;
			return 0;
		}
		return len;
	}
	if (buf_append(&x->res->body, p, len) != 0) {
		x->too_big = true;
		return 0;
	}
	return len;
}

static void apply_tls(struct transport *t, CURL *e)
{
	const struct kube_config *cfg = t->cfg;
	struct curl_blob blob = {.flags = CURL_BLOB_NOCOPY};

	if (cfg->ca_data) {
		blob.data = cfg->ca_data;
		blob.len = cfg->ca_len;
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	} else if (cfg->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (cfg->cert_data) {
		blob.data = cfg->cert_data;
		blob.len = cfg->cert_len;
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
	} else if (cfg->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->cert_file);
	}
	if (cfg->key_data) {
		blob.data = cfg->key_data;
		blob.len = cfg->key_len;
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
	} else if (cfg->key_file) {
		curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->key_file);
	}
	if (cfg->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (t->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connect_to);
	if (cfg->proxy_url && cfg->proxy_url[0])
		curl_easy_setopt(e, CURLOPT_PROXY, cfg->proxy_url);
}

static struct curl_slist *request_headers(struct transport *t,
					  const struct transport_request *req)
{
	struct curl_slist *h = NULL;
	char *ct;

	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (t->host_header)
		h = curl_slist_append(h, t->host_header);
	if (req->auth_header)
		h = curl_slist_append(h, req->auth_header);
	if (req->content_type) {
		ct = xasprintf("Content-Type: %s", req->content_type);
		h = curl_slist_append(h, ct);
		free(ct);
	}
	return h;
}

static void apply_request(struct transport *t, CURL *e,
			  const struct transport_request *req, const char *url,
			  struct curl_slist *headers, struct xfer *x,
			  char *errorbuf)
{
	long connect_ms =
		req->timeout_ms > 0 && req->timeout_ms < CONNECT_TIMEOUT_MS
			? req->timeout_ms
			: CONNECT_TIMEOUT_MS;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_USERAGENT, t->user_agent);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errorbuf);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (req->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	apply_tls(t, e);
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		return;
	}
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body || strcmp(req->method, "DELETE") != 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
	}
}

/*
 * Drives the transfer until done, cancelled or idle for too long. Returns
 * curl's result; *cancelled / *idle say why it stopped early.
 */
static CURLcode drive(CURLM *m, struct xfer *x, bool *cancelled, bool *idle)
{
	const struct transport_request *req = x->req;
	CURLcode result = CURLE_OK;
	CURLMsg *msg;
	int running = 1, left;

	curl_multi_add_handle(m, x->easy);
	x->last_byte_ms = mono_now_ms();
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			result = CURLE_RECV_ERROR;
			break;
		}
		if (!running)
			break;
		if (req->cancel && atomic_load(req->cancel)) {
			*cancelled = true;
			break;
		}
		if (req->idle_timeout_ms > 0 &&
		    mono_now_ms() - x->last_byte_ms >= req->idle_timeout_ms) {
			*idle = true;
			break;
		}
		curl_multi_poll(m, NULL, 0, POLL_MS, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == x->easy)
			result = msg->data.result;
	curl_multi_remove_handle(m, x->easy);
	return result;
}

/* "GET" -> "Get", as Go's net/http names methods in its errors. */
static void method_word(const char *method, char *out, size_t len)
{
	size_t i;

	for (i = 0; method[i] && i + 1 < len; i++)
		out[i] = (char)(i == 0 ? toupper((unsigned char)method[i])
				       : tolower((unsigned char)method[i]));
	out[i] = '\0';
}

/* Turns a failed transfer into an error code and message. */
static int transfer_error(struct transport *t, const struct xfer *x,
			  CURLcode result, bool idle, const char *errorbuf)
{
	const struct transport_request *req = x->req;
	struct transport_result *res = x->res;
	const char *detail =
		errorbuf[0] ? errorbuf : curl_easy_strerror(result);
	char verb[16];
	int code = ERR_TRANSPORT;

	if (x->stream_rc)
		return x->stream_rc;
	method_word(req->method, verb, sizeof(verb));
	if (x->too_big) {
		code = ERR_TOOBIG;
		detail = "response body exceeds the size limit";
	} else if (idle) {
		code = ERR_TIMEOUT;
		detail = "no data received within the idle timeout";
	} else if (result == CURLE_OPERATION_TIMEDOUT) {
		code = ERR_TIMEOUT;
	}
	snprintf(res->message, sizeof(res->message), "%s \"%s%s\": %s", verb,
		 t->display_base, req->path, detail);
	return code;
}

int transport_do(struct transport *t, const struct transport_request *req,
		 struct transport_result *res)
{
	struct handle *h = handle_take(t);
	struct xfer x = {.req = req, .res = res, .easy = h->easy};
	char errorbuf[CURL_ERROR_SIZE] = "";
	char *url = xasprintf("%s%s", t->wire_base, req->path);
	struct curl_slist *headers = request_headers(t, req);
	bool cancelled = false, idle = false;
	CURLcode result;
	int rc = 0;

	transport_result_release(res);
	transport_result_init(res);
	buf_init(&res->body, req->max_body ? req->max_body : BUF_UNLIMITED);
	curl_easy_reset(h->easy);
	apply_request(t, h->easy, req, url, headers, &x, errorbuf);
	result = drive(h->multi, &x, &cancelled, &idle);
	if (!cancelled && (idle || result != CURLE_OK))
		rc = transfer_error(t, &x, result, idle, errorbuf);
	else
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE,
				  &res->http_status);
	if (rc == 0 && !cancelled && res->http_status == 0)
		rc = transfer_error(t, &x, CURLE_GOT_NOTHING, false, errorbuf);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	free(url);
	handle_give(t, h);
	return rc;
}

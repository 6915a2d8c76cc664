/*
 * provider: the Prometheus and web (HTTP JSON) measurement providers of
 * provider.h.
 *
 * One small blocking HTTP helper (http_call) drives a libcurl easy handle
 * (one per thread, reset for each call, so the connection to a provider
 * stays open between measurements) with the request's timeout, a 4 MiB body
 * cap, headers, auth and TLS settings, and turns curl failures into Knit error
 * codes with one readable sentence. On top of it, prom_measure() posts an
 * instant or range query and hands the answer to the pure
 * prom_parse_response(), and web_measure() fetches a JSON document and selects
 * a value from it with the pure web_extract().
 */
#include "analysis/provider.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define BODY_MAX	   (4 * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 5000L
/* How much of an unexpected body or Prometheus error a message quotes. */
#define SNIPPET_MAX 200

/* Longest timeout honoured: a day, so conversions cannot overflow. */
#define TIMEOUT_MAX_MS 86400000.0

/* A timeout in whole milliseconds, rounded up, 1 .. TIMEOUT_MAX_MS. */
static long timeout_ms(double seconds)
{
	double ms = seconds * 1000.0;
	long whole;

	if (!(ms >= 1.0))
		return 1;
	if (ms > TIMEOUT_MAX_MS)
		ms = TIMEOUT_MAX_MS;
	whole = (long)ms;
	return (double)whole < ms ? whole + 1 : whole;
}

/* One HTTP exchange: what to send and how to name it in messages. */
struct http_call {
	const char *who;	  /* "Prometheus at http://..." */
	const char *timeout_what; /* "Prometheus query" */
	const char *url;
	const char *method; /* "GET", "POST" or "PUT" */
	const char *body;   /* NULL: none */
	const char *content_type;
	const struct http_header *headers;
	size_t n_headers;
	const char *bearer_token;
	const char *basic_user;
	const char *basic_password;
	bool insecure_skip_verify;
	double timeout_s;
};

struct http_reply {
	struct buf body;
	long status;
	bool too_big;
};

/*
 * A one-line quote of at most `max` bytes of p[0..len): control bytes
 * become spaces, "..." marks a cut.
 */
static void snippet(const char *p, size_t len, size_t max, char *dst,
		    size_t dstlen)
{
	size_t i, n = len < max ? len : max;

	if (n > dstlen - 4)
		n = dstlen - 4;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	if (n < len)
		memcpy(dst + i, "...", 3), i += 3;
	dst[i] = '\0';
}

/* ---- Prometheus answers ---- */

/* A sample [<unix time>, "<value>"] to its value. */
static int sample_value(const json_t *pair, double *v)
{
	const char *s;
	char *end;

	if (!json_is_array(pair) || json_array_size(pair) != 2 ||
	    !json_is_number(json_array_get(pair, 0)))
		return ERR_PARSE;
	s = json_string_value(json_array_get(pair, 1));
	if (!s || !*s)
		return ERR_PARSE;
	*v = strtod(s, &end);
	if (*end != '\0')
		return ERR_PARSE;
	return 0;
}

/* A matrix series' "values" to a list of numbers. */
static int series_values(const json_t *values, struct aval *out)
{
	size_t i;
	double v;

	if (!json_is_array(values))
		return ERR_PARSE;
	aval_list(out, json_array_size(values));
	for (i = 0; i < out->n; i++) {
		if (sample_value(json_array_get(values, i), &v) != 0) {
			aval_clear(out);
			return ERR_PARSE;
		}
		aval_number(&out->items[i], v);
	}
	return 0;
}

/* data.result for resultType vector (matrix when `matrix`). */
static int parse_series(const json_t *result, bool matrix, struct aval *out,
			char *err, size_t errlen)
{
	const char *kind = matrix ? "matrix" : "vector";
	struct aval list = {0};
	size_t i;
	double v;
	int rc = 0;

	if (!json_is_array(result))
		return err_set(err, errlen, ERR_PARSE,
			       "Prometheus %s result is not a list", kind);
	aval_list(&list, json_array_size(result));
	for (i = 0; i < list.n && !rc; i++) {
		const json_t *s = json_array_get(result, i);

		if (matrix)
			rc = series_values(json_object_get(s, "values"),
					   &list.items[i]);
		else if ((rc = sample_value(json_object_get(s, "value"), &v)) ==
			 0)
			aval_number(&list.items[i], v);
		if (rc)
			err_set(err, errlen, ERR_PARSE,
				"Prometheus %s series %zu has no %s (a native "
				"histogram or a malformed answer)",
				kind, i, matrix ? "\"values\"" : "\"value\"");
	}
	if (rc) {
		aval_clear(&list);
		return ERR_PARSE;
	}
	*out = list;
	return 0;
}

/* data of a successful answer to a value. */
static int parse_data(const json_t *data, struct aval *out, char *err,
		      size_t errlen)
{
	const char *type =
		json_string_value(json_object_get(data, "resultType"));
	const json_t *result = json_object_get(data, "result");
	double v;

	if (!type || !result)
		return err_set(err, errlen, ERR_PARSE,
			       "Prometheus answer has no data.resultType or "
			       "data.result");
	if (strcmp(type, "vector") == 0 || strcmp(type, "matrix") == 0)
		return parse_series(result, type[0] == 'm', out, err, errlen);
	if (strcmp(type, "scalar") == 0) {
		if (sample_value(result, &v) != 0)
			return err_set(err, errlen, ERR_PARSE,
				       "Prometheus scalar result is not "
				       "[<time>, \"<value>\"]");
		aval_number(out, v);
		return 0;
	}
	if (strcmp(type, "string") == 0) {
		const char *s = json_string_value(json_array_get(result, 1));

		if (!json_is_array(result) || json_array_size(result) != 2 ||
		    !s)
			return err_set(err, errlen, ERR_PARSE,
				       "Prometheus string result is not "
				       "[<time>, \"<string>\"]");
		memset(out, 0, sizeof(*out));
		out->kind = AVAL_STRING;
		out->str = xstrdup(s);
		return 0;
	}
	return err_set(err, errlen, ERR_PARSE,
		       "Prometheus answered an unknown resultType \"%.40s\"",
		       type);
}

/* A {"status":"error"} answer to its code and message. */
static int prom_error(const json_t *root, char *err, size_t errlen)
{
	const char *type =
		json_string_value(json_object_get(root, "errorType"));
	const char *msg = json_string_value(json_object_get(root, "error"));
	char quoted[SNIPPET_MAX + 4];

	if (!type)
		type = "unknown";
	snippet(msg ? msg : "", msg ? strlen(msg) : 0, SNIPPET_MAX, quoted,
		sizeof(quoted));
	if (strcmp(type, "bad_data") == 0)
		return err_set(err, errlen, ERR_BADREQUEST,
			       "Prometheus rejected the query (bad_data): %s",
			       quoted);
	if (strcmp(type, "timeout") == 0)
		return err_set(err, errlen, ERR_TIMEOUT,
			       "Prometheus query timed out (timeout): %s",
			       quoted);
	return err_set(err, errlen, ERR_INTERNAL,
		       "Prometheus query failed (%.40s): %s", type, quoted);
}

/* An answer that is not Prometheus JSON, by HTTP status. */
static int non_json(const char *body, size_t len, long status, char *err,
		    size_t errlen)
{
	char quoted[SNIPPET_MAX + 4];
	int code = ERR_INTERNAL;

	snippet(body, len, SNIPPET_MAX, quoted, sizeof(quoted));
	if (status >= 200 && status < 300)
		return err_set(err, errlen, ERR_PARSE,
			       "Prometheus answered %ld with a body that is "
			       "not a Prometheus API answer: %s",
			       status, quoted);
	if (status == 401)
		code = ERR_UNAUTHORIZED;
	else if (status == 403)
		code = ERR_FORBIDDEN;
	return err_set(err, errlen, code, "Prometheus answered %ld: %s", status,
		       quoted);
}

int prom_parse_response(const char *body, size_t len, long http_status,
			struct aval *out, char *err, size_t errlen)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const char *status = json_string_value(json_object_get(root, "status"));
	int rc;

	if (!root || !json_is_object(root) || !status)
		rc = non_json(body, len, http_status, err, errlen);
	else if (http_status == 401 || http_status == 403)
		rc = non_json(body, len, http_status, err, errlen);
	else if (strcmp(status, "error") == 0)
		rc = prom_error(root, err, errlen);
	else if (strcmp(status, "success") == 0)
		rc = parse_data(json_object_get(root, "data"), out, err,
				errlen);
	else
		rc = err_set(err, errlen, ERR_PARSE,
			     "Prometheus answered an unknown status \"%.40s\"",
			     status);
	json_decref(root);
	return rc;
}

/* ---- web documents ---- */

/* A parsed path step: a member name or an index. */
struct path_step {
	struct buf name; /* member name when !is_index */
	bool is_index;
	size_t index;
};

/* A quoted member name at *p (after the quote `q`), up to the quote. */
static int path_quoted(const char **p, char q, struct buf *name)
{
	const char *s = *p;

	for (; *s && *s != q; s++) {
		if (*s == '\\' && s[1])
			s++;
		if (buf_putc(name, *s) != 0)
			return ERR_INVAL;
	}
	if (*s != q || s[1] != ']')
		return ERR_INVAL;
	*p = s + 2;
	return 0;
}

/* The step after '[' at *p: a quoted name or a decimal index. */
static int path_bracket(const char **p, struct path_step *st)
{
	const char *s = *p;
	size_t digits = 0;

	if (*s == '\'' || *s == '"') {
		*p = s + 1;
		return path_quoted(p, *s, &st->name);
	}
	st->is_index = true;
	st->index = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		st->index = st->index * 10 + (size_t)(*s - '0');
	if (digits == 0 || digits > 9 || *s != ']')
		return ERR_INVAL;
	*p = s + 1;
	return 0;
}

/* The step at *p (".name" or "[...]"); advances *p past it. */
static int path_next(const char **p, struct path_step *st)
{
	const char *s = *p;

	st->is_index = false;
	buf_reset(&st->name);
	if (*s == '[') {
		*p = s + 1;
		return path_bracket(p, st);
	}
	if (*s != '.')
		return ERR_INVAL;
	for (s++; *s && *s != '.' && *s != '['; s++)
		if (buf_putc(&st->name, *s) != 0)
			return ERR_INVAL;
	if (st->name.len == 0)
		return ERR_INVAL;
	*p = s;
	return 0;
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_NULL:
		return "null";
	default:
		return "a boolean";
	}
}

/* Applies one step to *cur; `done` is the path text so far. */
static int path_apply(const json_t **cur, const struct path_step *st, int done,
		      const char *path, char *err, size_t errlen)
{
	const json_t *next;

	if (st->is_index) {
		if (!json_is_array(*cur))
			return err_set(err, errlen, ERR_INVAL,
				       "%.*s: %s, not a list", done, path,
				       json_kind(*cur));
		next = json_array_get(*cur, st->index);
		if (!next)
			return err_set(err, errlen, ERR_NOTFOUND,
				       "%.*s: index %zu out of range (%zu "
				       "items)",
				       done, path, st->index,
				       json_array_size(*cur));
	} else {
		if (!json_is_object(*cur))
			return err_set(err, errlen, ERR_INVAL,
				       "%.*s: %s, not an object", done, path,
				       json_kind(*cur));
		next = json_object_get(*cur, st->name.data);
		if (!next)
			return err_set(err, errlen, ERR_NOTFOUND,
				       "%.*s: no member \"%.64s\"", done, path,
				       st->name.data);
	}
	*cur = next;
	return 0;
}

/* Strips blanks and one pair of braces; returns the path's length. */
static const char *path_trim(const char *path, size_t *len)
{
	size_t n = strlen(path);

	while (n && (*path == ' ' || *path == '\t'))
		path++, n--;
	while (n && (path[n - 1] == ' ' || path[n - 1] == '\t'))
		n--;
	if (n >= 2 && path[0] == '{' && path[n - 1] == '}')
		path++, n -= 2;
	*len = n;
	return path;
}

/* Walks `text` (NUL-terminated) from doc; stores the selected node. */
static int path_walk(const json_t *doc, const char *text, const json_t **sel,
		     char *err, size_t errlen)
{
	struct path_step st = {.is_index = false};
	const char *p = text;
	int rc = 0;

	buf_init(&st.name, 4096);
	if (*p == '$')
		p++;
	*sel = doc;
	while (*p && !rc) {
		const char *start = p;

		if (path_next(&p, &st) != 0)
			rc = err_set(err, errlen, ERR_INVAL,
				     "JSON path \"%.128s\": cannot parse at "
				     "offset %zu",
				     text, (size_t)(start - text));
		else
			rc = path_apply(sel, &st, (int)(p - text), text, err,
					errlen);
	}
	buf_release(&st.name);
	return rc;
}

int web_extract(const json_t *doc, const char *path, struct aval *out,
		char *err, size_t errlen)
{
	char inner[256];
	const json_t *sel = doc;
	size_t len = 0;
	const char *p = path ? path_trim(path, &len) : "";
	char *text = xstrndup(p, len);
	int rc;

	rc = path_walk(doc, text, &sel, err, errlen);
	if (rc)
		goto out;
	rc = aval_from_json(sel, out, inner, sizeof(inner));
	if (rc)
		err_set(err, errlen, rc, "%.128s: %s", *text ? text : "$",
			inner);
out:
	free(text);
	return rc;
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	struct http_reply *rep = data;

	if (buf_append(&rep->body, p, size * n) != 0) {
		rep->too_big = true;
		return 0;
	}
	return size * n;
}

static bool has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

static bool header_named(const struct http_call *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_headers; i++)
		if (c->headers[i].name &&
		    strcasecmp(c->headers[i].name, name) == 0)
			return true;
	return false;
}

/* The request's header list, in *list. 0 or ERR_INVAL. */
static int build_headers(const struct http_call *c, struct curl_slist **list,
			 char *err, size_t errlen)
{
	struct buf line;
	size_t i;
	int rc = 0;

	buf_init(&line, 64 * 1024);
	*list = curl_slist_append(NULL, "Accept: application/json");
	for (i = 0; i < c->n_headers && !rc; i++) {
		const struct http_header *h = &c->headers[i];

		buf_reset(&line);
		if (!h->name || !*h->name || strpbrk(h->name, ":\r\n \t") ||
		    has_crlf(h->value))
			rc = err_set(err, errlen, ERR_INVAL,
				     "%s: header \"%.64s\" has a bad name or "
				     "a line break in its value",
				     c->who, h->name ? h->name : "");
		else if (!h->value || !*h->value)
			rc = buf_printf(&line, "%s;", h->name);
		else
			rc = buf_printf(&line, "%s: %s", h->name, h->value);
		if (rc == ERR_TOOBIG)
			rc = err_set(err, errlen, ERR_INVAL,
				     "%s: header \"%.64s\" is too long", c->who,
				     h->name);
		if (!rc)
			*list = curl_slist_append(*list, line.data);
	}
	if (!rc && c->body && c->content_type &&
	    !header_named(c, "Content-Type")) {
		buf_reset(&line);
		buf_printf(&line, "Content-Type: %s", c->content_type);
		*list = curl_slist_append(*list, line.data);
	}
	if (!rc && c->bearer_token) {
		buf_reset(&line);
		if (has_crlf(c->bearer_token) ||
		    buf_printf(&line, "Authorization: Bearer %s",
			       c->bearer_token) != 0)
			rc = err_set(err, errlen, ERR_INVAL,
				     "%s: the bearer token is not a valid "
				     "header value",
				     c->who);
		else
			*list = curl_slist_append(*list, line.data);
	}
	buf_release(&line);
	return rc;
}

/* The reason a connection failed, as short as the OS would say it. */
static const char *connect_reason(CURL *h, CURLcode res, const char *errbuf)
{
	long os = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
	if (res == CURLE_COULDNT_CONNECT) {
		if (os == ECONNREFUSED)
			return "Connection refused";
		if (os == EHOSTUNREACH)
			return "No route to host";
		if (os == ENETUNREACH)
			return "Network is unreachable";
	}
	return *errbuf ? errbuf : curl_easy_strerror(res);
}

/* A failed transfer to its code and sentence. */
static int map_curl_error(const struct http_call *c, CURL *h, CURLcode res,
			  const struct http_reply *rep, const char *errbuf,
			  char *err, size_t errlen)
{
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		return err_set(err, errlen, ERR_TIMEOUT,
			       "%s timed out after %gs", c->timeout_what,
			       c->timeout_s);
	case CURLE_WRITE_ERROR:
		if (rep->too_big)
			return err_set(err, errlen, ERR_TOOBIG,
				       "%s answered more than %d bytes", c->who,
				       BODY_MAX);
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return err_set(err, errlen, ERR_INVAL, "%s: bad URL: %s",
			       c->who,
			       *errbuf ? errbuf : curl_easy_strerror(res));
	default:
		break;
	}
	return err_set(err, errlen, ERR_TRANSPORT, "%s unreachable: %s", c->who,
		       connect_reason(h, res, errbuf));
}

static void set_options(CURL *h, const struct http_call *c,
			struct curl_slist *headers, struct http_reply *rep,
			char *errbuf)
{
	long ms = timeout_ms(c->timeout_s);

	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 ms < CONNECT_TIMEOUT_MS ? ms : CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, rep);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (c->insecure_skip_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->basic_user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->basic_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
				 c->basic_password ? c->basic_password : "");
	}
	if (strcmp(c->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
		if (strcmp(c->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	}
}

/*
 * Performs the call; rep->body must be buf_init()ed with BODY_MAX by the
 * caller, who releases it either way. On success rep holds the status and
 * body of whatever the server answered.
 */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;
static bool handle_key_ok;

static void handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void handle_key_init(void)
{
	handle_key_ok = pthread_key_create(&handle_key, handle_free) == 0;
}

/* This thread's easy handle, reset for a new call; it is freed when the
 * thread exits. NULL when none can be made. *owned tells the caller to
 * clean it up itself (no thread slot could hold it). */
static CURL *thread_handle(bool *owned)
{
	CURL *h;

	*owned = false;
	pthread_once(&handle_once, handle_key_init);
	h = handle_key_ok ? pthread_getspecific(handle_key) : NULL;
	if (h) {
		curl_easy_reset(h);
		return h;
	}
	h = curl_easy_init();
	if (h && (!handle_key_ok || pthread_setspecific(handle_key, h) != 0))
		*owned = true;
	return h;
}

static int http_call_run(const struct http_call *c, struct http_reply *rep,
			 char *err, size_t errlen)
{
	bool owned = true;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURL *h = NULL;
	CURLcode res;
	int rc;

	rep->status = 0;
	rep->too_big = false;
	if (!(c->timeout_s > 0) || !isfinite(c->timeout_s))
		return err_set(err, errlen, ERR_INVAL,
			       "%s: timeout must be a positive number of "
			       "seconds",
			       c->who);
	rc = build_headers(c, &headers, err, errlen);
	if (rc)
		goto out;
	h = thread_handle(&owned);
	if (!h) {
		rc = err_set(err, errlen, ERR_INTERNAL,
			     "%s: cannot create an HTTP handle", c->who);
		goto out;
	}
	set_options(h, c, headers, rep, errbuf);
	res = curl_easy_perform(h);
	if (res != CURLE_OK) {
		rc = map_curl_error(c, h, res, rep, errbuf, err, errlen);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rep->status);
out:
	if (h && !owned)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	if (owned)
		curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	return rc;
}

/* The URL as messages show it: without its query string (it may carry
 * keys), at most 200 bytes. */
static void url_for_messages(const char *url, char *dst, size_t dstlen)
{
	size_t n = strcspn(url, "?#");

	snprintf(dst, dstlen, "%.*s%s", (int)(n > 200 ? 200 : n), url,
		 n > 200 ? "..." : "");
}

/* ---- Prometheus ---- */

/* application/x-www-form-urlencoded value. */
static void form_put(struct buf *b, const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c))
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

/* The POST form of a query; `now` in Unix seconds. */
static int prom_form(const struct prom_request *req, double now,
		     struct buf *form, char *err, size_t errlen)
{
	long ms = timeout_ms(req->timeout_s);

	buf_puts(form, "query=");
	form_put(form, req->query);
	if (ms % 1000 == 0)
		buf_printf(form, "&timeout=%lds", ms / 1000);
	else
		buf_printf(form, "&timeout=%ldms", ms);
	if (!req->range)
		return buf_printf(form, "&time=%.3f", now);
	if (!(req->range_step_s > 0) || !isfinite(req->range_step_s) ||
	    !(req->range_start_s >= req->range_end_s) ||
	    !isfinite(req->range_start_s) || !isfinite(req->range_end_s))
		return err_set(err, errlen, ERR_INVAL,
			       "Prometheus range query needs start >= end "
			       "(seconds before now) and a positive step");
	return buf_printf(form, "&start=%.3f&end=%.3f&step=%g",
			  now - req->range_start_s, now - req->range_end_s,
			  req->range_step_s);
}

int prom_measure(const struct prom_request *req, struct aval *out, char *err,
		 size_t errlen)
{
	char who[256], *url = NULL;
	struct http_reply rep = {.status = 0};
	struct http_call c = {.timeout_what = "Prometheus query",
			      .method = "POST"};
	struct buf form;
	struct timespec ts;
	size_t n = strlen(req->address);
	int rc;

	buf_init(&form, BODY_MAX);
	buf_init(&rep.body, BODY_MAX);
	while (n && req->address[n - 1] == '/')
		n--;
	url_for_messages(req->address, who + 14, sizeof(who) - 14);
	memcpy(who, "Prometheus at ", 14);
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = prom_form(req, (double)ts.tv_sec + ts.tv_nsec / 1e9, &form, err,
		       errlen);
	if (rc == ERR_TOOBIG)
		rc = err_set(err, errlen, rc, "Prometheus query is too long");
	if (rc)
		goto out;
	url = xasprintf("%.*s/api/v1/%s", (int)n, req->address,
			req->range ? "query_range" : "query");
	c.who = who;
	c.url = url;
	c.body = form.data;
	c.headers = req->headers;
	c.n_headers = req->n_headers;
	c.bearer_token = req->bearer_token;
	c.basic_user = req->basic_user;
	c.basic_password = req->basic_password;
	c.insecure_skip_verify = req->insecure_skip_verify;
	c.timeout_s = req->timeout_s;
	rc = http_call_run(&c, &rep, err, errlen);
	if (!rc)
		rc = prom_parse_response(rep.body.data, rep.body.len,
					 rep.status, out, err, errlen);
out:
	free(url);
	buf_release(&form);
	buf_release(&rep.body);
	return rc;
}

/* ---- web ---- */

/* A 2xx answer's body to the selected value. */
static int web_answer(const struct web_request *req, const char *who,
		      const struct http_reply *rep, struct aval *out, char *err,
		      size_t errlen)
{
	char quoted[SNIPPET_MAX + 4];
	json_error_t jerr;
	json_t *doc;
	int rc;

	if (rep->status < 200 || rep->status >= 300) {
		snippet(rep->body.data, rep->body.len, SNIPPET_MAX, quoted,
			sizeof(quoted));
		return err_set(err, errlen, ERR_INTERNAL, "%s answered %ld: %s",
			       who, rep->status, quoted);
	}
	doc = json_loadb(rep->body.data, rep->body.len, JSON_DECODE_ANY, &jerr);
	if (!doc)
		return err_set(err, errlen, ERR_PARSE,
			       "%s answered something that is not JSON: %s",
			       who, jerr.text);
	rc = web_extract(doc, req->json_path, out, err, errlen);
	json_decref(doc);
	return rc;
}

int web_measure(const struct web_request *req, struct aval *out, char *err,
		size_t errlen)
{
	char who[256];
	struct http_reply rep = {.status = 0};
	struct http_call c = {.who = who, .timeout_what = who};
	const char *m = req->method && *req->method ? req->method : "GET";
	int rc;

	buf_init(&rep.body, BODY_MAX);
	memcpy(who, "web metric ", 11);
	url_for_messages(req->url, who + 11, sizeof(who) - 11);
	if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0 &&
	    strcmp(m, "PUT") != 0)
		return err_set(err, errlen, ERR_INVAL,
			       "%s: method \"%.16s\" is not GET, POST or PUT",
			       who, m);
	c.url = req->url;
	c.method = m;
	c.body = strcmp(m, "GET") != 0 ? req->body : NULL;
	c.content_type = "application/json";
	c.headers = req->headers;
	c.n_headers = req->n_headers;
	c.insecure_skip_verify = req->insecure_skip_verify;
	c.timeout_s = req->timeout_s;
	rc = http_call_run(&c, &rep, err, errlen);
	if (!rc)
		rc = web_answer(req, who, &rep, out, err, errlen);
	buf_release(&rep.body);
	return rc;
}

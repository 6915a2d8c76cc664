/*
 * Unit tests for analysis/provider: Prometheus answers of every shape and
 * error kind (prom_parse_response), JSON path selection (web_extract),
 * context-aware argument templating (tmpl_render), and prom_measure /
 * web_measure over real loopback sockets against a one-shot HTTP server
 * run in a thread: canned answers, what was sent, connection refused, a
 * server that never answers, and an over-size body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "analysis/provider.h"
#include "util/buf.h"
#include "util/err.h"

/* ---- helpers ---- */

/* A compact rendering of v for comparisons: 1.5, NaN, +Inf, [..], s:x. */
static void fmt(struct buf *b, const struct aval *v)
{
	size_t i;

	switch (v->kind) {
	case AVAL_NUMBER:
		if (isnan(v->num))
			buf_puts(b, "NaN");
		else if (isinf(v->num))
			buf_puts(b, v->num > 0 ? "+Inf" : "-Inf");
		else
			buf_printf(b, "%g", v->num);
		break;
	case AVAL_BOOL:
		buf_puts(b, v->b ? "true" : "false");
		break;
	case AVAL_STRING:
		buf_printf(b, "s:%s", v->str);
		break;
	case AVAL_LIST:
		buf_putc(b, '[');
		for (i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ',');
			fmt(b, &v->items[i]);
		}
		buf_putc(b, ']');
		break;
	default:
		buf_puts(b, "null");
	}
}

static void assert_aval(const struct aval *v, const char *want)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	fmt(&b, v);
	if (strcmp(b.data, want) != 0)
		fail_msg("value %s, want %s", b.data, want);
	buf_release(&b);
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* ---- prom_parse_response ---- */

#define OK_BODY(type, result)                                      \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"" type \
	"\",\"result\":" result "}}"
#define ERR_BODY(type, msg)                                                 \
	"{\"status\":\"error\",\"errorType\":\"" type "\",\"error\":\"" msg \
	"\"}"

struct prom_case {
	const char *name;
	const char *body;
	long status;
	int rc;
	const char *want; /* value (rc 0) or message part */
};

static const struct prom_case prom_cases[] = {
	{"scalar", OK_BODY("scalar", "[1435781451.781,\"1.5\"]"), 200, 0,
	 "1.5"},
	{"scalar NaN", OK_BODY("scalar", "[1,\"NaN\"]"), 200, 0, "NaN"},
	{"vector empty", OK_BODY("vector", "[]"), 200, 0, "[]"},
	{"vector one",
	 OK_BODY("vector",
		 "[{\"metric\":{\"job\":\"a\"},\"value\":[1,\"0.25\"]}]"),
	 200, 0, "[0.25]"},
	{"vector three specials",
	 OK_BODY("vector", "[{\"metric\":{},\"value\":[1,\"NaN\"]},"
			   "{\"metric\":{\"a\":\"b\"},\"value\":[1,\"+Inf\"]},"
			   "{\"metric\":{},\"value\":[1.5,\"-Inf\"]}]"),
	 200, 0, "[NaN,+Inf,-Inf]"},
	{"vector exponent",
	 OK_BODY("vector", "[{\"metric\":{},\"value\":[1,\"1e-05\"]}]"), 200, 0,
	 "[1e-05]"},
	{"matrix",
	 OK_BODY("matrix", "[{\"metric\":{},\"values\":[[1,\"1\"],[2,\"2\"]]},"
			   "{\"metric\":{},\"values\":[[1,\"3\"]]}]"),
	 200, 0, "[[1,2],[3]]"},
	{"matrix empty", OK_BODY("matrix", "[]"), 200, 0, "[]"},
	{"string", OK_BODY("string", "[1,\"hello\"]"), 200, 0, "s:hello"},
	{"warnings ignored",
	 "{\"status\":\"success\",\"warnings\":[\"w\"],\"data\":{"
	 "\"resultType\":\"scalar\",\"result\":[1,\"2\"]}}",
	 200, 0, "2"},
	{"bad_data 400", ERR_BODY("bad_data", "1:5: parse error: unexpected"),
	 400, ERR_BADREQUEST,
	 "Prometheus rejected the query (bad_data): 1:5: parse error: "
	 "unexpected"},
	{"execution 422", ERR_BODY("execution", "many-to-many matching"), 422,
	 ERR_INTERNAL, "Prometheus query failed (execution): many-to-many"},
	{"timeout 503", ERR_BODY("timeout", "query timed out in expression"),
	 503, ERR_TIMEOUT, "Prometheus query timed out (timeout): query"},
	{"canceled 503", ERR_BODY("canceled", "context canceled"), 503,
	 ERR_INTERNAL, "(canceled): context canceled"},
	{"unavailable 503", ERR_BODY("unavailable", "not ready"), 503,
	 ERR_INTERNAL, "(unavailable): not ready"},
	{"error without type", "{\"status\":\"error\"}", 500, ERR_INTERNAL,
	 "(unknown)"},
	{"html 502", "<html><body>Bad\nGateway</body></html>", 502,
	 ERR_INTERNAL, "Prometheus answered 502: <html><body>Bad Gateway"},
	{"empty 504", "", 504, ERR_INTERNAL, "Prometheus answered 504: "},
	{"401", "Unauthorized", 401, ERR_UNAUTHORIZED,
	 "Prometheus answered 401: Unauthorized"},
	{"403 json", ERR_BODY("forbidden", "no"), 403, ERR_FORBIDDEN,
	 "Prometheus answered 403"},
	{"text 200", "up 1", 200, ERR_PARSE, "not a Prometheus API answer"},
	{"array 200", "[1,2]", 200, ERR_PARSE, "not a Prometheus API answer"},
	{"odd status", "{\"status\":\"maybe\"}", 200, ERR_PARSE,
	 "unknown status \"maybe\""},
	{"no data", "{\"status\":\"success\"}", 200, ERR_PARSE,
	 "no data.resultType"},
	{"unknown type", OK_BODY("tensor", "[]"), 200, ERR_PARSE,
	 "unknown resultType \"tensor\""},
	{"scalar not string", OK_BODY("scalar", "[1,1.5]"), 200, ERR_PARSE,
	 "scalar result is not"},
	{"scalar garbage", OK_BODY("scalar", "[1,\"1.5x\"]"), 200, ERR_PARSE,
	 "scalar result is not"},
	{"scalar object", OK_BODY("scalar", "{}"), 200, ERR_PARSE,
	 "scalar result is not"},
	{"vector not list", OK_BODY("vector", "{}"), 200, ERR_PARSE,
	 "vector result is not a list"},
	{"vector histogram",
	 OK_BODY("vector", "[{\"metric\":{},\"value\":[1,\"1\"]},"
			   "{\"metric\":{},\"histogram\":[1,{}]}]"),
	 200, ERR_PARSE, "vector series 1 has no \"value\""},
	{"matrix bad sample",
	 OK_BODY("matrix", "[{\"metric\":{},\"values\":[[1,\"1\"],[2]]}]"), 200,
	 ERR_PARSE, "matrix series 0 has no \"values\""},
	{"string not string", OK_BODY("string", "[1,2]"), 200, ERR_PARSE,
	 "string result is not"},
};

static void test_prom_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(prom_cases) / sizeof(prom_cases[0]);
	     i++) {
		const struct prom_case *c = &prom_cases[i];
		struct aval v = {0};
		char err[512] = "";
		int rc = prom_parse_response(c->body, strlen(c->body),
					     c->status, &v, err, sizeof(err));

		if (rc != c->rc)
			fail_msg("%s: rc %s, want %s (%s)", c->name,
				 err_name(rc), err_name(c->rc), err);
		if (rc == 0)
			assert_aval(&v, c->want);
		else
			assert_contains(err, c->want);
		aval_clear(&v);
	}
}

/* ---- web_extract ---- */

struct path_case {
	const char *path;
	int rc;
	const char *want; /* value (rc 0) or message part */
};

static const struct path_case path_cases[] = {
	{"$.data.value", 0, "0.5"},
	{"{$.data.value}", 0, "0.5"},
	{" {$.data.ok} ", 0, "true"},
	{"$.items[1].v", 0, "20"},
	{"$.data.list", 0, "[1,2,[3,4]]"},
	{"$.data.list[2][1]", 0, "4"},
	{"$['data']['a b']", 0, "7"},
	{"$[\"data\"].name", 0, "s:x"},
	{"$['data']['it\\'s']", 0, "8"},
	{"$.data.nul", 0, "null"},
	{"$.items[0]", ERR_INVAL, "$.items[0]: an object"},
	{"$", ERR_INVAL, "object"},
	{"", ERR_INVAL, "object"},
	{"{$.data.obj}", ERR_INVAL, "$.data.obj: an object"},
	{"$.data.missing", ERR_NOTFOUND,
	 "$.data.missing: no member \"missing\""},
	{"$.nope.value", ERR_NOTFOUND, "$.nope: no member \"nope\""},
	{"$.items[5]", ERR_NOTFOUND,
	 "$.items[5]: index 5 out of range (2 items)"},
	{"$.data.value.x", ERR_INVAL,
	 "$.data.value.x: a number, not an object"},
	{"$.data[0]", ERR_INVAL, "$.data[0]: an object, not a list"},
	{"$.data..x", ERR_INVAL, "cannot parse at offset 6"},
	{"$.items[x]", ERR_INVAL, "cannot parse"},
	{"$.items[-1]", ERR_INVAL, "cannot parse"},
	{"$['data'", ERR_INVAL, "cannot parse"},
	{"$data", ERR_INVAL, "cannot parse at offset 1"},
	{"$.items[99999999999]", ERR_INVAL, "cannot parse"},
};

static void test_web_extract(void **state)
{
	json_t *doc = json_loads(
		"{\"data\":{\"value\":0.5,\"ok\":true,\"name\":\"x\","
		"\"list\":[1,2,[3,4]],\"a b\":7,\"it's\":8,\"obj\":{\"k\":1},"
		"\"nul\":null},\"items\":[{\"v\":10},{\"v\":20}]}",
		0, NULL);

	(void)state;
	assert_non_null(doc);
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		const struct path_case *c = &path_cases[i];
		struct aval v = {0};
		char err[512] = "";
		int rc = web_extract(doc, c->path, &v, err, sizeof(err));

		if (rc != c->rc)
			fail_msg("%s: rc %s, want %s (%s)", c->path,
				 err_name(rc), err_name(c->rc), err);
		if (rc == 0)
			assert_aval(&v, c->want);
		else
			assert_contains(err, c->want);
		aval_clear(&v);
	}
	json_decref(doc);
}

static void test_web_extract_scalar_doc(void **state)
{
	json_t *doc = json_real(3.25);
	struct aval v = {0};
	char err[256];

	(void)state;
	assert_int_equal(web_extract(doc, NULL, &v, err, sizeof(err)), 0);
	assert_aval(&v, "3.25");
	aval_clear(&v);
	assert_int_equal(web_extract(doc, "$.a", &v, err, sizeof(err)),
			 ERR_INVAL);
	json_decref(doc);
}

/* ---- tmpl_render ---- */

static const struct tmpl_arg targs[] = {
	{"svc", "my-svc"},
	{"inj", "\"} or vector(1) #"},
	{"q1", "it's"},
	{"nl", "a\nb"},
	{"json", "\", \"x\": 1"},
	{"num", "-4.5e3"},
	{"url", "a b&c=d/\xc3\xa9~"},
	{"bs", "a\\b"},
	{"tick", "a`b"},
	{"empty", ""},
	{"dur", "5m"},
	{"bad8", "\xff"},
	{"long",
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "yyyyyyyyyyyyyyyy +"},
	{"svc", "second-wins-never"},
};

struct tmpl_case {
	const char *src;
	enum tmpl_escape esc;
	int rc;
	const char *want; /* output (rc 0) or message part */
};

static const struct tmpl_case tmpl_cases[] = {
	/* PromQL: string literals */
	{"rate(x{service=\"{{args.svc}}\"}[{{args.dur}}])", TMPL_PROMQL, 0,
	 "rate(x{service=\"my-svc\"}[5m])"},
	{"x{a=\"{{ args.svc }}\",b=\"{{args.svc  }}\"}", TMPL_PROMQL, 0,
	 "x{a=\"my-svc\",b=\"my-svc\"}"},
	{"up{job=\"{{args.inj}}\"}", TMPL_PROMQL, 0,
	 "up{job=\"\\\"} or vector(1) #\"}"},
	{"up{job='{{args.q1}}'}", TMPL_PROMQL, 0, "up{job='it\\'s'}"},
	{"up{job='{{args.inj}}'}", TMPL_PROMQL, 0,
	 "up{job='\"} or vector(1) #'}"},
	{"up{job=\"{{args.q1}}\"}", TMPL_PROMQL, 0, "up{job=\"it's\"}"},
	{"up{job=\"{{args.nl}}\"}", TMPL_PROMQL, 0, "up{job=\"a\\nb\"}"},
	{"up{job=\"{{args.bs}}\"}", TMPL_PROMQL, 0, "up{job=\"a\\\\b\"}"},
	{"up{job=\"{{args.empty}}\"}", TMPL_PROMQL, 0, "up{job=\"\"}"},
	{"up{job=~`{{args.inj}}`}", TMPL_PROMQL, 0,
	 "up{job=~`\"} or vector(1) #`}"},
	{"up{job=~`{{args.tick}}`}", TMPL_PROMQL, ERR_INVAL,
	 "argument \"tick\": value \"a`b\" contains a backtick"},
	/* a quote escaped in the template keeps the literal open */
	{"x{a=\"\\\"{{args.svc}}\"}", TMPL_PROMQL, 0, "x{a=\"\\\"my-svc\"}"},
	/* an escaped backslash ends it */
	{"x{a=\"\\\\\"} > {{args.inj}}", TMPL_PROMQL, ERR_INVAL,
	 "cannot be used outside a quoted string"},
	{"x{a=\"\\{{args.svc}}\"}", TMPL_PROMQL, ERR_INVAL,
	 "follows a backslash"},
	/* PromQL: outside literals */
	{"sum(x) > {{args.inj}}", TMPL_PROMQL, ERR_INVAL,
	 "argument \"inj\": value \"\\x22} or vector(1) #\" cannot be used "
	 "outside a quoted string"},
	{"sum by ({{args.svc}}) (x)", TMPL_PROMQL, 0, "sum by (my-svc) (x)"},
	{"x > {{args.empty}}", TMPL_PROMQL, ERR_INVAL,
	 "value \"\" cannot be used outside"},
	{"x > {{args.num}}", TMPL_PROMQL, 0, "x > -4.5e3"},
	{"x # it's \"{{args.inj}}", TMPL_PROMQL, ERR_INVAL,
	 "cannot be used outside"},
	{"x # c\ny{a=\"{{args.inj}}\"}", TMPL_PROMQL, 0,
	 "x # c\ny{a=\"\\\"} or vector(1) #\"}"},
	{"x > {{args.long}}", TMPL_PROMQL, ERR_INVAL,
	 "value "
	 "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xx\"... cannot"},
	/* placeholders */
	{"x{a=\"{{args.nope}}\"}", TMPL_PROMQL, ERR_INVAL,
	 "unknown argument \"nope\" in query"},
	{"x{a=\"{{args.svc\"}", TMPL_PROMQL, ERR_INVAL,
	 "unterminated \"{{\" in query"},
	{"x{{ foo }}", TMPL_PROMQL, ERR_INVAL,
	 "placeholder \"{{ foo }}\" in query is not {{args.NAME}}"},
	{"{{args.}}", TMPL_PROMQL, ERR_INVAL, "is not {{args.NAME}}"},
	{"{{args.a b}}", TMPL_PROMQL, ERR_INVAL, "is not {{args.NAME}}"},
	{"no placeholders { } \" ' ` #", TMPL_PROMQL, 0,
	 "no placeholders { } \" ' ` #"},
	{"", TMPL_PROMQL, 0, ""},
	/* JSON */
	{"{\"svc\": \"{{args.json}}\"}", TMPL_JSON, 0,
	 "{\"svc\": \"\\\", \\\"x\\\": 1\"}"},
	{"{\"n\": {{args.num}}, \"s\": \"{{args.nl}}\"}", TMPL_JSON, 0,
	 "{\"n\": -4.5e3, \"s\": \"a\\nb\"}"},
	{"{\"n\": {{args.json}}}", TMPL_JSON, ERR_INVAL,
	 "cannot be used outside a quoted string"},
	{"{\"n\": {{args.svc}}}", TMPL_JSON, ERR_INVAL,
	 "only a JSON number, true, false or null"},
	{"{\"n\": {{args.dur}}}", TMPL_JSON, ERR_INVAL, "outside"},
	{"{\"s\": \"{{args.bad8}}\"}", TMPL_JSON, ERR_INVAL,
	 "value \"\\xff\" is not valid UTF-8"},
	{"{\"it's\": \"{{args.q1}}\"}", TMPL_JSON, 0, "{\"it's\": \"it's\"}"},
	{"{\"x\":{\"y\":1}}", TMPL_JSON, 0, "{\"x\":{\"y\":1}}"},
	{"{\"b\": \"{{args.nope}}\"}", TMPL_JSON, ERR_INVAL,
	 "unknown argument \"nope\" in body"},
	/* URL */
	{"http://h/q?x={{args.url}}&y={{args.svc}}", TMPL_URL, 0,
	 "http://h/q?x=a%20b%26c%3Dd%2F%C3%A9~&y=my-svc"},
	{"http://h/{{args.inj}}", TMPL_URL, 0,
	 "http://h/%22%7D%20or%20vector%281%29%20%23"},
	/* RAW */
	{"Bearer {{args.svc}}", TMPL_RAW, 0, "Bearer my-svc"},
	{"v={{args.inj}}", TMPL_RAW, 0, "v=\"} or vector(1) #"},
	{"X {{args.nl}}", TMPL_RAW, ERR_INVAL,
	 "argument \"nl\": value \"a\\x0ab\" contains a line break"},
};

static void test_tmpl_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tmpl_cases) / sizeof(tmpl_cases[0]);
	     i++) {
		const struct tmpl_case *c = &tmpl_cases[i];
		char err[512] = "", *out = (char *)"unset";
		int rc = tmpl_render(c->src, targs,
				     sizeof(targs) / sizeof(targs[0]), c->esc,
				     &out, err, sizeof(err));

		if (rc != c->rc)
			fail_msg("%s: rc %s, want %s (%s)", c->src,
				 err_name(rc), err_name(c->rc), err);
		if (rc == 0) {
			if (strcmp(out, c->want) != 0)
				fail_msg("%s: got %s, want %s", c->src, out,
					 c->want);
		} else {
			assert_null(out);
			assert_contains(err, c->want);
		}
		free(out);
	}
}

/* An error message never quotes more than 64 bytes of a value. */
static void test_tmpl_truncates_values(void **state)
{
	char err[512], *out;

	(void)state;
	assert_int_equal(tmpl_render("x > {{args.long}}", targs,
				     sizeof(targs) / sizeof(targs[0]),
				     TMPL_PROMQL, &out, err, sizeof(err)),
			 ERR_INVAL);
	assert_null(strstr(err, "y"));
}

/* JSON: an injected value stays one string member of the object. */
static void test_tmpl_json_injection(void **state)
{
	static const char *const nasty[] = {
		"\", \"x\": 1", "\\\", \"x\": 1, \"y\": \"", "}\n{\"x\":1",
		"\x01\x1f\t\r", "caf\xc3\xa9 \xe2\x82\xac",
	};
	char err[256], *out;

	(void)state;
	for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
		struct tmpl_arg a = {"v", nasty[i]};
		json_t *doc;

		assert_int_equal(tmpl_render("{\"k\": \"{{args.v}}\"}", &a, 1,
					     TMPL_JSON, &out, err, sizeof(err)),
				 0);
		doc = json_loads(out, 0, NULL);
		assert_non_null(doc);
		assert_int_equal(json_object_size(doc), 1);
		assert_string_equal(
			json_string_value(json_object_get(doc, "k")), nasty[i]);
		json_decref(doc);
		free(out);
	}
}

/* ---- a one-shot HTTP server on loopback ---- */

enum srv_mode {
	SRV_ANSWER,
	SRV_SILENT,
	SRV_HUGE
};

struct srv {
	int fd;
	int port;
	enum srv_mode mode;
	const char *reply; /* full HTTP answer for SRV_ANSWER */
	char req[16384];   /* what the client sent */
	size_t req_len;
	pthread_t thread;
};

static size_t content_length(const char *req)
{
	const char *p = strstr(req, "\r\nContent-Length:");

	return p ? strtoul(p + 17, NULL, 10) : 0;
}

/* Reads one request (headers and Content-Length body) into s->req. */
static void srv_read(struct srv *s, int c)
{
	const char *end = NULL;
	ssize_t n;

	while (s->req_len < sizeof(s->req) - 1) {
		n = recv(c, s->req + s->req_len,
			 sizeof(s->req) - 1 - s->req_len, 0);
		if (n <= 0)
			return;
		s->req_len += (size_t)n;
		s->req[s->req_len] = '\0';
		end = strstr(s->req, "\r\n\r\n");
		if (end && s->req_len >= (size_t)(end + 4 - s->req) +
						 content_length(s->req))
			return;
	}
}

static void srv_send(int c, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(c, p, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void srv_huge(int c)
{
	static char chunk[65536];
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 6291456\r\n"
			   "Connection: close\r\n\r\n";

	memset(chunk, ' ', sizeof(chunk));
	srv_send(c, head, strlen(head));
	for (int i = 0; i < 96; i++)
		srv_send(c, chunk, sizeof(chunk));
}

static void *srv_main(void *data)
{
	struct srv *s = data;
	struct pollfd p = {.events = POLLIN};
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	srv_read(s, c);
	if (s->mode == SRV_ANSWER) {
		srv_send(c, s->reply, strlen(s->reply));
	} else if (s->mode == SRV_HUGE) {
		srv_huge(c);
	} else {
		/* Never answer; wait for the client to give up. */
		p.fd = c;
		while (poll(&p, 1, 5000) > 0 && recv(c, s->req, 1, 0) > 0)
			;
	}
	shutdown(c, SHUT_WR);
	close(c);
	return NULL;
}

/* Listens on 127.0.0.1:0; returns the bound port. */
static int listen_any(int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(*fd, 4), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void srv_start(struct srv *s, enum srv_mode mode, const char *reply)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->reply = reply;
	s->port = listen_any(&s->fd);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

#define HTTP_JSON(status, body)                                     \
	"HTTP/1.1 " status "\r\nContent-Type: application/json\r\n" \
	"Connection: close\r\n\r\n" body

/* ---- prom_measure / web_measure over sockets ---- */

static void test_prom_instant(void **state)
{
	static const struct http_header hdr[] = {{"X-Scope-OrgID", "t1"}};
	struct srv s;
	struct aval v = {0};
	char addr[64], err[512] = "";
	struct prom_request r = {.address = addr,
				 .query = "sum(up{job=\"a b\"})",
				 .timeout_s = 5,
				 .headers = hdr,
				 .n_headers = 1,
				 .bearer_token = "tok"};

	(void)state;
	srv_start(&s, SRV_ANSWER,
		  HTTP_JSON("200 OK",
			    OK_BODY("vector", "[{\"metric\":{},\"value\":[1,"
					      "\"0.99\"]}]")));
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d/", s.port);
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), 0);
	srv_stop(&s);
	assert_aval(&v, "[0.99]");
	aval_clear(&v);
	assert_true(strncmp(s.req, "POST /api/v1/query HTTP/1.1\r\n", 29) == 0);
	assert_contains(s.req,
			"Content-Type: application/x-www-form-urlencoded");
	assert_contains(s.req, "X-Scope-OrgID: t1\r\n");
	assert_contains(s.req, "Authorization: Bearer tok\r\n");
	assert_contains(s.req, "\r\n\r\nquery=sum%28up%7Bjob%3D%22a%20b%22%7D"
			       "%29&timeout=5s&time=");
}

static void test_prom_range_basic_auth(void **state)
{
	struct srv s;
	struct aval v = {0};
	char addr[64], err[512] = "";
	struct prom_request r = {.address = addr,
				 .query = "up",
				 .timeout_s = 2.5,
				 .basic_user = "u",
				 .basic_password = "p",
				 .range = true,
				 .range_start_s = 600,
				 .range_end_s = 0,
				 .range_step_s = 60};

	(void)state;
	srv_start(&s, SRV_ANSWER,
		  HTTP_JSON("200 OK",
			    OK_BODY("matrix", "[{\"metric\":{},\"values\":[[1,"
					      "\"1\"],[2,\"NaN\"]]}]")));
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", s.port);
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), 0);
	srv_stop(&s);
	assert_aval(&v, "[[1,NaN]]");
	aval_clear(&v);
	assert_true(strncmp(s.req, "POST /api/v1/query_range HTTP/1.1", 33) ==
		    0);
	assert_contains(s.req, "Authorization: Basic dTpw\r\n");
	assert_contains(s.req, "query=up&timeout=2500ms&start=");
	assert_contains(s.req, "&step=60");
	assert_non_null(strstr(s.req, "&end="));
}

static void test_prom_range_invalid(void **state)
{
	struct aval v = {0};
	char err[512] = "";
	struct prom_request r = {.address = "http://127.0.0.1:1",
				 .query = "up",
				 .timeout_s = 1,
				 .range = true,
				 .range_start_s = 60,
				 .range_end_s = 0,
				 .range_step_s = 0};

	(void)state;
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), ERR_INVAL);
	assert_contains(err, "positive step");
	r.range = false;
	r.timeout_s = 0;
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), ERR_INVAL);
	assert_contains(err, "timeout must be a positive number");
}

static void test_prom_bad_data_over_http(void **state)
{
	struct srv s;
	struct aval v = {0};
	char addr[64], err[512] = "";
	struct prom_request r = {
		.address = addr, .query = "sum(", .timeout_s = 5};

	(void)state;
	srv_start(&s, SRV_ANSWER,
		  HTTP_JSON("400 Bad Request",
			    ERR_BODY("bad_data", "1:5: parse error: unclosed "
						 "left parenthesis")));
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", s.port);
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)),
			 ERR_BADREQUEST);
	srv_stop(&s);
	assert_string_equal(err, "Prometheus rejected the query (bad_data): "
				 "1:5: parse error: unclosed left "
				 "parenthesis");
}

static void test_prom_refused(void **state)
{
	struct aval v = {0};
	char addr[64], want[128], err[512] = "";
	struct prom_request r = {
		.address = addr, .query = "up", .timeout_s = 2};
	int fd, port = listen_any(&fd);

	(void)state;
	close(fd); /* nothing listens there now */
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", port);
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), ERR_TRANSPORT);
	snprintf(want, sizeof(want),
		 "Prometheus at http://127.0.0.1:%d unreachable: Connection "
		 "refused",
		 port);
	assert_string_equal(err, want);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_prom_timeout(void **state)
{
	struct srv s;
	struct aval v = {0};
	char addr[64], err[512] = "";
	struct prom_request r = {
		.address = addr, .query = "up", .timeout_s = 0.3};
	double t0;

	(void)state;
	srv_start(&s, SRV_SILENT, NULL);
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", s.port);
	t0 = now_s();
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), ERR_TIMEOUT);
	assert_true(now_s() - t0 < 2.0);
	srv_stop(&s);
	assert_string_equal(err, "Prometheus query timed out after 0.3s");
	assert_contains(s.req, "timeout=300ms");
}

static void test_prom_too_big(void **state)
{
	struct srv s;
	struct aval v = {0};
	char addr[64], err[512] = "";
	struct prom_request r = {
		.address = addr, .query = "up", .timeout_s = 10};

	(void)state;
	srv_start(&s, SRV_HUGE, NULL);
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", s.port);
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), ERR_TOOBIG);
	srv_stop(&s);
	assert_contains(err, "answered more than 4194304 bytes");
}

static void test_prom_header_injection(void **state)
{
	static const struct http_header hdr[] = {{"X-A", "v\r\nX-B: w"}};
	struct aval v = {0};
	char err[512] = "";
	struct prom_request r = {.address = "http://127.0.0.1:1",
				 .query = "up",
				 .timeout_s = 1,
				 .headers = hdr,
				 .n_headers = 1};

	(void)state;
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), ERR_INVAL);
	assert_contains(err, "header \"X-A\"");
	r.n_headers = 0;
	r.bearer_token = "t\nX-B: w";
	assert_int_equal(prom_measure(&r, &v, err, sizeof(err)), ERR_INVAL);
	assert_contains(err, "bearer token");
}

static void test_web_get(void **state)
{
	static const struct http_header hdr[] = {{"X-Api-Key", "k"}};
	struct srv s;
	struct aval v = {0};
	char url[96], err[512] = "";
	struct web_request r = {.url = url,
				.headers = hdr,
				.n_headers = 1,
				.timeout_s = 5,
				.json_path = "{$.data.v}"};

	(void)state;
	srv_start(&s, SRV_ANSWER,
		  HTTP_JSON("200 OK", "{\"data\":{\"v\":[3,4]}}"));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metric?x=1", s.port);
	assert_int_equal(web_measure(&r, &v, err, sizeof(err)), 0);
	srv_stop(&s);
	assert_aval(&v, "[3,4]");
	aval_clear(&v);
	assert_true(strncmp(s.req, "GET /metric?x=1 HTTP/1.1\r\n", 26) == 0);
	assert_contains(s.req, "X-Api-Key: k\r\n");
}

static void test_web_post_put(void **state)
{
	static const char *const methods[] = {"POST", "PUT"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct srv s;
		struct aval v = {0};
		char url[96], want[64], err[512] = "";
		struct web_request r = {.url = url,
					.method = methods[i],
					.body = "{\"q\":\"x\"}",
					.timeout_s = 5,
					.json_path = "$.ok"};

		srv_start(&s, SRV_ANSWER,
			  HTTP_JSON("201 Created", "{\"ok\":true}"));
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/q", s.port);
		assert_int_equal(web_measure(&r, &v, err, sizeof(err)), 0);
		srv_stop(&s);
		assert_aval(&v, "true");
		snprintf(want, sizeof(want), "%s /q HTTP/1.1\r\n", methods[i]);
		assert_true(strncmp(s.req, want, strlen(want)) == 0);
		assert_contains(s.req, "Content-Type: application/json\r\n");
		assert_contains(s.req, "\r\n\r\n{\"q\":\"x\"}");
	}
}

static void test_web_errors(void **state)
{
	static const struct {
		const char *reply;
		const char *path;
		int rc;
		const char *want;
	} cases[] = {
		{HTTP_JSON("503 Service Unavailable", "oops\nmore"), NULL,
		 ERR_INTERNAL, "/m answered 503: oops more"},
		{HTTP_JSON("200 OK", "<html>"), NULL, ERR_PARSE,
		 "/m answered something that is not JSON"},
		{HTTP_JSON("200 OK", "{\"a\":1}"), "$.b", ERR_NOTFOUND,
		 "$.b: no member \"b\""},
		{HTTP_JSON("200 OK", "42"), "$", 0, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct srv s;
		struct aval v = {0};
		char url[96], err[512] = "";
		struct web_request r = {
			.url = url, .timeout_s = 5, .json_path = cases[i].path};

		srv_start(&s, SRV_ANSWER, cases[i].reply);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/m?key=secret",
			 s.port);
		assert_int_equal(web_measure(&r, &v, err, sizeof(err)),
				 cases[i].rc);
		srv_stop(&s);
		if (cases[i].want) {
			assert_contains(err, cases[i].want);
			assert_null(strstr(err, "secret"));
		} else {
			assert_aval(&v, "42");
		}
		aval_clear(&v);
	}
}

static void test_web_refused_and_timeout(void **state)
{
	struct srv s;
	struct aval v = {0};
	char url[96], want[160], err[512] = "";
	struct web_request r = {.url = url, .timeout_s = 0.3};
	int fd, port = listen_any(&fd);

	(void)state;
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	assert_int_equal(web_measure(&r, &v, err, sizeof(err)), ERR_TRANSPORT);
	snprintf(want, sizeof(want),
		 "web metric http://127.0.0.1:%d/x unreachable: Connection "
		 "refused",
		 port);
	assert_string_equal(err, want);

	srv_start(&s, SRV_SILENT, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
	assert_int_equal(web_measure(&r, &v, err, sizeof(err)), ERR_TIMEOUT);
	srv_stop(&s);
	snprintf(want, sizeof(want),
		 "web metric http://127.0.0.1:%d/x timed out after 0.3s",
		 s.port);
	assert_string_equal(err, want);

	r.method = "DELETE";
	assert_int_equal(web_measure(&r, &v, err, sizeof(err)), ERR_INVAL);
	assert_contains(err, "not GET, POST or PUT");
	r.method = NULL;
	r.url = "file:///etc/passwd";
	assert_int_equal(web_measure(&r, &v, err, sizeof(err)), ERR_INVAL);
	assert_contains(err, "bad URL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_parse),
		cmocka_unit_test(test_web_extract),
		cmocka_unit_test(test_web_extract_scalar_doc),
		cmocka_unit_test(test_tmpl_cases),
		cmocka_unit_test(test_tmpl_truncates_values),
		cmocka_unit_test(test_tmpl_json_injection),
		cmocka_unit_test(test_prom_instant),
		cmocka_unit_test(test_prom_range_basic_auth),
		cmocka_unit_test(test_prom_range_invalid),
		cmocka_unit_test(test_prom_bad_data_over_http),
		cmocka_unit_test(test_prom_refused),
		cmocka_unit_test(test_prom_timeout),
		cmocka_unit_test(test_prom_too_big),
		cmocka_unit_test(test_prom_header_injection),
		cmocka_unit_test(test_web_get),
		cmocka_unit_test(test_web_post_put),
		cmocka_unit_test(test_web_errors),
		cmocka_unit_test(test_web_refused_and_timeout),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}

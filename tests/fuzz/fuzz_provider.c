/*
 * fuzz_provider: libFuzzer target for the pure parts of the analysis
 * providers (analysis/provider.h): Prometheus answers, JSON paths over web
 * documents, and argument templating with each escape.
 *
 * Input layout: the first byte picks the target (its value modulo 6), the
 * next two bytes are an HTTP status for Prometheus answers; the rest is
 *   0: a Prometheus answer body for prom_parse_response();
 *   1: a JSON path, a NUL, then a JSON document for web_extract();
 *   2..5: a template, a NUL, then an argument value, for tmpl_render()
 *      with TMPL_RAW, TMPL_PROMQL, TMPL_JSON and TMPL_URL.
 *
 * Checked (abort on a mismatch): every failure returns a documented code
 * and a non-empty message; successes give a value of a documented shape.
 * For templating, the fuzzed value is also rendered into a fixed template
 * per escape and the output must keep that template's structure: PromQL
 * text outside string literals is unchanged, JSON parses to one member
 * holding exactly the value, URL output is unreserved characters and
 * %XX that decode back to the value, RAW output is the value and only
 * line breaks are refused. Everything is freed, so LeakSanitizer catches
 * a leak on any path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analysis/provider.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_provider: check failed: %s\n", what);
	abort();
}

static void check_message(const char *err, size_t errlen)
{
	check(memchr(err, '\0', errlen) != NULL, "message NUL-terminated");
	check(err[0] != '\0' && err[0] != 'x', "message written");
}

/* A heap copy of p[0..n) with a NUL added. */
static char *copy_string(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	check(s != NULL, "malloc");
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void check_shape(const struct aval *v, int depth)
{
	check(depth <= 9, "nesting bounded");
	if (v->kind == AVAL_STRING)
		check(v->str != NULL, "string set");
	if (v->kind != AVAL_LIST)
		return;
	check(v->n == 0 || v->items != NULL, "list items set");
	for (size_t i = 0; i < v->n; i++)
		check_shape(&v->items[i], depth + 1);
}

static void fuzz_prom(const uint8_t *p, size_t n, long status)
{
	struct aval v = {0};
	char err[512];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = prom_parse_response((const char *)p, n, status, &v, err,
				 sizeof(err));
	if (rc == 0) {
		check(v.kind == AVAL_NUMBER || v.kind == AVAL_STRING ||
			      v.kind == AVAL_LIST,
		      "Prometheus value kinds");
		check_shape(&v, 0);
		if (v.kind == AVAL_LIST)
			for (size_t i = 0; i < v.n; i++)
				check(v.items[i].kind == AVAL_NUMBER ||
					      v.items[i].kind == AVAL_LIST,
				      "series are numbers or lists");
	} else {
		check(rc == ERR_PARSE || rc == ERR_BADREQUEST ||
			      rc == ERR_INTERNAL || rc == ERR_TIMEOUT ||
			      rc == ERR_UNAUTHORIZED || rc == ERR_FORBIDDEN,
		      "Prometheus error codes");
		check_message(err, sizeof(err));
	}
	aval_clear(&v);
}

static void fuzz_extract(const char *path, const uint8_t *p, size_t n)
{
	json_t *doc = json_loadb((const char *)p, n, JSON_DECODE_ANY, NULL);
	struct aval v = {0};
	char err[512];
	int rc;

	if (!doc)
		return;
	memset(err, 'x', sizeof(err));
	rc = web_extract(doc, path, &v, err, sizeof(err));
	if (rc == 0) {
		check_shape(&v, 0);
	} else {
		check(rc == ERR_INVAL || rc == ERR_NOTFOUND,
		      "web_extract error codes");
		check_message(err, sizeof(err));
	}
	aval_clear(&v);
	json_decref(doc);
}

/* Renders src with argument a = value; checks the failure contract. */
static int render(const char *src, const char *value, enum tmpl_escape esc,
		  char **out)
{
	const struct tmpl_arg args[] = {{"a", value}, {"b", "x"}};
	char err[512];
	int rc;

	memset(err, 'x', sizeof(err));
	*out = (char *)"unset";
	rc = tmpl_render(src, args, 2, esc, out, err, sizeof(err));
	if (rc == 0) {
		check(*out != NULL, "success gives a string");
	} else {
		check(rc == ERR_INVAL || rc == ERR_TOOBIG, "tmpl error codes");
		check(*out == NULL, "failure leaves *out NULL");
		check_message(err, sizeof(err));
	}
	return rc;
}

/* PromQL text outside string literals (an independent small lexer). */
static void promql_outside(const char *s, char *dst)
{
	char quote = 0;

	for (; *s; s++) {
		if (quote) {
			if (*s == '\\' && quote != '`' && s[1])
				s++;
			else if (*s == quote)
				quote = 0;
		} else if (*s == '"' || *s == '\'' || *s == '`') {
			quote = *s;
		} else {
			*dst++ = *s;
		}
	}
	*dst = '\0';
}

static void check_promql(const char *value)
{
	static const char tmpl[] =
		"up{a=\"{{args.a}}\",b='{{ args.a }}',c=`{{args.a}}`} + x";
	char *out, *outside;

	if (render(tmpl, value, TMPL_PROMQL, &out) != 0)
		return;
	outside = malloc(strlen(out) + 1);
	check(outside != NULL, "malloc");
	promql_outside(out, outside);
	check(strcmp(outside, "up{a=,b=,c=} + x") == 0,
	      "value stays inside PromQL literals");
	free(outside);
	free(out);
}

static void check_json(const char *value)
{
	char *out;
	json_t *doc;

	if (render("{\"k\": \"{{args.a}}\"}", value, TMPL_JSON, &out) != 0)
		return;
	doc = json_loads(out, 0, NULL);
	check(doc != NULL, "rendered JSON parses");
	check(json_object_size(doc) == 1, "one member");
	check(strcmp(json_string_value(json_object_get(doc, "k")), value) == 0,
	      "member holds the value");
	json_decref(doc);
	free(out);
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void check_url(const char *value)
{
	char *out, *dec, *d, *s;

	check(render("{{args.a}}", value, TMPL_URL, &out) == 0,
	      "URL rendering never fails");
	dec = malloc(strlen(out) + 1);
	check(dec != NULL, "malloc");
	for (s = out, d = dec; *s; s++) {
		if (*s == '%') {
			check(hex(s[1]) >= 0 && hex(s[2]) >= 0, "%XX");
			*d++ = (char)(hex(s[1]) * 16 + hex(s[2]));
			s += 2;
		} else {
			check(strchr("-._~", *s) || (*s >= 'a' && *s <= 'z') ||
				      (*s >= 'A' && *s <= 'Z') ||
				      (*s >= '0' && *s <= '9'),
			      "only unreserved characters unencoded");
			*d++ = *s;
		}
	}
	*d = '\0';
	check(strcmp(dec, value) == 0, "URL decodes to the value");
	free(dec);
	free(out);
}

static void check_raw(const char *value)
{
	char *out;
	int rc = render("{{args.a}}", value, TMPL_RAW, &out);

	check((rc == 0) == (strpbrk(value, "\r\n") == NULL),
	      "RAW refuses exactly line breaks");
	if (rc == 0) {
		check(strcmp(out, value) == 0, "RAW is the value");
		free(out);
	}
}

static void fuzz_tmpl(const char *src, const char *value, enum tmpl_escape esc)
{
	static void (*const fixed[])(const char *) = {
		[TMPL_RAW] = check_raw,
		[TMPL_PROMQL] = check_promql,
		[TMPL_JSON] = check_json,
		[TMPL_URL] = check_url,
	};
	char *out;

	if (render(src, value, esc, &out) == 0)
		free(out);
	fixed[esc](value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 3, *nul;
	size_t n, head;
	char *first, *second;
	int mode;

	if (size < 3)
		return 0;
	mode = data[0] % 6;
	n = size - 3;
	if (mode == 0) {
		fuzz_prom(p, n, 100 + (data[1] << 8 | data[2]) % 500);
		return 0;
	}
	nul = memchr(p, '\0', n);
	head = nul ? (size_t)(nul - p) : n;
	first = copy_string(p, head);
	if (mode == 1) {
		fuzz_extract(first, nul ? nul + 1 : p + n,
			     nul ? n - head - 1 : 0);
	} else {
		const uint8_t *rest = nul ? nul + 1 : p + n;
		size_t rn = nul ? n - head - 1 : 0;
		const uint8_t *z = memchr(rest, '\0', rn);

		second = copy_string(rest, z ? (size_t)(z - rest) : rn);
		fuzz_tmpl(first, second, (enum tmpl_escape)(mode - 2));
		free(second);
	}
	free(first);
	return 0;
}

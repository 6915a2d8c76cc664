/*
 * fuzz_expr: libFuzzer target for the analysis condition language
 * (analysis/expr.h) and result values (analysis/value.h).
 *
 * Input layout: the condition runs up to the first newline (the whole input
 * without one); the bytes after it are a JSON document converted with
 * aval_from_json() and bound as `result`. When they are not JSON, or not a
 * value (an object, too deep), a fixed result with NaN, +Inf, a nested
 * list, a string and null is used instead, so the evaluator still meets
 * every awkward value.
 *
 * Checked (abort on a mismatch): expr_check() returns 0 or ERR_PARSE;
 * expr_eval_bool() returns 0, ERR_PARSE or ERR_INVAL, and ERR_PARSE exactly
 * when expr_check() failed; failures write a non-empty NUL-terminated
 * message; aval_from_json() returns 0 or ERR_INVAL; aval_format() output
 * fits the requested size.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analysis/expr.h"
#include "analysis/value.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_expr: check failed: %s\n", what);
	abort();
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

/* [0.01, NaN, +Inf, -Inf, [1, [2, 3]], "degraded", null, true, []] */
static void fixed_result(struct aval *v)
{
	static const double nums[] = {0.01, NAN, INFINITY, -INFINITY};
	struct aval *inner;
	size_t i;

	aval_list(v, 9);
	for (i = 0; i < 4; i++)
		aval_number(&v->items[i], nums[i]);
	aval_list(&v->items[4], 2);
	aval_number(&v->items[4].items[0], 1);
	inner = &v->items[4].items[1];
	aval_list(inner, 2);
	aval_number(&inner->items[0], 2);
	aval_number(&inner->items[1], 3);
	v->items[5].kind = AVAL_STRING;
	v->items[5].str = copy_string((const uint8_t *)"degraded", 8);
	v->items[7].kind = AVAL_BOOL;
	v->items[7].b = true;
	aval_list(&v->items[8], 0);
}

static void result_build(const uint8_t *p, size_t n, struct aval *v)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)p, n, JSON_DECODE_ANY, &jerr);
	char err[256];
	int rc;

	memset(v, 0, sizeof(*v));
	if (j) {
		memset(err, 'x', sizeof(err));
		rc = aval_from_json(j, v, err, sizeof(err));
		json_decref(j);
		check(rc == 0 || rc == ERR_INVAL, "aval_from_json codes");
		if (rc == 0)
			return;
		check(memchr(err, '\0', sizeof(err)) != NULL && err[0],
		      "aval_from_json message");
	}
	fixed_result(v);
}

static void check_message(const char *err, size_t errlen)
{
	check(memchr(err, '\0', errlen) != NULL, "message NUL-terminated");
	check(err[0] != '\0', "message is never empty");
}

static void check_format(const struct aval *v, size_t max)
{
	char *s = aval_format(v, max);

	check(s != NULL, "aval_format never NULL");
	check(strlen(s) < (max < 16 ? 16 : max), "aval_format fits max");
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t elen = nl ? (size_t)(nl - data) : size;
	char *src = copy_string(data, elen);
	struct aval result;
	char err[256];
	bool out = false;
	int crc, rc;

	if (nl)
		result_build(nl + 1, size - elen - 1, &result);
	else
		fixed_result(&result);
	memset(err, 'x', sizeof(err));
	crc = expr_check(src, err, sizeof(err));
	check(crc == 0 || crc == ERR_PARSE, "expr_check codes");
	if (crc)
		check_message(err, sizeof(err));
	memset(err, 'x', sizeof(err));
	rc = expr_eval_bool(src, &result, &out, err, sizeof(err));
	check(rc == 0 || rc == ERR_PARSE || rc == ERR_INVAL,
	      "expr_eval_bool codes");
	check((rc == ERR_PARSE) == (crc == ERR_PARSE),
	      "eval fails to parse exactly when check does");
	if (rc)
		check_message(err, sizeof(err));
	/* a tiny buffer is never overrun */
	(void)expr_eval_bool(src, &result, &out, err, 4);
	check_format(&result, size % 80);
	check_format(&result, 4096);
	aval_clear(&result);
	free(src);
	return 0;
}

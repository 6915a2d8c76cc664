/*
 * test_expr: the analysis condition language (analysis/expr.h) and result
 * values (analysis/value.h): every operator and function, precedence,
 * short-circuit, default(), all()/any() with `it`, every error class with
 * its message, aval_from_json shapes and limits, aval_format.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analysis/expr.h"
#include "analysis/value.h"
#include "util/alloc.h"
#include "util/err.h"

/* ---- results the cases evaluate against ---- */

enum rid {
	R_NUM,	   /* 0.01 */
	R_VEC,	   /* [0.01, 0.2, 0.03] */
	R_EMPTY,   /* [] */
	R_NAN,	   /* NaN */
	R_PINF,	   /* +Inf */
	R_NINF,	   /* -Inf */
	R_MAT,	   /* [[1, 2], [3, 4]] */
	R_STR,	   /* "degraded" */
	R_ONE,	   /* [0.5] */
	R_NULL,	   /* null */
	R_VNAN,	   /* [0.01, NaN] */
	R_MIXED,   /* [1, "a", true] */
	R_TRUE,	   /* true */
	R_LONGSTR, /* "xxxx...x" (200 bytes) */
	R_COUNT,
};

/* Builds result r from JSON (also exercising aval_from_json). */
static void result_make(enum rid r, struct aval *v)
{
	static const char *const json[R_COUNT] = {
		[R_NUM] = "0.01",	  [R_VEC] = "[0.01, 0.2, 0.03]",
		[R_EMPTY] = "[]",	  [R_MAT] = "[[1, 2], [3, 4]]",
		[R_STR] = "\"degraded\"", [R_ONE] = "[0.5]",
		[R_NULL] = "null",	  [R_MIXED] = "[1, \"a\", true]",
		[R_TRUE] = "true",
	};
	char err[256] = "";
	json_t *j;
	char *s;

	switch (r) {
	case R_NAN:
		aval_number(v, NAN);
		return;
	case R_PINF:
		aval_number(v, INFINITY);
		return;
	case R_NINF:
		aval_number(v, -INFINITY);
		return;
	case R_VNAN:
		aval_list(v, 2);
		aval_number(&v->items[0], 0.01);
		aval_number(&v->items[1], NAN);
		return;
	case R_LONGSTR:
		s = xmalloc(201);
		memset(s, 'x', 200);
		s[200] = '\0';
		memset(v, 0, sizeof(*v));
		v->kind = AVAL_STRING;
		v->str = s;
		return;
	default:
		break;
	}
	j = json_loads(json[r], JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	assert_int_equal(aval_from_json(j, v, err, sizeof(err)), 0);
	json_decref(j);
}

/* The results every case table evaluates against (group state). */
static struct aval results[R_COUNT];

static int results_setup(void **state)
{
	size_t i;

	for (i = 0; i < R_COUNT; i++)
		result_make((enum rid)i, &results[i]);
	return 0;
}

static int results_teardown(void **state)
{
	size_t i;

	for (i = 0; i < R_COUNT; i++)
		aval_clear(&results[i]);
	return 0;
}

/* ---- successful evaluations ---- */

struct ok_case {
	const char *src;
	enum rid r;
	bool want;
};

static const struct ok_case ok_cases[] = {
	/* comparisons on a scalar */
	{"result < 0.05", R_NUM, true},
	{"result > 0.05", R_NUM, false},
	{"result <= 0.01", R_NUM, true},
	{"result >= 0.02", R_NUM, false},
	{"result == 0.01", R_NUM, true},
	{"result != 0.01", R_NUM, false},
	{"result\n<\t1", R_NUM, true},
	{"true", R_NUM, true},
	{"false", R_NUM, false},
	{"result", R_TRUE, true},
	{"result == true", R_TRUE, true},
	{"result != false", R_TRUE, true},
	/* number literals */
	{".5 == 0.5", R_NUM, true},
	{"1e-3 == 0.001", R_NUM, true},
	{"2E2 == 200", R_NUM, true},
	{"1.5e+1 == 15", R_NUM, true},
	/* indexing, negative from the end, nested */
	{"result[0] >= 0.01", R_VEC, true},
	{"result[-1] == 0.03", R_VEC, true},
	{"result[-3] == 0.01", R_VEC, true},
	{"result[1 + 1] == 0.03", R_VEC, true},
	{"result[1][0] == 3", R_MAT, true},
	{"result[-1][-1] == 4", R_MAT, true},
	{"result[0] == 0.5", R_ONE, true},
	/* arithmetic and precedence */
	{"1 + 2 * 3 == 7", R_NUM, true},
	{"(1 + 2) * 3 == 9", R_NUM, true},
	{"10 - 4 - 3 == 3", R_NUM, true},
	{"8 / 4 / 2 == 1", R_NUM, true},
	{"7 % 4 == 3", R_NUM, true},
	{"-7 % 4 == -3", R_NUM, true},
	{"-2 * -3 == 6", R_NUM, true},
	{"2 + -1 == 1", R_NUM, true},
	{"-result == -0.01", R_NUM, true},
	{"1 + 1 < 3 == true", R_NUM, true},
	{"(result[0] - result[1]) / result[1] < 0.1", R_VEC, true},
	{"(result[1] - result[0]) / result[0] < 0.1", R_VEC, false},
	/* logic and its precedence */
	{"true || false && false", R_NUM, true},
	{"(true || false) && false", R_NUM, false},
	{"false && true || true", R_NUM, true},
	{"!false == true", R_NUM, true},
	{"!!true", R_NUM, true},
	{"not (result > 1) and result < 1 or false", R_NUM, true},
	{"not true or not true", R_NUM, false},
	/* short circuit keeps NaN and errors out */
	{"isNaN(result) || result < 0.05", R_NAN, true},
	{"isNaN(result) || result < 0.05", R_NUM, true},
	{"!isNaN(result) && result < 0.05", R_NAN, false},
	{"false && result[7] < 1", R_VEC, false},
	{"true || 1 / 0 > 1", R_NUM, true},
	/* strings */
	{"!(result == \"degraded\")", R_STR, false},
	{"result == 'degraded'", R_STR, true},
	{"result != \"ok\"", R_STR, true},
	{"'a' < 'b'", R_NUM, true},
	{"'it\\'s' == \"it's\"", R_NUM, true},
	{"len('a\\nb') == 3", R_NUM, true},
	/* functions */
	{"len(result) == 3", R_VEC, true},
	{"len(result) == 0", R_EMPTY, true},
	{"len(result[0]) == 2", R_MAT, true},
	{"len(result) == 1", R_ONE, true},
	{"len(result) == 8", R_STR, true},
	{"isNaN(result)", R_NAN, true},
	{"isNaN(result)", R_NUM, false},
	{"isInf(result)", R_PINF, true},
	{"isInf(result)", R_NINF, true},
	{"isInf(result)", R_NUM, false},
	{"isNaN(result[1])", R_VNAN, true},
	{"abs(-3) == 3", R_NUM, true},
	{"abs(result - 0.02) == 0.01", R_NUM, true},
	{"min(result) == 0.01", R_VEC, true},
	{"max(result) == 0.2", R_VEC, true},
	{"abs(sum(result) - 0.24) < 1e-9", R_VEC, true},
	{"abs(avg(result) - 0.08) < 1e-9", R_VEC, true},
	{"sum(result[1]) == 7", R_MAT, true},
	/* default() */
	{"default(result[0], 0) < 0.05", R_EMPTY, true},
	{"default(result[0], 1) < 0.05", R_EMPTY, false},
	{"default(result[0], 1) < 0.05", R_VEC, true},
	{"default(result, 0) == 0", R_NAN, true},
	{"default(result, 0) == 0", R_NULL, true},
	{"default(result, 7) == 0.01", R_NUM, true},
	{"default(result[5], 1) == 1", R_VEC, true},
	{"default(1 / 0, 2) == 2", R_NUM, true},
	{"len(default(result, result)) == 0", R_EMPTY, true},
	{"default(result[1], 0) == 0", R_VNAN, true},
	/* all() and any() with `it` */
	{"len(result) > 0 && all(result, it < 0.05)", R_VEC, false},
	{"len(result) > 0 && all(result, it < 0.05)", R_EMPTY, false},
	{"all(result, it < 0.5)", R_VEC, true},
	{"any(result, it > 0.1)", R_VEC, true},
	{"any(result, it > 1)", R_VEC, false},
	{"all(result, it > 1)", R_EMPTY, true},
	{"any(result, it > 1)", R_EMPTY, false},
	{"all(result, all(it, it > 0))", R_MAT, true},
	{"any(result, any(it, it == 4))", R_MAT, true},
	{"all(result, len(it) == 2 && it[0] < it[1])", R_MAT, true},
	{"any(result, isNaN(it))", R_VNAN, true},
	{"any(result, it < 0.05)", R_VNAN, true}, /* stops before NaN */
	{"all(result, !isNaN(it) && it < 1)", R_VNAN, false},
};

static void test_ok_cases(void **state)
{
	char err[256];
	size_t i;
	bool got;
	int rc;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *t = &ok_cases[i];

		got = !t->want;
		snprintf(err, sizeof(err), "stale");
		rc = expr_eval_bool(t->src, &results[t->r], &got, err,
				    sizeof(err));
		if (rc != 0)
			fail_msg("'%s': %s: %s", t->src, err_name(rc), err);
		if (got != t->want)
			fail_msg("'%s': got %d, want %d", t->src, got, t->want);
		assert_string_equal(err, "");
		assert_int_equal(expr_check(t->src, NULL, 0), 0);
	}
}

/* ---- failures ---- */

struct err_case {
	const char *src;
	enum rid r;
	int rc;
	const char *msg; /* "=..." exact, otherwise a substring */
};

static const struct err_case err_cases[] = {
	/* syntax, with the column */
	{"result <", R_NUM, ERR_PARSE,
	 "=column 9: expected a value, found the end of the input"},
	{"(result < 1", R_NUM, ERR_PARSE,
	 "=column 12: expected ')', found the end of the input"},
	{"result[0 < 1", R_VEC, ERR_PARSE, "column 13: expected ']'"},
	{"len(result", R_VEC, ERR_PARSE,
	 "column 11: len() takes 1 argument: expected ')'"},
	{"len(result, 1) > 0", R_VEC, ERR_PARSE,
	 "=column 11: len() takes 1 argument: expected ')', found ','"},
	{"default(result) < 1", R_NUM, ERR_PARSE,
	 "column 15: default() takes 2 arguments: expected ','"},
	{"len > 1", R_NUM, ERR_PARSE, "column 5: expected '(' after len"},
	{"foo > 1", R_NUM, ERR_PARSE,
	 "column 1: unknown name 'foo' (expected result"},
	{"it > 1", R_NUM, ERR_PARSE,
	 "column 1: 'it' is only defined inside the predicate"},
	{"all(it, it > 0)", R_VEC, ERR_PARSE, "column 5: 'it' is only"},
	{"result = 1", R_NUM, ERR_PARSE,
	 "=column 8: '=' is not an operator; use '=='"},
	{"result & true", R_NUM, ERR_PARSE, "column 8: '&' is not"},
	{"result | true", R_NUM, ERR_PARSE, "column 8: '|' is not"},
	{"result # 1", R_NUM, ERR_PARSE, "=column 8: unexpected character '#'"},
	{"result \x01", R_NUM, ERR_PARSE, "=column 8: unexpected byte 0x01"},
	{"\"abc", R_NUM, ERR_PARSE, "=column 1: unterminated string"},
	{"'a\\q' == 'a'", R_NUM, ERR_PARSE, "column 3: unknown escape"},
	{"1.5.2 == 1", R_NUM, ERR_PARSE, "column 1: malformed number"},
	{"1e == 1", R_NUM, ERR_PARSE, "column 1: malformed number"},
	{"12abc == 1", R_NUM, ERR_PARSE, "column 1: malformed number"},
	{"1e999 > 0", R_NUM, ERR_PARSE, "column 1: number out of range"},
	{"", R_NUM, ERR_PARSE, "=empty condition"},
	{" \n\t", R_NUM, ERR_PARSE, "=empty condition"},
	{"result 1", R_NUM, ERR_PARSE,
	 "=column 8: expected an operator or the end, found '1'"},
	{"result(1)", R_NUM, ERR_PARSE, "column 7: expected an operator"},
	{"result < )", R_NUM, ERR_PARSE, "column 10: expected a value"},
	/* NaN and infinities */
	{"result < 0.05", R_NAN, ERR_INVAL, "=result is NaN"},
	{"result == 0.05", R_NAN, ERR_INVAL, "=result is NaN"},
	{"0.05 > result", R_PINF, ERR_INVAL, "=result is +Inf"},
	{"result < 0.05", R_NINF, ERR_INVAL, "=result is -Inf"},
	{"result + 1 > 0", R_NAN, ERR_INVAL, "=result is NaN"},
	{"-result > 0", R_PINF, ERR_INVAL, "=result is +Inf"},
	{"abs(result) > 0", R_NAN, ERR_INVAL, "=result is NaN"},
	{"result[1] * 2 > 0", R_VNAN, ERR_INVAL, "=result[1] is NaN"},
	{"all(result, it < 0.05)", R_VNAN, ERR_INVAL, "=it (item 1) is NaN"},
	{"max(result) > 0", R_VNAN, ERR_INVAL, "=item 1 of result is NaN"},
	/* empty lists and indexes */
	{"result[0] < 1", R_EMPTY, ERR_INVAL,
	 "=index 0 out of range: the list is empty"},
	{"result[3] < 1", R_VEC, ERR_INVAL,
	 "=index 3 out of range: the list has 3 items"},
	{"result[-2] < 1", R_ONE, ERR_INVAL,
	 "=index -2 out of range: the list has 1 item"},
	{"result[0.5] < 1", R_VEC, ERR_INVAL,
	 "=index 0.5 is not a whole number"},
	{"result[result[1]] < 1", R_VNAN, ERR_INVAL, "=result[1] is NaN"},
	{"min(result) > 0", R_EMPTY, ERR_INVAL,
	 "=result is an empty list; min() needs at least one number"},
	{"default(result[0], result[0]) < 1", R_EMPTY, ERR_INVAL,
	 "index 0 out of range"},
	/* type mismatches */
	{"result[0] < 1", R_NUM, ERR_INVAL,
	 "=result is a number, not a list: cannot index it"},
	{"result < 1", R_VEC, ERR_INVAL,
	 "=cannot compare a list with a number using '<'"},
	{"result == 0.5", R_ONE, ERR_INVAL,
	 "=cannot compare a list with a number using '=='"},
	{"result == 'x'", R_NUM, ERR_INVAL,
	 "=cannot compare a number with a string using '=='"},
	{"true < false", R_NUM, ERR_INVAL,
	 "=cannot compare a boolean with a boolean using '<'"},
	{"result < 1", R_NULL, ERR_INVAL,
	 "=cannot compare null with a number using '<'"},
	{"default(result, 0) < 1", R_VEC, ERR_INVAL,
	 "cannot compare a list with a number"},
	{"result + 1 > 0", R_VEC, ERR_INVAL, "=result is a list, not a number"},
	{"'a' * 2 > 0", R_NUM, ERR_INVAL, "='a' is a string, not a number"},
	{"result && true", R_NUM, ERR_INVAL,
	 "=result is a number, not true or false"},
	{"!result", R_NUM, ERR_INVAL, "=result is a number, not true or false"},
	{"isNaN(result)", R_VEC, ERR_INVAL,
	 "=result is a list; isNaN() needs a number"},
	{"isInf(result)", R_STR, ERR_INVAL, "isInf() needs a number"},
	{"len(result) > 0", R_NUM, ERR_INVAL,
	 "=result is a number; len() needs a list or a string"},
	{"avg(result) > 0", R_NUM, ERR_INVAL,
	 "=result is a number; avg() needs a list"},
	{"sum(result) > 0", R_MIXED, ERR_INVAL,
	 "=item 1 of result is a string, not a number"},
	{"min(result) > 0", R_MAT, ERR_INVAL,
	 "=item 0 of result is a list, not a number"},
	{"all(result, it)", R_VEC, ERR_INVAL,
	 "=it (item 0) is a number, not true or false"},
	{"any(result, it > 0)", R_NUM, ERR_INVAL,
	 "=result is a number; any() needs a list"},
	/* arithmetic */
	{"1 / 0 > 1", R_NUM, ERR_INVAL, "=division by zero"},
	{"5 % 0 == 0", R_NUM, ERR_INVAL, "=division by zero"},
	{"1 / (result - 0.01) > 1", R_NUM, ERR_INVAL,
	 "=division by zero: (result - 0.01) is 0"},
	{"1e308 * 10 > 0", R_NUM, ERR_INVAL, "=1e308 * 10 overflows"},
	/* the final value must be a boolean */
	{"result", R_NUM, ERR_INVAL,
	 "=the condition gives a number (0.01), not true or false"},
	{"result", R_VEC, ERR_INVAL,
	 "=the condition gives a list ([0.01, 0.2, 0.03]), not true or false"},
	{"result", R_NULL, ERR_INVAL,
	 "=the condition gives null (null), not true or false"},
	{"result", R_STR, ERR_INVAL,
	 "=the condition gives a string (\"degraded\"), not true or false"},
	{"default(result, 1)", R_EMPTY, ERR_INVAL, "gives a number (1)"},
};

static void check_message(const struct err_case *t, const char *err)
{
	if (t->msg[0] == '=') {
		if (strcmp(err, t->msg + 1) != 0)
			fail_msg("'%s': message '%s', want '%s'", t->src, err,
				 t->msg + 1);
	} else if (!strstr(err, t->msg)) {
		fail_msg("'%s': message '%s' lacks '%s'", t->src, err, t->msg);
	}
}

static void test_err_cases(void **state)
{
	char err[256];
	size_t i;
	bool got;
	int rc;

	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *t = &err_cases[i];

		err[0] = '\0';
		rc = expr_eval_bool(t->src, &results[t->r], &got, err,
				    sizeof(err));
		if (rc != t->rc)
			fail_msg("'%s': rc %s (%s), want %s", t->src,
				 err_name(rc), err, err_name(t->rc));
		check_message(t, err);
		/* expr_check agrees on syntax and gives the same message. */
		err[0] = '\0';
		rc = expr_check(t->src, err, sizeof(err));
		if (t->rc == ERR_PARSE) {
			assert_int_equal(rc, ERR_PARSE);
			check_message(t, err);
		} else {
			assert_int_equal(rc, 0);
		}
	}
}

/* ---- limits ---- */

static char *repeat(const char *head, const char *unit, size_t n,
		    const char *tail)
{
	size_t ul = strlen(unit), hl = strlen(head), tl = strlen(tail), i;
	char *s = xmalloc(hl + ul * n + tl + 1);

	memcpy(s, head, hl);
	for (i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + n * ul, tail, tl + 1);
	return s;
}

static void expect_parse(const char *src, int want, const char *msg)
{
	char err[256] = "";
	int rc = expr_check(src, err, sizeof(err));

	assert_int_equal(rc, want);
	if (msg)
		assert_non_null(strstr(err, msg));
}

static void test_limits(void **state)
{
	char *s, *open, *close;
	struct aval r;
	char err[256];
	bool got = false;

	/* nesting: parentheses, unary operators, calls */
	open = repeat("", "(", 60, "true");
	s = repeat(open, ")", 60, "");
	expect_parse(s, 0, NULL);
	free(s);
	free(open);
	open = repeat("", "(", 70, "true");
	s = repeat(open, ")", 70, "");
	expect_parse(s, ERR_PARSE, "nested more than 64 levels deep");
	free(s);
	free(open);
	s = repeat("", "!", 70, "true");
	expect_parse(s, ERR_PARSE, "nested more than 64 levels deep");
	free(s);
	s = repeat("", "abs(", 70, "1");
	close = repeat(s, ")", 70, " > 0");
	expect_parse(close, ERR_PARSE, "nested more than 64 levels deep");
	free(close);
	free(s);
	/* long operator chains are bounded too, and evaluate when short */
	s = repeat("1", " + 1", 300, " > 0");
	expect_parse(s, ERR_PARSE, "nested too deeply");
	free(s);
	s = repeat("0", " + 1", 200, " == 200");
	aval_number(&r, 0);
	assert_int_equal(expr_eval_bool(s, &r, &got, err, sizeof(err)), 0);
	assert_true(got);
	free(s);
	/* input length */
	s = repeat("", " ", 4093, "true");
	expect_parse(s, ERR_PARSE, "condition longer than 4096 bytes");
	free(s);
	s = repeat("", " ", 4092, "true");
	expect_parse(s, 0, NULL);
	free(s);
	/* NULL inputs */
	assert_int_equal(expr_check(NULL, err, sizeof(err)), ERR_PARSE);
	assert_int_equal(expr_eval_bool("result < 1", NULL, &got, NULL, 0),
			 ERR_INVAL);
	assert_int_equal(expr_eval_bool("len(", NULL, &got, NULL, 0),
			 ERR_PARSE);
}

/* Messages carry at most 64 bytes of a string value. */
static void test_message_bounds(void **state)
{
	struct aval r;
	char err[512];
	bool got;

	result_make(R_LONGSTR, &r);
	assert_int_equal(expr_eval_bool("result", &r, &got, err, sizeof(err)),
			 ERR_INVAL);
	assert_non_null(strstr(err, "the condition gives a string (\"xxx"));
	assert_non_null(strstr(err, "...), not true or false"));
	assert_null(strstr(err, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxx"));
	/* a small buffer is cut, never overrun */
	assert_int_equal(expr_eval_bool("result < 1", &r, &got, err, 8),
			 ERR_INVAL);
	assert_int_equal(strlen(err), 7);
	aval_clear(&r);
}

/* ---- value.h ---- */

struct fmt_case {
	const char *json; /* NULL: use num */
	double num;
	size_t max;
	const char *want;
};

static const struct fmt_case fmt_cases[] = {
	{NULL, 0.0091, 64, "0.0091"},
	{NULL, 3, 64, "3"},
	{NULL, 0.1 + 0.2, 64, "0.3"},
	{NULL, 1234567, 64, "1.23457e+06"},
	{NULL, -0.0, 64, "0"},
	{NULL, NAN, 64, "NaN"},
	{NULL, INFINITY, 64, "+Inf"},
	{NULL, -INFINITY, 64, "-Inf"},
	{"[0.01, 0.2]", 0, 64, "[0.01, 0.2]"},
	{"[[1, 2], [3]]", 0, 64, "[[1, 2], [3]]"},
	{"[]", 0, 64, "[]"},
	{"[true, false, null]", 0, 64, "[true, false, null]"},
	{"\"a\\\"b\\n\\u0001\"", 0, 64, "\"a\\\"b\\n\\u0001\""},
	{"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", 0, 16, "[1, 2, 3, 4,..."},
	{"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", 0, 2, "[1, 2, 3, 4,..."},
	{"[1, 2, 3, 4, 5, 6]", 0, 19, "[1, 2, 3, 4, 5, 6]"},
	{"[1, 2, 3, 4, 5, 6, 7]", 0, 22, "[1, 2, 3, 4, 5, 6, 7]"},
	{"[1, 2, 3, 4, 5, 6, 7]", 0, 20, "[1, 2, 3, 4, 5, ..."},
	/* never cut inside a UTF-8 sequence: é is 2 bytes */
	{"\"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\"", 0, 16,
	 "\"\u00e9\u00e9\u00e9\u00e9\u00e9..."},
};

static void test_format(void **state)
{
	struct aval v;
	char err[128];
	json_t *j;
	char *s;
	size_t i;

	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		const struct fmt_case *t = &fmt_cases[i];

		if (t->json) {
			j = json_loads(t->json, JSON_DECODE_ANY, NULL);
			assert_non_null(j);
			assert_int_equal(
				aval_from_json(j, &v, err, sizeof(err)), 0);
			json_decref(j);
		} else {
			aval_number(&v, t->num);
		}
		s = aval_format(&v, t->max);
		if (strcmp(s, t->want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, s,
				 t->want);
		assert_true(strlen(s) < (t->max < 16 ? 16 : t->max));
		free(s);
		aval_clear(&v);
	}
}

/* A big matrix formats in bounded output and stops early. */
static void test_format_big(void **state)
{
	struct aval v;
	size_t i, k;
	char *s;

	aval_list(&v, 1000);
	for (i = 0; i < v.n; i++) {
		aval_list(&v.items[i], 100);
		for (k = 0; k < 100; k++)
			aval_number(&v.items[i].items[k], (double)k / 7);
	}
	s = aval_format(&v, 256);
	assert_int_equal(strlen(s), 255);
	assert_memory_equal(s, "[[0, 0.142857, 0.285714, ", 25);
	assert_string_equal(s + 252, "...");
	free(s);
	aval_clear(&v);
}

struct json_case {
	const char *json;
	const char *msg; /* NULL: accepted */
};

static const struct json_case json_cases[] = {
	{"{}", "an object, not a number or list"},
	{"[1, {\"a\": 1}]", "item [1] is an object, not a number or list"},
	{"[[1], [2, {}]]", "item [1][1] is an object, not a number or list"},
	{"[[[[[[[[1]]]]]]]]", NULL},
	{"[[[[[[[[[1]]]]]]]]]", "lists nested more than 8 levels deep"},
	{"\"s\"", NULL},
	{"null", NULL},
};

static void test_from_json(void **state)
{
	struct aval v, sentinel;
	char err[128];
	json_t *j;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		const struct json_case *t = &json_cases[i];

		j = json_loads(t->json, JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		aval_number(&v, 42);
		sentinel = v;
		err[0] = '\0';
		rc = aval_from_json(j, &v, err, sizeof(err));
		json_decref(j);
		if (!t->msg) {
			assert_int_equal(rc, 0);
			aval_clear(&v);
			continue;
		}
		assert_int_equal(rc, ERR_INVAL);
		assert_string_equal(err, t->msg);
		/* *out is untouched on failure */
		assert_memory_equal(&v, &sentinel, sizeof(v));
	}
	assert_int_equal(aval_from_json(NULL, &v, NULL, 0), ERR_INVAL);
}

static void test_from_json_shapes(void **state)
{
	json_t *j = json_loads("[1, [2, 3.5], true, \"s\", null, 7]",
			       JSON_DECODE_ANY, NULL);
	struct aval v, copy;
	char err[64];

	assert_int_equal(aval_from_json(j, &v, err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(v.kind, AVAL_LIST);
	assert_int_equal(v.n, 6);
	assert_int_equal(v.items[0].kind, AVAL_NUMBER);
	assert_true(v.items[0].num == 1);
	assert_int_equal(v.items[1].kind, AVAL_LIST);
	assert_int_equal(v.items[1].n, 2);
	assert_true(v.items[1].items[1].num == 3.5);
	assert_int_equal(v.items[2].kind, AVAL_BOOL);
	assert_true(v.items[2].b);
	assert_int_equal(v.items[3].kind, AVAL_STRING);
	assert_string_equal(v.items[3].str, "s");
	assert_int_equal(v.items[4].kind, AVAL_NULL);
	assert_true(v.items[5].num == 7);
	/* a deep copy outlives the original */
	aval_copy(&copy, &v);
	aval_clear(&v);
	assert_int_equal(v.kind, AVAL_NULL);
	assert_int_equal(copy.n, 6);
	assert_string_equal(copy.items[3].str, "s");
	assert_true(copy.items[1].items[0].num == 2);
	aval_clear(&copy);
	aval_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_cases),
		cmocka_unit_test(test_err_cases),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_message_bounds),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_big),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_from_json_shapes),
	};

	return cmocka_run_group_tests(tests, results_setup, results_teardown);
}

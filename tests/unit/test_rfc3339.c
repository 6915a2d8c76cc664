/*
 * Unit tests for util/rfc3339: Kubernetes timestamps with and without a
 * fraction or an offset, the malformed ones the API never produces, and
 * formatting back (including before 1970).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/err.h"
#include "util/rfc3339.h"

static void test_parse_forms(void **state)
{
	double t = -1;

	(void)state;
	assert_int_equal(rfc3339_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_true(t == 0);
	assert_int_equal(rfc3339_parse("2026-11-27T13:00:00Z", &t), 0);
	assert_true(t == 1795784400);
	assert_int_equal(rfc3339_parse("2026-11-27T13:00:00.250000Z", &t), 0);
	assert_true(t == 1795784400.25);
	assert_int_equal(rfc3339_parse("2026-11-27T14:30:00+01:30", &t), 0);
	assert_true(t == 1795784400);
	assert_int_equal(rfc3339_parse("2024-02-29T23:59:59Z", &t), 0);
	assert_true(t == 1709251199);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"2026-11-27",
		"2026-11-27 13:00:00Z",
		"2026-11-27T13:00:00",
		"2026-13-01T00:00:00Z",
		"2026-11-27T24:00:00Z",
		"2026-11-27T13:00:00Zjunk",
		"26-11-27T13:00:00Z",
	};
	double t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rfc3339_parse(bad[i], &t), ERR_PARSE);
		assert_true(t == 42);
	}
	assert_int_equal(rfc3339_parse(NULL, &t), ERR_PARSE);
}

static void test_format(void **state)
{
	char out[32];
	double t;

	(void)state;
	rfc3339_format(1795784400.9, out, sizeof(out));
	assert_string_equal(out, "2026-11-27T13:00:00Z");
	rfc3339_format(-0.5, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:59Z");
	assert_int_equal(rfc3339_parse(out, &t), 0);
	assert_true(t == -1);
	rfc3339_format(0, out, 10);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for pkg/json/merge_patch: every example of RFC 7386 appendix A
 * and section 3, input immutability, and merge_patch_diff round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "json/merge_patch.h"

static json_t *parse(const char *text)
{
	json_error_t error;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &error);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, error.text);
	return v;
}

/* Fails with both texts when `got` is not equal to the JSON `want`. */
static void assert_json(json_t *got, const char *want)
{
	json_t *w = parse(want);

	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);

		fail_msg("got %s, want %s", g ? g : "NULL", want);
	}
	json_decref(w);
}

struct rfc_case {
	const char *target;
	const char *patch;
	const char *result;
};

/* RFC 7386 appendix A, in order. */
static const struct rfc_case appendix_a[] = {
	{"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	{"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
	{"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
	{"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
	{"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	{"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
	{"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
	 "{\"a\":{\"b\":\"d\"}}"},
	{"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
	{"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
	{"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
	{"{\"a\":\"foo\"}", "null", "null"},
	{"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
	{"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
	{"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
	{"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
	/* Section 3's worked example. */
	{"{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\","
	 "\"familyName\":\"Doe\"},\"tags\":[\"example\",\"sample\"],"
	 "\"content\":\"This will be unchanged\"}",
	 "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
	 "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
	 "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},"
	 "\"tags\":[\"example\"],\"content\":\"This will be unchanged\","
	 "\"phoneNumber\":\"+01-123-456-7890\"}"},
};

static void test_rfc7386_appendix_a(void **state)
{
	for (size_t i = 0; i < sizeof(appendix_a) / sizeof(appendix_a[0]);
	     i++) {
		json_t *target = parse(appendix_a[i].target);
		json_t *patch = parse(appendix_a[i].patch);
		char *before = json_dumps(target, JSON_ENCODE_ANY);
		char *after;
		json_t *got = merge_patch_apply(target, patch);

		assert_json(got, appendix_a[i].result);
		/* The target is untouched and shares nothing with the result.
		 */
		after = json_dumps(target, JSON_ENCODE_ANY);
		assert_string_equal(before, after);
		free(before);
		free(after);
		json_decref(target);
		json_decref(patch);
		json_decref(got);
	}
}

static void test_apply_null_target(void **state)
{
	json_t *patch = parse("{\"a\":{\"b\":1,\"c\":null},\"d\":null}");
	json_t *got = merge_patch_apply(NULL, patch);

	assert_json(got, "{\"a\":{\"b\":1}}");
	json_decref(got);
	json_decref(patch);
	patch = json_string("x");
	got = merge_patch_apply(NULL, patch);
	assert_json(got, "\"x\"");
	json_decref(got);
	json_decref(patch);
}

/* Changing the result must never show through in the inputs. */
static void test_result_is_independent(void **state)
{
	json_t *target = parse("{\"keep\":{\"x\":[1,2]},\"m\":{\"y\":1}}");
	json_t *patch = parse("{\"m\":{\"z\":{\"deep\":true}},\"n\":[3]}");
	json_t *got = merge_patch_apply(target, patch);

	json_array_append_new(
		json_object_get(json_object_get(got, "keep"), "x"),
		json_integer(9));
	json_object_set_new(json_object_get(json_object_get(got, "m"), "z"),
			    "deep", json_false());
	json_array_clear(json_object_get(got, "n"));
	assert_json(target, "{\"keep\":{\"x\":[1,2]},\"m\":{\"y\":1}}");
	assert_json(patch, "{\"m\":{\"z\":{\"deep\":true}},\"n\":[3]}");
	json_decref(got);
	json_decref(target);
	json_decref(patch);
}

static void test_diff_shapes(void **state)
{
	json_t *from = parse("{\"a\":1,\"b\":{\"c\":2,\"d\":3,\"e\":[1]},"
			     "\"gone\":true,\"same\":{\"x\":1}}");
	json_t *to = parse("{\"a\":2,\"b\":{\"c\":2,\"e\":[1,2]},"
			   "\"new\":{\"k\":\"v\"},\"same\":{\"x\":1}}");
	json_t *diff = merge_patch_diff(from, to);

	assert_json(diff, "{\"a\":2,\"b\":{\"d\":null,\"e\":[1,2]},"
			  "\"gone\":null,\"new\":{\"k\":\"v\"}}");
	json_decref(diff);

	diff = merge_patch_diff(from, from);
	assert_json(diff, "{}");
	json_decref(diff);

	/* A type change or a non-object side carries `to` whole. */
	diff = merge_patch_diff(from, json_object_get(from, "gone"));
	assert_json(diff, "true");
	json_decref(diff);
	diff = merge_patch_diff(NULL, to);
	assert_json(diff, "{\"a\":2,\"b\":{\"c\":2,\"e\":[1,2]},"
			  "\"new\":{\"k\":\"v\"},\"same\":{\"x\":1}}");
	json_decref(diff);
	json_decref(from);
	json_decref(to);
}

/* apply(from, diff(from, to)) == to, for documents without null members. */
static void test_diff_round_trip(void **state)
{
	static const char *const docs[] = {
		"{}",
		"{\"metadata\":{\"name\":\"demo\",\"labels\":{\"app\":\"x\"}},"
		"\"spec\":{\"replicas\":3,\"steps\":[{\"setWeight\":20}]}}",
		"{\"metadata\":{\"name\":\"demo\",\"annotations\":{\"a\":\"1\"}"
		"},"
		"\"spec\":{\"replicas\":5,\"paused\":true}}",
		"{\"spec\":\"flattened\",\"status\":{\"phase\":\"Healthy\"}}",
	};
	size_t n = sizeof(docs) / sizeof(docs[0]);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			json_t *from = parse(docs[i]);
			json_t *to = parse(docs[j]);
			json_t *diff = merge_patch_diff(from, to);
			json_t *got = merge_patch_apply(from, diff);

			assert_json(got, docs[j]);
			json_decref(from);
			json_decref(to);
			json_decref(diff);
			json_decref(got);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7386_appendix_a),
		cmocka_unit_test(test_apply_null_target),
		cmocka_unit_test(test_result_is_independent),
		cmocka_unit_test(test_diff_shapes),
		cmocka_unit_test(test_diff_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

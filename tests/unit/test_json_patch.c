/*
 * Unit tests for pkg/json/json_patch: every example of RFC 6902 appendix A,
 * JSON pointer resolution (RFC 6901 section 5), value equality, atomicity,
 * and the error codes and evanphx/json-patch style messages that
 * kube-apiserver returns for patches that are malformed or do not apply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json/json_patch.h"
#include "util/err.h"

static json_t *parse(const char *text)
{
	json_error_t error;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			       &error);

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

struct patch_case {
	const char *name;
	const char *doc;
	const char *patch;
	int rc;		    /* expected return code */
	const char *result; /* expected document when rc == 0 */
	const char *msg;    /* expected exact message when rc != 0 */
};

/* Runs one case and checks the result, the message and that doc is kept. */
static void run_case(const struct patch_case *c)
{
	json_t *doc = parse(c->doc);
	json_t *patch = parse(c->patch);
	json_t *before = json_deep_copy(doc);
	json_t *out = (json_t *)1;
	char errbuf[256] = "";
	int rc = json_patch_apply(doc, patch, &out, errbuf, sizeof(errbuf));

	if (rc != c->rc)
		fail_msg("%s: rc %s (%s), want %s", c->name, err_name(rc),
			 errbuf, err_name(c->rc));
	if (rc == 0) {
		assert_json(out, c->result);
	} else {
		assert_null(out);
		if (strcmp(errbuf, c->msg) != 0)
			fail_msg("%s: message \"%s\", want \"%s\"", c->name,
				 errbuf, c->msg);
	}
	assert_true(json_equal(doc, before));
	json_decref(out);
	json_decref(before);
	json_decref(doc);
	json_decref(patch);
}

static void run_cases(const struct patch_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_case(&cases[i]);
}

/* RFC 6902 appendix A, A.1 to A.16 (A.13 has its own test below). */
static const struct patch_case appendix_a[] = {
	{"A.1 adding an object member", "{\"foo\":\"bar\"}",
	 "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]", 0,
	 "{\"baz\":\"qux\",\"foo\":\"bar\"}", NULL},
	{"A.2 adding an array element", "{\"foo\":[\"bar\",\"baz\"]}",
	 "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]", 0,
	 "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", NULL},
	{"A.3 removing an object member", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
	 "[{\"op\":\"remove\",\"path\":\"/baz\"}]", 0, "{\"foo\":\"bar\"}",
	 NULL},
	{"A.4 removing an array element", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
	 "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", 0,
	 "{\"foo\":[\"bar\",\"baz\"]}", NULL},
	{"A.5 replacing a value", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
	 "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]", 0,
	 "{\"baz\":\"boo\",\"foo\":\"bar\"}", NULL},
	{"A.6 moving a value",
	 "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},"
	 "\"qux\":{\"corge\":\"grault\"}}",
	 "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
	 0,
	 "{\"foo\":{\"bar\":\"baz\"},"
	 "\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}",
	 NULL},
	{"A.7 moving an array element",
	 "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
	 "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]", 0,
	 "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", NULL},
	{"A.8 testing a value: success",
	 "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
	 "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
	 "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
	 0, "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", NULL},
	{"A.9 testing a value: error", "{\"baz\":\"qux\"}",
	 "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", ERR_INVAL,
	 NULL, "testing value /baz failed: test failed"},
	{"A.10 adding a nested member object", "{\"foo\":\"bar\"}",
	 "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
	 0, "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}", NULL},
	{"A.11 ignoring unrecognized elements", "{\"foo\":\"bar\"}",
	 "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
	 0, "{\"foo\":\"bar\",\"baz\":\"qux\"}", NULL},
	{"A.12 adding to a nonexistent target", "{\"foo\":\"bar\"}",
	 "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
	 ERR_INVAL, NULL,
	 "add operation does not apply: doc is missing path: \"/baz/bat\": "
	 "missing value"},
	{"A.14 ~ escape ordering", "{\"/\":9,\"~1\":10}",
	 "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]", 0,
	 "{\"/\":9,\"~1\":10}", NULL},
	{"A.15 comparing strings and numbers", "{\"/\":9,\"~1\":10}",
	 "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", ERR_INVAL,
	 NULL, "testing value /~01 failed: test failed"},
	{"A.16 adding an array value", "{\"foo\":[\"bar\"]}",
	 "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
	 0, "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", NULL},
};

static void test_rfc6902_appendix_a(void **state)
{
	run_cases(appendix_a, sizeof(appendix_a) / sizeof(appendix_a[0]));
}

/*
 * A.13: a patch with a duplicate "op" member is invalid. It cannot reach
 * json_patch_apply as such: callers must parse bodies with
 * JSON_REJECT_DUPLICATES. Without that flag jansson keeps the last member,
 * as Go does, and the op is a remove.
 */
static void test_rfc6902_a13_duplicate_member(void **state)
{
	static const char text[] =
		"[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\","
		"\"op\":\"remove\"}]";
	json_error_t error;
	json_t *patch = json_loads(text, JSON_REJECT_DUPLICATES, &error);
	json_t *doc = parse("{\"baz\":1,\"foo\":\"bar\"}");
	json_t *out = NULL;

	assert_null(patch);
	patch = json_loads(text, 0, &error);
	assert_non_null(patch);
	assert_int_equal(json_patch_apply(doc, patch, &out, NULL, 0), 0);
	assert_json(out, "{\"foo\":\"bar\"}");
	json_decref(out);
	json_decref(patch);
	json_decref(doc);
}

/* Successful operations beyond the appendix. */
static const struct patch_case applies[] = {
	{"add replaces an existing member", "{\"a\":{\"b\":1}}",
	 "[{\"op\":\"add\",\"path\":\"/a\",\"value\":[1]}]", 0, "{\"a\":[1]}",
	 NULL},
	{"add at array end by index", "{\"a\":[1,2]}",
	 "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":3}]", 0,
	 "{\"a\":[1,2,3]}", NULL},
	{"add at array start", "{\"a\":[1,2]}",
	 "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0}]", 0,
	 "{\"a\":[0,1,2]}", NULL},
	{"add to the root replaces the document", "{\"a\":1}",
	 "[{\"op\":\"add\",\"path\":\"\",\"value\":[true]}]", 0, "[true]",
	 NULL},
	{"add the empty key", "{}",
	 "[{\"op\":\"add\",\"path\":\"/\",\"value\":1}]", 0, "{\"\":1}", NULL},
	{"add into a top-level array", "[1]",
	 "[{\"op\":\"add\",\"path\":\"/-\",\"value\":2}]", 0, "[1,2]", NULL},
	{"add with escaped keys", "{\"metadata\":{\"labels\":{}}}",
	 "[{\"op\":\"add\",\"path\":\"/metadata/labels/knit.dev~1track\","
	 "\"value\":\"canary\"},{\"op\":\"add\",\"path\":\"/metadata/labels/"
	 "a~0b\",\"value\":\"x\"}]",
	 0,
	 "{\"metadata\":{\"labels\":{\"knit.dev/track\":\"canary\","
	 "\"a~b\":\"x\"}}}",
	 NULL},
	{"add null value", "{}",
	 "[{\"op\":\"add\",\"path\":\"/a\",\"value\":null}]", 0, "{\"a\":null}",
	 NULL},
	{"replace in an array", "{\"spec\":{\"steps\":[1,2,3]}}",
	 "[{\"op\":\"replace\",\"path\":\"/spec/steps/"
	 "1\",\"value\":{\"x\":1}}]",
	 0, "{\"spec\":{\"steps\":[1,{\"x\":1},3]}}", NULL},
	{"replace the root", "{\"a\":1}",
	 "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]", 0,
	 "{\"b\":2}", NULL},
	{"replace a null member", "{\"a\":null}",
	 "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":1}]", 0, "{\"a\":1}",
	 NULL},
	{"remove the last array element", "{\"a\":[1,2]}",
	 "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", 0, "{\"a\":[1]}", NULL},
	{"move to append", "{\"a\":[1,2,3]}",
	 "[{\"op\":\"move\",\"from\":\"/a/0\",\"path\":\"/a/-\"}]", 0,
	 "{\"a\":[2,3,1]}", NULL},
	{"move onto itself is a no-op", "{\"a\":{\"b\":1}}",
	 "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", 0,
	 "{\"a\":{\"b\":1}}", NULL},
	{"move up a level", "{\"a\":{\"b\":{\"c\":1}}}",
	 "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/a\"}]", 0,
	 "{\"a\":{\"c\":1}}", NULL},
	{"copy is deep", "{\"a\":{\"b\":[1]}}",
	 "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"},"
	 "{\"op\":\"add\",\"path\":\"/c/b/-\",\"value\":2}]",
	 0, "{\"a\":{\"b\":[1]},\"c\":{\"b\":[1,2]}}", NULL},
	{"copy into an array", "{\"a\":[1,2],\"x\":9}",
	 "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/a/1\"}]", 0,
	 "{\"a\":[1,9,2],\"x\":9}", NULL},
	{"test numbers by value and objects unordered",
	 "{\"n\":1,\"o\":{\"a\":1,\"b\":[true,null]}}",
	 "[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.0},"
	 "{\"op\":\"test\",\"path\":\"/o\",\"value\":{\"b\":[true,null],"
	 "\"a\":1}},{\"op\":\"test\",\"path\":\"\",\"value\":{\"o\":{\"a\":1,"
	 "\"b\":[true,null]},\"n\":1}}]",
	 0, "{\"n\":1,\"o\":{\"a\":1,\"b\":[true,null]}}", NULL},
	{"later ops see earlier ones", "{\"spec\":{}}",
	 "[{\"op\":\"add\",\"path\":\"/spec/x\",\"value\":1},"
	 "{\"op\":\"test\",\"path\":\"/spec/x\",\"value\":1},"
	 "{\"op\":\"replace\",\"path\":\"/spec/x\",\"value\":2},"
	 "{\"op\":\"move\",\"from\":\"/spec/x\",\"path\":\"/y\"}]",
	 0, "{\"spec\":{},\"y\":2}", NULL},
	{"empty patch", "{\"a\":1}", "[]", 0, "{\"a\":1}", NULL},
};

static void test_operations_apply(void **state)
{
	run_cases(applies, sizeof(applies) / sizeof(applies[0]));
}

/* Operations that do not apply to the document: ERR_INVAL. */
static const struct patch_case not_applicable[] = {
	{"replace missing key", "{\"spec\":{}}",
	 "[{\"op\":\"replace\",\"path\":\"/spec/x\",\"value\":1}]", ERR_INVAL,
	 NULL,
	 "replace operation does not apply: doc is missing key: /spec/x: "
	 "missing value"},
	{"replace missing parent", "{}",
	 "[{\"op\":\"replace\",\"path\":\"/spec/x\",\"value\":1}]", ERR_INVAL,
	 NULL,
	 "replace operation does not apply: doc is missing path: /spec/x: "
	 "missing value"},
	{"replace index out of range", "{\"a\":[1]}",
	 "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":1}]", ERR_INVAL,
	 NULL,
	 "replace operation does not apply: doc is missing key: /a/1: "
	 "missing value"},
	{"remove missing key", "{\"spec\":{}}",
	 "[{\"op\":\"remove\",\"path\":\"/spec/x\"}]", ERR_INVAL, NULL,
	 "error in remove for path: '/spec/x': Unable to remove nonexistent "
	 "key: x: missing value"},
	{"remove missing parent", "{}",
	 "[{\"op\":\"remove\",\"path\":\"/spec/x\"}]", ERR_INVAL, NULL,
	 "remove operation does not apply: doc is missing path: \"/spec/x\": "
	 "missing value"},
	{"remove index out of range", "{\"a\":[1]}",
	 "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", ERR_INVAL, NULL,
	 "error in remove for path: '/a/1': Unable to access invalid index: "
	 "1: invalid index referenced"},
	{"remove with - index", "{\"a\":[1]}",
	 "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", ERR_INVAL, NULL,
	 "error in remove for path: '/a/-': Unable to access invalid index: "
	 "-: invalid index referenced"},
	{"remove the root", "{}", "[{\"op\":\"remove\",\"path\":\"\"}]",
	 ERR_INVAL, NULL,
	 "remove operation does not apply: cannot remove the whole document"},
	{"add index past the end", "{\"a\":[1]}",
	 "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":1}]", ERR_INVAL, NULL,
	 "error in add for path: '/a/2': Unable to access invalid index: 2: "
	 "invalid index referenced"},
	{"add non-numeric index", "{\"a\":[1]}",
	 "[{\"op\":\"add\",\"path\":\"/a/x\",\"value\":1}]", ERR_INVAL, NULL,
	 "error in add for path: '/a/x': value was not a proper array index: "
	 "'x'"},
	{"add leading-zero index", "{\"a\":[1,2]}",
	 "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":1}]", ERR_INVAL, NULL,
	 "error in add for path: '/a/01': value was not a proper array index: "
	 "'01'"},
	{"add below a scalar", "{\"a\":1}",
	 "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", ERR_INVAL, NULL,
	 "add operation does not apply: doc is missing path: \"/a/b\": "
	 "missing value"},
	{"test missing key", "{\"spec\":{}}",
	 "[{\"op\":\"test\",\"path\":\"/spec/x\",\"value\":1}]", ERR_INVAL,
	 NULL, "testing value /spec/x failed: test failed"},
	{"test missing parent", "{}",
	 "[{\"op\":\"test\",\"path\":\"/spec/x\",\"value\":1}]", ERR_INVAL,
	 NULL,
	 "test operation does not apply: is missing path: /spec/x: missing "
	 "value"},
	{"test null against missing", "{}",
	 "[{\"op\":\"test\",\"path\":\"/x\",\"value\":null}]", ERR_INVAL, NULL,
	 "testing value /x failed: test failed"},
	{"test array length differs", "{\"a\":[1,2]}",
	 "[{\"op\":\"test\",\"path\":\"/a\",\"value\":[1]}]", ERR_INVAL, NULL,
	 "testing value /a failed: test failed"},
	{"test object with extra member", "{\"a\":{\"x\":1}}",
	 "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"x\":1,\"y\":2}}]",
	 ERR_INVAL, NULL, "testing value /a failed: test failed"},
	{"test 1 against 1.5", "{\"a\":1}",
	 "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.5}]", ERR_INVAL, NULL,
	 "testing value /a failed: test failed"},
	{"move missing from", "{}",
	 "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/c\"}]", ERR_INVAL,
	 NULL,
	 "move operation does not apply: doc is missing from path: /a/b: "
	 "missing value"},
	{"move missing from key", "{\"a\":{}}",
	 "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/c\"}]", ERR_INVAL,
	 NULL,
	 "error in move for path: '/a/b': Unable to remove nonexistent key: "
	 "b: missing value"},
	{"move into its own child", "{\"a\":{\"b\":1}}",
	 "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", ERR_INVAL,
	 NULL,
	 "move operation does not apply: doc is missing destination path: "
	 "/a/b/c: missing value"},
	{"move to missing destination", "{\"a\":1}",
	 "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/x/y\"}]", ERR_INVAL,
	 NULL,
	 "move operation does not apply: doc is missing destination path: "
	 "/x/y: missing value"},
	{"copy missing from", "{}",
	 "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]", ERR_INVAL, NULL,
	 "copy operation does not apply: doc is missing from path: /a: "
	 "missing value"},
	{"copy to missing destination", "{\"a\":1}",
	 "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/x/y\"}]", ERR_INVAL,
	 NULL,
	 "copy operation does not apply: doc is missing destination path: "
	 "/x/y: missing value"},
	/* All or nothing: the first two ops succeed, the third fails. */
	{"failure discards earlier ops", "{\"a\":1}",
	 "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
	 "{\"op\":\"remove\",\"path\":\"/a\"},"
	 "{\"op\":\"test\",\"path\":\"/b\",\"value\":3}]",
	 ERR_INVAL, NULL, "testing value /b failed: test failed"},
};

static void test_operations_not_applicable(void **state)
{
	run_cases(not_applicable,
		  sizeof(not_applicable) / sizeof(not_applicable[0]));
}

/* Malformed patches: ERR_BADREQUEST, whatever the document holds. */
static const struct patch_case malformed[] = {
	{"patch is an object", "{}", "{\"op\":\"add\"}", ERR_BADREQUEST, NULL,
	 "json: cannot unmarshal object into Go value of type "
	 "jsonpatch.Patch"},
	{"patch is a string", "{}", "\"x\"", ERR_BADREQUEST, NULL,
	 "json: cannot unmarshal string into Go value of type "
	 "jsonpatch.Patch"},
	{"op is a number", "{}", "[1]", ERR_BADREQUEST, NULL,
	 "json: cannot unmarshal number into Go value of type "
	 "jsonpatch.Operation"},
	{"unknown op", "{}", "[{\"op\":\"merge\",\"path\":\"/a\"}]",
	 ERR_BADREQUEST, NULL, "Unexpected kind: merge"},
	{"missing op", "{}", "[{\"path\":\"/a\",\"value\":1}]", ERR_BADREQUEST,
	 NULL, "Unexpected kind: unknown"},
	{"op not a string", "{}", "[{\"op\":7,\"path\":\"/a\"}]",
	 ERR_BADREQUEST, NULL, "Unexpected kind: unknown"},
	{"missing path", "{}", "[{\"op\":\"add\",\"value\":1}]", ERR_BADREQUEST,
	 NULL,
	 "add operation failed to decode path: operation missing path field: "
	 "missing value"},
	{"path not a string", "{}", "[{\"op\":\"remove\",\"path\":1}]",
	 ERR_BADREQUEST, NULL,
	 "remove operation failed to decode path: operation missing path "
	 "field: missing value"},
	{"missing from", "{}", "[{\"op\":\"copy\",\"path\":\"/a\"}]",
	 ERR_BADREQUEST, NULL,
	 "copy operation failed to decode from: operation missing from "
	 "field: missing value"},
	{"missing value", "{}", "[{\"op\":\"replace\",\"path\":\"/a\"}]",
	 ERR_BADREQUEST, NULL,
	 "replace operation failed to decode value: operation, missing value "
	 "field: missing value"},
	{"pointer without leading slash", "{\"a\":1}",
	 "[{\"op\":\"remove\",\"path\":\"a\"}]", ERR_BADREQUEST, NULL,
	 "remove operation failed to decode path: invalid JSON pointer: "
	 "\"a\""},
	{"bad ~ escape", "{\"a~2\":1}",
	 "[{\"op\":\"test\",\"path\":\"/a~2\",\"value\":1}]", ERR_BADREQUEST,
	 NULL,
	 "test operation failed to decode path: invalid JSON pointer: "
	 "\"/a~2\""},
	{"trailing ~", "{}",
	 "[{\"op\":\"move\",\"from\":\"/a~\",\"path\":\"/b\"}]", ERR_BADREQUEST,
	 NULL,
	 "move operation failed to decode from: invalid JSON pointer: "
	 "\"/a~\""},
	/* Checked up front: the failing test op never gets to run. */
	{"malformed later op wins over a failing earlier one", "{}",
	 "[{\"op\":\"test\",\"path\":\"/x\",\"value\":1},{\"op\":\"bogus\"}]",
	 ERR_BADREQUEST, NULL, "Unexpected kind: bogus"},
};

static void test_malformed_patches(void **state)
{
	run_cases(malformed, sizeof(malformed) / sizeof(malformed[0]));
}

static void test_null_patch_and_small_errbuf(void **state)
{
	json_t *doc = parse("{}");
	json_t *out = NULL;
	char small[8];

	assert_int_equal(json_patch_apply(doc, NULL, &out, NULL, 0),
			 ERR_BADREQUEST);
	assert_null(out);
	assert_int_equal(
		json_patch_apply(doc, NULL, &out, small, sizeof(small)),
		ERR_BADREQUEST);
	assert_string_equal(small, "json: c");
	json_decref(doc);
}

/* The result is a copy: changing it leaves the patch's values alone. */
static void test_result_shares_nothing(void **state)
{
	json_t *doc = parse("{\"a\":{\"b\":1}}");
	json_t *patch = parse("[{\"op\":\"add\",\"path\":\"/v\",\"value\":"
			      "{\"k\":[1]}}]");
	json_t *out = NULL;

	assert_int_equal(json_patch_apply(doc, patch, &out, NULL, 0), 0);
	json_array_append_new(json_pointer_get(out, "/v/k"), json_integer(2));
	json_object_set_new(json_pointer_get(out, "/a"), "b", json_integer(5));
	assert_json(patch, "[{\"op\":\"add\",\"path\":\"/v\",\"value\":"
			   "{\"k\":[1]}}]");
	assert_json(doc, "{\"a\":{\"b\":1}}");
	assert_json(out, "{\"a\":{\"b\":5},\"v\":{\"k\":[1,2]}}");
	json_decref(out);
	json_decref(patch);
	json_decref(doc);
}

/* RFC 6901 section 5's example document and pointers. */
static void test_pointer_rfc6901(void **state)
{
	json_t *doc = parse("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,"
			    "\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,"
			    "\"k\\\"l\":6,\" \":7,\"m~n\":8}");
	static const struct {
		const char *pointer;
		const char *want;
	} cases[] = {
		{"/foo", "[\"bar\",\"baz\"]"},
		{"/foo/0", "\"bar\""},
		{"/", "0"},
		{"/a~1b", "1"},
		{"/c%d", "2"},
		{"/e^f", "3"},
		{"/g|h", "4"},
		{"/i\\j", "5"},
		{"/k\"l", "6"},
		{"/ ", "7"},
		{"/m~0n", "8"},
	};

	assert_ptr_equal(json_pointer_get(doc, ""), doc);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_json(json_pointer_get(doc, cases[i].pointer),
			    cases[i].want);
	assert_null(json_pointer_get(doc, "/foo/2"));
	assert_null(json_pointer_get(doc, "/foo/-"));
	assert_null(json_pointer_get(doc, "/foo/01"));
	assert_null(json_pointer_get(doc, "/foo/0/x"));
	assert_null(json_pointer_get(doc, "/nope"));
	assert_null(json_pointer_get(doc, "foo"));
	assert_null(json_pointer_get(doc, "/m~2n"));
	assert_null(json_pointer_get(doc, NULL));
	assert_null(json_pointer_get(NULL, "/foo"));
	json_decref(doc);
}

static void test_value_equal(void **state)
{
	static const struct {
		const char *a;
		const char *b;
		int equal;
	} cases[] = {
		{"1", "1.0", 1},
		{"-3", "-3.0", 1},
		{"1", "1.5", 0},
		{"2.5", "2.5", 1},
		{"2.5", "3.5", 0},
		{"-7", "7", 0},
		{"1", "\"1\"", 0},
		{"true", "true", 1},
		{"true", "false", 0},
		{"null", "null", 1},
		{"null", "false", 0},
		{"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1.0}", 1},
		{"{\"a\":1}", "{\"a\":1,\"b\":2}", 0},
		{"{\"a\":1}", "{\"b\":1}", 0},
		{"[1,[2]]", "[1,[2.0]]", 1},
		{"[1,2]", "[2,1]", 0},
		{"\"a\\u0000b\"", "\"a\\u0000c\"", 0},
		{"\"a\\u0000b\"", "\"a\\u0000b\"", 1},
		{"1e300", "1", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *a = json_loads(cases[i].a,
				       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		json_t *b = json_loads(cases[i].b,
				       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

		assert_non_null(a);
		assert_non_null(b);
		if (json_value_equal(a, b) != cases[i].equal ||
		    json_value_equal(b, a) != cases[i].equal)
			fail_msg("%s vs %s: want %d", cases[i].a, cases[i].b,
				 cases[i].equal);
		json_decref(a);
		json_decref(b);
	}
	assert_int_equal(json_value_equal(NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6902_appendix_a),
		cmocka_unit_test(test_rfc6902_a13_duplicate_member),
		cmocka_unit_test(test_operations_apply),
		cmocka_unit_test(test_operations_not_applicable),
		cmocka_unit_test(test_malformed_patches),
		cmocka_unit_test(test_null_patch_and_small_errbuf),
		cmocka_unit_test(test_result_shares_nothing),
		cmocka_unit_test(test_pointer_rfc6901),
		cmocka_unit_test(test_value_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_selector: label and field selectors against the behaviour and exact
 * error messages of k8s.io/apimachinery labels.Parse, metav1
 * LabelSelectorAsSelector and fields.ParseSelector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kube/selector.h"
#include "util/err.h"

#define QNAME_MSG                                                             \
	"must consist of alphanumeric characters, '-', '_' or '.', and must " \
	"start and end with an alphanumeric character (e.g. 'MyName',  or "   \
	"'my.name',  or '123-abc', regex used for validation is "             \
	"'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_MSG                                                           \
	"a valid label must be an empty string or consist of alphanumeric " \
	"characters, '-', '_' or '.', and must start and end with an "      \
	"alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "      \
	"'12345', "                                                         \
	"regex used for validation is "                                     \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

/* ---- helpers ---- */

/* Parses text (must succeed) and returns its canonical string. */
static char *canonical(const char *text)
{
	struct label_selector *sel = NULL;
	char err[1024] = "";
	char *s;

	int rc = label_selector_parse(text, &sel, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse of '%s' failed: %s", text, err);
	assert_non_null(sel);
	s = label_selector_string(sel);
	label_selector_free(sel);
	return s;
}

static void assert_canonical(const char *text, const char *want)
{
	char *got = canonical(text);

	assert_string_equal(got, want);
	free(got);
}

static void assert_parse_error(const char *text, const char *want)
{
	struct label_selector *sel = (struct label_selector *)&sel;
	char err[4096] = "";

	assert_int_equal(label_selector_parse(text, &sel, err, sizeof(err)),
			 ERR_BADREQUEST);
	assert_null(sel);
	assert_string_equal(err, want);
}

/* Whether selector text matches the labels given as JSON text ("" = NULL). */
static bool text_matches(const char *text, const char *labels_json)
{
	struct label_selector *sel = NULL;
	json_t *labels = NULL;
	char err[1024] = "";
	bool ok;

	if (label_selector_parse(text, &sel, err, sizeof(err)) != 0)
		fail_msg("parse of '%s' failed: %s", text, err);
	if (*labels_json) {
		labels = json_loads(labels_json, 0, NULL);
		assert_non_null(labels);
	}
	ok = label_selector_matches(sel, labels);
	json_decref(labels);
	label_selector_free(sel);
	return ok;
}

static int from_json_text(const char *json, struct label_selector **out,
			  char *err, size_t errlen)
{
	json_t *js = json_loads(json, 0, NULL);
	int rc;

	assert_non_null(js);
	rc = label_selector_from_json(js, out, err, errlen);
	json_decref(js);
	return rc;
}

static void assert_json_error(const char *json, const char *want)
{
	struct label_selector *sel = (struct label_selector *)&sel;
	char err[4096] = "";

	assert_int_equal(from_json_text(json, &sel, err, sizeof(err)),
			 ERR_INVAL);
	assert_null(sel);
	assert_string_equal(err, want);
}

/* A fake object for field selectors: NULL-terminated name/value pairs. */
static const char *fake_get(const char *field, void *data)
{
	const char *const *kv = data;

	for (size_t i = 0; kv[i]; i += 2)
		if (strcmp(kv[i], field) == 0)
			return kv[i + 1];
	return NULL;
}

static const char *const pod[] = {
	"metadata.name", "web-1",	 "metadata.namespace",
	"prod",		 "status.phase", "Running",
	"spec.nodeName", "node,a=1\\",	 NULL,
};

static bool field_matches(const char *text, const char *const *obj)
{
	struct field_selector *sel = NULL;
	char err[1024] = "";
	bool ok;

	if (field_selector_parse(text, &sel, err, sizeof(err)) != 0)
		fail_msg("parse of '%s' failed: %s", text, err);
	ok = field_selector_matches(sel, fake_get, (void *)obj);
	field_selector_free(sel);
	return ok;
}

static void assert_field_error(const char *text, const char *want)
{
	struct field_selector *sel = (struct field_selector *)&sel;
	char err[1024] = "";

	assert_int_equal(field_selector_parse(text, &sel, err, sizeof(err)),
			 ERR_BADREQUEST);
	assert_null(sel);
	assert_string_equal(err, want);
}

/* ---- label selector: parsing and canonical form ---- */

static void test_label_empty(void **state)
{
	struct label_selector *sel = NULL;

	assert_int_equal(label_selector_parse("", &sel, NULL, 0), 0);
	assert_true(label_selector_is_empty(sel));
	assert_true(label_selector_matches(sel, NULL));
	label_selector_free(sel);

	assert_int_equal(label_selector_parse(" \t\r\n ", &sel, NULL, 0), 0);
	assert_true(label_selector_is_empty(sel));
	label_selector_free(sel);

	assert_int_equal(label_selector_parse(NULL, &sel, NULL, 0), 0);
	assert_true(label_selector_is_empty(sel));
	label_selector_free(sel);

	assert_canonical("", "");
	assert_true(label_selector_is_empty(NULL));
}

static void test_label_operators_roundtrip(void **state)
{
	assert_canonical("a=b", "a=b");
	assert_canonical("a==b", "a==b");
	assert_canonical("a!=b", "a!=b");
	assert_canonical("a in (x)", "a in (x)");
	assert_canonical("a notin (y,x)", "a notin (x,y)");
	assert_canonical("a", "a");
	assert_canonical("!a", "!a");
	assert_canonical("a>5", "a>5");
	assert_canonical("a<0", "a<0");
	assert_canonical("a=", "a=");
	assert_canonical("example.com/app=web-1", "example.com/app=web-1");
}

static void test_label_whitespace_and_sorting(void **state)
{
	struct label_selector *sel = NULL;

	assert_canonical("  c = 1 ,\tb in ( y , x ) ,\n!a ",
			 "!a,b in (x,y),c=1");
	/* Values form a set; empty values come from () and stray commas. */
	assert_canonical("x in (foo,,baz),y,z notin ()",
			 "x in (,baz,foo),y,z notin ()");
	assert_canonical("a in (,)", "a in ()");
	assert_canonical("a in (b,b,a)", "a in (a,b)");
	/* Equal keys keep their input order. */
	assert_canonical("b=3,a=2,b=1", "a=2,b=3,b=1");
	/* "in" and "notin" are ordinary words in key and value position. */
	assert_canonical("in=notin", "in=notin");
	assert_canonical("a in (in,notin)", "a in (in,notin)");

	assert_int_equal(label_selector_parse("a=b", &sel, NULL, 0), 0);
	assert_false(label_selector_is_empty(sel));
	label_selector_free(sel);
}

/* ---- label selector: matching ---- */

static void test_label_matching(void **state)
{
	const char *l = "{\"app\":\"web\",\"tier\":\"fe\",\"n\":\"10\"}";

	assert_true(text_matches("app=web", l));
	assert_true(text_matches("app==web", l));
	assert_false(text_matches("app=db", l));
	assert_false(text_matches("missing=x", l));
	assert_true(text_matches("app!=db", l));
	assert_false(text_matches("app!=web", l));
	assert_true(text_matches("missing!=x", l));
	assert_true(text_matches("app in (db,web)", l));
	assert_false(text_matches("app in (db)", l));
	assert_false(text_matches("missing in (x)", l));
	assert_false(text_matches("app notin (web)", l));
	assert_true(text_matches("app notin (db)", l));
	assert_true(text_matches("missing notin (x)", l));
	assert_true(text_matches("app", l));
	assert_false(text_matches("missing", l));
	assert_false(text_matches("!app", l));
	assert_true(text_matches("!missing", l));
	assert_true(text_matches("app=web,tier=fe", l));
	assert_false(text_matches("app=web,tier=be", l));
	assert_false(text_matches("app=web,!tier", l));
	assert_true(text_matches("n>5", l));
	assert_false(text_matches("n>10", l));
	assert_true(text_matches("n<11", l));
	assert_false(text_matches("app>1", l));
	assert_false(text_matches("missing<1", l));
	assert_true(text_matches("", l));
	/* Empty value: "a=" wants the label present and empty. */
	assert_true(text_matches("a=", "{\"a\":\"\"}"));
	assert_false(text_matches("a=", "{}"));
	/* No labels at all. */
	assert_true(text_matches("!a", ""));
	assert_true(text_matches("a!=b", ""));
	assert_false(text_matches("a", ""));
	assert_true(text_matches("", ""));
	assert_true(label_selector_matches(NULL, NULL));
}

/* ---- label selector: syntax errors ---- */

static void test_label_syntax_errors(void **state)
{
	assert_parse_error("a in b",
			   "unable to parse requirement: found 'b' expected: "
			   "'('");
	assert_parse_error("=x", "found '=', expected: !, identifier, or 'end "
				 "of string'");
	assert_parse_error("a in (", "unable to parse requirement: found '', "
				     "expected: ',', ')' or identifier");
	assert_parse_error("a in (x", "unable to parse requirement: found '', "
				      "expected: ',' or ')'");
	assert_parse_error("a in (x y)", "unable to parse requirement: found "
					 "'y', expected: ',' or ')'");
	assert_parse_error("a in (x,=)", "unable to parse requirement: found "
					 "'=', expected: ',', or identifier");
	assert_parse_error("a b", "unable to parse requirement: found 'b', "
				  "expected: in, notin, =, ==, !=, gt, lt");
	assert_parse_error("a=(", "unable to parse requirement: found '(', "
				  "expected: identifier");
	assert_parse_error("!", "unable to parse requirement: found '', "
				"expected: identifier");
	assert_parse_error("a=b,", "found '', expected: identifier after ','");
	assert_parse_error("a=b,,c", "found ',', expected: identifier after "
				     "','");
	assert_parse_error("a=b c", "found 'c', expected: ',' or 'end of "
				    "string'");
	assert_parse_error("a=b=c", "found '=', expected: ',' or 'end of "
				    "string'");
	assert_parse_error("!a=b", "found '=', expected: ',' or 'end of "
				   "string'");
	/* "===" lexes as "==" then "=". */
	assert_parse_error("a===b", "unable to parse requirement: found '=', "
				    "expected: identifier");
	assert_parse_error(",", "found ',', expected: !, identifier, or 'end "
				"of string'");
}

/* ---- label selector: key and value validation ---- */

static void test_label_key_errors(void **state)
{
	char longkey[80], text[200], want[600];

	assert_parse_error("a@b=c",
			   "unable to parse requirement: <nil>: "
			   "Invalid value: \"a@b\": name part " QNAME_MSG);
	/* Observed against a real apiserver (kubectl get pods -l "app: x"). */
	assert_parse_error("app: nginx",
			   "unable to parse requirement: <nil>: Invalid value: "
			   "\"app:\": name part " QNAME_MSG);
	assert_parse_error("a/b/c ?=? def",
			   "unable to parse requirement: <nil>: Invalid value: "
			   "\"a/b/c\": a qualified name " QNAME_MSG
			   " with an optional DNS subdomain prefix and '/' "
			   "(e.g. 'example.com/MyName')");
	assert_parse_error(
		"app.kubernetes_io/name=x",
		"unable to parse requirement: <nil>: Invalid value: "
		"\"app.kubernetes_io/name\": prefix part a lowercase RFC 1123 "
		"subdomain must consist of lower case alphanumeric characters, "
		"'-' or '.', and must start and end with an alphanumeric "
		"character (e.g. 'example.com', regex used for validation is "
		"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])"
		"?)"
		"*')");
	assert_parse_error("/a", "unable to parse requirement: <nil>: Invalid "
				 "value: \"/a\": prefix part must be "
				 "non-empty");
	assert_parse_error("a/", "unable to parse requirement: <nil>: Invalid "
				 "value: \"a/\": name part must be non-empty; "
				 "name part " QNAME_MSG);
	assert_parse_error("-a", "unable to parse requirement: <nil>: Invalid "
				 "value: \"-a\": name part " QNAME_MSG);
	/* Go-style quoting of the bad value. */
	assert_parse_error("a\"b",
			   "unable to parse requirement: <nil>: "
			   "Invalid value: \"a\\\"b\": name part " QNAME_MSG);

	memset(longkey, 'k', 64);
	longkey[64] = '\0';
	snprintf(text, sizeof(text), "%s=v", longkey);
	snprintf(want, sizeof(want),
		 "unable to parse requirement: <nil>: Invalid value: \"%s\": "
		 "name part must be no more than 63 characters",
		 longkey);
	assert_parse_error(text, want);
	longkey[63] = '\0';
	snprintf(text, sizeof(text), "%s=v", longkey);
	assert_canonical(text, text);
}

static void test_label_value_errors(void **state)
{
	char longval[80], text[200], want[600];

	assert_parse_error("a=b@", "unable to parse requirement: values[0][a]: "
				   "Invalid value: \"b@\": " VALUE_MSG);
	assert_parse_error("a in (x@,y@)",
			   "unable to parse requirement: [values[0][a]: "
			   "Invalid value: \"x@\": " VALUE_MSG
			   ", values[1][a]: Invalid value: \"y@\": " VALUE_MSG
			   "]");
	assert_parse_error("a>x", "unable to parse requirement: values[0]: "
				  "Invalid value: \"x\": for 'Gt', 'Lt' "
				  "operators, the value must be an integer");
	assert_parse_error("a<", "unable to parse requirement: values[0]: "
				 "Invalid value: \"\": for 'Gt', 'Lt' "
				 "operators, the value must be an integer");
	/* Out of int64 range is not an integer to strconv.ParseInt. */
	assert_parse_error("a>9223372036854775808",
			   "unable to parse requirement: values[0]: Invalid "
			   "value: \"9223372036854775808\": for 'Gt', 'Lt' "
			   "operators, the value must be an integer");
	assert_canonical("a>9223372036854775807", "a>9223372036854775807");

	memset(longval, 'v', 64);
	longval[64] = '\0';
	snprintf(text, sizeof(text), "a=%s", longval);
	snprintf(want, sizeof(want),
		 "unable to parse requirement: values[0][a]: Invalid value: "
		 "\"%s\": must be no more than 63 characters",
		 longval);
	assert_parse_error(text, want);
	longval[63] = '\0';
	snprintf(text, sizeof(text), "a=%s", longval);
	assert_canonical(text, text);
}

/* errbuf is optional and truncated safely. */
static void test_label_errbuf_optional(void **state)
{
	struct label_selector *sel = NULL;
	char small[8];

	assert_int_equal(label_selector_parse("a in b", &sel, NULL, 0),
			 ERR_BADREQUEST);
	assert_null(sel);
	assert_int_equal(
		label_selector_parse("a in b", &sel, small, sizeof(small)),
		ERR_BADREQUEST);
	assert_string_equal(small, "unable ");
}

/* ---- LabelSelector JSON ---- */

static void test_json_selector(void **state)
{
	struct label_selector *sel = NULL;
	json_t *labels;
	char *s;

	assert_int_equal(
		from_json_text(
			"{\"matchLabels\":{\"app\":\"web\"},"
			"\"matchExpressions\":["
			"{\"key\":\"tier\",\"operator\":\"In\","
			"\"values\":[\"fe\",\"be\"]},"
			"{\"key\":\"canary\",\"operator\":\"DoesNotExist\"},"
			"{\"key\":\"zone\",\"operator\":\"NotIn\","
			"\"values\":[\"z1\"]},"
			"{\"key\":\"env\",\"operator\":\"Exists\","
			"\"values\":[]}]}",
			&sel, NULL, 0),
		0);
	s = label_selector_string(sel);
	assert_string_equal(s, "app=web,!canary,env,tier in (be,fe),zone "
			       "notin (z1)");
	free(s);

	labels = json_pack("{s:s,s:s,s:s}", "app", "web", "tier", "be", "env",
			   "x");
	assert_true(label_selector_matches(sel, labels));
	json_object_set_new(labels, "zone", json_string("z1"));
	assert_false(label_selector_matches(sel, labels));
	json_object_set_new(labels, "zone", json_string("z2"));
	assert_true(label_selector_matches(sel, labels));
	json_object_set_new(labels, "canary", json_string("true"));
	assert_false(label_selector_matches(sel, labels));
	json_object_del(labels, "canary");
	json_object_set_new(labels, "tier", json_string("db"));
	assert_false(label_selector_matches(sel, labels));
	json_object_set_new(labels, "tier", json_string("fe"));
	json_object_del(labels, "env");
	assert_false(label_selector_matches(sel, labels));
	assert_false(label_selector_matches(sel, NULL));
	json_decref(labels);
	label_selector_free(sel);
}

static void test_json_empty(void **state)
{
	struct label_selector *sel = NULL;
	json_t *null = json_null();

	assert_int_equal(label_selector_from_json(NULL, &sel, NULL, 0), 0);
	assert_true(label_selector_is_empty(sel));
	assert_true(label_selector_matches(sel, NULL));
	label_selector_free(sel);

	assert_int_equal(label_selector_from_json(null, &sel, NULL, 0), 0);
	assert_true(label_selector_is_empty(sel));
	label_selector_free(sel);
	json_decref(null);

	assert_int_equal(from_json_text("{}", &sel, NULL, 0), 0);
	assert_true(label_selector_is_empty(sel));
	label_selector_free(sel);

	assert_int_equal(from_json_text("{\"matchLabels\":{},"
					"\"matchExpressions\":[]}",
					&sel, NULL, 0),
			 0);
	assert_true(label_selector_is_empty(sel));
	label_selector_free(sel);
}

static void test_json_errors(void **state)
{
	assert_json_error("{\"matchExpressions\":[{\"key\":\"a\","
			  "\"operator\":\"Foo\"}]}",
			  "\"Foo\" is not a valid label selector operator");
	assert_json_error("{\"matchExpressions\":[{\"key\":\"a\"}]}",
			  "\"\" is not a valid label selector operator");
	assert_json_error("{\"matchExpressions\":[{\"key\":\"a\","
			  "\"operator\":\"In\"}]}",
			  "values: Invalid value: []string(nil): for 'in', "
			  "'notin' operators, values set can't be empty");
	assert_json_error("{\"matchExpressions\":[{\"key\":\"a\","
			  "\"operator\":\"Exists\",\"values\":[\"x\",\"y\"]}]}",
			  "values: Invalid value: []string{\"x\", \"y\"}: "
			  "values set must be empty for exists and does not "
			  "exist");
	assert_json_error("{\"matchLabels\":{\"a b\":\"c\"}}",
			  "key: Invalid value: \"a b\": name part " QNAME_MSG);
	assert_json_error("{\"matchLabels\":{\"a\":\"-x\"}}",
			  "values[0][a]: Invalid value: \"-x\": " VALUE_MSG);
	assert_json_error("{\"matchExpressions\":[{\"key\":\"\","
			  "\"operator\":\"In\",\"values\":[\"ok\",\"b@d\"]}]}",
			  "[key: Invalid value: \"\": name part must be "
			  "non-empty; name part " QNAME_MSG
			  ", values[1][]: Invalid value: \"b@d\": " VALUE_MSG
			  "]");
	assert_json_error("{\"matchLabels\":{\"a\":1}}",
			  "matchLabels.a: must be a string");
	assert_json_error("{\"matchLabels\":[]}",
			  "matchLabels: must be an object");
	assert_json_error("{\"matchExpressions\":{}}",
			  "matchExpressions: must be an array");
	assert_json_error("{\"matchExpressions\":[{\"key\":\"a\","
			  "\"operator\":\"In\",\"values\":[1]}]}",
			  "matchExpressions[0].values[0]: must be a string");
	assert_json_error("[]", "label selector must be a JSON object");
}

/* ---- field selectors ---- */

static void test_field_empty(void **state)
{
	struct field_selector *sel = NULL;

	assert_int_equal(field_selector_parse("", &sel, NULL, 0), 0);
	assert_true(field_selector_is_empty(sel));
	assert_true(field_selector_matches(sel, fake_get, (void *)pod));
	field_selector_free(sel);

	assert_int_equal(field_selector_parse(NULL, &sel, NULL, 0), 0);
	assert_true(field_selector_is_empty(sel));
	field_selector_free(sel);

	/* Empty terms are skipped; "=" (no field, no value) selects all. */
	assert_int_equal(field_selector_parse(",,=,", &sel, NULL, 0), 0);
	assert_true(field_selector_is_empty(sel));
	field_selector_free(sel);
	assert_true(field_selector_is_empty(NULL));
}

static void test_field_operators(void **state)
{
	assert_true(field_matches("metadata.name=web-1", pod));
	assert_true(field_matches("metadata.name==web-1", pod));
	assert_false(field_matches("metadata.name=web-2", pod));
	assert_true(field_matches("metadata.name!=web-2", pod));
	assert_false(field_matches("metadata.name!=web-1", pod));
	assert_true(field_matches("metadata.name=web-1,metadata.namespace=prod",
				  pod));
	assert_false(
		field_matches("metadata.name=web-1,status.phase=Pending", pod));
	assert_true(field_matches("status.phase!=Pending,status.phase!=Failed",
				  pod));
	/* A missing field reads as "". */
	assert_true(field_matches("spec.hostname=", pod));
	assert_false(field_matches("spec.hostname!=", pod));
	assert_false(field_matches("spec.hostname=x", pod));
	/* Whitespace is part of the value, as upstream. */
	assert_false(field_matches("metadata.name= web-1", pod));
}

static void test_field_escapes(void **state)
{
	struct field_selector *sel = NULL;

	/* spec.nodeName is `node,a=1\` in the fake pod. */
	assert_true(field_matches("spec.nodeName=node\\,a\\=1\\\\", pod));
	assert_false(field_matches("spec.nodeName=node\\,a\\=1", pod));
	/* An escaped backslash does not escape the following comma. */
	assert_true(
		field_matches("spec.nodeName!=x\\\\,metadata.name=web-1", pod));
	assert_int_equal(field_selector_parse("a=x\\\\,b=y", &sel, NULL, 0), 0);
	assert_int_equal(
		field_selector_check(sel, (const char *const[]){"a", "b", NULL},
				     NULL, 0),
		0);
	field_selector_free(sel);
}

static void test_field_errors(void **state)
{
	assert_field_error("a", "invalid selector: 'a'; can't understand 'a'");
	assert_field_error("a=b,c", "invalid selector: 'a=b,c'; can't "
				    "understand 'c'");
	assert_field_error("a=b=c", "invalid field selector: unescaped "
				    "character in value: 61");
	assert_field_error("a!==b", "invalid field selector: unescaped "
				    "character in value: 61");
	assert_field_error("a=x\\y", "invalid field selector: invalid escape "
				     "sequence: \\y");
	assert_field_error("a=x\\", "invalid field selector: invalid escape "
				    "sequence: \\");
	assert_field_error("a=x\\\xc3\xa9", "invalid field selector: invalid "
					    "escape sequence: \\\xc3\xa9");
}

static void test_field_check(void **state)
{
	static const char *const supported[] = {"metadata.name",
						"metadata.namespace", NULL};
	struct field_selector *sel = NULL;
	char err[256] = "";

	assert_int_equal(field_selector_parse("metadata.name=a,metadata."
					      "namespace!=b",
					      &sel, NULL, 0),
			 0);
	assert_int_equal(field_selector_check(sel, supported, err, sizeof(err)),
			 0);
	field_selector_free(sel);

	assert_int_equal(field_selector_parse("metadata.name=a,spec.nodeName=n",
					      &sel, NULL, 0),
			 0);
	assert_int_equal(field_selector_check(sel, supported, err, sizeof(err)),
			 ERR_BADREQUEST);
	assert_string_equal(err, "field label not supported: spec.nodeName");
	assert_int_equal(field_selector_check(sel, NULL, err, sizeof(err)),
			 ERR_BADREQUEST);
	assert_string_equal(err, "field label not supported: metadata.name");
	field_selector_free(sel);

	/* Terms are checked in sorted order, like the apiserver. */
	assert_int_equal(field_selector_parse("z.b=1,y.a=2", &sel, NULL, 0), 0);
	assert_int_equal(field_selector_check(sel, supported, err, sizeof(err)),
			 ERR_BADREQUEST);
	assert_string_equal(err, "field label not supported: y.a");
	field_selector_free(sel);

	/* Leading space belongs to the field name. */
	assert_int_equal(
		field_selector_parse(" metadata.name=a", &sel, NULL, 0), 0);
	assert_int_equal(field_selector_check(sel, supported, err, sizeof(err)),
			 ERR_BADREQUEST);
	assert_string_equal(err, "field label not supported:  metadata.name");
	field_selector_free(sel);

	/* An empty field with a value is kept and rejected. */
	assert_int_equal(field_selector_parse("=x", &sel, NULL, 0), 0);
	assert_int_equal(field_selector_check(sel, supported, err, sizeof(err)),
			 ERR_BADREQUEST);
	assert_string_equal(err, "field label not supported: ");
	field_selector_free(sel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_empty),
		cmocka_unit_test(test_label_operators_roundtrip),
		cmocka_unit_test(test_label_whitespace_and_sorting),
		cmocka_unit_test(test_label_matching),
		cmocka_unit_test(test_label_syntax_errors),
		cmocka_unit_test(test_label_key_errors),
		cmocka_unit_test(test_label_value_errors),
		cmocka_unit_test(test_label_errbuf_optional),
		cmocka_unit_test(test_json_selector),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_field_empty),
		cmocka_unit_test(test_field_operators),
		cmocka_unit_test(test_field_escapes),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_field_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

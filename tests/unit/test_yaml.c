/*
 * Unit tests for pkg/json/yaml: YAML -> JSON with sigs.k8s.io/yaml
 * semantics (scalar typing, anchors, merge keys, multi-document streams,
 * go-yaml's error messages and the alias/depth limits) and JSON -> YAML in
 * kubectl's output style, including a round trip of a Deployment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json/yaml.h"

/* Parses `yaml` and checks it equals the JSON text `want`. */
static void check(const char *yaml, const char *want)
{
	char err[512] = "";
	json_error_t jerr;
	json_t *got = yaml_to_json(yaml, strlen(yaml), err, sizeof(err));
	json_t *exp = json_loads(want, JSON_DECODE_ANY, &jerr);

	if (!got)
		fail_msg("yaml_to_json(%s) failed: %s", yaml, err);
	assert_non_null(exp);
	if (!json_equal(got, exp)) {
		char *text = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
		fail_msg("yaml_to_json(%s) = %s, want %s", yaml, text, want);
	}
	json_decref(got);
	json_decref(exp);
}

/* Parses `yaml`, expects failure with exactly the message `want`. */
static void check_error(const char *yaml, const char *want)
{
	char err[512] = "";
	json_t *got = yaml_to_json(yaml, strlen(yaml), err, sizeof(err));

	if (got)
		fail_msg("yaml_to_json(%s) succeeded, want error %s", yaml,
			 want);
	assert_string_equal(err, want);
}

#define PFX "error converting YAML to JSON: "

static void test_plain_scalars(void **state)
{
	(void)state;
	check("a: ~\nb: null\nc: NULL\nd:\ne: Null",
	      "{\"a\":null,\"b\":null,"
	      "\"c\":null,\"d\":null,\"e\":null}");
	check("[true, True, yes, Yes, on, ON, y, Y]",
	      "[true,true,true,true,true,true,true,true]");
	check("[false, FALSE, no, No, off, Off, n, N]",
	      "[false,false,false,false,false,false,false,false]");
	check("[tRUE, yEs, nil, none]", "[\"tRUE\",\"yEs\",\"nil\",\"none\"]");
	check("[0, 42, -17, +5, 1_000, 0x1F, 0X1f, 0o17, 017, 0b101, -0b11]",
	      "[0,42,-17,5,1000,31,31,15,15,5,-3]");
	check("[9223372036854775807, -9223372036854775808]",
	      "[9223372036854775807,-9223372036854775808]");
	/* Beyond int64: a real, as the apiserver's JSON decoder sees it. */
	check("18446744073709551616", "1.8446744073709552e19");
	check("[1.5, -0.25, .5, 1e-3, 6.02e+23]",
	      "[1.5,-0.25,0.5,0.001,6.02e23]");
	/* Integral floats print as integers from Go's JSON encoder. */
	check("[3.0, 1e3, 08, 1.]", "[3,1000,8,1]");
	/* Not numbers: strings. */
	check("[0x, 1.2.3, 12abc, '+', 1e400, 2001-12-14, 1:20, -]",
	      "[\"0x\",\"1.2.3\",\"12abc\",\"+\",\"1e400\",\"2001-12-14\","
	      "\"1:20\",\"-\"]");
	check("hello world", "\"hello world\"");
}

static void test_quoted_and_tagged(void **state)
{
	(void)state;
	check("['1', \"true\", \"\", 'null', \"~\", '0x10']",
	      "[\"1\",\"true\",\"\",\"null\",\"~\",\"0x10\"]");
	check("[!!str 12, !!str true, !!int \"12\", !!float 3, !!float 2.5,"
	      " !!bool \"yes\", !!null \"\", !foo 7, ! 8]",
	      "[\"12\",\"true\",12,3,2.5,true,null,\"7\",\"8\"]");
	check_error("a: !!int abc",
		    PFX "yaml: cannot decode !!str `abc` as a !!int");
	check_error("a: !!bool 1", PFX "yaml: cannot decode !!int `1` as a "
				       "!!bool");
	check("\"tab\\there \\u00e9 \\x41\"", "\"tab\\there \\u00e9 A\"");
}

static void test_keys(void **state)
{
	(void)state;
	/* Non-string keys become strings, as sigs.k8s.io/yaml converts them. */
	check("1: a\ntrue: b\n1.5: c\nno: d\n0x10: e",
	      "{\"1\":\"a\",\"true\":\"b\",\"1.5\":\"c\",\"false\":\"d\","
	      "\"16\":\"e\"}");
	check("? complex\n: value", "{\"complex\":\"value\"}");
	check_error("~: 1", PFX "unsupported map key of type: %!s(<nil>), "
				"key: <nil>");
	check_error("[a]: 1", PFX "yaml: invalid map key: []interface {}");
	check_error("? {a: 1}\n: 2",
		    PFX "yaml: invalid map key: map[interface {}]interface {}");
}

static void test_nested_block_and_flow(void **state)
{
	(void)state;
	check("metadata:\n"
	      "  name: web\n"
	      "  labels:\n"
	      "    app: web\n"
	      "spec:\n"
	      "  ports:\n"
	      "  - port: 80\n"
	      "    protocol: TCP\n"
	      "  -   - nested\n"
	      "      - list\n"
	      "  empty: {}\n"
	      "  none: []\n",
	      "{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},"
	      "\"spec\":{\"ports\":[{\"port\":80,\"protocol\":\"TCP\"},"
	      "[\"nested\",\"list\"]],\"empty\":{},\"none\":[]}}");
	check("{a: [1, {b: c}], d: {e: f, g: [ ]}, 'h i': \"j\"}",
	      "{\"a\":[1,{\"b\":\"c\"}],\"d\":{\"e\":\"f\",\"g\":[]},"
	      "\"h i\":\"j\"}");
	/* Comments anywhere. */
	check("# top\na: 1 # trailing\n# between\nb: [2, # in flow\n 3]\n",
	      "{\"a\":1,\"b\":[2,3]}");
}

static void test_json_is_yaml(void **state)
{
	const char *json =
		"{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"ConfigMap\","
		"\n\t\"metadata\": {\"name\": \"cm\", \"labels\": "
		"{}},\n\t\"data\": {\"k\": \"v\\nw\", \"n\": \"1\"},"
		"\n\t\"list\": [1, 2.5, true, false, null, "
		"\"\\u00e9\", -0, 1e2]\n}";

	(void)state;
	check(json, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
		    "\"metadata\":{\"name\":\"cm\",\"labels\":{}},"
		    "\"data\":{\"k\":\"v\\nw\",\"n\":\"1\"},"
		    "\"list\":[1,2.5,true,false,null,\"\\u00e9\",0,100]}");
}

static void test_block_scalars(void **state)
{
	(void)state;
	check("a: |\n  line1\n  line2\nb: |-\n  x\n  y\n\nc: |+\n  keep\n\n"
	      "d: x\n",
	      "{\"a\":\"line1\\nline2\\n\",\"b\":\"x\\ny\",\"c\":"
	      "\"keep\\n\\n\","
	      "\"d\":\"x\"}");
	check("a: >\n  folded\n  text\n\n  para\nb: >-\n  one\n  two\n",
	      "{\"a\":\"folded text\\npara\\n\",\"b\":\"one two\"}");
	check("script: |\n  if true; then\n    echo \"yes: no\"\n  fi\n",
	      "{\"script\":\"if true; then\\n  echo \\\"yes: "
	      "no\\\"\\nfi\\n\"}");
}

static void test_anchors_and_merge(void **state)
{
	const char *yaml = "base: &base\n"
			   "  image: nginx\n"
			   "  port: 80\n"
			   "extra: &extra {port: 8080, debug: true}\n"
			   "a:\n"
			   "  <<: *base\n"
			   "  port: 81\n"
			   "b:\n"
			   "  port: 82\n"
			   "  <<: [*extra, *base]\n"
			   "c:\n"
			   "  <<: {inline: 1}\n"
			   "d: *base\n"
			   "e: &s scalar\n"
			   "f: [*s, *s]\n";
	char err[256];
	json_t *v, *d, *base;

	(void)state;
	check(yaml, "{\"base\":{\"image\":\"nginx\",\"port\":80},"
		    "\"extra\":{\"port\":8080,\"debug\":true},"
		    "\"a\":{\"image\":\"nginx\",\"port\":81},"
		    "\"b\":{\"port\":82,\"debug\":true,\"image\":\"nginx\"},"
		    "\"c\":{\"inline\":1},"
		    "\"d\":{\"image\":\"nginx\",\"port\":80},"
		    "\"e\":\"scalar\",\"f\":[\"scalar\",\"scalar\"]}");
	/* An alias is an independent copy: changing it leaves the anchor. */
	v = yaml_to_json(yaml, strlen(yaml), err, sizeof(err));
	assert_non_null(v);
	d = json_object_get(v, "d");
	base = json_object_get(v, "base");
	assert_ptr_not_equal(d, base);
	json_object_set_new(d, "image", json_string("changed"));
	assert_string_equal(json_string_value(json_object_get(base, "image")),
			    "nginx");
	json_decref(v);
	/* A quoted "<<" is an ordinary key. */
	check("'<<': 1", "{\"<<\":1}");
	/* Anchors may be redefined; aliases see the latest. */
	check("- &x 1\n- *x\n- &x 2\n- *x", "[1,1,2,2]");
	check_error("a: 1\n<<: 2", PFX "yaml: map merge requires map or "
				       "sequence of maps as the value");
	check_error("l: &l [1]\nm:\n  <<: *l",
		    PFX "yaml: map merge requires map or sequence of maps as "
			"the value");
}

/* "[[[...]]]" nested `depth` times, as a new heap string after `prefix`. */
static char *nested(const char *prefix, int depth, const char *suffix)
{
	size_t plen = strlen(prefix), slen = strlen(suffix);
	char *p = malloc(plen + 2 * (size_t)depth + slen + 1);
	int i;

	assert_non_null(p);
	memcpy(p, prefix, plen);
	for (i = 0; i < depth; i++) {
		p[plen + (size_t)i] = '[';
		p[plen + (size_t)depth + (size_t)i] = ']';
	}
	memcpy(p + plen + 2 * (size_t)depth, suffix, slen + 1);
	return p;
}

static void test_alias_errors_and_limits(void **state)
{
	char err[256];
	char *text;
	json_t *v;

	(void)state;
	check_error("a: *nope", PFX "yaml: unknown anchor 'nope' referenced");
	check_error("a: &a [1, *a]",
		    PFX "yaml: anchor 'a' value contains itself");
	/* Billion laughs: 10^6 strings from 60 aliases. */
	check_error("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
		    PFX "yaml: document contains excessive aliasing");
	/* Below the limits, aliases of aliases expand fully. */
	text = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b]\n";
	v = yaml_to_json(text, strlen(text), err, sizeof(err));
	assert_non_null(v);
	assert_int_equal(
		json_array_size(json_array_get(
			json_array_get(json_object_get(v, "c"), 1), 2)),
		3);
	json_decref(v);
	/* Nesting: exactly YAML_MAX_DEPTH is fine, one more is not. */
	text = nested("", YAML_MAX_DEPTH, "");
	v = yaml_to_json(text, strlen(text), err, sizeof(err));
	assert_non_null(v);
	json_decref(v);
	free(text);
	text = nested("", YAML_MAX_DEPTH + 1, "");
	check_error(text, PFX "yaml: exceeded max depth of 1000");
	free(text);
	/* Depth counts expanded aliases too. */
	text = nested("a: &a ", YAML_MAX_DEPTH - 1, "\nb: *a\n");
	v = yaml_to_json(text, strlen(text), err, sizeof(err));
	assert_non_null(v);
	json_decref(v);
	free(text);
	text = nested("a: &a ", YAML_MAX_DEPTH - 1, "\nb: [*a]\n");
	check_error(text, PFX "yaml: exceeded max depth of 1000");
	free(text);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	check_error("a: 1\nb: 2\nc: d: e\n",
		    PFX "yaml: line 3: mapping values are not allowed in this "
			"context");
	/* go-yaml leaves the line out on line 1. */
	check_error("a: b: c", PFX "yaml: mapping values are not allowed in "
				   "this context");
	/* Bad indentation. */
	check_error("a:\n  b: 1\n c: 2\n",
		    PFX "yaml: line 2: did not find expected key");
	/* Tabs cannot indent. */
	check_error("a:\n\tb: 1\n", PFX "yaml: line 2: found character that "
					"cannot start any token");
	check_error("a: [1, 2\n", PFX "yaml: line 1: did not find expected "
				      "',' or ']'");
	check_error("a: 'unterminated\n",
		    PFX "yaml: line 2: found unexpected end of stream");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	check_error("a: 1\nb: 2\na: 3\n",
		    PFX "yaml: unmarshal errors:\n"
			"  line 3: key \"a\" already set in map");
	check_error("m:\n  x: 1\n  1: 2\n  x: 3\n  1: 4\n",
		    PFX "yaml: unmarshal errors:\n"
			"  line 4: key \"x\" already set in map\n"
			"  line 5: key 1 already set in map");
	/* Merged keys are not duplicates of explicit ones. */
	check("b: &b {x: 1}\nc: {<<: *b, x: 2}", "{\"b\":{\"x\":1},"
						 "\"c\":{\"x\":2}}");
	/* A syntax error later in the document wins, as in go-yaml. */
	check_error("a: 1\na: 2\nb: [\n",
		    PFX "yaml: line 3: did not find expected node content");
}

static void test_conversion_errors(void **state)
{
	(void)state;
	check_error("a: .inf", PFX "json: unsupported value: +Inf");
	check_error("a: [-.Inf]", PFX "json: unsupported value: -Inf");
	check_error(".nan", PFX "json: unsupported value: NaN");
	/* Quoted, it is a string. */
	check("a: '.inf'", "{\"a\":\".inf\"}");
	/* .inf as a key is fine. */
	check(".inf: x", "{\".inf\":\"x\"}");
}

static void test_errbuf_optional_and_truncated(void **state)
{
	char small[12];
	json_t *v;

	(void)state;
	assert_null(yaml_to_json("a: b: c", 7, NULL, 0));
	assert_null(yaml_to_json_all("a: b: c", 7, NULL, 0));
	memset(small, 'x', sizeof(small));
	assert_null(yaml_to_json("a: b: c", 7, small, sizeof(small)));
	assert_string_equal(small, "error conve");
	/* text need not be NUL-terminated: only len bytes are read. */
	v = yaml_to_json("a: 1zzz", 4, NULL, 0);
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	json_decref(v);
}

static void test_empty_and_first_document(void **state)
{
	(void)state;
	check("", "null");
	check("# just a comment\n", "null");
	check("---\n", "null");
	check("\n\n   \n", "null");
	/* Only the first document; later ones are not even parsed. */
	check("a: 1\n---\nb: [\n", "{\"a\":1}");
	check("--- x\n--- y\n", "\"x\"");
}

static void check_all(const char *yaml, const char *want)
{
	char err[512] = "";
	json_t *got = yaml_to_json_all(yaml, strlen(yaml), err, sizeof(err));
	json_t *exp = json_loads(want, 0, NULL);

	if (!got)
		fail_msg("yaml_to_json_all failed: %s", err);
	assert_non_null(exp);
	if (!json_equal(got, exp))
		fail_msg("yaml_to_json_all(%s) = %s, want %s", yaml,
			 json_dumps(got, JSON_COMPACT), want);
	json_decref(got);
	json_decref(exp);
}

static void test_multi_document(void **state)
{
	char err[256] = "";
	const char *text;

	(void)state;
	check_all("apiVersion: v1\nkind: Namespace\n---\n---\n# c\n---\n"
		  "kind: Pod\n...\n---\n[1]\n",
		  "[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\"},"
		  "{\"kind\":\"Pod\"},[1]]");
	check_all("", "[]");
	check_all("--- null\n--- ~\n", "[]");
	/* Anchors do not cross documents. */
	text = "a: &x 1\n---\nb: *x\n";
	assert_null(yaml_to_json_all(text, strlen(text), err, sizeof(err)));
	assert_string_equal(err, PFX "yaml: unknown anchor 'x' referenced");
	text = "a: 1\n---\nb: [\n";
	assert_null(yaml_to_json_all(text, strlen(text), err, sizeof(err)));
	assert_string_equal(err, PFX "yaml: line 3: did not find expected "
				     "node content");
}

static void check_emit(const char *json, const char *want)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *got;

	assert_non_null(v);
	got = json_to_yaml(v);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	json_decref(v);
}

static void test_json_to_yaml_style(void **state)
{
	(void)state;
	check_emit("{\"spec\":{\"b\":[1,{\"y\":2,\"x\":1}],\"a\":{}},"
		   "\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"l\":[]}",
		   "apiVersion: v1\n"
		   "kind: Pod\n"
		   "l: []\n"
		   "spec:\n"
		   "  a: {}\n"
		   "  b:\n"
		   "  - 1\n"
		   "  - x: 1\n"
		   "    \"y\": 2\n"); /* y is a YAML 1.1 bool */
	check_emit("[\"true\",\"123\",\"\",\"null\",\"yes\",\"1.5\",\"1:20\","
		   "\"2024-01-02T03:04:05Z\",\"plain text\",\"a: b\"]",
		   "- \"true\"\n- \"123\"\n- \"\"\n- \"null\"\n- \"yes\"\n"
		   "- \"1.5\"\n- \"1:20\"\n- \"2024-01-02T03:04:05Z\"\n"
		   "- plain text\n- 'a: b'\n");
	check_emit("{\"s\":\"line1\\nline2\\n\",\"t\":\"x\\ny\"}",
		   "s: |\n  line1\n  line2\nt: |-\n  x\n  y\n");
	check_emit("[1.0,1.5,0.1,1e21,-2.5e-7,1234567.5,true,false,null,-3]",
		   "- 1\n- 1.5\n- 0.1\n- 1e+21\n- -2.5e-07\n- 1.2345675e+06\n"
		   "- true\n- false\n- null\n- -3\n");
	/* go-yaml's key order: non-letters first, digit runs numerically. */
	check_emit("{\"b10\":1,\"b9\":2,\"B\":3,\"a\":4,\"1\":5,\"_x\":6}",
		   "_x: 6\n\"1\": 5\nB: 3\na: 4\nb9: 2\nb10: 1\n");
	check_emit("\"scalar\"", "scalar\n");
	check_emit("{}", "{}\n");
	assert_null(json_to_yaml(NULL));
}

static const char *const deployment =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
	"\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
	"\"labels\":{\"app\":\"web\",\"version\":\"1.0\",\"on\":\"yes\"},"
	"\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
	"\"{\\\"apiVersion\\\":\\\"apps/v1\\\"}\\n\",\"note\":\"\","
	"\"deployment.kubernetes.io/revision\":\"3\"},"
	"\"creationTimestamp\":\"2024-05-01T10:00:00Z\",\"generation\":3,"
	"\"uid\":\"0c5a7c1e-1111-4d2e-9c39-2f1f2c8f0a11\"},"
	"\"spec\":{\"replicas\":3,\"revisionHistoryLimit\":10,"
	"\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
	"\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
	"{\"maxSurge\":\"25%\",\"maxUnavailable\":0}},"
	"\"template\":{\"metadata\":{\"creationTimestamp\":null,"
	"\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"
	"\"name\":\"nginx\",\"image\":\"nginx:1.25\",\"args\":[\"--port\","
	"\"8080\",\"-v\",\"true\",\"# not a comment\",\"- dash\",\"a: b\","
	"\" padded \",\"tab\\there\",\"caf\\u00e9\"],"
	"\"command\":[\"/bin/sh\",\"-c\",\"echo hi\\nexit 0\\n\"],"
	"\"env\":[{\"name\":\"RATIO\",\"value\":\"0.5\"},{\"name\":\"EMPTY\","
	"\"value\":\"\"},{\"name\":\"NULLISH\",\"value\":\"~\"}],"
	"\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],"
	"\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"}},"
	"\"readinessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":8080},"
	"\"periodSeconds\":10,\"successThreshold\":1}}],"
	"\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\","
	"\"tolerations\":[],\"nodeSelector\":{}}}},"
	"\"status\":{\"observedGeneration\":3,\"replicas\":3,"
	"\"conditions\":[{\"type\":\"Available\",\"status\":\"True\","
	"\"lastTransitionTime\":\"2024-05-01T10:00:05Z\",\"ratio\":0.75}]}}";

static void test_round_trip_manifest(void **state)
{
	json_t *orig = json_loads(deployment, 0, NULL), *back, *all;
	char err[512] = "", *yaml, *stream;
	size_t len;

	(void)state;
	assert_non_null(orig);
	yaml = json_to_yaml(orig);
	assert_non_null(yaml);
	assert_non_null(
		strstr(yaml, "apiVersion: apps/v1\nkind: Deployment\n"));
	assert_non_null(strstr(yaml, "    \"on\": \"yes\"\n"));
	assert_non_null(strstr(
		yaml, "  creationTimestamp: \"2024-05-01T10:00:00Z\"\n"));
	back = yaml_to_json(yaml, strlen(yaml), err, sizeof(err));
	if (!back)
		fail_msg("re-parse failed: %s\n%s", err, yaml);
	if (!json_equal(orig, back))
		fail_msg("round trip differs:\n%s", yaml);
	json_decref(back);
	/* The same manifest twice as a stream. */
	len = strlen(yaml);
	stream = malloc(2 * len + 5);
	assert_non_null(stream);
	memcpy(stream, yaml, len);
	memcpy(stream + len, "---\n", 4);
	memcpy(stream + len + 4, yaml, len + 1);
	all = yaml_to_json_all(stream, strlen(stream), err, sizeof(err));
	assert_non_null(all);
	assert_int_equal(json_array_size(all), 2);
	assert_true(json_equal(json_array_get(all, 1), orig));
	json_decref(all);
	free(stream);
	free(yaml);
	json_decref(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_scalars),
		cmocka_unit_test(test_quoted_and_tagged),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_nested_block_and_flow),
		cmocka_unit_test(test_json_is_yaml),
		cmocka_unit_test(test_block_scalars),
		cmocka_unit_test(test_anchors_and_merge),
		cmocka_unit_test(test_alias_errors_and_limits),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_conversion_errors),
		cmocka_unit_test(test_errbuf_optional_and_truncated),
		cmocka_unit_test(test_empty_and_first_document),
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_json_to_yaml_style),
		cmocka_unit_test(test_round_trip_manifest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

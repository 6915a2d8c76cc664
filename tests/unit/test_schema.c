/*
 * Unit tests for pkg/devcluster/schema: pruning (unknown fields, arrays,
 * preserve-unknown-fields, embedded resources, additionalProperties),
 * defaulting (nested, arrays, maps, nulls), every validation keyword with
 * the apiserver's exact cause wording, and the 422 Status message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devcluster/schema.h"

static json_t *parse(const char *text)
{
	json_error_t error;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &error);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, error.text);
	return v;
}

/* Fails with both texts when `got` is not equal to the JSON `want`. */
static void assert_json(const json_t *got, const char *want)
{
	json_t *w = parse(want);

	if (!json_equal((json_t *)got, w)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);

		fail_msg("got %s, want %s", g ? g : "NULL", want);
	}
	json_decref(w);
}

/* Prunes `obj_text` with `schema_text`; checks the result and the paths. */
static void check_prune(const char *schema_text, const char *obj_text,
			const char *want_obj, const char *want_paths)
{
	json_t *schema = parse(schema_text);
	json_t *obj = parse(obj_text);
	json_t *pruned = json_array();

	schema_prune(obj, schema, pruned);
	assert_json(obj, want_obj);
	assert_json(pruned, want_paths);
	json_decref(pruned);
	json_decref(obj);
	json_decref(schema);
}

static void check_defaults(const char *schema_text, const char *obj_text,
			   const char *want_obj)
{
	json_t *schema = parse(schema_text);
	json_t *obj = parse(obj_text);

	schema_apply_defaults(obj, schema);
	assert_json(obj, want_obj);
	json_decref(obj);
	json_decref(schema);
}

/* Validates and compares the causes with the JSON array `want`. */
static void check_causes(const char *schema_text, const char *obj_text,
			 const char *want)
{
	json_t *schema = parse(schema_text);
	json_t *obj = parse(obj_text);
	json_t *causes = json_array();
	int n = schema_validate(obj, schema, causes);

	assert_int_equal(n, (int)json_array_size(causes));
	assert_json(causes, want);
	json_decref(causes);
	json_decref(obj);
	json_decref(schema);
}

/* A root schema whose spec has the single property `prop` = `prop_schema`. */
static char *spec_schema(const char *prop, const char *prop_schema)
{
	size_t n = strlen(prop) + strlen(prop_schema) + 200;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n,
		 "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":"
		 "\"object\",\"properties\":{\"%s\":%s}}}}",
		 prop, prop_schema);
	return s;
}

/* One spec field against one property schema: expects `want` causes. */
static void check_field(const char *prop_schema, const char *value,
			const char *want)
{
	char *schema = spec_schema("f", prop_schema);
	size_t n = strlen(value) + 32;
	char *obj = malloc(n);

	assert_non_null(obj);
	snprintf(obj, n, "{\"spec\":{\"f\":%s}}", value);
	check_causes(schema, obj, want);
	free(obj);
	free(schema);
}

/* A single cause on spec.f with this reason and message. */
static void check_one(const char *prop_schema, const char *value,
		      const char *reason, const char *message)
{
	json_t *want = json_pack("[{s:s, s:s, s:s}]", "reason", reason,
				 "message", message, "field", "spec.f");
	char *w = json_dumps(want, 0);

	check_field(prop_schema, value, w);
	free(w);
	json_decref(want);
}

static void check_invalid(const char *prop_schema, const char *value,
			  const char *message)
{
	check_one(prop_schema, value, "FieldValueInvalid", message);
}

/* check_causes() on a spec with one property `prop` = `prop_schema`. */
static void check_spec(const char *prop, const char *prop_schema,
		       const char *obj_text, const char *want)
{
	char *schema = spec_schema(prop, prop_schema);

	check_causes(schema, obj_text, want);
	free(schema);
}

static void check_valid(const char *prop_schema, const char *value)
{
	check_field(prop_schema, value, "[]");
}

/* ---- pruning ---- */

static const char *rollout_schema =
	"{\"type\":\"object\",\"properties\":{"
	"\"apiVersion\":{\"type\":\"string\"},"
	"\"kind\":{\"type\":\"string\"},"
	"\"metadata\":{\"type\":\"object\"},"
	"\"spec\":{\"type\":\"object\",\"properties\":{"
	"\"replicas\":{\"type\":\"integer\"},"
	"\"steps\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"weight\":{\"type\":\"integer\"}}}}}}}}";

static void test_prune_unknown_fields(void **state)
{
	check_prune(rollout_schema,
		    "{\"apiVersion\":\"knit.dev/v1\",\"kind\":\"Rollout\","
		    "\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"y\"}},"
		    "\"bogus\":1,\"spec\":{\"replicas\":2,\"foo\":{\"b\":1},"
		    "\"abc\":true}}",
		    "{\"apiVersion\":\"knit.dev/v1\",\"kind\":\"Rollout\","
		    "\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"y\"}},"
		    "\"spec\":{\"replicas\":2}}",
		    "[\"bogus\",\"spec.abc\",\"spec.foo\"]");
}

static void test_prune_root_meta_without_schema(void **state)
{
	/* apiVersion/kind/metadata survive even when the schema omits them */
	check_prune("{\"type\":\"object\",\"properties\":{}}",
		    "{\"apiVersion\":\"v\",\"kind\":\"K\",\"metadata\":"
		    "{\"name\":\"n\",\"x\":1},\"spec\":{}}",
		    "{\"apiVersion\":\"v\",\"kind\":\"K\",\"metadata\":"
		    "{\"name\":\"n\",\"x\":1}}",
		    "[\"spec\"]");
}

static void test_prune_array_items(void **state)
{
	check_prune(rollout_schema,
		    "{\"spec\":{\"steps\":[{\"weight\":1,\"bar\":2},"
		    "{\"baz\":3},{\"weight\":4}]}}",
		    "{\"spec\":{\"steps\":[{\"weight\":1},{},{\"weight\":4}]}}",
		    "[\"spec.steps[0].bar\",\"spec.steps[1].baz\"]");
}

static void test_prune_array_without_items_schema(void **state)
{
	/* with no items schema, object elements lose every field */
	check_prune("{\"type\":\"object\",\"properties\":{\"l\":{\"type\":"
		    "\"array\"}}}",
		    "{\"l\":[1,{\"a\":1}]}", "{\"l\":[1,{}]}", "[\"l[1].a\"]");
}

static void test_prune_preserve_unknown_fields(void **state)
{
	check_prune("{\"type\":\"object\",\"properties\":{\"spec\":{"
		    "\"type\":\"object\","
		    "\"x-kubernetes-preserve-unknown-fields\":true,"
		    "\"properties\":{\"known\":{\"type\":\"object\","
		    "\"properties\":{\"a\":{\"type\":\"integer\"}}}}}}}",
		    "{\"spec\":{\"anything\":{\"deep\":[{\"x\":1}]},"
		    "\"known\":{\"a\":1,\"b\":2}}}",
		    "{\"spec\":{\"anything\":{\"deep\":[{\"x\":1}]},"
		    "\"known\":{\"a\":1}}}",
		    "[\"spec.known.b\"]");
}

static void test_prune_preserve_at_root(void **state)
{
	check_prune("{\"type\":\"object\","
		    "\"x-kubernetes-preserve-unknown-fields\":true,"
		    "\"properties\":{\"spec\":{\"type\":\"object\","
		    "\"properties\":{\"a\":{\"type\":\"string\"}}}}}",
		    "{\"extra\":1,\"spec\":{\"a\":\"x\",\"b\":\"y\"}}",
		    "{\"extra\":1,\"spec\":{\"a\":\"x\"}}", "[\"spec.b\"]");
}

static void test_prune_embedded_resource(void **state)
{
	check_prune("{\"type\":\"object\",\"properties\":{\"spec\":{"
		    "\"type\":\"object\",\"properties\":{\"template\":{"
		    "\"type\":\"object\","
		    "\"x-kubernetes-embedded-resource\":true,"
		    "\"properties\":{\"spec\":{\"type\":\"object\","
		    "\"properties\":{\"x\":{\"type\":\"integer\"}}}}}}}}}",
		    "{\"spec\":{\"template\":{\"apiVersion\":\"v1\","
		    "\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
		    "\"labels\":{\"a\":\"b\"}},\"spec\":{\"x\":1,\"y\":2},"
		    "\"extra\":true}}}",
		    "{\"spec\":{\"template\":{\"apiVersion\":\"v1\","
		    "\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
		    "\"labels\":{\"a\":\"b\"}},\"spec\":{\"x\":1}}}}",
		    "[\"spec.template.extra\",\"spec.template.spec.y\"]");
}

static void test_prune_not_embedded_drops_meta(void **state)
{
	/* below the root, apiVersion/kind/metadata are ordinary fields */
	check_prune("{\"type\":\"object\",\"properties\":{\"spec\":{"
		    "\"type\":\"object\",\"properties\":{}}}}",
		    "{\"spec\":{\"kind\":\"K\",\"metadata\":{}}}",
		    "{\"spec\":{}}", "[\"spec.kind\",\"spec.metadata\"]");
}

static void test_prune_additional_properties(void **state)
{
	check_prune("{\"type\":\"object\",\"properties\":{\"spec\":{"
		    "\"type\":\"object\",\"properties\":{"
		    "\"labels\":{\"type\":\"object\",\"additionalProperties\":"
		    "{\"type\":\"string\"}},"
		    "\"config\":{\"type\":\"object\",\"additionalProperties\":"
		    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
		    "\"integer\"}}}},"
		    "\"free\":{\"type\":\"object\","
		    "\"additionalProperties\":true}}}}}",
		    "{\"spec\":{\"labels\":{\"k\":\"v\",\"k2\":\"v2\"},"
		    "\"config\":{\"c1\":{\"a\":1,\"b\":2}},"
		    "\"free\":{\"s\":\"x\",\"o\":{\"n\":1}}}}",
		    "{\"spec\":{\"labels\":{\"k\":\"v\",\"k2\":\"v2\"},"
		    "\"config\":{\"c1\":{\"a\":1}},"
		    "\"free\":{\"s\":\"x\",\"o\":{}}}}",
		    "[\"spec.config.c1.b\",\"spec.free.o.n\"]");
}

static void test_prune_without_tracking(void **state)
{
	json_t *schema = parse(rollout_schema);
	json_t *obj = parse("{\"spec\":{\"x\":1},\"kind\":\"K\"}");

	schema_prune(obj, schema, NULL);
	assert_json(obj, "{\"spec\":{},\"kind\":\"K\"}");
	schema_prune(obj, NULL, NULL);
	assert_json(obj, "{\"kind\":\"K\"}");
	json_decref(obj);
	json_decref(schema);
}

static void test_prune_appends_to_existing(void **state)
{
	json_t *schema = parse(rollout_schema);
	json_t *obj = parse("{\"spec\":{\"z\":1,\"a\":1}}");
	json_t *pruned = parse("[\"earlier\"]");

	schema_prune(obj, schema, pruned);
	assert_json(pruned, "[\"earlier\",\"spec.a\",\"spec.z\"]");
	json_decref(pruned);
	json_decref(obj);
	json_decref(schema);
}

/* ---- defaulting ---- */

static const char *defaults_schema =
	"{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\","
	"\"properties\":{"
	"\"replicas\":{\"type\":\"integer\",\"default\":1},"
	"\"strategy\":{\"type\":\"object\",\"default\":{},\"properties\":{"
	"\"type\":{\"type\":\"string\",\"default\":\"Canary\"},"
	"\"steps\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"weight\":{\"type\":\"integer\",\"default\":10},"
	"\"pause\":{\"type\":\"string\"}}}}}},"
	"\"ports\":{\"type\":\"object\",\"additionalProperties\":{"
	"\"type\":\"object\",\"properties\":{\"port\":{\"type\":\"integer\","
	"\"default\":80}}}},"
	"\"noDefault\":{\"type\":\"object\",\"properties\":{\"a\":{"
	"\"type\":\"integer\",\"default\":5}}}}}}}";

static void test_defaults_nested(void **state)
{
	check_defaults(defaults_schema, "{\"spec\":{}}",
		       "{\"spec\":{\"replicas\":1,\"strategy\":"
		       "{\"type\":\"Canary\"}}}");
	/* no spec and no default for spec: nothing is created */
	check_defaults(defaults_schema, "{\"kind\":\"K\"}", "{\"kind\":\"K\"}");
}

static void test_defaults_keep_existing_values(void **state)
{
	check_defaults(defaults_schema,
		       "{\"spec\":{\"replicas\":0,\"strategy\":"
		       "{\"type\":\"BlueGreen\"},\"noDefault\":{\"a\":7}}}",
		       "{\"spec\":{\"replicas\":0,\"strategy\":"
		       "{\"type\":\"BlueGreen\"},\"noDefault\":{\"a\":7}}}");
}

static void test_defaults_in_arrays_and_maps(void **state)
{
	check_defaults(defaults_schema,
		       "{\"spec\":{\"strategy\":{\"steps\":[{},"
		       "{\"weight\":50},{\"pause\":\"1m\"}]},"
		       "\"ports\":{\"http\":{},\"https\":{\"port\":443}}}}",
		       "{\"spec\":{\"replicas\":1,\"strategy\":{\"type\":"
		       "\"Canary\",\"steps\":[{\"weight\":10},"
		       "{\"weight\":50},{\"weight\":10,\"pause\":\"1m\"}]},"
		       "\"ports\":{\"http\":{\"port\":80},"
		       "\"https\":{\"port\":443}}}}");
}

static void test_defaults_nulls(void **state)
{
	const char *schema =
		"{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":"
		"\"object\",\"properties\":{"
		"\"a\":{\"type\":\"string\"},"
		"\"b\":{\"type\":\"string\",\"default\":\"x\"},"
		"\"c\":{\"type\":\"string\",\"nullable\":true},"
		"\"d\":{\"type\":\"string\",\"nullable\":true,"
		"\"default\":\"y\"},"
		"\"list\":{\"type\":\"array\",\"items\":{\"type\":"
		"\"integer\",\"default\":0}},"
		"\"m\":{\"type\":\"object\",\"additionalProperties\":{"
		"\"type\":\"string\"}}}}}}";

	/* non-nullable nulls: dropped, or replaced by the default; nullable
	 * nulls stay even with a default */
	check_defaults(schema,
		       "{\"spec\":{\"a\":null,\"b\":null,\"c\":null,"
		       "\"d\":null,\"list\":[1,null],\"m\":{\"k\":null},"
		       "\"unknown\":null}}",
		       "{\"spec\":{\"b\":\"x\",\"c\":null,\"d\":null,"
		       "\"list\":[1,0],\"m\":{},\"unknown\":null}}");
}

static void test_defaults_copy_is_independent(void **state)
{
	json_t *schema = parse(defaults_schema);
	json_t *a = parse("{\"spec\":{}}");
	json_t *b = parse("{\"spec\":{}}");

	schema_apply_defaults(a, schema);
	schema_apply_defaults(b, schema);
	json_object_set_new(
		json_object_get(json_object_get(a, "spec"), "strategy"), "type",
		json_string("changed"));
	assert_json(b, "{\"spec\":{\"replicas\":1,\"strategy\":"
		       "{\"type\":\"Canary\"}}}");
	assert_json(json_object_get(schema, "type"), "\"object\"");
	json_decref(a);
	json_decref(b);
	json_decref(schema);
}

/* ---- validation: numbers ---- */

static void test_validate_minimum_maximum(void **state)
{
	check_spec("replicas", "{\"type\":\"integer\",\"minimum\":0}",
		   "{\"spec\":{\"replicas\":-1}}",
		   "[{\"reason\":\"FieldValueInvalid\",\"message\":"
		   "\"Invalid value: -1: spec.replicas in body should be "
		   "greater than or equal to 0\",\"field\":"
		   "\"spec.replicas\"}]");
	check_valid("{\"type\":\"integer\",\"minimum\":0}", "0");
	check_invalid("{\"type\":\"integer\",\"minimum\":0,"
		      "\"exclusiveMinimum\":true}",
		      "0",
		      "Invalid value: 0: spec.f in body should be greater "
		      "than 0");
	check_invalid("{\"type\":\"integer\",\"maximum\":10}", "11",
		      "Invalid value: 11: spec.f in body should be less than "
		      "or equal to 10");
	check_valid("{\"type\":\"integer\",\"maximum\":10}", "10");
	check_invalid("{\"type\":\"integer\",\"maximum\":10,"
		      "\"exclusiveMaximum\":true}",
		      "10",
		      "Invalid value: 10: spec.f in body should be less than "
		      "10");
}

static void test_validate_number_formatting(void **state)
{
	check_invalid("{\"type\":\"number\",\"minimum\":1.5}", "0.5",
		      "Invalid value: 0.5: spec.f in body should be greater "
		      "than or equal to 1.5");
	/* Go prints float64 bounds with %v: 1e+06, 1.5e-05 */
	check_invalid("{\"type\":\"number\",\"minimum\":1000000}", "5.5",
		      "Invalid value: 5.5: spec.f in body should be greater "
		      "than or equal to 1e+06");
	check_invalid("{\"type\":\"number\",\"maximum\":0.000015}", "0.25",
		      "Invalid value: 0.25: spec.f in body should be less than "
		      "or equal to 1.5e-05");
	check_invalid("{\"type\":\"number\",\"maximum\":123456}", "123456.5",
		      "Invalid value: 123456.5: spec.f in body should be less "
		      "than or equal to 123456");
	/* integral reals print without a fraction, as Go's %v does */
	check_invalid("{\"type\":\"integer\",\"maximum\":2}", "3.0",
		      "Invalid value: 3: spec.f in body should be less than "
		      "or equal to 2");
	/* integer data compares against the bound truncated to int64 */
	check_invalid("{\"type\":\"integer\",\"minimum\":2.5}", "1",
		      "Invalid value: 1: spec.f in body should be greater "
		      "than or equal to 2");
}

static void test_validate_multiple_of(void **state)
{
	check_invalid("{\"type\":\"integer\",\"multipleOf\":5}", "7",
		      "Invalid value: 7: spec.f in body should be a multiple "
		      "of 5");
	check_valid("{\"type\":\"integer\",\"multipleOf\":5}", "15");
	check_valid("{\"type\":\"number\",\"multipleOf\":0.1}", "0.3");
	check_invalid("{\"type\":\"number\",\"multipleOf\":0.5}", "0.7",
		      "Invalid value: 0.7: spec.f in body should be a multiple "
		      "of 0.5");
}

/* ---- validation: types ---- */

static void test_validate_type(void **state)
{
	check_spec("replicas", "{\"type\":\"integer\"}",
		   "{\"spec\":{\"replicas\":\"string\"}}",
		   "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		   "\"Invalid value: \\\"string\\\": spec.replicas in body "
		   "must be of type integer: \\\"string\\\"\",\"field\":"
		   "\"spec.replicas\"}]");
	check_field("{\"type\":\"integer\"}", "1.5",
		    "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"number\\\": spec.f in body must be "
		    "of type integer: \\\"number\\\"\",\"field\":\"spec.f\"}]");
	check_field("{\"type\":\"object\"}", "true",
		    "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"boolean\\\": spec.f in body must be "
		    "of type object: \\\"boolean\\\"\",\"field\":\"spec.f\"}]");
	check_field("{\"type\":\"string\"}", "[1]",
		    "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"array\\\": spec.f in body must be "
		    "of type string: \\\"array\\\"\",\"field\":\"spec.f\"}]");
	check_valid("{\"type\":\"integer\"}", "2.0");
	check_valid("{\"type\":\"number\"}", "2");
	check_valid("{\"type\":\"boolean\"}", "false");
	check_valid("{\"type\":\"array\"}", "[]");
	check_valid("{\"x-kubernetes-preserve-unknown-fields\":true}", "7");
}

static void test_validate_null_and_nullable(void **state)
{
	check_field("{\"type\":\"string\"}", "null",
		    "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"null\\\": spec.f in body must be "
		    "of type string: \\\"null\\\"\",\"field\":\"spec.f\"}]");
	check_valid("{\"type\":\"string\",\"nullable\":true}", "null");
	/* a null is not checked against the other keywords */
	check_valid("{\"type\":\"string\",\"nullable\":true,"
		    "\"minLength\":3}",
		    "null");
}

static void test_validate_int_or_string(void **state)
{
	const char *ios = "{\"x-kubernetes-int-or-string\":true}";

	check_valid(ios, "3");
	check_valid(ios, "\"50%\"");
	check_field(ios, "true",
		    "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"boolean\\\": spec.f in body must be "
		    "of type integer,string: \\\"boolean\\\"\",\"field\":"
		    "\"spec.f\"}]");
}

static void test_validate_format_type(void **state)
{
	check_valid("{\"type\":\"integer\",\"format\":\"int32\"}", "5");
	check_field("{\"type\":\"integer\",\"format\":\"int32\"}", "true",
		    "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"\\\": spec.f in body must be of "
		    "type int32: \\\"\\\"\",\"field\":\"spec.f\"}]");
	check_field("{\"type\":\"integer\",\"format\":\"int32\"}", "\"x\"",
		    "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"string\\\": spec.f in body must be "
		    "of type integer: \\\"string\\\"\",\"field\":\"spec.f\"}]");
}

/* ---- validation: required, enum ---- */

static void test_validate_required(void **state)
{
	check_causes("{\"type\":\"object\",\"required\":[\"spec\"],"
		     "\"properties\":{\"spec\":{\"type\":\"object\","
		     "\"required\":[\"target\",\"replicas\"],\"properties\":{"
		     "\"target\":{\"type\":\"string\"},"
		     "\"replicas\":{\"type\":\"integer\"}}}}}",
		     "{\"spec\":{\"replicas\":1}}",
		     "[{\"reason\":\"FieldValueRequired\",\"message\":"
		     "\"Required value\",\"field\":\"spec.target\"}]");
	check_causes("{\"type\":\"object\",\"required\":[\"spec\"],"
		     "\"properties\":{\"spec\":{\"type\":\"object\"}}}",
		     "{\"kind\":\"K\"}",
		     "[{\"reason\":\"FieldValueRequired\",\"message\":"
		     "\"Required value\",\"field\":\"spec\"}]");
	/* a present null satisfies required (the type check reports it) */
	check_causes("{\"type\":\"object\",\"required\":[\"a\"],"
		     "\"properties\":{\"a\":{\"type\":\"string\","
		     "\"nullable\":true}}}",
		     "{\"a\":null}", "[]");
}

static void test_validate_enum(void **state)
{
	check_field("{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}", "\"x\"",
		    "[{\"reason\":\"FieldValueNotSupported\",\"message\":"
		    "\"Unsupported value: \\\"x\\\": supported values: "
		    "\\\"a\\\", \\\"b\\\"\",\"field\":\"spec.f\"}]");
	check_valid("{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}", "\"b\"");
	check_field("{\"type\":\"integer\",\"enum\":[1,2]}", "3",
		    "[{\"reason\":\"FieldValueNotSupported\",\"message\":"
		    "\"Unsupported value: 3: supported values: \\\"1\\\", "
		    "\\\"2\\\"\",\"field\":\"spec.f\"}]");
	/* values are converted to the enum value's type before comparing */
	check_valid("{\"type\":\"number\",\"enum\":[1.0,2.5]}", "1");
	check_valid("{\"type\":\"integer\",\"enum\":[1,2]}", "2.0");
	/* non-string values are listed as their JSON (HTML-escaped, sorted) */
	check_one("{\"type\":\"object\",\"enum\":[{\"b\":1,\"a\":\"<\"}]}",
		  "{\"a\":1}", "FieldValueNotSupported",
		  "Unsupported value: {\"a\":1}: supported values: "
		  "\"{\\\"a\\\":\\\"\\\\u003c\\\",\\\"b\\\":1}\"");
	check_one("{\"type\":\"string\",\"nullable\":true,"
		  "\"enum\":[\"a\"]}",
		  "null", "FieldValueNotSupported",
		  "Unsupported value: null: supported values: \"a\"");
}

/* ---- validation: strings ---- */

static void test_validate_string_lengths(void **state)
{
	check_field("{\"type\":\"string\",\"maxLength\":3}", "\"abcd\"",
		    "[{\"reason\":\"FieldValueTooLong\",\"message\":"
		    "\"Too long: may not be more than 3 bytes\",\"field\":"
		    "\"spec.f\"}]");
	check_field("{\"type\":\"string\",\"maxLength\":1}", "\"ab\"",
		    "[{\"reason\":\"FieldValueTooLong\",\"message\":"
		    "\"Too long: may not be more than 1 byte\",\"field\":"
		    "\"spec.f\"}]");
	/* lengths count characters, not bytes */
	check_valid("{\"type\":\"string\",\"maxLength\":3}",
		    "\"h\\u00e9\\u00e9\"");
	check_invalid("{\"type\":\"string\",\"minLength\":2}", "\"a\"",
		      "Invalid value: \"a\": spec.f in body should be at "
		      "least 2 chars long");
	/* only the first string failure is reported */
	check_field("{\"type\":\"string\",\"maxLength\":1,"
		    "\"pattern\":\"^[0-9]+$\"}",
		    "\"ab\"",
		    "[{\"reason\":\"FieldValueTooLong\",\"message\":"
		    "\"Too long: may not be more than 1 byte\",\"field\":"
		    "\"spec.f\"}]");
}

static void test_validate_pattern(void **state)
{
	check_invalid("{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}",
		      "\"ABC\"",
		      "Invalid value: \"ABC\": spec.f in body should match "
		      "'^[a-z]+$'");
	check_valid("{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}",
		    "\"abc\"");
	/* Go's MatchString searches: an unanchored pattern matches inside */
	check_valid("{\"type\":\"string\",\"pattern\":\"b\"}", "\"abc\"");
	/* Perl classes work like in Go */
	check_valid("{\"type\":\"string\",\"pattern\":\"^\\\\d+(\\\\.\\\\d+)?"
		    "[smh]$\"}",
		    "\"1.5m\"");
	check_invalid("{\"type\":\"string\",\"pattern\":\"^\\\\d+$\"}",
		      "\"12a\"",
		      "Invalid value: \"12a\": spec.f in body should match "
		      "'^\\d+$'");
	check_valid("{\"type\":\"string\",\"pattern\":\"^[\\\\w.-]+$\"}",
		    "\"a_b.c-d\"");
	check_invalid("{\"type\":\"string\",\"pattern\":\"^[\\\\w.-]+$\"}",
		      "\"a b\"",
		      "Invalid value: \"a b\": spec.f in body should match "
		      "'^[\\w.-]+$'");
}

static void test_validate_quoting_of_values(void **state)
{
	check_invalid("{\"type\":\"string\",\"pattern\":\"^x$\"}",
		      "\"a\\\"b\\\\c\\nd\\u0001\"",
		      "Invalid value: \"a\\\"b\\\\c\\nd\\x01\": spec.f in body "
		      "should match '^x$'");
}

/* ---- validation: arrays and objects ---- */

static void test_validate_items(void **state)
{
	check_field("{\"type\":\"array\",\"minItems\":2}", "[1]",
		    "[{\"reason\":\"FieldValueInvalid\",\"message\":"
		    "\"Invalid value: 1: spec.f in body should have at least "
		    "2 items\",\"field\":\"spec.f\"}]");
	check_field("{\"type\":\"array\",\"maxItems\":1}", "[1,2]",
		    "[{\"reason\":\"FieldValueTooMany\",\"message\":"
		    "\"Too many: 2: must have at most 1 item\",\"field\":"
		    "\"spec.f\"}]");
	check_field("{\"type\":\"array\",\"maxItems\":2}", "[1,2,3]",
		    "[{\"reason\":\"FieldValueTooMany\",\"message\":"
		    "\"Too many: 3: must have at most 2 items\",\"field\":"
		    "\"spec.f\"}]");
	check_field("{\"type\":\"array\",\"items\":{\"type\":\"object\","
		    "\"required\":[\"name\"],\"properties\":{\"name\":{"
		    "\"type\":\"string\"}}}}",
		    "[{\"name\":\"a\"},{},{\"name\":5}]",
		    "[{\"reason\":\"FieldValueRequired\",\"message\":"
		    "\"Required value\",\"field\":\"spec.f[1].name\"},"
		    "{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"integer\\\": spec.f[2].name in body "
		    "must be of type string: \\\"integer\\\"\",\"field\":"
		    "\"spec.f[2].name\"}]");
}

static void test_validate_properties_counts(void **state)
{
	check_field("{\"type\":\"object\",\"minProperties\":2}", "{\"a\":1}",
		    "[{\"reason\":\"FieldValueInvalid\",\"message\":"
		    "\"Invalid value: 1: spec.f in body should have at least "
		    "2 properties\",\"field\":\"spec.f\"}]");
	check_field("{\"type\":\"object\",\"maxProperties\":1}",
		    "{\"a\":1,\"b\":2}",
		    "[{\"reason\":\"FieldValueTooMany\",\"message\":"
		    "\"Too many: 2: must have at most 1 item\",\"field\":"
		    "\"spec.f\"}]");
}

static void test_validate_additional_properties(void **state)
{
	check_field("{\"type\":\"object\",\"additionalProperties\":{"
		    "\"type\":\"string\",\"maxLength\":2}}",
		    "{\"ok\":\"v\",\"bad\":7,\"long\":\"xyz\"}",
		    "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		    "\"Invalid value: \\\"integer\\\": spec.f.bad in body "
		    "must be of type string: \\\"integer\\\"\",\"field\":"
		    "\"spec.f.bad\"},"
		    "{\"reason\":\"FieldValueTooLong\",\"message\":"
		    "\"Too long: may not be more than 2 bytes\",\"field\":"
		    "\"spec.f.long\"}]");
}

static void test_validate_skips_root_metadata(void **state)
{
	check_causes("{\"type\":\"object\",\"properties\":{\"metadata\":{"
		     "\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
		     "\"string\",\"maxLength\":2}}},\"kind\":{\"type\":"
		     "\"string\"}}}",
		     "{\"metadata\":{\"name\":\"long-name\"},\"kind\":1}",
		     "[{\"reason\":\"FieldValueTypeInvalid\",\"message\":"
		     "\"Invalid value: \\\"integer\\\": kind in body must be "
		     "of type string: \\\"integer\\\"\",\"field\":\"kind\"}]");
}

static void test_validate_counts_and_appends(void **state)
{
	char *text = spec_schema("n", "{\"type\":\"integer\",\"minimum\":0,"
				      "\"maximum\":-5}");
	json_t *schema = parse(text);
	json_t *obj = parse("{\"spec\":{\"n\":-1}}");
	json_t *causes = parse("[{\"reason\":\"earlier\"}]");

	assert_int_equal(schema_validate(obj, schema, causes), 2);
	assert_int_equal(json_array_size(causes), 3);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(causes, 2), "message")),
			    "Invalid value: -1: spec.n in body should be less "
			    "than or equal to -5");
	json_decref(causes);
	json_decref(obj);
	json_decref(schema);
	free(text);
}

/* ---- the Status message ---- */

static void check_message(const char *kind, const char *group, const char *name,
			  const char *causes_text, const char *want)
{
	json_t *causes = parse(causes_text);
	char *msg = schema_invalid_message(kind, group, name, causes);

	assert_string_equal(msg, want);
	free(msg);
	json_decref(causes);
}

static void test_invalid_message(void **state)
{
	const char *one = "{\"reason\":\"FieldValueInvalid\",\"message\":"
			  "\"Invalid value: -1: spec.replicas in body should "
			  "be greater than or equal to 0\",\"field\":"
			  "\"spec.replicas\"}";
	const char *two = "{\"reason\":\"FieldValueRequired\",\"message\":"
			  "\"Required value\",\"field\":\"spec.target\"}";
	char both[1024], dup[1024];

	check_message("Rollout", "knit.dev", "demo", "[]",
		      "Rollout.knit.dev \"demo\" is invalid");
	snprintf(both, sizeof(both), "[%s]", one);
	check_message("Rollout", "knit.dev", "demo", both,
		      "Rollout.knit.dev \"demo\" is invalid: spec.replicas: "
		      "Invalid value: -1: spec.replicas in body should be "
		      "greater than or equal to 0");
	snprintf(both, sizeof(both), "[%s,%s]", one, two);
	check_message("Rollout", "knit.dev", "demo", both,
		      "Rollout.knit.dev \"demo\" is invalid: [spec.replicas: "
		      "Invalid value: -1: spec.replicas in body should be "
		      "greater than or equal to 0, spec.target: Required "
		      "value]");
	snprintf(dup, sizeof(dup), "[%s,%s]", two, two);
	check_message("Pod", NULL, "we\"ird", dup,
		      "Pod \"we\\\"ird\" is invalid: spec.target: Required "
		      "value");
}

static void test_end_to_end_message(void **state)
{
	json_t *schema = parse(rollout_schema);
	json_t *obj = parse("{\"spec\":{\"replicas\":\"two\",\"steps\":"
			    "[{\"weight\":true}]}}");
	json_t *causes = json_array();
	char *msg;

	assert_int_equal(schema_validate(obj, schema, causes), 2);
	msg = schema_invalid_message("Rollout", "knit.dev", "demo", causes);
	assert_string_equal(
		msg, "Rollout.knit.dev \"demo\" is invalid: [spec.replicas: "
		     "Invalid value: \"string\": spec.replicas in body must "
		     "be of type integer: \"string\", spec.steps[0].weight: "
		     "Invalid value: \"boolean\": spec.steps[0].weight in "
		     "body must be of type integer: \"boolean\"]");
	free(msg);
	json_decref(causes);
	json_decref(obj);
	json_decref(schema);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prune_unknown_fields),
		cmocka_unit_test(test_prune_root_meta_without_schema),
		cmocka_unit_test(test_prune_array_items),
		cmocka_unit_test(test_prune_array_without_items_schema),
		cmocka_unit_test(test_prune_preserve_unknown_fields),
		cmocka_unit_test(test_prune_preserve_at_root),
		cmocka_unit_test(test_prune_embedded_resource),
		cmocka_unit_test(test_prune_not_embedded_drops_meta),
		cmocka_unit_test(test_prune_additional_properties),
		cmocka_unit_test(test_prune_without_tracking),
		cmocka_unit_test(test_prune_appends_to_existing),
		cmocka_unit_test(test_defaults_nested),
		cmocka_unit_test(test_defaults_keep_existing_values),
		cmocka_unit_test(test_defaults_in_arrays_and_maps),
		cmocka_unit_test(test_defaults_nulls),
		cmocka_unit_test(test_defaults_copy_is_independent),
		cmocka_unit_test(test_validate_minimum_maximum),
		cmocka_unit_test(test_validate_number_formatting),
		cmocka_unit_test(test_validate_multiple_of),
		cmocka_unit_test(test_validate_type),
		cmocka_unit_test(test_validate_null_and_nullable),
		cmocka_unit_test(test_validate_int_or_string),
		cmocka_unit_test(test_validate_format_type),
		cmocka_unit_test(test_validate_required),
		cmocka_unit_test(test_validate_enum),
		cmocka_unit_test(test_validate_string_lengths),
		cmocka_unit_test(test_validate_pattern),
		cmocka_unit_test(test_validate_quoting_of_values),
		cmocka_unit_test(test_validate_items),
		cmocka_unit_test(test_validate_properties_counts),
		cmocka_unit_test(test_validate_additional_properties),
		cmocka_unit_test(test_validate_skips_root_metadata),
		cmocka_unit_test(test_validate_counts_and_appends),
		cmocka_unit_test(test_invalid_message),
		cmocka_unit_test(test_end_to_end_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

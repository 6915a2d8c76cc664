/*
 * Unit tests for devcluster/table: ages, the printer-column JSONPath subset,
 * CRD tables from additionalPrinterColumns, built-in printers and the
 * watch-style table without column definitions. Expected cells follow what
 * kube-apiserver returns for the same objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "devcluster/table.h"

/* 2024-05-01T12:00:00Z */
#define NOW ((time_t)1714564800)

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("bad test JSON: %s at %d", err.text, err.position);
	return j;
}

/* Row `row`, cell `col` of a table (borrowed). */
static json_t *cell(const json_t *table, size_t row, size_t col)
{
	json_t *rows = json_object_get(table, "rows");
	json_t *cells = json_object_get(json_array_get(rows, row), "cells");

	assert_non_null(cells);
	assert_true(col < json_array_size(cells));
	return json_array_get(cells, col);
}

static void assert_cell_str(const json_t *table, size_t row, size_t col,
			    const char *want)
{
	json_t *c = cell(table, row, col);

	if (!json_is_string(c))
		fail_msg("cell %zu/%zu is not a string", row, col);
	assert_string_equal(json_string_value(c), want);
}

static void assert_cell_int(const json_t *table, size_t row, size_t col,
			    json_int_t want)
{
	json_t *c = cell(table, row, col);

	assert_true(json_is_integer(c));
	assert_int_equal(json_integer_value(c), want);
}

/* Names of the column definitions, comma-joined, into buf. */
static const char *column_names(const json_t *table, char *buf, size_t len)
{
	json_t *defs = json_object_get(table, "columnDefinitions"), *d;
	size_t i, off = 0;

	buf[0] = '\0';
	json_array_foreach(defs, i, d)
	{
		off += (size_t)snprintf(
			buf + off, len - off, "%s%s", i ? "," : "",
			json_string_value(json_object_get(d, "name")));
	}
	return buf;
}

static void test_human_duration(void **state)
{
	static const struct {
		double seconds;
		const char *want;
	} cases[] = {
		{-5, "<invalid>"},
		{-2, "<invalid>"},
		{-1.5, "0s"},
		{-0.5, "0s"},
		{0, "0s"},
		{45.9, "45s"},
		{119, "119s"},
		{120, "2m"},
		{330, "5m30s"},
		{599, "9m59s"},
		{600, "10m"},
		{10799, "179m"},
		{3 * 3600, "3h"},
		{3 * 3600 + 15 * 60, "3h15m"},
		{8 * 3600 + 59 * 60, "8h"},
		{47 * 3600 + 59 * 60, "47h"},
		{48 * 3600, "2d"},
		{51 * 3600, "2d3h"},
		{8 * 86400, "8d"},
		{100 * 86400 + 5 * 3600, "100d"},
		{730 * 86400, "2y"},
		{750 * 86400, "2y20d"},
		{8 * 365 * 86400 + 100 * 86400, "8y"},
		{20 * 365 * 86400, "20y"},
		{1e30, "31709791y"},
		{-1e30, "<invalid>"},
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		table_human_duration(cases[i].seconds, out, sizeof(out));
		if (strcmp(out, cases[i].want))
			fail_msg("%g s: got %s, want %s", cases[i].seconds, out,
				 cases[i].want);
	}
	table_human_duration(330, out, 3);
	assert_string_equal(out, "5m");
}

static const char *sample_obj =
	"{\"metadata\":{\"name\":\"demo\",\"labels\":{\"app\":\"web\","
	"\"app.kubernetes.io/name\":\"shop\"}},"
	"\"spec\":{\"replicas\":3,\"weight\":0.25,\"paused\":false,"
	"\"containers\":[{\"name\":\"a\",\"image\":\"nginx:1\"},"
	"{\"name\":\"b\",\"image\":\"busybox\"}]},"
	"\"status\":{\"phase\":\"Progressing\",\"conditions\":["
	"{\"type\":\"Available\",\"status\":\"False\",\"priority\":1},"
	"{\"type\":\"Ready\",\"status\":\"True\",\"priority\":2}]}}";

static void assert_path_str(const json_t *obj, const char *path,
			    const char *want)
{
	json_t *v = table_jsonpath_eval(obj, path);

	if (!json_is_string(v))
		fail_msg("%s: no string result", path);
	assert_string_equal(json_string_value(v), want);
	json_decref(v);
}

static void assert_path_absent(const json_t *obj, const char *path)
{
	json_t *v = table_jsonpath_eval(obj, path);

	if (v)
		fail_msg("%s: expected no match", path);
}

static void test_jsonpath(void **state)
{
	json_t *obj = parse(sample_obj);
	json_t *v;

	v = table_jsonpath_eval(obj, ".spec.replicas");
	assert_true(json_is_integer(v));
	assert_int_equal(json_integer_value(v), 3);
	json_decref(v);

	assert_path_str(obj, ".status.phase", "Progressing");
	assert_path_str(obj, "{.status.phase}", "Progressing");
	assert_path_str(obj, "$.status.phase", "Progressing");
	assert_path_str(obj, ".metadata.labels.app", "web");
	assert_path_str(obj, ".metadata.labels['app.kubernetes.io/name']",
			"shop");
	assert_path_str(obj, ".metadata.labels[\"app.kubernetes.io/name\"]",
			"shop");
	assert_path_str(obj, ".status.conditions[?(@.type==\"Ready\")].status",
			"True");
	assert_path_str(obj,
			".status.conditions[?(@.type == 'Available')]"
			".status",
			"False");
	assert_path_str(obj, ".status.conditions[?(@.type!=\"Ready\")].type",
			"Available");
	assert_path_str(obj, ".status.conditions[?(@.priority>1)].type",
			"Ready");
	assert_path_str(obj, ".status.conditions[?(@.status)].type",
			"Available");
	assert_path_str(obj, ".spec.containers[0].image", "nginx:1");
	assert_path_str(obj, ".spec.containers[-1].name", "b");
	/* first match only, like the apiserver's results[0][0] */
	assert_path_str(obj, ".spec.containers[*].name", "a");
	assert_path_str(obj, ".spec.containers.*.image", "nginx:1");

	v = table_jsonpath_eval(obj, ".spec.paused");
	assert_true(json_is_false(v));
	json_decref(v);
	v = table_jsonpath_eval(obj, ".spec.containers");
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 2);
	json_decref(v);

	assert_path_absent(obj, ".spec.missing");
	assert_path_absent(obj, ".status.phase.deeper");
	assert_path_absent(obj, ".spec.containers[5].name");
	assert_path_absent(obj, ".status.conditions[?(@.type==\"Gone\")]");
	assert_path_absent(obj, ".spec..name");
	assert_path_absent(obj, ".spec.containers[0:1]");
	assert_path_absent(obj, "spec");
	assert_path_absent(obj, "{.spec.replicas");
	assert_path_absent(NULL, ".spec");
	json_decref(obj);
}

static const char *crd_columns =
	"[{\"name\":\"Replicas\",\"type\":\"integer\","
	"\"jsonPath\":\".spec.replicas\"},"
	"{\"name\":\"Phase\",\"type\":\"string\",\"jsonPath\":\".status."
	"phase\","
	"\"description\":\"Current phase\"},"
	"{\"name\":\"Ready\",\"type\":\"string\",\"jsonPath\":"
	"\".status.conditions[?(@.type==\\\"Ready\\\")].status\"},"
	"{\"name\":\"Weight\",\"type\":\"number\",\"jsonPath\":\".spec."
	"weight\","
	"\"priority\":1},"
	"{\"name\":\"Started\",\"type\":\"date\",\"jsonPath\":"
	"\".status.startedAt\"},"
	"{\"name\":\"Ports\",\"type\":\"string\",\"jsonPath\":\".spec.ports\"},"
	"{\"name\":\"Count\",\"type\":\"string\",\"jsonPath\":\".spec.count\"},"
	"{\"name\":\"Age\",\"type\":\"date\",\"jsonPath\":"
	"\".metadata.creationTimestamp\"}]";

static void test_crd_table(void **state)
{
	json_t *cols = parse(crd_columns);
	json_t *items = parse(
		"[{\"metadata\":{\"name\":\"r1\",\"namespace\":\"default\","
		"\"creationTimestamp\":\"2024-05-01T11:55:00Z\","
		"\"managedFields\":[{\"manager\":\"kubectl\"}]},"
		"\"spec\":{\"replicas\":2,\"weight\":0.5,\"ports\":[80,443],"
		"\"count\":1000000.0},"
		"\"status\":{\"phase\":\"Running\",\"startedAt\":"
		"\"2024-04-28T09:00:00+02:00\",\"conditions\":[{\"type\":"
		"\"Ready\",\"status\":\"True\"}]}},"
		"{\"metadata\":{\"name\":\"r2\",\"namespace\":\"default\","
		"\"creationTimestamp\":\"2024-05-01T11:59:15.5Z\"},"
		"\"spec\":{\"replicas\":1.9,\"count\":7},"
		"\"status\":{\"startedAt\":\"yesterday\"}}]");
	json_t *meta = parse("{\"resourceVersion\":\"106\",\"continue\":\"t\","
			     "\"remainingItemCount\":4}");
	json_t *t = table_build("example.com", "rollouts", cols, items, meta,
				true, NOW);
	json_t *defs = json_object_get(t, "columnDefinitions");
	json_t *obj;
	char names[256];

	assert_string_equal(json_string_value(json_object_get(t, "kind")),
			    "Table");
	assert_string_equal(json_string_value(json_object_get(t, "apiVersion")),
			    "meta.k8s.io/v1");
	assert_true(json_equal(json_object_get(t, "metadata"), meta));
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Replicas,Phase,Ready,Weight,Started,Ports,"
			    "Count,Age");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(defs, 0), "format")),
			    "name");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(defs, 1), "description")),
			    "Custom resource definition column (in JSONPath "
			    "format): .spec.replicas");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(defs, 2), "description")),
			    "Current phase");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(defs, 4), "priority")),
			 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(defs, 5), "type")),
			    "date");

	/* row 1: all values present */
	assert_cell_str(t, 0, 0, "r1");
	assert_cell_int(t, 0, 1, 2);
	assert_cell_str(t, 0, 2, "Running");
	assert_cell_str(t, 0, 3, "True");
	assert_true(json_is_real(cell(t, 0, 4)));
	assert_true(json_real_value(cell(t, 0, 4)) == 0.5);
	assert_cell_str(t, 0, 5, "3d5h"); /* 07:00Z Apr 28 -> 12:00Z May 1 */
	assert_cell_str(t, 0, 6, "[80,443]");
	assert_cell_str(t, 0, 7, "1e+06");
	assert_cell_str(t, 0, 8, "5m");

	/* row 2: missing values are null, integers truncate, bad dates */
	assert_cell_int(t, 1, 1, 1);
	assert_true(json_is_null(cell(t, 1, 2)));
	assert_true(json_is_null(cell(t, 1, 3)));
	assert_true(json_is_null(cell(t, 1, 4)));
	assert_cell_str(t, 1, 5, "<invalid>");
	assert_true(json_is_null(cell(t, 1, 6)));
	assert_cell_str(t, 1, 7, "7");
	assert_cell_str(t, 1, 8, "44s");

	obj = json_object_get(json_array_get(json_object_get(t, "rows"), 0),
			      "object");
	assert_string_equal(json_string_value(json_object_get(obj, "kind")),
			    "PartialObjectMetadata");
	assert_string_equal(
		json_string_value(json_object_get(obj, "apiVersion")),
		"meta.k8s.io/v1");
	obj = json_object_get(obj, "metadata");
	assert_string_equal(
		json_string_value(json_object_get(obj, "namespace")),
		"default");
	assert_null(json_object_get(obj, "managedFields"));
	/* the input is untouched */
	assert_non_null(json_object_get(
		json_object_get(json_array_get(items, 0), "metadata"),
		"managedFields"));

	json_decref(t);
	json_decref(meta);
	json_decref(items);
	json_decref(cols);
}

/* How non-string values print in string columns and typed columns. */
static void test_cell_types(void **state)
{
	json_t *cols = parse(
		"[{\"name\":\"S1\",\"type\":\"string\",\"jsonPath\":\".a\"},"
		"{\"name\":\"S2\",\"type\":\"string\",\"jsonPath\":\".b\"},"
		"{\"name\":\"S3\",\"type\":\"string\",\"jsonPath\":\".c\"},"
		"{\"name\":\"S4\",\"type\":\"string\",\"jsonPath\":\".d\"},"
		"{\"name\":\"B\",\"type\":\"boolean\",\"jsonPath\":\".a\"},"
		"{\"name\":\"B2\",\"type\":\"boolean\",\"jsonPath\":\".e\"},"
		"{\"name\":\"I\",\"type\":\"integer\",\"jsonPath\":\".e\"},"
		"{\"name\":\"N\",\"type\":\"number\",\"jsonPath\":\".f\"},"
		"{\"name\":\"D\",\"type\":\"date\",\"jsonPath\":\".f\"}]");
	json_t *items = parse("[{\"metadata\":{\"name\":\"x\"},\"a\":true,"
			      "\"b\":null,\"c\":{\"z\":1,\"a\":[1,\"q\"]},"
			      "\"d\":-0.0001,\"e\":\"12\",\"f\":3}]");
	json_t *t = table_build("x.io", "things", cols, items, NULL, true, NOW);

	assert_cell_str(t, 0, 1, "true");
	assert_cell_str(t, 0, 2, "<no value>");
	assert_cell_str(t, 0, 3, "{\"a\":[1,\"q\"],\"z\":1}");
	assert_cell_str(t, 0, 4, "-0.0001");
	assert_true(json_is_true(cell(t, 0, 5)));
	assert_true(json_is_null(cell(t, 0, 6)));
	assert_true(json_is_null(cell(t, 0, 7)));
	assert_true(json_is_real(cell(t, 0, 8)));
	assert_true(json_real_value(cell(t, 0, 8)) == 3.0);
	assert_true(json_is_null(cell(t, 0, 9)));
	json_decref(t);
	json_decref(items);
	json_decref(cols);
}

static void test_crd_default_columns(void **state)
{
	json_t *items =
		parse("[{\"metadata\":{\"name\":\"x\","
		      "\"creationTimestamp\":\"2024-04-30T12:00:00Z\"}},"
		      "{\"metadata\":{\"name\":\"y\"}}]");
	json_t *empty = json_array();
	json_t *t = table_build("example.com", "widgets", NULL, items, NULL,
				true, NOW);
	json_t *t2 = table_build("example.com", "widgets", empty, items, NULL,
				 true, NOW);
	char names[64];

	assert_string_equal(column_names(t, names, sizeof(names)), "Name,Age");
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(t, "columnDefinitions"),
				       1),
			"type")),
		"date");
	assert_cell_str(t, 0, 0, "x");
	assert_cell_str(t, 0, 1, "24h");
	assert_true(json_is_null(cell(t, 1, 1)));
	assert_int_equal(json_object_size(json_object_get(t, "metadata")), 0);
	assert_true(json_equal(t, t2));
	json_decref(t);
	json_decref(t2);
	json_decref(empty);
	json_decref(items);
}

static void test_watch_table(void **state)
{
	json_t *cols = parse(crd_columns);
	json_t *items = parse("[{\"metadata\":{\"name\":\"r1\","
			      "\"resourceVersion\":\"7\"},"
			      "\"spec\":{\"replicas\":4}}]");
	json_t *t = table_build("example.com", "rollouts", cols, items, NULL,
				false, NOW);
	json_t *rows = json_object_get(t, "rows");

	assert_true(json_is_null(json_object_get(t, "columnDefinitions")));
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_array_size(json_object_get(
				 json_array_get(rows, 0), "cells")),
			 9);
	assert_cell_int(t, 0, 1, 4);

	json_decref(t);
	t = table_build("", "pods", NULL, NULL, NULL, false, NOW);
	assert_int_equal(json_array_size(json_object_get(t, "rows")), 0);
	assert_true(json_is_null(json_object_get(t, "columnDefinitions")));
	json_decref(t);
	json_decref(items);
	json_decref(cols);
}

static json_t *build_one(const char *group, const char *resource,
			 const char *item_json)
{
	char *arr = NULL;
	json_t *items, *t;
	size_t n = strlen(item_json) + 3;

	arr = test_malloc(n);
	snprintf(arr, n, "[%s]", item_json);
	items = parse(arr);
	test_free(arr);
	t = table_build(group, resource, NULL, items, NULL, true, NOW);
	json_decref(items);
	return t;
}

static void test_pods(void **state)
{
	char names[256];
	json_t *t = build_one(
		"", "pods",
		"{\"metadata\":{\"name\":\"web-1\",\"creationTimestamp\":"
		"\"2024-05-01T11:00:00Z\"},"
		"\"spec\":{\"nodeName\":\"node-a\",\"containers\":[{\"name\":"
		"\"c\"},{\"name\":\"d\"}]},"
		"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\","
		"\"podIPs\":[{\"ip\":\"10.0.0.5\"}],\"containerStatuses\":["
		"{\"name\":\"c\",\"ready\":true,\"restartCount\":0,\"state\":"
		"{\"running\":{}}},"
		"{\"name\":\"d\",\"ready\":false,\"restartCount\":2,\"state\":"
		"{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
		"\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":"
		"\"2024-05-01T11:57:00Z\"}}}]}}");

	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Ready,Status,Restarts,Age,IP,Node,"
			    "Nominated Node,Readiness Gates");
	assert_int_equal(
		json_integer_value(json_object_get(
			json_array_get(json_object_get(t, "columnDefinitions"),
				       5),
			"priority")),
		1);
	assert_cell_str(t, 0, 0, "web-1");
	assert_cell_str(t, 0, 1, "1/2");
	assert_cell_str(t, 0, 2, "CrashLoopBackOff");
	assert_cell_str(t, 0, 3, "2 (3m ago)");
	assert_cell_str(t, 0, 4, "60m");
	assert_cell_str(t, 0, 5, "10.0.0.5");
	assert_cell_str(t, 0, 6, "node-a");
	assert_cell_str(t, 0, 7, "<none>");
	assert_cell_str(t, 0, 8, "<none>");
	assert_null(json_object_get(
		json_array_get(json_object_get(t, "rows"), 0), "conditions"));
	json_decref(t);

	/* pending pod without status: phase, 0/1, "<none>" IP and node */
	t = build_one(
		"", "pods",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":"
		"[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Pending\"}}");
	assert_cell_str(t, 0, 1, "0/1");
	assert_cell_str(t, 0, 2, "Pending");
	assert_cell_str(t, 0, 3, "0");
	assert_cell_str(t, 0, 4, "<unknown>");
	assert_cell_str(t, 0, 5, "<none>");
	assert_cell_str(t, 0, 6, "<none>");
	json_decref(t);
}

static void test_pod_states(void **state)
{
	json_t *t = build_one(
		"", "pods",
		"{\"metadata\":{\"name\":\"done\"},\"spec\":{\"containers\":"
		"[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Succeeded\","
		"\"containerStatuses\":[{\"name\":\"c\",\"ready\":false,"
		"\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":"
		"\"Completed\"}}}]}}");
	json_t *conds = json_object_get(
		json_array_get(json_object_get(t, "rows"), 0), "conditions");

	assert_cell_str(t, 0, 1, "0/1");
	assert_cell_str(t, 0, 2, "Completed");
	assert_true(json_is_array(conds));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(conds, 0), "type")),
			    "Completed");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(conds, 0), "reason")),
			    "Succeeded");
	json_decref(t);

	t = build_one("", "pods",
		      "{\"metadata\":{\"name\":\"bye\",\"deletionTimestamp\":"
		      "\"2024-05-01T11:59:00Z\"},\"spec\":{\"containers\":[{"
		      "\"name\":\"c\"}]},\"status\":{\"phase\":\"Running\","
		      "\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,"
		      "\"state\":{\"running\":{}}}]}}");
	assert_cell_str(t, 0, 1, "1/1");
	assert_cell_str(t, 0, 2, "Terminating");
	json_decref(t);

	t = build_one(
		"", "pods",
		"{\"metadata\":{\"name\":\"init\"},\"spec\":{"
		"\"initContainers\":"
		"[{\"name\":\"i1\"},{\"name\":\"i2\"}],\"containers\":[{"
		"\"name\":\"c\"}],\"readinessGates\":[{\"conditionType\":"
		"\"x/ok\"}]},\"status\":{\"phase\":\"Pending\","
		"\"conditions\":[{\"type\":\"x/ok\",\"status\":\"True\"}],"
		"\"initContainerStatuses\":[{\"name\":\"i1\",\"state\":{"
		"\"terminated\":{\"exitCode\":0}}},{\"name\":\"i2\",\"state\":"
		"{\"running\":{}}}],\"containerStatuses\":[{\"name\":\"c\","
		"\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}");
	assert_cell_str(t, 0, 2, "Init:1/2");
	assert_cell_str(t, 0, 8, "1/1");
	json_decref(t);

	t = build_one(
		"", "pods",
		"{\"metadata\":{\"name\":\"oom\"},\"spec\":{\"containers\":"
		"[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Running\","
		"\"containerStatuses\":[{\"name\":\"c\",\"restartCount\":"
		"1,\"state\":{\"terminated\":{\"exitCode\":137}}}]}}");
	assert_cell_str(t, 0, 2, "ExitCode:137");
	assert_cell_str(t, 0, 3, "1");
	json_decref(t);
}

static void test_deployments(void **state)
{
	char names[256];
	json_t *t = build_one(
		"apps", "deployments",
		"{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":"
		"\"2024-04-29T12:00:00Z\"},\"spec\":{\"replicas\":3,"
		"\"selector\":{\"matchLabels\":{\"app\":\"web\"},"
		"\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\","
		"\"values\":[\"fe\",\"be\"]}]},\"template\":{\"spec\":{"
		"\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\"},"
		"{\"name\":\"log\",\"image\":\"busybox\"}]}}},"
		"\"status\":{\"readyReplicas\":2,\"updatedReplicas\":3,"
		"\"availableReplicas\":2}}");

	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Ready,Up-to-date,Available,Age,Containers,"
			    "Images,Selector");
	assert_cell_str(t, 0, 1, "2/3");
	assert_cell_int(t, 0, 2, 3);
	assert_cell_int(t, 0, 3, 2);
	assert_cell_str(t, 0, 4, "2d");
	assert_cell_str(t, 0, 5, "web,log");
	assert_cell_str(t, 0, 6, "nginx:1.25,busybox");
	assert_cell_str(t, 0, 7, "app=web,tier in (be,fe)");
	json_decref(t);

	/* a fresh deployment without status */
	t = build_one("apps", "deployments",
		      "{\"metadata\":{\"name\":\"new\"},\"spec\":{"
		      "\"replicas\":0}}");
	assert_cell_str(t, 0, 1, "0/0");
	assert_cell_int(t, 0, 2, 0);
	assert_cell_str(t, 0, 7, "");
	json_decref(t);

	t = build_one("apps", "replicasets",
		      "{\"metadata\":{\"name\":\"web-5d\"},\"spec\":{"
		      "\"replicas\":2,\"selector\":{\"matchExpressions\":[{"
		      "\"key\":\"canary\",\"operator\":\"DoesNotExist\"}]}},"
		      "\"status\":{\"replicas\":2,\"readyReplicas\":1}}");
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Desired,Current,Ready,Age,Containers,Images,"
			    "Selector");
	assert_cell_int(t, 0, 1, 2);
	assert_cell_int(t, 0, 2, 2);
	assert_cell_int(t, 0, 3, 1);
	assert_cell_str(t, 0, 7, "!canary");
	json_decref(t);
}

static void test_services(void **state)
{
	char names[256];
	json_t *t = build_one(
		"", "services",
		"{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":"
		"\"2024-05-01T11:59:30Z\"},\"spec\":{\"type\":\"ClusterIP\","
		"\"clusterIP\":\"10.96.0.10\",\"clusterIPs\":[\"10.96.0.10\"],"
		"\"selector\":{\"app\":\"web\",\"a\":\"b\"},\"ports\":[{"
		"\"port\":80,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":"
		"\"UDP\"}]}}");

	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Type,Cluster-IP,External-IP,Port(s),Age,"
			    "Selector");
	assert_cell_str(t, 0, 1, "ClusterIP");
	assert_cell_str(t, 0, 2, "10.96.0.10");
	assert_cell_str(t, 0, 3, "<none>");
	assert_cell_str(t, 0, 4, "80/TCP,53/UDP");
	assert_cell_str(t, 0, 5, "30s");
	assert_cell_str(t, 0, 6, "a=b,app=web");
	json_decref(t);

	t = build_one("", "services",
		      "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":"
		      "\"LoadBalancer\",\"clusterIPs\":[\"10.96.0.11\"],"
		      "\"ports\":[{\"port\":443,\"nodePort\":30443,"
		      "\"protocol\":\"TCP\"}]}}");
	assert_cell_str(t, 0, 3, "<pending>");
	assert_cell_str(t, 0, 4, "443:30443/TCP");
	assert_cell_str(t, 0, 6, "<none>");
	json_decref(t);

	t = build_one("", "services",
		      "{\"metadata\":{\"name\":\"lb2\"},\"spec\":{\"type\":"
		      "\"LoadBalancer\",\"externalIPs\":[\"1.1.1.1\"]},"
		      "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":"
		      "\"5.5.5.5\"},{\"hostname\":\"lb.example\"}]}}}");
	assert_cell_str(t, 0, 2, "<none>");
	assert_cell_str(t, 0, 3, "5.5.5.5,lb.example,1.1.1.1");
	assert_cell_str(t, 0, 4, "<none>");
	json_decref(t);

	t = build_one("", "services",
		      "{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"type\":"
		      "\"ExternalName\",\"externalName\":\"db.example\"}}");
	assert_cell_str(t, 0, 3, "db.example");
	json_decref(t);
}

static void test_other_builtins(void **state)
{
	char names[256];
	json_t *t;

	t = build_one(
		"batch", "jobs",
		"{\"metadata\":{\"name\":\"j\"},\"spec\":{\"completions\":"
		"3},\"status\":{\"succeeded\":3,\"startTime\":"
		"\"2024-05-01T11:00:00Z\",\"completionTime\":"
		"\"2024-05-01T11:05:30Z\",\"conditions\":[{\"type\":"
		"\"Complete\",\"status\":\"True\"}]}}");
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Status,Completions,Duration,Age,Containers,"
			    "Images,Selector");
	assert_cell_str(t, 0, 1, "Complete");
	assert_cell_str(t, 0, 2, "3/3");
	assert_cell_str(t, 0, 3, "5m30s");
	json_decref(t);

	t = build_one(
		"batch", "jobs",
		"{\"metadata\":{\"name\":\"j\"},\"spec\":{\"parallelism\":"
		"2},\"status\":{\"startTime\":\"2024-05-01T11:59:00Z\"}}");
	assert_cell_str(t, 0, 1, "Running");
	assert_cell_str(t, 0, 2, "0/1 of 2");
	assert_cell_str(t, 0, 3, "60s");
	json_decref(t);

	t = build_one(
		"", "events",
		"{\"metadata\":{\"name\":\"web.17a\"},\"type\":\"Normal\","
		"\"reason\":\"Scheduled\",\"message\":\" Assigned \\n\","
		"\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web-1\"},"
		"\"source\":{\"component\":\"scheduler\"},"
		"\"firstTimestamp\":\"2024-05-01T11:50:00Z\","
		"\"lastTimestamp\":\"2024-05-01T11:58:00Z\",\"count\":3}");
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Last Seen,Type,Reason,Object,Subobject,Source,"
			    "Message,First Seen,Count,Name");
	assert_cell_str(t, 0, 0, "2m");
	assert_cell_str(t, 0, 1, "Normal");
	assert_cell_str(t, 0, 3, "pod/web-1");
	assert_cell_str(t, 0, 5, "scheduler");
	assert_cell_str(t, 0, 6, "Assigned");
	assert_cell_str(t, 0, 7, "10m");
	assert_cell_int(t, 0, 8, 3);
	assert_cell_str(t, 0, 9, "web.17a");
	json_decref(t);

	t = build_one(
		"", "endpoints",
		"{\"metadata\":{\"name\":\"web\"},\"subsets\":[{"
		"\"addresses\":[{\"ip\":\"10.0.0.1\"},{\"ip\":\"10.0.0.2\"},"
		"{\"ip\":\"fd00::3\"},{\"ip\":\"10.0.0.4\"}],\"ports\":[{"
		"\"port\":8080}]}]}");
	assert_cell_str(t, 0, 1,
			"10.0.0.1:8080,10.0.0.2:8080,[fd00::3]:8080 + 1 "
			"more...");
	json_decref(t);

	t = build_one("", "endpoints", "{\"metadata\":{\"name\":\"none\"}}");
	assert_cell_str(t, 0, 1, "<none>");
	json_decref(t);

	t = build_one("", "secrets",
		      "{\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\","
		      "\"data\":{\"a\":\"eA==\",\"b\":\"eQ==\"}}");
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Type,Data,Age");
	assert_cell_str(t, 0, 1, "Opaque");
	assert_cell_int(t, 0, 2, 2);
	json_decref(t);

	t = build_one("", "configmaps",
		      "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\"},"
		      "\"binaryData\":{\"b\":\"AA==\"}}");
	assert_cell_int(t, 0, 1, 2);
	json_decref(t);

	t = build_one("", "namespaces",
		      "{\"metadata\":{\"name\":\"default\"},\"status\":{"
		      "\"phase\":\"Active\"}}");
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Status,Age");
	assert_cell_str(t, 0, 1, "Active");
	json_decref(t);

	t = build_one("", "serviceaccounts",
		      "{\"metadata\":{\"name\":\"default\"}}");
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Secrets,Age");
	assert_cell_int(t, 0, 1, 0);
	json_decref(t);

	t = build_one("coordination.k8s.io", "leases",
		      "{\"metadata\":{\"name\":\"knit\"},\"spec\":{"
		      "\"holderIdentity\":\"pod-a\"}}");
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Holder,Age");
	assert_cell_str(t, 0, 1, "pod-a");
	json_decref(t);

	t = build_one("apiextensions.k8s.io", "customresourcedefinitions",
		      "{\"metadata\":{\"name\":\"rollouts.knit.dev\","
		      "\"creationTimestamp\":\"2024-05-01T13:30:00+02:00\"}}");
	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Created At");
	assert_cell_str(t, 0, 1, "2024-05-01T11:30:00Z");
	json_decref(t);

	/* unknown built-in: Name + Age */
	t = build_one("storage.k8s.io", "storageclasses",
		      "{\"metadata\":{\"name\":\"std\",\"creationTimestamp\":"
		      "\"2024-05-01T09:00:00Z\"}}");
	assert_string_equal(column_names(t, names, sizeof(names)), "Name,Age");
	assert_cell_str(t, 0, 1, "3h");
	json_decref(t);
}

/* printer_columns win over a built-in with the same resource name. */
static void test_columns_override_builtin(void **state)
{
	json_t *cols = parse("[{\"name\":\"Phase\",\"type\":\"string\","
			     "\"jsonPath\":\".status.phase\"}]");
	json_t *items = parse("[{\"metadata\":{\"name\":\"p\"},\"status\":{"
			      "\"phase\":\"Up\"}}]");
	json_t *t = table_build("", "pods", cols, items, NULL, true, NOW);
	char names[64];

	assert_string_equal(column_names(t, names, sizeof(names)),
			    "Name,Phase");
	assert_cell_str(t, 0, 1, "Up");
	json_decref(t);
	json_decref(items);
	json_decref(cols);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human_duration),
		cmocka_unit_test(test_jsonpath),
		cmocka_unit_test(test_crd_table),
		cmocka_unit_test(test_cell_types),
		cmocka_unit_test(test_crd_default_columns),
		cmocka_unit_test(test_watch_table),
		cmocka_unit_test(test_pods),
		cmocka_unit_test(test_pod_states),
		cmocka_unit_test(test_deployments),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_other_builtins),
		cmocka_unit_test(test_columns_override_builtin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for pkg/devcluster/smp: strategic merge patch as kube-apiserver
 * applies it to built-in kinds (merge keys, primitive unions, directives,
 * apimachinery's element order and error texts), plus the plain-merge
 * fallback for unknown kinds and input immutability.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devcluster/smp.h"
#include "util/err.h"

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

	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);

		fail_msg("got %s, want %s", g ? g : "NULL", want);
	}
	json_decref(w);
}

/* Applies `patch` to `target` for `kind` and checks the result is `want`. */
static void check(const char *kind, const char *target, const char *patch,
		  const char *want)
{
	json_t *t = parse(target), *p = parse(patch), *out = NULL;
	char *before_t = json_dumps(t, JSON_SORT_KEYS);
	char *before_p = json_dumps(p, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *after_t, *after_p;
	char err[256] = "";
	int rc = smp_apply(t, p, kind, &out, err, sizeof(err));

	if (rc)
		fail_msg("smp_apply: %s (%s)", err_name(rc), err);
	assert_json(out, want);
	after_t = json_dumps(t, JSON_SORT_KEYS);
	after_p = json_dumps(p, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	assert_string_equal(before_t, after_t);
	assert_string_equal(before_p, after_p);
	free(before_t);
	free(before_p);
	free(after_t);
	free(after_p);
	json_decref(out);
	json_decref(t);
	json_decref(p);
}

/* Applies `patch` and checks it fails with `code` and message `msg`. */
static void check_error(const char *kind, const char *target, const char *patch,
			int code, const char *msg)
{
	json_t *t = parse(target), *p = parse(patch), *out = NULL;
	char err[512] = "";
	int rc = smp_apply(t, p, kind, &out, err, sizeof(err));

	assert_int_equal(rc, code);
	assert_null(out);
	assert_string_equal(err, msg);
	json_decref(t);
	json_decref(p);
}

#define DEPLOY_2C                                                           \
	"{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"         \
	"\"spec\":{\"replicas\":1,\"template\":{\"spec\":{\"containers\":[" \
	"{\"name\":\"app\",\"image\":\"app:1\"},"                           \
	"{\"name\":\"proxy\",\"image\":\"envoy:1\"}]}}}}"

static void test_map_merge_and_null_delete(void **state)
{
	(void)state;
	check("ConfigMap",
	      "{\"metadata\":{\"name\":\"c\",\"labels\":{\"a\":\"1\","
	      "\"b\":\"2\"}},\"data\":{\"x\":\"1\",\"y\":\"2\"}}",
	      "{\"metadata\":{\"labels\":{\"b\":null,\"c\":\"3\"}},"
	      "\"data\":{\"x\":\"9\",\"gone\":null}}",
	      "{\"metadata\":{\"name\":\"c\",\"labels\":{\"a\":\"1\","
	      "\"c\":\"3\"}},\"data\":{\"x\":\"9\",\"y\":\"2\"}}");
	/* A null at the top deletes a whole subtree; nulls inside new
	 * values are dropped. */
	check("Secret",
	      "{\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"v\"}}",
	      "{\"data\":null,\"stringData\":{\"a\":\"b\",\"c\":null}}",
	      "{\"metadata\":{\"name\":\"s\"},\"stringData\":{\"a\":\"b\"}}");
	/* A JSON null patch changes nothing. */
	check("Secret", "{\"metadata\":{\"name\":\"s\"}}", "null",
	      "{\"metadata\":{\"name\":\"s\"}}");
}

static void test_containers_merged_by_name(void **state)
{
	(void)state;
	check("Deployment", DEPLOY_2C,
	      "{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	      "{\"name\":\"proxy\",\"image\":\"envoy:2\"}]}}}}",
	      "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
	      "\"spec\":{\"replicas\":1,\"template\":{\"spec\":{"
	      "\"containers\":[{\"name\":\"app\",\"image\":\"app:1\"},"
	      "{\"name\":\"proxy\",\"image\":\"envoy:2\"}]}}}}");
	/* The same on a Pod, where the pod spec sits at "spec". */
	check("Pod",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},"
	      "{\"name\":\"b\",\"image\":\"y\"}]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"z\"}]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"z\"},"
	      "{\"name\":\"b\",\"image\":\"y\"}]}}");
}

static void test_new_element_order_matches_apimachinery(void **state)
{
	(void)state;
	/* mergeSortedSlice puts a new element before the live-only ones it
	 * is compared with: kubectl patch adds a container at the front. */
	check("Deployment", DEPLOY_2C,
	      "{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	      "{\"name\":\"side\",\"image\":\"busybox\"}]}}}}",
	      "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
	      "\"spec\":{\"replicas\":1,\"template\":{\"spec\":{"
	      "\"containers\":[{\"name\":\"side\",\"image\":\"busybox\"},"
	      "{\"name\":\"app\",\"image\":\"app:1\"},"
	      "{\"name\":\"proxy\",\"image\":\"envoy:1\"}]}}}}");
}

static void test_env_by_name(void **state)
{
	(void)state;
	check("Pod",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":["
	      "{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":"
	      "\"2\"}]}]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":["
	      "{\"name\":\"B\",\"value\":\"3\"},{\"name\":\"C\",\"value\":"
	      "\"4\"}]}]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":["
	      "{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":"
	      "\"3\"},{\"name\":\"C\",\"value\":\"4\"}]}]}}");
}

static void test_ports_by_container_port(void **state)
{
	(void)state;
	check("ReplicaSet",
	      "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
	      "\"a\",\"ports\":[{\"containerPort\":80,\"name\":\"http\"},"
	      "{\"containerPort\":443}]}]}}}}",
	      "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
	      "\"a\",\"ports\":[{\"containerPort\":443,\"name\":\"https\"}]}"
	      "]}}}}",
	      "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
	      "\"a\",\"ports\":[{\"containerPort\":80,\"name\":\"http\"},"
	      "{\"containerPort\":443,\"name\":\"https\"}]}]}}}}");
}

static void test_service_ports_by_port(void **state)
{
	(void)state;
	check("Service",
	      "{\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80,"
	      "\"targetPort\":8080},{\"port\":9090,\"name\":\"metrics\"}]}}",
	      "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8081}]}}",
	      "{\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80,"
	      "\"targetPort\":8081},{\"port\":9090,\"name\":\"metrics\"}]}}");
	/* An integer key in the live object matches a real in the patch. */
	check("Service", "{\"spec\":{\"ports\":[{\"port\":80}]}}",
	      "{\"spec\":{\"ports\":[{\"port\":80.0,\"name\":\"x\"}]}}",
	      "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"x\"}]}}");
}

static void test_finalizers_union(void **state)
{
	(void)state;
	check("Job", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
	      "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}",
	      "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}");
	/* A value not yet live goes before the live-only ones. */
	check("Job", "{\"metadata\":{\"finalizers\":[\"x\"]}}",
	      "{\"metadata\":{\"finalizers\":[\"y\"]}}",
	      "{\"metadata\":{\"finalizers\":[\"y\",\"x\"]}}");
	/* ownerReferences merge by uid. */
	check("Pod",
	      "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":"
	      "\"rs\"}]}}",
	      "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\","
	      "\"controller\":true}]}}",
	      "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":"
	      "\"rs\",\"controller\":true}]}}");
}

static void test_patch_delete_list_element(void **state)
{
	(void)state;
	check("Deployment", DEPLOY_2C,
	      "{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	      "{\"name\":\"app\",\"$patch\":\"delete\"}]}}}}",
	      "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
	      "\"spec\":{\"replicas\":1,\"template\":{\"spec\":{"
	      "\"containers\":[{\"name\":\"proxy\",\"image\":\"envoy:1\"}]}}}"
	      "}");
	/* $patch: delete on a map empties it. */
	check("Pod", "{\"spec\":{\"securityContext\":{\"runAsUser\":1}}}",
	      "{\"spec\":{\"securityContext\":{\"$patch\":\"delete\"}}}",
	      "{\"spec\":{\"securityContext\":{}}}");
}

static void test_patch_replace_map_and_list(void **state)
{
	(void)state;
	check("Pod",
	      "{\"spec\":{\"securityContext\":{\"runAsUser\":1,\"fsGroup\":2}"
	      "}}",
	      "{\"spec\":{\"securityContext\":{\"$patch\":\"replace\","
	      "\"runAsUser\":3}}}",
	      "{\"spec\":{\"securityContext\":{\"runAsUser\":3}}}");
	check("Deployment", DEPLOY_2C,
	      "{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	      "{\"name\":\"only\",\"image\":\"z\"},{\"$patch\":\"replace\"}"
	      "]}}}}",
	      "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
	      "\"spec\":{\"replicas\":1,\"template\":{\"spec\":{"
	      "\"containers\":[{\"name\":\"only\",\"image\":\"z\"}]}}}}");
}

static void test_delete_from_primitive_list(void **state)
{
	(void)state;
	check("Deployment",
	      "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
	      "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":"
	      "[\"b\",\"zz\"]}}",
	      "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
	/* Deleting from an absent list adds nothing. */
	check("Deployment", "{\"metadata\":{}}",
	      "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":"
	      "[\"b\"]}}",
	      "{\"metadata\":{}}");
}

static void test_set_element_order(void **state)
{
	(void)state;
	check("Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
	      "{\"metadata\":{\"$setElementOrder/finalizers\":[\"b\",\"a\","
	      "\"c\"],\"finalizers\":[\"c\"]}}",
	      "{\"metadata\":{\"finalizers\":[\"b\",\"a\",\"c\"]}}");
	/* kubectl apply's shape: order list plus only the changed item. */
	check("Deployment", DEPLOY_2C,
	      "{\"spec\":{\"template\":{\"spec\":{"
	      "\"$setElementOrder/containers\":[{\"name\":\"app\"},"
	      "{\"name\":\"side\"},{\"name\":\"proxy\"}],"
	      "\"containers\":[{\"name\":\"side\",\"image\":\"b\"}]}}}}",
	      "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
	      "\"spec\":{\"replicas\":1,\"template\":{\"spec\":{"
	      "\"containers\":[{\"name\":\"app\",\"image\":\"app:1\"},"
	      "{\"name\":\"side\",\"image\":\"b\"},"
	      "{\"name\":\"proxy\",\"image\":\"envoy:1\"}]}}}}");
}

static void test_retain_keys(void **state)
{
	(void)state;
	check("Deployment",
	      "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\","
	      "\"rollingUpdate\":{\"maxSurge\":1}}}}",
	      "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],"
	      "\"type\":\"Recreate\"}}}",
	      "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}");
}

static void test_status_lists(void **state)
{
	(void)state;
	/* Pod conditions merge by type; containerStatuses are replaced. */
	check("Pod",
	      "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
	      "\"False\"},{\"type\":\"Initialized\",\"status\":\"True\"}],"
	      "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false},"
	      "{\"name\":\"b\",\"ready\":false}]}}",
	      "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
	      "\"True\"}],\"containerStatuses\":[{\"name\":\"a\",\"ready\":"
	      "true}]}}",
	      "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
	      "\"True\"},{\"type\":\"Initialized\",\"status\":\"True\"}],"
	      "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true}]}}");
	/* Deployment conditions merge by type too. */
	check("Deployment",
	      "{\"status\":{\"conditions\":[{\"type\":\"Available\"},"
	      "{\"type\":\"Progressing\",\"reason\":\"A\"}]}}",
	      "{\"status\":{\"conditions\":[{\"type\":\"Progressing\","
	      "\"reason\":\"B\"}]}}",
	      "{\"status\":{\"conditions\":[{\"type\":\"Available\"},"
	      "{\"type\":\"Progressing\",\"reason\":\"B\"}]}}");
	/* Tolerations carry no tag: replaced whole. */
	check("Pod",
	      "{\"spec\":{\"tolerations\":[{\"key\":\"a\"},{\"key\":\"b\"}]}}",
	      "{\"spec\":{\"tolerations\":[{\"key\":\"c\"}]}}",
	      "{\"spec\":{\"tolerations\":[{\"key\":\"c\"}]}}");
}

static void test_event_recorder_patch(void **state)
{
	(void)state;
	check("Event",
	      "{\"kind\":\"Event\",\"metadata\":{\"name\":\"web.1\","
	      "\"namespace\":\"default\"},\"reason\":\"Scaled\",\"message\":"
	      "\"scaled to 1\",\"count\":1,\"firstTimestamp\":"
	      "\"2024-01-01T00:00:00Z\",\"lastTimestamp\":"
	      "\"2024-01-01T00:00:00Z\"}",
	      "{\"count\":2,\"lastTimestamp\":\"2024-01-01T00:05:00Z\","
	      "\"message\":\"scaled to 2\"}",
	      "{\"kind\":\"Event\",\"metadata\":{\"name\":\"web.1\","
	      "\"namespace\":\"default\"},\"reason\":\"Scaled\",\"message\":"
	      "\"scaled to 2\",\"count\":2,\"firstTimestamp\":"
	      "\"2024-01-01T00:00:00Z\",\"lastTimestamp\":"
	      "\"2024-01-01T00:05:00Z\"}");
}

static void test_unknown_kind_replaces_lists(void **state)
{
	(void)state;
	check("Widget",
	      "{\"metadata\":{\"finalizers\":[\"a\"],\"labels\":{\"x\":\"1\"}}"
	      ",\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
	      "{\"metadata\":{\"finalizers\":[\"b\"],\"labels\":{\"y\":\"2\"}}"
	      ",\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"i\"}]}}",
	      "{\"metadata\":{\"finalizers\":[\"b\"],\"labels\":{\"x\":\"1\","
	      "\"y\":\"2\"}},\"spec\":{\"containers\":[{\"name\":\"b\","
	      "\"image\":\"i\"}]}}");
	check(NULL, "{\"a\":{\"b\":1,\"c\":2}}",
	      "{\"a\":{\"$patch\":\"replace\",\"d\":3}}", "{\"a\":{\"d\":3}}");
}

static void test_errors(void **state)
{
	json_t *t = parse("{}"), *out = NULL;

	(void)state;
	check_error("Pod", "{}", "[1]", ERR_BADREQUEST,
		    "json: cannot unmarshal array into Go value of type "
		    "map[string]interface {}");
	check_error("Pod", "{\"spec\":{}}",
		    "{\"spec\":{\"$patch\":\"merge\",\"a\":1}}", ERR_BADREQUEST,
		    "unknown patch type: merge in map: map[$patch:merge a:1]");
	check_error("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
		    "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}",
		    ERR_BADREQUEST,
		    "map: map[image:x] does not contain declared merge key: "
		    "name");
	check_error("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
		    "{\"spec\":{\"containers\":[{\"$patch\":\"merge\"}]}}",
		    ERR_BADREQUEST,
		    "merging lists cannot yet be specified in the patch");
	check_error("Pod", "{\"metadata\":{\"finalizers\":[\"a\"]}}",
		    "{\"metadata\":{\"finalizers\":[1]}}", ERR_BADREQUEST,
		    "list element types are not identical: [[a] [1]]");
	check_error("Pod", "{\"metadata\":{}}",
		    "{\"metadata\":{\"$deleteFromPrimitiveList\":[\"a\"]}}",
		    ERR_BADREQUEST, "invalid patch format of primitive list");
	check_error("Deployment", "{\"spec\":{\"strategy\":{}}}",
		    "{\"spec\":{\"strategy\":{\"$retainKeys\":\"type\"}}}",
		    ERR_BADREQUEST, "invalid patch format of retainKeys");
	check_error("Deployment", "{\"spec\":{\"strategy\":{}}}",
		    "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],"
		    "\"rollingUpdate\":{}}}}",
		    ERR_BADREQUEST, "invalid patch format of retainKeys");
	check_error("Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
		    "{\"metadata\":{\"$setElementOrder/finalizers\":[\"a\"],"
		    "\"finalizers\":[\"c\"]}}",
		    ERR_BADREQUEST,
		    "The order in patch list:\n[c]\n doesn't match "
		    "$setElementOrder list:\n[a]\n");
	check_error("Pod", "{\"metadata\":{}}",
		    "{\"metadata\":{\"$setElementOrder/finalizers\":\"a\"}}",
		    ERR_BADREQUEST,
		    "expected a []interface {}, but received a string");
	/* Caller mistakes are ERR_INVAL. */
	assert_int_equal(smp_apply(t, NULL, "Pod", &out, NULL, 0), ERR_INVAL);
	assert_null(out);
	json_decref(t);
	t = parse("[]");
	assert_int_equal(smp_apply(t, t, "Pod", &out, NULL, 0), ERR_INVAL);
	json_decref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_merge_and_null_delete),
		cmocka_unit_test(test_containers_merged_by_name),
		cmocka_unit_test(test_new_element_order_matches_apimachinery),
		cmocka_unit_test(test_env_by_name),
		cmocka_unit_test(test_ports_by_container_port),
		cmocka_unit_test(test_service_ports_by_port),
		cmocka_unit_test(test_finalizers_union),
		cmocka_unit_test(test_patch_delete_list_element),
		cmocka_unit_test(test_patch_replace_map_and_list),
		cmocka_unit_test(test_delete_from_primitive_list),
		cmocka_unit_test(test_set_element_order),
		cmocka_unit_test(test_retain_keys),
		cmocka_unit_test(test_status_lists),
		cmocka_unit_test(test_event_recorder_patch),
		cmocka_unit_test(test_unknown_kind_replaces_lists),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

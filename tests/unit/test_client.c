/*
 * test_client: the pure parts of the REST client: mapping HTTP answers to
 * error codes and messages (Status bodies and client-go's generic
 * messages), Retry-After parsing, paths, query escaping and the
 * DeleteOptions body. Requests against a server are integration tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kube/client.h"
#include "kube/client_internal.h"
#include "kube/transport.h"
#include "util/err.h"

static const struct kube_resource ROLLOUTS = {"knit.dev", "v1alpha1",
					      "rollouts", "Rollout", true};

static void test_paths(void **state)
{
	struct {
		const struct kube_resource *r;
		const char *ns, *name, *sub, *want;
	} cases[] = {
		{&KUBE_CONFIGMAPS, "default", NULL, NULL,
		 "/api/v1/namespaces/default/configmaps"},
		{&KUBE_CONFIGMAPS, NULL, NULL, NULL, "/api/v1/configmaps"},
		{&KUBE_CONFIGMAPS, "", NULL, NULL, "/api/v1/configmaps"},
		{&KUBE_PODS, "ns1", "p", NULL, "/api/v1/namespaces/ns1/pods/p"},
		{&KUBE_REPLICASETS, "a", "rs", "status",
		 "/apis/apps/v1/namespaces/a/replicasets/rs/status"},
		{&KUBE_NAMESPACES, "ignored", "default", NULL,
		 "/api/v1/namespaces/default"},
		{&KUBE_LEASES, "kube-system", "knit", NULL,
		 "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
		 "knit"},
		{&ROLLOUTS, "x", "r", "scale",
		 "/apis/knit.dev/v1alpha1/namespaces/x/rollouts/r/scale"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = kube_path(cases[i].r, cases[i].ns, cases[i].name,
				    cases[i].sub);
		assert_string_equal(p, cases[i].want);
		free(p);
	}
}

static void test_list_path_escapes(void **state)
{
	struct kube_list_options o = {
		.label_selector = "app=web,tier in (a,b),!canary",
		.field_selector = "metadata.name=x",
		.resource_version = "0",
		.limit = 2,
		.continue_token = "eyJ2Ijoi+/=",
	};
	char *p;

	(void)state;
	p = kube_list_path(&KUBE_PODS, "default", &o);
	assert_string_equal(
		p, "/api/v1/namespaces/default/pods"
		   "?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29%2C%21"
		   "canary&fieldSelector=metadata.name%3Dx&resourceVersion=0"
		   "&limit=2&continue=eyJ2Ijoi%2B%2F%3D");
	free(p);
	p = kube_list_path(&KUBE_PODS, "default", NULL);
	assert_string_equal(p, "/api/v1/namespaces/default/pods");
	free(p);
}

static void test_write_path(void **state)
{
	struct kube_write_options o = {.field_manager = "knit controller",
				       .force = true,
				       .dry_run = true};
	char *p;

	(void)state;
	p = kube_write_path(&ROLLOUTS, "ns", "r", NULL, &o, true);
	assert_string_equal(p, "/apis/knit.dev/v1alpha1/namespaces/ns/rollouts/"
			       "r?fieldManager=knit%20controller&force=true"
			       "&dryRun=All");
	free(p);
	/* force only goes with apply */
	p = kube_write_path(&ROLLOUTS, "ns", "r", "status", &o, false);
	assert_string_equal(p, "/apis/knit.dev/v1alpha1/namespaces/ns/rollouts/"
			       "r/status?fieldManager=knit%20controller"
			       "&dryRun=All");
	free(p);
}

static void test_delete_body(void **state)
{
	struct kube_delete_options o = KUBE_DELETE_OPTIONS_INIT;
	json_t *j;
	char *s;

	(void)state;
	j = kube_delete_options_json(NULL);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		s, "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\"}");
	free(s);
	json_decref(j);
	o.propagation = "Foreground";
	o.grace_period = 0;
	o.uid = "u1";
	o.resource_version = "42";
	j = kube_delete_options_json(&o);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s,
			    "{\"apiVersion\":\"v1\",\"gracePeriodSeconds\":0,"
			    "\"kind\":\"DeleteOptions\",\"preconditions\":{"
			    "\"resourceVersion\":\"42\",\"uid\":\"u1\"},"
			    "\"propagationPolicy\":\"Foreground\"}");
	free(s);
	json_decref(j);
}

static void test_retry_after_parse(void **state)
{
	(void)state;
	assert_int_equal(transport_retry_after_parse(" 3\r\n", 4), 3);
	assert_int_equal(transport_retry_after_parse("120", 3), 120);
	assert_int_equal(transport_retry_after_parse("0", 1), 0);
	assert_int_equal(transport_retry_after_parse("", 0), -1);
	assert_int_equal(transport_retry_after_parse(" ", 1), -1);
	assert_int_equal(transport_retry_after_parse("1.5", 3), -1);
	assert_int_equal(transport_retry_after_parse("-1", 2), -1);
	assert_int_equal(transport_retry_after_parse(
				 "Wed, 21 Oct 2015 07:28:00 GMT", 29),
			 -1);
	assert_int_equal(transport_retry_after_parse("99999999999999", 14), -1);
}

static void test_codes(void **state)
{
	(void)state;
	assert_int_equal(kube_error_code(404, "NotFound", "GET"), ERR_NOTFOUND);
	assert_int_equal(kube_error_code(409, "AlreadyExists", "POST"),
			 ERR_EXISTS);
	assert_int_equal(kube_error_code(409, "Conflict", "POST"),
			 ERR_CONFLICT);
	assert_int_equal(kube_error_code(409, "", "POST"), ERR_EXISTS);
	assert_int_equal(kube_error_code(409, NULL, "PUT"), ERR_CONFLICT);
	assert_int_equal(kube_error_code(410, "Expired", "GET"), ERR_GONE);
	assert_int_equal(kube_error_code(422, "Invalid", "POST"), ERR_INVAL);
	assert_int_equal(kube_error_code(429, "", "GET"), ERR_TOOMANY);
	assert_int_equal(kube_error_code(401, "", "GET"), ERR_UNAUTHORIZED);
	assert_int_equal(kube_error_code(403, "", "GET"), ERR_FORBIDDEN);
	assert_int_equal(kube_error_code(504, "Timeout", "GET"), ERR_TIMEOUT);
	assert_int_equal(kube_error_code(400, "", "GET"), ERR_BADREQUEST);
	assert_int_equal(kube_error_code(415, "", "PATCH"), ERR_UNSUPPORTED);
	assert_int_equal(kube_error_code(500, "", "GET"), ERR_INTERNAL);
	assert_int_equal(kube_error_code(503, "", "GET"), ERR_INTERNAL);
	assert_int_equal(kube_error_code(418, "", "GET"), ERR_BADREQUEST);
}

static void test_status_body(void **state)
{
	const char *body =
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
		"\"status\":\"Failure\",\"message\":\"Rollout.knit.dev "
		"\\\"r\\\" "
		"is invalid: spec.replicas: Invalid value: -1\",\"reason\":"
		"\"Invalid\",\"details\":{\"name\":\"r\",\"causes\":[{\"type\":"
		"\"FieldValueInvalid\",\"field\":\"spec.replicas\"}],"
		"\"retryAfterSeconds\":7},\"code\":422}";
	struct kube_error e = KUBE_ERROR_INIT;
	json_t *causes;
	int rc;

	(void)state;
	rc = kube_error_from_response(422, "POST", "application/json", body,
				      strlen(body), -1, &e);
	assert_int_equal(rc, ERR_INVAL);
	assert_int_equal(e.code, ERR_INVAL);
	assert_int_equal(e.http_status, 422);
	assert_string_equal(e.reason, "Invalid");
	assert_string_equal(e.message, "Rollout.knit.dev \"r\" is invalid: "
				       "spec.replicas: Invalid value: -1");
	assert_int_equal(e.retry_after, 7);
	causes =
		json_object_get(json_object_get(e.status, "details"), "causes");
	assert_int_equal(json_array_size(causes), 1);
	/* A header value wins over details.retryAfterSeconds. */
	rc = kube_error_from_response(422, "POST", "application/json", body,
				      strlen(body), 2, &e);
	assert_int_equal(e.retry_after, 2);
	kube_error_release(&e);
	assert_null(e.status);
	assert_int_equal(e.retry_after, -1);
}

static void test_status_conflict_kinds(void **state)
{
	const char *exists =
		"{\"kind\":\"Status\",\"reason\":\"AlreadyExists\","
		"\"message\":\"configmaps \\\"a\\\" already "
		"exists\"}";
	const char *conflict = "{\"kind\":\"Status\",\"reason\":\"Conflict\","
			       "\"message\":\"Operation cannot be fulfilled\"}";
	struct kube_error e = KUBE_ERROR_INIT;

	(void)state;
	assert_int_equal(kube_error_from_response(409, "POST", NULL, exists,
						  strlen(exists), -1, &e),
			 ERR_EXISTS);
	assert_string_equal(e.message, "configmaps \"a\" already exists");
	assert_int_equal(kube_error_from_response(409, "POST", NULL, conflict,
						  strlen(conflict), -1, &e),
			 ERR_CONFLICT);
	assert_string_equal(e.reason, "Conflict");
	/* err may be NULL */
	assert_int_equal(kube_error_from_response(409, "PUT", NULL, conflict,
						  strlen(conflict), -1, NULL),
			 ERR_CONFLICT);
	kube_error_release(&e);
}

static void test_generic_messages(void **state)
{
	struct kube_error e = KUBE_ERROR_INIT;
	const char *html = "<html>oops</html>";
	const char *text = "  backend \"db\" down\n";

	(void)state;
	assert_int_equal(kube_error_from_response(404, "GET", "text/html", html,
						  strlen(html), -1, &e),
			 ERR_NOTFOUND);
	assert_string_equal(e.reason, "NotFound");
	assert_string_equal(e.message,
			    "the server could not find the requested resource");
	assert_null(e.status);
	/* JSON that is not a Status: the body is "unknown". */
	assert_int_equal(kube_error_from_response(500, "GET",
						  "application/json", "{}", 2,
						  -1, &e),
			 ERR_INTERNAL);
	assert_string_equal(e.message, "an error on the server (\"unknown\") "
				       "has prevented the request from "
				       "succeeding");
	/* Text bodies are trimmed and quoted as Go's %q. */
	assert_int_equal(kube_error_from_response(502, "GET",
						  "text/plain; charset=utf-8",
						  text, strlen(text), -1, &e),
			 ERR_INTERNAL);
	assert_string_equal(e.reason, "InternalError");
	assert_string_equal(e.message,
			    "an error on the server (\"backend \\\"db\\\" "
			    "down\") has prevented the request from "
			    "succeeding");
	assert_int_equal(
		kube_error_from_response(409, "POST", NULL, NULL, 0, -1, &e),
		ERR_EXISTS);
	assert_string_equal(e.reason, "AlreadyExists");
	assert_string_equal(e.message, "the server reported a conflict");
	assert_int_equal(
		kube_error_from_response(429, "GET", NULL, NULL, 0, 4, &e),
		ERR_TOOMANY);
	assert_int_equal(e.retry_after, 4);
	assert_string_equal(e.message,
			    "the server has received too many requests and "
			    "has asked us to try again later");
	assert_int_equal(
		kube_error_from_response(401, "GET", NULL, "x", 1, -1, &e),
		ERR_UNAUTHORIZED);
	assert_string_equal(e.message, "the server has asked for the client "
				       "to provide credentials");
	assert_int_equal(
		kube_error_from_response(418, "GET", NULL, NULL, 0, -1, &e),
		ERR_BADREQUEST);
	assert_string_equal(e.message, "the server responded with the status "
				       "code 418 but did not return more "
				       "information");
	kube_error_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_list_path_escapes),
		cmocka_unit_test(test_write_path),
		cmocka_unit_test(test_delete_body),
		cmocka_unit_test(test_retry_after_parse),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_status_body),
		cmocka_unit_test(test_status_conflict_kinds),
		cmocka_unit_test(test_generic_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

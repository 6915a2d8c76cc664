/*
 * Unit tests for pkg/devcluster/ssa: server-side apply (field sets, pruning,
 * conflicts and their apiserver messages, force, keyed and atomic lists) and
 * Update bookkeeping of metadata.managedFields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devcluster/ssa.h"
#include "util/alloc.h"
#include "util/err.h"

#define AV "knit.dev/v1alpha1"
#define T1 "2024-01-01T00:00:00Z"
#define T2 "2024-01-02T00:00:00Z"

/* Parses JSON written with ' for " (keeps test literals readable). */
static json_t *J(const char *text)
{
	char *s = xstrdup(text);
	json_error_t e;
	json_t *v;
	char *p;

	for (p = s; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	v = json_loads(s, JSON_DECODE_ANY, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, s);
	free(s);
	return v;
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = J(want_text);

	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);

		print_error("got  %s\nwant %s\n", g, w);
		free(g);
		free(w);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

static json_t *managed(const json_t *obj)
{
	return json_object_get(json_object_get(obj, "metadata"),
			       "managedFields");
}

/* The managedFields entry of (manager, operation), or NULL. */
static json_t *entry(const json_t *obj, const char *manager, const char *op)
{
	json_t *mf = managed(obj);
	size_t i;

	for (i = 0; i < json_array_size(mf); i++) {
		json_t *e = json_array_get(mf, i);

		if (!strcmp(json_string_value(json_object_get(e, "manager")),
			    manager) &&
		    !strcmp(json_string_value(json_object_get(e, "operation")),
			    op))
			return e;
	}
	return NULL;
}

static json_t *fields(const json_t *obj, const char *manager, const char *op)
{
	json_t *e = entry(obj, manager, op);

	assert_non_null(e);
	return json_object_get(e, "fieldsV1");
}

static json_t *apply_ok(const json_t *live, const char *applied,
			const char *manager, bool force, const json_t *schema,
			const char *now)
{
	json_t *a = J(applied);
	json_t *out = NULL, *causes = NULL;
	char err[512] = "";
	int rc = ssa_apply(live, a, manager, force, schema, AV, NULL, now, &out,
			   &causes, err, sizeof(err));

	if (rc != 0)
		fail_msg("apply failed: %d %s", rc, err);
	assert_null(causes);
	json_decref(a);
	return out;
}

/* An object created by `manager` through a plain create (Update entry). */
static json_t *created_by(const char *manager, const char *text,
			  const json_t *schema)
{
	json_t *obj = J(text);

	ssa_track_update(obj, NULL, manager, schema, AV, NULL, T1);
	return obj;
}

#define ROLLOUT "'apiVersion':'" AV "','kind':'Rollout'"

static void test_create_via_apply(void **state)
{
	json_t *out = apply_ok(
		NULL,
		"{" ROLLOUT ",'metadata':{'name':'r','namespace':'default',"
		"'labels':{'app':'x'}},'spec':{'replicas':3,'paused':false,"
		"'args':['a','b']}}",
		"knit", false, NULL, T1);
	json_t *e = entry(out, "knit", "Apply");

	(void)state;
	assert_non_null(e);
	assert_json(e,
		    "{'manager':'knit','operation':'Apply','apiVersion':'" AV
		    "','time':'" T1 "','fieldsType':'FieldsV1','fieldsV1':{"
		    "'f:metadata':{'f:labels':{'f:app':{}}},"
		    "'f:spec':{'f:replicas':{},'f:paused':{},'f:args':{}}}}");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(out, "spec"), "replicas")),
			 3);
	assert_int_equal(json_array_size(managed(out)), 1);
	json_decref(out);
}

static void test_reapply_removes_dropped_field(void **state)
{
	json_t *v1 = apply_ok(NULL,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'replicas':3,'paused':true}}",
			      "knit", false, NULL, T1);
	json_t *v2 = apply_ok(v1,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'replicas':3}}",
			      "knit", false, NULL, T2);

	(void)state;
	assert_json(json_object_get(v2, "spec"), "{'replicas':3}");
	assert_json(fields(v2, "knit", "Apply"),
		    "{'f:spec':{'f:replicas':{}}}");
	json_decref(v1);
	json_decref(v2);
}

static void test_reapply_keeps_field_owned_by_other(void **state)
{
	json_t *v1 = apply_ok(NULL,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'replicas':3,'paused':true}}",
			      "a", false, NULL, T1);
	json_t *v2 = apply_ok(v1,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'paused':true}}",
			      "b", false, NULL, T1);
	json_t *v3 = apply_ok(v2,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'replicas':3}}",
			      "a", false, NULL, T2);

	(void)state;
	/* a gave up paused, but b still owns it: the field stays. */
	assert_json(json_object_get(v3, "spec"),
		    "{'replicas':3,'paused':true}");
	assert_json(fields(v3, "b", "Apply"), "{'f:spec':{'f:paused':{}}}");
	json_decref(v1);
	json_decref(v2);
	json_decref(v3);
}

static void test_conflict_with_update_manager(void **state)
{
	json_t *live = created_by("kubectl-client-side-apply",
				  "{" ROLLOUT ",'metadata':{'name':'r'},"
				  "'spec':{'replicas':1}}",
				  NULL);
	json_t *a = J("{" ROLLOUT ",'metadata':{'name':'r'},"
		      "'spec':{'replicas':3}}");
	json_t *out = (json_t *)1, *causes = NULL;
	char err[512] = "";
	int rc;

	(void)state;
	rc = ssa_apply(live, a, "knit", false, NULL, AV, NULL, T2, &out,
		       &causes, err, sizeof(err));
	assert_int_equal(rc, ERR_CONFLICT);
	assert_null(out);
	assert_string_equal(err, "Apply failed with 1 conflict: conflict with "
				 "\"kubectl-client-side-apply\" using " AV
				 ": .spec.replicas");
	assert_json(causes, "[{'reason':'FieldManagerConflict','message':"
			    "'conflict with \\'kubectl-client-side-apply\\' "
			    "using " AV "','field':'.spec.replicas'}]");
	json_decref(causes);
	json_decref(a);
	json_decref(live);
}

static void test_conflict_message_multiple(void **state)
{
	json_t *v1 = apply_ok(NULL,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'replicas':1,'paused':true}}",
			      "zeta", false, NULL, T1);
	json_t *v2 = apply_ok(v1,
			      "{" ROLLOUT ",'metadata':{'name':'r',"
			      "'labels':{'app':'x'}}}",
			      "alpha", false, NULL, T1);
	json_t *a = J("{" ROLLOUT ",'metadata':{'name':'r','labels':"
		      "{'app':'y'}},'spec':{'replicas':2,'paused':false}}");
	json_t *out = NULL, *causes = NULL;
	char err[512] = "";
	int rc;

	(void)state;
	rc = ssa_apply(v2, a, "knit", false, NULL, AV, NULL, T2, &out, &causes,
		       err, sizeof(err));
	assert_int_equal(rc, ERR_CONFLICT);
	assert_string_equal(err, "Apply failed with 3 conflicts: "
				 "conflicts with \"alpha\":\n"
				 "- .metadata.labels.app\n"
				 "conflicts with \"zeta\":\n"
				 "- .spec.paused\n"
				 "- .spec.replicas");
	assert_int_equal(json_array_size(causes), 3);
	assert_json(json_array_get(causes, 0),
		    "{'reason':'FieldManagerConflict','message':"
		    "'conflict with \\'alpha\\'','field':"
		    "'.metadata.labels.app'}");
	json_decref(causes);
	json_decref(a);
	json_decref(v1);
	json_decref(v2);
}

static void test_same_value_is_shared(void **state)
{
	json_t *live = created_by("kubectl-client-side-apply",
				  "{" ROLLOUT ",'metadata':{'name':'r'},"
				  "'spec':{'replicas':3,'paused':true}}",
				  NULL);
	json_t *out = apply_ok(live,
			       "{" ROLLOUT ",'metadata':{'name':'r'},"
			       "'spec':{'replicas':3}}",
			       "knit", false, NULL, T2);

	(void)state;
	assert_json(fields(out, "knit", "Apply"),
		    "{'f:spec':{'f:replicas':{}}}");
	assert_json(fields(out, "kubectl-client-side-apply", "Update"),
		    "{'f:spec':{'.':{},'f:replicas':{},'f:paused':{}}}");
	/* Apply entries sort before Update ones. */
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(managed(out), 0), "manager")),
		"knit");
	json_decref(out);
	json_decref(live);
}

static void test_force_takes_ownership(void **state)
{
	json_t *live = created_by("kubectl-client-side-apply",
				  "{" ROLLOUT ",'metadata':{'name':'r'},"
				  "'spec':{'replicas':1,'paused':true}}",
				  NULL);
	json_t *out = apply_ok(live,
			       "{" ROLLOUT ",'metadata':{'name':'r'},"
			       "'spec':{'replicas':5}}",
			       "knit", true, NULL, T2);

	(void)state;
	assert_json(json_object_get(out, "spec"),
		    "{'replicas':5,'paused':true}");
	assert_json(fields(out, "knit", "Apply"),
		    "{'f:spec':{'f:replicas':{}}}");
	assert_json(fields(out, "kubectl-client-side-apply", "Update"),
		    "{'f:spec':{'.':{},'f:paused':{}}}");
	json_decref(out);
	json_decref(live);
}

static void test_update_after_merge_patch_moves_ownership(void **state)
{
	json_t *v1 = apply_ok(NULL,
			      "{" ROLLOUT ",'metadata':{'name':'r',"
			      "'resourceVersion':'1'},"
			      "'spec':{'replicas':3,'paused':true}}",
			      "knit", false, NULL, T1);
	json_t *v2 = json_deep_copy(v1);
	json_t *spec = json_object_get(v2, "spec");
	json_t *e;

	(void)state;
	json_object_set_new(spec, "replicas", json_integer(5));
	json_object_set_new(spec, "maxSurge", json_string("25%"));
	json_object_set_new(json_object_get(v2, "metadata"), "resourceVersion",
			    json_string("2"));
	ssa_track_update(v2, v1, "kubectl-patch", NULL, AV, NULL, T2);
	e = entry(v2, "kubectl-patch", "Update");
	assert_json(e, "{'manager':'kubectl-patch','operation':'Update',"
		       "'apiVersion':'" AV "','time':'" T2
		       "','fieldsType':'FieldsV1','fieldsV1':"
		       "{'f:spec':{'f:replicas':{},'f:maxSurge':{}}}}");
	assert_json(fields(v2, "knit", "Apply"), "{'f:spec':{'f:paused':{}}}");
	assert_json(json_object_get(entry(v2, "knit", "Apply"), "time"),
		    "'" T1 "'");

	/* A write changing nothing leaves the managed fields alone. */
	{
		json_t *v3 = json_deep_copy(v2);

		ssa_track_update(v3, v2, "other", NULL, AV, NULL, T2);
		assert_true(json_equal(managed(v3), managed(v2)));
		json_decref(v3);
	}
	json_decref(v1);
	json_decref(v2);
}

static void test_update_on_create_and_removal(void **state)
{
	json_t *v1 = created_by("ctl",
				"{" ROLLOUT ",'metadata':{'name':'r','uid':'u',"
				"'labels':{'a':'1'}},'spec':{'replicas':1},"
				"'status':{'phase':'New'}}",
				NULL);
	json_t *v2 = json_deep_copy(v1);

	(void)state;
	assert_json(fields(v1, "ctl", "Update"),
		    "{'f:metadata':{'f:labels':{'.':{},'f:a':{}}},"
		    "'f:spec':{'.':{},'f:replicas':{}},"
		    "'f:status':{'.':{},'f:phase':{}}}");
	/* Another manager deletes status: the field leaves ctl's set. */
	json_object_del(v2, "status");
	ssa_track_update(v2, v1, "ctl2", NULL, AV, NULL, T2);
	assert_json(fields(v2, "ctl", "Update"),
		    "{'f:metadata':{'f:labels':{'.':{},'f:a':{}}},"
		    "'f:spec':{'.':{},'f:replicas':{}}}");
	assert_null(entry(v2, "ctl2", "Update"));
	json_decref(v1);
	json_decref(v2);
}

static void test_update_reset_managed_fields(void **state)
{
	json_t *v1 = created_by("ctl",
				"{" ROLLOUT ",'metadata':{'name':'r'},"
				"'spec':{'replicas':1}}",
				NULL);
	json_t *v2 = json_deep_copy(v1);

	(void)state;
	json_object_set_new(json_object_get(v2, "metadata"), "managedFields",
			    json_array());
	ssa_track_update(v2, v1, "ctl", NULL, AV, NULL, T2);
	assert_null(managed(v2));
	json_decref(v1);
	json_decref(v2);
}

static const char *const CONTAINER_SCHEMA =
	"{'type':'object','properties':{'spec':{'type':'object','properties':"
	"{'containers':{'type':'array','x-kubernetes-list-type':'map',"
	"'x-kubernetes-list-map-keys':['name'],'items':{'type':'object',"
	"'properties':{'name':{'type':'string'},'image':{'type':'string'}}}},"
	"'tags':{'type':'array','x-kubernetes-list-type':'set',"
	"'items':{'type':'string'}},"
	"'args':{'type':'array','items':{'type':'string'}}}}}}";

static void test_map_list_merges_by_key(void **state)
{
	json_t *schema = J(CONTAINER_SCHEMA);
	json_t *live = created_by(
		"ctl",
		"{" ROLLOUT ",'metadata':{'name':'r'},'spec':{'containers':["
		"{'name':'app','image':'v1'},{'name':'side','image':'s1'}],"
		"'tags':['x']}}",
		schema);
	json_t *v2, *v3, *f, *app;

	(void)state;
	v2 = apply_ok(live,
		      "{" ROLLOUT ",'metadata':{'name':'r'},'spec':{"
		      "'containers':[{'name':'app','image':'v2'},"
		      "{'name':'extra','image':'e1'}],'tags':['y']}}",
		      "knit", true, schema, T2);
	assert_json(
		json_object_get(v2, "spec"),
		"{'containers':[{'name':'app','image':'v2'},"
		"{'name':'side','image':'s1'},{'name':'extra','image':'e1'}],"
		"'tags':['x','y']}");
	f = json_object_get(
		json_object_get(fields(v2, "knit", "Apply"), "f:spec"),
		"f:containers");
	app = json_object_get(f, "k:{\"name\":\"app\"}");
	assert_json(app, "{'.':{},'f:name':{},'f:image':{}}");
	assert_non_null(json_object_get(f, "k:{\"name\":\"extra\"}"));
	assert_null(json_object_get(f, "k:{\"name\":\"side\"}"));
	assert_json(json_object_get(json_object_get(fields(v2, "knit", "Apply"),
						    "f:spec"),
				    "f:tags"),
		    "{'v:\\'y\\'':{}}");

	/* Dropping 'extra' from the next apply deletes that item only. */
	v3 = apply_ok(v2,
		      "{" ROLLOUT ",'metadata':{'name':'r'},'spec':{"
		      "'containers':[{'name':'app','image':'v2'}]}}",
		      "knit", false, schema, T2);
	assert_json(json_object_get(v3, "spec"),
		    "{'containers':[{'name':'app','image':'v2'},"
		    "{'name':'side','image':'s1'}],'tags':['x']}");
	json_decref(v2);
	json_decref(v3);
	json_decref(live);
	json_decref(schema);
}

static void test_prune_keeps_item_owned_by_other(void **state)
{
	json_t *schema = J(CONTAINER_SCHEMA);
	json_t *v1 = apply_ok(NULL,
			      "{" ROLLOUT ",'metadata':{'name':'r'},'spec':{"
			      "'containers':[{'name':'app','image':'v1'}]}}",
			      "knit", false, schema, T1);
	json_t *v2 = json_deep_copy(v1);
	json_t *v3;

	(void)state;
	json_object_set_new(
		json_array_get(json_object_get(json_object_get(v2, "spec"),
					       "containers"),
			       0),
		"image", json_string("v2"));
	ssa_track_update(v2, v1, "patcher", schema, AV, NULL, T2);
	/* knit drops the container; patcher still owns its image. */
	v3 = apply_ok(v2, "{" ROLLOUT ",'metadata':{'name':'r'}}", "knit",
		      false, schema, T2);
	assert_json(json_object_get(v3, "spec"),
		    "{'containers':[{'name':'app','image':'v2'}]}");
	json_decref(v1);
	json_decref(v2);
	json_decref(v3);
	json_decref(schema);
}

static void test_map_list_conflict_path(void **state)
{
	json_t *schema = J(CONTAINER_SCHEMA);
	json_t *live = created_by("ctl",
				  "{" ROLLOUT ",'metadata':{'name':'r'},"
				  "'spec':{'containers':[{'name':'app',"
				  "'image':'v1'}]}}",
				  schema);
	json_t *a = J("{" ROLLOUT ",'metadata':{'name':'r'},'spec':{"
		      "'containers':[{'name':'app','image':'v2'}]}}");
	json_t *out = NULL, *causes = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(ssa_apply(live, a, "knit", false, schema, AV, NULL, T2,
				   &out, &causes, err, sizeof(err)),
			 ERR_CONFLICT);
	assert_string_equal(err, "Apply failed with 1 conflict: conflict with "
				 "\"ctl\" using " AV ": .spec.containers"
				 "[name=\"app\"].image");
	json_decref(causes);
	json_decref(a);
	json_decref(live);
	json_decref(schema);
}

static void test_atomic_list_replaced(void **state)
{
	json_t *schema = J(CONTAINER_SCHEMA);
	json_t *v1 = apply_ok(NULL,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'args':['a','b','c']}}",
			      "knit", false, schema, T1);
	json_t *v2 = apply_ok(v1,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'args':['z']}}",
			      "knit", false, schema, T2);

	(void)state;
	assert_json(json_object_get(v2, "spec"), "{'args':['z']}");
	assert_json(fields(v2, "knit", "Apply"), "{'f:spec':{'f:args':{}}}");
	json_decref(v1);
	json_decref(v2);
	json_decref(schema);
}

static void test_schemaless_lists(void **state)
{
	/* No schema: containers merge by name, other lists are atomic. */
	json_t *live = created_by(
		"ctl",
		"{'apiVersion':'apps/v1','kind':'Deployment','metadata':"
		"{'name':'d'},'spec':{'template':{'spec':{'containers':["
		"{'name':'app','image':'v1'},{'name':'side','image':'s'}]}},"
		"'args':['x','y']}}",
		NULL);
	json_t *out = apply_ok(live,
			       "{'apiVersion':'apps/v1','kind':'Deployment',"
			       "'metadata':{'name':'d'},'spec':{'template':{"
			       "'spec':{'containers':[{'name':'app','image':"
			       "'v1','args':['--x']}]}},'args':['x']}}",
			       "knit", true, NULL, T2);

	(void)state;
	assert_json(json_object_get(out, "spec"),
		    "{'template':{'spec':{'containers':[{'name':'app','image':"
		    "'v1','args':['--x']},{'name':'side','image':'s'}]}},"
		    "'args':['x']}");
	json_decref(out);
	json_decref(live);
}

static void test_noop_apply_keeps_time_and_server_fields(void **state)
{
	json_t *v1 = apply_ok(NULL,
			      "{" ROLLOUT ",'metadata':{'name':'r'},"
			      "'spec':{'replicas':3}}",
			      "knit", false, NULL, T1);
	json_t *meta = json_object_get(v1, "metadata");
	json_t *v2;

	(void)state;
	json_object_set_new(meta, "resourceVersion", json_string("7"));
	json_object_set_new(meta, "uid", json_string("u-1"));
	v2 = apply_ok(v1,
		      "{" ROLLOUT ",'metadata':{'name':'r',"
		      "'resourceVersion':'1'},'spec':{'replicas':3}}",
		      "knit", false, NULL, T2);
	assert_json(json_object_get(entry(v2, "knit", "Apply"), "time"),
		    "'" T1 "'");
	assert_json(json_object_get(json_object_get(v2, "metadata"),
				    "resourceVersion"),
		    "'7'");
	assert_json(json_object_get(json_object_get(v2, "metadata"), "uid"),
		    "'u-1'");
	json_decref(v1);
	json_decref(v2);
}

static void test_subresource_entry(void **state)
{
	json_t *a = J("{" ROLLOUT ",'metadata':{'name':'r'},"
		      "'status':{'phase':'Healthy'}}");
	json_t *out = NULL;
	char err[128];

	(void)state;
	assert_int_equal(ssa_apply(NULL, a, "knit", false, NULL, AV, "status",
				   T1, &out, NULL, err, sizeof(err)),
			 0);
	assert_json(json_object_get(entry(out, "knit", "Apply"), "subresource"),
		    "'status'");
	json_decref(out);
	json_decref(a);
}

static void test_manager_from_user_agent(void **state)
{
	char *m = ssa_manager_from_user_agent(
		"kubectl/v1.32.0 (linux/amd64) kubernetes/abc");
	char long_ua[300];

	(void)state;
	assert_string_equal(m, "kubectl");
	free(m);
	m = ssa_manager_from_user_agent(NULL);
	assert_string_equal(m, "");
	free(m);
	m = ssa_manager_from_user_agent("knit\tctl");
	assert_string_equal(m, "knitctl");
	free(m);
	memset(long_ua, 'a', sizeof(long_ua) - 1);
	long_ua[sizeof(long_ua) - 1] = '\0';
	m = ssa_manager_from_user_agent(long_ua);
	assert_int_equal(strlen(m), 128);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_via_apply),
		cmocka_unit_test(test_reapply_removes_dropped_field),
		cmocka_unit_test(test_reapply_keeps_field_owned_by_other),
		cmocka_unit_test(test_conflict_with_update_manager),
		cmocka_unit_test(test_conflict_message_multiple),
		cmocka_unit_test(test_same_value_is_shared),
		cmocka_unit_test(test_force_takes_ownership),
		cmocka_unit_test(test_update_after_merge_patch_moves_ownership),
		cmocka_unit_test(test_update_on_create_and_removal),
		cmocka_unit_test(test_update_reset_managed_fields),
		cmocka_unit_test(test_map_list_merges_by_key),
		cmocka_unit_test(test_prune_keeps_item_owned_by_other),
		cmocka_unit_test(test_map_list_conflict_path),
		cmocka_unit_test(test_atomic_list_replaced),
		cmocka_unit_test(test_schemaless_lists),
		cmocka_unit_test(test_noop_apply_keeps_time_and_server_fields),
		cmocka_unit_test(test_subresource_entry),
		cmocka_unit_test(test_manager_from_user_agent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

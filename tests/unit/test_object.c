/*
 * test_object: the compact cached form of Kubernetes objects: stripping of
 * managedFields and last-applied-configuration, the fields a controller
 * reads without parsing (key, owner, labels, deletion), caller transforms,
 * the stored text, plain and packed with a codec, and reference counting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kube/codec.h"
#include "kube/object.h"
#include "util/buf.h"
#include "util/err.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &err);

	if (!j)
		fail_msg("bad test JSON: %s", err.text);
	return j;
}

static struct kube_obj *make_with(struct kube_codec *codec, const char *text)
{
	json_t *j = load(text);
	char err[256] = "";
	struct kube_obj *o =
		kube_obj_new(j, NULL, NULL, codec, err, sizeof(err));

	if (!o)
		fail_msg("kube_obj_new: %s", err);
	json_decref(j);
	return o;
}

static struct kube_obj *make(const char *text)
{
	return make_with(NULL, text);
}

/* The object's text as a heap string (free it). */
static char *text_of(const struct kube_obj *o)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	assert_int_equal(kube_obj_text(o, &b), 0);
	assert_int_equal(b.len, o->text_len);
	return buf_detach(&b, NULL);
}

/* Asserts the object's text is `expect`. */
static void assert_text(const struct kube_obj *o, const char *expect)
{
	char *t = text_of(o);

	assert_string_equal(t, expect);
	free(t);
}

static const char *const RS =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
	"\"annotations\":{\"deployment.kubernetes.io/revision\":\"3\","
	"\"" LAST_APPLIED "\":\"{\\\"big\\\":1}\"},"
	"\"generation\":5,\"labels\":{\"app\":\"web\","
	"\"pod-template-hash\":\"abc12\"},"
	"\"managedFields\":[{\"manager\":\"kcm\",\"fieldsV1\":{\"f:spec\":{}}}]"
	","
	"\"name\":\"web-abc12\",\"namespace\":\"prod\","
	"\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Thing\","
	"\"name\":\"other\",\"uid\":\"u-other\"},{\"apiVersion\":\"apps/v1\","
	"\"blockOwnerDeletion\":true,\"controller\":true,\"kind\":"
	"\"Deployment\",\"name\":\"web\",\"uid\":\"u-dep\"}],"
	"\"resourceVersion\":\"77\",\"uid\":\"u-rs\"},"
	"\"spec\":{\"replicas\":3},\"status\":{\"replicas\":3}}";

static void test_identity_fields(void **state)
{
	struct kube_obj *o = make(RS);

	assert_string_equal(o->key, "prod/web-abc12");
	assert_string_equal(o->ns, "prod");
	assert_string_equal(o->name, "web-abc12");
	assert_string_equal(o->uid, "u-rs");
	assert_string_equal(o->resource_version, "77");
	assert_int_equal(o->generation, 5);
	assert_false(o->deleting);
	assert_int_equal(atomic_load(&o->refs), 1);
	assert_true(kube_obj_size(o) > sizeof(*o) + o->text_len);
	kube_obj_unref(o);
}

static void test_cluster_scoped_and_absent_fields(void **state)
{
	struct kube_obj *o = make("{\"kind\":\"Namespace\",\"metadata\":"
				  "{\"name\":\"team-a\"}}");

	assert_string_equal(o->key, "team-a");
	assert_string_equal(o->name, "team-a");
	assert_string_equal(o->ns, "");
	assert_string_equal(o->uid, "");
	assert_string_equal(o->resource_version, "");
	assert_null(o->owner_uid);
	assert_null(o->owner_kind);
	assert_null(o->owner_name);
	assert_int_equal(o->generation, 0);
	assert_string_equal(o->labels, "");
	assert_null(kube_obj_next_label(o, NULL, NULL));
	assert_null(kube_obj_label(o, "app"));
	kube_obj_unref(o);
}

static void test_strips_managed_fields_and_last_applied(void **state)
{
	json_t *in = load(RS);
	struct kube_obj *o = kube_obj_new(in, NULL, NULL, NULL, NULL, 0);
	json_t *got = kube_obj_parse(o);
	json_t *meta = json_object_get(got, "metadata");
	json_t *annots = json_object_get(meta, "annotations");
	char *text;

	assert_null(json_object_get(meta, "managedFields"));
	assert_null(json_object_get(annots, LAST_APPLIED));
	assert_string_equal(
		json_string_value(json_object_get(
			annots, "deployment.kubernetes.io/revision")),
		"3");
	text = text_of(o);
	assert_null(strstr(text, "managedFields"));
	assert_null(strstr(text, "last-applied"));
	free(text);
	/* The input is untouched. */
	meta = json_object_get(in, "metadata");
	assert_non_null(json_object_get(meta, "managedFields"));
	assert_non_null(json_object_get(json_object_get(meta, "annotations"),
					LAST_APPLIED));
	json_decref(got);
	json_decref(in);
	kube_obj_unref(o);
}

static void test_empty_annotations_removed(void **state)
{
	struct kube_obj *o = make(
		"{\"metadata\":{\"name\":\"a\",\"annotations\":{\"" LAST_APPLIED
		"\":\"{}\"}},\"data\":{}}");

	assert_text(o, "{\"metadata\":{\"name\":\"a\"},\"data\":{}}");
	kube_obj_unref(o);
	/* An annotations object that was empty already is kept. */
	o = make("{\"metadata\":{\"name\":\"a\",\"annotations\":{}}}");
	assert_text(o, "{\"metadata\":{\"name\":\"a\",\"annotations\":{}}}");
	kube_obj_unref(o);
}

static void test_text_round_trip_and_order(void **state)
{
	json_t *in = load(RS);
	struct kube_obj *o = kube_obj_new(in, NULL, NULL, NULL, NULL, 0);
	json_t *meta = json_object_get(in, "metadata");
	json_t *got = kube_obj_parse(o);
	char *expect;

	json_object_del(meta, "managedFields");
	json_object_del(json_object_get(meta, "annotations"), LAST_APPLIED);
	assert_true(json_equal(got, in));
	/* Compact, in the input's key order. */
	expect = json_dumps(in, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_text(o, expect);
	assert_int_equal(o->text_len, strlen(expect));
	assert_int_equal(strncmp(expect, "{\"apiVersion\":\"apps/v1\",", 24),
			 0);
	free(expect);
	json_decref(got);
	json_decref(in);
	kube_obj_unref(o);
}

static void test_controller_owner_only(void **state)
{
	struct kube_obj *o = make(RS);

	/* The first reference is not the controller; the second is. */
	assert_string_equal(o->owner_uid, "u-dep");
	assert_string_equal(o->owner_kind, "Deployment");
	assert_string_equal(o->owner_name, "web");
	kube_obj_unref(o);

	o = make("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\","
		 "\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":"
		 "\"r\",\"uid\":\"u1\"},{\"kind\":\"X\",\"name\":\"x\","
		 "\"uid\":\"u2\",\"controller\":false}]}}");
	assert_null(o->owner_uid);
	assert_null(o->owner_kind);
	assert_null(o->owner_name);
	kube_obj_unref(o);
}

static void test_labels(void **state)
{
	struct kube_obj *o = make(
		"{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"web\","
		"\"empty\":\"\",\"example.com/tier\":\"front\"}}}");
	const char *keys[3] = {0}, *vals[3] = {0}, *v;
	json_t *lj, *expect;
	int n = 0;

	for (const char *k = NULL; (k = kube_obj_next_label(o, k, &v));) {
		assert_true(n < 3);
		keys[n] = k;
		vals[n++] = v;
	}
	assert_int_equal(n, 3);
	assert_string_equal(keys[0], "app");
	assert_string_equal(vals[0], "web");
	assert_string_equal(keys[1], "empty");
	assert_string_equal(vals[1], "");
	assert_string_equal(keys[2], "example.com/tier");
	assert_string_equal(vals[2], "front");
	assert_string_equal(kube_obj_label(o, "example.com/tier"), "front");
	assert_string_equal(kube_obj_label(o, "empty"), "");
	assert_null(kube_obj_label(o, "ap"));
	assert_null(kube_obj_label(o, "web"));

	lj = kube_obj_labels_json(o);
	expect = load("{\"app\":\"web\",\"empty\":\"\","
		      "\"example.com/tier\":\"front\"}");
	assert_true(json_equal(lj, expect));
	json_decref(lj);
	json_decref(expect);
	kube_obj_unref(o);
}

static void test_deleting(void **state)
{
	struct kube_obj *o =
		make("{\"metadata\":{\"name\":\"a\",\"deletionTimestamp\":"
		     "\"2024-01-01T00:00:00Z\",\"finalizers\":[\"x\"]}}");

	assert_true(o->deleting);
	kube_obj_unref(o);
	o = make("{\"metadata\":{\"name\":\"a\",\"deletionTimestamp\":null}}");
	assert_false(o->deleting);
	kube_obj_unref(o);
}

static void drop_spec(json_t *obj, void *data)
{
	int *calls = data;

	(*calls)++;
	json_object_del(obj, "spec");
	/* Deep edits must not reach the caller's input. */
	json_object_set_new(json_object_get(obj, "status"), "replicas",
			    json_integer(99));
}

static void test_transform(void **state)
{
	json_t *in = load(RS);
	int calls = 0;
	struct kube_obj *o = kube_obj_new(in, drop_spec, &calls, NULL, NULL, 0);
	json_t *got = kube_obj_parse(o);

	assert_int_equal(calls, 1);
	assert_null(json_object_get(got, "spec"));
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(got, "status"), "replicas")),
			 99);
	/* The always-on stripping happened before the transform. */
	assert_null(json_object_get(json_object_get(got, "metadata"),
				    "managedFields"));
	assert_non_null(json_object_get(in, "spec"));
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(in, "status"), "replicas")),
			 3);
	assert_string_equal(o->key, "prod/web-abc12");
	json_decref(got);
	json_decref(in);
	kube_obj_unref(o);
}

/* Two optional strings are both NULL or equal. */
static void assert_same_opt(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Every field read without parsing is the same whether packed or not. */
static void assert_same_fields(const struct kube_obj *a,
			       const struct kube_obj *b)
{
	char *ta = text_of(a), *tb = text_of(b);
	json_t *la, *lb;

	assert_string_equal(a->key, b->key);
	assert_string_equal(a->ns, b->ns);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->uid, b->uid);
	assert_string_equal(a->resource_version, b->resource_version);
	assert_same_opt(a->owner_uid, b->owner_uid);
	assert_same_opt(a->owner_kind, b->owner_kind);
	assert_same_opt(a->owner_name, b->owner_name);
	la = kube_obj_labels_json(a);
	lb = kube_obj_labels_json(b);
	assert_true(json_equal(la, lb));
	json_decref(la);
	json_decref(lb);
	assert_int_equal(a->generation, b->generation);
	assert_int_equal(a->deleting, b->deleting);
	assert_int_equal(a->text_len, b->text_len);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
}

static void test_packed_round_trip(void **state)
{
	struct kube_codec *codec = kube_codec_new();
	struct kube_obj *plain = make(RS), *packed;
	json_t *a, *b;

	assert_null(plain->codec);
	assert_int_equal(plain->packed_len, plain->text_len);
	assert_int_equal(kube_codec_dict_len(codec), 0);
	packed = make_with(codec, RS);
	/* The first object primed the dictionary with its own text. */
	assert_int_equal(kube_codec_dict_len(codec), plain->text_len);
	assert_ptr_equal(packed->codec, codec);
	assert_true(packed->packed_len < plain->text_len / 4);
	assert_true(kube_obj_size(packed) < kube_obj_size(plain));
	assert_same_fields(packed, plain);
	a = kube_obj_parse(plain);
	b = kube_obj_parse(packed);
	assert_non_null(b);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	kube_obj_unref(packed);
	kube_obj_unref(plain);
	kube_codec_unref(codec);
}

/* Objects unlike the dictionary, and objects that outlive their codec. */
static void test_packed_many_outlive_codec(void **state)
{
	struct kube_codec *codec = kube_codec_new();
	struct kube_obj *plain[40], *packed[40];
	char text[512];

	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text),
			 "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			 "\"cm-%d\",\"namespace\":\"ns-%d\",\"labels\":{"
			 "\"i\":\"%d\"}},\"data\":{\"k%d\":\"%0*d\"}}",
			 i, i % 3, i, i, i * 7 + 1, i);
		plain[i] = make(text);
		packed[i] = make_with(codec, text);
	}
	kube_codec_unref(codec); /* the objects keep it alive */
	for (int i = 39; i >= 0; i--) {
		assert_same_fields(packed[i], plain[i]);
		kube_obj_unref(packed[i]);
		kube_obj_unref(plain[i]);
	}
}

static void test_text_appends_and_limits(void **state)
{
	struct kube_codec *codec = kube_codec_new();
	struct kube_obj *objs[2] = {make(RS), make_with(codec, RS)};
	char *whole = text_of(objs[0]);
	struct buf b;

	kube_codec_unref(codec);
	for (int i = 0; i < 2; i++) {
		buf_init(&b, BUF_UNLIMITED);
		buf_puts(&b, "prefix:");
		assert_int_equal(kube_obj_text(objs[i], &b), 0);
		assert_int_equal(b.len, 7 + objs[i]->text_len);
		assert_memory_equal(b.data, "prefix:", 7);
		assert_string_equal(b.data + 7, whole);
		buf_release(&b);
		/* A limit one byte short fails and leaves the buffer alone. */
		buf_init(&b, objs[i]->text_len - 1);
		assert_int_equal(kube_obj_text(objs[i], &b), ERR_TOOBIG);
		assert_int_equal(b.len, 0);
		buf_release(&b);
		kube_obj_unref(objs[i]);
	}
	free(whole);
}

static void drop_labels_and_owners(json_t *obj, void *data)
{
	json_t *meta = json_object_get(obj, "metadata");

	json_object_del(meta, "labels");
	json_object_del(meta, "ownerReferences");
}

/* The fields come from the object before the caller transform. */
static void test_fields_read_before_transform(void **state)
{
	struct kube_codec *codec = kube_codec_new();
	json_t *in = load(RS);

	for (int i = 0; i < 2; i++) {
		struct kube_obj *o =
			kube_obj_new(in, drop_labels_and_owners, NULL,
				     i ? codec : NULL, NULL, 0);
		char *text = text_of(o);

		assert_string_equal(kube_obj_label(o, "app"), "web");
		assert_string_equal(o->owner_uid, "u-dep");
		assert_null(strstr(text, "labels"));
		assert_null(strstr(text, "ownerReferences"));
		assert_non_null(strstr(text, "\"uid\":\"u-rs\""));
		free(text);
		kube_obj_unref(o);
	}
	json_decref(in);
	kube_codec_unref(codec);
}

static void expect_invalid(const char *text, const char *msg)
{
	json_t *j = load(text);
	char err[256] = "";

	assert_null(kube_obj_new(j, NULL, NULL, NULL, err, sizeof(err)));
	assert_string_equal(err, msg);
	json_decref(j);
}

static void test_invalid_input(void **state)
{
	expect_invalid("[1,2]", "object is not a JSON object");
	expect_invalid("\"x\"", "object is not a JSON object");
	expect_invalid("{\"kind\":\"Pod\"}", "object has no metadata.name");
	expect_invalid("{\"metadata\":[]}", "object has no metadata.name");
	expect_invalid("{\"metadata\":{\"name\":\"\"}}",
		       "object has no metadata.name");
	expect_invalid("{\"metadata\":{\"name\":5}}",
		       "object has no metadata.name");
	assert_null(kube_obj_new(NULL, NULL, NULL, NULL, NULL, 0));
}

static void test_refcount(void **state)
{
	struct kube_obj *o = make(RS);

	assert_ptr_equal(kube_obj_ref(o), o);
	assert_int_equal(atomic_load(&o->refs), 2);
	kube_obj_unref(o);
	assert_int_equal(atomic_load(&o->refs), 1);
	assert_null(kube_obj_ref(NULL));
	kube_obj_unref(NULL);
	kube_obj_unref(o); /* frees; ASan reports a leak or double free */
}

static void test_array_free(void **state)
{
	struct kube_obj **arr = malloc(2 * sizeof(*arr));

	arr[0] = make(RS);
	arr[1] = kube_obj_ref(arr[0]);
	kube_obj_array_free(arr, 2);
	kube_obj_array_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_fields),
		cmocka_unit_test(test_cluster_scoped_and_absent_fields),
		cmocka_unit_test(test_strips_managed_fields_and_last_applied),
		cmocka_unit_test(test_empty_annotations_removed),
		cmocka_unit_test(test_text_round_trip_and_order),
		cmocka_unit_test(test_controller_owner_only),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_deleting),
		cmocka_unit_test(test_transform),
		cmocka_unit_test(test_packed_round_trip),
		cmocka_unit_test(test_packed_many_outlive_codec),
		cmocka_unit_test(test_text_appends_and_limits),
		cmocka_unit_test(test_fields_read_before_transform),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_array_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

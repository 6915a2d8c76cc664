/*
 * test_store: the informer cache: put, get, remove, every index (also after
 * updates that move an object between index entries), label selectors,
 * the relist diff, concurrent readers against a writer (plain and packed
 * objects), and the memory a cache of realistic ReplicaSets costs per
 * object with and without a codec.
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
#include <malloc.h>
#include <pthread.h>
#include <time.h>

#include "kube/codec.h"
#include "kube/selector.h"
#include "kube/store.h"
#include "util/buf.h"

/* A ReplicaSet as kube-controller-manager writes it for a Deployment,
 * managedFields included, compact as on the wire. */
static const char RS_WIRE[] =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
	"\"annotations\":{\"deployment.kubernetes.io/desired-replicas\":\"3"
	"\",\"deployment.kubernetes.io/max-replicas\":\"4\",\"deployment.ku"
	"bernetes.io/revision\":\"7\"},\"creationTimestamp\":\"2024-05-14T0"
	"9:21:37Z\",\"generation\":4,\"labels\":{\"app\":\"checkout-api\","
	"\"pod-template-hash\":\"7d9f8c6b54\"},\"managedFields\":[{\"apiVer"
	"sion\":\"apps/v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:m"
	"etadata\":{\"f:annotations\":{\".\":{},\"f:deployment.kubernetes.i"
	"o/desired-replicas\":{},\"f:deployment.kubernetes.io/max-replicas"
	"\":{},\"f:deployment.kubernetes.io/revision\":{}},\"f:labels\":{\""
	".\":{},\"f:app\":{},\"f:pod-template-hash\":{}},\"f:ownerReference"
	"s\":{\".\":{},\"k:{\\\"uid\\\":\\\"6f1c2a8e-3b7d-4e59-9a0c-5d2e8f4"
	"1b7c3\\\"}\":{}}},\"f:spec\":{\"f:replicas\":{},\"f:selector\":{},"
	"\"f:template\":{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{"
	"},\"f:pod-template-hash\":{}}},\"f:spec\":{\"f:containers\":{\"k:{"
	"\\\"name\\\":\\\"checkout-api\\\"}\":{\".\":{},\"f:env\":{\".\":{}"
	",\"k:{\\\"name\\\":\\\"LOG_LEVEL\\\"}\":{\".\":{},\"f:name\":{},\""
	"f:value\":{}},\"k:{\\\"name\\\":\\\"DB_HOST\\\"}\":{\".\":{},\"f:n"
	"ame\":{},\"f:value\":{}},\"k:{\\\"name\\\":\\\"CACHE_TTL\\\"}\":{"
	"\".\":{},\"f:name\":{},\"f:value\":{}}},\"f:image\":{},\"f:imagePu"
	"llPolicy\":{},\"f:livenessProbe\":{\".\":{},\"f:failureThreshold\""
	":{},\"f:httpGet\":{\".\":{},\"f:path\":{},\"f:port\":{},\"f:scheme"
	"\":{}},\"f:periodSeconds\":{},\"f:successThreshold\":{},\"f:timeou"
	"tSeconds\":{}},\"f:name\":{},\"f:ports\":{\".\":{},\"k:{\\\"contai"
	"nerPort\\\":8080,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:con"
	"tainerPort\":{},\"f:name\":{},\"f:protocol\":{}}},\"f:readinessPro"
	"be\":{\".\":{},\"f:failureThreshold\":{},\"f:httpGet\":{\".\":{},"
	"\"f:path\":{},\"f:port\":{},\"f:scheme\":{}},\"f:periodSeconds\":{"
	"},\"f:successThreshold\":{},\"f:timeoutSeconds\":{}},\"f:resources"
	"\":{\".\":{},\"f:limits\":{\".\":{},\"f:cpu\":{},\"f:memory\":{}},"
	"\"f:requests\":{\".\":{},\"f:cpu\":{},\"f:memory\":{}}},\"f:termin"
	"ationMessagePath\":{},\"f:terminationMessagePolicy\":{}}},\"f:dnsP"
	"olicy\":{},\"f:restartPolicy\":{},\"f:schedulerName\":{},\"f:secur"
	"ityContext\":{},\"f:terminationGracePeriodSeconds\":{}}}}},\"manag"
	"er\":\"kube-controller-manager\",\"operation\":\"Update\",\"time\""
	":\"2024-05-14T09:21:37Z\"},{\"apiVersion\":\"apps/v1\",\"fieldsTyp"
	"e\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\"f:availableReplicas"
	"\":{},\"f:fullyLabeledReplicas\":{},\"f:observedGeneration\":{},\""
	"f:readyReplicas\":{},\"f:replicas\":{}}},\"manager\":\"kube-contro"
	"ller-manager\",\"operation\":\"Update\",\"subresource\":\"status\""
	",\"time\":\"2024-05-14T09:23:02Z\"}],\"name\":\"checkout-api-7d9f8"
	"c6b54\",\"namespace\":\"production\",\"ownerReferences\":[{\"apiVe"
	"rsion\":\"apps/v1\",\"blockOwnerDeletion\":true,\"controller\":tru"
	"e,\"kind\":\"Deployment\",\"name\":\"checkout-api\",\"uid\":\"6f1c"
	"2a8e-3b7d-4e59-9a0c-5d2e8f41b7c3\"}],\"resourceVersion\":\"4821395"
	"7\",\"uid\":\"b3e4d5c6-7a8b-4c9d-8e0f-1a2b3c4d5e6f\"},\"spec\":{\""
	"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"checkout-api"
	"\",\"pod-template-hash\":\"7d9f8c6b54\"}},\"template\":{\"metadata"
	"\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"checkout-api"
	"\",\"pod-template-hash\":\"7d9f8c6b54\"}},\"spec\":{\"containers\""
	":[{\"env\":[{\"name\":\"LOG_LEVEL\",\"value\":\"info\"},{\"name\":"
	"\"DB_HOST\",\"value\":\"postgres.production.svc.cluster.local\"},{"
	"\"name\":\"CACHE_TTL\",\"value\":\"300\"}],\"image\":\"registry.ex"
	"ample.com/shop/checkout-api:1.14.2\",\"imagePullPolicy\":\"IfNotPr"
	"esent\",\"livenessProbe\":{\"failureThreshold\":3,\"httpGet\":{\"p"
	"ath\":\"/healthz\",\"port\":8080,\"scheme\":\"HTTP\"},\"periodSeco"
	"nds\":10,\"successThreshold\":1,\"timeoutSeconds\":1},\"name\":\"c"
	"heckout-api\",\"ports\":[{\"containerPort\":8080,\"name\":\"http\""
	",\"protocol\":\"TCP\"}],\"readinessProbe\":{\"failureThreshold\":3"
	",\"httpGet\":{\"path\":\"/readyz\",\"port\":8080,\"scheme\":\"HTTP"
	"\"},\"periodSeconds\":5,\"successThreshold\":1,\"timeoutSeconds\":"
	"1},\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"512Mi"
	"\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}},\"termin"
	"ationMessagePath\":\"/dev/termination-log\",\"terminationMessagePo"
	"licy\":\"File\"}],\"dnsPolicy\":\"ClusterFirst\",\"restartPolicy\""
	":\"Always\",\"schedulerName\":\"default-scheduler\",\"securityCont"
	"ext\":{},\"terminationGracePeriodSeconds\":30}}},\"status\":{\"ava"
	"ilableReplicas\":3,\"fullyLabeledReplicas\":3,\"observedGeneration"
	"\":4,\"readyReplicas\":3,\"replicas\":3}}";

static const char *const INDEXED[] = {"app", NULL};

/* An object, packed with codec unless it is NULL; owner may be NULL;
 * labels "k=v,k=v" or NULL. */
static struct kube_obj *mk_packed(struct kube_codec *codec, const char *ns,
				  const char *name, const char *rv,
				  const char *owner, const char *labels)
{
	json_t *meta = json_pack("{s:s, s:s, s:s}", "name", name,
				 "resourceVersion", rv, "uid", name);
	json_t *obj = json_pack("{s:s, s:o}", "kind", "Pod", "metadata", meta);
	struct kube_obj *o;

	if (ns)
		json_object_set_new(meta, "namespace", json_string(ns));
	if (owner)
		json_object_set_new(meta, "ownerReferences",
				    json_pack("[{s:s, s:s, s:s, s:b}]", "kind",
					      "ReplicaSet", "name", owner,
					      "uid", owner, "controller", 1));
	if (labels) {
		json_t *l = json_object();
		char *copy = strdup(labels), *kv = copy;

		while (kv) {
			char *comma = strchr(kv, ',');
			char *eq = strchr(kv, '=');

			if (comma)
				*comma = '\0';
			*eq = '\0';
			json_object_set_new(l, kv, json_string(eq + 1));
			kv = comma ? comma + 1 : NULL;
		}
		free(copy);
		json_object_set_new(meta, "labels", l);
	}
	o = kube_obj_new(obj, NULL, NULL, codec, NULL, 0);
	assert_non_null(o);
	json_decref(obj);
	return o;
}

static struct kube_obj *mk(const char *ns, const char *name, const char *rv,
			   const char *owner, const char *labels)
{
	return mk_packed(NULL, ns, name, rv, owner, labels);
}

static void put(struct kube_store *s, struct kube_obj *o)
{
	kube_obj_unref(kube_store_put(s, o));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys of arr as a sorted, comma-joined string; frees arr.
 * assert_keys(lookup, expect) runs a lookup that stores into `arr`. */
static char *keys_of(struct kube_obj **arr, size_t n)
{
	const char **keys = calloc(n + 1, sizeof(*keys));
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < n; i++) {
		keys[i] = arr[i]->key;
		len += strlen(keys[i]) + 1;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	out = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strncat(out, ",", len - strlen(out) - 1);
		strncat(out, keys[i], len - strlen(out) - 1);
	}
	free(keys);
	kube_obj_array_free(arr, n);
	return out;
}

#define assert_keys(expr, expect)                                           \
	do {                                                                \
		size_t n_ = (expr);                                         \
		char *got_ = keys_of(arr, n_);                              \
		if (strcmp(got_, (expect)) != 0)                            \
			fail_msg("%s: got \"%s\" want \"%s\"", #expr, got_, \
				 (expect));                                 \
		free(got_);                                                 \
	} while (0)

static void test_put_get_remove(void **state)
{
	struct kube_store *s = kube_store_new(NULL);
	struct kube_obj *a1 = mk("ns1", "a", "1", NULL, NULL), *got;

	assert_null(kube_store_put(s, a1));
	assert_int_equal(kube_store_len(s), 1);
	got = kube_store_get(s, "ns1/a");
	assert_ptr_equal(got, a1);
	assert_int_equal(atomic_load(&got->refs), 2);
	kube_obj_unref(got);
	assert_null(kube_store_get(s, "ns1/b"));
	assert_null(kube_store_get(s, "a"));

	/* Replacing returns the old version with its reference. */
	got = kube_store_put(s, mk("ns1", "a", "2", NULL, NULL));
	assert_ptr_equal(got, a1);
	kube_obj_unref(got);
	got = kube_store_get(s, "ns1/a");
	assert_string_equal(got->resource_version, "2");
	kube_obj_unref(got);
	assert_int_equal(kube_store_len(s), 1);

	put(s, mk(NULL, "cluster-thing", "3", NULL, NULL));
	got = kube_store_get(s, "cluster-thing");
	assert_non_null(got);
	kube_obj_unref(got);

	got = kube_store_remove(s, "ns1/a");
	assert_string_equal(got->resource_version, "2");
	kube_obj_unref(got);
	assert_null(kube_store_remove(s, "ns1/a"));
	assert_int_equal(kube_store_len(s), 1);
	kube_store_free(s);
	kube_store_free(NULL);
}

static void test_indexes(void **state)
{
	struct kube_store *s = kube_store_new(INDEXED);
	struct kube_obj **arr = NULL;

	put(s, mk("ns1", "a", "1", "rs1", "app=web,tier=front"));
	put(s, mk("ns1", "b", "1", "rs1", "app=web,tier=back"));
	put(s, mk("ns2", "c", "1", "rs2", "app=web"));
	put(s, mk("ns2", "d", "1", NULL, "app=db"));
	put(s, mk(NULL, "e", "1", NULL, NULL));

	assert_keys(kube_store_list(s, NULL, &arr),
		    "e,ns1/a,ns1/b,ns2/c,ns2/d");
	assert_keys(kube_store_list(s, "ns1", &arr), "ns1/a,ns1/b");
	assert_keys(kube_store_list(s, "", &arr), "e");
	assert_keys(kube_store_list(s, "nope", &arr), "");
	assert_null(arr);
	assert_keys(kube_store_by_owner(s, "rs1", &arr), "ns1/a,ns1/b");
	assert_keys(kube_store_by_owner(s, "rs2", &arr), "ns2/c");
	assert_keys(kube_store_by_owner(s, "rs3", &arr), "");
	/* Indexed label. */
	assert_keys(kube_store_by_label(s, NULL, "app", "web", &arr),
		    "ns1/a,ns1/b,ns2/c");
	assert_keys(kube_store_by_label(s, "ns2", "app", "web", &arr), "ns2/c");
	assert_keys(kube_store_by_label(s, NULL, "app", "x", &arr), "");
	/* Label that is not indexed: a scan gives the same answers. */
	assert_keys(kube_store_by_label(s, NULL, "tier", "front", &arr),
		    "ns1/a");
	assert_keys(kube_store_by_label(s, "ns2", "tier", "front", &arr), "");

	/* Updates that move b to another owner and label leave nothing
	 * stale behind. */
	put(s, mk("ns1", "b", "2", "rs2", "app=db,tier=front"));
	assert_keys(kube_store_by_owner(s, "rs1", &arr), "ns1/a");
	assert_keys(kube_store_by_owner(s, "rs2", &arr), "ns1/b,ns2/c");
	assert_keys(kube_store_by_label(s, NULL, "app", "web", &arr),
		    "ns1/a,ns2/c");
	assert_keys(kube_store_by_label(s, NULL, "app", "db", &arr),
		    "ns1/b,ns2/d");
	assert_keys(kube_store_by_label(s, NULL, "tier", "front", &arr),
		    "ns1/a,ns1/b");
	/* Losing the owner and the labels. */
	put(s, mk("ns1", "a", "2", NULL, NULL));
	assert_keys(kube_store_by_owner(s, "rs1", &arr), "");
	assert_keys(kube_store_by_label(s, "ns1", "app", "web", &arr), "");
	/* An object "moving" namespace is a remove plus an add. */
	kube_obj_unref(kube_store_remove(s, "ns2/c"));
	put(s, mk("ns3", "c", "2", "rs2", "app=web"));
	assert_keys(kube_store_list(s, "ns2", &arr), "ns2/d");
	assert_keys(kube_store_list(s, "ns3", &arr), "ns3/c");
	assert_keys(kube_store_by_label(s, "ns2", "app", "web", &arr), "");
	assert_keys(kube_store_by_label(s, "ns3", "app", "web", &arr), "ns3/c");
	kube_store_free(s);
}

static void test_indexes_freed_when_empty(void **state)
{
	struct kube_store *s = kube_store_new(INDEXED);
	size_t empty = kube_store_bytes(s);
	char name[32], labels[48];

	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "o%d", i);
		snprintf(labels, sizeof(labels), "app=%s,x=y", name);
		put(s, mk(i % 2 ? "odd" : "even", name, "1", name, labels));
	}
	assert_true(kube_store_bytes(s) > empty + 200 * 100);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "%s/o%d", i % 2 ? "odd" : "even",
			 i);
		kube_obj_unref(kube_store_remove(s, name));
	}
	assert_int_equal(kube_store_len(s), 0);
	/* No bucket, set or slot array outlives its last object. */
	assert_int_equal(kube_store_bytes(s), empty);
	kube_store_free(s);
}

static void test_select(void **state)
{
	struct kube_store *s = kube_store_new(INDEXED);
	struct kube_obj **arr = NULL;
	struct label_selector *sel = NULL;

	put(s, mk("ns1", "a", "1", NULL, "app=web,tier=front"));
	put(s, mk("ns1", "b", "1", NULL, "app=web,tier=db"));
	put(s, mk("ns2", "c", "1", NULL, "app=web"));
	put(s, mk("ns2", "d", "1", NULL, NULL));
	assert_int_equal(
		label_selector_parse("app=web,tier!=db", &sel, NULL, 0), 0);
	assert_keys(kube_store_select(s, NULL, sel, &arr), "ns1/a,ns2/c");
	assert_keys(kube_store_select(s, "ns1", sel, &arr), "ns1/a");
	assert_keys(kube_store_select(s, NULL, NULL, &arr),
		    "ns1/a,ns1/b,ns2/c,ns2/d");
	label_selector_free(sel);
	assert_int_equal(label_selector_parse("!app", &sel, NULL, 0), 0);
	assert_keys(kube_store_select(s, NULL, sel, &arr), "ns2/d");
	label_selector_free(sel);
	assert_int_equal(label_selector_parse("", &sel, NULL, 0), 0);
	assert_keys(kube_store_select(s, "ns2", sel, &arr), "ns2/c,ns2/d");
	label_selector_free(sel);
	kube_store_free(s);
}

struct changes {
	struct kube_store *s;
	char *lines[16];
	size_t n;
};

static void on_change(struct kube_obj *old, struct kube_obj *new, void *data)
{
	struct changes *c = data;
	char line[128];

	/* The store is usable here: the callback runs outside the lock. */
	assert_true(kube_store_len(c->s) > 0);
	if (!old)
		snprintf(line, sizeof(line), "add %s %s", new->key,
			 new->resource_version);
	else if (!new)
		snprintf(line, sizeof(line), "delete %s %s", old->key,
			 old->resource_version);
	else
		snprintf(line, sizeof(line), "update %s %s->%s", new->key,
			 old->resource_version, new->resource_version);
	assert_true(c->n < 16);
	c->lines[c->n++] = strdup(line);
}

static void test_replace(void **state)
{
	struct kube_store *s = kube_store_new(INDEXED);
	struct changes c = {.s = s};
	struct kube_obj *objs[4], **arr = NULL;
	const char *expect[] = {"add ns1/d 1", "delete ns1/c 1",
				"update ns1/b 1->2"};

	put(s, mk("ns1", "a", "1", "rs1", "app=web"));
	put(s, mk("ns1", "b", "1", "rs1", "app=web"));
	put(s, mk("ns1", "c", "1", "rs1", "app=web"));
	objs[0] = mk("ns1", "a", "1", "rs1", "app=web"); /* unchanged */
	objs[1] = mk("ns1", "b", "2", "rs2", "app=db");	 /* updated */
	objs[2] = mk("ns1", "d", "1", NULL, "app=web");	 /* added */
	kube_store_replace(s, objs, 3, on_change, &c);
	assert_int_equal(c.n, 3);
	qsort(c.lines, c.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(c.lines[i], expect[i]);
		free(c.lines[i]);
	}
	assert_int_equal(kube_store_len(s), 3);
	assert_keys(kube_store_list(s, NULL, &arr), "ns1/a,ns1/b,ns1/d");
	assert_keys(kube_store_by_owner(s, "rs1", &arr), "ns1/a");
	assert_keys(kube_store_by_owner(s, "rs2", &arr), "ns1/b");
	assert_keys(kube_store_by_label(s, NULL, "app", "web", &arr),
		    "ns1/a,ns1/d");

	/* A duplicate key in the list: the last one wins. No callback. */
	objs[0] = mk("ns1", "a", "1", NULL, NULL);
	objs[1] = mk("ns1", "a", "1", NULL, NULL);
	kube_store_replace(s, objs, 2, NULL, NULL);
	assert_keys(kube_store_list(s, NULL, &arr), "ns1/a");
	/* Emptying the store. */
	c.n = 0;
	kube_store_replace(s, NULL, 0, NULL, NULL);
	assert_int_equal(kube_store_len(s), 0);
	kube_store_free(s);
}

/* ---- concurrency ---- */

#define CONC_KEYS   8
#define CONC_ROUNDS 3000

struct conc {
	struct kube_store *s;
	struct kube_codec *codec; /* NULL: plain objects */
	atomic_int done;
	atomic_long checks;
};

static void *writer(void *arg)
{
	struct conc *c = arg;
	char name[16], rv[16], labels[64];

	for (int i = 1; i <= CONC_ROUNDS; i++) {
		int k = i % CONC_KEYS;
		const char *parity = i % 2 ? "odd" : "even";

		snprintf(name, sizeof(name), "o%d", k);
		snprintf(rv, sizeof(rv), "%d", i);
		snprintf(labels, sizeof(labels), "app=%s,v=%d", parity, i);
		if (i % 97 == 0) {
			char key[32];

			snprintf(key, sizeof(key), "ns/%s", name);
			kube_obj_unref(kube_store_remove(c->s, key));
			continue;
		}
		put(c->s, mk_packed(c->codec, "ns", name, rv, parity, labels));
	}
	atomic_store(&c->done, 1);
	return NULL;
}

/* An object is whole: its fields and its text tell the same version. */
static void check_whole(const struct kube_obj *o, int parse)
{
	const char *v = kube_obj_label(o, "v");

	assert_non_null(v);
	assert_string_equal(v, o->resource_version);
	assert_string_equal(o->owner_uid,
			    strtol(v, NULL, 10) % 2 ? "odd" : "even");
	if (parse) {
		json_t *j = kube_obj_parse(o);
		const char *rv = json_string_value(json_object_get(
			json_object_get(j, "metadata"), "resourceVersion"));

		assert_string_equal(rv, o->resource_version);
		json_decref(j);
	}
}

static void *reader(void *arg)
{
	struct conc *c = arg;
	struct kube_obj **arr, *o;
	char key[32];
	unsigned i = 0;
	size_t n;

	while (!atomic_load(&c->done)) {
		snprintf(key, sizeof(key), "ns/o%u", i++ % CONC_KEYS);
		if ((o = kube_store_get(c->s, key))) {
			check_whole(o, i % 16 == 0);
			kube_obj_unref(o);
		}
		n = kube_store_by_label(c->s, "ns", "app", "odd", &arr);
		for (size_t j = 0; j < n; j++) {
			assert_string_equal(arr[j]->owner_uid, "odd");
			check_whole(arr[j], 0);
		}
		kube_obj_array_free(arr, n);
		n = kube_store_by_owner(c->s, "even", &arr);
		for (size_t j = 0; j < n; j++)
			assert_string_equal(kube_obj_label(arr[j], "app"),
					    "even");
		kube_obj_array_free(arr, n);
		assert_true(kube_store_len(c->s) <= CONC_KEYS);
		atomic_fetch_add(&c->checks, 1);
	}
	return NULL;
}

static void test_concurrent_readers_and_writer(void **state)
{
	struct conc c = {.s = kube_store_new(INDEXED), .codec = *state};
	pthread_t w, r[3];

	atomic_init(&c.done, 0);
	atomic_init(&c.checks, 0);
	for (int i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, reader, &c);
	pthread_create(&w, NULL, writer, &c);
	pthread_join(w, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	assert_true(atomic_load(&c.checks) > 0);
	assert_int_equal(kube_store_len(c.s), CONC_KEYS);
	kube_store_free(c.s);
}

/* The same with packed objects: readers unpack while the writer packs. */
static void test_concurrent_packed(void **state)
{
	struct kube_codec *codec = kube_codec_new();
	void *arg = codec;

	test_concurrent_readers_and_writer(&arg);
	kube_codec_unref(codec);
}

/* ---- memory ---- */

#define MEM_OBJS 10000

/* The i-th of MEM_OBJS ReplicaSets: 10 namespaces, 10 per Deployment. */
static json_t *realistic_rs(const json_t *tmpl, int i)
{
	json_t *rs = json_deep_copy(tmpl);
	json_t *meta = json_object_get(rs, "metadata");
	json_t *ref =
		json_array_get(json_object_get(meta, "ownerReferences"), 0);
	json_t *labels = json_object_get(meta, "labels");
	char dep[32], name[48], hash[16], uid[40], ouid[40], ns[16];

	snprintf(ns, sizeof(ns), "team-%d", i % 10);
	snprintf(dep, sizeof(dep), "service-%04d", i / 10);
	snprintf(hash, sizeof(hash), "%08x%02d", (unsigned)i * 2654435761u,
		 i % 100);
	snprintf(name, sizeof(name), "%s-%s", dep, hash);
	snprintf(uid, sizeof(uid), "b3e4d5c6-7a8b-4c9d-8e0f-%012d", i);
	snprintf(ouid, sizeof(ouid), "6f1c2a8e-3b7d-4e59-9a0c-%012d", i / 10);
	json_object_set_new(meta, "name", json_string(name));
	json_object_set_new(meta, "namespace", json_string(ns));
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(labels, "app", json_string(dep));
	json_object_set_new(labels, "pod-template-hash", json_string(hash));
	json_object_set_new(ref, "name", json_string(dep));
	json_object_set_new(ref, "uid", json_string(ouid));
	return rs;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* What a cache of MEM_OBJS realistic ReplicaSets costs. */
struct mem_report {
	size_t total;	/* kube_store_bytes() */
	size_t objs;	/* sum of kube_obj_size() */
	size_t text;	/* sum of packed_len: the text as stored */
	double new_us;	/* kube_obj_new() per object */
	double text_us; /* kube_obj_text() per object */
};

static void measure(const json_t *tmpl, struct kube_codec *codec,
		    struct mem_report *r)
{
	struct kube_store *s = kube_store_new(INDEXED);
	struct mallinfo2 before = mallinfo2(), after;
	struct kube_obj **arr = NULL;
	double spent = 0, t0;
	struct buf text;
	size_t n;

	r->objs = 0;
	r->text = 0;
	for (int i = 0; i < MEM_OBJS; i++) {
		json_t *rs = realistic_rs(tmpl, i);
		struct kube_obj *o;

		t0 = now_us();
		o = kube_obj_new(rs, NULL, NULL, codec, NULL, 0);
		spent += now_us() - t0;
		r->objs += kube_obj_size(o);
		r->text += o->packed_len;
		put(s, o);
		json_decref(rs);
	}
	after = mallinfo2();
	r->new_us = spent / MEM_OBJS;
	r->total = kube_store_bytes(s);
	/* Read every object's text back, and check one of them. */
	n = kube_store_list(s, NULL, &arr);
	assert_int_equal(n, MEM_OBJS);
	buf_init(&text, BUF_UNLIMITED);
	t0 = now_us();
	for (size_t i = 0; i < n; i++) {
		buf_reset(&text);
		assert_int_equal(kube_obj_text(arr[i], &text), 0);
	}
	r->text_us = (now_us() - t0) / (double)n;
	assert_non_null(strstr(text.data, arr[n - 1]->uid));
	buf_release(&text);
	kube_obj_array_free(arr, n);
	print_message("%s: store of %d: %zu bytes/object accounted (objects "
		      "%zu with text %zu, map and indexes %zu); kube_obj_new "
		      "%.1f us, kube_obj_text %.1f us per object\n",
		      codec ? "packed" : "plain", MEM_OBJS, r->total / MEM_OBJS,
		      r->objs / MEM_OBJS, r->text / MEM_OBJS,
		      (r->total - r->objs) / MEM_OBJS, r->new_us, r->text_us);
	/* mallinfo2() reads 0 under ASan, which replaces malloc. */
	if (after.uordblks > before.uordblks)
		print_message("%s: heap in use: %zu bytes/object\n",
			      codec ? "packed" : "plain",
			      (after.uordblks - before.uordblks) / MEM_OBJS);
	assert_int_equal(kube_store_len(s), MEM_OBJS);
	kube_store_free(s);
}

static void test_memory_per_object(void **state)
{
	json_t *tmpl = json_loads(RS_WIRE, 0, NULL);
	struct kube_codec *codec = kube_codec_new();
	struct mem_report plain, packed;
	struct kube_obj *one;

	assert_non_null(tmpl);
	one = kube_obj_new(tmpl, NULL, NULL, NULL, NULL, 0);
	print_message("realistic ReplicaSet: %zu bytes on the wire, %zu "
		      "stripped text, kube_obj_size %zu\n",
		      sizeof(RS_WIRE) - 1, one->text_len, kube_obj_size(one));
	assert_true(one->text_len < sizeof(RS_WIRE) / 2);
	kube_obj_unref(one);

	measure(tmpl, NULL, &plain);
	measure(tmpl, codec, &packed);
	print_message("codec: %zu bytes (%zu per object at %d)\n",
		      kube_codec_size(codec), kube_codec_size(codec) / MEM_OBJS,
		      MEM_OBJS);
	/* The map and the three indexes stay small next to the objects. */
	assert_true((plain.total - plain.objs) / MEM_OBJS < 200);
	/* The issue allows 1.5 KB per cached ReplicaSet in all; the packed
	 * store, its indexes and its share of the codec stay well below. */
	assert_true((packed.total + kube_codec_size(codec)) / MEM_OBJS <= 1100);
	assert_true(packed.objs < plain.objs / 2);
	kube_codec_unref(codec);
	json_decref(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_remove),
		cmocka_unit_test(test_indexes),
		cmocka_unit_test(test_indexes_freed_when_empty),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_concurrent_readers_and_writer),
		cmocka_unit_test(test_concurrent_packed),
		cmocka_unit_test(test_memory_per_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

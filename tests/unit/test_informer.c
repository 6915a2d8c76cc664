/*
 * Unit tests of the informer's ready-made handlers: a change becomes the
 * right workqueue key, its own or its controller owner's, and nothing else.
 * (The informer's list/watch behaviour is tested against knit-devcluster in
 * tests/integration/test_kube.sh.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube/informer.h"
#include "kube/object.h"
#include "kube/workqueue.h"

static struct kube_obj *make(const char *json)
{
	json_error_t e;
	json_t *j = json_loads(json, 0, &e);
	char err[128];
	struct kube_obj *o;

	assert_non_null(j);
	o = kube_obj_new(j, NULL, NULL, NULL, err, sizeof(err));
	assert_non_null(o);
	json_decref(j);
	return o;
}

/* The next key in q, or NULL when none is ready within 50 ms. */
static char *next_key(struct workqueue *q)
{
	char *k = workqueue_get_timeout(q, 50);

	if (k)
		workqueue_done(q, k);
	return k;
}

static void test_enqueue_self(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	struct kube_obj *a = make("{\"metadata\":{\"name\":\"web\","
				  "\"namespace\":\"shop\"}}");
	struct kube_obj *ns = make("{\"metadata\":{\"name\":\"shop\"}}");
	char *k;

	(void)state;
	informer_enqueue_self(NULL, a, q);
	informer_enqueue_self(a, NULL, q); /* deletion: same key, deduped */
	informer_enqueue_self(NULL, ns, q);
	k = next_key(q);
	assert_string_equal(k, "shop/web");
	free(k);
	k = next_key(q);
	assert_string_equal(k, "shop"); /* cluster-scoped: just the name */
	free(k);
	assert_null(next_key(q));
	kube_obj_unref(a);
	kube_obj_unref(ns);
	workqueue_shutdown(q);
	workqueue_free(q);
}

static const char *rs_owned_by(const char *kind, const char *name,
			       const char *uid, char *buf, size_t len)
{
	snprintf(buf, len,
		 "{\"metadata\":{\"name\":\"web-abc\",\"namespace\":\"shop\","
		 "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":"
		 "\"ConfigMap\",\"name\":\"other\",\"uid\":\"u0\"},"
		 "{\"apiVersion\":\"knit.dev/v1alpha1\",\"kind\":\"%s\","
		 "\"name\":\"%s\",\"uid\":\"%s\",\"controller\":true}]}}",
		 kind, name, uid);
	return buf;
}

static void test_enqueue_owner(void **state)
{
	struct workqueue *q = workqueue_new(NULL);
	struct informer_owner_target t = {.queue = q, .kind = "Rollout"};
	char buf[512];
	struct kube_obj *owned =
		make(rs_owned_by("Rollout", "web", "u1", buf, sizeof(buf)));
	struct kube_obj *moved =
		make(rs_owned_by("Rollout", "web2", "u2", buf, sizeof(buf)));
	struct kube_obj *other =
		make(rs_owned_by("Deployment", "web", "u3", buf, sizeof(buf)));
	struct kube_obj *orphan = make("{\"metadata\":{\"name\":\"x\","
				       "\"namespace\":\"shop\"}}");
	char *k;

	(void)state;
	/* only the controller reference counts, and only of the right kind */
	informer_enqueue_owner(NULL, owned, &t);
	k = next_key(q);
	assert_string_equal(k, "shop/web");
	free(k);
	informer_enqueue_owner(NULL, other, &t);
	informer_enqueue_owner(NULL, orphan, &t);
	assert_null(next_key(q));
	/* an update that changes the owner wakes both owners */
	informer_enqueue_owner(owned, moved, &t);
	k = next_key(q);
	assert_string_equal(k, "shop/web");
	free(k);
	k = next_key(q);
	assert_string_equal(k, "shop/web2");
	free(k);
	/* a deletion wakes the last owner */
	informer_enqueue_owner(moved, NULL, &t);
	k = next_key(q);
	assert_string_equal(k, "shop/web2");
	free(k);
	assert_null(next_key(q));
	kube_obj_unref(owned);
	kube_obj_unref(moved);
	kube_obj_unref(other);
	kube_obj_unref(orphan);
	workqueue_shutdown(q);
	workqueue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enqueue_self),
		cmocka_unit_test(test_enqueue_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * kube_check churn: an informer must end up equal to the server.
 *
 * Runs a ConfigMap informer on one namespace whose handlers keep their own
 * map of key -> resourceVersion, makes random writes through the REST
 * client (creates, full updates with conflict retries, merge patches,
 * deletes), then waits up to 60 s for both the cache and the handlers' view
 * to equal a fresh list from the server, object by object (resourceVersion
 * and data). Prints the informer's counters so the test can check that
 * watches were re-established and 410s caused relists. When
 * $KUBE_CHECK_WRITES_DONE names a file, it is created once the writes end,
 * so a test can stop injecting faults before the wait for equality.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/informer.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/hashmap.h"
#include "util/mono.h"

#include "kube_check.h"

#define MAX_LIVE 150

struct seen {
	pthread_mutex_t lock;
	struct hashmap rv; /* key -> heap resourceVersion */
	long adds, updates, deletes;
};

static void on_change(struct kube_obj *old, struct kube_obj *new, void *data)
{
	struct seen *s = data;
	char *prev;

	pthread_mutex_lock(&s->lock);
	if (new) {
		prev = hashmap_put(&s->rv, new->key,
				   xstrdup(new->resource_version));
		if (old)
			s->updates++;
		else
			s->adds++;
	} else {
		prev = hashmap_remove(&s->rv, old->key);
		s->deletes++;
	}
	free(prev);
	pthread_mutex_unlock(&s->lock);
}

struct server_state {
	struct hashmap objs; /* key -> json object (new references) */
};

static int keep_item(json_t *item, void *data)
{
	struct server_state *st = data;
	json_t *md = json_object_get(item, "metadata");
	char *key = xasprintf(
		"%s/%s", json_string_value(json_object_get(md, "namespace")),
		json_string_value(json_object_get(md, "name")));

	json_decref(hashmap_put(&st->objs, key, json_incref(item)));
	free(key);
	return 0;
}

static void server_state_release(struct server_state *st)
{
	const char *k;
	void *v;

	for (size_t i = 0; hashmap_next(&st->objs, &i, &k, &v);)
		json_decref(v);
	hashmap_release(&st->objs);
}

static const char *rv_of(json_t *obj)
{
	return json_string_value(json_object_get(
		json_object_get(obj, "metadata"), "resourceVersion"));
}

/* Compares cache and handler view with the server; prints the first
 * difference into why. */
static bool equal_to_server(struct kube_store *store, struct seen *s,
			    struct server_state *st, char *why, size_t len)
{
	const char *k;
	void *v;
	bool ok = kube_store_len(store) == st->objs.size;

	pthread_mutex_lock(&s->lock);
	ok = ok && s->rv.size == st->objs.size;
	if (!ok)
		snprintf(why, len, "sizes: server %zu cache %zu handlers %zu",
			 st->objs.size, kube_store_len(store), s->rv.size);
	for (size_t i = 0; ok && hashmap_next(&st->objs, &i, &k, &v);) {
		struct kube_obj *o = kube_store_get(store, k);
		const char *hrv = hashmap_get(&s->rv, k);
		json_t *cached = o ? kube_obj_parse(o) : NULL;

		if (!o || strcmp(o->resource_version, rv_of(v)) || !hrv ||
		    strcmp(hrv, rv_of(v)) ||
		    !json_equal(json_object_get(cached, "data"),
				json_object_get(v, "data"))) {
			snprintf(why, len,
				 "%s: server rv %s, cache rv %s, "
				 "handlers rv %s",
				 k, rv_of(v), o ? o->resource_version : "-",
				 hrv ? hrv : "-");
			ok = false;
		}
		json_decref(cached);
		kube_obj_unref(o);
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static json_t *configmap(const char *ns, const char *name, unsigned v)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", v);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}",
			 "apiVersion", "v1", "kind", "ConfigMap", "metadata",
			 "name", name, "namespace", ns, "labels", "app",
			 "churn", "data", "v", num);
}

struct counts {
	long creates, updates, patches, deletes, conflicts, failures;
};

static void one_op(struct kube_client *c, const char *ns, unsigned *seed,
		   struct counts *n)
{
	struct kube_error e = KUBE_ERROR_INIT;
	char name[32];
	unsigned op = rand_r(seed) % 10, v = (unsigned)rand_r(seed);
	json_t *obj = NULL;
	int rc;

	snprintf(name, sizeof(name), "cm-%u",
		 (unsigned)rand_r(seed) % MAX_LIVE);
	if (op < 4) {
		json_t *cm = configmap(ns, name, v);

		rc = kube_create(c, &KUBE_CONFIGMAPS, ns, cm, NULL, NULL, &e);
		json_decref(cm);
		n->creates += !rc;
	} else if (op < 6) {
		rc = kube_get(c, &KUBE_CONFIGMAPS, ns, name, &obj, &e);
		if (!rc) {
			char num[16];

			snprintf(num, sizeof(num), "%u", v);
			json_object_set_new(json_object_get(obj, "data"), "v",
					    json_string(num));
			rc = kube_update(c, &KUBE_CONFIGMAPS, ns, obj, NULL,
					 NULL, &e);
			n->updates += !rc;
		}
	} else if (op < 8) {
		json_t *p = json_pack("{s:{s:s}}", "data", "p", name);

		rc = kube_patch(c, &KUBE_CONFIGMAPS, ns, name, NULL,
				KUBE_PATCH_MERGE, p, NULL, NULL, &e);
		json_decref(p);
		n->patches += !rc;
	} else {
		rc = kube_delete(c, &KUBE_CONFIGMAPS, ns, name, NULL, &e);
		n->deletes += !rc;
	}
	if (rc == ERR_CONFLICT)
		n->conflicts++;
	else if (rc && !(op >= 4 && rc == ERR_NOTFOUND) &&
		 !(op < 4 && rc == ERR_EXISTS)) {
		n->failures++;
		check_print_error(rc, &e);
	}
	json_decref(obj);
	kube_error_release(&e);
}

static void print_stats(struct informer *inf, struct seen *s,
			const struct counts *n, bool equal, const char *why)
{
	const struct reflector_stats *rs = informer_stats(inf);

	printf("creates=%ld updates=%ld patches=%ld deletes=%ld conflicts=%ld "
	       "failures=%ld\n",
	       n->creates, n->updates, n->patches, n->deletes, n->conflicts,
	       n->failures);
	printf("lists=%ld relists=%ld watches=%ld events=%ld bookmarks=%ld "
	       "errors=%ld\n",
	       atomic_load(&rs->lists), atomic_load(&rs->relists),
	       atomic_load(&rs->watches), atomic_load(&rs->events),
	       atomic_load(&rs->bookmarks), atomic_load(&rs->errors));
	printf("handlers adds=%ld updates=%ld deletes=%ld\n", s->adds,
	       s->updates, s->deletes);
	printf("objects=%zu equal=%s%s%s\n",
	       kube_store_len(informer_store(inf)), equal ? "yes" : "no",
	       equal ? "" : " ", equal ? "" : why);
}

static void writes_done(void)
{
	const char *path = getenv("KUBE_CHECK_WRITES_DONE");
	FILE *f;

	if (!path || !*path)
		return;
	f = fopen(path, "w");
	if (f)
		fclose(f);
}

static bool wait_equal(struct kube_client *c, const char *ns,
		       struct informer *inf, struct seen *s, char *why,
		       size_t len)
{
	long deadline = mono_now_ms() + 60000;

	while (mono_now_ms() < deadline) {
		struct kube_error e = KUBE_ERROR_INIT;
		struct server_state st;
		bool eq = false;

		hashmap_init(&st.objs);
		if (!kube_list_each(c, &KUBE_CONFIGMAPS, ns, NULL, keep_item,
				    &st, NULL, &e))
			eq = equal_to_server(informer_store(inf), s, &st, why,
					     len);
		else
			snprintf(why, len, "list: %.200s", e.message);
		server_state_release(&st);
		kube_error_release(&e);
		if (eq)
			return true;
		usleep(200 * 1000);
	}
	return false;
}

int check_churn(struct kube_client *c, char **argv)
{
	const char *ns = argv[0];
	long ops = strtol(argv[1], NULL, 10);
	unsigned seed = (unsigned)strtoul(argv[2], NULL, 10);
	const char *index[] = {"app", NULL};
	/* small pages, so every (re)list is paginated */
	struct informer_options io = {.resource = &KUBE_CONFIGMAPS,
				      .ns = ns,
				      .index_labels = index,
				      .page_size = 25};
	struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct counts n = {0};
	struct informer *inf;
	char why[512] = "";
	bool equal;
	const char *k;
	void *v;

	hashmap_init(&s.rv);
	inf = informer_new(c, &io);
	informer_add_handler(inf, on_change, &s);
	informer_start(inf);
	if (informer_wait_synced(inf, 30000)) {
		printf("error: informer did not sync in 30 s\n");
		equal = false;
	} else {
		for (long i = 0; i < ops; i++)
			one_op(c, ns, &seed, &n);
		writes_done();
		equal = wait_equal(c, ns, inf, &s, why, sizeof(why));
	}
	informer_stop(inf);
	print_stats(inf, &s, &n, equal, why);
	informer_free(inf);
	for (size_t i = 0; hashmap_next(&s.rv, &i, &k, &v);)
		free(v);
	hashmap_release(&s.rv);
	return equal && !n.failures ? 0 : 1;
}

/*
 * kube_check stop NS: starts a ConfigMap informer on NS, lets it run for a
 * second (the test makes its list hang in Retry-After waits), then stops it
 * and prints how long informer_stop() took and whether it had synced.
 */
int check_stop(struct kube_client *c, char **argv)
{
	struct informer_options io = {.resource = &KUBE_CONFIGMAPS,
				      .ns = argv[0]};
	struct informer *inf = informer_new(c, &io);
	long t0;

	informer_start(inf);
	usleep(1000 * 1000);
	t0 = mono_now_ms();
	informer_stop(inf);
	printf("stopped in %ld ms synced=%s\n", mono_now_ms() - t0,
	       informer_has_synced(inf) ? "yes" : "no");
	informer_free(inf);
	return 0;
}

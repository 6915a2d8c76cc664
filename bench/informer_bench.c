/*
 * informer_bench: what an informer costs. Two modes against a running API
 * server (bench/informer_bench.sh starts one):
 *
 *   informer_bench KUBECONFIG populate N THREADS
 *       creates N realistic ReplicaSets in namespace "bench" (the shape
 *       kube-controller-manager makes for a Deployment: owner reference,
 *       pod template with one full container, three annotations), each
 *       created with field manager kube-controller-manager and then given a
 *       status through the status subresource, so two managedFields entries
 *       travel on the wire as in a real cluster.
 *   informer_bench KUBECONFIG measure
 *       measures resident memory with a warmed-up client, starts a
 *       ReplicaSet informer on every namespace, times the initial list and
 *       sync, and prints the resident memory growth per cached object.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "util/err.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size in bytes, from /proc/self/statm. */
static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, rss = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

/* The uid of the Deployment that owns every ReplicaSet: without a live
 * owner the garbage collector would delete them. */
static char owner_uid[64];

static json_t *replicaset(long i)
{
	char name[64], hash[16];
	const char *uid = owner_uid;

	snprintf(hash, sizeof(hash), "%08lx", 0x5d4f0000L + i);
	snprintf(name, sizeof(name), "checkout-api-%ld-%s", i / 2, hash);
	return json_pack(
		"{s:s, s:s,"
		" s:{s:s, s:s, s:{s:s, s:s, s:s, s:s},"
		"    s:{s:s, s:s, s:s},"
		"    s:[{s:s, s:s, s:s, s:s, s:b, s:b}]},"
		" s:{s:i, s:i,"
		"    s:{s:{s:s, s:s}},"
		"    s:{s:{s:{s:s, s:s, s:s, s:s}, s:{s:s}},"
		"       s:{s:[{s:s, s:s, s:[{s:s, s:i, s:s}],"
		"              s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}],"
		"              s:{s:{s:s, s:s}, s:{s:s, s:s}},"
		"              s:{s:{s:s, s:i, s:s}, s:i, s:i},"
		"              s:{s:{s:s, s:i, s:s}, s:i, s:i},"
		"              s:s, s:s, s:s}],"
		"          s:s, s:s, s:i, s:s, s:{}}}}}",
		"apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata",
		"name", name, "namespace", "bench", "labels", "app",
		"checkout-api", "pod-template-hash", hash, "team", "payments",
		"tier", "backend", "annotations",
		"deployment.kubernetes.io/desired-replicas", "3",
		"deployment.kubernetes.io/max-replicas", "4",
		"deployment.kubernetes.io/revision", "7", "ownerReferences",
		"apiVersion", "apps/v1", "kind", "Deployment", "name",
		"checkout-api", "uid", uid, "controller", 1,
		"blockOwnerDeletion", 1, "spec", "replicas", 3,
		"minReadySeconds", 5, "selector", "matchLabels", "app",
		"checkout-api", "pod-template-hash", hash, "template",
		"metadata", "labels", "app", "checkout-api",
		"pod-template-hash", hash, "team", "payments", "tier",
		"backend", "annotations", "prometheus.io/scrape", "true",
		"spec", "containers", "name", "api", "image",
		"registry.example.com/payments/checkout-api:1.42.3", "ports",
		"name", "http", "containerPort", 8080, "protocol", "TCP", "env",
		"name", "LOG_LEVEL", "value", "info", "name", "REGION", "value",
		"eu-west-1", "name", "FEATURE_FLAGS", "value",
		"fast-checkout,new-pricing", "resources", "requests", "cpu",
		"250m", "memory", "256Mi", "limits", "cpu", "1", "memory",
		"512Mi", "readinessProbe", "httpGet", "path", "/ready", "port",
		8080, "scheme", "HTTP", "periodSeconds", 5, "failureThreshold",
		3, "livenessProbe", "httpGet", "path", "/healthz", "port", 8080,
		"scheme", "HTTP", "periodSeconds", 10, "failureThreshold", 3,
		"imagePullPolicy", "IfNotPresent", "terminationMessagePath",
		"/dev/termination-log", "terminationMessagePolicy", "File",
		"restartPolicy", "Always", "dnsPolicy", "ClusterFirst",
		"terminationGracePeriodSeconds", 30, "schedulerName",
		"default-scheduler", "securityContext");
}

struct populate_ctx {
	struct kube_client *c;
	long from, to;
	long failures;
};

static void *populate_range(void *arg)
{
	struct populate_ctx *p = arg;
	struct kube_write_options w = {.field_manager =
					       "kube-controller-manager"};

	for (long i = p->from; i < p->to; i++) {
		struct kube_error e = KUBE_ERROR_INIT;
		json_t *rs = replicaset(i), *out = NULL;
		int rc = kube_create(p->c, &KUBE_REPLICASETS, "bench", rs, &w,
				     &out, &e);

		if (!rc) {
			json_object_set_new(
				out, "status",
				json_pack("{s:i, s:i, s:i, s:i, s:i}",
					  "replicas", 3, "fullyLabeledReplicas",
					  3, "readyReplicas", 3,
					  "availableReplicas", 3,
					  "observedGeneration", 1));
			rc = kube_update_status(p->c, &KUBE_REPLICASETS,
						"bench", out, &w, NULL, &e);
		}
		if (rc && rc != ERR_EXISTS) {
			fprintf(stderr, "populate: %s: %s\n", err_name(rc),
				e.message);
			p->failures++;
		}
		json_decref(rs);
		json_decref(out);
		kube_error_release(&e);
	}
	return NULL;
}

static int populate(struct kube_client *c, long n, int threads)
{
	struct populate_ctx ctx[16];
	pthread_t tid[16];
	json_t *ns =
		json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
			  "Namespace", "metadata", "name", "bench");
	double t0 = now_s();
	long failures = 0;

	if (threads < 1 || threads > 16)
		threads = 4;

	json_t *dep = json_pack(
		"{s:s, s:s, s:{s:s, s:s}, s:{s:{s:{s:s}}, s:{s:{s:{s:s}},"
		" s:{s:[{s:s, s:s}]}}}}",
		"apiVersion", "apps/v1", "kind", "Deployment", "metadata",
		"name", "checkout-api", "namespace", "bench", "spec",
		"selector", "matchLabels", "app", "checkout-api", "template",
		"metadata", "labels", "app", "checkout-api", "spec",
		"containers", "name", "api", "image",
		"registry.example.com/payments/checkout-api:1.42.3");
	json_t *created = NULL;
	struct kube_error e = KUBE_ERROR_INIT;

	kube_create(c, &KUBE_NAMESPACES, NULL, ns, NULL, NULL, NULL);
	json_decref(ns);
	if (kube_create(c, &KUBE_DEPLOYMENTS, "bench", dep, NULL, &created,
			&e)) {
		fprintf(stderr, "populate: Deployment: %s\n", e.message);
		kube_error_release(&e);
		json_decref(dep);
		return 1;
	}
	snprintf(owner_uid, sizeof(owner_uid), "%s",
		 json_string_value(json_object_get(
			 json_object_get(created, "metadata"), "uid")));
	json_decref(created);
	json_decref(dep);
	for (int t = 0; t < threads; t++) {
		ctx[t] = (struct populate_ctx){c, n * t / threads,
					       n * (t + 1) / threads, 0};
		pthread_create(&tid[t], NULL, populate_range, &ctx[t]);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		failures += ctx[t].failures;
	}
	printf("populated %ld ReplicaSets in %.1f s (%ld failures)\n", n,
	       now_s() - t0, failures);
	return failures ? 1 : 0;
}

static int measure(struct kube_client *c)
{
	const char *index[] = {"app", NULL};
	struct informer_options o = {.resource = &KUBE_REPLICASETS,
				     .index_labels = index};
	struct kube_list_options one = {.limit = 1};
	json_t *page = NULL;
	struct informer *inf;
	long base, grown, trimmed;
	double t0, t1;
	size_t n;

	/* Warm the client (TLS, curl, jansson) before taking the baseline. */
	if (kube_list(c, &KUBE_REPLICASETS, "bench", &one, &page, NULL))
		return 1;
	json_decref(page);
	malloc_trim(0);
	base = rss_bytes();
	t0 = now_s();
	inf = informer_new(c, &o);
	informer_start(inf);
	if (informer_wait_synced(inf, 60000)) {
		fprintf(stderr, "measure: informer did not sync in 60 s\n");
		informer_free(inf);
		return 1;
	}
	t1 = now_s();
	n = kube_store_len(informer_store(inf));
	grown = rss_bytes();
	malloc_trim(0);
	trimmed = rss_bytes();
	printf("objects %zu\n", n);
	printf("list+sync %.2f s\n", t1 - t0);
	printf("rss baseline %.1f MB, after sync %.1f MB, after malloc_trim "
	       "%.1f MB\n",
	       base / 1e6, grown / 1e6, trimmed / 1e6);
	printf("per object: %.0f bytes (%.0f before trim); store accounting "
	       "%.0f bytes\n",
	       n ? (double)(trimmed - base) / (double)n : 0.0,
	       n ? (double)(grown - base) / (double)n : 0.0,
	       n ? (double)kube_store_bytes(informer_store(inf)) / (double)n
		 : 0.0);
	informer_free(inf);
	return 0;
}

int main(int argc, char **argv)
{
	struct kube_config_options o = {0};
	struct kube_client_options co = {.qps = -1,
					 .component = "informer-bench"};
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	char err[512];
	int rc = 64;

	if (argc < 3) {
		fprintf(stderr, "usage: informer_bench KUBECONFIG populate N "
				"THREADS | measure\n");
		return 64;
	}
	o.kubeconfig = argv[1];
	if (kube_config_load(&o, &cfg, err, sizeof(err)) ||
	    kube_client_new(cfg, &co, &c, err, sizeof(err))) {
		fprintf(stderr, "informer_bench: %s\n", err);
		kube_config_free(cfg);
		return 1;
	}
	if (!strcmp(argv[2], "populate") && argc == 5)
		rc = populate(c, strtol(argv[3], NULL, 10),
			      (int)strtol(argv[4], NULL, 10));
	else if (!strcmp(argv[2], "measure"))
		rc = measure(c);
	kube_client_free(c);
	kube_config_free(cfg);
	return rc;
}

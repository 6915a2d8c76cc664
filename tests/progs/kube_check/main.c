/*
 * kube_check: drives pkg/kube against a real API server for the
 * integration tests (tests/integration/test_kube*.sh).
 *
 *   kube_check [conn] get RESOURCE NS NAME
 *       one GET; prints the object's name and resourceVersion, or
 *       "error: ERR_X (HTTP n): message" and exits 2.
 *   kube_check [conn] poll RESOURCE NS NAME SECONDS
 *       GETs every 200 ms, printing each change of outcome, until one
 *       succeeds (exit 0) or SECONDS pass (exit 2).
 *   kube_check [conn] churn NS OPS SEED
 *       starts a ConfigMap informer on NS, makes OPS random creates,
 *       updates, patches and deletes, then waits until both the cache and
 *       the state seen through the handlers equal the server's list.
 *   kube_check [conn] leader LEASE ID
 *       runs leader election; prints "leading", "new-leader X" and
 *       "stopped" lines; SIGTERM stops it cleanly (releasing the lease).
 *   kube_check [conn] events NS NAME COUNT
 *       records the same Event COUNT times about ConfigMap NS/NAME.
 *   kube_check [conn] stop NS
 *       starts a ConfigMap informer, stops it after a second and prints
 *       how long the stop took.
 *
 * conn: --kubeconfig PATH, --context NAME, --incluster DIR (in-cluster
 * configuration with DIR as the service-account directory), --qps N
 * (client-side rate limit, -1 for none).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/hashmap.h"
#include "util/mono.h"

#include "kube_check.h"

static const struct {
	const char *name;
	const struct kube_resource *res;
} resources[] = {
	{"configmaps", &KUBE_CONFIGMAPS},
	{"events", &KUBE_EVENTS},
	{"leases", &KUBE_LEASES},
	{"namespaces", &KUBE_NAMESPACES},
	{"pods", &KUBE_PODS},
	{"replicasets", &KUBE_REPLICASETS},
	{"secrets", &KUBE_SECRETS},
	{"services", &KUBE_SERVICES},
};

const struct kube_resource *check_resource(const char *name)
{
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (!strcmp(resources[i].name, name))
			return resources[i].res;
	fprintf(stderr, "kube_check: unknown resource %s\n", name);
	exit(64);
}

void check_print_error(int rc, const struct kube_error *e)
{
	printf("error: %s (HTTP %ld): %s\n", err_name(rc), e->http_status,
	       e->message);
	fflush(stdout);
}

static int cmd_get(struct kube_client *c, char **argv)
{
	struct kube_error e = KUBE_ERROR_INIT;
	json_t *obj = NULL;
	json_t *md;
	int rc = kube_get(c, check_resource(argv[0]), argv[1], argv[2], &obj,
			  &e);

	if (rc) {
		check_print_error(rc, &e);
		kube_error_release(&e);
		return 2;
	}
	md = json_object_get(obj, "metadata");
	printf("ok %s %s\n", json_string_value(json_object_get(md, "name")),
	       json_string_value(json_object_get(md, "resourceVersion")));
	json_decref(obj);
	return 0;
}

static int cmd_poll(struct kube_client *c, char **argv)
{
	long deadline = mono_now_ms() + strtol(argv[3], NULL, 10) * 1000L;
	int last = 1;

	while (mono_now_ms() < deadline) {
		struct kube_error e = KUBE_ERROR_INIT;
		int rc = kube_get(c, check_resource(argv[0]), argv[1], argv[2],
				  NULL, &e);

		if (rc != last) {
			if (rc)
				check_print_error(rc, &e);
			else
				printf("ok\n");
			fflush(stdout);
		}
		kube_error_release(&e);
		if (!rc)
			return 0;
		last = rc;
		usleep(200 * 1000);
	}
	return 2;
}

struct conn_flags {
	const char *kubeconfig;
	const char *context;
	const char *incluster;
	double qps;
};

static int parse_conn(int argc, char **argv, struct conn_flags *f)
{
	int i = 1;

	while (i + 1 < argc && !strncmp(argv[i], "--", 2)) {
		if (!strcmp(argv[i], "--kubeconfig"))
			f->kubeconfig = argv[i + 1];
		else if (!strcmp(argv[i], "--context"))
			f->context = argv[i + 1];
		else if (!strcmp(argv[i], "--incluster"))
			f->incluster = argv[i + 1];
		else if (!strcmp(argv[i], "--qps"))
			f->qps = strtod(argv[i + 1], NULL);
		else
			break;
		i += 2;
	}
	return i;
}

static int connect(const struct conn_flags *f, struct kube_config **cfg,
		   struct kube_client **c)
{
	struct kube_config_options o = {.kubeconfig = f->kubeconfig,
					.context = f->context};
	struct kube_client_options co = {.qps = f->qps,
					 .component = "kube-check"};
	char err[1024];
	int rc = f->incluster ? kube_config_load_incluster(f->incluster, cfg,
							   err, sizeof(err))
			      : kube_config_load(&o, cfg, err, sizeof(err));

	if (!rc)
		rc = kube_client_new(*cfg, &co, c, err, sizeof(err));
	if (rc)
		printf("error: %s: %s\n", err_name(rc), err);
	return rc;
}

int main(int argc, char **argv)
{
	struct conn_flags f = {0};
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	int i = parse_conn(argc, argv, &f);
	int n = argc - i - 1;
	const char *cmd = i < argc ? argv[i] : "";
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (connect(&f, &cfg, &c)) {
		kube_config_free(cfg);
		return 2;
	}
	if (!strcmp(cmd, "get") && n == 3)
		rc = cmd_get(c, argv + i + 1);
	else if (!strcmp(cmd, "poll") && n == 4)
		rc = cmd_poll(c, argv + i + 1);
	else if (!strcmp(cmd, "churn") && n == 3)
		rc = check_churn(c, argv + i + 1);
	else if (!strcmp(cmd, "leader") && n == 2)
		rc = check_leader(c, argv + i + 1);
	else if (!strcmp(cmd, "events") && n == 3)
		rc = check_events(c, argv + i + 1);
	else if (!strcmp(cmd, "stop") && n == 1)
		rc = check_stop(c, argv + i + 1);
	else {
		fprintf(stderr,
			"usage: kube_check [--kubeconfig P] [--context C] "
			"[--incluster DIR] get|poll|churn|leader|events|stop "
			"...\n");
		rc = 64;
	}
	kube_client_free(c);
	kube_config_free(cfg);
	return rc;
}

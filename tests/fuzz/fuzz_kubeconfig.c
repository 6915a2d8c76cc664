/*
 * fuzz_kubeconfig: libFuzzer target for kubeconfig loading
 * (kube/kubeconfig.h) from arbitrary bytes.
 *
 * kube_config_load() reads files, so the input is written to one temporary
 * file, made at start-up and named by $KUBECONFIG, and rewritten for every
 * input; the input is the whole file, so the seeds are plain kubeconfigs.
 * Each input is loaded as a controller would (no options); when that
 * succeeds, the result's documented invariants are checked and it is
 * loaded again with --context, --namespace and --server overrides, which
 * must show in the result. Every loaded config is freed, so
 * LeakSanitizer catches a leak on any path; a failure must leave *out NULL
 * and a message in errbuf.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "util/err.h"

#define OVERRIDE_NS	"kube-system"
#define OVERRIDE_SERVER "https://127.0.0.1:6443"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char config_path[64];
static int config_fd = -1;

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_kubeconfig: check failed: %s\n", what);
	abort();
}

static void remove_config(void)
{
	unlink(config_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("TMPDIR");

	snprintf(config_path, sizeof(config_path), "%s/fuzz-kubeconfig.XXXXXX",
		 dir && *dir && strlen(dir) < 32 ? dir : "/tmp");
	config_fd = mkstemp(config_path);
	check(config_fd >= 0, "mkstemp");
	atexit(remove_config);
	check(setenv("KUBECONFIG", config_path, 1) == 0, "setenv");
	return 0;
}

static void write_config(const uint8_t *data, size_t size)
{
	size_t done = 0;

	check(ftruncate(config_fd, 0) == 0, "ftruncate");
	while (done < size) {
		ssize_t n = pwrite(config_fd, data + done, size - done,
				   (off_t)done);

		check(n > 0, "pwrite");
		done += (size_t)n;
	}
}

/* The invariants kubeconfig.h states for a loaded config. */
static void check_config(const struct kube_config *c)
{
	size_t n = strlen(c->server);

	check(n > 0 && c->server[n - 1] != '/', "server has no '/' tail");
	check(c->namespace && *c->namespace, "namespace is set");
	check(c->source && strcmp(c->source, config_path) == 0,
	      "source names the file");
	check(c->cluster != NULL, "cluster name is set");
	check(!c->ca_data || c->ca_data[c->ca_len] == '\0',
	      "ca data NUL-terminated");
	check(!c->cert_data || c->cert_data[c->cert_len] == '\0',
	      "cert data NUL-terminated");
	check(!c->key_data || c->key_data[c->key_len] == '\0',
	      "key data NUL-terminated");
	check(!(c->ca_data && c->ca_file), "ca data wins over file");
	if (c->exec)
		check(c->exec->command && c->exec->args && c->exec->env,
		      "exec command, args and env are set");
}

/* Loads again with overrides; they must win over the file. */
static void load_with_overrides(const struct kube_config *first)
{
	struct kube_config_options opt = {
		.context = first->context,
		.namespace = OVERRIDE_NS,
		.server = OVERRIDE_SERVER,
	};
	struct kube_config *c = NULL;
	char errbuf[512] = "";
	int rc = kube_config_load(&opt, &c, errbuf, sizeof(errbuf));

	/* The same file and context loaded fine without the overrides,
	 * and the overrides are valid, so this load must succeed too. */
	if (rc < 0)
		fprintf(stderr, "fuzz_kubeconfig: %s\n", errbuf);
	check(rc == 0 && c != NULL, "load with overrides succeeds");
	check(strcmp(c->namespace, OVERRIDE_NS) == 0, "namespace override");
	check(strcmp(c->server, OVERRIDE_SERVER) == 0, "server override");
	check_config(c);
	kube_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_config *c = (struct kube_config *)&c; /* not NULL */
	char errbuf[512] = "";
	int rc;

	write_config(data, size);
	rc = kube_config_load(NULL, &c, errbuf, sizeof(errbuf));
	if (rc < 0) {
		check(c == NULL, "failure leaves *out NULL");
		check(errbuf[0] != '\0', "failure has a message");
		check(rc == ERR_NOTFOUND || rc == ERR_PARSE ||
			      rc == ERR_INVAL || rc == ERR_IO,
		      "failure code is documented");
		return 0;
	}
	check(rc == 0 && c != NULL, "success gives a config");
	check_config(c);
	load_with_overrides(c);
	kube_config_free(c);
	return 0;
}

/*
 * Unit tests for kube/auth: static tokens, basic auth, token-file rotation
 * and exec credential plugins. The plugins are small shell scripts written
 * into a temporary directory; they count their runs in a file and save the
 * KUBERNETES_EXEC_INFO they were given, so caching, invalidation, expiry,
 * the environment and every failure message can be asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kube/auth.h"
#include "util/alloc.h"
#include "util/err.h"
#include "tmpdir.h"

#define V1 "client.authentication.k8s.io/v1"

struct fixture {
	char dir[64];
	struct kube_config *cfg;
	struct kube_auth *auth;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_auth.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->cfg = xcalloc(1, sizeof(*f->cfg));
	f->cfg->server = xstrdup("https://127.0.0.1:6443");
	f->cfg->namespace = xstrdup("default");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	kube_auth_free(f->auth);
	kube_config_free(f->cfg);
	rm_tree(f->dir);
	free(f);
	return 0;
}

/* Writes dir/name with `mode`; returns the new path. */
static char *put(struct fixture *f, const char *name, const char *text,
		 mode_t mode)
{
	char *path = xasprintf("%s/%s", f->dir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
	return path;
}

/* Whole content of dir/name, or NULL. */
static char *slurp(struct fixture *f, const char *name)
{
	char *path = xasprintf("%s/%s", f->dir, name), *out = NULL;
	FILE *fp = fopen(path, "r");
	size_t n;

	free(path);
	if (!fp)
		return NULL;
	out = xcalloc(1, 65536);
	n = fread(out, 1, 65535, fp);
	out[n] = '\0';
	fclose(fp);
	return out;
}

static int runs(struct fixture *f)
{
	char *s = slurp(f, "count");
	int n = s ? (int)strtol(s, NULL, 10) : 0;

	free(s);
	return n;
}

/* The header as a string; fails the test on error. */
static char *header_ok(struct fixture *f)
{
	char err[512] = "", *h = NULL;

	if (kube_auth_header(f->auth, &h, err, sizeof(err)) != 0)
		fail_msg("header failed: %s", err);
	return h;
}

static void assert_header(struct fixture *f, const char *want)
{
	char *h = header_ok(f);

	assert_string_equal(h, want);
	free(h);
}

/* Expects kube_auth_header to fail with `code` and a message with `want`. */
static void header_bad(struct fixture *f, int code, const char *want)
{
	char err[512] = "", *h = (char *)1;
	int rc = kube_auth_header(f->auth, &h, err, sizeof(err));

	if (rc != code || !strstr(err, want))
		fail_msg("rc=%s err=\"%s\", want %s \"%s\"", err_name(rc), err,
			 err_name(code), want);
	assert_null(h);
}

static void test_static_and_basic(void **state)
{
	struct fixture *f = *state;
	char *h = (char *)1, err[64];

	f->auth = kube_auth_new(f->cfg);
	assert_int_equal(kube_auth_header(f->auth, &h, err, sizeof(err)), 0);
	assert_null(h); /* no credentials: anonymous */
	assert_int_equal(kube_auth_invalidate(f->auth, NULL), 0);

	f->cfg->username = xstrdup("admin");
	f->cfg->password = xstrdup("s3cret");
	assert_header(f, "Authorization: Basic YWRtaW46czNjcmV0");

	f->cfg->token = xstrdup("abc.def");
	assert_header(f, "Authorization: Bearer abc.def");
	assert_int_equal(
		kube_auth_invalidate(f->auth, "Authorization: Bearer abc.def"),
		0);
	assert_header(f, "Authorization: Bearer abc.def");
}

static void test_token_file_rotation(void **state)
{
	struct fixture *f = *state;
	char *tmp;

	f->cfg->token_file = xasprintf("%s/token", f->dir);
	f->auth = kube_auth_new(f->cfg);
	header_bad(f, ERR_IO, "/token");

	free(put(f, "token", "first-token\n", 0600));
	assert_header(f, "Authorization: Bearer first-token");
	assert_header(f, "Authorization: Bearer first-token");

	/* rewritten in place with another length */
	free(put(f, "token", "  second\n\n", 0600));
	assert_header(f, "Authorization: Bearer second");

	/* replaced by rename with the same length (as kubelet does) */
	tmp = put(f, "token.new", "third!", 0600);
	assert_int_equal(rename(tmp, f->cfg->token_file), 0);
	assert_header(f, "Authorization: Bearer third!");
	free(tmp);

	assert_int_equal(kube_auth_invalidate(f->auth, "x"), 1);
	assert_header(f, "Authorization: Bearer third!");

	free(put(f, "token", "\n", 0600));
	header_bad(f, ERR_IO, "read empty token from file");
}

/*
 * The plugin: counts runs, saves its request, prints a credential whose
 * token is "$PREFIX-<run>" and whose expiry is $EXP (omitted when empty).
 */
static const char plugin_sh[] =
	"#!/bin/sh\n"
	"n=$(cat \"$DIR/count\" 2>/dev/null || echo 0)\n"
	"n=$((n + 1))\n"
	"echo $n > \"$DIR/count\"\n"
	"printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$DIR/info\"\n"
	"printf '%s %s' \"$1\" \"$PARENT_VAR\" > \"$DIR/seen\"\n"
	"exp=\n"
	"[ -n \"$EXP\" ] && exp=\",\\\"expirationTimestamp\\\":\\\"$EXP\\\"\"\n"
	"printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
	"\"status\":{\"token\":\"%s-%s\"%s}}\\n' \"${VER:-" V1 "}\" "
	"\"$PREFIX\" \"$n\" \"$exp\"\n";

/* Sets up an exec config running `script` with env `extra` (NULL-ended). */
static void exec_setup(struct fixture *f, const char *script,
		       const char *const *extra)
{
	struct kube_exec_config *e = xcalloc(1, sizeof(*e));
	size_t n = 0;

	while (extra[n])
		n++;
	e->command = put(f, "plugin", script, 0755);
	e->args = xcalloc(2, sizeof(char *));
	e->args[0] = xstrdup("first-arg");
	e->env = xcalloc(n + 2, sizeof(char *));
	e->env[0] = xasprintf("DIR=%s", f->dir);
	for (size_t i = 0; i < n; i++)
		e->env[i + 1] = xstrdup(extra[i]);
	e->api_version = xstrdup(V1);
	e->interactive_mode = xstrdup("Never");
	f->cfg->exec = e;
	f->auth = kube_auth_new(f->cfg);
}

static void test_exec_cache_and_invalidate(void **state)
{
	struct fixture *f = *state;
	const char *env[] = {"PREFIX=tok", "EXP=2999-01-01T00:00:00Z", NULL};
	char *seen;

	setenv("PARENT_VAR", "from-parent", 1);
	exec_setup(f, plugin_sh, env);
	assert_header(f, "Authorization: Bearer tok-1");
	assert_header(f, "Authorization: Bearer tok-1");
	assert_int_equal(runs(f), 1);

	/* a stale header does not drop the current token */
	assert_int_equal(
		kube_auth_invalidate(f->auth, "Authorization: Bearer old"), 1);
	assert_header(f, "Authorization: Bearer tok-1");
	assert_int_equal(runs(f), 1);

	/* the 401'd one does */
	assert_int_equal(
		kube_auth_invalidate(f->auth, "Authorization: Bearer tok-1"),
		1);
	assert_header(f, "Authorization: Bearer tok-2");
	assert_header(f, "Authorization: Bearer tok-2");
	assert_int_equal(runs(f), 2);

	/* args and our environment reach the plugin */
	seen = slurp(f, "seen");
	assert_string_equal(seen, "first-arg from-parent");
	free(seen);
	unsetenv("PARENT_VAR");
}

static void test_exec_expiry(void **state)
{
	struct fixture *f = *state;
	const char *env[] = {"PREFIX=old", "EXP=2001-02-03T04:05:06Z", NULL};

	exec_setup(f, plugin_sh, env);
	assert_header(f, "Authorization: Bearer old-1");
	assert_header(f, "Authorization: Bearer old-2");
	assert_int_equal(runs(f), 2);
}

static void test_exec_no_expiry(void **state)
{
	struct fixture *f = *state;
	const char *env[] = {"PREFIX=forever", NULL};

	exec_setup(f, plugin_sh, env);
	assert_header(f, "Authorization: Bearer forever-1");
	assert_header(f, "Authorization: Bearer forever-1");
	assert_int_equal(runs(f), 1);
}

static void test_exec_info(void **state)
{
	struct fixture *f = *state;
	const char *env[] = {"PREFIX=t", "KUBERNETES_EXEC_INFO=spoofed", NULL};
	json_t *info, *cl;
	char *text;

	f->cfg->ca_data = xstrdup("ca-pem");
	f->cfg->ca_len = 6;
	f->cfg->tls_server_name = xstrdup("api.internal");
	exec_setup(f, plugin_sh, env);
	assert_header(f, "Authorization: Bearer t-1");
	text = slurp(f, "info");
	info = json_loads(text, 0, NULL);
	assert_non_null(info);
	assert_string_equal(
		json_string_value(json_object_get(info, "apiVersion")), V1);
	assert_string_equal(json_string_value(json_object_get(info, "kind")),
			    "ExecCredential");
	assert_true(json_is_false(
		json_object_get(json_object_get(info, "spec"), "interactive")));
	assert_null(json_object_get(json_object_get(info, "spec"), "cluster"));
	json_decref(info);
	free(text);

	/* with provideClusterInfo the cluster is described */
	f->cfg->exec->provide_cluster_info = true;
	assert_int_equal(
		kube_auth_invalidate(f->auth, "Authorization: Bearer t-1"), 1);
	assert_header(f, "Authorization: Bearer t-2");
	text = slurp(f, "info");
	info = json_loads(text, 0, NULL);
	cl = json_object_get(json_object_get(info, "spec"), "cluster");
	assert_string_equal(json_string_value(json_object_get(cl, "server")),
			    "https://127.0.0.1:6443");
	assert_string_equal(json_string_value(json_object_get(
				    cl, "certificate-authority-data")),
			    "Y2EtcGVt");
	assert_string_equal(
		json_string_value(json_object_get(cl, "tls-server-name")),
		"api.internal");
	json_decref(info);
	free(text);
}

static void test_exec_failures(void **state)
{
	struct fixture *f = *state;
	const char *env[] = {NULL};
	char *want;

	exec_setup(f,
		   "#!/bin/sh\necho 'boom: bad creds' >&2\n"
		   "echo 'second line' >&2\nexit 3\n",
		   env);
	want = xasprintf("exec: executable %s failed with exit code 3: boom: "
			 "bad creds",
			 f->cfg->exec->command);
	header_bad(f, ERR_UNAUTHORIZED, want);
	free(want);

	free(put(f, "plugin", "#!/bin/sh\necho not json\n", 0755));
	header_bad(f, ERR_UNAUTHORIZED, "decoding stdout");

	free(put(f, "plugin",
		 "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication."
		 "k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":"
		 "{\"token\":\"x\"}}'\n",
		 0755));
	header_bad(f, ERR_UNAUTHORIZED,
		   "exec plugin is configured to use API version " V1
		   ", plugin returned version "
		   "client.authentication.k8s.io/v1beta1");

	free(put(f, "plugin",
		 "#!/bin/sh\necho '{\"apiVersion\":\"" V1 "\",\"kind\":"
		 "\"ExecCredential\"}'\n",
		 0755));
	header_bad(f, ERR_UNAUTHORIZED, "didn't return a status field");

	free(put(f, "plugin",
		 "#!/bin/sh\necho '{\"apiVersion\":\"" V1 "\",\"kind\":"
		 "\"ExecCredential\",\"status\":{\"token\":\"t\","
		 "\"expirationTimestamp\":\"tomorrow\"}}'\n",
		 0755));
	header_bad(f, ERR_UNAUTHORIZED, "invalid RFC 3339 time \"tomorrow\"");

	free(put(f, "plugin", "#!/bin/sh\nkill -9 $$\n", 0755));
	header_bad(f, ERR_UNAUTHORIZED, "was killed by signal 9");

	free(f->cfg->exec->interactive_mode);
	f->cfg->exec->interactive_mode = xstrdup("Always");
	header_bad(f, ERR_UNAUTHORIZED, "cannot support interactive mode");
}

static void test_exec_missing_command(void **state)
{
	struct fixture *f = *state;
	const char *env[] = {NULL};

	exec_setup(f, plugin_sh, env);
	free(f->cfg->exec->command);
	f->cfg->exec->command = xstrdup("knit-no-such-credential-plugin");
	f->cfg->exec->install_hint = xstrdup("brew install knit-plugin");
	header_bad(f, ERR_UNAUTHORIZED,
		   "exec: executable knit-no-such-credential-plugin not "
		   "found; brew install knit-plugin");

	free(f->cfg->exec->command);
	f->cfg->exec->command = xasprintf("%s/nope", f->dir);
	header_bad(f, ERR_UNAUTHORIZED, "/nope not found; brew install");
}

static void *header_thread(void *arg)
{
	struct fixture *f = arg;
	char *h = NULL, err[256];

	if (kube_auth_header(f->auth, &h, err, sizeof(err)) != 0)
		return NULL;
	return h;
}

static void test_exec_concurrent_callers(void **state)
{
	struct fixture *f = *state;
	const char *env[] = {"PREFIX=c", NULL};
	pthread_t t[6];

	exec_setup(f, plugin_sh, env);
	for (int i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, header_thread, f);
	for (int i = 0; i < 6; i++) {
		void *h;

		pthread_join(t[i], &h);
		assert_non_null(h);
		assert_string_equal(h, "Authorization: Bearer c-1");
		free(h);
	}
	assert_int_equal(runs(f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_static_and_basic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_token_file_rotation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exec_cache_and_invalidate,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_expiry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exec_no_expiry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exec_info, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exec_failures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exec_missing_command,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_concurrent_callers,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for kube/kubeconfig: every field of a kubeconfig file, the
 * $KUBECONFIG merge rules, --context and other overrides, relative paths,
 * the messages for broken files, and in-cluster configuration. Each test
 * works in its own temporary directory and removes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "util/alloc.h"
#include "util/err.h"
#include "tmpdir.h"

struct fixture {
	char dir[64];
	char *old_home;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	const char *home = getenv("HOME");

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_kubeconfig.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->old_home = home ? xstrdup(home) : NULL;
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	if (f->old_home)
		setenv("HOME", f->old_home, 1);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	free(f->old_home);
	free(f);
	return 0;
}

/* Writes dir/name (creating subdirectories); returns the new path. */
static char *put(struct fixture *f, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", f->dir, name);
	char *slash = path + strlen(f->dir);
	FILE *fp;

	while ((slash = strchr(slash + 1, '/'))) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Loads `file` with the given context; expects success. */
static struct kube_config *load_ok(const char *file, const char *context)
{
	struct kube_config_options o = {.kubeconfig = file, .context = context};
	struct kube_config *c = NULL;
	char err[512] = "";

	if (kube_config_load(&o, &c, err, sizeof(err)) != 0)
		fail_msg("load failed: %s", err);
	return c;
}

/* Loads `file` expecting `code` and a message containing `want`. */
static void load_bad(const char *file, const char *context, int code,
		     const char *want)
{
	struct kube_config_options o = {.kubeconfig = file, .context = context};
	struct kube_config *c = (struct kube_config *)1;
	char err[512] = "";
	int rc = kube_config_load(&o, &c, err, sizeof(err));

	if (rc != code || !strstr(err, want))
		fail_msg("rc=%s err=\"%s\", want %s \"%s\"", err_name(rc), err,
			 err_name(code), want);
	assert_null(c);
}

static const char full_yaml[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: main\n"
	"clusters:\n"
	"- name: prod\n"
	"  cluster:\n"
	"    server: https://prod.example.com:6443/\n"
	"    certificate-authority-data: Y2EtcGVt\n"
	"    tls-server-name: api.internal\n"
	"    proxy-url: http://proxy:3128\n"
	"- name: filed\n"
	"  cluster:\n"
	"    server: https://10.0.0.1\n"
	"    certificate-authority: certs/ca.crt\n"
	"- name: insecure\n"
	"  cluster:\n"
	"    server: localhost:8443\n"
	"    insecure-skip-tls-verify: true\n"
	"users:\n"
	"- name: certuser\n"
	"  user:\n"
	"    client-certificate: certs/client.crt\n"
	"    client-key-data: a2V5LXBlbQ==\n"
	"    token: abc.def\n"
	"- name: execuser\n"
	"  user:\n"
	"    exec:\n"
	"      apiVersion: client.authentication.k8s.io/v1\n"
	"      command: ./bin/get-token\n"
	"      args: [--region, eu]\n"
	"      env:\n"
	"      - {name: FOO, value: bar}\n"
	"      - {name: EMPTY}\n"
	"      installHint: install get-token from example.com\n"
	"      provideClusterInfo: true\n"
	"      interactiveMode: Never\n"
	"- name: pathexec\n"
	"  user:\n"
	"    exec: {apiVersion: client.authentication.k8s.io/v1beta1,\n"
	"           command: aws}\n"
	"- name: fileuser\n"
	"  user:\n"
	"    tokenFile: ../secret/token\n"
	"- name: basic\n"
	"  user: {username: admin, password: s3cret}\n"
	"contexts:\n"
	"- name: main\n"
	"  context: {cluster: prod, user: certuser, namespace: team-a}\n"
	"- name: exec\n"
	"  context: {cluster: filed, user: execuser}\n"
	"- name: aws\n"
	"  context: {cluster: filed, user: pathexec}\n"
	"- name: file\n"
	"  context: {cluster: insecure, user: fileuser}\n"
	"- name: basic\n"
	"  context: {cluster: prod, user: basic}\n"
	"- name: anon\n"
	"  context: {cluster: prod}\n";

static void test_every_field(void **state)
{
	struct fixture *f = *state;
	char *file, *want;
	struct kube_config *c;

	free(put(f, "conf/certs/ca.crt", "CA"));
	free(put(f, "conf/certs/client.crt", "CERT"));
	file = put(f, "conf/config", full_yaml);

	c = load_ok(file, NULL);
	assert_string_equal(c->context, "main");
	assert_string_equal(c->cluster, "prod");
	assert_string_equal(c->user, "certuser");
	assert_string_equal(c->namespace, "team-a");
	assert_string_equal(c->server, "https://prod.example.com:6443");
	assert_string_equal(c->source, file);
	assert_int_equal(c->ca_len, 6);
	assert_memory_equal(c->ca_data, "ca-pem", 7);
	assert_null(c->ca_file);
	assert_string_equal(c->tls_server_name, "api.internal");
	assert_string_equal(c->proxy_url, "http://proxy:3128");
	assert_false(c->insecure);
	want = xasprintf("%s/conf/certs/client.crt", f->dir);
	assert_string_equal(c->cert_file, want);
	free(want);
	assert_int_equal(c->key_len, 7);
	assert_string_equal(c->key_data, "key-pem");
	assert_string_equal(c->token, "abc.def");
	assert_null(c->exec);
	kube_config_free(c);

	c = load_ok(file, "exec");
	assert_string_equal(c->namespace, "default");
	want = xasprintf("%s/conf/certs/ca.crt", f->dir);
	assert_string_equal(c->ca_file, want);
	free(want);
	assert_string_equal(c->server, "https://10.0.0.1");
	assert_non_null(c->exec);
	want = xasprintf("%s/conf/bin/get-token", f->dir);
	assert_string_equal(c->exec->command, want);
	free(want);
	assert_string_equal(c->exec->args[0], "--region");
	assert_string_equal(c->exec->args[1], "eu");
	assert_null(c->exec->args[2]);
	assert_string_equal(c->exec->env[0], "FOO=bar");
	assert_string_equal(c->exec->env[1], "EMPTY=");
	assert_null(c->exec->env[2]);
	assert_string_equal(c->exec->api_version,
			    "client.authentication.k8s.io/v1");
	assert_string_equal(c->exec->install_hint,
			    "install get-token from example.com");
	assert_true(c->exec->provide_cluster_info);
	assert_string_equal(c->exec->interactive_mode, "Never");
	kube_config_free(c);

	/* a bare command is left for PATH; v1beta1 defaults IfAvailable */
	c = load_ok(file, "aws");
	assert_string_equal(c->exec->command, "aws");
	assert_null(c->exec->args[0]);
	assert_null(c->exec->env[0]);
	assert_null(c->exec->install_hint);
	assert_false(c->exec->provide_cluster_info);
	assert_string_equal(c->exec->interactive_mode, "IfAvailable");
	kube_config_free(c);

	/* no scheme: https because of insecure-skip-tls-verify */
	c = load_ok(file, "file");
	assert_string_equal(c->server, "https://localhost:8443");
	assert_true(c->insecure);
	want = xasprintf("%s/secret/token", f->dir);
	assert_string_equal(c->token_file, want);
	free(want);
	kube_config_free(c);

	c = load_ok(file, "basic");
	assert_string_equal(c->username, "admin");
	assert_string_equal(c->password, "s3cret");
	assert_null(c->token);
	kube_config_free(c);

	c = load_ok(file, "anon");
	assert_null(c->user);
	assert_null(c->token);
	kube_config_free(c);
	free(file);
}

static void test_overrides(void **state)
{
	struct fixture *f = *state;
	char *file = put(f, "config", full_yaml), err[256];
	struct kube_config_options o = {.kubeconfig = file,
					.context = "main",
					.namespace = "other",
					.server = "https://override:1/",
					.user = "basic"};
	struct kube_config *c = NULL;

	assert_int_equal(kube_config_load(&o, &c, err, sizeof(err)), 0);
	assert_string_equal(c->namespace, "other");
	assert_string_equal(c->server, "https://override:1");
	assert_string_equal(c->user, "basic");
	assert_string_equal(c->username, "admin");
	assert_null(c->token);
	kube_config_free(c);

	o = (struct kube_config_options){.kubeconfig = file, .cluster = "x"};
	assert_int_equal(kube_config_load(&o, &c, err, sizeof(err)),
			 ERR_NOTFOUND);
	assert_non_null(strstr(err, "cluster \"x\" was not found for context "
				    "\"main\""));
	free(file);
}

static void test_merge(void **state)
{
	struct fixture *f = *state;
	char *a, *b, *c3, *env, *src, err[256];
	struct kube_config *c = NULL;

	a = put(f, "a",
		"clusters:\n"
		"- name: shared\n"
		"  cluster: {server: https://from-a}\n"
		"users:\n"
		"- name: u\n"
		"  user: {token: token-a}\n");
	b = put(f, "b",
		"current-context: ctx-b\n"
		"clusters:\n"
		"- name: shared\n"
		"  cluster: {server: https://from-b}\n"
		"users:\n"
		"- name: u\n"
		"  user: {token: token-b}\n"
		"contexts:\n"
		"- name: ctx-b\n"
		"  context: {cluster: shared, user: u, namespace: nb}\n");
	c3 = put(f, "sub/c",
		 "current-context: ctx-c\n"
		 "clusters:\n"
		 "- name: only-c\n"
		 "  cluster:\n"
		 "    server: https://from-c\n"
		 "    certificate-authority: ca.pem\n"
		 "contexts:\n"
		 "- name: ctx-b\n"
		 "  context: {cluster: only-c}\n"
		 "- name: ctx-c\n"
		 "  context: {cluster: only-c, user: u}\n");
	free(put(f, "sub/ca.pem", "CA"));
	env = xasprintf("%s:%s/missing:%s::%s:%s", a, f->dir, b, c3, a);
	setenv("KUBECONFIG", env, 1);

	/* first current-context (b's), first context, cluster and user */
	assert_int_equal(kube_config_load(NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c->context, "ctx-b");
	assert_string_equal(c->namespace, "nb");
	assert_string_equal(c->server, "https://from-a");
	assert_string_equal(c->token, "token-a");
	src = xasprintf("%s:%s:%s", a, b, c3);
	assert_string_equal(c->source, src);
	kube_config_free(c);

	/* a later file's entry, with paths relative to that file */
	struct kube_config_options o = {.context = "ctx-c"};
	assert_int_equal(kube_config_load(&o, &c, err, sizeof(err)), 0);
	assert_string_equal(c->server, "https://from-c");
	assert_non_null(strstr(c->ca_file, "/sub/ca.pem"));
	assert_string_equal(c->token, "token-a");
	kube_config_free(c);

	/* none of the files exist */
	free(env);
	env = xasprintf("%s/nope1:%s/nope2", f->dir, f->dir);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kube_config_load(NULL, &c, err, sizeof(err)),
			 ERR_NOTFOUND);
	assert_non_null(strstr(err, "nope1"));
	assert_null(c);

	/* ~/.kube/config when $KUBECONFIG is unset */
	unsetenv("KUBECONFIG");
	setenv("HOME", f->dir, 1);
	assert_int_equal(kube_config_load(NULL, &c, err, sizeof(err)),
			 ERR_NOTFOUND);
	assert_non_null(strstr(err, "/.kube/config"));
	free(put(f, ".kube/config",
		 "current-context: x\n"
		 "clusters: [{name: k, cluster: {server: "
		 "http://h}}]\n"
		 "contexts: [{name: x, context: {cluster: "
		 "k}}]\n"));
	assert_int_equal(kube_config_load(NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c->server, "http://h");
	kube_config_free(c);
	free(src);
	free(env);
	free(a);
	free(b);
	free(c3);
}

static void test_bad_files(void **state)
{
	struct fixture *f = *state;
	char *p, *want;

	p = put(f, "yaml", "clusters:\n- name: x\n  cluster: {server: a\n");
	load_bad(p, NULL, ERR_PARSE, "error converting YAML to JSON");
	want = xasprintf("%s: ", p);
	load_bad(p, NULL, ERR_PARSE, want);
	free(want);
	free(p);

	p = put(f, "full", full_yaml);
	load_bad(p, "nope", ERR_NOTFOUND,
		 "context was not found for specified context: nope");
	free(p);

	p = put(f, "nocl",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: gone, "
		"user: u}}]\n"
		"users: [{name: u, user: {token: t}}]\n");
	load_bad(p, NULL, ERR_NOTFOUND,
		 "cluster \"gone\" was not found for context \"c\"");
	free(p);

	p = put(f, "nouser",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, "
		"user: u}}]\n"
		"clusters: [{name: k, cluster: {server: s}}]\n");
	load_bad(p, NULL, ERR_NOTFOUND,
		 "user \"u\" was not found for context \"c\"");
	free(p);

	p = put(f, "b64",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, user: "
		"u}}]\n"
		"clusters: [{name: k, cluster: {server: s}}]\n"
		"users:\n"
		"- name: u\n"
		"  user: {client-certificate-data: Y2VydA==,\n"
		"         client-key-data: 'a2V5*LXBl'}\n");
	want = xasprintf("%s: users[0].user.client-key-data: illegal base64 "
			 "data at input byte 4",
			 p);
	load_bad(p, NULL, ERR_PARSE, want);
	free(want);
	free(p);

	p = put(f, "noserver",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k}}]\n"
		"clusters: [{name: k, cluster: "
		"{insecure-skip-tls-verify: true}}]\n");
	want = xasprintf("%s: clusters[0].cluster.server: no server found for "
			 "cluster \"k\"",
			 p);
	load_bad(p, NULL, ERR_INVAL, want);
	free(want);
	free(p);

	p = put(f, "nocur", "clusters: [{name: k, cluster: {server: s}}]\n");
	load_bad(p, NULL, ERR_INVAL, "no context chosen");
	free(p);

	p = put(f, "dup",
		"clusters: [{name: k, cluster: {server: s}},\n"
		"           {name: k, cluster: {server: t}}]\n");
	load_bad(p, NULL, ERR_INVAL, "clusters[1]: duplicate name \"k\"");
	free(p);

	p = put(f, "type",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k}}]\n"
		"clusters: [{name: k, cluster: {server: s, "
		"insecure-skip-tls-verify: 'yes'}}]\n");
	load_bad(p, NULL, ERR_PARSE,
		 "clusters[0].cluster.insecure-skip-tls-verify: expected a "
		 "boolean");
	free(p);

	p = put(f, "insecca",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k}}]\n"
		"clusters: [{name: k, cluster: {server: s, "
		"insecure-skip-tls-verify: true, "
		"certificate-authority-data: Y2E=}}]\n");
	load_bad(p, NULL, ERR_INVAL,
		 "specifying a root certificates file with the insecure flag "
		 "is not allowed");
	free(p);

	p = put(f, "noca",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k}}]\n"
		"clusters: [{name: k, cluster: {server: s, "
		"certificate-authority: missing.crt}}]\n");
	load_bad(p, NULL, ERR_IO,
		 "clusters[0].cluster: unable to read certificate-authority");
	free(p);

	p = put(f, "ns",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, "
		"namespace: Bad_NS}}]\n"
		"clusters: [{name: k, cluster: {server: s}}]\n");
	load_bad(p, NULL, ERR_INVAL,
		 "namespace \"Bad_NS\" for context \"c\" does not conform");
	free(p);

	p = put(f, "twoauth",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, "
		"user: u}}]\n"
		"clusters: [{name: k, cluster: {server: s}}]\n"
		"users: [{name: u, user: {token: t, username: "
		"a, password: b}}]\n");
	load_bad(p, NULL, ERR_INVAL,
		 "more than one authentication method found for u");
	free(p);

	p = put(f, "execv1",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, "
		"user: u}}]\n"
		"clusters: [{name: k, cluster: {server: s}}]\n"
		"users: [{name: u, user: {exec: {command: x, "
		"apiVersion: client.authentication.k8s.io/v1}}}]"
		"\n");
	load_bad(p, NULL, ERR_INVAL,
		 "users[0].user.exec.interactiveMode: interactiveMode must be "
		 "specified for u to use exec authentication plugin");
	free(p);

	p = put(f, "nokey",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, "
		"user: u}}]\n"
		"clusters: [{name: k, cluster: {server: s}}]\n"
		"users: [{name: u, user: "
		"{client-certificate-data: Y2E=}}]\n");
	load_bad(p, NULL, ERR_INVAL,
		 "client-key-data or client-key must be specified for u");
	free(p);

	p = xasprintf("%s/does-not-exist", f->dir);
	load_bad(p, NULL, ERR_NOTFOUND, "No such file or directory");
	free(p);
}

static void test_base64_forms(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {"Y2E", "Y=E=", "Y2E=Y2E=", "@@@@"};
	char *p, *text;
	struct kube_config *c;

	/* line breaks inside the data are allowed, as in Go */
	p = put(f, "ok",
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k}}]\n"
		"clusters:\n"
		"- name: k\n"
		"  cluster:\n"
		"    server: https://s\n"
		"    certificate-authority-data: |\n"
		"      aGVsbG8g\n"
		"      d29ybGQ=\n");
	c = load_ok(p, NULL);
	assert_int_equal(c->ca_len, 11);
	assert_string_equal(c->ca_data, "hello world");
	kube_config_free(c);
	free(p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = xasprintf("current-context: c\n"
				 "contexts: [{name: c, context: {cluster: "
				 "k}}]\n"
				 "clusters: [{name: k, cluster: {server: s, "
				 "certificate-authority-data: '%s'}}]\n",
				 bad[i]);
		p = put(f, "bad", text);
		load_bad(p, NULL, ERR_PARSE,
			 "clusters[0].cluster.certificate-authority-data: "
			 "illegal base64 data at input byte");
		free(p);
		free(text);
	}
}

static void test_incluster(void **state)
{
	struct fixture *f = *state;
	struct kube_config *c = NULL;
	char err[256], *want;

	assert_int_equal(
		kube_config_load_incluster(f->dir, &c, err, sizeof(err)),
		ERR_NOTFOUND);
	assert_string_equal(err, "unable to load in-cluster configuration, "
				 "KUBERNETES_SERVICE_HOST and "
				 "KUBERNETES_SERVICE_PORT must be defined");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	/* no token file */
	assert_int_equal(
		kube_config_load_incluster(f->dir, &c, err, sizeof(err)),
		ERR_IO);
	assert_non_null(strstr(err, "/token"));

	free(put(f, "token", "tok\n"));
	assert_int_equal(
		kube_config_load_incluster(f->dir, &c, err, sizeof(err)), 0);
	assert_string_equal(c->server, "https://10.96.0.1:443");
	assert_string_equal(c->namespace, "default");
	assert_null(c->ca_file);
	assert_null(c->token); /* read per request, not at load */
	want = xasprintf("%s/token", f->dir);
	assert_string_equal(c->token_file, want);
	assert_string_equal(c->source, "in-cluster");
	assert_null(c->context);
	kube_config_free(c);

	free(put(f, "ca.crt", "CA"));
	free(put(f, "namespace", "knit-system\n"));
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	assert_int_equal(
		kube_config_load_incluster(f->dir, &c, err, sizeof(err)), 0);
	assert_string_equal(c->server, "https://[fd00::1]:6443");
	assert_string_equal(c->namespace, "knit-system");
	assert_non_null(strstr(c->ca_file, "/ca.crt"));
	kube_config_free(c);

	/* the default loader falls back to in-cluster without any file */
	setenv("HOME", f->dir, 1);
	assert_int_equal(
		kube_config_load_default(NULL, f->dir, &c, err, sizeof(err)),
		0);
	assert_string_equal(c->source, "in-cluster");
	kube_config_free(c);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_field, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overrides, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_base64_forms, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_incluster, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

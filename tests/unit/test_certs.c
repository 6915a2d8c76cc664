/*
 * Unit tests for devcluster/certs: the CA and serving certificate that
 * certs_ensure() mints or keeps, the kubeconfig kubeconfig_write() produces
 * (checked in C and, when kubectl is on PATH, by kubectl itself) and
 * token_generate(). Everything happens under one mkdtemp() directory that
 * the group teardown removes.
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

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "devcluster/certs.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#define HOSTS "127.0.0.1, localhost,::1,Knit.Example.com"

static char root[] = "/tmp/knit-test-certs-XXXXXX";

/* ---- helpers -------------------------------------------------------- */

static char *join(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* A fresh, not yet existing directory path under root (caller frees). */
static char *test_dir(const char *name)
{
	return join(root, name);
}

/* Whole file as a heap buffer with a NUL after it; NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = xmalloc((size_t)n + 1);
	*len = fread(data, 1, (size_t)n, f);
	data[*len] = '\0';
	fclose(f);
	return data;
}

static char *slurp_in(const char *dir, const char *name, size_t *len)
{
	char *path = join(dir, name);
	char *data = slurp(path, len);

	free(path);
	return data;
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void spit_in(const char *dir, const char *name, const char *data,
		    size_t len)
{
	char *path = join(dir, name);

	spit(path, data, len);
	free(path);
}

static void copy_file(const char *from_dir, const char *to_dir,
		      const char *name)
{
	size_t len;
	char *data = slurp_in(from_dir, name, &len);

	assert_non_null(data);
	spit_in(to_dir, name, data, len);
	free(data);
}

/* 1 when dir/name has the same bytes as `want`. */
static int same_bytes(const char *dir, const char *name, const char *want,
		      size_t want_len)
{
	size_t len;
	char *data = slurp_in(dir, name, &len);
	int same = data && len == want_len && memcmp(data, want, len) == 0;

	free(data);
	return same;
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (unsigned)(st.st_mode & 07777);
}

static unsigned mode_in(const char *dir, const char *name)
{
	char *path = join(dir, name);
	unsigned mode = mode_of(path);

	free(path);
	return mode;
}

static X509 *cert_in(const char *dir, const char *name)
{
	char *path = join(dir, name);
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	free(path);
	return x;
}

static EVP_PKEY *key_in(const char *dir, const char *name)
{
	char *path = join(dir, name);
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	free(path);
	return k;
}

/* 1 when `leaf` verifies against the single trust anchor `ca` as a TLS
 * server certificate. */
static int verifies(X509 *leaf, X509 *ca)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER), 1);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

/* Server certificate in dir verifies against the CA in dir. */
static int dir_chain_ok(const char *dir)
{
	X509 *ca = cert_in(dir, CERTS_CA_CERT);
	X509 *server = cert_in(dir, CERTS_SERVER_CERT);
	int ok = ca && server && verifies(server, ca);

	X509_free(ca);
	X509_free(server);
	return ok;
}

static void assert_cn(X509 *x, const char *want)
{
	char cn[128];

	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					      NID_commonName, cn,
					      sizeof(cn)) > 0);
	assert_string_equal(cn, want);
}

static void assert_p256(EVP_PKEY *key)
{
	char group[64];
	size_t len = 0;

	assert_non_null(key);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	assert_int_equal(
		EVP_PKEY_get_group_name(key, group, sizeof(group), &len), 1);
	assert_string_equal(group, "prime256v1");
}

static int validity_days(X509 *x)
{
	int days = 0;
	int secs = 0;

	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
					X509_get0_notAfter(x)),
			 1);
	return days;
}

static int serial_bits(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	int bits;

	assert_non_null(bn);
	assert_false(BN_is_negative(bn));
	bits = BN_num_bits(bn);
	BN_free(bn);
	return bits;
}

static int san_count(X509 *x)
{
	GENERAL_NAMES *names =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n = names ? sk_GENERAL_NAME_num(names) : 0;

	GENERAL_NAMES_free(names);
	return n;
}

/* Removes `path` and everything below it. */
static void remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (e = readdir(d)) != NULL) {
		char *child;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		child = join(path, e->d_name);
		remove_tree(child);
		free(child);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* 1 when some entry of `dir` contains `needle` in its name. */
static int dir_has_entry_like(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	assert_non_null(d);
	while (!found && (e = readdir(d)) != NULL)
		found = strstr(e->d_name, needle) != NULL;
	closedir(d);
	return found;
}

/* ---- certs_ensure --------------------------------------------------- */

static void test_generate_creates_valid_files(void **state)
{
	char *dir = test_dir("gen/nested/pki");
	char err[256] = "";
	X509 *ca, *server;
	EVP_PKEY *ca_key, *server_key;

	assert_int_equal(certs_ensure(dir, HOSTS, err, sizeof(err)), 0);
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(mode_in(dir, CERTS_CA_KEY), 0600);
	assert_int_equal(mode_in(dir, CERTS_SERVER_KEY), 0600);

	ca = cert_in(dir, CERTS_CA_CERT);
	server = cert_in(dir, CERTS_SERVER_CERT);
	ca_key = key_in(dir, CERTS_CA_KEY);
	server_key = key_in(dir, CERTS_SERVER_KEY);
	assert_non_null(ca);
	assert_non_null(server);
	assert_p256(ca_key);
	assert_p256(server_key);
	assert_int_equal(X509_check_private_key(ca, ca_key), 1);
	assert_int_equal(X509_check_private_key(server, server_key), 1);

	/* The CA. */
	assert_cn(ca, "knit-devcluster-ca");
	assert_int_equal(X509_check_ca(ca), 1);
	assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
	assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
	assert_in_range(validity_days(ca), 3650, 3651);

	/* The serving certificate. */
	assert_cn(server, "knit-devcluster");
	assert_int_equal(X509_check_ca(server), 0);
	assert_true(verifies(server, ca));
	assert_true(X509_get_extension_flags(server) & EXFLAG_XKUSAGE);
	assert_int_equal(X509_get_extended_key_usage(server), XKU_SSL_SERVER);
	assert_in_range(validity_days(server), 365, 366);
	assert_in_range(serial_bits(server), 64, 128);
	assert_in_range(serial_bits(ca), 64, 128);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca),
					      X509_get0_serialNumber(server)),
			     0);

	/* SANs: IPs as IP entries, the rest as (lowercased) DNS entries. */
	assert_int_equal(san_count(server), 4);
	assert_int_equal(X509_check_ip_asc(server, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(server, "::1", 0), 1);
	assert_int_equal(X509_check_host(server, "localhost", 0, 0, NULL), 1);
	assert_int_equal(
		X509_check_host(server, "knit.example.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(server, "127.0.0.1", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(server, "127.0.0.2", 0), 0);
	assert_int_equal(X509_check_host(server, "other.example", 0, 0, NULL),
			 0);

	X509_free(ca);
	X509_free(server);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(server_key);
	free(dir);
}

static void test_second_call_keeps_files(void **state)
{
	static const char *const names[] = {CERTS_CA_CERT, CERTS_CA_KEY,
					    CERTS_SERVER_CERT,
					    CERTS_SERVER_KEY};
	char *dir = test_dir("keep");
	char *before[4];
	size_t len[4];

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	for (int i = 0; i < 4; i++) {
		before[i] = slurp_in(dir, names[i], &len[i]);
		assert_non_null(before[i]);
	}
	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	/* A subset of the hosts is still covered. */
	assert_int_equal(certs_ensure(dir, "localhost", NULL, 0), 0);
	for (int i = 0; i < 4; i++) {
		assert_true(same_bytes(dir, names[i], before[i], len[i]));
		free(before[i]);
	}
	free(dir);
}

static void test_corrupt_server_cert_regenerated(void **state)
{
	char *dir = test_dir("corrupt-server");
	size_t ca_len, server_len;
	char *ca, *server;

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	ca = slurp_in(dir, CERTS_CA_CERT, &ca_len);
	server = slurp_in(dir, CERTS_SERVER_CERT, &server_len);
	spit_in(dir, CERTS_SERVER_CERT, "garbage\n", 8);
	assert_false(dir_chain_ok(dir));

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_true(dir_chain_ok(dir));
	assert_false(same_bytes(dir, CERTS_SERVER_CERT, server, server_len));
	/* The CA was still good, so kubeconfigs trusting it keep working. */
	assert_true(same_bytes(dir, CERTS_CA_CERT, ca, ca_len));
	assert_int_equal(mode_in(dir, CERTS_SERVER_KEY), 0600);
	free(ca);
	free(server);
	free(dir);
}

static void test_foreign_server_cert_regenerated(void **state)
{
	char *dir = test_dir("foreign-a");
	char *other = test_dir("foreign-b");
	size_t len;
	char *foreign;

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_int_equal(certs_ensure(other, HOSTS, NULL, 0), 0);
	copy_file(other, dir, CERTS_SERVER_CERT);
	copy_file(other, dir, CERTS_SERVER_KEY);
	assert_false(dir_chain_ok(dir));

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_true(dir_chain_ok(dir));
	foreign = slurp_in(other, CERTS_SERVER_CERT, &len);
	assert_false(same_bytes(dir, CERTS_SERVER_CERT, foreign, len));
	free(foreign);
	free(other);
	free(dir);
}

static void test_mismatched_server_key_regenerated(void **state)
{
	char *dir = test_dir("mismatch");
	char *other = test_dir("mismatch-other");
	size_t len;
	char *server;

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_int_equal(certs_ensure(other, HOSTS, NULL, 0), 0);
	server = slurp_in(dir, CERTS_SERVER_CERT, &len);
	copy_file(other, dir, CERTS_SERVER_KEY);

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_false(same_bytes(dir, CERTS_SERVER_CERT, server, len));
	X509 *cert = cert_in(dir, CERTS_SERVER_CERT);
	EVP_PKEY *key = key_in(dir, CERTS_SERVER_KEY);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	X509_free(cert);
	EVP_PKEY_free(key);
	free(server);
	free(other);
	free(dir);
}

static void test_corrupt_ca_regenerates_both(void **state)
{
	char *dir = test_dir("corrupt-ca");
	size_t ca_len, server_len;
	char *ca, *server;

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	ca = slurp_in(dir, CERTS_CA_CERT, &ca_len);
	server = slurp_in(dir, CERTS_SERVER_CERT, &server_len);
	spit_in(dir, CERTS_CA_KEY, "not a key\n", 10);

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_false(same_bytes(dir, CERTS_CA_CERT, ca, ca_len));
	assert_false(same_bytes(dir, CERTS_SERVER_CERT, server, server_len));
	assert_true(dir_chain_ok(dir));
	assert_int_equal(mode_in(dir, CERTS_CA_KEY), 0600);
	free(ca);
	free(server);
	free(dir);
}

static void test_missing_file_regenerated(void **state)
{
	char *dir = test_dir("missing");
	char *key_path = join(dir, CERTS_SERVER_KEY);

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_int_equal(unlink(key_path), 0);
	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_int_equal(mode_of(key_path), 0600);
	assert_true(dir_chain_ok(dir));
	free(key_path);
	free(dir);
}

static void test_new_host_regenerates_server_cert(void **state)
{
	char *dir = test_dir("new-host");
	X509 *server;

	assert_int_equal(certs_ensure(dir, "127.0.0.1", NULL, 0), 0);
	assert_int_equal(certs_ensure(dir,
				      "127.0.0.1,knit.local,*.apps.knit.local",
				      NULL, 0),
			 0);
	server = cert_in(dir, CERTS_SERVER_CERT);
	assert_non_null(server);
	assert_int_equal(X509_check_host(server, "knit.local", 0, 0, NULL), 1);
	assert_int_equal(
		X509_check_host(server, "web.apps.knit.local", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(server, "127.0.0.1", 0), 1);
	assert_true(dir_chain_ok(dir));
	X509_free(server);
	free(dir);
}

static void test_bad_input_rejected(void **state)
{
	char *dir = test_dir("bad");
	char *file = test_dir("plain-file");
	char *below_file = join(file, "pki");
	char err[256] = "";

	assert_int_equal(certs_ensure(dir, "", err, sizeof(err)), ERR_INVAL);
	assert_int_equal(certs_ensure(dir, " , ,", err, sizeof(err)),
			 ERR_INVAL);
	assert_int_equal(
		certs_ensure(dir, "localhost,bad host!", err, sizeof(err)),
		ERR_INVAL);
	assert_non_null(strstr(err, "bad host!"));
	assert_int_equal(certs_ensure(dir, "a..b", NULL, 0), ERR_INVAL);
	assert_int_equal(certs_ensure(dir, "a*b.example", NULL, 0), ERR_INVAL);
	assert_int_equal(certs_ensure("", "localhost", NULL, 0), ERR_INVAL);

	spit(file, "x", 1);
	err[0] = '\0';
	assert_int_equal(
		certs_ensure(below_file, "localhost", err, sizeof(err)),
		ERR_IO);
	assert_true(strlen(err) > 0);
	free(below_file);
	free(file);
	free(dir);
}

/* ---- kubeconfig_write ----------------------------------------------- */

/* Returns the value after "key: " on its line, as a new string. */
static char *yaml_value(const char *yaml, const char *key)
{
	char *needle = xasprintf("%s: ", key);
	const char *p = strstr(yaml, needle);
	const char *end;
	char *value;

	assert_non_null(p);
	p += strlen(needle);
	end = strchr(p, '\n');
	assert_non_null(end);
	value = xstrndup(p, (size_t)(end - p));
	free(needle);
	return value;
}

static void assert_base64_is(const char *b64, const char *want, size_t want_len)
{
	size_t len = strlen(b64);
	unsigned char *out = xmalloc(len + 1);
	int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);

	assert_true(n >= 0);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (len > 0 && b64[len - 1] == '=') {
		len--;
		n--;
	}
	assert_int_equal((size_t)n, want_len);
	assert_memory_equal(out, want, want_len);
	free(out);
}

static void test_kubeconfig_fields(void **state)
{
	char *dir = test_dir("kc-pki");
	char *ca_path = join(dir, CERTS_CA_CERT);
	char *kc_dir = test_dir("kc");
	char *kc = join(kc_dir, "config");
	char token[TOKEN_HEX_LEN + 1];
	char *yaml, *ca, *b64, *value, *want;
	size_t yaml_len, ca_len;

	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_int_equal(mkdir(kc_dir, 0700), 0);
	assert_int_equal(token_generate(token, sizeof(token)), 0);
	assert_int_equal(kubeconfig_write(kc, "https://127.0.0.1:6443", ca_path,
					  token, NULL, 0),
			 0);
	assert_int_equal(mode_of(kc), 0600);
	assert_false(dir_has_entry_like(kc_dir, ".tmp."));

	yaml = slurp(kc, &yaml_len);
	assert_non_null(yaml);
	assert_non_null(strstr(yaml, "apiVersion: v1\n"));
	assert_non_null(strstr(yaml, "kind: Config\n"));
	assert_non_null(strstr(yaml, "clusters:\n- name: knit-devcluster\n"));
	assert_non_null(
		strstr(yaml, "users:\n- name: knit-devcluster-admin\n"));
	assert_non_null(strstr(yaml, "contexts:\n- name: knit-devcluster\n"));
	assert_non_null(strstr(yaml, "    cluster: knit-devcluster\n"
				     "    user: knit-devcluster-admin\n"
				     "    namespace: default\n"));
	assert_non_null(strstr(yaml, "current-context: knit-devcluster\n"));

	value = yaml_value(yaml, "server");
	assert_string_equal(value, "\"https://127.0.0.1:6443\"");
	free(value);
	want = xasprintf("\"%s\"", token);
	value = yaml_value(yaml, "token");
	assert_string_equal(value, want);
	free(value);
	free(want);

	ca = slurp(ca_path, &ca_len);
	b64 = yaml_value(yaml, "certificate-authority-data");
	assert_base64_is(b64, ca, ca_len);
	free(b64);
	free(yaml);

	/* Rewriting replaces the file atomically. */
	assert_int_equal(kubeconfig_write(kc, "https://localhost:7443", ca_path,
					  "second-token", NULL, 0),
			 0);
	yaml = slurp(kc, &yaml_len);
	assert_non_null(strstr(yaml, "token: \"second-token\"\n"));
	assert_null(strstr(yaml, token));
	assert_false(dir_has_entry_like(kc_dir, ".tmp."));

	free(yaml);
	free(ca);
	free(kc);
	free(kc_dir);
	free(ca_path);
	free(dir);
}

static void test_kubeconfig_errors(void **state)
{
	char *missing_ca = test_dir("no-such-ca.crt");
	char *kc = test_dir("kc-error-config");
	char *ca_path = test_dir("kc-error-ca.crt");
	char *bad_dir = test_dir("no-such-dir/config");
	char err[256] = "";
	struct stat st;

	spit(ca_path, "-----BEGIN CERTIFICATE-----\n", 28);
	assert_int_equal(kubeconfig_write(kc, "https://127.0.0.1:6443",
					  missing_ca, "t", err, sizeof(err)),
			 ERR_IO);
	assert_non_null(strstr(err, "no-such-ca.crt"));
	assert_int_equal(kubeconfig_write(kc, "https://127.0.0.1:6443", ca_path,
					  "bad\ntoken", NULL, 0),
			 ERR_INVAL);
	assert_int_equal(kubeconfig_write(kc, "", ca_path, "token", NULL, 0),
			 ERR_INVAL);
	assert_int_not_equal(stat(kc, &st), 0);
	assert_int_equal(kubeconfig_write(bad_dir, "https://127.0.0.1:6443",
					  ca_path, "token", NULL, 0),
			 ERR_IO);
	free(bad_dir);
	free(ca_path);
	free(kc);
	free(missing_ca);
}

/* Runs `kubectl --kubeconfig kc config view --raw -o jsonpath=expr` and
 * returns its output as a new string. */
static char *kubectl_jsonpath(const char *kc, const char *expr)
{
	char *cmd = xasprintf("kubectl --kubeconfig '%s' config view --raw "
			      "-o jsonpath='%s' 2>/dev/null",
			      kc, expr);
	FILE *p = popen(cmd, "r");
	char out[8192];
	size_t n;

	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	free(cmd);
	return xstrdup(out);
}

static void assert_kubectl_says(const char *kc, const char *expr,
				const char *want)
{
	char *got = kubectl_jsonpath(kc, expr);

	assert_string_equal(got, want);
	free(got);
}

static void test_kubeconfig_read_by_kubectl(void **state)
{
	char *dir = test_dir("kubectl-pki");
	char *ca_path = join(dir, CERTS_CA_CERT);
	char *kc = test_dir("kubectl-config");
	char *odd = test_dir("kubectl-odd-config");
	char token[TOKEN_HEX_LEN + 1];
	char *yaml, *b64;
	size_t len;

	if (system("command -v kubectl >/dev/null 2>&1") != 0)
		skip();
	assert_int_equal(certs_ensure(dir, HOSTS, NULL, 0), 0);
	assert_int_equal(token_generate(token, sizeof(token)), 0);
	assert_int_equal(kubeconfig_write(kc, "https://127.0.0.1:6443", ca_path,
					  token, NULL, 0),
			 0);

	assert_kubectl_says(kc, "{.users[0].user.token}", token);
	assert_kubectl_says(kc, "{.current-context}", "knit-devcluster");
	assert_kubectl_says(kc, "{.clusters[0].cluster.server}",
			    "https://127.0.0.1:6443");
	assert_kubectl_says(kc, "{.contexts[0].context.namespace}", "default");
	assert_kubectl_says(kc, "{.contexts[0].context.user}",
			    "knit-devcluster-admin");
	yaml = slurp(kc, &len);
	b64 = yaml_value(yaml, "certificate-authority-data");
	assert_kubectl_says(
		kc, "{.clusters[0].cluster.certificate-authority-data}", b64);

	/* Quotes and backslashes survive the YAML quoting. */
	assert_int_equal(kubeconfig_write(odd, "https://127.0.0.1:6443",
					  ca_path, "a\"b\\c", NULL, 0),
			 0);
	assert_kubectl_says(odd, "{.users[0].user.token}", "a\"b\\c");

	free(b64);
	free(yaml);
	free(odd);
	free(kc);
	free(ca_path);
	free(dir);
}

/* ---- token_generate ------------------------------------------------- */

static void test_token_generate(void **state)
{
	char a[TOKEN_HEX_LEN + 1];
	char b[TOKEN_HEX_LEN + 8];
	char small[TOKEN_HEX_LEN] = "x";

	assert_int_equal(token_generate(a, sizeof(a)), 0);
	assert_int_equal(token_generate(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), TOKEN_HEX_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), TOKEN_HEX_LEN);
	assert_int_equal(strlen(b), TOKEN_HEX_LEN);
	assert_string_not_equal(a, b);

	assert_int_equal(token_generate(small, sizeof(small)), ERR_INVAL);
	assert_string_equal(small, "");
	assert_int_equal(token_generate(NULL, 100), ERR_INVAL);
}

/* ---- fixture -------------------------------------------------------- */

static int group_setup(void **state)
{
	log_threshold = LOG_WARN;
	return mkdtemp(root) ? 0 : -1;
}

static int group_teardown(void **state)
{
	remove_tree(root);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_creates_valid_files),
		cmocka_unit_test(test_second_call_keeps_files),
		cmocka_unit_test(test_corrupt_server_cert_regenerated),
		cmocka_unit_test(test_foreign_server_cert_regenerated),
		cmocka_unit_test(test_mismatched_server_key_regenerated),
		cmocka_unit_test(test_corrupt_ca_regenerates_both),
		cmocka_unit_test(test_missing_file_regenerated),
		cmocka_unit_test(test_new_host_regenerates_server_cert),
		cmocka_unit_test(test_bad_input_rejected),
		cmocka_unit_test(test_kubeconfig_fields),
		cmocka_unit_test(test_kubeconfig_errors),
		cmocka_unit_test(test_kubeconfig_read_by_kubectl),
		cmocka_unit_test(test_token_generate),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * certs: creates and checks knit-devcluster's private CA, serving
 * certificate, admin token and kubeconfig with OpenSSL 3 (see certs.h).
 *
 * The flow of certs_ensure() is: parse the wanted host names into
 * subjectAltName entries, load what is on disk, keep it if it still checks
 * out, otherwise mint what is missing. Every file is written through
 * write_file_atomic(), so a crash never leaves a truncated key behind; a
 * half-finished regeneration is simply detected and redone on the next run.
 */
#include "devcluster/certs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#define CA_DAYS		     3650
#define SERVER_DAYS	     365
#define BACKDATE_SECONDS     (5 * 60)
#define RENEW_MARGIN_SECONDS (24 * 60 * 60)
#define SERIAL_BYTES	     16
#define TOKEN_BYTES	     (TOKEN_HEX_LEN / 2)
#define CA_FILE_MAX	     (1024 * 1024)
#define DNS_NAME_MAX	     253

/* A certificate and its private key; both NULL when empty. */
struct keypair {
	X509 *cert;
	EVP_PKEY *key;
};

/* One X.509v3 extension in OpenSSL's configuration syntax. */
struct ext_spec {
	int nid;
	const char *value;
};

/* What distinguishes the CA from the serving certificate. */
struct cert_profile {
	const char *cn;
	long days;
	const struct ext_spec *exts;
	size_t n_exts;
};

static const struct ext_spec ca_exts[] = {
	{NID_basic_constraints, "critical,CA:TRUE"},
	{NID_key_usage, "critical,keyCertSign"},
	{NID_subject_key_identifier, "hash"},
};

static const struct ext_spec server_exts[] = {
	{NID_basic_constraints, "critical,CA:FALSE"},
	{NID_key_usage, "critical,digitalSignature"},
	{NID_ext_key_usage, "serverAuth"},
	{NID_subject_key_identifier, "hash"},
	{NID_authority_key_identifier, "keyid:always"},
};

static const struct cert_profile ca_profile = {
	"knit-devcluster-ca", CA_DAYS, ca_exts,
	sizeof(ca_exts) / sizeof(ca_exts[0])};

static const struct cert_profile server_profile = {
	"knit-devcluster", SERVER_DAYS, server_exts,
	sizeof(server_exts) / sizeof(server_exts[0])};

static void keypair_release(struct keypair *kp)
{
	X509_free(kp->cert);
	EVP_PKEY_free(kp->key);
	kp->cert = NULL;
	kp->key = NULL;
}

/* Reports the oldest queued OpenSSL error as ERR_INTERNAL and clears the
 * queue, so later calls on this thread start clean. */
static int ssl_fail(char *errbuf, size_t errlen, const char *what)
{
	char detail[256] = "no OpenSSL detail";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	return err_set(errbuf, errlen, ERR_INTERNAL, "%s: %s", what, detail);
}

/* ---- files ---------------------------------------------------------- */

/* mkdir -p with mode 0700 for every component created. */
static int make_dir(const char *dir, char *errbuf, size_t errlen)
{
	char *copy = xstrdup(dir);
	struct stat st;
	int rc = 0;

	for (char *p = copy + 1;; p++) {
		char saved = *p;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			rc = err_set(errbuf, errlen, ERR_IO,
				     "create directory %s: %s", copy,
				     strerror(errno));
			goto out;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		rc = err_set(errbuf, errlen, ERR_IO, "%s is not a directory",
			     dir);
out:
	free(copy);
	return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Writes `len` bytes to a fresh temporary file next to `path` with `mode`,
 * flushes it to disk and renames it over `path`. On failure the temporary
 * file is removed and `path` is untouched.
 */
static int write_file_atomic(const char *path, const void *data, size_t len,
			     mode_t mode, char *errbuf, size_t errlen)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	int created = fd >= 0;
	int rc = 0;

	if (fd < 0) {
		rc = err_set(errbuf, errlen, ERR_IO, "create %s: %s", tmp,
			     strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		rc = err_set(errbuf, errlen, ERR_IO, "write %s: %s", tmp,
			     strerror(errno));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc != 0) {
		rc = err_set(errbuf, errlen, ERR_IO, "close %s: %s", tmp,
			     strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0)
		rc = err_set(errbuf, errlen, ERR_IO, "rename %s to %s: %s", tmp,
			     path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (rc && created)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Reads a whole file of at most `max` bytes into `out` (NUL-terminated). */
static int read_file(const char *path, size_t max, struct buf *out,
		     char *errbuf, size_t errlen)
{
	char chunk[4096];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	if (!f)
		return err_set(errbuf, errlen, ERR_IO, "open %s: %s", path,
			       strerror(errno));
	buf_init(out, max);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(out, chunk, n) != 0) {
			rc = err_set(errbuf, errlen, ERR_IO,
				     "%s is larger than %zu bytes", path, max);
			goto out;
		}
	}
	if (ferror(f))
		rc = err_set(errbuf, errlen, ERR_IO, "read %s failed", path);
out:
	fclose(f);
	if (rc)
		buf_release(out);
	return rc;
}

/* ---- host names ----------------------------------------------------- */

/* Letters, digits, '-', '_' and '.', optionally after a leading "*.";
 * no empty labels. */
static int dns_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > DNS_NAME_MAX)
		return 0;
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	if (*s == '.' || *s == '\0' || s[strlen(s) - 1] == '.' ||
	    strstr(s, ".."))
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return 0;
	}
	return 1;
}

/* Turns one host (IP literal or DNS name) into a new GENERAL_NAME. */
static int host_to_name(char *host, GENERAL_NAME **out, char *errbuf,
			size_t errlen)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
	ASN1_IA5STRING *dns = NULL;
	GENERAL_NAME *gn = GENERAL_NAME_new();

	ERR_clear_error();
	if (!gn) {
		ASN1_OCTET_STRING_free(ip);
		return ssl_fail(errbuf, errlen, "allocate subjectAltName");
	}
	if (ip) {
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		*out = gn;
		return 0;
	}
	if (!dns_name_ok(host)) {
		GENERAL_NAME_free(gn);
		return err_set(errbuf, errlen, ERR_INVAL,
			       "host \"%s\" is neither an IP address nor a "
			       "DNS name",
			       host);
	}
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	dns = ASN1_IA5STRING_new();
	if (!dns || !ASN1_STRING_set(dns, host, -1)) {
		ASN1_IA5STRING_free(dns);
		GENERAL_NAME_free(gn);
		return ssl_fail(errbuf, errlen, "allocate subjectAltName");
	}
	GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
	*out = gn;
	return 0;
}

/*
 * Parses the comma-separated `hosts` into a new GENERAL_NAMES stack (free
 * with GENERAL_NAMES_free). Empty entries are skipped; at least one entry
 * is required.
 */
static int parse_hosts(const char *hosts, GENERAL_NAMES **out, char *errbuf,
		       size_t errlen)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	const char *p = hosts ? hosts : "";
	int rc = 0;

	if (!names)
		return ssl_fail(errbuf, errlen, "allocate subjectAltName");
	while (*p) {
		const char *end = strchr(p, ',');
		GENERAL_NAME *gn = NULL;
		char *host;

		if (!end)
			end = p + strlen(p);
		while (p < end && isspace((unsigned char)*p))
			p++;
		host = xstrndup(p, (size_t)(end - p));
		for (size_t n = strlen(host);
		     n > 0 && isspace((unsigned char)host[n - 1]); n--)
			host[n - 1] = '\0';
		if (*host)
			rc = host_to_name(host, &gn, errbuf, errlen);
		free(host);
		if (rc)
			goto out;
		if (gn && !sk_GENERAL_NAME_push(names, gn)) {
			GENERAL_NAME_free(gn);
			rc = ssl_fail(errbuf, errlen, "build subjectAltName");
			goto out;
		}
		p = *end ? end + 1 : end;
	}
	if (sk_GENERAL_NAME_num(names) == 0)
		rc = err_set(errbuf, errlen, ERR_INVAL,
			     "no host names for the serving certificate");
out:
	if (rc)
		GENERAL_NAMES_free(names);
	else
		*out = names;
	return rc;
}

/* ---- checking what is on disk --------------------------------------- */

static X509 *load_cert(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	ERR_clear_error();
	return x;
}

static EVP_PKEY *load_key(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *key =
		bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	ERR_clear_error();
	return key;
}

/* Loads dir/cert_name and dir/key_name; returns 1 only when both parse and
 * the key belongs to the certificate. `kp` is left empty otherwise. */
static int keypair_load(struct keypair *kp, const char *dir,
			const char *cert_name, const char *key_name)
{
	char *cert_path = xasprintf("%s/%s", dir, cert_name);
	char *key_path = xasprintf("%s/%s", dir, key_name);
	int ok;

	kp->cert = load_cert(cert_path);
	kp->key = load_key(key_path);
	ok = kp->cert && kp->key && X509_check_private_key(kp->cert, kp->key);
	ERR_clear_error();
	if (!ok)
		keypair_release(kp);
	free(cert_path);
	free(key_path);
	return ok;
}

/* 1 when `leaf` chains to the trust anchor `ca` now; `purpose` 0 skips the
 * purpose check. Self-signatures are checked too. */
static int cert_verifies(X509 *leaf, X509 *ca, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;

	if (!store || !ctx || X509_STORE_add_cert(store, ca) != 1)
		goto out;
	if (X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1)
		goto out;
	if (purpose && X509_STORE_CTX_set_purpose(ctx, purpose) != 1)
		goto out;
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CHECK_SS_SIGNATURE);
	ok = X509_verify_cert(ctx) == 1;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

/* 1 when `x` is still valid RENEW_MARGIN_SECONDS from now. */
static int cert_lasts(X509 *x)
{
	time_t later = time(NULL) + RENEW_MARGIN_SECONDS;

	return X509_cmp_time(X509_get0_notAfter(x), &later) > 0;
}

/* 1 when every name in `want` appears in x's subjectAltName. */
static int sans_cover(X509 *x, const GENERAL_NAMES *want)
{
	GENERAL_NAMES *have =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int ok = have != NULL;

	for (int i = 0; ok && i < sk_GENERAL_NAME_num(want); i++) {
		GENERAL_NAME *w = sk_GENERAL_NAME_value(want, i);
		int found = 0;

		for (int j = 0; !found && j < sk_GENERAL_NAME_num(have); j++)
			found = GENERAL_NAME_cmp(
					w, sk_GENERAL_NAME_value(have, j)) == 0;
		ok = found;
	}
	GENERAL_NAMES_free(have);
	ERR_clear_error();
	return ok;
}

/* Loads the CA pair into `ca` if it is a usable, self-signed CA. */
static int ca_load_valid(struct keypair *ca, const char *dir)
{
	if (!keypair_load(ca, dir, CERTS_CA_CERT, CERTS_CA_KEY))
		return 0;
	if (X509_check_ca(ca->cert) == 1 && cert_lasts(ca->cert) &&
	    cert_verifies(ca->cert, ca->cert, 0))
		return 1;
	keypair_release(ca);
	return 0;
}

/* 1 when the serving pair on disk is signed by `ca`, valid for a while
 * and names every wanted host. */
static int server_on_disk_valid(const char *dir, const struct keypair *ca,
				const GENERAL_NAMES *sans)
{
	struct keypair server = {NULL, NULL};
	int ok;

	if (!keypair_load(&server, dir, CERTS_SERVER_CERT, CERTS_SERVER_KEY))
		return 0;
	ok = cert_verifies(server.cert, ca->cert, X509_PURPOSE_SSL_SERVER) &&
	     cert_lasts(server.cert) && sans_cover(server.cert, sans);
	keypair_release(&server);
	return ok;
}

/* ---- minting -------------------------------------------------------- */

/* A random 128-bit serial. BN_bin2bn() reads the bytes as unsigned, so
 * the INTEGER is positive (DER adds a leading zero octet when needed); the
 * lowest bit is forced on so it can never be zero. */
static int set_random_serial(X509 *x)
{
	unsigned char raw[SERIAL_BYTES];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return 0;
	raw[SERIAL_BYTES - 1] |= 0x01;
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

/* Fills in version, serial, validity, names and public key. */
static int cert_set_basics(X509 *x, const struct cert_profile *profile,
			   const X509 *issuer, EVP_PKEY *key)
{
	X509_NAME *subject = X509_get_subject_name(x);

	if (X509_set_version(x, X509_VERSION_3) != 1 || !set_random_serial(x))
		return 0;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_SECONDS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)profile->days, 0,
			      NULL))
		return 0;
	if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
				       (const unsigned char *)profile->cn, -1,
				       -1, 0) != 1)
		return 0;
	if (X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
					   : subject) != 1)
		return 0;
	return X509_set_pubkey(x, key) == 1;
}

/* Adds the profile's extensions and, when given, the subjectAltName. */
static int cert_add_exts(X509 *x, const struct cert_profile *profile,
			 X509 *issuer, GENERAL_NAMES *sans)
{
	X509V3_CTX ctx;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	for (size_t i = 0; i < profile->n_exts; i++) {
		X509_EXTENSION *ext =
			X509V3_EXT_conf_nid(NULL, &ctx, profile->exts[i].nid,
					    profile->exts[i].value);
		int ok = ext && X509_add_ext(x, ext, -1) == 1;

		X509_EXTENSION_free(ext);
		if (!ok)
			return 0;
	}
	if (sans && X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0,
				      X509V3_ADD_DEFAULT) != 1)
		return 0;
	return 1;
}

/*
 * Mints a new EC P-256 key and a certificate for it following `profile`,
 * signed by `issuer` (NULL: self-signed). On success `out` owns both.
 */
static int cert_mint(struct keypair *out, const struct cert_profile *profile,
		     const struct keypair *issuer, GENERAL_NAMES *sans,
		     char *errbuf, size_t errlen)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	EVP_PKEY *signer = issuer ? issuer->key : key;
	int rc = 0;

	if (!key || !x) {
		rc = ssl_fail(errbuf, errlen, "generate EC P-256 key");
		goto out;
	}
	if (!cert_set_basics(x, profile, issuer ? issuer->cert : NULL, key) ||
	    !cert_add_exts(x, profile, issuer ? issuer->cert : NULL, sans) ||
	    X509_sign(x, signer, EVP_sha256()) <= 0) {
		rc = ssl_fail(errbuf, errlen, "build certificate");
		goto out;
	}
	out->cert = x;
	out->key = key;
	x = NULL;
	key = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* Writes the PEM held by `bio` to dir/name with `mode`. */
static int bio_save(BIO *bio, const char *dir, const char *name, mode_t mode,
		    char *errbuf, size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);
	int rc = write_file_atomic(path, data, len > 0 ? (size_t)len : 0, mode,
				   errbuf, errlen);

	free(path);
	return rc;
}

/* Saves the key (0600) first, then the certificate (0644). */
static int keypair_save(const struct keypair *kp, const char *dir,
			const char *cert_name, const char *key_name,
			char *errbuf, size_t errlen)
{
	BIO *key_bio = BIO_new(BIO_s_secmem());
	BIO *cert_bio = BIO_new(BIO_s_mem());
	int rc;

	if (!key_bio || !cert_bio ||
	    PEM_write_bio_PrivateKey(key_bio, kp->key, NULL, NULL, 0, NULL,
				     NULL) != 1 ||
	    PEM_write_bio_X509(cert_bio, kp->cert) != 1) {
		rc = ssl_fail(errbuf, errlen, "encode PEM");
		goto out;
	}
	rc = bio_save(key_bio, dir, key_name, 0600, errbuf, errlen);
	if (rc)
		goto out;
	rc = bio_save(cert_bio, dir, cert_name, 0644, errbuf, errlen);
out:
	BIO_free(key_bio);
	BIO_free(cert_bio);
	return rc;
}

/* Loads a valid CA from `dir` or mints and saves a new one. */
static int ca_obtain(struct keypair *ca, const char *dir, int *fresh,
		     char *errbuf, size_t errlen)
{
	int rc;

	*fresh = 0;
	if (ca_load_valid(ca, dir))
		return 0;
	rc = cert_mint(ca, &ca_profile, NULL, NULL, errbuf, errlen);
	if (rc)
		return rc;
	*fresh = 1;
	LOG_INFOF("generated devcluster CA", "dir=%s", dir);
	return keypair_save(ca, dir, CERTS_CA_CERT, CERTS_CA_KEY, errbuf,
			    errlen);
}

int certs_ensure(const char *dir, const char *hosts, char *errbuf,
		 size_t errlen)
{
	struct keypair ca = {NULL, NULL};
	struct keypair server = {NULL, NULL};
	GENERAL_NAMES *sans = NULL;
	int fresh_ca = 0;
	int rc;

	if (!dir || !*dir)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "no certificate directory given");
	rc = parse_hosts(hosts, &sans, errbuf, errlen);
	if (rc)
		goto out;
	rc = make_dir(dir, errbuf, errlen);
	if (rc)
		goto out;
	rc = ca_obtain(&ca, dir, &fresh_ca, errbuf, errlen);
	if (rc)
		goto out;
	if (!fresh_ca && server_on_disk_valid(dir, &ca, sans))
		goto out;
	rc = cert_mint(&server, &server_profile, &ca, sans, errbuf, errlen);
	if (rc)
		goto out;
	rc = keypair_save(&server, dir, CERTS_SERVER_CERT, CERTS_SERVER_KEY,
			  errbuf, errlen);
	if (!rc)
		LOG_INFOF("generated devcluster serving certificate",
			  "dir=%s hosts=%s", dir, hosts);
out:
	keypair_release(&ca);
	keypair_release(&server);
	GENERAL_NAMES_free(sans);
	return rc;
}

/* ---- kubeconfig and token ------------------------------------------- */

/* A YAML scalar we are willing to write: non-empty, no control chars. */
static int scalar_check(const char *what, const char *s, char *errbuf,
			size_t errlen)
{
	if (!s || !*s)
		return err_set(errbuf, errlen, ERR_INVAL, "empty %s", what);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return err_set(errbuf, errlen, ERR_INVAL,
				       "%s contains a control character", what);
	}
	return 0;
}

/* Appends `s` as a YAML double-quoted scalar (scalar_check()ed). */
static int yaml_put_quoted(struct buf *b, const char *s)
{
	int rc = buf_putc(b, '"');

	for (; !rc && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = buf_putc(b, '\\');
		if (!rc)
			rc = buf_putc(b, *s);
	}
	return rc ? rc : buf_putc(b, '"');
}

static int kubeconfig_render(struct buf *b, const char *server_url,
			     const char *ca_b64, const char *token)
{
	int rc = buf_printf(b,
			    "apiVersion: v1\n"
			    "kind: Config\n"
			    "preferences: {}\n"
			    "clusters:\n"
			    "- name: %s\n"
			    "  cluster:\n"
			    "    certificate-authority-data: %s\n"
			    "    server: ",
			    KUBECONFIG_CLUSTER, ca_b64);

	rc = rc ? rc : yaml_put_quoted(b, server_url);
	rc = rc ? rc
		: buf_printf(b,
			     "\nusers:\n"
			     "- name: %s\n"
			     "  user:\n"
			     "    token: ",
			     KUBECONFIG_USER);
	rc = rc ? rc : yaml_put_quoted(b, token);
	return rc ? rc
		  : buf_printf(b,
			       "\ncontexts:\n"
			       "- name: %s\n"
			       "  context:\n"
			       "    cluster: %s\n"
			       "    user: %s\n"
			       "    namespace: default\n"
			       "current-context: %s\n",
			       KUBECONFIG_CONTEXT, KUBECONFIG_CLUSTER,
			       KUBECONFIG_USER, KUBECONFIG_CONTEXT);
}

/* New heap string with the unwrapped base64 of `len` bytes. */
static char *base64_encode(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int kubeconfig_write(const char *path, const char *server_url,
		     const char *ca_pem_path, const char *token, char *errbuf,
		     size_t errlen)
{
	struct buf ca;
	struct buf yaml;
	char *ca_b64 = NULL;
	int rc;

	buf_init(&ca, CA_FILE_MAX);
	buf_init(&yaml, BUF_UNLIMITED);
	if (!path || !*path || !ca_pem_path) {
		rc = err_set(errbuf, errlen, ERR_INVAL,
			     "kubeconfig path and CA path are required");
		goto out;
	}
	rc = scalar_check("server URL", server_url, errbuf, errlen);
	rc = rc ? rc : scalar_check("token", token, errbuf, errlen);
	rc = rc ? rc : read_file(ca_pem_path, CA_FILE_MAX, &ca, errbuf, errlen);
	if (rc)
		goto out;
	ca_b64 = base64_encode(ca.data, ca.len);
	rc = kubeconfig_render(&yaml, server_url, ca_b64, token);
	if (rc) {
		rc = err_set(errbuf, errlen, ERR_INTERNAL,
			     "render kubeconfig: %s", err_str(rc));
		goto out;
	}
	rc = write_file_atomic(path, yaml.data, yaml.len, 0600, errbuf, errlen);
out:
	OPENSSL_cleanse(yaml.data, yaml.len);
	buf_release(&yaml);
	buf_release(&ca);
	free(ca_b64);
	return rc;
}

int token_generate(char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_BYTES];

	if (!out || outlen < TOKEN_HEX_LEN + 1) {
		if (out && outlen > 0)
			out[0] = '\0';
		return ERR_INVAL;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		ERR_clear_error();
		out[0] = '\0';
		return ERR_INTERNAL;
	}
	for (size_t i = 0; i < TOKEN_BYTES; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0x0f];
	}
	out[TOKEN_HEX_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

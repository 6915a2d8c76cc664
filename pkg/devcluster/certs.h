/*
 * certs: the TLS material and client configuration knit-devcluster needs.
 *
 * knit-devcluster serves HTTPS and requires a bearer token, like a real
 * kube-apiserver. This module creates a private certificate authority and a
 * serving certificate for it, a random admin token, and a kubeconfig that
 * points kubectl (or Knit itself) at the server with that CA and token.
 *
 * Invariants: certs_ensure() leaves `dir` either with four mutually
 * consistent PEM files (ca.crt, ca.key, server.crt, server.key) or reports an
 * error. Private keys and kubeconfigs are only ever written with mode 0600,
 * through a temporary file in the same directory that is renamed into place,
 * so readers never see a half-written file.
 *
 * Ownership: callers own every buffer they pass; nothing is retained.
 * Thread-safety: all functions are thread-safe with respect to memory (they
 * share no state), but two concurrent certs_ensure() calls on the same
 * directory may each regenerate and the last rename wins.
 */
#ifndef KNIT_DEVCLUSTER_CERTS_H
#define KNIT_DEVCLUSTER_CERTS_H

#include <stddef.h>

/* File names inside the certificate directory. */
#define CERTS_CA_CERT	  "ca.crt"
#define CERTS_CA_KEY	  "ca.key"
#define CERTS_SERVER_CERT "server.crt"
#define CERTS_SERVER_KEY  "server.key"

/* Names used inside the kubeconfig written by kubeconfig_write(). */
#define KUBECONFIG_CLUSTER "knit-devcluster"
#define KUBECONFIG_USER	   "knit-devcluster-admin"
#define KUBECONFIG_CONTEXT "knit-devcluster"

/* Length of a token from token_generate(), without the terminating NUL. */
#define TOKEN_HEX_LEN 64

/*
 * Ensures `dir` holds ca.crt, ca.key, server.crt and server.key (PEM).
 *
 * Existing files are kept when all four parse, each key matches its
 * certificate, server.crt verifies against ca.crt as a TLS server
 * certificate at the current time (so neither is expired), it stays valid
 * for at least another day, and its subjectAltName covers every entry of
 * `hosts`. Otherwise a new serving certificate is generated; the CA is
 * reused when ca.crt/ca.key are still a valid, matching CA pair (so
 * kubeconfigs that trust it keep working), and regenerated otherwise.
 *
 * Generated material: CA with EC P-256 key, CN "knit-devcluster-ca",
 * critical basicConstraints CA:TRUE, keyUsage keyCertSign, 10 years; server
 * certificate with EC P-256 key, CN "knit-devcluster", signed by the CA,
 * subjectAltName with every entry of the comma-separated `hosts` list (IPv4
 * and IPv6 literals as IP SANs, everything else as DNS SANs; whitespace
 * around entries is ignored), extendedKeyUsage serverAuth, 1 year. Serials
 * are random positive 128-bit numbers. Key files get mode 0600, certificate
 * files 0644; `dir` (and missing parents) are created with mode 0700.
 *
 * Returns 0; ERR_INVAL when `hosts` has no entry or an entry that is neither
 * an IP address nor a plausible DNS name; ERR_IO when the file system fails;
 * ERR_INTERNAL when OpenSSL fails. A message goes to `errbuf` when non-NULL.
 */
int certs_ensure(const char *dir, const char *hosts, char *errbuf,
		 size_t errlen);

/*
 * Writes a kubeconfig to `path` (mode 0600, via a temporary file in the same
 * directory that is renamed over `path`). It has one cluster
 * "knit-devcluster" with `server_url` and certificate-authority-data set to
 * the base64 of the bytes of `ca_pem_path`, one user "knit-devcluster-admin"
 * with `token`, one context "knit-devcluster" (namespace default) and
 * current-context "knit-devcluster".
 *
 * Returns 0; ERR_INVAL when `server_url` or `token` is empty or contains
 * control characters; ERR_IO when the CA file cannot be read or the
 * kubeconfig cannot be written (no partial file is left behind).
 */
int kubeconfig_write(const char *path, const char *server_url,
		     const char *ca_pem_path, const char *token, char *errbuf,
		     size_t errlen);

/*
 * Fills `out` with TOKEN_HEX_LEN lowercase hex characters from 32 bytes of
 * RAND_bytes() and a terminating NUL. `outlen` must be at least
 * TOKEN_HEX_LEN + 1. Returns 0, ERR_INVAL when `out` is too small (out is
 * then left empty if outlen > 0) or ERR_INTERNAL when the random generator
 * fails. Thread-safe.
 */
int token_generate(char *out, size_t outlen);

#endif

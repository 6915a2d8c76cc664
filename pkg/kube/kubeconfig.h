/*
 * kubeconfig: where the Kubernetes API is and how to authenticate to it.
 *
 * Loads client configuration the way kubectl and client-go do:
 *   - an explicit file (--kubeconfig), else every file in $KUBECONFIG
 *     (colon-separated; missing files skipped; merged: the first file to
 *     define a cluster, context or user name wins, and the first non-empty
 *     current-context wins), else ~/.kube/config;
 *   - the context named in the options, else current-context;
 *   - from the context: its cluster, its user and its namespace.
 * Relative paths inside a file (certificate-authority, client-certificate,
 * client-key, tokenFile, exec command containing '/') are resolved against
 * the directory of the file that defines them, as kubectl does.
 * *-data fields are base64 and are decoded into memory (never written to
 * disk). In-cluster configuration reads KUBERNETES_SERVICE_HOST and
 * KUBERNETES_SERVICE_PORT and the service-account directory.
 *
 * Every failure names the file and the field, e.g.
 *   "/home/u/.kube/config: users[0].user.client-key-data: illegal base64"
 *   "context \"prod\" not found in /a:/b"
 *
 * Ownership: a struct kube_config is heap-allocated by the loaders and freed
 * with kube_config_free(); every string in it is owned by it. The struct is
 * immutable after loading, so it may be shared between threads read-only.
 */
#ifndef KNIT_KUBE_KUBECONFIG_H
#define KNIT_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Default service-account directory for in-cluster configuration. */
#define KUBE_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* users[].user.exec: a client.authentication.k8s.io credential plugin. */
struct kube_exec_config {
	char *command;	    /* absolute, or resolved against the file's dir */
	char **args;	    /* NULL-terminated; never NULL */
	char **env;	    /* "NAME=value", NULL-terminated; never NULL */
	char *api_version;  /* e.g. "client.authentication.k8s.io/v1" */
	char *install_hint; /* may be NULL; shown when the command is missing */
	bool provide_cluster_info;
	char *interactive_mode; /* "Never", "IfAvailable", "Always" or NULL */
};

struct kube_config {
	char *server;	 /* "https://host:port", no trailing '/'; never NULL */
	char *namespace; /* never NULL: "default" when nothing sets it */
	char *context;	 /* context used; NULL for in-cluster */
	char *cluster;	 /* cluster name; NULL for in-cluster */
	char *user;	 /* user name; NULL for in-cluster */
	char *source; /* file(s) read, for messages: "/a:/b" or "in-cluster" */

	/* TLS. A *_data field holds decoded PEM bytes (NUL-terminated too);
	 * when both file and data are set in the file, data wins. */
	char *ca_file;
	char *ca_data;
	size_t ca_len;
	char *cert_file;
	char *cert_data;
	size_t cert_len;
	char *key_file;
	char *key_data;
	size_t key_len;
	bool insecure; /* insecure-skip-tls-verify */
	char *tls_server_name;
	char *proxy_url;

	/* Authentication: token_file (re-read as it rotates) wins over token,
	 * which wins over exec; username/password is basic auth. */
	char *token;
	char *token_file;
	char *username;
	char *password;
	struct kube_exec_config *exec; /* NULL when none */
};

struct kube_config_options {
	const char *kubeconfig; /* --kubeconfig; NULL: $KUBECONFIG,
				   ~/.kube/config */
	const char *context;	/* --context; NULL: current-context */
	const char *cluster;	/* --cluster override; NULL: the context's */
	const char *user;	/* --user override; NULL: the context's */
	const char *namespace;	/* --namespace override; NULL: the context's */
	const char *server;	/* --server override; NULL: the cluster's */
};

/*
 * Loads configuration from kubeconfig files as described above. `opt` may be
 * NULL. On success stores a new config in *out and returns 0. Errors:
 * ERR_NOTFOUND (no file, or a named context/cluster/user missing), ERR_PARSE
 * (YAML or base64), ERR_INVAL (a required field missing or inconsistent),
 * ERR_IO (a referenced file unreadable); the message is in errbuf.
 */
int kube_config_load(const struct kube_config_options *opt,
		     struct kube_config **out, char *errbuf, size_t errlen);

/*
 * Loads in-cluster configuration: server from KUBERNETES_SERVICE_HOST and
 * KUBERNETES_SERVICE_PORT (IPv6 hosts bracketed), CA from <dir>/ca.crt,
 * token_file <dir>/token (read per request by kube_auth, so rotation is
 * picked up), namespace from <dir>/namespace or "default". `dir` NULL means
 * KUBE_SERVICEACCOUNT_DIR. ERR_NOTFOUND when the environment is not set.
 */
int kube_config_load_incluster(const char *dir, struct kube_config **out,
			       char *errbuf, size_t errlen);

/*
 * What a controller does: when opt->kubeconfig is set, or $KUBECONFIG is set,
 * or ~/.kube/config exists, kube_config_load(); otherwise in-cluster (with
 * `sa_dir`, NULL for the default). Errors as the two loaders.
 */
int kube_config_load_default(const struct kube_config_options *opt,
			     const char *sa_dir, struct kube_config **out,
			     char *errbuf, size_t errlen);

/* Frees the config and everything in it. NULL is a no-op. */
void kube_config_free(struct kube_config *c);

#endif

/*
 * kubeconfig: loading client configuration from kubeconfig files (see
 * kubeconfig.h for the contract); the in-cluster loader is in incluster.c
 * and the file, path and base64 helpers in kubeconfig_internal.c.
 *
 * Each file is converted to JSON with yaml_to_json() and its clusters, users
 * and contexts are gathered into one "merged" table per kind, keyed by name:
 * the first file to define a name wins, as client-go's loading rules do.
 * Each table entry remembers the file and list index that defined it, so a
 * message can name "file: users[2].user.token". Only the context in use and
 * the cluster and user it names are then validated and copied into a
 * struct kube_config; the messages follow client-go's clientcmd validation.
 */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "json/yaml.h"
#include "kube/kubeconfig_internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/base64.h"

/* Where a value came from, for messages: file and "users[2].user". */
struct origin {
	const char *file;
	char where[64];
};

/* The merged view of every file read. */
struct loader {
	json_t *clusters; /* name -> {"v": object, "file": s, "idx": n} */
	json_t *users;
	json_t *contexts;
	char *current; /* first non-empty current-context */
	struct buf source;
};

/* --- reading one file into the merged tables --- */

static int merge_list(const char *file, json_t *root, const char *list,
		      json_t *table, char *errbuf, size_t errlen)
{
	json_t *arr = json_object_get(root, list), *item, *seen;
	size_t i;
	int rc = 0;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s: expected a list", file, list);
	seen = json_object();
	json_array_foreach(arr, i, item)
	{
		json_t *name = json_object_get(item, "name");
		const char *n =
			json_is_string(name) ? json_string_value(name) : "";

		if (!json_is_object(item) || (name && !json_is_string(name))) {
			rc = err_set(errbuf, errlen, ERR_PARSE,
				     "%s: %s[%zu]: expected a mapping with a "
				     "string name",
				     file, list, i);
			goto out;
		}
		if (json_object_get(seen, n)) {
			rc = err_set(
				errbuf, errlen, ERR_INVAL,
				"%s: %s[%zu]: duplicate name \"%s\" in list",
				file, list, i, n);
			goto out;
		}
		json_object_set_new(seen, n, json_true());
		if (json_object_get(table, n))
			continue; /* an earlier file defined it: it wins */
		json_object_set_new(table, n,
				    json_pack("{sOsssI}", "v", item, "file",
					      file, "idx", (json_int_t)i));
	}
out:
	json_decref(seen);
	return rc;
}

/* Reads `file` into the loader. ENOENT is reported as ERR_NOTFOUND. */
static int loader_add_file(struct loader *l, const char *file, char *errbuf,
			   size_t errlen)
{
	char *text = NULL, yerr[512];
	json_t *root = NULL, *cur;
	size_t len;
	int eno = 0, rc;

	rc = kubeconfig_read_file(file, &text, &len, &eno);
	if (rc < 0) {
		rc = err_set(errbuf, errlen, eno == ENOENT ? ERR_NOTFOUND : rc,
			     "%s: %s", file, strerror(eno));
		goto out;
	}
	root = yaml_to_json(text, len, yerr, sizeof(yerr));
	if (!root) {
		rc = err_set(errbuf, errlen, ERR_PARSE, "%s: %s", file, yerr);
		goto out;
	}
	if (l->source.len)
		buf_putc(&l->source, ':');
	buf_puts(&l->source, file);
	if (json_is_null(root))
		goto out; /* an empty file is an empty config */
	if (!json_is_object(root)) {
		rc = err_set(errbuf, errlen, ERR_PARSE,
			     "%s: expected a mapping at the top level", file);
		goto out;
	}
	cur = json_object_get(root, "current-context");
	if (cur && !json_is_string(cur) && !json_is_null(cur)) {
		rc = err_set(errbuf, errlen, ERR_PARSE,
			     "%s: current-context: expected a string", file);
		goto out;
	}
	if (!l->current && json_string_length(cur) > 0)
		l->current = xstrdup(json_string_value(cur));
	rc = merge_list(file, root, "clusters", l->clusters, errbuf, errlen);
	if (rc == 0)
		rc = merge_list(file, root, "users", l->users, errbuf, errlen);
	if (rc == 0)
		rc = merge_list(file, root, "contexts", l->contexts, errbuf,
				errlen);
out:
	json_decref(root);
	free(text);
	return rc;
}

/* --- typed field access with messages naming file and field --- */

/*
 * Finds the entry's inner object (entry.v[inner]) and stores a borrowed
 * reference to it, or NULL, in *body. Sets up `o` for messages.
 */
static int entry_body(json_t *entry, const char *list, const char *inner,
		      struct origin *o, json_t **body, char *errbuf,
		      size_t errlen)
{
	json_t *b = json_object_get(json_object_get(entry, "v"), inner);

	o->file = json_string_value(json_object_get(entry, "file"));
	snprintf(o->where, sizeof(o->where), "%s[%lld].%s", list,
		 (long long)json_integer_value(json_object_get(entry, "idx")),
		 inner);
	if (b && !json_is_object(b) && !json_is_null(b))
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s: expected a mapping", o->file, o->where);
	*body = json_is_object(b) ? b : NULL;
	return 0;
}

/* *out = borrowed string value of obj[key], NULL when absent or null. */
static int field_str(const struct origin *o, json_t *obj, const char *key,
		     const char **out, char *errbuf, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s.%s: expected a string", o->file,
			       o->where, key);
	*out = json_string_length(v) ? json_string_value(v) : NULL;
	return 0;
}

/* How a field of the file is stored into a struct. */
enum field_kind {
	FIELD_STR,  /* char *, copied */
	FIELD_PATH, /* char *, resolved against the file's directory */
	FIELD_DATA, /* char * and size_t, base64-decoded */
	FIELD_BOOL, /* bool */
};

struct field_spec {
	const char *key;
	enum field_kind kind;
	size_t off, len_off;
};

#define FIELD(key, kind, type, m)               \
	{                                       \
		key, kind, offsetof(type, m), 0 \
	}
#define FIELD_DATA(key, m, len)                                   \
	{                                                         \
		key, FIELD_DATA, offsetof(struct kube_config, m), \
			offsetof(struct kube_config, len)         \
	}

static const struct field_spec cluster_fields[] = {
	FIELD("certificate-authority", FIELD_PATH, struct kube_config, ca_file),
	FIELD_DATA("certificate-authority-data", ca_data, ca_len),
	FIELD("insecure-skip-tls-verify", FIELD_BOOL, struct kube_config,
	      insecure),
	FIELD("tls-server-name", FIELD_STR, struct kube_config,
	      tls_server_name),
	FIELD("proxy-url", FIELD_STR, struct kube_config, proxy_url),
	{NULL, FIELD_STR, 0, 0},
};

static const struct field_spec user_fields[] = {
	FIELD("token", FIELD_STR, struct kube_config, token),
	FIELD("tokenFile", FIELD_PATH, struct kube_config, token_file),
	FIELD("client-certificate", FIELD_PATH, struct kube_config, cert_file),
	FIELD_DATA("client-certificate-data", cert_data, cert_len),
	FIELD("client-key", FIELD_PATH, struct kube_config, key_file),
	FIELD_DATA("client-key-data", key_data, key_len),
	FIELD("username", FIELD_STR, struct kube_config, username),
	FIELD("password", FIELD_STR, struct kube_config, password),
	{NULL, FIELD_STR, 0, 0},
};

static const struct field_spec exec_fields[] = {
	FIELD("apiVersion", FIELD_STR, struct kube_exec_config, api_version),
	FIELD("installHint", FIELD_STR, struct kube_exec_config, install_hint),
	FIELD("provideClusterInfo", FIELD_BOOL, struct kube_exec_config,
	      provide_cluster_info),
	FIELD("interactiveMode", FIELD_STR, struct kube_exec_config,
	      interactive_mode),
	{NULL, FIELD_STR, 0, 0},
};

/* Reads one field of `obj` into the struct at `base`. */
static int field_read(const struct origin *o, json_t *obj,
		      const struct field_spec *f, char *base, char *errbuf,
		      size_t errlen)
{
	json_t *v = json_object_get(obj, f->key);
	char **dst = (char **)(void *)(base + f->off);
	const char *s;
	size_t bad = 0;

	if (!v || json_is_null(v))
		return 0;
	if (f->kind == FIELD_BOOL && !json_is_boolean(v))
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s.%s: expected a boolean", o->file,
			       o->where, f->key);
	if (f->kind == FIELD_BOOL) {
		*(bool *)(void *)(base + f->off) = json_is_true(v);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s.%s: expected a string", o->file,
			       o->where, f->key);
	s = json_string_value(v);
	if (!*s)
		return 0;
	if (f->kind == FIELD_STR)
		*dst = xstrdup(s);
	else if (f->kind == FIELD_PATH)
		*dst = kubeconfig_path_resolve(o->file, s);
	else if (base64_decode(s, dst, (size_t *)(void *)(base + f->len_off),
			       &bad) < 0)
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s.%s: illegal base64 data at input byte "
			       "%zu",
			       o->file, o->where, f->key, bad);
	return 0;
}

/* Reads every field of the NULL-key-terminated `spec`. */
static int fields_read(const struct origin *o, json_t *obj,
		       const struct field_spec *spec, void *base, char *errbuf,
		       size_t errlen)
{
	int rc;

	for (; spec->key; spec++)
		if ((rc = field_read(o, obj, spec, base, errbuf, errlen)) < 0)
			return rc;
	return 0;
}

/* A referenced file must be readable, as clientcmd's validation checks. */
static int check_readable(const struct origin *o, const char *what,
			  const char *path, const char *owner, char *errbuf,
			  size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return err_set(errbuf, errlen, ERR_IO,
		       "%s: %s: unable to read %s %s for %s due to open %s: %s",
		       o->file, o->where, what, path, owner, path,
		       strerror(errno));
}

/* --- the cluster --- */

static int check_proxy(const struct origin *o, const char *url,
		       const char *name, char *errbuf, size_t errlen)
{
	static const char *const ok[] = {"http://", "https://", "socks5://"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strncmp(url, ok[i], strlen(ok[i])) == 0 &&
		    url[strlen(ok[i])] != '\0')
			return 0;
	return err_set(errbuf, errlen, ERR_INVAL,
		       "%s: %s.proxy-url: invalid 'proxy-url' \"%s\" for "
		       "cluster \"%s\": only http, https and socks5 proxies "
		       "with a host are supported",
		       o->file, o->where, url, name);
}

/* Sets c->server from `s`: a scheme added as client-go does, no '/' tail. */
static void server_set(struct kube_config *c, const char *s)
{
	size_t n = strlen(s);
	bool tls = c->ca_file || c->ca_data || c->cert_file || c->cert_data ||
		   c->insecure;

	while (n > 0 && s[n - 1] == '/')
		n--;
	free(c->server);
	if (strstr(s, "://"))
		c->server = xstrndup(s, n);
	else
		c->server = xasprintf("%s://%.*s", tls ? "https" : "http",
				      (int)n, s);
}

static int cluster_fill(struct kube_config *c, json_t *entry,
			const char *server_override, char *errbuf,
			size_t errlen)
{
	struct origin o;
	json_t *b;
	const char *server = NULL;
	int rc;

	rc = entry_body(entry, "clusters", "cluster", &o, &b, errbuf, errlen);
	if (rc == 0)
		rc = field_str(&o, b, "server", &server, errbuf, errlen);
	if (rc == 0)
		rc = fields_read(&o, b, cluster_fields, c, errbuf, errlen);
	if (rc < 0)
		return rc;
	if (server_override)
		server = server_override;
	if (!server)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s.server: no server found for cluster "
			       "\"%s\"",
			       o.file, o.where, c->cluster);
	if (c->ca_data && c->ca_file) {
		free(c->ca_file); /* the data wins, as in kubectl */
		c->ca_file = NULL;
	}
	if (c->insecure && (c->ca_file || c->ca_data))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s.insecure-skip-tls-verify: specifying a "
			       "root certificates file with the insecure flag "
			       "is not allowed",
			       o.file, o.where);
	if (c->ca_file &&
	    (rc = check_readable(&o, "certificate-authority", c->ca_file,
				 c->cluster, errbuf, errlen)) < 0)
		return rc;
	if (c->proxy_url && (rc = check_proxy(&o, c->proxy_url, c->cluster,
					      errbuf, errlen)) < 0)
		return rc;
	server_set(c, server);
	return 0;
}

/* --- the user --- */

static void exec_free(struct kube_exec_config *e)
{
	if (!e)
		return;
	free(e->command);
	for (size_t i = 0; e->args && e->args[i]; i++)
		free(e->args[i]);
	free(e->args);
	for (size_t i = 0; e->env && e->env[i]; i++)
		free(e->env[i]);
	free(e->env);
	free(e->api_version);
	free(e->install_hint);
	free(e->interactive_mode);
	free(e);
}

/* exec.args: a list of strings into a NULL-terminated vector. */
static int exec_args(const struct origin *o, json_t *arr,
		     struct kube_exec_config *e, char *errbuf, size_t errlen)
{
	size_t i, n = json_array_size(arr);
	json_t *v;

	e->args = xcalloc(n + 1, sizeof(char *));
	if (arr && !json_is_null(arr) && !json_is_array(arr))
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s.exec.args: expected a list of strings",
			       o->file, o->where);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			return err_set(errbuf, errlen, ERR_PARSE,
				       "%s: %s.exec.args[%zu]: expected a "
				       "string",
				       o->file, o->where, i);
		e->args[i] = xstrdup(json_string_value(v));
	}
	return 0;
}

/* exec.env: [{name, value}] into "NAME=value" strings. */
static int exec_env(const struct origin *o, const char *user, json_t *arr,
		    struct kube_exec_config *e, char *errbuf, size_t errlen)
{
	size_t i, n = json_array_size(arr);
	json_t *v;

	e->env = xcalloc(n + 1, sizeof(char *));
	if (arr && !json_is_null(arr) && !json_is_array(arr))
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s.exec.env: expected a list", o->file,
			       o->where);
	json_array_foreach(arr, i, v)
	{
		json_t *name = json_object_get(v, "name");
		json_t *val = json_object_get(v, "value");

		if (!json_is_object(v) || (name && !json_is_string(name)) ||
		    (val && !json_is_string(val) && !json_is_null(val)))
			return err_set(errbuf, errlen, ERR_PARSE,
				       "%s: %s.exec.env[%zu]: expected a "
				       "mapping of string name and value",
				       o->file, o->where, i);
		if (json_string_length(name) == 0 ||
		    strchr(json_string_value(name), '='))
			return err_set(errbuf, errlen, ERR_INVAL,
				       "%s: %s.exec.env[%zu].name: env "
				       "variable name must be specified for "
				       "%s to use exec authentication plugin",
				       o->file, o->where, i, user);
		e->env[i] = xasprintf("%s=%s", json_string_value(name),
				      val ? json_string_value(val) : "");
	}
	return 0;
}

/* Checks of clientcmd's validateAuthInfo for exec, plus v1beta1 defaults. */
static int exec_check(const struct origin *o, const char *user,
		      struct kube_exec_config *e, char *errbuf, size_t errlen)
{
	const char *m = e->interactive_mode;

	if (!e->command)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s.exec.command: command must be specified "
			       "for %s to use exec authentication plugin",
			       o->file, o->where, user);
	if (!e->api_version)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s.exec.apiVersion: apiVersion must be "
			       "specified for %s to use exec authentication "
			       "plugin",
			       o->file, o->where, user);
	if (!m &&
	    strcmp(e->api_version, "client.authentication.k8s.io/v1") != 0) {
		e->interactive_mode = xstrdup("IfAvailable");
		return 0;
	}
	if (!m)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s.exec.interactiveMode: interactiveMode "
			       "must be specified for %s to use exec "
			       "authentication plugin",
			       o->file, o->where, user);
	if (strcmp(m, "Never") && strcmp(m, "IfAvailable") &&
	    strcmp(m, "Always"))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s.exec.interactiveMode: invalid "
			       "interactiveMode for %s: \"%s\"",
			       o->file, o->where, user, m);
	return 0;
}

static int exec_fill(struct kube_config *c, const struct origin *o, json_t *x,
		     char *errbuf, size_t errlen)
{
	struct kube_exec_config *e = xcalloc(1, sizeof(*e));
	struct origin ox = *o;
	const char *cmd = NULL;
	int rc;

	c->exec = e;
	if (strlen(o->where) + sizeof(".exec") <= sizeof(ox.where))
		memcpy(ox.where + strlen(o->where), ".exec", sizeof(".exec"));
	if (!json_is_object(x))
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: %s: expected a mapping", o->file, ox.where);
	rc = exec_args(o, json_object_get(x, "args"), e, errbuf, errlen);
	if (rc == 0)
		rc = exec_env(o, c->user, json_object_get(x, "env"), e, errbuf,
			      errlen);
	if (rc == 0)
		rc = field_str(&ox, x, "command", &cmd, errbuf, errlen);
	if (rc == 0)
		rc = fields_read(&ox, x, exec_fields, e, errbuf, errlen);
	if (rc < 0)
		return rc;
	/* A command with a '/' is a path; a bare name is looked up in PATH. */
	if (cmd)
		e->command = strchr(cmd, '/')
				     ? kubeconfig_path_resolve(o->file, cmd)
				     : xstrdup(cmd);
	return exec_check(o, c->user, e, errbuf, errlen);
}

/* The combinations clientcmd's validateAuthInfo rejects. */
static int user_check(struct kube_config *c, const struct origin *o,
		      char *errbuf, size_t errlen)
{
	int rc;

	if ((c->token || c->token_file) && (c->username || c->password))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s: more than one authentication method "
			       "found for %s; found [token basicAuth], only "
			       "one is allowed",
			       o->file, o->where, c->user);
	if (c->cert_data && c->cert_file) {
		free(c->cert_file);
		c->cert_file = NULL;
	}
	if (c->key_data && c->key_file) {
		free(c->key_file);
		c->key_file = NULL;
	}
	if ((c->cert_file || c->cert_data) && !c->key_file && !c->key_data)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s: client-key-data or client-key must be "
			       "specified for %s to use the clientCert "
			       "authentication method",
			       o->file, o->where, c->user);
	if ((c->key_file || c->key_data) && !c->cert_file && !c->cert_data)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s: client-certificate-data or "
			       "client-certificate must be specified for %s "
			       "with a client key",
			       o->file, o->where, c->user);
	if (c->cert_file && (rc = check_readable(o, "client-cert", c->cert_file,
						 c->user, errbuf, errlen)) < 0)
		return rc;
	if (c->key_file && (rc = check_readable(o, "client-key", c->key_file,
						c->user, errbuf, errlen)) < 0)
		return rc;
	return 0;
}

static int user_fill(struct kube_config *c, json_t *entry, char *errbuf,
		     size_t errlen)
{
	struct origin o;
	json_t *b, *x;
	int rc;

	rc = entry_body(entry, "users", "user", &o, &b, errbuf, errlen);
	if (rc == 0)
		rc = fields_read(&o, b, user_fields, c, errbuf, errlen);
	if (rc < 0)
		return rc;
	x = json_object_get(b, "exec");
	if (x && !json_is_null(x) &&
	    (rc = exec_fill(c, &o, x, errbuf, errlen)) < 0)
		return rc;
	return user_check(c, &o, errbuf, errlen);
}

/* --- the context --- */

/* Namespaces are DNS labels; clientcmd's validateContext checks this. */
static bool dns_label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Fills context, cluster, user and namespace names from the context. */
static int context_fill(struct kube_config *c, struct loader *l,
			const struct kube_config_options *opt, char *errbuf,
			size_t errlen)
{
	const char *name = opt->context ? opt->context : l->current;
	const char *cl = NULL, *us = NULL, *ns = NULL;
	struct origin o = {.file = l->source.data, .where = ""};
	json_t *entry, *b = NULL;
	int rc;

	if (name && *name) {
		entry = json_object_get(l->contexts, name);
		if (!entry)
			return err_set(errbuf, errlen, ERR_NOTFOUND,
				       "%s: context was not found for "
				       "specified context: %s",
				       l->source.data, name);
		c->context = xstrdup(name);
		rc = entry_body(entry, "contexts", "context", &o, &b, errbuf,
				errlen);
		if (rc == 0)
			rc = field_str(&o, b, "cluster", &cl, errbuf, errlen);
		if (rc == 0)
			rc = field_str(&o, b, "user", &us, errbuf, errlen);
		if (rc == 0)
			rc = field_str(&o, b, "namespace", &ns, errbuf, errlen);
		if (rc < 0)
			return rc;
	}
	cl = opt->cluster ? opt->cluster : cl;
	us = opt->user ? opt->user : us;
	ns = opt->namespace ? opt->namespace : ns;
	if (!cl && !c->context)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: no context chosen: current-context is not "
			       "set and no context was given",
			       l->source.data);
	if (!cl)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s.cluster: cluster was not specified for "
			       "context \"%s\"",
			       o.file, o.where, c->context);
	if (ns && !dns_label_ok(ns))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: %s.namespace: namespace \"%s\" for context "
			       "\"%s\" does not conform to the kubernetes "
			       "DNS_LABEL rules",
			       o.file, o.where, ns, name ? name : "");
	c->cluster = xstrdup(cl);
	c->user = us ? xstrdup(us) : NULL;
	c->namespace = xstrdup(ns ? ns : "default");
	return 0;
}

static int config_build(struct loader *l, const struct kube_config_options *opt,
			struct kube_config *c, char *errbuf, size_t errlen)
{
	const char *where;
	json_t *ce, *ue = NULL;
	int rc;

	rc = context_fill(c, l, opt, errbuf, errlen);
	if (rc < 0)
		return rc;
	where = c->context ? c->context : "(none)";
	ce = json_object_get(l->clusters, c->cluster);
	if (!ce)
		return err_set(errbuf, errlen, ERR_NOTFOUND,
			       "%s: cluster \"%s\" was not found for context "
			       "\"%s\"",
			       l->source.data, c->cluster, where);
	if (c->user && !(ue = json_object_get(l->users, c->user)))
		return err_set(errbuf, errlen, ERR_NOTFOUND,
			       "%s: user \"%s\" was not found for context "
			       "\"%s\"",
			       l->source.data, c->user, where);
	if (ue && (rc = user_fill(c, ue, errbuf, errlen)) < 0)
		return rc;
	/* The cluster last: the scheme default depends on client certs. */
	return cluster_fill(c, ce, opt->server, errbuf, errlen);
}

/* --- entry points --- */

/* Appends the files of $KUBECONFIG (deduplicated) to `files`. */
static void kubeconfig_env_files(const char *env, json_t *files)
{
	const char *p = env;

	while (*p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *f = xstrndup(p, n);
		bool dup = false;
		size_t i;
		json_t *v;

		json_array_foreach(files, i, v) dup =
			dup || strcmp(json_string_value(v), f) == 0;
		if (n > 0 && !dup)
			json_array_append_new(files, json_string(f));
		free(f);
		p += n + (end ? 1 : 0);
	}
}

/* Reads the chosen files; missing ones are skipped in a $KUBECONFIG list. */
static int loader_read(struct loader *l, const struct kube_config_options *opt,
		       char *errbuf, size_t errlen)
{
	const char *env = getenv("KUBECONFIG");
	json_t *files = json_array(), *v;
	bool list = false;
	size_t i, found = 0;
	char *home = NULL;
	int rc = 0;

	if (opt->kubeconfig) {
		json_array_append_new(files, json_string(opt->kubeconfig));
	} else if (env && *env) {
		kubeconfig_env_files(env, files);
		list = true;
	} else {
		home = kubeconfig_home_path();
		json_array_append_new(files, json_string(home));
	}
	json_array_foreach(files, i, v)
	{
		rc = loader_add_file(l, json_string_value(v), errbuf, errlen);
		if (rc == ERR_NOTFOUND && list)
			continue;
		if (rc < 0)
			goto out;
		found++;
	}
	rc = 0;
	if (found == 0)
		rc = err_set(errbuf, errlen, ERR_NOTFOUND,
			     "no kubeconfig file found: none of the files in "
			     "KUBECONFIG=%s exist",
			     env ? env : "");
out:
	free(home);
	json_decref(files);
	return rc;
}

int kube_config_load(const struct kube_config_options *opt,
		     struct kube_config **out, char *errbuf, size_t errlen)
{
	static const struct kube_config_options none;
	struct kube_config *c = xcalloc(1, sizeof(*c));
	struct loader l = {.clusters = json_object(),
			   .users = json_object(),
			   .contexts = json_object()};
	int rc;

	*out = NULL;
	buf_init(&l.source, BUF_UNLIMITED);
	if (!opt)
		opt = &none;
	rc = loader_read(&l, opt, errbuf, errlen);
	if (rc == 0)
		rc = config_build(&l, opt, c, errbuf, errlen);
	if (rc == 0) {
		c->source = xstrdup(l.source.data);
		*out = c;
		c = NULL;
	}
	kube_config_free(c);
	json_decref(l.clusters);
	json_decref(l.users);
	json_decref(l.contexts);
	free(l.current);
	buf_release(&l.source);
	return rc;
}

int kube_config_load_default(const struct kube_config_options *opt,
			     const char *sa_dir, struct kube_config **out,
			     char *errbuf, size_t errlen)
{
	const char *env = getenv("KUBECONFIG");
	char *home;
	bool have;

	if ((opt && opt->kubeconfig) || (env && *env))
		return kube_config_load(opt, out, errbuf, errlen);
	home = kubeconfig_home_path();
	have = access(home, F_OK) == 0;
	free(home);
	if (have)
		return kube_config_load(opt, out, errbuf, errlen);
	return kube_config_load_incluster(sa_dir, out, errbuf, errlen);
}

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->namespace);
	free(c->context);
	free(c->cluster);
	free(c->user);
	free(c->source);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->cert_data);
	free(c->key_file);
	free(c->key_data);
	free(c->tls_server_name);
	free(c->proxy_url);
	free(c->token);
	free(c->token_file);
	free(c->username);
	free(c->password);
	exec_free(c->exec);
	free(c);
}

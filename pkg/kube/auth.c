/*
 * auth: the Authorization header for each request (see auth.h for the
 * contract).
 *
 * A static token or basic-auth pair is formatted on every call. A token
 * file is stat()ed on every call and re-read when its identity, size or
 * times change, which is how a rotated projected service-account token is
 * picked up. An exec credential plugin is run with posix_spawnp(): its
 * stdout (capped) must be an ExecCredential of the configured apiVersion;
 * the token is cached until status.expirationTimestamp or until
 * kube_auth_invalidate() is told the server refused it. One mutex guards the
 * cached state and is held while a plugin runs, so concurrent callers wait
 * for the same run instead of starting their own.
 */
#define _GNU_SOURCE /* pipe2() */
#include "kube/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mono.h"
#include "util/rfc3339.h"

extern char **environ;

#define EXEC_TIMEOUT_MS 60000
#define EXEC_STDOUT_MAX (1u << 20)
#define EXEC_STDERR_MAX (64u << 10)
#define TOKEN_FILE_MAX	(1u << 20)
#define CA_FILE_MAX	(4u << 20)
#define BEARER		"Authorization: Bearer "

struct kube_auth {
	const struct kube_config *cfg;
	pthread_mutex_t mu;

	/* token_file: the last token read and the stat it was read under */
	char *file_token;
	struct stat file_st;

	/* exec: the cached token; expiry in Unix seconds, 0 for never */
	char *exec_token;
	double exec_expiry;
};

struct kube_auth *kube_auth_new(const struct kube_config *cfg)
{
	struct kube_auth *a = xcalloc(1, sizeof(*a));

	a->cfg = cfg;
	pthread_mutex_init(&a->mu, NULL);
	return a;
}

void kube_auth_free(struct kube_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a->file_token);
	free(a->exec_token);
	free(a);
}

/* New base64 string of data[0..len). */
static char *b64_encode(const void *data, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* A token may go into a header line only without control characters. */
static bool token_ok(const char *t)
{
	if (!*t)
		return false;
	for (; *t; t++)
		if ((unsigned char)*t < 0x20 || *t == 0x7f)
			return false;
	return true;
}

/* Reads fd to EOF into b (bounded). */
static int fd_slurp(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ERR_IO;
		if (buf_append(b, chunk, (size_t)n) < 0)
			return ERR_TOOBIG;
	}
	return 0;
}

/* Reads a whole small file; 0, or ERR_IO with errno-style text in errbuf. */
static int file_load(const char *path, size_t max, struct buf *b, char *errbuf,
		     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	buf_init(b, max);
	if (fd < 0) {
		rc = err_set(errbuf, errlen, ERR_IO, "open %s: %s", path,
			     strerror(errno));
		buf_release(b);
		return rc;
	}
	rc = fd_slurp(fd, b);
	if (rc < 0) {
		rc = err_set(errbuf, errlen, ERR_IO, "read %s: %s", path,
			     rc == ERR_TOOBIG ? "file too large"
					      : strerror(errno));
		buf_release(b);
	}
	close(fd);
	return rc;
}

/* --- token file --- */

static bool stat_same(const struct stat *x, const struct stat *y)
{
	return x->st_dev == y->st_dev && x->st_ino == y->st_ino &&
	       x->st_size == y->st_size &&
	       x->st_mtim.tv_sec == y->st_mtim.tv_sec &&
	       x->st_mtim.tv_nsec == y->st_mtim.tv_nsec &&
	       x->st_ctim.tv_sec == y->st_ctim.tv_sec &&
	       x->st_ctim.tv_nsec == y->st_ctim.tv_nsec;
}

/* Refreshes a->file_token when the file changed. Called with a->mu held. */
static int token_file_refresh(struct kube_auth *a, char *errbuf, size_t errlen)
{
	const char *path = a->cfg->token_file;
	struct stat st;
	struct buf b;
	size_t start = 0, end;
	int rc;

	if (stat(path, &st) != 0)
		return err_set(errbuf, errlen, ERR_IO,
			       "token file: stat %s: %s", path,
			       strerror(errno));
	if (a->file_token && stat_same(&st, &a->file_st))
		return 0;
	rc = file_load(path, TOKEN_FILE_MAX, &b, errbuf, errlen);
	if (rc < 0)
		return rc;
	end = b.len;
	while (start < end && strchr(" \t\r\n", b.data[start]))
		start++;
	while (end > start && strchr(" \t\r\n", b.data[end - 1]))
		end--;
	b.data[end] = '\0';
	if (!token_ok(b.data + start)) {
		rc = err_set(
			errbuf, errlen, ERR_IO,
			start == end
				? "read empty token from file %s"
				: "token in file %s has control characters",
			path);
		goto out;
	}
	free(a->file_token);
	a->file_token = xstrdup(b.data + start);
	a->file_st = st;
out:
	buf_release(&b);
	return rc;
}

/* --- exec plugin --- */

/* The ExecCredential request for KUBERNETES_EXEC_INFO; a new string. */
static int exec_info(const struct kube_config *c, char **out, char *errbuf,
		     size_t errlen)
{
	json_t *req, *spec, *cl;
	struct buf ca = {.data = NULL};
	int rc = 0;

	spec = json_pack("{sb}", "interactive", 0);
	req = json_pack("{sssssO}", "apiVersion", c->exec->api_version, "kind",
			"ExecCredential", "spec", spec);
	if (c->exec->provide_cluster_info) {
		cl = json_pack("{ss}", "server", c->server);
		if (c->tls_server_name)
			json_object_set_new(cl, "tls-server-name",
					    json_string(c->tls_server_name));
		if (c->insecure)
			json_object_set_new(cl, "insecure-skip-tls-verify",
					    json_true());
		if (c->proxy_url)
			json_object_set_new(cl, "proxy-url",
					    json_string(c->proxy_url));
		if (!c->ca_data && c->ca_file &&
		    (rc = file_load(c->ca_file, CA_FILE_MAX, &ca, errbuf,
				    errlen)) < 0) {
			json_decref(cl);
			goto out;
		}
		if (c->ca_data || ca.data) {
			char *enc =
				b64_encode(c->ca_data ? c->ca_data : ca.data,
					   c->ca_data ? c->ca_len : ca.len);

			json_object_set_new(cl, "certificate-authority-data",
					    json_string(enc));
			free(enc);
		}
		json_object_set_new(spec, "cluster", cl);
	}
	*out = json_dumps(req, JSON_COMPACT);
out:
	if (ca.data)
		buf_release(&ca);
	json_decref(spec);
	json_decref(req);
	return rc;
}

/* Our environment, minus names the plugin config or the request sets. */
static bool env_overridden(const char *entry, char *const *set)
{
	size_t n = strcspn(entry, "=");

	if (strncmp(entry, "KUBERNETES_EXEC_INFO=", 21) == 0)
		return true;
	for (; *set; set++)
		if (strncmp(*set, entry, n) == 0 && (*set)[n] == '=')
			return true;
	return false;
}

/* NULL-terminated envp: environ + config env + KUBERNETES_EXEC_INFO. */
static char **exec_envp(char *const *extra, const char *info)
{
	size_t n = 0, m = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	while (extra[m])
		m++;
	envp = xcalloc(n + m + 2, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (!env_overridden(environ[i], extra))
			envp[k++] = xstrdup(environ[i]);
	for (size_t i = 0; i < m; i++)
		envp[k++] = xstrdup(extra[i]);
	envp[k] = xasprintf("KUBERNETES_EXEC_INFO=%s", info);
	return envp;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A running plugin: its pid and the read ends of its stdout and stderr. */
struct child {
	pid_t pid;
	int out, err;
	struct buf stdout_buf, stderr_buf;
};

/* Starts the plugin; 0 or a positive errno from posix_spawnp. */
static int child_start(struct child *ch, const struct kube_exec_config *e,
		       char **envp)
{
	posix_spawn_file_actions_t fa;
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, rc;
	char **argv;
	size_t n = 0;

	while (e->args[n])
		n++;
	argv = xcalloc(n + 2, sizeof(char *));
	argv[0] = e->command;
	memcpy(argv + 1, e->args, n * sizeof(char *));
	/* close-on-exec from the start, so a plugin spawned by another thread
	 * meanwhile cannot inherit these pipes and hold them open */
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
		rc = errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	rc = posix_spawnp(&ch->pid, e->command, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == 0) {
		ch->out = po[0];
		ch->err = pe[0];
		po[0] = pe[0] = -1;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	free(argv);
	return rc;
}

/* Reads one chunk from *fd into b (stderr beyond its cap is dropped). */
static int child_drain(int *fd, struct buf *b, bool capped)
{
	char chunk[4096];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	if (buf_append(b, chunk, (size_t)n) < 0 && capped)
		return ERR_TOOBIG;
	return 0;
}

/*
 * Collects output until both pipes close and the child exits, or the
 * deadline passes (the child is killed). Returns 0 with *status set,
 * ERR_TIMEOUT or ERR_TOOBIG.
 */
static int child_wait(struct child *ch, int *status)
{
	long long deadline = mono_now_ms() + EXEC_TIMEOUT_MS;
	int rc = 0;

	while (rc == 0 && (ch->out >= 0 || ch->err >= 0)) {
		struct pollfd p[2] = {{.fd = ch->out, .events = POLLIN},
				      {.fd = ch->err, .events = POLLIN}};
		long long left = deadline - mono_now_ms();

		if (left <= 0) {
			rc = ERR_TIMEOUT;
			break;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			rc = ERR_IO;
		if (rc == 0 && p[0].revents)
			rc = child_drain(&ch->out, &ch->stdout_buf, true);
		if (rc == 0 && p[1].revents)
			rc = child_drain(&ch->err, &ch->stderr_buf, false);
	}
	while (rc == 0) {
		pid_t r = waitpid(ch->pid, status, WNOHANG);

		if (r == ch->pid || (r < 0 && errno == ECHILD)) {
			if (r < 0)
				*status = 0; /* SIGCHLD ignored: unknown */
			ch->pid = -1;
			break;
		}
		if (mono_now_ms() >= deadline)
			rc = ERR_TIMEOUT;
		else
			usleep(5000);
	}
	if (ch->pid > 0) {
		kill(ch->pid, SIGKILL);
		waitpid(ch->pid, status, 0);
		ch->pid = -1;
	}
	return rc;
}

/* First line of the plugin's stderr, for messages; "" when none. */
static const char *stderr_line(struct buf *b)
{
	char *nl = strchr(b->data, '\n');

	if (nl)
		*nl = '\0';
	return b->data;
}

/* Validates the ExecCredential printed by the plugin; takes the token. */
static int exec_parse(const struct kube_exec_config *e, struct buf *out,
		      char **token, double *expiry, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t *cred = json_loadb(out->data, out->len, 0, &jerr), *st;
	const char *kind, *ver, *tok, *exp;
	int rc = ERR_UNAUTHORIZED;

	if (!cred) {
		err_set(errbuf, errlen, rc,
			"exec: executable %s: decoding stdout: %s", e->command,
			jerr.text);
		goto out;
	}
	kind = json_string_value(json_object_get(cred, "kind"));
	ver = json_string_value(json_object_get(cred, "apiVersion"));
	st = json_object_get(cred, "status");
	tok = json_string_value(json_object_get(st, "token"));
	exp = json_string_value(json_object_get(st, "expirationTimestamp"));
	if (!kind || strcmp(kind, "ExecCredential") != 0)
		err_set(errbuf, errlen, rc,
			"exec: executable %s: decoding stdout: expected kind "
			"ExecCredential, got \"%s\"",
			e->command, kind ? kind : "");
	else if (!ver || strcmp(ver, e->api_version) != 0)
		err_set(errbuf, errlen, rc,
			"exec: executable %s: exec plugin is configured to use "
			"API version %s, plugin returned version %s",
			e->command, e->api_version, ver ? ver : "\"\"");
	else if (!json_is_object(st))
		err_set(errbuf, errlen, rc,
			"exec: executable %s: exec plugin didn't return a "
			"status field",
			e->command);
	else if (!tok || !*tok)
		err_set(errbuf, errlen, rc,
			"exec: executable %s: exec plugin didn't return a "
			"token",
			e->command);
	else if (!token_ok(tok))
		err_set(errbuf, errlen, rc,
			"exec: executable %s: status.token has control "
			"characters",
			e->command);
	else if (exp && rfc3339_parse(exp, expiry) < 0)
		err_set(errbuf, errlen, rc,
			"exec: executable %s: decoding stdout: "
			"status.expirationTimestamp: invalid RFC 3339 time "
			"\"%s\"",
			e->command, exp);
	else
		rc = 0;
	if (rc == 0) {
		*token = xstrdup(tok);
		if (!exp)
			*expiry = 0;
	}
out:
	json_decref(cred);
	return rc;
}

/* Explains a failed spawn or run of the plugin. */
static int exec_fail(const struct kube_exec_config *e, int spawn_errno, int rc,
		     int status, struct child *ch, char *errbuf, size_t errlen)
{
	const char *hint = e->install_hint ? e->install_hint : "";
	const char *line = stderr_line(&ch->stderr_buf);
	const char *sep = *line ? ": " : "";

	if (spawn_errno == ENOENT)
		return err_set(errbuf, errlen, ERR_UNAUTHORIZED,
			       "exec: executable %s not found%s%s", e->command,
			       *hint ? "; " : "", hint);
	if (spawn_errno)
		return err_set(errbuf, errlen, ERR_UNAUTHORIZED,
			       "exec: executable %s: %s", e->command,
			       strerror(spawn_errno));
	if (rc == ERR_TIMEOUT)
		return err_set(errbuf, errlen, ERR_UNAUTHORIZED,
			       "exec: executable %s timed out after %d s%s%s",
			       e->command, EXEC_TIMEOUT_MS / 1000, sep, line);
	if (rc == ERR_TOOBIG)
		return err_set(errbuf, errlen, ERR_UNAUTHORIZED,
			       "exec: executable %s printed more than %u "
			       "bytes",
			       e->command, EXEC_STDOUT_MAX);
	if (rc < 0)
		return err_set(errbuf, errlen, ERR_UNAUTHORIZED,
			       "exec: executable %s: reading its output: %s",
			       e->command, strerror(errno));
	if (WIFSIGNALED(status))
		return err_set(
			errbuf, errlen, ERR_UNAUTHORIZED,
			"exec: executable %s was killed by signal %d%s%s",
			e->command, WTERMSIG(status), sep, line);
	return err_set(errbuf, errlen, ERR_UNAUTHORIZED,
		       "exec: executable %s failed with exit code %d%s%s",
		       e->command, WEXITSTATUS(status), sep, line);
}

/* Runs the plugin and caches its token. Called with a->mu held. */
static int exec_refresh(struct kube_auth *a, char *errbuf, size_t errlen)
{
	const struct kube_exec_config *e = a->cfg->exec;
	struct child ch = {.pid = -1, .out = -1, .err = -1};
	char *info = NULL, **envp = NULL, *tok = NULL, why[512];
	int rc, spawn_errno, status = 0;
	double expiry = 0;

	buf_init(&ch.stdout_buf, EXEC_STDOUT_MAX);
	buf_init(&ch.stderr_buf, EXEC_STDERR_MAX);
	if (e->interactive_mode && strcmp(e->interactive_mode, "Always") == 0) {
		rc = err_set(errbuf, errlen, ERR_UNAUTHORIZED,
			     "exec: executable %s: exec plugin cannot support "
			     "interactive mode: standard input is not a "
			     "terminal",
			     e->command);
		goto out;
	}
	rc = exec_info(a->cfg, &info, why, sizeof(why));
	if (rc < 0) {
		rc = err_set(errbuf, errlen, ERR_UNAUTHORIZED,
			     "exec: executable %s: failed to load CA bundle "
			     "for execProvider: %s",
			     e->command, why);
		goto out;
	}
	envp = exec_envp(e->env, info);
	spawn_errno = child_start(&ch, e, envp);
	rc = spawn_errno ? 0 : child_wait(&ch, &status);
	if (spawn_errno || rc < 0 || status != 0) {
		rc = exec_fail(e, spawn_errno, rc, status, &ch, errbuf, errlen);
		goto out;
	}
	rc = exec_parse(e, &ch.stdout_buf, &tok, &expiry, errbuf, errlen);
	if (rc < 0)
		goto out;
	free(a->exec_token);
	a->exec_token = tok;
	a->exec_expiry = expiry;
out:
	if (ch.out >= 0)
		close(ch.out);
	if (ch.err >= 0)
		close(ch.err);
	buf_release(&ch.stdout_buf);
	buf_release(&ch.stderr_buf);
	strv_free(envp);
	free(info);
	return rc;
}

static bool exec_fresh(const struct kube_auth *a)
{
	return a->exec_token &&
	       (a->exec_expiry == 0 || (double)time(NULL) < a->exec_expiry);
}

/* --- the header --- */

static char *basic_header(const struct kube_config *c)
{
	char *pair = xasprintf("%s:%s", c->username ? c->username : "",
			       c->password ? c->password : "");
	char *enc = b64_encode(pair, strlen(pair));
	char *h = xasprintf("Authorization: Basic %s", enc);

	free(enc);
	free(pair);
	return h;
}

int kube_auth_header(struct kube_auth *a, char **header, char *errbuf,
		     size_t errlen)
{
	const struct kube_config *c = a->cfg;
	int rc = 0;

	*header = NULL;
	/* As in client-go, a token file wins over a static token: it is the
	 * one that rotates. */
	if (c->token && !c->token_file) {
		*header = xasprintf(BEARER "%s", c->token);
		return 0;
	}
	if (!c->token_file && !c->exec) {
		if (c->username || c->password)
			*header = basic_header(c);
		return 0;
	}
	pthread_mutex_lock(&a->mu);
	if (c->token_file) {
		rc = token_file_refresh(a, errbuf, errlen);
		if (rc == 0)
			*header = xasprintf(BEARER "%s", a->file_token);
		else if (c->token) /* unreadable file: the static token */
			rc = 0, *header = xasprintf(BEARER "%s", c->token);
	} else {
		if (!exec_fresh(a))
			rc = exec_refresh(a, errbuf, errlen);
		if (rc == 0)
			*header = xasprintf(BEARER "%s", a->exec_token);
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int kube_auth_invalidate(struct kube_auth *a, const char *header)
{
	const struct kube_config *c = a->cfg;
	size_t n = strlen(BEARER);

	if (!c->token_file && (c->token || !c->exec))
		return 0;
	pthread_mutex_lock(&a->mu);
	if (c->token_file) {
		free(a->file_token); /* re-read on the next call */
		a->file_token = NULL;
	} else if (a->exec_token && header && strncmp(header, BEARER, n) == 0 &&
		   strcmp(header + n, a->exec_token) == 0) {
		free(a->exec_token);
		a->exec_token = NULL;
	}
	pthread_mutex_unlock(&a->mu);
	return 1;
}

/*
 * auth: the bearer token to send with each request.
 *
 * A kube_auth turns a kube_config's credentials into the value of the
 * Authorization header:
 *   - token: used as is;
 *   - token_file: re-read whenever the file changes (stat per call, so a
 *     rotated projected service-account token is picked up at once);
 *   - exec: a client.authentication.k8s.io/v1 (or v1beta1) credential
 *     plugin. The command runs with the config's env added to ours and
 *     KUBERNETES_EXEC_INFO set to the ExecCredential request; its stdout
 *     must be an ExecCredential whose status.token is used. The token is
 *     cached until status.expirationTimestamp (or forever when absent) and
 *     the plugin is re-run after kube_auth_invalidate() (the caller got a
 *     401). A plugin that fails, times out (after 60 s) or prints something
 *     else is an error naming the command and what went wrong, including
 *     its stderr's first line and the install hint when the command is
 *     missing.
 *   - username/password: basic auth.
 * Client certificates are handled by the TLS layer (client.c), not here.
 *
 * Thread-safe: a kube_auth may be used by every thread of a client; the
 * plugin runs at most once at a time. Tokens are never logged.
 */
#ifndef KNIT_KUBE_AUTH_H
#define KNIT_KUBE_AUTH_H

#include <stddef.h>

#include "kube/kubeconfig.h"

struct kube_auth;

/*
 * Creates the token source for `cfg`, which must outlive it. Never fails;
 * problems surface from kube_auth_header().
 */
struct kube_auth *kube_auth_new(const struct kube_config *cfg);

/*
 * Stores in *header a new heap string holding the whole header line to
 * send, "Authorization: Bearer <token>" or "Authorization: Basic <b64>", or
 * NULL when the config has no credentials (the caller frees it). Returns 0,
 * ERR_IO (token file unreadable), or ERR_UNAUTHORIZED (exec plugin failed),
 * with the reason in errbuf.
 */
int kube_auth_header(struct kube_auth *a, char **header, char *errbuf,
		     size_t errlen);

/*
 * Tells the source that the server rejected `header` with 401. An exec
 * token equal to it is dropped, so the next kube_auth_header() re-runs the
 * plugin; a token file is re-read. Returns 1 when a retry can present a
 * different credential (exec or file), 0 otherwise (a static token).
 */
int kube_auth_invalidate(struct kube_auth *a, const char *header);

/* Frees the source. NULL is a no-op. */
void kube_auth_free(struct kube_auth *a);

#endif

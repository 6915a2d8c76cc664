/*
 * client_internal: the pure parts of the REST client (client.c and
 * status.c), exposed for unit tests and for other pkg/kube files. Not part of
 * the public API; nothing here does I/O or takes locks, so every function is
 * thread-safe.
 */
#ifndef KNIT_KUBE_CLIENT_INTERNAL_H
#define KNIT_KUBE_CLIENT_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "kube/client.h"
#include "util/buf.h"

/*
 * Fills `err` (when non-NULL; any earlier status is dropped) with `code`,
 * `http_status` and `message`, and returns `code`, so a failure is one line:
 * return kube_error_set(err, ERR_INVAL, 0, "resource name may not be empty");
 */
int kube_error_set(struct kube_error *err, int code, long http_status,
		   const char *message);

/*
 * The error code for an HTTP status and the Status reason ("" or NULL when
 * none), as documented in client.h. `method` decides 409 without a reason
 * as client-go does: POST means AlreadyExists, anything else Conflict.
 */
int kube_error_code(long http_status, const char *reason, const char *method);

/*
 * Maps a non-2xx answer to its code and, when `err` is non-NULL, fills it
 * (replacing any earlier status it held). A body of kind Status gives
 * reason, message and details.retryAfterSeconds (when the header gave no
 * `retry_after`, -1); any other body gets client-go's generic message for
 * the status, with the body's text (when `content_type` is text/...) quoted
 * in it for 5xx. Returns the code.
 */
int kube_error_from_response(long http_status, const char *method,
			     const char *content_type, const char *body,
			     size_t len, long retry_after,
			     struct kube_error *err);

/*
 * Appends "?key=value" to `q` (or "&key=value" once q holds a '?'), the
 * value percent-encoded so selectors and tokens survive ("a=b,c in (x)"
 * -> "a%3Db%2Cc%20in%20%28x%29"). NULL or "" values are skipped.
 */
void kube_query_add(struct buf *q, const char *key, const char *value);

/* The list path with its query (selectors, RV, limit, continue): heap. */
char *kube_list_path(const struct kube_resource *r, const char *ns,
		     const struct kube_list_options *opt);

/*
 * A write's path with fieldManager, force (only when `apply`) and dryRun
 * from `opt` (may be NULL): a new heap string.
 */
char *kube_write_path(const struct kube_resource *r, const char *ns,
		      const char *name, const char *subresource,
		      const struct kube_write_options *opt, bool apply);

/* The DeleteOptions body for `opt` (may be NULL): a new reference. */
json_t *kube_delete_options_json(const struct kube_delete_options *opt);

#endif

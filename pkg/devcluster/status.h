/*
 * status: the Kubernetes Status objects knit-devcluster answers errors with.
 *
 * Every failed request gets a metav1.Status body with the reason, code and
 * message the real kube-apiserver uses, so clients (kubectl, client-go,
 * pkg/kube) decode it as they would in a real cluster. Each constructor
 * returns a new jansson reference; `status_code()` reads the HTTP code back.
 */
#ifndef KNIT_DEVCLUSTER_STATUS_H
#define KNIT_DEVCLUSTER_STATUS_H

#include <jansson.h>

#include "devcluster/registry.h"

/*
 * Generic Status: `causes` (may be NULL) is stolen. `group`, `kind` and
 * `name` fill details when non-NULL.
 */
json_t *status_new(int code, const char *reason, const char *message,
		   const char *group, const char *kind, const char *name,
		   json_t *causes);
/* 200 Success Status for immediate deletions. */
json_t *status_success(const struct resource_type *t, const char *name,
		       const char *uid);

json_t *status_not_found(const struct resource_type *t, const char *name);
json_t *status_already_exists(const struct resource_type *t, const char *name);
json_t *status_conflict(const struct resource_type *t, const char *name);
/* 409 Conflict with a custom message after the standard prefix. */
json_t *status_conflict_msg(const struct resource_type *t, const char *name,
			    const char *why);
/* 422 Invalid: `causes` stolen; message built from them. */
json_t *status_invalid(const struct resource_type *t, const char *name,
		       json_t *causes);
/* 422 with a single cause. */
json_t *status_invalid1(const struct resource_type *t, const char *name,
			const char *reason, const char *field,
			const char *message);
json_t *status_bad_request(const char *message);
json_t *status_expired(const char *message);
json_t *status_method_not_allowed(void);
json_t *status_path_not_found(void);
json_t *status_unsupported_media(const char *accepted);
json_t *status_too_large(size_t limit);
json_t *status_unauthorized(void);
json_t *status_too_many(int retry_after);
json_t *status_internal(const char *message);
json_t *status_not_acceptable(void);

/* The "code" member of a Status. */
int status_code(const json_t *status);

#endif

/*
 * merge_patch: JSON merge patch (RFC 7386) on jansson values.
 *
 * This is what kube-apiserver does for Content-Type
 * application/merge-patch+json, and what kubectl edit/apply send: a patch
 * object is merged key by key into the target, a null member deletes the
 * key, and anything that is not an object (arrays included) replaces the
 * target value whole.
 *
 * Invariants: neither function modifies its inputs; both return a new
 * reference that shares no storage with the inputs, so the caller may
 * change it freely and must json_decref() it. Inputs are borrowed.
 *
 * Limitation inherent to RFC 7386: a merge patch cannot set a member to
 * null (null means "delete"), so merge_patch_diff() of a `to` that holds
 * null members yields a patch that deletes them instead.
 *
 * Thread-safety: both are reentrant. Inputs are only read (never increfed),
 * so concurrent calls on the same inputs are safe while nobody modifies them.
 */
#ifndef KNIT_JSON_MERGE_PATCH_H
#define KNIT_JSON_MERGE_PATCH_H

#include <jansson.h>

/*
 * Returns a new reference: `target` (may be NULL, treated as absent) with
 * `patch` applied per RFC 7386 section 2. `patch` must not be NULL. Neither
 * input is modified. Never returns NULL (allocation failure aborts).
 */
json_t *merge_patch_apply(const json_t *target, const json_t *patch);

/*
 * Returns a new reference: a merge patch that turns `from` into `to`, i.e.
 * merge_patch_apply(from, result) equals `to` (see the null limitation
 * above). Objects are compared recursively; members equal in both are
 * left out, members only in `from` become null, and any other difference
 * (arrays, scalars, type changes) carries the whole `to` value. When both
 * are equal objects the result is {}. When either is not an object the
 * result is a copy of `to`. `from` may be NULL (treated as absent); `to`
 * must not be NULL.
 */
json_t *merge_patch_diff(const json_t *from, const json_t *to);

#endif

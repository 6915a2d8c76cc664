/*
 * json_patch: JSON patch (RFC 6902) and JSON pointer (RFC 6901) on jansson
 * values.
 *
 * This is what kube-apiserver does for Content-Type
 * application/json-patch+json (kubectl patch --type=json). The real server
 * uses the Go library evanphx/json-patch; error messages here follow its
 * wording, e.g. "testing value /spec/x failed: test failed", so that kubectl
 * shows the same text.
 *
 * Semantics: operations apply in order to a private copy of the document;
 * the first failure discards the copy (all or nothing). All six operations
 * are supported; "-" as the last token of an add/move/copy destination
 * appends to an array; ~0 and ~1 escapes are decoded; "" addresses the
 * whole document. Array indices follow RFC 6901 strictly ("0" or a number
 * without leading zeros). Values compare per RFC 6902 section 4.6, so 1 and
 * 1.0 are equal and object member order is ignored.
 *
 * Where this differs from the Go library (which kube-apiserver vendors as
 * v4): the library lets "replace" of a missing object member act as "add",
 * treats a missing "value" as null, and accepts negative array indices;
 * this module follows the RFC and rejects all three.
 *
 * Ownership: inputs are borrowed and never modified. Thread-safety: all
 * functions are reentrant; concurrent calls on the same inputs are safe
 * while nobody modifies them.
 */
#ifndef KNIT_JSON_JSON_PATCH_H
#define KNIT_JSON_JSON_PATCH_H

#include <stddef.h>

#include <jansson.h>

/*
 * Applies the RFC 6902 patch `ops` (an array of operation objects) to `doc`.
 *
 * On success returns 0 and sets *out to a new reference to the patched
 * document; `doc` is not modified. On failure *out is set to NULL, a
 * message is written into `errbuf` (when non-NULL and errlen > 0), and the
 * result is:
 *   ERR_BADREQUEST  the patch itself is malformed: `ops` is not an array, an
 *                   element is not an object, "op" is missing or unknown, a
 *                   required "path"/"from"/"value" is missing or "path" and
 *                   "from" are not strings, or a pointer has bad syntax.
 *                   The whole patch is checked before anything is applied,
 *                   so this never depends on `doc`.
 *   ERR_INVAL       an operation cannot be applied to this document: a
 *                   location is missing, a "test" failed, an array index is
 *                   out of range or not a number.
 * `doc` may be any JSON value but not NULL.
 */
int json_patch_apply(const json_t *doc, const json_t *ops, json_t **out,
		     char *errbuf, size_t errlen);

/*
 * Resolves the RFC 6901 pointer `pointer` (e.g. "/spec/containers/0/name",
 * "" for the whole document) in `doc`. Returns a borrowed reference to the
 * value, valid while `doc` holds it, or NULL when the pointer is NULL, has
 * bad syntax, or names nothing (including "-" in an array).
 */
json_t *json_pointer_get(json_t *doc, const char *pointer);

/*
 * Equality of two JSON values per RFC 6902 section 4.6: numbers compare by
 * value (integer 1 equals real 1.0), strings by bytes, objects by members
 * regardless of order, arrays element by element. Returns 1 when equal, 0
 * otherwise (also when either is NULL).
 */
int json_value_equal(const json_t *a, const json_t *b);

#endif

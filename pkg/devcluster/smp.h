/*
 * smp: strategic merge patch (application/strategic-merge-patch+json) for
 * the built-in kinds knit-devcluster serves.
 *
 * kubectl (default `kubectl patch`, client-side apply) and both client-go
 * event recorders send this patch type for built-in objects. The semantics
 * follow k8s.io/apimachinery/pkg/util/strategicpatch as used by
 * kube-apiserver (MergeParallelList and IgnoreUnmatchedNulls on):
 *
 *   - objects merge recursively; a null member deletes the key;
 *   - a list whose Go field carries patchStrategy "merge" and a
 *     patchMergeKey merges element by element on that key (a patch element
 *     merges into the live element with the same key, new ones are added);
 *     a "merge" list of primitives is a set union; every other list, and
 *     every list of a kind we do not know, is replaced whole;
 *   - element order follows apimachinery exactly: patch items keep the
 *     patch order, live-only items keep theirs, and the two are interleaved
 *     by their live positions (a brand new element therefore lands before
 *     the live-only elements it is compared with, as on a real cluster);
 *   - directives: "$patch": "replace" | "delete" in an object; in a merge
 *     list element "$patch": "delete" (by merge key) or "replace" (whole
 *     list); "$patch": "merge" is rejected exactly as apimachinery rejects
 *     it; "$deleteFromPrimitiveList/<field>"; "$setElementOrder/<field>"
 *     (honoured, with the same validation); "$retainKeys" (honoured: live
 *     keys not listed are cleared, and a patch key missing from the list is
 *     an error).
 *
 * Deviation kept on purpose: values copied from the patch (new keys,
 * replaced lists, appended elements) lose null members and any "$"-keys,
 * list elements that are directive objects are dropped, and whole reals
 * (80.0) become integers. The real server gets the same effect by decoding
 * into Go structs afterwards. Unknown "$"-keys in a patch are ignored.
 *
 * The merge keys come from one data table in smp.c transcribed from the Go
 * struct tags of k8s.io/api core/v1, apps/v1 and batch/v1.
 *
 * Ownership: inputs are borrowed and never modified or increfed; the result
 * is a new reference sharing no storage with the inputs.
 * Thread-safety: smp_apply() is reentrant; the table is constant.
 */
#ifndef KNIT_DEVCLUSTER_SMP_H
#define KNIT_DEVCLUSTER_SMP_H

#include <stddef.h>

#include <jansson.h>

/*
 * Applies a strategic merge patch to `target` for an object of `kind`
 * (e.g. "Deployment"; NULL or an unknown kind means plain merge semantics
 * with every list replaced, directives still honoured on objects).
 *
 * On success returns 0 and stores a new reference in *out. A JSON null
 * patch changes nothing. On failure *out is NULL and the return is:
 *   ERR_BADREQUEST  the patch is not an object, a directive is malformed,
 *                   a merge key is missing, list element types differ, ...
 *                   `errbuf` gets apimachinery's message (for example
 *                   "unknown patch type: merge in map: map[$patch:merge]").
 *   ERR_INVAL       target is not an object or an argument is NULL.
 * `errbuf` may be NULL. Neither input is modified.
 */
int smp_apply(const json_t *target, const json_t *patch, const char *kind,
	      json_t **out, char *errbuf, size_t errlen);

#endif

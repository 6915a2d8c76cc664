/*
 * ssa: server-side apply and metadata.managedFields bookkeeping for
 * knit-devcluster, modelled on sigs.k8s.io/structured-merge-diff and
 * k8s.io/apiserver's fieldmanager.
 *
 * Field sets are kept as FieldsV1 JSON exactly as Kubernetes serialises them:
 * "f:<name>" for a struct/map field, "k:{json}" for an item of a list of maps
 * with keys, "v:<json>" for an item of a set of scalars, and "." marking that
 * a node with children is itself owned. Atomic lists and atomic maps are
 * leaves.
 *
 * List and map types come from `schema` (a CRD openAPIV3Schema node; may be
 * NULL for built-in kinds): x-kubernetes-list-type "map" with
 * x-kubernetes-list-map-keys, "set", anything else atomic; objects are
 * granular unless x-kubernetes-map-type is "atomic". Without a schema, and
 * always under metadata, a small built-in table applies: containers,
 * initContainers, ephemeralContainers, env and volumes by name, ports by
 * containerPort, volumeMounts by mountPath, conditions by type,
 * ownerReferences by uid, finalizers as a set. A list whose items do not fit
 * its declared type (missing or duplicate keys) is treated as atomic.
 *
 * Like the apiserver, ownership of apiVersion, kind and the server-owned
 * metadata fields (name, namespace, uid, resourceVersion, generation,
 * creationTimestamp, managedFields, ...) is never recorded.
 *
 * Ownership: inputs are borrowed and never modified unless stated; results
 * are new references owned by the caller. All functions are pure over their
 * arguments and thread-safe.
 */
#ifndef KNIT_DEVCLUSTER_SSA_H
#define KNIT_DEVCLUSTER_SSA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * Applies `applied` (the caller's full intent: a JSON object with apiVersion,
 * kind and metadata.name) for `manager` onto `live` (NULL when the object
 * does not exist yet; the result is then `applied` plus managedFields).
 *
 * Fields in `applied` are set (maps merge, lists of maps merge by key, sets
 * union, atomic values are replaced). Fields this manager's previous Apply
 * entry owned but `applied` no longer mentions are removed from the object
 * unless another manager still owns them. A field whose value the apply
 * changes and which another manager (Apply or Update) owns is a conflict;
 * with `force` the ownership moves to this manager instead. Live
 * metadata.resourceVersion, uid, creationTimestamp and generation are kept.
 *
 * The result's metadata.managedFields gets or updates the entry
 * {"manager","operation":"Apply","apiVersion":api_version,"time":now,
 *  "fieldsType":"FieldsV1","fieldsV1":...,"subresource"} (subresource only
 * when non-NULL and non-empty); the time is left alone when the apply
 * changed neither the object nor this manager's field set.
 *
 * Returns 0 and sets *out to a new reference. On conflict returns
 * ERR_CONFLICT, sets *out to NULL, writes the apiserver's message into
 * errbuf (e.g. `Apply failed with 1 conflict: conflict with "kubectl" using
 * apps/v1: .spec.replicas`) and, when `causes` is non-NULL, sets *causes to a
 * new array of {"reason":"FieldManagerConflict","message","field"}. Returns
 * ERR_INVAL for a non-object `applied` or an empty manager.
 */
int ssa_apply(const json_t *live, const json_t *applied, const char *manager,
	      bool force, const json_t *schema, const char *api_version,
	      const char *subresource, const char *now, json_t **out,
	      json_t **causes, char *errbuf, size_t errlen);

/*
 * Records a non-apply write (create, update, patch) by `manager`. `old_obj`
 * is the object before the write (NULL on create), `new_obj` the object
 * about to be stored; its metadata.managedFields is rewritten in place.
 *
 * The managed fields start from new_obj's own list when it is a non-empty
 * array (a client may edit them directly), else from old_obj's. An explicit
 * empty array resets them: the key is removed and nothing is recorded.
 * Every field added or changed (leaf level, plus "." for new maps and list
 * items) goes to the Update entry of (manager, api_version, subresource),
 * created if needed with time `now`, and is taken away from every other
 * entry; removed fields leave every entry. Entries left empty are dropped.
 */
void ssa_track_update(json_t *new_obj, const json_t *old_obj,
		      const char *manager, const json_t *schema,
		      const char *api_version, const char *subresource,
		      const char *now);

/*
 * The manager name the apiserver derives from a User-Agent when the request
 * has no fieldManager: the part before the first '/', without non-printable
 * characters, at most 128 bytes ("kubectl/v1.32.0 (linux/amd64)" ->
 * "kubectl"). NULL gives "". Returns a new heap string; free() it.
 */
char *ssa_manager_from_user_agent(const char *user_agent);

#endif

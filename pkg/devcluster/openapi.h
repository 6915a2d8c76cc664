/*
 * openapi: the OpenAPI v3 documents knit-devcluster serves under /openapi/v3.
 *
 * kubectl create/apply/edit validate by default. They read the root document
 * /openapi/v3 (a map from "api/v1" or "apis/<group>/<version>" to a
 * serverRelativeURL carrying ?hash=...), then fetch the group-version
 * document and look for a "patch" operation whose single-object
 * x-kubernetes-group-version-kind equals the object's GVK and whose
 * parameters include "fieldValidation"; if found they send
 * fieldValidation=Strict and skip client-side validation. Client-side apply
 * reads the same operation's requestBody content types: without
 * application/strategic-merge-patch+json (custom resources) it sends a JSON
 * merge patch. kubectl explain and kubectl's strategic-merge lookup find a
 * kind's schema in components.schemas through its
 * x-kubernetes-group-version-kind array.
 *
 * This module only builds those documents from a description of the
 * resources of one group-version; serving and caching them is the caller's
 * job. Invariants: component schema names follow the real server
 * ("io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment", custom
 * resources "dev.knit.v1alpha1.Rollout"), and every operation carries
 * operationId, x-kubernetes-action and x-kubernetes-group-version-kind.
 *
 * All functions are pure (no shared state) and thread-safe.
 */
#ifndef KNIT_DEVCLUSTER_OPENAPI_H
#define KNIT_DEVCLUSTER_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* One resource (one kind) of a group-version. All strings are borrowed. */
struct openapi_resource {
	const char *group;     /* "" for core */
	const char *version;   /* "v1" */
	const char *resource;  /* plural, "rollouts" */
	const char *kind;      /* "Rollout" */
	const char *list_kind; /* "RolloutList" */
	bool namespaced;
	bool has_status; /* status subresource */
	bool has_scale;	 /* scale subresource */
	bool is_custom;	 /* custom resource: no strategic merge patch */
	/*
	 * CRD openAPIV3Schema (borrowed, copied into the document), or NULL:
	 * then a schema with apiVersion, kind, metadata (ObjectMeta) and
	 * x-kubernetes-preserve-unknown-fields: true is used.
	 */
	const json_t *schema;
};

/*
 * Builds the OpenAPI 3.0 document for one group-version from `n` resources
 * (all of the same group and version; the first one names the
 * group-version). Returns a new reference, or NULL when n is 0 or a resource
 * lacks group/version/resource/kind/list_kind. The document holds:
 * - openapi "3.0.0", info {title "Kubernetes", version "v1.32.2"};
 * - per resource the collection path, the all-namespaces list path when
 *   namespaced, the item path, and /status and /scale when flagged, with
 *   get (read/list), post, put, patch, delete and deletecollection;
 * - components.schemas: each kind, its list, the autoscaling/v1 Scale when
 *   any resource has a scale subresource, and the meta/v1 ObjectMeta,
 *   ListMeta, Status, DeleteOptions, Patch and their helpers.
 * `resources` and the schemas it points to are not modified or retained.
 */
json_t *openapi_group_version_doc(const struct openapi_resource *resources,
				  size_t n);

/*
 * Key of a group-version in the root /openapi/v3 document: "api/v1" when
 * `group` is NULL or "", else "apis/<group>/<version>". New heap string.
 */
char *openapi_gv_path(const char *group, const char *version);

/*
 * Uppercase hex SHA-512 of the compact, key-sorted JSON text of `doc`, for
 * the serverRelativeURL "?hash=..." of the root document. Equal documents
 * give equal hashes whatever their key insertion order. New heap string
 * (128 characters), or NULL when doc is NULL or cannot be serialised.
 */
char *openapi_doc_hash(const json_t *doc);

#endif

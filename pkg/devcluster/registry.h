/*
 * registry: the resource types knit-devcluster serves, built-in and
 * registered by CustomResourceDefinitions.
 *
 * A resource type is one (group, version, resource) the API exposes, with
 * its kind, scope, subresources and, for custom resources, the CRD version's
 * schema and printer columns. Several types may share one storage
 * collection: the versions of a CRD, and the two views of Events (core/v1
 * and events.k8s.io/v1).
 *
 * The registry owns its types; pointers to a type stay valid until the next
 * registry_sync_crd() or registry_remove_crd() for that CRD, so request
 * handlers must not keep them across event-loop turns. Not thread-safe.
 */
#ifndef KNIT_DEVCLUSTER_REGISTRY_H
#define KNIT_DEVCLUSTER_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>

#include "devcluster/store.h"

enum resource_view {
	VIEW_PLAIN,	/* stored as served */
	VIEW_EVENTS_V1, /* events.k8s.io/v1 over core/v1 Event storage */
};

struct resource_type {
	char *group; /* "" for core */
	char *version;
	char *resource; /* plural */
	char *singular;
	char *kind;
	char *list_kind;
	bool namespaced;
	bool has_status;
	bool has_scale;
	bool is_custom;
	bool storage_version;	   /* the CRD version objects are stored in */
	char *scale_spec_path;	   /* ".spec.replicas" */
	char *scale_status_path;   /* ".status.replicas" */
	char *scale_selector_path; /* ".status.selector" or NULL */
	json_t *schema;		   /* openAPIV3Schema (CRDs) or NULL */
	json_t *printer_columns;   /* additionalPrinterColumns or NULL */
	json_t *short_names;	   /* array of strings */
	json_t *categories;	   /* array of strings */
	json_t *selectable_fields; /* array of JSON paths, CRDs only */
	char *crd_name;		   /* owning CRD, NULL for built-ins */
	enum resource_view view;
	struct collection *coll;
};

struct registry {
	struct resource_type **types;
	size_t n;
	unsigned long generation; /* bumped on every change */
};

void registry_init(struct registry *r);
void registry_release(struct registry *r);

/* Adds the built-in resources, creating their collections in `s`. */
void registry_add_builtins(struct registry *r, struct store *s);

/* The type serving (group, version, resource), or NULL. Borrowed. */
struct resource_type *registry_find(const struct registry *r, const char *group,
				    const char *version, const char *resource);
/* The type of (group, version, kind), or NULL. Borrowed. */
struct resource_type *registry_find_kind(const struct registry *r,
					 const char *group, const char *version,
					 const char *kind);
/* Any served type of (group, kind) - used for owner references. */
struct resource_type *registry_find_group_kind(const struct registry *r,
					       const char *group,
					       const char *kind);

/*
 * Makes the registry serve what the CRD object `crd` declares (its served
 * versions), replacing the types it served before. Call with an established
 * CRD. Returns 0 or ERR_INVAL when the CRD is unusable.
 */
int registry_sync_crd(struct registry *r, struct store *s, const json_t *crd);
/* Stops serving the CRD named `crd_name` (its storage stays in the store). */
void registry_remove_crd(struct registry *r, const char *crd_name);

/* "rollouts.knit.dev" or "pods": the resource name used in messages. */
void resource_type_qualified(const struct resource_type *t, char *out,
			     size_t outlen);
/* "Rollout.knit.dev" or "Pod": the kind name used in 422 messages. */
void resource_type_qualified_kind(const struct resource_type *t, char *out,
				  size_t outlen);
/* "knit.dev/v1alpha1" or "v1". */
void resource_type_api_version(const struct resource_type *t, char *out,
			       size_t outlen);

#endif

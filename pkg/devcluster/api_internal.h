/*
 * api_internal: what the request handlers (api.c, api_write.c), discovery,
 * and the background work (gc.c) share. Not a public interface.
 */
#ifndef KNIT_DEVCLUSTER_API_INTERNAL_H
#define KNIT_DEVCLUSTER_API_INTERNAL_H

#include "devcluster/api.h"

/* A parsed resource URL. */
struct route {
	const char *group;
	const char *version;
	const char *ns; /* NULL when the URL names no namespace */
	const char *resource;
	const char *name;	 /* NULL for collections */
	const char *subresource; /* NULL, "status", "scale", ... */
	struct resource_type *type;
};

/* Current time as RFC3339 seconds ("2026-11-27T13:00:00Z"). */
void api_now(char *out, size_t len);
/* Current time as MicroTime ("2026-11-27T13:00:00.000000Z"). */
void api_now_micro(char *out, size_t len);

/* Value at a dotted path (".spec.replicas") in obj: borrowed, or NULL. */
json_t *api_path_get(json_t *obj, const char *path);

bool api_wants_table(const struct api_request *req);
/* Renders a stored object for `t` (apiVersion, view); new reference. */
json_t *api_render(const struct resource_type *t, const struct object *o);

void api_handle_write(struct devcluster *dc, const struct api_request *req,
		      struct route *rt, struct api_response *resp);
void api_handle_discovery(struct devcluster *dc, const struct api_request *req,
			  const char **segs, size_t n,
			  struct api_response *resp);

/*
 * Writes `obj` (storage form, a changed copy of the stored `old`) back,
 * deleting it when it is being deleted and has no finalizers left. Used by
 * the garbage collector and controllers inside the devcluster.
 */
void api_internal_update(struct devcluster *dc, struct collection *c,
			 json_t *obj);
/*
 * Deletes the object with `propagation` ("Background", "Foreground",
 * "Orphan") as a DELETE request would. Returns 0 or ERR_NOTFOUND.
 */
int api_internal_delete(struct devcluster *dc, struct collection *c,
			const char *ns, const char *name,
			const char *propagation);

/*
 * Deletes or marks for deletion the stored object `o` of type `t` as a
 * DELETE request would. `grace` is the request's gracePeriodSeconds (-1
 * when absent); a scheduled, unfinished pod with a grace period is only
 * marked (deletionTimestamp at the end of the period) for the kubelet to
 * finish. Returns the object's last state (new reference);
 * *code is 200 when it is gone, 202 when finalizers still hold it.
 */
json_t *api_delete_object(struct devcluster *dc, struct collection *c,
			  const struct resource_type *t, struct object *o,
			  const char *propagation, long grace, bool dry_run,
			  int *code);
/* Any resource type stored in collection c, or NULL. */
struct resource_type *api_type_of(struct devcluster *dc, struct collection *c);

/* Snapshot file I/O (snapshot.c). Return 0 or an ERR_ code. */
int snapshot_save(struct devcluster *dc, const char *path, char *errbuf,
		  size_t errlen);
int snapshot_load(struct devcluster *dc, const char *path, char *errbuf,
		  size_t errlen);

/* CRD lifecycle hooks (crd.c). */
json_t *crd_validate(struct devcluster *dc, const json_t *crd,
		     const json_t *old);
void crd_prepare(json_t *crd, bool create);
void crd_established(struct devcluster *dc, const json_t *crd);

/* Built-in types' defaults and validation (builtin.c). Causes appended. */
void builtin_default(struct devcluster *dc, const struct resource_type *t,
		     json_t *obj, const json_t *old);
void builtin_validate(const struct resource_type *t, const json_t *obj,
		      const json_t *old, json_t *causes);
/* Validates metadata common to every object; appends causes. */
void meta_validate(const struct resource_type *t, const json_t *obj,
		   json_t *causes);
/* Whether kind tracks metadata.generation. */
bool builtin_tracks_generation(const struct resource_type *t);

/* Creates the namespaces "default", "kube-system", "kube-public". */
void api_create_default_namespaces(struct devcluster *dc);

#endif

/*
 * sim_internal: the indexes and helpers the simulation's parts share
 * (sim.c, sim_kubelet.c, sim_rs.c, sim_job.c, sim_endpoints.c,
 * sim_traffic.c). Not a public interface.
 *
 * Ownership: every record is owned by its namespace's map (`struct
 * sim_ns`); every other map holds borrowed pointers and is cleaned when the
 * record goes. Records are rebuilt from the stored JSON on every change, so
 * they never hold state the store does not.
 */
#ifndef KNIT_DEVCLUSTER_SIM_INTERNAL_H
#define KNIT_DEVCLUSTER_SIM_INTERNAL_H

#include <jansson.h>

#include "devcluster/api.h"
#include "devcluster/sim.h"
#include "kube/selector.h"
#include "util/hashmap.h"

enum pod_phase {
	PHASE_PENDING,
	PHASE_RUNNING,
	PHASE_SUCCEEDED,
	PHASE_FAILED
};

/* What the first container is doing, as the kubelet last wrote it. */
enum container_state {
	CONTAINER_NONE,	   /* not started yet */
	CONTAINER_RUNNING, /* started at `started` */
	CONTAINER_BACKOFF, /* exited at `finished`, waiting to restart */
	CONTAINER_DONE	   /* exited for good */
};

/* Per-pod behaviour from devcluster.knit.dev/ annotations. */
struct pod_behaviour {
	double ready_delay; /* seconds from container start to Ready */
	bool never_ready;
	bool crash_loop;    /* the container exits with 1 after run_seconds */
	double run_seconds; /* how long Job containers run */
	int exit_code;	    /* how Job containers exit */
	double error_rate;  /* fraction of requests answered with error_code */
	int error_code;
	double latency_ms; /* median request latency */
};

struct sim_pod {
	char *key; /* "ns/name" */
	char *ns;
	char *name;
	char *uid;
	char *created; /* creationTimestamp */
	json_t *labels;
	char *owner_uid; /* controller ownerReference, or NULL */
	char *hash;	 /* pod template hash label, "" when none */
	char *node;	 /* spec.nodeName, or NULL */
	char *ip;	 /* status.podIP, or NULL */
	enum pod_phase phase;
	enum container_state cstate;
	bool ready;
	bool deleting;
	char restart_policy; /* 'A'lways, 'O'nFailure, 'N'ever */
	int restarts;
	double started;	    /* current container start, wall seconds */
	double finished;    /* last container exit, wall seconds */
	double ready_since; /* when Ready turned true */
	double due;	    /* next kubelet step, 0 for none */
	double finish_at;   /* when the kubelet ends a graceful deletion */
	struct pod_behaviour b;
	struct sim_service **svcs; /* the Services selecting it */
	size_t n_svcs;
};

struct sim_rs {
	char *key;
	char *ns;
	char *name;
	char *uid;
	struct label_selector *sel;
	struct hashmap pods; /* key -> struct sim_pod *: controlled pods */
};

struct sim_job {
	char *key;
	char *ns;
	char *name;
	char *uid;
	struct hashmap pods; /* key -> struct sim_pod *: controlled pods */
};

/* One (Service, pod) traffic series pair, by response code. */
struct series {
	char *labels; /* namespace="..",service="..",pod="..",... */
	size_t labels_len;
	char *hash;	   /* the pod_template_hash it was created with */
	uint64_t count[2]; /* [0] 200, [1] the pod's error code */
	uint64_t bucket[2][16];
	double sum[2];
	int error_code;
	double error_carry; /* error diffusion accumulator */
	bool has_errors;    /* the pod has an error rate: expose both codes */
};

struct sim_service {
	char *key;
	char *ns;
	char *name;
	char *uid;
	struct label_selector *sel; /* NULL: endpoints are not managed */
	json_t *svc;		    /* the stored Service, own reference */
	char *slice;		    /* name of its EndpointSlice, or NULL */
	struct hashmap pods;	    /* key -> struct sim_pod *: selected */
	struct hashmap series;	    /* pod key -> struct series * */
	double rate;		    /* requests per second */
	double carry;		    /* fraction of a request owed */
	size_t rr;		    /* round-robin position */
};

/* A managed EndpointSlice as the index knows it. */
struct slice_ref {
	char *service; /* its kubernetes.io/service-name label */
	char *owner;   /* uid of its controlling owner, "" when none */
};

struct sim_ns {
	struct hashmap pods;	 /* key -> struct sim_pod * (owned) */
	struct hashmap rs;	 /* key -> struct sim_rs * (owned) */
	struct hashmap jobs;	 /* key -> struct sim_job * (owned) */
	struct hashmap services; /* key -> struct sim_service * (owned) */
	struct hashmap slices;	 /* slice name -> struct slice_ref * (owned):
				    every EndpointSlice the controller manages */
};

void slice_ref_free(struct slice_ref *r);

/* An owner of pods, found by uid. */
struct sim_owner {
	char kind; /* 'R'eplicaSet or 'J'ob */
	void *rec;
};

struct sim {
	struct devcluster *dc;
	struct sim_options opt;
	bool started;
	struct hashmap namespaces; /* name -> struct sim_ns * */
	struct hashmap owners;	   /* uid -> struct sim_owner * */
	struct hashmap dirty_rs;   /* rs key -> due time (double *) */
	struct hashmap dirty_jobs; /* job key -> due time (double *) */
	struct hashmap dirty_svc;  /* service key -> (void *)1 */
	struct hashmap orphans;	   /* pod key -> (void *)1: finalizer to drop */
	struct hashmap
		gone_services;	     /* key -> (void *)1: Endpoints to delete */
	struct hashmap stale_slices; /* key -> (void *)1: slices to delete */
	bool replaying;		     /* sim_start() indexes stored objects */
	double deadline;	     /* monotonic end of this tick's budget */
	bool deferred;		     /* work was cut short: tick again soon */
	struct hashmap timed;	     /* pod key -> struct sim_pod * with due */
	struct hashmap ips;	     /* pod IP -> (void *)1 */
	uint32_t next_ip;
	uint64_t rng;
	double last_traffic;
	double now; /* time of the tick in progress */
	size_t n_pods;
	size_t n_ready;
	uint64_t events; /* Events recorded, to keep their names unique */
};

/* ---- sim.c ---- */

/* Frees a record (not the maps that borrow it). */
void sim_pod_free(struct sim_pod *p);
void sim_rs_free(struct sim_rs *r);
void sim_job_free(struct sim_job *j);
void sim_service_free(struct sim_service *v);

struct sim_ns *sim_ns_get(struct sim *s, const char *ns, bool create);
/* Uniform random number in [0, 1). */
double sim_random(struct sim *s);
/* Marks a ReplicaSet, Job or Service for reconciliation at `when`. */
void sim_mark_rs(struct sim *s, const char *key, double when);
void sim_mark_job(struct sim *s, const char *key, double when);
void sim_mark_service(struct sim *s, const char *key);
/* Schedules (due > 0) or clears the pod's kubelet timer. */
void sim_pod_set_due(struct sim *s, struct sim_pod *p, double due);

/*
 * Sends one API request as an in-cluster component would. `agent` is the
 * User-Agent naming the field manager ("kube-controller-manager", ...).
 * `body` is borrowed. Returns the HTTP status code; *out, when non-NULL,
 * gets the parsed response body (new reference, or NULL).
 */
int sim_call(struct sim *s, enum http_method m, const char *path,
	     const json_t *body, const char *agent, json_t **out);
/* The stored object's JSON, parsed (new reference), or NULL. */
json_t *sim_get(struct sim *s, const char *group, const char *resource,
		const char *ns, const char *name);

/*
 * Records a core/v1 Event about `obj` (a stored object, borrowed) from
 * `component`, as client-go's event recorder does.
 */
void sim_event(struct sim *s, const json_t *obj, const char *type,
	       const char *reason, const char *message, const char *component);

/*
 * Deletes a pod as the controller `component` would and records the
 * SuccessfulDelete Event on `owner` (borrowed). True when it was deleted.
 */
bool sim_delete_pod(struct sim *s, const json_t *owner, const char *ns,
		    const char *name, const char *component);

/* Whether this tick's time budget is spent (long loops check it). */
bool sim_over_budget(const struct sim *s);
/* Marks a ReplicaSet whose pass stopped early for the very next tick. */
void sim_defer_rs(struct sim *s, const char *key);

/*
 * Splits a "namespace/name" key: returns the namespace (heap string) and,
 * when name is not NULL, points *name into key.
 */
char *sim_key_split(const char *key, const char **name);

/* Time as RFC3339 seconds, and back. */
void sim_format_time(double t, char *out, size_t len);
double sim_parse_time(const char *text);

/* Agents (User-Agent prefixes, hence field managers). */
#define AGENT_CONTROLLERS "kube-controller-manager/v1.32.0"
#define AGENT_SCHEDULER	  "kube-scheduler/v1.32.0"
#define AGENT_KUBELET	  "kubelet/v1.32.0"

/* ---- sim_kubelet.c ---- */

/* Reads the pod fields the simulation uses from its stored JSON. */
void kubelet_pod_load(struct sim *s, struct sim_pod *p, const json_t *pod);
/* Computes the pod's next step time from its state. */
void kubelet_pod_plan(struct sim *s, struct sim_pod *p);
/* Performs the pod's due step (schedule, start, ready, exit, restart). */
void kubelet_pod_step(struct sim *s, struct sim_pod *p);
/* Creates the Node when it is missing. */
void kubelet_ensure_node(struct sim *s);
/* Frees the pod's IP. */
void kubelet_pod_forget(struct sim *s, struct sim_pod *p);

/* ---- sim_rs.c ---- */

void rs_reconcile(struct sim *s, const char *key);
/*
 * Builds a Pod for `tmpl` (a pod template, borrowed) owned by the
 * controller described; new reference.
 */
json_t *pod_from_template(const json_t *tmpl, const char *ns,
			  const char *owner_api, const char *owner_kind,
			  const char *owner_name, const char *owner_uid);
/* Whether the pod counts as active (not finished, not being deleted). */
bool pod_is_active(const struct sim_pod *p);

/* ---- sim_job.c ---- */

void job_reconcile(struct sim *s, const char *key);
/* Removes the Job tracking finalizer from a pod, keeping the others. */
void job_release_pod(struct sim *s, const char *ns, const char *name);

/* ---- sim_endpoints.c ---- */

#define SLICE_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define SLICE_MANAGER	 "endpointslice-controller.k8s.io"

void endpoints_reconcile(struct sim *s, const char *key);
/* Deletes the Endpoints of a Service that is gone. */
void endpoints_forget(struct sim *s, const char *ns, const char *name);

/* ---- sim_traffic.c ---- */

/* Generates the requests of `dt` seconds for every Service. */
void traffic_run(struct sim *s, double dt);
/* Drops the series of (service, pod). */
void traffic_forget(struct sim_service *svc, const char *pod_key);
void series_free(struct series *se);

#endif

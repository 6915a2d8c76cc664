/*
 * sim: the simulated cluster behind knit-devcluster's API - what the
 * controller manager, the scheduler, kubelets, kube-proxy and the
 * applications themselves would do in a real cluster.
 *
 * - A ReplicaSet controller creates, adopts, releases and deletes Pods to
 *   match spec.replicas and keeps the ReplicaSet's status true.
 * - A Job controller runs a Job's pods to completion or failure.
 * - A scheduler binds every pod to the single Node, and a kubelet moves it
 *   through Pending, Running and Ready (or crash-loops it, or never makes it
 *   ready, or ends it) as annotations under devcluster.knit.dev/ ask.
 * - An endpoints controller keeps Endpoints and EndpointSlices of every
 *   Service with a selector listing the pods it selects.
 * - A traffic generator sends each Service's request rate evenly over its
 *   ready endpoints, as kube-proxy would, and counts the outcome per pod in
 *   Prometheus series rendered by sim_metrics().
 *
 * Like the real components, every part is level-triggered: it learns about
 * objects only from store changes (sim_on_change), keeps indexes derived
 * from them, and writes through the ordinary API (api_handle) as its real
 * counterpart would, with that component's field manager. Nothing the
 * simulation needs lives only in memory: after a restart from a snapshot,
 * sim_start() rebuilds the indexes from the stored objects and everything
 * resumes. Traffic counters are the one exception, as an application's
 * counters restart with its process.
 *
 * Cost: work happens only for objects that changed or have a timer due, so
 * a steady cluster costs the traffic generator alone. Not thread-safe: it
 * runs on the event-loop thread.
 */
#ifndef KNIT_DEVCLUSTER_SIM_H
#define KNIT_DEVCLUSTER_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "devcluster/store.h"
#include "util/buf.h"

struct devcluster;

/* Annotation prefix of per-pod and per-Service behaviour. */
#define SIM_ANNOTATION "devcluster.knit.dev/"
/*
 * The pod label whose value becomes the pod_template_hash label of traffic
 * series. Knit's controller sets it on the ReplicaSets and pods of each
 * revision; pods without it fall back to the Deployment controller's
 * "pod-template-hash".
 */
#define SIM_HASH_LABEL		"knit.dev/pod-template-hash"
#define SIM_HASH_LABEL_FALLBACK "pod-template-hash"
/* The one simulated Node every pod is scheduled to. */
#define SIM_NODE_NAME "knit-devcluster"

struct sim_options {
	bool disabled;	     /* no controllers, no kubelet, no traffic */
	double ready_delay;  /* seconds from container start to Ready */
	double request_rate; /* default requests per second per Service */
	double latency_ms;   /* default median request latency */
	double backoff_base; /* first crash-loop and Job backoff, seconds */
	double backoff_max;  /* longest crash-loop backoff, seconds */
	uint64_t seed;	     /* random seed; 0 picks one */
};

struct sim;

/* Fills o with the defaults documented in docs/devcluster.md. */
void sim_options_default(struct sim_options *o);

/* A new simulation for dc, idle until sim_start(). */
struct sim *sim_new(struct devcluster *dc, const struct sim_options *o);
void sim_free(struct sim *s);

/*
 * Indexes every stored object the simulation cares about and creates the
 * Node. Call once after the initial state (snapshot, namespaces) is loaded.
 */
void sim_start(struct sim *s);

/* Store hook: every change, in order. Never writes. */
void sim_on_change(struct sim *s, const struct change *c);

/*
 * Does the due work: reconciles changed ReplicaSets, Jobs and Services,
 * steps pods whose timers are due, and generates traffic for the time since
 * the last call. `now` is wall-clock seconds (with fractions), 0 for the
 * clock. Stops after about SIM_TICK_BUDGET seconds, leaving the rest marked,
 * so requests are not held up behind a large reconciliation; returns true
 * when work was left for the next call.
 */
#define SIM_TICK_BUDGET 0.03
bool sim_tick(struct sim *s, double now);

/*
 * Appends the application series (http_requests_total and the
 * http_request_duration_seconds histogram) in Prometheus text format.
 * Returns 0 or ERR_TOOBIG when `out` is full.
 */
int sim_metrics(struct sim *s, struct buf *out);

/* Pods currently indexed and how many are Ready (for self metrics). */
void sim_counts(const struct sim *s, size_t *pods, size_t *ready);

#endif

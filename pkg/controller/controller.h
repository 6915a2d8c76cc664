/*
 * controller: the Rollout controller loop.
 *
 * Informers on Rollouts, ReplicaSets (owned ones are queued as their
 * Rollout through the controller reference) and Services (a change to a
 * Service queues the Rollouts naming it); one workqueue of "ns/name" keys;
 * `workers` threads each taking a key and reconciling it:
 *   read the Rollout and its ReplicaSets and Services from the caches ->
 *   rollout_parse() -> plan_compute() -> apply the plan in plan.h's order
 *   (status PUT with resourceVersion first; a conflict requeues) -> record
 *   the plan's Events -> requeue after plan.requeue_ms, or with backoff on
 *   an error.
 * A no-op reconcile (nothing differs) makes no API call. Nothing is kept
 * in memory between reconciles besides the caches: all progress is in the
 * Rollout's status and the objects' annotations.
 *
 * Thread-safety: controller_run() blocks in the calling thread until
 * controller_stop() (from any thread or a signal-safe flag watcher).
 */
#ifndef KNIT_CONTROLLER_CONTROLLER_H
#define KNIT_CONTROLLER_CONTROLLER_H

#include <stdbool.h>

#include "controller/metrics.h"
#include "kube/client.h"
#include "kube/events.h"

struct controller_options {
	struct kube_client *client;
	const char *ns;			 /* NULL: every namespace */
	int workers;			 /* 0 means 4 */
	int analysis_workers;		 /* 0 means 4 */
	struct event_recorder *recorder; /* may be NULL */
	struct metrics *metrics;	 /* may be NULL */
	long resync_ms; /* 0: none; periodic requeue of every Rollout */
};

struct controller;

struct controller *controller_new(const struct controller_options *o);
/* Starts the informers, waits for them to sync, then runs the workers
 * until controller_stop(). Returns 0, or an error when the informers
 * could not sync (the message is logged). */
int controller_run(struct controller *c);
/* Asks controller_run() to return: the queue drains what is in flight. */
void controller_stop(struct controller *c);
/* True once the caches synced (for /readyz). */
bool controller_synced(struct controller *c);
/* Declares the controller's metric families in `m` (before serving). */
void controller_declare_metrics(struct metrics *m);
void controller_free(struct controller *c);

#endif

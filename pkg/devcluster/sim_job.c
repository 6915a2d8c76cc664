/*
 * sim_job: applies the Job controller's plans (jobctl.h) to the store. One
 * pass for a Job reads it and the pods it controls, asks jobctl for a plan,
 * and carries it out in the order jobctl requires: status first, then the
 * tracking finalizers of counted pods, deletions, and new pods. The plan's
 * requeue time (deadlines, back-off) marks the Job for a later pass.
 *
 * Pods whose Job is gone but which still carry the tracking finalizer are
 * released too, as the real controller does, so deleting a Job never
 * leaves pods stuck in Terminating.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/jobctl.h"
#include "devcluster/sim_internal.h"
#include "util/alloc.h"

static json_t *owned_pods(struct sim *s, struct sim_job *j)
{
	json_t *pods = json_array();
	const char *k;
	void *v;

	for (size_t it = 0; hashmap_next(&j->pods, &it, &k, &v);) {
		struct sim_pod *p = v;
		json_t *pod = sim_get(s, "", "pods", p->ns, p->name);

		if (pod)
			json_array_append_new(pods, pod);
	}
	return pods;
}

/* Removes the tracking finalizer from the pod; keeps other finalizers. */
void job_release_pod(struct sim *s, const char *ns, const char *name)
{
	json_t *pod = sim_get(s, "", "pods", ns, name);
	json_t *meta = json_object_get(pod, "metadata");
	json_t *fins = json_object_get(meta, "finalizers");
	json_t *kept = json_array(), *patch;
	bool found = false;
	char *path;
	size_t i;
	json_t *f;

	json_array_foreach(fins, i, f)
	{
		if (strcmp(json_string_value(f) ?: "",
			   JOBCTL_TRACKING_FINALIZER) == 0)
			found = true;
		else
			json_array_append(kept, f);
	}
	if (!found) {
		json_decref(kept);
		json_decref(pod);
		return;
	}
	patch = json_pack("{s:{s:o,s:O}}", "metadata", "finalizers",
			  json_array_size(kept) ? kept : json_null(),
			  "resourceVersion",
			  json_object_get(meta, "resourceVersion"));
	if (!json_array_size(kept))
		json_decref(kept);
	path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	sim_call(s, HTTP_PATCH, path, patch, AGENT_CONTROLLERS, NULL);
	free(path);
	json_decref(patch);
	json_decref(pod);
}

static void write_status(struct sim *s, struct sim_job *j, json_t *job,
			 json_t *status)
{
	char *path;

	if (json_equal(status, json_object_get(job, "status")))
		return;
	json_object_set(job, "status", status);
	path = xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s/status", j->ns,
			 j->name);
	sim_call(s, HTTP_PUT, path, job, AGENT_CONTROLLERS, NULL);
	free(path);
}

static void create_pods(struct sim *s, struct sim_job *j, const json_t *job,
			int n)
{
	char *path = xasprintf("/api/v1/namespaces/%s/pods", j->ns);

	for (int i = 0; i < n; i++) {
		json_t *pod = jobctl_new_pod(job), *resp = NULL;
		char msg[512];
		int code = sim_call(s, HTTP_POST, path, pod, AGENT_CONTROLLERS,
				    &resp);

		if (code == 201)
			snprintf(msg, sizeof(msg), "Created pod: %s",
				 json_string_value(json_object_get(
					 json_object_get(resp, "metadata"),
					 "name")));
		else
			snprintf(msg, sizeof(msg), "Error creating: %s",
				 json_string_value(
					 json_object_get(resp, "message"))
					 ?: "create failed");
		sim_event(s, job, code == 201 ? "Normal" : "Warning",
			  code == 201 ? "SuccessfulCreate" : "FailedCreate",
			  msg, "job-controller");
		json_decref(pod);
		json_decref(resp);
		if (code != 201)
			break;
	}
	free(path);
}

void job_reconcile(struct sim *s, const char *key)
{
	char *ns = sim_key_split(key, NULL);
	struct sim_ns *n = sim_ns_get(s, ns, false);
	struct sim_job *j = n ? hashmap_get(&n->jobs, key) : NULL;
	json_t *job = j ? sim_get(s, "batch", "jobs", j->ns, j->name) : NULL;
	struct jobctl_options opt = {s->opt.backoff_base, s->opt.backoff_max};
	struct job_plan plan;
	json_t *pods;
	char now[32];
	size_t i;
	json_t *name;

	free(ns);
	if (!job)
		return;
	pods = owned_pods(s, j);
	sim_format_time(s->now, now, sizeof(now));
	jobctl_plan_opts(job, pods, now, s->now, &opt, &plan);
	write_status(s, j, job, plan.status);
	json_array_foreach(plan.unfinalize, i, name)
		job_release_pod(s, j->ns, json_string_value(name));
	json_array_foreach(plan.remove, i, name) sim_delete_pod(
		s, job, j->ns, json_string_value(name), "job-controller");
	if (plan.create > 0 &&
	    !json_object_get(json_object_get(job, "metadata"),
			     "deletionTimestamp"))
		create_pods(s, j, job, plan.create);
	if (plan.requeue_after > 0)
		sim_mark_job(s, key, s->now + plan.requeue_after);
	job_plan_release(&plan);
	json_decref(pods);
	json_decref(job);
}

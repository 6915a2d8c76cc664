/*
 * sim_kubelet: the scheduler and the kubelet of the simulated cluster's one
 * Node. A new pod is bound to the Node, then its containers start (phase
 * Running, an IP from 10.244.0.0/16), then it turns Ready after its
 * readiness delay. Annotations under devcluster.knit.dev/ change that:
 * never-ready, crash-loop (the container exits after run-seconds and
 * restarts with a doubling back-off), and for pods that do not restart
 * always (Jobs), run-seconds and exit-code decide how the pod ends.
 *
 * Each step is one write of the pod (spec.nodeName by the scheduler, then
 * /status by the kubelet), and the next step is planned from what the pod
 * says, so a restarted devcluster carries on where the pods are.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/sim_internal.h"
#include "util/alloc.h"
#include "util/log.h"

#define NODE_IP "172.18.0.2"

/* ---- reading a pod ---- */

static const char *annotation(const json_t *pod, const char *name)
{
	char key[128];

	snprintf(key, sizeof(key), SIM_ANNOTATION "%s", name);
	return json_string_value(json_object_get(
		json_object_get(json_object_get(pod, "metadata"),
				"annotations"),
		key));
}

static double annotation_num(const json_t *pod, const char *name, double dflt,
			     double min, double max)
{
	const char *text = annotation(pod, name);
	char *end;
	double v;

	if (!text)
		return dflt;
	v = strtod(text, &end);
	if (end == text || *end || !isfinite(v) || v < min || v > max) {
		LOG_WARNF("bad devcluster annotation ignored",
			  "annotation=" SIM_ANNOTATION "%s value=\"%s\"", name,
			  text);
		return dflt;
	}
	return v;
}

static bool annotation_true(const json_t *pod, const char *name)
{
	const char *text = annotation(pod, name);

	return text && strcmp(text, "true") == 0;
}

static void load_behaviour(struct sim *s, struct sim_pod *p, const json_t *pod)
{
	struct pod_behaviour *b = &p->b;

	b->ready_delay = annotation_num(pod, "ready-delay-seconds",
					s->opt.ready_delay, 0, 86400);
	b->never_ready = annotation_true(pod, "never-ready");
	b->crash_loop = annotation_true(pod, "crash-loop");
	b->run_seconds = annotation_num(pod, "run-seconds", 1, 0, 86400);
	b->exit_code = (int)annotation_num(pod, "exit-code", 0, 0, 255);
	b->error_rate = annotation_num(pod, "error-rate", 0, 0, 1);
	b->error_code = (int)annotation_num(pod, "error-code", 500, 400, 599);
	b->latency_ms =
		annotation_num(pod, "latency-ms", s->opt.latency_ms, 0, 600000);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

/* Keeps a precise in-memory time when it agrees with the stored second. */
static void load_time(double *dst, const char *text)
{
	double t = sim_parse_time(text);

	if (!(t > 0 && *dst >= t && *dst < t + 1))
		*dst = t;
}

/* The condition of `type` in a status, borrowed, or NULL. */
static json_t *condition(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static bool condition_true(const json_t *status, const char *type)
{
	const char *st = json_string_value(
		json_object_get(condition(status, type), "status"));

	return st && strcmp(st, "True") == 0;
}

/* lastTransitionTime of a condition, as wall seconds (0 when absent). */
static double condition_since(const json_t *status, const char *type)
{
	return sim_parse_time(json_string_value(json_object_get(
		condition(status, type), "lastTransitionTime")));
}

static void load_container(struct sim_pod *p, const json_t *status)
{
	json_t *cs =
		json_array_get(json_object_get(status, "containerStatuses"), 0);
	json_t *state = json_object_get(cs, "state");
	json_t *last =
		json_object_get(json_object_get(cs, "lastState"), "terminated");

	p->restarts =
		(int)json_integer_value(json_object_get(cs, "restartCount"));
	if (json_object_get(state, "running")) {
		p->cstate = CONTAINER_RUNNING;
		load_time(&p->started,
			  json_string_value(json_object_get(
				  json_object_get(state, "running"),
				  "startedAt")));
	} else if (json_object_get(state, "terminated")) {
		p->cstate = CONTAINER_DONE;
	} else if (json_object_get(state, "waiting") && last) {
		p->cstate = CONTAINER_BACKOFF;
		load_time(&p->finished, json_string_value(json_object_get(
						last, "finishedAt")));
	} else {
		p->cstate = CONTAINER_NONE;
	}
}

static enum pod_phase phase_of(const char *text)
{
	if (!text)
		return PHASE_PENDING;
	if (strcmp(text, "Running") == 0)
		return PHASE_RUNNING;
	if (strcmp(text, "Succeeded") == 0)
		return PHASE_SUCCEEDED;
	if (strcmp(text, "Failed") == 0)
		return PHASE_FAILED;
	return PHASE_PENDING;
}

static void remember_ip(struct sim *s, struct sim_pod *p, const char *ip)
{
	if (p->ip && (!ip || strcmp(p->ip, ip) != 0))
		hashmap_remove(&s->ips, p->ip);
	set_str(&p->ip, ip);
	if (ip)
		hashmap_put(&s->ips, ip, (void *)1);
}

/*
 * When the kubelet finishes a graceful deletion: its containers take
 * devcluster.knit.dev/termination-seconds (0.5 s by default) to stop, at
 * most the grace period. 0 when there is nothing left for it to do.
 */
static void load_deletion(struct sim_pod *p, const json_t *meta,
			  const json_t *pod)
{
	double end = sim_parse_time(
		json_string_value(json_object_get(meta, "deletionTimestamp")));
	json_int_t grace = json_integer_value(
		json_object_get(meta, "deletionGracePeriodSeconds"));
	double stop = annotation_num(pod, "termination-seconds", 0.5, 0, 3600);

	p->finish_at = 0;
	if (!p->deleting || grace <= 0 || end <= 0)
		return;
	p->finish_at = end - (double)grace + stop;
	if (p->finish_at > end)
		p->finish_at = end;
}

void kubelet_pod_load(struct sim *s, struct sim_pod *p, const json_t *pod)
{
	json_t *meta = json_object_get(pod, "metadata");
	json_t *spec = json_object_get(pod, "spec");
	json_t *status = json_object_get(pod, "status");
	json_t *labels = json_object_get(meta, "labels");
	const char *hash =
		json_string_value(json_object_get(labels, SIM_HASH_LABEL));
	const char *policy =
		json_string_value(json_object_get(spec, "restartPolicy"));
	bool ready;

	if (!hash)
		hash = json_string_value(
			json_object_get(labels, SIM_HASH_LABEL_FALLBACK));
	set_str(&p->uid, json_string_value(json_object_get(meta, "uid")));
	set_str(&p->created,
		json_string_value(json_object_get(meta, "creationTimestamp")));
	json_decref(p->labels);
	p->labels =
		json_is_object(labels) ? json_deep_copy(labels) : json_object();
	set_str(&p->hash, hash ? hash : "");
	set_str(&p->node, json_string_value(json_object_get(spec, "nodeName")));
	remember_ip(s, p, json_string_value(json_object_get(status, "podIP")));
	p->phase =
		phase_of(json_string_value(json_object_get(status, "phase")));
	p->deleting = json_object_get(meta, "deletionTimestamp") != NULL;
	load_deletion(p, meta, pod);
	p->restart_policy = policy ? policy[0] : 'A';
	ready = condition_true(status, "Ready");
	if (ready && !p->ready)
		p->ready_since =
			s->now > 0 ? s->now : condition_since(status, "Ready");
	p->ready = ready;
	load_container(p, status);
	load_behaviour(s, p, pod);
}

void kubelet_pod_forget(struct sim *s, struct sim_pod *p)
{
	remember_ip(s, p, NULL);
}

/* ---- planning ---- */

static bool exits(const struct sim_pod *p)
{
	return p->b.crash_loop || p->restart_policy != 'A';
}

static double backoff(const struct sim *s, int restarts)
{
	double d = s->opt.backoff_base;

	for (int i = 1; i < restarts && d < s->opt.backoff_max; i++)
		d *= 2;
	return d < s->opt.backoff_max ? d : s->opt.backoff_max;
}

void kubelet_pod_plan(struct sim *s, struct sim_pod *p)
{
	double due = 0, now = s->now > 0 ? s->now : 1;

	if (p->deleting) {
		sim_pod_set_due(s, p, p->finish_at);
		return;
	}
	if (p->phase == PHASE_SUCCEEDED || p->phase == PHASE_FAILED) {
		sim_pod_set_due(s, p, 0);
		return;
	}
	if (!p->node || p->cstate == CONTAINER_NONE) {
		due = now;
	} else if (p->cstate == CONTAINER_BACKOFF) {
		due = p->finished + backoff(s, p->restarts);
	} else if (p->cstate == CONTAINER_RUNNING) {
		double ready_at = p->started + p->b.ready_delay;
		double exit_at = p->started + p->b.run_seconds;

		if (!p->ready && !p->b.never_ready && !p->b.crash_loop)
			due = ready_at;
		if (exits(p) && (due == 0 || exit_at < due))
			due = exit_at;
	}
	sim_pod_set_due(s, p, due > 0 && due < 1 ? 1 : due);
}

/* ---- writing ---- */

static char *pod_path(const struct sim_pod *p, const char *sub)
{
	return xasprintf("/api/v1/namespaces/%s/pods/%s%s%s", p->ns, p->name,
			 sub ? "/" : "", sub ? sub : "");
}

/* Reserves a free pod IP; returns it (heap string) or NULL. */
static char *allocate_ip(struct sim *s)
{
	char ip[16];

	for (int tries = 0; tries < 65536; tries++) {
		uint32_t a = s->next_ip++;

		if ((s->next_ip & 0xffff) == 0)
			s->next_ip = (10u << 24) | (244u << 16) | 2u;
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24,
			 (a >> 16) & 255, (a >> 8) & 255, a & 255);
		if (!hashmap_get(&s->ips, ip)) {
			hashmap_put(&s->ips, ip, (void *)1);
			return xstrdup(ip);
		}
	}
	return NULL;
}

/* The condition list, keeping transition times of unchanged conditions. */
static json_t *conditions(const json_t *old, const char *now,
			  const char *const *types, const bool *values,
			  const char *const *reasons, const char *message)
{
	json_t *out = json_array();

	for (int i = 0; types[i]; i++) {
		const char *since = now;
		size_t j;
		json_t *c, *oc;

		json_array_foreach(json_object_get(old, "conditions"), j, oc)
		{
			const char *t =
				json_string_value(json_object_get(oc, "type"));
			const char *st = json_string_value(
				json_object_get(oc, "status"));

			if (t && st && strcmp(t, types[i]) == 0 &&
			    strcmp(st, values[i] ? "True" : "False") == 0 &&
			    json_string_value(
				    json_object_get(oc, "lastTransitionTime")))
				since = json_string_value(json_object_get(
					oc, "lastTransitionTime"));
		}
		c = json_pack("{s:s,s:s,s:n,s:s}", "type", types[i], "status",
			      values[i] ? "True" : "False", "lastProbeTime",
			      "lastTransitionTime", since);
		if (reasons[i]) {
			json_object_set_new(c, "reason",
					    json_string(reasons[i]));
			if (message)
				json_object_set_new(c, "message",
						    json_string(message));
		}
		json_array_append_new(out, c);
	}
	return out;
}

static json_t *container_state(const struct sim_pod *p, const char *cname,
			       int exit_code)
{
	char started[32], finished[32];

	sim_format_time(p->started, started, sizeof(started));
	sim_format_time(p->finished, finished, sizeof(finished));
	switch (p->cstate) {
	case CONTAINER_RUNNING:
		return json_pack("{s:{s:s}}", "running", "startedAt", started);
	case CONTAINER_BACKOFF: {
		char msg[512];

		snprintf(msg, sizeof(msg),
			 "back-off %gs restarting failed container=%s pod=%s_%s"
			 "(%s)",
			 p->due > p->finished ? p->due - p->finished : 0, cname,
			 p->name, p->ns, p->uid ? p->uid : "");
		return json_pack("{s:{s:s,s:s}}", "waiting", "reason",
				 "CrashLoopBackOff", "message", msg);
	}
	case CONTAINER_DONE:
		return json_pack("{s:{s:i,s:s,s:s,s:s,s:s}}", "terminated",
				 "exitCode", exit_code, "reason",
				 exit_code ? "Error" : "Completed", "startedAt",
				 started, "finishedAt", finished, "containerID",
				 "containerd://0");
	default:
		return json_pack("{s:{s:s}}", "waiting", "reason",
				 "ContainerCreating");
	}
}

/*
 * The previous run of a restarted container: built when it has just exited
 * (CONTAINER_BACKOFF), otherwise kept from the pod's current status.
 */
static json_t *last_state(const struct sim_pod *p, const json_t *pod,
			  const char *name, int last_exit)
{
	char started[32], fin[32];
	size_t i;
	json_t *cs;

	if (p->cstate != CONTAINER_BACKOFF) {
		json_array_foreach(
			json_object_get(json_object_get(pod, "status"),
					"containerStatuses"),
			i, cs)
		{
			const char *n =
				json_string_value(json_object_get(cs, "name"));

			if (n && name && strcmp(n, name) == 0 &&
			    json_object_get(cs, "lastState"))
				return json_deep_copy(
					json_object_get(cs, "lastState"));
		}
	}
	sim_format_time(p->started, started, sizeof(started));
	sim_format_time(p->finished, fin, sizeof(fin));
	return json_pack("{s:{s:i,s:s,s:s,s:s}}", "terminated", "exitCode",
			 last_exit, "reason", "Error", "startedAt", started,
			 "finishedAt", fin);
}

static json_t *container_statuses(const struct sim_pod *p, const json_t *pod,
				  int exit_code, int last_exit)
{
	json_t *out = json_array();
	size_t i;
	json_t *c;

	json_array_foreach(
		json_object_get(json_object_get(pod, "spec"), "containers"), i,
		c)
	{
		const char *name =
			json_string_value(json_object_get(c, "name"));
		const char *image =
			json_string_value(json_object_get(c, "image"));
		json_t *cs = json_pack(
			"{s:s,s:s,s:s,s:b,s:b,s:i,s:o,s:{}}", "name",
			name ? name : "", "image", image ? image : "",
			"imageID", "", "ready",
			p->ready && p->cstate == CONTAINER_RUNNING, "started",
			p->cstate == CONTAINER_RUNNING, "restartCount",
			p->restarts, "state",
			container_state(p, name ? name : "", exit_code),
			"lastState");

		if (p->cstate != CONTAINER_NONE) {
			char id[80];

			snprintf(id, sizeof(id), "containerd://%s-%s-%d",
				 p->uid ? p->uid : "", name ? name : "",
				 p->restarts);
			json_object_set_new(cs, "containerID", json_string(id));
		}
		if (p->restarts > 0)
			json_object_set_new(
				cs, "lastState",
				last_state(p, pod, name, last_exit));
		json_array_append_new(out, cs);
	}
	return out;
}

/* Builds and writes the pod's status from p's (already updated) state. */
static int write_status(struct sim *s, struct sim_pod *p, json_t *pod,
			int exit_code, int last_exit)
{
	static const char *const types[] = {
		"PodReadyToStartContainers", "Initialized",  "Ready",
		"ContainersReady",	     "PodScheduled", NULL};
	bool done = p->phase == PHASE_SUCCEEDED || p->phase == PHASE_FAILED;
	bool values[] = {!done, true, p->ready, p->ready, true};
	const char *not_ready = done ? "PodCompleted" : "ContainersNotReady";
	const char *reasons[] = {NULL, NULL, p->ready ? NULL : not_ready,
				 p->ready ? NULL : not_ready, NULL};
	json_t *old = json_object_get(pod, "status");
	json_t *st, *ips;
	char now[32], started[32],
		msg[256] = "containers with unready status: [";
	char *path;
	int code;
	size_t i;
	json_t *c;

	sim_format_time(s->now, now, sizeof(now));
	json_array_foreach(
		json_object_get(json_object_get(pod, "spec"), "containers"), i,
		c)
	{
		size_t len = strlen(msg);

		snprintf(msg + len, sizeof(msg) - len, "%s%s", i ? " " : "",
			 json_string_value(json_object_get(c, "name")) ?: "");
	}
	strncat(msg, "]", sizeof(msg) - strlen(msg) - 1);
	st = json_pack("{s:s,s:o,s:s,s:[{s:s}]}", "phase",
		       p->phase == PHASE_RUNNING     ? "Running"
		       : p->phase == PHASE_SUCCEEDED ? "Succeeded"
		       : p->phase == PHASE_FAILED    ? "Failed"
						     : "Pending",
		       "conditions",
		       conditions(old, now, types, values, reasons,
				  p->ready || done ? NULL : msg),
		       "hostIP", NODE_IP, "hostIPs", "ip", NODE_IP);
	if (p->ip) {
		ips = json_pack("[{s:s}]", "ip", p->ip);
		json_object_set_new(st, "podIP", json_string(p->ip));
		json_object_set_new(st, "podIPs", ips);
	}
	sim_format_time(p->started > 0 ? p->started : s->now, started,
			sizeof(started));
	json_object_set(st, "startTime",
			json_object_get(old, "startTime")
				?: json_string(started));
	if (!json_object_get(old, "startTime"))
		json_decref(json_object_get(st, "startTime"));
	json_object_set_new(st, "containerStatuses",
			    container_statuses(p, pod, exit_code, last_exit));
	json_object_set_new(st, "qosClass", json_string("BestEffort"));
	json_object_set_new(pod, "status", st);
	path = pod_path(p, "status");
	code = sim_call(s, HTTP_PUT, path, pod, AGENT_KUBELET, NULL);
	free(path);
	return code;
}

static void schedule(struct sim *s, struct sim_pod *p, json_t *pod)
{
	char *path = pod_path(p, NULL);

	json_object_set_new(json_object_get(pod, "spec"), "nodeName",
			    json_string(SIM_NODE_NAME));
	sim_call(s, HTTP_PUT, path, pod, AGENT_SCHEDULER, NULL);
	free(path);
}

/*
 * The container of `next` (a copy of the pod's record) exits: it restarts
 * after a back-off, or the pod ends.
 */
static void container_exit(struct sim *s, struct sim_pod *next, json_t *pod)
{
	int code = next->b.crash_loop ? 1 : next->b.exit_code;
	bool restart = next->restart_policy == 'A' ||
		       (next->restart_policy == 'O' && code != 0);

	next->finished = s->now;
	next->ready = false;
	if (restart) {
		next->restarts++;
		next->cstate = CONTAINER_BACKOFF;
		next->due = s->now + backoff(s, next->restarts);
	} else {
		next->cstate = CONTAINER_DONE;
		next->phase = code ? PHASE_FAILED : PHASE_SUCCEEDED;
	}
	write_status(s, next, pod, code, code);
}

/*
 * A pod being deleted gracefully: its containers stop (the pod ends
 * Succeeded, or Failed when it has ever failed) and the kubelet removes it
 * with a zero grace period, as the real one does once nothing runs.
 */
static void finish_deletion(struct sim *s, struct sim_pod *p, json_t *pod)
{
	struct sim_pod next = *p;
	json_t *opts =
		json_pack("{s:s,s:s,s:i,s:{s:s}}", "kind", "DeleteOptions",
			  "apiVersion", "v1", "gracePeriodSeconds", 0,
			  "preconditions", "uid", p->uid ? p->uid : "");
	char *path = pod_path(p, NULL);

	/* no second attempt unless the pod changes; p may go below */
	p->finish_at = 0;
	if (p->phase != PHASE_SUCCEEDED && p->phase != PHASE_FAILED) {
		next.finished = p->finished = s->now;
		next.ready = false;
		next.cstate = CONTAINER_DONE;
		next.phase = PHASE_SUCCEEDED;
		write_status(s, &next, pod, 0, 0);
	}
	sim_call(s, HTTP_DELETE, path, opts, AGENT_KUBELET, NULL);
	free(path);
	json_decref(opts);
}

/*
 * Steps work on `next`, a shallow copy of the record, and write it; the
 * record itself changes only when the write comes back through
 * sim_on_change(), so the indexes see the before and after states. Only
 * the precise start and exit times are kept on the record first.
 */
void kubelet_pod_step(struct sim *s, struct sim_pod *p)
{
	json_t *pod = sim_get(s, "", "pods", p->ns, p->name);
	struct sim_pod next = *p;
	char *ip = NULL;

	if (!pod)
		goto out;
	if (p->deleting) {
		/* the record is freed when the pod goes: touch it no more */
		finish_deletion(s, p, pod);
		json_decref(pod);
		return;
	}
	if (!p->node) {
		schedule(s, p, pod);
	} else if (p->cstate == CONTAINER_NONE ||
		   p->cstate == CONTAINER_BACKOFF) {
		if (!p->ip) {
			ip = allocate_ip(s);
			if (!ip) {
				LOG_WARNF("no free pod IP", "pod=%s", p->key);
				goto out;
			}
			next.ip = ip;
		}
		next.phase = PHASE_RUNNING;
		next.cstate = CONTAINER_RUNNING;
		next.started = p->started = s->now;
		next.ready = p->b.ready_delay <= 0 && !p->b.never_ready &&
			     !p->b.crash_loop;
		if (write_status(s, &next, pod, 0, p->b.crash_loop ? 1 : 0) >=
			    300 &&
		    ip)
			hashmap_remove(&s->ips, ip); /* not used after all */
	} else if (p->cstate == CONTAINER_RUNNING) {
		if (exits(p) && s->now >= p->started + p->b.run_seconds) {
			p->finished = s->now;
			container_exit(s, &next, pod);
		} else if (!p->ready) {
			next.ready = true;
			write_status(s, &next, pod, 0, p->b.crash_loop ? 1 : 0);
		}
	}
out:
	free(ip);
	json_decref(pod);
	/* the write re-planned the pod; plan again if it did not land */
	if (p->due == 0)
		kubelet_pod_plan(s, p);
}

/* ---- the Node ---- */

void kubelet_ensure_node(struct sim *s)
{
	struct collection *c =
		store_find_collection(&s->dc->store, "", "nodes");
	char now[32];
	json_t *node, *status;

	if (!c || store_get(c, "", SIM_NODE_NAME))
		return;
	sim_format_time(s->now, now, sizeof(now));
	node = json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s}},s:{}}",
			 "apiVersion", "v1", "kind", "Node", "metadata", "name",
			 SIM_NODE_NAME, "labels", "kubernetes.io/hostname",
			 SIM_NODE_NAME, "kubernetes.io/os", "linux",
			 "kubernetes.io/arch", "amd64",
			 "node-role.kubernetes.io/control-plane", "", "spec");
	if (sim_call(s, HTTP_POST, "/api/v1/nodes", node, AGENT_KUBELET,
		     NULL) != 201) {
		json_decref(node);
		return;
	}
	status = json_pack(
		"{s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s,s:s,s:s,s:"
		"s}],s:[{s:s,s:s},{s:s,s:s}],s:{s:s,s:s,s:s,s:s,s:s,s:s}}",
		"capacity", "cpu", "64", "memory", "263830016Ki", "pods",
		"20000", "allocatable", "cpu", "64", "memory", "263830016Ki",
		"pods", "20000", "conditions", "type", "Ready", "status",
		"True", "reason", "KubeletReady", "message",
		"kubelet is posting ready status", "lastHeartbeatTime", now,
		"lastTransitionTime", now, "addresses", "type", "InternalIP",
		"address", NODE_IP, "type", "Hostname", "address",
		SIM_NODE_NAME, "nodeInfo", "kubeletVersion", "v1.32.0",
		"kubeProxyVersion", "v1.32.0", "operatingSystem", "linux",
		"architecture", "amd64", "containerRuntimeVersion",
		"containerd://1.7.24", "osImage", "knit-devcluster");
	json_decref(node);
	node = sim_get(s, "", "nodes", "", SIM_NODE_NAME);
	if (node) {
		json_object_set_new(node, "status", status);
		sim_call(s, HTTP_PUT, "/api/v1/nodes/" SIM_NODE_NAME "/status",
			 node, AGENT_KUBELET, NULL);
		json_decref(node);
	} else {
		json_decref(status);
	}
}

/*
 * fuzz_rollout: libFuzzer target for the Rollout parser rollout_parse()
 * (rollout/rollout.h) and the planner plan_compute() (rollout/plan.h).
 *
 * Input layout: one JSON document (parsed with JSON_DISABLE_EOF_CHECK), then
 * any bytes, which drive the synthetic observations (what is missing is
 * filled from a hash of the whole input, so every input is deterministic).
 * When the document is an object and rollout_parse() accepts it, the
 * planner runs on it with a fixed `now` and:
 *   - no ReplicaSet and no Service;
 *   - one ReplicaSet named after rollout_template_hash() of the template
 *     (the new revision) and the Services the spec names;
 *   - that one and a second ReplicaSet (the stable revision of status, or
 *     an older one), with a restart pending;
 * then once more with the status of the last plan written back into the
 * object and parsed again (the planner reading its own output).
 *
 * Checked (abort on a mismatch): a plan always has an object status; every
 * ReplicaSet and Service write names its object, with non-negative replica
 * counts and a hash for creates and Service writes; every Event has a type
 * and reason and a message; requeue_ms >= 0; with an invalid spec there is
 * no ReplicaSet or Service write.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rollout/plan.h"
#include "rollout/rollout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1800000000.0

/* The bytes after the JSON document, then a pseudo-random tail. */
struct knobs {
	const uint8_t *p;
	size_t n, i;
	uint32_t state;
};

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_rollout: check failed: %s\n", what);
	abort();
}

static void knobs_init(struct knobs *k, const uint8_t *data, size_t size,
		       size_t used)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	k->p = data + used;
	k->n = size - used;
	k->i = 0;
	k->state = h ? h : 1;
}

static unsigned knob(struct knobs *k)
{
	if (k->i < k->n)
		return k->p[k->i++];
	k->state ^= k->state << 13;
	k->state ^= k->state >> 17;
	k->state ^= k->state << 5;
	return k->state & 0xff;
}

/* The ReplicaSets and Services of one plan_compute() call. */
struct world {
	struct rs_view rs[2];
	char rs_name[2][96];
	char rs_hash[2][16];
	size_t n_rs;
	struct svc_view svc[4];
	size_t n_svc;
	int restart_old_pods;
};

static void make_rs(struct world *w, const struct rollout *ro, const char *hash,
		    struct knobs *k)
{
	size_t i = w->n_rs++;
	struct rs_view *r = &w->rs[i];
	unsigned flags = knob(k);

	snprintf(w->rs_hash[i], sizeof(w->rs_hash[i]), "%s", hash);
	snprintf(w->rs_name[i], sizeof(w->rs_name[i]), "%s-%s", ro->name, hash);
	memset(r, 0, sizeof(*r));
	r->name = w->rs_name[i];
	r->hash = (flags & 1) ? NULL : w->rs_hash[i];
	r->revision = (long)(knob(k) % 4);
	r->template_matches = (flags & 2) == 0;
	r->spec_replicas = (int)(knob(k) % 16);
	r->replicas = (int)(knob(k) % 16);
	r->ready = (int)(knob(k) % 16);
	r->available = (int)(knob(k) % 16);
	r->observed = (flags & 4) == 0;
	r->scale_down_at = (flags & 8) ? FUZZ_NOW + (double)knob(k) - 128.0 : 0;
	r->deleting = (flags & 16) != 0;
	r->created = "2026-11-27T19:30:00Z";
	r->images = (flags & 32) ? NULL : "nginx:1";
}

static void add_svc(struct world *w, const struct rollout *ro, const char *name,
		    const char *hashes[2], struct knobs *k)
{
	struct svc_view *v;
	unsigned flags;

	if (!name)
		return;
	flags = knob(k);
	v = &w->svc[w->n_svc++];
	v->name = name;
	v->exists = (flags & 7) != 0;
	v->selector_hash = (flags & 8) ? NULL : hashes[(flags >> 4) & 1];
	v->managed_by = (flags & 32) ? NULL : ro->name;
}

static void check_plan(const struct rollout *ro, const struct plan *p)
{
	check(json_is_object(p->status), "status is an object");
	check(p->requeue_ms >= 0, "requeue_ms >= 0");
	for (size_t i = 0; i < p->n_rs; i++) {
		const struct rs_action *a = &p->rs[i];

		check(a->name && *a->name, "a ReplicaSet write has a name");
		check(a->replicas >= 0, "replica counts are non-negative");
		check(a->kind != RS_CREATE || a->hash, "a create has a hash");
	}
	for (size_t i = 0; i < p->n_svc; i++)
		check(p->svc[i].name && p->svc[i].hash,
		      "a Service write has a name and a hash");
	for (size_t i = 0; i < p->n_events; i++)
		check(p->events[i].type && p->events[i].reason &&
			      p->events[i].message,
		      "an Event has a type, a reason and a message");
	if (ro->n_invalid > 0)
		check(p->n_rs == 0 && p->n_svc == 0,
		      "no writes with an invalid spec");
	check(p->restart_rs == NULL || p->restart_max > 0,
	      "a restart deletes at least one pod");
}

/* Plans `ro` with the first n_rs synthetic ReplicaSets (0..2); returns the
 * plan's status (new reference). */
static json_t *plan_once(const struct rollout *ro, size_t n_rs, struct knobs *k)
{
	struct world w;
	struct plan p;
	struct plan_input in;
	char cur[16], other[16];
	const char *hashes[2];
	json_t *status;

	memset(&w, 0, sizeof(w));
	if (ro->spec.template)
		rollout_template_hash(ro->spec.template, ro->st.collision_count,
				      cur);
	else
		snprintf(cur, sizeof(cur), "nohash");
	snprintf(other, sizeof(other), "%s",
		 ro->st.stable_rs ? ro->st.stable_rs : "old1");
	hashes[0] = cur;
	hashes[1] = other;
	if (n_rs >= 1)
		make_rs(&w, ro, cur, k);
	if (n_rs >= 2)
		make_rs(&w, ro, other, k);
	if (n_rs >= 1) {
		add_svc(&w, ro, ro->spec.stable_service, hashes, k);
		add_svc(&w, ro, ro->spec.canary_service, hashes, k);
		add_svc(&w, ro, ro->spec.active_service, hashes, k);
		add_svc(&w, ro, ro->spec.preview_service, hashes, k);
	}
	in = (struct plan_input){
		.ro = ro,
		.rs = w.rs,
		.n_rs = w.n_rs,
		.svc = w.svc,
		.n_svc = w.n_svc,
		.now = FUZZ_NOW + (n_rs == 2 ? 0.5 : 0),
		.restart_old_pods = n_rs == 2 ? (int)(knob(k) % 5) - 1 : -1,
	};
	plan_compute(&in, &p);
	check_plan(ro, &p);
	status = json_incref(p.status);
	plan_release(&p);
	return status;
}

/* Runs the three plans on `obj`; returns the last status (new reference)
 * or NULL when obj is not a Rollout. */
static json_t *plan_all(const json_t *obj, struct knobs *k)
{
	struct rollout ro;
	char err[256];
	json_t *status = NULL;

	if (rollout_parse(obj, &ro, err, sizeof(err)) != 0) {
		check(err[0] != '\0', "a parse error has a message");
		return NULL;
	}
	check(ro.name && *ro.name, "a parsed Rollout has a name");
	for (size_t n = 0; n <= 2; n++) {
		json_decref(status);
		status = plan_once(&ro, n, k);
	}
	rollout_release(&ro);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	struct knobs k;
	json_t *obj, *status;

	obj = json_loadb((const char *)data, size,
			 JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
	if (!obj)
		return 0;
	if (!json_is_object(obj)) {
		json_decref(obj);
		return 0;
	}
	knobs_init(&k, data, size,
		   (size_t)jerr.position <= size ? (size_t)jerr.position
						 : size);
	status = plan_all(obj, &k);
	if (status) {
		json_object_set_new(obj, "status", status);
		json_decref(plan_all(obj, &k));
	}
	json_decref(obj);
	return 0;
}

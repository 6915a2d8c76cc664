/*
 * rollout_status: the half of rollout_parse() that reads what the
 * controller wrote earlier (status: the planner's past decisions) and what
 * users asked for (operation annotations), plus who asked, which the API
 * server only tells through metadata.managedFields.
 *
 * Times in status are RFC 3339 strings; here they become wall-clock seconds
 * (0 when absent or malformed), which is what the planner compares with
 * `now`.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/rollout.h"
#include "rollout/rollout_internal.h"
#include "util/alloc.h"
#include "util/rfc3339.h"

/* A string member as a new string; NULL when absent, empty or not one. */
static char *dup_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? xstrdup(s) : NULL;
}

static int get_int(const json_t *obj, const char *key, int def)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

static double get_time(const json_t *obj, const char *key)
{
	double t = 0;

	if (rfc3339_parse(json_string_value(json_object_get(obj, key)), &t))
		return 0;
	return t;
}

/*
 * The pause the planner decided: the first pauseConditions entry that is
 * not PausedBySpec (a step or blue-green pause), else a PausedBySpec one.
 */
static void parse_pause(const json_t *status, struct rollout_decisions *st)
{
	json_t *list = json_object_get(status, "pauseConditions");
	json_t *pick = NULL, *c;
	const char *reason;
	size_t i;

	json_array_foreach(list, i, c)
	{
		reason = json_string_value(json_object_get(c, "reason"));
		if (!reason)
			continue;
		if (strcmp(reason, "PausedBySpec") != 0) {
			pick = c;
			break;
		}
		if (!pick)
			pick = c;
	}
	if (!pick)
		return;
	st->pause_reason = dup_str(pick, "reason");
	st->pause_start = get_time(pick, "startTime");
}

void rollout_parse_status(const json_t *status, struct rollout_decisions *st)
{
	json_t *canary = json_object_get(status, "canary");
	json_t *ops = json_object_get(status, "operations");

	st->current_pod_hash = dup_str(status, "currentPodHash");
	st->stable_rs = dup_str(status, "stableRS");
	st->current_step_index = get_int(status, "currentStepIndex", -1);
	st->step_hash = dup_str(status, "currentStepHash");
	parse_pause(status, st);
	st->abort = json_is_true(json_object_get(status, "abort"));
	st->aborted_at = get_time(status, "abortedAt");
	st->promote_full = json_is_true(json_object_get(status, "promoteFull"));
	st->collision_count = get_int(status, "collisionCount", 0);
	st->available_since = get_time(json_object_get(status, "blueGreen"),
				       "previewAvailableSince");
	st->switched = json_is_true(json_object_get(
		json_object_get(status, "blueGreen"), "switched"));
	st->attempt = get_int(status, "attempt", 1);
	if (st->attempt < 1)
		st->attempt = 1;
	st->last_progress = get_time(status, "lastProgressTime");
	st->restarted_at = get_time(status, "restartedAt");
	st->canary_replicas_override = get_int(canary, "replicasOverride", -1);
	st->canary_weight_override = get_int(canary, "weightOverride", -1);
	st->op_promote = dup_str(ops, "promote");
	st->op_promote_full = dup_str(ops, "promoteFull");
	st->op_abort = dup_str(ops, "abort");
	st->op_retry = dup_str(ops, "retry");
}

/* ---- managedFields ---- */

/* fields[k0][k1]...: true when the path of `n` keys exists. */
static bool owns_path(const json_t *fields, const char *const *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n && json_is_object(fields); i++)
		fields = json_object_get(fields, keys[i]);
	return i == n && fields != NULL;
}

/*
 * The manager and time of the most recent managedFields entry whose
 * fieldsV1 owns `keys` (new strings via *manager / *time; untouched when
 * no entry does). Entries without a time lose to entries with one; among
 * equal times the later entry wins.
 */
static void find_owner(const json_t *meta, const char *const *keys, size_t n,
		       char **manager, char **time)
{
	json_t *list = json_object_get(meta, "managedFields");
	json_t *e, *best = NULL;
	double t, best_t = -1;
	size_t i;

	json_array_foreach(list, i, e)
	{
		if (!owns_path(json_object_get(e, "fieldsV1"), keys, n))
			continue;
		t = get_time(e, "time");
		if (t >= best_t) {
			best = e;
			best_t = t;
		}
	}
	if (!best)
		return;
	*manager = dup_str(best, "manager");
	*time = dup_str(best, "time");
}

static const struct {
	enum rollout_op op;
	const char *annotation;
	const char *field; /* "f:<annotation>" in fieldsV1 */
	size_t ack;	   /* offset of the acknowledgement in decisions */
} OPS[] = {
	{OP_ABORT, ANN_OP_ABORT, "f:" ANN_OP_ABORT,
	 offsetof(struct rollout_decisions, op_abort)},
	{OP_RETRY, ANN_OP_RETRY, "f:" ANN_OP_RETRY,
	 offsetof(struct rollout_decisions, op_retry)},
	{OP_PROMOTE_FULL, ANN_OP_PROMOTE_FULL, "f:" ANN_OP_PROMOTE_FULL,
	 offsetof(struct rollout_decisions, op_promote_full)},
	{OP_PROMOTE, ANN_OP_PROMOTE, "f:" ANN_OP_PROMOTE,
	 offsetof(struct rollout_decisions, op_promote)},
};

void rollout_parse_requests(struct rollout *r, const json_t *meta)
{
	static const char *const tmpl_keys[] = {"f:spec", "f:template"};
	json_t *ann = json_object_get(meta, "annotations");
	const char *keys[3] = {"f:metadata", "f:annotations", NULL};
	struct rollout_request *q;
	const char *value, *ack;
	size_t i;

	for (i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++) {
		value = json_string_value(
			json_object_get(ann, OPS[i].annotation));
		ack = *(char **)((char *)&r->st + OPS[i].ack);
		if (!value || !*value || (ack && strcmp(ack, value) == 0))
			continue;
		q = &r->requests[r->n_requests++];
		q->op = OPS[i].op;
		q->value = xstrdup(value);
		keys[2] = OPS[i].field;
		find_owner(meta, keys, 3, &q->manager, &q->time);
	}
	find_owner(meta, tmpl_keys, 2, &r->template_manager, &r->template_time);
	r->change_cause = dup_str(ann, ANN_CHANGE_CAUSE);
}

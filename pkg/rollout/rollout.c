/*
 * rollout: reading a Rollout object (rollouts.knit.dev/v1alpha1) into the
 * struct rollout of rollout.h -- the spec with its defaults and InvalidSpec
 * rules, and the ReplicaSet built for one revision. The status, the
 * operation requests and the managedFields look-ups live in
 * rollout_status.c; the revision hash in rollout_hash.c.
 *
 * Every InvalidSpec sentence starts with the JSON path of the field it is
 * about ("spec.strategy.canary.steps[1].setWeight: ..."), so a user can find
 * the line in their manifest.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/selector.h"
#include "rollout/rollout.h"
#include "rollout/rollout_internal.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/rfc3339.h"

const struct kube_resource KNIT_ROLLOUTS = {ROLLOUT_GROUP, ROLLOUT_VERSION,
					    "rollouts", ROLLOUT_KIND, true};

void intstr_resolve(struct intstr surge, struct intstr unavailable,
		    int replicas, int *max_surge, int *max_unavailable)
{
	long s = surge.value, u = unavailable.value;

	if (surge.percent)
		s = ((long)surge.value * replicas + 99) / 100;
	if (unavailable.percent)
		u = (long)unavailable.value * replicas / 100;
	if (s < 0)
		s = 0;
	if (u < 0)
		u = 0;
	if (s == 0 && u == 0)
		u = 1;
	*max_surge = s > INT_MAX ? INT_MAX : (int)s;
	*max_unavailable = u > INT_MAX ? INT_MAX : (int)u;
}

void rollout_add_invalid(struct rollout *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->invalid = xrealloc(r->invalid, (r->n_invalid + 1) * sizeof(char *));
	r->invalid[r->n_invalid++] = xstrdup(line);
}

/* ---- Typed field readers: absent or null gives the default ---- */

static json_t *field(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

/* An integer field; `min` is checked unless it is INT_MIN. */
static int int_field(struct rollout *r, const json_t *obj, const char *key,
		     int def, int min, const char *path)
{
	json_t *v = field(obj, key);
	json_int_t n;

	if (!v)
		return def;
	if (!json_is_integer(v)) {
		rollout_add_invalid(r, "%s.%s: must be an integer", path, key);
		return def;
	}
	n = json_integer_value(v);
	if (n > INT_MAX || n < INT_MIN + 1) {
		rollout_add_invalid(r, "%s.%s: out of range", path, key);
		return def;
	}
	if (min != INT_MIN && n < min) {
		rollout_add_invalid(r,
				    "%s.%s: must be greater than or equal "
				    "to %d",
				    path, key, min);
		return def;
	}
	return (int)n;
}

static bool bool_field(struct rollout *r, const json_t *obj, const char *key,
		       bool def, const char *path)
{
	json_t *v = field(obj, key);

	if (!v)
		return def;
	if (!json_is_boolean(v)) {
		rollout_add_invalid(r, "%s.%s: must be a boolean", path, key);
		return def;
	}
	return json_is_true(v);
}

/* A string field as a new string, or NULL when absent or empty. */
static char *str_field(struct rollout *r, const json_t *obj, const char *key,
		       const char *path)
{
	json_t *v = field(obj, key);

	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		rollout_add_invalid(r, "%s.%s: must be a string", path, key);
		return NULL;
	}
	if (json_string_length(v) == 0)
		return NULL;
	return xstrdup(json_string_value(v));
}

/* An int-or-percent: 2 or "25%"; percents between 0 and 100. */
static struct intstr intstr_field(struct rollout *r, const json_t *obj,
				  const char *key, const char *path)
{
	struct intstr out = {true, 25};
	json_t *v = field(obj, key);
	const char *s;
	char *end;
	long n;

	if (!v)
		return out;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= INT_MAX) {
		out.percent = false;
		out.value = (int)json_integer_value(v);
		return out;
	}
	s = json_string_value(v);
	if (s && s[0] >= '0' && s[0] <= '9') {
		n = strtol(s, &end, 10);
		if (end[0] == '%' && end[1] == '\0' && n <= 100) {
			out.value = (int)n;
			return out;
		}
	}
	rollout_add_invalid(r,
			    "%s.%s: must be a non-negative integer or a "
			    "percentage between 0%% and 100%% (e.g. \"25%%\")",
			    path, key);
	return out;
}

/* ---- Durations ---- */

/* One "<number><unit>" term of a duration; *p advances past it. */
static int duration_term(const char **p, double *secs)
{
	const char *s = *p;
	double n = 0, scale = 1;
	int digits = 0;

	while (*s >= '0' && *s <= '9' && digits < 10) {
		n = n * 10 + (*s++ - '0');
		digits++;
	}
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9' && digits < 15) {
			scale /= 10;
			n += (*s++ - '0') * scale;
			digits++;
		}
	}
	if (digits == 0 || (*s >= '0' && *s <= '9'))
		return ERR_PARSE;
	if (s[0] == 'm' && s[1] == 's') {
		*secs += n / 1000;
		s += 2;
	} else if (*s == 'h' || *s == 'm' || *s == 's') {
		*secs += n * (*s == 'h' ? 3600 : *s == 'm' ? 60 : 1);
		s++;
	} else {
		return ERR_PARSE;
	}
	*p = s;
	return 0;
}

int rollout_duration_parse(const char *s, double *out)
{
	double secs = 0;
	size_t i;

	if (!s || !*s)
		return ERR_PARSE;
	i = strspn(s, "0123456789");
	if (i <= 9 && s[i] == '\0') {
		*out = strtod(s, NULL);
		return 0;
	}
	while (*s)
		if (duration_term(&s, &secs) != 0)
			return ERR_PARSE;
	*out = secs;
	return 0;
}

/* ---- Canary steps ---- */

static const char *const STEP_KINDS[] = {"setWeight", "pause", "setCanaryScale",
					 "analysis"};

static void parse_pause(struct rollout *r, const json_t *v, const char *path,
			struct canary_step *st)
{
	json_t *d = field(v, "duration");
	char *text;

	st->duration_s = -1;
	if (!json_is_object(v)) {
		rollout_add_invalid(r, "%s.pause: must be an object", path);
		return;
	}
	if (!d)
		return;
	if (json_is_integer(d) && json_integer_value(d) >= 0 &&
	    json_integer_value(d) <= INT_MAX) {
		st->duration_s = (double)json_integer_value(d);
		return;
	}
	if (json_is_string(d) &&
	    rollout_duration_parse(json_string_value(d), &st->duration_s) == 0)
		return;
	st->duration_s = -1;
	text = json_dumps(d, JSON_ENCODE_ANY | JSON_COMPACT);
	rollout_add_invalid(
		r,
		"%s.pause.duration: invalid duration %s (use e.g. "
		"\"30s\", \"5m\", \"1h30m\" or a number of seconds)",
		path, text ? text : "?");
	free(text);
}

static void parse_canary_scale(struct rollout *r, const json_t *v,
			       const char *path, struct canary_step *st)
{
	char sub[160];
	int set = 0;

	st->scale_replicas = -1;
	st->scale_weight = -1;
	if (!json_is_object(v)) {
		rollout_add_invalid(r, "%s.setCanaryScale: must be an object",
				    path);
		return;
	}
	snprintf(sub, sizeof(sub), "%s.setCanaryScale", path);
	if (field(v, "replicas")) {
		st->scale_replicas = int_field(r, v, "replicas", -1, 0, sub);
		set++;
	}
	if (field(v, "weight")) {
		st->scale_weight = int_field(r, v, "weight", -1, 0, sub);
		if (st->scale_weight > 100) {
			rollout_add_invalid(r,
					    "%s.weight: must be between 0 and "
					    "100",
					    sub);
			st->scale_weight = -1;
		}
		set++;
	}
	if (field(v, "matchTrafficWeight")) {
		st->scale_match =
			bool_field(r, v, "matchTrafficWeight", false, sub);
		set += st->scale_match ? 1 : 0;
	}
	if (set != 1)
		rollout_add_invalid(r,
				    "%s: must set exactly one of replicas, "
				    "weight or matchTrafficWeight: true",
				    sub);
}

static void parse_step(struct rollout *r, const json_t *v, size_t i,
		       struct canary_step *st)
{
	char path[96];
	int kind = -1, n = 0;
	size_t k;

	snprintf(path, sizeof(path), "spec.strategy.canary.steps[%zu]", i);
	st->kind = STEP_ANALYSIS;
	st->duration_s = -1;
	st->scale_replicas = -1;
	st->scale_weight = -1;
	for (k = 0; k < 4; k++)
		if (field(v, STEP_KINDS[k])) {
			kind = n == 0 ? (int)k : kind;
			n++;
		}
	if (n != 1) {
		rollout_add_invalid(r,
				    "%s: must set exactly one of setWeight, "
				    "pause, setCanaryScale or analysis",
				    path);
		return;
	}
	st->kind = (enum step_kind)kind;
	if (kind == STEP_SET_WEIGHT) {
		st->weight = int_field(r, v, "setWeight", 0, INT_MIN, path);
		if (st->weight < 0 || st->weight > 100) {
			rollout_add_invalid(r,
					    "%s.setWeight: must be between 0 "
					    "and 100",
					    path);
			st->weight = st->weight < 0 ? 0 : 100;
		}
	} else if (kind == STEP_PAUSE) {
		parse_pause(r, field(v, "pause"), path, st);
	} else if (kind == STEP_SET_CANARY_SCALE) {
		parse_canary_scale(r, field(v, "setCanaryScale"), path, st);
	} else {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s.analysis", path);
		st->analysis = rollout_analysis_parse(r, field(v, "analysis"),
						      sub, false);
	}
}

static void parse_canary(struct rollout *r, const json_t *c)
{
	static const char path[] = "spec.strategy.canary";
	struct rollout_spec *sp = &r->spec;
	json_t *steps = field(c, "steps");
	size_t i;

	sp->max_surge = intstr_field(r, c, "maxSurge", path);
	sp->max_unavailable = intstr_field(r, c, "maxUnavailable", path);
	sp->stable_service = str_field(r, c, "stableService", path);
	sp->canary_service = str_field(r, c, "canaryService", path);
	if (sp->stable_service && sp->canary_service &&
	    strcmp(sp->stable_service, sp->canary_service) == 0)
		rollout_add_invalid(r,
				    "%s.canaryService: must differ from "
				    "stableService (both are \"%s\")",
				    path, sp->canary_service);
	sp->background = rollout_analysis_parse(
		r, field(c, "analysis"), "spec.strategy.canary.analysis", true);
	if (steps && !json_is_array(steps)) {
		rollout_add_invalid(r, "%s.steps: must be a list", path);
		return;
	}
	sp->n_steps = json_array_size(steps);
	if (sp->n_steps == 0)
		return;
	sp->steps = xcalloc(sp->n_steps, sizeof(*sp->steps));
	for (i = 0; i < sp->n_steps; i++)
		parse_step(r, json_array_get(steps, i), i, &sp->steps[i]);
}

static void parse_bluegreen(struct rollout *r, const json_t *b)
{
	static const char path[] = "spec.strategy.blueGreen";
	struct rollout_spec *sp = &r->spec;

	sp->active_service = str_field(r, b, "activeService", path);
	sp->preview_service = str_field(r, b, "previewService", path);
	if (!sp->active_service)
		rollout_add_invalid(r, "%s.activeService: is required", path);
	if (sp->active_service && sp->preview_service &&
	    strcmp(sp->active_service, sp->preview_service) == 0)
		rollout_add_invalid(r,
				    "%s.previewService: must differ from "
				    "activeService (both are \"%s\")",
				    path, sp->preview_service);
	sp->auto_promotion_enabled =
		bool_field(r, b, "autoPromotionEnabled", true, path);
	sp->auto_promotion_seconds =
		int_field(r, b, "autoPromotionSeconds", 0, 0, path);
	sp->preview_replica_count =
		int_field(r, b, "previewReplicaCount", -1, 0, path);
	sp->scale_down_delay_seconds =
		int_field(r, b, "scaleDownDelaySeconds", 30, 0, path);
	sp->pre_promotion = rollout_analysis_parse(
		r, field(b, "prePromotionAnalysis"),
		"spec.strategy.blueGreen.prePromotionAnalysis", false);
	sp->post_promotion = rollout_analysis_parse(
		r, field(b, "postPromotionAnalysis"),
		"spec.strategy.blueGreen.postPromotionAnalysis", false);
}

static void parse_strategy(struct rollout *r, const json_t *spec)
{
	json_t *s = field(spec, "strategy");
	json_t *ru = field(s, "rollingUpdate"), *c = field(s, "canary");
	json_t *bg = field(s, "blueGreen");
	int n = (ru != NULL) + (c != NULL) + (bg != NULL);

	r->spec.max_surge = (struct intstr){true, 25};
	r->spec.max_unavailable = (struct intstr){true, 25};
	r->spec.auto_promotion_enabled = true;
	r->spec.preview_replica_count = -1;
	r->spec.scale_down_delay_seconds = 30;
	if (s && !json_is_object(s)) {
		rollout_add_invalid(r, "spec.strategy: must be an object");
		return;
	}
	if (n > 1) {
		rollout_add_invalid(r, "spec.strategy: only one of "
				       "rollingUpdate, canary or blueGreen may "
				       "be set");
		return;
	}
	if (c) {
		r->spec.strategy = STRATEGY_CANARY;
		parse_canary(r, c);
	} else if (bg) {
		r->spec.strategy = STRATEGY_BLUEGREEN;
		parse_bluegreen(r, bg);
	} else {
		r->spec.strategy = STRATEGY_ROLLING;
		r->spec.max_surge = intstr_field(r, ru, "maxSurge",
						 "spec.strategy.rollingUpdate");
		r->spec.max_unavailable = intstr_field(
			r, ru, "maxUnavailable", "spec.strategy.rollingUpdate");
	}
}

/* ---- Selector and template ---- */

static void check_selector(struct rollout *r)
{
	struct label_selector *sel = NULL;
	const json_t *labels;
	char err[256] = "";

	if (!json_is_object(r->spec.selector)) {
		rollout_add_invalid(r, "spec.selector: is required");
		return;
	}
	if (label_selector_from_json(r->spec.selector, &sel, err,
				     sizeof(err)) != 0) {
		rollout_add_invalid(r, "spec.selector: %s", err);
		return;
	}
	if (label_selector_is_empty(sel)) {
		rollout_add_invalid(r, "spec.selector: empty selector is "
				       "invalid for a Rollout");
		goto out;
	}
	labels = field(field(r->spec.template, "metadata"), "labels");
	if (r->spec.template && !label_selector_matches(sel, labels))
		rollout_add_invalid(r, "spec.selector: does not match the "
				       "template's labels "
				       "(spec.template.metadata.labels)");
out:
	label_selector_free(sel);
}

static void parse_spec(struct rollout *r, const json_t *spec)
{
	static const char path[] = "spec";
	struct rollout_spec *sp = &r->spec;
	json_t *v;
	double t;

	if (!json_is_object(spec))
		rollout_add_invalid(r, "spec: is required");
	sp->replicas = int_field(r, spec, "replicas", 1, 0, path);
	v = field(spec, "template");
	if (json_is_object(v))
		sp->template = json_deep_copy(v);
	else
		rollout_add_invalid(r, "spec.template: is required");
	v = field(spec, "selector");
	if (v)
		sp->selector = json_deep_copy(v);
	check_selector(r);
	sp->min_ready_seconds =
		int_field(r, spec, "minReadySeconds", 0, 0, path);
	sp->revision_history_limit =
		int_field(r, spec, "revisionHistoryLimit", 10, 0, path);
	sp->progress_deadline_s =
		int_field(r, spec, "progressDeadlineSeconds", 600, 0, path);
	sp->progress_deadline_abort =
		bool_field(r, spec, "progressDeadlineAbort", true, path);
	sp->paused = bool_field(r, spec, "paused", false, path);
	sp->restart_at = str_field(r, spec, "restartAt", path);
	if (sp->restart_at && rfc3339_parse(sp->restart_at, &t) != 0) {
		rollout_add_invalid(r,
				    "spec.restartAt: must be an RFC 3339 time "
				    "(e.g. \"2026-01-02T15:04:05Z\")");
		free(sp->restart_at);
		sp->restart_at = NULL;
	}
	parse_strategy(r, spec);
}

static char *meta_str(const json_t *meta, const char *key)
{
	const char *s = json_string_value(json_object_get(meta, key));

	return xstrdup(s ? s : "");
}

int rollout_parse(const json_t *obj, struct rollout *out, char *err,
		  size_t errlen)
{
	json_t *meta, *status;
	const char *name;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return err_set(err, errlen, ERR_PARSE,
			       "a Rollout must be a JSON object");
	meta = json_object_get(obj, "metadata");
	name = json_string_value(json_object_get(meta, "name"));
	if (!name || !*name)
		return err_set(err, errlen, ERR_PARSE,
			       "metadata.name: is required");
	out->ns = meta_str(meta, "namespace");
	out->name = meta_str(meta, "name");
	out->uid = meta_str(meta, "uid");
	out->resource_version = meta_str(meta, "resourceVersion");
	out->generation =
		(long)json_integer_value(json_object_get(meta, "generation"));
	parse_spec(out, field(obj, "spec"));
	status = field(obj, "status");
	out->status =
		json_is_object(status) ? json_deep_copy(status) : json_object();
	rollout_parse_status(out->status, &out->st);
	rollout_parse_requests(out, meta);
	if (out->spec.template)
		rollout_template_hash(out->spec.template,
				      out->st.collision_count,
				      out->template_hash);
	return 0;
}

void rollout_release_observed(struct rollout *r)
{
	struct rollout_decisions *st = &r->st;

	free(st->current_pod_hash);
	free(st->stable_rs);
	free(st->step_hash);
	free(st->pause_reason);
	free(st->op_promote);
	free(st->op_promote_full);
	free(st->op_abort);
	free(st->op_retry);
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < r->n_requests; i++) {
		free(r->requests[i].value);
		free(r->requests[i].manager);
		free(r->requests[i].time);
	}
	memset(r->requests, 0, sizeof(r->requests));
	r->n_requests = 0;
	free(r->template_manager);
	free(r->template_time);
	free(r->change_cause);
	r->template_manager = r->template_time = r->change_cause = NULL;
}

void rollout_release(struct rollout *r)
{
	size_t i;

	if (!r)
		return;
	free(r->ns);
	free(r->name);
	free(r->uid);
	free(r->resource_version);
	json_decref(r->spec.selector);
	json_decref(r->spec.template);
	free(r->spec.restart_at);
	for (i = 0; i < r->spec.n_steps; i++)
		rollout_analysis_free(r->spec.steps[i].analysis);
	free(r->spec.steps);
	rollout_analysis_free(r->spec.background);
	rollout_analysis_free(r->spec.pre_promotion);
	rollout_analysis_free(r->spec.post_promotion);
	free(r->spec.stable_service);
	free(r->spec.canary_service);
	free(r->spec.active_service);
	free(r->spec.preview_service);
	for (i = 0; i < r->n_invalid; i++)
		free(r->invalid[i]);
	free(r->invalid);
	json_decref(r->status);
	rollout_release_observed(r);
	memset(r, 0, sizeof(*r));
}

/* ---- The ReplicaSet of a revision ---- */

/* obj[key] as an object, created when absent (borrowed). */
static json_t *object_at(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

static json_t *owner_reference(const struct rollout *r)
{
	return json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion",
			 ROLLOUT_GROUP "/" ROLLOUT_VERSION, "kind",
			 ROLLOUT_KIND, "name", r->name, "uid", r->uid,
			 "controller", 1, "blockOwnerDeletion", 1);
}

json_t *rollout_build_rs(const struct rollout *r, const char *hash,
			 long revision, int replicas)
{
	json_t *tmpl, *selector, *labels, *meta, *spec, *rs;
	char rev[24];

	tmpl = r->spec.template ? json_deep_copy(r->spec.template)
				: json_object();
	json_object_set_new(object_at(object_at(tmpl, "metadata"), "labels"),
			    LABEL_POD_TEMPLATE_HASH, json_string(hash));
	labels = json_deep_copy(
		json_object_get(json_object_get(tmpl, "metadata"), "labels"));
	selector = r->spec.selector ? json_deep_copy(r->spec.selector)
				    : json_object();
	json_object_set_new(object_at(selector, "matchLabels"),
			    LABEL_POD_TEMPLATE_HASH, json_string(hash));
	snprintf(rev, sizeof(rev), "%ld", revision);
	meta = json_pack("{s:s++, s:s, s:o, s:{s:s}, s:o}", "name", r->name,
			 "-", hash, "namespace", r->ns, "labels", labels,
			 "annotations", ANN_REVISION, rev, "ownerReferences",
			 owner_reference(r));
	spec = json_pack("{s:i, s:i, s:o, s:o}", "replicas", replicas,
			 "minReadySeconds", r->spec.min_ready_seconds,
			 "selector", selector, "template", tmpl);
	rs = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "apps/v1", "kind",
		       "ReplicaSet", "metadata", meta, "spec", spec);
	return rs;
}

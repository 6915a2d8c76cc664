/*
 * run_parse: reading analysis metrics (as written in an AnalysisTemplate or
 * an AnalysisRun) into struct metric_spec with every validation rule of
 * run.h, and reading an AnalysisRun's metadata and spec into struct run.
 * Providers are checked by run_provider.c, the status read by
 * run_status.c.
 *
 * Every validation message starts with the JSON path of the field it is
 * about ("metrics[0].prometheus.query: required"), so a user can find the
 * line in their manifest.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/expr.h"
#include "analysis/run.h"
#include "analysis/run_internal.h"
#include "rollout/rollout_internal.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/rfc3339.h"

json_t *run_field(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

/* ---- Typed field readers (run_internal.h) ---- */

int run_get_string(const json_t *o, const char *key, const char *path,
		   bool required, const char **out, char *err, size_t errlen)
{
	json_t *v = run_field(o, key);

	*out = NULL;
	if (v && !json_is_string(v))
		return err_set(err, errlen, ERR_INVAL,
			       "%s.%s: must be a string", path, key);
	if (required && (!v || !*json_string_value(v)))
		return err_set(err, errlen, ERR_INVAL, "%s.%s: required", path,
			       key);
	if (v)
		*out = json_string_value(v);
	return 0;
}

int run_get_int(const json_t *o, const char *key, const char *path, int min,
		int *out, char *err, size_t errlen)
{
	json_t *v = run_field(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) > INT_MAX)
		return err_set(err, errlen, ERR_INVAL,
			       "%s.%s: must be an integer", path, key);
	if (json_integer_value(v) < min)
		return err_set(err, errlen, ERR_INVAL,
			       "%s.%s: must be at least %d", path, key, min);
	*out = (int)json_integer_value(v);
	return 0;
}

int run_get_bool(const json_t *o, const char *key, const char *path, bool *out,
		 char *err, size_t errlen)
{
	json_t *v = run_field(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return err_set(err, errlen, ERR_INVAL,
			       "%s.%s: must be true or false", path, key);
	*out = json_is_true(v);
	return 0;
}

int run_get_duration(const json_t *o, const char *key, const char *path,
		     double *out, char *err, size_t errlen)
{
	json_t *v = run_field(o, key);

	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (double)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		if (rollout_duration_parse(json_string_value(v), out) == 0)
			return 0;
		return err_set(err, errlen, ERR_INVAL,
			       "%s.%s: \"%.64s\" is not a duration (use e.g. "
			       "\"30s\", \"5m\" or \"1h30m\")",
			       path, key, json_string_value(v));
	}
	return err_set(err, errlen, ERR_INVAL,
		       "%s.%s: must be a duration such as \"30s\"", path, key);
}

int run_check_object(const json_t *v, const char *path, char *err,
		     size_t errlen)
{
	if (!json_is_object(v))
		return err_set(err, errlen, ERR_INVAL, "%s: must be an object",
			       path);
	return 0;
}

int run_check_secret_ref(const json_t *v, const char *path, char *err,
			 size_t errlen)
{
	const char *s;
	int rc;

	if ((rc = run_check_object(v, path, err, errlen)) != 0 ||
	    (rc = run_get_string(v, "name", path, true, &s, err, errlen)) != 0)
		return rc;
	return run_get_string(v, "key", path, true, &s, err, errlen);
}

static int parse_condition(const json_t *j, const char *key, const char *path,
			   char **out, char *err, size_t errlen)
{
	char msg[256];
	const char *s;
	int rc;

	if ((rc = run_get_string(j, key, path, false, &s, err, errlen)) != 0)
		return rc;
	if (!s || !*s)
		return 0;
	if (expr_check(s, msg, sizeof(msg)) != 0)
		return err_set(err, errlen, ERR_INVAL, "%s.%s: %s", path, key,
			       msg);
	*out = xstrdup(s);
	return 0;
}

static int parse_threshold(const json_t *j, const char *path,
			   struct metric_spec *m, char *err, size_t errlen)
{
	json_t *t = run_field(j, "thresholdRange");
	json_t *min = run_field(t, "min"), *max = run_field(t, "max");
	char sub[PATH_LEN];
	int rc;

	if (!t)
		return 0;
	run_path(sub, sizeof(sub), path, ".thresholdRange");
	if ((rc = run_check_object(t, sub, err, errlen)) != 0)
		return rc;
	if (m->success || m->failure)
		return err_set(err, errlen, ERR_INVAL,
			       "%s: cannot be combined with successCondition "
			       "or failureCondition",
			       sub);
	if ((min && !json_is_number(min)) || (max && !json_is_number(max)))
		return err_set(err, errlen, ERR_INVAL,
			       "%s: min and max must be numbers", sub);
	if (!min && !max)
		return err_set(err, errlen, ERR_INVAL, "%s: needs min or max",
			       sub);
	m->has_threshold = true;
	m->min = min ? json_number_value(min) : -INFINITY;
	m->max = max ? json_number_value(max) : INFINITY;
	if (m->min > m->max)
		return err_set(err, errlen, ERR_INVAL,
			       "%s: min %g is greater than max %g", sub, m->min,
			       m->max);
	return 0;
}

static int parse_schedule(const json_t *j, const char *path,
			  struct metric_spec *m, char *err, size_t errlen)
{
	int rc;

	if ((rc = run_get_duration(j, "interval", path, &m->interval_s, err,
				   errlen)) ||
	    (rc = run_get_duration(j, "initialDelay", path, &m->initial_delay_s,
				   err, errlen)) ||
	    (rc = run_get_int(j, "count", path, 0, &m->count, err, errlen)))
		return rc;
	if (run_field(j, "interval") && m->interval_s <= 0)
		return err_set(err, errlen, ERR_INVAL,
			       "%s.interval: must be greater than 0", path);
	if (m->count > 1 && m->interval_s <= 0)
		return err_set(err, errlen, ERR_INVAL,
			       "%s.interval: required when count is more "
			       "than 1",
			       path);
	return 0;
}

static int parse_metric(const json_t *j, const char *path,
			struct metric_spec *m, char *err, size_t errlen)
{
	const char *name;
	int rc;

	m->failure_limit = 0;
	m->inconclusive_limit = 0;
	m->consecutive_error_limit = 4;
	if ((rc = run_check_object(j, path, err, errlen)) != 0 ||
	    (rc = run_get_string(j, "name", path, true, &name, err, errlen)) !=
		    0)
		return rc;
	m->name = xstrdup(name);
	if ((rc = parse_schedule(j, path, m, err, errlen)) ||
	    (rc = run_get_int(j, "failureLimit", path, -1, &m->failure_limit,
			      err, errlen)) ||
	    (rc = run_get_int(j, "inconclusiveLimit", path, -1,
			      &m->inconclusive_limit, err, errlen)) ||
	    (rc = run_get_int(j, "consecutiveErrorLimit", path, -1,
			      &m->consecutive_error_limit, err, errlen)) ||
	    (rc = run_get_bool(j, "dryRun", path, &m->dry_run, err, errlen)) ||
	    (rc = parse_condition(j, "successCondition", path, &m->success, err,
				  errlen)) ||
	    (rc = parse_condition(j, "failureCondition", path, &m->failure, err,
				  errlen)) ||
	    (rc = parse_threshold(j, path, m, err, errlen)))
		return rc;
	return run_provider_parse(j, path, m, err, errlen);
}

int metrics_parse(const json_t *metrics, struct metric_spec **out, size_t *n,
		  char *err, size_t errlen)
{
	struct metric_spec *m = NULL;
	char path[PATH_LEN];
	size_t i = 0, cnt;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_array(metrics))
		return err_set(err, errlen, ERR_INVAL,
			       "metrics: must be a list");
	cnt = json_array_size(metrics);
	if (cnt == 0)
		return err_set(err, errlen, ERR_INVAL,
			       "metrics: at least one metric is required");
	if (cnt > RUN_METRICS_MAX)
		return err_set(err, errlen, ERR_INVAL,
			       "metrics: at most %d metrics, got %zu",
			       RUN_METRICS_MAX, cnt);
	m = xcalloc(cnt, sizeof(*m));
	for (i = 0; i < cnt; i++) {
		snprintf(path, sizeof(path), "metrics[%zu]", i);
		rc = parse_metric(json_array_get(metrics, i), path, &m[i], err,
				  errlen);
		if (rc != 0) {
			i++;
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(m[k].name, m[i].name) == 0) {
				rc = err_set(err, errlen, ERR_INVAL,
					     "%s.name: \"%.64s\" is already "
					     "the name of metrics[%zu]",
					     path, m[i].name, k);
				i++;
				goto out;
			}
	}
out:
	if (rc != 0) {
		metrics_release(m, i);
		return rc;
	}
	*out = m;
	*n = cnt;
	return 0;
}

void metrics_release(struct metric_spec *m, size_t n)
{
	if (!m)
		return;
	for (size_t i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].success);
		free(m[i].failure);
		json_decref(m[i].provider_spec);
	}
	free(m);
}

/* ---- AnalysisRun ---- */

static void add_invalid(struct run *r, const char *msg)
{
	char *old = r->invalid;

	r->invalid = old ? xasprintf("%s; %s", old, msg) : xstrdup(msg);
	free(old);
}

static const char *meta_string(const json_t *meta, const char *key)
{
	json_t *v = run_field(meta, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* One spec.args item: {name, value} or {name, valueFrom.secretKeyRef}. */
static int parse_arg(const json_t *a, const char *path, struct run_arg *out,
		     char *err, size_t errlen)
{
	json_t *ref = run_field(run_field(a, "valueFrom"), "secretKeyRef");
	const char *name, *value;
	char sub[PATH_LEN];
	int rc;

	if ((rc = run_check_object(a, path, err, errlen)) ||
	    (rc = run_get_string(a, "name", path, true, &name, err, errlen)) ||
	    (rc = run_get_string(a, "value", path, false, &value, err, errlen)))
		return rc;
	out->name = xstrdup(name);
	if (value) {
		out->value = xstrdup(value);
		return 0;
	}
	if (!ref)
		return err_set(err, errlen, ERR_INVAL,
			       "%s: needs value or valueFrom.secretKeyRef",
			       path);
	run_path(sub, sizeof(sub), path, ".valueFrom.secretKeyRef");
	if ((rc = run_check_secret_ref(ref, sub, err, errlen)) != 0)
		return rc;
	out->secret_name = xstrdup(json_string_value(run_field(ref, "name")));
	out->secret_key = xstrdup(json_string_value(run_field(ref, "key")));
	return 0;
}

static void parse_args(struct run *r, const json_t *args)
{
	char path[PATH_LEN], err[512];

	if (!args)
		return;
	if (!json_is_array(args)) {
		add_invalid(r, "spec.args: must be a list");
		return;
	}
	r->args = xcalloc(json_array_size(args) + 1, sizeof(*r->args));
	for (size_t i = 0; i < json_array_size(args); i++) {
		snprintf(path, sizeof(path), "spec.args[%zu]", i);
		r->n_args++;
		if (parse_arg(json_array_get(args, i), path, &r->args[i], err,
			      sizeof(err)) != 0) {
			add_invalid(r, err);
			return;
		}
	}
}

static void parse_spec(struct run *r, const json_t *spec)
{
	char err[512], msg[520];
	int rc;

	if (!json_is_object(spec)) {
		add_invalid(r, spec ? "spec: must be an object"
				    : "spec: required");
		return;
	}
	rc = run_get_int(spec, "measurementRetention", "spec", 1, &r->retention,
			 err, sizeof(err));
	if (rc == 0 && r->retention > RUN_RETENTION_MAX)
		rc = err_set(err, sizeof(err), ERR_INVAL,
			     "spec.measurementRetention: must be at most %d",
			     RUN_RETENTION_MAX);
	if (rc != 0) {
		r->retention = RUN_RETENTION_DEFAULT;
		add_invalid(r, err);
	}
	if (run_get_bool(spec, "terminate", "spec", &r->terminate, err,
			 sizeof(err)) != 0)
		add_invalid(r, err);
	parse_args(r, run_field(spec, "args"));
	if (!run_field(spec, "metrics")) {
		add_invalid(r, "spec.metrics: at least one metric is required");
		return;
	}
	if (metrics_parse(run_field(spec, "metrics"), &r->metrics,
			  &r->n_metrics, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "spec.%s", err);
		add_invalid(r, msg);
	}
	/* the status stays far below the API's object size limit */
	if (r->n_metrics > 0 &&
	    (size_t)r->retention * r->n_metrics > RUN_MEASUREMENTS_MAX)
		r->retention = (int)(RUN_MEASUREMENTS_MAX / r->n_metrics);
}

int run_parse(const json_t *obj, struct run *r, char *err, size_t errlen)
{
	json_t *meta = run_field(obj, "metadata");
	const char *name = meta_string(meta, "name");
	double created;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(obj) || !name || !*name)
		return err_set(err, errlen, ERR_PARSE,
			       "AnalysisRun: metadata.name is required");
	r->name = xstrdup(name);
	r->ns = dup_or_null(meta_string(meta, "namespace"));
	r->uid = dup_or_null(meta_string(meta, "uid"));
	r->resource_version = dup_or_null(meta_string(meta, "resourceVersion"));
	r->retention = RUN_RETENTION_DEFAULT;
	parse_spec(r, run_field(obj, "spec"));
	if (rfc3339_parse(meta_string(meta, "creationTimestamp"), &created) ==
	    0)
		r->started_at = created;
	r->results = xcalloc(r->n_metrics + 1, sizeof(*r->results));
	run_status_parse(r, run_field(obj, "status"));
	return 0;
}

void measurement_release(struct measurement *m)
{
	if (!m)
		return;
	free(m->value);
	free(m->message);
	free(m->job_name);
	memset(m, 0, sizeof(*m));
}

void run_release(struct run *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->results && i < r->n_metrics; i++) {
		for (size_t k = 0; k < r->results[i].n_m; k++)
			measurement_release(&r->results[i].m[k]);
		free(r->results[i].m);
		free(r->results[i].message);
	}
	free(r->results);
	metrics_release(r->metrics, r->n_metrics);
	for (size_t i = 0; i < r->n_args; i++) {
		free(r->args[i].name);
		free(r->args[i].value);
		free(r->args[i].secret_name);
		free(r->args[i].secret_key);
	}
	free(r->args);
	free(r->ns);
	free(r->name);
	free(r->uid);
	free(r->resource_version);
	free(r->message);
	free(r->invalid);
	memset(r, 0, sizeof(*r));
}

const char *run_arg_value(const struct run *r, const char *name)
{
	for (size_t i = 0; i < r->n_args; i++)
		if (r->args[i].name && strcmp(r->args[i].name, name) == 0)
			return r->args[i].value;
	return NULL;
}

void run_path(char *out, size_t len, const char *base, const char *suffix)
{
	size_t n = 0;

	for (; *base && n + 1 < len; base++)
		out[n++] = *base;
	for (; *suffix && n + 1 < len; suffix++)
		out[n++] = *suffix;
	out[n] = '\0';
}

/*
 * run_internal: what the files of the analysis run module share and nothing
 * else includes (except the unit test). run_parse.c reads metrics, specs
 * and args, run_provider.c checks providers; run_status.c reads and writes
 * status and its times; run.c holds the verdict, phase and scheduling rules;
 * run_build.c creates runs. Pure functions, thread-safe on distinct objects.
 */
#ifndef KNIT_ANALYSIS_RUN_INTERNAL_H
#define KNIT_ANALYSIS_RUN_INTERNAL_H

#include <jansson.h>

#include "analysis/run.h"

#define RUN_RETENTION_DEFAULT 10
#define RUN_RETENTION_MAX     100
/* At most this many metrics per template or run, and measurements kept
 * per run (retention is lowered to fit): with values and messages capped,
 * a run's status stays well under 1 MiB. */
#define RUN_METRICS_MAX	     20
#define RUN_MEASUREMENTS_MAX 200

/* Room for a field path in a message ("metrics[3].provider.web..."). */
#define PATH_LEN 192

/* base followed by suffix into out (len > 0), cut to fit: field paths
 * are only for messages. */
void run_path(char *out, size_t len, const char *base, const char *suffix);

/* A member of `obj` (borrowed), NULL when obj is not an object or the
 * member is absent or null. */
json_t *run_field(const json_t *obj, const char *key);

/*
 * Typed readers of member `key` of `o` for validation (run_parse.c): an
 * absent or null member leaves *out at its default (*out is NULL for
 * strings) and returns 0; a wrong one returns ERR_INVAL with a message
 * "<path>.<key>: ..." in err. Strings are borrowed from o; `required`
 * also rejects "". Integers are checked against `min`. Durations are
 * strings ("30s", "1m30s", see rollout_duration_parse) or whole seconds.
 */
int run_get_string(const json_t *o, const char *key, const char *path,
		   bool required, const char **out, char *err, size_t errlen);
int run_get_int(const json_t *o, const char *key, const char *path, int min,
		int *out, char *err, size_t errlen);
int run_get_bool(const json_t *o, const char *key, const char *path, bool *out,
		 char *err, size_t errlen);
int run_get_duration(const json_t *o, const char *key, const char *path,
		     double *out, char *err, size_t errlen);
/* ERR_INVAL "<path>: must be an object" unless v is an object. */
int run_check_object(const json_t *v, const char *path, char *err,
		     size_t errlen);
/* v is {name, key}, both non-empty strings. */
int run_check_secret_ref(const json_t *v, const char *path, char *err,
			 size_t errlen);

/*
 * Finds a metric's one provider, either under `provider` (as Argo Rollouts
 * writes it) or directly in the metric `j` at `path`, checks it and sets
 * m->provider and m->provider_spec (a copy with defaults filled in: a
 * timeout of "10s"). 0 or ERR_INVAL with a message (run_provider.c).
 */
int run_provider_parse(const json_t *j, const char *path, struct metric_spec *m,
		       char *err, size_t errlen);

/*
 * Fills r->results (already allocated, n_metrics zeroed entries) and the
 * run's phase, message and startedAt from `status` (borrowed; may be NULL).
 * Results are matched to metrics by name; others are dropped; at most
 * r->retention measurements (the newest) are kept per metric.
 */
void run_status_parse(struct run *r, const json_t *status);

/*
 * Writes t (Unix seconds) as "YYYY-MM-DDTHH:MM:SS.mmmZ" (rounded to the
 * millisecond) into out; 32 bytes are enough. An empty string when t is
 * not between 1970 and 9999 or does not fit.
 */
void run_time_format(double t, char *out, size_t len);

/* Measurements metric m takes in all: its count, 1 without an interval,
 * 0 (unbounded) with an interval and no count. */
int run_metric_want(const struct metric_spec *m);

#endif

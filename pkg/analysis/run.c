/*
 * run: the pure rules of analysis (run.h) -- the verdict of one result
 * (run_judge), what a metric needs next (run_metric_due), recording a
 * measurement and the metric and run phases that follow (run_record), and
 * finishing terminated or invalid runs (run_finish). Parsing lives in
 * run_parse.c, the status JSON in run_status.c, building runs in
 * run_build.c.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/expr.h"
#include "analysis/run.h"
#include "analysis/run_internal.h"

/* A metric without interval retries an Error after this long. */
#define ERROR_RETRY_S 5.0
#include "util/alloc.h"
#include "util/buf.h"

const struct kube_resource KNIT_ANALYSISRUNS = {
	"knit.dev", "v1alpha1", "analysisruns", "AnalysisRun", true};
const struct kube_resource KNIT_ANALYSISTEMPLATES = {
	"knit.dev", "v1alpha1", "analysistemplates", "AnalysisTemplate", true};
const struct kube_resource KNIT_CLUSTERANALYSISTEMPLATES = {
	"knit.dev", "v1alpha1", "clusteranalysistemplates",
	"ClusterAnalysisTemplate", false};

/* Bounds of the strings quoted in messages. */
#define VALUE_MAX   96
#define MESSAGE_MAX 4096
/* Bounds of a stored measurement's value and message: with up to
 * RUN_RETENTION_MAX of them per metric the run's status must stay well
 * below the API server's object size limit. */
#define M_VALUE_MAX   256
#define M_MESSAGE_MAX 1024

static const char *const PHASES[] = {"Pending", "Running", "Successful",
				     "Failed",	"Error",   "Inconclusive"};

const char *mphase_name(enum mphase p)
{
	if ((unsigned)p >= sizeof(PHASES) / sizeof(PHASES[0]))
		return "Unknown";
	return PHASES[p];
}

int mphase_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof(PHASES) / sizeof(PHASES[0]); i++)
		if (strcmp(PHASES[i], s) == 0)
			return (int)i;
	return -1;
}

bool mphase_done(enum mphase p)
{
	return p == MPHASE_SUCCESSFUL || p == MPHASE_FAILED ||
	       p == MPHASE_ERROR || p == MPHASE_INCONCLUSIVE;
}

int run_metric_want(const struct metric_spec *m)
{
	if (m->count > 0)
		return m->count;
	return m->interval_s > 0 ? 0 : 1;
}

/* ---- Verdict ---- */

/*
 * Checks every number of v against [min, max]: 0 when all are inside, 1
 * with *bad set to the first outside, -1 with a reason when v has no
 * numbers to check (empty, NaN, not a number).
 */
static int threshold_walk(const struct aval *v, double min, double max,
			  double *bad, const char **why)
{
	int rc;

	if (v->kind == AVAL_LIST) {
		if (v->n == 0) {
			*why = "the result is empty";
			return -1;
		}
		for (size_t i = 0; i < v->n; i++)
			if ((rc = threshold_walk(&v->items[i], min, max, bad,
						 why)) != 0)
				return rc;
		return 0;
	}
	if (v->kind != AVAL_NUMBER) {
		*why = "thresholdRange needs numbers";
		return -1;
	}
	if (isnan(v->num)) {
		*why = "result is NaN";
		return -1;
	}
	if (v->num < min || v->num > max) {
		*bad = v->num;
		return 1;
	}
	return 0;
}

static void judge_threshold(const struct metric_spec *m,
			    const struct aval *result, const char *val,
			    enum mphase *phase, char *msg, size_t msglen)
{
	const char *why = NULL;
	double bad = 0;
	int rc = threshold_walk(result, m->min, m->max, &bad, &why);

	if (rc == 0) {
		*phase = MPHASE_SUCCESSFUL;
	} else if (rc < 0) {
		*phase = MPHASE_ERROR;
		snprintf(msg, msglen, "%s (result %s)", why, val);
	} else if (bad < m->min) {
		*phase = MPHASE_FAILED;
		snprintf(msg, msglen,
			 "result %s is outside thresholdRange: %g is below min "
			 "%g",
			 val, bad, m->min);
	} else {
		*phase = MPHASE_FAILED;
		snprintf(msg, msglen,
			 "result %s is outside thresholdRange: %g is above max "
			 "%g",
			 val, bad, m->max);
	}
}

/* Evaluates one condition; false with *phase = ERROR and msg set when it
 * cannot be evaluated. */
static bool eval_condition(const char *cond, const struct aval *result,
			   const char *val, bool *out, enum mphase *phase,
			   char *msg, size_t msglen)
{
	char e[256];

	if (expr_eval_bool(cond, result, out, e, sizeof(e)) == 0)
		return true;
	*phase = MPHASE_ERROR;
	snprintf(msg, msglen, "%s (condition %.128s, result %s)", e, cond, val);
	return false;
}

static void judge_conditions(const struct metric_spec *m,
			     const struct aval *result, const char *val,
			     enum mphase *phase, char *msg, size_t msglen)
{
	bool ok = false, failed = false;

	if (m->failure && !eval_condition(m->failure, result, val, &failed,
					  phase, msg, msglen))
		return;
	if (failed) {
		*phase = MPHASE_FAILED;
		snprintf(msg, msglen,
			 "result %s satisfies failureCondition %.128s", val,
			 m->failure);
		return;
	}
	if (!m->success) {
		*phase = MPHASE_SUCCESSFUL;
		return;
	}
	if (!eval_condition(m->success, result, val, &ok, phase, msg, msglen))
		return;
	if (ok) {
		*phase = MPHASE_SUCCESSFUL;
	} else if (m->failure) {
		*phase = MPHASE_INCONCLUSIVE;
		snprintf(msg, msglen,
			 "result %s satisfies neither successCondition %.128s "
			 "nor failureCondition %.128s",
			 val, m->success, m->failure);
	} else {
		*phase = MPHASE_FAILED;
		snprintf(msg, msglen, "result %s does not satisfy %.128s", val,
			 m->success);
	}
}

void run_judge(const struct metric_spec *m, const struct aval *result,
	       enum mphase *phase, char *msg, size_t msglen)
{
	char *val = aval_format(result, VALUE_MAX);

	if (msglen > 0)
		msg[0] = '\0';
	*phase = MPHASE_SUCCESSFUL;
	if (m->has_threshold)
		judge_threshold(m, result, val, phase, msg, msglen);
	else if (m->success || m->failure)
		judge_conditions(m, result, val, phase, msg, msglen);
	free(val);
}

/* ---- Scheduling ---- */

static bool run_stopped(const struct run *r)
{
	return r->invalid || r->terminate || mphase_done(r->phase);
}

enum run_due run_metric_due(const struct run *r, size_t i, double now,
			    double *next_at)
{
	const struct metric_spec *s;
	const struct metric_result *res;
	const struct measurement *last;
	double due;
	int want;

	*next_at = 0;
	if (i >= r->n_metrics || !r->results || run_stopped(r))
		return DUE_NONE;
	s = &r->metrics[i];
	res = &r->results[i];
	if (mphase_done(res->phase))
		return DUE_NONE;
	last = res->n_m ? &res->m[res->n_m - 1] : NULL;
	if (last && last->phase == MPHASE_RUNNING)
		return DUE_CHECK_JOB;
	want = run_metric_want(s);
	if (want > 0 && res->count - res->error >= want)
		return DUE_NONE;
	if (!last && res->count == 0)
		due = (r->started_at > 0 ? r->started_at : now) +
		      s->initial_delay_s;
	else if (last && last->phase == MPHASE_ERROR && s->interval_s <= 0)
		due = last->started_at + ERROR_RETRY_S;
	else if (last)
		due = last->started_at + s->interval_s;
	else
		due = now;
	*next_at = due;
	return due <= now ? DUE_MEASURE : DUE_NONE;
}

/* ---- Recording ---- */

static void set_message(char **dst, const char *s)
{
	free(*dst);
	*dst = s && *s ? xstrdup(s) : NULL;
}

/* ": <msg>" or "" */
static const char *sep(const char *msg)
{
	return msg && *msg ? ": " : "";
}

static const char *orempty(const char *msg)
{
	return msg ? msg : "";
}

/* The metric's phase and message from its counters; `last` is the newest
 * measurement. */
static void metric_update(const struct metric_spec *s,
			  struct metric_result *res,
			  const struct measurement *last)
{
	const char *lm = last ? last->message : NULL;
	int want = run_metric_want(s);
	char *msg = NULL;

	if (s->failure_limit >= 0 && res->failed > s->failure_limit) {
		res->phase = MPHASE_FAILED;
		msg = xasprintf("failed %d of %d measurements (limit %d)%s%s",
				res->failed, res->count, s->failure_limit,
				sep(lm), orempty(lm));
	} else if (s->inconclusive_limit >= 0 &&
		   res->inconclusive > s->inconclusive_limit) {
		res->phase = MPHASE_INCONCLUSIVE;
		msg = xasprintf(
			"inconclusive %d of %d measurements (limit %d)%s%s",
			res->inconclusive, res->count, s->inconclusive_limit,
			sep(lm), orempty(lm));
	} else if (s->consecutive_error_limit >= 0 &&
		   res->consecutive_error > s->consecutive_error_limit) {
		res->phase = MPHASE_ERROR;
		msg = xasprintf("%d consecutive errors (limit %d)%s%s",
				res->consecutive_error,
				s->consecutive_error_limit, sep(lm),
				orempty(lm));
	} else if (want > 0 && res->count - res->error >= want) {
		res->phase = res->successful > 0 ? MPHASE_SUCCESSFUL
						 : MPHASE_INCONCLUSIVE;
		msg = res->successful > 0
			      ? xasprintf("%d of %d measurements successful",
					  res->successful, res->count)
			      : xasprintf("no successful measurement in %d",
					  res->count);
	} else {
		res->phase = MPHASE_RUNNING;
		if (res->consecutive_error > 0)
			msg = xasprintf("%d consecutive errors%s%s",
					res->consecutive_error, sep(lm),
					orempty(lm));
	}
	free(res->message);
	res->message = msg;
}

/* n + 1, saturating (counters read back from status may be INT_MAX). */
static void bump(int *n)
{
	if (*n < INT_MAX)
		(*n)++;
}

static void count_measurement(struct metric_result *res, enum mphase p)
{
	bump(&res->count);
	if (p == MPHASE_ERROR) {
		bump(&res->error);
		bump(&res->consecutive_error);
		return;
	}
	res->consecutive_error = 0;
	if (p == MPHASE_SUCCESSFUL)
		bump(&res->successful);
	else if (p == MPHASE_FAILED)
		bump(&res->failed);
	else if (p == MPHASE_INCONCLUSIVE)
		bump(&res->inconclusive);
}

/* Cuts *s to at most max bytes (not inside a UTF-8 sequence), marking
 * the cut with "...". */
static void cap_string(char **s, size_t max)
{
	size_t n;

	if (!*s || strlen(*s) <= max)
		return;
	n = max - 3;
	while (n > 0 && ((unsigned char)(*s)[n] & 0xc0) == 0x80)
		n--;
	memcpy(*s + n, "...", 4);
}

/* Stores m as the newest measurement of res (see run_record); returns it. */
static struct measurement *store(struct metric_result *res,
				 struct measurement *m, int retention,
				 double now)
{
	struct measurement *last = res->n_m ? &res->m[res->n_m - 1] : NULL;

	/* res->m holds res->n_m entries: never NULL while n_m > 0. */
	assert(res->n_m == 0 || res->m != NULL);
	cap_string(&m->value, M_VALUE_MAX);
	cap_string(&m->message, M_MESSAGE_MAX);
	if (last && last->phase == MPHASE_RUNNING && mphase_done(m->phase)) {
		if (m->started_at == 0)
			m->started_at =
				last->started_at ? last->started_at : now;
		if (!m->job_name) {
			m->job_name = last->job_name;
			last->job_name = NULL;
		}
		measurement_release(last);
		*last = *m;
		return last;
	}
	if (m->started_at == 0)
		m->started_at = now;
	if (retention < 1)
		retention = 1;
	while (res->n_m >= (size_t)retention) {
		measurement_release(&res->m[0]);
		memmove(res->m, res->m + 1, (res->n_m - 1) * sizeof(*res->m));
		res->n_m--;
	}
	res->m = xrealloc(res->m, (res->n_m + 1) * sizeof(*res->m));
	res->m[res->n_m] = *m;
	return &res->m[res->n_m++];
}

/* Appends "; dry-run metric \"x\" Failed: msg" for each dry-run metric
 * that did not succeed. */
static void note_dry_runs(const struct run *r, struct buf *b)
{
	for (size_t i = 0; i < r->n_metrics; i++) {
		const struct metric_result *res = &r->results[i];

		if (!r->metrics[i].dry_run || !mphase_done(res->phase) ||
		    res->phase == MPHASE_SUCCESSFUL)
			continue;
		buf_printf(b, "%sdry-run metric \"%s\" %s%s%s",
			   b->len ? "; " : "", r->metrics[i].name,
			   mphase_name(res->phase), sep(res->message),
			   orempty(res->message));
	}
}

/* The first non-dry-run metric in phase p, or -1. */
static long first_in(const struct run *r, enum mphase p)
{
	for (size_t i = 0; i < r->n_metrics; i++)
		if (!r->metrics[i].dry_run && r->results[i].phase == p)
			return (long)i;
	return -1;
}

/* The run's phase and message from its metrics (run.h, "Run phase"). */
static void run_update(struct run *r)
{
	static const enum mphase BAD[] = {MPHASE_FAILED, MPHASE_ERROR,
					  MPHASE_INCONCLUSIVE};
	bool all_done = true, measured = false;
	struct buf b;
	long k = -1;

	if (r->invalid) {
		r->phase = MPHASE_ERROR;
		set_message(&r->message, r->invalid);
		return;
	}
	buf_init(&b, MESSAGE_MAX);
	for (size_t i = 0; i < 3 && k < 0; i++)
		if ((k = first_in(r, BAD[i])) >= 0) {
			r->phase = BAD[i];
			buf_printf(&b, "metric \"%s\" %s%s%s",
				   r->metrics[k].name, mphase_name(BAD[i]),
				   sep(r->results[k].message),
				   orempty(r->results[k].message));
		}
	for (size_t i = 0; i < r->n_metrics; i++) {
		all_done = all_done && mphase_done(r->results[i].phase);
		measured = measured || r->results[i].n_m > 0 ||
			   r->results[i].count > 0;
	}
	if (k < 0 && all_done) {
		r->phase = MPHASE_SUCCESSFUL;
		if (r->terminate)
			buf_puts(&b, "terminated");
	} else if (k < 0) {
		r->phase = measured ? MPHASE_RUNNING : MPHASE_PENDING;
	}
	note_dry_runs(r, &b);
	set_message(&r->message, b.data);
	buf_release(&b);
}

void run_record(struct run *r, size_t i, struct measurement *m, double now)
{
	struct metric_result *res;
	struct measurement *stored;

	if (i >= r->n_metrics || !r->results) {
		measurement_release(m);
		return;
	}
	res = &r->results[i];
	if (r->started_at == 0)
		r->started_at = now;
	if (mphase_done(m->phase) && m->finished_at == 0)
		m->finished_at = now;
	stored = store(res, m, r->retention, now);
	memset(m, 0, sizeof(*m));
	if (mphase_done(stored->phase))
		count_measurement(res, stored->phase);
	if (!mphase_done(res->phase))
		metric_update(&r->metrics[i], res, stored);
	run_update(r);
}

/* ---- Finishing ---- */

/* Ends metric i as Successful "terminated", with its running Job
 * measurement, if any. */
static void terminate_metric(struct metric_result *res, double now)
{
	struct measurement *last = res->n_m ? &res->m[res->n_m - 1] : NULL;

	if (last && last->phase == MPHASE_RUNNING) {
		last->phase = MPHASE_SUCCESSFUL;
		last->finished_at = now;
		set_message(&last->message, "terminated");
	}
	res->phase = MPHASE_SUCCESSFUL;
	set_message(&res->message, "terminated");
}

bool run_finish(struct run *r, double now)
{
	bool same;

	if (r->invalid) {
		same = r->phase == MPHASE_ERROR && r->message &&
		       strcmp(r->message, r->invalid) == 0;
		run_update(r);
		return !same;
	}
	if (!r->terminate || mphase_done(r->phase) || !r->results)
		return false;
	for (size_t i = 0; i < r->n_metrics; i++)
		if (!mphase_done(r->results[i].phase))
			terminate_metric(&r->results[i], now);
	run_update(r);
	return true;
}

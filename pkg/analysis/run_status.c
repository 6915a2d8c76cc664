/*
 * run_status: an AnalysisRun's status as JSON, both ways. run_status_json()
 * writes what run.h describes; run_status_parse() reads it back so that
 * parsing a written status gives the same status again (times are kept to
 * the millisecond, which is what is written).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/run.h"
#include "analysis/run_internal.h"
#include "util/alloc.h"
#include "util/rfc3339.h"

/* 9999-12-31T23:59:59.999Z in milliseconds. */
#define TIME_MAX_MS 253402300799999LL

void run_time_format(double t, char *out, size_t len)
{
	long long ms;
	time_t secs;
	struct tm tm;
	int n;

	if (len > 0)
		out[0] = '\0';
	if (!isfinite(t) || t < 0 || t * 1000.0 > (double)TIME_MAX_MS)
		return;
	ms = llround(t * 1000.0);
	if (ms > TIME_MAX_MS)
		return;
	secs = (time_t)(ms / 1000);
	if (!gmtime_r(&secs, &tm))
		return;
	n = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0';
}

/* ---- Writing ---- */

static void set_time(json_t *o, const char *key, double t)
{
	char buf[32];

	if (t == 0)
		return;
	run_time_format(t, buf, sizeof(buf));
	if (buf[0])
		json_object_set_new(o, key, json_string(buf));
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n = s[0] < 0x80	 ? 1
		   : s[0] < 0xc2 ? 0
		   : s[0] < 0xe0 ? 2
		   : s[0] < 0xf0 ? 3
		   : s[0] < 0xf5 ? 4
				 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 &&
	    ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return 0;
	if (n == 4 &&
	    ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

/* A JSON string of s; bytes that are not UTF-8 (a message cut in the
 * middle of a character) become '?'. */
static json_t *text_json(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = xstrdup(s);
	for (size_t i = 0; copy[i];) {
		size_t n = utf8_seq((const unsigned char *)copy + i);

		if (n == 0)
			copy[i++] = '?';
		else
			i += n;
	}
	j = json_string(copy);
	free(copy);
	return j;
}

static void set_string(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, text_json(s));
}

static json_t *measurement_json(const struct measurement *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "phase", json_string(mphase_name(m->phase)));
	set_string(o, "value", m->value);
	set_string(o, "message", m->message);
	set_time(o, "startedAt", m->started_at);
	set_time(o, "finishedAt", m->finished_at);
	if (m->job_name)
		json_object_set_new(
			o, "metadata",
			json_pack("{s:o}", "jobName", text_json(m->job_name)));
	return o;
}

static json_t *result_json(const struct metric_spec *s,
			   const struct metric_result *res)
{
	json_t *o = json_object(), *ms = json_array();

	json_object_set_new(o, "name", text_json(s->name));
	json_object_set_new(o, "phase", json_string(mphase_name(res->phase)));
	set_string(o, "message", res->message);
	json_object_set_new(o, "count", json_integer(res->count));
	json_object_set_new(o, "successful", json_integer(res->successful));
	json_object_set_new(o, "failed", json_integer(res->failed));
	json_object_set_new(o, "inconclusive", json_integer(res->inconclusive));
	json_object_set_new(o, "error", json_integer(res->error));
	json_object_set_new(o, "consecutiveError",
			    json_integer(res->consecutive_error));
	if (s->dry_run)
		json_object_set_new(o, "dryRun", json_true());
	for (size_t k = 0; k < res->n_m; k++)
		json_array_append_new(ms, measurement_json(&res->m[k]));
	json_object_set_new(o, "measurements", ms);
	return o;
}

json_t *run_status_json(const struct run *r)
{
	json_t *st = json_object(), *results = json_array();

	json_object_set_new(st, "phase", json_string(mphase_name(r->phase)));
	set_string(st, "message", r->message);
	set_time(st, "startedAt", r->started_at);
	for (size_t i = 0; r->results && i < r->n_metrics; i++)
		json_array_append_new(
			results, result_json(&r->metrics[i], &r->results[i]));
	json_object_set_new(st, "metricResults", results);
	return st;
}

/* ---- Reading ---- */

static char *get_string(const json_t *o, const char *key)
{
	json_t *v = run_field(o, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static double get_time(const json_t *o, const char *key)
{
	json_t *v = run_field(o, key);
	char text[32];
	double t = 0;

	if (!json_is_string(v) || rfc3339_parse(json_string_value(v), &t) != 0)
		return 0;
	/* only times that can be written back (1970 to 9999) */
	run_time_format(t, text, sizeof(text));
	return text[0] ? t : 0;
}

/* A counter: a non-negative integer, clamped to int. */
static int get_count(const json_t *o, const char *key)
{
	json_t *v = run_field(o, key);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

	if (n < 0)
		return 0;
	return n > INT_MAX ? INT_MAX : (int)n;
}

static enum mphase get_phase(const json_t *o, enum mphase unknown)
{
	json_t *v = run_field(o, "phase");
	int p = json_is_string(v) ? mphase_parse(json_string_value(v)) : -1;

	return p < 0 ? unknown : (enum mphase)p;
}

static void measurement_parse(const json_t *j, struct measurement *m)
{
	memset(m, 0, sizeof(*m));
	m->phase = get_phase(j, MPHASE_ERROR);
	m->value = get_string(j, "value");
	m->message = get_string(j, "message");
	m->started_at = get_time(j, "startedAt");
	m->finished_at = get_time(j, "finishedAt");
	m->job_name = get_string(run_field(j, "metadata"), "jobName");
}

static void result_parse(const json_t *j, struct metric_result *res,
			 int retention)
{
	json_t *ms = run_field(j, "measurements");
	size_t n = json_is_array(ms) ? json_array_size(ms) : 0, first = 0;

	res->phase = get_phase(j, MPHASE_PENDING);
	res->message = get_string(j, "message");
	res->count = get_count(j, "count");
	res->successful = get_count(j, "successful");
	res->failed = get_count(j, "failed");
	res->inconclusive = get_count(j, "inconclusive");
	res->error = get_count(j, "error");
	res->consecutive_error = get_count(j, "consecutiveError");
	if (retention > 0 && n > (size_t)retention)
		first = n - (size_t)retention;
	res->m = xcalloc(n - first + 1, sizeof(*res->m));
	for (size_t k = first; k < n; k++) {
		json_t *mj = json_array_get(ms, k);

		if (json_is_object(mj))
			measurement_parse(mj, &res->m[res->n_m++]);
	}
}

static const json_t *find_result(const json_t *results, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(results, i, v)
	{
		json_t *n = run_field(v, "name");

		if (json_is_string(n) &&
		    strcmp(json_string_value(n), name) == 0)
			return v;
	}
	return NULL;
}

void run_status_parse(struct run *r, const json_t *status)
{
	json_t *results = run_field(status, "metricResults");
	double t;

	r->phase = get_phase(status, MPHASE_PENDING);
	r->message = get_string(status, "message");
	t = get_time(status, "startedAt");
	if (t != 0)
		r->started_at = t;
	if (!json_is_array(results))
		return;
	for (size_t i = 0; i < r->n_metrics; i++) {
		const json_t *j = find_result(results, r->metrics[i].name);

		if (j)
			result_parse(j, &r->results[i], r->retention);
	}
}

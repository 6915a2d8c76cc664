/*
 * fuzz_run: libFuzzer target for the AnalysisRun module (analysis/run.h):
 * metrics_parse(), run_parse(), the verdict and phase rules and
 * run_status_json().
 *
 * Input layout: one JSON document (parsed with JSON_DISABLE_EOF_CHECK), then
 * any bytes, which choose the synthetic measurements (what is missing comes
 * from a hash of the whole input, so every input is deterministic).
 *   - An array is given to metrics_parse().
 *   - An object's "metrics" member is given to metrics_parse(); the object
 *     itself to run_parse(). A parsed run is finished (run_finish), asked
 *     what each metric needs (run_metric_due), judged against the object's
 *     "result" member (when aval_from_json accepts it), fed measurements
 *     (run_record), and its status is written, put back into the object and
 *     parsed again.
 *
 * Checked (abort on a mismatch): failures come with a message; parsed
 * metrics have a name, an object provider spec, limits >= -1 and min <=
 * max; verdicts are final phases with a message unless Successful; phases
 * stay in range; an invalid run is Error; written status parses back to
 * the same status (the round trip of run.h).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analysis/run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1800000000.0

struct knobs {
	const uint8_t *p;
	size_t n, i;
	uint32_t state;
};

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_run: check failed: %s\n", what);
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

static void fuzz_metrics(const json_t *metrics)
{
	struct metric_spec *m = NULL;
	char err[512] = "";
	size_t n = 0;

	if (metrics_parse(metrics, &m, &n, err, sizeof(err)) != 0) {
		check(err[0] != '\0', "a metrics error has a message");
		check(m == NULL && n == 0, "no metrics on failure");
		return;
	}
	check(n > 0, "at least one metric");
	for (size_t i = 0; i < n; i++) {
		check(m[i].name && *m[i].name, "a metric has a name");
		check(json_is_object(m[i].provider_spec),
		      "a metric has a provider object");
		check(m[i].failure_limit >= -1 &&
			      m[i].inconclusive_limit >= -1 &&
			      m[i].consecutive_error_limit >= -1,
		      "limits are >= -1");
		check(!m[i].has_threshold || m[i].min <= m[i].max,
		      "min <= max");
		check(m[i].interval_s >= 0 && m[i].count >= 0,
		      "interval and count are non-negative");
	}
	metrics_release(m, n);
}

static bool phase_ok(enum mphase p)
{
	return p >= MPHASE_PENDING && p <= MPHASE_INCONCLUSIVE;
}

static void judge_all(const struct run *r, const json_t *obj)
{
	json_t *rj = json_object_get(obj, "result");
	struct aval v;
	char err[256];

	if (!rj || aval_from_json(rj, &v, err, sizeof(err)) != 0)
		return;
	for (size_t i = 0; i < r->n_metrics; i++) {
		enum mphase p = MPHASE_PENDING;
		char msg[512] = "";

		run_judge(&r->metrics[i], &v, &p, msg, sizeof(msg));
		check(mphase_done(p), "a verdict is final");
		check(p == MPHASE_SUCCESSFUL || msg[0] != '\0',
		      "a verdict other than Successful has a message");
	}
	aval_clear(&v);
}

static void feed(struct run *r, struct knobs *k)
{
	static const enum mphase PH[] = {MPHASE_SUCCESSFUL, MPHASE_FAILED,
					 MPHASE_ERROR, MPHASE_INCONCLUSIVE,
					 MPHASE_RUNNING};
	unsigned rounds = knob(k) % 24;

	for (unsigned j = 0; j < rounds && r->n_metrics > 0; j++) {
		size_t i = knob(k) % r->n_metrics;
		double now = FUZZ_NOW + j * 7.5, next = -1;
		enum run_due due = run_metric_due(r, i, now, &next);
		struct measurement m;
		char msg[32];

		check(due == DUE_NONE || due == DUE_MEASURE ||
			      due == DUE_CHECK_JOB,
		      "due is known");
		check(!isnan(next), "next_at is a number");
		memset(&m, 0, sizeof(m));
		m.phase = PH[knob(k) % 5];
		snprintf(msg, sizeof(msg), "m%u", j);
		m.message = strdup(msg);
		m.value = (knob(k) & 1) ? strdup("0.5") : NULL;
		m.job_name = m.phase == MPHASE_RUNNING ? strdup("job") : NULL;
		m.started_at = (knob(k) & 1) ? now : 0;
		run_record(r, i, &m, now);
		check(m.message == NULL && m.value == NULL,
		      "run_record takes the strings");
		check(phase_ok(r->phase) && phase_ok(r->results[i].phase),
		      "phases stay in range");
		if (r->results[i].n_m >
		    (size_t)(r->retention > 0 ? r->retention : 1))
			check(0, "retention is kept");
	}
}

/* Writes r's status into obj, parses obj again and compares. */
static void round_trip(const struct run *r, json_t *obj)
{
	json_t *st = run_status_json(r), *st2;
	struct run r2;
	char err[256];

	check(json_is_object(st), "status is an object");
	json_object_set_new(obj, "status", st);
	check(run_parse(obj, &r2, err, sizeof(err)) == 0,
	      "a parsed run parses again");
	st2 = run_status_json(&r2);
	if (!json_equal(st, st2)) {
		char *a = json_dumps(st, JSON_SORT_KEYS);
		char *b = json_dumps(st2, JSON_SORT_KEYS);

		fprintf(stderr, "fuzz_run: status\n%s\nparsed back as\n%s\n",
			a ? a : "?", b ? b : "?");
		check(0, "status round trip");
	}
	json_decref(st2);
	run_release(&r2);
}

static void fuzz_run(json_t *obj, struct knobs *k)
{
	struct run r;
	char err[256] = "";

	if (run_parse(obj, &r, err, sizeof(err)) != 0) {
		check(err[0] != '\0', "a run error has a message");
		return;
	}
	check(r.name && *r.name, "a run has a name");
	check(r.retention >= 1 && r.retention <= 100, "retention in range");
	check(phase_ok(r.phase), "phase in range");
	if (knob(k) & 1)
		round_trip(&r, obj);
	judge_all(&r, obj);
	if (knob(k) & 1)
		run_finish(&r, FUZZ_NOW);
	if (r.invalid) {
		run_finish(&r, FUZZ_NOW);
		check(r.phase == MPHASE_ERROR, "an invalid run is Error");
	}
	feed(&r, k);
	if (knob(k) & 1) {
		r.terminate = true;
		run_finish(&r, FUZZ_NOW + 1000);
		check(mphase_done(r.phase) || r.n_metrics == 0,
		      "a terminated run is finished");
	}
	round_trip(&r, obj);
	run_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	struct knobs k;
	json_t *doc;

	doc = json_loadb((const char *)data, size,
			 JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
	if (!doc)
		return 0;
	knobs_init(&k, data, size,
		   (size_t)jerr.position <= size ? (size_t)jerr.position
						 : size);
	if (json_is_array(doc))
		fuzz_metrics(doc);
	if (json_is_object(doc)) {
		if (json_object_get(doc, "metrics"))
			fuzz_metrics(json_object_get(doc, "metrics"));
		fuzz_run(doc, &k);
	}
	json_decref(doc);
	return 0;
}

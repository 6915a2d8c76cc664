/*
 * measure: taking one measurement of one metric of an AnalysisRun -- the
 * I/O half of analysis (run.h holds the pure rules).
 *
 * For a Prometheus or web metric, measure_take() reads the run's
 * arguments (Secret-backed ones with a GET of the Secret, base64-decoded),
 * renders the query / URL / body / headers with tmpl_render() (PromQL,
 * URL and JSON escaping as provider.h says), reads authentication Secrets,
 * calls the provider, and judges the result with run_judge(). For a Job
 * metric it creates the Job (owned by the run) and returns a Running
 * measurement naming it; measure_check_job() later reads the Job and
 * completes the measurement when the Job finished.
 *
 * Never fails and never crashes: every problem (a missing Secret, a
 * template that does not render, Prometheus down, a Job that cannot be
 * created or vanished) becomes an Error measurement whose message says
 * what went wrong, so it is counted against consecutiveErrorLimit and
 * shows in the run's status. Blocking: a call takes at most the metric's
 * timeout plus the API calls. Thread-safe (no shared state).
 */
#ifndef KNIT_CONTROLLER_MEASURE_H
#define KNIT_CONTROLLER_MEASURE_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/run.h"
#include "kube/client.h"

/* Job measurements: the Job's name is "<run, cut to 30>-<metric, cut to
 * 12>-<8 hex digits hashed from the run's uid and full metric name>-<n>"
 * made DNS-safe, n the measurement's number (count + 1); labels
 * LABEL_JOB_RUN (the run's name when it fits 63 characters) plus the
 * provider's metadata.labels; a controller ownerReference to the run. */

/*
 * Takes a new measurement of metric `i` of `r` at wall time `now` into *m
 * (zeroed first; the caller owns its strings). started_at is `now`;
 * finished_at the time the answer came (0 for a Running Job measurement).
 */
void measure_take(struct kube_client *kc, const struct run *r, size_t i,
		  double now, struct measurement *m);

/*
 * Metric `i`'s newest measurement is a Running Job measurement: reads its
 * Job. Returns true and fills *m (Successful when the Job has condition
 * Complete=True, Failed with the Failed condition's message, Error when
 * the Job is gone or unreadable for a reason other than a transient API
 * error) when the measurement is finished; false while the Job runs or the
 * API could not answer (the caller checks again later).
 */
bool measure_check_job(struct kube_client *kc, const struct run *r, size_t i,
		       double now, struct measurement *m);

#endif

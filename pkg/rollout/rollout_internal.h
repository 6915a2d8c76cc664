/*
 * rollout_internal: what the files of pkg/rollout share and nothing else
 * includes (except the unit test). rollout.c parses metadata and spec;
 * rollout_status.c parses status, operation requests and managedFields.
 * Pure functions, thread-safe on distinct objects.
 */
#ifndef KNIT_ROLLOUT_ROLLOUT_INTERNAL_H
#define KNIT_ROLLOUT_ROLLOUT_INTERNAL_H

#include <jansson.h>

#include "rollout/rollout.h"

/* Appends one InvalidSpec sentence (printf format) to r->invalid. */
void rollout_add_invalid(struct rollout *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Parses a pause duration: terms "<number><unit>" with units h, m, s, ms
 * ("30s", "5m", "1h30m", "250ms", "1.5h"), or a bare integer of seconds
 * ("30"). Returns 0 with *out in seconds, or ERR_PARSE ("", "5x", "-1s",
 * "m", NULL) leaving *out alone.
 */
int rollout_duration_parse(const char *s, double *out);

/*
 * An `analysis` block at `path` (v borrowed; NULL gives NULL): a new
 * struct, with problems added to r->invalid as sentences naming fields
 * under `path`. startingStep is read only when `background`.
 */
struct rollout_analysis *rollout_analysis_parse(struct rollout *r,
						const json_t *v,
						const char *path,
						bool background);
void rollout_analysis_free(struct rollout_analysis *a);
/* The parsed block as JSON (new reference; null for NULL): hashed into
 * the step hash so an edit of a step's analysis restarts the steps. */
json_t *rollout_analysis_json(const struct rollout_analysis *a);

/* Fills `st` from `status` (borrowed; an object): see rollout.h. */
void rollout_parse_status(const json_t *status, struct rollout_decisions *st);

/*
 * Fills r->requests / n_requests (pending operations, in handling order),
 * r->template_manager / template_time and r->change_cause from `meta`
 * (borrowed metadata). r->st must already be parsed.
 */
void rollout_parse_requests(struct rollout *r, const json_t *meta);

/* Frees what rollout_parse_status() and rollout_parse_requests() filled
 * (r->st, r->requests, the template's who and why) and zeroes it, so they
 * can be parsed again. */
void rollout_release_observed(struct rollout *r);

#endif

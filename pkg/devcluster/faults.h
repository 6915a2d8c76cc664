/*
 * faults: the fault-injection state of knit-devcluster, so reliability tests
 * can break the fake API server on purpose.
 *
 * Four faults may be active at once:
 *   - latency: every API request is answered `latency_ms` later;
 *   - error rules: matching requests fail with 500, 503 or 429;
 *   - periodic watch drops: every `drop_every` seconds all watches close;
 *   - down window: until `down_until` the server answers nothing.
 *
 * This module holds the state, parses and prints its JSON form (GET/PUT
 * /admin/faults) and its command-line forms, and makes the per-request
 * decision. It does no I/O and reads no clock: every time is a monotonic
 * `now` in seconds supplied by the caller, so tests are exact.
 *
 * Which requests fail is deterministic: each rule keeps an accumulator, adds
 * its rate for every request it matches, and fails the request whenever the
 * accumulator reaches 1 (then subtracts 1). Rate 0.5 fails the 2nd, 4th,
 * 6th ... matching request, rate 0.25 the 4th, 8th ...
 *
 * Invariants: at most FAULTS_MAX_RULES rules; every rule is valid (code 500,
 * 503 or 429; 0 < rate <= 1; retry_after 0..3600, never 0 for 429);
 * latency_ms 0..60000; drop_every 0..86400. A parse error never changes the
 * state: every setter validates everything before it writes.
 *
 * Ownership: struct faults is embedded (faults_init / faults_release) and
 * owns all its strings. Not thread-safe: the devcluster runs on one thread,
 * and faults_decide() and faults_watch_drop_due() mutate state.
 */
#ifndef KNIT_DEVCLUSTER_FAULTS_H
#define KNIT_DEVCLUSTER_FAULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define FAULTS_MAX_RULES      32
#define FAULTS_MAX_LIST	      16  /* verbs or resources per rule */
#define FAULTS_MAX_NAME	      253 /* characters per verb or resource */
#define FAULTS_MAX_LATENCY_MS 60000
#define FAULTS_MAX_DROP_EVERY 86400
#define FAULTS_MAX_DOWN_FOR   3600
#define FAULTS_MAX_RETRY      3600

/* One resources entry "resource[.group][/subresource]", parsed. */
struct fault_resource {
	char *text;	   /* as written, e.g. "rollouts.knit.dev/status" */
	char *resource;	   /* "rollouts" */
	char *group;	   /* "knit.dev"; "" for the core group */
	char *subresource; /* "status"; NULL when the entry names none */
};

struct fault_rule {
	int code;	   /* 500, 503 or 429 */
	double rate;	   /* 0 < rate <= 1 */
	unsigned verbs;	   /* bit set over the verb table; 0 = every verb */
	int retry_after;   /* seconds (1..3600); 0: no Retry-After (not 429) */
	double acc;	   /* accumulator of the deterministic selection */
	size_t nresources; /* 0 = every resource */
	struct fault_resource resources[FAULTS_MAX_LIST];
};

struct faults {
	int latency_ms;
	int drop_every;	   /* seconds; 0 = no periodic watch drops */
	double next_drop;  /* monotonic time of the next drop when drop_every */
	double down_until; /* monotonic time; down while now < down_until */
	size_t nrules;
	struct fault_rule rules[FAULTS_MAX_RULES];
};

/* What to do with one request. */
struct fault_decision {
	int code;	 /* HTTP status to fail with; 0 = serve normally */
	int retry_after; /* Retry-After seconds; 0: no header */
	int delay_ms;	 /* answer this much later (also when failing) */
};

/* Initialises f with no faults configured. */
void faults_init(struct faults *f);

/* Frees everything f owns and leaves it as after faults_init(). */
void faults_release(struct faults *f);

/*
 * Replaces the whole configuration with the JSON object `cfg` (borrowed):
 *   {"latencyMilliseconds": 200,
 *    "errors": [{"code": 503, "rate": 0.5, "verbs": ["list"],
 *                "resources": ["pods"], "retryAfterSeconds": 2}],
 *    "dropWatchesEverySeconds": 10, "downForSeconds": 5}
 * Missing (or null) members mean off/empty; unknown members are errors.
 * retryAfterSeconds is only allowed with code 429 (default 1). The drop
 * schedule restarts (first drop at now + period), the down window is
 * now + downForSeconds, and every rule accumulator starts at 0.
 * Returns 0, or ERR_INVAL with a message naming the field path in errbuf
 * (e.g. `errors[1].code: must be 500, 503 or 429, got 404`); on error f is
 * left unchanged.
 */
int faults_from_json(struct faults *f, const json_t *cfg, double now,
		     char *errbuf, size_t errlen);

/*
 * The configuration in the form faults_from_json() accepts; a new reference.
 * Members that are off are omitted (an empty config is {}): latency and
 * drop period when 0, "errors" when there are no rules, "verbs" and
 * "resources" when empty (verbs come out in the order of the verb table:
 * get, list, watch, create, update, patch, delete, deletecollection),
 * "retryAfterSeconds" unless the code is 429. "downForSeconds" is the
 * remaining down time at `now` in whole seconds rounded up, omitted when
 * not down. Rates are JSON reals: dump with JSON_REAL_PRECISION(15) so 0.1
 * prints as 0.1 rather than 0.10000000000000001.
 */
json_t *faults_to_json(const struct faults *f, double now);

/*
 * Decides the fate of one API request and fills `out`. `verb` is the
 * Kubernetes verb ("get", "list", "watch", "create", "update", "patch",
 * "delete", "deletecollection"); `group` is "" or NULL for the core group;
 * `subresource` is NULL or "" when none. `verb` NULL (or an unknown verb)
 * matches only rules without verbs; `resource` NULL (a non-resource request
 * such as discovery) matches only rules without resources.
 *
 * Rules are tried in order. A rule entry without "/sub" matches only
 * requests without a subresource; "pods/status" only that subresource.
 * Each matching rule adds its rate to its accumulator; the first one whose
 * accumulator reaches 1 fails the request and later rules do not see it.
 * A rule that matches but does not fire lets the request go on to later
 * rules. out->delay_ms is always the configured latency.
 */
void faults_decide(struct faults *f, const char *verb, const char *group,
		   const char *resource, const char *subresource,
		   struct fault_decision *out);

/* True while the server should be down: now < down_until. */
bool faults_is_down(const struct faults *f, double now);

/*
 * True when a periodic watch drop is due at `now`, at most once per period:
 * the first drop is due `drop_every` seconds after the setting was applied.
 * When it returns true the next drop is rescheduled on the same grid (if
 * several periods were missed, they count as one drop). Always false when
 * drop_every is 0.
 */
bool faults_watch_drop_due(struct faults *f, double now);

/*
 * True when any fault is in effect at `now` (latency, a rule, periodic
 * drops, or a down window that has not ended), so the caller can skip the
 * rest. Not to be confused with one-shot actions, which are no state.
 */
bool faults_any(const struct faults *f, double now);

/*
 * --fault-latency DURATION: "250ms", "2s", "1.5s", or a bare integer in
 * milliseconds ("0" turns latency off); 0..60s, rounded to whole ms.
 * Returns 0 or ERR_INVAL with a message; f unchanged on error.
 */
int faults_set_latency_flag(struct faults *f, const char *arg, char *errbuf,
			    size_t errlen);

/*
 * --fault-error SPEC, repeatable: appends one rule.
 * SPEC = CODE:RATE[:VERBS[:RESOURCES[:RETRY_AFTER]]], VERBS and RESOURCES
 * comma-separated, an empty field meaning all, e.g. "503:0.5",
 * "429:1:list,watch:pods:3", "500:0.1::replicasets.apps". RETRY_AFTER only
 * with 429 (default 1). Returns 0 or ERR_INVAL with a message (also when
 * FAULTS_MAX_RULES rules exist already); f unchanged on error.
 */
int faults_add_error_flag(struct faults *f, const char *spec, char *errbuf,
			  size_t errlen);

/*
 * --fault-drop-watches-every SECONDS: an integer 0..86400, optionally with
 * an "s" suffix; 0 turns drops off. The first drop is due at now + SECONDS.
 * Returns 0 or ERR_INVAL with a message; f unchanged on error.
 */
int faults_set_drop_watches_flag(struct faults *f, const char *arg, double now,
				 char *errbuf, size_t errlen);

/*
 * --fault-down-for SECONDS: an integer 0..3600, optionally with an "s"
 * suffix; the server is down until now + SECONDS (0 = not down).
 * Returns 0 or ERR_INVAL with a message; f unchanged on error.
 */
int faults_set_down_flag(struct faults *f, const char *arg, double now,
			 char *errbuf, size_t errlen);

#endif

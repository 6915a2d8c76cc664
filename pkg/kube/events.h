/*
 * events: an asynchronous recorder of core/v1 Events, with client-go's
 * tools/record semantics (event.go, events_cache.go).
 *
 * event_record() never blocks on the API: it formats the event, pushes it
 * into a bounded queue (dropping and counting when full) and returns. One
 * background thread writes the queue to the server:
 *   - correlation key: source + involvedObject + type + reason + message;
 *   - first occurrence: POST a new Event in the involved object's namespace
 *     ("default" for cluster-scoped objects) named "<obj>.<hex nanoseconds>",
 *     count 1, firstTimestamp = lastTimestamp = now;
 *   - repeats: PATCH {count, lastTimestamp, message} on that Event (a
 *     strategic merge patch, or a merge patch when the server refuses it); a
 *     404 (the Event expired) falls back to creating it again;
 *   - aggregation: the 10th distinct message with the same source, object,
 *     type and reason within 600 s turns into one Event whose message is
 *     "(combined from similar events): <msg>", counted like a repeat;
 *   - spam filter: a token bucket per source + object (burst 25, one token
 *     per 300 s); events over the limit are dropped and counted;
 *   - failed writes are retried (12 tries, 10 s apart by default) on
 *     transport failures, timeouts, 429 and 5xx; never on other 4xx.
 * Memory is bounded: the queue by queue_max, each of the three correlation
 * caches (aggregation, repeats, spam buckets) by cache_max entries with
 * least-recently-used eviction.
 *
 * The correlation logic is a separate pure object (struct
 * event_correlator) driven with explicit times, so it is unit-tested
 * without a server; the recorder feeds it from its worker thread.
 *
 * Ownership: strings passed in are copied. The client is borrowed and must
 * outlive the recorder.
 * Thread-safety: event_record(), event_recorder_flush() and
 * event_recorder_stats() may be called from any thread at once. The
 * correlator is not thread-safe (one owner).
 */
#ifndef KNIT_KUBE_EVENTS_H
#define KNIT_KUBE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct kube_client;

/* The object an event is about. Strings are borrowed for the call; NULL
 * fields are omitted. An empty or NULL ns means cluster-scoped. */
struct event_ref {
	const char *api_version;
	const char *kind;
	const char *ns;
	const char *name;
	const char *uid;
	const char *resource_version;
	const char *field_path;
};

/* ---- Pure correlation ---- */

/* An event as recorded, every string a heap string (NULL when absent). */
struct event_draft {
	char *component, *host;
	char *api_version, *kind, *ns, *name, *uid, *resource_version,
		*field_path;
	char *type, *reason, *message;
};

/* Fills d with copies of the arguments (formatting already done). */
void event_draft_init(struct event_draft *d, const char *component,
		      const char *host, const struct event_ref *involved,
		      const char *type, const char *reason,
		      const char *message);
void event_draft_release(struct event_draft *d);

enum event_action {
	EVENT_SKIP,   /* spam-filtered: write nothing */
	EVENT_CREATE, /* POST a new Event */
	EVENT_PATCH,  /* PATCH count/lastTimestamp/message (404: POST) */
};

/* What to write. Heap strings; release with event_plan_release(). */
struct event_plan {
	enum event_action action;
	char *name;    /* the Event's metadata.name */
	char *message; /* possibly "(combined from similar events): ..." */
	long count;
	int64_t first_ns; /* firstTimestamp (Unix nanoseconds) */
	int64_t last_ns;  /* lastTimestamp */
};
void event_plan_release(struct event_plan *p);

struct event_correlator_options {
	size_t cache_max;	     /* 0 means 4096 */
	int spam_burst;		     /* 0 means 25; < 0 disables the filter */
	double spam_refill_s;	     /* seconds per token; 0 means 300 */
	int aggregate_max;	     /* distinct messages; 0 means 10 */
	double aggregate_interval_s; /* 0 means 600 */
};

struct event_correlator;

/* opt may be NULL for the defaults. */
struct event_correlator *
event_correlator_new(const struct event_correlator_options *opt);
void event_correlator_free(struct event_correlator *c);

/*
 * Decides what to write for `d` occurring at `now_ns` (Unix nanoseconds)
 * and updates the caches (aggregation, then repeat counting, then the spam
 * bucket, as client-go's EventCorrelate does: a filtered repeat still
 * counts). Fills *plan; release it even for EVENT_SKIP.
 */
void event_correlate(struct event_correlator *c, const struct event_draft *d,
		     int64_t now_ns, struct event_plan *plan);

/* Number of entries in each cache, for tests. */
void event_correlator_sizes(const struct event_correlator *c, size_t *aggregate,
			    size_t *repeats, size_t *spam);

/*
 * Returns a new reference to the core/v1 Event object for d and plan:
 * metadata {name, namespace}, involvedObject, reason, message, source
 * {component, host}, first/lastTimestamp (RFC 3339 seconds), count, type,
 * reportingComponent and reportingInstance.
 */
json_t *event_build(const struct event_draft *d, const struct event_plan *p);

/* Returns a new reference to the repeat patch {count, lastTimestamp,
 * message}. */
json_t *event_build_patch(const struct event_plan *p);

/* The namespace an Event about `d` lives in: d->ns, or "default". */
const char *event_namespace(const struct event_draft *d);

/* ---- Recorder ---- */

/*
 * Where the recorder writes: by default the kube client (POST and PATCH on
 * core/v1 events). Tests and other sinks supply their own. Each function
 * returns 0 or an ERR_* code as client.h does (ERR_NOTFOUND from patch makes
 * the recorder create instead); `event` and `patch` are borrowed.
 */
struct event_sink {
	int (*create)(const char *ns, json_t *event, void *data);
	int (*patch)(const char *ns, const char *name, json_t *patch,
		     void *data);
	void *data;
};

struct event_recorder_options {
	const struct event_sink *sink; /* NULL: the client; copied */
	const char *component; /* source.component, reportingComponent */
	const char *host;      /* source.host, reportingInstance; may be NULL */
	size_t queue_max;      /* 0 means 1000 */
	size_t cache_max;      /* 0 means 4096 */
	int spam_burst;	       /* 0 means 25; < 0 disables the filter */
	double spam_refill_s;  /* 0 means 300 */
	int max_tries;	       /* 0 means 12 */
	long retry_sleep_ms;   /* 0 means 10000 */
};

struct event_recorder_stats {
	unsigned long recorded;	     /* accepted into the queue */
	unsigned long dropped;	     /* queue full */
	unsigned long spam_filtered; /* skipped by the spam filter */
	unsigned long written;	     /* successful POST or PATCH */
	unsigned long failed;	     /* given up after retries or a 4xx */
};

struct event_recorder;

/* Starts the worker thread. `c` may be NULL when o->sink is set. A NULL
 * component records as "knit". o may be NULL for the defaults. */
struct event_recorder *
event_recorder_new(struct kube_client *c,
		   const struct event_recorder_options *o);

/*
 * Queues an event about `involved`: type "Normal" or "Warning", a
 * CamelCase reason, and a printf message. Never blocks on the network;
 * drops (and counts) when the queue is full. Thread-safe.
 */
void event_record(struct event_recorder *r, const struct event_ref *involved,
		  const char *type, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Waits until the queue is empty and no write is in flight. Returns 0, or
 * ERR_TIMEOUT after timeout_ms. Thread-safe. */
int event_recorder_flush(struct event_recorder *r, long timeout_ms);

/* A snapshot of the counters. Thread-safe. */
void event_recorder_stats(struct event_recorder *r,
			  struct event_recorder_stats *out);

/* Flushes for up to 2 s, stops the worker (abandoning what is left and
 * cutting retry sleeps short) and frees. NULL is a no-op. */
void event_recorder_free(struct event_recorder *r);

#endif

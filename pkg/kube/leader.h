/*
 * leader: leader election on a coordination.k8s.io/v1 Lease, with
 * client-go's algorithm and timings (tools/leaderelection).
 *
 * Several candidates run leader_run() on the same Lease; at most one leads
 * at a time as long as clocks run at the same rate (no clock sync needed:
 * expiry is judged by the local clock from when this candidate last saw the
 * record change, never by comparing server timestamps).
 *
 *   - GET the Lease; on 404 create it holding it ourselves.
 *   - A holder other than us whose record changed less than
 *     leaseDurationSeconds ago (local clock) keeps the lease: wait
 *     retry_ms * (1 + rand * 0.2) and look again (client-go's jitter goes
 *     up to 2.2 x retry; ours keeps a clean handover under 3 s).
 *   - Otherwise PUT the whole Lease with the resourceVersion we read; a 409
 *     means another candidate won the race. leaseTransitions grows by one
 *     whenever the holder changes.
 *   - The leader renews every retry_ms (optimistically with the last written
 *     Lease, falling back to GET + PUT). If no renewal succeeds within
 *     renew_deadline_ms it stops leading: on_stopped_leading runs and
 *     leader_run() returns ERR_TIMEOUT. The process should then exit, as
 *     controller-runtime does, because its reconcilers may still be running.
 *   - On leader_stop() with release_on_cancel, the leader writes an empty
 *     holder with leaseDurationSeconds 1 so a standby takes over at once.
 *
 * The module has a pure part (records, the decision of what to write given
 * what was observed and when) that never touches the network, and the
 * elector that does the I/O through pkg/kube/client.h.
 *
 * Ownership: strings in leader_options are copied by leader_new(). The
 * client and the optional recorder are borrowed and must outlive the elector.
 *
 * Thread-safety: leader_run() runs on one thread at a time; leader_stop()
 * and leader_is_leader() may be called from any thread. Callbacks run on the
 * thread that called leader_run() and must not block for long: start your
 * workers in on_started_leading and stop them in on_stopped_leading. The
 * pure functions are reentrant.
 */
#ifndef KNIT_KUBE_LEADER_H
#define KNIT_KUBE_LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct kube_client;
struct event_recorder;

/* ---- Pure part ---- */

/* The election fields of a Lease spec. `holder` is a heap string, "" when
 * nobody holds the lease (never NULL once filled). Times are Unix
 * microseconds (MicroTime precision), 0 when unset. */
struct lease_record {
	char *holder;
	long duration_s;
	int64_t acquire_us;
	int64_t renew_us;
	long transitions;
};

/* Frees the holder string and zeroes the record. NULL is a no-op. */
void lease_record_release(struct lease_record *r);
/* Copies src into dst (dst is overwritten, not released first). */
void lease_record_copy(struct lease_record *dst,
		       const struct lease_record *src);
/* True when every field is equal. */
bool lease_record_equal(const struct lease_record *a,
			const struct lease_record *b);

/*
 * Reads the spec of a Lease object (borrowed) into *out (which it fills
 * fresh; release it afterwards). Missing fields read as empty/zero. Returns
 * 0, or ERR_PARSE when a time does not parse (out is left released).
 */
int lease_record_from_json(const json_t *lease, struct lease_record *out);

/*
 * Returns a new reference to a Lease spec object for r: holderIdentity,
 * leaseDurationSeconds, acquireTime, renewTime (MicroTime) and
 * leaseTransitions; unset times are omitted.
 */
json_t *lease_record_to_spec(const struct lease_record *r);

/* Writes t (Unix microseconds) as "2006-01-02T15:04:05.000000Z"; 28 bytes
 * are enough, an empty string when out is too small. */
void microtime_format(int64_t t_us, char *out, size_t len);
/* Parses an RFC 3339 time (any fraction) into Unix microseconds, rounded.
 * Returns 0 or ERR_PARSE leaving *out alone. */
int microtime_parse(const char *s, int64_t *out);

/* What one candidate knows: the last record it saw and when (on its local
 * monotonic clock, in seconds) that record last changed. */
struct leader_state {
	struct lease_record observed;
	double observed_time;
	bool has_observed;
};

/* Frees the observed record. */
void leader_state_release(struct leader_state *s);

/* Records `rec` as seen at `now`; the observed time moves only when the
 * record differs from the one observed before. */
void leader_state_observe(struct leader_state *s,
			  const struct lease_record *rec, double now);
/* True when the observed holder is `identity`. */
bool leader_state_is_holder(const struct leader_state *s, const char *identity);
/* True while observed_time + the observed leaseDurationSeconds is after now. */
bool leader_state_lease_valid(const struct leader_state *s, double now);

enum leader_verdict {
	LEADER_WAIT,  /* held by someone else and unexpired: do not write */
	LEADER_WRITE, /* write *next with the observed resourceVersion */
};

/*
 * The decision after observing the server's record (call
 * leader_state_observe() first): may `identity` acquire or renew at `now`
 * (monotonic seconds), and what to write (times from `wall_us`, the wall
 * clock in Unix microseconds). On LEADER_WRITE *next is filled (release it):
 * holder identity, duration lease_s, renewTime wall_us; a renewal keeps
 * acquireTime and leaseTransitions, a takeover sets acquireTime to wall_us
 * and increments leaseTransitions. On LEADER_WAIT *next is untouched.
 */
enum leader_verdict leader_decide(const struct leader_state *s, double now,
				  int64_t wall_us, const char *identity,
				  long lease_s, struct lease_record *next);

/* The record of a first creation: holder identity, transitions 0. */
void leader_record_create(int64_t wall_us, const char *identity, long lease_s,
			  struct lease_record *next);
/* The record of a release: empty holder, duration 1 s, transitions kept. */
void leader_record_release(const struct leader_state *s, int64_t wall_us,
			   struct lease_record *next);

/* ---- Elector ---- */

/*
 * The Lease storage the elector uses: by default the kube client (GET, POST
 * and PUT on coordination.k8s.io/v1 leases). Tests supply an in-memory one.
 * Each returns 0 or an ERR_* code as client.h does (ERR_NOTFOUND, and
 * ERR_CONFLICT for a stale resourceVersion); *out receives a new reference
 * to the stored Lease; `lease` is borrowed.
 */
struct lease_lock {
	int (*get)(const char *ns, const char *name, json_t **out, void *data);
	int (*create)(const char *ns, json_t *lease, json_t **out, void *data);
	int (*update)(const char *ns, json_t *lease, json_t **out, void *data);
	void *data;
};

struct leader_options {
	const struct lease_lock *lock; /* NULL: the client; copied */
	const char *ns;		       /* Lease namespace */
	const char *name;	       /* Lease name */
	const char *identity; /* this candidate, unique (e.g. hostname_uuid) */
	long lease_ms;	      /* 0 means 15000 */
	long renew_deadline_ms; /* 0 means 10000; must be < lease_ms */
	long retry_ms;		/* 0 means 2000; must be < renew_deadline_ms */
	bool release_on_cancel;
	void (*on_started_leading)(void *data);
	void (*on_stopped_leading)(void *data);
	/* The observed holder changed (identity may be "" after a release). */
	void (*on_new_leader)(const char *identity, void *data);
	void *data;
	/* Optional: Normal events reason LeaderElection ("<id> became leader",
	 * "<id> stopped leading") on the Lease. Borrowed. */
	struct event_recorder *recorder;
};

struct leader_elector;

/*
 * Creates an elector (`c` may be NULL when o->lock is set). The elector
 * talks to the server through its own client built from c's configuration
 * (borrowed; it must outlive the elector), whose requests time out after
 * one retry period with no rate limit and no Retry-After waits, so no
 * renewal can stay in flight past the lease. Fails with ERR_INVAL (and a
 * message in errbuf) when ns, name or identity is missing or the timings
 * are inconsistent (need lease > renew deadline > retry * 1.2 as client-go
 * checks).
 */
int leader_new(struct kube_client *c, const struct leader_options *o,
	       struct leader_elector **out, char *errbuf, size_t errlen);

/*
 * Campaigns, leads and renews until leader_stop() or until leadership is
 * lost. Returns 0 after a stop (whether or not it led; on_stopped_leading
 * runs only if on_started_leading ran) and ERR_TIMEOUT when a renewal did
 * not succeed within the renew deadline. A request in progress is not
 * interrupted by a stop; it ends within one retry period.
 */
int leader_run(struct leader_elector *le);

/* Asks leader_run() to stop; wakes its waits at once. Thread-safe. */
void leader_stop(struct leader_elector *le);

/* True between on_started_leading and on_stopped_leading. Thread-safe. */
bool leader_is_leader(struct leader_elector *le);

/* Frees the elector; leader_run() must have returned. NULL is a no-op. */
void leader_free(struct leader_elector *le);

#endif

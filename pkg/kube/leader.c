/*
 * leader: Lease-based leader election (see leader.h). The first half is the
 * pure record and decision logic; the second half is the elector, which
 * talks to the API server through client.h and sleeps on a condition
 * variable so leader_stop() wakes it at once.
 */
#include "kube/leader.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/client.h"
#include "kube/events.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mono.h"
#include "util/rfc3339.h"

/*
 * While waiting for the lease, candidates poll every retry period plus up to
 * 20% (client-go adds up to 120%): a standby then notices a released lease
 * within 1.2 retry periods (2.4 s by default), which is what makes a clean
 * handover take under 3 s, and still spreads candidates out.
 */
#define JITTER_FACTOR 0.2
/* client-go's check of the timings: renew deadline > 1.2 x retry period. */
#define RENEW_RETRY_FACTOR 1.2

/* ---- Records ---- */

void lease_record_release(struct lease_record *r)
{
	if (!r)
		return;
	free(r->holder);
	memset(r, 0, sizeof(*r));
}

void lease_record_copy(struct lease_record *dst, const struct lease_record *src)
{
	*dst = *src;
	dst->holder = xstrdup(src->holder ? src->holder : "");
}

static const char *holder_of(const struct lease_record *r)
{
	return r->holder ? r->holder : "";
}

bool lease_record_equal(const struct lease_record *a,
			const struct lease_record *b)
{
	return strcmp(holder_of(a), holder_of(b)) == 0 &&
	       a->duration_s == b->duration_s &&
	       a->acquire_us == b->acquire_us && a->renew_us == b->renew_us &&
	       a->transitions == b->transitions;
}

void microtime_format(int64_t t_us, char *out, size_t len)
{
	int64_t secs = t_us / 1000000;
	int64_t frac = t_us % 1000000;
	char base[32];

	if (frac < 0) {
		frac += 1000000;
		secs -= 1;
	}
	rfc3339_format((double)secs, base, sizeof(base));
	size_t n = strlen(base);
	if (n < 2 || len == 0) {
		if (len)
			out[0] = '\0';
		return;
	}
	/* base ends in 'Z': insert the fraction before it */
	int w = snprintf(out, len, "%.*s.%06lldZ", (int)(n - 1), base,
			 (long long)frac);
	if (w < 0 || (size_t)w >= len)
		out[0] = '\0';
}

int microtime_parse(const char *s, int64_t *out)
{
	double t;

	if (rfc3339_parse(s, &t) != 0)
		return ERR_PARSE;
	*out = (int64_t)llround(t * 1e6);
	return 0;
}

static int read_time(const json_t *spec, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(spec, key);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return ERR_PARSE;
	return microtime_parse(json_string_value(v), out);
}

int lease_record_from_json(const json_t *lease, struct lease_record *out)
{
	const json_t *spec = json_object_get(lease, "spec");
	const char *holder =
		json_string_value(json_object_get(spec, "holderIdentity"));
	int rc;

	memset(out, 0, sizeof(*out));
	out->holder = xstrdup(holder ? holder : "");
	out->duration_s = (long)json_integer_value(
		json_object_get(spec, "leaseDurationSeconds"));
	out->transitions = (long)json_integer_value(
		json_object_get(spec, "leaseTransitions"));
	rc = read_time(spec, "acquireTime", &out->acquire_us);
	if (rc == 0)
		rc = read_time(spec, "renewTime", &out->renew_us);
	if (rc)
		lease_record_release(out);
	return rc;
}

static void set_time(json_t *spec, const char *key, int64_t t_us)
{
	char buf[40];

	if (t_us == 0)
		return;
	microtime_format(t_us, buf, sizeof(buf));
	json_object_set_new(spec, key, json_string(buf));
}

json_t *lease_record_to_spec(const struct lease_record *r)
{
	json_t *spec = json_object();

	json_object_set_new(spec, "holderIdentity", json_string(holder_of(r)));
	json_object_set_new(spec, "leaseDurationSeconds",
			    json_integer(r->duration_s));
	set_time(spec, "acquireTime", r->acquire_us);
	set_time(spec, "renewTime", r->renew_us);
	json_object_set_new(spec, "leaseTransitions",
			    json_integer(r->transitions));
	return spec;
}

/* ---- Decision ---- */

void leader_state_release(struct leader_state *s)
{
	lease_record_release(&s->observed);
	s->has_observed = false;
	s->observed_time = 0;
}

void leader_state_observe(struct leader_state *s,
			  const struct lease_record *rec, double now)
{
	if (s->has_observed && lease_record_equal(&s->observed, rec))
		return;
	lease_record_release(&s->observed);
	lease_record_copy(&s->observed, rec);
	s->observed_time = now;
	s->has_observed = true;
}

bool leader_state_is_holder(const struct leader_state *s, const char *identity)
{
	return s->has_observed &&
	       strcmp(holder_of(&s->observed), identity) == 0;
}

bool leader_state_lease_valid(const struct leader_state *s, double now)
{
	return s->has_observed &&
	       s->observed_time + (double)s->observed.duration_s > now;
}

enum leader_verdict leader_decide(const struct leader_state *s, double now,
				  int64_t wall_us, const char *identity,
				  long lease_s, struct lease_record *next)
{
	bool mine = leader_state_is_holder(s, identity);

	if (s->has_observed && holder_of(&s->observed)[0] != '\0' && !mine &&
	    leader_state_lease_valid(s, now))
		return LEADER_WAIT;
	memset(next, 0, sizeof(*next));
	next->holder = xstrdup(identity);
	next->duration_s = lease_s;
	next->renew_us = wall_us;
	if (mine) {
		next->acquire_us = s->observed.acquire_us;
		next->transitions = s->observed.transitions;
	} else {
		next->acquire_us = wall_us;
		next->transitions =
			s->has_observed ? s->observed.transitions + 1 : 0;
	}
	return LEADER_WRITE;
}

void leader_record_create(int64_t wall_us, const char *identity, long lease_s,
			  struct lease_record *next)
{
	memset(next, 0, sizeof(*next));
	next->holder = xstrdup(identity);
	next->duration_s = lease_s;
	next->acquire_us = wall_us;
	next->renew_us = wall_us;
}

void leader_record_release(const struct leader_state *s, int64_t wall_us,
			   struct lease_record *next)
{
	memset(next, 0, sizeof(*next));
	next->holder = xstrdup("");
	next->duration_s = 1;
	next->acquire_us = wall_us;
	next->renew_us = wall_us;
	next->transitions = s->has_observed ? s->observed.transitions : 0;
}

/* ---- Elector ---- */

struct leader_elector {
	/* The elector's own client (made from the caller's configuration):
	 * requests time out after one retry period and are neither rate
	 * limited nor retried behind Retry-After, so a slow or throttled
	 * server can never keep a renewal in flight past the lease. */
	struct kube_client *client;
	struct lease_lock lock;
	char *ns, *name, *identity;
	long lease_ms, renew_deadline_ms, retry_ms;
	bool release_on_cancel;
	void (*on_started_leading)(void *data);
	void (*on_stopped_leading)(void *data);
	void (*on_new_leader)(const char *identity, void *data);
	void *data;
	struct event_recorder *recorder;

	/* run thread only */
	struct leader_state state;
	json_t *lease; /* last Lease read or written (new reference) */
	char *reported;
	unsigned int seed;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop; /* under mu */
	atomic_bool leading;
};

static int64_t wall_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int client_get(const char *ns, const char *name, json_t **out,
		      void *data)
{
	struct leader_elector *le = data;
	struct kube_error err = KUBE_ERROR_INIT;
	int rc = kube_get(le->client, &KUBE_LEASES, ns, name, out, &err);

	if (rc && rc != ERR_NOTFOUND)
		LOG_WARNF("reading the lease failed",
			  "object=%s/%s err=%s msg=\"%s\"", ns, name,
			  err_name(rc), err.message);
	kube_error_release(&err);
	return rc;
}

static int client_create(const char *ns, json_t *lease, json_t **out,
			 void *data)
{
	struct leader_elector *le = data;
	struct kube_error err = KUBE_ERROR_INIT;
	int rc = kube_create(le->client, &KUBE_LEASES, ns, lease, NULL, out,
			     &err);

	if (rc)
		LOG_WARNF("creating the lease failed",
			  "ns=%s err=%s msg=\"%s\"", ns, err_name(rc),
			  err.message);
	kube_error_release(&err);
	return rc;
}

static int client_update(const char *ns, json_t *lease, json_t **out,
			 void *data)
{
	struct leader_elector *le = data;
	struct kube_error err = KUBE_ERROR_INIT;
	int rc = kube_update(le->client, &KUBE_LEASES, ns, lease, NULL, out,
			     &err);

	if (rc)
		LOG_WARNF("lease update failed", "ns=%s err=%s msg=\"%s\"", ns,
			  err_name(rc), err.message);
	kube_error_release(&err);
	return rc;
}

int leader_new(struct kube_client *c, const struct leader_options *o,
	       struct leader_elector **out, char *errbuf, size_t errlen)
{
	struct leader_elector *le;
	long lease = o->lease_ms ? o->lease_ms : 15000;
	long deadline = o->renew_deadline_ms ? o->renew_deadline_ms : 10000;
	long retry = o->retry_ms ? o->retry_ms : 2000;

	if (!o->ns || !*o->ns || !o->name || !*o->name || !o->identity ||
	    !*o->identity)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "leader election needs a namespace, a lease "
			       "name and an identity");
	if (lease <= deadline)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "leaseDuration must be greater than "
			       "renewDeadline");
	if ((double)deadline <= RENEW_RETRY_FACTOR * (double)retry)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "renewDeadline must be greater than "
			       "retryPeriod*JitterFactor");
	if (!o->lock && !c)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "leader election needs a client or a lock");
	if (retry < 1 || lease < 1000)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "retryPeriod must be positive and "
			       "leaseDuration at least 1s");
	le = xcalloc(1, sizeof(*le));
	if (o->lock) {
		le->lock = *o->lock;
	} else {
		struct kube_client_options co = {.timeout_ms = retry,
						 .qps = -1,
						 .max_retries = -1,
						 .component =
							 "leader-election"};
		int rc = kube_client_new(kube_client_config(c), &co,
					 &le->client, errbuf, errlen);

		if (rc) {
			free(le);
			return rc;
		}
		le->lock.get = client_get;
		le->lock.create = client_create;
		le->lock.update = client_update;
		le->lock.data = le;
	}
	le->ns = xstrdup(o->ns);
	le->name = xstrdup(o->name);
	le->identity = xstrdup(o->identity);
	le->lease_ms = lease;
	le->renew_deadline_ms = deadline;
	le->retry_ms = retry;
	le->release_on_cancel = o->release_on_cancel;
	le->on_started_leading = o->on_started_leading;
	le->on_stopped_leading = o->on_stopped_leading;
	le->on_new_leader = o->on_new_leader;
	le->data = o->data;
	le->recorder = o->recorder;
	le->seed = (unsigned int)wall_now_us() ^ (unsigned int)(uintptr_t)le;
	pthread_mutex_init(&le->mu, NULL);
	mono_cond_init(&le->cond);
	atomic_init(&le->leading, false);
	*out = le;
	return 0;
}

void leader_free(struct leader_elector *le)
{
	if (!le)
		return;
	leader_state_release(&le->state);
	kube_client_free(le->client);
	json_decref(le->lease);
	free(le->reported);
	free(le->ns);
	free(le->name);
	free(le->identity);
	pthread_mutex_destroy(&le->mu);
	pthread_cond_destroy(&le->cond);
	free(le);
}

void leader_stop(struct leader_elector *le)
{
	pthread_mutex_lock(&le->mu);
	le->stop = true;
	pthread_cond_broadcast(&le->cond);
	pthread_mutex_unlock(&le->mu);
}

bool leader_is_leader(struct leader_elector *le)
{
	return atomic_load(&le->leading);
}

static bool stopping(struct leader_elector *le)
{
	pthread_mutex_lock(&le->mu);
	bool s = le->stop;
	pthread_mutex_unlock(&le->mu);
	return s;
}

/* Sleeps ms milliseconds or until leader_stop(); returns true when stopped. */
static bool wait_ms(struct leader_elector *le, double ms)
{
	struct timespec ts;
	double until = mono_now() + ms / 1000.0;

	ts.tv_sec = (time_t)until;
	ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&le->mu);
	while (!le->stop && mono_now() < until)
		if (pthread_cond_timedwait(&le->cond, &le->mu, &ts) != 0)
			break;
	bool s = le->stop;
	pthread_mutex_unlock(&le->mu);
	return s;
}

static long lease_seconds(const struct leader_elector *le)
{
	return le->lease_ms / 1000;
}

static void keep_lease(struct leader_elector *le, json_t *lease)
{
	json_decref(le->lease);
	le->lease = lease;
}

/* PUTs `rec` on the last Lease we hold (its resourceVersion included). */
static int put_record(struct leader_elector *le, const struct lease_record *rec)
{
	json_t *obj, *out = NULL;
	int rc;

	if (!le->lease)
		return ERR_INVAL;
	obj = json_deep_copy(le->lease);
	json_object_set_new(obj, "spec", lease_record_to_spec(rec));
	rc = le->lock.update(le->ns, obj, &out, le->lock.data);
	if (rc == 0)
		keep_lease(le, out);
	json_decref(obj);
	return rc;
}

static int create_lease(struct leader_elector *le,
			const struct lease_record *rec)
{
	json_t *out = NULL;
	json_t *obj =
		json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion",
			  "coordination.k8s.io/v1", "kind", "Lease", "metadata",
			  "name", le->name, "namespace", le->ns);
	int rc;

	json_object_set_new(obj, "spec", lease_record_to_spec(rec));
	rc = le->lock.create(le->ns, obj, &out, le->lock.data);
	if (rc == 0)
		keep_lease(le, out);
	json_decref(obj);
	return rc;
}

/* The slow path: GET (or create), observe, decide, PUT. */
static bool acquire_slow(struct leader_elector *le)
{
	struct lease_record cur = {0}, next = {0};
	json_t *lease = NULL;
	bool ok = false;
	int rc;

	rc = le->lock.get(le->ns, le->name, &lease, le->lock.data);
	if (rc == ERR_NOTFOUND) {
		leader_record_create(wall_now_us(), le->identity,
				     lease_seconds(le), &next);
		if (create_lease(le, &next) == 0) {
			leader_state_observe(&le->state, &next, mono_now());
			ok = true;
		}
		goto out;
	}
	if (rc)
		goto out;
	keep_lease(le, lease);
	if (lease_record_from_json(lease, &cur) != 0)
		goto out;
	double now = mono_now();
	leader_state_observe(&le->state, &cur, now);
	if (leader_decide(&le->state, now, wall_now_us(), le->identity,
			  lease_seconds(le), &next) == LEADER_WAIT)
		goto out;
	if (put_record(le, &next) == 0) {
		leader_state_observe(&le->state, &next, mono_now());
		ok = true;
	}
out:
	lease_record_release(&cur);
	lease_record_release(&next);
	return ok;
}

/* One attempt, as client-go's tryAcquireOrRenew. */
static bool try_acquire_or_renew(struct leader_elector *le)
{
	double now = mono_now();

	if (leader_state_is_holder(&le->state, le->identity) &&
	    leader_state_lease_valid(&le->state, now) && le->lease) {
		struct lease_record next = {0};
		/* fast path: renew on the Lease we wrote last */
		leader_decide(&le->state, now, wall_now_us(), le->identity,
			      lease_seconds(le), &next);
		int rc = put_record(le, &next);
		if (rc == 0)
			leader_state_observe(&le->state, &next, mono_now());
		lease_record_release(&next);
		if (rc == 0)
			return true;
	}
	return acquire_slow(le);
}

static void record_event(struct leader_elector *le, const char *what)
{
	if (!le->recorder)
		return;
	const char *uid = NULL, *rv = NULL;
	json_t *meta = json_object_get(le->lease, "metadata");

	uid = json_string_value(json_object_get(meta, "uid"));
	rv = json_string_value(json_object_get(meta, "resourceVersion"));
	struct event_ref ref = {
		.api_version = "coordination.k8s.io/v1",
		.kind = "Lease",
		.ns = le->ns,
		.name = le->name,
		.uid = uid,
		.resource_version = rv,
	};
	event_record(le->recorder, &ref, "Normal", "LeaderElection", "%s %s",
		     le->identity, what);
}

static void report_transition(struct leader_elector *le)
{
	const char *holder = holder_of(&le->state.observed);

	if (!le->state.has_observed ||
	    (le->reported && strcmp(le->reported, holder) == 0))
		return;
	free(le->reported);
	le->reported = xstrdup(holder);
	LOG_INFOF("new leader", "object=%s/%s holder=%s", le->ns, le->name,
		  holder);
	if (le->on_new_leader)
		le->on_new_leader(holder, le->data);
}

static double jittered_retry(struct leader_elector *le)
{
	double r = (double)rand_r(&le->seed) / ((double)RAND_MAX + 1.0);

	return (double)le->retry_ms * (1.0 + r * JITTER_FACTOR);
}

/*
 * How long a candidate waits before looking again: the jittered retry
 * period, but no later than just after the observed lease runs out, so a
 * dead leader is replaced within the lease duration plus one request, not
 * up to a whole retry period later.
 */
static double acquire_wait_ms(struct leader_elector *le)
{
	const struct leader_state *s = &le->state;
	double wait = jittered_retry(le);
	double left;

	if (!s->has_observed || !holder_of(&s->observed)[0])
		return wait;
	left = (s->observed_time + (double)s->observed.duration_s -
		mono_now()) *
		       1000.0 +
	       50.0;
	return left > 0 && left < wait ? left : wait;
}

/* Campaigns until acquired (true) or stopped (false). */
static bool acquire(struct leader_elector *le)
{
	LOG_INFOF("attempting to acquire leader lease", "object=%s/%s id=%s",
		  le->ns, le->name, le->identity);
	for (;;) {
		if (stopping(le))
			return false;
		bool ok = try_acquire_or_renew(le);
		report_transition(le);
		if (ok)
			return true;
		if (wait_ms(le, acquire_wait_ms(le)))
			return false;
	}
}

/* One renewal round: retries every retry_ms until success (0), the renew
 * deadline (ERR_TIMEOUT) or a stop (1). */
static int renew_once(struct leader_elector *le)
{
	double deadline = mono_now() + (double)le->renew_deadline_ms / 1000.0;

	for (;;) {
		if (stopping(le))
			return 1;
		bool ok = try_acquire_or_renew(le);
		report_transition(le);
		if (ok)
			return 0;
		double left = (deadline - mono_now()) * 1000.0;
		if (left <= 0)
			return ERR_TIMEOUT;
		if (wait_ms(le, left < (double)le->retry_ms
					? left
					: (double)le->retry_ms))
			return 1;
		if (mono_now() >= deadline)
			return ERR_TIMEOUT;
	}
}

static void release(struct leader_elector *le)
{
	struct lease_record next;

	if (!leader_state_is_holder(&le->state, le->identity))
		return;
	leader_record_release(&le->state, wall_now_us(), &next);
	if (put_record(le, &next) == 0) {
		leader_state_observe(&le->state, &next, mono_now());
		LOG_INFOF("released leader lease", "object=%s/%s id=%s", le->ns,
			  le->name, le->identity);
	} else {
		LOG_WARNF("failed to release leader lease",
			  "object=%s/%s id=%s", le->ns, le->name, le->identity);
	}
	lease_record_release(&next);
}

int leader_run(struct leader_elector *le)
{
	int rc = 0;

	if (!acquire(le))
		return 0;
	LOG_INFOF("successfully acquired lease", "object=%s/%s id=%s", le->ns,
		  le->name, le->identity);
	record_event(le, "became leader");
	atomic_store(&le->leading, true);
	if (le->on_started_leading)
		le->on_started_leading(le->data);
	for (;;) {
		int r = renew_once(le);
		if (r == ERR_TIMEOUT) {
			LOG_ERRORF("failed to renew lease",
				   "object=%s/%s id=%s err=%s", le->ns,
				   le->name, le->identity, err_name(r));
			rc = ERR_TIMEOUT;
			break;
		}
		if (r == 1 || wait_ms(le, (double)le->retry_ms))
			break;
	}
	atomic_store(&le->leading, false);
	record_event(le, "stopped leading");
	if (le->release_on_cancel)
		release(le);
	if (le->on_stopped_leading)
		le->on_stopped_leading(le->data);
	return rc;
}

/*
 * test_leader: the pure leader-election logic (MicroTime, Lease records,
 * the acquire/renew decision with local observed time) and the elector
 * itself run by threads against an in-memory Lease store with
 * resourceVersion conflicts: acquire, renew, clean release and handover,
 * takeover after a crashed leader's lease expires, and loss of leadership
 * when renewals fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/leader.h"
#include "util/err.h"

#define US 1000000LL
#define W0 (1700000000LL * US)

/* ---- MicroTime and records ---- */

static void test_microtime(void **state)
{
	char buf[40];
	int64_t t = 0;

	microtime_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
	microtime_format(W0 + 123456, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:20.123456Z");
	assert_int_equal(microtime_parse(buf, &t), 0);
	assert_true(t == W0 + 123456);
	/* every microsecond survives the round trip */
	for (int64_t us = 0; us < 1000000; us += 999) {
		microtime_format(W0 + us, buf, sizeof(buf));
		assert_int_equal(microtime_parse(buf, &t), 0);
		assert_true(t == W0 + us);
	}
	assert_int_equal(microtime_parse("2023-11-14T22:13:20Z", &t), 0);
	assert_true(t == W0);
	assert_int_equal(microtime_parse("2023-11-14T22:13:20.5Z", &t), 0);
	assert_true(t == W0 + 500000);
	assert_int_equal(microtime_parse("yesterday", &t), ERR_PARSE);
	assert_true(t == W0 + 500000);
	microtime_format(W0, buf, 10);
	assert_string_equal(buf, "");
}

static void test_record_json_round_trip(void **state)
{
	struct lease_record r = {.holder = strdup("pod-a"),
				 .duration_s = 15,
				 .acquire_us = W0 + 1,
				 .renew_us = W0 + 2000001,
				 .transitions = 4};
	struct lease_record back;
	json_t *lease = json_object();

	json_object_set_new(lease, "spec", lease_record_to_spec(&r));
	json_t *spec = json_object_get(lease, "spec");
	assert_string_equal(
		json_string_value(json_object_get(spec, "renewTime")),
		"2023-11-14T22:13:22.000001Z");
	assert_int_equal(
		json_integer_value(json_object_get(spec, "leaseTransitions")),
		4);
	assert_int_equal(lease_record_from_json(lease, &back), 0);
	assert_true(lease_record_equal(&r, &back));
	lease_record_release(&back);

	/* an empty spec reads as an unheld lease */
	json_object_set_new(lease, "spec", json_object());
	assert_int_equal(lease_record_from_json(lease, &back), 0);
	assert_string_equal(back.holder, "");
	assert_int_equal(back.duration_s, 0);
	assert_true(back.renew_us == 0);
	lease_record_release(&back);

	json_object_set_new(json_object_get(lease, "spec"), "renewTime",
			    json_string("not a time"));
	assert_int_equal(lease_record_from_json(lease, &back), ERR_PARSE);
	assert_null(back.holder);

	json_decref(lease);
	lease_record_release(&r);
}

/* ---- the decision ---- */

static struct lease_record held_by(const char *holder, long dur, long trans)
{
	struct lease_record r = {.holder = strdup(holder),
				 .duration_s = dur,
				 .acquire_us = W0,
				 .renew_us = W0,
				 .transitions = trans};
	return r;
}

static void test_decide_other_holder(void **state)
{
	struct leader_state s = {0};
	struct lease_record other = held_by("b", 15, 3), next;

	leader_state_observe(&s, &other, 100.0);
	assert_false(leader_state_is_holder(&s, "a"));
	/* unexpired by the local clock: wait */
	assert_int_equal(leader_decide(&s, 100.0, W0, "a", 15, &next),
			 LEADER_WAIT);
	assert_int_equal(leader_decide(&s, 114.9, W0, "a", 15, &next),
			 LEADER_WAIT);
	/* seeing the same record again does not extend it */
	leader_state_observe(&s, &other, 110.0);
	assert_true(s.observed_time == 100.0);
	assert_int_equal(leader_decide(&s, 115.0, W0 + 7, "a", 15, &next),
			 LEADER_WRITE);
	assert_string_equal(next.holder, "a");
	assert_int_equal(next.transitions, 4);
	assert_true(next.acquire_us == W0 + 7 && next.renew_us == W0 + 7);
	assert_int_equal(next.duration_s, 15);
	lease_record_release(&next);

	/* a renewal by b (a changed record) restarts the local clock */
	other.renew_us += 2 * US;
	leader_state_observe(&s, &other, 112.0);
	assert_true(s.observed_time == 112.0);
	assert_int_equal(leader_decide(&s, 120.0, W0, "a", 15, &next),
			 LEADER_WAIT);
	/* the observed duration, not ours, decides expiry */
	other.duration_s = 60;
	leader_state_observe(&s, &other, 112.0);
	assert_int_equal(leader_decide(&s, 160.0, W0, "a", 15, &next),
			 LEADER_WAIT);
	assert_int_equal(leader_decide(&s, 172.0, W0, "a", 15, &next),
			 LEADER_WRITE);
	lease_record_release(&next);
	lease_record_release(&other);
	leader_state_release(&s);
}

static void test_decide_own_lease(void **state)
{
	struct leader_state s = {0};
	struct lease_record mine = held_by("a", 15, 2), next;

	leader_state_observe(&s, &mine, 100.0);
	assert_true(leader_state_is_holder(&s, "a"));
	/* renewing keeps acquireTime and leaseTransitions */
	assert_int_equal(leader_decide(&s, 101.0, W0 + 9 * US, "a", 15, &next),
			 LEADER_WRITE);
	assert_true(next.acquire_us == W0);
	assert_true(next.renew_us == W0 + 9 * US);
	assert_int_equal(next.transitions, 2);
	lease_record_release(&next);
	/* even long expired, our own record is renewed, not re-acquired */
	assert_int_equal(leader_decide(&s, 500.0, W0 + 9 * US, "a", 15, &next),
			 LEADER_WRITE);
	assert_int_equal(next.transitions, 2);
	lease_record_release(&next);
	lease_record_release(&mine);
	leader_state_release(&s);
}

static void test_decide_released_lease(void **state)
{
	struct leader_state s = {0};
	struct lease_record a = held_by("a", 15, 5), rel, next;

	leader_state_observe(&s, &a, 100.0);
	leader_record_release(&s, W0 + US, &rel);
	assert_string_equal(rel.holder, "");
	assert_int_equal(rel.duration_s, 1);
	assert_int_equal(rel.transitions, 5);
	assert_true(rel.renew_us == W0 + US && rel.acquire_us == W0 + US);

	/* a standby seeing an empty holder acquires at once */
	struct leader_state b = {0};
	leader_state_observe(&b, &rel, 200.0);
	assert_true(leader_state_lease_valid(&b, 200.5));
	assert_int_equal(leader_decide(&b, 200.0, W0 + 2 * US, "b", 15, &next),
			 LEADER_WRITE);
	assert_string_equal(next.holder, "b");
	assert_int_equal(next.transitions, 6);
	lease_record_release(&next);

	/* creation starts at zero transitions */
	leader_record_create(W0, "c", 15, &next);
	assert_string_equal(next.holder, "c");
	assert_int_equal(next.transitions, 0);
	assert_true(next.acquire_us == W0 && next.renew_us == W0);
	lease_record_release(&next);

	lease_record_release(&rel);
	lease_record_release(&a);
	leader_state_release(&s);
	leader_state_release(&b);
}

static void test_new_validates(void **state)
{
	struct leader_elector *le = NULL;
	char err[128];
	struct lease_lock lock = {0};
	struct leader_options o = {
		.lock = &lock, .ns = "ns", .name = "l", .identity = "a"};

	o.renew_deadline_ms = 20000;
	assert_int_equal(leader_new(NULL, &o, &le, err, sizeof(err)),
			 ERR_INVAL);
	assert_non_null(strstr(err, "renewDeadline"));
	o.renew_deadline_ms = 2000;
	assert_int_equal(leader_new(NULL, &o, &le, err, sizeof(err)),
			 ERR_INVAL);
	o.renew_deadline_ms = 0;
	o.identity = "";
	assert_int_equal(leader_new(NULL, &o, &le, err, sizeof(err)),
			 ERR_INVAL);
	o.identity = "a";
	assert_int_equal(leader_new(NULL, &o, &le, err, sizeof(err)), 0);
	leader_free(le);
}

/* ---- the elector against an in-memory Lease ---- */

struct store {
	pthread_mutex_t mu;
	json_t *lease; /* NULL: not found */
	long rv;
	bool fail_writes; /* updates fail with ERR_TRANSPORT */
};

static int store_get(const char *ns, const char *name, json_t **out, void *data)
{
	struct store *s = data;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (!s->lease)
		rc = ERR_NOTFOUND;
	else
		*out = json_deep_copy(s->lease);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void stamp(struct store *s, json_t *obj)
{
	char rv[32];

	snprintf(rv, sizeof(rv), "%ld", ++s->rv);
	json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion",
			    json_string(rv));
	json_decref(s->lease);
	s->lease = json_deep_copy(obj);
}

static int store_create(const char *ns, json_t *lease, json_t **out, void *data)
{
	struct store *s = data;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (s->lease) {
		rc = ERR_EXISTS;
	} else {
		json_t *copy = json_deep_copy(lease);
		stamp(s, copy);
		*out = copy;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int store_update(const char *ns, json_t *lease, json_t **out, void *data)
{
	struct store *s = data;
	int rc = 0;
	const char *rv = json_string_value(json_object_get(
		json_object_get(lease, "metadata"), "resourceVersion"));
	char cur[32];

	pthread_mutex_lock(&s->mu);
	snprintf(cur, sizeof(cur), "%ld", s->rv);
	if (s->fail_writes) {
		rc = ERR_TRANSPORT;
	} else if (!s->lease) {
		rc = ERR_NOTFOUND;
	} else if (!rv || strcmp(rv, cur) != 0) {
		rc = ERR_CONFLICT;
	} else {
		json_t *copy = json_deep_copy(lease);
		stamp(s, copy);
		*out = copy;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void store_holder(struct store *s, char *buf, size_t len, long *dur,
			 long *trans)
{
	struct lease_record r;

	pthread_mutex_lock(&s->mu);
	assert_int_equal(lease_record_from_json(s->lease, &r), 0);
	pthread_mutex_unlock(&s->mu);
	snprintf(buf, len, "%s", r.holder);
	if (dur)
		*dur = r.duration_s;
	if (trans)
		*trans = r.transitions;
	lease_record_release(&r);
}

struct candidate {
	struct leader_elector *le;
	pthread_t thread;
	atomic_int started, stopped, new_leader;
	int rc;
	bool led_during_start;
};

static void on_started(void *data)
{
	struct candidate *c = data;

	c->led_during_start = leader_is_leader(c->le);
	atomic_fetch_add(&c->started, 1);
}

static void on_stopped(void *data)
{
	struct candidate *c = data;

	atomic_fetch_add(&c->stopped, 1);
}

static void on_new(const char *id, void *data)
{
	struct candidate *c = data;

	atomic_fetch_add(&c->new_leader, 1);
}

static void *run_thread(void *arg)
{
	struct candidate *c = arg;

	c->rc = leader_run(c->le);
	return NULL;
}

static void start(struct candidate *c, struct store *s, const char *id,
		  bool release)
{
	struct lease_lock lock = {store_get, store_create, store_update, s};
	struct leader_options o = {.lock = &lock,
				   .ns = "knit-system",
				   .name = "knit-controller",
				   .identity = id,
				   .lease_ms = 2000,
				   .renew_deadline_ms = 1000,
				   .retry_ms = 100,
				   .release_on_cancel = release,
				   .on_started_leading = on_started,
				   .on_stopped_leading = on_stopped,
				   .on_new_leader = on_new,
				   .data = c};
	char err[128];

	memset(c, 0, sizeof(*c));
	assert_int_equal(leader_new(NULL, &o, &c->le, err, sizeof(err)), 0);
	assert_int_equal(pthread_create(&c->thread, NULL, run_thread, c), 0);
}

static void finish(struct candidate *c)
{
	leader_stop(c->le);
	pthread_join(c->thread, NULL);
	leader_free(c->le);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits up to `secs` for *flag to become nonzero; returns elapsed seconds
 * or -1. */
static double wait_flag(atomic_int *flag, double secs)
{
	double t0 = now_s();
	struct timespec ts = {0, 5 * 1000000};

	while (now_s() - t0 < secs) {
		if (atomic_load(flag))
			return now_s() - t0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static void store_init(struct store *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
}

static void store_release(struct store *s)
{
	json_decref(s->lease);
	pthread_mutex_destroy(&s->mu);
}

static void test_single_leader_release(void **state)
{
	struct store s;
	struct candidate a;
	char holder[64];
	long dur, trans;

	store_init(&s);
	start(&a, &s, "a", true);
	assert_true(wait_flag(&a.started, 3) >= 0);
	assert_true(a.led_during_start);
	assert_true(leader_is_leader(a.le));
	store_holder(&s, holder, sizeof(holder), &dur, &trans);
	assert_string_equal(holder, "a");
	assert_int_equal(dur, 2);
	assert_int_equal(trans, 0);
	/* it keeps renewing */
	pthread_mutex_lock(&s.mu);
	long rv0 = s.rv;
	pthread_mutex_unlock(&s.mu);
	struct timespec ts = {0, 350 * 1000000};
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&s.mu);
	assert_true(s.rv >= rv0 + 2);
	pthread_mutex_unlock(&s.mu);

	finish(&a);
	assert_int_equal(a.rc, 0);
	assert_int_equal(atomic_load(&a.stopped), 1);
	store_holder(&s, holder, sizeof(holder), &dur, &trans);
	assert_string_equal(holder, "");
	assert_int_equal(dur, 1);
	assert_int_equal(trans, 0);
	store_release(&s);
}

static void test_clean_handover(void **state)
{
	struct store s;
	struct candidate a, b;
	char holder[64];
	long trans;

	store_init(&s);
	start(&a, &s, "a", true);
	assert_true(wait_flag(&a.started, 3) >= 0);
	start(&b, &s, "b", true);
	struct timespec ts = {0, 500 * 1000000};
	nanosleep(&ts, NULL);
	assert_int_equal(atomic_load(&b.started), 0);
	assert_true(atomic_load(&b.new_leader) >= 1); /* b saw a lead */

	finish(&a);
	/* the standby takes over within a couple of retry periods */
	double took = wait_flag(&b.started, 3);
	assert_true(took >= 0 && took < 0.5);
	store_holder(&s, holder, sizeof(holder), NULL, &trans);
	assert_string_equal(holder, "b");
	assert_int_equal(trans, 1);
	finish(&b);
	assert_int_equal(atomic_load(&b.stopped), 1);
	store_release(&s);
}

static void test_takeover_after_crash(void **state)
{
	struct store s;
	struct candidate a, b;
	char holder[64];

	store_init(&s);
	start(&a, &s, "a", false); /* no release: like kill -9 */
	assert_true(wait_flag(&a.started, 3) >= 0);
	start(&b, &s, "b", false);
	struct timespec ts = {0, 200 * 1000000};
	nanosleep(&ts, NULL);
	finish(&a);
	store_holder(&s, holder, sizeof(holder), NULL, NULL);
	assert_string_equal(holder, "a");
	/* b waits out the 2 s lease from when it last saw a change */
	double took = wait_flag(&b.started, 5);
	assert_true(took > 1.5 && took < 2.6);
	store_holder(&s, holder, sizeof(holder), NULL, NULL);
	assert_string_equal(holder, "b");
	finish(&b);
	store_release(&s);
}

static void test_renew_deadline_loses_leadership(void **state)
{
	struct store s;
	struct candidate a;

	store_init(&s);
	start(&a, &s, "a", true);
	assert_true(wait_flag(&a.started, 3) >= 0);
	pthread_mutex_lock(&s.mu);
	s.fail_writes = true;
	pthread_mutex_unlock(&s.mu);
	double t0 = now_s();
	pthread_join(a.thread, NULL);
	double took = now_s() - t0;
	assert_int_equal(a.rc, ERR_TIMEOUT);
	assert_int_equal(atomic_load(&a.stopped), 1);
	assert_false(leader_is_leader(a.le));
	/* within the renew deadline (1 s) after the last success + one retry */
	assert_true(took > 0.8 && took < 1.6);
	leader_free(a.le);
	store_release(&s);
}

static void test_conflict_falls_back_to_get(void **state)
{
	struct store s;
	struct candidate a;
	char holder[64];

	store_init(&s);
	start(&a, &s, "a", true);
	assert_true(wait_flag(&a.started, 3) >= 0);
	/* someone else touches the Lease (e.g. an annotation): our cached
	 * resourceVersion is stale, the fast path gets 409 */
	pthread_mutex_lock(&s.mu);
	json_t *touched = json_deep_copy(s.lease);
	stamp(&s, touched);
	json_decref(touched);
	long rv0 = s.rv;
	pthread_mutex_unlock(&s.mu);
	/* longer than the renew deadline: renewals must keep succeeding */
	struct timespec ts = {1, 300 * 1000000};
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&s.mu);
	assert_true(s.rv > rv0 + 5);
	pthread_mutex_unlock(&s.mu);
	assert_true(leader_is_leader(a.le));
	assert_int_equal(atomic_load(&a.stopped), 0);
	store_holder(&s, holder, sizeof(holder), NULL, NULL);
	assert_string_equal(holder, "a");
	finish(&a);
	assert_int_equal(a.rc, 0);
	store_release(&s);
}

static void test_stop_while_waiting(void **state)
{
	struct store s;
	struct candidate a, b;

	store_init(&s);
	start(&a, &s, "a", true);
	assert_true(wait_flag(&a.started, 3) >= 0);
	start(&b, &s, "b", true);
	struct timespec ts = {0, 150 * 1000000};
	nanosleep(&ts, NULL);
	double t0 = now_s();
	finish(&b);
	assert_true(now_s() - t0 < 0.3);
	assert_int_equal(b.rc, 0);
	assert_int_equal(atomic_load(&b.started), 0);
	assert_int_equal(atomic_load(&b.stopped), 0);
	finish(&a);
	store_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_microtime),
		cmocka_unit_test(test_record_json_round_trip),
		cmocka_unit_test(test_decide_other_holder),
		cmocka_unit_test(test_decide_own_lease),
		cmocka_unit_test(test_decide_released_lease),
		cmocka_unit_test(test_new_validates),
		cmocka_unit_test(test_single_leader_release),
		cmocka_unit_test(test_clean_handover),
		cmocka_unit_test(test_takeover_after_crash),
		cmocka_unit_test(test_renew_deadline_loses_leadership),
		cmocka_unit_test(test_conflict_falls_back_to_get),
		cmocka_unit_test(test_stop_while_waiting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

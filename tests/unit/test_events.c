/*
 * test_events: the event correlator (repeats, aggregation, spam filter,
 * bounded caches), the Event objects it builds, and the asynchronous
 * recorder driven against an in-memory sink (create/patch, 404 fallback,
 * retries, queue overflow, prompt shutdown).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/events.h"
#include "util/err.h"

#define SEC 1000000000LL
#define T0  (1700000000LL * SEC)

static const struct event_ref POD = {
	.api_version = "v1",
	.kind = "Pod",
	.ns = "team-a",
	.name = "web-1",
	.uid = "uid-1",
};

static void draft(struct event_draft *d, const struct event_ref *ref,
		  const char *reason, const char *msg)
{
	event_draft_init(d, "knit", "host-1", ref, "Normal", reason, msg);
}

/* ---- correlator ---- */

static void test_first_then_repeat(void **state)
{
	struct event_correlator *c = event_correlator_new(NULL);
	struct event_draft d;
	struct event_plan p1, p2, p3;

	draft(&d, &POD, "Scaled", "scaled to 3");
	event_correlate(c, &d, T0, &p1);
	assert_int_equal(p1.action, EVENT_CREATE);
	assert_int_equal(p1.count, 1);
	char want[64];
	snprintf(want, sizeof(want), "web-1.%llx", (unsigned long long)T0);
	assert_string_equal(p1.name, want);
	assert_string_equal(p1.message, "scaled to 3");
	assert_true(p1.first_ns == T0 && p1.last_ns == T0);

	event_correlate(c, &d, T0 + 5 * SEC, &p2);
	assert_int_equal(p2.action, EVENT_PATCH);
	assert_int_equal(p2.count, 2);
	assert_string_equal(p2.name, p1.name);
	assert_true(p2.first_ns == T0);
	assert_true(p2.last_ns == T0 + 5 * SEC);

	/* another message is another event, with a distinct name even at the
	 * same nanosecond */
	event_draft_release(&d);
	draft(&d, &POD, "Scaled", "scaled to 4");
	event_correlate(c, &d, T0, &p3);
	assert_int_equal(p3.action, EVENT_CREATE);
	assert_int_equal(p3.count, 1);
	assert_string_not_equal(p3.name, p1.name);

	event_plan_release(&p1);
	event_plan_release(&p2);
	event_plan_release(&p3);
	event_draft_release(&d);
	event_correlator_free(c);
}

static void test_aggregation(void **state)
{
	struct event_correlator *c = event_correlator_new(NULL);
	struct event_draft d;
	struct event_plan p;
	char msg[32];
	char *combined_name = NULL;

	for (int i = 0; i < 9; i++) {
		snprintf(msg, sizeof(msg), "pod %d failed", i);
		draft(&d, &POD, "Failed", msg);
		event_correlate(c, &d, T0 + i * SEC, &p);
		assert_int_equal(p.action, EVENT_CREATE);
		assert_string_equal(p.message, msg);
		event_plan_release(&p);
		event_draft_release(&d);
	}
	/* the 10th distinct message within 600 s is combined */
	draft(&d, &POD, "Failed", "pod 9 failed");
	event_correlate(c, &d, T0 + 10 * SEC, &p);
	assert_int_equal(p.action, EVENT_CREATE);
	assert_string_equal(p.message,
			    "(combined from similar events): pod 9 failed");
	combined_name = strdup(p.name);
	event_plan_release(&p);
	event_draft_release(&d);

	/* a further new message patches the combined event */
	draft(&d, &POD, "Failed", "pod 10 failed");
	event_correlate(c, &d, T0 + 11 * SEC, &p);
	assert_int_equal(p.action, EVENT_PATCH);
	assert_int_equal(p.count, 2);
	assert_string_equal(p.name, combined_name);
	assert_string_equal(p.message,
			    "(combined from similar events): pod 10 failed");
	event_plan_release(&p);
	event_draft_release(&d);

	/* another reason is not aggregated with these */
	draft(&d, &POD, "Other", "pod 11 failed");
	event_correlate(c, &d, T0 + 12 * SEC, &p);
	assert_string_equal(p.message, "pod 11 failed");
	event_plan_release(&p);
	event_draft_release(&d);

	/* after 600 s of quiet the set starts over */
	draft(&d, &POD, "Failed", "pod 12 failed");
	event_correlate(c, &d, T0 + 700 * SEC, &p);
	assert_int_equal(p.action, EVENT_CREATE);
	assert_string_equal(p.message, "pod 12 failed");
	event_plan_release(&p);
	event_draft_release(&d);

	free(combined_name);
	event_correlator_free(c);
}

static void test_spam_filter(void **state)
{
	struct event_correlator *c = event_correlator_new(NULL);
	struct event_draft d;
	struct event_plan p;
	struct event_ref other = POD;
	int accepted = 0;

	draft(&d, &POD, "Sync", "same");
	for (int i = 0; i < 30; i++) {
		event_correlate(c, &d, T0 + i, &p);
		if (p.action != EVENT_SKIP)
			accepted++;
		/* filtered repeats still count occurrences */
		assert_int_equal(p.count, i + 1);
		event_plan_release(&p);
	}
	assert_int_equal(accepted, 25);

	/* one token comes back after 300 s, not before */
	event_correlate(c, &d, T0 + 299 * SEC, &p);
	assert_int_equal(p.action, EVENT_SKIP);
	event_plan_release(&p);
	event_correlate(c, &d, T0 + 301 * SEC, &p);
	assert_int_equal(p.action, EVENT_PATCH);
	assert_int_equal(p.count, 32);
	event_plan_release(&p);
	event_correlate(c, &d, T0 + 302 * SEC, &p);
	assert_int_equal(p.action, EVENT_SKIP);
	event_plan_release(&p);
	event_draft_release(&d);

	/* the bucket is per object */
	other.name = "web-2";
	other.uid = "uid-2";
	draft(&d, &other, "Sync", "same");
	event_correlate(c, &d, T0 + 302 * SEC, &p);
	assert_int_equal(p.action, EVENT_CREATE);
	event_plan_release(&p);
	event_draft_release(&d);
	event_correlator_free(c);
}

static void test_spam_disabled(void **state)
{
	struct event_correlator_options o = {.spam_burst = -1};
	struct event_correlator *c = event_correlator_new(&o);
	struct event_draft d;
	struct event_plan p;

	draft(&d, &POD, "Sync", "same");
	for (int i = 0; i < 100; i++) {
		event_correlate(c, &d, T0 + i, &p);
		assert_int_not_equal(p.action, EVENT_SKIP);
		event_plan_release(&p);
	}
	event_draft_release(&d);
	event_correlator_free(c);
}

static void test_bounded_caches(void **state)
{
	struct event_correlator_options o = {.cache_max = 8};
	struct event_correlator *c = event_correlator_new(&o);
	struct event_draft d;
	struct event_plan p;
	struct event_ref ref = POD;
	char name[32];
	size_t a, r, s;

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "obj-%d", i);
		ref.name = name;
		draft(&d, &ref, "Sync", "msg");
		event_correlate(c, &d, T0 + i, &p);
		assert_int_equal(p.action, EVENT_CREATE);
		event_plan_release(&p);
		event_draft_release(&d);
	}
	event_correlator_sizes(c, &a, &r, &s);
	assert_int_equal(a, 8);
	assert_int_equal(r, 8);
	assert_int_equal(s, 8);

	/* the most recent object is still remembered (a repeat patches); the
	 * oldest was evicted (a repeat creates again) */
	ref.name = "obj-99";
	draft(&d, &ref, "Sync", "msg");
	event_correlate(c, &d, T0 + 200, &p);
	assert_int_equal(p.action, EVENT_PATCH);
	event_plan_release(&p);
	event_draft_release(&d);
	ref.name = "obj-0";
	draft(&d, &ref, "Sync", "msg");
	event_correlate(c, &d, T0 + 201, &p);
	assert_int_equal(p.action, EVENT_CREATE);
	event_plan_release(&p);
	event_draft_release(&d);
	event_correlator_free(c);
}

static void test_build_event(void **state)
{
	struct event_ref node = {
		.api_version = "v1", .kind = "Node", .name = "n1", .uid = "u"};
	struct event_draft d;
	struct event_plan p = {.action = EVENT_CREATE,
			       .name = strdup("n1.abc"),
			       .message = strdup("hello"),
			       .count = 3,
			       .first_ns = T0 + 123,
			       .last_ns = T0 + 61 * SEC};
	json_t *ev, *patch;

	draft(&d, &node, "Ready", "hello");
	assert_string_equal(event_namespace(&d), "default");
	ev = event_build(&d, &p);
	assert_string_equal(json_string_value(json_object_get(ev, "kind")),
			    "Event");
	json_t *meta = json_object_get(ev, "metadata");
	assert_string_equal(
		json_string_value(json_object_get(meta, "namespace")),
		"default");
	assert_string_equal(json_string_value(json_object_get(meta, "name")),
			    "n1.abc");
	json_t *inv = json_object_get(ev, "involvedObject");
	assert_string_equal(json_string_value(json_object_get(inv, "kind")),
			    "Node");
	assert_null(json_object_get(inv, "namespace"));
	assert_string_equal(
		json_string_value(json_object_get(ev, "firstTimestamp")),
		"2023-11-14T22:13:20Z");
	assert_string_equal(
		json_string_value(json_object_get(ev, "lastTimestamp")),
		"2023-11-14T22:14:21Z");
	assert_int_equal(json_integer_value(json_object_get(ev, "count")), 3);
	assert_string_equal(json_string_value(json_object_get(ev, "type")),
			    "Normal");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(ev, "source"), "host")),
			    "host-1");
	assert_string_equal(
		json_string_value(json_object_get(ev, "reportingComponent")),
		"knit");
	assert_string_equal(
		json_string_value(json_object_get(ev, "reportingInstance")),
		"host-1");
	json_decref(ev);

	patch = event_build_patch(&p);
	assert_int_equal(json_object_size(patch), 3);
	assert_int_equal(json_integer_value(json_object_get(patch, "count")),
			 3);
	assert_string_equal(
		json_string_value(json_object_get(patch, "lastTimestamp")),
		"2023-11-14T22:14:21Z");
	json_decref(patch);
	event_plan_release(&p);
	event_draft_release(&d);
}

/* ---- recorder against an in-memory sink ---- */

struct fake_sink {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	json_t *events; /* "ns/name" -> Event */
	int creates, patches;
	int fail_next; /* calls to fail with fail_code */
	int fail_code;
	bool blocked;	 /* calls wait while true */
	bool forget_all; /* patches return 404 */
};

static void fake_init(struct fake_sink *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->events = json_object();
}

static void fake_release(struct fake_sink *f)
{
	json_decref(f->events);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cond);
}

/* Waits while blocked; returns a failure to inject, or 0. Locked. */
static int fake_enter(struct fake_sink *f)
{
	while (f->blocked)
		pthread_cond_wait(&f->cond, &f->mu);
	if (f->fail_next > 0) {
		f->fail_next--;
		return f->fail_code;
	}
	return 0;
}

static int fake_create(const char *ns, json_t *event, void *data)
{
	struct fake_sink *f = data;
	char key[256];
	int rc;

	pthread_mutex_lock(&f->mu);
	f->creates++;
	rc = fake_enter(f);
	if (rc == 0) {
		snprintf(key, sizeof(key), "%s/%s", ns,
			 json_string_value(json_object_get(
				 json_object_get(event, "metadata"), "name")));
		if (json_object_get(f->events, key))
			rc = ERR_EXISTS;
		else
			json_object_set_new(f->events, key,
					    json_deep_copy(event));
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int fake_patch(const char *ns, const char *name, json_t *patch,
		      void *data)
{
	struct fake_sink *f = data;
	char key[256];
	json_t *ev;
	int rc;

	pthread_mutex_lock(&f->mu);
	f->patches++;
	rc = fake_enter(f);
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	ev = json_object_get(f->events, key);
	if (rc == 0 && (!ev || f->forget_all))
		rc = ERR_NOTFOUND;
	if (rc == 0)
		json_object_update(ev, patch);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static struct event_recorder *recorder(struct fake_sink *f, size_t queue_max)
{
	struct event_sink sink = {fake_create, fake_patch, f};
	struct event_recorder_options o = {.sink = &sink,
					   .component = "knit-controller",
					   .host = "node-a",
					   .queue_max = queue_max,
					   .retry_sleep_ms = 5,
					   .max_tries = 4};
	return event_recorder_new(NULL, &o);
}

static json_t *only_event(struct fake_sink *f)
{
	const char *k;
	json_t *v, *found = NULL;
	int n = 0;

	json_object_foreach(f->events, k, v)
	{
		found = v;
		n++;
	}
	assert_int_equal(n, 1);
	return found;
}

static void test_recorder_repeats_become_count(void **state)
{
	struct fake_sink f;
	struct event_recorder *r;
	struct event_recorder_stats st;

	fake_init(&f);
	r = recorder(&f, 0);
	for (int i = 0; i < 5; i++)
		event_record(r, &POD, "Warning", "BackOff", "restarting %s",
			     "web");
	assert_int_equal(event_recorder_flush(r, 5000), 0);
	json_t *ev = only_event(&f);
	assert_int_equal(json_integer_value(json_object_get(ev, "count")), 5);
	assert_string_equal(json_string_value(json_object_get(ev, "message")),
			    "restarting web");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(ev, "metadata"), "namespace")),
		"team-a");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(ev, "source"),
						  "component")),
		"knit-controller");
	assert_int_equal(f.creates, 1);
	assert_int_equal(f.patches, 4);
	event_recorder_stats(r, &st);
	assert_int_equal(st.recorded, 5);
	assert_int_equal(st.written, 5);
	assert_int_equal(st.failed, 0);
	event_recorder_free(r);
	fake_release(&f);
}

static void test_recorder_patch_404_recreates(void **state)
{
	struct fake_sink f;
	struct event_recorder *r;

	fake_init(&f);
	r = recorder(&f, 0);
	event_record(r, &POD, "Normal", "Synced", "ok");
	assert_int_equal(event_recorder_flush(r, 5000), 0);
	/* the Event expires on the server */
	pthread_mutex_lock(&f.mu);
	json_object_clear(f.events);
	pthread_mutex_unlock(&f.mu);
	event_record(r, &POD, "Normal", "Synced", "ok");
	assert_int_equal(event_recorder_flush(r, 5000), 0);
	json_t *ev = only_event(&f);
	assert_int_equal(json_integer_value(json_object_get(ev, "count")), 2);
	assert_int_equal(f.creates, 2);
	assert_int_equal(f.patches, 1);
	event_recorder_free(r);
	fake_release(&f);
}

static void test_recorder_retries(void **state)
{
	struct fake_sink f;
	struct event_recorder *r;
	struct event_recorder_stats st;

	fake_init(&f);
	r = recorder(&f, 0);
	/* transport failures and 5xx are retried (4 tries allowed) */
	f.fail_next = 3;
	f.fail_code = ERR_TRANSPORT;
	event_record(r, &POD, "Normal", "A", "a");
	assert_int_equal(event_recorder_flush(r, 5000), 0);
	assert_int_equal(f.creates, 4);
	event_recorder_stats(r, &st);
	assert_int_equal(st.written, 1);
	assert_int_equal(st.failed, 0);

	/* ... up to max_tries */
	f.fail_next = 10;
	f.fail_code = ERR_INTERNAL;
	event_record(r, &POD, "Normal", "B", "b");
	assert_int_equal(event_recorder_flush(r, 5000), 0);
	assert_int_equal(f.creates, 8);
	event_recorder_stats(r, &st);
	assert_int_equal(st.failed, 1);

	/* a 4xx is not retried */
	f.fail_next = 1;
	f.fail_code = ERR_INVAL;
	event_record(r, &POD, "Normal", "C", "c");
	assert_int_equal(event_recorder_flush(r, 5000), 0);
	assert_int_equal(f.creates, 9);
	event_recorder_stats(r, &st);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.written, 1);
	event_recorder_free(r);
	fake_release(&f);
}

static void test_recorder_queue_full_drops(void **state)
{
	struct fake_sink f;
	struct event_recorder *r;
	struct event_recorder_stats st;
	struct timespec ts = {0, 20 * 1000000};

	fake_init(&f);
	f.blocked = true;
	r = recorder(&f, 3);
	event_record(r, &POD, "Normal", "R", "first");
	nanosleep(&ts, NULL); /* the worker takes it and blocks in the sink */
	for (int i = 0; i < 10; i++)
		event_record(r, &POD, "Normal", "R", "more %d", i);
	event_recorder_stats(r, &st);
	assert_int_equal(st.recorded + st.dropped, 11);
	assert_true(st.dropped >= 7);
	assert_int_equal(event_recorder_flush(r, 50), ERR_TIMEOUT);
	pthread_mutex_lock(&f.mu);
	f.blocked = false;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.mu);
	assert_int_equal(event_recorder_flush(r, 5000), 0);
	event_recorder_stats(r, &st);
	assert_int_equal(st.written, st.recorded);
	event_recorder_free(r);
	fake_release(&f);
}

static void test_recorder_free_is_prompt(void **state)
{
	struct fake_sink f;
	struct event_sink sink = {fake_create, fake_patch, &f};
	struct event_recorder_options o = {.sink = &sink,
					   .retry_sleep_ms = 600000};
	struct event_recorder *r;
	struct timespec a, b;

	fake_init(&f);
	f.fail_next = 1000;
	f.fail_code = ERR_TRANSPORT;
	r = event_recorder_new(NULL, &o);
	for (int i = 0; i < 20; i++)
		event_record(r, &POD, "Normal", "R", "m %d", i);
	clock_gettime(CLOCK_MONOTONIC, &a);
	event_recorder_free(r);
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* flush deadline (2 s) plus a prompt stop, not a 10-minute sleep */
	assert_true(b.tv_sec - a.tv_sec < 4);
	fake_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_then_repeat),
		cmocka_unit_test(test_aggregation),
		cmocka_unit_test(test_spam_filter),
		cmocka_unit_test(test_spam_disabled),
		cmocka_unit_test(test_bounded_caches),
		cmocka_unit_test(test_build_event),
		cmocka_unit_test(test_recorder_repeats_become_count),
		cmocka_unit_test(test_recorder_patch_404_recreates),
		cmocka_unit_test(test_recorder_retries),
		cmocka_unit_test(test_recorder_queue_full_drops),
		cmocka_unit_test(test_recorder_free_is_prompt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

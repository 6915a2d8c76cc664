/*
 * kube_check leader and events: the two background machines a controller
 * runs beside its informers.
 *
 * leader LEASE ID campaigns for Lease default/LEASE with client-go's
 * timings and prints one line per transition ("leading ID", "new-leader X",
 * "stopped ID"), flushed at once so a test can follow. SIGTERM or SIGINT
 * stops it cleanly, releasing the lease; it exits 0 then, 3 when it lost
 * the lease.
 *
 * events NS NAME COUNT records the same Normal event COUNT times about
 * ConfigMap NS/NAME (which must exist), waits for the recorder to write
 * everything and prints its counters.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/events.h"
#include "kube/leader.h"
#include "util/err.h"

#include "kube_check.h"

static struct leader_elector *running;
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void started(void *data)
{
	printf("leading %s\n", (const char *)data);
	fflush(stdout);
}

static void stopped(void *data)
{
	printf("stopped %s\n", (const char *)data);
	fflush(stdout);
}

static void new_leader(const char *id, void *data)
{
	(void)data;
	printf("new-leader %s\n", *id ? id : "(none)");
	fflush(stdout);
}

/* leader_stop() is not async-signal-safe: a thread turns the signal flag
 * into the call. */
static void *stopper(void *arg)
{
	(void)arg;
	while (!stop_requested)
		usleep(20 * 1000);
	leader_stop(running);
	return NULL;
}

int check_leader(struct kube_client *c, char **argv)
{
	struct leader_options o = {
		.ns = "default",
		.name = argv[0],
		.identity = argv[1],
		.release_on_cancel = true,
		.on_started_leading = started,
		.on_stopped_leading = stopped,
		.on_new_leader = new_leader,
		.data = argv[1],
	};
	char err[256];
	pthread_t tid;
	int rc;

	if (leader_new(c, &o, &running, err, sizeof(err))) {
		printf("error: %s\n", err);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	pthread_create(&tid, NULL, stopper, NULL);
	rc = leader_run(running);
	stop_requested = 1;
	pthread_join(tid, NULL);
	leader_free(running);
	return rc ? 3 : 0;
}

int check_events(struct kube_client *c, char **argv)
{
	struct event_recorder_options o = {.component = "kube-check",
					   .host = "test-host"};
	struct kube_error e = KUBE_ERROR_INIT;
	struct event_recorder_stats st;
	struct event_recorder *r;
	json_t *cm = NULL, *md;
	long count = strtol(argv[2], NULL, 10);
	int rc = kube_get(c, &KUBE_CONFIGMAPS, argv[0], argv[1], &cm, &e);

	if (rc) {
		check_print_error(rc, &e);
		kube_error_release(&e);
		return 2;
	}
	md = json_object_get(cm, "metadata");
	struct event_ref ref = {
		.api_version = "v1",
		.kind = "ConfigMap",
		.ns = argv[0],
		.name = argv[1],
		.uid = json_string_value(json_object_get(md, "uid")),
		.resource_version = json_string_value(
			json_object_get(md, "resourceVersion")),
	};
	r = event_recorder_new(c, &o);
	for (long i = 0; i < count; i++)
		event_record(r, &ref, "Normal", "Tested", "checked %s",
			     argv[1]);
	rc = event_recorder_flush(r, 20000);
	event_recorder_stats(r, &st);
	printf("recorded=%lu written=%lu dropped=%lu spam_filtered=%lu "
	       "failed=%lu flushed=%s\n",
	       st.recorded, st.written, st.dropped, st.spam_filtered, st.failed,
	       rc ? "no" : "yes");
	event_recorder_free(r);
	json_decref(cm);
	return rc || st.failed ? 1 : 0;
}

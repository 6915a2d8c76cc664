/*
 * knit-controller: the Rollout controller process. This file only parses
 * flags and wires the modules together: configuration (pkg/kube/kubeconfig),
 * the API client with its metrics hook, the event recorder, the HTTP
 * endpoints (pkg/controller/serve), leader election (pkg/kube/leader) and
 * the controller itself (pkg/controller/controller).
 *
 * Lifecycle: with leader election the controller runs on its own thread
 * from the moment this replica leads; losing the lease ends the process at
 * once (exit 0, like controller-runtime's managers: reconcilers still in
 * flight must not race the new leader). SIGTERM or SIGINT stops the
 * workers, then releases the lease, flushes Events and exits 0. Signals
 * are blocked in every thread and taken by one sigwait() thread.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/controller.h"
#include "controller/serve.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/kubeconfig.h"
#include "kube/leader.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#define PROG	   "knit-controller"
#define LEASE_NAME "knit-controller-leader"

struct flags {
	const char *kubeconfig, *context, *ns;
	double qps;
	long burst, workers, analysis_workers;
	bool leader_elect;
	const char *lease_ns;
	const char *metrics_address, *health_address;
	const char *log_format;
};

struct app {
	struct flags f;
	struct kube_config *cfg;
	struct kube_client *client;
	struct metrics *metrics;
	struct event_recorder *recorder;
	struct controller *ctl;
	struct leader_elector *le;
	struct server *servers[2];
	char identity[300];

	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;
	bool stopping, running, done;
	pthread_t ctl_thread;
};

static void usage(FILE *out)
{
	fputs("usage: knit-controller [flags]\n"
	      "  --kubeconfig PATH            kubeconfig file (default "
	      "$KUBECONFIG, ~/.kube/config, in-cluster)\n"
	      "  --context NAME               kubeconfig context\n"
	      "  --namespace NS               watch only NS (default: every "
	      "namespace)\n"
	      "  --qps N                      API requests per second "
	      "(default 40)\n"
	      "  --burst N                    API burst (default 80)\n"
	      "  --workers N                  reconcile workers (default 4)\n"
	      "  --analysis-workers N         analysis measurement workers "
	      "(default 4)\n"
	      "  --leader-elect[=BOOL]        run only while holding the "
	      "Lease " LEASE_NAME " (default true)\n"
	      "  --leader-election-namespace NS  the Lease's namespace "
	      "(default the kubeconfig namespace)\n"
	      "  --metrics-address HOST:PORT  /metrics (default "
	      "127.0.0.1:8080; 0 disables)\n"
	      "  --health-address HOST:PORT   /healthz, /readyz (default "
	      "127.0.0.1:8081; 0 disables)\n"
	      "  --log-level LEVEL            debug, info, warn or error "
	      "(default info)\n"
	      "  --log-format FORMAT          text (logfmt, default) or json "
	      "(one object per line)\n"
	      "  --help, --version\n",
	      out);
}

static int bad_value(const char *flag, const char *value, const char *want)
{
	fprintf(stderr, PROG ": invalid value \"%s\" for flag --%s: %s\n",
		value, flag, want);
	return ERR_INVAL;
}

static int parse_long(const char *flag, const char *s, long min, long max,
		      long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < min || v > max)
		return bad_value(flag, s, "want an integer in range");
	*out = v;
	return 0;
}

static int parse_qps(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !*s || !(v > 0 && v <= 1e6))
		return bad_value("qps", s, "want a positive number");
	*out = v;
	return 0;
}

/* Go's strconv.ParseBool spellings. */
static int parse_bool(const char *flag, const char *s, bool *out)
{
	static const char *const yes[] = {"1",	  "t",	  "T",
					  "true", "TRUE", "True"};
	static const char *const no[] = {"0",	  "f",	   "F",
					 "false", "FALSE", "False"};

	for (size_t i = 0; i < 6; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return bad_value(flag, s, "want true or false");
}

static int parse_one(int ch, struct flags *f)
{
	switch (ch) {
	case 'k':
		f->kubeconfig = optarg;
		return 0;
	case 'c':
		f->context = optarg;
		return 0;
	case 'n':
		f->ns = optarg;
		return 0;
	case 'q':
		return parse_qps(optarg, &f->qps);
	case 'b':
		return parse_long("burst", optarg, 1, 100000, &f->burst);
	case 'w':
		return parse_long("workers", optarg, 1, 256, &f->workers);
	case 'A':
		return parse_long("analysis-workers", optarg, 1, 256,
				  &f->analysis_workers);
	case 'L':
		f->leader_elect = true;
		return optarg ? parse_bool("leader-elect", optarg,
					   &f->leader_elect)
			      : 0;
	case 'E':
		f->lease_ns = optarg;
		return 0;
	case 'm':
		f->metrics_address = optarg;
		return 0;
	case 'H':
		f->health_address = optarg;
		return 0;
	case 'l':
		return log_set_level_name(optarg)
			       ? bad_value("log-level", optarg,
					   "want debug, info, warn or error")
			       : 0;
	case 'f':
		if (log_set_format_name(optarg))
			return bad_value("log-format", optarg,
					 "want text or json");
		f->log_format = optarg;
		return 0;
	default:
		return ERR_INVAL;
	}
}

/* 0 to run, 1 to exit 0 (help, version), 2 on a bad flag. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	static const struct option opts[] = {
		{"kubeconfig", required_argument, NULL, 'k'},
		{"context", required_argument, NULL, 'c'},
		{"namespace", required_argument, NULL, 'n'},
		{"qps", required_argument, NULL, 'q'},
		{"burst", required_argument, NULL, 'b'},
		{"workers", required_argument, NULL, 'w'},
		{"analysis-workers", required_argument, NULL, 'A'},
		{"leader-elect", optional_argument, NULL, 'L'},
		{"leader-election-namespace", required_argument, NULL, 'E'},
		{"metrics-address", required_argument, NULL, 'm'},
		{"health-address", required_argument, NULL, 'H'},
		{"log-level", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 1;
		}
		if (ch == 'v') {
			printf(PROG " %s\n", KNIT_VERSION);
			return 1;
		}
		if (ch == '?' || ch == ':') {
			/* inside "-xy" optind has not moved past it yet */
			const char *arg = argv[optind - 1];
			char shortopt[3] = {'-', (char)optopt, '\0'};

			if (strncmp(arg, "--", 2) && optopt > ' ' &&
			    optopt < 127)
				arg = shortopt;
			fprintf(stderr, PROG ": %s flag: %s\n",
				ch == '?' ? "unknown" : "missing value for",
				arg);
			usage(stderr);
			return 2;
		}
		if (parse_one(ch, f))
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument: %s\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

/* The client's observe hook: knit_api_requests_total and throttling. */
static void observe(const char *method, int status, double seconds,
		    double throttled, void *data)
{
	struct metrics *m = data;
	char labels[96];

	snprintf(labels, sizeof(labels), "verb=\"%s\",code=\"%d\"", method,
		 status);
	metrics_add(m, "knit_api_requests_total", labels, 1);
	if (throttled > 0)
		metrics_add(m, "knit_api_throttled_seconds_total", NULL,
			    throttled);
}

static bool ready(char *why, size_t len, void *data)
{
	struct app *a = data;

	if (a->le && !leader_is_leader(a->le))
		return true; /* a standby is ready to take over */
	if (controller_synced(a->ctl))
		return true;
	snprintf(why, len, "caches not synced");
	return false;
}

static void *controller_thread(void *arg)
{
	struct app *a = arg;

	controller_run(a->ctl);
	pthread_mutex_lock(&a->lock);
	a->done = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void started_leading(void *data)
{
	struct app *a = data;

	pthread_mutex_lock(&a->lock);
	if (!a->stopping) {
		LOG_INFOF("became leader, starting controller", "identity=%s",
			  a->identity);
		metrics_set(a->metrics, "knit_leader", NULL, 1);
		if (pthread_create(&a->ctl_thread, NULL, controller_thread,
				   a) == 0)
			a->running = true;
	}
	pthread_mutex_unlock(&a->lock);
}

static void stopped_leading(void *data)
{
	struct app *a = data;
	bool stopping;

	metrics_set(a->metrics, "knit_leader", NULL, 0);
	pthread_mutex_lock(&a->lock);
	stopping = a->stopping;
	pthread_mutex_unlock(&a->lock);
	if (stopping)
		return;
	/* Lost the lease: another replica may lead already. Reconciles in
	 * flight must not race it, so the process ends now. */
	LOG_ERRORF("leader lease lost, exiting", "identity=%s", a->identity);
	fflush(stderr);
	_exit(0);
}

static void new_leader(const char *id, void *data)
{
	(void)data;
	LOG_INFOF("leader observed", "leader=%s", *id ? id : "(none)");
}

/* Stops the controller, waits for its workers, then lets the elector
 * release the lease. */
static void shutdown_app(struct app *a)
{
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_mutex_unlock(&a->lock);
	controller_stop(a->ctl);
	pthread_mutex_lock(&a->lock);
	while (a->running && !a->done)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	if (a->le)
		leader_stop(a->le);
}

static void *signal_thread(void *arg)
{
	struct app *a = arg;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1); /* main's "the work ended by itself" */
	sigwait(&set, &sig);
	if (sig != SIGUSR1)
		LOG_INFOF("shutting down", "signal=%s",
			  sig == SIGINT ? "SIGINT" : "SIGTERM");
	shutdown_app(a);
	return NULL;
}

static int start_server(struct app *a, const char *address, int slot)
{
	struct serve_options o = {
		.address = address,
		.metrics = a->metrics,
		.ready = ready,
		.data = a,
	};
	char err[256];

	if (!address || !*address || strcmp(address, "0") == 0)
		return 0;
	if (serve_start(&o, &a->servers[slot], err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	return 0;
}

static int setup(struct app *a)
{
	struct kube_config_options co = {.kubeconfig = a->f.kubeconfig,
					 .context = a->f.context,
					 .namespace = a->f.ns};
	struct kube_client_options ko = {
		.qps = a->f.qps,
		.burst = (int)a->f.burst,
		.component = PROG,
		.observe = observe,
		.observe_data = a->metrics,
	};
	/* Every Event is a decision or a write, and each one is part of the
	 * audit trail: client-go's per-object spam filter (25, then one per
	 * 5 minutes) would drop the abort of a busy canary. Repeats are
	 * still folded into counts by the correlator. */
	struct event_recorder_options ro = {.component = PROG,
					    .spam_burst = -1};
	char host[256] = "unknown", err[512];

	gethostname(host, sizeof(host) - 1);
	snprintf(a->identity, sizeof(a->identity), "%s_%ld", host,
		 (long)getpid());
	if (kube_config_load_default(&co, NULL, &a->cfg, err, sizeof(err)) ||
	    kube_client_new(a->cfg, &ko, &a->client, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	ro.host = host;
	a->recorder = event_recorder_new(a->client, &ro);
	struct controller_options o = {
		.client = a->client,
		.ns = a->f.ns,
		.workers = (int)a->f.workers,
		.analysis_workers = (int)a->f.analysis_workers,
		.recorder = a->recorder,
		.metrics = a->metrics,
	};
	a->ctl = controller_new(&o);
	return 0;
}

/* After the elector exists: ready() reads a->le on the server thread. */
static int start_servers(struct app *a)
{
	if (start_server(a, a->f.metrics_address, 0))
		return -1;
	if (strcmp(a->f.health_address, a->f.metrics_address) &&
	    start_server(a, a->f.health_address, 1))
		return -1;
	return 0;
}

static int start_elector(struct app *a)
{
	struct leader_options lo = {
		.ns = a->f.lease_ns ? a->f.lease_ns : a->cfg->namespace,
		.name = LEASE_NAME,
		.identity = a->identity,
		.release_on_cancel = true,
		.on_started_leading = started_leading,
		.on_stopped_leading = stopped_leading,
		.on_new_leader = new_leader,
		.data = a,
		.recorder = a->recorder,
	};
	char err[256];

	if (leader_new(a->client, &lo, &a->le, err, sizeof(err))) {
		fprintf(stderr, PROG ": leader election: %s\n", err);
		return -1;
	}
	return 0;
}

static void log_startup(struct app *a)
{
	int mp = a->servers[0] ? serve_port(a->servers[0]) : 0;
	int hp = a->servers[1] ? serve_port(a->servers[1]) : mp;

	LOG_INFOF("starting " PROG,
		  "version=%s namespace=%s server=%s metrics_port=%d "
		  "health_port=%d leader_elect=%s lease=%s/%s identity=%s "
		  "workers=%ld",
		  KNIT_VERSION, a->f.ns ? a->f.ns : "(all)", a->cfg->server, mp,
		  hp, a->f.leader_elect ? "true" : "false",
		  a->f.lease_ns ? a->f.lease_ns : a->cfg->namespace, LEASE_NAME,
		  a->identity, a->f.workers);
}

static void teardown(struct app *a)
{
	if (a->recorder) /* NULL when setup failed early */
		event_recorder_flush(a->recorder, 5000);
	event_recorder_free(a->recorder);
	serve_stop(a->servers[0]);
	serve_stop(a->servers[1]);
	leader_free(a->le);
	controller_free(a->ctl);
	kube_client_free(a->client);
	kube_config_free(a->cfg);
	metrics_free(a->metrics);
}

int main(int argc, char **argv)
{
	struct app a = {
		.f = {.qps = 40,
		      .burst = 80,
		      .workers = 4,
		      .analysis_workers = 4,
		      .leader_elect = true,
		      .metrics_address = "127.0.0.1:8080",
		      .health_address = "127.0.0.1:8081",
		      .log_format = "text"},
	};
	pthread_t sig_tid;
	sigset_t set;
	int rc = parse_flags(argc, argv, &a.f);

	if (rc)
		return rc == 1 ? 0 : 2;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_init(&a.lock, NULL);
	pthread_cond_init(&a.cond, NULL);
	a.metrics = metrics_new();
	controller_declare_metrics(a.metrics);
	metrics_set(a.metrics, "knit_leader", NULL, 0);
	if (setup(&a) || (a.f.leader_elect && start_elector(&a)) ||
	    start_servers(&a)) {
		teardown(&a);
		return 1;
	}
	log_startup(&a);
	pthread_create(&sig_tid, NULL, signal_thread, &a);
	if (a.le) {
		rc = leader_run(a.le);
	} else {
		metrics_set(a.metrics, "knit_leader", NULL, 1);
		rc = controller_run(a.ctl);
	}
	pthread_mutex_lock(&a.lock);
	bool stopping = a.stopping;
	pthread_mutex_unlock(&a.lock);
	if (!stopping) /* ended by itself: wake the signal thread */
		pthread_kill(sig_tid, SIGUSR1);
	pthread_join(sig_tid, NULL);
	if (a.running)
		pthread_join(a.ctl_thread, NULL);
	teardown(&a);
	LOG_INFOF("stopped", "rc=%s", err_name(rc));
	return 0;
}

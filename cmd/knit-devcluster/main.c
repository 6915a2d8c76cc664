/*
 * knit-devcluster: a single-process Kubernetes API server for development,
 * tests and benchmarks. This file only parses flags and wires the modules
 * together: certificates and kubeconfig (pkg/devcluster/certs), the state
 * (api), the HTTPS front end (http) and the optional snapshot.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devcluster/api.h"
#include "devcluster/api_internal.h"
#include "devcluster/certs.h"
#include "devcluster/http.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

struct flags {
	const char *address;
	long port;
	const char *data_dir;
	const char *kubeconfig;
	const char *snapshot;
	const char *port_file;
	long history;
	long max_body;
	long watch_buffer;
	struct sim_options sim;
	/* fault flags, applied once the server state exists */
	const char *fault_latency;
	const char *fault_errors[FAULTS_MAX_RULES + 1];
	int n_fault_errors;
	const char *fault_drop_every;
	const char *fault_down_for;
};

struct listen_ctx {
	struct flags *flags;
	const char *ca_path;
	const char *token;
	int failed;
};

static void usage(FILE *out)
{
	fputs("usage: knit-devcluster [options]\n"
	      "  --address ADDR        listen address (default 127.0.0.1)\n"
	      "  --port N              HTTPS port, 0 picks a free one "
	      "(default 6443)\n"
	      "  --data-dir DIR        certificates, token and kubeconfig "
	      "(default .knit-devcluster)\n"
	      "  --kubeconfig PATH     where to write the kubeconfig "
	      "(default DIR/kubeconfig)\n"
	      "  --snapshot PATH       load state from and save it to PATH\n"
	      "  --port-file PATH      write the bound port to PATH\n"
	      "  --watch-history N     changes kept for watch resume "
	      "(default 10000)\n"
	      "  --max-body BYTES      request body limit (default 3145728)\n"
	      "  --watch-buffer BYTES  output kept for a slow watcher before "
	      "it is dropped (default 16777216)\n"
	      "  --log-level LEVEL     debug, info, warn or error\n"
	      "simulation:\n"
	      "  --pod-ready-delay S   seconds from container start to Ready "
	      "(default 1)\n"
	      "  --request-rate N      requests per second per Service "
	      "(default 10)\n"
	      "  --request-latency MS  median request latency (default 20)\n"
	      "  --no-simulation       no controllers, kubelet or traffic\n"
	      "faults (see docs/devcluster.md; also PUT /admin/faults):\n"
	      "  --fault-latency D     answer every request D later "
	      "(250ms, 2s)\n"
	      "  --fault-error SPEC    CODE:RATE[:VERBS[:RESOURCES[:RETRY]]], "
	      "repeatable\n"
	      "  --fault-drop-watches-every S  close every watch each S "
	      "seconds\n"
	      "  --fault-down-for S    refuse every request for S seconds "
	      "from start\n"
	      "  --help\n",
	      out);
}

static int parse_long(const char *flag, const char *s, long min, long max,
		      long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < min || v > max) {
		fprintf(stderr,
			"knit-devcluster: %s: invalid value \"%s\" (want an "
			"integer from %ld to %ld)\n",
			flag, s, min, max);
		return ERR_INVAL;
	}
	*out = v;
	return 0;
}

static int parse_double(const char *flag, const char *s, double min, double max,
			double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !*s || !(v >= min && v <= max)) {
		fprintf(stderr,
			"knit-devcluster: %s: invalid value \"%s\" (want a "
			"number from %g to %g)\n",
			flag, s, min, max);
		return ERR_INVAL;
	}
	*out = v;
	return 0;
}

/* Simulation and fault flags; returns 1 when c is not one of them. */
static int parse_sim_flag(int c, struct flags *f, int *rc)
{
	switch (c) {
	case 'R':
		*rc = parse_double("--pod-ready-delay", optarg, 0, 86400,
				   &f->sim.ready_delay);
		return 0;
	case 'r':
		*rc = parse_double("--request-rate", optarg, 0, 1e6,
				   &f->sim.request_rate);
		return 0;
	case 'L':
		*rc = parse_double("--request-latency", optarg, 0, 600000,
				   &f->sim.latency_ms);
		return 0;
	case 'N':
		f->sim.disabled = true;
		return 0;
	case '1':
		f->fault_latency = optarg;
		return 0;
	case '2':
		if (f->n_fault_errors == FAULTS_MAX_RULES) {
			fprintf(stderr,
				"knit-devcluster: --fault-error: at "
				"most %d rules\n",
				FAULTS_MAX_RULES);
			*rc = ERR_INVAL;
		} else {
			f->fault_errors[f->n_fault_errors++] = optarg;
		}
		return 0;
	case '3':
		f->fault_drop_every = optarg;
		return 0;
	case '4':
		f->fault_down_for = optarg;
		return 0;
	default:
		return 1;
	}
}

/* Applies the fault flags; 0 or ERR_INVAL after printing why. */
static int apply_faults(struct flags *f, struct faults *faults)
{
	double now = api_monotonic();
	char err[512];
	int rc = 0;

	if (f->fault_latency)
		rc = faults_set_latency_flag(faults, f->fault_latency, err,
					     sizeof(err));
	for (int i = 0; !rc && i < f->n_fault_errors; i++)
		rc = faults_add_error_flag(faults, f->fault_errors[i], err,
					   sizeof(err));
	if (!rc && f->fault_drop_every)
		rc = faults_set_drop_watches_flag(faults, f->fault_drop_every,
						  now, err, sizeof(err));
	if (!rc && f->fault_down_for)
		rc = faults_set_down_flag(faults, f->fault_down_for, now, err,
					  sizeof(err));
	if (rc)
		fprintf(stderr, "knit-devcluster: %s\n", err);
	return rc;
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
	static const struct option opts[] = {
		{"address", required_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"data-dir", required_argument, NULL, 'd'},
		{"kubeconfig", required_argument, NULL, 'k'},
		{"snapshot", required_argument, NULL, 's'},
		{"port-file", required_argument, NULL, 'f'},
		{"watch-history", required_argument, NULL, 'w'},
		{"max-body", required_argument, NULL, 'b'},
		{"log-level", required_argument, NULL, 'l'},
		{"watch-buffer", required_argument, NULL, 'B'},
		{"pod-ready-delay", required_argument, NULL, 'R'},
		{"request-rate", required_argument, NULL, 'r'},
		{"request-latency", required_argument, NULL, 'L'},
		{"no-simulation", no_argument, NULL, 'N'},
		{"fault-latency", required_argument, NULL, '1'},
		{"fault-error", required_argument, NULL, '2'},
		{"fault-drop-watches-every", required_argument, NULL, '3'},
		{"fault-down-for", required_argument, NULL, '4'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int rc = 0;

		if (!parse_sim_flag(c, f, &rc)) {
			if (rc)
				return rc;
			continue;
		}
		switch (c) {
		case 'a':
			f->address = optarg;
			break;
		case 'p':
			rc = parse_long("--port", optarg, 0, 65535, &f->port);
			break;
		case 'd':
			f->data_dir = optarg;
			break;
		case 'k':
			f->kubeconfig = optarg;
			break;
		case 's':
			f->snapshot = optarg;
			break;
		case 'f':
			f->port_file = optarg;
			break;
		case 'w':
			rc = parse_long("--watch-history", optarg, 1, 100000000,
					&f->history);
			break;
		case 'b':
			rc = parse_long("--max-body", optarg, 1024, 1L << 30,
					&f->max_body);
			break;
		case 'B':
			rc = parse_long("--watch-buffer", optarg, 65536,
					1L << 30, &f->watch_buffer);
			break;
		case 'l':
			if (log_set_level_name(optarg)) {
				fprintf(stderr,
					"knit-devcluster: --log-level: unknown "
					"level \"%s\"\n",
					optarg);
				rc = ERR_INVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return ERR_INVAL;
		}
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "knit-devcluster: unexpected argument \"%s\"\n",
			argv[optind]);
		return ERR_INVAL;
	}
	return 0;
}

/* Reads DIR/token, or creates it with a new random token. */
static int load_token(const char *dir, char *token, size_t len)
{
	char *path = xasprintf("%s/token", dir);
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (f) {
		if (!fgets(token, (int)len, f))
			token[0] = '\0';
		fclose(f);
		token[strcspn(token, "\r\n")] = '\0';
	}
	if (!f || strlen(token) < 16) {
		rc = token_generate(token, len);
		f = rc ? NULL : fopen(path, "w");
		if (!f) {
			rc = ERR_IO;
		} else {
			fchmod(fileno(f), 0600);
			fprintf(f, "%s\n", token);
			fclose(f);
		}
	}
	free(path);
	return rc;
}

static void on_listen(int port, void *data)
{
	struct listen_ctx *ctx = data;
	char err[512];
	char *url = xasprintf("https://%s:%d", ctx->flags->address, port);

	if (kubeconfig_write(ctx->flags->kubeconfig, url, ctx->ca_path,
			     ctx->token, err, sizeof(err))) {
		LOG_ERRORF("cannot write kubeconfig", "error=\"%s\"", err);
		ctx->failed = 1;
		http_server_stop();
	}
	if (ctx->flags->port_file) {
		FILE *f = fopen(ctx->flags->port_file, "w");

		if (f) {
			fprintf(f, "%d\n", port);
			fclose(f);
		}
	}
	LOG_INFOF("listening", "url=%s kubeconfig=%s", url,
		  ctx->flags->kubeconfig);
	free(url);
}

static void on_signal(int sig)
{
	(void)sig;
	http_server_stop();
}

int main(int argc, char **argv)
{
	struct flags f;
	struct devcluster_options opt;
	struct devcluster dc;
	struct http_server_config cfg;
	struct listen_ctx ctx;
	char token[128], err[512];
	char *ca, *cert, *key, *kc = NULL;
	int rc;

	memset(&f, 0, sizeof(f));
	f.address = "127.0.0.1";
	f.port = 6443;
	f.data_dir = ".knit-devcluster";
	f.history = 10000;
	f.max_body = 3145728;
	f.watch_buffer = 16777216;
	sim_options_default(&f.sim);
	if (parse_flags(argc, argv, &f))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!f.kubeconfig)
		f.kubeconfig = kc = xasprintf("%s/kubeconfig", f.data_dir);
	rc = certs_ensure(f.data_dir, "127.0.0.1,localhost", err, sizeof(err));
	if (!rc && load_token(f.data_dir, token, sizeof(token)))
		rc = err_set(err, sizeof(err), ERR_IO,
			     "cannot read or write %s/token", f.data_dir);
	if (rc) {
		fprintf(stderr, "knit-devcluster: %s\n", err);
		free(kc);
		return 1;
	}
	ca = xasprintf("%s/%s", f.data_dir, CERTS_CA_CERT);
	cert = xasprintf("%s/%s", f.data_dir, CERTS_SERVER_CERT);
	key = xasprintf("%s/%s", f.data_dir, CERTS_SERVER_KEY);
	memset(&opt, 0, sizeof(opt));
	opt.history_size = (size_t)f.history;
	opt.max_body = (size_t)f.max_body;
	opt.snapshot = f.snapshot;
	opt.watch_buffer = (size_t)f.watch_buffer;
	opt.sim = f.sim;
	devcluster_init(&dc, &opt);
	if (apply_faults(&f, &dc.faults)) {
		rc = 2;
		goto out;
	}
	if (f.snapshot && access(f.snapshot, F_OK) == 0 &&
	    snapshot_load(&dc, f.snapshot, err, sizeof(err))) {
		fprintf(stderr, "knit-devcluster: snapshot: %s\n", err);
		rc = 1;
		goto out;
	}
	api_create_default_namespaces(&dc);
	sim_start(dc.sim);
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	ctx.flags = &f;
	ctx.ca_path = ca;
	ctx.token = token;
	cfg.address = f.address;
	cfg.port = (int)f.port;
	cfg.cert_path = cert;
	cfg.key_path = key;
	cfg.token = token;
	cfg.on_listen = on_listen;
	cfg.data = &ctx;
	rc = http_server_run(&dc, &cfg, err, sizeof(err));
	if (rc)
		fprintf(stderr, "knit-devcluster: %s\n", err);
	if (f.snapshot && snapshot_save(&dc, f.snapshot, err, sizeof(err)))
		fprintf(stderr, "knit-devcluster: snapshot: %s\n", err);
	rc = rc || ctx.failed ? 1 : 0;
out:
	devcluster_release(&dc);
	free(ca);
	free(cert);
	free(key);
	free(kc);
	return rc;
}

/*
 * devcluster_bench: a load generator for knit-devcluster, written for the
 * target "with 5 watchers open, at least 5,000 object writes per second and
 * 10,000 GETs per second on a 2-core machine; memory at most twice the
 * stored JSON".
 *
 * One thread drives a libcurl multi handle: a fixed pool of request slots,
 * each an easy handle that libcurl keeps on its own HTTP/1.1 keep-alive TLS
 * connection, plus the watch streams on configmaps in one namespace. The
 * run has three bounded phases (creates of ~1 KB ConfigMaps, merge-PATCH
 * updates of each, GETs of random ones); each stops at its count or its
 * time limit, whichever comes first. Every non-2xx answer is an error.
 * Watchers count the event lines they receive and must see every write.
 *
 * Memory is read from /proc/PID/status of the server (VmRSS, VmHWM) before
 * any load, with the watchers open and after each phase, and compared with
 * the stored JSON: the compact size of the last version of each object
 * (the body of its last write answer), cross-checked by a paginated LIST.
 *
 * Output: a human-readable report, then one line "BENCH_JSON {...}" for
 * scripts. Exit status 0 when the run was clean (no errors, no lost watch
 * events), 1 when not, 2 on bad usage. Missed targets are reported, not
 * turned into a failure, unless --strict is given.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"

#define MAX_SLOTS	  256
#define MAX_WATCHERS	  64
#define SNIPPET		  240
#define TARGET_WRITES	  5000.0
#define TARGET_GETS	  10000.0
#define TARGET_MEM_RATIO  2.0
#define WATCH_CATCHUP_SEC 15.0

enum op {
	OP_CREATE,
	OP_UPDATE,
	OP_GET
};

static const char *const op_names[] = {"create", "update", "get"};

struct options {
	const char *server; /* https://127.0.0.1:PORT */
	const char *ca;
	char *token;
	long pid;
	long conns;
	long watchers;
	long objects;
	long updates; /* -1: one per created object */
	long gets;
	long value_size;
	double phase_secs;
	const char *ns;
	const char *prefix;
	bool strict;
};

struct slot {
	CURL *easy;
	struct bench *b;
	long obj;	/* object index of the request in flight */
	double started; /* monotonic seconds */
	size_t resp_len;
	char snippet[SNIPPET + 1]; /* start of the answer, for error reports */
	size_t snippet_len;
	char *url;
	char *body;
	size_t body_cap;
};

struct watch_stream {
	CURL *easy;
	long events[5]; /* ADDED, MODIFIED, DELETED, BOOKMARK, other */
	long line_pos;	/* bytes seen of the current line */
	bool headers_done;
	bool ended;
	long code;
};

struct phase {
	enum op op;
	long target;
	long issued;
	long done;
	long errors;
	double *lat; /* seconds, one per completed request */
	double t0, t1;
	double deadline;
	double p50, p99;
	double srv_cpu; /* server CPU seconds used during the phase */
	double cli_cpu; /* this process's CPU seconds during the phase */
};

struct mem {
	long rss_kb;
	long hwm_kb;
};

struct bench {
	struct options o;
	CURLM *multi;
	struct curl_slist *hdr_json;
	struct curl_slist *hdr_patch;
	struct curl_slist *hdr_get;
	struct slot slots[MAX_SLOTS];
	struct watch_stream ws[MAX_WATCHERS];
	struct phase ph[3];
	struct phase *cur;
	long in_flight;
	bool *created;	   /* per object: the create answered 2xx */
	size_t *obj_bytes; /* per object: size of its last stored JSON */
	long *live;	   /* indexes of created objects */
	long n_live;
	uint64_t rng;
	long writes_ok;	   /* creates + updates answered 2xx */
	double catchup[2]; /* watch lag after the write phases, seconds */
	bool watch_lost;
	long connects; /* TCP connections opened by request slots */
	struct mem mem_base, mem_watch, mem_phase[3];
	size_t stored_bytes;
	long list_count;
	size_t list_bytes;
};

/* ---- small helpers ---- */

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Reads "Name:   N kB" from /proc/PID/status; returns -1 when absent. */
static long proc_status_kb(long pid, const char *name)
{
	char path[64], line[256];
	size_t nlen = strlen(name);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, nlen) == 0 && line[nlen] == ':') {
			v = strtol(line + nlen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static struct mem mem_read(long pid)
{
	struct mem m = {-1, -1};

	if (pid > 0) {
		m.rss_kb = proc_status_kb(pid, "VmRSS");
		m.hwm_kb = proc_status_kb(pid, "VmHWM");
	}
	return m;
}

/* User+system CPU seconds of process pid (fields 14 and 15 of stat). */
static double proc_cpu_sec(long pid)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* skip "pid (comm)": comm may hold spaces, so start after the ')' */
	p = p ? strrchr(line, ')') : NULL;
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_sec(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Reads a whole small file (the token) into a new string, trimmed. */
static char *file_read_trimmed(const char *path)
{
	char tmp[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	n = fread(tmp, 1, sizeof(tmp) - 1, f);
	fclose(f);
	while (n > 0 &&
	       (tmp[n - 1] == '\n' || tmp[n - 1] == '\r' || tmp[n - 1] == ' '))
		n--;
	tmp[n] = '\0';
	return xstrdup(tmp);
}

/* ---- request bodies ---- */

/* Fills dst with n letters that depend on the object and the round. */
static void fill_value(char *dst, long n, long obj, long round)
{
	for (long i = 0; i < n; i++)
		dst[i] = (char)('a' + (obj * 7 + round * 3 + i) % 26);
}

static void slot_reserve(struct slot *s, size_t need)
{
	if (s->body_cap >= need)
		return;
	s->body = xrealloc(s->body, need);
	s->body_cap = need;
}

/* Writes the JSON body for op on object obj into the slot; returns length. */
static size_t body_build(struct bench *b, struct slot *s, enum op op, long obj)
{
	long vs = b->o.value_size;
	size_t cap = (size_t)vs + 512 + strlen(b->o.prefix);
	int n;

	slot_reserve(s, cap);
	if (op == OP_CREATE)
		n = snprintf(s->body, cap,
			     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
			     "\"metadata\":{\"name\":\"%s-%06ld\",\"labels\":{"
			     "\"app\":\"bench\"}},\"data\":{\"round\":\"0\","
			     "\"v\":\"",
			     b->o.prefix, obj);
	else
		n = snprintf(s->body, cap,
			     "{\"data\":{\"round\":\"1\",\"v\":\"");
	fill_value(s->body + n, vs, obj, op == OP_CREATE ? 0 : 1);
	n += (int)vs;
	n += snprintf(s->body + n, cap - (size_t)n, "\"}}");
	return (size_t)n;
}

/* ---- libcurl callbacks ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *data)
{
	struct slot *s = data;
	size_t n = size * nmemb;

	if (s->snippet_len < SNIPPET) {
		size_t k = SNIPPET - s->snippet_len;

		if (k > n)
			k = n;
		memcpy(s->snippet + s->snippet_len, p, k);
		s->snippet_len += k;
		s->snippet[s->snippet_len] = '\0';
	}
	s->resp_len += n;
	/* the stored JSON has no trailing newline */
	if (n > 0 && p[n - 1] == '\n')
		s->resp_len--;
	return n;
}

static int type_index(char c)
{
	switch (c) {
	case 'A':
		return 0;
	case 'M':
		return 1;
	case 'D':
		return 2;
	case 'B':
		return 3;
	default:
		return 4;
	}
}

/*
 * Counts watch event lines. Each line starts {"type":"T...: the byte at
 * offset 9 names the event type, whatever the chunk boundaries.
 */
static size_t on_watch_body(char *p, size_t size, size_t nmemb, void *data)
{
	struct watch_stream *w = data;
	size_t n = size * nmemb, i = 0;

	while (i < n) {
		char *nl = memchr(p + i, '\n', n - i);
		size_t seg = nl ? (size_t)(nl - (p + i)) : n - i;

		if (w->line_pos <= 9 && w->line_pos + (long)seg > 9)
			w->events[type_index(
				p[i + (size_t)(9 - w->line_pos)])]++;
		w->line_pos += (long)seg;
		i += seg;
		if (nl) {
			w->line_pos = 0;
			i++;
		}
	}
	return n;
}

static size_t on_watch_header(char *p, size_t size, size_t nmemb, void *data)
{
	struct watch_stream *w = data;
	size_t n = size * nmemb;

	if (n == 2 && p[0] == '\r' && p[1] == '\n') {
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->code);
		w->headers_done = true;
	}
	return n;
}

/* ---- handles ---- */

static void easy_common(struct bench *b, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_CAINFO, b->o.ca);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
}

static struct curl_slist *headers_new(const struct bench *b, const char *ctype)
{
	struct curl_slist *h = NULL;
	char *auth = xasprintf("Authorization: Bearer %s", b->o.token);

	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (ctype) {
		char *ct = xasprintf("Content-Type: %s", ctype);

		h = curl_slist_append(h, ct);
		free(ct);
	}
	free(auth);
	if (!h) {
		fputs("devcluster_bench: out of memory\n", stderr);
		abort();
	}
	return h;
}

static void slot_start(struct bench *b, struct slot *s, enum op op, long obj)
{
	CURL *e = s->easy;
	char *url;

	s->obj = obj;
	s->resp_len = 0;
	s->snippet_len = 0;
	s->snippet[0] = '\0';
	if (op == OP_CREATE)
		url = xasprintf("%s/api/v1/namespaces/%s/configmaps",
				b->o.server, b->o.ns);
	else
		url = xasprintf("%s/api/v1/namespaces/%s/configmaps/%s-%06ld",
				b->o.server, b->o.ns, b->o.prefix, obj);
	free(s->url);
	s->url = url;
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (op == OP_GET) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->hdr_get);
	} else {
		size_t len = body_build(b, s, op, obj);

		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
				 op == OP_UPDATE ? "PATCH" : NULL);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER,
				 op == OP_UPDATE ? b->hdr_patch : b->hdr_json);
	}
	s->started = now_sec();
	curl_multi_add_handle(b->multi, e);
	b->in_flight++;
}

static void slots_init(struct bench *b)
{
	for (long i = 0; i < b->o.conns; i++) {
		struct slot *s = &b->slots[i];

		s->b = b;
		s->easy = curl_easy_init();
		if (!s->easy) {
			fputs("devcluster_bench: curl_easy_init failed\n",
			      stderr);
			abort();
		}
		easy_common(b, s->easy);
		curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	}
}

static void slots_release(struct bench *b)
{
	for (long i = 0; i < b->o.conns; i++) {
		curl_easy_cleanup(b->slots[i].easy);
		free(b->slots[i].url);
		free(b->slots[i].body);
	}
}

/* ---- the event loop ---- */

/* Picks the object for the next request of the current phase, or -1. */
static long next_object(struct bench *b)
{
	struct phase *p = b->cur;

	if (p->issued >= p->target || now_sec() >= p->deadline)
		return -1;
	switch (p->op) {
	case OP_CREATE:
		return p->issued;
	case OP_UPDATE:
		return b->live[p->issued % b->n_live];
	default:
		return b->live[rng_next(&b->rng) % (uint64_t)b->n_live];
	}
}

static void issue_next(struct bench *b, struct slot *s)
{
	long obj = next_object(b);

	if (obj < 0)
		return;
	b->cur->issued++;
	slot_start(b, s, b->cur->op, obj);
}

static void report_error(const struct slot *s, const char *op, long code,
			 CURLcode cc)
{
	fprintf(stderr, "error: %s %s: %s %ld: %.*s\n", op, s->url,
		cc ? curl_easy_strerror(cc) : "HTTP", code, (int)s->snippet_len,
		s->snippet);
}

static void request_done(struct bench *b, struct slot *s, CURLcode cc)
{
	struct phase *p = b->cur;
	long code = 0, conns = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &conns);
	b->connects += conns;
	curl_multi_remove_handle(b->multi, s->easy);
	b->in_flight--;
	p->lat[p->done++] = now_sec() - s->started;
	if (cc != CURLE_OK || code < 200 || code > 299) {
		if (p->errors++ < 5)
			report_error(s, op_names[p->op], code, cc);
	} else if (p->op != OP_GET) {
		b->obj_bytes[s->obj] = s->resp_len;
		b->writes_ok++;
		if (p->op == OP_CREATE)
			b->created[s->obj] = true;
	}
	issue_next(b, s);
}

static void watch_done(struct bench *b, CURL *e, CURLcode cc)
{
	for (long i = 0; i < b->o.watchers; i++) {
		struct watch_stream *w = &b->ws[i];

		if (w->easy != e)
			continue;
		w->ended = true;
		b->watch_lost = true;
		fprintf(stderr, "error: watch %ld ended early: %s\n", i,
			curl_easy_strerror(cc));
	}
	curl_multi_remove_handle(b->multi, e);
}

static void drain_messages(struct bench *b)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(b->multi, &left))) {
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if (priv)
			request_done(b, (struct slot *)priv, m->data.result);
		else
			watch_done(b, m->easy_handle, m->data.result);
	}
}

/* Runs libcurl once: sends, receives and handles completed transfers. */
static int loop_once(struct bench *b, int timeout_ms)
{
	int running;
	CURLMcode mc = curl_multi_perform(b->multi, &running);

	/* handle completions (and start the next requests) before waiting */
	if (mc == CURLM_OK) {
		drain_messages(b);
		mc = curl_multi_poll(b->multi, NULL, 0, timeout_ms, NULL);
	}
	if (mc != CURLM_OK) {
		fprintf(stderr, "devcluster_bench: %s\n",
			curl_multi_strerror(mc));
		return -1;
	}
	return 0;
}

static void phase_stats(struct phase *p)
{
	if (p->done == 0)
		return;
	qsort(p->lat, (size_t)p->done, sizeof(double), cmp_double);
	p->p50 = p->lat[(p->done - 1) / 2];
	p->p99 = p->lat[(long)((double)(p->done - 1) * 0.99)];
}

static int phase_run(struct bench *b, enum op op, long target)
{
	struct phase *p = &b->ph[op];

	p->op = op;
	p->target = target;
	p->lat = xcalloc((size_t)(target > 0 ? target : 1), sizeof(double));
	b->cur = p;
	p->srv_cpu = proc_cpu_sec(b->o.pid);
	p->cli_cpu = self_cpu_sec();
	p->t0 = now_sec();
	p->deadline = p->t0 + b->o.phase_secs;
	for (long i = 0; i < b->o.conns; i++)
		issue_next(b, &b->slots[i]);
	while (b->in_flight > 0)
		if (loop_once(b, 100))
			return -1;
	p->t1 = now_sec();
	p->srv_cpu = proc_cpu_sec(b->o.pid) - p->srv_cpu;
	p->cli_cpu = self_cpu_sec() - p->cli_cpu;
	phase_stats(p);
	b->mem_phase[op] = mem_read(b->o.pid);
	return 0;
}

/* ---- watchers ---- */

static bool watchers_ready(const struct bench *b)
{
	for (long i = 0; i < b->o.watchers; i++)
		if (!b->ws[i].headers_done && !b->ws[i].ended)
			return false;
	return true;
}

static int watchers_open(struct bench *b, const char *rv)
{
	double limit = now_sec() + 10;
	char *url = xasprintf("%s/api/v1/namespaces/%s/configmaps?watch=true"
			      "&resourceVersion=%s",
			      b->o.server, b->o.ns, rv);

	for (long i = 0; i < b->o.watchers; i++) {
		struct watch_stream *w = &b->ws[i];

		w->easy = curl_easy_init();
		easy_common(b, w->easy);
		curl_easy_setopt(w->easy, CURLOPT_URL, url);
		curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, b->hdr_get);
		curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, on_watch_body);
		curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
		curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION,
				 on_watch_header);
		curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, w);
		curl_multi_add_handle(b->multi, w->easy);
	}
	free(url);
	while (!watchers_ready(b) && now_sec() < limit)
		if (loop_once(b, 50))
			return -1;
	for (long i = 0; i < b->o.watchers; i++) {
		if (b->ws[i].code != 200 || b->ws[i].ended) {
			fprintf(stderr,
				"error: watch %ld not open (HTTP %ld)\n", i,
				b->ws[i].code);
			return -1;
		}
	}
	return 0;
}

static long watch_events(const struct watch_stream *w)
{
	return w->events[0] + w->events[1] + w->events[2];
}

static bool watchers_caught_up(const struct bench *b)
{
	for (long i = 0; i < b->o.watchers; i++)
		if (!b->ws[i].ended && watch_events(&b->ws[i]) < b->writes_ok)
			return false;
	return true;
}

/* Waits until every watcher saw every write; returns the wait in seconds. */
static double watchers_wait(struct bench *b)
{
	double t0 = now_sec();

	while (!watchers_caught_up(b) && now_sec() - t0 < WATCH_CATCHUP_SEC)
		if (loop_once(b, 20))
			break;
	return now_sec() - t0;
}

static void watchers_close(struct bench *b)
{
	for (long i = 0; i < b->o.watchers; i++) {
		if (!b->ws[i].easy)
			continue;
		curl_multi_remove_handle(b->multi, b->ws[i].easy);
		curl_easy_cleanup(b->ws[i].easy);
		b->ws[i].easy = NULL;
	}
}

/* ---- blocking requests (setup and the final LIST) ---- */

struct grow {
	char *p;
	size_t len, cap;
};

static size_t on_grow(char *p, size_t size, size_t nmemb, void *data)
{
	struct grow *g = data;
	size_t n = size * nmemb;

	if (g->len + n + 1 > g->cap) {
		g->cap = (g->len + n + 1) * 2;
		g->p = xrealloc(g->p, g->cap);
	}
	memcpy(g->p + g->len, p, n);
	g->len += n;
	g->p[g->len] = '\0';
	return n;
}

/* GETs path and parses the JSON answer: a new reference, or NULL. */
static json_t *get_json(struct bench *b, const char *path)
{
	struct grow g = {NULL, 0, 0};
	char *url = xasprintf("%s%s", b->o.server, path);
	CURL *e = curl_easy_init();
	json_t *doc = NULL;
	long code = 0;
	CURLcode cc;

	easy_common(b, e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->hdr_get);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_grow);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &g);
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK || code != 200)
		fprintf(stderr, "error: GET %s: %s %ld\n", path,
			curl_easy_strerror(cc), code);
	else
		doc = json_loadb(g.p, g.len, 0, NULL);
	curl_easy_cleanup(e);
	free(url);
	free(g.p);
	return doc;
}

/* Current resourceVersion of the collection, as a new string, or NULL. */
static char *list_rv(struct bench *b)
{
	char *path =
		xasprintf("/api/v1/namespaces/%s/configmaps?limit=1", b->o.ns);
	json_t *doc = get_json(b, path);
	const char *rv = json_string_value(json_object_get(
		json_object_get(doc, "metadata"), "resourceVersion"));
	char *out = rv ? xstrdup(rv) : NULL;

	json_decref(doc);
	free(path);
	return out;
}

/* Sums the compact JSON size of every item (with its apiVersion/kind). */
static void list_page_sum(struct bench *b, json_t *items)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it)
	{
		char *text;

		if (!json_object_get(it, "apiVersion"))
			json_object_set_new(it, "apiVersion",
					    json_string("v1"));
		if (!json_object_get(it, "kind"))
			json_object_set_new(it, "kind",
					    json_string("ConfigMap"));
		text = json_dumps(it, JSON_COMPACT);
		if (text)
			b->list_bytes += strlen(text);
		free(text);
		b->list_count++;
	}
}

/* Pages through the namespace's configmaps, 1000 at a time. */
static int list_all(struct bench *b)
{
	char *cont = NULL;
	int rc = 0;

	do {
		char *path = xasprintf(
			"/api/v1/namespaces/%s/configmaps?limit=1000%s%s",
			b->o.ns, cont ? "&continue=" : "", cont ? cont : "");
		json_t *doc = get_json(b, path);
		const char *next;

		free(path);
		free(cont);
		cont = NULL;
		if (!doc) {
			rc = -1;
			break;
		}
		list_page_sum(b, json_object_get(doc, "items"));
		next = json_string_value(json_object_get(
			json_object_get(doc, "metadata"), "continue"));
		if (next && *next) {
			char *esc = curl_easy_escape(NULL, next, 0);

			cont = xstrdup(esc);
			curl_free(esc);
		}
		json_decref(doc);
	} while (cont);
	return rc;
}

/* ---- report ---- */

static double phase_rate(const struct phase *p)
{
	double secs = p->t1 - p->t0;

	return secs > 0 ? (double)p->done / secs : 0;
}

/* Server CPU microseconds per request: a figure other load cannot skew. */
static double phase_srv_us(const struct phase *p)
{
	return p->done ? p->srv_cpu * 1e6 / (double)p->done : 0;
}

static void print_phase(const struct phase *p)
{
	double secs = p->t1 - p->t0;
	double us = phase_srv_us(p);

	printf("  %-7s %8ld ops in %6.2f s = %7.0f ops/s  p50 %6.2f ms  "
	       "p99 %6.2f ms  errors %ld%s\n",
	       op_names[p->op], p->done, secs, phase_rate(p), p->p50 * 1e3,
	       p->p99 * 1e3, p->errors,
	       p->done < p->target ? "  (time limit reached)" : "");
	if (secs > 0 && us > 0)
		printf("          CPU: server %3.0f%%, bench %3.0f%%; server "
		       "%.1f us CPU per op (one-core ceiling %.0f ops/s)\n",
		       100 * p->srv_cpu / secs, 100 * p->cli_cpu / secs, us,
		       1e6 / us);
}

static double write_rate(const struct bench *b)
{
	const struct phase *c = &b->ph[OP_CREATE], *u = &b->ph[OP_UPDATE];
	double secs = (c->t1 - c->t0) + (u->t1 - u->t0);

	return secs > 0 ? (double)(c->done + u->done) / secs : 0;
}

static long total_errors(const struct bench *b)
{
	return b->ph[0].errors + b->ph[1].errors + b->ph[2].errors;
}

static bool watchers_complete(const struct bench *b)
{
	if (b->watch_lost)
		return false;
	for (long i = 0; i < b->o.watchers; i++)
		if (watch_events(&b->ws[i]) != b->writes_ok)
			return false;
	return true;
}

static const char *verdict(bool ok)
{
	return ok ? "MET" : "MISSED";
}

static void print_memory(const struct bench *b)
{
	const struct mem *f = &b->mem_phase[OP_GET];
	double stored_mb = (double)b->stored_bytes / 1048576.0;
	double growth = (double)(f->rss_kb - b->mem_watch.rss_kb) * 1024.0;

	printf("memory (server pid %ld):\n", b->o.pid);
	printf("  baseline RSS       %8.1f MB (empty store, no watchers)\n",
	       b->mem_base.rss_kb / 1024.0);
	printf("  with %ld watchers   %8.1f MB\n", b->o.watchers,
	       b->mem_watch.rss_kb / 1024.0);
	for (int i = 0; i < 3; i++)
		printf("  after %-7s      %8.1f MB (VmHWM %.1f MB)\n",
		       op_names[i], b->mem_phase[i].rss_kb / 1024.0,
		       b->mem_phase[i].hwm_kb / 1024.0);
	printf("  stored JSON        %8.1f MB in %ld objects (%.0f B each; "
	       "LIST: %ld objects, %.1f MB)\n",
	       stored_mb, b->n_live,
	       b->n_live ? (double)b->stored_bytes / (double)b->n_live : 0.0,
	       b->list_count, (double)b->list_bytes / 1048576.0);
	if (b->stored_bytes == 0)
		return;
	printf("  RSS / stored JSON  %8.2f (growth over baseline / stored: "
	       "%.2f, %.0f B per object)\n",
	       (double)f->rss_kb * 1024.0 / (double)b->stored_bytes,
	       growth / (double)b->stored_bytes,
	       b->n_live ? growth / (double)b->n_live : 0.0);
}

static void print_report(const struct bench *b)
{
	printf("devcluster bench: %ld connections, %ld watchers, %ld-byte "
	       "values\n",
	       b->o.conns, b->o.watchers, b->o.value_size);
	for (int i = 0; i < 3; i++)
		print_phase(&b->ph[i]);
	printf("  writes (create+update) %.0f ops/s; TCP connections opened "
	       "by request slots: %ld\n",
	       write_rate(b), b->connects);
	printf("watchers: expected %ld events each; received", b->writes_ok);
	for (long i = 0; i < b->o.watchers; i++)
		printf(" %ld", watch_events(&b->ws[i]));
	printf("; catch-up after creates %.3f s, after updates %.3f s\n",
	       b->catchup[0], b->catchup[1]);
	print_memory(b);
}

static json_t *phase_json(const struct phase *p)
{
	return json_pack("{s:I,s:f,s:f,s:f,s:f,s:I,s:f,s:f}", "ops",
			 (json_int_t)p->done, "seconds", p->t1 - p->t0,
			 "ops_per_sec", phase_rate(p), "p50_ms", p->p50 * 1e3,
			 "p99_ms", p->p99 * 1e3, "errors",
			 (json_int_t)p->errors, "server_cpu_sec", p->srv_cpu,
			 "server_us_per_op", phase_srv_us(p));
}

static json_t *watchers_json(const struct bench *b)
{
	json_t *a = json_array();

	for (long i = 0; i < b->o.watchers; i++)
		json_array_append_new(
			a, json_integer((json_int_t)watch_events(&b->ws[i])));
	return a;
}

static json_t *memory_json(const struct bench *b)
{
	const struct mem *f = &b->mem_phase[OP_GET];

	return json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "baseline_rss_kb",
		(json_int_t)b->mem_base.rss_kb, "watchers_rss_kb",
		(json_int_t)b->mem_watch.rss_kb, "after_create_rss_kb",
		(json_int_t)b->mem_phase[0].rss_kb, "after_update_rss_kb",
		(json_int_t)b->mem_phase[1].rss_kb, "final_rss_kb",
		(json_int_t)f->rss_kb, "final_hwm_kb", (json_int_t)f->hwm_kb,
		"stored_json_bytes", (json_int_t)b->stored_bytes,
		"list_json_bytes", (json_int_t)b->list_bytes, "objects",
		(json_int_t)b->n_live);
}

static void print_summary(const struct bench *b, bool w_ok, bool g_ok,
			  bool m_ok)
{
	json_t *s = json_pack(
		"{s:o,s:o,s:o,s:f,s:I,s:o,s:b,s:o,s:{s:b,s:b,s:b}}", "create",
		phase_json(&b->ph[0]), "update", phase_json(&b->ph[1]), "get",
		phase_json(&b->ph[2]), "writes_per_sec", write_rate(b),
		"watch_expected", (json_int_t)b->writes_ok, "watch_received",
		watchers_json(b), "watch_complete", watchers_complete(b),
		"memory", memory_json(b), "targets", "writes_5000", w_ok,
		"gets_10000", g_ok, "rss_2x_json", m_ok);
	char *text = json_dumps(s, JSON_COMPACT);

	printf("BENCH_JSON %s\n", text ? text : "{}");
	free(text);
	json_decref(s);
}

/* Prints the verdicts; returns true when every target is met. */
static bool print_targets(const struct bench *b)
{
	double rss = (double)b->mem_phase[OP_GET].rss_kb * 1024.0;
	bool w_ok = write_rate(b) >= TARGET_WRITES &&
		    phase_rate(&b->ph[OP_CREATE]) >= TARGET_WRITES &&
		    phase_rate(&b->ph[OP_UPDATE]) >= TARGET_WRITES;
	bool g_ok = phase_rate(&b->ph[OP_GET]) >= TARGET_GETS;
	bool m_ok = b->stored_bytes > 0 &&
		    rss <= TARGET_MEM_RATIO * (double)b->stored_bytes;

	printf("targets (with %ld watchers open):\n", b->o.watchers);
	printf("  >= 5000 writes/s (each write phase): %s\n", verdict(w_ok));
	printf("  >= 10000 GETs/s:                      %s\n", verdict(g_ok));
	printf("  RSS <= 2 x stored JSON:               %s\n", verdict(m_ok));
	print_summary(b, w_ok, g_ok, m_ok);
	return w_ok && g_ok && m_ok;
}

/* ---- setup and main ---- */

static void usage(FILE *out)
{
	fputs("usage: devcluster_bench --server URL --ca FILE --token-file "
	      "FILE "
	      "[options]\n"
	      "  --pid N            server pid, for /proc/N/status memory\n"
	      "  --conns N          parallel keep-alive connections "
	      "(default 12)\n"
	      "  --watchers N       watch streams (default 5)\n"
	      "  --objects N        objects to create, then update once "
	      "(default 50000)\n"
	      "  --updates N        merge PATCHes, round robin over the "
	      "objects\n"
	      "                     (default: one per object)\n"
	      "  --gets N           GETs of random objects (default 200000)\n"
	      "  --value-size N     bytes of data per object (default 700, "
	      "~1 KB stored)\n"
	      "  --phase-seconds S  time limit of each phase (default 30)\n"
	      "  --namespace NS     (default \"default\")\n"
	      "  --prefix P         object name prefix (default \"bench\")\n"
	      "  --strict           exit 1 when a target is missed\n",
	      out);
}

static int parse_num(const char *flag, const char *s, long min, long max,
		     long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < min || v > max) {
		fprintf(stderr, "devcluster_bench: %s: want %ld..%ld, got %s\n",
			flag, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opt(struct options *o, int c, const char *arg)
{
	long v = 0;

	switch (c) {
	case 's':
		o->server = arg;
		return 0;
	case 'c':
		o->ca = arg;
		return 0;
	case 't':
		free(o->token);
		o->token = file_read_trimmed(arg);
		return o->token ? 0 : -1;
	case 'p':
		return parse_num("--pid", arg, 0, 1L << 30, &o->pid);
	case 'n':
		return parse_num("--conns", arg, 1, MAX_SLOTS, &o->conns);
	case 'w':
		return parse_num("--watchers", arg, 0, MAX_WATCHERS,
				 &o->watchers);
	case 'o':
		return parse_num("--objects", arg, 1, 10000000, &o->objects);
	case 'u':
		return parse_num("--updates", arg, 0, 100000000, &o->updates);
	case 'g':
		return parse_num("--gets", arg, 0, 100000000, &o->gets);
	case 'v':
		return parse_num("--value-size", arg, 1, 1 << 20,
				 &o->value_size);
	case 'd':
		if (parse_num("--phase-seconds", arg, 1, 3600, &v))
			return -1;
		o->phase_secs = (double)v;
		return 0;
	case 'N':
		o->ns = arg;
		return 0;
	case 'P':
		o->prefix = arg;
		return 0;
	case 'S':
		o->strict = true;
		return 0;
	default:
		return -1;
	}
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"ca", required_argument, NULL, 'c'},
		{"token-file", required_argument, NULL, 't'},
		{"pid", required_argument, NULL, 'p'},
		{"conns", required_argument, NULL, 'n'},
		{"watchers", required_argument, NULL, 'w'},
		{"objects", required_argument, NULL, 'o'},
		{"updates", required_argument, NULL, 'u'},
		{"gets", required_argument, NULL, 'g'},
		{"value-size", required_argument, NULL, 'v'},
		{"phase-seconds", required_argument, NULL, 'd'},
		{"namespace", required_argument, NULL, 'N'},
		{"prefix", required_argument, NULL, 'P'},
		{"strict", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (parse_opt(o, c, optarg))
			return -1;
	}
	if (!o->server || !o->ca || !o->token || optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static void bench_init(struct bench *b)
{
	b->multi = curl_multi_init();
	curl_multi_setopt(b->multi, CURLMOPT_MAXCONNECTS,
			  b->o.conns + b->o.watchers + 4);
	b->hdr_json = headers_new(b, "application/json");
	b->hdr_patch = headers_new(b, "application/merge-patch+json");
	b->hdr_get = headers_new(b, NULL);
	b->created = xcalloc((size_t)b->o.objects, sizeof(bool));
	b->obj_bytes = xcalloc((size_t)b->o.objects, sizeof(size_t));
	b->live = xcalloc((size_t)b->o.objects, sizeof(long));
	b->rng = 0x9e3779b97f4a7c15ULL;
	slots_init(b);
}

static void bench_release(struct bench *b)
{
	watchers_close(b);
	slots_release(b);
	curl_multi_cleanup(b->multi);
	curl_slist_free_all(b->hdr_json);
	curl_slist_free_all(b->hdr_patch);
	curl_slist_free_all(b->hdr_get);
	for (int i = 0; i < 3; i++)
		free(b->ph[i].lat);
	free(b->created);
	free(b->obj_bytes);
	free(b->live);
	free(b->o.token);
}

/* Lists the objects whose create succeeded and sums their stored size. */
static void collect_live(struct bench *b)
{
	b->n_live = 0;
	b->stored_bytes = 0;
	for (long i = 0; i < b->o.objects; i++) {
		if (!b->created[i])
			continue;
		b->live[b->n_live++] = i;
	}
}

static void sum_stored(struct bench *b)
{
	b->stored_bytes = 0;
	for (long i = 0; i < b->n_live; i++)
		b->stored_bytes += b->obj_bytes[b->live[i]];
}

static int run_phases(struct bench *b)
{
	if (phase_run(b, OP_CREATE, b->o.objects))
		return -1;
	b->catchup[0] = watchers_wait(b);
	collect_live(b);
	if (b->n_live == 0) {
		fputs("error: no object was created\n", stderr);
		return -1;
	}
	if (phase_run(b, OP_UPDATE,
		      b->o.updates < 0 ? b->n_live : b->o.updates))
		return -1;
	b->catchup[1] = watchers_wait(b);
	if (phase_run(b, OP_GET, b->o.gets))
		return -1;
	/* a last look: events that arrived during the GET phase */
	watchers_wait(b);
	sum_stored(b);
	return 0;
}

static int bench_run(struct bench *b)
{
	char *rv;
	int rc;

	b->mem_base = mem_read(b->o.pid);
	rv = list_rv(b);
	if (!rv)
		return -1;
	rc = watchers_open(b, rv);
	free(rv);
	if (rc)
		return -1;
	b->mem_watch = mem_read(b->o.pid);
	if (run_phases(b))
		return -1;
	return list_all(b);
}

int main(int argc, char **argv)
{
	struct bench b;
	int status = 1;

	memset(&b, 0, sizeof(b));
	b.o.conns = 12;
	b.o.watchers = 5;
	b.o.objects = 50000;
	b.o.updates = -1;
	b.o.gets = 200000;
	b.o.value_size = 700;
	b.o.phase_secs = 30;
	b.o.ns = "default";
	b.o.prefix = "bench";
	if (parse_args(argc, argv, &b.o)) {
		free(b.o.token);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(b.o.token);
		return 1;
	}
	bench_init(&b);
	if (bench_run(&b) == 0) {
		bool met;

		print_report(&b);
		met = print_targets(&b);
		status = total_errors(&b) == 0 && watchers_complete(&b) &&
					 (met || !b.o.strict)
				 ? 0
				 : 1;
	}
	bench_release(&b);
	curl_global_cleanup();
	return status;
}

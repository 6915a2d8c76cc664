/*
 * sim_traffic: simulated requests to Services and the Prometheus series
 * they leave behind.
 *
 * Every tick, each Service with a selector receives rate * dt requests
 * (fractions carry over to the next tick), dealt round-robin over its ready
 * endpoints, as kube-proxy spreads connections: traffic follows the
 * selector and the replica ratio. A request fails with the receiving pod's
 * error code at the pod's error rate, by error diffusion (each request adds
 * the rate to an accumulator and fails when it reaches one), so the
 * observed rate matches the configured one within one request per series.
 * Latency is drawn from a log-normal distribution around the pod's median.
 *
 * Series are kept per (Service, pod) while both exist: counters only grow,
 * and a deleted pod's series disappear from the next scrape.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/sim_internal.h"
#include "util/alloc.h"
#include "util/err.h"

static const double bucket_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				       0.5,   1,    2.5,   5,	 10};
#define N_BUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))
static const char *const bucket_text[] = {"0.005", "0.01", "0.025", "0.05",
					  "0.1",   "0.25", "0.5",   "1",
					  "2.5",   "5",	   "10"};

/* Spread of the latency distribution (sigma of its logarithm). */
#define LATENCY_SIGMA 0.35

void series_free(struct series *se)
{
	if (!se)
		return;
	free(se->labels);
	free(se->hash);
	free(se);
}

void traffic_forget(struct sim_service *svc, const char *pod_key)
{
	series_free(hashmap_remove(&svc->series, pod_key));
}

/* Appends a label value with Prometheus text escaping. */
static void put_escaped(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n') {
			buf_puts(b, "\\n");
			continue;
		}
		buf_putc(b, *v);
	}
}

static struct series *series_new(struct sim *s, const struct sim_service *v,
				 const struct sim_pod *p)
{
	struct series *se = xcalloc(1, sizeof(*se));
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	buf_puts(&b, "namespace=\"");
	put_escaped(&b, v->ns);
	buf_puts(&b, "\",service=\"");
	put_escaped(&b, v->name);
	buf_puts(&b, "\",pod=\"");
	put_escaped(&b, p->name);
	buf_puts(&b, "\",pod_template_hash=\"");
	put_escaped(&b, p->hash ? p->hash : "");
	buf_puts(&b, "\"");
	se->labels = buf_detach(&b, &se->labels_len);
	se->hash = xstrdup(p->hash ? p->hash : "");
	se->error_code = p->b.error_code;
	/* start pods at different points of their error cycle */
	se->error_carry = sim_random(s);
	return se;
}

/* Standard normal deviate (Box-Muller). */
static double normal(struct sim *s)
{
	double u = sim_random(s), v = sim_random(s);

	if (u < 1e-12)
		u = 1e-12;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/*
 * Records n requests with one outcome. Latencies are drawn for at most
 * LATENCY_SAMPLES of them, each standing for its share of the n, so a
 * tick costs the same at 10 or 100,000 requests per second.
 */
#define LATENCY_SAMPLES 16

static void observe(struct sim *s, struct series *se, int which, uint64_t n,
		    double median)
{
	uint64_t k = n < LATENCY_SAMPLES ? n : LATENCY_SAMPLES;

	for (uint64_t j = 0; j < k; j++) {
		uint64_t weight = n / k + (j < n % k ? 1 : 0);
		double seconds =
			median > 0 ? median * exp(LATENCY_SIGMA * normal(s))
				   : 0;
		size_t i = 0;

		while (i < N_BUCKETS && seconds > bucket_bounds[i])
			i++;
		if (i < N_BUCKETS)
			se->bucket[which][i] += weight;
		se->sum[which] += seconds * (double)weight;
	}
	se->count[which] += n;
}

/* Whether the series no longer describes the pod (relabelled, new code). */
static bool series_stale(const struct series *se, const struct sim_pod *p)
{
	return strcmp(se->hash, p->hash ? p->hash : "") != 0 ||
	       (se->count[1] && se->error_code != p->b.error_code);
}

static void serve(struct sim *s, struct sim_service *v, struct sim_pod *p,
		  uint64_t requests)
{
	struct series *se = hashmap_get(&v->series, p->key);
	double median = p->b.latency_ms / 1000.0;
	uint64_t errors = 0;

	if (se && series_stale(se, p)) {
		/* like an application restarting: its counters start over */
		traffic_forget(v, p->key);
		se = NULL;
	}
	if (!se) {
		se = series_new(s, v, p);
		hashmap_put(&v->series, p->key, se);
	}
	se->error_code = p->b.error_code;
	if (p->b.error_rate > 0) {
		se->has_errors = true;
		se->error_carry += p->b.error_rate * (double)requests;
		errors = (uint64_t)(se->error_carry + 1e-9);
		if (errors > requests)
			errors = requests;
		se->error_carry -= (double)errors;
	}
	observe(s, se, 0, requests - errors, median);
	observe(s, se, 1, errors, median);
}

static void service_traffic(struct sim *s, struct sim_service *v, double dt)
{
	struct sim_pod **ready;
	size_t n = 0, k;
	const char *key;
	void *val;
	double want;
	uint64_t total;

	if (!v->sel || v->rate <= 0 || v->pods.size == 0)
		return;
	ready = xmalloc(v->pods.size * sizeof(*ready));
	for (size_t it = 0; hashmap_next(&v->pods, &it, &key, &val);) {
		struct sim_pod *p = val;

		if (p->ready && p->ip && pod_is_active(p))
			ready[n++] = p;
	}
	if (n == 0) {
		v->carry = 0;
		free(ready);
		return;
	}
	want = v->carry + v->rate * dt;
	total = (uint64_t)want;
	v->carry = want - (double)total;
	for (k = 0; k < n; k++) {
		/* pod (rr + k) % n gets every n-th request from position rr */
		uint64_t share = total / n + ((k < total % n) ? 1 : 0);

		if (share)
			serve(s, v, ready[(v->rr + k) % n], share);
	}
	v->rr = (v->rr + (size_t)(total % n)) % n;
	free(ready);
}

void traffic_run(struct sim *s, double dt)
{
	const char *k, *k2;
	void *v, *v2;

	for (size_t i = 0; hashmap_next(&s->namespaces, &i, &k, &v);) {
		struct sim_ns *n = v;

		for (size_t j = 0; hashmap_next(&n->services, &j, &k2, &v2);)
			service_traffic(s, v2, dt);
	}
}

/* ---- exposition ---- */

/*
 * Rendering is the hot path of a scrape (15 lines per series, 150,000 for
 * 10,000 pods): each line is assembled in a stack buffer from pieces of
 * known length and appended once, and numbers are formatted by hand.
 */
struct line {
	char text[1024];
	size_t len;
};

static void line_put(struct line *l, const char *p, size_t n)
{
	if (n > sizeof(l->text) - l->len)
		n = sizeof(l->text) - l->len;
	memcpy(l->text + l->len, p, n);
	l->len += n;
}

#define LINE_LIT(l, s) line_put(l, s, sizeof(s) - 1)

static void line_u64(struct line *l, uint64_t v)
{
	char tmp[24];
	int i = (int)sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	line_put(l, tmp + i, sizeof(tmp) - (size_t)i);
}

/* The label set shared by a series' lines: {labels,code="200" (unclosed). */
static void series_head(struct line *head, const struct series *se, int which)
{
	head->len = 0;
	LINE_LIT(head, "{");
	line_put(head, se->labels, se->labels_len);
	LINE_LIT(head, ",code=\"");
	line_u64(head, (uint64_t)(which ? se->error_code : 200));
	LINE_LIT(head, "\"");
}

static void emit(struct buf *b, struct line *l)
{
	LINE_LIT(l, "\n");
	buf_append(b, l->text, l->len);
}

/* Calls fn for every (series, code index) that is exposed. */
static void each_series(struct sim *s,
			void (*fn)(struct buf *, const struct series *, int),
			struct buf *out)
{
	const char *k;
	void *v;

	for (size_t i = 0; hashmap_next(&s->namespaces, &i, &k, &v);) {
		struct sim_ns *n = v;
		const char *k2, *k3;
		void *v2, *v3;

		for (size_t j = 0; hashmap_next(&n->services, &j, &k2, &v2);) {
			struct sim_service *svc = v2;

			for (size_t m = 0;
			     hashmap_next(&svc->series, &m, &k3, &v3);) {
				struct series *se = v3;

				fn(out, se, 0);
				if (se->has_errors || se->count[1])
					fn(out, se, 1);
			}
		}
	}
}

static void write_counter(struct buf *b, const struct series *se, int which)
{
	struct line head, l;

	series_head(&head, se, which);
	l.len = 0;
	LINE_LIT(&l, "http_requests_total");
	line_put(&l, head.text, head.len);
	LINE_LIT(&l, "} ");
	line_u64(&l, se->count[which]);
	emit(b, &l);
}

static void write_histogram(struct buf *b, const struct series *se, int which)
{
	static const char bucket[] = "http_request_duration_seconds_bucket";
	struct line head, l;
	uint64_t cumulative = 0;
	char sum[40];
	int n;

	series_head(&head, se, which);
	for (size_t i = 0; i <= N_BUCKETS; i++) {
		const char *le = i < N_BUCKETS ? bucket_text[i] : "+Inf";

		cumulative += i < N_BUCKETS ? se->bucket[which][i] : 0;
		l.len = 0;
		LINE_LIT(&l, bucket);
		line_put(&l, head.text, head.len);
		LINE_LIT(&l, ",le=\"");
		line_put(&l, le, strlen(le));
		LINE_LIT(&l, "\"} ");
		line_u64(&l, i < N_BUCKETS ? cumulative : se->count[which]);
		emit(b, &l);
	}
	l.len = 0;
	LINE_LIT(&l, "http_request_duration_seconds_sum");
	line_put(&l, head.text, head.len);
	n = snprintf(sum, sizeof(sum), "} %.9g", se->sum[which]);
	line_put(&l, sum, (size_t)n);
	emit(b, &l);
	l.len = 0;
	LINE_LIT(&l, "http_request_duration_seconds_count");
	line_put(&l, head.text, head.len);
	LINE_LIT(&l, "} ");
	line_u64(&l, se->count[which]);
	emit(b, &l);
}

int sim_metrics(struct sim *s, struct buf *out)
{
	if (!s)
		return 0;
	buf_puts(out, "# HELP http_requests_total Requests served by the "
		      "simulated applications, by Service, pod and response "
		      "code.\n# TYPE http_requests_total counter\n");
	each_series(s, write_counter, out);
	buf_puts(out, "# HELP http_request_duration_seconds Latency of the "
		      "requests served by the simulated applications.\n"
		      "# TYPE http_request_duration_seconds histogram\n");
	each_series(s, write_histogram, out);
	return out->len >= out->max ? ERR_TOOBIG : 0;
}

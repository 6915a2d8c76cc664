/*
 * metrics: knit-devcluster's /metrics in the Prometheus text format - the
 * API server's own series (requests by verb, resource and code; open
 * watches; stored objects; simulated pods), named like kube-apiserver's so
 * dashboards carry over, followed by the simulated applications' traffic
 * series (sim_metrics()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/api_internal.h"
#include "util/alloc.h"

/* The apiserver_request_total verb label, as kube-apiserver spells it. */
static const char *metric_verb(const struct api_class *c, const char *method)
{
	if (!c->verb)
		return method;
	if (strcmp(c->verb, "get") == 0)
		return "GET";
	if (strcmp(c->verb, "list") == 0)
		return "LIST";
	if (strcmp(c->verb, "watch") == 0)
		return "WATCH";
	if (strcmp(c->verb, "create") == 0)
		return "POST";
	if (strcmp(c->verb, "update") == 0)
		return "PUT";
	if (strcmp(c->verb, "patch") == 0)
		return c->apply ? "APPLY" : "PATCH";
	return "DELETE";
}

/* Series kept at most; past it, new label sets share one "other" series. */
#define MAX_REQUEST_SERIES 4096

/* Label values come from request paths: keep only safe characters. */
static void clean(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < len; src++)
		dst[i++] =
			(char)((*src >= 'a' && *src <= 'z') ||
					       (*src >= 'A' && *src <= 'Z') ||
					       (*src >= '0' && *src <= '9') ||
					       *src == '.' || *src == '-'
				       ? *src
				       : '_');
	dst[i] = '\0';
}

void api_count_request(struct devcluster *dc, const struct api_class *cls,
		       int code)
{
	char key[640], g[128], v[64], r[128], sub[64];
	uint64_t *n;

	clean(g, sizeof(g), cls->group);
	clean(v, sizeof(v), cls->version);
	clean(r, sizeof(r), cls->resource);
	clean(sub, sizeof(sub), cls->subresource);
	snprintf(key, sizeof(key),
		 "verb=\"%s\",group=\"%s\",version=\"%s\",resource=\"%s\","
		 "subresource=\"%s\",code=\"%d\"",
		 metric_verb(cls, "GET"), g, v, r, sub, code);
	n = hashmap_get(&dc->request_counts, key);
	if (!n && dc->request_counts.size >= MAX_REQUEST_SERIES) {
		snprintf(key, sizeof(key),
			 "verb=\"%s\",group=\"\",version=\"\",resource=\"_"
			 "other\",subresource=\"\",code=\"%d\"",
			 metric_verb(cls, "GET"), code);
		n = hashmap_get(&dc->request_counts, key);
	}
	if (!n) {
		n = xcalloc(1, sizeof(*n));
		hashmap_put(&dc->request_counts, key, n);
	}
	(*n)++;
}

static void write_requests(struct devcluster *dc, struct buf *out)
{
	const char *k;
	void *v;

	buf_puts(out, "# HELP apiserver_request_total API requests answered, "
		      "by verb, resource and HTTP code.\n"
		      "# TYPE apiserver_request_total counter\n");
	for (size_t i = 0; hashmap_next(&dc->request_counts, &i, &k, &v);)
		buf_printf(out, "apiserver_request_total{%s} %llu\n", k,
			   (unsigned long long)*(uint64_t *)v);
}

static void write_storage(struct devcluster *dc, struct buf *out)
{
	const char *k;
	void *v;

	buf_puts(out, "# HELP apiserver_storage_objects Objects stored, by "
		      "resource.\n# TYPE apiserver_storage_objects gauge\n");
	for (size_t i = 0; hashmap_next(&dc->store.collections, &i, &k, &v);) {
		struct collection *c = v;

		buf_printf(out,
			   "apiserver_storage_objects{resource=\"%s%s%s\"} "
			   "%zu\n",
			   c->resource, *c->group ? "." : "", c->group,
			   c->items.size);
	}
}

void api_metrics(struct devcluster *dc, struct buf *out)
{
	double start = api_monotonic();
	size_t pods, ready;

	/*
	 * One allocation of the expected size, cheaper than growing. The size
	 * never shrinks, so after the first large free glibc serves the same
	 * size from the heap instead of fresh (page-faulting) mmap memory.
	 */
	if (dc->metrics_bytes + dc->metrics_bytes / 8 > dc->metrics_reserve)
		dc->metrics_reserve = dc->metrics_bytes + dc->metrics_bytes / 4;
	buf_reserve(out, dc->metrics_reserve + 65536);
	write_requests(dc, out);
	buf_printf(out,
		   "# HELP apiserver_longrunning_requests Open long-running "
		   "requests (watches).\n"
		   "# TYPE apiserver_longrunning_requests gauge\n"
		   "apiserver_longrunning_requests{verb=\"WATCH\"} %zu\n",
		   dc->hub.count);
	write_storage(dc, out);
	sim_counts(dc->sim, &pods, &ready);
	buf_printf(out,
		   "# HELP knit_devcluster_pods Simulated pods, and how many "
		   "are Ready.\n# TYPE knit_devcluster_pods gauge\n"
		   "knit_devcluster_pods{state=\"all\"} %zu\n"
		   "knit_devcluster_pods{state=\"ready\"} %zu\n",
		   pods, ready);
	buf_printf(out,
		   "# HELP knit_devcluster_metrics_render_seconds How long the "
		   "previous /metrics rendering took.\n"
		   "# TYPE knit_devcluster_metrics_render_seconds gauge\n"
		   "knit_devcluster_metrics_render_seconds %.6f\n",
		   dc->metrics_seconds);
	sim_metrics(dc->sim, out);
	dc->metrics_seconds = api_monotonic() - start;
	dc->metrics_bytes = out->len;
}

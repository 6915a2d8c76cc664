/*
 * metrics: the Prometheus registry behind knit-controller's /metrics (see
 * metrics.h).
 *
 * A registry is a list of families in declaration order; each family holds
 * its samples in first-use order, keyed by the label string exactly as the
 * caller wrote it. Histograms keep one cumulative count per fixed bucket
 * plus sum and count. The lists are short (tens of samples), so lookups are
 * linear scans under the registry's one mutex; rendering formats into a
 * growable buffer while holding the same mutex, so a scrape sees a
 * consistent snapshot.
 */
#include "controller/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

static const double bucket_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				       0.5,   1,    2.5,   5,	 10};
#define N_BUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

struct sample {
	char *labels;			  /* "" when none */
	double value;			  /* counter, gauge */
	unsigned long buckets[N_BUCKETS]; /* histogram, not cumulative */
	double sum;
	unsigned long count;
	struct sample *next;
};

struct family {
	char *name;
	char *help;
	enum metric_type type;
	struct sample *first, *last;
	struct family *next;
};

struct metrics {
	pthread_mutex_t lock;
	struct family *first, *last;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	struct family *f, *fn;
	struct sample *s, *sn;

	if (!m)
		return;
	for (f = m->first; f; f = fn) {
		fn = f->next;
		for (s = f->first; s; s = sn) {
			sn = s->next;
			free(s->labels);
			free(s);
		}
		free(f->name);
		free(f->help);
		free(f);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* The family called `name`, or NULL. Lock held. */
static struct family *family_find(struct metrics *m, const char *name)
{
	for (struct family *f = m->first; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

void metrics_declare(struct metrics *m, const char *name, enum metric_type type,
		     const char *help)
{
	struct family *f;

	pthread_mutex_lock(&m->lock);
	if (!family_find(m, name)) {
		f = xcalloc(1, sizeof(*f));
		f->name = xstrdup(name);
		f->help = xstrdup(help ? help : "");
		f->type = type;
		if (m->last)
			m->last->next = f;
		else
			m->first = f;
		m->last = f;
	}
	pthread_mutex_unlock(&m->lock);
}

/* The sample of `f` with `labels`, created when absent. Lock held. */
static struct sample *sample_get(struct family *f, const char *labels)
{
	struct sample *s;

	if (!labels)
		labels = "";
	for (s = f->first; s; s = s->next)
		if (strcmp(s->labels, labels) == 0)
			return s;
	s = xcalloc(1, sizeof(*s));
	s->labels = xstrdup(labels);
	if (f->last)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
	return s;
}

/* Applies one update to a sample of an existing family of `type`. */
static void update(struct metrics *m, const char *name, const char *labels,
		   enum metric_type type, double v, bool set)
{
	struct family *f;
	struct sample *s;

	pthread_mutex_lock(&m->lock);
	f = family_find(m, name);
	if (f && f->type == type) {
		s = sample_get(f, labels);
		if (set)
			s->value = v;
		else
			s->value += v;
	}
	pthread_mutex_unlock(&m->lock);
}

void metrics_add(struct metrics *m, const char *name, const char *labels,
		 double delta)
{
	if (!(delta >= 0))
		return; /* counters only go up */
	update(m, name, labels, METRIC_COUNTER, delta, false);
}

void metrics_set(struct metrics *m, const char *name, const char *labels,
		 double value)
{
	update(m, name, labels, METRIC_GAUGE, value, true);
}

void metrics_zero(struct metrics *m, const char *name)
{
	struct family *f;

	pthread_mutex_lock(&m->lock);
	f = family_find(m, name);
	if (f && f->type == METRIC_GAUGE)
		for (struct sample *s = f->first; s; s = s->next)
			s->value = 0;
	pthread_mutex_unlock(&m->lock);
}

void metrics_observe(struct metrics *m, const char *name, const char *labels,
		     double value)
{
	struct family *f;
	struct sample *s;

	pthread_mutex_lock(&m->lock);
	f = family_find(m, name);
	if (f && f->type == METRIC_HISTOGRAM) {
		s = sample_get(f, labels);
		for (size_t i = 0; i < N_BUCKETS; i++) {
			if (value <= bucket_bounds[i]) {
				s->buckets[i]++;
				break;
			}
		}
		s->sum += value;
		s->count++;
	}
	pthread_mutex_unlock(&m->lock);
}

/* A number as Prometheus writes it: shortest form that reads back equal,
 * "+Inf", "-Inf" or "NaN". */
static void format_number(double v, char *out, size_t len)
{
	if (isnan(v)) {
		snprintf(out, len, "NaN");
	} else if (isinf(v)) {
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(out, len, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, len, "%.17g", v);
	}
}

/* "# HELP" text: backslash and newline escaped. */
static void put_help(struct buf *b, const char *help)
{
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			buf_puts(b, "\\\\");
		else if (*p == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *p);
	}
}

/* One line "name[suffix]{labels[,extra]} value". */
static void put_line(struct buf *b, const char *name, const char *suffix,
		     const char *labels, const char *extra, double v)
{
	char num[40];
	bool any = *labels || extra;

	format_number(v, num, sizeof(num));
	buf_printf(b, "%s%s", name, suffix);
	if (any)
		buf_printf(b, "{%s%s%s}", labels, *labels && extra ? "," : "",
			   extra ? extra : "");
	buf_printf(b, " %s\n", num);
}

static void put_histogram(struct buf *b, const struct family *f,
			  const struct sample *s)
{
	unsigned long cum = 0;
	char le[64], num[40];

	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += s->buckets[i];
		format_number(bucket_bounds[i], num, sizeof(num));
		snprintf(le, sizeof(le), "le=\"%s\"", num);
		put_line(b, f->name, "_bucket", s->labels, le, (double)cum);
	}
	put_line(b, f->name, "_bucket", s->labels, "le=\"+Inf\"",
		 (double)s->count);
	put_line(b, f->name, "_sum", s->labels, NULL, s->sum);
	put_line(b, f->name, "_count", s->labels, NULL, (double)s->count);
}

static const char *type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

char *metrics_render(struct metrics *m)
{
	struct buf b;

	buf_init(&b, BUF_UNLIMITED);
	pthread_mutex_lock(&m->lock);
	for (const struct family *f = m->first; f; f = f->next) {
		buf_printf(&b, "# HELP %s ", f->name);
		put_help(&b, f->help);
		buf_printf(&b, "\n# TYPE %s %s\n", f->name, type_name(f->type));
		for (const struct sample *s = f->first; s; s = s->next) {
			if (f->type == METRIC_HISTOGRAM)
				put_histogram(&b, f, s);
			else
				put_line(&b, f->name, "", s->labels, NULL,
					 s->value);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return buf_detach(&b, NULL);
}

/*
 * metrics: a small Prometheus registry for knit-controller.
 *
 * Families are declared once (name, type, help); samples are addressed by
 * the family name and a label string already in exposition form
 * ("verb=\"GET\",code=\"200\"", or NULL/"" for none). Counters only go
 * up, gauges are set, histograms observe into fixed buckets (seconds:
 * 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10). metrics_render() writes
 * the text exposition format 0.0.4, families in declaration order, samples
 * in first-use order. Every function is thread-safe (one mutex); a sample
 * on an undeclared family is ignored.
 */
#ifndef KNIT_CONTROLLER_METRICS_H
#define KNIT_CONTROLLER_METRICS_H

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Declares a family; declaring one twice keeps the first. */
void metrics_declare(struct metrics *m, const char *name, enum metric_type type,
		     const char *help);

void metrics_add(struct metrics *m, const char *name, const char *labels,
		 double delta);
void metrics_set(struct metrics *m, const char *name, const char *labels,
		 double value);
/* Sets every sample of gauge `name` to 0 (before re-setting the live ones,
 * so a phase no rollout is in reads 0). */
void metrics_zero(struct metrics *m, const char *name);
void metrics_observe(struct metrics *m, const char *name, const char *labels,
		     double value);

/* The exposition text (new string). */
char *metrics_render(struct metrics *m);

#endif

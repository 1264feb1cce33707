/* Prometheus metrics: counters, gauges and histograms with bounded label sets, rendered in
 * the text exposition format 0.0.4. One thread (the loop) uses a registry; no I/O. */
#ifndef RL_METRICS_H
#define RL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define METRICS_LABELS_MAX 8        /* label names per metric */
#define METRICS_LABEL_VALUE_MAX 256 /* bytes in one label value */
#define METRICS_BUCKETS_MAX 32      /* histogram buckets, +Inf aside */

/* Label values (or names), NULL-terminated, in the order of the metric's label names:
 * metrics_inc(requests, METRICS_LABELS("GET /lab", "200")). NULL for a metric without
 * labels. */
#define METRICS_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })

struct metrics;        /* a registry */
struct metrics_family; /* one metric: name, help, type, label names, and its series */

/* A registry that keeps at most max_series label combinations per metric (> 0): a metric
 * never grows without limit, whatever values arrive. */
struct metrics *metrics_new(size_t max_series);
/* Accepts NULL. */
void metrics_free(struct metrics *m);

/* Register a metric; *ret lives as long as the registry. name: [a-zA-Z_:][a-zA-Z0-9_:]*,
 * counters end in "_total"; label names: [a-zA-Z_][a-zA-Z0-9_]*, not "__..." (and not
 * "le" for a histogram); help: any UTF-8 text. Histogram buckets: finite, strictly
 * increasing upper bounds (+Inf is implied). 0, -EINVAL, -EEXIST (the name or one it
 * renders, such as a histogram's name_count, is taken), -E2BIG (too many labels or
 * buckets). A metric without labels starts with its one series at 0. */
int metrics_counter_new(struct metrics *m, const char *name, const char *help,
			const char *const *label_names, struct metrics_family **ret);
int metrics_gauge_new(struct metrics *m, const char *name, const char *help,
		      const char *const *label_names, struct metrics_family **ret);
int metrics_histogram_new(struct metrics *m, const char *name, const char *help,
			  const char *const *label_names, const double *buckets, size_t n_buckets,
			  struct metrics_family **ret);

/* Update the series of `values` (created on first use). 0, or:
 * -EINVAL  wrong number of values, a value that is not UTF-8 or longer than
 *          METRICS_LABEL_VALUE_MAX, an update the metric's type does not have (metrics_set
 *          on a counter, ...), a negative counter increment, NaN;
 * -ENOSPC  a new label combination beyond the registry's maximum: nothing changes, and
 *          metrics_dropped counts it. */
int metrics_inc(struct metrics_family *f, const char *const *values); /* counter, gauge */
int metrics_add(struct metrics_family *f, const char *const *values,
		double v); /* counter (v >= 0), gauge */
int metrics_set(struct metrics_family *f, const char *const *values, double v);     /* gauge */
int metrics_observe(struct metrics_family *f, const char *const *values, double v); /* histogram */
/* Forget one series (a host that left the configuration): 0 or -ENOENT. */
int metrics_remove(struct metrics_family *f, const char *const *values);
/* Forget every series of a labelled metric (to set gauges afresh from state); a metric
 * without labels goes back to 0. */
void metrics_clear(struct metrics_family *f);
/* Updates refused with -ENOSPC so far. */
uint64_t metrics_dropped(const struct metrics_family *f);

/* Run collect(m, userdata) at the start of every metrics_render: set gauges from the
 * current state there (sessions by state, heartbeat age per host, ...). */
void metrics_set_collect(struct metrics *m, void (*collect)(struct metrics *m, void *userdata),
			 void *userdata);

/* Append every metric, in registration order, to out in the text format 0.0.4 (serve it
 * as METRICS_CONTENT_TYPE). 0, or -E2BIG when out's maximum was reached: the text is cut
 * and must not be served. */
int metrics_render(struct metrics *m, struct buf *out);

#endif

/* Prometheus metrics: counters, gauges and histograms with bounded label sets, rendered in
 * the text exposition format 0.0.4. One thread (the loop) uses a registry; no I/O. */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xmalloc.h"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics_series {
	char **values;    /* one per label name */
	double value;     /* counter, gauge */
	uint64_t *counts; /* histogram: per bucket, not cumulative; [n_buckets] is +Inf */
	double sum;
	uint64_t count;
};

struct metrics_family {
	struct metrics *registry;
	enum metrics_type type;
	char *name;
	char *help;
	char **label_names;
	size_t n_labels;
	double *buckets;
	size_t n_buckets;
	struct metrics_series **series; /* in creation order */
	size_t n_series;
	uint64_t dropped;
};

struct metrics {
	struct metrics_family **families; /* in registration order */
	size_t n_families;
	size_t max_series;
	void (*collect)(struct metrics *m, void *userdata);
	void *collect_userdata;
};

static const char *const metrics_histogram_suffixes[] = { "_bucket", "_sum", "_count" };

struct metrics *metrics_new(size_t max_series)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->max_series = max_series > 0 ? max_series : 1;
	return m;
}

static void metrics_series_free(struct metrics_series *s, size_t n_labels)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n_labels; i++)
		free(s->values[i]);
	free(s->values);
	free(s->counts);
	free(s);
}

static void metrics_family_free(struct metrics_family *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n_series; i++)
		metrics_series_free(f->series[i], f->n_labels);
	for (i = 0; i < f->n_labels; i++)
		free(f->label_names[i]);
	free(f->series);
	free(f->label_names);
	free(f->buckets);
	free(f->name);
	free(f->help);
	free(f);
}

void metrics_free(struct metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_families; i++)
		metrics_family_free(m->families[i]);
	free(m->families);
	free(m);
}

/* Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names the same without ':'. */
static bool metrics_valid_name(const char *s, bool colon)
{
	const char *p;

	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return false;
	for (p = s; *p != '\0'; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon && c == ':')))
			return false;
	}
	return p - s <= 200;
}

static bool metrics_valid_utf8(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len); /* jansson validates UTF-8 */

	json_decref(j);
	return j != NULL;
}

/* Whether f renders samples named `full`: its name, or a histogram's name_bucket, ... */
static bool metrics_family_renders(const struct metrics_family *f, const char *full)
{
	size_t n = strlen(f->name), i;

	if (strcmp(full, f->name) == 0)
		return true;
	if (f->type != METRICS_HISTOGRAM || strncmp(full, f->name, n) != 0)
		return false;
	for (i = 0; i < sizeof(metrics_histogram_suffixes) / sizeof(metrics_histogram_suffixes[0]);
	     i++)
		if (strcmp(full + n, metrics_histogram_suffixes[i]) == 0)
			return true;
	return false;
}

static bool metrics_name_taken(const struct metrics *m, const char *name, enum metrics_type type)
{
	char full[256];
	size_t i, j;

	for (i = 0; i < m->n_families; i++) {
		if (metrics_family_renders(m->families[i], name))
			return true;
		if (type != METRICS_HISTOGRAM)
			continue;
		for (j = 0;
		     j < sizeof(metrics_histogram_suffixes) / sizeof(metrics_histogram_suffixes[0]);
		     j++) {
			snprintf(full, sizeof(full), "%s%s", name, metrics_histogram_suffixes[j]);
			if (metrics_family_renders(m->families[i], full))
				return true;
		}
	}
	return false;
}

static struct metrics_series *metrics_series_new(const struct metrics_family *f,
						 const char *const *values)
{
	struct metrics_series *s = xcalloc(1, sizeof(*s));
	size_t i;

	s->values = xcalloc(f->n_labels ? f->n_labels : 1, sizeof(char *));
	for (i = 0; i < f->n_labels; i++)
		s->values[i] = xstrdup(values[i]);
	if (f->type == METRICS_HISTOGRAM)
		s->counts = xcalloc(f->n_buckets + 1, sizeof(uint64_t));
	return s;
}

static int metrics_family_new(struct metrics *m, enum metrics_type type, const char *name,
			      const char *help, const char *const *label_names,
			      const double *buckets, size_t n_buckets, struct metrics_family **ret)
{
	struct metrics_family *f;
	size_t n_labels = 0, i, j;

	if (!metrics_valid_name(name, true) || help == NULL ||
	    !metrics_valid_utf8(help, strlen(help)))
		return -EINVAL;
	if (type == METRICS_COUNTER &&
	    (strlen(name) <= 6 || strcmp(name + strlen(name) - 6, "_total") != 0))
		return -EINVAL;
	for (n_labels = 0; label_names != NULL && label_names[n_labels] != NULL; n_labels++) {
		const char *l = label_names[n_labels];

		if (n_labels >= METRICS_LABELS_MAX)
			return -E2BIG;
		if (!metrics_valid_name(l, false) || strncmp(l, "__", 2) == 0 ||
		    (type == METRICS_HISTOGRAM && strcmp(l, "le") == 0))
			return -EINVAL;
		for (j = 0; j < n_labels; j++)
			if (strcmp(label_names[j], l) == 0)
				return -EINVAL;
	}
	if (type == METRICS_HISTOGRAM) {
		if (n_buckets > METRICS_BUCKETS_MAX)
			return -E2BIG;
		if (n_buckets == 0 || buckets == NULL)
			return -EINVAL;
		for (i = 0; i < n_buckets; i++)
			if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
				return -EINVAL;
	}
	if (metrics_name_taken(m, name, type))
		return -EEXIST;

	f = xcalloc(1, sizeof(*f));
	f->registry = m;
	f->type = type;
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->n_labels = n_labels;
	f->label_names = xcalloc(n_labels ? n_labels : 1, sizeof(char *));
	for (i = 0; i < n_labels; i++)
		f->label_names[i] = xstrdup(label_names[i]);
	if (type == METRICS_HISTOGRAM) {
		f->n_buckets = n_buckets;
		f->buckets = xcalloc(n_buckets, sizeof(double));
		memcpy(f->buckets, buckets, n_buckets * sizeof(double));
	}
	f->series = xcalloc(m->max_series, sizeof(*f->series));
	if (n_labels == 0)
		f->series[f->n_series++] = metrics_series_new(f, NULL);
	m->families = xreallocarray(m->families, m->n_families + 1, sizeof(*m->families));
	m->families[m->n_families++] = f;
	*ret = f;
	return 0;
}

int metrics_counter_new(struct metrics *m, const char *name, const char *help,
			const char *const *label_names, struct metrics_family **ret)
{
	return metrics_family_new(m, METRICS_COUNTER, name, help, label_names, NULL, 0, ret);
}

int metrics_gauge_new(struct metrics *m, const char *name, const char *help,
		      const char *const *label_names, struct metrics_family **ret)
{
	return metrics_family_new(m, METRICS_GAUGE, name, help, label_names, NULL, 0, ret);
}

int metrics_histogram_new(struct metrics *m, const char *name, const char *help,
			  const char *const *label_names, const double *buckets, size_t n_buckets,
			  struct metrics_family **ret)
{
	return metrics_family_new(m, METRICS_HISTOGRAM, name, help, label_names, buckets, n_buckets,
				  ret);
}

/* Index of the series for values, or -ENOENT; -EINVAL for a wrong number of values. */
static int metrics_find(const struct metrics_family *f, const char *const *values, size_t *ret)
{
	size_t n = 0, i, j;

	while (values != NULL && values[n] != NULL)
		n++;
	if (n != f->n_labels)
		return -EINVAL;
	for (i = 0; i < f->n_series; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(f->series[i]->values[j], values[j]) != 0)
				break;
		if (j == n) {
			*ret = i;
			return 0;
		}
	}
	return -ENOENT;
}

static int metrics_get(struct metrics_family *f, const char *const *values,
		       struct metrics_series **ret)
{
	size_t i;
	int r;

	r = metrics_find(f, values, &i);
	if (r == 0) {
		*ret = f->series[i];
		return 0;
	}
	if (r != -ENOENT)
		return r;
	for (i = 0; i < f->n_labels; i++) {
		size_t len = strlen(values[i]);

		if (len > METRICS_LABEL_VALUE_MAX || !metrics_valid_utf8(values[i], len))
			return -EINVAL;
	}
	if (f->n_series >= f->registry->max_series) {
		f->dropped++;
		return -ENOSPC;
	}
	*ret = f->series[f->n_series++] = metrics_series_new(f, values);
	return 0;
}

int metrics_add(struct metrics_family *f, const char *const *values, double v)
{
	struct metrics_series *s;
	int r;

	if (isnan(v) || f->type == METRICS_HISTOGRAM || (f->type == METRICS_COUNTER && v < 0))
		return -EINVAL;
	r = metrics_get(f, values, &s);
	if (r < 0)
		return r;
	s->value += v;
	return 0;
}

int metrics_inc(struct metrics_family *f, const char *const *values)
{
	return metrics_add(f, values, 1);
}

int metrics_set(struct metrics_family *f, const char *const *values, double v)
{
	struct metrics_series *s;
	int r;

	if (isnan(v) || f->type != METRICS_GAUGE)
		return -EINVAL;
	r = metrics_get(f, values, &s);
	if (r < 0)
		return r;
	s->value = v;
	return 0;
}

int metrics_observe(struct metrics_family *f, const char *const *values, double v)
{
	struct metrics_series *s;
	size_t i;
	int r;

	if (isnan(v) || f->type != METRICS_HISTOGRAM)
		return -EINVAL;
	r = metrics_get(f, values, &s);
	if (r < 0)
		return r;
	for (i = 0; i < f->n_buckets && v > f->buckets[i]; i++)
		;
	s->counts[i]++;
	s->sum += v;
	s->count++;
	return 0;
}

int metrics_remove(struct metrics_family *f, const char *const *values)
{
	size_t i;
	int r;

	if (f->n_labels == 0)
		return -EINVAL;
	r = metrics_find(f, values, &i);
	if (r < 0)
		return r;
	metrics_series_free(f->series[i], f->n_labels);
	memmove(f->series + i, f->series + i + 1, (f->n_series - i - 1) * sizeof(*f->series));
	f->n_series--;
	return 0;
}

void metrics_clear(struct metrics_family *f)
{
	size_t i;

	for (i = 0; i < f->n_series; i++)
		metrics_series_free(f->series[i], f->n_labels);
	f->n_series = 0;
	if (f->n_labels == 0)
		f->series[f->n_series++] = metrics_series_new(f, NULL);
}

uint64_t metrics_dropped(const struct metrics_family *f)
{
	return f->dropped;
}

void metrics_set_collect(struct metrics *m, void (*collect)(struct metrics *m, void *userdata),
			 void *userdata)
{
	m->collect = collect;
	m->collect_userdata = userdata;
}

/* A sample value as Prometheus parses it: the shortest text that reads back the same. */
static void metrics_format_value(char *out, size_t len, double v)
{
	int prec;

	if (isnan(v)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(out, len, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
	snprintf(out, len, "%.17g", v);
}

/* Text with '\\' and newline escaped, and '"' too inside label values. */
static int metrics_append_escaped(struct buf *out, const char *s, bool quote)
{
	const char *p;
	int r = 0;

	for (p = s; *p != '\0' && r == 0; p++) {
		if (*p == '\\')
			r = buf_append(out, "\\\\", 2);
		else if (*p == '\n')
			r = buf_append(out, "\\n", 2);
		else if (*p == '"' && quote)
			r = buf_append(out, "\\\"", 2);
		else
			r = buf_append(out, p, 1);
	}
	return r;
}

/* `{a="x",b="y"}` plus an optional le label; nothing when there are no labels at all. */
static int metrics_append_labels(struct buf *out, const struct metrics_family *f,
				 const struct metrics_series *s, const char *le)
{
	size_t i;
	int r = 0;

	if (f->n_labels == 0 && le == NULL)
		return 0;
	r = buf_append(out, "{", 1);
	for (i = 0; i < f->n_labels && r == 0; i++) {
		r = buf_printf(out, "%s%s=\"", i ? "," : "", f->label_names[i]);
		if (r == 0)
			r = metrics_append_escaped(out, s->values[i], true);
		if (r == 0)
			r = buf_append(out, "\"", 1);
	}
	if (r == 0 && le != NULL)
		r = buf_printf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
	if (r == 0)
		r = buf_append(out, "}", 1);
	return r;
}

static int metrics_append_sample(struct buf *out, const struct metrics_family *f,
				 const char *suffix, const struct metrics_series *s, const char *le,
				 double v)
{
	char num[64];
	int r;

	metrics_format_value(num, sizeof(num), v);
	r = buf_printf(out, "%s%s", f->name, suffix);
	if (r == 0)
		r = metrics_append_labels(out, f, s, le);
	if (r == 0)
		r = buf_printf(out, " %s\n", num);
	return r;
}

static int metrics_render_family(struct buf *out, const struct metrics_family *f)
{
	static const char *const type_names[] = {
		[METRICS_COUNTER] = "counter",
		[METRICS_GAUGE] = "gauge",
		[METRICS_HISTOGRAM] = "histogram",
	};
	size_t i, b;
	int r;

	r = buf_printf(out, "# HELP %s ", f->name);
	if (r == 0)
		r = metrics_append_escaped(out, f->help, false);
	if (r == 0)
		r = buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
	for (i = 0; i < f->n_series && r == 0; i++) {
		const struct metrics_series *s = f->series[i];
		uint64_t cum = 0;
		char le[64];

		if (f->type != METRICS_HISTOGRAM) {
			r = metrics_append_sample(out, f, "", s, NULL, s->value);
			continue;
		}
		for (b = 0; b <= f->n_buckets && r == 0; b++) {
			cum += s->counts[b];
			if (b < f->n_buckets)
				metrics_format_value(le, sizeof(le), f->buckets[b]);
			else
				snprintf(le, sizeof(le), "+Inf");
			r = metrics_append_sample(out, f, "_bucket", s, le, (double)cum);
		}
		if (r == 0)
			r = metrics_append_sample(out, f, "_sum", s, NULL, s->sum);
		if (r == 0)
			r = metrics_append_sample(out, f, "_count", s, NULL, (double)s->count);
	}
	return r;
}

int metrics_render(struct metrics *m, struct buf *out)
{
	size_t i;
	int r = 0;

	if (m->collect != NULL)
		m->collect(m, m->collect_userdata);
	for (i = 0; i < m->n_families && r == 0; i++)
		r = metrics_render_family(out, m->families[i]);
	return r;
}

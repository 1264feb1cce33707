/* Test helper: renders a registry with every kind of metric and awkward label values to
 * stdout, for check_metrics.py to read with a real Prometheus parser. */
#include <math.h>
#include <stdio.h>

#include "common/metrics.h"

int main(void)
{
	static const double buckets[] = { 0.005, 0.1, 1, 2.5, 60, 3600 };
	struct metrics *m = metrics_new(64);
	struct metrics_family *req, *reuse, *sessions, *temp, *op, *wait, *idle;
	struct buf out;
	int r = 0;

	r |= metrics_counter_new(m, "rl_http_requests_total", "HTTP requests by route and code.",
				 METRICS_LABELS("route", "code"), &req);
	r |= metrics_counter_new(m, "rl_lab_reuse_hits_total", "Labs reused.", NULL, &reuse);
	r |= metrics_gauge_new(m, "rl_sessions",
			       "Sessions by state (\"help\" with \\ and\nnewline).",
			       METRICS_LABELS("state"), &sessions);
	r |= metrics_gauge_new(m, "rl_values", "Awkward values.", METRICS_LABELS("name"), &temp);
	r |= metrics_histogram_new(m, "rl_lab_operation_seconds",
				   "Lab operations by kind and result.",
				   METRICS_LABELS("kind", "result"), buckets, 6, &op);
	r |= metrics_histogram_new(m, "rl_queue_wait_seconds", "Queue wait.", NULL, buckets, 6,
				   &wait);
	r |= metrics_gauge_new(m, "rl_idle", "A labelled metric without series.",
			       METRICS_LABELS("host"), &idle);
	r |= metrics_inc(req, METRICS_LABELS("GET /healthz", "204"));
	r |= metrics_add(req, METRICS_LABELS("POST /lab", "201"), 41);
	r |= metrics_inc(req, METRICS_LABELS("POST /lab", "201"));
	r |= metrics_add(reuse, NULL, 7);
	r |= metrics_set(sessions, METRICS_LABELS("ACTIVE"), 1);
	r |= metrics_set(sessions, METRICS_LABELS("WAITING"), 3);
	r |= metrics_set(temp, METRICS_LABELS("quote\"back\\slash\nnewline"), -2.5);
	r |= metrics_set(temp, METRICS_LABELS("unicode \xc3\xa4\xe2\x82\xac"), 0.1);
	r |= metrics_set(temp, METRICS_LABELS("big"), 1e300);
	r |= metrics_set(temp, METRICS_LABELS("tiny"), 5e-324);
	r |= metrics_set(temp, METRICS_LABELS("inf"), INFINITY);
	r |= metrics_set(temp, METRICS_LABELS("-inf"), -INFINITY);
	r |= metrics_set(temp, METRICS_LABELS(""), 12345678901234567.0);
	r |= metrics_observe(op, METRICS_LABELS("up", "ok"), 12.5);
	r |= metrics_observe(op, METRICS_LABELS("up", "ok"), 0.5);
	r |= metrics_observe(op, METRICS_LABELS("up", "ok"), 7200);
	r |= metrics_observe(op, METRICS_LABELS("down", "failed"), 0.005);
	r |= metrics_observe(wait, NULL, 0);
	r |= metrics_observe(wait, NULL, 2.5);
	buf_init(&out, 1 << 20);
	r |= metrics_render(m, &out);
	if (r != 0 || fwrite(out.data, 1, out.len, stdout) != out.len) {
		fprintf(stderr, "metrics_sample: failed (%d)\n", r);
		return 1;
	}
	buf_free(&out);
	metrics_free(m);
	return 0;
}

/* Unit tests: the Prometheus metrics registry and its text exposition (format 0.0.4). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/metrics.h"

static const char *render(struct metrics *m, struct buf *b)
{
	buf_free(b);
	buf_init(b, 1 << 20);
	assert_int_equal(metrics_render(m, b), 0);
	return buf_cstr(b);
}

static void test_counter_and_gauge_text(void **state)
{
	struct metrics *m = metrics_new(10);
	struct metrics_family *req, *up, *temp;
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(metrics_counter_new(m, "rl_http_requests_total",
					     "HTTP requests by route and code.",
					     METRICS_LABELS("route", "code"), &req),
			 0);
	assert_int_equal(metrics_gauge_new(m, "rl_up", "Whether the server is up.", NULL, &up), 0);
	assert_int_equal(metrics_gauge_new(m, "rl_temp",
					   "A gauge with labels\nand a \\ in its help.",
					   METRICS_LABELS("host"), &temp),
			 0);
	/* labelled metrics show no series before the first update; unlabelled ones show 0 */
	assert_string_equal(render(m, &b),
			    "# HELP rl_http_requests_total HTTP requests by route and code.\n"
			    "# TYPE rl_http_requests_total counter\n"
			    "# HELP rl_up Whether the server is up.\n"
			    "# TYPE rl_up gauge\n"
			    "rl_up 0\n"
			    "# HELP rl_temp A gauge with labels\\nand a \\\\ in its help.\n"
			    "# TYPE rl_temp gauge\n");
	assert_int_equal(metrics_inc(req, METRICS_LABELS("GET /healthz", "204")), 0);
	assert_int_equal(metrics_inc(req, METRICS_LABELS("POST /lab", "201")), 0);
	assert_int_equal(metrics_add(req, METRICS_LABELS("GET /healthz", "204"), 2), 0);
	assert_int_equal(metrics_set(up, NULL, 1), 0);
	assert_int_equal(metrics_set(temp, METRICS_LABELS("a\"b\\c\nd"), -1.5), 0);
	assert_int_equal(metrics_add(temp, METRICS_LABELS("x"), 0.1), 0);
	assert_int_equal(metrics_add(temp, METRICS_LABELS("x"), 0.2), 0);
	assert_int_equal(metrics_set(temp, METRICS_LABELS("big"), 1e21), 0);
	assert_int_equal(metrics_set(temp, METRICS_LABELS("inf"), INFINITY), 0);
	assert_int_equal(metrics_set(temp, METRICS_LABELS("\xc3\xa4"), 3), 0);
	assert_string_equal(render(m, &b),
			    "# HELP rl_http_requests_total HTTP requests by route and code.\n"
			    "# TYPE rl_http_requests_total counter\n"
			    "rl_http_requests_total{route=\"GET /healthz\",code=\"204\"} 3\n"
			    "rl_http_requests_total{route=\"POST /lab\",code=\"201\"} 1\n"
			    "# HELP rl_up Whether the server is up.\n"
			    "# TYPE rl_up gauge\n"
			    "rl_up 1\n"
			    "# HELP rl_temp A gauge with labels\\nand a \\\\ in its help.\n"
			    "# TYPE rl_temp gauge\n"
			    "rl_temp{host=\"a\\\"b\\\\c\\nd\"} -1.5\n"
			    "rl_temp{host=\"x\"} 0.30000000000000004\n"
			    "rl_temp{host=\"big\"} 1e+21\n"
			    "rl_temp{host=\"inf\"} +Inf\n"
			    "rl_temp{host=\"\xc3\xa4\"} 3\n");
	buf_free(&b);
	metrics_free(m);
}

static void test_histogram_text(void **state)
{
	static const double buckets[] = { 0.1, 1, 10 };
	struct metrics *m = metrics_new(10);
	struct metrics_family *h, *plain;
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(metrics_histogram_new(m, "rl_lab_op_seconds", "Lab operation durations.",
					       METRICS_LABELS("op"), buckets, 3, &h),
			 0);
	assert_int_equal(metrics_histogram_new(m, "rl_wait_seconds", "Queue wait.", NULL, buckets,
					       1, &plain),
			 0);
	assert_int_equal(metrics_observe(h, METRICS_LABELS("up"), 0.05), 0);
	assert_int_equal(metrics_observe(h, METRICS_LABELS("up"), 0.1), 0); /* le is inclusive */
	assert_int_equal(metrics_observe(h, METRICS_LABELS("up"), 5), 0);
	assert_int_equal(metrics_observe(h, METRICS_LABELS("up"), 100), 0);
	assert_int_equal(metrics_observe(h, METRICS_LABELS("down"), 2), 0);
	assert_int_equal(metrics_observe(plain, NULL, 0.25), 0);
	assert_string_equal(render(m, &b), "# HELP rl_lab_op_seconds Lab operation durations.\n"
					   "# TYPE rl_lab_op_seconds histogram\n"
					   "rl_lab_op_seconds_bucket{op=\"up\",le=\"0.1\"} 2\n"
					   "rl_lab_op_seconds_bucket{op=\"up\",le=\"1\"} 2\n"
					   "rl_lab_op_seconds_bucket{op=\"up\",le=\"10\"} 3\n"
					   "rl_lab_op_seconds_bucket{op=\"up\",le=\"+Inf\"} 4\n"
					   "rl_lab_op_seconds_sum{op=\"up\"} 105.15\n"
					   "rl_lab_op_seconds_count{op=\"up\"} 4\n"
					   "rl_lab_op_seconds_bucket{op=\"down\",le=\"0.1\"} 0\n"
					   "rl_lab_op_seconds_bucket{op=\"down\",le=\"1\"} 0\n"
					   "rl_lab_op_seconds_bucket{op=\"down\",le=\"10\"} 1\n"
					   "rl_lab_op_seconds_bucket{op=\"down\",le=\"+Inf\"} 1\n"
					   "rl_lab_op_seconds_sum{op=\"down\"} 2\n"
					   "rl_lab_op_seconds_count{op=\"down\"} 1\n"
					   "# HELP rl_wait_seconds Queue wait.\n"
					   "# TYPE rl_wait_seconds histogram\n"
					   "rl_wait_seconds_bucket{le=\"0.1\"} 0\n"
					   "rl_wait_seconds_bucket{le=\"+Inf\"} 1\n"
					   "rl_wait_seconds_sum 0.25\n"
					   "rl_wait_seconds_count 1\n");
	buf_free(&b);
	metrics_free(m);
}

static void test_label_sets_are_bounded(void **state)
{
	struct metrics *m = metrics_new(3);
	struct metrics_family *c;
	struct buf b;
	char v[16];
	int i;

	buf_init(&b, 0);
	assert_int_equal(metrics_counter_new(m, "rl_x_total", "x", METRICS_LABELS("v"), &c), 0);
	for (i = 0; i < 3; i++) {
		snprintf(v, sizeof(v), "%d", i);
		assert_int_equal(metrics_inc(c, METRICS_LABELS(v)), 0);
	}
	/* a fourth combination is refused and counted; the known ones still count */
	for (i = 3; i < 1000; i++) {
		snprintf(v, sizeof(v), "%d", i);
		assert_int_equal(metrics_inc(c, METRICS_LABELS(v)), -ENOSPC);
	}
	assert_int_equal(metrics_dropped(c), 997);
	assert_int_equal(metrics_inc(c, METRICS_LABELS("1")), 0);
	assert_string_equal(
		render(m, &b),
		"# HELP rl_x_total x\n# TYPE rl_x_total counter\n"
		"rl_x_total{v=\"0\"} 1\nrl_x_total{v=\"1\"} 2\nrl_x_total{v=\"2\"} 1\n");
	/* removing one makes room again */
	assert_int_equal(metrics_remove(c, METRICS_LABELS("0")), 0);
	assert_int_equal(metrics_remove(c, METRICS_LABELS("0")), -ENOENT);
	assert_int_equal(metrics_inc(c, METRICS_LABELS("new")), 0);
	assert_int_equal(metrics_inc(c, METRICS_LABELS("newer")), -ENOSPC);
	assert_string_equal(
		render(m, &b),
		"# HELP rl_x_total x\n# TYPE rl_x_total counter\n"
		"rl_x_total{v=\"1\"} 2\nrl_x_total{v=\"2\"} 1\nrl_x_total{v=\"new\"} 1\n");
	metrics_clear(c);
	assert_string_equal(render(m, &b), "# HELP rl_x_total x\n# TYPE rl_x_total counter\n");
	buf_free(&b);
	metrics_free(m);
}

static void test_bad_updates(void **state)
{
	static const double buckets[] = { 1 };
	struct metrics *m = metrics_new(10);
	struct metrics_family *c, *g, *h;
	char long_value[METRICS_LABEL_VALUE_MAX + 2];
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(metrics_counter_new(m, "rl_c_total", "c", METRICS_LABELS("a", "b"), &c),
			 0);
	assert_int_equal(metrics_gauge_new(m, "rl_g", "g", NULL, &g), 0);
	assert_int_equal(metrics_histogram_new(m, "rl_h", "h", NULL, buckets, 1, &h), 0);
	assert_int_equal(metrics_inc(c, METRICS_LABELS("only-one")), -EINVAL);
	assert_int_equal(metrics_inc(c, NULL), -EINVAL);
	assert_int_equal(metrics_inc(c, METRICS_LABELS("1", "2", "3")), -EINVAL);
	assert_int_equal(metrics_add(c, METRICS_LABELS("1", "2"), -1), -EINVAL);
	assert_int_equal(metrics_set(c, METRICS_LABELS("1", "2"), 5), -EINVAL);
	assert_int_equal(metrics_inc(c, METRICS_LABELS("\xff", "2")), -EINVAL);
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	assert_int_equal(metrics_inc(c, METRICS_LABELS(long_value, "2")), -EINVAL);
	long_value[METRICS_LABEL_VALUE_MAX] = '\0';
	assert_int_equal(metrics_inc(c, METRICS_LABELS(long_value, "2")), 0);
	assert_int_equal(metrics_set(g, NULL, NAN), -EINVAL);
	assert_int_equal(metrics_set(g, METRICS_LABELS("x"), 1), -EINVAL);
	assert_int_equal(metrics_observe(g, NULL, 1), -EINVAL);
	assert_int_equal(metrics_add(h, NULL, 1), -EINVAL);
	assert_int_equal(metrics_observe(h, NULL, NAN), -EINVAL);
	assert_int_equal(metrics_add(g, NULL, -2), 0); /* gauges go down */
	assert_int_equal(metrics_inc(g, NULL), 0);
	assert_int_equal(metrics_remove(g, NULL), -EINVAL);
	render(m, &b);
	assert_non_null(strstr(buf_cstr(&b), "\nrl_g -1\n"));
	buf_free(&b);
	metrics_free(m);
}

static void test_bad_registrations(void **state)
{
	static const double good[] = { 1, 2 }, unsorted[] = { 2, 1 }, inf[] = { 1, INFINITY };
	static const double many[METRICS_BUCKETS_MAX + 1] = { 0 };
	struct metrics *m = metrics_new(10);
	struct metrics_family *f;

	assert_int_equal(metrics_counter_new(m, "rl_requests", "no _total", NULL, &f), -EINVAL);
	assert_int_equal(metrics_gauge_new(m, "1abc", "x", NULL, &f), -EINVAL);
	assert_int_equal(metrics_gauge_new(m, "a-b", "x", NULL, &f), -EINVAL);
	assert_int_equal(metrics_gauge_new(m, "", "x", NULL, &f), -EINVAL);
	assert_int_equal(metrics_gauge_new(m, "ok", NULL, NULL, &f), -EINVAL);
	assert_int_equal(metrics_gauge_new(m, "ok", "bad \xff help", NULL, &f), -EINVAL);
	assert_int_equal(metrics_gauge_new(m, "ok", "x", METRICS_LABELS("a:b"), &f), -EINVAL);
	assert_int_equal(metrics_gauge_new(m, "ok", "x", METRICS_LABELS("__name"), &f), -EINVAL);
	assert_int_equal(metrics_gauge_new(m, "ok", "x", METRICS_LABELS("a", "a"), &f), -EINVAL);
	assert_int_equal(
		metrics_gauge_new(m, "ok", "x",
				  METRICS_LABELS("a", "b", "c", "d", "e", "f", "g", "h", "i"), &f),
		-E2BIG);
	assert_int_equal(metrics_histogram_new(m, "h", "x", METRICS_LABELS("le"), good, 2, &f),
			 -EINVAL);
	assert_int_equal(metrics_histogram_new(m, "h", "x", NULL, unsorted, 2, &f), -EINVAL);
	assert_int_equal(metrics_histogram_new(m, "h", "x", NULL, inf, 2, &f), -EINVAL);
	assert_int_equal(metrics_histogram_new(m, "h", "x", NULL, good, 0, &f), -EINVAL);
	assert_int_equal(
		metrics_histogram_new(m, "h", "x", NULL, many, METRICS_BUCKETS_MAX + 1, &f),
		-E2BIG);
	/* names, including those a histogram renders, are unique */
	assert_int_equal(metrics_gauge_new(m, "ok", "x", METRICS_LABELS("le"), &f), 0);
	assert_int_equal(metrics_gauge_new(m, "ok", "x", NULL, &f), -EEXIST);
	assert_int_equal(metrics_histogram_new(m, "h", "x", NULL, good, 2, &f), 0);
	assert_int_equal(metrics_gauge_new(m, "h_count", "x", NULL, &f), -EEXIST);
	assert_int_equal(metrics_counter_new(m, "h_bucket_total", "x", NULL, &f), 0);
	assert_int_equal(metrics_gauge_new(m, "g_sum", "x", NULL, &f), 0);
	assert_int_equal(metrics_histogram_new(m, "g", "x", NULL, good, 2, &f), -EEXIST);
	metrics_free(m);
	metrics_free(NULL);
}

static void collect(struct metrics *m, void *ud)
{
	struct metrics_family *g = ud;

	metrics_clear(g);
	(void)metrics_set(g, METRICS_LABELS("ACTIVE"), 1);
}

static void test_collect_and_bounded_output(void **state)
{
	struct metrics *m = metrics_new(10);
	struct metrics_family *g;
	struct buf b;

	assert_int_equal(metrics_gauge_new(m, "rl_sessions", "Sessions by state.",
					   METRICS_LABELS("state"), &g),
			 0);
	assert_int_equal(metrics_set(g, METRICS_LABELS("WAITING"), 4), 0);
	metrics_set_collect(m, collect, g);
	buf_init(&b, 0);
	assert_string_equal(render(m, &b),
			    "# HELP rl_sessions Sessions by state.\n"
			    "# TYPE rl_sessions gauge\nrl_sessions{state=\"ACTIVE\"} 1\n");
	/* an output buffer that is too small says so */
	buf_free(&b);
	buf_init(&b, 40);
	assert_int_equal(metrics_render(m, &b), -E2BIG);
	assert_true(b.len <= 40);
	buf_free(&b);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_and_gauge_text),
		cmocka_unit_test(test_histogram_text),
		cmocka_unit_test(test_label_sets_are_bounded),
		cmocka_unit_test(test_bad_updates),
		cmocka_unit_test(test_bad_registrations),
		cmocka_unit_test(test_collect_and_bounded_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: the session queue (FIFO, positions, promotion, staleness) and the lab decision
 * tree, driven directly (no I/O). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lab.h"
#include "queue.h"

static void make_id(char *out, int i)
{
	snprintf(out, SESSION_ID_LEN + 1, "00000000-0000-4000-8000-%012d", i);
}

static void test_fifo_and_promotion(void **state)
{
	struct queue q;
	struct session *s[3];
	char id[SESSION_ID_LEN + 1];
	int i;

	queue_init(&q);
	for (i = 0; i < 3; i++) {
		make_id(id, i);
		s[i] = queue_add(&q, id, 1000, 1.5);
		assert_non_null(s[i]);
		assert_int_equal(s[i]->state, SESSION_WAITING);
	}
	assert_ptr_equal(queue_promote(&q), s[0]);
	assert_null(queue_promote(&q)); /* head already ACTIVE */
	assert_int_equal(queue_position(&q, s[2]), 2);
	make_id(id, 1);
	assert_ptr_equal(queue_find(&q, id), s[1]);
	assert_null(queue_find(&q, "nope"));
	assert_null(queue_find(&q, ""));
	queue_remove(&q, s[0]);
	assert_ptr_equal(queue_head(&q), s[1]);
	assert_int_equal(queue_position(&q, s[2]), 1);
	assert_ptr_equal(queue_promote(&q), s[1]);
	assert_int_equal(queue_length(&q), 2);
	queue_free(&q);
}

/* Positions stay exact across many adds/removes (Fenwick renumbering included). */
static void test_positions_against_model(void **state)
{
	enum { N = 5000 };
	struct queue q;
	struct session **all = calloc(N, sizeof(*all));
	int *alive = calloc(N, sizeof(*alive));
	char id[SESSION_ID_LEN + 1];
	int i, j, removed = 0;

	queue_init(&q);
	for (i = 0; i < N; i++) {
		make_id(id, i);
		all[i] = queue_add(&q, id, 0, 0);
		alive[i] = 1;
		/* remove an older one now and then so tickets run out and get renumbered */
		if (i % 3 == 2) {
			j = (i * 7919) % (i + 1);
			if (alive[j]) {
				queue_remove(&q, all[j]);
				alive[j] = 0;
				removed++;
			}
		}
	}
	assert_int_equal(queue_length(&q), N - removed);
	for (i = 0, j = 0; i < N; i++) {
		if (!alive[i])
			continue;
		assert_int_equal(queue_position(&q, all[i]), j);
		j++;
	}
	queue_free(&q);
	free(all);
	free(alive);
}

static void test_stale_rules(void **state)
{
	struct session s = { .state = SESSION_WAITING, .last_seen = 1000 };

	assert_false(queue_is_stale(&s, 1000 + 600, 300, 600)); /* strict '>' */
	assert_true(queue_is_stale(&s, 1000 + 601, 300, 600));
	s.state = SESSION_ACTIVE;
	assert_false(queue_is_stale(&s, 1000 + 300, 300, 600));
	assert_true(queue_is_stale(&s, 1000 + 301, 300, 600));
	s.busy = 1; /* a lab operation is running for it */
	assert_false(queue_is_stale(&s, 1000 + 100000, 300, 600));
	s.busy = 0;
	assert_false(queue_is_stale(&s, 10, 300, 600)); /* clock before last_seen */
}

static const char H1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char H2[] = "2222222222222222222222222222222222222222222222222222222222222222";

static void test_decision_tree(void **state)
{
	struct lab lab;
	json_t *st;

	lab_init(&lab);
	assert_int_equal(lab_decide(&lab, H1, true), LAB_START);
	assert_int_equal(lab_decide(&lab, H1, false), LAB_START);
	lab_set_running(&lab, "/tmp/u/t.yml", "t.yml", H1, "/tmp/w", "/tmp/u", json_array());
	assert_int_equal(lab.ref, 1);
	assert_int_equal(lab_decide(&lab, H1, true), LAB_ATTACH);
	assert_int_equal(lab_decide(&lab, H1, false), LAB_BUSY);
	assert_int_equal(lab_decide(&lab, H2, true), LAB_BUSY);
	assert_int_equal(lab_attach(&lab), 2);
	assert_false(lab_release(&lab));
	assert_false(lab_release(&lab));
	assert_int_equal(lab.ref, 0);
	assert_true(lab_release(&lab)); /* underflow is reported and clamped */
	assert_int_equal(lab.ref, 0);
	assert_int_equal(lab_decide(&lab, H1, true), LAB_ATTACH);
	assert_int_equal(lab_decide(&lab, H1, false), LAB_RESTART_EXCLUSIVE);
	assert_int_equal(lab_decide(&lab, H2, false), LAB_SWITCH);
	assert_int_equal(lab_decide(&lab, H2, true), LAB_SWITCH);
	st = lab_status_json(&lab, true);
	assert_true(json_is_true(json_object_get(st, "running")));
	assert_string_equal(json_string_value(json_object_get(st, "topology")), "/tmp/u/t.yml");
	assert_true(json_is_null(json_object_get(st, "netlab_status")));
	json_decref(st);
	lab_clear(&lab);
	st = lab_status_json(&lab, true);
	assert_true(json_is_false(json_object_get(st, "running")));
	assert_true(json_is_null(json_object_get(st, "topology")));
	assert_int_equal(json_integer_value(json_object_get(st, "ref_count")), 0);
	json_decref(st);
	lab_clear(&lab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_and_promotion),
		cmocka_unit_test(test_positions_against_model),
		cmocka_unit_test(test_stale_rules),
		cmocka_unit_test(test_decision_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

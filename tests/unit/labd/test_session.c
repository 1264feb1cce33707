/* Unit tests: sessions and the queue (session.c) — FIFO within a priority, priorities first,
 * positions against a model, promotion, ended-session memory, staleness, wait estimates. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

static void make_id(char *out, int i)
{
	snprintf(out, SESSION_ID_LEN + 1, "00000000-0000-4000-8000-%012u", (unsigned)i);
}

static struct session *add(struct sessions *ss, int i, int prio)
{
	char id[SESSION_ID_LEN + 1], handle[SESSION_HANDLE_LEN + 1];

	make_id(id, i);
	snprintf(handle, sizeof(handle), "s-%08u", (unsigned)i % 100000000u);
	return sessions_add(ss, id, handle, prio, NULL, 1000, 1.5);
}

static void test_fifo_and_promotion(void **state)
{
	struct sessions ss;
	struct session *s[3];
	char id[SESSION_ID_LEN + 1];
	int i;

	sessions_init(&ss);
	for (i = 0; i < 3; i++) {
		s[i] = add(&ss, i, 0);
		assert_non_null(s[i]);
		assert_int_equal(s[i]->state, SESSION_WAITING);
		assert_int_equal(sessions_position(&ss, s[i]), i);
	}
	assert_null(add(&ss, 1, 0)); /* duplicate id */
	assert_ptr_equal(sessions_next_waiting(&ss), s[0]);
	sessions_promote(&ss, s[0], 2000);
	assert_int_equal(sessions_position(&ss, s[0]), 0);
	assert_int_equal(sessions_position(&ss, s[2]), 2); /* counts the ACTIVE one, as the FIFO */
	make_id(id, 1);
	assert_ptr_equal(sessions_find(&ss, id), s[1]);
	assert_ptr_equal(sessions_find_handle(&ss, "s-00000001"), s[1]);
	assert_null(sessions_find(&ss, "nope"));
	assert_null(sessions_find(&ss, ""));
	sessions_remove(&ss, s[0], SESSION_END_DELETED, 3000);
	assert_int_equal(sessions_position(&ss, s[2]), 1);
	assert_ptr_equal(sessions_next_waiting(&ss), s[1]);
	assert_int_equal(sessions_count(&ss), 2);
	sessions_free(&ss);
}

static void test_priorities(void **state)
{
	struct sessions ss;
	struct session *low, *mid1, *high, *mid2, *it;
	const struct session *order[4];
	int n = 0;

	sessions_init(&ss);
	low = add(&ss, 1, -5);
	mid1 = add(&ss, 2, 0);
	high = add(&ss, 3, 10);
	mid2 = add(&ss, 4, 0);
	/* higher first, FIFO within a priority */
	assert_int_equal(sessions_position(&ss, high), 0);
	assert_int_equal(sessions_position(&ss, mid1), 1);
	assert_int_equal(sessions_position(&ss, mid2), 2);
	assert_int_equal(sessions_position(&ss, low), 3);
	SESSIONS_FOREACH(it, &ss)
	order[n++] = it;
	assert_int_equal(n, 4);
	assert_ptr_equal(order[0], high);
	assert_ptr_equal(order[1], mid1);
	assert_ptr_equal(order[2], mid2);
	assert_ptr_equal(order[3], low);
	sessions_promote(&ss, sessions_next_waiting(&ss), 1);
	assert_int_equal(high->state, SESSION_ACTIVE);
	assert_int_equal(sessions_position(&ss, mid1), 1);
	sessions_remove(&ss, mid1, SESSION_END_DELETED, 2);
	assert_int_equal(sessions_position(&ss, mid2), 1);
	assert_int_equal(sessions_position(&ss, low), 2);
	sessions_remove(&ss, mid2, SESSION_END_DELETED, 2); /* the 0 level goes away */
	assert_int_equal(ss.n_levels, 1);
	assert_int_equal(sessions_position(&ss, low), 1);
	sessions_free(&ss);
}

/* Positions stay exact across many adds/removes (Fenwick renumbering included). */
static void test_positions_against_model(void **state)
{
	enum {
		N = 5000
	};
	struct sessions ss;
	struct session **all = calloc(N, sizeof(*all));
	int *alive = calloc(N, sizeof(*alive));
	int i, j, removed = 0;

	sessions_init(&ss);
	for (i = 0; i < N; i++) {
		all[i] = add(&ss, i, 0);
		alive[i] = 1;
		if (i % 3 == 2) {
			j = (i * 7919) % (i + 1);
			if (alive[j]) {
				sessions_remove(&ss, all[j], SESSION_END_REAPED, 5);
				alive[j] = 0;
				removed++;
			}
		}
	}
	assert_int_equal(sessions_count(&ss), N - removed);
	for (i = 0, j = 0; i < N; i++) {
		if (!alive[i])
			continue;
		assert_int_equal(sessions_position(&ss, all[i]), j);
		j++;
	}
	sessions_free(&ss);
	free(all);
	free(alive);
}

static void test_ended_memory(void **state)
{
	struct sessions ss;
	struct session *s;
	enum session_end why;
	char id[SESSION_ID_LEN + 1];
	int i;

	sessions_init(&ss);
	s = add(&ss, 1, 0);
	make_id(id, 1);
	sessions_remove(&ss, s, SESSION_END_MAX_WAIT, 1000);
	assert_int_equal(sessions_ended_reason(&ss, id, 2000, &why), 0);
	assert_int_equal(why, SESSION_END_MAX_WAIT);
	assert_string_equal(session_end_name(why), "max_wait");
	/* ids and handles of ended sessions are never handed out again */
	assert_true(sessions_name_taken(&ss, id, "s-zzzzzzzz"));
	assert_true(sessions_name_taken(&ss, "x", "s-00000001"));
	/* forgotten after an hour */
	assert_int_equal(sessions_ended_reason(&ss, id, 1000 + SESSION_ENDED_USEC + 1, &why),
			 -ENOENT);
	/* bounded: the oldest go first */
	for (i = 10; i < 10 + SESSION_ENDED_MAX + 5; i++)
		sessions_remove(&ss, add(&ss, i, 0), SESSION_END_DELETED, 5000000000ULL);
	make_id(id, 10);
	assert_int_equal(sessions_ended_reason(&ss, id, 5000000000ULL, &why), -ENOENT);
	make_id(id, 10 + SESSION_ENDED_MAX + 4);
	assert_int_equal(sessions_ended_reason(&ss, id, 5000000000ULL, &why), 0);
	sessions_free(&ss);
}

static void test_stale_rules(void **state)
{
	struct session s = { .state = SESSION_WAITING, .last_seen = 1000 };

	assert_false(session_is_stale(&s, 1000 + 600, 300, 600)); /* strict '>' */
	assert_true(session_is_stale(&s, 1000 + 601, 300, 600));
	s.state = SESSION_ACTIVE;
	assert_false(session_is_stale(&s, 1000 + 300, 300, 600));
	assert_true(session_is_stale(&s, 1000 + 301, 300, 600));
	s.busy = 1; /* a lab operation is running for it */
	assert_false(session_is_stale(&s, 1000 + 100000, 300, 600));
	s.busy = 0;
	assert_false(session_is_stale(&s, 10, 300, 600)); /* clock before last_seen */
}

static void test_wait_estimates(void **state)
{
	struct sessions ss;
	struct session *a, *b;
	uint64_t w[4];

	sessions_init(&ss);
	assert_int_equal(sessions_estimate_waits(&ss, 2, 0, w, 1), -ENODATA);
	/* observed holds: 10 s and 30 s -> mean 20 s */
	a = add(&ss, 1, 0);
	sessions_promote(&ss, a, 0);
	sessions_remove(&ss, a, SESSION_END_DELETED, 10000000);
	a = add(&ss, 2, 0);
	sessions_promote(&ss, a, 0);
	sessions_remove(&ss, a, SESSION_END_DELETED, 30000000);
	assert_int_equal(sessions_mean_hold(&ss), 20000000);
	/* two slots: one ACTIVE for 5 s, one free; two WAITING */
	a = add(&ss, 3, 0);
	sessions_promote(&ss, a, 100000000);
	b = add(&ss, 4, 0);
	add(&ss, 5, 0);
	assert_int_equal(sessions_estimate_waits(&ss, 2, 105000000, w, 3), 0);
	assert_int_equal(w[0], 0);        /* the free slot */
	assert_int_equal(w[1], 15000000); /* the ACTIVE one ends in ~15 s */
	assert_int_equal(w[2], 20000000); /* a new session: after the first waiter's hold */
	(void)b;
	sessions_free(&ss);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_and_promotion),
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_positions_against_model),
		cmocka_unit_test(test_ended_memory),
		cmocka_unit_test(test_stale_rules),
		cmocka_unit_test(test_wait_estimates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

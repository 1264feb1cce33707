/* Unit tests: the lab decision tree over slots (slots.c) — the original's tree for a
 * session's own lab, the warm pool, free slots, LRU replacement (prewarmed labs last),
 * waiting while slots settle or for a held lab about to be let go; refcounts and the status
 * JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"
#include "slots.h"

static const char H1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char H2[] = "2222222222222222222222222222222222222222222222222222222222222222";
static const char H3[] = "3333333333333333333333333333333333333333333333333333333333333333";

static struct session sa, sb;

static void up(struct lab *lab, const char *hash, struct session *holder, uint64_t now)
{
	lab_set_up(lab, "/tmp/u/t.yml", "t.yml", hash, "/tmp/w", "/tmp/u", json_array(), holder,
		   now);
}

static void test_own_lab_tree(void **state)
{
	struct slots sl;
	struct lab *own;
	json_t *st;

	slots_init(&sl, 1, NULL);
	assert_string_equal(sl.labs[0].instance, "default");
	assert_int_equal(slots_decide(&sl, NULL, H1, true, NULL).decision, SLOT_START);
	own = &sl.labs[0];
	up(own, H1, &sa, 1);
	assert_int_equal(own->ref, 1);
	assert_int_equal(slots_decide(&sl, own, H1, true, NULL).decision, SLOT_ATTACH);
	assert_int_equal(slots_decide(&sl, own, H1, false, NULL).decision, SLOT_BUSY);
	assert_int_equal(slots_decide(&sl, own, H2, true, NULL).decision, SLOT_BUSY);
	assert_int_equal(lab_attach(own), 2);
	assert_false(lab_release(own));
	assert_false(lab_release(own));
	assert_true(lab_release(own)); /* underflow is reported and clamped */
	assert_int_equal(own->ref, 0);
	assert_int_equal(slots_decide(&sl, own, H1, false, NULL).decision, SLOT_RESTART);
	assert_int_equal(slots_decide(&sl, own, H2, false, NULL).decision, SLOT_SWITCH);
	assert_int_equal(slots_decide(&sl, own, H2, true, NULL).decision, SLOT_SWITCH);
	st = lab_status_json(own, true);
	assert_true(json_is_true(json_object_get(st, "running")));
	assert_string_equal(json_string_value(json_object_get(st, "topology")), "/tmp/u/t.yml");
	assert_true(json_is_null(json_object_get(st, "netlab_status")));
	json_decref(st);
	lab_clear(own);
	st = lab_status_json(own, true);
	assert_true(json_is_false(json_object_get(st, "running")));
	assert_true(json_is_null(json_object_get(st, "topology")));
	json_decref(st);
	st = lab_status_json(NULL, true);
	assert_true(json_is_false(json_object_get(st, "running")));
	json_decref(st);
	slots_free(&sl);
}

static void test_pool_decisions(void **state)
{
	static const int mlids[] = { 7, 9, 11 };
	struct slots sl;
	struct slot_plan p;

	slots_init(&sl, 3, mlids);
	assert_string_equal(sl.labs[1].instance, "9");
	up(&sl.labs[0], H1, &sa, 10); /* held: never shared */
	p = slots_decide(&sl, NULL, H1, true, NULL);
	assert_int_equal(p.decision, SLOT_START);
	assert_ptr_equal(p.lab, &sl.labs[1]);
	up(&sl.labs[1], H2, NULL, 20); /* idle */
	up(&sl.labs[2], H1, NULL, 30); /* idle */
	lab_set_idle(&sl.labs[1], 20, 0);
	lab_set_idle(&sl.labs[2], 30, 0);
	/* warm: an idle lab with the topology is taken over */
	p = slots_decide(&sl, NULL, H1, true, NULL);
	assert_int_equal(p.decision, SLOT_TAKE);
	assert_ptr_equal(p.lab, &sl.labs[2]);
	/* reuse=false never takes a warm lab: it replaces an idle one, here the second copy of
	 * H1 (slot 2) before the only H2, although that one is less recently used */
	p = slots_decide(&sl, NULL, H1, false, NULL);
	assert_int_equal(p.decision, SLOT_REPLACE);
	assert_ptr_equal(p.lab, &sl.labs[2]);
	/* without copies, the least recently used; prewarmed labs last */
	memcpy(sl.labs[0].hash, H3, sizeof(H3));
	p = slots_decide(&sl, NULL, H1, false, NULL);
	assert_ptr_equal(p.lab, &sl.labs[1]);
	sl.labs[1].pinned = true;
	p = slots_decide(&sl, NULL, H1, false, NULL);
	assert_ptr_equal(p.lab, &sl.labs[2]);
	/* a session whose own idle lab is another topology takes the warm one and lets go */
	sl.labs[0].ref = 0;
	p = slots_decide(&sl, &sl.labs[0], H2, true, NULL);
	assert_int_equal(p.decision, SLOT_TAKE);
	assert_ptr_equal(p.lab, &sl.labs[1]);
	assert_ptr_equal(p.leave, &sl.labs[0]);
	/* nothing usable while the others settle */
	sl.labs[1].state = LAB_STOPPING;
	sl.labs[2].state = LAB_STARTING;
	sl.labs[2].holder = &sb;
	assert_int_equal(slots_decide(&sl, NULL, H2, true, NULL).decision, SLOT_WAIT);
	assert_int_equal(slots_empty(&sl), 0);
	slots_free(&sl);
}

/* A held lab with the topology is worth waiting for only while its holder is expected to
 * let go sooner than a new lab comes up, and not overdue; without observations, never. */
static void test_wait_for_a_held_lab(void **state)
{
	static const int mlids[] = { 1, 2 };
	const uint64_t s = 1000000;
	struct slot_hints h = { .up_cost = 2 * s, .mean_hold = 10 * s };
	struct slots sl;
	struct slot_plan p;

	slots_init(&sl, 2, mlids);
	up(&sl.labs[0], H1, &sa, 0);  /* held */
	up(&sl.labs[1], H2, NULL, 0); /* idle: the one a replacement would take */
	lab_set_idle(&sl.labs[1], 0, 0);
	sl.labs[0].held_since = 100 * s;
	/* just promoted: 10 s to go, a new lab takes 2 s: replace */
	h.now = 101 * s;
	assert_int_equal(slots_decide(&sl, NULL, H1, true, &h).decision, SLOT_REPLACE);
	/* 9 s in: about 1 s to go: wait, and decide again once it is overdue (100+10+2) */
	h.now = 109 * s;
	p = slots_decide(&sl, NULL, H1, true, &h);
	assert_int_equal(p.decision, SLOT_WAIT);
	assert_true(p.recheck_at == 112 * s);
	assert_ptr_equal(p.lab, &sl.labs[0]);
	/* past its mean hold but not overdue yet: still wait */
	h.now = 111 * s;
	assert_int_equal(slots_decide(&sl, NULL, H1, true, &h).decision, SLOT_WAIT);
	/* overdue: replace after all */
	h.now = 112 * s;
	assert_int_equal(slots_decide(&sl, NULL, H1, true, &h).decision, SLOT_REPLACE);
	/* nothing observed, reuse=false, or the held lab is another topology: the tree alone */
	h.now = 109 * s;
	assert_int_equal(slots_decide(&sl, NULL, H1, true, NULL).decision, SLOT_REPLACE);
	h.up_cost = 0;
	assert_int_equal(slots_decide(&sl, NULL, H1, true, &h).decision, SLOT_REPLACE);
	h.up_cost = 2 * s;
	assert_int_equal(slots_decide(&sl, NULL, H1, false, &h).decision, SLOT_REPLACE);
	sl.labs[1].state = LAB_EMPTY; /* a free slot is used at once, no waiting */
	assert_int_equal(slots_decide(&sl, NULL, H1, true, &h).decision, SLOT_START);
	/* a lab of the topology still starting for another session: back at start + up + hold
	 * (100 + 2 + 10); worth it once that is less than a new lab away */
	up(&sl.labs[1], H2, NULL, 0);
	lab_set_idle(&sl.labs[1], 0, 0);
	sl.labs[0].state = LAB_STARTING;
	sl.labs[0].held_since = 0;
	sl.labs[0].starting_since = 100 * s;
	h.now = 101 * s;
	assert_int_equal(slots_decide(&sl, NULL, H1, true, &h).decision, SLOT_REPLACE);
	h.now = 111 * s;
	p = slots_decide(&sl, NULL, H1, true, &h);
	assert_int_equal(p.decision, SLOT_WAIT);
	assert_true(p.recheck_at == 114 * s);
	slots_free(&sl);
}

/* A replacement takes a second copy of a topology before the only one, even if the only
 * one has been idle longer. */
static void test_replace_a_copy_first(void **state)
{
	static const int mlids[] = { 1, 2, 3 };
	struct slots sl;
	struct slot_plan p;

	slots_init(&sl, 3, mlids);
	up(&sl.labs[0], H1, NULL, 0);
	up(&sl.labs[1], H2, NULL, 0);
	up(&sl.labs[2], H2, &sa, 0);
	lab_set_idle(&sl.labs[0], 10, 0); /* idle longest: LRU alone would take it */
	lab_set_idle(&sl.labs[1], 20, 0); /* a copy of slot 2's topology */
	p = slots_decide(&sl, NULL, H3, true, NULL);
	assert_int_equal(p.decision, SLOT_REPLACE);
	assert_ptr_equal(p.lab, &sl.labs[1]);
	/* without copies, least recently used */
	sl.labs[2].hash[0] = '3';
	p = slots_decide(&sl, NULL, H3, true, NULL);
	assert_ptr_equal(p.lab, &sl.labs[0]);
	slots_free(&sl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_lab_tree),
		cmocka_unit_test(test_pool_decisions),
		cmocka_unit_test(test_wait_for_a_held_lab),
		cmocka_unit_test(test_replace_a_copy_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

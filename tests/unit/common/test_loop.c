/* Unit tests: the loop's periodic re-arming (skipping runs a long job overran). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/loop.h"

static int never(sd_event_source *s, uint64_t usec, void *userdata)
{
	return 0;
}

/* The source's due time is `want` (give or take the clock moving on during the call). */
static void assert_due(sd_event_source *s, uint64_t want)
{
	uint64_t t = 0;

	assert_int_equal(sd_event_source_get_time(s, &t), 0);
	assert_true(t >= want && t < want + 50 * USEC_PER_MSEC);
}

static void test_timer_arm_next(void **state)
{
	const uint64_t sec = USEC_PER_SEC;
	sd_event_source *s = NULL;
	sd_event *e = NULL;
	uint64_t now;

	assert_int_equal(sd_event_new(&e), 0);
	now = loop_now(e); /* no iteration yet: the clock itself */
	/* a run that started 1 s ago, every 5 s: due 4 s from now */
	assert_int_equal(loop_timer_arm_next(e, &s, now - sec, 5 * sec, never, NULL), 0);
	assert_due(s, now + 4 * sec);
	/* a run that started 12 s ago took longer than 5 s: the runs at +5 s and +10 s are
	 * skipped, the next one is at +15 s */
	assert_int_equal(loop_timer_arm_next(e, &s, now - 12 * sec, 5 * sec, never, NULL), 0);
	assert_due(s, now + 3 * sec);
	/* exactly on a boundary: the next one */
	assert_int_equal(loop_timer_arm_next(e, &s, now - 10 * sec, 5 * sec, never, NULL), 0);
	assert_due(s, now + 5 * sec);
	assert_int_equal(loop_timer_arm_next(e, &s, now - sec, 0, never, NULL), 0);
	assert_due(s, now);
	sd_event_source_disable_unref(s);
	sd_event_unref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_arm_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

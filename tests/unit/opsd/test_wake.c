/* Unit tests for wake.c: the wake-and-wait state machine on a real sd-event loop, with fake
 * services (-Wl,--wrap): worker jobs run when the test pumps them, packets and reachability
 * checks are answered by the test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/loop.h"
#include "common/workq.h"
#include "opsd.h"
#include "reach.h"
#include "wake.h"
#include "wol.h"

/* ---- fake services ------------------------------------------------------------------- */

struct job {
	workq_work_fn work;
	workq_done_fn done;
	void *arg;
};

static struct {
	struct job jobs[16];
	size_t n_jobs;
	int submit_result;
	int sends, checks;
	int send_result;
	int up_at_check; /* the check that finds the host up (1-based); 0: never */
	char last_target[64];
	double last_timeout;
	bool finished;
	struct wake_outcome out;
} fk;

int __wrap_workq_submit(struct workq *q, workq_work_fn work, workq_done_fn done, void *arg);
int __wrap_workq_submit(struct workq *q, workq_work_fn work, workq_done_fn done, void *arg)
{
	if (fk.submit_result < 0)
		return fk.submit_result;
	assert_true(fk.n_jobs < sizeof(fk.jobs) / sizeof(fk.jobs[0]));
	fk.jobs[fk.n_jobs++] = (struct job){ work, done, arg };
	return 0;
}

int __wrap_wol_send(const uint8_t mac[6], const char *broadcast, unsigned port);
int __wrap_wol_send(const uint8_t mac[6], const char *broadcast, unsigned port)
{
	fk.sends++;
	return fk.send_result;
}

int __wrap_reach_check(enum reach_method method, unsigned port, const char *target,
		       double timeout_s);
int __wrap_reach_check(enum reach_method method, unsigned port, const char *target,
		       double timeout_s)
{
	fk.checks++;
	snprintf(fk.last_target, sizeof(fk.last_target), "%s", target ? target : "");
	fk.last_timeout = timeout_s;
	return fk.up_at_check && fk.checks >= fk.up_at_check ? 1 : 0;
}

static void wake_done(void *userdata, const struct wake_outcome *out)
{
	fk.finished = true;
	fk.out = *out;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static struct opsd o;

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	memset(&o, 0, sizeof(o));
	assert_int_equal(sd_event_new(&o.event), 0);
	o.netq = (struct workq *)&fk; /* never dereferenced: workq_submit is the fake */
	return 0;
}

static int teardown(void **state)
{
	sd_event_unref(o.event);
	assert_int_equal(o.busy, 0);
	return 0;
}

/* Run worker jobs (work, then done, as the loop would) and loop events until the wake ends;
 * each iteration makes progress, so the cap only guards against a hang. */
static void drive(void)
{
	int i;

	for (i = 0; i < 10000 && !fk.finished; i++) {
		if (fk.n_jobs > 0) {
			struct job j = fk.jobs[0];

			memmove(fk.jobs, fk.jobs + 1, --fk.n_jobs * sizeof(fk.jobs[0]));
			j.work(j.arg);
			j.done(j.arg);
		} else {
			assert_true(sd_event_run(o.event, 5 * USEC_PER_SEC) >= 0);
		}
	}
	assert_true(fk.finished);
}

static void start(unsigned attempts, const char *target)
{
	struct wake_request r = { 0 };

	assert_int_equal(wol_parse_mac("00:11:22:33:44:55", r.mac), 0);
	r.attempts = attempts;
	r.wait_s = 0.001;
	r.port = 9;
	r.ping_target = target ? strdup(target) : NULL;
	wake_start(&o, &r, wake_done, NULL);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_up_on_second_attempt(void **state)
{
	fk.up_at_check = 2;
	start(3, "10.0.0.5");
	drive();
	assert_true(fk.out.success);
	assert_int_equal(fk.out.attempts_used, 2);
	assert_int_equal(fk.out.error, 0);
	assert_string_equal(fk.out.message, "Host reachable");
	assert_int_equal(fk.sends, 2); /* one packet per attempt, a check after each */
	assert_int_equal(fk.checks, 2);
	assert_string_equal(fk.last_target, "10.0.0.5");
	assert_true(fk.last_timeout == 0.001); /* the wait is also the check's timeout */
}

static void test_never_up(void **state)
{
	start(3, "10.0.0.5");
	drive();
	assert_false(fk.out.success);
	assert_int_equal(fk.out.attempts_used, 3);
	assert_int_equal(fk.out.error, 0);
	assert_string_equal(fk.out.message, "Host did not respond to ping");
	assert_int_equal(fk.sends, 3);
	assert_int_equal(fk.checks, 3);
}

static void test_zero_attempts(void **state)
{
	start(0, "10.0.0.5");
	assert_true(fk.finished); /* at once, nothing sent */
	assert_false(fk.out.success);
	assert_int_equal(fk.out.attempts_used, 0);
	assert_int_equal(fk.sends, 0);
}

static void test_send_fails(void **state)
{
	fk.send_result = -ENETUNREACH;
	start(3, "10.0.0.5");
	drive();
	assert_false(fk.out.success);
	assert_int_equal(fk.out.error, -ENETUNREACH);
	assert_string_equal(fk.out.message, "Failed to send magic packet");
	assert_int_equal(fk.checks, 0);
}

static void test_queue_full(void **state)
{
	fk.submit_result = -EAGAIN;
	start(3, "10.0.0.5");
	assert_true(fk.finished);
	assert_int_equal(fk.out.error, -EAGAIN);
	assert_string_equal(fk.out.message, "Worker is busy, try again later");
}

/* Shutdown: a waiting wake ends at once, as failed, without further packets. */
static void test_cancel_while_waiting(void **state)
{
	struct wake_request r = { 0 };

	assert_int_equal(wol_parse_mac("00:11:22:33:44:55", r.mac), 0);
	r.attempts = 5;
	r.wait_s = 3600; /* the timer would never fire within the test */
	r.ping_target = strdup("10.0.0.5");
	wake_start(&o, &r, wake_done, NULL);
	/* the first packet */
	assert_int_equal(fk.n_jobs, 1);
	fk.jobs[0].work(fk.jobs[0].arg);
	fk.n_jobs = 0;
	fk.jobs[0].done(fk.jobs[0].arg);
	assert_false(fk.finished);
	o.stopping = true;
	wake_cancel_all(&o);
	drive();
	assert_false(fk.out.success);
	assert_int_equal(fk.out.attempts_used, 1);
	assert_int_equal(fk.sends, 1);
	assert_int_equal(fk.checks, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_up_on_second_attempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_attempts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_while_waiting, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for lab operations (lab.c) against the scripted fake server: POST /lab and its
 * multipart bytes, 423 retries re-sending everything, giving up at the acquire deadline (and a
 * POST /lab answered after it still getting the lab), no retry of a 500, destroy and status. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client_fixture.h"

static void test_acquire_423_resends_everything(void **state)
{
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;

	sc.mode = 7;
	nretry = 0;
	rl_session_attach(cl, "sid-1");
	rl_client_set_retry_notify(cl, fx_on_retry, NULL);
	req = fx_lab_request(true);
	assert_int_equal(rl_lab_acquire(cl, req, &d), 0);
	assert_int_equal(fake_http_count(srv), 3);
	assert_int_equal(nretry, 2);
	assert_int_equal(retry_status, 423);
	assert_string_equal(retry_detail, "POST /lab Lab currently busy");
	fx_check_multipart(0, "true");
	fx_check_multipart(1, "true");
	fx_check_multipart(2, "true");
	assert_int_equal(d->n, 2);
	assert_false(d->reused);
	assert_string_equal(rl_client_errmsg(cl), "");
	rl_devices_free(d);
	rl_lab_request_free(req);
}

/*
 * A lab busy until the deadline is -EAGAIN with the server's detail, however slow the
 * machine: the retrying stops only when the next back-off (at most RETRY_MAX, 0.05 s) would
 * end past the deadline, every retry announced was sent in full, and no attempt is cut to
 * the time left (that made this test fail under load: -ETIMEDOUT from a retry sent with a
 * few milliseconds to live, or "deadline passed" after a back-off that woke up late).
 */
static void test_acquire_423_deadline(void **state)
{
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;
	double t0;

	sc.mode = 8;
	nretry = 0;
	rl_session_attach(cl, "sid-1");
	rl_client_set_retry_notify(cl, fx_on_retry, NULL);
	rl_client_set(cl, RL_PARAM_ACQUIRE_TIMEOUT, 0.4);
	req = fx_lab_request(false);
	t0 = fx_now();
	assert_int_equal(rl_lab_acquire(cl, req, &d), -EAGAIN);
	assert_true(fx_now() - t0 >= 0.4 - 0.05);
	assert_null(d);
	assert_true(fake_http_count(srv) >= 1);
	assert_int_equal((size_t)nretry, fake_http_count(srv) - 1);
	fx_check_multipart(fake_http_count(srv) - 1, "false");
	assert_int_equal(rl_client_error(cl)->http_status, 423);
	assert_non_null(
		strstr(rl_client_errmsg(cl), "POST /lab: HTTP 423: Lab currently busy (gave up"));
	rl_lab_request_free(req);
}

/* POST /lab in mode 23/24 with an acquire deadline of `deadline` s, the 200 coming 0.2 s
 * after it: the caller gets the lab, not a timeout, after `requests` uploads in all. */
static void acquire_answered_after_deadline(int mode, double deadline, size_t requests)
{
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;

	sc.mode = mode;
	rl_session_attach(cl, "sid-1");
	rl_client_set(cl, RL_PARAM_ACQUIRE_TIMEOUT, deadline);
	req = fx_lab_request(false);
	sc.answer_at = fx_now() + deadline + 0.2;
	assert_int_equal(rl_lab_acquire(cl, req, &d), 0);
	assert_true(fx_now() >= sc.answer_at);
	assert_non_null(d);
	assert_int_equal(d->n, 2);
	assert_int_equal(fake_http_count(srv), requests);
	fx_check_multipart(requests - 1, "false");
	rl_devices_free(d);
	rl_lab_request_free(req);
}

/* A retry sent before the deadline and answered after it (the lab came free and is being
 * started). */
static void test_acquire_retry_answered_after_deadline(void **state)
{
	acquire_answered_after_deadline(23, 2, 2);
}

/* The first POST /lab has at least RL_PARAM_REQUEST_TIMEOUT too, even with a shorter
 * acquire deadline; it is not sent again. */
static void test_acquire_first_answer_after_deadline(void **state)
{
	acquire_answered_after_deadline(24, 0.3, 1);
}

static void test_acquire_500_not_retried(void **state)
{
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;

	sc.mode = 9;
	rl_session_attach(cl, "sid-1");
	req = fx_lab_request(false);
	assert_int_equal(rl_lab_acquire(cl, req, &d), -EREMOTEIO);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_errmsg(cl), "POST /lab: HTTP 500: Internal Server Error");
	rl_lab_request_free(req);
}

static void test_destroy_and_status(void **state)
{
	struct rl_lab_status *s = NULL;

	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_lab_destroy(cl, false), -EBUSY);
	assert_string_equal(fake_http_req(srv, 0)->path, "/lab?force=false");
	assert_string_equal(rl_client_errmsg(cl), "DELETE /lab: HTTP 409: Lab still in use");
	assert_int_equal(rl_lab_destroy(cl, true), 0);
	assert_string_equal(fake_http_req(srv, 1)->path, "/lab?force=true");
	assert_string_equal(fx_hdr(1, "X-Session-ID"), "sid-1");
	assert_int_equal(rl_lab_status(cl, &s), 0);
	assert_true(s->running);
	assert_int_equal(s->ref_count, 1);
	assert_string_equal(s->topology, "/tmp/x/t.yml");
	assert_int_equal(s->devices->n, 2);
	rl_lab_status_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_acquire_423_resends_everything, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_acquire_423_deadline, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_acquire_retry_answered_after_deadline,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_acquire_first_answer_after_deadline, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_acquire_500_not_retried, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_destroy_and_status, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

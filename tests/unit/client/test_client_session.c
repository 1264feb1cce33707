/* Unit tests for sessions (session.c) and the heartbeat thread (heartbeat.c) against the
 * scripted fake server: waiting until active (progress, 404, transient errors, deadline,
 * cancel), heartbeats during a slow acquire, stopping on 404, aborting an in-flight beat on
 * stop, and how a session ends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client_fixture.h"

static int seen[16], nseen;

static int record_progress(const struct rl_progress *p, void *ud)
{
	if (nseen < 16)
		seen[nseen++] = p->position;
	return ud != NULL; /* non-NULL userdata: cancel */
}

static void test_wait_progress(void **state)
{
	sc.mode = 10;
	nseen = 0;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, record_progress, NULL), 0);
	assert_int_equal(nseen, 3);
	assert_int_equal(seen[0], 2);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 0);
	assert_string_equal(fake_http_req(srv, 0)->path, "/session/sid-1");
}

static void test_wait_404_is_immediate(void **state)
{
	sc.mode = 11;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, NULL, NULL), -ENOENT);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_error(cl)->detail, "Session not found");
}

static void test_wait_transient(void **state)
{
	sc.mode = 12;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, NULL, NULL), 0);
	assert_int_equal(sc.polls, 2);
}

static void test_wait_deadline_and_cancel(void **state)
{
	sc.mode = 13;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_wait_active(cl, 0.02, 0.2, NULL, NULL), -ETIMEDOUT);
	assert_non_null(strstr(rl_client_errmsg(cl), "not active after"));
	nseen = 0;
	assert_int_equal(rl_session_wait_active(cl, 0.02, 10, record_progress, (void *)1),
			 -ECANCELED);
	assert_int_equal(nseen, 1);
}

static void test_heartbeat_during_acquire(void **state)
{
	struct rl_heartbeat_info info;
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;
	size_t after;

	sc.mode = 16;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_heartbeat_start(cl, 0.05), 0);
	assert_int_equal(rl_heartbeat_start(cl, 0.05), -EALREADY);
	req = fx_lab_request(false);
	assert_int_equal(rl_lab_acquire(cl, req, &d), 0); /* the server holds it for 1 s */
	after = fake_http_count_matching(srv, "POST", "/session/heartbeat");
	assert_true(after >= sc.hb_at_lab + 2);
	rl_heartbeat_get_info(cl, &info);
	assert_true(info.running);
	assert_true(info.sent >= 2);
	assert_int_equal(info.failed, 0);
	rl_heartbeat_stop(cl);
	rl_heartbeat_stop(cl);
	rl_heartbeat_get_info(cl, &info);
	assert_false(info.running);
	/* every heartbeat carried the session id */
	for (size_t i = 0; i < fake_http_count(srv); i++)
		if (strcmp(fake_http_req(srv, i)->path, "/session/heartbeat") == 0)
			assert_string_equal(fx_hdr(i, "X-Session-ID"), "sid-1");
	rl_devices_free(d);
	rl_lab_request_free(req);
}

static void test_heartbeat_stops_on_404(void **state)
{
	struct rl_heartbeat_info info;
	int i;

	sc.mode = 17;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_heartbeat_start(cl, 0.02), 0);
	for (i = 0; i < 500; i++) {
		rl_heartbeat_get_info(cl, &info);
		if (!info.running)
			break;
		fx_sleep(0.01);
	}
	assert_false(info.running);
	assert_int_equal(info.last_error, -ENOENT);
	assert_int_equal(info.last_http_status, 404);
	assert_int_equal(info.failed, 1);
	assert_int_equal(fake_http_count(srv), 1);
	/* a thread that ended by itself can be started again */
	assert_int_equal(rl_heartbeat_start(cl, 0.02), 0);
	rl_heartbeat_stop(cl);
}

static void test_heartbeat_stop_aborts_inflight(void **state)
{
	struct rl_heartbeat_info info;
	int i;

	sc.mode = 18; /* heartbeats take 3 s to answer */
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_heartbeat_start(cl, 10), 0);
	for (i = 0; i < 500 && fake_http_count(srv) == 0; i++)
		fx_sleep(0.01);
	assert_int_equal(fake_http_count(srv), 1);
	rl_heartbeat_get_info(cl, &info);
	assert_true(info.running);
	assert_int_equal(info.sent, 0);
	rl_heartbeat_stop(cl); /* aborts the transfer instead of waiting for it */
	rl_heartbeat_get_info(cl, &info);
	assert_false(info.running);
}

static void test_session_end(void **state)
{
	sc.mode = 0;
	rl_session_attach(cl, "a b/c");
	assert_int_equal(rl_session_end(cl), 0);
	assert_string_equal(fake_http_req(srv, 0)->method, "DELETE");
	assert_string_equal(fake_http_req(srv, 0)->path, "/session/a%20b%2Fc");
	assert_null(rl_session_id(cl));
	assert_int_equal(rl_session_end(cl), -ENOENT); /* no session: local error */
	assert_int_equal(fake_http_count(srv), 1);

	sc.mode = 19;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_end(cl), -ENOENT);
	assert_null(rl_session_id(cl));
	assert_string_equal(rl_client_error(cl)->detail, "Session not found");

	sc.mode = 20;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_end(cl), -EREMOTEIO);
	assert_string_equal(rl_session_id(cl), "sid-1"); /* kept so the caller can retry */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wait_progress, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wait_404_is_immediate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wait_transient, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wait_deadline_and_cancel, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_during_acquire, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_stops_on_404, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_stop_aborts_inflight, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_session_end, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for riding out a server restart (client_call.c) against fake servers that go
 * down and come back: the ride-out and its bound, a reset GET retried but a POST never, and
 * the heartbeat thread (heartbeat.c) through an outage. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "servers_fixture.h"

static void *resume_later(void *arg)
{
	fx_sleep(0.6);
	fake_http_resume(arg);
	return NULL;
}

static void test_ride_out_restart(void **state)
{
	struct rl_devices *d = NULL;
	pthread_t t;
	double v;

	assert_int_equal(rl_client_get(cl, RL_PARAM_RESTART_WAIT, &v), 0);
	assert_true(v == 30); /* the documented default */
	rl_session_attach(cl, "sid-x");
	fake_http_pause(fs[0]); /* the server is down: connections are refused */
	pthread_create(&t, NULL, resume_later, fs[0]);
	assert_int_equal(rl_lab_devices(cl, &d), 0); /* ... and comes back */
	pthread_join(t, NULL);
	assert_int_equal(d->n, 1);
	rl_devices_free(d);
	assert_string_equal(rl_session_id(cl), "sid-x"); /* the session is kept */

	/* bounded: past the ride-out window the refusal is the answer */
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESTART_WAIT, 0.3), 0);
	fake_http_pause(fs[0]);
	assert_int_equal(rl_session_heartbeat(cl), -ECONNREFUSED);
	assert_non_null(strstr(rl_client_errmsg(cl), "gave up"));
	/* POST /session never reached the server: refused connections are retried too */
	rl_session_detach(cl);
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESTART_WAIT, 30), 0);
	pthread_create(&t, NULL, resume_later, fs[0]);
	assert_int_equal(rl_session_create(cl, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(st[0].sessions, 1);
	/* a health check reports the moment: no ride-out */
	fake_http_pause(fs[0]);
	rl_client_set(cl, RL_PARAM_MAX_RETRIES, 0);
	assert_int_equal(rl_server_health(cl), -ECONNREFUSED);
	assert_null(strstr(rl_client_errmsg(cl), "gave up"));
	fake_http_resume(fs[0]);
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESTART_WAIT, 0), 0); /* 0 is allowed */
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESTART_WAIT, -1), -EINVAL);
}

static void test_reset_idempotent_vs_post(void **state)
{
	struct rl_devices *d = NULL;

	st[0].mode = 4;
	rl_session_attach(cl, "sid-x");
	assert_int_equal(rl_lab_devices(cl, &d), 0); /* GET: retried after the reset */
	rl_devices_free(d);
	assert_int_equal(fake_http_count_matching(fs[0], "GET", "/lab/devices"), 2);
	assert_int_equal(rl_lab_release(cl), -ECONNRESET); /* POST: never re-sent */
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/lab/release"), 1);
	rl_session_detach(cl);
	st[0].mode = 1;
	assert_int_equal(rl_session_create(cl, NULL), -ECONNRESET);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/session"), 1);
	assert_null(rl_session_id(cl));
}

static void test_heartbeat_rides_out(void **state)
{
	struct rl_heartbeat_info info;
	int i;

	rl_session_attach(cl, "sid-x");
	fake_http_pause(fs[0]);                          /* the server restarts ... */
	assert_int_equal(rl_heartbeat_start(cl, 30), 0); /* ... a 30 s period */
	for (i = 0; i < 1000; i++) {
		rl_heartbeat_get_info(cl, &info);
		if (info.failed >= 2)
			break;
		fx_sleep(0.01);
	}
	assert_true(info.failed >= 2); /* it kept trying, well inside one period */
	assert_int_equal(info.last_error, -ECONNREFUSED);
	fake_http_resume(fs[0]);
	/* a beat arrives once the server is back, long before the 30 s period */
	for (i = 0; i < 1000 && fake_http_count_matching(fs[0], "POST", "/session/heartbeat") == 0;
	     i++)
		fx_sleep(0.01);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/session/heartbeat"), 1);
	rl_heartbeat_get_info(cl, &info);
	assert_true(info.running);
	rl_heartbeat_stop(cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ride_out_restart, fx_servers_setup,
						fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_reset_idempotent_vs_post, fx_servers_setup,
						fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_rides_out, fx_servers_setup,
						fx_servers_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

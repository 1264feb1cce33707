/* Unit tests for one call of libremotelab (client_call.c, client_error.c, xfer.c) against the
 * scripted fake server: request headers and the token, the retry policy (5xx GETs retried;
 * 4xx, POSTs and session creation not), error details, the cancel hook, the response size
 * limit, a refused connection, and many clients at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_fixture.h"

static void test_create_and_headers(void **state)
{
	int pos = -1;

	rl_client_free(cl);
	setenv("REMOTE_LAB_TOKEN", "s3cret", 1);
	assert_int_equal(rl_client_new(&cl, fake_http_url(srv), NULL, 0), 0);
	unsetenv("REMOTE_LAB_TOKEN");
	assert_int_equal(rl_session_create(cl, &pos), 0);
	assert_int_equal(pos, 0);
	assert_string_equal(rl_session_id(cl), "sid-1");
	assert_int_equal(rl_session_create(cl, &pos), -EEXIST);
	assert_int_equal(rl_session_heartbeat(cl), 0);
	assert_int_equal(fake_http_count(srv), 2);
	assert_string_equal(fake_http_req(srv, 0)->method, "POST");
	assert_string_equal(fake_http_req(srv, 0)->path, "/session");
	assert_string_equal(fx_hdr(0, "User-Agent"), "libremotelab/" REMOTELAB_VERSION);
	assert_null(fx_hdr(0, "X-Session-ID"));
	assert_string_equal(fx_hdr(0, "Authorization"), "Bearer s3cret");
	assert_null(fx_hdr(0, "Expect"));
	assert_string_equal(fake_http_req(srv, 1)->path, "/session/heartbeat");
	assert_string_equal(fx_hdr(1, "X-Session-ID"), "sid-1");
	assert_string_equal(fx_hdr(1, "Authorization"), "Bearer s3cret");
	/* no token: no Authorization header */
	assert_int_equal(rl_client_set_token(cl, NULL), 0);
	assert_int_equal(rl_server_health(cl), 0);
	assert_null(fx_hdr(2, "Authorization"));
	assert_null(fx_hdr(2, "X-Session-ID"));
	/* a token too long for a header is refused locally, not truncated */
	{
		char big[2000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(rl_client_set_token(cl, big), 0);
		assert_int_equal(rl_server_health(cl), -EINVAL);
		assert_int_equal(fake_http_count(srv), 3);
		assert_non_null(strstr(rl_client_errmsg(cl), "too long"));
	}
}

static void test_create_not_retried(void **state)
{
	sc.mode = 2;
	assert_int_equal(rl_session_create(cl, NULL), -EREMOTEIO);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_errmsg(cl), "POST /session: HTTP 503: try later");
	assert_int_equal(rl_client_error(cl)->http_status, 503);
	assert_null(rl_session_id(cl));
}

static void test_get_retried_on_5xx(void **state)
{
	struct rl_devices *d = NULL;

	sc.mode = 3;
	nretry = 0;
	rl_session_attach(cl, "sid-1");
	rl_client_set_retry_notify(cl, fx_on_retry, NULL);
	assert_int_equal(rl_lab_devices(cl, &d), 0);
	assert_int_equal(fake_http_count(srv), 3);
	assert_int_equal(nretry, 2);
	assert_int_equal(retry_status, 500);
	assert_string_equal(retry_detail, "GET /lab/devices Internal Server Error");
	assert_int_equal(d->n, 2);
	assert_string_equal(d->items[0].name, "r1");
	assert_string_equal(d->items[0].mgmt_ipv4, "192.0.2.1");
	assert_string_equal(d->items[0].ansible_user, "tester");
	assert_string_equal(d->items[0].ansible_network_os, "frr");
	assert_null(d->items[1].ansible_user);
	assert_string_equal(rl_client_errmsg(cl), "");
	rl_devices_free(d);
}

static void test_get_5xx_exhausted(void **state)
{
	struct rl_devices *d = NULL;

	sc.mode = 4;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_lab_devices(cl, &d), -EREMOTEIO);
	assert_null(d);
	assert_int_equal(fake_http_count(srv), 3); /* 1 + RL_PARAM_MAX_RETRIES (2) */
	assert_int_equal(rl_client_error(cl)->http_status, 500);
	assert_string_equal(rl_client_error(cl)->detail, "Internal Server Error");
	assert_string_equal(rl_client_error(cl)->op, "GET /lab/devices");
}

static void test_4xx_not_retried(void **state)
{
	struct rl_devices *d = NULL;

	sc.mode = 5;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_lab_devices(cl, &d), -ENOENT);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_errmsg(cl), "GET /lab/devices: HTTP 404: No lab running");
}

static void test_post_not_retried(void **state)
{
	sc.mode = 6;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_lab_release(cl), -EREMOTEIO);
	assert_int_equal(fake_http_count(srv), 1);
	/* no session: fails locally without a request */
	rl_session_detach(cl);
	assert_int_equal(rl_lab_release(cl), -ENOENT);
	assert_int_equal(fake_http_count(srv), 1);
}

static volatile int cancel_now;

static int cancel_hook(void *ud)
{
	return cancel_now;
}

static void *cancel_later(void *arg)
{
	fx_sleep(0.3);
	cancel_now = 1;
	return NULL;
}

static void test_cancel_hook(void **state)
{
	struct rl_devices *d = NULL;
	pthread_t t;

	sc.mode = 15; /* the server takes 3 s to answer */
	cancel_now = 0;
	rl_session_attach(cl, "sid-1");
	rl_client_set_cancel(cl, cancel_hook, NULL);
	pthread_create(&t, NULL, cancel_later, NULL);
	assert_int_equal(rl_lab_devices(cl, &d), -ECANCELED);
	pthread_join(t, NULL);
	assert_int_equal(fake_http_count(srv), 1); /* cancelled calls are not retried */
	rl_client_set_cancel(cl, NULL, NULL);
}

static void test_validation_detail(void **state)
{
	sc.mode = 21;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_heartbeat(cl), -EINVAL);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_error(cl)->detail, "header.X-Session-ID: Field required");
	assert_int_equal(rl_client_error(cl)->http_status, 422);
}

/* The body limit (RL_MAX_RESPONSE, 16 MiB): at it a response is read; one byte over, the
 * transfer stops with the public -EMSGSIZE (rl_buf says -E2BIG) and is not retried. */
static void test_response_limit(void **state)
{
	const size_t max = 16u * 1024 * 1024;
	struct rl_devices *d = NULL;

	sc.mode = 22;
	rl_session_attach(cl, "sid-1");
	sc.pad = max - 2;
	assert_int_equal(rl_lab_devices(cl, &d), 0);
	assert_int_equal(d->n, 0);
	rl_devices_free(d);
	d = NULL;
	sc.pad = max - 1;
	assert_int_equal(rl_lab_devices(cl, &d), -EMSGSIZE);
	assert_null(d);
	assert_int_equal(fake_http_count(srv), 2);
	assert_string_equal(rl_client_errmsg(cl),
			    "GET /lab/devices: response larger than 16777216 bytes");
}

static void test_connect_refused(void **state)
{
	struct rl_client *c2 = NULL;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char url[64];
	int fd;

	/* a bound but not listening port refuses connections */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	assert_int_equal(rl_client_new(&c2, url, NULL, 0), 0);
	rl_client_set(c2, RL_PARAM_RETRY_INITIAL, 0.01);
	rl_client_set(c2, RL_PARAM_RESTART_WAIT, 0.2); /* the ride-out has its own tests */
	assert_int_equal(rl_server_health(c2), -ECONNREFUSED);
	assert_int_equal(rl_client_error(c2)->http_status, 0);
	assert_non_null(strstr(rl_client_errmsg(c2), "GET /healthz: "));
	/* a session can't be created either, and no id is kept */
	assert_int_equal(rl_session_create(c2, NULL), -ECONNREFUSED);
	assert_null(rl_session_id(c2));
	rl_client_free(c2);
	close(fd);
}

/* One client per thread, all at once: session, heartbeat thread, lab calls, end. */
static void *thread_body(void *arg)
{
	struct rl_devices *d = NULL;
	struct rl_client *c = NULL;
	long ok = 0;
	int i;

	if (rl_client_new(&c, fake_http_url(srv), NULL, 0) != 0)
		return (void *)0;
	for (i = 0; i < 5; i++) {
		if (rl_session_create(c, NULL) != 0 || rl_heartbeat_start(c, 0.01) != 0)
			break;
		if (rl_session_wait_active(c, 0.01, 10, NULL, NULL) == 0 &&
		    rl_lab_devices(c, &d) == 0 && d->n == 2 && rl_session_end(c) == 0)
			ok++;
		rl_devices_free(d);
		d = NULL;
	}
	rl_client_free(c);
	return (void *)ok;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	void *ok;
	int i;

	sc.mode = 12; /* first poll 503 (retried), then active */
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_body, NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ok), 0);
		assert_int_equal((long)ok, 5);
	}
	assert_int_equal(fake_http_count_matching(srv, "DELETE", "/session/"), 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_headers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_create_not_retried, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_retried_on_5xx, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_5xx_exhausted, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_4xx_not_retried, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_post_not_retried, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_hook, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_validation_detail, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_response_limit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_threads, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for credentials (client_auth.c) and the operators' calls (events.c, server.c,
 * admin.c) against the fake servers: token files, 401 messages, the CA file, events with a
 * reconnect, GET /sessions and /labs, and the admin calls with their own token. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "servers_fixture.h"

/* --- access control --- */

static void test_token_file_and_401(void **state)
{
	char path[] = "/tmp/rl-unit-tokenXXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	fx_write_file(path, "  t0ken-abc \n");
	assert_int_equal(rl_client_set_token_file(cl, path), 0);
	assert_int_equal(rl_server_health(cl), 0);
	assert_string_equal(fx_servers_hdr(fs[0], 0, "Authorization"), "Bearer t0ken-abc");
	fx_write_file(path, "\n \n");
	assert_int_equal(rl_client_set_token_file(cl, path), -EINVAL);
	assert_non_null(strstr(rl_client_errmsg(cl), "empty"));
	fx_write_file(path, "a\nb\n");
	assert_int_equal(rl_client_set_token_file(cl, path), -EINVAL);
	assert_int_equal(rl_client_set_token_file(cl, "/nonexistent/token"), -ENOENT);
	unlink(path);
	/* 401: a clear message that says what to do; the token itself is never in it */
	assert_int_equal(rl_client_set_token(cl, "wrong"), 0);
	assert_int_equal(rl_server_health(cl), -EACCES);
	assert_int_equal(rl_client_error(cl)->http_status, 401);
	assert_non_null(
		strstr(rl_client_errmsg(cl), "Not authenticated (the server refused the token)"));
	assert_null(strstr(rl_client_errmsg(cl), "wrong"));
	st[0].mode = 5;
	assert_int_equal(rl_client_set_token(cl, NULL), 0);
	assert_int_equal(rl_server_health(cl), -EACCES);
	assert_non_null(strstr(rl_client_errmsg(cl), "set REMOTE_LAB_TOKEN"));
	/* a CA file that does not exist is refused at once */
	assert_int_equal(rl_client_set_ca_file(cl, "/nonexistent/ca.pem"), -ENOENT);
	assert_int_equal(rl_client_set_ca_file(cl, NULL), 0);
}

/* --- operators' view --- */

static int nev;
static char ev_kinds[256];

static int on_ev(const struct rl_event *ev, void *ud)
{
	nev++;
	strncat(ev_kinds, ev->kind, sizeof(ev_kinds) - strlen(ev_kinds) - 2);
	strcat(ev_kinds, ";");
	return nev >= 3; /* stop after the first event of the second connection */
}

static void test_events_status_admin(void **state)
{
	struct rl_queue *q = NULL;
	struct rl_labs *l = NULL;

	nev = 0;
	ev_kinds[0] = '\0';
	/* the stream ends after two events; it is re-opened (a restart) and the third stops it */
	assert_int_equal(rl_events_watch(cl, on_ev, NULL), 0);
	assert_string_equal(ev_kinds, "session.created;drain.on;session.created;");
	assert_string_equal(fx_servers_hdr(fs[0], 0, "Accept"), "text/event-stream");
	assert_int_equal(fake_http_count_matching(fs[0], "GET", "/events"), 2);

	assert_int_equal(rl_server_sessions(cl, &q), 0);
	assert_int_equal(q->n, 1);
	assert_string_equal(q->items[0].label, "job");
	rl_queue_free(q);
	assert_int_equal(rl_server_labs(cl, &l), 0);
	assert_int_equal(l->n, 0);
	rl_labs_free(l);

	assert_int_equal(rl_admin_drain(cl, true), -EACCES); /* no admin token */
	assert_int_equal(rl_client_set_token(cl, "user"), 0);
	assert_int_equal(rl_client_set_admin_token(cl, "adm1n"), 0);
	assert_int_equal(rl_admin_drain(cl, true), 0);
	assert_int_equal(rl_admin_drain(cl, false), 0);
	assert_int_equal(rl_admin_end_session(cl, "s-1"), 0);
	assert_int_equal(rl_admin_end_session(cl, "nope"), -ENOENT);
	assert_int_equal(rl_admin_destroy_lab(cl, 2), 0);
	assert_int_equal(rl_admin_destroy_lab(cl, -1), -EINVAL);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/admin/drain"), 2);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/admin/undrain"), 1);
	assert_int_equal(fake_http_count_matching(fs[0], "DELETE", "/admin/labs/2"), 1);
	/* the other calls still send the access token */
	assert_int_equal(rl_server_health(cl), 0);
	assert_string_equal(fx_servers_hdr(fs[0], fake_http_count(fs[0]) - 1, "Authorization"),
			    "Bearer user");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_file_and_401, fx_servers_setup,
						fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_events_status_admin, fx_servers_setup,
						fx_servers_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for request.c: validation of every route's body into typed requests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "jsonx.h"
#include "request.h"

static json_t *J(const char *s)
{
	json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	return v;
}

static void test_requests(void **state)
{
	struct opsd_config cfg;
	struct req_resv r;
	struct req_winrm w;
	struct req_timeline t;
	char err[REQUEST_ERR_MAX];
	json_t *b;

	memset(&cfg, 0, sizeof(cfg));
	cfg.allowed_commands[0] = (char *)"status";
	cfg.n_allowed_commands = 1;
	cfg.timeline_default_limit = 100;
	cfg.timeline_max_ops = 500;

	b = J("{\"reservationId\": null, \"reservation_id\": \"r\", \"hostName\": \"h\","
	      " \"guardGrace\": \"15\", \"wakeOptions\": {\"attempts\": 0, \"port\": \"7\"}}");
	assert_int_equal(request_resv(b, true, &r, err, sizeof(err)), 0);
	assert_string_equal(r.reservation_id, "r");
	assert_string_equal(r.host, "h");
	assert_null(r.lab_id);
	assert_true(r.wake && r.prepare);
	assert_string_equal(r.prepare_args[0], "--guard-grace=15");
	assert_false(r.wake_opts.has_attempts); /* 0 is falsy: the host's value applies */
	assert_true(r.wake_opts.has_port && r.wake_opts.port == 7);
	req_resv_clear(&r);
	json_decref(b);

	b = J("{\"reservationId\": \"r\", \"host\": \"h\", \"powerAction\": {\"mode\": \"rm -rf\"}}");
	assert_int_equal(request_resv(b, false, &r, err, sizeof(err)), 400);
	json_decref(b);
	b = J("{\"reservationId\": \"r\", \"host\": \"h\", \"releaseArgs\": [\"a|b\"]}");
	assert_int_equal(request_resv(b, false, &r, err, sizeof(err)), 400);
	json_decref(b);
	b = J("{\"reservationId\": 7, \"host\": \"h\", \"powerAction\": {\"args\": 5}}");
	assert_int_equal(request_resv(b, false, &r, err, sizeof(err)), 0);
	assert_string_equal(r.reservation_id, "7");
	assert_true(r.power && r.release);
	assert_string_equal(r.power_mode, "shutdown");
	assert_string_equal(r.power_args[0], "5");
	assert_string_equal(r.release_args[0], "--reboot");
	req_resv_clear(&r);
	json_decref(b);

	b = J("{\"host\": \"h\", \"command\": \"status\", \"args\": [\"a\", 2], \"use_ssl\": \"false\"}");
	assert_int_equal(request_winrm(b, &cfg, &w, err, sizeof(err)), 0);
	assert_int_equal(w.nargs, 2);
	assert_true(w.use_ssl); /* truthiness, like the original */
	req_winrm_clear(&w);
	json_decref(b);
	b = J("{\"host\": \"h\", \"command\": \"reboot\"}");
	assert_int_equal(request_winrm(b, &cfg, &w, err, sizeof(err)), 400);
	assert_string_equal(err, "command 'reboot' not allowed");
	json_decref(b);
	b = J("{\"host\": 5, \"command\": \"status\"}");
	assert_int_equal(request_winrm(b, &cfg, &w, err, sizeof(err)), 400);
	json_decref(b);

	assert_int_equal(request_timeline(NULL, "x", " 7 ", "-3", &cfg, &t, err, sizeof(err)), 0);
	assert_string_equal(t.reservation_id, "x");
	assert_int_equal(t.limit, 7);
	assert_int_equal(t.offset, 0);
	req_timeline_clear(&t);
	assert_int_equal(request_timeline("", NULL, NULL, NULL, &cfg, &t, err, sizeof(err)), 400);
	assert_string_equal(err, "reservationId is required");
	assert_int_equal(request_timeline("y", NULL, "1e3", "9", &cfg, &t, err, sizeof(err)), 0);
	assert_int_equal(t.limit, 100);
	assert_int_equal(t.offset, 9);
	req_timeline_clear(&t);
	assert_true(request_arg_safe("--guard-message=\"hello world\""));
	assert_false(request_arg_safe("x&y"));
	assert_false(request_arg_safe("a\nb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

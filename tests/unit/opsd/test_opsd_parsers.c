/* Unit tests: ISO-8601 helpers, MAC parsing and the magic packet, CIDR matching and the
 * access decision, JSON coercions and request validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "auth.h"
#include "config.h"
#include "hosts.h"
#include "isotime.h"
#include "jsonx.h"
#include "request.h"
#include "wol.h"

static int64_t parse(const char *s)
{
	int64_t t = -1;

	assert_int_equal(isotime_parse(s, &t), 0);
	return t;
}

static void test_isotime(void **state)
{
	char out[ISOTIME_MAX];
	const int64_t base = 1767268800LL * 1000000; /* 2026-01-01T12:00:00Z */

	assert_true(parse("2026-01-01T12:00:00Z") == base);
	assert_true(parse("2026-01-01T12:00:00+00:00") == base);
	assert_true(parse("2026-01-01 12:00:00") == base);      /* naive = UTC, DB form */
	assert_true(parse("2026-01-01T13:30:00+01:30") == base);
	assert_true(parse("2026-01-01T07:00:00-0500") == base);
	assert_true(parse("2026-01-01T12:00:00.5Z") == base + 500000);
	assert_true(parse("2026-01-01T12:00:00.123456789Z") == base + 123456);
	assert_true(parse("2026-01-01T12:00Z") == base);
	assert_true(parse("2026-01-01") == base - 12LL * 3600 * 1000000);
	assert_true(parse("1969-12-31T23:59:59Z") == -1000000);
	assert_true(parse("2024-02-29T00:00:00Z") > 0);
	{
		static const char *const bad[] = { "", "2026", "2026-13-01", "2026-02-30T00:00:00",
						   "2023-02-29", "2026-01-01T24:00:00",
						   "2026-01-01T12:00:00+", "2026-01-01T12:00:00ZZ",
						   "2026-01-01T12:00:00.", "2026-01-01T12:60",
						   "2026-01-01T12:00:00.1234567890Z", "x026-01-01" };
		int64_t t;
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(isotime_parse(bad[i], &t), -EINVAL);
		assert_int_equal(isotime_parse(NULL, &t), -EINVAL);
	}
	isotime_format(base, out);
	assert_string_equal(out, "2026-01-01T12:00:00+00:00");
	isotime_format(base + 250000, out);
	assert_string_equal(out, "2026-01-01T12:00:00.250000+00:00");
	isotime_format(-1000000, out);
	assert_string_equal(out, "1969-12-31T23:59:59+00:00");
	isotime_format_db(base + 999999, out);
	assert_string_equal(out, "2026-01-01 12:00:00");
}

static void test_mac_and_packet(void **state)
{
	static const uint8_t want[6] = { 0x00, 0x11, 0x22, 0xaa, 0xBB, 0xcc };
	static const char *const good[] = { "00:11:22:aa:bb:cc", "00-11-22-AA-BB-CC", "001122aabbcc",
					    "0011.22aa.bbcc", "00 11 22 aa bb cc" };
	static const char *const bad[] = { "", "00:11:22:aa:bb", "00:11:22:aa:bb:cg",
					   "00:11-22:aa:bb:cc", "001122aabbc", "001122aabbccddee",
					   "0011.22aa.bbc.", "00:11:22:aa:bb:c:" };
	uint8_t mac[6], pkt[WOL_PACKET_LEN];
	char s[WOL_MAC_STR];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(mac, 0, sizeof(mac));
		assert_int_equal(wol_parse_mac(good[i], mac), 0);
		assert_memory_equal(mac, want, 6);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wol_parse_mac(bad[i], mac), -EINVAL);
	assert_int_equal(wol_parse_mac(NULL, mac), -EINVAL);
	wol_format_mac(want, s);
	assert_string_equal(s, "00:11:22:aa:bb:cc");
	wol_build_packet(want, pkt);
	for (i = 0; i < 6; i++)
		assert_int_equal(pkt[i], 0xFF);
	for (i = 0; i < 16; i++)
		assert_memory_equal(pkt + 6 + 6 * i, want, 6);
}

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return ss;
}

static bool match(const char *cidr, const char *ip)
{
	struct auth_cidr c;
	struct sockaddr_storage ss = addr(ip);

	assert_int_equal(auth_parse_cidr(cidr, &c), 0);
	return auth_cidr_match(&c, (struct sockaddr *)&ss);
}

static void test_cidr(void **state)
{
	struct auth_cidr c;

	assert_true(match("172.16.0.0/12", "172.31.255.255"));
	assert_false(match("172.16.0.0/12", "172.32.0.1"));
	assert_true(match("127.0.0.1", "127.0.0.1"));
	assert_false(match("127.0.0.1", "127.0.0.2"));
	assert_true(match("10.1.2.3/8", "10.200.0.1")); /* host bits ignored */
	assert_true(match("0.0.0.0/0", "8.8.8.8"));
	assert_true(match("10.0.0.0/8", "::ffff:10.1.1.1")); /* mapped IPv4 */
	assert_false(match("10.0.0.0/8", "::1"));
	assert_true(match("::1/128", "::1"));
	assert_true(match("fe80::/10", "febf::1"));
	assert_false(match("fe80::/10", "fec0::1"));
	assert_true(match("192.168.1.0/25", "192.168.1.127"));
	assert_false(match("192.168.1.0/25", "192.168.1.128"));
	assert_int_equal(auth_parse_cidr("10.0.0.0/33", &c), -EINVAL);
	assert_int_equal(auth_parse_cidr("10.0.0/8", &c), -EINVAL);
	assert_int_equal(auth_parse_cidr("::1/129", &c), -EINVAL);
	assert_int_equal(auth_parse_cidr("/8", &c), -EINVAL);
	assert_int_equal(auth_parse_cidr("10.0.0.0/-1", &c), -EINVAL);
	assert_int_equal(auth_parse_cidr("host.example", &c), -EINVAL);
}

static void test_auth_check(void **state)
{
	struct sockaddr_storage lo = addr("127.0.0.1"), out = addr("203.0.113.5");
	struct auth a;
	char err[256];

	assert_int_equal(auth_init(&a, "tok", "127.0.0.0/8, ::1/128", err, sizeof(err)), 0);
	assert_int_equal(auth_check(&a, "/health", NULL, NULL, (struct sockaddr *)&lo), 0);
	assert_int_equal(auth_check(&a, "/api/wol", NULL, NULL, (struct sockaddr *)&lo), 401);
	assert_int_equal(auth_check(&a, "/api/wol", "tok", NULL, (struct sockaddr *)&lo), 0);
	assert_int_equal(auth_check(&a, "/api/wol", "", "tok", (struct sockaddr *)&lo), 0);
	assert_int_equal(auth_check(&a, "/api/wol", "bad", "tok", (struct sockaddr *)&lo), 401);
	assert_int_equal(auth_check(&a, "/api/wol", "tokk", NULL, (struct sockaddr *)&lo), 401);
	assert_int_equal(auth_check(&a, "/api/wol", "tok", NULL, (struct sockaddr *)&out), 403);
	assert_int_equal(auth_check(&a, "/api/wol", NULL, NULL, (struct sockaddr *)&out), 401);
	assert_int_equal(auth_check(&a, "/health", NULL, NULL, (struct sockaddr *)&out), 403);
	assert_int_equal(auth_check(&a, "/health", NULL, NULL, NULL), 403);
	auth_clear(&a);
	assert_int_equal(auth_init(&a, "", "any", err, sizeof(err)), 0);
	assert_int_equal(auth_check(&a, "/api/wol", NULL, NULL, (struct sockaddr *)&out), 0);
	auth_clear(&a);
	assert_int_equal(auth_init(&a, NULL, " , ", err, sizeof(err)), -EINVAL);
	assert_int_equal(auth_init(&a, NULL, "10.0.0.0/8,bogus", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	auth_clear(NULL);
}

static json_t *J(const char *s)
{
	json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	return v;
}

static void test_jsonx(void **state)
{
	json_t *v;
	int64_t i;
	double d;
	char *s, **args;
	size_t n;
	static const char *const def[] = { "--reboot" };

	v = jsonx_body_object("", 0);
	assert_true(json_is_object(v) && json_object_size(v) == 0);
	json_decref(v);
	v = jsonx_body_object("{bad", 4);
	assert_true(json_is_object(v));
	json_decref(v);
	assert_null(jsonx_body_object("[1]", 3));
	assert_false(jsonx_truthy(NULL));
	v = J("[0, 0.0, \"\", [], {}, null, false, 1, \"0\", [0], true]");
	for (n = 0; n < 7; n++)
		assert_false(jsonx_truthy(json_array_get(v, n)));
	for (; n < json_array_size(v); n++)
		assert_true(jsonx_truthy(json_array_get(v, n)));
	json_decref(v);
	v = J("[\" OFF \", \"no\", \"0\", \"false\", \"\", \"x\", 0, 2, null]");
	assert_false(jsonx_parse_bool(json_array_get(v, 0), true));
	assert_false(jsonx_parse_bool(json_array_get(v, 1), true));
	assert_false(jsonx_parse_bool(json_array_get(v, 2), true));
	assert_false(jsonx_parse_bool(json_array_get(v, 3), true));
	assert_true(jsonx_parse_bool(json_array_get(v, 4), false)); /* "" is true */
	assert_true(jsonx_parse_bool(json_array_get(v, 5), false));
	assert_false(jsonx_parse_bool(json_array_get(v, 6), true));
	assert_true(jsonx_parse_bool(json_array_get(v, 7), false));
	assert_true(jsonx_parse_bool(json_array_get(v, 8), true));  /* None -> default */
	assert_false(jsonx_parse_bool(NULL, false));
	json_decref(v);
	v = J("[3, \" 42 \", 3.9, \"-2\", \"1.5\", \"abc\", true, [1], 1e30]");
	assert_int_equal(jsonx_int(json_array_get(v, 0), 0, 10, &i), 0);
	assert_int_equal(i, 3);
	assert_int_equal(jsonx_int(json_array_get(v, 1), 0, 100, &i), 0);
	assert_int_equal(i, 42);
	assert_int_equal(jsonx_int(json_array_get(v, 2), 0, 10, &i), 0);
	assert_int_equal(i, 3);
	assert_int_equal(jsonx_int(json_array_get(v, 3), 0, 10, &i), -ERANGE);
	assert_int_equal(jsonx_int(json_array_get(v, 4), 0, 10, &i), -EINVAL);
	assert_int_equal(jsonx_int(json_array_get(v, 5), 0, 10, &i), -EINVAL);
	assert_int_equal(jsonx_int(json_array_get(v, 6), 0, 10, &i), 0);
	assert_int_equal(i, 1);
	assert_int_equal(jsonx_int(json_array_get(v, 7), 0, 10, &i), -EINVAL);
	assert_int_equal(jsonx_int(json_array_get(v, 8), 0, 10, &i), -ERANGE);
	assert_int_equal(jsonx_double(json_array_get(v, 4), 0, 10, &d), 0);
	assert_true(d == 1.5);
	json_decref(v);
	assert_int_equal(jsonx_str_int(" +42\t", 5, &i), 0);
	assert_int_equal(i, 42);
	assert_int_equal(jsonx_str_int("-7", 2, &i), 0);
	assert_int_equal(i, -7);
	assert_int_equal(jsonx_str_int("1e3", 3, &i), -EINVAL);
	assert_int_equal(jsonx_str_int("4\0", 2, &i), -EINVAL);
	assert_int_equal(jsonx_str_int(" ", 1, &i), -EINVAL);
	assert_false(jsonx_parse_bool_str(" NO ", 4));
	assert_true(jsonx_parse_bool_str("nope", 4));
	v = J("[1.0, 0.1, 10, true, null, \"x\"]");
	assert_int_equal(jsonx_to_str(json_array_get(v, 0), &s), 0);
	assert_string_equal(s, "1.0");
	free(s);
	assert_int_equal(jsonx_to_str(json_array_get(v, 1), &s), 0);
	assert_string_equal(s, "0.1");
	free(s);
	assert_int_equal(jsonx_args(v, NULL, 0, &args, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(args[2], "10");
	assert_string_equal(args[3], "True");
	assert_string_equal(args[4], "None");
	assert_null(args[6]);
	jsonx_args_free(args);
	assert_int_equal(jsonx_args(NULL, def, 1, &args, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(args[0], "--reboot");
	jsonx_args_free(args);
	json_decref(v);
	v = J("\"--x\"");
	assert_int_equal(jsonx_args(v, def, 1, &args, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(args[0], "--x");
	jsonx_args_free(args);
	json_decref(v);
	v = J("{\"a\":1}");
	assert_int_equal(jsonx_args(v, def, 1, &args, &n), -EINVAL);
	json_decref(v);
	s = jsonx_utf8_lossy("\xff ok \xc3\xa4\xc3 \xe2\x82", 12, true);
	assert_string_equal(s, "ok \xc3\xa4");
	free(s);
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

static void test_config_bool(void **state)
{
	assert_true(config_parse_bool(NULL, true));
	assert_false(config_parse_bool(NULL, false));
	assert_false(config_parse_bool(" Off ", true));
	assert_true(config_parse_bool("", false));
	assert_true(config_parse_bool("yes please", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isotime),
		cmocka_unit_test(test_mac_and_packet),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_auth_check),
		cmocka_unit_test(test_jsonx),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_config_bool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

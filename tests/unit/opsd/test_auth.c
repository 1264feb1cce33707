/* Unit tests for auth.c: CIDR matching and the access decision (token, allow-list). */
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
	/* Prometheus scrapers need no token, but the network list holds for them too */
	assert_int_equal(auth_check(&a, "/metrics", NULL, NULL, (struct sockaddr *)&lo), 0);
	assert_int_equal(auth_check(&a, "/metrics", NULL, NULL, (struct sockaddr *)&out), 403);
	assert_int_equal(auth_check(&a, "/metrics/x", NULL, NULL, (struct sockaddr *)&lo), 401);
	/* the document and the stream are API routes */
	assert_int_equal(auth_check(&a, "/openapi.json", NULL, NULL, (struct sockaddr *)&lo), 401);
	assert_int_equal(
		auth_check(&a, "/api/heartbeat/stream", NULL, NULL, (struct sockaddr *)&lo), 401);
	auth_clear(&a);
	assert_int_equal(auth_init(&a, "", "any", err, sizeof(err)), 0);
	assert_int_equal(auth_check(&a, "/api/wol", NULL, NULL, (struct sockaddr *)&out), 0);
	auth_clear(&a);
	assert_int_equal(auth_init(&a, NULL, " , ", err, sizeof(err)), -EINVAL);
	assert_int_equal(auth_init(&a, NULL, "10.0.0.0/8,bogus", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	auth_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_auth_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

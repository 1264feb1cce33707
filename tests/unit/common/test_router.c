/* Unit tests: route matching, path parameters, 404/405 and HEAD-as-GET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/http.h"
#include "common/router.h"

static void h(struct http_request *req)
{
	(void)req;
}

static const struct http_route routes[] = {
	{ .method = "POST", .path = "/session", .handler = h },
	{ .method = "POST", .path = "/session/heartbeat", .handler = h },
	{ .method = "GET", .path = "/session/{session_id}", .handler = h },
	{ .method = "DELETE", .path = "/session/{session_id}", .handler = h },
	{ .method = "GET", .path = "/lab", .handler = h },
	{ .method = "POST", .path = "/lab", .handler = h },
	{ .method = "DELETE", .path = "/lab", .handler = h },
	{ .method = "GET", .path = "/a/{x}/b/{y}", .handler = h },
};
#define N (sizeof(routes) / sizeof(routes[0]))

static void test_found_with_params(void **state)
{
	struct router_match m;

	assert_int_equal(router_match(routes, N, "GET", "/session/abc-123", false, &m),
			 ROUTER_FOUND);
	assert_ptr_equal(m.route, &routes[2]);
	assert_string_equal(router_param(&m, "session_id"), "abc-123");
	assert_null(router_param(&m, "nope"));
	assert_int_equal(router_match(routes, N, "GET", "/a/1/b/2", false, &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "x"), "1");
	assert_string_equal(router_param(&m, "y"), "2");
}

static void test_first_full_match_wins(void **state)
{
	struct router_match m;

	/* The original's quirk: GET /session/heartbeat reaches GET /session/{id}. */
	assert_int_equal(router_match(routes, N, "GET", "/session/heartbeat", false, &m),
			 ROUTER_FOUND);
	assert_ptr_equal(m.route, &routes[2]);
	assert_int_equal(router_match(routes, N, "POST", "/session/heartbeat", false, &m),
			 ROUTER_FOUND);
	assert_ptr_equal(m.route, &routes[1]);
}

static void test_not_found_and_405(void **state)
{
	struct router_match m;

	assert_int_equal(router_match(routes, N, "GET", "/nope", false, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(routes, N, "GET", "/session/", false, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(routes, N, "GET", "/session/a/b", false, &m),
			 ROUTER_NOT_FOUND);
	assert_int_equal(router_match(routes, N, "GET", "", false, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(routes, N, "GET", "lab", false, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(routes, N, "PUT", "/lab", false, &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "GET, POST, DELETE");
	assert_int_equal(router_match(routes, N, "GET", "/session", false, &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "POST");
}

static void test_head(void **state)
{
	struct router_match m;

	assert_int_equal(router_match(routes, N, "HEAD", "/lab", false, &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(router_match(routes, N, "HEAD", "/lab", true, &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &routes[4]);
	assert_int_equal(router_match(routes, N, "PATCH", "/lab", true, &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "GET, HEAD, POST, DELETE");
}

static void test_long_param(void **state)
{
	struct router_match m;
	char path[ROUTER_PARAM_MAX + 32];

	memcpy(path, "/session/", 9);
	memset(path + 9, 'x', ROUTER_PARAM_MAX);
	path[9 + ROUTER_PARAM_MAX] = '\0';
	assert_int_equal(router_match(routes, N, "GET", path, false, &m), ROUTER_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_with_params),
		cmocka_unit_test(test_first_full_match_wins),
		cmocka_unit_test(test_not_found_and_405),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_long_param),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

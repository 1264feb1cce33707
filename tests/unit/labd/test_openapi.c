/* Unit test: the OpenAPI document served at /openapi.json names exactly the routes the server
 * has — every route of the table is in the document, every path and method of the document
 * is a route — and it is an OpenAPI 3.1 document. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api.h"

static json_t *document(void)
{
	size_t len;
	const char *text = api_openapi_document(&len);
	json_error_t err;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);

	assert_non_null(doc);
	return doc;
}

static void lower(const char *in, char *out, size_t n)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

static void test_every_route_is_documented(void **state)
{
	json_t *doc = document(), *paths = json_object_get(doc, "paths");
	const struct http_route *routes;
	size_t n, i;
	char method[16];

	routes = api_routes_get(&n, 1 << 20);
	assert_true(n > 10);
	for (i = 0; i < n; i++) {
		json_t *p = json_object_get(paths, routes[i].path);

		lower(routes[i].method, method, sizeof(method));
		if (p == NULL || json_object_get(p, method) == NULL)
			fail_msg("route %s %s is not in openapi.json", routes[i].method,
				 routes[i].path);
	}
	json_decref(doc);
}

static void test_every_documented_path_is_a_route(void **state)
{
	json_t *doc = document(), *paths = json_object_get(doc, "paths"), *ops, *op;
	const struct http_route *routes;
	const char *path, *method;
	size_t n, i;
	char m[16];
	bool found;

	routes = api_routes_get(&n, 1 << 20);
	json_object_foreach (paths, path, ops) {
		json_object_foreach (ops, method, op) {
			found = false;
			for (i = 0; i < n && !found; i++) {
				lower(routes[i].method, m, sizeof(m));
				found = strcmp(routes[i].path, path) == 0 && strcmp(m, method) == 0;
			}
			if (!found)
				fail_msg("openapi.json has %s %s, which the server does not serve",
					 method, path);
			assert_non_null(json_object_get(op, "responses"));
		}
	}
	json_decref(doc);
}

static void test_is_openapi_3_1(void **state)
{
	json_t *doc = document();

	assert_true(strncmp(json_string_value(json_object_get(doc, "openapi")), "3.1.", 4) == 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(doc, "info"), "title")),
		"neops-remote-lab");
	assert_true(json_is_object(json_object_get(json_object_get(doc, "components"), "schemas")));
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_is_documented),
		cmocka_unit_test(test_every_documented_path_is_a_route),
		cmocka_unit_test(test_is_openapi_3_1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the OpenAPI document (openapi.json, embedded): valid JSON, OpenAPI 3.1.x,
 * every route of api.c's table in it and every operation in it served by a route, request
 * bodies documented exactly for the routes that read one, every $ref resolvable. */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "api.h"
#include "common/router.h"
#include "openapi.h"

static const char *const operations[] = { "get",  "put",   "post",  "delete", "options",
					  "head", "patch", "trace", NULL };

static json_t *load(void)
{
	json_error_t e;
	json_t *doc = json_loads(openapi_json, JSON_REJECT_DUPLICATES, &e);

	if (doc == NULL)
		fail_msg("openapi.json line %d: %s", e.line, e.text);
	return doc;
}

static bool is_operation(const char *key)
{
	size_t i;

	for (i = 0; operations[i]; i++)
		if (strcmp(operations[i], key) == 0)
			return true;
	return false;
}

static void test_document(void **state)
{
	json_t *doc = load();
	const char *v = json_string_value(json_object_get(doc, "openapi"));
	regex_t re;

	assert_non_null(v);
	assert_int_equal(regcomp(&re, "^3\\.1\\.[0-9]+$", REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, v, 0, NULL, 0), 0);
	regfree(&re);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(doc, "info"), "title")),
		"ops-worker");
	/* a version bump needs a look at the document */
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(doc, "info"), "version")),
		RL_VERSION);
	json_decref(doc);
}

/* Every route is documented, with a request body exactly when it reads one. */
static void test_routes_in_document(void **state)
{
	json_t *doc = load(), *paths = json_object_get(doc, "paths");
	char method[16];
	size_t i, j;

	for (i = 0; i < api_n_routes; i++) {
		const struct http_route *rt = &api_routes[i];
		json_t *op;

		for (j = 0; rt->method[j] && j < sizeof(method) - 1; j++)
			method[j] = (char)(rt->method[j] | 0x20);
		method[j] = '\0';
		op = json_object_get(json_object_get(paths, rt->path), method);
		if (op == NULL)
			fail_msg("%s %s is served but not in openapi.json", rt->method, rt->path);
		if ((json_object_get(op, "requestBody") != NULL) != (rt->body == HTTP_BODY_BUFFER))
			fail_msg("%s %s: requestBody documented %s, the route %s a body",
				 rt->method, rt->path,
				 json_object_get(op, "requestBody") ? "yes" : "no",
				 rt->body == HTTP_BODY_BUFFER ? "reads" : "reads no");
	}
	json_decref(doc);
}

/* Every documented operation is served (HEAD by the GET route, as the server does). */
static void test_document_served(void **state)
{
	json_t *doc = load(), *paths = json_object_get(doc, "paths"), *item, *op,
	       *ids = json_object();
	const char *path, *key, *id;
	struct router_match m;
	char method[16];
	size_t n = 0, j;

	json_object_foreach (paths, path, item) {
		json_object_foreach (item, key, op) {
			if (!is_operation(key)) {
				assert_true(strcmp(key, "summary") == 0 ||
					    strcmp(key, "description") == 0 ||
					    strcmp(key, "parameters") == 0);
				continue;
			}
			for (j = 0; key[j] && j < sizeof(method) - 1; j++)
				method[j] = (char)(key[j] & ~0x20);
			method[j] = '\0';
			if (router_match(api_routes, api_n_routes, method, path, true, &m) !=
			    ROUTER_FOUND)
				fail_msg("openapi.json documents %s %s, which is not served",
					 method, path);
			/* the pattern itself, not a route that happens to match the text */
			assert_string_equal(m.route->path, path);
			/* each operation: a unique id and at least one 2xx answer */
			id = json_string_value(json_object_get(op, "operationId"));
			assert_non_null(id);
			assert_null(json_object_get(ids, id));
			json_object_set_new(ids, id, json_true());
			{
				const char *code;
				json_t *r;
				bool ok = false;

				json_object_foreach (json_object_get(op, "responses"), code, r)
					ok = ok || code[0] == '2';
				if (!ok)
					fail_msg("%s %s documents no 2xx answer", method, path);
			}
			n++;
		}
	}
	assert_true(n >= api_n_routes);
	json_decref(ids);
	json_decref(doc);
}

/* "#/a/b" → the value in doc (JSON pointer, ~0 and ~1 escapes). */
static json_t *resolve(json_t *doc, const char *ref)
{
	char token[256];
	const char *p = ref + 1, *end;
	size_t n, i, k;

	while (*p == '/') {
		p++;
		end = strchr(p, '/');
		n = end ? (size_t)(end - p) : strlen(p);
		for (i = k = 0; i < n && k < sizeof(token) - 1; i++) {
			if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
				token[k++] = p[i + 1] == '0' ? '~' : '/';
				i++;
			} else {
				token[k++] = p[i];
			}
		}
		token[k] = '\0';
		doc = json_object_get(doc, token);
		if (doc == NULL)
			return NULL;
		p += n;
	}
	return *p == '\0' ? doc : NULL;
}

static void check_refs(json_t *doc, json_t *v, unsigned *count)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			check_refs(doc, x, count);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach (v, key, x) {
		if (strcmp(key, "$ref") == 0 && json_is_string(x)) {
			const char *ref = json_string_value(x);

			if (ref[0] != '#' || resolve(doc, ref) == NULL)
				fail_msg("unresolved $ref %s", ref);
			(*count)++;
		} else {
			check_refs(doc, x, count);
		}
	}
}

static void test_refs(void **state)
{
	json_t *doc = load();
	unsigned n = 0;

	check_refs(doc, doc, &n);
	assert_true(n > 10);
	assert_null(resolve(doc, "#/components/schemas/Nothing"));
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_routes_in_document),
		cmocka_unit_test(test_document_served),
		cmocka_unit_test(test_refs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

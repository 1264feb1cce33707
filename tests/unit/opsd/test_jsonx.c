/* Unit tests for jsonx.c: the original's Python coercions (truthiness, bool, int, str, args,
 * lossy UTF-8). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonx.h"

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
	assert_true(jsonx_parse_bool(json_array_get(v, 8), true)); /* None -> default */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

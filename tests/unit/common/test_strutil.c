/* Unit tests for strutil.c: number/bool parsing and string helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/strutil.h"

static void test_parse_numbers(void **state)
{
	uint64_t u;
	int64_t i;
	double d;

	assert_int_equal(parse_u64("8000", 1, 65535, &u), 0);
	assert_int_equal(u, 8000);
	assert_int_equal(parse_u64("65536", 1, 65535, &u), -ERANGE);
	assert_int_equal(parse_u64("-1", 0, 10, &u), -EINVAL);
	assert_int_equal(parse_u64("12x", 0, 100, &u), -EINVAL);
	assert_int_equal(parse_u64("", 0, 100, &u), -EINVAL);
	assert_int_equal(parse_u64(" 1", 0, 100, &u), -EINVAL);
	assert_int_equal(parse_u64("99999999999999999999999", 0, UINT64_MAX, &u), -ERANGE);
	assert_int_equal(parse_i64("-5", -10, 10, &i), 0);
	assert_int_equal(i, -5);
	assert_int_equal(parse_i64("abc", -10, 10, &i), -EINVAL);
	assert_int_equal(parse_double("1.5", 0, 10, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(parse_double("nan", 0, 10, &d), -EINVAL);
	assert_int_equal(parse_double("inf", 0, 10, &d), -EINVAL);
	assert_int_equal(parse_double("-1", 0, 10, &d), -ERANGE);
	assert_int_equal(parse_size("16M", UINT64_MAX, &u), 0);
	assert_int_equal(u, 16ULL << 20);
	assert_int_equal(parse_size("2k", UINT64_MAX, &u), 0);
	assert_int_equal(u, 2048);
	assert_int_equal(parse_size("2k", 1000, &u), -ERANGE);
	assert_int_equal(parse_size("M", UINT64_MAX, &u), -EINVAL);
}

static void test_parse_bool(void **state)
{
	static const char *const t[] = { "true", "TRUE", "1", "yes", "On", "t", "Y" };
	static const char *const f[] = { "false", "0", "NO", "off", "f", "n" };
	static const char *const bad[] = { "", "2", "truthy", "nope", " true" };
	bool b;
	size_t k;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		assert_int_equal(parse_bool_strict(t[k], &b), 0);
		assert_true(b);
	}
	for (k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
		assert_int_equal(parse_bool_strict(f[k], &b), 0);
		assert_false(b);
	}
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(parse_bool_strict(bad[k], &b), -EINVAL);
}

static void test_strings(void **state)
{
	char small[4];

	assert_int_equal(strlcpy_rl(small, "abcdef", sizeof(small)), 6);
	assert_string_equal(small, "abc");
	assert_true(str_has_suffix_ci("topo.YAML", ".yaml"));
	assert_false(str_has_suffix_ci("yml", ".yml"));
	assert_true(str_has_prefix("env:X", "env:"));
	assert_true(str_equal_ct("secret", "secret"));
	assert_false(str_equal_ct("secret", "secreT"));
	assert_false(str_equal_ct("secret", "secret2"));
	assert_false(str_equal_ct("", "x"));
	assert_true(str_equal_ct("", ""));
}

static void test_trim_items_secrets(void **state)
{
	const char *p = "\t a b \n", *list = " status , ,hello,", *item;
	size_t n = strlen(p);
	char *t, *secret;

	str_trim(&p, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "a b", 3);
	p = " \r\n";
	n = strlen(p);
	str_trim(&p, &n);
	assert_int_equal(n, 0);
	t = str_trim_dup("  x y\v", 6); /* the length bounds the copy */
	assert_string_equal(t, "x y");
	free(t);
	t = str_trim_dup("   ", 3);
	assert_string_equal(t, "");
	free(t);
	assert_true(str_next_item(&list, ',', &item, &n));
	assert_int_equal(n, 6);
	assert_memory_equal(item, "status", 6);
	assert_true(str_next_item(&list, ',', &item, &n));
	assert_int_equal(n, 0);
	assert_true(str_next_item(&list, ',', &item, &n));
	assert_int_equal(n, 5);
	assert_memory_equal(item, "hello", 5);
	assert_false(str_next_item(&list, ',', &item, &n)); /* a trailing separator ends it */
	list = "";
	assert_false(str_next_item(&list, ',', &item, &n));
	secret = strdup("hunter2");
	assert_non_null(secret);
	str_free_secret(secret);
	str_free_secret(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_trim_items_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

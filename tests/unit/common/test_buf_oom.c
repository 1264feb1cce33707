/* Unit tests for buf_oom.c: the daemons' buffer calls (limits, tail, printf, steal). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"

static void test_buf_limit(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "abcd", 4), 0);
	assert_int_equal(buf_append(&b, "efgh", 4), 0);
	assert_int_equal(buf_append(&b, "i", 1), -E2BIG);
	assert_string_equal(buf_cstr(&b), "abcdefgh");
	assert_int_equal(b.len, 8);
	buf_free(&b);
	buf_free(NULL);
}

static void test_buf_tail(void **state)
{
	struct buf b;

	buf_init(&b, 5);
	buf_append_tail(&b, "abc", 3);
	buf_append_tail(&b, "defg", 4);
	assert_string_equal(buf_cstr(&b), "cdefg");
	assert_int_equal(b.dropped, 2);
	buf_append_tail(&b, "0123456789", 10);
	assert_string_equal(buf_cstr(&b), "56789");
	assert_int_equal(b.dropped, 12);
	buf_free(&b);
}

static void test_buf_printf_steal(void **state)
{
	struct buf b;
	size_t len;
	char *s;

	buf_init(&b, 100);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	s = buf_steal(&b, &len);
	assert_string_equal(s, "42-x");
	assert_int_equal(len, 4);
	assert_int_equal(b.len, 0);
	free(s);
	buf_init(&b, 3);
	assert_int_equal(buf_printf(&b, "%s", "long"), -E2BIG);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_tail),
		cmocka_unit_test(test_buf_printf_steal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for buf.c (rl_buf): limits, -ENOMEM leaving the buffer unchanged, tail mode,
 * steal, wipe. Linked against rl_buf alone, which proves the library needs nothing else. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"

/* -Wl,--wrap=malloc,--wrap=realloc: fail_realloc makes the next allocation fail (malloc too:
 * clang turns a realloc of a pointer it knows is NULL into malloc). */
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static bool fail_realloc;

void *__wrap_malloc(size_t n)
{
	if (fail_realloc) {
		fail_realloc = false;
		return NULL;
	}
	return __real_malloc(n);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (fail_realloc) {
		fail_realloc = false;
		return NULL;
	}
	return __real_realloc(p, n);
}

static void test_limit(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_null(b.data);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_try_append(&b, "abcd", 4), 0);
	assert_int_equal(buf_try_append_str(&b, "efgh"), 0);
	assert_int_equal(buf_try_append(&b, "i", 1), -E2BIG);
	assert_int_equal(buf_reserve(&b, 1), -E2BIG);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -E2BIG);
	assert_string_equal(buf_cstr(&b), "abcdefgh");
	assert_int_equal(b.len, 8);
	assert_true(b.cap <= 9); /* never much beyond the maximum */
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.max, 8); /* still usable */
	assert_int_equal(buf_try_append(&b, "x", 1), 0);
	buf_free(&b);
	buf_free(NULL);
	buf_wipe_free(NULL);
}

static void test_enomem_changes_nothing(void **state)
{
	struct buf b;
	char big[1000], *p;
	size_t len;

	memset(big, 'x', sizeof(big));
	buf_init(&b, 1 << 20);
	fail_realloc = true;
	assert_int_equal(buf_try_append(&b, "abc", 3), -ENOMEM);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	fail_realloc = true;
	assert_int_equal(buf_ensure(&b), -ENOMEM);
	fail_realloc = true;
	assert_int_equal(buf_try_steal(&b, &p, &len), -ENOMEM);
	assert_int_equal(buf_try_append(&b, "abc", 3), 0);
	/* Growing past the first allocation fails without touching the contents. */
	fail_realloc = true;
	assert_int_equal(buf_try_append(&b, big, sizeof(big)), -ENOMEM);
	assert_int_equal(b.len, 3);
	assert_string_equal(buf_cstr(&b), "abc");
	fail_realloc = true;
	assert_int_equal(buf_try_printf(&b, "%0999d", 1), -ENOMEM);
	assert_string_equal(buf_cstr(&b), "abc");
	fail_realloc = true;
	assert_int_equal(buf_reserve(&b, 4096), -ENOMEM);
	fail_realloc = true;
	assert_int_equal(buf_try_append_tail(&b, big, sizeof(big)), -ENOMEM);
	assert_string_equal(buf_cstr(&b), "abc");
	assert_int_equal(b.dropped, 0);
	buf_free(&b);
}

static void test_printf(void **state)
{
	struct buf b;

	buf_init(&b, 6);
	assert_int_equal(buf_try_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(buf_cstr(&b), "42-x");
	assert_int_equal(buf_try_printf(&b, "%s", "abc"), -E2BIG);
	assert_string_equal(buf_cstr(&b), "42-x");
	assert_int_equal(buf_try_printf(&b, "%s", "ab"), 0);
	assert_string_equal(buf_cstr(&b), "42-xab");
	buf_free(&b);
}

static void test_tail(void **state)
{
	struct buf b;

	buf_init(&b, 5);
	assert_int_equal(buf_try_append_tail(&b, "abc", 3), 0);
	assert_int_equal(buf_try_append_tail(&b, "defg", 4), 0);
	assert_string_equal(buf_cstr(&b), "cdefg");
	assert_int_equal(b.dropped, 2);
	assert_int_equal(buf_try_append_tail(&b, "0123456789", 10), 0);
	assert_string_equal(buf_cstr(&b), "56789");
	assert_int_equal(b.dropped, 12);
	buf_free(&b);
	buf_init(&b, 0);
	assert_int_equal(buf_try_append_tail(&b, "abc", 3), 0);
	assert_int_equal(b.dropped, 3);
	assert_null(b.data);
	buf_free(&b);
}

static void test_binary_steal_ensure(void **state)
{
	static const char bin[] = { 'a', '\0', 'b', '\xff' };
	struct buf b;
	char *p;
	size_t len;

	buf_init(&b, 64);
	assert_int_equal(buf_try_steal(&b, &p, &len), 0); /* empty: "" never NULL */
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	assert_int_equal(buf_try_append(&b, bin, sizeof(bin)), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, bin, 4);
	assert_int_equal(b.data[4], '\0'); /* NUL after the data */
	assert_int_equal(buf_try_steal(&b, &p, NULL), 0);
	assert_memory_equal(p, bin, 4);
	free(p);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_ensure(&b), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_ensure(&b), 0);
	buf_free(&b);
}

static void test_reserve_then_no_realloc(void **state)
{
	struct buf b;
	char *before;

	buf_init(&b, 1 << 16);
	assert_int_equal(buf_reserve(&b, 5000), 0);
	before = b.data;
	fail_realloc = true; /* a realloc now would fail the appends below */
	assert_int_equal(buf_try_append(&b, "secret", 6), 0);
	for (int i = 0; i < 400; i++)
		assert_int_equal(buf_try_append(&b, "0123456789", 10), 0);
	assert_ptr_equal(b.data, before);
	fail_realloc = false;
	buf_wipe_free(&b);
	assert_null(b.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_enomem_changes_nothing),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_binary_steal_ensure),
		cmocka_unit_test(test_reserve_then_no_realloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

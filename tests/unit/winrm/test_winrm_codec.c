/* Unit tests for winrm_codec.c: base64 (vectors, errors, binary round trip) and strict
 * UTF-8 to UTF-16LE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "winrm/winrm_int.h"

static void test_b64_encode(void **state)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "",         "Zg==",     "Zm8=",    "Zm9v",
					   "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	size_t i;

	for (i = 0; i < 7; i++) {
		char *s;

		assert_int_equal(winrm_codec_b64_encode(in[i], strlen(in[i]), &s), 0);
		assert_string_equal(s, out[i]);
		free(s);
	}
}

static void test_b64_decode(void **state)
{
	static const char *const good[][2] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ " Zm9v\r\nYmFy \n", "foobar" },
		{ "Zm9vYg==", "foob" },
	};
	static const char *const bad[] = {
		"Z", "Zg=", "Zg===", "Z===", "Zm9v=", "Zg==Zg==", "Zm9-", "Zm9v!", "=Zm9",
	};
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		buf_init(&b, 100);
		assert_int_equal(winrm_codec_b64_decode(good[i][0], strlen(good[i][0]), &b), 0);
		assert_int_equal(b.len, strlen(good[i][1]));
		if (b.len)
			assert_memory_equal(b.data, good[i][1], b.len);
		buf_free(&b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_init(&b, 100);
		assert_int_equal(winrm_codec_b64_decode(bad[i], strlen(bad[i]), &b), -EINVAL);
		buf_free(&b);
	}
}

static void test_b64_binary_round_trip(void **state)
{
	/* Several staging chunks' worth of every byte value. */
	size_t n = 3 * 4096 * 3 + 7, i;
	uint8_t *raw = malloc(n);
	struct buf b;
	char *s;

	assert_non_null(raw);
	for (i = 0; i < n; i++)
		raw[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(winrm_codec_b64_encode(raw, n, &s), 0);
	buf_init(&b, n);
	assert_int_equal(winrm_codec_b64_decode(s, strlen(s), &b), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, raw, n);
	buf_free(&b);
	/* One byte less room: the cap is hit. */
	buf_init(&b, n - 1);
	assert_int_equal(winrm_codec_b64_decode(s, strlen(s), &b), -E2BIG);
	buf_free(&b);
	free(s);
	free(raw);
}

static void test_utf16le(void **state)
{
	struct buf b;
	static const char *const bad[] = {
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\x80",     "\xc3",         "a\xff",        "\xf0\x9f\x98",
	};
	size_t i;

	buf_init(&b, 100);
	assert_int_equal(winrm_codec_utf8_to_utf16le("é€😀", strlen("é€😀"), &b), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "\xe9\x00\xac\x20\x3d\xd8\x00\xde", 8);
	buf_free(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_init(&b, 100);
		assert_int_equal(winrm_codec_utf8_to_utf16le(bad[i], strlen(bad[i]), &b), -EILSEQ);
		assert_false(winrm_codec_utf8_valid(bad[i], strlen(bad[i])));
		buf_free(&b);
	}
	assert_true(winrm_codec_utf8_valid("plain \xc3\xa9", 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_encode),
		cmocka_unit_test(test_b64_decode),
		cmocka_unit_test(test_b64_binary_round_trip),
		cmocka_unit_test(test_utf16le),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

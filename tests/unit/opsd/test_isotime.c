/* Unit tests for isotime.c: ISO-8601 parsing and formatting, the database form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isotime.h"

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
	assert_true(parse("2026-01-01 12:00:00") == base); /* naive = UTC, DB form */
	assert_true(parse("2026-01-01T13:30:00+01:30") == base);
	assert_true(parse("2026-01-01T07:00:00-0500") == base);
	assert_true(parse("2026-01-01T12:00:00.5Z") == base + 500000);
	assert_true(parse("2026-01-01T12:00:00.123456789Z") == base + 123456);
	assert_true(parse("2026-01-01T12:00Z") == base);
	assert_true(parse("2026-01-01") == base - 12LL * 3600 * 1000000);
	assert_true(parse("1969-12-31T23:59:59Z") == -1000000);
	assert_true(parse("2024-02-29T00:00:00Z") > 0);
	{
		static const char *const bad[] = { "",
						   "2026",
						   "2026-13-01",
						   "2026-02-30T00:00:00",
						   "2023-02-29",
						   "2026-01-01T24:00:00",
						   "2026-01-01T12:00:00+",
						   "2026-01-01T12:00:00ZZ",
						   "2026-01-01T12:00:00.",
						   "2026-01-01T12:60",
						   "2026-01-01T12:00:00.1234567890Z",
						   "x026-01-01" };
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isotime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

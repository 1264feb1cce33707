/* Unit tests for winrm_err.c: error text formatting, flattening remote text, scrubbing the
 * password. */
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

static void test_err_text(void **state)
{
	char buf[16], big[64];

	assert_int_equal(winrm_err(buf, sizeof(buf), -EIO, "%s", "0123456789abcdefXYZ"), -EIO);
	assert_string_equal(buf, "0123456789abcde");
	assert_int_equal(winrm_err(NULL, 0, -EIO, "x"), -EIO);

	winrm_err_sanitize(big, sizeof(big), "  a\r\n\tb\x01  c  ", 15);
	assert_string_equal(big, "a b c");
	/* A UTF-8 sequence cut by the limit is dropped, not left half. */
	winrm_err_sanitize(buf, 5, "abc\xc3\xa9", 5);
	assert_string_equal(buf, "abc");

	snprintf(big, sizeof(big), "pw=hunter2 and hunter2!");
	winrm_err_scrub(big, "hunter2");
	assert_string_equal(big, "pw=*** and ***!");
	snprintf(big, sizeof(big), "a**b");
	winrm_err_scrub(big, "*");
	assert_string_equal(big, "a**b");
	snprintf(big, sizeof(big), "xyx");
	winrm_err_scrub(big, "");
	winrm_err_scrub(NULL, "x");
	assert_string_equal(big, "xyx");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for config.c: the original's parse_bool on environment values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static void test_config_bool(void **state)
{
	assert_true(config_parse_bool(NULL, true));
	assert_false(config_parse_bool(NULL, false));
	assert_false(config_parse_bool(" Off ", true));
	assert_true(config_parse_bool("", false));
	assert_true(config_parse_bool("yes please", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_bool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

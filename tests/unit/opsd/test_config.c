/* Unit tests for config.c: the original's parse_bool on environment values, the claim TTL. */
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

/* The default claim TTL is the longest step's deadline plus slack, not an hour. */
static void test_claim_ttl(void **state)
{
	struct opsd_config c;
	char err[256];

	unsetenv("OPS_RESERVATION_CLAIM_TTL");
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_true(c.claim_ttl == 0); /* auto */
	/* defaults: 3 wakes x (10 s wait + 10 s check) + 600 s WinRM + 2 x 5 s cleanup + 60 s */
	assert_true(config_claim_ttl(&c, 3) == 730);
	/* a host with more attempts lengthens the start step */
	assert_true(config_claim_ttl(&c, 10) == 870);
	c.winrm_read_timeout = 2; /* cleanup requests get min(read timeout, 5 s) each */
	assert_true(config_claim_ttl(&c, 3) == 724);
	c.winrm_total_timeout = 0; /* no WinRM deadline: no bound, the old hour */
	assert_true(config_claim_ttl(&c, 3) == CONFIG_CLAIM_TTL_UNBOUNDED);
	config_free(&c);
	setenv("OPS_RESERVATION_CLAIM_TTL", "90", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_true(config_claim_ttl(&c, 3) == 90); /* an explicit value wins */
	config_free(&c);
	setenv("OPS_RESERVATION_CLAIM_TTL", "0", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), -EINVAL);
	config_free(&c);
	unsetenv("OPS_RESERVATION_CLAIM_TTL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_bool),
		cmocka_unit_test(test_claim_ttl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

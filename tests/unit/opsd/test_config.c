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

static const char *const conn_vars[] = {
	"OPS_MAX_CONNECTIONS",         "OPS_MAX_CONNECTIONS_PER_ADDRESS",    "OPS_REQUEST_TIMEOUT",
	"OPS_IDLE_CONNECTION_TIMEOUT", "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS", NULL,
};

static void conn_unset(void)
{
	size_t i;

	for (i = 0; conn_vars[i]; i++)
		unsetenv(conn_vars[i]);
}

/* Load with the connection variables given as NAME=VALUE pairs; the others unset. */
static int conn_load(struct opsd_config *c, char *err, size_t errlen, ...)
{
	const char *name, *value;
	va_list ap;
	int r;

	conn_unset();
	va_start(ap, errlen);
	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		setenv(name, value, 1);
	}
	va_end(ap);
	err[0] = '\0';
	r = config_load(c, err, errlen);
	if (r == 0)
		assert_string_equal(err, "");
	return r;
}

/* Issue 9 item 3: the connection limits are settings with defaults, ranges and checks. */
static void test_connections(void **state)
{
	struct opsd_config c;
	char err[256];

	assert_int_equal(conn_load(&c, err, sizeof(err), NULL), 0);
	assert_int_equal(c.max_connections, 512);
	assert_int_equal(c.max_per_address, 128); /* a quarter */
	assert_int_equal(c.request_timeout, 60);
	assert_int_equal(c.idle_timeout, 300);
	assert_true(c.stream_interval == 10);
	config_free(&c);

	assert_int_equal(conn_load(&c, err, sizeof(err), "OPS_MAX_CONNECTIONS", " 6 ",
				   "OPS_REQUEST_TIMEOUT", "2", "OPS_IDLE_CONNECTION_TIMEOUT", "5",
				   "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS", "0", NULL),
			 0);
	assert_int_equal(c.max_connections, 6);
	assert_int_equal(c.max_per_address, 1); /* a quarter, at least one */
	assert_int_equal(c.request_timeout, 2);
	assert_int_equal(c.idle_timeout, 5);
	assert_true(c.stream_interval == 0);
	config_free(&c);

	assert_int_equal(
		conn_load(&c, err, sizeof(err), "OPS_MAX_CONNECTIONS_PER_ADDRESS", "8", NULL), 0);
	assert_int_equal(c.max_per_address, 8);
	config_free(&c);

	/* an idle timeout below the default request deadline lowers the deadline ... */
	assert_int_equal(conn_load(&c, err, sizeof(err), "OPS_IDLE_CONNECTION_TIMEOUT", "30", NULL),
			 0);
	assert_int_equal(c.request_timeout, 30);
	config_free(&c);
	/* ... but an explicit deadline above it is an error, as is every bad value */
	assert_int_equal(conn_load(&c, err, sizeof(err), "OPS_IDLE_CONNECTION_TIMEOUT", "30",
				   "OPS_REQUEST_TIMEOUT", "31", NULL),
			 -EINVAL);
	assert_string_equal(err, "OPS_REQUEST_TIMEOUT (31) must not exceed "
				 "OPS_IDLE_CONNECTION_TIMEOUT (30)");
	config_free(&c);
	assert_int_equal(conn_load(&c, err, sizeof(err), "OPS_MAX_CONNECTIONS", "100",
				   "OPS_MAX_CONNECTIONS_PER_ADDRESS", "101", NULL),
			 -EINVAL);
	assert_string_equal(err, "OPS_MAX_CONNECTIONS_PER_ADDRESS (101) must not exceed "
				 "OPS_MAX_CONNECTIONS (100)");
	config_free(&c);
	assert_int_equal(conn_load(&c, err, sizeof(err), "OPS_MAX_CONNECTIONS", "3", NULL),
			 -EINVAL);
	assert_string_equal(err, "OPS_MAX_CONNECTIONS must be an integer between 4 and 1000000");
	config_free(&c);
	assert_int_equal(conn_load(&c, err, sizeof(err), "OPS_REQUEST_TIMEOUT", "0", NULL),
			 -EINVAL);
	config_free(&c);
	assert_int_equal(conn_load(&c, err, sizeof(err), "OPS_IDLE_CONNECTION_TIMEOUT", "1x", NULL),
			 -EINVAL);
	config_free(&c);
	assert_int_equal(
		conn_load(&c, err, sizeof(err), "OPS_MAX_CONNECTIONS_PER_ADDRESS", "-1", NULL),
		-EINVAL);
	config_free(&c);
	assert_int_equal(
		conn_load(&c, err, sizeof(err), "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS", "0.01", NULL),
		-EINVAL);
	config_free(&c);
	conn_unset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_bool),
		cmocka_unit_test(test_claim_ttl),
		cmocka_unit_test(test_connections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for WinRM target resolution and the argument checks of the public API. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "winrm/winrm_int.h"

#define PASSWORD "Sup3r-s3cret!"

static struct winrm_target target(const char *transport)
{
	struct winrm_target t;

	memset(&t, 0, sizeof(t));
	t.host = "10.0.0.5";
	t.transport = transport;
	t.user = "labuser";
	t.password = PASSWORD;
	return t;
}

static int resolve(const struct winrm_target *t, struct winrm_conf *c, char *err, size_t n)
{
	err[0] = 0;
	return winrm_conf_resolve(t, c, err, n);
}

static void test_transports(void **state)
{
	static const struct {
		const char *transport;
		const char *scheme;
		const char *url;
		enum winrm_auth auth;
		bool https;
		bool encrypt;
	} cases[] = {
		{ NULL, NULL, "http://10.0.0.5:5985/wsman", WINRM_AUTH_NTLM, false, true },
		{ "", NULL, "http://10.0.0.5:5985/wsman", WINRM_AUTH_NTLM, false, true },
		{ "ntlm", NULL, "http://10.0.0.5:5985/wsman", WINRM_AUTH_NTLM, false, true },
		{ "NTLM", "https", "https://10.0.0.5:5986/wsman", WINRM_AUTH_NTLM, true, false },
		{ "basic", NULL, "http://10.0.0.5:5985/wsman", WINRM_AUTH_BASIC, false, false },
		{ "basic", "https", "https://10.0.0.5:5986/wsman", WINRM_AUTH_BASIC, true, false },
		{ "plaintext", NULL, "http://10.0.0.5:5985/wsman", WINRM_AUTH_BASIC, false, false },
		{ "ssl", NULL, "https://10.0.0.5:5986/wsman", WINRM_AUTH_BASIC, true, false },
		{ "ssl", "HTTPS", "https://10.0.0.5:5986/wsman", WINRM_AUTH_BASIC, true, false },
	};
	struct winrm_conf c;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct winrm_target t = target(cases[i].transport);

		t.scheme = cases[i].scheme;
		assert_int_equal(resolve(&t, &c, err, sizeof(err)), 0);
		assert_string_equal(c.url, cases[i].url);
		assert_string_equal(c.host, "10.0.0.5");
		assert_int_equal(c.auth, cases[i].auth);
		assert_int_equal(c.https, cases[i].https);
		assert_int_equal(c.encrypt, cases[i].encrypt);
		assert_int_equal(c.read_timeout_ms, 30000);
		assert_int_equal(c.operation_timeout_ms, 20000);
		assert_int_equal(c.codepage, 437);
		assert_int_equal(c.max_output, 16u * 1024 * 1024);
		winrm_conf_done(&c);
	}
}

static void test_unsupported_transports(void **state)
{
	static const char *const names[] = { "kerberos", "credssp", "certificate", "negotiate",
					     "ntlm-plain" };
	struct winrm_conf c;
	char err[256], want[128];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct winrm_target t = target(names[i]);

		assert_int_equal(resolve(&t, &c, err, sizeof(err)), -ENOTSUP);
		snprintf(want, sizeof(want), "WinRM transport '%s' is not supported", names[i]);
		assert_string_equal(err, want);
	}
	/* Hostile transport text is shortened and flattened in the message. */
	{
		struct winrm_target t =
			target("evil\r\nInjected: header and a very long tail that goes on");

		assert_int_equal(resolve(&t, &c, err, sizeof(err)), -ENOTSUP);
		assert_null(strchr(err, '\n'));
		assert_true(strlen(err) < 100);
	}
}

static void test_endpoint_rules(void **state)
{
	struct winrm_target t;
	struct winrm_conf c;
	char err[256];

	/* ssl never falls back to plain http. */
	t = target("ssl");
	t.scheme = "http";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "WinRM transport 'ssl' requires an https endpoint");
	t = target("ssl");
	t.host = NULL;
	t.url = "http://h:5985/wsman";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);

	/* Explicit port, IPv6, URL as given. */
	t = target("basic");
	t.port = 15985;
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://10.0.0.5:15985/wsman");
	winrm_conf_done(&c);
	t = target("ntlm");
	t.host = "fe80::1";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://[fe80::1]:5985/wsman");
	assert_string_equal(c.host, "fe80::1");
	winrm_conf_done(&c);
	t = target("ntlm");
	t.host = NULL;
	t.url = "https://lab-pc-07.example:5986/wsman";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), 0);
	assert_true(c.https);
	assert_false(c.encrypt);
	assert_string_equal(c.host, "lab-pc-07.example");
	winrm_conf_done(&c);

	/* Rejected endpoints. */
	t = target("basic");
	t.host = NULL;
	t.url = "http://admin:pw@h/wsman";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "pw"));
	t.url = "ftp://h/wsman";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	t.url = "not a url";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	t = target("basic");
	t.host = "h/../x";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	t.host = "h@evil";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	t.host = "";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	t = target("basic");
	t.scheme = "gopher";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	t = target("basic");
	t.port = 70000;
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
}

static void test_credentials_and_limits(void **state)
{
	struct winrm_target t;
	struct winrm_conf c;
	char err[256];

	t = target("ntlm");
	t.password = "";
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "WinRM credentials are required");
	t = target("ntlm");
	t.user = NULL;
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "WinRM credentials are required");

	t = target("basic");
	t.operation_timeout_ms = 30000; /* equal to the default read timeout */
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "WinRM read timeout (30000 ms) must exceed the operation timeout "
				 "(30000 ms)");
	t.read_timeout_ms = 40000;
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), 0);
	winrm_conf_done(&c);

	t = target("basic");
	t.codepage = 65001;
	t.max_output = 4096;
	t.total_timeout_ms = 5000;
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), 0);
	assert_int_equal(c.codepage, 65001);
	assert_int_equal(c.max_output, 4096);
	assert_int_equal(c.total_timeout_ms, 5000);
	winrm_conf_done(&c);
	t.codepage = 70000;
	assert_int_equal(resolve(&t, &c, err, sizeof(err)), -EINVAL);
}

static void test_api_errors_before_network(void **state)
{
	struct winrm_target t = target("kerberos");
	struct winrm_result res;
	char err[256], *content = (char *)"untouched";
	size_t len = 99;
	static const char *const args[] = { "a", NULL };

	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(winrm_run_command(&t, "ipconfig", NULL, 0, &res, err, sizeof(err)),
			 -ENOTSUP);
	assert_string_equal(err, "WinRM transport 'kerberos' is not supported");
	assert_int_equal(res.out_len, 0x5a5a5a5a5a5a5a5aULL); /* ret untouched on failure */
	assert_int_equal(winrm_run_powershell(&t, "Get-Date", &res, err, sizeof(err)), -ENOTSUP);
	assert_int_equal(winrm_read_file(&t, "C:\\x", &content, &len, err, sizeof(err)), -ENOTSUP);
	assert_string_equal(content, "untouched");
	assert_int_equal(len, 99);

	t = target("basic");
	assert_int_equal(winrm_run_command(&t, "", NULL, 0, &res, err, sizeof(err)), -EINVAL);
	assert_int_equal(winrm_run_command(&t, "x", args, 2, &res, err, sizeof(err)), -EINVAL);
	assert_int_equal(winrm_run_command(NULL, "x", NULL, 0, &res, err, sizeof(err)), -EINVAL);
	assert_int_equal(winrm_run_command(&t, "x", NULL, 0, NULL, NULL, 0), -EINVAL);
	assert_int_equal(winrm_run_powershell(&t, "", &res, err, sizeof(err)), -EINVAL);
	assert_int_equal(winrm_read_file(&t, "", &content, &len, err, sizeof(err)), -EINVAL);

	/* Too long a command line is refused before connecting. */
	{
		size_t n = WINRM_MAX_COMMAND_LINE + 1;
		char *big = malloc(n + 1);

		assert_non_null(big);
		memset(big, 'a', n);
		big[n] = 0;
		assert_int_equal(winrm_run_command(&t, big, NULL, 0, &res, err, sizeof(err)),
				 -E2BIG);
		free(big);
	}
	winrm_result_free(NULL);
}

static void test_password_never_in_error(void **state)
{
	/* The password used as the transport (a caller mix-up) must still not leak. */
	struct winrm_target t = target(PASSWORD);
	struct winrm_result res;
	char err[256];

	assert_int_equal(winrm_run_command(&t, "x", NULL, 0, &res, err, sizeof(err)), -ENOTSUP);
	assert_null(strstr(err, PASSWORD));
	assert_non_null(strstr(err, "***"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transports),
		cmocka_unit_test(test_unsupported_transports),
		cmocka_unit_test(test_endpoint_rules),
		cmocka_unit_test(test_credentials_and_limits),
		cmocka_unit_test(test_api_errors_before_network),
		cmocka_unit_test(test_password_never_in_error),
	};
	int r;

	winrm_global_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return r;
}

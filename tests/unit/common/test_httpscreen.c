/* Unit tests: the first-request screen and the multipart NUL watch (pure parsers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/httpform.h"
#include "common/httpscreen.h"

static const struct http_screen_limits lim = { .line_max = 64, .header_max = 256 };

static unsigned screen(const char *s, enum http_screen_result *res)
{
	struct http_screen sc;

	*res = http_screen(s, strlen(s), &lim, &sc);
	return sc.status;
}

static void assert_passes(const char *s)
{
	enum http_screen_result res;

	assert_int_equal(screen(s, &res), 0);
	assert_int_equal(res, HTTP_SCREEN_DONE);
}

static void assert_more(const char *s)
{
	enum http_screen_result res;

	screen(s, &res);
	assert_int_equal(res, HTTP_SCREEN_MORE);
}

static void assert_status(const char *s, unsigned status)
{
	enum http_screen_result res;

	assert_int_equal(screen(s, &res), status);
	assert_int_equal(res, HTTP_SCREEN_DONE);
}

static void test_screen_passes(void **state)
{
	struct http_screen sc;
	const char *s = "\r\nPOST /lab?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nbody";

	assert_passes("GET / HTTP/1.1\r\n\r\n");
	assert_passes("GET / HTTP/1.0\n\n");
	assert_passes("POST /x HTTP/1.1\r\nContent-Length:  0\r\n\r\n");
	assert_passes("POST /x HTTP/1.1\r\ncontent-length: 007\r\ncontent-length: 7\r\n\r\n");
	/* with Transfer-Encoding libmicrohttpd ignores Content-Length, and so do we */
	assert_passes(
		"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: x\r\n\r\n");
	/* a name with a space before the colon is another field for libmicrohttpd */
	assert_passes("POST /x HTTP/1.1\r\nContent-Length : x\r\n\r\n");
	assert_int_equal(http_screen(s, strlen(s), &lim, &sc), HTTP_SCREEN_DONE);
	assert_int_equal(sc.status, 0);
	assert_int_equal(sc.method_len, 4);
	assert_memory_equal(sc.method, "POST", 4);
	assert_int_equal(sc.target_len, 8);
	assert_memory_equal(sc.target, "/lab?x=1", 8);
}

static void test_screen_waits(void **state)
{
	assert_more("");
	assert_more("GET / HT");
	assert_more("GET / HTTP/1.1\r\nHost: x\r\n");
	assert_more("\r\n\r\n");
}

static void test_screen_length(void **state)
{
	assert_status("POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400);
	assert_status("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	assert_status("POST /x HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400);
	assert_status("POST /x HTTP/1.1\r\nContent-Length: 5 \r\n\r\n", 400);
	assert_status("POST /x HTTP/1.1\r\nContent-Length:\r\n\r\n", 400);
	assert_status("POST /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400);
	assert_status("POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
	assert_status("POST /x HTTP/1.1\r\nContent-Length:\r\n 5\r\n\r\n", 400);
	assert_status("POST /x HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n", 0);
	assert_status("POST /x HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 413);
	assert_status("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413);
}

static void test_screen_lines(void **state)
{
	char big[512];

	assert_status("GARBAGE\r\n\r\n", 400);
	assert_status("GET /\r\n\r\n", 400);
	assert_status("GET / HTTP/1.1 \r\nX: y\r\n\r\n", 0);
	assert_status("GET / HTTP/2.0\r\n\r\n", 505);
	assert_status("GET / HTTP/0.9\r\n\r\n", 505);
	assert_status("GET / HTTX/1.1\r\n\r\n", 400);
	assert_status("GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400);
	/* request line too long, complete or not */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	big[100] = '\0';
	assert_status(big, 414);
	strcpy(big + 90, " HTTP/1.1\r\n\r\n");
	assert_status(big, 414);
	/* header too large */
	strcpy(big, "GET / HTTP/1.1\r\n");
	while (strlen(big) < 300)
		strcat(big, "X-Pad: 0123456789\r\n");
	assert_status(big, 431);
	strcat(big, "\r\n");
	assert_status(big, 431);
}

static bool scan(const char *ct, const char *body, size_t len, size_t step)
{
	struct http_form_scan s;
	size_t off;
	bool found = false;

	http_form_scan_init(&s, ct);
	for (off = 0; off < len; off += step)
		found = http_form_scan_feed(&s, body + off, len - off < step ? len - off : step);
	return found;
}

#define CT "multipart/form-data; boundary=XX"

static void test_form_nul(void **state)
{
	static const char bad[] = "--XX\r\nContent-Disposition: form-data; name=\"a\"; "
				  "filename=\"x\0y.yml\"\r\n\r\ndata\r\n--XX--\r\n";
	static const char in_data[] = "--XX\r\nContent-Disposition: form-data; name=\"a\"; "
				      "filename=\"x.yml\"\r\n\r\nda\0ta\r\n--XXY\0\r\n--XX--\r\n\0";
	static const char second[] = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
				     "v\r\n--XX\r\nContent-Type: a\0b\r\n\r\nz\r\n--XX--\r\n";
	size_t step;

	for (step = 1; step <= sizeof(bad); step++) {
		assert_true(scan(CT, bad, sizeof(bad) - 1, step));
		assert_false(scan(CT, in_data, sizeof(in_data) - 1, step));
		assert_true(scan(CT, second, sizeof(second) - 1, step));
	}
	assert_true(scan("multipart/form-data; boundary=\"XX\"", bad, sizeof(bad) - 1, 7));
	assert_false(scan("application/x-www-form-urlencoded", bad, sizeof(bad) - 1, 7));
	assert_false(scan(NULL, bad, sizeof(bad) - 1, 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_screen_passes), cmocka_unit_test(test_screen_waits),
		cmocka_unit_test(test_screen_length), cmocka_unit_test(test_screen_lines),
		cmocka_unit_test(test_form_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

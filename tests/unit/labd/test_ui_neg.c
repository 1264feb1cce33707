/* Unit tests: the status page's HTTP negotiation (ui_neg.c): which Accept headers get the
 * page at /, which If-None-Match headers get a 304. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ui_neg.h"

static void test_browsers_prefer_html(void **state)
{
	(void)state;
	/* Chromium's, Firefox's and Safari's navigation Accept headers */
	assert_true(ui_neg_prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,"
					"image/avif,image/webp,image/apng,*/*;q=0.8,"
					"application/signed-exchange;v=b3;q=0.7"));
	assert_true(ui_neg_prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,"
					"*/*;q=0.8"));
	assert_true(ui_neg_prefers_html("application/xhtml+xml"));
	assert_true(ui_neg_prefers_html("TEXT/HTML"));
	assert_true(ui_neg_prefers_html("  text/html ; level=1 ; q=1.000 "));
	assert_true(ui_neg_prefers_html("application/json;q=0.5, text/html"));
	assert_true(ui_neg_prefers_html("text/html, application/json"));
	assert_true(ui_neg_prefers_html("text/html;q=0.001"));
}

static void test_everything_else_keeps_json(void **state)
{
	(void)state;
	assert_false(ui_neg_prefers_html(NULL));
	assert_false(ui_neg_prefers_html(""));
	assert_false(ui_neg_prefers_html("*/*")); /* curl, requests, libcurl */
	assert_false(ui_neg_prefers_html("text/*"));
	assert_false(ui_neg_prefers_html("application/json"));
	assert_false(ui_neg_prefers_html("application/json, text/html"));
	assert_false(ui_neg_prefers_html("text/html;q=0.5, application/json"));
	assert_false(ui_neg_prefers_html("text/html;q=0"));
	assert_false(ui_neg_prefers_html("text/html;q=0.000"));
	assert_false(ui_neg_prefers_html("text/htmlx"));
	assert_false(ui_neg_prefers_html("text/html;q=2")); /* malformed: ignored */
	assert_false(ui_neg_prefers_html("text/html;q=1.5"));
	assert_false(ui_neg_prefers_html("text/html;q=0.1234"));
	assert_false(ui_neg_prefers_html("text/html;q=."));
	assert_false(ui_neg_prefers_html("text/html;q="));
	assert_false(ui_neg_prefers_html("text/html;q=-1"));
	assert_false(ui_neg_prefers_html(",,;;,"));
	assert_false(ui_neg_prefers_html("text/html;q=0.9, application/json;q=1"));
}

static void test_etags(void **state)
{
	const char *e = "\"0123456789abcdef\"";

	(void)state;
	assert_false(ui_neg_etag_match(NULL, e));
	assert_false(ui_neg_etag_match("", e));
	assert_true(ui_neg_etag_match("\"0123456789abcdef\"", e));
	assert_true(ui_neg_etag_match("W/\"0123456789abcdef\"", e));
	assert_true(ui_neg_etag_match("\"x\", \"0123456789abcdef\"", e));
	assert_true(ui_neg_etag_match(" * ", e));
	assert_false(ui_neg_etag_match("\"0123456789abcde\"", e));
	assert_false(ui_neg_etag_match("0123456789abcdef", e));
	assert_false(ui_neg_etag_match("\"0123456789abcdef\"x", e));
	assert_false(ui_neg_etag_match("w/\"0123456789abcdef\"", e));
	assert_false(ui_neg_etag_match(",,,", e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_browsers_prefer_html),
		cmocka_unit_test(test_everything_else_keeps_json),
		cmocka_unit_test(test_etags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

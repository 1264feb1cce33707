/* Unit tests: the logger's three line formats, read back from a pipe standing in for stderr. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/log.h"

static int saved_stderr = -1;
static int capture_fd = -1;

/* Route fd 2 into a pipe until captured() (cmocka reports failures on stderr, so it is
 * given back before anything is asserted); the pipe holds far more than one line. */
static void capture(enum log_format format)
{
	int fds[2];

	assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
	assert_true(fcntl(fds[0], F_SETPIPE_SZ, 1 << 20) > 0);
	saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
	close(fds[1]);
	capture_fd = fds[0];
	log_set_format(format);
}

/* Everything written since capture(); it must be exactly `lines` lines. */
static char *captured(size_t lines)
{
	static char out[1 << 20];
	size_t len = 0, n = 0, i;
	ssize_t r;

	while ((r = read(capture_fd, out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(capture_fd);
	for (i = 0; i < len; i++)
		n += out[i] == '\n';
	assert_int_equal(n, lines);
	assert_true(len > 0 && out[len - 1] == '\n');
	return out;
}

static json_t *json_line(const char *line)
{
	json_error_t err;
	json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, &err);

	if (o == NULL)
		fail_msg("not JSON (%s): %s", err.text, line);
	return o;
}

/* A string member of a line; a missing one fails the test (the old "{}" line). */
static const char *field(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (v == NULL)
		fail_msg("no string \"%s\" in the line", key);
	return v;
}

static void test_json_invalid_utf8_is_escaped(void **state)
{
	json_t *o;

	capture(LOG_FORMAT_JSON);
	log_info("upload name %s rejected", "bad\xff\xfe-na\xc3me");
	o = json_line(captured(1));
	assert_string_equal(field(o, "level"), "INFO");
	assert_string_equal(field(o, "message"), "upload name bad\\xff\\xfe-na\\xc3me rejected");
	json_decref(o);
}

static void test_json_valid_utf8_and_controls_kept(void **state)
{
	json_t *o;

	capture(LOG_FORMAT_JSON);
	log_warn("Zeile \xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80 a\nb\tc\x01");
	o = json_line(captured(1));
	/* Valid UTF-8 passes as it is; jansson escapes the control bytes in the JSON text. */
	assert_string_equal(field(o, "message"),
			    "Zeile \xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80 a\nb\tc\x01");
	json_decref(o);
}

static void test_json_rejects_non_utf8_forms(void **state)
{
	json_t *o;

	/* Overlong '/', a UTF-16 surrogate, a code point above U+10FFFF, a lone continuation
	 * byte and a sequence cut short by the end of the string. */
	capture(LOG_FORMAT_JSON);
	log_error("%s|%s|%s|%s|%s", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80",
		  "\xe2\x82");
	o = json_line(captured(1));
	assert_string_equal(field(o, "message"),
			    "\\xc0\\xaf|\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80|\\x80|\\xe2\\x82");
	json_decref(o);
}

static void test_json_invalid_logger_name(void **state)
{
	json_t *o;

	capture(LOG_FORMAT_JSON);
	log_write(LOG_LEVEL_INFO, "lab\xff", "hello");
	o = json_line(captured(1));
	assert_string_equal(field(o, "logger"), "lab\\xff");
	assert_string_equal(field(o, "message"), "hello");
	json_decref(o);
}

static void test_json_long_lines_stay_json(void **state)
{
	static char big[3 * LOG_LINE_MAX];
	const char *msg;
	json_t *o;
	size_t i;

	/* A message cut at the line limit in the middle of a character, and one whose JSON
	 * escaping (\u0001 per byte) is six times its size: both stay one parseable line. */
	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa4", 2);
	big[i] = '\0';
	capture(LOG_FORMAT_JSON);
	log_info("xy%s", big);
	o = json_line(captured(1));
	msg = field(o, "message");
	assert_true(strlen(msg) > LOG_LINE_MAX / 2);
	assert_true(strncmp(msg, "xy\xc3\xa4\xc3\xa4", 6) == 0);
	json_decref(o);

	memset(big, '\x01', LOG_LINE_MAX);
	big[LOG_LINE_MAX] = '\0';
	capture(LOG_FORMAT_JSON);
	log_info("%s", big);
	o = json_line(captured(1));
	msg = field(o, "message");
	assert_true(strlen(msg) > LOG_LINE_MAX / 2);
	assert_int_equal(msg[0], '\x01');
	json_decref(o);
}

static void test_text_and_journal_escape(void **state)
{
	const char *out;

	capture(LOG_FORMAT_TEXT);
	log_info("a\nb\rc\x01\x7f d\xff\xc3\xa4");
	out = captured(1);
	assert_non_null(strstr(out, "[INFO] main: a\\nb\\rc\\x01\\x7f d\\xff\xc3\xa4\n"));

	capture(LOG_FORMAT_JOURNAL);
	log_error("x\xfe\ny");
	out = captured(1);
	assert_string_equal(out, "<3>main: x\\xfe\\ny\n");
}

static void test_level_filter(void **state)
{
	log_set_level(LOG_LEVEL_WARNING);
	capture(LOG_FORMAT_JOURNAL);
	log_info("hidden");
	log_warn("shown");
	assert_string_equal(captured(1), "<4>main: shown\n");
	log_set_level(LOG_LEVEL_DEBUG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_invalid_utf8_is_escaped),
		cmocka_unit_test(test_json_valid_utf8_and_controls_kept),
		cmocka_unit_test(test_json_rejects_non_utf8_forms),
		cmocka_unit_test(test_json_invalid_logger_name),
		cmocka_unit_test(test_json_long_lines_stay_json),
		cmocka_unit_test(test_text_and_journal_escape),
		cmocka_unit_test(test_level_filter),
	};

	log_init("main");
	log_set_level(LOG_LEVEL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

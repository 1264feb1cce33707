/* Unit tests for WinRM base64/UTF-16LE, error text and PowerShell helpers. */
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

static void test_b64_encode(void **state)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
	                                   "Zm9vYmFy" };
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
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
		{ " Zm9v\r\nYmFy \n", "foobar" }, { "Zm9vYg==", "foob" },
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
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xc3",
		"a\xff", "\xf0\x9f\x98",
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

static void test_ps_encode(void **state)
{
	char *cmd;

	assert_int_equal(winrm_ps_encode_command("ipconfig", &cmd), 0);
	assert_string_equal(cmd, "powershell -encodedcommand aQBwAGMAbwBuAGYAaQBnAA==");
	free(cmd);
	assert_int_equal(winrm_ps_encode_command("é€😀", &cmd), 0);
	assert_string_equal(cmd, "powershell -encodedcommand 6QCsID3YAN4=");
	free(cmd);
	assert_int_equal(winrm_ps_encode_command("", &cmd), -EINVAL);
	assert_int_equal(winrm_ps_encode_command("\xff", &cmd), -EILSEQ);
}

static void test_ps_path_quoting(void **state)
{
	char *s;

	assert_int_equal(winrm_ps_read_file_script("C:\\LabStation\\heartbeat.json", &s), 0);
	assert_string_equal(s, "Get-Content -LiteralPath 'C:\\LabStation\\heartbeat.json' -Raw "
	                       "-Encoding UTF8");
	free(s);
	assert_int_equal(winrm_ps_read_file_script("C:\\it's ''here''.txt", &s), 0);
	assert_string_equal(s, "Get-Content -LiteralPath 'C:\\it''s ''''here''''.txt' -Raw "
	                       "-Encoding UTF8");
	free(s);
	/* PowerShell also closes '...' at U+2018..U+201B: they are doubled too. */
	assert_int_equal(winrm_ps_read_file_script("a\u2019; rm x; \u2018b\u201a\u201bc", &s), 0);
	assert_string_equal(s, "Get-Content -LiteralPath 'a\u2019\u2019; rm x; \u2018\u2018b"
	                       "\u201a\u201a\u201b\u201bc' -Raw -Encoding UTF8");
	free(s);
	/* Other characters in the same UTF-8 block are left alone. */
	assert_int_equal(winrm_ps_read_file_script("\u201c\u2014", &s), 0);
	assert_string_equal(s, "Get-Content -LiteralPath '\u201c\u2014' -Raw -Encoding UTF8");
	free(s);
	assert_int_equal(winrm_ps_read_file_script("", &s), -EINVAL);
	assert_int_equal(winrm_ps_read_file_script("\xe2\x80", &s), -EILSEQ);
}

static int clixml(const char *in, char **out)
{
	struct buf b;
	int r;

	buf_init(&b, 1 << 16);
	assert_int_equal(buf_try_append_str(&b, in), 0);
	r = winrm_ps_clixml_to_text(&b);
	*out = strdup((char *)b.data);
	buf_free(&b);
	return r;
}

static void test_clixml(void **state)
{
	/* pywinrm's own example; expected text produced by pywinrm's _clean_error_msg. */
	static const char in[] =
		"#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">"
		"<S S=\"Error\">Write-Error \"Error\" : Error_x000D__x000A_</S>"
		"<S S=\"Error\">    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException_x000D__x000A_</S>"
		"<S S=\"Error\">    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException_x000D__x000A_</S>"
		"<S S=\"Error\"> _x000D__x000A_</S></Objs>";
	static const char want[] =
		"Write-Error \"Error\" : Error\n"
		"    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException\n"
		"    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException";
	char *out;

	assert_int_equal(clixml(in, &out), 1);
	assert_string_equal(out, want);
	free(out);
	/* Other _xHHHH_ escapes are decoded. */
	assert_int_equal(clixml("#< CLIXML\r\n<Objs xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">"
	                        "<Obj S=\"progress\"><S>ignored? no: nested</S></Obj>"
	                        "<S S=\"Error\">tab_x0009_e_x00E9_</S></Objs>", &out), 1);
	assert_string_equal(out, "tab\te\xc3\xa9");
	free(out);
	/* Not CLIXML, broken XML, DTDs, or no S text: left alone. */
	assert_int_equal(clixml("plain error\r\n", &out), 0);
	assert_string_equal(out, "plain error\r\n");
	free(out);
	assert_int_equal(clixml("#< CLIXML\r\n<Objs><S>unterminated", &out), 0);
	assert_string_equal(out, "#< CLIXML\r\n<Objs><S>unterminated");
	free(out);
	assert_int_equal(clixml("#< CLIXML\r\n<!DOCTYPE x [<!ENTITY a \"b\">]><Objs><S>&a;</S></Objs>",
	                        &out), 0);
	free(out);
	assert_int_equal(clixml("#< CLIXML\r\n<Objs><S> </S></Objs>", &out), 0);
	assert_string_equal(out, "#< CLIXML\r\n<Objs><S> </S></Objs>");
	free(out);
}

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
		cmocka_unit_test(test_b64_encode),
		cmocka_unit_test(test_b64_decode),
		cmocka_unit_test(test_b64_binary_round_trip),
		cmocka_unit_test(test_utf16le),
		cmocka_unit_test(test_ps_encode),
		cmocka_unit_test(test_ps_path_quoting),
		cmocka_unit_test(test_clixml),
		cmocka_unit_test(test_err_text),
	};
	int r;

	winrm_global_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return r;
}

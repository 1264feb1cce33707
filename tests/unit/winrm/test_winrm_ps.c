/* Unit tests for winrm_ps.c: -encodedcommand (pywinrm's values), path quoting, CLIXML error
 * text. */
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
	assert_int_equal(
		clixml("#< CLIXML\r\n<Objs xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">"
		       "<Obj S=\"progress\"><S>ignored? no: nested</S></Obj>"
		       "<S S=\"Error\">tab_x0009_e_x00E9_</S></Objs>",
		       &out),
		1);
	assert_string_equal(out, "tab\te\xc3\xa9");
	free(out);
	/* Not CLIXML, broken XML, DTDs, or no S text: left alone. */
	assert_int_equal(clixml("plain error\r\n", &out), 0);
	assert_string_equal(out, "plain error\r\n");
	free(out);
	assert_int_equal(clixml("#< CLIXML\r\n<Objs><S>unterminated", &out), 0);
	assert_string_equal(out, "#< CLIXML\r\n<Objs><S>unterminated");
	free(out);
	assert_int_equal(
		clixml("#< CLIXML\r\n<!DOCTYPE x [<!ENTITY a \"b\">]><Objs><S>&a;</S></Objs>",
		       &out),
		0);
	free(out);
	assert_int_equal(clixml("#< CLIXML\r\n<Objs><S> </S></Objs>", &out), 0);
	assert_string_equal(out, "#< CLIXML\r\n<Objs><S> </S></Objs>");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ps_encode),
		cmocka_unit_test(test_ps_path_quoting),
		cmocka_unit_test(test_clixml),
	};
	int r;

	winrm_global_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return r;
}

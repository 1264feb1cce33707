/* Unit tests for journal.c: the spool line codec. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "journal.h"

static void test_spool_codec(void **state)
{
	struct journal_row row = { 0 }, back;
	char *line;

	row.reservation_id = strdup("0xabc");
	row.host = strdup("ws");
	row.action = strdup("wake");
	row.status = strdup("completed");
	row.success = true;
	row.has_code = true;
	row.response_code = 200;
	row.payload = strdup("{\"mac\":\"x\"}");
	snprintf(row.created_at, sizeof(row.created_at), "%s", "2026-01-01 12:00:00");
	line = journal_row_to_json(&row);
	assert_int_equal(journal_row_from_json(line, strlen(line), &back), 0);
	assert_string_equal(back.reservation_id, "0xabc");
	assert_null(back.lab_id);
	assert_true(back.has_code && back.response_code == 200 && !back.has_duration);
	assert_string_equal(back.payload, "{\"mac\":\"x\"}");
	assert_true(back.spooled);
	assert_string_equal(back.created_at, "2026-01-01 12:00:00");
	journal_row_clear(&back);
	free(line);
	assert_int_equal(journal_row_from_json("{}", 2, &back), -EINVAL);
	assert_int_equal(journal_row_from_json("nope", 4, &back), -EINVAL);
	journal_row_clear(&row);
	journal_row_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spool_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

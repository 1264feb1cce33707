/* Unit tests for journal_store.c: inserting reservation_operations rows, with and without
 * the duplicate check. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "journal.h"
#include "journal_store.h"
#include "testdb.h"

static void test_insert_and_dedup(void **state)
{
	struct db *db = testdb_open();
	struct journal_row row = { 0 };
	struct db_stmt *st;

	row.reservation_id = strdup("0xabc");
	row.host = strdup("ws");
	row.action = strdup("wake");
	row.status = strdup("completed");
	row.success = true;
	row.has_code = true;
	row.response_code = 200;
	row.payload = strdup("{\"mac\":\"x\"}");
	snprintf(row.created_at, sizeof(row.created_at), "%s", "2026-01-01 12:00:00");
	assert_int_equal(journal_store_insert(db, &row, false), 0);
	assert_int_equal(journal_store_insert(db, &row, true), 0); /* dedup: already there */
	assert_int_equal(testdb_count(db, "SELECT COUNT(*) FROM reservation_operations"), 1);
	assert_int_equal(journal_store_insert(db, &row, false), 0); /* no dedup: a second row */
	assert_int_equal(testdb_count(db, "SELECT COUNT(*) FROM reservation_operations"), 2);
	assert_int_equal(db_prepare(db, &st, "SELECT lab_id, response_code, duration_ms, payload, "
				    "success, created_at FROM reservation_operations", ""), 0);
	assert_int_equal(db_step(st), 1);
	assert_true(db_column_null(st, 0));
	assert_int_equal(db_column_int64(st, 1), 200);
	assert_true(db_column_null(st, 2));
	assert_string_equal(db_column_text(st, 3), "{\"mac\":\"x\"}");
	assert_int_equal(db_column_int64(st, 4), 1);
	assert_string_equal(db_column_text(st, 5), "2026-01-01 12:00:00");
	db_finalize(st);
	journal_row_clear(&row);
	db_close(db);
}

static void test_null_payload(void **state)
{
	struct db *db = testdb_open();
	struct journal_row row = { 0 };

	row.reservation_id = strdup("r");
	row.host = strdup("ws");
	row.action = strdup("wake");
	row.status = strdup("failed");
	snprintf(row.created_at, sizeof(row.created_at), "%s", "2026-01-01 12:00:00");
	assert_int_equal(journal_store_insert(db, &row, false), 0);
	assert_int_equal(testdb_count(db, "SELECT COUNT(*) FROM reservation_operations WHERE "
				      "payload IS NULL AND response_code IS NULL"), 1);
	journal_row_clear(&row);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_and_dedup),
		cmocka_unit_test(test_null_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

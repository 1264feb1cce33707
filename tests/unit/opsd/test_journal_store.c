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
	struct journal_row row;

	testdb_journal_row(&row);
	assert_int_equal(journal_store_insert(db, &row, false), 0);
	assert_int_equal(journal_store_insert(db, &row, true), 0); /* dedup: already there */
	assert_int_equal(testdb_count(db, "SELECT COUNT(*) FROM reservation_operations"), 1);
	assert_int_equal(journal_store_insert(db, &row, false), 0); /* no dedup: a second row */
	assert_int_equal(testdb_count(db, "SELECT COUNT(*) FROM reservation_operations"), 2);
	/* every column as written */
	assert_int_equal(
		testdb_count(db, "SELECT COUNT(*) FROM reservation_operations WHERE "
				 "reservation_id = '0xabc' AND lab_id IS NULL AND host = 'ws' AND "
				 "action = 'wake' AND status = 'completed' AND success = 1 AND "
				 "response_code = 200 AND duration_ms IS NULL AND "
				 "payload = '{\"mac\":\"x\"}' AND message IS NULL AND "
				 "created_at = '2026-01-01 12:00:00'"),
		2);
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
					  "payload IS NULL AND response_code IS NULL"),
			 1);
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

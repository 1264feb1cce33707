/* Unit tests for db.c and db_sqlite.c: typed binding, one-value queries, columns, the error
 * mapping, all through the db_ops vtable on an in-memory SQLite with the real schema. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "testdb.h"

static void test_bind_query_columns(void **state)
{
	struct db *db = testdb_open();
	struct db_stmt *st;
	int64_t code = 200, value;

	assert_int_equal(db_prepare(db, &st, "SELECT ?", "ss", "a", "b"), -EINVAL);
	assert_int_equal(
		db_run(db,
		       "INSERT INTO reservation_operations (reservation_id, lab_id, "
		       "host, action, status, success, response_code, duration_ms, payload, "
		       "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       "sssssbppss", "0xabc", NULL, "ws", "wake", "completed", 1, &code, NULL,
		       "{\"mac\":\"x\"}", "2026-01-01 12:00:00"),
		0);
	assert_int_equal(testdb_count(db, "SELECT COUNT(*) FROM reservation_operations"), 1);
	assert_int_equal(db_query_int64(db, &value,
					"SELECT response_code FROM "
					"reservation_operations WHERE action = ?",
					"s", "wake"),
			 1);
	assert_int_equal(value, 200);
	value = -1;
	assert_int_equal(db_query_int64(db, &value,
					"SELECT response_code FROM "
					"reservation_operations WHERE action = ?",
					"s", "nope"),
			 0);
	assert_int_equal(value, -1); /* no row: untouched */
	assert_int_equal(db_query_int64(db, &value, "SELECT ?", "", NULL), -EINVAL);
	assert_int_equal(db_prepare(db, &st,
				    "SELECT lab_id, response_code, duration_ms, payload, "
				    "success FROM reservation_operations",
				    ""),
			 0);
	assert_int_equal(db_step(st), 1);
	assert_true(db_column_null(st, 0));
	assert_int_equal(db_column_int64(st, 1), 200);
	assert_true(db_column_null(st, 2));
	assert_string_equal(db_column_text(st, 3), "{\"mac\":\"x\"}");
	assert_int_equal(db_column_int64(st, 4), 1);
	assert_int_equal(db_step(st), 0);
	db_finalize(st);
	db_close(db);
}

static void test_errors(void **state)
{
	struct db *db = testdb_open();

	/* constraint errors map to -EEXIST, anything else to -EIO */
	assert_int_equal(
		db_run(db, "INSERT INTO lab_hosts (name, address) VALUES (?, ?)", "ss", "h", "a"),
		0);
	assert_int_equal(db_last_insert_id(db), 1);
	assert_int_equal(
		db_run(db, "INSERT INTO lab_hosts (name, address) VALUES (?, ?)", "ss", "h", "b"),
		-EEXIST);
	assert_int_equal(db_run(db, "SELECT nope FROM nowhere", ""), -EIO);
	db_close(db);
	db_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_query_columns),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

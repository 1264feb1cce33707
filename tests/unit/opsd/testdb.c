/* Test helpers: an in-memory SQLite database with the ops-worker schema. */
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "isotime.h"
#include "journal.h"

struct db *testdb_open(void)
{
	struct db *db;

	assert_int_equal(db_sqlite_new(":memory:", &db), 0);
	assert_int_equal(db_connect(db), 0);
	assert_int_equal(db_apply_schema(db), 0);
	assert_int_equal(db_apply_schema(db), 0); /* idempotent */
	return db;
}

int64_t testdb_count(struct db *db, const char *sql)
{
	struct db_stmt *st;
	int64_t n;

	assert_int_equal(db_prepare(db, &st, sql, ""), 0);
	assert_int_equal(db_step(st), 1);
	n = db_column_int64(st, 0);
	db_finalize(st);
	return n;
}

void testdb_reservation(struct db *db, const char *id, const char *status, int64_t start,
			int64_t end)
{
	char s[ISOTIME_MAX], e[ISOTIME_MAX];

	isotime_format_db(start, s);
	isotime_format_db(end, e);
	assert_int_equal(db_run(db,
				"INSERT INTO lab_reservations (transaction_hash, user_id, "
				"wallet_address, lab_id, start_time, end_time, status) VALUES "
				"(?, 1, 'w', 'lab', ?, ?, ?)",
				"ssss", id, s, e, status),
			 0);
}

void testdb_journal_row(struct journal_row *row)
{
	memset(row, 0, sizeof(*row));
	row->reservation_id = strdup("0xabc");
	row->host = strdup("ws");
	row->action = strdup("wake");
	row->status = strdup("completed");
	row->success = true;
	row->has_code = true;
	row->response_code = 200;
	row->payload = strdup("{\"mac\":\"x\"}");
	snprintf(row->created_at, sizeof(row->created_at), "%s", "2026-01-01 12:00:00");
}

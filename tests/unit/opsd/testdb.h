/* Test helpers: an in-memory SQLite database with the ops-worker schema. */
#ifndef RL_TEST_OPSD_TESTDB_H
#define RL_TEST_OPSD_TESTDB_H

#include <stdint.h>

struct db;
struct journal_row;

/* Connected, schema applied (twice: it must be idempotent). */
struct db *testdb_open(void);
/* The integer in the first column of the one row sql returns. */
int64_t testdb_count(struct db *db, const char *sql);
/* A lab_reservations row for lab "lab" with the given status and times (usec). */
void testdb_reservation(struct db *db, const char *id, const char *status, int64_t start,
			int64_t end);

/* A reservation_operations row (0xabc, ws, wake, completed, code 200, payload {"mac":"x"},
 * created 2026-01-01 12:00:00); clear it with journal_row_clear. */
void testdb_journal_row(struct journal_row *row);

#endif

/* Test helpers: an in-memory SQLite database with the ops-worker schema. */
#ifndef RL_TEST_OPSD_TESTDB_H
#define RL_TEST_OPSD_TESTDB_H

#include <stdint.h>

struct db;

/* Connected, schema applied (twice: it must be idempotent). */
struct db *testdb_open(void);
/* The integer in the first column of the one row sql returns. */
int64_t testdb_count(struct db *db, const char *sql);
/* A lab_reservations row for lab "lab" with the given status and times (usec). */
void testdb_reservation(struct db *db, const char *id, const char *status, int64_t start,
			int64_t end);

#endif

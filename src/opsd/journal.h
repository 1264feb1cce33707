/* The reservation journal (reservation_operations) with a crash-safe local spool. */
#ifndef RL_OPSD_JOURNAL_H
#define RL_OPSD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "isotime.h"

struct opsd;
struct journal;

/* One row of reservation_operations. Strings are owned by the row. */
struct journal_row {
	char *reservation_id;
	char *lab_id; /* NULL allowed */
	char *host;
	char *action;
	char *status; /* "completed" / "failed" */
	bool success;
	bool has_code;
	int64_t response_code;
	bool has_duration;
	int64_t duration_ms;
	char *payload;                /* JSON text or NULL */
	char *message;                /* or NULL */
	char created_at[ISOTIME_MAX]; /* 'YYYY-MM-DD HH:MM:SS' UTC, set when the row is recorded */
	/* journal bookkeeping */
	uint64_t id;
	bool spooled; /* failed once (or left from a previous run): insert with dedup */
};

/* Called once: the row is in the database (true), or it is kept in the spool (false).
 * With JOURNAL_WAIT_DB the call waits until the row is in the database; false then only
 * comes when the row is dropped or the daemon is stopping. */
typedef void (*journal_done_fn)(void *userdata, bool in_db);

#define JOURNAL_WAIT_DB 1

/* Load the spool from the state directory; start the retry timer when rows are waiting. */
int journal_new(struct opsd *o, struct journal **ret);
void journal_free(struct journal *j);

/*
 * Record a row (takes ownership of the strings in *row; row itself may be on the stack).
 * The row is written to the spool file first (write-ahead), then inserted; on success it
 * leaves the spool. Without a database it is only logged. done may be NULL.
 */
void journal_record(struct journal *j, struct journal_row *row, int flags, journal_done_fn done,
		    void *userdata);
/* Convenience: build and record a row. payload is taken (may be NULL). */
void journal_add(struct journal *j, const char *reservation_id, const char *lab_id,
		 const char *host, const char *action, bool success, const int64_t *response_code,
		 const int64_t *duration_ms, json_t *payload, const char *message, int flags,
		 journal_done_fn done, void *userdata);
/* Shutdown: answer every caller still waiting for the database (with false). */
void journal_stop_waiting(struct journal *j);
/* Rows waiting in the spool. */
size_t journal_spooled(const struct journal *j);

/* Spool line codec (exposed for tests and fuzzing). */
char *journal_row_to_json(const struct journal_row *row);
int journal_row_from_json(const char *line, size_t len, struct journal_row *ret);
void journal_row_clear(struct journal_row *row);

#endif

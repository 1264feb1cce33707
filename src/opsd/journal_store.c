/* The journal's SQL (database thread): one reservation_operations row, with a duplicate check
 * for rows that may already be in (from the spool). */
#include "journal_store.h"

#include "db.h"

int journal_store_insert(struct db *db, const struct journal_row *row, bool dedup)
{
	const int64_t *code = row->has_code ? &row->response_code : NULL;
	const int64_t *dur = row->has_duration ? &row->duration_ms : NULL;
	int64_t found = 0;
	int r;

	if (dedup) {
		r = db_query_int64(
			db, &found,
			"SELECT COUNT(*) FROM reservation_operations WHERE reservation_id = ? "
			"AND action = ? AND status = ? AND host = ? AND created_at = ?",
			"sssss", row->reservation_id, row->action, row->status, row->host,
			row->created_at);
		if (r < 0)
			return r;
		if (found > 0)
			return 0; /* already there (a crash after the insert) */
	}
	return db_run(db,
		      "INSERT INTO reservation_operations (reservation_id, lab_id, host, action, "
		      "status, success, response_code, duration_ms, payload, message, created_at) "
		      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		      "sssssbppsss", row->reservation_id, row->lab_id, row->host, row->action,
		      row->status, (int)row->success, code, dur, row->payload, row->message,
		      row->created_at);
}

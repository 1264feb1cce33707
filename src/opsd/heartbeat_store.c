/* The heartbeat's SQL (database thread): upsert lab_hosts, insert the heartbeat and event. */
#include "heartbeat_store.h"

#include <stddef.h>

#include "db.h"
#include "isotime.h"

static const int64_t *tri_ptr(int v, int64_t *store)
{
	if (v < 0)
		return NULL;
	*store = v;
	return store;
}

int heartbeat_store_row(struct db *db, const struct heartbeat_row *row)
{
	int64_t host_id = -1, a, b, c;
	char now[ISOTIME_MAX];
	int r;

	isotime_format_db(isotime_now_usec(), now);
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_query_int64(db, &host_id, "SELECT id FROM lab_hosts WHERE name = ?", "s", row->name);
	if (r < 0)
		goto fail;
	if (host_id >= 0) {
		r = db_run(
			db,
			"UPDATE lab_hosts SET address = ?, mac = ?, last_seen = ?, updated_at = ? "
			"WHERE id = ?",
			"ssssi", row->address, row->mac, row->ts, now, host_id);
	} else {
		r = db_run(
			db,
			"INSERT INTO lab_hosts (name, address, mac, last_seen) VALUES (?, ?, ?, ?)",
			"ssss", row->name, row->address, row->mac, row->ts);
		host_id = db_last_insert_id(db);
	}
	if (r < 0)
		goto fail;
	r = db_run(db,
		   "INSERT INTO lab_host_heartbeat (host_id, timestamp_utc, ready, local_mode, "
		   "local_session, last_forced_logoff_ts, last_forced_logoff_user, "
		   "last_power_action_ts, last_power_action_mode, raw_json) "
		   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		   "ispppsssss", host_id, row->ts, tri_ptr(row->ready, &a),
		   tri_ptr(row->local_mode, &b), tri_ptr(row->local_session, &c),
		   row->lfo_ts[0] ? row->lfo_ts : NULL, row->lfo_user,
		   row->lpa_ts[0] ? row->lpa_ts : NULL, row->lpa_mode,
		   row->raw_json ? row->raw_json : "null");
	if (r < 0)
		goto fail;
	if (row->has_event) {
		r = db_run(db,
			   "INSERT INTO lab_host_events (host_id, kind, timestamp_utc, payload) "
			   "VALUES (?, 'session-guard', ?, ?)",
			   "iss", host_id, row->event_ts, row->event_payload);
		if (r < 0)
			goto fail;
	}
	return db_commit(db);
fail:
	(void)db_rollback(db);
	return r;
}

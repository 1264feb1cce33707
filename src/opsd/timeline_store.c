/* The timeline's SQL (database thread): the reservation, its journal rows (paginated), the
 * newest row per phase, the mapped host's last heartbeat and the scheduler attempts. */
#include "timeline_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "common/xmalloc.h"
#include "db.h"
#include "hosts.h"
#include "isotime.h"

/* DB datetime text -> ISO-8601 with offset (raw text when it does not parse). */
static json_t *iso_col(struct db_stmt *st, unsigned col)
{
	char out[ISOTIME_MAX];
	int64_t t;

	if (db_column_null(st, col))
		return json_null();
	if (isotime_parse(db_column_text(st, col), &t) < 0)
		return json_string(db_column_text(st, col));
	isotime_format(t, out);
	return json_string(out);
}

static json_t *text_col(struct db_stmt *st, unsigned col)
{
	return db_column_null(st, col) ? json_null() : json_string(db_column_text(st, col));
}

static json_t *int_col(struct db_stmt *st, unsigned col)
{
	return db_column_null(st, col) ? json_null() : json_integer(db_column_int64(st, col));
}

static json_t *bool_col(struct db_stmt *st, unsigned col)
{
	return db_column_null(st, col) ? json_null() : json_boolean(db_column_int64(st, col) != 0);
}

static json_t *json_col(struct db_stmt *st, unsigned col)
{
	json_t *v;

	if (db_column_null(st, col))
		return json_null();
	v = json_loads(db_column_text(st, col), JSON_DECODE_ANY, NULL);
	return v ? v : json_string(db_column_text(st, col));
}

#define OPS_COLUMNS \
	"action, status, success, message, payload, response_code, duration_ms, created_at"

static json_t *op_row(struct db_stmt *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "action", text_col(st, 0));
	json_object_set_new(o, "status", text_col(st, 1));
	json_object_set_new(o, "success", json_boolean(db_column_int64(st, 2) != 0));
	json_object_set_new(o, "message", text_col(st, 3));
	json_object_set_new(o, "payload", json_col(st, 4));
	json_object_set_new(o, "responseCode", int_col(st, 5));
	json_object_set_new(o, "durationMs", int_col(st, 6));
	json_object_set_new(o, "createdAt", iso_col(st, 7));
	return o;
}

/* Every row of st as an operation, appended to ops; finalizes st. 0 or a negative errno. */
static int read_ops(struct db_stmt *st, json_t *ops)
{
	int r;

	while ((r = db_step(st)) > 0)
		json_array_append_new(ops, op_row(st));
	db_finalize(st);
	return r;
}

int timeline_store_fetch(struct db *db, struct timeline_query *q)
{
	static const struct {
		const char *phase;
		const char *prefix[2];
	} phases[] = {
		{ "wake", { "wake", "scheduler:start" } },
		{ "prepare", { "prepare", NULL } },
		{ "release", { "release", NULL } },
		{ "power", { "power:", NULL } },
		{ "schedulerEnd", { "scheduler:end", NULL } },
	};
	json_t *res = NULL, *resv, *ops, *ph, *recent = NULL, *hb = json_null(), *attempts;
	struct db_stmt *st = NULL;
	char *lab = NULL, *key;
	int64_t total = 0;
	size_t i, k;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_prepare(
		db, &st,
		"SELECT transaction_hash, lab_id, status, start_time, end_time, wallet_address, "
		"created_at, updated_at FROM lab_reservations WHERE transaction_hash = ?",
		"s", q->reservation_id);
	if (r < 0)
		goto fail;
	r = db_step(st);
	if (r <= 0) {
		db_finalize(st);
		st = NULL;
		if (r == 0) {
			q->found = false;
			(void)db_rollback(db);
			return 0;
		}
		goto fail;
	}
	q->found = true;
	res = json_object();
	resv = json_object();
	json_object_set_new(resv, "reservationId", text_col(st, 0));
	json_object_set_new(resv, "labId", text_col(st, 1));
	json_object_set_new(resv, "status", text_col(st, 2));
	json_object_set_new(resv, "start", iso_col(st, 3));
	json_object_set_new(resv, "end", iso_col(st, 4));
	json_object_set_new(resv, "walletAddress", text_col(st, 5));
	json_object_set_new(resv, "createdAt", iso_col(st, 6));
	json_object_set_new(resv, "updatedAt", iso_col(st, 7));
	json_object_set_new(res, "reservation", resv);
	lab = db_column_null(st, 1) ? NULL : xstrdup(db_column_text(st, 1));
	db_finalize(st);
	st = NULL;

	/* host from the lab mapping */
	key = lab ? hosts_lab_key(lab) : NULL;
	for (i = 0; key && i < q->n_labs; i++)
		if (strcmp(q->labs[i].lab, key) == 0) {
			q->host_name = xstrdup(q->labs[i].host);
			break;
		}
	free(key);

	/* operations, paginated */
	r = db_query_int64(db, &total,
			   "SELECT COUNT(*) FROM reservation_operations WHERE reservation_id = ?",
			   "s", q->reservation_id);
	if (r < 0)
		goto fail;
	r = db_prepare(db, &st,
		       "SELECT " OPS_COLUMNS
		       " FROM reservation_operations WHERE reservation_id = ? "
		       "ORDER BY created_at ASC, id ASC LIMIT ? OFFSET ?",
		       "sii", q->reservation_id, (int64_t)q->limit, (int64_t)q->offset);
	if (r < 0)
		goto fail;
	ops = json_array();
	json_object_set_new(res, "operations", ops);
	r = read_ops(st, ops);
	st = NULL;
	if (r < 0)
		goto fail;

	/* phases: the newest rows, last match per phase */
	r = db_prepare(db, &st,
		       "SELECT " OPS_COLUMNS
		       " FROM reservation_operations WHERE reservation_id = ? "
		       "ORDER BY created_at DESC, id DESC LIMIT ?",
		       "si", q->reservation_id, (int64_t)q->phase_lookback);
	if (r < 0)
		goto fail;
	recent = json_array();
	r = read_ops(st, recent);
	st = NULL;
	if (r < 0)
		goto fail;
	ph = json_object();
	json_object_set_new(res, "phases", ph);
	for (k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
		json_t *found = NULL;

		/* recent is newest first: the first match is the newest */
		for (i = 0; i < json_array_size(recent) && found == NULL; i++) {
			json_t *op = json_array_get(recent, i);
			const char *a = json_string_value(json_object_get(op, "action"));

			if (a && (str_has_prefix(a, phases[k].prefix[0]) ||
				  (phases[k].prefix[1] && str_has_prefix(a, phases[k].prefix[1]))))
				found = op;
		}
		json_object_set(ph, phases[k].phase, found ? found : json_null());
	}

	/* latest heartbeat of the mapped host */
	if (q->host_name != NULL) {
		r = db_prepare(
			db, &st,
			"SELECT hb.timestamp_utc, hb.ready, hb.local_mode, hb.local_session, "
			"hb.last_power_action_ts, hb.last_power_action_mode, "
			"hb.last_forced_logoff_ts, hb.last_forced_logoff_user, hb.raw_json "
			"FROM lab_host_heartbeat hb JOIN lab_hosts h ON h.id = hb.host_id "
			"WHERE h.name = ? ORDER BY hb.timestamp_utc DESC, hb.id DESC LIMIT 1",
			"s", q->host_name);
		if (r < 0)
			goto fail;
		r = db_step(st);
		if (r < 0)
			goto fail;
		if (r > 0) {
			json_t *lp = json_object(), *lf = json_object();

			json_decref(hb);
			hb = json_object();
			json_object_set_new(hb, "timestamp", iso_col(st, 0));
			json_object_set_new(hb, "ready", bool_col(st, 1));
			json_object_set_new(hb, "localMode", bool_col(st, 2));
			json_object_set_new(hb, "localSession", bool_col(st, 3));
			json_object_set_new(lp, "timestamp", iso_col(st, 4));
			json_object_set_new(lp, "mode", text_col(st, 5));
			json_object_set_new(lf, "timestamp", iso_col(st, 6));
			json_object_set_new(lf, "user", text_col(st, 7));
			json_object_set_new(hb, "lastPower", lp);
			json_object_set_new(hb, "lastForcedLogoff", lf);
			json_object_set_new(hb, "raw", json_col(st, 8));
		}
		db_finalize(st);
		st = NULL;
	}
	json_object_set_new(res, "heartbeat", hb);
	hb = NULL;

	/* scheduler attempts (ops_reservation_claims) */
	attempts = json_object();
	json_object_set_new(attempts, "start", json_integer(0));
	json_object_set_new(attempts, "end", json_integer(0));
	r = db_prepare(
		db, &st,
		"SELECT phase, attempts FROM ops_reservation_claims WHERE reservation_id = ?", "s",
		q->reservation_id);
	if (r < 0) {
		json_decref(attempts);
		goto fail;
	}
	while ((r = db_step(st)) > 0) {
		const char *phase = db_column_text(st, 0);

		if (strcmp(phase, "start") == 0 || strcmp(phase, "end") == 0)
			json_object_set_new(attempts, phase, json_integer(db_column_int64(st, 1)));
	}
	db_finalize(st);
	st = NULL;
	json_object_set_new(res, "schedulerAttempts", attempts);
	if (r < 0)
		goto fail;

	{
		json_t *p = json_object();
		size_t returned = json_array_size(json_object_get(res, "operations"));

		json_object_set_new(p, "limit", json_integer(q->limit));
		json_object_set_new(p, "offset", json_integer(q->offset));
		json_object_set_new(p, "page", json_integer(q->offset / q->limit + 1));
		json_object_set_new(p, "pageSize", json_integer(q->limit));
		json_object_set_new(p, "returned", json_integer((json_int_t)returned));
		json_object_set_new(p, "total", json_integer(total));
		json_object_set_new(p, "hasMore",
				    json_boolean(total > q->offset + (int64_t)returned));
		json_object_set_new(p, "nextOffset", json_integer(q->offset + (int64_t)returned));
		json_object_set_new(res, "pagination", p);
	}
	r = db_commit(db);
	if (r < 0)
		goto fail;
	json_decref(recent);
	free(lab);
	q->result = res;
	return 0;
fail:
	db_finalize(st);
	json_decref(recent);
	json_decref(res);
	json_decref(hb);
	free(lab);
	free(q->host_name);
	q->host_name = NULL;
	(void)db_rollback(db);
	return r < 0 ? r : -EIO;
}

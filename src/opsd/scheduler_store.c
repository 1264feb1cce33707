/* The scheduler's SQL (database thread): candidates, claims, guarded status transitions. */
#include "scheduler_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "db.h"
#include "isotime.h"

#define USEC 1000000.0

static void db_time(int64_t usec, char out[ISOTIME_MAX])
{
	isotime_format_db(usec, out);
}

void scheduler_store_candidates_free(struct scheduler_candidate *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(c[i].id);
		free(c[i].lab_id);
		free(c[i].status);
	}
	free(c);
}

int scheduler_store_candidates(struct db *db, const struct scheduler_params *p, bool start,
			       struct scheduler_candidate **ret, size_t *ret_n)
{
	char lo[ISOTIME_MAX], hi[ISOTIME_MAX], cool[ISOTIME_MAX], now[ISOTIME_MAX];
	struct scheduler_candidate *c = NULL;
	struct db_stmt *st;
	size_t n = 0, cap = 0;
	int r;

	db_time(p->now_usec, now);
	db_time(p->now_usec - (int64_t)(p->lookback * USEC), lo);
	db_time(p->now_usec - (int64_t)(p->cooldown * USEC), cool);
	if (start) {
		db_time(p->now_usec + (int64_t)(p->start_lead * USEC), hi);
		r = db_prepare(
			db, &st,
			"SELECT r.transaction_hash, r.lab_id, r.status FROM lab_reservations r "
			"WHERE r.status = 'CONFIRMED' AND r.start_time >= ? AND r.start_time <= ? "
			"AND NOT EXISTS (SELECT 1 FROM reservation_operations o "
			"WHERE o.reservation_id = r.transaction_hash "
			"AND o.action = 'scheduler:start' AND o.created_at >= ?) "
			"AND NOT EXISTS (SELECT 1 FROM ops_reservation_claims c "
			"WHERE c.reservation_id = r.transaction_hash AND c.phase = 'start' "
			"AND (c.claimed_until > ? OR (? > 0 AND c.attempts >= ?))) "
			"ORDER BY r.start_time ASC LIMIT ?",
			"ssssiii", lo, hi, cool, now, (int64_t)p->max_attempts,
			(int64_t)p->max_attempts, (int64_t)p->max_batch);
	} else {
		db_time(p->now_usec - (int64_t)(p->end_delay * USEC), hi);
		r = db_prepare(
			db, &st,
			"SELECT r.transaction_hash, r.lab_id, r.status FROM lab_reservations r "
			"WHERE r.status IN ('CONFIRMED', 'ACTIVE') "
			"AND r.end_time >= ? AND r.end_time <= ? "
			"AND NOT EXISTS (SELECT 1 FROM reservation_operations o "
			"WHERE o.reservation_id = r.transaction_hash "
			"AND o.action = 'scheduler:end' AND o.created_at >= ?) "
			"AND NOT EXISTS (SELECT 1 FROM ops_reservation_claims c "
			"WHERE c.reservation_id = r.transaction_hash AND c.phase = 'end' "
			"AND (c.claimed_until > ? OR (? > 0 AND c.attempts >= ?))) "
			"ORDER BY r.end_time ASC LIMIT ?",
			"ssssiii", lo, hi, cool, now, (int64_t)p->max_attempts,
			(int64_t)p->max_attempts, (int64_t)p->max_batch);
	}
	if (r < 0)
		return r;
	while ((r = db_step(st)) > 0) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			c = xreallocarray(c, cap, sizeof(*c));
		}
		c[n].id = xstrdup(db_column_text(st, 0));
		c[n].lab_id = xstrdup(db_column_text(st, 1));
		c[n].status = xstrdup(db_column_text(st, 2));
		n++;
	}
	db_finalize(st);
	if (r < 0) {
		scheduler_store_candidates_free(c, n);
		return r;
	}
	*ret = c;
	*ret_n = n;
	return 0;
}

int scheduler_store_claim(struct db *db, const struct scheduler_params *p, const char *id,
			  bool start, long *ret_attempt, char **ret_status)
{
	const char *phase = start ? "start" : "end";
	char now[ISOTIME_MAX], until[ISOTIME_MAX], cool[ISOTIME_MAX];
	struct db_stmt *st;
	char *status = NULL;
	int64_t attempt = 0;
	bool eligible;
	int r;

	db_time(p->now_usec, now);
	db_time(p->now_usec + (int64_t)(p->claim_ttl * USEC), until);
	db_time(p->now_usec - (int64_t)(p->cooldown * USEC), cool);
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_run(db,
		   "UPDATE ops_reservation_claims SET owner = ?, attempts = attempts + 1, "
		   "claimed_until = ?, updated_at = ? WHERE reservation_id = ? AND phase = ? "
		   "AND claimed_until <= ? AND (? = 0 OR attempts < ?)",
		   "ssssssii", p->owner, until, now, id, phase, now, (int64_t)p->max_attempts,
		   (int64_t)p->max_attempts);
	if (r < 0)
		goto fail;
	if (db_changes(db) != 1) {
		int64_t exists = 0;

		r = db_query_int64(
			db, &exists,
			"SELECT COUNT(*) FROM ops_reservation_claims WHERE reservation_id = ? "
			"AND phase = ?",
			"ss", id, phase);
		if (r < 0)
			goto fail;
		if (exists > 0)
			goto not_claimed; /* held by someone, or exhausted */
		r = db_run(
			db,
			"INSERT INTO ops_reservation_claims (reservation_id, phase, owner, attempts, "
			"claimed_until, updated_at) VALUES (?, ?, ?, 1, ?, ?)",
			"sssss", id, phase, p->owner, until, now);
		if (r == -EEXIST)
			goto not_claimed;
		if (r < 0)
			goto fail;
	}
	/* Still eligible? Another worker may have finished this step just now. */
	r = db_prepare(db, &st, "SELECT status FROM lab_reservations WHERE transaction_hash = ?",
		       "s", id);
	if (r < 0)
		goto fail;
	r = db_step(st);
	if (r > 0)
		status = xstrdup(db_column_text(st, 0));
	db_finalize(st);
	if (r < 0)
		goto fail;
	eligible = status != NULL &&
		   (start ? strcmp(status, "CONFIRMED") == 0
			  : (strcmp(status, "CONFIRMED") == 0 || strcmp(status, "ACTIVE") == 0));
	if (eligible) {
		int64_t recent = 0;

		r = db_query_int64(
			db, &recent,
			"SELECT COUNT(*) FROM reservation_operations WHERE reservation_id = ? "
			"AND action = ? AND created_at >= ?",
			"sss", id, start ? "scheduler:start" : "scheduler:end", cool);
		if (r < 0)
			goto fail;
		eligible = recent == 0;
	}
	if (!eligible)
		goto not_claimed;
	r = db_query_int64(db, &attempt,
			   "SELECT attempts FROM ops_reservation_claims WHERE reservation_id = ? "
			   "AND phase = ?",
			   "ss", id, phase);
	if (r < 0)
		goto fail;
	r = db_commit(db);
	if (r < 0)
		goto fail;
	*ret_attempt = attempt > 0 ? (long)attempt : 1;
	*ret_status = status;
	return 0;
not_claimed:
	free(status);
	r = db_rollback(db);
	if (r < 0)
		return r;
	*ret_attempt = 0;
	*ret_status = NULL;
	return 0;
fail:
	free(status);
	(void)db_rollback(db);
	return r;
}

int scheduler_store_release(struct db *db, const struct scheduler_params *p, const char *id,
			    bool start)
{
	char now[ISOTIME_MAX];

	db_time(p->now_usec, now);
	return db_run(db,
		      "UPDATE ops_reservation_claims SET claimed_until = ?, updated_at = ? "
		      "WHERE reservation_id = ? AND phase = ? AND owner = ?",
		      "sssss", now, now, id, start ? "start" : "end", p->owner);
}

int scheduler_store_take_over(struct db *db, const struct scheduler_params *p, int64_t *ret_n)
{
	char now[ISOTIME_MAX];
	int r;

	db_time(p->now_usec, now);
	r = db_run(db,
		   "UPDATE ops_reservation_claims SET claimed_until = ?, updated_at = ? "
		   "WHERE owner = ? AND claimed_until > ?",
		   "ssss", now, now, p->owner, now);
	if (r < 0)
		return r;
	*ret_n = db_changes(db);
	return 0;
}

bool scheduler_store_transition_allowed(const char *from, const char *to)
{
	static const char *const pairs[][2] = {
		{ "CONFIRMED", "ACTIVE" }, { "CONFIRMED", "COMPLETED" },
		{ "ACTIVE", "COMPLETED" }, { "CONFIRMED", "CANCELLED" },
		{ "ACTIVE", "CANCELLED" },
	};
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (strcmp(pairs[i][0], from) == 0 && strcmp(pairs[i][1], to) == 0)
			return true;
	return false;
}

int scheduler_store_set_status(struct db *db, int64_t now_usec, const char *id, const char *from,
			       const char *to, bool *ret_changed)
{
	char now[ISOTIME_MAX];
	int r;

	if (!scheduler_store_transition_allowed(from, to))
		return -EINVAL;
	db_time(now_usec, now);
	r = db_run(db,
		   "UPDATE lab_reservations SET status = ?, updated_at = ? "
		   "WHERE transaction_hash = ? AND status = ?",
		   "ssss", to, now, id, from);
	if (r < 0)
		return r;
	*ret_changed = db_changes(db) == 1;
	return 0;
}

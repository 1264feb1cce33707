/* Reservation automation: scan lab_reservations, claim a step, run it, record, transition. */
#define LOG_COMPONENT "ops-worker.scheduler"
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "config.h"
#include "db.h"
#include "dbq.h"
#include "hosts.h"
#include "isotime.h"
#include "journal.h"
#include "opsd.h"
#include "request.h"
#include "reservations.h"

#define USEC 1000000.0

static void db_time(int64_t usec, char out[ISOTIME_MAX])
{
	isotime_format_db(usec, out);
}

/* ---- SQL (database thread) ------------------------------------------------------------- */

void sched_candidates_free(struct sched_candidate *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(c[i].id);
		free(c[i].lab_id);
		free(c[i].status);
	}
	free(c);
}

int sched_find_candidates(struct db *db, const struct sched_params *p, bool start,
			  struct sched_candidate **ret, size_t *ret_n)
{
	char lo[ISOTIME_MAX], hi[ISOTIME_MAX], cool[ISOTIME_MAX], now[ISOTIME_MAX];
	struct sched_candidate *c = NULL;
	struct db_stmt *st;
	size_t n = 0, cap = 0;
	int r;

	db_time(p->now_usec, now);
	db_time(p->now_usec - (int64_t)(p->lookback * USEC), lo);
	db_time(p->now_usec - (int64_t)(p->cooldown * USEC), cool);
	if (start) {
		db_time(p->now_usec + (int64_t)(p->start_lead * USEC), hi);
		r = db_prepare(db, &st,
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
		r = db_prepare(db, &st,
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
		sched_candidates_free(c, n);
		return r;
	}
	*ret = c;
	*ret_n = n;
	return 0;
}

int sched_claim(struct db *db, const struct sched_params *p, const char *id, bool start,
		long *ret_attempt, char **ret_status)
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

		r = db_query_int64(db, &exists,
				   "SELECT COUNT(*) FROM ops_reservation_claims WHERE reservation_id = ? "
				   "AND phase = ?",
				   "ss", id, phase);
		if (r < 0)
			goto fail;
		if (exists > 0)
			goto not_claimed; /* held by someone, or exhausted */
		r = db_run(db,
			   "INSERT INTO ops_reservation_claims (reservation_id, phase, owner, attempts, "
			   "claimed_until, updated_at) VALUES (?, ?, ?, 1, ?, ?)",
			   "sssss", id, phase, p->owner, until, now);
		if (r == -EEXIST)
			goto not_claimed;
		if (r < 0)
			goto fail;
	}
	/* Still eligible? Another worker may have finished this step just now. */
	r = db_prepare(db, &st, "SELECT status FROM lab_reservations WHERE transaction_hash = ?", "s",
		       id);
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

		r = db_query_int64(db, &recent,
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

int sched_release(struct db *db, const struct sched_params *p, const char *id, bool start)
{
	char now[ISOTIME_MAX];

	db_time(p->now_usec, now);
	return db_run(db,
		      "UPDATE ops_reservation_claims SET claimed_until = ?, updated_at = ? "
		      "WHERE reservation_id = ? AND phase = ? AND owner = ?",
		      "sssss", now, now, id, start ? "start" : "end", p->owner);
}

bool sched_transition_allowed(const char *from, const char *to)
{
	static const char *const pairs[][2] = {
		{ "CONFIRMED", "ACTIVE" },    { "CONFIRMED", "COMPLETED" },
		{ "ACTIVE", "COMPLETED" },    { "CONFIRMED", "CANCELLED" },
		{ "ACTIVE", "CANCELLED" },
	};
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (strcmp(pairs[i][0], from) == 0 && strcmp(pairs[i][1], to) == 0)
			return true;
	return false;
}

int sched_set_status(struct db *db, int64_t now_usec, const char *id, const char *from,
		     const char *to, bool *ret_changed)
{
	char now[ISOTIME_MAX];
	int r;

	if (!sched_transition_allowed(from, to))
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

/* ---- the scheduler (loop) --------------------------------------------------------------- */

struct scheduler {
	struct opsd *o;
	sd_event_source *timer;
	bool running;
	bool stopped;
	uint64_t started_usec;
	/* the scan being dispatched */
	struct sched_candidate *starts, *ends;
	size_t n_starts, n_ends, next;
	/* the item in progress */
	bool cur_start;
	struct sched_candidate *cur;
	long attempt;
	char *status;
	bool success;
	char *host;
};

struct sched_job {
	struct scheduler *s;
	struct sched_params p;
	char *id;
	bool start;
	/* scan */
	struct sched_candidate *starts, *ends;
	size_t n_starts, n_ends;
	/* claim */
	long attempt;
	char *status;
	/* status */
	char *from, *to;
	bool changed;
};

static void sched_next(struct scheduler *s);

static void params_fill(struct scheduler *s, struct sched_params *p)
{
	const struct opsd_config *c = &s->o->cfg;

	p->now_usec = isotime_now_usec();
	p->lookback = c->lookback;
	p->start_lead = c->start_lead;
	p->end_delay = c->end_delay;
	p->cooldown = c->retry_cooldown;
	p->claim_ttl = c->claim_ttl;
	p->max_attempts = c->max_attempts;
	p->max_batch = config_max_batch();
	p->owner = c->worker_id;
}

static struct sched_job *job_new(struct scheduler *s)
{
	struct sched_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	params_fill(s, &j->p);
	return j;
}

static void job_free(struct sched_job *j)
{
	free(j->id);
	free(j->status);
	free(j->from);
	free(j->to);
	sched_candidates_free(j->starts, j->n_starts);
	sched_candidates_free(j->ends, j->n_ends);
	free(j);
}

static void sched_schedule(struct scheduler *s);

static void scan_finished(struct scheduler *s)
{
	log_debug("reservation scan finished after %.3fs",
		  (double)(loop_now(s->o->event) - s->started_usec) / 1e6);
	sched_candidates_free(s->starts, s->n_starts);
	sched_candidates_free(s->ends, s->n_ends);
	s->starts = s->ends = NULL;
	s->n_starts = s->n_ends = s->next = 0;
	s->running = false;
	opsd_busy_dec(s->o);
	if (!s->stopped && !s->o->stopping)
		sched_schedule(s);
}

/* next item, after the current one is complete */
static void item_done(struct scheduler *s)
{
	free(s->status);
	free(s->host);
	s->status = NULL;
	s->host = NULL;
	s->cur = NULL;
	sched_next(s);
}

static int release_work(struct db *db, void *arg)
{
	struct sched_job *j = arg;

	return sched_release(db, &j->p, j->id, j->start);
}

static void release_done(void *arg, int r)
{
	struct sched_job *j = arg;
	struct scheduler *s = j->s;

	if (r < 0)
		log_warn("failed to release claim on %s/%s, it expires on its own", j->id,
			 j->start ? "start" : "end");
	job_free(j);
	item_done(s);
}

static void release_claim(struct scheduler *s)
{
	struct sched_job *j = job_new(s);

	j->id = xstrdup(s->cur->id);
	j->start = s->cur_start;
	if (dbq_submit(s->o->dbq, release_work, release_done, j) < 0) {
		job_free(j);
		item_done(s);
	}
}

static int status_work(struct db *db, void *arg)
{
	struct sched_job *j = arg;

	return sched_set_status(db, j->p.now_usec, j->id, j->from, j->to, &j->changed);
}

static void status_done(void *arg, int r)
{
	struct sched_job *j = arg;
	struct scheduler *s = j->s;

	if (r < 0)
		log_error("failed to move reservation %s from %s to %s", j->id, j->from, j->to);
	else if (!j->changed)
		log_warn("reservation %s was no longer %s, status left alone", j->id, j->from);
	else
		log_info("reservation %s: %s -> %s", j->id, j->from, j->to);
	job_free(j);
	release_claim(s);
}

static void summary_recorded(void *userdata, bool in_db)
{
	struct scheduler *s = userdata;
	const char *to = s->cur_start ? "ACTIVE" : "COMPLETED";
	struct sched_job *j;

	if (!in_db) {
		/* Stopping (or the row was dropped): do not release; the claim keeps other
		 * workers off until it expires. */
		item_done(s);
		return;
	}
	if (!s->success || !sched_transition_allowed(s->status, to)) {
		release_claim(s);
		return;
	}
	j = job_new(s);
	j->id = xstrdup(s->cur->id);
	j->from = xstrdup(s->status);
	j->to = xstrdup(to);
	if (dbq_submit(s->o->dbq, status_work, status_done, j) < 0) {
		job_free(j);
		release_claim(s);
	}
}

static void record_summary(struct scheduler *s, const char *host, bool success, unsigned status,
			   json_t *response, const char *message)
{
	const char *action = s->cur_start ? "scheduler:start" : "scheduler:end";
	json_t *payload = NULL;
	int64_t code = status;

	if (response != NULL) {
		payload = json_object();
		json_object_set_new(payload, "response", response);
		json_object_set_new(payload, "status_code", json_integer(status));
		json_object_set_new(payload, "attempt", json_integer(s->attempt));
		json_object_set_new(payload, "maxAttempts", json_integer(s->o->cfg.max_attempts));
	}
	s->success = success;
	if (!success && s->o->cfg.max_attempts > 0 && s->attempt >= s->o->cfg.max_attempts)
		log_warn("reservation %s %s failed on attempt %ld of %ld: giving up", s->cur->id,
			 s->cur_start ? "start" : "end", s->attempt, s->o->cfg.max_attempts);
	journal_add(s->o->journal, s->cur->id, s->cur->lab_id, host, action, success,
		    response ? &code : NULL, NULL, payload, message, JOURNAL_WAIT_DB,
		    summary_recorded, s);
}

static void flow_done(void *userdata, unsigned status, json_t *response)
{
	struct scheduler *s = userdata;
	bool ok = status == 200 && json_is_true(json_object_get(response, "success"));
	const char *err = json_string_value(json_object_get(response, "error"));
	const char *msg = ok ? NULL
			  : err ? err
			  : s->cur_start ? "Reservation start failed" : "Reservation end failed";
	char *m = msg ? xstrdup(msg) : NULL;

	record_summary(s, s->host, ok, status, response, m);
	free(m);
}

static void claim_done(void *arg, int r)
{
	struct sched_job *j = arg;
	struct scheduler *s = j->s;
	const struct host *h;
	struct req_resv req = { 0 };
	char *msg;

	if (r < 0 || j->attempt == 0 || s->o->stopping) {
		if (r < 0)
			log_warn("could not claim %s/%s, skipping", j->id, j->start ? "start" : "end");
		job_free(j);
		item_done(s);
		return;
	}
	s->attempt = j->attempt;
	s->status = j->status;
	j->status = NULL;
	job_free(j);
	h = hosts_get_by_lab(s->o->hosts, s->cur->lab_id);
	if (h == NULL) {
		log_warn("No host mapping for lab %s (reservation %s)", s->cur->lab_id, s->cur->id);
		s->host = xstrdup("unmapped");
		msg = xasprintf("No host mapping for lab %s", s->cur->lab_id);
		record_summary(s, "unmapped", false, 0, NULL, msg);
		free(msg);
		return;
	}
	s->host = xstrdup(h->name);
	log_info("reservation %s: scheduler %s on %s (attempt %ld)", s->cur->id,
		 s->cur_start ? "start" : "end", h->name, s->attempt);
	req.is_start = s->cur_start;
	req.reservation_id = xstrdup(s->cur->id);
	req.host = xstrdup(h->name);
	req.lab_id = xstrdup(s->cur->lab_id);
	if (s->cur_start) {
		req.wake = true;
		req.prepare = true;
		req.prepare_args = xcalloc(2, sizeof(char *));
		req.prepare_args[0] = xstrdup("--guard-grace=90");
		req.n_prepare = 1;
	} else {
		req.release = true;
		req.release_args = xcalloc(2, sizeof(char *));
		req.release_args[0] = xstrdup("--reboot");
		req.n_release = 1;
	}
	resv_run(s->o, &req, h, flow_done, s);
}

static int claim_work(struct db *db, void *arg)
{
	struct sched_job *j = arg;

	return sched_claim(db, &j->p, j->id, j->start, &j->attempt, &j->status);
}

static void sched_next(struct scheduler *s)
{
	struct sched_job *j;

	for (;;) {
		if (s->stopped || s->o->stopping || s->next >= s->n_starts + s->n_ends) {
			scan_finished(s);
			return;
		}
		s->cur_start = s->next < s->n_starts;
		s->cur = s->cur_start ? &s->starts[s->next] : &s->ends[s->next - s->n_starts];
		s->next++;
		j = job_new(s);
		j->id = xstrdup(s->cur->id);
		j->start = s->cur_start;
		if (dbq_submit(s->o->dbq, claim_work, claim_done, j) == 0)
			return;
		job_free(j);
	}
}

static int scan_work(struct db *db, void *arg)
{
	struct sched_job *j = arg;
	int r;

	r = sched_find_candidates(db, &j->p, true, &j->starts, &j->n_starts);
	if (r < 0)
		return r;
	return sched_find_candidates(db, &j->p, false, &j->ends, &j->n_ends);
}

static void scan_done(void *arg, int r)
{
	struct sched_job *j = arg;
	struct scheduler *s = j->s;

	if (r < 0) {
		log_warn("reservation scan failed, trying again in %gs", s->o->cfg.scan_interval);
		job_free(j);
		scan_finished(s);
		return;
	}
	if (j->n_starts || j->n_ends)
		log_info("reservation scan: %zu start(s), %zu end(s) due", j->n_starts, j->n_ends);
	s->starts = j->starts;
	s->n_starts = j->n_starts;
	s->ends = j->ends;
	s->n_ends = j->n_ends;
	j->starts = j->ends = NULL;
	j->n_starts = j->n_ends = 0;
	job_free(j);
	s->next = 0;
	sched_next(s);
}

static int sched_on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct scheduler *s = userdata;
	struct sched_job *j;

	if (s->stopped || s->o->stopping)
		return 0;
	if (s->running) {
		/* max_instances=1: a scan still dispatching makes this one be skipped */
		log_debug("previous reservation scan still running, skipping this one");
		sched_schedule(s);
		return 0;
	}
	s->running = true;
	s->started_usec = loop_now(s->o->event);
	log_debug("reservation scan started");
	opsd_busy_inc(s->o);
	j = job_new(s);
	if (dbq_submit(s->o->dbq, scan_work, scan_done, j) < 0) {
		job_free(j);
		scan_finished(s);
	}
	return 0;
}

static void sched_schedule(struct scheduler *s)
{
	/* Like APScheduler's max_instances=1: an overrun skips the missed runs. */
	loop_timer_arm_next(s->o->event, &s->timer, s->started_usec,
			    (uint64_t)(s->o->cfg.scan_interval * 1e6), sched_on_timer, s);
}

int scheduler_new(struct opsd *o, struct scheduler **ret)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	int r;

	s->o = o;
	r = loop_timer_arm(o->event, &s->timer, 0, sched_on_timer, s);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void scheduler_stop(struct scheduler *s)
{
	if (s == NULL)
		return;
	s->stopped = true;
	loop_timer_disarm(s->timer);
}

void scheduler_free(struct scheduler *s)
{
	if (s == NULL)
		return;
	sched_candidates_free(s->starts, s->n_starts);
	sched_candidates_free(s->ends, s->n_ends);
	free(s->status);
	free(s->host);
	sd_event_source_disable_unref(s->timer);
	free(s);
}

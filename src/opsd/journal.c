/* The reservation journal (reservation_operations) with a crash-safe local spool. */
#define LOG_COMPONENT "ops-worker.journal"
#include "journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/statefile.h"
#include "common/xmalloc.h"
#include "db.h"
#include "dbq.h"
#include "isotime.h"
#include "journal_store.h"
#include "opsd.h"

#define JOURNAL_FLUSH_BATCH 64
#define JOURNAL_MAX_DATA_ERRORS 3
#define JOURNAL_SPOOL_LINE_MAX (1024 * 1024)

struct jentry {
	struct journal_row row;
	journal_done_fn done;
	void *userdata;
	bool notified;
	bool wait_db;
	bool inflight;
	unsigned data_errors;
	TAILQ_ENTRY(jentry) link;
};

TAILQ_HEAD(jlist, jentry);

struct journal {
	struct opsd *o;
	char *spool_path;
	struct jlist rows; /* not yet in the database, oldest first */
	size_t n;
	uint64_t next_id;
	bool flushing;
	bool spool_failed; /* last spool write failed (logged once) */
	sd_event_source *retry;
};

struct flush_job {
	struct journal *j;
	size_t n;
	struct jentry *e[JOURNAL_FLUSH_BATCH];
	const struct journal_row *rows[JOURNAL_FLUSH_BATCH]; /* read by the db thread */
	int res[JOURNAL_FLUSH_BATCH]; /* per row: 0 inserted, 1 not tried, or negative errno */
};

static void journal_flush(struct journal *j);

/* ---- rows --------------------------------------------------------------------------- */

void journal_row_clear(struct journal_row *row)
{
	if (row == NULL)
		return;
	free(row->reservation_id);
	free(row->lab_id);
	free(row->host);
	free(row->action);
	free(row->status);
	free(row->payload);
	free(row->message);
	memset(row, 0, sizeof(*row));
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *journal_row_to_json(const struct journal_row *row)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "id", json_integer((json_int_t)row->id));
	json_object_set_new(o, "reservation_id", json_string(row->reservation_id));
	json_object_set_new(o, "lab_id", str_or_null(row->lab_id));
	json_object_set_new(o, "host", json_string(row->host));
	json_object_set_new(o, "action", json_string(row->action));
	json_object_set_new(o, "status", json_string(row->status));
	json_object_set_new(o, "success", json_boolean(row->success));
	json_object_set_new(o, "response_code",
			    row->has_code ? json_integer(row->response_code) : json_null());
	json_object_set_new(o, "duration_ms",
			    row->has_duration ? json_integer(row->duration_ms) : json_null());
	json_object_set_new(o, "payload", str_or_null(row->payload));
	json_object_set_new(o, "message", str_or_null(row->message));
	json_object_set_new(o, "created_at", json_string(row->created_at));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

static int get_str(json_t *o, const char *key, bool nullable, char **ret)
{
	json_t *v = json_object_get(o, key);

	if (v != NULL && json_is_null(v) && nullable) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v) || memchr(json_string_value(v), '\0', json_string_length(v)))
		return -EINVAL;
	*ret = xstrdup(json_string_value(v));
	return 0;
}

/* An integer or null field: *ret_has tells which. */
static int get_opt_int(json_t *o, const char *key, bool *ret_has, int64_t *ret)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v)) {
		*ret_has = true;
		*ret = json_integer_value(v);
		return 0;
	}
	return json_is_null(v) ? 0 : -EINVAL;
}

int journal_row_from_json(const char *line, size_t len, struct journal_row *ret)
{
	struct journal_row row = { 0 };
	json_t *o, *v;
	char *created = NULL;
	int64_t t;
	int r = -EINVAL;

	o = json_loadb(line, len, 0, NULL);
	if (o == NULL || !json_is_object(o))
		goto out;
	v = json_object_get(o, "id");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		goto out;
	row.id = (uint64_t)json_integer_value(v);
	if (get_str(o, "reservation_id", false, &row.reservation_id) < 0 ||
	    get_str(o, "lab_id", true, &row.lab_id) < 0 ||
	    get_str(o, "host", false, &row.host) < 0 ||
	    get_str(o, "action", false, &row.action) < 0 ||
	    get_str(o, "status", false, &row.status) < 0 ||
	    get_str(o, "payload", true, &row.payload) < 0 ||
	    get_str(o, "message", true, &row.message) < 0 ||
	    get_str(o, "created_at", false, &created) < 0)
		goto out;
	if (strlen(created) >= sizeof(row.created_at) || isotime_parse(created, &t) < 0)
		goto out;
	memcpy(row.created_at, created, strlen(created) + 1);
	v = json_object_get(o, "success");
	if (!json_is_boolean(v))
		goto out;
	row.success = json_is_true(v);
	if (get_opt_int(o, "response_code", &row.has_code, &row.response_code) < 0 ||
	    get_opt_int(o, "duration_ms", &row.has_duration, &row.duration_ms) < 0)
		goto out;
	row.spooled = true;
	*ret = row;
	memset(&row, 0, sizeof(row));
	r = 0;
out:
	journal_row_clear(&row);
	free(created);
	json_decref(o);
	return r;
}

/* ---- spool ---------------------------------------------------------------------------- */

static void spool_write(struct journal *j)
{
	struct buf b;
	struct jentry *e;
	int r;

	if (j->spool_path == NULL)
		return;
	buf_init(&b, (size_t)1 << 30);
	TAILQ_FOREACH (e, &j->rows, link) {
		char *line = journal_row_to_json(&e->row);

		buf_append_str(&b, line);
		buf_append(&b, "\n", 1);
		free(line);
	}
	r = statefile_write(j->spool_path, b.data ? b.data : "", b.len, 0600);
	buf_free(&b);
	if (r < 0 && !j->spool_failed) {
		log_error("failed to write journal spool '%s': %s", j->spool_path, strerror(-r));
		j->spool_failed = true;
	} else if (r == 0) {
		j->spool_failed = false;
	}
}

static void spool_load(struct journal *j)
{
	char *text = NULL, *p, *nl;
	size_t len = 0, loaded = 0, bad = 0;
	int r;

	r = statefile_read(j->spool_path, (size_t)1 << 30, &text, &len);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_error("failed to read journal spool '%s': %s", j->spool_path, strerror(-r));
		return;
	}
	for (p = text; p < text + len; p = nl + 1) {
		struct journal_row row;
		struct jentry *e;

		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (nl == NULL)
			nl = text + len;
		if (nl == p)
			continue;
		if ((size_t)(nl - p) > JOURNAL_SPOOL_LINE_MAX ||
		    journal_row_from_json(p, (size_t)(nl - p), &row) < 0) {
			bad++;
			continue;
		}
		e = xcalloc(1, sizeof(*e));
		e->row = row;
		e->notified = true;
		if (row.id >= j->next_id)
			j->next_id = row.id + 1;
		TAILQ_INSERT_TAIL(&j->rows, e, link);
		j->n++;
		loaded++;
	}
	free(text);
	if (loaded)
		log_info("journal spool holds %zu row(s) from an earlier run", loaded);
	if (bad)
		log_error("journal spool '%s': %zu unreadable line(s) skipped", j->spool_path, bad);
}

/* ---- flushing ------------------------------------------------------------------------- */

static int journal_retry_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
	journal_flush(userdata);
	return 0;
}

static void arm_retry(struct journal *j)
{
	if (j->o->stopping)
		return;
	loop_timer_arm(j->o->event, &j->retry, (uint64_t)(j->o->cfg.spool_retry * 1e6),
		       journal_retry_cb, j);
}

static int flush_work(struct db *db, void *arg)
{
	struct flush_job *fj = arg;
	size_t i;
	int r = 0;

	for (i = 0; i < fj->n; i++) {
		r = journal_store_insert(db, fj->rows[i], fj->rows[i]->spooled);
		fj->res[i] = r;
		if (r == -ENOTCONN || r == -EAGAIN)
			break;
		/* other errors: that row only; go on with the next */
	}
	for (i = 0; i < fj->n; i++)
		if (fj->res[i] < 0 && fj->res[i] != -ENOTCONN && fj->res[i] != -EAGAIN)
			return fj->res[i];
	return r < 0 ? r : 0;
}

static void entry_remove(struct journal *j, struct jentry *e, bool in_db)
{
	TAILQ_REMOVE(&j->rows, e, link);
	j->n--;
	if (!e->notified && e->done)
		e->done(e->userdata, in_db);
	journal_row_clear(&e->row);
	free(e);
}

static void flush_done(void *arg, int rr)
{
	struct flush_job *fj = arg;
	struct journal *j = fj->j;
	bool changed = false, stalled = false;
	size_t i;

	for (i = 0; i < fj->n; i++) {
		struct jentry *e = fj->e[i];

		e->inflight = false;
		if (fj->res[i] == 0) {
			if (e->row.spooled)
				log_info("journal row %s/%s from the spool written",
					 e->row.reservation_id, e->row.action);
			entry_remove(j, e, true);
			changed = true;
			continue;
		}
		if (fj->res[i] == 1 || fj->res[i] == -ENOTCONN || fj->res[i] == -EAGAIN) {
			stalled = true;
		} else if (++e->data_errors >= JOURNAL_MAX_DATA_ERRORS) {
			log_error("journal row %s/%s rejected by the database %u times, dropped",
				  e->row.reservation_id, e->row.action, e->data_errors);
			entry_remove(j, e, false);
			changed = true;
			continue;
		} else {
			stalled = true;
		}
		if (!e->row.spooled) {
			e->row.spooled = true;
			log_warn("journal row %s/%s kept in the spool until the database is back",
				 e->row.reservation_id, e->row.action);
		}
		if (!e->notified && (!e->wait_db || j->o->stopping)) {
			e->notified = true;
			if (e->done)
				e->done(e->userdata, false);
		}
	}
	free(fj);
	j->flushing = false;
	if (changed)
		spool_write(j);
	if (stalled)
		arm_retry(j);
	else if (!TAILQ_EMPTY(&j->rows))
		journal_flush(j);
	opsd_busy_dec(j->o);
}

static void journal_flush(struct journal *j)
{
	struct flush_job *fj;
	struct jentry *e;

	if (j->flushing || TAILQ_EMPTY(&j->rows) || j->o->dbq == NULL)
		return;
	fj = xcalloc(1, sizeof(*fj));
	fj->j = j;
	TAILQ_FOREACH (e, &j->rows, link) {
		if (fj->n >= JOURNAL_FLUSH_BATCH)
			break;
		e->inflight = true;
		fj->e[fj->n] = e;
		fj->rows[fj->n] = &e->row;
		/* "not tried" until flush_work says otherwise: dbq does not run it at all while
		 * the database is down (back-off, failed reconnect) */
		fj->res[fj->n] = 1;
		fj->n++;
	}
	if (dbq_submit(j->o->dbq, flush_work, flush_done, fj) < 0) {
		size_t i;

		for (i = 0; i < fj->n; i++)
			fj->e[i]->inflight = false;
		free(fj);
		arm_retry(j);
		return;
	}
	j->flushing = true;
	opsd_busy_inc(j->o);
}

/* ---- public --------------------------------------------------------------------------- */

int journal_new(struct opsd *o, struct journal **ret)
{
	struct journal *j = xcalloc(1, sizeof(*j));

	j->o = o;
	TAILQ_INIT(&j->rows);
	j->next_id = 1;
	if (o->dbq != NULL) {
		j->spool_path = xasprintf("%s/journal-spool.jsonl", o->cfg.state_dir);
		spool_load(j);
		if (!TAILQ_EMPTY(&j->rows))
			journal_flush(j);
	}
	*ret = j;
	return 0;
}

void journal_free(struct journal *j)
{
	struct jentry *e;

	if (j == NULL)
		return;
	if (j->n > 0)
		log_warn("%zu journal row(s) stay in the spool for the next start", j->n);
	while ((e = TAILQ_FIRST(&j->rows)) != NULL) {
		TAILQ_REMOVE(&j->rows, e, link);
		journal_row_clear(&e->row);
		free(e);
	}
	sd_event_source_disable_unref(j->retry);
	free(j->spool_path);
	free(j);
}

size_t journal_spooled(const struct journal *j)
{
	return j ? j->n : 0;
}

void journal_record(struct journal *j, struct journal_row *row, int flags, journal_done_fn done,
		    void *userdata)
{
	struct jentry *e;

	if (row->created_at[0] == '\0')
		isotime_format_db(isotime_now_usec(), row->created_at);
	if (j->o->dbq == NULL) {
		log_info("journal (no database): %s %s host=%s status=%s", row->reservation_id,
			 row->action, row->host, row->status);
		journal_row_clear(row);
		if (done)
			done(userdata, false);
		return;
	}
	if ((long)j->n >= j->o->cfg.spool_max) {
		struct jentry *old = TAILQ_FIRST(&j->rows);

		if (old != NULL && !old->inflight) {
			log_error("journal spool full (%ld rows): dropping row %s/%s from %s",
				  j->o->cfg.spool_max, old->row.reservation_id, old->row.action,
				  old->row.created_at);
			entry_remove(j, old, false);
		}
	}
	e = xcalloc(1, sizeof(*e));
	e->row = *row;
	memset(row, 0, sizeof(*row));
	e->row.id = j->next_id++;
	e->done = done;
	e->userdata = userdata;
	e->wait_db = flags & JOURNAL_WAIT_DB;
	TAILQ_INSERT_TAIL(&j->rows, e, link);
	j->n++;
	spool_write(j);
	journal_flush(j);
}

void journal_add(struct journal *j, const char *reservation_id, const char *lab_id,
		 const char *host, const char *action, bool success, const int64_t *response_code,
		 const int64_t *duration_ms, json_t *payload, const char *message, int flags,
		 journal_done_fn done, void *userdata)
{
	struct journal_row row = { 0 };

	row.reservation_id = xstrdup(reservation_id);
	row.lab_id = lab_id ? xstrdup(lab_id) : NULL;
	row.host = xstrdup(host);
	row.action = xstrdup(action);
	row.status = xstrdup(success ? "completed" : "failed");
	row.success = success;
	if (response_code) {
		row.has_code = true;
		row.response_code = *response_code;
	}
	if (duration_ms) {
		row.has_duration = true;
		row.duration_ms = *duration_ms;
	}
	if (payload) {
		row.payload = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(payload);
	}
	row.message = message ? xstrdup(message) : NULL;
	journal_record(j, &row, flags, done, userdata);
}

void journal_stop_waiting(struct journal *j)
{
	struct jentry *e;

	if (j == NULL)
		return;
	TAILQ_FOREACH (e, &j->rows, link) {
		if (!e->notified && !e->inflight) {
			e->notified = true;
			if (e->done)
				e->done(e->userdata, false);
		}
	}
}

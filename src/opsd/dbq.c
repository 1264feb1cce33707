/* The database thread: one connection, jobs run in order, reconnect with back-off. */
#define LOG_COMPONENT "ops-worker.db"
#include "dbq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/workq.h"
#include "common/xmalloc.h"

#define DBQ_MAX_PENDING 4096
#define DBQ_BACKOFF_MIN_MS 250
#define DBQ_BACKOFF_MAX_MS 15000

struct dbq {
	struct workq *wq;
	struct db *db; /* used only on the database thread after dbq_new */
	const char *backend;
	/* database-thread state */
	int64_t next_attempt_ms;
	int64_t backoff_ms;
	/* loop state */
	bool connected;
	bool was_connected;
	uint64_t unavailable; /* jobs failed for want of a connection */
	uint64_t failed;      /* jobs the database refused */
};

struct dbq_job {
	struct dbq *q;
	dbq_fn fn;
	dbq_done_fn done;
	void *arg;
	int r;
	bool connected;
	bool reconnected;
	char errmsg[512];
	char schema_note[512]; /* why a CREATE failed whose table existed */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Database thread. */
static void dbq_work(void *arg)
{
	struct dbq_job *job = arg;
	struct dbq *q = job->q;
	struct db *db = q->db;
	int r;

	if (!db_connected(db)) {
		if (mono_ms() < q->next_attempt_ms) {
			r = -ENOTCONN;
			snprintf(job->errmsg, sizeof(job->errmsg),
				 "database unavailable (retrying)");
			goto out;
		}
		r = db_connect(db);
		if (r == 0 && !db->schema_ready) {
			r = db_apply_schema(db);
			if (r == 0 && db->schema_kept)
				snprintf(job->schema_note, sizeof(job->schema_note), "%s",
					 db_errmsg(db));
		}
		if (r < 0) {
			snprintf(job->errmsg, sizeof(job->errmsg), "%s", db_errmsg(db));
			db_disconnect(db);
			q->backoff_ms = q->backoff_ms ? q->backoff_ms * 2 : DBQ_BACKOFF_MIN_MS;
			if (q->backoff_ms > DBQ_BACKOFF_MAX_MS)
				q->backoff_ms = DBQ_BACKOFF_MAX_MS;
			q->next_attempt_ms = mono_ms() + q->backoff_ms;
			r = -ENOTCONN;
			goto out;
		}
		job->reconnected = true;
		q->backoff_ms = 0;
	}
	r = job->fn(db, job->arg);
	if (r < 0) {
		snprintf(job->errmsg, sizeof(job->errmsg), "%s", db_errmsg(db));
		(void)db_rollback(db);
		if (r == -ENOTCONN) {
			db_disconnect(db);
			q->next_attempt_ms =
				0; /* the next job tries once at once, then backs off */
		}
	}
out:
	job->r = r;
	job->connected = db_connected(db);
}

/* Loop thread. */
static void dbq_done(void *arg)
{
	struct dbq_job *job = arg;
	struct dbq *q = job->q;

	if (job->reconnected && !q->connected)
		log_info("database connection (%s) established", q->backend);
	if (job->schema_note[0] != '\0')
		log_warn("database (%s): cannot create tables (%s); using the existing ones",
			 q->backend, job->schema_note);
	if (job->r < 0) {
		if (job->r == -ENOTCONN)
			q->unavailable++;
		else
			q->failed++;
		if (job->r == -ENOTCONN) {
			if (q->connected || !q->was_connected)
				log_error("database (%s) unavailable: %s", q->backend, job->errmsg);
			else
				log_debug("database (%s) still unavailable: %s", q->backend,
					  job->errmsg);
		} else {
			log_error("database (%s) operation failed: %s", q->backend, job->errmsg);
		}
	}
	q->connected = job->connected;
	q->was_connected = true;
	if (job->done)
		job->done(job->arg, job->r);
	free(job);
}

int dbq_new(sd_event *e, struct db *db, struct dbq **ret)
{
	struct dbq *q = xcalloc(1, sizeof(*q));
	int r;

	q->db = db;
	q->backend = db_name(db);
	q->connected = db_connected(db); /* SQLite is opened before the thread starts */
	q->was_connected = q->connected;
	r = workq_new(e, 1, DBQ_MAX_PENDING, &q->wq);
	if (r < 0) {
		free(q);
		return r;
	}
	*ret = q;
	return 0;
}

int dbq_submit(struct dbq *q, dbq_fn fn, dbq_done_fn done, void *arg)
{
	struct dbq_job *job;
	int r;

	if (q == NULL || q->wq == NULL)
		return -EAGAIN;
	job = xcalloc(1, sizeof(*job));
	job->q = q;
	job->fn = fn;
	job->done = done;
	job->arg = arg;
	r = workq_submit(q->wq, dbq_work, dbq_done, job);
	if (r < 0)
		free(job);
	return r;
}

bool dbq_connected(const struct dbq *q)
{
	return q != NULL && q->connected;
}

uint64_t dbq_errors(const struct dbq *q)
{
	return q ? q->unavailable + q->failed : 0;
}

void dbq_error_counts(const struct dbq *q, uint64_t *ret_unavailable, uint64_t *ret_failed)
{
	*ret_unavailable = q ? q->unavailable : 0;
	*ret_failed = q ? q->failed : 0;
}

size_t dbq_pending(const struct dbq *q)
{
	return q && q->wq ? workq_pending(q->wq) : 0;
}

const char *dbq_backend(const struct dbq *q)
{
	return q ? q->backend : "none";
}

void dbq_free(struct dbq *q)
{
	if (q == NULL)
		return;
	workq_free(q->wq);
	q->wq = NULL;
	db_close(q->db);
	free(q);
}

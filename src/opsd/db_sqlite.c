/* db_ops backend for SQLite: one file under the state directory, WAL, busy timeout. */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/strutil.h"
#include "common/xmalloc.h"

struct db_sqlite {
	struct db base;
	char *path;
	sqlite3 *h;
	int64_t changes;
};

struct stmt_sqlite {
	struct db_stmt base;
	sqlite3_stmt *st;
};

static const struct db_ops sqlite_ops;

static int map_err(struct db_sqlite *d, int rc)
{
	const char *msg = d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc);

	snprintf(d->base.errmsg, sizeof(d->base.errmsg), "sqlite: %s", msg);
	switch (rc & 0xFF) {
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EAGAIN;
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:
		return -EIO;
	default:
		return -EIO;
	}
}

int db_sqlite_new(const char *path, struct db **ret)
{
	struct db_sqlite *d = xcalloc(1, sizeof(*d));

	d->base.ops = &sqlite_ops;
	d->path = xstrdup(path);
	*ret = &d->base;
	return 0;
}

static int sq_exec(struct db *db, const char *sql)
{
	struct db_sqlite *d = (struct db_sqlite *)db;
	int rc;

	if (d->h == NULL)
		return -ENOTCONN;
	rc = sqlite3_exec(d->h, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return map_err(d, rc);
	d->changes = sqlite3_changes(d->h);
	return 0;
}

static int sq_connect(struct db *db)
{
	struct db_sqlite *d = (struct db_sqlite *)db;
	int rc, r;

	if (d->h != NULL)
		return 0;
	rc = sqlite3_open_v2(d->path, &d->h,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		r = map_err(d, rc);
		sqlite3_close(d->h);
		d->h = NULL;
		return r == -EIO ? -ENOTCONN : r;
	}
	sqlite3_busy_timeout(d->h, 5000);
	sqlite3_extended_result_codes(d->h, 1);
	r = sq_exec(db, "PRAGMA journal_mode=WAL");
	if (r == 0)
		r = sq_exec(db, "PRAGMA synchronous=NORMAL");
	if (r == 0)
		r = sq_exec(db, "PRAGMA foreign_keys=ON");
	if (r < 0) {
		sqlite3_close(d->h);
		d->h = NULL;
		return -ENOTCONN;
	}
	return 0;
}

static void sq_disconnect(struct db *db)
{
	struct db_sqlite *d = (struct db_sqlite *)db;

	if (d->h != NULL)
		sqlite3_close_v2(d->h);
	d->h = NULL;
}

static bool sq_connected(struct db *db)
{
	return ((struct db_sqlite *)db)->h != NULL;
}

static void sq_close(struct db *db)
{
	struct db_sqlite *d = (struct db_sqlite *)db;

	sq_disconnect(db);
	free(d->path);
	free(d);
}

static int sq_prepare(struct db *db, const char *sql, struct db_stmt **ret)
{
	struct db_sqlite *d = (struct db_sqlite *)db;
	struct stmt_sqlite *s;
	sqlite3_stmt *st = NULL;
	int rc;

	if (d->h == NULL)
		return -ENOTCONN;
	rc = sqlite3_prepare_v2(d->h, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return map_err(d, rc);
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &sqlite_ops;
	s->base.db = db;
	s->st = st;
	*ret = &s->base;
	return 0;
}

static int sq_bind_text(struct db_stmt *st, unsigned idx, const char *v, size_t len)
{
	struct stmt_sqlite *s = (struct stmt_sqlite *)st;
	int rc = sqlite3_bind_text(s->st, (int)idx, v, (int)len, SQLITE_TRANSIENT);

	return rc == SQLITE_OK ? 0 : map_err((struct db_sqlite *)st->db, rc);
}

static int sq_bind_int64(struct db_stmt *st, unsigned idx, int64_t v)
{
	struct stmt_sqlite *s = (struct stmt_sqlite *)st;
	int rc = sqlite3_bind_int64(s->st, (int)idx, v);

	return rc == SQLITE_OK ? 0 : map_err((struct db_sqlite *)st->db, rc);
}

static int sq_bind_null(struct db_stmt *st, unsigned idx)
{
	struct stmt_sqlite *s = (struct stmt_sqlite *)st;
	int rc = sqlite3_bind_null(s->st, (int)idx);

	return rc == SQLITE_OK ? 0 : map_err((struct db_sqlite *)st->db, rc);
}

static int sq_step(struct db_stmt *st)
{
	struct stmt_sqlite *s = (struct stmt_sqlite *)st;
	struct db_sqlite *d = (struct db_sqlite *)st->db;
	int rc = sqlite3_step(s->st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE) {
		d->changes = sqlite3_changes(d->h);
		return 0;
	}
	return map_err(d, rc);
}

static bool sq_column_null(struct db_stmt *st, unsigned col)
{
	return sqlite3_column_type(((struct stmt_sqlite *)st)->st, (int)col) == SQLITE_NULL;
}

static const char *sq_column_text(struct db_stmt *st, unsigned col)
{
	return (const char *)sqlite3_column_text(((struct stmt_sqlite *)st)->st, (int)col);
}

static int64_t sq_column_int64(struct db_stmt *st, unsigned col)
{
	return sqlite3_column_int64(((struct stmt_sqlite *)st)->st, (int)col);
}

static void sq_finalize(struct db_stmt *st)
{
	struct stmt_sqlite *s = (struct stmt_sqlite *)st;

	sqlite3_finalize(s->st);
	free(s);
}

static int64_t sq_changes(struct db *db)
{
	return ((struct db_sqlite *)db)->changes;
}

static int64_t sq_last_insert_id(struct db *db)
{
	struct db_sqlite *d = (struct db_sqlite *)db;

	return d->h ? sqlite3_last_insert_rowid(d->h) : 0;
}

static int sq_begin(struct db *db)
{
	return sq_exec(db, "BEGIN IMMEDIATE");
}

static int sq_commit(struct db *db)
{
	return sq_exec(db, "COMMIT");
}

static int sq_rollback(struct db *db)
{
	struct db_sqlite *d = (struct db_sqlite *)db;

	if (d->h == NULL || sqlite3_get_autocommit(d->h))
		return 0;
	return sq_exec(db, "ROLLBACK");
}

static const struct db_ops sqlite_ops = {
	.name = "sqlite",
	.schema = opsd_sql_sqlite,
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.connected = sq_connected,
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.bind_text = sq_bind_text,
	.bind_int64 = sq_bind_int64,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.column_null = sq_column_null,
	.column_text = sq_column_text,
	.column_int64 = sq_column_int64,
	.finalize = sq_finalize,
	.changes = sq_changes,
	.last_insert_id = sq_last_insert_id,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
};

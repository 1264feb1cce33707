/* db_ops backend for MySQL / MariaDB through MariaDB Connector/C (prepared statements). */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "common/strutil.h"
#include "common/xmalloc.h"
#include "db_dsn.h"

#define MYSQL_CONNECT_TIMEOUT 5
#define MYSQL_RW_TIMEOUT 15

struct db_mysql {
	struct db base;
	struct db_dsn dsn;
	MYSQL *h;
	int64_t changes;
	int64_t last_id;
};

struct param {
	char *text;
	int64_t i;
	my_bool is_null;
	unsigned long len;
};

struct stmt_mysql {
	struct db_stmt base;
	MYSQL_STMT *st;
	unsigned nparams;
	MYSQL_BIND *params;
	struct param *pv;
	bool executed;
	bool has_result;
	unsigned ncols;
	MYSQL_BIND *res;
	char **bufs;
	unsigned long *caps;
	unsigned long *lens;
	my_bool *nulls;
	my_bool *errs;
};

static const struct db_ops mysql_ops;

/* ---- errors ------------------------------------------------------------------------- */

static int classify(unsigned err)
{
	switch (err) {
	case 2002: /* CR_CONNECTION_ERROR */
	case 2003: /* CR_CONN_HOST_ERROR */
	case 2005: /* CR_UNKNOWN_HOST */
	case 2006: /* CR_SERVER_GONE_ERROR */
	case 2013: /* CR_SERVER_LOST */
	case 2014: /* CR_COMMANDS_OUT_OF_SYNC: the connection is unusable */
	case 2026: /* CR_SSL_CONNECTION_ERROR */
	case 2055: /* CR_SERVER_LOST_EXTENDED */
	case 1053: /* ER_SERVER_SHUTDOWN */
	case 1927: /* ER_CONNECTION_KILLED */
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
		return -ENOTCONN;
	case 1062: /* ER_DUP_ENTRY */
	case 1586: /* ER_DUP_ENTRY_WITH_KEY_NAME */
	case 1022: /* ER_DUP_KEY */
		return -EEXIST;
	case 1205: /* ER_LOCK_WAIT_TIMEOUT */
	case 1213: /* ER_LOCK_DEADLOCK */
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static int conn_err(struct db_mysql *d)
{
	unsigned e = d->h ? mysql_errno(d->h) : 2006;

	snprintf(d->base.errmsg, sizeof(d->base.errmsg), "mysql %u: %s", e,
		 d->h ? mysql_error(d->h) : "not connected");
	return classify(e);
}

static int stmt_err(struct stmt_mysql *s)
{
	struct db_mysql *d = (struct db_mysql *)s->base.db;
	unsigned e = mysql_stmt_errno(s->st);

	snprintf(d->base.errmsg, sizeof(d->base.errmsg), "mysql %u: %s", e,
		 mysql_stmt_error(s->st));
	return classify(e);
}

/* ---- connection --------------------------------------------------------------------- */

int db_mysql_new(const char *dsn, struct db **ret)
{
	struct db_mysql *d = xcalloc(1, sizeof(*d));
	int r;

	d->base.ops = &mysql_ops;
	r = db_dsn_parse(dsn, &d->dsn);
	if (r < 0) {
		free(d);
		return r;
	}
	*ret = &d->base;
	return 0;
}

static int my_exec(struct db *db, const char *sql)
{
	struct db_mysql *d = (struct db_mysql *)db;
	MYSQL_RES *res;

	if (d->h == NULL)
		return -ENOTCONN;
	if (mysql_query(d->h, sql) != 0)
		return conn_err(d);
	res = mysql_store_result(d->h);
	if (res)
		mysql_free_result(res);
	else if (mysql_field_count(d->h) != 0)
		return conn_err(d);
	d->changes = (int64_t)mysql_affected_rows(d->h);
	return 0;
}

static void my_disconnect(struct db *db)
{
	struct db_mysql *d = (struct db_mysql *)db;

	if (d->h != NULL)
		mysql_close(d->h);
	d->h = NULL;
}

static int my_connect(struct db *db)
{
	struct db_mysql *d = (struct db_mysql *)db;
	unsigned ct = MYSQL_CONNECT_TIMEOUT, rw = MYSQL_RW_TIMEOUT;
	my_bool off = 0;
	int r;

	if (d->h != NULL)
		return 0;
	d->h = mysql_init(NULL);
	if (d->h == NULL) {
		snprintf(d->base.errmsg, sizeof(d->base.errmsg), "mysql: out of memory");
		return -ENOMEM;
	}
	mysql_options(d->h, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(d->h, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(d->h, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(d->h, MYSQL_OPT_RECONNECT, &off);
	mysql_options(d->h, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(d->h, d->dsn.unix_socket ? NULL : d->dsn.host, d->dsn.user,
			       d->dsn.password, d->dsn.database, d->dsn.port, d->dsn.unix_socket,
			       0) == NULL) {
		r = conn_err(d);
		my_disconnect(db);
		/* Wrong password, unknown database...: still "not connected" for the caller. */
		return r == -EIO ? -ENOTCONN : r;
	}
	mysql_autocommit(d->h, 1);
	r = my_exec(db, "SET time_zone = '+00:00'");
	if (r == 0)
		r = my_exec(db, "SET SESSION innodb_lock_wait_timeout = 20");
	if (r < 0) {
		my_disconnect(db);
		return -ENOTCONN;
	}
	return 0;
}

static bool my_connected(struct db *db)
{
	return ((struct db_mysql *)db)->h != NULL;
}

static void my_close(struct db *db)
{
	struct db_mysql *d = (struct db_mysql *)db;

	my_disconnect(db);
	db_dsn_clear(&d->dsn);
	free(d);
}

/* ---- statements --------------------------------------------------------------------- */

static void my_finalize(struct db_stmt *st)
{
	struct stmt_mysql *s = (struct stmt_mysql *)st;
	unsigned i;

	if (s == NULL)
		return;
	if (s->st)
		mysql_stmt_close(s->st);
	for (i = 0; i < s->nparams; i++)
		free(s->pv[i].text);
	free(s->pv);
	free(s->params);
	for (i = 0; i < s->ncols; i++)
		free(s->bufs[i]);
	free(s->bufs);
	free(s->res);
	free(s->caps);
	free(s->lens);
	free(s->nulls);
	free(s->errs);
	free(s);
}

static int my_prepare(struct db *db, const char *sql, struct db_stmt **ret)
{
	struct db_mysql *d = (struct db_mysql *)db;
	struct stmt_mysql *s;
	unsigned i;
	int r;

	if (d->h == NULL)
		return -ENOTCONN;
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &mysql_ops;
	s->base.db = db;
	s->st = mysql_stmt_init(d->h);
	if (s->st == NULL) {
		r = conn_err(d);
		free(s);
		return r;
	}
	if (mysql_stmt_prepare(s->st, sql, (unsigned long)strlen(sql)) != 0) {
		r = stmt_err(s);
		my_finalize(&s->base);
		return r;
	}
	s->nparams = (unsigned)mysql_stmt_param_count(s->st);
	s->params = xcalloc(s->nparams ? s->nparams : 1, sizeof(*s->params));
	s->pv = xcalloc(s->nparams ? s->nparams : 1, sizeof(*s->pv));
	for (i = 0; i < s->nparams; i++) {
		s->pv[i].is_null = 1;
		s->params[i].buffer_type = MYSQL_TYPE_NULL;
		s->params[i].is_null = &s->pv[i].is_null;
	}
	*ret = &s->base;
	return 0;
}

static int my_bind_text(struct db_stmt *st, unsigned idx, const char *v, size_t len)
{
	struct stmt_mysql *s = (struct stmt_mysql *)st;
	struct param *p;

	if (idx < 1 || idx > s->nparams)
		return -EINVAL;
	p = &s->pv[idx - 1];
	free(p->text);
	p->text = xstrndup(v, len);
	p->len = (unsigned long)len;
	p->is_null = 0;
	s->params[idx - 1].buffer_type = MYSQL_TYPE_STRING;
	s->params[idx - 1].buffer = p->text;
	s->params[idx - 1].buffer_length = p->len;
	s->params[idx - 1].length = &p->len;
	s->params[idx - 1].is_null = &p->is_null;
	return 0;
}

static int my_bind_int64(struct db_stmt *st, unsigned idx, int64_t v)
{
	struct stmt_mysql *s = (struct stmt_mysql *)st;
	struct param *p;

	if (idx < 1 || idx > s->nparams)
		return -EINVAL;
	p = &s->pv[idx - 1];
	p->i = v;
	p->is_null = 0;
	s->params[idx - 1].buffer_type = MYSQL_TYPE_LONGLONG;
	s->params[idx - 1].buffer = &p->i;
	s->params[idx - 1].buffer_length = sizeof(p->i);
	s->params[idx - 1].length = NULL;
	s->params[idx - 1].is_null = &p->is_null;
	return 0;
}

static int my_bind_null(struct db_stmt *st, unsigned idx)
{
	struct stmt_mysql *s = (struct stmt_mysql *)st;

	if (idx < 1 || idx > s->nparams)
		return -EINVAL;
	s->pv[idx - 1].is_null = 1;
	s->params[idx - 1].buffer_type = MYSQL_TYPE_NULL;
	s->params[idx - 1].is_null = &s->pv[idx - 1].is_null;
	return 0;
}

static int my_execute(struct stmt_mysql *s)
{
	struct db_mysql *d = (struct db_mysql *)s->base.db;
	MYSQL_RES *meta;
	MYSQL_FIELD *fields;
	my_bool update_max = 1;
	unsigned i;

	if (s->nparams && mysql_stmt_bind_param(s->st, s->params) != 0)
		return stmt_err(s);
	mysql_stmt_attr_set(s->st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
	if (mysql_stmt_execute(s->st) != 0)
		return stmt_err(s);
	s->executed = true;
	meta = mysql_stmt_result_metadata(s->st);
	if (meta == NULL) {
		if (mysql_stmt_errno(s->st) != 0)
			return stmt_err(s);
		d->changes = (int64_t)mysql_stmt_affected_rows(s->st);
		d->last_id = (int64_t)mysql_stmt_insert_id(s->st);
		return 0;
	}
	if (mysql_stmt_store_result(s->st) != 0) {
		mysql_free_result(meta);
		return stmt_err(s);
	}
	s->has_result = true;
	s->ncols = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	s->res = xcalloc(s->ncols ? s->ncols : 1, sizeof(*s->res));
	s->bufs = xcalloc(s->ncols ? s->ncols : 1, sizeof(*s->bufs));
	s->caps = xcalloc(s->ncols ? s->ncols : 1, sizeof(*s->caps));
	s->lens = xcalloc(s->ncols ? s->ncols : 1, sizeof(*s->lens));
	s->nulls = xcalloc(s->ncols ? s->ncols : 1, sizeof(*s->nulls));
	s->errs = xcalloc(s->ncols ? s->ncols : 1, sizeof(*s->errs));
	for (i = 0; i < s->ncols; i++) {
		unsigned long cap = fields[i].max_length;

		if (cap < 64)
			cap = 64;
		s->caps[i] = cap + 1;
		s->bufs[i] = xmalloc(s->caps[i]);
		s->res[i].buffer_type = MYSQL_TYPE_STRING;
		s->res[i].buffer = s->bufs[i];
		s->res[i].buffer_length = s->caps[i];
		s->res[i].length = &s->lens[i];
		s->res[i].is_null = &s->nulls[i];
		s->res[i].error = &s->errs[i];
	}
	mysql_free_result(meta);
	if (mysql_stmt_bind_result(s->st, s->res) != 0)
		return stmt_err(s);
	return 1;
}

static int my_step(struct db_stmt *st)
{
	struct stmt_mysql *s = (struct stmt_mysql *)st;
	unsigned i;
	int r;

	if (!s->executed) {
		r = my_execute(s);
		if (r <= 0)
			return r;
	}
	if (!s->has_result)
		return 0;
	r = mysql_stmt_fetch(s->st);
	if (r == MYSQL_NO_DATA)
		return 0;
	if (r == 1)
		return stmt_err(s);
	for (i = 0; i < s->ncols; i++) {
		if (s->nulls[i]) {
			s->bufs[i][0] = '\0';
			continue;
		}
		if (s->lens[i] >= s->caps[i]) {
			/* Truncated: fetch this column again into a large enough buffer. */
			MYSQL_BIND b;

			free(s->bufs[i]);
			s->caps[i] = s->lens[i] + 1;
			s->bufs[i] = xmalloc(s->caps[i]);
			memset(&b, 0, sizeof(b));
			b.buffer_type = MYSQL_TYPE_STRING;
			b.buffer = s->bufs[i];
			b.buffer_length = s->caps[i];
			b.length = &s->lens[i];
			b.is_null = &s->nulls[i];
			if (mysql_stmt_fetch_column(s->st, &b, i, 0) != 0)
				return stmt_err(s);
			s->res[i].buffer = s->bufs[i];
			s->res[i].buffer_length = s->caps[i];
			if (mysql_stmt_bind_result(s->st, s->res) != 0)
				return stmt_err(s);
		}
		s->bufs[i][s->lens[i] < s->caps[i] ? s->lens[i] : s->caps[i] - 1] = '\0';
	}
	return 1;
}

static bool my_column_null(struct db_stmt *st, unsigned col)
{
	struct stmt_mysql *s = (struct stmt_mysql *)st;

	return col >= s->ncols || s->nulls[col];
}

static const char *my_column_text(struct db_stmt *st, unsigned col)
{
	struct stmt_mysql *s = (struct stmt_mysql *)st;

	if (col >= s->ncols || s->nulls[col])
		return NULL;
	return s->bufs[col];
}

static int64_t my_column_int64(struct db_stmt *st, unsigned col)
{
	const char *t = my_column_text(st, col);
	int64_t v;

	if (t == NULL)
		return 0;
	if (parse_i64(t, INT64_MIN, INT64_MAX, &v) == 0)
		return v;
	return (int64_t)strtod(t, NULL);
}

static int64_t my_changes(struct db *db)
{
	return ((struct db_mysql *)db)->changes;
}

static int64_t my_last_insert_id(struct db *db)
{
	return ((struct db_mysql *)db)->last_id;
}

static int my_begin(struct db *db)
{
	return my_exec(db, "START TRANSACTION");
}

static int my_commit(struct db *db)
{
	struct db_mysql *d = (struct db_mysql *)db;

	if (d->h == NULL)
		return -ENOTCONN;
	return mysql_commit(d->h) == 0 ? 0 : conn_err(d);
}

static int my_rollback(struct db *db)
{
	struct db_mysql *d = (struct db_mysql *)db;

	if (d->h == NULL)
		return 0;
	return mysql_rollback(d->h) == 0 ? 0 : conn_err(d);
}

static const struct db_ops mysql_ops = {
	.name = "mysql",
	.schema = opsd_sql_mysql,
	.connect = my_connect,
	.disconnect = my_disconnect,
	.connected = my_connected,
	.close = my_close,
	.exec = my_exec,
	.prepare = my_prepare,
	.bind_text = my_bind_text,
	.bind_int64 = my_bind_int64,
	.bind_null = my_bind_null,
	.step = my_step,
	.column_null = my_column_null,
	.column_text = my_column_text,
	.column_int64 = my_column_int64,
	.finalize = my_finalize,
	.changes = my_changes,
	.last_insert_id = my_last_insert_id,
	.begin = my_begin,
	.commit = my_commit,
	.rollback = my_rollback,
};

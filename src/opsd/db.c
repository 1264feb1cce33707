/* The small db_ops interface: dispatch, typed binding and schema application. */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

void db_close(struct db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

static int bind_types(struct db_stmt *st, const char *types, va_list ap)
{
	const struct db_ops *ops = st->ops;
	unsigned idx = 1;
	int r = 0;

	for (; types && *types && r == 0; types++, idx++) {
		switch (*types) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			r = s ? ops->bind_text(st, idx, s, strlen(s)) : ops->bind_null(st, idx);
			break;
		}
		case 'i':
			r = ops->bind_int64(st, idx, va_arg(ap, int64_t));
			break;
		case 'd':
			r = ops->bind_int64(st, idx, (int64_t)va_arg(ap, int));
			break;
		case 'b':
			r = ops->bind_int64(st, idx, va_arg(ap, int) ? 1 : 0);
			break;
		case 'p': {
			const int64_t *p = va_arg(ap, const int64_t *);

			r = p ? ops->bind_int64(st, idx, *p) : ops->bind_null(st, idx);
			break;
		}
		case 'n':
			r = ops->bind_null(st, idx);
			break;
		default:
			r = -EINVAL;
		}
	}
	return r;
}

static int vprepare(struct db *db, struct db_stmt **ret, const char *sql, const char *types,
		    va_list ap)
{
	struct db_stmt *st;
	size_t marks = 0;
	const char *p;
	int r;

	/* One type character per '?' (the SQL here never has '?' inside literals). */
	for (p = sql; *p; p++)
		marks += *p == '?';
	if (marks != (types ? strlen(types) : 0)) {
		snprintf(db->errmsg, sizeof(db->errmsg), "bind types do not match placeholders");
		return -EINVAL;
	}
	r = db->ops->prepare(db, sql, &st);
	if (r < 0)
		return r;
	r = bind_types(st, types, ap);
	if (r < 0) {
		db->ops->finalize(st);
		return r;
	}
	*ret = st;
	return 0;
}

int db_prepare(struct db *db, struct db_stmt **ret, const char *sql, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = vprepare(db, ret, sql, types, ap);
	va_end(ap);
	return r;
}

int db_step(struct db_stmt *st)
{
	return st->ops->step(st);
}

bool db_column_null(struct db_stmt *st, unsigned col)
{
	return st->ops->column_null(st, col);
}

const char *db_column_text(struct db_stmt *st, unsigned col)
{
	const char *s = st->ops->column_text(st, col);

	return s ? s : "";
}

int64_t db_column_int64(struct db_stmt *st, unsigned col)
{
	return st->ops->column_int64(st, col);
}

void db_finalize(struct db_stmt *st)
{
	if (st != NULL)
		st->ops->finalize(st);
}

int db_run(struct db *db, const char *sql, const char *types, ...)
{
	struct db_stmt *st;
	va_list ap;
	int r;

	va_start(ap, types);
	r = vprepare(db, &st, sql, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	while ((r = db_step(st)) > 0)
		;
	db_finalize(st);
	return r;
}

int db_query_int64(struct db *db, int64_t *ret_value, const char *sql, const char *types, ...)
{
	struct db_stmt *st;
	va_list ap;
	int r;

	va_start(ap, types);
	r = vprepare(db, &st, sql, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	r = db_step(st);
	if (r > 0)
		*ret_value = db_column_int64(st, 0);
	db_finalize(st);
	return r;
}

/* Whether the table a CREATE TABLE IF NOT EXISTS statement names is there already. The name
 * comes from our embedded DDL, never from outside, so it may be spelled into the SQL. */
static bool table_exists(struct db *db, const char *stmt)
{
	static const char prefix[] = "CREATE TABLE IF NOT EXISTS ";
	char sql[128];
	size_t n;

	if (strncmp(stmt, prefix, sizeof(prefix) - 1) != 0)
		return false;
	stmt += sizeof(prefix) - 1;
	n = strcspn(stmt, " (\n");
	if (n == 0 || n > 64)
		return false;
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %.*s WHERE 1 = 0", (int)n, stmt);
	return db->ops->exec(db, sql) == 0;
}

int db_apply_schema(struct db *db)
{
	const char *p = db->ops->schema;
	int r = 0;

	/* Statements are separated by ";\n" (the DDL files hold no such text elsewhere). */
	while (*p != '\0' && r == 0) {
		const char *end = strstr(p, ";\n");
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *stmt = xstrndup(p, n);
		const char *q = stmt;

		while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')
			q++;
		/* skip comment-only chunks */
		while (q[0] == '-' && q[1] == '-') {
			q = strchr(q, '\n');
			if (q == NULL)
				break;
			while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')
				q++;
		}
		if (q != NULL && *q != '\0') {
			r = db->ops->exec(db, q);
			/* A gateway's database user may hold only DML rights (MariaDB checks
			 * CREATE before IF NOT EXISTS): a table that is there will do. */
			if (r == -EIO && table_exists(db, q)) {
				db->schema_kept = true;
				r = 0;
			}
		}
		free(stmt);
		p = end ? end + 2 : p + n;
	}
	if (r == 0)
		db->schema_ready = true;
	return r;
}

/* The small db_ops interface: one connection, prepared statements, two backends. */
#ifndef RL_OPSD_DB_H
#define RL_OPSD_DB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Contract
 * --------
 * A struct db is one connection, used by one thread at a time (ops-worker keeps it on
 * its single database thread). Functions return 0 (or 1 for "row" from db_step) or a
 * negative errno:
 *   -ENOTCONN  the connection is gone (server down, killed, timed out); the caller should
 *              drop it (db_disconnect) and reconnect later
 *   -EEXIST    a UNIQUE / PRIMARY KEY constraint refused the row
 *   -EAGAIN    lock wait timeout or deadlock: try again later
 *   -EIO       anything else (SQL error, bad data)
 * db_errmsg() holds the backend's text for the last error: for logs only, never for API
 * callers (it can contain SQL). Nothing here logs.
 *
 * SQL given to db_prepare uses '?' placeholders and the common subset of SQLite and
 * MariaDB: no dialect functions (times are bound as 'YYYY-MM-DD HH:MM:SS' UTC text).
 * Column values read back as text or integers whatever the column type.
 */

struct db;
struct db_stmt;

struct db_ops {
	const char *name;   /* "sqlite", "mysql" */
	const char *schema; /* DDL: statements separated by ";\n" */
	int (*connect)(struct db *db);
	void (*disconnect)(struct db *db);
	bool (*connected)(struct db *db);
	void (*close)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	int (*prepare)(struct db *db, const char *sql, struct db_stmt **ret);
	int (*bind_text)(struct db_stmt *st, unsigned idx, const char *s, size_t len);
	int (*bind_int64)(struct db_stmt *st, unsigned idx, int64_t v);
	int (*bind_null)(struct db_stmt *st, unsigned idx);
	int (*step)(struct db_stmt *st);
	bool (*column_null)(struct db_stmt *st, unsigned col);
	const char *(*column_text)(struct db_stmt *st, unsigned col);
	int64_t (*column_int64)(struct db_stmt *st, unsigned col);
	void (*finalize)(struct db_stmt *st);
	int64_t (*changes)(struct db *db);
	int64_t (*last_insert_id)(struct db *db);
	int (*begin)(struct db *db);
	int (*commit)(struct db *db);
	int (*rollback)(struct db *db);
};

/* Every backend's connection starts with this. */
struct db {
	const struct db_ops *ops;
	char errmsg[512];
	bool schema_ready; /* DDL applied (once, on the first connection) */
	bool schema_kept;  /* a CREATE failed but its table existed; errmsg tells why */
};

/* Backends. Neither connects yet: call db_connect. */
int db_sqlite_new(const char *path, struct db **ret);
/* dsn: mysql://, mysql+pymysql://, mariadb:// user:pass@host:port/db?unix_socket=... */
int db_mysql_new(const char *dsn, struct db **ret);

static inline int db_connect(struct db *db)
{
	return db->ops->connect(db);
}
static inline void db_disconnect(struct db *db)
{
	db->ops->disconnect(db);
}
static inline bool db_connected(struct db *db)
{
	return db->ops->connected(db);
}
/* Close and free; accepts NULL. */
void db_close(struct db *db);
static inline int db_exec(struct db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}
static inline int db_begin(struct db *db)
{
	return db->ops->begin(db);
}
static inline int db_commit(struct db *db)
{
	return db->ops->commit(db);
}
static inline int db_rollback(struct db *db)
{
	return db->ops->rollback(db);
}
static inline int64_t db_changes(struct db *db)
{
	return db->ops->changes(db);
}
static inline int64_t db_last_insert_id(struct db *db)
{
	return db->ops->last_insert_id(db);
}
static inline const char *db_errmsg(struct db *db)
{
	return db->errmsg;
}
static inline const char *db_name(struct db *db)
{
	return db->ops->name;
}

/*
 * Prepare sql and bind its parameters from a type string, one character per '?':
 *   's' const char * (NULL binds NULL)    'i' int64_t       'd' int
 *   'b' bool (as 0/1)                      'p' const int64_t * (NULL binds NULL)
 *   'n' NULL (no argument)
 */
int db_prepare(struct db *db, struct db_stmt **ret, const char *sql, const char *types, ...);
/* 1 when a row is ready, 0 when done, negative errno on error. */
int db_step(struct db_stmt *st);
bool db_column_null(struct db_stmt *st, unsigned col);
/* Text of a column ("" for NULL); borrowed until the next db_step/db_finalize. */
const char *db_column_text(struct db_stmt *st, unsigned col);
int64_t db_column_int64(struct db_stmt *st, unsigned col);
void db_finalize(struct db_stmt *st);
/* Prepare, bind, step to the end, finalize. */
int db_run(struct db *db, const char *sql, const char *types, ...);
/* Prepare, bind, step once, finalize: 1 and the first row's first column in *ret_value, 0
 * when there is no row (*ret_value untouched), or a negative errno. */
int db_query_int64(struct db *db, int64_t *ret_value, const char *sql, const char *types, ...);
/* Apply the backend's DDL (CREATE TABLE IF NOT EXISTS ...). A CREATE TABLE that fails
 * (e.g. no CREATE privilege) is accepted when its table exists: schema_kept is set and
 * errmsg holds the refusal. */
int db_apply_schema(struct db *db);

/* Backends embed this at the start of their statement struct. */
struct db_stmt {
	const struct db_ops *ops;
	struct db *db;
};

/* Embedded DDL (generated from the files in sql/ at build time). */
extern const char opsd_sql_sqlite[];
extern const char opsd_sql_mysql[];

#endif

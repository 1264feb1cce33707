/* MYSQL_DSN parsing: mysql://, mysql+pymysql://, mariadb:// with
 * user:password@host:port/database?unix_socket=..., percent-encoded parts decoded. */
#ifndef RL_OPSD_DB_DSN_H
#define RL_OPSD_DB_DSN_H

/* Strings are malloc'd; the password is a secret (wiped by db_dsn_clear). */
struct db_dsn {
	char *user, *password, *host, *database, *unix_socket;
	unsigned port;
};

/* 0, or -EINVAL for anything that is not such a URL (port range, bad escapes included). */
int db_dsn_parse(const char *dsn, struct db_dsn *ret);
/* NULL-safe. */
void db_dsn_clear(struct db_dsn *d);

#endif

/* Unit tests for db_dsn.c: MYSQL_DSN parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db_dsn.h"

static void test_dsn(void **state)
{
	struct db_dsn d;

	assert_int_equal(
		db_dsn_parse("mysql+pymysql://us%40r:p%3Aw@db.example:3307/gw?charset=utf8mb4", &d),
		0);
	assert_string_equal(d.user, "us@r");
	assert_string_equal(d.password, "p:w");
	assert_string_equal(d.host, "db.example");
	assert_int_equal(d.port, 3307);
	assert_string_equal(d.database, "gw");
	assert_null(d.unix_socket);
	db_dsn_clear(&d);
	assert_int_equal(db_dsn_parse("mysql://root@[::1]/x?unix_socket=/run/m.sock", &d), 0);
	assert_string_equal(d.host, "::1");
	assert_int_equal(d.port, 3306);
	assert_null(d.password);
	assert_string_equal(d.unix_socket, "/run/m.sock");
	db_dsn_clear(&d);
	assert_int_equal(db_dsn_parse("mariadb://h", &d), 0);
	assert_null(d.database);
	db_dsn_clear(&d);
	assert_int_equal(db_dsn_parse("postgresql://h/x", &d), -EINVAL);
	assert_int_equal(db_dsn_parse("mysql://h:99999/x", &d), -EINVAL);
	assert_int_equal(db_dsn_parse("mysql://u:%zz@h/x", &d), -EINVAL);
	assert_int_equal(db_dsn_parse("mysqlx://h/x", &d), -EINVAL);
	assert_int_equal(db_dsn_parse("h/x", &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dsn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

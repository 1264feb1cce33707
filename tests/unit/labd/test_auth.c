/* Unit tests: neops-remote-lab's bearer-token check and token file loading (auth.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"

static char dir[] = "/tmp/test_auth_XXXXXX";

static const char *write_file(const char *name, const char *content, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void test_check(void **state)
{
	struct labd_auth off = { 0 }, on = { .token = (char *)"s3cret" };

	/* off: everything passes, as the Python server */
	assert_int_equal(labd_auth_check(&off, "/lab", NULL), 0);
	assert_int_equal(labd_auth_check(NULL, "/lab", NULL), 0);
	/* on: /healthz stays open, nothing else without the token */
	assert_int_equal(labd_auth_check(&on, "/healthz", NULL), 0);
	assert_int_equal(labd_auth_check(&on, "/healthz/x", NULL), 401);
	/* the status page's files (no data) open; its reads and /uix do not */
	assert_int_equal(labd_auth_check(&on, "/ui", NULL), 0);
	assert_int_equal(labd_auth_check(&on, "/ui/app.js", NULL), 0);
	assert_int_equal(labd_auth_check(&on, "/uix", NULL), 401);
	assert_int_equal(labd_auth_check(&on, "/", NULL), 401);
	assert_int_equal(labd_auth_check(&on, "/sessions", NULL), 401);
	assert_int_equal(labd_auth_check(&on, "/lab", NULL), 401);
	assert_int_equal(labd_auth_check(&on, "/nope", NULL), 401);
	assert_int_equal(labd_auth_check(&on, "/lab", "Bearer s3cret"), 0);
	assert_int_equal(labd_auth_check(&on, "/lab", "bearer  s3cret"), 0);
	assert_int_equal(labd_auth_check(&on, "/lab", "Bearer s3cre"), 401);
	assert_int_equal(labd_auth_check(&on, "/lab", "Bearer s3crett"), 401);
	assert_int_equal(labd_auth_check(&on, "/lab", "Bearer "), 401);
	assert_int_equal(labd_auth_check(&on, "/lab", "Basic s3cret"), 401);
	assert_int_equal(labd_auth_check(&on, "/lab", "s3cret"), 401);
	assert_int_equal(labd_auth_check(&on, "/lab", "Bearer s3cret "), 401);
}

static void test_load(void **state)
{
	struct labd_auth a = { 0 };
	char err[512];

	assert_int_equal(
		labd_auth_load(&a, write_file("t", "  tok-123_ABC\n", 0600), err, sizeof(err)), 0);
	assert_string_equal(a.token, "tok-123_ABC");
	labd_auth_clear(&a);
	assert_null(a.token);
	assert_true(labd_auth_load(&a, write_file("e", " \n\t\n", 0600), err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "is empty"));
	assert_true(labd_auth_load(&a, write_file("s", "two words\n", 0600), err, sizeof(err)) < 0);
	assert_null(strstr(err, "two")); /* the token never appears in messages */
	assert_true(labd_auth_load(&a, "/nonexistent/token", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/token"));
	assert_null(a.token);
	labd_auth_clear(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_load),
	};
	int r;

	if (mkdtemp(dir) == NULL)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(write_file("t", "", 0600));
	unlink(write_file("e", "", 0600));
	unlink(write_file("s", "", 0600));
	rmdir(dir);
	return r;
}

/* Unit tests: netlab output parsing and upload handling (names, limits, hash, install). */
#include <errno.h>
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

#include "common/fsutil.h"
#include "uploads.h"

static void test_relpath(void **state)
{
	static const char *const good[] = { "a.cfg",   "configs/r1.cfg",        "a/b/c/d.j2",
					    ".hidden", "topology-defaults.yml", "..a",
					    "a..b/c" };
	static const char *const bad[] = { "",      "/abs",     "../x",        "a/../b",
					   "a/./b", ".",        "..",          "a//b",
					   "a/",    "clab.yml", "host_vars/x", "netlab.lock",
					   "a\nb",  "a\tb" };
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(upload_check_relpath(good[i], why, sizeof(why)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(upload_check_relpath(bad[i], why, sizeof(why)), -EINVAL);
}

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/rl-upload-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return fs_rm_rf(dir);
}

static void feed(struct upload *u, const char *name, const char *filename, const char *data)
{
	struct http_form_part p = {
		.name = name, .filename = filename, .data = data, .len = strlen(data), .offset = 0
	};

	(void)upload_part(u, &p);
}

static void test_upload_stream_and_install(void **state)
{
	struct upload_limits lim = { .file_max = 100, .total_max = 1000, .files_max = 10 };
	struct http_form_part cont = {
		.name = "topology", .filename = "t.yml", .data = "c\n", .len = 2, .offset = 4
	};
	struct upload u;
	char work[300], path[400];
	const char *detail = NULL;
	bool reuse = true;
	json_t *errs;
	FILE *f;
	char buf[64];

	upload_init(&u, dir, &lim, false);
	feed(&u, "topology", "t.yml", "a: b");
	(void)upload_part(&u, &cont); /* a second chunk of the same part */
	feed(&u, "reuse", NULL, "false");
	feed(&u, "extra_files", "configs/r1.cfg", "hostname r1");
	upload_finish(&u);
	errs = upload_validation_errors(&u);
	assert_int_equal(json_array_size(errs), 0);
	json_decref(errs);
	assert_int_equal(upload_check(&u, &reuse, &detail), 0);
	assert_false(reuse);
	/* SHA-256 of the two chunks together, "a: bc\n" */
	assert_string_equal(u.hash,
			    "a59c2110e3deda022641ec07c97b4112f8cde9320546e35bc0707efa319edb84");
	snprintf(work, sizeof(work), "%s/work", dir);
	assert_int_equal(mkdir(work, 0700), 0);
	assert_int_equal(upload_install(&u, work), 0);
	snprintf(path, sizeof(path), "%s/configs/r1.cfg", work);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_string_equal(buf, "hostname r1");
	fclose(f);
	snprintf(path, sizeof(path), "%s/t.yml", work);
	assert_int_equal(access(path, F_OK), 0);
	upload_remove(&u);
	assert_null(u.dir);
	upload_free(&u);
}

static void test_upload_hash_value(void **state)
{
	struct upload_limits lim = { .file_max = 100, .total_max = 1000, .files_max = 10 };
	struct upload u;

	upload_init(&u, dir, &lim, false);
	feed(&u, "topology", "t.yml", "abc");
	upload_finish(&u);
	/* Known SHA-256 of "abc". */
	assert_string_equal(u.hash,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	upload_remove(&u);
	upload_free(&u);
}

static void test_upload_limits_and_errors(void **state)
{
	struct upload_limits lim = { .file_max = 4, .total_max = 6, .files_max = 2 };
	const char *detail = NULL;
	struct upload u;
	bool reuse;
	json_t *errs;

	upload_init(&u, dir, &lim, false);
	feed(&u, "topology", "t.yml", "12345");
	upload_finish(&u);
	assert_int_equal(upload_check(&u, &reuse, &detail), 413);
	upload_remove(&u);
	upload_free(&u);

	upload_init(&u, dir, &lim, false);
	feed(&u, "topology", "t.yml", "12");
	feed(&u, "extra_files", "a", "34");
	assert_int_equal(upload_part(&u, &(struct http_form_part){ .name = "extra_files",
								   .filename = "b",
								   .data = "5",
								   .len = 1 }),
			 -E2BIG);
	upload_finish(&u);
	assert_int_equal(upload_check(&u, &reuse, &detail), 413);
	assert_non_null(strstr(detail, "Too many files"));
	upload_remove(&u);
	upload_free(&u);

	upload_init(&u, dir, &lim, true); /* dry: nothing written */
	feed(&u, "topology", "t.txt", "x");
	feed(&u, "reuse", NULL, "perhaps");
	upload_finish(&u);
	assert_null(u.dir);
	errs = upload_validation_errors(&u);
	assert_int_equal(json_array_size(errs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 0), "type")),
			    "bool_parsing");
	json_decref(errs);
	assert_int_equal(upload_check(&u, &reuse, &detail), 400);
	assert_string_equal(detail, "Topology must be a .yml or .yaml file");
	upload_free(&u);

	upload_init(&u, dir, &lim, false);
	feed(&u, "reuse", NULL, "true");
	upload_finish(&u);
	errs = upload_validation_errors(&u);
	assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 0), "type")),
			    "missing");
	json_decref(errs);
	upload_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relpath),
		cmocka_unit_test(test_upload_stream_and_install),
		cmocka_unit_test(test_upload_hash_value),
		cmocka_unit_test(test_upload_limits_and_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

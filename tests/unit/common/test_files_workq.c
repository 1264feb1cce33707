/* Unit tests: crash-safe state files, flock helpers and the worker-thread queue. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/lock.h"
#include "common/statefile.h"
#include "common/workq.h"

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/rl-unit-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return WEXITSTATUS(system(cmd)) == 0 ? 0 : -1; /* test-only cleanup */
}

static void test_statefile_roundtrip(void **state)
{
	char path[300], tmp[320], *data = NULL;
	struct stat st;
	size_t len;

	snprintf(path, sizeof(path), "%s/meta.json", dir);
	assert_int_equal(statefile_write(path, "{\"a\":1}", 7, 0640), 0);
	assert_int_equal(statefile_write(path, "{\"b\":2}", 7, 0640), 0);
	assert_int_equal(statefile_read(path, 100, &data, &len), 0);
	assert_string_equal(data, "{\"b\":2}");
	assert_int_equal(len, 7);
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(access(tmp, F_OK), -1); /* no temp file left behind */
	assert_int_equal(statefile_read(path, 3, &data, &len), -EFBIG);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(statefile_read(path, 100, &data, &len), -ENOENT);
	snprintf(path, sizeof(path), "%s/no/such/dir/file", dir);
	assert_int_equal(statefile_write(path, "x", 1, 0600), -ENOENT);
}

static void test_lock_exclusive(void **state)
{
	char path[300];
	int a = -1, b = -1;

	snprintf(path, sizeof(path), "%s/x.lock", dir);
	assert_int_equal(lock_try(path, &a), 0);
	/* A second open file description cannot take it, even in the same process. */
	assert_int_equal(lock_try(path, &b), -EWOULDBLOCK);
	lock_release(a);
	assert_int_equal(lock_try(path, &b), 0);
	lock_release(b);
	lock_release(-1);
	assert_int_equal(access(path, F_OK), 0); /* the file stays, like filelock's */
}

struct job {
	int in, out;
	int *done_count;
};

static void work(void *arg)
{
	struct job *j = arg;

	usleep(1000);
	j->out = j->in * 2;
}

static void done(void *arg)
{
	struct job *j = arg;

	(*j->done_count)++;
}

static void test_workq(void **state)
{
	struct job jobs[20];
	struct workq *q = NULL;
	sd_event *e = NULL;
	int count = 0, i;

	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(workq_new(e, 3, 16, &q), 0);
	for (i = 0; i < 20; i++) {
		jobs[i] = (struct job){ .in = i, .done_count = &count };
		assert_int_equal(workq_submit(q, work, done, &jobs[i]), i < 16 ? 0 : -EAGAIN);
	}
	while (count < 16)
		assert_true(sd_event_run(e, 5000000) >= 0);
	for (i = 0; i < 16; i++)
		assert_int_equal(jobs[i].out, 2 * i);
	assert_int_equal(workq_pending(q), 0);
	assert_int_equal(workq_submit(q, work, done, &jobs[16]), 0);
	workq_free(q); /* finishes the queued job and runs its done callback */
	assert_int_equal(count, 17);
	workq_free(NULL);
	sd_event_unref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statefile_roundtrip),
		cmocka_unit_test(test_lock_exclusive),
		cmocka_unit_test(test_workq),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

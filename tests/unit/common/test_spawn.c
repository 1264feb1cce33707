/* Unit tests: child processes (real /bin/sh children) on an sd-event loop. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/loop.h"
#include "common/spawn.h"

struct outcome {
	bool done;
	struct spawn_result res;
	int lines;
	char out_lines[128];  /* stdout lines, '|'-joined, in order */
	char err_lines[128];  /* stderr lines likewise */
};

static void on_done(struct spawn *sp, struct spawn_result *res, void *ud)
{
	struct outcome *o = ud;

	o->res = *res;
	buf_init(&res->out, 0);
	buf_init(&res->err, 0);
	o->done = true;
}

/* Lines are ordered within a stream; the two pipes may be read in either order. */
static void on_line(void *ud, enum spawn_stream stream, const char *line)
{
	struct outcome *o = ud;
	char *dst = stream == SPAWN_STDOUT ? o->out_lines : o->err_lines;
	size_t n = strlen(dst);

	o->lines++;
	snprintf(dst + n, sizeof(o->out_lines) - n, "%s%s", n ? "|" : "", line);
}

static void run(struct spawn_options *opt, struct outcome *o)
{
	struct spawn *sp = NULL;
	sd_event *e = NULL;

	memset(o, 0, sizeof(*o));
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(spawn_start(e, opt, on_done, o, &sp), 0);
	while (!o->done)
		assert_true(sd_event_run(e, 10 * USEC_PER_SEC) >= 0);
	spawn_free(sp);
	sd_event_unref(e);
}

static int setup(void **state)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	sigprocmask(SIG_BLOCK, &m, NULL);
	return 0;
}

static void test_exit_code_and_output(void **state)
{
	const char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	struct spawn_options opt = { .argv = argv, .stdout_max = 1024, .stderr_max = 1024 };
	struct outcome o;

	run(&opt, &o);
	assert_true(o.res.exited);
	assert_int_equal(o.res.exit_code, 3);
	assert_string_equal(buf_cstr(&o.res.out), "out\n");
	assert_string_equal(buf_cstr(&o.res.err), "err\n");
	assert_false(o.res.timed_out);
	spawn_result_free(&o.res);
}

static void test_stdin_devnull_cwd_and_group(void **state)
{
	/* stdin must read EOF at once; cwd applied; the child leads its own process group. */
	const char *argv[] = { "/bin/sh", "-c",
			       "cat; pwd; [ \"$(ps -o pgid= $$ | tr -d ' ')\" = \"$$\" ] && echo own-group",
			       NULL };
	struct spawn_options opt = { .argv = argv, .cwd = "/tmp", .stdout_max = 1024,
				     .stderr_max = 1024, .timeout_usec = 10 * USEC_PER_SEC };
	struct outcome o;

	run(&opt, &o);
	assert_int_equal(o.res.exit_code, 0);
	assert_string_equal(buf_cstr(&o.res.out), "/tmp\nown-group\n");
	spawn_result_free(&o.res);
}

static void test_deadline_kills_group(void **state)
{
	/* The grandchild sleeps too; killing only the leader would leave the pipe open. */
	const char *argv[] = { "/bin/sh", "-c", "trap '' TERM; sleep 30 & sleep 30; wait", NULL };
	struct spawn_options opt = { .argv = argv, .stdout_max = 64, .stderr_max = 64,
				     .timeout_usec = 200 * USEC_PER_MSEC,
				     .kill_grace_usec = 200 * USEC_PER_MSEC };
	struct outcome o;

	run(&opt, &o);
	assert_true(o.res.timed_out);
	assert_false(o.res.exited);
	assert_int_equal(o.res.signal, SIGKILL);
	assert_true(o.res.duration_usec < 5 * USEC_PER_SEC);
	spawn_result_free(&o.res);
}

static void test_output_caps(void **state)
{
	const char *argv[] = { "/bin/sh", "-c",
			       "head -c 100000 /dev/zero | tr '\\0' a; head -c 5000 /dev/zero | tr '\\0' b >&2; echo -n END >&2",
			       NULL };
	struct spawn_options opt = { .argv = argv, .stdout_max = 1000, .stderr_max = 10 };
	struct outcome o;

	run(&opt, &o);
	assert_int_equal(o.res.exit_code, 0);
	assert_true(o.res.stdout_truncated);
	assert_int_equal(o.res.out.len, 1000);
	assert_int_equal(o.res.err.len, 10);
	assert_string_equal(buf_cstr(&o.res.err), "bbbbbbbEND");
	assert_int_equal(o.res.err.dropped, 4993);
	spawn_result_free(&o.res);
}

static void test_missing_program(void **state)
{
	const char *missing[] = { "/nonexistent/prog", NULL };
	const char *missing_path[] = { "no-such-program-xyz", NULL };
	struct spawn_options opt = { .argv = missing, .stdout_max = 64, .stderr_max = 64 };
	struct spawn_result res;
	struct spawn *sp = NULL;
	struct outcome o;
	sd_event *e = NULL;

	memset(&res, 0, sizeof(res));
	assert_int_equal(spawn_run_sync(&opt, &res), -ENOENT);
	opt.argv = missing_path;
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(spawn_start(e, &opt, on_done, &o, &sp), -ENOENT);
	assert_null(sp);
	sd_event_unref(e);
}

static void test_line_callback(void **state)
{
	const char *argv[] = { "/bin/sh", "-c", "printf 'a\\nb\\n'; printf 'c' >&2", NULL };
	struct outcome lines = { 0 };
	struct spawn_options opt = { .argv = argv, .stdout_max = 64, .stderr_max = 64,
				     .on_line = on_line, .line_userdata = &lines };
	struct spawn_result res;

	assert_int_equal(spawn_run_sync(&opt, &res), 0);
	assert_int_equal(lines.lines, 3);
	assert_string_equal(lines.out_lines, "a|b");
	assert_string_equal(lines.err_lines, "c");
	assert_string_equal(buf_cstr(&res.out), "a\nb\n");
	spawn_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_code_and_output),
		cmocka_unit_test(test_stdin_devnull_cwd_and_group),
		cmocka_unit_test(test_deadline_kills_group),
		cmocka_unit_test(test_output_caps),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_line_callback),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

/* Unit tests: child processes (real /bin/sh children) on an sd-event loop.
 *
 * Built twice: test_common_spawn, and test_common_spawn_nopidfd with SPAWN_TEST_NO_PIDFD,
 * where a seccomp filter makes pidfd_open(2) fail with ENOSYS for the whole process, as
 * it does under Debian's valgrind 3.19 and on kernels before 5.3. sd-event's own
 * pidfd_open fails the same way, so every test below also runs on SIGCHLD tracking. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#ifdef SPAWN_TEST_NO_PIDFD
#include <seccomp.h>
#endif

#include "common/loop.h"
#include "common/spawn.h"

struct outcome {
	bool done;
	struct spawn_result res;
	int lines;
	char out_lines[128]; /* stdout lines, '|'-joined, in order */
	char err_lines[128]; /* stderr lines likewise */
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
	const char *argv[] = {
		"/bin/sh", "-c",
		"cat; pwd; [ \"$(ps -o pgid= $$ | tr -d ' ')\" = \"$$\" ] && echo own-group", NULL
	};
	struct spawn_options opt = { .argv = argv,
				     .cwd = "/tmp",
				     .stdout_max = 1024,
				     .stderr_max = 1024,
				     .timeout_usec = 10 * USEC_PER_SEC };
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
	struct spawn_options opt = { .argv = argv,
				     .stdout_max = 64,
				     .stderr_max = 64,
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
	const char *argv[] = {
		"/bin/sh", "-c",
		"head -c 100000 /dev/zero | tr '\\0' a; head -c 5000 /dev/zero | tr '\\0' b >&2; echo -n END >&2",
		NULL
	};
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
	struct spawn_options opt = { .argv = argv,
				     .stdout_max = 64,
				     .stderr_max = 64,
				     .on_line = on_line,
				     .line_userdata = &lines };
	struct spawn_result res;

	assert_int_equal(spawn_run_sync(&opt, &res), 0);
	assert_int_equal(lines.lines, 3);
	assert_string_equal(lines.out_lines, "a|b");
	assert_string_equal(lines.err_lines, "c");
	assert_string_equal(buf_cstr(&res.out), "a\nb\n");
	spawn_result_free(&res);
}

static void test_signals_and_fds_reset(void **state)
{
	/* We block SIGCHLD (setup) and ignore SIGPIPE, like the daemons, and hold an fd
	 * without O_CLOEXEC: the child gets default dispositions, an empty mask, fds 0-2. */
	const char *argv[] = {
		"/bin/sh", "-c",
		"grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd | tr '\\n' ' '", NULL
	};
	struct spawn_options opt = { .argv = argv, .stdout_max = 1024, .stderr_max = 1024 };
	struct outcome o;
	int leak = open("/dev/null", O_RDONLY), sig, n = 0;
	unsigned long long blk = 1, ign = 1;

	assert_true(leak > 2);
	signal(SIGPIPE, SIG_IGN);
	run(&opt, &o);
	signal(SIGPIPE, SIG_DFL);
	close(leak);
	assert_int_equal(o.res.exit_code, 0);
	/* ls's own fd 3 is the directory it reads */
	assert_int_equal(sscanf(buf_cstr(&o.res.out), "SigBlk:\t%llx\nSigIgn:\t%llx\n%n", &blk,
				&ign, &n),
			 2);
	assert_int_equal(blk, 0);
	/* glibc reserves the signals below SIGRTMIN (its cancellation and setxid signals):
	 * sigaction refuses them, so whatever our own parent left there (a process started
	 * by glibc's posix_spawn has them ignored, as in dpkg-buildpackage) is no spawn's to
	 * change. Every other signal must be back to its default. */
	for (sig = 32; sig < SIGRTMIN; sig++)
		ign &= ~(1ULL << (sig - 1));
	assert_int_equal(ign, 0);
	assert_string_equal(buf_cstr(&o.res.out) + n, "0 1 2 3 ");
	spawn_result_free(&o.res);
}

/* The exit status of pid (our child), waiting at most `seconds`; the group is killed and
 * the test fails when it does not end by then. */
static int wait_exit(pid_t pid, int seconds)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status, i;

	for (i = 0; i < seconds * 100; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		assert_int_equal(r, 0);
		nanosleep(&tick, NULL);
	}
	(void)kill(-pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	fail_msg("process %d still running after %d s", (int)pid, seconds);
	return -1;
}

struct crash {
	pid_t server;             /* the forked "server" process, killed with SIGKILL */
	pid_t child;              /* its spawned child: /bin/sh, leader of its own group */
	struct spawn_group group; /* as the server would record it */
};

static void on_started(void *ud, enum spawn_stream stream, const char *line)
{
	*(bool *)ud = true;
}

/* Fork a "server" that starts `sh -c 'sleep 600 & echo started; wait'` through
 * spawn_start on its own loop, reports the child once it printed, then is killed with
 * SIGKILL as in a crash. We are a child subreaper, so orphans of that server come to us
 * (in production they go to init). */
static void crash_server(struct crash *c, int death_signal)
{
	const char *argv[] = { "/bin/sh", "-c", "sleep 600 & echo started; wait", NULL };
	int fds[2], status;
	ssize_t n;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	c->server = fork();
	assert_true(c->server >= 0);
	if (c->server == 0) {
		bool started = false;
		struct spawn_options opt = { .argv = argv,
					     .stdout_max = 64,
					     .stderr_max = 64,
					     .on_line = on_started,
					     .line_userdata = &started,
					     .death_signal = death_signal };
		struct outcome o = { 0 };
		struct spawn *sp = NULL;
		sd_event *e = NULL;

		memset(c, 0, sizeof(*c));
		c->child = -1;
		if (sd_event_new(&e) >= 0 && spawn_start(e, &opt, on_done, &o, &sp) == 0 &&
		    spawn_get_group(sp, &c->group) == 0)
			c->child = spawn_pid(sp);
		while (c->child > 0 && !started && !o.done)
			if (sd_event_run(e, UINT64_MAX) < 0)
				break;
		if (!started)
			c->child = -1;
		(void)!write(fds[1], c, sizeof(*c));
		if (c->child < 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	{
		pid_t server = c->server;

		n = read(fds[0], c, sizeof(*c));
		c->server = server;
	}
	close(fds[0]);
	(void)kill(c->server, SIGKILL);
	assert_int_equal(waitpid(c->server, &status, 0), c->server);
	assert_int_equal(n, sizeof(*c));
	assert_true(c->child > 0);
}

static void test_child_dies_with_server(void **state)
{
	struct crash c;
	int status;

	crash_server(&c, 0);
	/* The child is killed by its parent-death signal (SIGKILL by default)... */
	status = wait_exit(c.child, 60);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* ...but its own children live on in the group: what spawn_kill_group is for. */
	assert_int_equal(kill(-c.child, SIGKILL), 0);
	assert_true(waitpid(-c.child, &status, 0) > 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

static void test_leftover_group_after_crash(void **state)
{
	struct crash c;
	int status;

	crash_server(&c, SIGTERM);
	assert_int_equal(c.group.pgid, c.child);
	assert_int_equal(c.group.sid, getsid(0));
	assert_int_equal(strlen(c.group.boot_id), 36);
	status = wait_exit(c.child, 60);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM); /* the death_signal asked for */
	/* The next server start finds the grandchild `sleep 600` by the recorded group, and
	 * ends it; the leader's pid is gone, so this is the members-only check. */
	assert_int_equal(spawn_group_alive(&c.group), 1);
	assert_int_equal(spawn_kill_group(&c.group, SIGKILL), 0);
	assert_true(waitpid(-c.group.pgid, &status, 0) > 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(spawn_group_alive(&c.group), 0);
	assert_int_equal(spawn_kill_group(&c.group, SIGKILL), -ESRCH);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

/* A group to take records of: `sh -c 'sleep 600 & sleep 600'` (a leader and two members)
 * on a loop of its own. The helpers return 0 or the number of the step that failed, not
 * cmocka asserts: they also run in a forked child (test_group_in_foreign_session). */
struct sleepers {
	sd_event *e;
	struct spawn *sp;
	struct outcome o;
	struct spawn_group g; /* as a server records it */
};

static int sleepers_start(struct sleepers *s)
{
	static const char *argv[] = { "/bin/sh", "-c", "sleep 600 & sleep 600", NULL };
	struct spawn_options opt = { .argv = argv, .stdout_max = 64, .stderr_max = 64 };

	memset(s, 0, sizeof(*s));
	if (sd_event_new(&s->e) < 0)
		return 1;
	if (spawn_start(s->e, &opt, on_done, &s->o, &s->sp) != 0)
		return 2;
	if (spawn_get_group(s->sp, &s->g) != 0 || s->g.pgid != spawn_pid(s->sp))
		return 3;
	return 0;
}

/* End the group through its record, as the next server start does, and wait for the leader:
 * 0, or 1 when the kill was refused, 2 when the loop failed, 3 when the leader was not
 * killed by that SIGKILL. */
static int sleepers_kill(struct sleepers *s)
{
	if (spawn_kill_group(&s->g, SIGKILL) != 0)
		return 1;
	while (!s->o.done)
		if (sd_event_run(s->e, 10 * USEC_PER_SEC) < 0)
			return 2;
	return s->o.res.exited || s->o.res.signal != SIGKILL ? 3 : 0;
}

static void sleepers_free(struct sleepers *s)
{
	spawn_free(s->sp);
	sd_event_unref(s->e);
	spawn_result_free(&s->o.res);
}

static void test_group_identity(void **state)
{
	/* A record only matches the very group it was taken from. */
	struct sleepers s;
	struct spawn_group other;

	assert_int_equal(sleepers_start(&s), 0);
	assert_true(s.g.starttime > 0);
	assert_true(spawn_group_alive(&s.g) >= 1);
	/* the leader's pid reused by a process with another start time */
	other = s.g;
	other.starttime++;
	assert_int_equal(spawn_group_alive(&other), 0);
	assert_int_equal(spawn_kill_group(&other, SIGKILL), -ESRCH);
	/* another boot */
	other = s.g;
	other.boot_id[0] = other.boot_id[0] == '0' ? '1' : '0';
	assert_int_equal(spawn_group_alive(&other), 0);
	/* another session */
	other = s.g;
	other.sid++;
	assert_int_equal(spawn_group_alive(&other), 0);
	other.pgid = 1;
	assert_int_equal(spawn_group_alive(&other), -EINVAL);
	/* still ours: a record's kill reaches the whole group */
	assert_int_equal(sleepers_kill(&s), 0);
	sleepers_free(&s);
}

/* Run in a new pid namespace whose /proc is its own, as pid 1 there: our session's leader
 * is outside, so /proc (and getsid) say session 0 for every process of it. Returns the
 * number of the first check that failed, 0 when all held, 77 when /proc cannot be
 * mounted. */
static int foreign_session_checks(void)
{
	struct sleepers s;
	struct spawn_group other;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		fprintf(stderr, "cannot mount a /proc of our own: %s\n", strerror(errno));
		return 77; /* a container that forbids it: nothing to check here */
	}
	if (getpid() != 1 || getsid(0) != 0)
		return 2;
	if (sleepers_start(&s) != 0)
		return 3;
	if (s.g.sid != 0)
		return 4;
	if (spawn_group_alive(&s.g) < 1)
		return 5;
	other = s.g;
	other.sid = 1; /* a session that is not ours */
	if (spawn_group_alive(&other) != 0)
		return 6;
	other.sid = -1;
	if (spawn_group_alive(&other) != -EINVAL)
		return 7;
	if (sleepers_kill(&s) != 0)
		return 8;
	/* the other members were orphaned to us (pid 1 here): once reaped, nothing is left */
	while (waitpid(-s.g.pgid, NULL, 0) > 0)
		;
	if (errno != ECHILD || spawn_group_alive(&s.g) != 0)
		return 11;
	sleepers_free(&s);
	return 0;
}

static void test_group_in_foreign_session(void **state)
{
	/* Where the session's leader lives outside our pid namespace (a container, a CI
	 * runner), every process reads session 0: a record of such a group still finds and
	 * ends it. Skipped where no pid namespace with its own /proc can be made (no
	 * CAP_SYS_ADMIN, or a container that forbids it); says why on stderr. */
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t inner;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
			fprintf(stderr, "no pid namespace of our own: %s\n", strerror(errno));
			_exit(77);
		}
		inner = fork();
		if (inner == 0)
			_exit(foreign_session_checks());
		if (inner < 0 || waitpid(inner, &status, 0) != inner)
			_exit(98);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 97);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_path_search(void **state)
{
	/* PATH is searched in order; a file that is there but not executable is EACCES when
	 * nothing later on PATH runs, like execvp. */
	char dir[] = "/tmp/rl-spawn-XXXXXX", file[64], *path;
	const char *noexec[] = { "rl-noexec", NULL };
	const char *sh[] = { "sh", "-c", "exit 5", NULL };
	struct spawn_options opt = { .argv = noexec, .stdout_max = 64, .stderr_max = 64 };
	struct spawn_result res;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/rl-noexec", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	assert_non_null(path);
	{
		char newpath[4096];

		snprintf(newpath, sizeof(newpath), "/nonexistent:%s:/usr/bin:/bin", dir);
		setenv("PATH", newpath, 1);
	}
	memset(&res, 0, sizeof(res));
	assert_int_equal(spawn_run_sync(&opt, &res), -EACCES);
	opt.argv = sh;
	assert_int_equal(spawn_run_sync(&opt, &res), 0);
	assert_true(res.exited);
	assert_int_equal(res.exit_code, 5);
	spawn_result_free(&res);
	setenv("PATH", path, 1);
	free(path);
	unlink(file);
	rmdir(dir);
}

static int other_child_cb(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	*(int *)userdata = si->si_status;
	return 0;
}

static void test_other_children_untouched(void **state)
{
	/* Another module's children on the same loop, and a child nobody on the loop watches:
	 * spawn's tracking reaps neither (no waitpid(-1) anywhere). */
	const char *argv[] = { "/bin/sh", "-c", "exit 4", NULL };
	struct spawn_options opt = { .argv = argv, .stdout_max = 64, .stderr_max = 64 };
	sd_event_source *other_src = NULL;
	struct spawn *sp = NULL;
	struct outcome o = { 0 };
	pid_t unwatched, other;
	int status, other_status = -1;
	sd_event *e = NULL;
	siginfo_t si;

	unwatched = fork();
	assert_true(unwatched >= 0);
	if (unwatched == 0)
		_exit(7);
	other = fork();
	assert_true(other >= 0);
	if (other == 0)
		_exit(9);
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PID, (id_t)unwatched, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(
		sd_event_add_child(e, &other_src, other, WEXITED, other_child_cb, &other_status),
		0);
	assert_int_equal(spawn_start(e, &opt, on_done, &o, &sp), 0);
	while (!o.done || other_status < 0)
		assert_true(sd_event_run(e, 10 * USEC_PER_SEC) >= 0);
	assert_int_equal(o.res.exit_code, 4);
	assert_int_equal(other_status, 9);
	spawn_free(sp);
	sd_event_source_unref(other_src);
	sd_event_unref(e);
	assert_int_equal(waitpid(unwatched, &status, WNOHANG), unwatched);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	spawn_result_free(&o.res);
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
		cmocka_unit_test(test_signals_and_fds_reset),
		cmocka_unit_test(test_child_dies_with_server),
		cmocka_unit_test(test_other_children_untouched),
		cmocka_unit_test(test_leftover_group_after_crash),
		cmocka_unit_test(test_group_identity),
		cmocka_unit_test(test_group_in_foreign_session),
		cmocka_unit_test(test_path_search),
	};
	int failed;

#ifdef SPAWN_TEST_NO_PIDFD
	{
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

		if (ctx == NULL ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(pidfd_open), 0) < 0 ||
		    seccomp_load(ctx) < 0) {
			fprintf(stderr, "cannot install the seccomp filter\n");
			return 1;
		}
		seccomp_release(ctx);
		if (pidfd_open(getpid(), 0) >= 0 || errno != ENOSYS) {
			fprintf(stderr, "pidfd_open still works: the fallback would go untested\n");
			return 1;
		}
	}
#endif
	failed = cmocka_run_group_tests(tests, setup, NULL);
	{
		/* spawn tracked by pidfd exactly when this process can open one (not under the
		 * seccomp filter, nor under valgrind 3.19, which has no pidfd_open) */
		int fd = pidfd_open(getpid(), 0);

		if (fd >= 0)
			close(fd);
		if (spawn_uses_pidfd() != (fd >= 0)) {
			fprintf(stderr, "spawn %s pidfds, but pidfd_open %s\n",
				spawn_uses_pidfd() ? "used" : "did not use",
				fd >= 0 ? "works" : "fails");
			failed++;
		}
	}
	return failed;
}

/* Child processes: own process group, parent-death signal, stdin /dev/null, a deadline,
 * capped output, exit events from a pidfd or SIGCHLD. */
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "xmalloc.h"

#define SPAWN_LINE_MAX 4096
#define SPAWN_DRAIN_GRACE_USEC (2 * USEC_PER_SEC)

extern char **environ;

struct spawn_pipe {
	int fd;
	sd_event_source *src;
	enum spawn_stream stream;
	struct spawn *sp;
	char line[SPAWN_LINE_MAX];
	size_t line_len;
};

struct spawn {
	sd_event *event;
	pid_t pid;
	sd_event_source *child;
	sd_event_source *deadline;
	sd_event_source *drain;
	sd_event_source *finish;
	struct spawn_pipe out, err;
	struct spawn_options opt;
	struct spawn_result res;
	struct spawn_group group;
	int group_error;          /* why `group` could not be recorded (0: it was) */
	uint64_t started;
	bool child_done;
	bool killed_hard;
	spawn_done_fn done;
	void *userdata;
};

static void spawn_pipe_close(struct spawn_pipe *p)
{
	p->src = sd_event_source_disable_unref(p->src);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* An fd that is not 0, 1 or 2 (the child's dup2 onto those must never be a no-op that
 * keeps O_CLOEXEC), closing the original. */
static int spawn_fd_above_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return nfd;
}

static void spawn_emit_line(struct spawn_pipe *p, bool flush)
{
	struct spawn *sp = p->sp;

	if (sp->opt.on_line == NULL || (p->line_len == 0 && !flush))
		return;
	if (p->line_len == 0)
		return;
	p->line[p->line_len] = '\0';
	sp->opt.on_line(sp->opt.line_userdata, p->stream, p->line);
	p->line_len = 0;
}

static void spawn_feed_lines(struct spawn_pipe *p, const char *data, size_t n)
{
	size_t i;

	if (p->sp->opt.on_line == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			spawn_emit_line(p, true);
			continue;
		}
		if (p->line_len >= SPAWN_LINE_MAX - 1)
			spawn_emit_line(p, true);
		p->line[p->line_len++] = data[i];
	}
}

static int spawn_on_finish(sd_event_source *s, void *userdata)
{
	struct spawn *sp = userdata;
	spawn_done_fn done = sp->done;

	sp->done = NULL;
	if (done != NULL)
		done(sp, &sp->res, sp->userdata); /* may free sp */
	return 0;
}

/* Once the child is reaped and both pipes are drained, report from a deferred event, so
 * the callback may free the spawn without pulling a dispatching source from under sd-event. */
static void spawn_maybe_finish(struct spawn *sp)
{
	if (!sp->child_done || sp->out.fd >= 0 || sp->err.fd >= 0 || sp->finish != NULL)
		return;
	sp->res.duration_usec = loop_now(sp->event) - sp->started;
	if (sd_event_add_defer(sp->event, &sp->finish, spawn_on_finish, sp) < 0)
		spawn_on_finish(NULL, sp);
}

static int spawn_on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct spawn_pipe *p = userdata;
	struct spawn *sp = p->sp;
	char chunk[16384];
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			spawn_emit_line(p, true);
			spawn_pipe_close(p);
			spawn_maybe_finish(sp);
			return 0;
		}
		spawn_feed_lines(p, chunk, (size_t)n);
		if (p->stream == SPAWN_STDOUT) {
			size_t room = sp->res.out.max - sp->res.out.len;

			if ((size_t)n > room) {
				sp->res.stdout_truncated = true;
				(void)buf_append(&sp->res.out, chunk, room);
			} else {
				(void)buf_append(&sp->res.out, chunk, (size_t)n);
			}
		} else {
			buf_append_tail(&sp->res.err, chunk, (size_t)n);
		}
	}
	return 0;
}

static int spawn_on_drain_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct spawn *sp = userdata;

	/* The leader is gone but something in its group still holds the pipes open. */
	if (sp->pid > 0)
		(void)kill(-sp->pid, SIGKILL);
	spawn_pipe_close(&sp->out);
	spawn_pipe_close(&sp->err);
	spawn_maybe_finish(sp);
	return 0;
}

static int spawn_on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	struct spawn *sp = userdata;

	sp->child_done = true;
	if (si->si_code == CLD_EXITED) {
		sp->res.exited = true;
		sp->res.exit_code = si->si_status;
	} else {
		sp->res.exited = false;
		sp->res.signal = si->si_status;
	}
	sp->deadline = sd_event_source_disable_unref(sp->deadline);
	if (sp->out.fd >= 0 || sp->err.fd >= 0)
		(void)loop_timer_arm(sp->event, &sp->drain, SPAWN_DRAIN_GRACE_USEC,
				     spawn_on_drain_timeout, sp);
	spawn_maybe_finish(sp);
	return 0;
}

static int spawn_on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct spawn *sp = userdata;
	uint64_t grace = sp->opt.kill_grace_usec ? sp->opt.kill_grace_usec : 5 * USEC_PER_SEC;

	if (sp->child_done)
		return 0;
	if (!sp->res.timed_out) {
		sp->res.timed_out = true;
		spawn_signal(sp, sp->opt.term_signal ? sp->opt.term_signal : SIGTERM);
		return loop_timer_arm(sp->event, &sp->deadline, grace, spawn_on_deadline, sp);
	}
	sp->killed_hard = true;
	spawn_signal(sp, SIGKILL);
	return 0;
}

static int spawn_pipe_open(struct spawn *sp, struct spawn_pipe *p, enum spawn_stream stream,
			   int *ret_write_fd)
{
	int fds[2];

	p->sp = sp;
	p->stream = stream;
	p->fd = -1;
	/* Only our read end is non-blocking; the child gets an ordinary blocking pipe. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		close(fds[0]);
		close(fds[1]);
		return r;
	}
	fds[1] = spawn_fd_above_stdio(fds[1]);
	if (fds[1] < 0) {
		int r = -errno;

		close(fds[0]);
		return r;
	}
	p->fd = fds[0];
	*ret_write_fd = fds[1];
	return 0;
}

/* Tracking mode of this process: -1 not known yet, 1 pidfds, 0 SIGCHLD (no pidfd_open). */
static int spawn_pidfd_mode = -1;

/* pidfd_open failing like this means "not here" (ENOSYS: kernel < 5.3 or valgrind 3.19;
 * EPERM/EACCES: a seccomp policy), not "this child is gone"; sd-event reads it the same. */
static bool spawn_pidfd_unavailable(int err)
{
	return err == ENOSYS || err == EPERM || err == EACCES || err == EOPNOTSUPP;
}

bool spawn_uses_pidfd(void)
{
	if (spawn_pidfd_mode < 0) {
		int fd = pidfd_open(getpid(), 0);

		if (fd >= 0)
			close(fd);
		spawn_pidfd_mode = fd >= 0 || !spawn_pidfd_unavailable(errno);
	}
	return spawn_pidfd_mode == 1;
}

/* Everything the child needs, prepared before fork: after fork the child of a possibly
 * multi-threaded process may only make async-signal-safe calls (no malloc, no locks). */
struct spawn_exec {
	const char *file;     /* argv[0] */
	char *const *argv;
	char *const *envp;
	const char *search;   /* PATH to search, NULL when file contains a '/' */
	char *pathbuf;        /* room for "<PATH entry>/<file>" */
	const char *cwd;
	int null_fd, out_fd, err_fd;
	int report_fd;        /* O_CLOEXEC: exec closes it, a failure writes errno into it */
	int death_signal;
	pid_t parent;
	int max_fd;           /* close() up to here when close_range(2) is missing */
};

/* closefrom(3), except for the report pipe (it closes at exec). */
static void spawn_child_close_fds(const struct spawn_exec *x)
{
	int fd;

	if ((x->report_fd == 3 || close_range(3, (unsigned)x->report_fd - 1, 0) == 0) &&
	    close_range((unsigned)x->report_fd + 1, ~0U, 0) == 0)
		return;
	for (fd = 3; fd < x->max_fd; fd++)
		if (fd != x->report_fd)
			(void)close(fd);
}

/* execve, searching PATH like glibc's posix_spawnp (EACCES when only an unexecutable file
 * was found, ENOENT when nothing; no /bin/sh retry on ENOEXEC, unlike execvp); returns
 * only on failure, with errno set. */
static void spawn_child_exec(const struct spawn_exec *x)
{
	size_t flen = strlen(x->file);
	bool eacces = false;
	const char *p, *end;

	if (x->search == NULL) {
		execve(x->file, x->argv, x->envp);
		return;
	}
	for (p = x->search;; p = end + 1) {
		size_t dlen;

		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen == 0) { /* an empty entry is the current directory */
			memcpy(x->pathbuf, x->file, flen + 1);
		} else {
			memcpy(x->pathbuf, p, dlen);
			x->pathbuf[dlen] = '/';
			memcpy(x->pathbuf + dlen + 1, x->file, flen + 1);
		}
		execve(x->pathbuf, x->argv, x->envp);
		switch (errno) {
		case EACCES:
			eacces = true;
			break;
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ENODEV:
		case ETIMEDOUT:
			break;
		default:
			return;
		}
		if (*end == '\0')
			break;
	}
	errno = eacces ? EACCES : ENOENT;
}

/* The forked child: async-signal-safe calls only. */
static _Noreturn void spawn_child(const struct spawn_exec *x)
{
	struct sigaction dfl;
	sigset_t none;
	int sig, err;

	/* Handlers reset themselves at exec; ignored signals (SIGPIPE in the daemons) do not.
	 * All signals stay blocked until just before exec (the parent blocked them). */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	if (setpgid(0, 0) < 0)
		goto fail;
	/* Die with the server. The signal comes when the *thread* that forked us ends: spawn
	 * runs on the loop thread, which lives as long as the process. */
	if (prctl(PR_SET_PDEATHSIG, x->death_signal) < 0)
		goto fail;
	/* The server may have died before prctl: then we belong to init (or a subreaper). */
	if (getppid() != x->parent)
		_exit(127);
	if (dup2(x->null_fd, STDIN_FILENO) < 0 || dup2(x->out_fd, STDOUT_FILENO) < 0 ||
	    dup2(x->err_fd, STDERR_FILENO) < 0)
		goto fail;
	if (x->cwd != NULL && chdir(x->cwd) < 0)
		goto fail;
	spawn_child_close_fds(x);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		goto fail;
	spawn_child_exec(x);
fail:
	err = errno;
	(void)!write(x->report_fd, &err, sizeof(err));
	_exit(127);
}

/* Fork and exec the child; returns once it runs the program (or with the errno of why it
 * could not: -ENOENT for a missing program), like posix_spawn. */
static int spawn_fork(struct spawn *sp, const struct spawn_options *o, int out_w, int err_w)
{
	struct spawn_exec x = {
		.file = o->argv[0],
		.argv = (char *const *)o->argv,
		.envp = o->envp ? o->envp : environ,
		.cwd = o->cwd,
		.out_fd = out_w,
		.err_fd = err_w,
		.null_fd = -1,
		.report_fd = -1,
		.death_signal = o->death_signal ? o->death_signal : SIGKILL,
		.parent = getpid(),
		.max_fd = 65536,
	};
	int report[2] = { -1, -1 }, err = 0, r;
	struct rlimit rl;
	sigset_t all, old;
	ssize_t n;
	pid_t pid;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)x.max_fd)
		x.max_fd = (int)rl.rlim_cur;
	if (strchr(x.file, '/') == NULL) {
		x.search = getenv("PATH");
		if (x.search == NULL)
			x.search = "/bin:/usr/bin";
		x.pathbuf = xmalloc(strlen(x.search) + strlen(x.file) + 2);
	}
	x.null_fd = spawn_fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (x.null_fd < 0) {
		r = -errno;
		goto out;
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	report[1] = spawn_fd_above_stdio(report[1]);
	if (report[1] < 0) {
		r = -errno;
		goto out;
	}
	x.report_fd = report[1];

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		spawn_child(&x);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		r = -err;
		goto out;
	}
	close(report[1]);
	report[1] = -1;
	do
		n = read(report[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		/* The exec failed (or we cannot tell): the child is exiting; reap it. */
		r = n == (ssize_t)sizeof(err) ? -err : -EIO;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	sp->pid = pid;
	r = 0;
out:
	if (report[0] >= 0)
		close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	if (x.null_fd >= 0)
		close(x.null_fd);
	free(x.pathbuf);
	return r;
}

/* Fields of /proc/<pid>/stat that identify a process and its group. */
struct spawn_stat {
	char state;
	pid_t pgrp;
	pid_t session;
	uint64_t starttime;
};

static int spawn_read_stat(pid_t pid, struct spawn_stat *ret)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r == -ESRCH ? -ENOENT : r;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime priority nice num_threads itrealvalue starttime ...";
	 * comm may hold spaces and parentheses, so the fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 1, " %c %*d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %" SCNu64,
		   &ret->state, &ret->pgrp, &ret->session, &ret->starttime) != 4)
		return -EIO;
	return 0;
}

static int spawn_boot_id(char out[SPAWN_BOOT_ID_SIZE])
{
	static char cached[SPAWN_BOOT_ID_SIZE];
	ssize_t n;
	int fd;

	if (cached[0] == '\0') {
		fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, cached, sizeof(cached) - 1);
		close(fd);
		if (n < 36) {
			cached[0] = '\0';
			return -EIO;
		}
		cached[36] = '\0';
	}
	memcpy(out, cached, SPAWN_BOOT_ID_SIZE);
	return 0;
}

/* Remember what identifies the child's group after we are gone (see spawn_group_alive). */
static void spawn_record_group(struct spawn *sp)
{
	struct spawn_stat st;
	int r;

	sp->group.pgid = sp->pid;
	r = spawn_read_stat(sp->pid, &st);
	if (r == 0)
		r = spawn_boot_id(sp->group.boot_id);
	if (r == 0) {
		sp->group.sid = st.session;
		sp->group.starttime = st.starttime;
	}
	sp->group_error = r;
}

/* Watch for the child's exit: a pidfd when the kernel has pidfd_open, otherwise
 * sd-event's SIGCHLD tracking (it waits with waitid(P_PID, ...), so it never reaps
 * another module's child). */
static int spawn_watch(struct spawn *sp)
{
	int pidfd = -1, r;

	/* Once pidfd_open failed for want of it, it will not appear: do not ask again. */
	errno = ENOSYS;
	if (spawn_pidfd_mode != 0)
		pidfd = pidfd_open(sp->pid, 0);
	if (pidfd >= 0) {
		spawn_pidfd_mode = 1;
		r = sd_event_add_child_pidfd(sp->event, &sp->child, pidfd, WEXITED, spawn_on_child,
					     sp);
		if (r < 0) {
			close(pidfd);
			return r;
		}
		(void)sd_event_source_set_child_pidfd_own(sp->child, 1);
	} else {
		if (!spawn_pidfd_unavailable(errno))
			return -errno;
		spawn_pidfd_mode = 0;
		/* sd-event tries pidfd_open itself, fails the same way and falls back to a
		 * SIGCHLD signal source; that needs SIGCHLD blocked (loop_new does it). */
		r = sd_event_add_child(sp->event, &sp->child, sp->pid, WEXITED, spawn_on_child, sp);
		if (r < 0)
			return r;
	}
	(void)sd_event_source_set_child_process_own(sp->child, 1);
	return 0;
}

int spawn_start(sd_event *e, const struct spawn_options *o, spawn_done_fn done, void *userdata,
		struct spawn **ret)
{
	struct spawn *sp;
	int out_w = -1, err_w = -1, r;

	sp = xcalloc(1, sizeof(*sp));
	sp->event = sd_event_ref(e);
	sp->opt = *o;
	sp->done = done;
	sp->userdata = userdata;
	sp->out.fd = sp->err.fd = -1;
	buf_init(&sp->res.out, o->stdout_max);
	buf_init(&sp->res.err, o->stderr_max);

	r = spawn_pipe_open(sp, &sp->out, SPAWN_STDOUT, &out_w);
	if (r < 0)
		goto fail;
	r = spawn_pipe_open(sp, &sp->err, SPAWN_STDERR, &err_w);
	if (r < 0)
		goto fail;
	r = spawn_fork(sp, o, out_w, err_w);
	if (r < 0)
		goto fail;
	sp->started = loop_now(e);
	close(out_w);
	close(err_w);
	out_w = err_w = -1;
	spawn_record_group(sp);

	r = spawn_watch(sp);
	if (r < 0)
		goto fail;
	r = sd_event_add_io(e, &sp->out.src, sp->out.fd, EPOLLIN, spawn_on_output, &sp->out);
	if (r == 0)
		r = sd_event_add_io(e, &sp->err.src, sp->err.fd, EPOLLIN, spawn_on_output, &sp->err);
	if (r < 0)
		goto fail;
	if (o->timeout_usec > 0) {
		r = loop_timer_arm(e, &sp->deadline, o->timeout_usec, spawn_on_deadline, sp);
		if (r < 0)
			goto fail;
	}
	*ret = sp;
	return 0;

fail:
	/* a running child is killed and reaped by spawn_free (by its child source if any) */
	if (out_w >= 0)
		close(out_w);
	if (err_w >= 0)
		close(err_w);
	sp->done = NULL;
	spawn_free(sp);
	return r;
}

void spawn_signal(struct spawn *sp, int sig)
{
	/* While the leader is unreaped (child_done is set only in the callback, before the
	 * reap), its pid is also a live process-group id. */
	if (sp != NULL && sp->pid > 0 && !sp->child_done)
		(void)kill(-sp->pid, sig);
}

pid_t spawn_pid(const struct spawn *sp)
{
	return sp->pid;
}

int spawn_get_group(const struct spawn *sp, struct spawn_group *ret)
{
	if (sp->group_error < 0)
		return sp->group_error;
	*ret = sp->group;
	return 0;
}

int spawn_group_alive(const struct spawn_group *g)
{
	char boot_id[SPAWN_BOOT_ID_SIZE];
	struct spawn_stat st;
	struct dirent *de;
	int n = 0, r;
	DIR *d;

	if (g->pgid <= 1 || g->sid <= 0)
		return -EINVAL;
	/* Start times count from boot: after a reboot nothing of the group can be left. */
	r = spawn_boot_id(boot_id);
	if (r < 0)
		return r;
	if (strncmp(boot_id, g->boot_id, SPAWN_BOOT_ID_SIZE) != 0)
		return 0;
	/* A live process with the leader's pid but another start time: the number was free
	 * again, so the old group had ended. */
	if (spawn_read_stat(g->pgid, &st) == 0 && st.starttime != g->starttime)
		return 0;
	d = opendir("/proc");
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid > INT32_MAX ||
		    spawn_read_stat((pid_t)pid, &st) < 0)
			continue;
		/* A group id stays taken while any member lives, and every member of the
		 * original group started after its leader, in the leader's session. */
		if (st.pgrp == g->pgid && st.session == g->sid && st.starttime >= g->starttime &&
		    st.state != 'Z' && st.state != 'X')
			n++;
	}
	closedir(d);
	return n;
}

int spawn_kill_group(const struct spawn_group *g, int sig)
{
	int n = spawn_group_alive(g);

	if (n < 0)
		return n;
	if (n == 0)
		return -ESRCH;
	if (kill(-g->pgid, sig) < 0)
		return -errno;
	return 0;
}

void spawn_free(struct spawn *sp)
{
	if (sp == NULL)
		return;
	if (sp->pid > 0 && !sp->child_done) {
		(void)kill(-sp->pid, SIGKILL);
		if (sp->child == NULL) {
			while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
				;
		} else {
			/* Reap synchronously so no zombie is left behind. */
			siginfo_t si;

			(void)sd_event_source_set_child_process_own(sp->child, 0);
			while (waitid(P_PID, (id_t)sp->pid, &si, WEXITED) < 0 && errno == EINTR)
				;
		}
	}
	sp->child = sd_event_source_disable_unref(sp->child);
	sp->deadline = sd_event_source_disable_unref(sp->deadline);
	sp->drain = sd_event_source_disable_unref(sp->drain);
	sp->finish = sd_event_source_disable_unref(sp->finish);
	spawn_pipe_close(&sp->out);
	spawn_pipe_close(&sp->err);
	spawn_result_free(&sp->res);
	sd_event_unref(sp->event);
	free(sp);
}

struct spawn_sync {
	struct spawn_result *ret;
	bool finished;
};

static void spawn_sync_done(struct spawn *sp, struct spawn_result *res, void *userdata)
{
	struct spawn_sync *st = userdata;

	*st->ret = *res;
	/* Take ownership of the buffers. */
	buf_init(&res->out, 0);
	buf_init(&res->err, 0);
	st->finished = true;
}

int spawn_run_sync(const struct spawn_options *o, struct spawn_result *ret)
{
	struct spawn_sync st = { .ret = ret };
	struct spawn *sp = NULL;
	sd_event *e = NULL;
	sigset_t chld, old;
	int r;

	/* sd-event takes child events only with SIGCHLD blocked. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	r = sd_event_new(&e);
	if (r < 0)
		goto out;
	r = spawn_start(e, o, spawn_sync_done, &st, &sp);
	if (r < 0)
		goto out;
	while (!st.finished) {
		r = sd_event_run(e, UINT64_MAX);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	spawn_free(sp);
	sd_event_unref(e);
	/* Tracking by SIGCHLD, this private loop may have taken the one pending SIGCHLD that
	 * also announced a child of another loop: post one more so that loop looks again. */
	if (spawn_pidfd_mode == 0)
		(void)kill(getpid(), SIGCHLD);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void spawn_result_free(struct spawn_result *res)
{
	if (res == NULL)
		return;
	buf_free(&res->out);
	buf_free(&res->err);
}

void spawn_describe(const struct spawn_result *res, char *out, size_t len)
{
	if (res->exited)
		snprintf(out, len, "exit code %d%s", res->exit_code,
			 res->timed_out ? " (timed out)" : "");
	else
		snprintf(out, len, "signal %d%s", res->signal,
			 res->timed_out ? " (timed out)" : "");
}

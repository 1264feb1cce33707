/* Starting a child: fork, then in the child only async-signal-safe calls on data prepared
 * before the fork (signals reset, own process group, parent-death signal, stdin /dev/null,
 * the pipes, cwd, every other fd closed), and exec searching PATH; a failure comes back to
 * the parent as an errno through an O_CLOEXEC pipe. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn_int.h"
#include "xmalloc.h"

extern char **environ;

/* An fd that is not 0, 1 or 2 (the child's dup2 onto those must never be a no-op that
 * keeps O_CLOEXEC), closing the original. */
int spawn_fd_above_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return nfd;
}

/* Everything the child needs, prepared before fork: after fork the child of a possibly
 * multi-threaded process may only make async-signal-safe calls (no malloc, no locks). */
struct spawn_exec {
	const char *file; /* argv[0] */
	char *const *argv;
	char *const *envp;
	const char *search; /* PATH to search, NULL when file contains a '/' */
	char *pathbuf;      /* room for "<PATH entry>/<file>" */
	const char *cwd;
	int null_fd, out_fd, err_fd;
	int report_fd; /* O_CLOEXEC: exec closes it, a failure writes errno into it */
	int death_signal;
	pid_t parent;
	int max_fd; /* close() up to here when close_range(2) is missing */
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
	 * All signals stay blocked until just before exec (the parent blocked them). glibc's
	 * own signals (32, 33) refuse sigaction and keep what our parent gave us. */
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
int spawn_fork(struct spawn *sp, const struct spawn_options *o, int out_w, int err_w)
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

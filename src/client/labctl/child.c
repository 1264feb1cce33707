/* labctl run's child: signal handling, forwarding to COMMAND, escalation, exit status. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "labctl.h"

extern char **environ;

volatile sig_atomic_t child_signal;          /* first INT/TERM/HUP received */
static volatile sig_atomic_t child_pid;      /* running COMMAND, or 0 */
static volatile sig_atomic_t child_own_pgrp; /* COMMAND leads its own process group */
static volatile sig_atomic_t child_nsig;     /* signals received while COMMAND runs */

static const int term_signals[] = { SIGINT, SIGTERM, SIGHUP };

/*
 * Record the signal; while COMMAND runs, pass it on. In its own process group the
 * whole group gets it. In ours (interactive use), a signal the terminal generated
 * (SI_KERNEL) has already reached COMMAND, so only signals sent to labctl itself are
 * forwarded. A second signal kills COMMAND with SIGKILL.
 */
static void on_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	pid_t pid = (pid_t)child_pid;

	if (!child_signal)
		child_signal = sig;
	if (pid > 0) {
		child_nsig++;
		if (child_nsig >= 2)
			kill(child_own_pgrp ? -pid : pid, SIGKILL);
		else if (child_own_pgrp)
			kill(-pid, sig);
		else if (si == NULL || si->si_code != SI_KERNEL)
			kill(pid, sig);
	}
	errno = saved;
}

/* Catch INT/TERM/HUP (unless they were ignored when labctl started, as in `nohup`). */
void child_install_signals(void)
{
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: blocking waits see EINTR */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++) {
		if (sigaction(term_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN &&
		    term_signals[i] != SIGTERM)
			continue;
		sigaction(term_signals[i], &sa, NULL);
	}
}

/* Cancel hook for the library: stop blocking calls once a signal arrived. */
int child_cancel_hook(void *userdata)
{
	return child_signal != 0;
}

/*
 * Run argv and wait for it. *ret_status is its exit status, or 128+N when it died of
 * signal N. Returns 0, or 126/127 when it could not be started.
 */
int child_run(char **argv, int *ret_status)
{
	posix_spawnattr_t attr;
	sigset_t block, old, empty, defs;
	pid_t pid;
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	int r, st;
	size_t i;

	/* interactive (we own the terminal's foreground): stay in our group for job control */
	child_own_pgrp = !(isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp());
	if (child_own_pgrp)
		flags |= POSIX_SPAWN_SETPGROUP;

	sigemptyset(&block);
	for (i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++)
		sigaddset(&block, term_signals[i]);
	sigemptyset(&empty);
	sigemptyset(&defs);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGTERM);
	sigaddset(&defs, SIGHUP);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGQUIT);

	r = posix_spawnattr_init(&attr);
	if (r == 0)
		r = posix_spawnattr_setflags(&attr, flags);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &empty);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &defs);
	if (r == 0 && child_own_pgrp)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (r != 0) {
		labctl_err("cannot prepare to run %s: %s", argv[0], strerror(r));
		return LABCTL_EXIT_LOCAL;
	}

	/* no signal may slip in between the spawn and child_pid being set */
	sigprocmask(SIG_BLOCK, &block, &old);
	child_nsig = 0;
	r = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		labctl_err("%s: %s", argv[0], strerror(r));
		return r == ENOENT ? LABCTL_EXIT_NOTFOUND : LABCTL_EXIT_NOEXEC;
	}
	child_pid = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			labctl_err("waitpid: %s", strerror(errno));
			st = 0xff00; /* report as exit 255 */
			break;
		}
	}
	child_pid = 0;
	if (WIFEXITED(st))
		*ret_status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		*ret_status = 128 + WTERMSIG(st);
	else
		*ret_status = 255;
	return 0;
}

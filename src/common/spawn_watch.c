/* Watching a child's exit: a pidfd where the kernel has pidfd_open, otherwise sd-event's
 * SIGCHLD tracking with waitid(P_PID, ...); which of the two this process uses. */
#include <errno.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn_int.h"

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

/* Watch for the child's exit: a pidfd when the kernel has pidfd_open, otherwise
 * sd-event's SIGCHLD tracking (it waits with waitid(P_PID, ...), so it never reaps
 * another module's child). */
int spawn_watch(struct spawn *sp)
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

/* Whether this process is known to track exits through SIGCHLD (pidfd_open was found
 * missing). Unlike spawn_uses_pidfd, it does not try pidfd_open to find out. */
bool spawn_watch_sigchld(void)
{
	return spawn_pidfd_mode == 0;
}

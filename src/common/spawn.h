/* Child processes: own process group, parent-death signal, stdin /dev/null, a deadline,
 * capped output, exit events from a pidfd or SIGCHLD. */
#ifndef RL_SPAWN_H
#define RL_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include <systemd/sd-event.h>

#include "buf.h"

enum spawn_stream {
	SPAWN_STDOUT = 1,
	SPAWN_STDERR = 2,
};

struct spawn_options {
	const char *const *argv;  /* argv[0] is looked up on PATH unless it contains '/' */
	const char *cwd;          /* working directory, NULL = inherit */
	char *const *envp;        /* NULL = our environment */
	uint64_t timeout_usec;    /* 0 = no deadline */
	int term_signal;          /* sent to the group at the deadline (0 = SIGTERM) */
	uint64_t kill_grace_usec; /* then SIGKILL after this long (0 = 5 s) */
	int death_signal;         /* the child gets it when the server dies (0 = SIGKILL) */
	size_t stdout_max;        /* stdout bytes kept (head); more sets stdout_truncated */
	size_t stderr_max;        /* stderr bytes kept (the newest ones: a tail) */
	/* Optional: every complete output line as it arrives (line without '\n'). */
	void (*on_line)(void *userdata, enum spawn_stream stream, const char *line);
	void *line_userdata;
};

struct spawn_result {
	bool exited; /* true: normal exit with exit_code; false: killed by signal */
	int exit_code;
	int signal;
	bool timed_out; /* the deadline fired and the group was signalled */
	bool stdout_truncated;
	struct buf out; /* stdout head (<= stdout_max) */
	struct buf err; /* stderr tail (<= stderr_max); err.dropped says how much was cut */
	uint64_t duration_usec;
};

/* What identifies a child's process group after the server that started it died, when
 * its pid may have been reused (see spawn_group_alive). Plain data for a state file. */
#define SPAWN_BOOT_ID_SIZE 37
struct spawn_group {
	pid_t pgid;         /* the group: the child's pid (it leads its own group) */
	pid_t sid;          /* its session: the server's (0 when the session's leader is
			     * outside our pid namespace, as in a container) */
	uint64_t starttime; /* the child's start, clock ticks after boot (/proc/<pid>/stat #22) */
	char boot_id[SPAWN_BOOT_ID_SIZE]; /* /proc/sys/kernel/random/boot_id, NUL-terminated */
};

struct spawn;

typedef void (*spawn_done_fn)(struct spawn *sp, struct spawn_result *res, void *userdata);

/* Start a child on loop e. `done` runs once on the loop when the child has exited and its
 * output is drained; the result is borrowed for the call (steal the buffers if needed).
 * 0 or negative errno (-ENOENT when the program does not exist).
 *
 * The child leads its own process group, has default signal dispositions, an empty
 * signal mask, stdin /dev/null, only fds 0-2, and a parent-death signal (`death_signal`):
 * it dies when the server does, even by SIGKILL. That signal comes when the *thread* that
 * called spawn_start ends, so call it on the loop thread (the main thread) only. A
 * set-user-ID program (sudo) drops it at exec, and grandchildren never had it: their group
 * outlives a crash, which spawn_get_group / spawn_kill_group deal with at the next start.
 * Exits are watched through a pidfd, or, where pidfd_open(2) is missing (kernel < 5.3,
 * valgrind 3.19, seccomp), through SIGCHLD with waitid(P_PID): other children of the
 * process are never reaped. Either way every thread must keep SIGCHLD blocked
 * (loop_new blocks it; threads created afterwards inherit that). */
int spawn_start(sd_event *e, const struct spawn_options *o, spawn_done_fn done, void *userdata,
		struct spawn **ret);
/* Signal the child's whole process group (no-op after it exited). */
void spawn_signal(struct spawn *sp, int sig);
pid_t spawn_pid(const struct spawn *sp);
/* The child's group identity, to record in a state file right after spawn_start.
 * 0, or a negative errno when /proc could not tell (no /proc mounted). */
int spawn_get_group(const struct spawn *sp, struct spawn_group *ret);
/* How many live processes (zombies aside) are still in a recorded group: 0 when it is
 * gone — ended, or the numbers now belong to someone else (another boot, the leader's pid
 * reused by a process with another start time, members in another session or older than
 * the leader). Negative errno when /proc cannot be read. */
int spawn_group_alive(const struct spawn_group *g);
/* Send sig to a recorded group if spawn_group_alive finds it still there: 0 when sent,
 * -ESRCH when nothing of it is left, -EPERM when its processes belong to another user
 * (e.g. root, under sudo). Call until spawn_group_alive says 0 (after SIGKILL it may take
 * a moment for processes to go). */
int spawn_kill_group(const struct spawn_group *g, int sig);
/* Whether exits are watched through pidfds (false: SIGCHLD, pidfd_open is missing). */
bool spawn_uses_pidfd(void);
/* Stop watching; a still-running group is killed with SIGKILL. `done` is not called.
 * Accepts NULL. */
void spawn_free(struct spawn *sp);

/* Run a child to completion, blocking (for start-up checks before the loop runs). */
int spawn_run_sync(const struct spawn_options *o, struct spawn_result *ret);
void spawn_result_free(struct spawn_result *res);

/* "exit code 3" or "signal 9", plus " (timed out)" — for "failed with ..." messages. */
void spawn_describe(const struct spawn_result *res, char *out, size_t len);

#endif

/* Child processes: own process group, stdin /dev/null, a deadline, capped output, pidfd events. */
#ifndef RL_SPAWN_H
#define RL_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	size_t stdout_max;        /* stdout bytes kept (head); more sets stdout_truncated */
	size_t stderr_max;        /* stderr bytes kept (the newest ones: a tail) */
	/* Optional: every complete output line as it arrives (line without '\n'). */
	void (*on_line)(void *userdata, enum spawn_stream stream, const char *line);
	void *line_userdata;
};

struct spawn_result {
	bool exited;            /* true: normal exit with exit_code; false: killed by signal */
	int exit_code;
	int signal;
	bool timed_out;         /* the deadline fired and the group was signalled */
	bool stdout_truncated;
	struct buf out;         /* stdout head (<= stdout_max) */
	struct buf err;         /* stderr tail (<= stderr_max); err.dropped says how much was cut */
	uint64_t duration_usec;
};

struct spawn;

typedef void (*spawn_done_fn)(struct spawn *sp, struct spawn_result *res, void *userdata);

/* Start a child on loop e. `done` runs once on the loop when the child has exited and its
 * output is drained; the result is borrowed for the call (steal the buffers if needed).
 * 0 or negative errno (-ENOENT when the program does not exist). */
int spawn_start(sd_event *e, const struct spawn_options *o, spawn_done_fn done, void *userdata,
		struct spawn **ret);
/* Signal the child's whole process group (no-op after it exited). */
void spawn_signal(struct spawn *sp, int sig);
pid_t spawn_pid(const struct spawn *sp);
/* Stop watching; a still-running group is killed with SIGKILL. `done` is not called.
 * Accepts NULL. */
void spawn_free(struct spawn *sp);

/* Run a child to completion, blocking (for start-up checks before the loop runs). */
int spawn_run_sync(const struct spawn_options *o, struct spawn_result *ret);
void spawn_result_free(struct spawn_result *res);

/* "exit code 3" or "signal 9", plus " (timed out)" — for "failed with ..." messages. */
void spawn_describe(const struct spawn_result *res, char *out, size_t len);

#endif

/* Internals of child processes, shared by their four files: spawn.c (a child's life: pipes,
 * output, deadline, the end), spawn_exec.c (fork and exec), spawn_watch.c (exit events from
 * a pidfd or SIGCHLD) and spawn_group.c (the group's identity, leftovers after a crash).
 * One module, four files; nothing else includes this. */
#ifndef RL_SPAWN_INT_H
#define RL_SPAWN_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "spawn.h"

#define SPAWN_LINE_MAX 4096

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
	int group_error; /* why `group` could not be recorded (0: it was) */
	uint64_t started;
	bool child_done;
	bool killed_hard;
	spawn_done_fn done;
	void *userdata;
};

/* spawn.c: the child's exit (the callback spawn_watch registers). */
int spawn_on_child(sd_event_source *s, const siginfo_t *si, void *userdata);

/* spawn_exec.c */
int spawn_fd_above_stdio(int fd);
int spawn_fork(struct spawn *sp, const struct spawn_options *o, int out_w, int err_w);

/* spawn_watch.c */
int spawn_watch(struct spawn *sp);
bool spawn_watch_sigchld(void);

/* spawn_group.c */
void spawn_record_group(struct spawn *sp);

#endif

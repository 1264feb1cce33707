/* labctl internals: options, exit codes and the command entry points. */
#ifndef LABCTL_H
#define LABCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "remotelab.h"

/* labctl's own exit codes (`labctl run` passes COMMAND's status through instead). */
enum {
	LABCTL_EXIT_OK = 0,
	LABCTL_EXIT_SERVER = 1,      /* the server answered with an error */
	LABCTL_EXIT_USAGE = 2,       /* bad command line */
	LABCTL_EXIT_UNREACHABLE = 3, /* transport error: server down, DNS, connection lost */
	LABCTL_EXIT_TIMEOUT = 4,     /* wait-in-queue or acquire deadline passed */
	LABCTL_EXIT_ACQUIRE = 5,     /* the lab could not be acquired */
	LABCTL_EXIT_NOSESSION = 6,   /* session unknown to the server (ended or reaped) */
	LABCTL_EXIT_LOCAL = 7,       /* local problem: file unreadable, out of memory, ... */
	LABCTL_EXIT_BUSY = 8,        /* --no-wait: no lab slot free at once (nothing created) */
	LABCTL_EXIT_NOEXEC = 126,    /* run: COMMAND found but not executable */
	LABCTL_EXIT_NOTFOUND = 127,  /* run: COMMAND not found */
};

struct extra {
	const char *path; /* local file */
	const char *name; /* upload name */
};

struct tag {
	const char *key, *value;
};

struct opts {
	const char **urls; /* repeated --url */
	size_t n_urls;
	struct tag *requires;
	size_t n_requires;
	const char *label, *token_file, *cacert, *admin_token_file;
	int priority;
	bool has_priority, no_wait;
	double max_wait, restart_wait;
	bool has_restart_wait;
	const char *session;
	const char *topology;
	const char *devices_file;
	struct extra *extras;
	size_t n_extras;
	bool json, quiet, wait, reuse, no_force, keep_devices_file;
	double request_timeout, wait_timeout, acquire_timeout, poll, heartbeat, every;
	int argc; /* positional arguments left after options */
	char **argv;
};

/* cmdline.c: the command line (options, which command takes which, the commands, --help) */
struct command {
	const char *noun, *verb;
	unsigned bit; /* for the options a command takes */
	int (*fn)(const struct opts *o);
	int max_args; /* positional arguments allowed (-1: any, for run) */
};
const struct command *cmdline_command(const char *noun, const char *verb);
int cmdline_parse(int argc, char **argv, const struct command *cmd, struct opts *o, bool *done);
void cmdline_help(void);

/* main.c */
extern const char *labctl_prog;
int labctl_exit_for(int r);
int labctl_fail(struct rl_client *c, int r, const char *what);
int labctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void labctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* client_setup.c */
int labctl_client(const struct opts *o, bool need_session, struct rl_client **ret);
int labctl_pool_client(const struct opts *o, struct rl_client **ret);
bool labctl_session_opts(const struct opts *o, struct rl_session_opts *ret);

/* output.c */
void output_devices(const struct rl_devices *d);
int output_json_text(const char *json);
void output_json_pack(const char *fmt, ...);
int output_progress(const struct rl_progress *p, void *userdata);
void output_progress_done(void);
void output_retry(const struct rl_error *why, double delay, void *userdata);
int output_write_devices_file(const struct rl_devices *d, const char *path, char **ret_path);

/* cmd_session.c, cmd_lab.c, cmd_run.c */
int cmd_session_new(const struct opts *o);
int cmd_session_status(const struct opts *o);
int cmd_session_end(const struct opts *o);
int cmd_session_heartbeat(const struct opts *o);
int cmd_lab_up(const struct opts *o);
int cmd_lab_status(const struct opts *o);
int cmd_lab_devices(const struct opts *o);
int cmd_lab_release(const struct opts *o);
int cmd_lab_destroy(const struct opts *o);
int cmd_server_health(const struct opts *o);
int cmd_run(const struct opts *o);
int cmd_watch(const struct opts *o);
int cmd_status(const struct opts *o);
int cmd_admin_drain(const struct opts *o);
int cmd_admin_undrain(const struct opts *o);
int cmd_admin_end(const struct opts *o);
int cmd_admin_destroy(const struct opts *o);
int lab_request_from_opts(struct rl_client *c, const struct opts *o, struct rl_lab_request **ret);

/* child.c: signals and the child process of `labctl run` */
extern volatile sig_atomic_t child_signal; /* first termination signal received, or 0 */
void child_install_signals(void);
int child_cancel_hook(void *userdata);
int child_run(char **argv, int *ret_status);

#endif

/* WinRM calls for the loop: copies of the target, a worker thread, the result on the loop. */
#ifndef RL_OPSD_REMOTE_H
#define RL_OPSD_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "winrm/winrm.h"

struct opsd;
struct host;

/* Everything a WinRM call needs, owned by the call (strings are copies). */
struct remote_target {
	char *address;
	char *user;
	char *password; /* secret: wiped on free, never logged */
	char *transport;
	bool use_ssl;
	unsigned port; /* 0: 5985, or 5986 with use_ssl */
};

enum remote_kind {
	REMOTE_COMMAND,   /* exe + args in a cmd shell */
	REMOTE_HEARTBEAT, /* read heartbeat_path and, optionally, events_path */
};

struct remote_call {
	enum remote_kind kind;
	struct remote_target target;
	/* REMOTE_COMMAND */
	char *exe;
	char **args; /* NULL-terminated; args[0] is the LabStation command */
	size_t nargs;
	/* REMOTE_HEARTBEAT */
	char *path;
	char *events_path; /* NULL: do not read events */
	/* results (valid in done) */
	int r;         /* 0, or the WinRM error (negative errno) */
	char err[512]; /* WinRM error text, for logs */
	struct winrm_result res;
	char *content; /* heartbeat text */
	size_t content_len;
	int events_r;
	char events_err[512];
	char *events; /* events file text, NULL when not read */
	size_t events_len;
	uint64_t duration_ms;
	/* completion on the loop; the callee frees with remote_call_free */
	void (*done)(struct remote_call *c, void *userdata);
	void *userdata;
	struct opsd *o;
};

/* Request overrides of a host's WinRM settings (NULL/0/false: the host's own). */
struct remote_overrides {
	const char *user;
	const char *password;
	const char *transport;
	bool use_ssl;
	unsigned port;
};

/* A LabStation command for host h (borrowed; everything is copied): `<labstation_exe>
 * <command> <args...>` in a cmd shell, the target from the host and ov (NULL: none). done
 * runs on the loop after remote_submit. */
struct remote_call *remote_command_new(const struct host *h, const struct remote_overrides *ov,
				       const char *command, char *const *args, size_t nargs,
				       void (*done)(struct remote_call *c, void *userdata),
				       void *userdata);
/* Whether the target has a user name and a password. */
bool remote_target_has_credentials(const struct remote_target *t);
/* Fill t from a host entry (borrowed) and optional request overrides (NULL/0 = none). */
void remote_target_from_host(struct remote_target *t, const struct host *h, const char *user,
			     const char *password, const char *transport, bool use_ssl,
			     unsigned port);
void remote_target_clear(struct remote_target *t);
/* Run c on the network worker threads; c->done runs on the loop. -EAGAIN when the queue
 * is full (c untouched, done not called). */
int remote_submit(struct opsd *o, struct remote_call *c);
void remote_call_free(struct remote_call *c);
/* The result of a call as a metric label: "ok", or one word per error of
 * remote_error_message ("auth_failed", "timeout", "cut_off", ..., "error"): a fixed set. */
const char *remote_result_label(int r);
/* A message for API callers and the journal: never library text or secrets. */
const char *remote_error_message(int r);

#endif

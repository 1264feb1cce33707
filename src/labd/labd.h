/* neops-remote-lab: the server context shared by its modules, and the session lifecycle. */
#ifndef RL_LABD_LABD_H
#define RL_LABD_LABD_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "common/http.h"
#include "lab.h"
#include "netlab.h"
#include "queue.h"
#include "uploads.h"

#define LABD_PROGRAM "neops-remote-lab"
#define LABD_LOGGER "remote-lab-server"

struct labd_config {
	const char *host;
	unsigned port;
	const char *log_level;       /* as given (metadata records it unnormalised) */
	const char *log_config;
	bool debug;
	const char *netlab_command;
	double netlab_up_timeout;    /* seconds */
	double netlab_down_timeout;
	double netlab_inspect_timeout;
	double active_timeout;       /* 300: ACTIVE sessions silent this long are reaped */
	double waiting_timeout;      /* 600: WAITING sessions likewise */
	double idle_keep;            /* 0: tear the lab down when its session ends */
	uint64_t max_file_size;
	uint64_t max_total_size;
	unsigned max_files;
	unsigned max_sessions;
	unsigned max_connections;
	unsigned connection_timeout; /* idle keep-alive connections are closed after this (s) */
};

struct labops;

struct labd {
	sd_event *event;
	struct labd_config cfg;
	char *tmpdir;                /* Python's tempfile.gettempdir() equivalent */
	char *cwd;                   /* the server's working directory */
	char *lab_lock_path;         /* <tmp>/netlab_pytest.lock */
	struct netlab_config netlab;
	struct upload_limits upload_limits;
	struct queue queue;
	struct lab lab;
	struct labops *ops;
	struct http_server *http;
	sd_event_source *sweep_timer;
	sd_event_source *idle_timer;
	uint64_t sweep_due;          /* monotonic usec of the next sweep */
	double started_wall;
	uint64_t started_mono;
	bool shutting_down;
};

/* Session lifecycle (server.c) */
struct session *labd_session_create(struct labd *d);
void labd_session_touch(struct labd *d, struct session *s);
/* Short id for log lines: the first 8 characters. */
const char *labd_sid8(const char *id, char out[9]);

typedef void (*labd_done_fn)(struct labd *d, void *userdata);
/* Remove a session. An ACTIVE one also loses the lab (teardown, or idle keep) and the next
 * session is promoted afterwards, whether or not the teardown worked; then `done` runs. */
void labd_session_end(struct labd *d, struct session *s, const char *reason, labd_done_fn done,
		      void *userdata);
/* Promote the queue head if it is WAITING (logs). */
void labd_promote(struct labd *d);
/* Start the stale-session sweeper. */
int labd_sweeper_start(struct labd *d);
/* A new lab exists or was attached: stop any idle-keep countdown. */
void labd_idle_cancel(struct labd *d);

#endif

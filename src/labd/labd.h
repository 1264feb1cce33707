/* neops-remote-lab: the server context shared by its modules, and the session lifecycle. */
#ifndef RL_LABD_LABD_H
#define RL_LABD_LABD_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "auth.h"
#include "common/http.h"
#include "netlab.h"
#include "session.h"
#include "slots.h"
#include "uploads.h"

#define LABD_PROGRAM "neops-remote-lab"
#define LABD_LOGGER "remote-lab-server"

struct labd_config {
	const char *host;
	unsigned port;
	const char *log_level; /* as given (metadata records it unnormalised) */
	const char *log_config;
	bool debug;
	const char *netlab_command;
	double netlab_up_timeout; /* seconds */
	double netlab_down_timeout;
	double netlab_inspect_timeout;
	double active_timeout;  /* 300: ACTIVE sessions silent this long are reaped */
	double waiting_timeout; /* 600: WAITING sessions likewise */
	double idle_keep;       /* 0: tear a lab down when its session ends */
	double max_hold;        /* 0: no limit on how long a session stays ACTIVE */
	unsigned lab_slots;     /* 1: the original's one lab on the default instance */
	int mlid_min, mlid_max; /* multilab ids the slots may use */
	const char **prewarm;   /* --prewarm topology files */
	unsigned n_prewarm;
	const char **tags; /* --tag KEY=VALUE, for GET /host */
	unsigned n_tags;
	const char *host_name;        /* GET /host's name; NULL: the host name */
	const char *admin_token_file; /* enables the admin routes */
	bool keep_labs;               /* keep the queue and the labs through a restart */
	uint64_t max_file_size;
	uint64_t max_total_size;
	unsigned max_files;
	unsigned max_sessions;
	unsigned max_connections;
	unsigned connection_timeout; /* idle keep-alive connections are closed after this (s) */
};

struct labops;
struct events;
struct labd_children;
struct labd_metrics;

struct labd {
	sd_event *event;
	struct labd_config cfg;
	char *tmpdir;        /* Python's tempfile.gettempdir() equivalent */
	char *cwd;           /* the server's working directory */
	char *lab_lock_path; /* <tmp>/netlab_pytest.lock */
	struct netlab_config netlab;
	struct upload_limits upload_limits;
	struct sessions sessions;
	struct slots slots;
	int *mlids; /* multilab ids: the slots' first, then spares */
	unsigned n_mlids;
	struct labops *ops;
	struct events *events;          /* GET /events readers, recent netlab operations */
	struct labd_children *children; /* running netlab process groups, recorded */
	struct labd_metrics *metrics;   /* GET /metrics */
	struct http_server *http;
	sd_event_source *sweep_timer;
	uint64_t sweep_due; /* monotonic usec of the next sweep */
	double started_wall;
	uint64_t started_mono;
	bool shutting_down;
	bool draining;               /* no promotions; running sessions finish */
	struct labd_auth admin;      /* --admin-token-file; token NULL: no admin routes */
	sd_event_source *state_save; /* --keep-labs: the deferred state file write */
	bool state_frozen;           /* the final state was written: no more writes */
};

/* --- session lifecycle (lifecycle.c) --- */

struct labd_session_options {
	int priority;
	const char *label; /* NULL: none */
	double max_wait;   /* seconds; 0: no limit */
};

/* A new WAITING session (promoted at once when a slot is free). NULL when it cannot be
 * made (out of handles: practically never). */
struct session *labd_session_create(struct labd *d, const struct labd_session_options *o,
				    size_t *ret_position);
/* Would a new session be ACTIVE at once? (try-lock) */
bool labd_can_serve_now(const struct labd *d);
void labd_session_touch(struct labd *d, struct session *s);
/* Short id for log lines: the first 8 characters. */
const char *labd_sid8(const char *id, char out[9]);

typedef void (*labd_done_fn)(struct labd *d, void *userdata);
/* Remove a session. An ACTIVE one also lets go of its lab (kept idle or torn down) and the
 * next sessions are promoted once that is settled, whether or not a teardown worked; then
 * `done` runs. `why` is the log's reason text ("client-end", "stale", ...). */
void labd_session_end(struct labd *d, struct session *s, enum session_end reason, const char *why,
		      labd_done_fn done, void *userdata);
/* Promote WAITING sessions while slots allow (not while draining or shutting down). */
void labd_promote(struct labd *d);
/* Start the stale-session sweeper (also ends sessions past max_wait / max-session-hold). */
int labd_sweeper_start(struct labd *d);
/* A session or a lab changed: with --keep-labs, write the state file at the end of this
 * loop iteration (state.c). */
void labd_state_changed(struct labd *d);
/* Drain (no promotions; running sessions finish) or undrain (promote again). */
void labd_set_draining(struct labd *d, bool on);
/* Estimated wait (seconds) of a session queued now; negative when unknown. */
double labd_estimated_wait(const struct labd *d);

#endif

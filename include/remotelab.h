/* libremotelab: blocking C client for the neops-remote-lab REST API (sessions, labs, devices). */
#ifndef REMOTELAB_H
#define REMOTELAB_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RL_BUILDING_LIBRARY)
#define RL_EXPORT __attribute__((visibility("default")))
#else
#define RL_EXPORT
#endif

#define REMOTELAB_VERSION_MAJOR 1
#define REMOTELAB_VERSION_MINOR 1
#define REMOTELAB_VERSION_PATCH 0
#define REMOTELAB_VERSION "1.1.0"

/*
 * Conventions (see docs/client.md for the full guide):
 *
 * - Every function that can fail returns 0 or a negative errno-style code
 *   (-ENOMEM, -EINVAL, -ETIMEDOUT, ...). Output parameters (ret_*) are written
 *   only on success.
 * - After a failed call on a client, rl_client_errmsg() describes the failure
 *   and rl_client_error() gives the parts: the operation, the HTTP status and
 *   the server's "detail" text.
 * - The library never logs, never prints and never aborts; out of memory is
 *   reported as -ENOMEM.
 * - One struct rl_client per thread. A client is not locked; two threads must
 *   not use the same client at the same time. Different clients are
 *   independent. The heartbeat thread a client may own is internal and safe.
 * - Objects returned through ret_* pointers belong to the caller and are freed
 *   with the matching *_free() function. Strings returned as "const char *"
 *   belong to the object they came from and live as long as it does. All
 *   *_free() functions accept NULL.
 */

/* Error codes used beyond plain errno meanings (all returned negated):
 *   ENOENT     404: session not found / no lab running / unknown route
 *   EAGAIN     423: session not active or lab busy (after the acquire deadline)
 *   EBUSY      409: lab still in use (destroy without force)
 *   ENOLCK     409 from POST /session with try-lock (no_wait): no lab slot is free at once;
 *              nothing was created
 *   EINVAL     400/422 from the server, or a bad argument caught locally
 *   EACCES     401/403 from the server (401: no token, or the token was refused)
 *   EFBIG      413 from the server, or an upload over the local size cap
 *   EREMOTEIO  5xx from the server
 *   EPROTO     any other unexpected HTTP status
 *   EBADMSG    a success response whose body is not the documented JSON
 *   EMSGSIZE   a response body larger than the library accepts (16 MiB)
 *   ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, EIO   transport failures
 *   ECONNRESET the connection was closed or reset before an answer arrived (e.g. the
 *              server restarted while the request was in flight)
 *   EKEYREJECTED  https: the server's certificate did not verify (see REMOTE_LAB_CA_FILE)
 *   ENOENT     also: a session the server ended; rl_client_end_reason() tells why when
 *              the server said so ("max_wait", "reaped", "max_hold", "admin", ...)
 *   ENODEV     pool: no server of the pool matches the requirements or answers
 *   ETIMEDOUT  also: a wait deadline expired, or a POST /lab went unanswered past the
 *              acquire deadline (see rl_lab_acquire)
 *   ECANCELED  the cancel hook or the progress callback asked to stop
 */

struct rl_client;      /* opaque: one connection to one server, at most one session */
struct rl_lab_request; /* opaque: topology + extra files, loaded into memory */

/* Tunables, all numbers; see rl_client_set(). Times are in seconds (fractions allowed). */
enum rl_param {
	RL_PARAM_REQUEST_TIMEOUT, /* per-request timeout; default 30 or $REMOTE_LAB_REQUEST_TIMEOUT */
	RL_PARAM_SESSION_TIMEOUT, /* wait-until-active deadline; 600 or $REMOTE_LAB_SESSION_TIMEOUT */
	RL_PARAM_ACQUIRE_TIMEOUT,  /* acquire deadline: how long 423s are retried (each POST
	                              /lab has until it, at least REQUEST_TIMEOUT); 600 or
	                              $REMOTE_LAB_ACQUISITION_TIMEOUT */
	RL_PARAM_CONNECT_TIMEOUT,  /* TCP connect timeout; default 10 */
	RL_PARAM_POLL_INTERVAL,    /* status poll period while waiting; default 5 */
	RL_PARAM_HEARTBEAT_PERIOD, /* heartbeat thread period; default 30 */
	RL_PARAM_RETRY_INITIAL,    /* first back-off after a 423 or a transient error; default 1 */
	RL_PARAM_RETRY_MAX,        /* back-off cap (doubles up to this); default 10 */
	RL_PARAM_MAX_RETRIES,      /* transient-error retries for idempotent calls; default 2 */
	RL_PARAM_MAX_UPLOAD,   /* bytes: cap on topology + extra files together; default 64 MiB */
	RL_PARAM_RESTART_WAIT, /* ride-out: how long a refused or reset connection is retried
	                              for an idempotent call (a server restarting); default 30 or
	                              $REMOTE_LAB_RESTART_WAIT; 0 = no ride-out */
	RL_PARAM_POOL_JITTER,  /* pool: random spread added to estimated waits and delay before
	                              a switch; default 1 (0 = none) */
	RL_PARAM_RESERVATION,  /* pool: reservation window after taking a host or losing a
	                              try-lock on one; default 3 (0 = none) */
};

enum rl_session_state {
	RL_SESSION_WAITING = 0,
	RL_SESSION_ACTIVE = 1,
};

/* The parts of the last error of a client. */
struct rl_error {
	int code;          /* negative errno of the last failed call; 0 if it succeeded */
	long http_status;  /* HTTP status of the failing response; 0 when there was none */
	char op[64];       /* what was being done, e.g. "POST /lab" */
	char detail[1024]; /* the server's detail, the transport error, or a local reason */
};

/* Options of a new session (POST /session with a JSON body; needs a server with queue
 * controls). Initialise with RL_SESSION_OPTS_INIT: `size` lets later versions add fields. */
struct rl_session_opts {
	size_t size;       /* sizeof(struct rl_session_opts) */
	int priority;      /* -1000..1000, higher first (FIFO within a priority); 0 = default */
	const char *label; /* free text <= 128 bytes (e.g. the CI job URL), or NULL */
	double max_wait; /* seconds: the server ends the session if still WAITING then; 0 = no limit */
	bool no_wait;    /* try-lock: -ENOLCK unless the session can be ACTIVE at once */
};
#define RL_SESSION_OPTS_INIT                                      \
	{                                                         \
		sizeof(struct rl_session_opts), 0, NULL, 0, false \
	}

/* Passed to the progress callback while waiting in the queue. */
struct rl_progress {
	enum rl_session_state state;
	int position;   /* queue position: 0 = active, N = N sessions ahead */
	double elapsed; /* seconds since the wait started */
};

/* Return non-zero to stop waiting: the wait then fails with -ECANCELED. */
typedef int (*rl_progress_fn)(const struct rl_progress *progress, void *userdata);

/* Polled during blocking calls (about once a second during a transfer, every 100 ms
 * while sleeping); non-zero aborts the call with -ECANCELED. Keep it trivial, e.g. read a
 * volatile sig_atomic_t that a signal handler sets. */
typedef int (*rl_cancel_fn)(void *userdata);

/* Told before every back-off pause: a 423 during acquire (http_status 423), a transient
 * error or 5xx being retried (http_status 0 or 5xx). Must not call into the client. */
typedef void (*rl_retry_fn)(const struct rl_error *why, double delay, void *userdata);

struct rl_device {
	char *name;               /* never NULL */
	char *mgmt_ipv4;          /* raw.mgmt.ipv4, or NULL */
	char *ansible_host;       /* raw.ansible_host, or NULL */
	char *ansible_user;       /* raw.ansible_user, or NULL */
	char *ansible_network_os; /* raw.ansible_network_os, or NULL */
	char *raw_json;           /* raw (the node's `netlab inspect` data) as compact JSON */
};

struct rl_devices {
	size_t n;                /* number of items */
	struct rl_device *items; /* array of n devices, in server order */
	bool reused;             /* acquire only: the server reported "reused" */
	char *json;              /* the device list as the server sent it, as JSON text */
};

struct rl_lab_status {
	bool running;
	char *topology; /* server-side topology path, or NULL */
	long ref_count;
	struct rl_devices *devices; /* never NULL (may hold 0 items) */
	char *json;                 /* the whole response as JSON text */
};

/* GET /host: what a server advertises to client-side pools. */
struct rl_host_info {
	char *name;    /* host name, never NULL */
	char *version; /* server version, or NULL */
	long slots, free_slots, active, waiting, queue_length;
	double estimated_wait; /* seconds a new session would wait; < 0 = unknown */
	size_t n_warm;
	char **warm; /* SHA-256 hex of topologies up and idle */
	bool draining;
	size_t n_tags;
	char **tag_keys, **tag_values; /* operator-set tags, e.g. provider=clab */
	char *json;                    /* the whole response as JSON text */
};

/* GET /sessions: the queue and the holders (public handles, never session ids). */
struct rl_queue_entry {
	char *handle;
	enum rl_session_state state;
	long position, priority;
	char *label; /* or NULL */
	double age, last_seen_age;
	long slot;             /* < 0 when none */
	char *lab_hash;        /* or NULL */
	double estimated_wait; /* WAITING only; < 0 = unknown or not waiting */
};

struct rl_queue {
	long slots;
	size_t n;
	struct rl_queue_entry *items;
	char *json;
};

/* GET /labs: every lab slot's lab. */
struct rl_lab_device_brief {
	char *name;
	char *mgmt_ipv4; /* or NULL */
};

struct rl_lab_info {
	long slot;
	char *instance, *state, *topology, *hash; /* never NULL ("" when the server sent none) */
	char *holder;                             /* public handle, or NULL */
	long ref_count;
	double uptime;
	bool idle;
	size_t n_devices;
	struct rl_lab_device_brief *devices;
};

struct rl_labs {
	size_t n;
	struct rl_lab_info *items;
	char *json;
};

/* One server-sent event from GET /events. */
struct rl_event {
	const char *id;   /* "" when the event had no id */
	const char *kind; /* e.g. "session.created"; "message" when the event had none */
	const char *data; /* the data lines joined with "\n" (JSON for this server) */
};

/* Called for every event; return non-zero to stop watching (rl_events_watch returns 0). */
typedef int (*rl_event_fn)(const struct rl_event *event, void *userdata);

struct rl_heartbeat_info {
	bool running;          /* the thread is alive and beating */
	unsigned long sent;    /* heartbeats answered with 204 */
	unsigned long failed;  /* heartbeats that failed */
	int last_error;        /* code of the most recent failure, 0 if none */
	long last_http_status; /* HTTP status of the most recent failure, 0 if none */
};

/* --- library --- */

/* The library's version, e.g. "1.0.0". */
RL_EXPORT const char *rl_version(void);

/* A short English text for one of the codes above ("session not found", ...). */
RL_EXPORT const char *rl_strerror(int code);

/* --- client handle --- */

/*
 * Create a client for the server at base_url (e.g. "http://lab1:8000"); NULL or ""
 * means $REMOTE_LAB_URL. Reads REMOTE_LAB_REQUEST_TIMEOUT, REMOTE_LAB_SESSION_TIMEOUT,
 * REMOTE_LAB_ACQUISITION_TIMEOUT and REMOTE_LAB_TOKEN. No network traffic happens
 * here. On failure a short reason is written to errbuf (if not NULL).
 * -EINVAL: no URL, a URL that is not http(s), or a malformed timeout variable.
 */
RL_EXPORT int rl_client_new(struct rl_client **ret, const char *base_url, char *errbuf,
			    size_t errlen);

/* Stop the heartbeat thread (if any) and free the client. Does NOT end the session:
 * call rl_session_end() first. NULL is a no-op. */
RL_EXPORT void rl_client_free(struct rl_client *c);

/* Set or read a tunable. Values must be finite and > 0, except RL_PARAM_MAX_RETRIES and
 * RL_PARAM_RETRY_INITIAL, which may be 0; otherwise -EINVAL (also for an unknown param). */
RL_EXPORT int rl_client_set(struct rl_client *c, enum rl_param param, double value);
RL_EXPORT int rl_client_get(const struct rl_client *c, enum rl_param param, double *ret);

/* Bearer token to send (overrides $REMOTE_LAB_TOKEN); NULL or "" sends none. The client
 * keeps a copy and wipes it when it is replaced or the client is freed. */
RL_EXPORT int rl_client_set_token(struct rl_client *c, const char *token);

/* Read the bearer token from a file (the first line; surrounding whitespace removed; at
 * most 4 KiB). The file's bytes are wiped from memory after reading. -ENOENT/-EACCES from
 * opening it, -EINVAL when it is empty or has more than one line, -EFBIG when too large. */
RL_EXPORT int rl_client_set_token_file(struct rl_client *c, const char *path);

/* The token for admin calls (rl_admin_*), sent instead of the access token on them;
 * NULL or "" clears it. Never read from the environment by the library. */
RL_EXPORT int rl_client_set_admin_token(struct rl_client *c, const char *token);

/* The admin token read from a file, with the rules of rl_client_set_token_file(). */
RL_EXPORT int rl_client_set_admin_token_file(struct rl_client *c, const char *path);

/* Trust the CA certificates in this PEM file (instead of the system's) for https servers;
 * overrides $REMOTE_LAB_CA_FILE. NULL or "" uses the system store again. Certificates are
 * always verified (peer and host name). -ENOENT when the file does not exist. */
RL_EXPORT int rl_client_set_ca_file(struct rl_client *c, const char *path);

/* Install a cancel hook for this client's blocking calls (NULL to remove). */
RL_EXPORT void rl_client_set_cancel(struct rl_client *c, rl_cancel_fn fn, void *userdata);

/* Install a retry notifier for this client's calls (NULL to remove). */
RL_EXPORT void rl_client_set_retry_notify(struct rl_client *c, rl_retry_fn fn, void *userdata);

/* The base URL in use (without a trailing slash). With a pool: the server chosen by
 * rl_session_obtain() (the first one before). Owned by the client. */
RL_EXPORT const char *rl_client_url(const struct rl_client *c);

/* --- pool (several servers, chosen per session; see docs/client.md "Lab pools") --- */

/* Add a server to the client's pool (rl_client_new gives the first; with base_url NULL it
 * reads $REMOTE_LAB_URLS, comma-separated, before $REMOTE_LAB_URL). At most 64 servers.
 * -EINVAL for a bad URL, -EEXIST when it is already in the pool, -EBUSY while a session
 * is held. */
RL_EXPORT int rl_client_add_url(struct rl_client *c, const char *url);

/* Number of servers in the pool (1 = a single server: today's behaviour exactly). */
RL_EXPORT size_t rl_client_url_count(const struct rl_client *c);

/* The i-th server of the pool, or NULL. */
RL_EXPORT const char *rl_client_url_at(const struct rl_client *c, size_t i);

/* Require a tag: only servers whose GET /host "tags" has key=value are used. Repeatable
 * (all must match). -EINVAL for an empty key, more than 32 requirements or over 256 bytes. */
RL_EXPORT int rl_client_require(struct rl_client *c, const char *key, const char *value);

/* Prefer servers where this topology is warm (its SHA-256 is in GET /host "warm").
 * NULL forgets it. The request is not kept; only its hash is. */
RL_EXPORT int rl_client_prefer_warm(struct rl_client *c, const struct rl_lab_request *req);

/* The name the chosen server gave in GET /host, or NULL (single server, or none yet). */
RL_EXPORT const char *rl_client_host_name(const struct rl_client *c);

/* The last error; never NULL; owned by the client, valid until its next call. */
RL_EXPORT const struct rl_error *rl_client_error(const struct rl_client *c);

/* The last error as one printable line, e.g.
 * "POST /lab: HTTP 423: Lab currently busy". Owned by the client. */
RL_EXPORT const char *rl_client_errmsg(const struct rl_client *c);

/* --- server --- */

/* GET /healthz: 0 when the server answers 204. */
RL_EXPORT int rl_server_health(struct rl_client *c);

/* GET /host of the current server (pool members: see rl_client_url_at). */
RL_EXPORT int rl_server_host(struct rl_client *c, struct rl_host_info **ret);

/* GET /sessions: the queue (handles, states, positions, labels, estimated waits). */
RL_EXPORT int rl_server_sessions(struct rl_client *c, struct rl_queue **ret);

/* GET /labs: every slot's lab (topology, hash, holder, devices). */
RL_EXPORT int rl_server_labs(struct rl_client *c, struct rl_labs **ret);

RL_EXPORT void rl_host_info_free(struct rl_host_info *h);
RL_EXPORT void rl_queue_free(struct rl_queue *q);
RL_EXPORT void rl_labs_free(struct rl_labs *l);

/*
 * GET /events: call fn for every server-sent event until fn returns non-zero (then 0),
 * the cancel hook stops it (-ECANCELED), or the stream fails. A stream the server closes,
 * or a connection that is refused or reset, is re-opened with back-off for up to
 * RL_PARAM_RESTART_WAIT (events sent meanwhile are missed); after that the error is
 * returned. A connection silent for 45 s (the server pings every 15 s) counts as lost.
 * Events over 64 KiB are skipped.
 */
RL_EXPORT int rl_events_watch(struct rl_client *c, rl_event_fn fn, void *userdata);

/* --- admin (servers started with --admin-token-file; see rl_client_set_admin_token) --- */

/* POST /admin/drain (on=true) or /admin/undrain: no new promotions while draining. */
RL_EXPORT int rl_admin_drain(struct rl_client *c, bool on);

/* DELETE /admin/sessions/{handle}: end a session (reason "admin"). -ENOENT: unknown. */
RL_EXPORT int rl_admin_end_session(struct rl_client *c, const char *handle);

/* DELETE /admin/labs/{slot}: force-destroy that slot's lab. -ENOENT: empty slot. */
RL_EXPORT int rl_admin_destroy_lab(struct rl_client *c, long slot);

/* --- sessions --- */

/* POST /session. Stores the new id in the client. Never retried once the request
 * may have reached the server. -EEXIST if the client already holds a session. */
RL_EXPORT int rl_session_create(struct rl_client *c, int *ret_position);

/*
 * POST /session with queue controls (a JSON body; opts NULL sends "{}"). The server then
 * also returns a public handle (rl_session_handle). -ENOLCK: opts->no_wait and no slot is
 * free (nothing was created); -EINVAL: a value out of range (checked locally first).
 */
RL_EXPORT int rl_session_create_opts(struct rl_client *c, const struct rl_session_opts *opts,
				     int *ret_position);

/*
 * Create a session and wait until it is ACTIVE, on the best server of the pool; with one
 * server this is exactly rl_session_create[_opts] + (heartbeat) + rl_session_wait_active.
 * With several: reads GET /host of each, skips servers that do not match the requirements
 * or are draining, prefers one where the topology is warm, then the shortest estimated
 * wait (with jitter); queues there and, while waiting, watches the others: when another
 * matching server can serve at once, it ends its waiting session first and then takes
 * that server with a try-lock (so it never holds two sessions, let alone two ACTIVE
 * ones); when its server stops answering it moves to the next best. opts may be NULL;
 * with heartbeat the heartbeat thread runs on whichever session is current (period
 * RL_PARAM_HEARTBEAT_PERIOD). deadline <= 0: RL_PARAM_SESSION_TIMEOUT. On success the
 * client is bound to the serving server (rl_client_url, rl_client_host_name).
 * -ENODEV: no server of the pool matches or answers. On failure no session is held.
 */
RL_EXPORT int rl_session_obtain(struct rl_client *c, const struct rl_session_opts *opts,
				bool heartbeat, double deadline, rl_progress_fn progress,
				void *userdata);

/* The public handle of the held session (from a JSON-body create), or NULL. */
RL_EXPORT const char *rl_session_handle(const struct rl_client *c);

/* Why the server ended the session, from the last 404 that said so ("max_wait", "reaped",
 * "max_hold", "deleted", "admin", "shutdown"), or NULL. Reset by every call. */
RL_EXPORT const char *rl_client_end_reason(const struct rl_client *c);

/* Use an existing session id (e.g. from `labctl session new`). Makes no request. */
RL_EXPORT int rl_session_attach(struct rl_client *c, const char *session_id);

/* Forget the session id without ending it on the server (stops the heartbeat). */
RL_EXPORT void rl_session_detach(struct rl_client *c);

/* The session id held by the client, or NULL. Owned by the client. */
RL_EXPORT const char *rl_session_id(const struct rl_client *c);

/* GET /session/{id}. -ENOENT when the server no longer knows the session. */
RL_EXPORT int rl_session_status(struct rl_client *c, enum rl_session_state *ret_state,
				int *ret_position);

/*
 * Poll GET /session/{id} every poll_interval seconds until the session is active.
 * poll_interval <= 0 uses RL_PARAM_POLL_INTERVAL; deadline <= 0 uses
 * RL_PARAM_SESSION_TIMEOUT (seconds from now). progress (may be NULL) is called
 * after every successful poll. Transient errors (transport, 5xx) are retried with
 * back-off inside the deadline, but a server that refuses or resets connections for
 * longer than RL_PARAM_RESTART_WAIT fails the wait with that error; a 404 (session
 * reaped) fails at once with -ENOENT. -ETIMEDOUT when the deadline passes, or when the
 * server ended the session for its max_wait; -ECANCELED when progress or the cancel
 * hook says stop.
 */
RL_EXPORT int rl_session_wait_active(struct rl_client *c, double poll_interval, double deadline,
				     rl_progress_fn progress, void *userdata);

/* POST /session/heartbeat once, from the calling thread. */
RL_EXPORT int rl_session_heartbeat(struct rl_client *c);

/*
 * DELETE /session/{id}: leave the queue; an active session's lab is torn down by
 * the server. Stops the heartbeat thread first. The client forgets the id whatever
 * the outcome, except on a transport error or a 5xx (the id is kept so the caller
 * may retry). -ENOENT when the server did not know the session (already ended or
 * reaped).
 */
RL_EXPORT int rl_session_end(struct rl_client *c);

/* --- heartbeat thread --- */

/*
 * Start a background thread that sends POST /session/heartbeat right away and then
 * every period seconds (<= 0: RL_PARAM_HEARTBEAT_PERIOD, default 30) on its own
 * connection, until stopped. It keeps running during rl_session_wait_active() and
 * rl_lab_acquire(). It stops by itself if the server answers 404. While the server
 * refuses or resets connections (a restart) it beats again after a short back-off (at
 * most the period) instead of waiting a whole period. The thread blocks all signals.
 * -EALREADY if running, -ENOENT without a session.
 */
RL_EXPORT int rl_heartbeat_start(struct rl_client *c, double period);

/* Stop and join the thread (promptly: an in-flight heartbeat is aborted). Safe to
 * call when it is not running. */
RL_EXPORT void rl_heartbeat_stop(struct rl_client *c);

/* A snapshot of the thread's counters. */
RL_EXPORT void rl_heartbeat_get_info(struct rl_client *c, struct rl_heartbeat_info *ret);

/* --- lab requests (what to upload) --- */

/*
 * Read the topology file into memory; its upload name is its basename. The
 * request is independent of the client afterwards (read-only, shareable between
 * threads); the client is used for error reporting and the size cap.
 * -ENOENT/-EACCES/-EISDIR from opening the file, -EFBIG over RL_PARAM_MAX_UPLOAD.
 */
RL_EXPORT int rl_lab_request_new(struct rl_client *c, const char *topology_path,
				 struct rl_lab_request **ret);

/*
 * Add an extra file read from path, uploaded under name (a relative path such as
 * "configs/r1.cfg" that the server recreates). name NULL means path itself.
 * -EINVAL when name is empty, absolute, or has a ".." or empty component.
 */
RL_EXPORT int rl_lab_request_add_file(struct rl_client *c, struct rl_lab_request *req,
				      const char *path, const char *name);

/* Ask the server to reuse a running lab with the same topology (default false). */
RL_EXPORT void rl_lab_request_set_reuse(struct rl_lab_request *req, bool reuse);

RL_EXPORT void rl_lab_request_free(struct rl_lab_request *req);

/* --- labs (the session must be active) --- */

/*
 * POST /lab with the request's files. On 423 (lab busy / session not yet active)
 * it retries with back-off, re-sending the full content each time, as long as the
 * back-off ends before the RL_PARAM_ACQUIRE_TIMEOUT deadline; a lab still busy then is
 * -EAGAIN with the server's detail. Every POST /lab sent has until the deadline, but at
 * least RL_PARAM_REQUEST_TIMEOUT, to be answered (a retry sent just before the deadline
 * still gets its answer: the lab, or 423 and -EAGAIN), so the call returns at most
 * RL_PARAM_REQUEST_TIMEOUT after the deadline; -ETIMEDOUT means a POST /lab went
 * unanswered that long (e.g. a `netlab up` slower than the time left).
 * Other errors are not retried once the upload may have been processed.
 */
RL_EXPORT int rl_lab_acquire(struct rl_client *c, const struct rl_lab_request *req,
			     struct rl_devices **ret);

/* POST /lab/release. -ENOENT: no lab running. */
RL_EXPORT int rl_lab_release(struct rl_client *c);

/* DELETE /lab?force=true|false. -EBUSY: still in use (force false). 0 also when
 * no lab was running. */
RL_EXPORT int rl_lab_destroy(struct rl_client *c, bool force);

/* GET /lab/devices. -ENOENT: no lab running. */
RL_EXPORT int rl_lab_devices(struct rl_client *c, struct rl_devices **ret);

/* GET /lab. */
RL_EXPORT int rl_lab_status(struct rl_client *c, struct rl_lab_status **ret);

RL_EXPORT void rl_devices_free(struct rl_devices *d);
RL_EXPORT void rl_lab_status_free(struct rl_lab_status *s);

#ifdef __cplusplus
}
#endif

#endif /* REMOTELAB_H */

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
#define REMOTELAB_VERSION_MINOR 0
#define REMOTELAB_VERSION_PATCH 0
#define REMOTELAB_VERSION "1.0.0"

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
 *   EINVAL     400/422 from the server, or a bad argument caught locally
 *   EACCES     401/403 from the server
 *   EFBIG      413 from the server, or an upload over the local size cap
 *   EREMOTEIO  5xx from the server
 *   EPROTO     any other unexpected HTTP status
 *   EBADMSG    a success response whose body is not the documented JSON
 *   EMSGSIZE   a response body larger than the library accepts (16 MiB)
 *   ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, EIO   transport failures
 *   ETIMEDOUT  also: a wait or acquire deadline expired
 *   ECANCELED  the cancel hook or the progress callback asked to stop
 */

struct rl_client;       /* opaque: one connection to one server, at most one session */
struct rl_lab_request;  /* opaque: topology + extra files, loaded into memory */

/* Tunables, all numbers; see rl_client_set(). Times are in seconds (fractions allowed). */
enum rl_param {
	RL_PARAM_REQUEST_TIMEOUT,  /* per-request timeout; default 30 or $REMOTE_LAB_REQUEST_TIMEOUT */
	RL_PARAM_SESSION_TIMEOUT,  /* wait-until-active deadline; 600 or $REMOTE_LAB_SESSION_TIMEOUT */
	RL_PARAM_ACQUIRE_TIMEOUT,  /* overall acquire deadline incl. 423 retries; 600 or
	                              $REMOTE_LAB_ACQUISITION_TIMEOUT */
	RL_PARAM_CONNECT_TIMEOUT,  /* TCP connect timeout; default 10 */
	RL_PARAM_POLL_INTERVAL,    /* status poll period while waiting; default 5 */
	RL_PARAM_HEARTBEAT_PERIOD, /* heartbeat thread period; default 30 */
	RL_PARAM_RETRY_INITIAL,    /* first back-off after a 423 or a transient error; default 1 */
	RL_PARAM_RETRY_MAX,        /* back-off cap (doubles up to this); default 10 */
	RL_PARAM_MAX_RETRIES,      /* transient-error retries for idempotent calls; default 2 */
	RL_PARAM_MAX_UPLOAD,       /* bytes: cap on topology + extra files together; default 64 MiB */
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

/* Passed to the progress callback while waiting in the queue. */
struct rl_progress {
	enum rl_session_state state;
	int position;      /* queue position: 0 = active, N = N sessions ahead */
	double elapsed;    /* seconds since the wait started */
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
	size_t n;                 /* number of items */
	struct rl_device *items;  /* array of n devices, in server order */
	bool reused;              /* acquire only: the server reported "reused" */
	char *json;               /* the device list as the server sent it, as JSON text */
};

struct rl_lab_status {
	bool running;
	char *topology;           /* server-side topology path, or NULL */
	long ref_count;
	struct rl_devices *devices; /* never NULL (may hold 0 items) */
	char *json;               /* the whole response as JSON text */
};

struct rl_heartbeat_info {
	bool running;             /* the thread is alive and beating */
	unsigned long sent;       /* heartbeats answered with 204 */
	unsigned long failed;     /* heartbeats that failed */
	int last_error;           /* code of the most recent failure, 0 if none */
	long last_http_status;    /* HTTP status of the most recent failure, 0 if none */
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
RL_EXPORT int rl_client_new(struct rl_client **ret, const char *base_url,
			    char *errbuf, size_t errlen);

/* Stop the heartbeat thread (if any) and free the client. Does NOT end the session:
 * call rl_session_end() first. NULL is a no-op. */
RL_EXPORT void rl_client_free(struct rl_client *c);

/* Set or read a tunable. Values must be finite and > 0, except RL_PARAM_MAX_RETRIES and
 * RL_PARAM_RETRY_INITIAL, which may be 0; otherwise -EINVAL (also for an unknown param). */
RL_EXPORT int rl_client_set(struct rl_client *c, enum rl_param param, double value);
RL_EXPORT int rl_client_get(const struct rl_client *c, enum rl_param param, double *ret);

/* Bearer token to send (overrides $REMOTE_LAB_TOKEN); NULL or "" sends none. */
RL_EXPORT int rl_client_set_token(struct rl_client *c, const char *token);

/* Install a cancel hook for this client's blocking calls (NULL to remove). */
RL_EXPORT void rl_client_set_cancel(struct rl_client *c, rl_cancel_fn fn, void *userdata);

/* Install a retry notifier for this client's calls (NULL to remove). */
RL_EXPORT void rl_client_set_retry_notify(struct rl_client *c, rl_retry_fn fn, void *userdata);

/* The base URL in use (without a trailing slash). Owned by the client. */
RL_EXPORT const char *rl_client_url(const struct rl_client *c);

/* The last error; never NULL; owned by the client, valid until its next call. */
RL_EXPORT const struct rl_error *rl_client_error(const struct rl_client *c);

/* The last error as one printable line, e.g.
 * "POST /lab: HTTP 423: Lab currently busy". Owned by the client. */
RL_EXPORT const char *rl_client_errmsg(const struct rl_client *c);

/* --- server --- */

/* GET /healthz: 0 when the server answers 204. */
RL_EXPORT int rl_server_health(struct rl_client *c);

/* --- sessions --- */

/* POST /session. Stores the new id in the client. Never retried once the request
 * may have reached the server. -EEXIST if the client already holds a session. */
RL_EXPORT int rl_session_create(struct rl_client *c, int *ret_position);

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
 * back-off inside the deadline; a 404 (session reaped) fails at once with -ENOENT.
 * -ETIMEDOUT when the deadline passes; -ECANCELED when progress or the cancel hook
 * says stop.
 */
RL_EXPORT int rl_session_wait_active(struct rl_client *c, double poll_interval,
				     double deadline, rl_progress_fn progress, void *userdata);

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
 * rl_lab_acquire(). It stops by itself if the server answers 404. The thread
 * blocks all signals. -EALREADY if running, -ENOENT without a session.
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
 * it retries with back-off, re-sending the full content each time, until
 * RL_PARAM_ACQUIRE_TIMEOUT has passed (then -EAGAIN with the server's detail).
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

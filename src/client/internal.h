/* libremotelab internals shared between the library's files (never installed). */
#ifndef RL_CLIENT_INTERNAL_H
#define RL_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h" /* rl_buf: the bounded buffer (0, -E2BIG or -ENOMEM; libc only) */
#include "remotelab.h"

#define RL_PARAM_COUNT (RL_PARAM_RESERVATION + 1)
#define RL_MAX_URLS 64
#define RL_MAX_REQUIRE 32
#define RL_MAX_ORPHANS 16
#define RL_MAX_TOKEN 4096
#define RL_MAX_SESSION_BODY 4096
#define RL_MAX_EVENT (64u * 1024)
#define RL_MAX_RESPONSE (16u * 1024 * 1024) /* largest response body accepted */
#define RL_MAX_UPLOAD_DEFAULT (64.0 * 1024 * 1024)
#define RL_MAX_EXTRA_FILES 1024

/* clock.c: monotonic time and cancellable sleeps. */
double clock_now(void);
int clock_sleep(double seconds, rl_cancel_fn cancel, void *userdata);
double clock_backoff(double initial, double max, unsigned attempt);

/* reply.c: the JSON helpers of the reply_*.c parsers (pure; no I/O). */
int reply_load(const char *body, size_t len, json_t **ret);         /* 0, -ENOMEM or -EBADMSG */
int reply_get_int(json_t *v, int *ret);                             /* int-range integer */
int reply_dup_opt_string(json_t *obj, const char *key, char **ret); /* absent/non-string: NULL */
char *reply_dump(json_t *j); /* compact; NULL: out of memory */
int reply_get_num(json_t *obj, const char *key, double def, double *ret);
int reply_get_long(json_t *obj, const char *key, long def, long *ret);
int reply_dup_string_or_empty(json_t *obj, const char *key, char **ret);

/* reply_session.c, reply_lab.c, reply_error.c, reply_server.c: parsing of response bodies
 * (pure; no I/O). */
int reply_session_created(const char *body, size_t len, char **ret_id, int *ret_position);
int reply_session_status(const char *body, size_t len, enum rl_session_state *ret_state,
			 int *ret_position);
int reply_devices(const char *body, size_t len, struct rl_devices **ret);
int reply_acquire(const char *body, size_t len, struct rl_devices **ret);
int reply_lab_status(const char *body, size_t len, struct rl_lab_status **ret);
void reply_error_detail(const char *body, size_t len, long status, char *out, size_t outlen);
int reply_status_errno(long status);
int reply_session_handle(const char *body, size_t len, char **ret_handle);
int reply_end_reason(const char *body, size_t len, char *out, size_t outlen);
int reply_host(const char *body, size_t len, struct rl_host_info **ret);
int reply_queue(const char *body, size_t len, struct rl_queue **ret);
int reply_labs(const char *body, size_t len, struct rl_labs **ret);
int reply_session_body(const struct rl_session_opts *o, char **ret);

/* sse.c: text/event-stream parsing (pure; no I/O). Feed bytes, get complete events. */
struct sse {
	struct buf line; /* the current, incomplete line */
	struct buf data; /* data lines of the current event */
	char id[128], kind[128];
	bool skip;    /* the current event is over RL_MAX_EVENT: dropped */
	bool cr;      /* the last byte was a CR (a following LF is the same line end) */
	bool started; /* a BOM may only come first */
};
void sse_init(struct sse *s);
void sse_free(struct sse *s);
/* Returns 0, a negative errno (-ENOMEM), or the non-zero value fn returned (stop). */
int sse_feed(struct sse *s, const char *p, size_t n, rl_event_fn fn, void *ud);

/* xfer.c: one HTTP exchange over a curl easy handle, plus the retry policy. */
struct xfer_conf {
	const char *url;        /* base URL, no trailing slash */
	const char *token;      /* bearer token or NULL */
	const char *session_id; /* X-Session-ID or NULL */
	const char *ca_file;    /* PEM bundle to trust instead of the system's, or NULL */
	double connect_timeout;
	rl_cancel_fn cancel;
	void *cancel_ud;
	/* optional: a streaming sink (GET /events); the body is then not collected */
	size_t (*stream)(const char *p, size_t n, void *ud);
	void *stream_ud;
	const char *accept; /* Accept header; NULL = application/json */
	bool fresh;         /* a new connection: libcurl never re-sends the request on it */
};

struct xfer_resp {
	long status;     /* 0 when no response arrived */
	bool sent;       /* false when the request surely never reached the server */
	struct buf body; /* capped at RL_MAX_RESPONSE */
};

/* The request body of a call: a mime form, a JSON text, or nothing. */
struct xfer_body {
	curl_mime *mime;
	const char *json;
};

void xfer_resp_init(struct xfer_resp *r);
void xfer_resp_free(struct xfer_resp *r);
int xfer_once(CURL *easy, const struct xfer_conf *conf, const char *method, const char *path,
	      const struct xfer_body *body, double timeout, struct xfer_resp *resp, char *errbuf,
	      size_t errlen);
bool xfer_is_outage(int r);
int xfer_global_init(void);
char *xfer_escape(const char *s);

/* heartbeat.c */
struct heartbeat;
void heartbeat_free(struct heartbeat *hb);

/* pool.c: the choice of a server (pure functions; no I/O; tests drive them directly). */
struct pool_req {
	size_t n;
	char *keys[RL_MAX_REQUIRE], *values[RL_MAX_REQUIRE];
};

struct pool_host {
	const struct rl_host_info *info; /* NULL: did not answer GET /host (or garbled) */
	double hold_until;               /* reservation window: not a switch target before */
};

enum pool_verdict {
	POOL_OK = 0,
	POOL_DOWN,     /* no answer */
	POOL_MISMATCH, /* a required tag missing or different */
	POOL_DRAINING,
};

enum pool_verdict pool_judge(const struct rl_host_info *h, const struct pool_req *req);
bool pool_is_warm(const struct rl_host_info *h, const char *hash);
bool pool_serves_now(const struct rl_host_info *h);
double pool_cost(const struct rl_host_info *h, double jitter, double u);
int pool_pick(const struct pool_host *hosts, size_t n, const struct pool_req *req, const char *hash,
	      double jitter, double now, double (*rnd)(void *), void *rnd_ud, bool only_now,
	      size_t skip);

/* client*.c: the handle and the per-call plumbing the operation files use. */
struct orphan { /* a session left on a server that stopped answering */
	char *url, *id;
};

struct rl_client {
	char *url; /* the current server: urls[cur] */
	char *urls[RL_MAX_URLS];
	size_t n_urls, cur;
	char *token;
	char *admin_token;
	char *ca_file;
	char *session_id;
	char *handle;        /* public handle of the session, or NULL */
	char *host_name;     /* pool: GET /host name of the chosen server */
	char end_reason[32]; /* from the last 404 with a "reason" */
	struct pool_req req;
	char warm_hash[65]; /* "" when none */
	struct orphan orphans[RL_MAX_ORPHANS];
	size_t n_orphans;
	unsigned rnd_state; /* pool jitter (seeded per client) */
	double params[RL_PARAM_COUNT];
	CURL *easy;
	rl_cancel_fn cancel;
	void *cancel_ud;
	rl_retry_fn retry;
	void *retry_ud;
	struct rl_error err;
	char errmsg[sizeof(((struct rl_error *)0)->op) + sizeof(((struct rl_error *)0)->detail) +
		    32];
	struct heartbeat *hb;
};

enum call_flags {
	CALL_IDEMPOTENT = 1u << 0,   /* transient errors and 5xx may be retried */
	CALL_SESSION = 1u << 1,      /* send X-Session-ID (requires a session) */
	CALL_ADMIN = 1u << 2,        /* send the admin token instead of the access token */
	CALL_NO_RIDE = 1u << 3,      /* no restart ride-out (pool probes: a dead host is news) */
	CALL_FULL_ATTEMPT = 1u << 4, /* an attempt sent before the deadline gets at least
				      * RL_PARAM_REQUEST_TIMEOUT, even past it (the 423 loop) */
};

struct call {
	const char *method;
	const char *path; /* already escaped */
	const char *op;   /* for error messages */
	unsigned flags;
	curl_mime *mime;
	const char *json; /* JSON body (POST), or NULL */
	double timeout;   /* per attempt; 0 = RL_PARAM_REQUEST_TIMEOUT */
	double deadline;  /* absolute clock_now() value; 0 = none: no back-off is started
			       * that would end past it, and an attempt's timeout is cut to it
			       * (but see CALL_FULL_ATTEMPT) */
};

/* client_error.c */
void client_clear_error(struct rl_client *c);
int client_set_error(struct rl_client *c, int code, long http_status, const char *op,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int client_http_error(struct rl_client *c, const char *op, const struct xfer_resp *resp);
int client_body_error(struct rl_client *c, int r, const char *op, long status);

/* client_call.c */
int client_call(struct rl_client *c, const struct call *call, struct xfer_resp *resp);
int client_easy(struct rl_client *c, CURL **ret);
void client_notify_retry(struct rl_client *c, double delay);
void client_conf(struct rl_client *c, struct xfer_conf *conf, bool session, bool admin);
int client_get_json(struct rl_client *c, const struct call *call, struct xfer_resp *resp);
int client_session_path(struct rl_client *c, const char *op, char *buf, size_t len);

/* client.c */
int client_switch_url(struct rl_client *c, size_t i);
double client_random(void *ud);

/* client_auth.c */
void client_wipe_free(char *s);

/* client_orphan.c */
void client_forget_session(struct rl_client *c);
void client_add_orphan(struct rl_client *c);
void client_end_orphans(struct rl_client *c, double timeout);

/* session.c and server.c, used by pool.c */
int session_create(struct rl_client *c, const char *json, unsigned flags, int *ret_position);
int session_end(struct rl_client *c, unsigned flags);
int server_probe_host(struct rl_client *c, double timeout, struct rl_host_info **ret);
int session_wait(struct rl_client *c, double poll_interval, double end, double start,
		 rl_progress_fn progress, void *userdata, bool pool);

#endif

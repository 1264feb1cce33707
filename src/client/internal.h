/* libremotelab internals shared between the library's files (never installed). */
#ifndef RL_CLIENT_INTERNAL_H
#define RL_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "remotelab.h"

#define RL_PARAM_COUNT (RL_PARAM_MAX_UPLOAD + 1)
#define RL_MAX_RESPONSE (16u * 1024 * 1024) /* largest response body accepted */
#define RL_MAX_UPLOAD_DEFAULT (64.0 * 1024 * 1024)
#define RL_MAX_EXTRA_FILES 1024

/* sbuf.c: a growable byte buffer with a hard maximum, always NUL-terminated. */
struct sbuf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void sbuf_init(struct sbuf *b, size_t max);
int sbuf_append(struct sbuf *b, const void *p, size_t n);
void sbuf_reset(struct sbuf *b);
void sbuf_free(struct sbuf *b);

/* clock.c: monotonic time and cancellable sleeps. */
double clock_now(void);
int clock_sleep(double seconds, rl_cancel_fn cancel, void *userdata);
double clock_backoff(double initial, double max, unsigned attempt);

/* reply.c: parsing of response bodies (pure; no I/O). */
int reply_session_created(const char *body, size_t len, char **ret_id, int *ret_position);
int reply_session_status(const char *body, size_t len, enum rl_session_state *ret_state,
			 int *ret_position);
int reply_devices(const char *body, size_t len, struct rl_devices **ret);
int reply_acquire(const char *body, size_t len, struct rl_devices **ret);
int reply_lab_status(const char *body, size_t len, struct rl_lab_status **ret);
void reply_error_detail(const char *body, size_t len, long status, char *out, size_t outlen);
int reply_status_errno(long status);

/* xfer.c: one HTTP exchange over a curl easy handle, plus the retry policy. */
struct xfer_conf {
	const char *url;        /* base URL, no trailing slash */
	const char *token;      /* bearer token or NULL */
	const char *session_id; /* X-Session-ID or NULL */
	double connect_timeout;
	rl_cancel_fn cancel;
	void *cancel_ud;
};

struct xfer_resp {
	long status;       /* 0 when no response arrived */
	bool sent;         /* false when the request surely never reached the server */
	struct sbuf body;
};

void xfer_resp_init(struct xfer_resp *r);
void xfer_resp_free(struct xfer_resp *r);
int xfer_once(CURL *easy, const struct xfer_conf *conf, const char *method, const char *path,
	      curl_mime *mime, double timeout, struct xfer_resp *resp, char *errbuf,
	      size_t errlen);
int xfer_global_init(void);
char *xfer_escape(const char *s);

/* heartbeat.c */
struct heartbeat;
void heartbeat_free(struct heartbeat *hb);

/* client.c: the handle and the per-call plumbing the operation files use. */
struct rl_client {
	char *url;
	char *token;
	char *session_id;
	double params[RL_PARAM_COUNT];
	CURL *easy;
	rl_cancel_fn cancel;
	void *cancel_ud;
	rl_retry_fn retry;
	void *retry_ud;
	struct rl_error err;
	char errmsg[sizeof(((struct rl_error *)0)->op) + sizeof(((struct rl_error *)0)->detail) + 32];
	struct heartbeat *hb;
};

enum call_flags {
	CALL_IDEMPOTENT = 1u << 0, /* transient errors and 5xx may be retried */
	CALL_SESSION = 1u << 1,    /* send X-Session-ID (requires a session) */
};

struct call {
	const char *method;
	const char *path;     /* already escaped */
	const char *op;       /* for error messages */
	unsigned flags;
	curl_mime *mime;
	double timeout;       /* per attempt; 0 = RL_PARAM_REQUEST_TIMEOUT */
	double deadline;      /* absolute clock_now() value; 0 = none */
};

void client_clear_error(struct rl_client *c);
int client_set_error(struct rl_client *c, int code, long http_status, const char *op,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int client_http_error(struct rl_client *c, const char *op, const struct xfer_resp *resp);
int client_call(struct rl_client *c, const struct call *call, struct xfer_resp *resp);
int client_easy(struct rl_client *c, CURL **ret);
void client_notify_retry(struct rl_client *c, double delay);

#endif

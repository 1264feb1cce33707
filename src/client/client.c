/* The client handle: configuration from arguments and environment, errors, retry policy. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
	const char *env; /* environment variable that overrides the default, or NULL */
	double def;
} param_info[RL_PARAM_COUNT] = {
	[RL_PARAM_REQUEST_TIMEOUT] = { "REMOTE_LAB_REQUEST_TIMEOUT", 30 },
	[RL_PARAM_SESSION_TIMEOUT] = { "REMOTE_LAB_SESSION_TIMEOUT", 600 },
	[RL_PARAM_ACQUIRE_TIMEOUT] = { "REMOTE_LAB_ACQUISITION_TIMEOUT", 600 },
	[RL_PARAM_CONNECT_TIMEOUT] = { NULL, 10 },
	[RL_PARAM_POLL_INTERVAL] = { NULL, 5 },
	[RL_PARAM_HEARTBEAT_PERIOD] = { NULL, 30 },
	[RL_PARAM_RETRY_INITIAL] = { NULL, 1 },
	[RL_PARAM_RETRY_MAX] = { NULL, 10 },
	[RL_PARAM_MAX_RETRIES] = { NULL, 2 },
	[RL_PARAM_MAX_UPLOAD] = { NULL, RL_MAX_UPLOAD_DEFAULT },
};

const char *
rl_version(void)
{
	return REMOTELAB_VERSION;
}

const char *
rl_strerror(int code)
{
	switch (code < 0 ? -code : code) {
	case 0: return "success";
	case ENOENT: return "not found (session or lab)";
	case EAGAIN: return "locked: session not active or lab busy";
	case EBUSY: return "lab still in use";
	case EINVAL: return "invalid request or argument";
	case EACCES: return "access denied";
	case EFBIG: return "upload too large";
	case EREMOTEIO: return "server error";
	case EPROTO: return "unexpected HTTP status";
	case EBADMSG: return "malformed response";
	case EMSGSIZE: return "response too large";
	case ECONNREFUSED: return "connection refused";
	case EHOSTUNREACH: return "host not found or unreachable";
	case ETIMEDOUT: return "timed out";
	case EIO: return "transport error";
	case ECANCELED: return "cancelled";
	case ENOMEM: return "out of memory";
	case EEXIST: return "client already holds a session";
	case EALREADY: return "already running";
	default: return strerror(code < 0 ? -code : code);
	}
}

/* Parse a positive decimal number of seconds (fractions allowed). */
static int
parse_seconds(const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Set up the url: http(s) only, trailing slashes removed. */
static int
set_url(struct rl_client *c, const char *url)
{
	size_t n;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return -EINVAL;
	c->url = strdup(url);
	if (c->url == NULL)
		return -ENOMEM;
	n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	/* a host after "scheme://", no query or fragment (paths are appended to it) */
	if (strchr(c->url, '?') != NULL || strchr(c->url, '#') != NULL ||
	    n <= strlen(url[4] == 's' ? "https://" : "http://"))
		return -EINVAL;
	return 0;
}

int
rl_client_new(struct rl_client **ret, const char *base_url, char *errbuf, size_t errlen)
{
	struct rl_client *c;
	const char *v;
	int r, i;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (ret == NULL)
		return -EINVAL;
	r = xfer_global_init();
	if (r < 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errlen, "libcurl initialisation failed");
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	if (base_url == NULL || base_url[0] == '\0')
		base_url = getenv("REMOTE_LAB_URL");
	if (base_url == NULL || base_url[0] == '\0') {
		r = -EINVAL;
		if (errbuf != NULL)
			snprintf(errbuf, errlen,
				 "no server URL: pass one or set REMOTE_LAB_URL");
		goto fail;
	}
	r = set_url(c, base_url);
	if (r < 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errlen, r == -ENOMEM ? "out of memory"
							       : "invalid server URL '%s' (need http:// or https://)",
				 base_url);
		goto fail;
	}
	for (i = 0; i < RL_PARAM_COUNT; i++) {
		c->params[i] = param_info[i].def;
		v = param_info[i].env != NULL ? getenv(param_info[i].env) : NULL;
		if (v == NULL || v[0] == '\0')
			continue;
		r = parse_seconds(v, &c->params[i]);
		if (r < 0) {
			if (errbuf != NULL)
				snprintf(errbuf, errlen, "%s='%s' is not a positive number of seconds",
					 param_info[i].env, v);
			goto fail;
		}
	}
	v = getenv("REMOTE_LAB_TOKEN");
	if (v != NULL && v[0] != '\0') {
		c->token = strdup(v);
		if (c->token == NULL) {
			r = -ENOMEM;
			goto fail;
		}
	}
	*ret = c;
	return 0;
fail:
	rl_client_free(c);
	return r;
}

void
rl_client_free(struct rl_client *c)
{
	if (c == NULL)
		return;
	heartbeat_free(c->hb);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	free(c->url);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->session_id);
	free(c);
}

int
rl_client_set(struct rl_client *c, enum rl_param param, double value)
{
	if (c == NULL || (int)param < 0 || (int)param >= RL_PARAM_COUNT || !isfinite(value) ||
	    value < 0)
		return -EINVAL;
	if (param != RL_PARAM_MAX_RETRIES && param != RL_PARAM_RETRY_INITIAL && value <= 0)
		return -EINVAL;
	c->params[param] = value;
	return 0;
}

int
rl_client_get(const struct rl_client *c, enum rl_param param, double *ret)
{
	if (c == NULL || ret == NULL || (int)param < 0 || (int)param >= RL_PARAM_COUNT)
		return -EINVAL;
	*ret = c->params[param];
	return 0;
}

int
rl_client_set_token(struct rl_client *c, const char *token)
{
	char *t = NULL;

	if (c == NULL)
		return -EINVAL;
	if (token != NULL && token[0] != '\0') {
		t = strdup(token);
		if (t == NULL)
			return -ENOMEM;
	}
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->token = t;
	return 0;
}

void
rl_client_set_cancel(struct rl_client *c, rl_cancel_fn fn, void *userdata)
{
	c->cancel = fn;
	c->cancel_ud = userdata;
}

void
rl_client_set_retry_notify(struct rl_client *c, rl_retry_fn fn, void *userdata)
{
	c->retry = fn;
	c->retry_ud = userdata;
}

/* Tell the application about a coming back-off pause (the error is in c->err). */
void
client_notify_retry(struct rl_client *c, double delay)
{
	if (c->retry != NULL)
		c->retry(&c->err, delay, c->retry_ud);
}

const char *
rl_client_url(const struct rl_client *c)
{
	return c->url;
}

const struct rl_error *
rl_client_error(const struct rl_client *c)
{
	return &c->err;
}

const char *
rl_client_errmsg(const struct rl_client *c)
{
	return c->errmsg;
}

/* Mark the last call as successful. */
void
client_clear_error(struct rl_client *c)
{
	memset(&c->err, 0, sizeof(c->err));
	c->errmsg[0] = '\0';
}

/* Record a failure and return code (for `return client_set_error(...)`). */
int
client_set_error(struct rl_client *c, int code, long http_status, const char *op,
		 const char *fmt, ...)
{
	va_list ap;

	c->err.code = code;
	c->err.http_status = http_status;
	snprintf(c->err.op, sizeof(c->err.op), "%s", op != NULL ? op : "");
	va_start(ap, fmt);
	vsnprintf(c->err.detail, sizeof(c->err.detail), fmt, ap);
	va_end(ap);
	if (http_status > 0)
		snprintf(c->errmsg, sizeof(c->errmsg), "%s: HTTP %ld: %s", c->err.op, http_status,
			 c->err.detail);
	else if (c->err.op[0] != '\0')
		snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s", c->err.op, c->err.detail);
	else
		snprintf(c->errmsg, sizeof(c->errmsg), "%s", c->err.detail);
	return code;
}

/* Record an unexpected HTTP status with the server's detail; returns the mapped code. */
int
client_http_error(struct rl_client *c, const char *op, const struct xfer_resp *resp)
{
	char detail[sizeof(c->err.detail)];

	reply_error_detail(resp->body.data, resp->body.len, resp->status, detail, sizeof(detail));
	return client_set_error(c, reply_status_errno(resp->status), resp->status, op, "%s",
				detail);
}

/* The client's easy handle, created on first use. */
int
client_easy(struct rl_client *c, CURL **ret)
{
	if (c->easy == NULL) {
		c->easy = curl_easy_init();
		if (c->easy == NULL)
			return -ENOMEM;
	}
	*ret = c->easy;
	return 0;
}

/*
 * Run one call with the retry policy: a request that surely never reached the
 * server (connect/resolve failure) may be retried; once it may have, only
 * idempotent calls are retried, on transport errors and 5xx. Retries back off
 * and never run past the call's deadline. Returns 0 with any HTTP response in
 * resp (the caller judges the status), or a negative code with the error set.
 */
int
client_call(struct rl_client *c, const struct call *call, struct xfer_resp *resp)
{
	struct xfer_conf conf;
	char errbuf[512];
	unsigned attempt = 0;
	double t, left, pause;
	CURL *easy;
	int r;

	client_clear_error(c);
	if ((call->flags & CALL_SESSION) && c->session_id == NULL)
		return client_set_error(c, -ENOENT, 0, call->op, "no session");
	r = client_easy(c, &easy);
	if (r < 0)
		return client_set_error(c, r, 0, call->op, "out of memory");
	conf.url = c->url;
	conf.token = c->token;
	conf.session_id = (call->flags & CALL_SESSION) ? c->session_id : NULL;
	conf.connect_timeout = c->params[RL_PARAM_CONNECT_TIMEOUT];
	conf.cancel = c->cancel;
	conf.cancel_ud = c->cancel_ud;

	for (;;) {
		t = call->timeout > 0 ? call->timeout : c->params[RL_PARAM_REQUEST_TIMEOUT];
		if (call->deadline > 0) {
			left = call->deadline - clock_now();
			if (left <= 0)
				return client_set_error(c, -ETIMEDOUT, 0, call->op,
							"deadline passed");
			if (left < t)
				t = left;
		}
		r = xfer_once(easy, &conf, call->method, call->path, call->mime, t, resp, errbuf,
			      sizeof(errbuf));
		if (r == 0 && !(resp->status >= 500 && (call->flags & CALL_IDEMPOTENT)))
			return 0;
		if (r == -ECANCELED || r == -ENOMEM || r == -EMSGSIZE || r == -EINVAL)
			break;
		if (r < 0 && resp->sent && !(call->flags & CALL_IDEMPOTENT))
			break;
		if (attempt >= (unsigned)c->params[RL_PARAM_MAX_RETRIES])
			break;
		pause = clock_backoff(c->params[RL_PARAM_RETRY_INITIAL],
				      c->params[RL_PARAM_RETRY_MAX], attempt);
		if (call->deadline > 0 && clock_now() + pause >= call->deadline)
			break;
		if (c->retry != NULL) {
			if (r == 0)
				client_http_error(c, call->op, resp);
			else
				client_set_error(c, r, 0, call->op, "%s", errbuf);
			client_notify_retry(c, pause);
			client_clear_error(c);
		}
		if (clock_sleep(pause, c->cancel, c->cancel_ud) < 0) {
			r = -ECANCELED;
			snprintf(errbuf, sizeof(errbuf), "cancelled");
			break;
		}
		attempt++;
	}
	if (r == 0) /* a 5xx that ran out of retries: the caller reports it */
		return 0;
	return client_set_error(c, r, 0, call->op, "%s", errbuf);
}

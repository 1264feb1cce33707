/* The client handle: configuration from arguments and environment, errors, retry policy. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include <fcntl.h>

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
	[RL_PARAM_RESTART_WAIT] = { "REMOTE_LAB_RESTART_WAIT", 30 },
	[RL_PARAM_POOL_JITTER] = { NULL, 1 },
	[RL_PARAM_RESERVATION] = { NULL, 3 },
};

/* Params that may be 0 (the others must be > 0). */
static bool
param_may_be_zero(int p)
{
	return p == RL_PARAM_MAX_RETRIES || p == RL_PARAM_RETRY_INITIAL ||
	       p == RL_PARAM_RESTART_WAIT || p == RL_PARAM_POOL_JITTER ||
	       p == RL_PARAM_RESERVATION;
}

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
	case ENOLCK: return "try-lock refused: no lab slot is free";
	case ECONNRESET: return "connection closed or reset by the server";
	case EKEYREJECTED: return "server certificate not trusted (TLS verification failed)";
	case ENODEV: return "no server of the pool matches or answers";
	default: return strerror(code < 0 ? -code : code);
	}
}

/* Parse a positive (or, with zero_ok, non-negative) decimal number of seconds. */
static int
parse_seconds(const char *s, bool zero_ok, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0 || (v == 0 && !zero_ok))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A normalised copy of url: http(s) only, trailing slashes removed. */
static int
norm_url(const char *url, size_t len, char **ret)
{
	char *u;
	size_t n;

	if (len < 7 || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return -EINVAL;
	u = strndup(url, len);
	if (u == NULL)
		return -ENOMEM;
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	/* a host after "scheme://", no query, fragment or space (paths are appended to it) */
	if (strpbrk(u, "?# \t\r\n,") != NULL || n <= strlen(u[4] == 's' ? "https://" : "http://")) {
		free(u);
		return -EINVAL;
	}
	*ret = u;
	return 0;
}

/* Append a server to the pool. */
static int
add_url(struct rl_client *c, const char *url, size_t len)
{
	char *u;
	size_t i;
	int r;

	if (c->n_urls >= RL_MAX_URLS)
		return -E2BIG;
	r = norm_url(url, len, &u);
	if (r < 0)
		return r;
	for (i = 0; i < c->n_urls; i++) {
		if (strcmp(c->urls[i], u) == 0) {
			free(u);
			return -EEXIST;
		}
	}
	c->urls[c->n_urls++] = u;
	c->url = c->urls[c->cur];
	return 0;
}

/* $REMOTE_LAB_URLS: comma-separated, blanks around items ignored. */
static int
add_url_list(struct rl_client *c, const char *list, char *errbuf, size_t errlen)
{
	const char *p = list, *e, *a, *b;
	int r;

	while (*p != '\0') {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		a = p;
		b = e;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a) {
			r = add_url(c, a, (size_t)(b - a));
			if (r < 0) {
				if (errbuf != NULL)
					snprintf(errbuf, errlen, r == -ENOMEM ? "out of memory" :
						 r == -EEXIST ? "REMOTE_LAB_URLS: '%.*s' is listed twice" :
						 r == -E2BIG ? "REMOTE_LAB_URLS: more than 64 servers (at '%.*s')" :
						 "REMOTE_LAB_URLS: invalid server URL '%.*s' (need http:// or https://)",
						 (int)(b - a), a);
				return r == -EEXIST || r == -E2BIG ? -EINVAL : r;
			}
		}
		p = *e == ',' ? e + 1 : e;
	}
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
	c->rnd_state = (unsigned)(clock_now() * 1e6) ^ (unsigned)(uintptr_t)c;
	if (base_url == NULL || base_url[0] == '\0') {
		v = getenv("REMOTE_LAB_URLS");
		if (v != NULL && v[0] != '\0') {
			r = add_url_list(c, v, errbuf, errlen);
			if (r < 0)
				goto fail;
		}
		if (c->n_urls == 0)
			base_url = getenv("REMOTE_LAB_URL");
	}
	if (c->n_urls == 0 && (base_url == NULL || base_url[0] == '\0')) {
		r = -EINVAL;
		if (errbuf != NULL)
			snprintf(errbuf, errlen,
				 "no server URL: pass one or set REMOTE_LAB_URL (or REMOTE_LAB_URLS)");
		goto fail;
	}
	if (c->n_urls == 0) {
		r = add_url(c, base_url, strlen(base_url));
		if (r < 0) {
			if (errbuf != NULL)
				snprintf(errbuf, errlen, r == -ENOMEM ? "out of memory"
								       : "invalid server URL '%s' (need http:// or https://)",
					 base_url);
			goto fail;
		}
	}
	for (i = 0; i < RL_PARAM_COUNT; i++) {
		c->params[i] = param_info[i].def;
		v = param_info[i].env != NULL ? getenv(param_info[i].env) : NULL;
		if (v == NULL || v[0] == '\0')
			continue;
		r = parse_seconds(v, param_may_be_zero(i), &c->params[i]);
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
	v = getenv("REMOTE_LAB_CA_FILE");
	if (v != NULL && v[0] != '\0') {
		r = rl_client_set_ca_file(c, v);
		if (r < 0) {
			if (errbuf != NULL)
				snprintf(errbuf, errlen, r == -ENOMEM ? "out of memory" :
					 "REMOTE_LAB_CA_FILE='%s': %s", v, strerror(-r));
			goto fail;
		}
	}
	*ret = c;
	return 0;
fail:
	rl_client_free(c);
	return r;
}

/* Wipe a secret string and free it (NULL is fine). */
static void
str_wipe_free(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

void
rl_client_free(struct rl_client *c)
{
	size_t i;

	if (c == NULL)
		return;
	heartbeat_free(c->hb);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	for (i = 0; i < c->n_urls; i++)
		free(c->urls[i]);
	str_wipe_free(c->token);
	str_wipe_free(c->admin_token);
	free(c->ca_file);
	free(c->session_id);
	free(c->handle);
	free(c->host_name);
	for (i = 0; i < c->req.n; i++) {
		free(c->req.keys[i]);
		free(c->req.values[i]);
	}
	for (i = 0; i < c->n_orphans; i++) {
		free(c->orphans[i].url);
		free(c->orphans[i].id);
	}
	free(c);
}

int
rl_client_set(struct rl_client *c, enum rl_param param, double value)
{
	if (c == NULL || (int)param < 0 || (int)param >= RL_PARAM_COUNT || !isfinite(value) ||
	    value < 0)
		return -EINVAL;
	if (!param_may_be_zero((int)param) && value <= 0)
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
	str_wipe_free(c->token);
	c->token = t;
	return 0;
}

int
rl_client_set_admin_token(struct rl_client *c, const char *token)
{
	char *t = NULL;

	if (c == NULL)
		return -EINVAL;
	if (token != NULL && token[0] != '\0') {
		t = strdup(token);
		if (t == NULL)
			return -ENOMEM;
	}
	str_wipe_free(c->admin_token);
	c->admin_token = t;
	return 0;
}

/* Read a token file (one line, trimmed) into a stack buffer that is wiped afterwards, and
 * set it with set(): no copy of the token is left in freed memory. */
static int
token_file(struct rl_client *c, const char *path, int (*set)(struct rl_client *, const char *))
{
	const char *op = "token file";
	char data[RL_MAX_TOKEN + 2], *a, *b;
	size_t len = 0;
	ssize_t n;
	int fd, r = 0;

	if (c == NULL || path == NULL)
		return -EINVAL;
	client_clear_error(c);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return client_set_error(c, -errno, 0, op, "%s: %s", path, strerror(errno));
	while (len < sizeof(data) - 1) {
		n = read(fd, data + len, sizeof(data) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	if (r < 0) {
		client_set_error(c, r, 0, op, "%s: %s", path, strerror(-r));
		goto out;
	}
	if (len > RL_MAX_TOKEN) {
		r = client_set_error(c, -EFBIG, 0, op, "%s: larger than %d bytes", path, RL_MAX_TOKEN);
		goto out;
	}
	a = data;
	b = data + len;
	while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
		b--;
	*b = '\0';
	if (a == b || memchr(a, '\n', (size_t)(b - a)) != NULL ||
	    memchr(a, '\r', (size_t)(b - a)) != NULL || strlen(a) != (size_t)(b - a)) {
		r = client_set_error(c, -EINVAL, 0, op, "%s: %s", path,
				     a == b ? "empty" : "not a single line of text");
		goto out;
	}
	r = set(c, a);
	if (r < 0)
		client_set_error(c, r, 0, op, "out of memory");
out:
	explicit_bzero(data, sizeof(data));
	return r;
}

int
rl_client_set_token_file(struct rl_client *c, const char *path)
{
	return token_file(c, path, rl_client_set_token);
}

int
rl_client_set_admin_token_file(struct rl_client *c, const char *path)
{
	return token_file(c, path, rl_client_set_admin_token);
}

int
rl_client_set_ca_file(struct rl_client *c, const char *path)
{
	char *p = NULL;

	if (c == NULL)
		return -EINVAL;
	if (path != NULL && path[0] != '\0') {
		if (access(path, R_OK) < 0)
			return -errno;
		p = strdup(path);
		if (p == NULL)
			return -ENOMEM;
	}
	free(c->ca_file);
	c->ca_file = p;
	return 0;
}

int
rl_client_add_url(struct rl_client *c, const char *url)
{
	int r;

	if (c == NULL || url == NULL)
		return -EINVAL;
	if (c->session_id != NULL)
		return -EBUSY;
	r = add_url(c, url, strlen(url));
	return r == -E2BIG ? -EINVAL : r;
}

size_t
rl_client_url_count(const struct rl_client *c)
{
	return c != NULL ? c->n_urls : 0;
}

const char *
rl_client_url_at(const struct rl_client *c, size_t i)
{
	return c != NULL && i < c->n_urls ? c->urls[i] : NULL;
}

int
rl_client_require(struct rl_client *c, const char *key, const char *value)
{
	char *k, *v;

	if (c == NULL || key == NULL || key[0] == '\0' || value == NULL ||
	    c->req.n >= RL_MAX_REQUIRE || strlen(key) > 256 || strlen(value) > 256)
		return -EINVAL;
	k = strdup(key);
	v = strdup(value);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	c->req.keys[c->req.n] = k;
	c->req.values[c->req.n] = v;
	c->req.n++;
	return 0;
}

const char *
rl_client_host_name(const struct rl_client *c)
{
	return c != NULL ? c->host_name : NULL;
}

const char *
rl_client_end_reason(const struct rl_client *c)
{
	return c != NULL && c->end_reason[0] != '\0' ? c->end_reason : NULL;
}

/* Make server i the current one (no session may be held). */
int
client_switch_url(struct rl_client *c, size_t i)
{
	if (i >= c->n_urls)
		return -EINVAL;
	if (c->cur != i && c->easy != NULL) { /* no connection of the old server is reused */
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
	}
	c->cur = i;
	c->url = c->urls[i];
	return 0;
}

/* Drop the session id and handle (no request). */
void
client_forget_session(struct rl_client *c)
{
	free(c->session_id);
	c->session_id = NULL;
	free(c->handle);
	c->handle = NULL;
}

/* Remember the held session as left on a server that stopped answering, then forget it.
 * If the list is full the oldest is dropped (its server reaps it after its timeout). */
void
client_add_orphan(struct rl_client *c)
{
	char *u = strdup(c->url);

	if (u == NULL) { /* cannot remember it: the server reaps it after its timeout */
		client_forget_session(c);
		return;
	}
	if (c->n_orphans == RL_MAX_ORPHANS) {
		free(c->orphans[0].url);
		free(c->orphans[0].id);
		memmove(&c->orphans[0], &c->orphans[1], (RL_MAX_ORPHANS - 1) * sizeof(c->orphans[0]));
		c->n_orphans--;
	}
	c->orphans[c->n_orphans].url = u;
	c->orphans[c->n_orphans].id = c->session_id;
	c->n_orphans++;
	c->session_id = NULL;
	free(c->handle);
	c->handle = NULL;
}

/* Try once to end every orphan (DELETE /session/{id}, short timeout); forget those whose
 * server answered anything but a 5xx. Errors are not reported (best effort). */
void
client_end_orphans(struct rl_client *c, double timeout)
{
	struct xfer_conf conf;
	struct xfer_resp resp;
	char errbuf[256], path[1024], *esc;
	size_t i = 0;
	CURL *easy;
	int r, n;

	if (c->n_orphans == 0 || client_easy(c, &easy) < 0)
		return;
	while (i < c->n_orphans) {
		struct orphan *o = &c->orphans[i];

		esc = xfer_escape(o->id);
		n = esc != NULL ? snprintf(path, sizeof(path), "/session/%s", esc) : -1;
		curl_free(esc);
		r = -EINVAL;
		if (n > 0 && (size_t)n < sizeof(path)) {
			client_conf(c, &conf, false, false);
			conf.url = o->url;
			conf.connect_timeout = timeout;
			xfer_resp_init(&resp);
			r = xfer_once(easy, &conf, "DELETE", path, NULL, timeout, &resp, errbuf,
				      sizeof(errbuf));
			if (r == 0 && resp.status >= 500)
				r = -EREMOTEIO;
			xfer_resp_free(&resp);
		}
		if (r == -ENOMEM || r == -EREMOTEIO || (r < 0 && r != -EINVAL)) {
			i++;
			continue;
		}
		free(o->url);
		free(o->id);
		memmove(o, o + 1, (c->n_orphans - i - 1) * sizeof(*o));
		c->n_orphans--;
	}
}

/* A uniform random number in [0, 1) from the client's own state (no global state). */
double
client_random(void *ud)
{
	struct rl_client *c = ud;

	return (double)rand_r(&c->rnd_state) / ((double)RAND_MAX + 1.0);
}

/* The transfer settings of this client for its current server. */
void
client_conf(struct rl_client *c, struct xfer_conf *conf, bool session, bool admin)
{
	memset(conf, 0, sizeof(*conf));
	conf->url = c->url;
	conf->token = admin && c->admin_token != NULL ? c->admin_token : c->token;
	conf->session_id = session ? c->session_id : NULL;
	conf->ca_file = c->ca_file;
	conf->connect_timeout = c->params[RL_PARAM_CONNECT_TIMEOUT];
	conf->cancel = c->cancel;
	conf->cancel_ud = c->cancel_ud;
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
	c->end_reason[0] = '\0';
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
	char detail[sizeof(c->err.detail) - 200], reason[sizeof(c->end_reason)];
	const char *why;

	reply_error_detail(resp->body.data, resp->body.len, resp->status, detail, sizeof(detail));
	if (resp->status == 401)
		return client_set_error(c, -EACCES, 401, op, "%s (%s)", detail,
					c->token != NULL ? "the server refused the token"
							 : "the server wants a token: set REMOTE_LAB_TOKEN");
	if (resp->status == 404 &&
	    reply_end_reason(resp->body.data, resp->body.len, reason, sizeof(reason)) == 0) {
		snprintf(c->end_reason, sizeof(c->end_reason), "%s", reason);
		why = strcmp(reason, "max_wait") == 0 ? "still waiting at its max_wait"
		      : strcmp(reason, "reaped") == 0 ? "no heartbeat or poll within the server's timeout"
		      : strcmp(reason, "max_hold") == 0 ? "held longer than the server's --max-session-hold"
		      : strcmp(reason, "deleted") == 0 ? "ended by a client"
		      : strcmp(reason, "admin") == 0 ? "ended by an operator"
		      : strcmp(reason, "shutdown") == 0 ? "the server shut down"
		      : "unknown reason";
		return client_set_error(c, -ENOENT, 404, op,
					"%s (session ended by the server: %s: %s)", detail, reason, why);
	}
	return client_set_error(c, reply_status_errno(resp->status), resp->status, op, "%s",
				detail);
}

/* Call and accept only a 200 (a JSON body). */
int
client_get_json(struct rl_client *c, const struct call *call, struct xfer_resp *resp)
{
	int r;

	r = client_call(c, call, resp);
	if (r == 0 && resp->status != 200)
		r = client_http_error(c, call->op, resp);
	return r;
}

/* Report a body that does not parse. */
int
client_body_error(struct rl_client *c, int r, const char *op, long status)
{
	return client_set_error(c, r, status, op, "%s",
				r == -ENOMEM ? "out of memory" : "malformed response body");
}

/* "/session/<escaped id>" into buf. */
int
client_session_path(struct rl_client *c, const char *op, char *buf, size_t len)
{
	char *esc;
	int n;

	if (c->session_id == NULL)
		return client_set_error(c, -ENOENT, 0, op, "no session");
	esc = xfer_escape(c->session_id);
	if (esc == NULL)
		return client_set_error(c, -ENOMEM, 0, op, "out of memory");
	n = snprintf(buf, len, "/session/%s", esc);
	curl_free(esc);
	if (n < 0 || (size_t)n >= len)
		return client_set_error(c, -EINVAL, 0, op, "session id too long");
	return 0;
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
 * idempotent calls are retried, on transport errors and 5xx. A refused or reset
 * connection (a server restarting) is retried for up to RL_PARAM_RESTART_WAIT
 * instead of RL_PARAM_MAX_RETRIES times, under the same rule. Retries back off
 * and no back-off runs past the call's deadline; an attempt's timeout is cut to the
 * deadline, or with CALL_FULL_ATTEMPT to no less than RL_PARAM_REQUEST_TIMEOUT.
 * Returns 0 with any HTTP response in resp (the caller judges the status), or a
 * negative code with the error set.
 */
int
client_call(struct rl_client *c, const struct call *call, struct xfer_resp *resp)
{
	struct xfer_conf conf;
	struct xfer_body body = { call->mime, call->json };
	char errbuf[512];
	unsigned attempt = 0, tries = 0;
	double t, left, pause, outage = 0, ride = c->params[RL_PARAM_RESTART_WAIT];
	bool idem = (call->flags & CALL_IDEMPOTENT) != 0, riding;
	CURL *easy;
	int r;

	client_clear_error(c);
	if ((call->flags & CALL_SESSION) && c->session_id == NULL)
		return client_set_error(c, -ENOENT, 0, call->op, "no session");
	r = client_easy(c, &easy);
	if (r < 0)
		return client_set_error(c, r, 0, call->op, "out of memory");
	client_conf(c, &conf, (call->flags & CALL_SESSION) != 0, (call->flags & CALL_ADMIN) != 0);
	conf.fresh = !idem; /* libcurl must never re-send a non-idempotent request by itself */
	if (call->flags & CALL_NO_RIDE)
		ride = 0;

	for (;;) {
		t = call->timeout > 0 ? call->timeout : c->params[RL_PARAM_REQUEST_TIMEOUT];
		if (call->deadline > 0) {
			left = call->deadline - clock_now();
			/* the decision to send was taken before the deadline: the answer gets
			 * its time, however late the back-off woke up */
			if ((call->flags & CALL_FULL_ATTEMPT) &&
			    left < c->params[RL_PARAM_REQUEST_TIMEOUT])
				left = c->params[RL_PARAM_REQUEST_TIMEOUT];
			if (left <= 0)
				return client_set_error(c, -ETIMEDOUT, 0, call->op,
							"deadline passed");
			if (left < t)
				t = left;
		}
		r = xfer_once(easy, &conf, call->method, call->path, &body, t, resp, errbuf,
			      sizeof(errbuf));
		if (r == 0 && !(resp->status >= 500 && idem))
			return 0;
		if (r == -ECANCELED || r == -ENOMEM || r == -EMSGSIZE || r == -EINVAL ||
		    r == -EKEYREJECTED)
			break;
		if (r < 0 && resp->sent && !idem)
			break;
		riding = r < 0 && xfer_is_outage(r) && ride > 0;
		if (riding) {
			if (outage == 0)
				outage = clock_now();
			left = outage + ride - clock_now();
			if (left <= 0) {
				size_t n = strlen(errbuf);

				snprintf(errbuf + n, sizeof(errbuf) - n,
					 " (server unreachable for %.0f s, gave up)", ride);
				break;
			}
			pause = clock_backoff(c->params[RL_PARAM_RETRY_INITIAL],
					      c->params[RL_PARAM_RETRY_MAX], attempt);
			if (pause > left)
				pause = left;
		} else {
			if (tries >= (unsigned)c->params[RL_PARAM_MAX_RETRIES])
				break;
			tries++;
			pause = clock_backoff(c->params[RL_PARAM_RETRY_INITIAL],
					      c->params[RL_PARAM_RETRY_MAX], attempt);
		}
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

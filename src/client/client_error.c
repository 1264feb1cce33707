/* Errors: the client's error slot (set, cleared, from an HTTP status and the server's detail)
 * and the text of the library's codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *rl_strerror(int code)
{
	switch (code < 0 ? -code : code) {
	case 0:
		return "success";
	case ENOENT:
		return "not found (session or lab)";
	case EAGAIN:
		return "locked: session not active or lab busy";
	case EBUSY:
		return "lab still in use";
	case EINVAL:
		return "invalid request or argument";
	case EACCES:
		return "access denied";
	case EFBIG:
		return "upload too large";
	case EREMOTEIO:
		return "server error";
	case EPROTO:
		return "unexpected HTTP status";
	case EBADMSG:
		return "malformed response";
	case EMSGSIZE:
		return "response too large";
	case ECONNREFUSED:
		return "connection refused";
	case EHOSTUNREACH:
		return "host not found or unreachable";
	case ETIMEDOUT:
		return "timed out";
	case EIO:
		return "transport error";
	case ECANCELED:
		return "cancelled";
	case ENOMEM:
		return "out of memory";
	case EEXIST:
		return "client already holds a session";
	case EALREADY:
		return "already running";
	case ENOLCK:
		return "try-lock refused: no lab slot is free";
	case ECONNRESET:
		return "connection closed or reset by the server";
	case EKEYREJECTED:
		return "server certificate not trusted (TLS verification failed)";
	case ENODEV:
		return "no server of the pool matches or answers";
	default:
		return strerror(code < 0 ? -code : code);
	}
}

const struct rl_error *rl_client_error(const struct rl_client *c)
{
	return &c->err;
}

const char *rl_client_errmsg(const struct rl_client *c)
{
	return c->errmsg;
}

/* Mark the last call as successful. */
void client_clear_error(struct rl_client *c)
{
	memset(&c->err, 0, sizeof(c->err));
	c->errmsg[0] = '\0';
	c->end_reason[0] = '\0';
}

/* Record a failure and return code (for `return client_set_error(...)`). */
int client_set_error(struct rl_client *c, int code, long http_status, const char *op,
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
int client_http_error(struct rl_client *c, const char *op, const struct xfer_resp *resp)
{
	char detail[sizeof(c->err.detail) - 200], reason[sizeof(c->end_reason)];
	const char *why;

	reply_error_detail(resp->body.data, resp->body.len, resp->status, detail, sizeof(detail));
	if (resp->status == 401)
		return client_set_error(c, -EACCES, 401, op, "%s (%s)", detail,
					c->token != NULL
						? "the server refused the token"
						: "the server wants a token: set REMOTE_LAB_TOKEN");
	if (resp->status == 404 &&
	    reply_end_reason(resp->body.data, resp->body.len, reason, sizeof(reason)) == 0) {
		snprintf(c->end_reason, sizeof(c->end_reason), "%s", reason);
		why = strcmp(reason, "max_wait") == 0 ? "still waiting at its max_wait"
		      : strcmp(reason, "reaped") == 0
			      ? "no heartbeat or poll within the server's timeout"
		      : strcmp(reason, "max_hold") == 0
			      ? "held longer than the server's --max-session-hold"
		      : strcmp(reason, "deleted") == 0  ? "ended by a client"
		      : strcmp(reason, "admin") == 0    ? "ended by an operator"
		      : strcmp(reason, "shutdown") == 0 ? "the server shut down"
							: "unknown reason";
		return client_set_error(c, -ENOENT, 404, op,
					"%s (session ended by the server: %s: %s)", detail, reason,
					why);
	}
	return client_set_error(c, reply_status_errno(resp->status), resp->status, op, "%s",
				detail);
}

/* Report a body that does not parse. */
int client_body_error(struct rl_client *c, int r, const char *op, long status)
{
	return client_set_error(c, r, status, op, "%s",
				r == -ENOMEM ? "out of memory" : "malformed response body");
}

/* Session operations: create, attach, status, wait until active, heartbeat, end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A call whose answer carries nothing: any 2xx other than 200/204 is an error. */
static int
call_no_content(struct rl_client *c, const struct call *call)
{
	struct xfer_resp resp;
	int r;

	xfer_resp_init(&resp);
	r = client_call(c, call, &resp);
	if (r == 0 && resp.status != 204 && resp.status != 200)
		r = client_http_error(c, call->op, &resp);
	xfer_resp_free(&resp);
	return r;
}

int
rl_server_health(struct rl_client *c)
{
	struct call call = { "GET", "/healthz", "GET /healthz", CALL_IDEMPOTENT, NULL, 0, 0 };

	return call_no_content(c, &call);
}

int
rl_session_create(struct rl_client *c, int *ret_position)
{
	struct call call = { "POST", "/session", "POST /session", 0, NULL, 0, 0 };
	struct xfer_resp resp;
	char *id = NULL;
	int r, pos = 0;

	client_clear_error(c);
	if (c->session_id != NULL)
		return client_set_error(c, -EEXIST, 0, call.op, "client already holds session %s",
					c->session_id);
	xfer_resp_init(&resp);
	r = client_call(c, &call, &resp);
	if (r < 0)
		goto out;
	if (resp.status != 201 && resp.status != 200) {
		r = client_http_error(c, call.op, &resp);
		goto out;
	}
	r = reply_session_created(resp.body.data, resp.body.len, &id, &pos);
	if (r < 0) {
		client_set_error(c, r, resp.status, call.op, "%s",
				 r == -ENOMEM ? "out of memory" : "malformed response body");
		goto out;
	}
	c->session_id = id;
	if (ret_position != NULL)
		*ret_position = pos;
out:
	xfer_resp_free(&resp);
	return r;
}

int
rl_session_attach(struct rl_client *c, const char *session_id)
{
	char *id;

	client_clear_error(c);
	if (session_id == NULL || session_id[0] == '\0' || strpbrk(session_id, "\r\n") != NULL)
		return client_set_error(c, -EINVAL, 0, "attach", "invalid session id");
	if (c->session_id != NULL)
		return client_set_error(c, -EEXIST, 0, "attach", "client already holds session %s",
					c->session_id);
	id = strdup(session_id);
	if (id == NULL)
		return client_set_error(c, -ENOMEM, 0, "attach", "out of memory");
	c->session_id = id;
	return 0;
}

void
rl_session_detach(struct rl_client *c)
{
	heartbeat_free(c->hb);
	c->hb = NULL;
	free(c->session_id);
	c->session_id = NULL;
}

const char *
rl_session_id(const struct rl_client *c)
{
	return c->session_id;
}

/* "/session/<escaped id>" into buf. */
static int
session_path(struct rl_client *c, const char *op, char *buf, size_t len)
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

/* One status poll with an optional deadline. */
static int
status_once(struct rl_client *c, double deadline, enum rl_session_state *ret_state,
	    int *ret_position)
{
	struct call call = { "GET", NULL, "GET /session", CALL_IDEMPOTENT, NULL, 0, deadline };
	struct xfer_resp resp;
	char path[1024];
	int r;

	client_clear_error(c);
	r = session_path(c, call.op, path, sizeof(path));
	if (r < 0)
		return r;
	call.path = path;
	xfer_resp_init(&resp);
	r = client_call(c, &call, &resp);
	if (r < 0)
		goto out;
	if (resp.status != 200) {
		r = client_http_error(c, call.op, &resp);
		goto out;
	}
	r = reply_session_status(resp.body.data, resp.body.len, ret_state, ret_position);
	if (r < 0)
		client_set_error(c, r, resp.status, call.op, "%s",
				 r == -ENOMEM ? "out of memory" : "malformed response body");
out:
	xfer_resp_free(&resp);
	return r;
}

int
rl_session_status(struct rl_client *c, enum rl_session_state *ret_state, int *ret_position)
{
	return status_once(c, 0, ret_state, ret_position);
}

int
rl_session_wait_active(struct rl_client *c, double poll_interval, double deadline,
		       rl_progress_fn progress, void *userdata)
{
	struct rl_progress p;
	double start = clock_now(), end, pause;
	unsigned failures = 0;
	int r, pos;
	enum rl_session_state st;

	if (poll_interval <= 0)
		poll_interval = c->params[RL_PARAM_POLL_INTERVAL];
	if (deadline <= 0)
		deadline = c->params[RL_PARAM_SESSION_TIMEOUT];
	end = start + deadline;
	for (;;) {
		r = status_once(c, end, &st, &pos);
		if (r == 0) {
			failures = 0;
			p.state = st;
			p.position = pos;
			p.elapsed = clock_now() - start;
			if (progress != NULL && progress(&p, userdata) != 0)
				return client_set_error(c, -ECANCELED, 0, "wait", "cancelled");
			if (st == RL_SESSION_ACTIVE) {
				client_clear_error(c);
				return 0;
			}
			pause = poll_interval;
		} else if (r == -EREMOTEIO || r == -ECONNREFUSED || r == -EHOSTUNREACH ||
			   r == -EIO || r == -ETIMEDOUT) {
			/* transient: client_call already retried; keep trying within the deadline */
			pause = clock_backoff(c->params[RL_PARAM_RETRY_INITIAL],
					      c->params[RL_PARAM_RETRY_MAX], failures++);
			if (clock_now() + pause < end)
				client_notify_retry(c, pause);
		} else {
			return r; /* 404 (session reaped), 4xx, cancel, OOM, bad body: stop now */
		}
		if (clock_now() + pause >= end) {
			if (clock_sleep(end - clock_now() > 0 ? end - clock_now() : 0, c->cancel,
					c->cancel_ud) < 0)
				return client_set_error(c, -ECANCELED, 0, "wait", "cancelled");
			return client_set_error(c, -ETIMEDOUT, 0, "wait",
						"session %s not active after %.0f s%s%s",
						c->session_id, clock_now() - start,
						r < 0 ? "; last error: " : "",
						r < 0 ? rl_strerror(r) : "");
		}
		if (clock_sleep(pause, c->cancel, c->cancel_ud) < 0)
			return client_set_error(c, -ECANCELED, 0, "wait", "cancelled");
	}
}

int
rl_session_heartbeat(struct rl_client *c)
{
	struct call call = { "POST", "/session/heartbeat", "POST /session/heartbeat",
			     CALL_IDEMPOTENT | CALL_SESSION, NULL, 0, 0 };

	return call_no_content(c, &call);
}

int
rl_session_end(struct rl_client *c)
{
	struct call call = { "DELETE", NULL, "DELETE /session", CALL_IDEMPOTENT, NULL, 0, 0 };
	struct xfer_resp resp;
	char path[1024];
	int r;

	client_clear_error(c);
	heartbeat_free(c->hb);
	c->hb = NULL;
	r = session_path(c, call.op, path, sizeof(path));
	if (r < 0)
		return r;
	call.path = path;
	xfer_resp_init(&resp);
	r = client_call(c, &call, &resp);
	if (r < 0)
		goto out; /* transport error: keep the id so the caller may retry */
	if (resp.status >= 500) {
		r = client_http_error(c, call.op, &resp);
		goto out;
	}
	if (resp.status != 204 && resp.status != 200)
		r = client_http_error(c, call.op, &resp);
	free(c->session_id);
	c->session_id = NULL;
out:
	xfer_resp_free(&resp);
	return r;
}

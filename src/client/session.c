/* Session operations: create, attach, status, wait until active, heartbeat, end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A call whose answer carries nothing: any 2xx other than 200/204 is an error. */
static int call_no_content(struct rl_client *c, const struct call *call)
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

int rl_server_health(struct rl_client *c)
{
	/* no restart ride-out: a health check tells how the server is now */
	struct call call = {
		"GET", "/healthz", "GET /healthz", CALL_IDEMPOTENT | CALL_NO_RIDE, NULL, NULL, 0, 0
	};

	return call_no_content(c, &call);
}

/* POST /session with an optional JSON body (NULL: none, the original's request). */
int session_create(struct rl_client *c, const char *json, unsigned flags, int *ret_position)
{
	struct call call = { "POST", "/session", "POST /session", flags, NULL, json, 0, 0 };
	struct xfer_resp resp;
	char *id = NULL, *handle = NULL;
	int r, pos = 0;

	client_clear_error(c);
	if (c->session_id != NULL)
		return client_set_error(c, -EEXIST, 0, call.op, "client already holds session %s",
					c->session_id);
	xfer_resp_init(&resp);
	r = client_call(c, &call, &resp);
	if (r < 0)
		goto out;
	if (resp.status == 409 && json != NULL) { /* try-lock refused: nothing was created */
		char detail[sizeof(c->err.detail)];

		client_http_error(c, call.op, &resp);
		snprintf(detail, sizeof(detail), "%s", c->err.detail);
		r = client_set_error(c, -ENOLCK, 409, call.op, "%s", detail);
		goto out;
	}
	if (resp.status != 201 && resp.status != 200) {
		r = client_http_error(c, call.op, &resp);
		goto out;
	}
	r = reply_session_created(resp.body.data, resp.body.len, &id, &pos);
	if (r == 0 && json != NULL)
		r = reply_session_handle(resp.body.data, resp.body.len, &handle);
	if (r < 0) {
		free(id);
		client_body_error(c, r, call.op, resp.status);
		goto out;
	}
	c->session_id = id;
	c->handle = handle;
	if (ret_position != NULL)
		*ret_position = pos;
out:
	xfer_resp_free(&resp);
	return r;
}

int rl_session_create(struct rl_client *c, int *ret_position)
{
	return session_create(c, NULL, 0, ret_position);
}

int rl_session_create_opts(struct rl_client *c, const struct rl_session_opts *opts,
			   int *ret_position)
{
	char *json = NULL;
	int r;

	client_clear_error(c);
	r = reply_session_body(opts, &json);
	if (r < 0)
		return client_set_error(
			c, r, 0, "POST /session", "%s",
			r == -ENOMEM
				? "out of memory"
				: "invalid session options (priority -1000..1000, label <= 128 "
				  "bytes of UTF-8, max_wait > 0)");
	r = session_create(c, json, 0, ret_position);
	free(json);
	return r;
}

const char *rl_session_handle(const struct rl_client *c)
{
	return c != NULL ? c->handle : NULL;
}

int rl_session_attach(struct rl_client *c, const char *session_id)
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

void rl_session_detach(struct rl_client *c)
{
	heartbeat_free(c->hb);
	c->hb = NULL;
	client_forget_session(c);
}

const char *rl_session_id(const struct rl_client *c)
{
	return c->session_id;
}

/* One status poll with an optional deadline. */
static int status_once(struct rl_client *c, double deadline, bool pool,
		       enum rl_session_state *ret_state, int *ret_position)
{
	struct call call = {
		"GET", NULL, "GET /session", CALL_IDEMPOTENT | (pool ? CALL_NO_RIDE : 0), NULL,
		NULL,  0,    deadline
	};
	struct xfer_resp resp;
	char path[1024];
	int r;

	client_clear_error(c);
	r = client_session_path(c, call.op, path, sizeof(path));
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

int rl_session_status(struct rl_client *c, enum rl_session_state *ret_state, int *ret_position)
{
	return status_once(c, 0, false, ret_state, ret_position);
}

/*
 * The wait loop. end is absolute. With pool, a refused or reset connection is returned
 * at once (the pool moves on; the caller decides), and one poll is made per call when
 * poll_interval < 0 (the pool's watch loop polls its other servers in between).
 */
int session_wait(struct rl_client *c, double poll_interval, double end, double start,
		 rl_progress_fn progress, void *userdata, bool pool)
{
	struct rl_progress p;
	double pause;
	unsigned failures = 0;
	int r, pos;
	enum rl_session_state st;

	for (;;) {
		r = status_once(c, end, pool, &st, &pos);
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
			if (poll_interval < 0)
				return -EAGAIN; /* pool: still waiting */
			pause = poll_interval;
		} else if (r == -ENOENT && c->end_reason[0] != '\0' &&
			   strcmp(c->end_reason, "max_wait") == 0) {
			char detail[sizeof(c->err.detail)];

			snprintf(detail, sizeof(detail), "%s", c->err.detail);
			return client_set_error(c, -ETIMEDOUT, 404, "wait", "%.900s", detail);
		} else if (pool && xfer_is_outage(r)) {
			return r;
		} else if (r == -EREMOTEIO || r == -ECONNREFUSED || r == -EHOSTUNREACH ||
			   r == -EIO || r == -ETIMEDOUT || r == -ECONNRESET) {
			/* transient: client_call already retried (and rode out a restart for up to
			 * RL_PARAM_RESTART_WAIT): keep trying within the deadline, except a server
			 * that still refuses or resets connections after the ride-out */
			if (xfer_is_outage(r))
				return r;
			if (poll_interval < 0)
				return r;
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
			return client_set_error(
				c, -ETIMEDOUT, 0, "wait", "session %s not active after %.0f s%s%s",
				c->handle != NULL ? c->handle : c->session_id, clock_now() - start,
				r < 0 ? "; last error: " : "", r < 0 ? rl_strerror(r) : "");
		}
		if (clock_sleep(pause, c->cancel, c->cancel_ud) < 0)
			return client_set_error(c, -ECANCELED, 0, "wait", "cancelled");
	}
}

int rl_session_wait_active(struct rl_client *c, double poll_interval, double deadline,
			   rl_progress_fn progress, void *userdata)
{
	double start = clock_now();

	if (poll_interval <= 0)
		poll_interval = c->params[RL_PARAM_POLL_INTERVAL];
	if (deadline <= 0)
		deadline = c->params[RL_PARAM_SESSION_TIMEOUT];
	return session_wait(c, poll_interval, start + deadline, start, progress, userdata, false);
}

int rl_session_heartbeat(struct rl_client *c)
{
	struct call call = { "POST",
			     "/session/heartbeat",
			     "POST /session/heartbeat",
			     CALL_IDEMPOTENT | CALL_SESSION,
			     NULL,
			     NULL,
			     0,
			     0 };

	return call_no_content(c, &call);
}

int rl_session_end(struct rl_client *c)
{
	return session_end(c, 0);
}

/* DELETE /session/{id}; flags adds call flags (the pool's CALL_NO_RIDE). */
int session_end(struct rl_client *c, unsigned flags)
{
	struct call call = { "DELETE", NULL, "DELETE /session", CALL_IDEMPOTENT | flags, NULL, NULL,
			     0,        0 };
	struct xfer_resp resp;
	char path[1024];
	int r;

	client_clear_error(c);
	heartbeat_free(c->hb);
	c->hb = NULL;
	r = client_session_path(c, call.op, path, sizeof(path));
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
	client_forget_session(c);
out:
	if (c->n_orphans > 0) { /* sessions left on pool servers that stopped answering */
		struct rl_error keep = c->err;

		client_end_orphans(c, 2);
		c->err = keep;
	}
	xfer_resp_free(&resp);
	return r;
}

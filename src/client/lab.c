/* Lab operations of an active session: acquire (with 423 retry), release, destroy, devices, status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "form.h"

int rl_lab_acquire(struct rl_client *c, const struct rl_lab_request *req, struct rl_devices **ret)
{
	struct call call = { "POST", "/lab", "POST /lab", CALL_SESSION | CALL_FULL_ATTEMPT,
			     NULL,   NULL,   0,           0 };
	struct xfer_resp resp;
	struct rl_devices *d = NULL;
	double start = clock_now(), pause;
	unsigned busy = 0;
	CURL *easy;
	int r;

	client_clear_error(c);
	if (req == NULL || ret == NULL)
		return client_set_error(c, -EINVAL, 0, call.op, "no lab request");
	r = client_easy(c, &easy);
	if (r < 0)
		return client_set_error(c, r, 0, call.op, "out of memory");
	/*
	 * The deadline ends the retrying, not an attempt: a 423 is retried only while the
	 * back-off ends before it, and every POST /lab sent has until the deadline but at
	 * least RL_PARAM_REQUEST_TIMEOUT to be answered. So a lab busy until the deadline is
	 * always -EAGAIN (never a timeout of a retry cut to the milliseconds left, which
	 * could also start a lab on the server for an answer nobody waits for), and the call
	 * returns at most RL_PARAM_REQUEST_TIMEOUT after the deadline.
	 */
	call.deadline = start + c->params[RL_PARAM_ACQUIRE_TIMEOUT];
	call.timeout = c->params[RL_PARAM_ACQUIRE_TIMEOUT];
	if (call.timeout < c->params[RL_PARAM_REQUEST_TIMEOUT])
		call.timeout = c->params[RL_PARAM_REQUEST_TIMEOUT];
	xfer_resp_init(&resp);
	for (;;) {
		/* a fresh form each attempt: every 423 retry sends the full files again */
		r = form_build(easy, req, &call.mime);
		if (r < 0) {
			client_set_error(c, r, 0, call.op, "out of memory");
			break;
		}
		r = client_call(c, &call, &resp);
		curl_mime_free(call.mime);
		call.mime = NULL;
		if (r < 0)
			break;
		if (resp.status == 200) {
			r = reply_acquire(resp.body.data, resp.body.len, &d);
			if (r < 0)
				client_body_error(c, r, call.op, resp.status);
			break;
		}
		r = client_http_error(c, call.op, &resp);
		if (resp.status != 423)
			break;
		pause = clock_backoff(c->params[RL_PARAM_RETRY_INITIAL],
				      c->params[RL_PARAM_RETRY_MAX], busy++);
		if (clock_now() + pause >= call.deadline) {
			char detail[sizeof(c->err.detail)];

			snprintf(detail, sizeof(detail), "%s", c->err.detail);
			client_set_error(c, -EAGAIN, 423, call.op,
					 "%.900s (gave up after %.0f s, %u attempts)", detail,
					 clock_now() - start, busy);
			break;
		}
		client_notify_retry(c, pause);
		if (clock_sleep(pause, c->cancel, c->cancel_ud) < 0) {
			r = client_set_error(c, -ECANCELED, 0, call.op, "cancelled");
			break;
		}
	}
	xfer_resp_free(&resp);
	if (r == 0) {
		client_clear_error(c);
		*ret = d;
	}
	return r;
}

/* A call without a body whose success statuses are ok1/ok2. */
static int simple_call(struct rl_client *c, const struct call *call, long ok1, long ok2)
{
	struct xfer_resp resp;
	int r;

	xfer_resp_init(&resp);
	r = client_call(c, call, &resp);
	if (r == 0 && resp.status != ok1 && resp.status != ok2)
		r = client_http_error(c, call->op, &resp);
	xfer_resp_free(&resp);
	return r;
}

int rl_lab_release(struct rl_client *c)
{
	struct call call = {
		"POST", "/lab/release", "POST /lab/release", CALL_SESSION, NULL, NULL, 0, 0
	};

	return simple_call(c, &call, 204, 200);
}

int rl_lab_destroy(struct rl_client *c, bool force)
{
	struct call call = { "DELETE",
			     force ? "/lab?force=true" : "/lab?force=false",
			     "DELETE /lab",
			     CALL_SESSION | CALL_IDEMPOTENT,
			     NULL,
			     NULL,
			     0,
			     0 };

	call.timeout = c->params[RL_PARAM_ACQUIRE_TIMEOUT]; /* answers after the teardown */
	return simple_call(c, &call, 202, 204);
}

int rl_lab_devices(struct rl_client *c, struct rl_devices **ret)
{
	struct call call = { "GET",
			     "/lab/devices",
			     "GET /lab/devices",
			     CALL_SESSION | CALL_IDEMPOTENT,
			     NULL,
			     NULL,
			     0,
			     0 };
	struct xfer_resp resp;
	struct rl_devices *d;
	int r;

	xfer_resp_init(&resp);
	r = client_get_json(c, &call, &resp);
	if (r == 0) {
		r = reply_devices(resp.body.data, resp.body.len, &d);
		if (r < 0)
			client_body_error(c, r, call.op, resp.status);
		else
			*ret = d;
	}
	xfer_resp_free(&resp);
	return r;
}

int rl_lab_status(struct rl_client *c, struct rl_lab_status **ret)
{
	struct call call = { "GET", "/lab", "GET /lab", CALL_SESSION | CALL_IDEMPOTENT,
			     NULL,  NULL,   0,          0 };
	struct xfer_resp resp;
	struct rl_lab_status *s;
	int r;

	xfer_resp_init(&resp);
	r = client_get_json(c, &call, &resp);
	if (r == 0) {
		r = reply_lab_status(resp.body.data, resp.body.len, &s);
		if (r < 0)
			client_body_error(c, r, call.op, resp.status);
		else
			*ret = s;
	}
	xfer_resp_free(&resp);
	return r;
}

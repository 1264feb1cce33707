/* One call of the client: its transfer settings, its path, and client_call() -- the retry
 * policy lives only here. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The transfer settings of this client for its current server. */
void client_conf(struct rl_client *c, struct xfer_conf *conf, bool session, bool admin)
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

/* Tell the application about a coming back-off pause (the error is in c->err). */
void client_notify_retry(struct rl_client *c, double delay)
{
	if (c->retry != NULL)
		c->retry(&c->err, delay, c->retry_ud);
}

/* Call and accept only a 200 (a JSON body). */
int client_get_json(struct rl_client *c, const struct call *call, struct xfer_resp *resp)
{
	int r;

	r = client_call(c, call, resp);
	if (r == 0 && resp->status != 200)
		r = client_http_error(c, call->op, resp);
	return r;
}

/* "/session/<escaped id>" into buf. */
int client_session_path(struct rl_client *c, const char *op, char *buf, size_t len)
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
int client_easy(struct rl_client *c, CURL **ret)
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
int client_call(struct rl_client *c, const struct call *call, struct xfer_resp *resp)
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

/* labctl session new|status|end|heartbeat and server health. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "labctl.h"

/* The session id: the positional argument overrides --session / $REMOTE_LAB_SESSION. */
static struct opts with_positional_session(const struct opts *o)
{
	struct opts x = *o;

	if (o->argc > 0)
		x.session = o->argv[0];
	return x;
}

int cmd_session_new(const struct opts *o)
{
	struct rl_session_opts so;
	struct rl_client *c;
	int r, pos, ex = 0;
	bool quiet = o->quiet || o->json, has = labctl_session_opts(o, &so);

	r = labctl_pool_client(o, &c);
	if (r != 0)
		return r;
	if (rl_client_url_count(c) > 1) { /* a pool: the choice is made while waiting */
		child_install_signals();
		rl_client_set_cancel(c, child_cancel_hook, NULL);
		r = rl_session_obtain(c, has ? &so : NULL, false, 0, output_progress, &quiet);
		output_progress_done();
		if (r < 0) {
			ex = labctl_fail(c, r, "session new");
			goto out;
		}
		if (!quiet)
			fprintf(stderr, "%s: host %s (%s); export REMOTE_LAB_URL=%s\n", labctl_prog,
				rl_client_host_name(c) ? rl_client_host_name(c) : "?",
				rl_client_url(c), rl_client_url(c));
		if (o->json)
			output_json_pack("{s:s, s:i, s:s, s:s, s:s?, s:s?}", "session_id",
					 rl_session_id(c), "position", 0, "status", "active", "url",
					 rl_client_url(c), "handle", rl_session_handle(c), "host",
					 rl_client_host_name(c));
		else
			printf("%s\n", rl_session_id(c));
		goto out;
	}
	r = has ? rl_session_create_opts(c, &so, &pos) : rl_session_create(c, &pos);
	if (r < 0) {
		ex = labctl_fail(c, r, "session new");
		goto out;
	}
	if (o->wait) {
		child_install_signals();
		rl_client_set_cancel(c, child_cancel_hook, NULL);
		if (!quiet)
			fprintf(stderr, "%s: session %s created at queue position %d\n",
				labctl_prog, rl_session_id(c), pos);
		r = rl_session_wait_active(c, 0, 0, output_progress, &quiet);
		output_progress_done();
		if (r < 0) {
			ex = labctl_fail(c, r, "session new --wait");
			rl_client_set_cancel(c, NULL, NULL);
			if (rl_session_end(c) == 0 && !quiet)
				fprintf(stderr, "%s: session ended\n", labctl_prog);
			goto out;
		}
		pos = 0;
	}
	if (o->json && rl_session_handle(c) != NULL)
		output_json_pack("{s:s, s:i, s:s, s:s}", "session_id", rl_session_id(c), "position",
				 pos, "status", pos == 0 ? "active" : "waiting", "handle",
				 rl_session_handle(c));
	else if (o->json)
		output_json_pack("{s:s, s:i, s:s}", "session_id", rl_session_id(c), "position", pos,
				 "status", pos == 0 ? "active" : "waiting");
	else
		printf("%s\n", rl_session_id(c));
out:
	rl_client_free(c);
	return ex;
}

int cmd_session_status(const struct opts *o)
{
	struct opts x = with_positional_session(o);
	enum rl_session_state st;
	struct rl_client *c;
	int r, pos, ex = 0;

	r = labctl_client(&x, true, &c);
	if (r != 0)
		return r;
	r = rl_session_status(c, &st, &pos);
	if (r < 0) {
		ex = labctl_fail(c, r, "session status");
	} else if (o->json) {
		output_json_pack("{s:s, s:s, s:i}", "session_id", x.session, "status",
				 st == RL_SESSION_ACTIVE ? "active" : "waiting", "position", pos);
	} else if (st == RL_SESSION_ACTIVE) {
		printf("session %s: active\n", x.session);
	} else {
		printf("session %s: waiting, queue position %d\n", x.session, pos);
	}
	rl_client_free(c);
	return ex;
}

int cmd_session_end(const struct opts *o)
{
	struct opts x = with_positional_session(o);
	struct rl_client *c;
	int r, ex = 0;

	r = labctl_client(&x, true, &c);
	if (r != 0)
		return r;
	r = rl_session_end(c);
	if (r < 0)
		ex = labctl_fail(c, r, "session end");
	else if (o->json)
		output_json_pack("{s:s, s:b}", "session_id", x.session, "ended", 1);
	else if (!o->quiet)
		printf("session %s ended\n", x.session);
	rl_client_free(c);
	return ex;
}

int cmd_session_heartbeat(const struct opts *o)
{
	struct opts x = with_positional_session(o);
	struct rl_client *c;
	unsigned long n = 0;
	int r, ex = 0;

	r = labctl_client(&x, true, &c);
	if (r != 0)
		return r;
	if (o->every > 0) {
		child_install_signals();
		rl_client_set_cancel(c, child_cancel_hook, NULL);
	}
	for (;;) {
		r = rl_session_heartbeat(c);
		if (r == -ECANCELED && child_signal)
			break;
		if (r < 0 && (o->every <= 0 || rl_client_error(c)->http_status / 100 == 4)) {
			ex = labctl_fail(c, r, "session heartbeat"); /* gone or refused: stop */
			break;
		}
		if (r < 0) /* transient (already retried): keep the loop alive */
			labctl_err("warning: session heartbeat: %s", rl_client_errmsg(c));
		else
			n++;
		if (o->every <= 0)
			break;
		/* a signal interrupts the sleep (no SA_RESTART) and ends the loop */
		{
			struct timespec ts = { (time_t)o->every,
					       (long)((o->every - (double)(time_t)o->every) *
						      1e9) };

			while (!child_signal && nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		if (child_signal)
			break;
	}
	if (ex == 0) {
		if (o->json)
			output_json_pack("{s:s, s:I}", "session_id", x.session, "heartbeats",
					 (json_int_t)n);
		else if (!o->quiet && o->every <= 0)
			printf("session %s: heartbeat sent\n", x.session);
	}
	rl_client_free(c);
	return ex;
}

int cmd_server_health(const struct opts *o)
{
	struct rl_client *c;
	int r, ex = 0;

	r = labctl_client(o, false, &c);
	if (r != 0)
		return r;
	r = rl_server_health(c);
	if (o->json)
		output_json_pack("{s:s, s:b, s:s?}", "url", rl_client_url(c), "healthy", r == 0,
				 "error", r == 0 ? NULL : rl_client_errmsg(c));
	if (r < 0) {
		if (o->json)
			ex = labctl_exit_for(r);
		else
			ex = labctl_fail(c, r, "server health");
	} else if (!o->json) {
		printf("%s: healthy\n", rl_client_url(c));
	}
	rl_client_free(c);
	return ex;
}

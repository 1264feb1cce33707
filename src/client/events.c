/* GET /events: the server's live event stream, parsed and handed to a callback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct watch {
	struct sse sse;
	rl_event_fn fn;
	void *ud;
	int stop; /* fn's non-zero value, or a parser error */
	bool got; /* bytes arrived on this connection */
};

/* Stream sink: feed the parser; returning short stops the transfer. */
static size_t on_stream(const char *p, size_t n, void *ud)
{
	struct watch *w = ud;
	int r;

	w->got = true;
	r = sse_feed(&w->sse, p, n, w->fn, w->ud);
	if (r != 0) {
		w->stop = r;
		return 0;
	}
	return n;
}

int rl_events_watch(struct rl_client *c, rl_event_fn fn, void *userdata)
{
	const char *op = "GET /events";
	struct xfer_conf conf;
	struct xfer_resp resp;
	struct watch w;
	char errbuf[512];
	double outage = 0, pause, ride = c->params[RL_PARAM_RESTART_WAIT];
	unsigned attempt = 0;
	CURL *easy;
	int r;

	client_clear_error(c);
	if (fn == NULL)
		return client_set_error(c, -EINVAL, 0, op, "no callback");
	r = client_easy(c, &easy);
	if (r < 0)
		return client_set_error(c, r, 0, op, "out of memory");
	client_conf(c, &conf, false, false);
	conf.stream = on_stream;
	conf.stream_ud = &w;
	conf.accept = "text/event-stream";
	xfer_resp_init(&resp);
	for (;;) {
		memset(&w, 0, sizeof(w));
		sse_init(&w.sse);
		w.fn = fn;
		w.ud = userdata;
		r = xfer_once(easy, &conf, "GET", "/events", NULL, 0, &resp, errbuf,
			      sizeof(errbuf));
		sse_free(&w.sse);
		if (w.stop > 0 || (w.stop < 0 && w.stop != -ENOMEM)) {
			r = 0; /* the callback said stop */
			break;
		}
		if (w.stop == -ENOMEM) {
			r = client_set_error(c, -ENOMEM, 0, op, "out of memory");
			break;
		}
		if (r == 0 && resp.status != 200) {
			r = client_http_error(c, op, &resp);
			break;
		}
		if (r == -ECANCELED || r == -ENOMEM || r == -EINVAL || r == -EKEYREJECTED ||
		    r == -EMSGSIZE) {
			r = client_set_error(c, r, 0, op, "%s", errbuf);
			break;
		}
		/* the stream ended, or the connection was refused, reset or went silent: a
		 * restarting server; reconnect with back-off within the ride-out window */
		if (w.got || r == 0) {
			outage = 0;
			attempt = 0;
		}
		if (outage == 0)
			outage = clock_now();
		if (clock_now() - outage >= ride) {
			r = r < 0 ? client_set_error(c, r, 0, op, "%s (gave up after %.0f s)",
						     errbuf, ride)
				  : client_set_error(c, -ECONNRESET, 0, op,
						     "the server closed the event stream");
			break;
		}
		pause = clock_backoff(c->params[RL_PARAM_RETRY_INITIAL],
				      c->params[RL_PARAM_RETRY_MAX], attempt++);
		if (c->retry != NULL) {
			if (r < 0)
				client_set_error(c, r, 0, op, "%s", errbuf);
			else
				client_set_error(c, -ECONNRESET, 0, op,
						 "the server closed the stream");
			client_notify_retry(c, pause);
			client_clear_error(c);
		}
		if (clock_sleep(pause, c->cancel, c->cancel_ud) < 0) {
			r = client_set_error(c, -ECANCELED, 0, op, "cancelled");
			break;
		}
	}
	xfer_resp_free(&resp);
	return r;
}

/* GET /api/heartbeat/stream: heartbeat poll results as server-sent events (docs/ops-worker.md
 * "Heartbeat stream"). Every poll the worker makes (the poller's, POST /api/heartbeat/poll's,
 * the stream's own) is published to the readers watching its host. While readers are
 * connected the hosts they watch are polled every OPS_HEARTBEAT_SSE_INTERVAL_SECONDS, one
 * poll per host at a time however many readers watch it; those polls are not stored. */
#define LOG_COMPONENT "ops-worker.heartbeat"
#include "heartbeat_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "common/http.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "heartbeat.h"
#include "hosts.h"
#include "isotime.h"
#include "opsd.h"
#include "opsd_metrics.h"
#include "periodic.h"

struct reader {
	struct heartbeat_stream *hs;
	struct http_stream *st;
	char *host; /* its hosts.json name; NULL: every host */
	bool include_events;
	LIST_ENTRY(reader) link;
};

struct heartbeat_stream {
	struct opsd *o;
	LIST_HEAD(, reader) readers;
	size_t n;
	struct periodic *polls; /* while readers are connected (and the interval > 0) */
	sd_event_source *ping;
	char **inflight; /* hosts with a poll of ours in flight */
	size_t n_inflight;
	size_t cursor; /* where the next all-hosts round starts in the registry */
	bool stopped;
};

/* One poll the stream started. */
struct stream_poll {
	struct heartbeat_stream *hs;
	char *host;
};

static const char *const close_reasons[] = {
	[HTTP_STREAM_ENDED] = "ended",
	[HTTP_STREAM_CLIENT_GONE] = "client_gone",
	[HTTP_STREAM_TOO_SLOW] = "too_slow",
	[HTTP_STREAM_SERVER_STOPPED] = "server_stopped",
};

struct heartbeat_stream *heartbeat_stream_new(struct opsd *o)
{
	struct heartbeat_stream *hs = xcalloc(1, sizeof(*hs));

	hs->o = o;
	LIST_INIT(&hs->readers);
	return hs;
}

static bool reader_watches(const struct reader *r, const char *host)
{
	return r->host == NULL || strcasecmp(r->host, host) == 0;
}

/* ---- events --------------------------------------------------------------------------- */

/* "event: heartbeat|error\ndata: <one line of JSON>\n\n" for one result. */
static char *event_text(const char *host, const struct heartbeat_result *res, bool events,
			bool omit)
{
	char when[ISOTIME_MAX];
	json_t *d = json_object();
	char *data, *text;

	isotime_format(isotime_now_usec(), when);
	json_object_set_new(d, "host", json_string(host));
	json_object_set_new(d, "ok", json_boolean(res->status == 200));
	if (res->status != 200) {
		json_object_set_new(d, "error", json_string(res->error));
	} else if (omit) {
		json_object_set_new(d, "heartbeat", json_null());
		json_object_set_new(d, "last_event", json_null());
		json_object_set_new(d, "omitted",
				    json_string("the heartbeat is too large for the "
						"stream; read it with POST "
						"/api/heartbeat/poll"));
	} else {
		json_object_set(d, "heartbeat", res->heartbeat);
		json_object_set(d, "last_event",
				events && res->last_event ? res->last_event : json_null());
	}
	json_object_set_new(d, "duration_ms", json_integer((json_int_t)res->duration_ms));
	json_object_set_new(d, "time", json_string(when));
	data = json_dumps(d, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(d);
	if (data == NULL)
		return NULL;
	text = xasprintf("event: %s\ndata: %s\n\n", res->status == 200 ? "heartbeat" : "error",
			 data);
	free(data);
	if (!omit && strlen(text) > HEARTBEAT_STREAM_EVENT_MAX) {
		free(text);
		return event_text(host, res, events, true);
	}
	return text;
}

/* A failed write means the layer is dropping the reader; its on_close follows. */
static void reader_send(struct reader *r, const char *text)
{
	(void)http_stream_write(r->st, text, strlen(text));
}

void heartbeat_stream_publish(struct heartbeat_stream *hs, const char *host,
			      const struct heartbeat_result *res)
{
	struct reader *r, *next;
	char *text[2] = { NULL, NULL }; /* without, with the last event */

	if (hs == NULL || hs->n == 0)
		return;
	for (r = LIST_FIRST(&hs->readers); r != NULL; r = next) {
		next = LIST_NEXT(r, link);
		if (!reader_watches(r, host))
			continue;
		if (text[r->include_events] == NULL)
			text[r->include_events] = event_text(host, res, r->include_events, false);
		if (text[r->include_events] != NULL)
			reader_send(r, text[r->include_events]);
	}
	free(text[0]);
	free(text[1]);
}

static int on_ping(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct heartbeat_stream *hs = userdata;
	struct reader *r, *next;

	for (r = LIST_FIRST(&hs->readers); r != NULL; r = next) {
		next = LIST_NEXT(r, link);
		/* also how a reader that went away is noticed */
		reader_send(r, ": ping\n\n");
	}
	if (hs->n > 0)
		(void)loop_timer_arm(hs->o->event, &hs->ping,
				     HEARTBEAT_STREAM_PING_SECONDS * USEC_PER_SEC, on_ping, hs);
	return 0;
}

/* ---- the stream's own polls ----------------------------------------------------------- */

static size_t inflight_find(const struct heartbeat_stream *hs, const char *host)
{
	size_t i;

	for (i = 0; i < hs->n_inflight; i++)
		if (strcasecmp(hs->inflight[i], host) == 0)
			return i;
	return hs->n_inflight;
}

static void stream_poll_done(void *userdata, const struct heartbeat_result *res)
{
	struct stream_poll *p = userdata;
	struct heartbeat_stream *hs = p->hs;
	size_t i = inflight_find(hs, p->host);

	/* published by heartbeat.c, like every poll */
	if (i < hs->n_inflight) {
		free(hs->inflight[i]);
		hs->inflight[i] = hs->inflight[--hs->n_inflight];
	}
	free(p->host);
	free(p);
}

/* Poll h unless a poll of ours is in flight for it, or HEARTBEAT_STREAM_POLLS_MAX are (the
 * API's WinRM calls keep their share of the network workers); with events when a reader of
 * it wants them. */
static void poll_host(struct heartbeat_stream *hs, const struct host *h)
{
	struct stream_poll *p;
	struct reader *r;
	bool events = false;

	if (hs->n_inflight >= HEARTBEAT_STREAM_POLLS_MAX ||
	    inflight_find(hs, h->name) < hs->n_inflight)
		return;
	LIST_FOREACH (r, &hs->readers, link)
		if (r->include_events && reader_watches(r, h->name))
			events = true;
	hs->inflight = xreallocarray(hs->inflight, hs->n_inflight + 1, sizeof(*hs->inflight));
	hs->inflight[hs->n_inflight++] = xstrdup(h->name);
	p = xcalloc(1, sizeof(*p));
	p->hs = hs;
	p->host = xstrdup(h->name);
	heartbeat_poll(hs->o, h, events, false, stream_poll_done, p);
}

/* Poll what r watches: its host, or every host that is not quarantined — from where the
 * last round stopped, so that with more hosts than polls at a time every host gets its turn. */
static void poll_for(struct heartbeat_stream *hs, const struct reader *r)
{
	const struct host_registry *reg = hs->o->hosts;
	const struct host *h;
	size_t i, k;

	if (reg == NULL || reg->n == 0)
		return;
	if (r->host != NULL) {
		h = hosts_get(reg, r->host);
		if (h != NULL)
			poll_host(hs, h);
		return;
	}
	for (i = 0; i < reg->n; i++) {
		k = (hs->cursor + i) % reg->n;
		if (hs->n_inflight >= HEARTBEAT_STREAM_POLLS_MAX) {
			hs->cursor = k; /* the next round starts with the first host left out */
			return;
		}
		if (!reg->hosts[k].quarantined)
			poll_host(hs, &reg->hosts[k]);
	}
}

static void polls_run(void *userdata)
{
	struct heartbeat_stream *hs = userdata;
	struct reader *r;

	if (!hs->o->stopping)
		LIST_FOREACH (r, &hs->readers, link)
			poll_for(hs, r);
	periodic_done(hs->polls);
}

/* ---- readers -------------------------------------------------------------------------- */

static void reader_free(struct reader *r)
{
	struct heartbeat_stream *hs = r->hs;

	LIST_REMOVE(r, link);
	hs->n--;
	free(r->host);
	free(r);
	if (hs->n == 0) {
		periodic_free(hs->polls);
		hs->polls = NULL;
		loop_timer_disarm(hs->ping);
	}
}

static void on_closed(struct http_stream *st, int reason, void *userdata)
{
	struct reader *r = userdata;
	const char *why = reason > 0 && reason <= HTTP_STREAM_SERVER_STOPPED ? close_reasons[reason]
									     : "client_gone";

	log_debug("a heartbeat stream reader (%s) left: %s", r->host ? r->host : "every host", why);
	opsd_metrics_stream_closed(r->hs->o->metrics, why);
	reader_free(r);
}

int heartbeat_stream_open(struct heartbeat_stream *hs, struct http_request *req,
			  const struct host *h, bool include_events)
{
	struct reader *r;

	if (hs->stopped || hs->n >= HEARTBEAT_STREAM_READERS_MAX)
		return -EBUSY;
	r = xcalloc(1, sizeof(*r));
	r->hs = hs;
	r->host = h ? xstrdup(h->name) : NULL;
	r->include_events = include_events;
	http_response_header(req, "X-Accel-Buffering", "no");
	r->st = http_stream_open(req, "text/event-stream", HEARTBEAT_STREAM_BUFFER, on_closed, r);
	if (r->st == NULL) { /* answered already: cannot happen from a handler */
		free(r->host);
		free(r);
		return -EINVAL;
	}
	LIST_INSERT_HEAD(&hs->readers, r, link);
	hs->n++;
	/* a comment, so that the answer's header leaves at once (SSE readers skip it) */
	reader_send(r, ": ops-worker heartbeat stream\n\n");
	if (hs->n == 1)
		(void)loop_timer_arm(hs->o->event, &hs->ping,
				     HEARTBEAT_STREAM_PING_SECONDS * USEC_PER_SEC, on_ping, hs);
	if (hs->o->cfg.stream_interval > 0) {
		if (hs->polls == NULL)
			(void)periodic_new(hs->o->event, hs->o->cfg.stream_interval, polls_run, hs,
					   &hs->polls); /* its first run polls at once */
		else
			poll_for(hs, r);
	}
	return 0;
}

void heartbeat_stream_stop(struct heartbeat_stream *hs)
{
	struct reader *r;

	if (hs == NULL)
		return;
	hs->stopped = true;
	while ((r = LIST_FIRST(&hs->readers)) != NULL) {
		http_stream_close(r->st); /* on_close is not called after this */
		opsd_metrics_stream_closed(hs->o->metrics, "server_stopped");
		reader_free(r);
	}
}

void heartbeat_stream_free(struct heartbeat_stream *hs)
{
	size_t i;

	if (hs == NULL)
		return;
	heartbeat_stream_stop(hs);
	periodic_free(hs->polls);
	sd_event_source_disable_unref(hs->ping);
	for (i = 0; i < hs->n_inflight; i++)
		free(hs->inflight[i]);
	free(hs->inflight);
	free(hs);
}

size_t heartbeat_stream_readers(const struct heartbeat_stream *hs)
{
	return hs ? hs->n : 0;
}

/* Live events: GET /events streams what happens (sessions created, promoted, ended; labs
 * starting, up, reused, released, down, failed; drain on/off) as server-sent events, and the
 * last netlab operations are kept for the status page (GET /netlab-ops).
 *
 * Every subscriber has a bounded buffer (the HTTP layer's streams): a reader that falls behind
 * is disconnected, the server's memory never grows for it. The last EVENTS_RING events are
 * kept so that a client reconnecting with Last-Event-ID misses nothing recent. Events name
 * sessions by their public handle, never by id. */
#define LOG_COMPONENT LABD_LOGGER
#include "events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "api_int.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "labd.h"

#define EVENTS_RING 256
#define EVENTS_SUBSCRIBERS_MAX 64
#define EVENTS_BUFFER (64 * 1024)
#define EVENTS_PING_USEC (15 * USEC_PER_SEC)
#define OPS_RING 50

struct events_sub {
	struct events *ev;
	struct http_stream *st;
	LIST_ENTRY(events_sub) link;
};

struct events {
	struct labd *d;
	uint64_t seq;
	char *ring[EVENTS_RING]; /* formatted events, oldest overwritten */
	uint64_t ring_seq[EVENTS_RING];
	LIST_HEAD(, events_sub) subs;
	unsigned n_subs;
	sd_event_source *ping;
	json_t *ops; /* the last netlab operations, oldest first */
};

struct events *events_new(struct labd *d)
{
	struct events *ev = xcalloc(1, sizeof(*ev));

	ev->d = d;
	LIST_INIT(&ev->subs);
	ev->ops = json_array();
	return ev;
}

void events_free(struct events *ev)
{
	struct events_sub *sub;
	size_t i;

	if (ev == NULL)
		return;
	while ((sub = LIST_FIRST(&ev->subs)) != NULL) {
		LIST_REMOVE(sub, link);
		http_stream_close(sub->st);
		free(sub);
	}
	for (i = 0; i < EVENTS_RING; i++)
		free(ev->ring[i]);
	sd_event_source_disable_unref(ev->ping);
	json_decref(ev->ops);
	free(ev);
}

static void events_drop(struct events_sub *sub)
{
	LIST_REMOVE(sub, link);
	sub->ev->n_subs--;
	free(sub);
}

/* Write to one subscriber; a failed write means the layer is dropping it. */
static void events_send(struct events_sub *sub, const char *text)
{
	(void)http_stream_write(sub->st, text, strlen(text));
}

unsigned labd_event_readers(const struct labd *d)
{
	return d->events ? d->events->n_subs : 0;
}

void labd_event(struct labd *d, const char *kind, json_t *data)
{
	struct events *ev = d->events;
	struct events_sub *sub, *next;
	char *json, *text;
	size_t slot;

	if (ev == NULL) {
		if (data != NULL)
			labd_metrics_event(d, kind, data);
		json_decref(data);
		return;
	}
	if (data == NULL)
		data = json_object();
	labd_metrics_event(d, kind, data);
	json_object_set_new(data, "time", json_real(loop_wall_seconds()));
	json = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (json == NULL)
		return;
	ev->seq++;
	text = xasprintf("id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)ev->seq, kind,
			 json);
	free(json);
	for (sub = LIST_FIRST(&ev->subs); sub != NULL; sub = next) {
		next = LIST_NEXT(sub, link);
		events_send(sub, text);
	}
	slot = ev->seq % EVENTS_RING;
	free(ev->ring[slot]);
	ev->ring[slot] = text;
	ev->ring_seq[slot] = ev->seq;
}

static int events_on_ping(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct events *ev = userdata;
	struct events_sub *sub, *next;

	for (sub = LIST_FIRST(&ev->subs); sub != NULL; sub = next) {
		next = LIST_NEXT(sub, link);
		/* also how a client that went away is noticed */
		events_send(sub, ": ping\n\n");
	}
	if (ev->n_subs > 0)
		(void)loop_timer_arm(ev->d->event, &ev->ping, EVENTS_PING_USEC, events_on_ping, ev);
	return 0;
}

static void events_on_closed(struct http_stream *st, int reason, void *userdata)
{
	struct events_sub *sub = userdata;

	if (reason == HTTP_STREAM_TOO_SLOW)
		log_warn("An event stream reader fell %u KiB behind; disconnected it",
			 EVENTS_BUFFER / 1024);
	events_drop(sub);
}

/* GET /events: an SSE stream; Last-Event-ID replays what is still in the ring. */
void api_events(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct events *ev = d->events;
	const char *last = http_request_header(req, "Last-Event-ID");
	struct events_sub *sub;
	uint64_t from = ev->seq, id;

	if (ev->n_subs >= EVENTS_SUBSCRIBERS_MAX) {
		log_warn("Refusing an event stream: %u readers already", ev->n_subs);
		api_detail(req, 503, "Too many event stream readers");
		return;
	}
	if (last != NULL && parse_u64(last, 0, UINT64_MAX, &id) == 0 && id <= ev->seq)
		from = id;
	sub = xcalloc(1, sizeof(*sub));
	sub->ev = ev;
	http_response_header(req, "X-Accel-Buffering", "no");
	sub->st = http_stream_open(req, "text/event-stream", EVENTS_BUFFER, events_on_closed, sub);
	if (sub->st == NULL) {
		free(sub);
		return;
	}
	LIST_INSERT_HEAD(&ev->subs, sub, link);
	ev->n_subs++;
	events_send(sub, "retry: 3000\n\n");
	/* Replay what the client missed, as far as the ring reaches back. */
	for (id = from + 1; id <= ev->seq; id++) {
		size_t slot = id % EVENTS_RING;

		if (ev->ring_seq[slot] == id && ev->ring[slot] != NULL)
			events_send(sub, ev->ring[slot]);
	}
	if (ev->n_subs == 1)
		(void)loop_timer_arm(d->event, &ev->ping, EVENTS_PING_USEC, events_on_ping, ev);
}

/* --- netlab operations --- */

void labd_netlab_op(struct labd *d, const char *cmdline, const char *cwd, double secs, bool ok,
		    const char *how, const char *stderr_tail)
{
	struct events *ev = d->events;
	json_t *op;

	labd_metrics_netlab(d, cmdline, secs, ok);
	if (ev == NULL)
		return;
	op = json_pack("{s:s, s:s, s:f, s:f, s:b, s:s}", "command", cmdline, "cwd", cwd ? cwd : "",
		       "time", loop_wall_seconds() - secs, "duration", secs, "ok", ok, "result",
		       how);
	if (!ok && stderr_tail != NULL)
		json_object_set_new(op, "stderr_tail", json_string(stderr_tail));
	if (json_array_size(ev->ops) >= OPS_RING)
		json_array_remove(ev->ops, 0);
	json_array_append_new(ev->ops, op);
}

void api_netlab_ops(struct http_request *req)
{
	http_respond_json(req, 200, json_pack("{s:O}", "operations", api_labd(req)->events->ops));
}

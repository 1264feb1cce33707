/* Live events (GET /events, server-sent) and the last netlab operations (GET /netlab-ops). */
#ifndef RL_LABD_EVENTS_H
#define RL_LABD_EVENTS_H

#include <stdbool.h>

#include <jansson.h>

struct labd;
struct events;

struct events *events_new(struct labd *d);
/* Ends every stream. Accepts NULL. */
void events_free(struct events *ev);

/* Publish an event to every reader (steals data; "time" is added). Kinds: session.created,
 * session.promoted, session.ended, lab.starting, lab.up, lab.reused, lab.released,
 * lab.down, lab.failed, drain.on, drain.off. Data names sessions by handle only. */
void labd_event(struct labd *d, const char *kind, json_t *data);
/* Record a finished netlab command (newest last, bounded). */
void labd_netlab_op(struct labd *d, const char *cmdline, const char *cwd, double secs, bool ok,
		    const char *how, const char *stderr_tail);

/* Open GET /events streams. */
unsigned labd_event_readers(const struct labd *d);

/* --- metrics (api_metrics.c) --- */
struct http_request;
struct labd_metrics;
/* The registry (GET /metrics); 0 or negative errno. */
int labd_metrics_init(struct labd *d);
void labd_metrics_free(struct labd_metrics *lm);
/* Counters follow the events (labd_event calls this; data may carry "seconds", "waited"). */
void labd_metrics_event(struct labd *d, const char *kind, const json_t *data);
void labd_metrics_netlab(struct labd *d, const char *cmdline, double secs, bool ok);
/* The HTTP layer's `answered` hook: requests by route pattern and code. */
void labd_metrics_http(struct http_request *req, unsigned status);

#endif

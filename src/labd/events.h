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

#endif

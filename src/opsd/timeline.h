/* GET /api/reservations/timeline on the loop: snapshot the lab mapping, run the query on the
 * database thread, add the mapped host's configuration. */
#ifndef RL_OPSD_TIMELINE_H
#define RL_OPSD_TIMELINE_H

#include <jansson.h>

struct opsd;
struct req_timeline;
struct timeline_query;

/* status 200 with the response (reference passed to the callee), or an error status with
 * its message (result NULL). */
typedef void (*timeline_done_fn)(void *userdata, unsigned status, const char *error,
				 json_t *result);

/* Needs a database (o->dbq). Takes req's contents. done runs once, possibly at once. */
void timeline_run(struct opsd *o, struct req_timeline *req, timeline_done_fn done, void *userdata);
void timeline_query_free(struct timeline_query *q);

#endif

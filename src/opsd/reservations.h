/* Reservation flows on the loop (start: wake + prepare-session; end: release-session +
 * power): a hub that calls the wake, remote-command and journal services in turn. */
#ifndef RL_OPSD_RESERVATIONS_H
#define RL_OPSD_RESERVATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct opsd;
struct host;
struct req_resv;

/* status: 200 or 502; response: the full JSON body (reference passed to the callee). */
typedef void (*resv_done_fn)(void *userdata, unsigned status, json_t *response);

/* Run a start or end flow for host h (the registry's entry; fields are copied).
 * Takes ownership of req's contents. done runs once on the loop. */
void resv_run(struct opsd *o, struct req_resv *req, const struct host *h, resv_done_fn done,
	      void *userdata);

#endif

/* Heartbeat polls on the loop: read heartbeat.json (+ the last session-guard event) over
 * WinRM and hand the row to the database thread (heartbeat_store.c). */
#ifndef RL_OPSD_HEARTBEAT_H
#define RL_OPSD_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "heartbeat_store.h"

struct opsd;
struct host;

struct heartbeat_result {
	unsigned status; /* 200, or 500 with error */
	char error[256];
	json_t *heartbeat;  /* borrowed for the callback */
	json_t *last_event; /* borrowed; NULL when none */
	uint64_t duration_ms;
};

typedef void (*heartbeat_done_fn)(void *userdata, const struct heartbeat_result *res);

/* Poll one host (fields copied; the host may go away); with store, a successful result is
 * written to the database (when there is one). The result goes to the metrics, the
 * heartbeat stream's readers and then done, once, on the loop. */
void heartbeat_poll(struct opsd *o, const struct host *h, bool include_events, bool store,
		    heartbeat_done_fn done, void *userdata);

/* Build the row from a parsed heartbeat (and event); now_usec is the fallback time. */
void heartbeat_row_build(struct heartbeat_row *row, const char *name, const char *address,
			 const char *mac, json_t *heartbeat, json_t *last_event, int64_t now_usec);
void heartbeat_row_clear(struct heartbeat_row *row);

#endif

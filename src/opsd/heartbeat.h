/* Heartbeat polls: read heartbeat.json (+ the last session-guard event) and persist them. */
#ifndef RL_OPSD_HEARTBEAT_H
#define RL_OPSD_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "isotime.h"

struct opsd;
struct host;
struct db;
struct poller;

struct heartbeat_result {
	unsigned status;      /* 200, or 500 with error */
	char error[256];
	json_t *heartbeat;    /* borrowed for the callback */
	json_t *last_event;   /* borrowed; NULL when none */
	uint64_t duration_ms;
};

typedef void (*heartbeat_done_fn)(void *userdata, const struct heartbeat_result *res);

/* Poll one host (fields copied; the host may go away). done runs once on the loop. */
void heartbeat_poll(struct opsd *o, const struct host *h, bool include_events,
		    heartbeat_done_fn done, void *userdata);

/* What one poll stores (§6.3), extracted on the loop; written on the db thread. */
struct heartbeat_row {
	char *name, *address, *mac;
	char ts[ISOTIME_MAX];
	int ready, local_mode, local_session;   /* -1 = NULL */
	char lfo_ts[ISOTIME_MAX], lpa_ts[ISOTIME_MAX];             /* "" = NULL */
	char *lfo_user, *lpa_mode;
	char *raw_json;
	bool has_event;
	char event_ts[ISOTIME_MAX];
	char *event_payload;
};
/* Build the row from a parsed heartbeat (and event); now_usec is the fallback time. */
void heartbeat_row_build(struct heartbeat_row *row, const char *name, const char *address,
			 const char *mac, json_t *heartbeat, json_t *last_event, int64_t now_usec);
void heartbeat_row_clear(struct heartbeat_row *row);
/* One transaction: upsert lab_hosts, insert lab_host_heartbeat (+ lab_host_events). */
int heartbeat_store(struct db *db, const struct heartbeat_row *row);

/* The scheduled poller (OPS_POLL_ENABLED): all non-quarantined hosts, one by one. */
int poller_new(struct opsd *o, struct poller **ret);
void poller_stop(struct poller *p);
void poller_free(struct poller *p);

#endif

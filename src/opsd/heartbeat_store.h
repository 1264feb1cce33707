/* The heartbeat's SQL (database thread). Takes only the database handle and the row. */
#ifndef RL_OPSD_HEARTBEAT_STORE_H
#define RL_OPSD_HEARTBEAT_STORE_H

#include <stdbool.h>

#include "isotime.h"

struct db;

/* What one poll stores (§6.3): built on the loop (heartbeat_row_build), written here. */
struct heartbeat_row {
	char *name, *address, *mac;
	char ts[ISOTIME_MAX];
	int ready, local_mode, local_session;          /* -1 = NULL */
	char lfo_ts[ISOTIME_MAX], lpa_ts[ISOTIME_MAX]; /* "" = NULL */
	char *lfo_user, *lpa_mode;
	char *raw_json;
	bool has_event;
	char event_ts[ISOTIME_MAX];
	char *event_payload;
};
/* One transaction: upsert lab_hosts, insert lab_host_heartbeat (+ lab_host_events).
 * 0 or a negative errno. */
int heartbeat_store_row(struct db *db, const struct heartbeat_row *row);

#endif

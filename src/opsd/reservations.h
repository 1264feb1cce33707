/* Reservation flows (start: wake + prepare-session; end: release-session + power) and the
 * timeline query. */
#ifndef RL_OPSD_RESERVATIONS_H
#define RL_OPSD_RESERVATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct opsd;
struct host;
struct req_resv;
struct req_timeline;
struct db;

/* status: 200 or 502; response: the full JSON body (reference passed to the callee). */
typedef void (*resv_done_fn)(void *userdata, unsigned status, json_t *response);

/* Run a start or end flow for host h (the registry's entry; fields are copied).
 * Takes ownership of req's contents. done runs once on the loop. */
void resv_run(struct opsd *o, struct req_resv *req, const struct host *h, resv_done_fn done,
	      void *userdata);

/* One entry of the lab -> host mapping, snapshot for the database thread. */
struct resv_lab_entry {
	char *lab;   /* trimmed, lower-cased */
	char *host;  /* host name */
};

struct timeline_query {
	/* in */
	char *reservation_id;
	long limit, offset, phase_lookback;
	struct resv_lab_entry *labs;
	size_t n_labs;
	/* out (db thread) */
	bool found;
	json_t *result;      /* the response without "host.config" */
	char *host_name;     /* mapped host, NULL if none */
};

/* Database thread: fill q->result. 0 or negative errno. */
int timeline_fetch(struct db *db, struct timeline_query *q);
void timeline_query_free(struct timeline_query *q);
/* Snapshot the lab mapping of the current registry (non-quarantined, first wins). */
void resv_lab_snapshot(const struct opsd *o, struct resv_lab_entry **ret, size_t *ret_n);

#endif

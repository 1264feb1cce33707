/* The timeline's SQL (database thread). Takes only the database handle and the query. */
#ifndef RL_OPSD_TIMELINE_STORE_H
#define RL_OPSD_TIMELINE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;

/* One entry of the lab -> host mapping, a snapshot taken on the loop. */
struct timeline_lab_entry {
	char *lab;  /* trimmed, lower-cased */
	char *host; /* host name */
};

struct timeline_query {
	/* in (prepared on the loop) */
	char *reservation_id;
	long limit, offset, phase_lookback;
	struct timeline_lab_entry *labs;
	size_t n_labs;
	/* out */
	bool found;
	json_t *result;  /* the response without "host.config" */
	char *host_name; /* mapped host, NULL if none */
};

/* Fill q->found and q->result in one read transaction. 0 or a negative errno. */
int timeline_store_fetch(struct db *db, struct timeline_query *q);

#endif

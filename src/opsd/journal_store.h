/* The journal's SQL (database thread). Takes only the database handle and the row. */
#ifndef RL_OPSD_JOURNAL_STORE_H
#define RL_OPSD_JOURNAL_STORE_H

#include <stdbool.h>

#include "journal.h"

struct db;

/* Insert a reservation_operations row. dedup: skip it when an identical row (reservation,
 * action, status, host, created_at) exists. 0 or a negative errno. */
int journal_store_insert(struct db *db, const struct journal_row *row, bool dedup);

#endif

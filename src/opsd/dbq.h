/* The database thread: one connection, jobs run in order, reconnect with back-off. */
#ifndef RL_OPSD_DBQ_H
#define RL_OPSD_DBQ_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "db.h"

struct dbq;

/* Runs on the database thread with a connected db whose schema is applied. Returns 0 or
 * a negative errno (-ENOTCONN drops the connection). Must not touch loop state. */
typedef int (*dbq_fn)(struct db *db, void *arg);
/* Runs on the loop thread afterwards with fn's result (-ENOTCONN also when no connection
 * could be made). */
typedef void (*dbq_done_fn)(void *arg, int r);

/* Takes ownership of db (not connected yet). */
int dbq_new(sd_event *e, struct db *db, struct dbq **ret);
/* Queue a job; -EAGAIN when the queue is full or stopping (done is not called). */
int dbq_submit(struct dbq *q, dbq_fn fn, dbq_done_fn done, void *arg);
/* Whether the last job found the database reachable. */
bool dbq_connected(const struct dbq *q);
/* Jobs that failed (any error), for /health. */
uint64_t dbq_errors(const struct dbq *q);
/* The same, split: no connection (-ENOTCONN) and refused by the database (the rest). */
void dbq_error_counts(const struct dbq *q, uint64_t *ret_unavailable, uint64_t *ret_failed);
size_t dbq_pending(const struct dbq *q);
const char *dbq_backend(const struct dbq *q);
/* Finish queued jobs (running their done callbacks), close the connection. NULL ok. */
void dbq_free(struct dbq *q);

#endif

/* Lab operations: acquire, release, destroy, a session's end, start-up, prewarm, shutdown.
 * Decides with slots.c, runs netlab jobs (labjob.c) and records their outcome: the only
 * writer of lab state. Results are reported as outcomes; api.c chooses HTTP codes. */
#ifndef RL_LABD_LABOPS_H
#define RL_LABD_LABOPS_H

#include <stdbool.h>

#include <jansson.h>

#include "session.h"
#include "slots.h"
#include "uploads.h"

struct labd;
struct labops;

enum labop_outcome {
	LABOP_OK,       /* done (acquire: devices; destroy: torn down) */
	LABOP_NO_LAB,   /* nothing to do: the session has no lab */
	LABOP_BUSY,     /* acquire: the lab is in use and not shareable */
	LABOP_IN_USE,   /* destroy without force: the lab's refcount is above 0 */
	LABOP_FAILED,   /* netlab failed: `error` says how */
	LABOP_GONE,     /* the session ended before its turn */
	LABOP_SHUTDOWN, /* the server is stopping */
};

struct labop_result {
	enum labop_outcome outcome;
	bool reused;     /* acquire: no `netlab up` ran for this call */
	json_t *devices; /* acquire: the device list (borrowed) */
	json_t *error;   /* failed: {"detail": ..., "netlab": {...}} (borrowed) */
};

typedef void (*labop_done_fn)(struct labd *d, const struct labop_result *res, void *userdata);

struct labops *labops_new(struct labd *d);
/* The same with another job runner (unit tests drive labops with a fake netlab). */
struct labjob_runner;
struct labops *labops_new_with_runner(struct labd *d, struct labjob_runner runner);
/* Kills what runs and answers what waits with LABOP_SHUTDOWN. Accepts NULL. */
void labops_free(struct labops *ops);

/* A lab the previous run kept (--keep-labs), restored into its slot: the start-up job checks
 * it with netlab and re-reads its devices, or it is dropped. Before labops_startup(). */
void labops_adopt(struct labops *ops, struct lab *lab);
/* The start-up job (re-adoption, cleanup of stale instances and of `leftovers`, the
 * directories of a previous instance), then --prewarm topologies; acquires wait until the
 * job is over. */
void labops_startup(struct labops *ops, const json_t *leftovers);
/* Bring a topology file up idle and pinned into a free slot at start-up (--prewarm). */
int labops_prewarm(struct labops *ops, const char *path);

/* The lab session s works with: its own; with one slot, the slot's lab as the original had
 * one lab for everyone (GET /lab, release and destroy act on it). NULL: none. */
struct lab *labops_session_lab(struct labops *ops, const struct session *s);

/* Acquire a lab for the ACTIVE session s from upload u (ownership taken). */
void labops_acquire(struct labops *ops, struct session *s, struct upload *u, bool reuse,
		    labop_done_fn done, void *userdata);
/* POST /lab/release: ref-1 (an underflow is logged and clamped). LABOP_OK or LABOP_NO_LAB. */
enum labop_outcome labops_release(struct labops *ops, struct session *s);
/* DELETE /lab: tear the session's lab down; `done` reports OK, NO_LAB, IN_USE or FAILED. */
void labops_destroy(struct labops *ops, struct session *s, bool force, labop_done_fn done,
		    void *userdata);
/* An operator's force-destroy of slot k (whoever holds it). */
void labops_destroy_slot(struct labops *ops, unsigned slot, const char *who, labop_done_fn done,
			 void *userdata);
/* Session s is ending: its lab is kept idle (--idle-lab-keep, prewarmed topologies) or torn
 * down; `done` runs once that is settled (a teardown finished, successful or not). The
 * caller removes s right after this call returns. */
void labops_session_ended(struct labops *ops, struct session *s, const char *reason,
			  labop_done_fn done, void *userdata);

/* Session s is being freed: no lab refers to it any more. */
void labops_session_gone(struct labops *ops, struct session *s);

/* Shutdown: waiting acquires get LABOP_SHUTDOWN, running starts are interrupted (their
 * cleanup still runs). */
void labops_cancel(struct labops *ops);
/* After labops_cancel: tear every lab down (or keep them all), then `done`. */
void labops_shutdown(struct labops *ops, bool keep_labs, labop_done_fn done, void *userdata);
/* Nothing waits and nothing runs. */
bool labops_idle(const struct labops *ops);
/* Slots with a netlab job running. */
unsigned labops_busy_slots(const struct labops *ops);

#endif

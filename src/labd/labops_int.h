/* Internals shared by labops.c (requests and decisions) and labops_slot.c (jobs on slots and
 * their outcomes): one module, two files. Nothing else includes this. */
#ifndef RL_LABD_LABOPS_INT_H
#define RL_LABD_LABOPS_INT_H

#include <sys/queue.h>

#include "common/loop.h"
#include "labd.h"
#include "labjob.h"
#include "labops.h"

struct labops_waiter {
	labop_done_fn done;
	void *userdata;
	struct labops_waiter *next;
};

struct labacq {
	TAILQ_ENTRY(labacq) link;
	char sid[SESSION_ID_LEN + 1];
	struct upload *upload;
	bool reuse;
	bool running;        /* decided; a job on `lab` works for it */
	bool waits_for_held; /* waiting for a held lab (logged once) */
	struct lab *lab;
	labop_done_fn done;
	void *userdata;
};

TAILQ_HEAD(labacq_list, labacq);

/* What one slot is doing (the runtime half of struct lab). */
struct slot_rt {
	struct labops *ops;
	struct labjob *job;    /* running job, or NULL */
	bool starting;         /* the job is a start (else a stop) */
	struct labacq *acq;    /* the acquire the job (or its stop-then-start) serves */
	struct upload *upload; /* a prewarm start's upload */
	bool stop_after;       /* tear down once the running job is over */
	char stop_reason[160];
	struct labops_waiter *waiters; /* told when the slot's teardown is over */
	bool adopting;                 /* a kept lab the start-up job is checking */
	uint64_t job_started;          /* monotonic usec: the running job's start (metrics) */
	sd_event_source *idle_timer;
};

struct labops {
	struct labd *d;
	struct labjob_runner run; /* netlab jobs (a fake in unit tests) */
	struct slot_rt *rt;
	struct labacq_list acqs;
	bool ready;     /* the start-up cleanup is over */
	bool cancelled; /* shutting down */
	struct labjob *startup;
	char **prewarm; /* topology files to bring up once ready */
	size_t n_prewarm;
	char (*pinned)[LAB_HASH_LEN + 1]; /* their hashes: kept idle without expiry */
	size_t n_pinned;
	int *spare_mlids; /* multilab ids not given to a slot */
	size_t n_spare;
	LIST_HEAD(, labops_retiring) retiring; /* replaced labs being torn down meanwhile */
	labop_done_fn shutdown_done;
	void *shutdown_userdata;
	bool shutdown_keep;
	bool shutdown_failed;
	sd_event_source *kick;
	/* For slots_decide's hints: the time a lab took to come up and the time a holder kept
	 * its lab (usec, moving averages), and a timer that decides again when an acquire
	 * waiting for a held lab stops being worth it. */
	uint64_t up_cost;
	uint64_t mean_hold;
	sd_event_source *recheck;
	uint64_t recheck_at;
};

static inline struct labd *D(const struct labops *ops)
{
	return ops->d;
}

static inline uint64_t now_usec(const struct labops *ops)
{
	return loop_now(ops->d->event);
}

/* A moving average that follows the last few observations (0: none yet). */
static inline uint64_t labops_average(uint64_t avg, uint64_t sample)
{
	return avg == 0 ? sample : (avg * 3 + sample) / 4;
}

static inline struct slot_rt *RT(const struct labops *ops, const struct lab *lab)
{
	return &ops->rt[lab->slot];
}

/* labops.c */
/* Decide waiting acquires (and advance a shutdown) from a fresh loop iteration. */
void labops_kick(struct labops *ops);

/* labops_slot.c */
/* Event data about a lab (new reference). */
json_t *labops_lab_event(const struct lab *lab);
void labops_report(labop_done_fn done, void *userdata, struct labd *d, enum labop_outcome outcome,
		   bool reused, json_t *devices, json_t *error);
/* The acquire is over: account its session, answer, forget it, kick. */
void labacq_finish(struct labops *ops, struct labacq *acq, enum labop_outcome outcome, bool reused,
		   json_t *devices, json_t *error);
void labacq_free(struct labacq *acq);
/* Tell everyone waiting for the slot's teardown. */
void labops_fire_waiters(struct slot_rt *rt, enum labop_outcome outcome, json_t *error);
void labops_add_waiter(struct slot_rt *rt, labop_done_fn done, void *userdata);
/* Is this a --prewarm topology (kept idle without expiry)? */
bool labops_is_pinned(const struct labops *ops, const char *hash);
/* The lab is gone: its holder lets go, its upload directory goes, the slot is empty. */
void labops_forget(struct labops *ops, struct lab *lab);
/* A lab lost its holder: keep it warm (true) or start tearing it down (false). */
bool labops_let_go(struct labops *ops, struct lab *lab, const char *reason);
/* A kept (re-adopted) idle lab: pinned, its idle-keep timer re-armed, or torn down. */
void labops_keep_idle(struct labops *ops, struct lab *lab);
/* Start upload u in the lab's slot (the lab's holder, if any, was set by the caller). */
void labops_start(struct labops *ops, struct lab *lab, const struct upload *u);
/* Tear the lab down now, or after the slot's running job. */
void labops_stop(struct labops *ops, struct lab *lab, const char *reason);

/* labops_retire.c */
struct labops_retiring;
/* A multilab lab to be replaced: tear it down in the background and give its (now empty)
 * slot a spare multilab id, so the new lab can start at once. False (nothing done) when that
 * cannot be: the default instance, no spare id, a job running on the slot. */
bool labops_retire(struct labops *ops, struct lab *lab, const char *reason);
bool labops_retiring_idle(const struct labops *ops);
/* Drop the background teardowns without their callbacks (labops_free). */
void labops_retiring_abandon(struct labops *ops);

#endif

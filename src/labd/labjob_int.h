/* Internals shared by labjob.c (one job) and labjobs.c (what jobs share). */
#ifndef RL_LABD_LABJOB_INT_H
#define RL_LABD_LABJOB_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "common/loop.h"
#include "labjob.h"
#include "netlab.h"

struct labjobs {
	struct labd *d;
	/* A default-instance directory whose teardown failed: netlab's registry may still point
	 * at it, so it stays until a `netlab down --instance default --cleanup` succeeds. */
	char *orphan_workdir;
	/* This netlab cannot evaluate the one-call inspect expression: inspect node by node. */
	bool inspect_all_unsupported;
	json_t *foreign; /* multilab ids netlab runs in directories not ours */
};

#define LABJOB_PARALLEL 4 /* node inspections at once (they only read netlab's snapshot) */

enum labjob_kind {
	LABJOB_START,
	LABJOB_STOP,
	LABJOB_STARTUP,
};

enum labjob_phase {
	PHASE_LOCK,            /* waiting for the lab lock */
	PHASE_STARTUP_DOWN,    /* down --instance default --cleanup at start-up */
	PHASE_STARTUP_STATUS,  /* status --all, to find our multilab instances */
	PHASE_STARTUP_DOWN_ML, /* down -i ID --cleanup --force, one instance after another */
	PHASE_ADOPT,           /* inspect a lab recorded by the previous run (--keep-labs) */
	PHASE_SANITY_DOWN,     /* down --instance default before starting the default instance */
	PHASE_UP,
	PHASE_INSPECT_ALL,
	PHASE_INSPECT_NODES,
	PHASE_INSPECT_NODE,
	PHASE_CLEANUP_FAILED, /* down --cleanup --force after a failed start */
	PHASE_DOWN,           /* down --cleanup of a running lab */
	PHASE_DOWN_FORCE,     /* ... retried with --force */
};

struct labjob_child {
	struct labjob *job;
	struct netlab_run *run;
	size_t node;
	enum netlab_step step; /* what runs, to run it again without -i */
	int mlid;
	char *cwd, *arg;
};

struct labjob {
	struct labjobs *jobs;
	enum labjob_kind kind;
	enum labjob_phase phase;
	int mlid;
	bool all_instances;
	bool cancelled;
	int lock_fd;
	bool lock_wait_logged;
	sd_event_source *lock_timer;
	sd_event_source *kick;
	struct labjob_child children[LABJOB_PARALLEL];
	unsigned calls;
	/* start */
	const struct upload *upload;
	char *workdir;
	bool up_started;
	json_t *names; /* node names (node-by-node inspection) */
	size_t next_node;
	json_t *devices;
	json_t *status; /* start-up: `status --all` */
	void *status_iter;
	json_t *adopt; /* start-up: labs to re-adopt [{"mlid", "workdir"}] */
	size_t adopt_next;
	json_t *adopted;   /* ... and what came of each: devices or null */
	json_t *leftovers; /* directories of a previous instance to remove at the end */
	/* stop */
	char *name;
	char reason[192];
	json_t *error;       /* the first failure: {"detail":..., "netlab":{...}} */
	json_t *first_error; /* a stop's first failure while it retries with --force */
	labjob_done_fn done;
	void *userdata;
};

/* labjob.c: the engine */
json_t *labjob_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Keep the first error of a job (steals error). */
void labjob_set_error(struct labjob *job, json_t *error);
/* The job is over: report and free it. */
void labjob_finish(struct labjob *job);
/* Run one netlab step in child slot `slot`; 0, or negative errno (the error is recorded). */
int labjob_run(struct labjob *job, size_t slot, enum netlab_step step, const char *cwd, int mlid,
	       const char *arg);
/* Run a step as the job's single child in `phase`; on failure to spawn, step at once. */
void labjob_run1(struct labjob *job, enum labjob_phase phase, enum netlab_step step,
		 const char *cwd, int mlid, const char *arg);
bool labjob_children_running(const struct labjob *job);

/* labjob_startup.c: the start-up job's phases */
void labjob_startup_begin(struct labjob *job);
/* Advance the start-up job; false when the phase is not one of its own. */
bool labjob_startup_step(struct labjob *job);
/* The result of one NETLAB_STATUS_ALL. */
void labjob_startup_status(struct labjob *job, bool ok, const struct spawn_result *res);

/* labjob_steps.c: the phases */
/* The lab lock is held (or not needed): run the job's first phase. */
void labjob_begin(struct labjob *job);
/* Inspect the lab in job->workdir: one call, or node by node when netlab cannot. */
void labjob_inspect(struct labjob *job);
/* Advance the job after its current phase completed (or could not start). */
void labjob_step(struct labjob *job);
/* A netlab child of the job finished (the netlab_run callback). */
void labjob_on_netlab(struct netlab_run *run, bool ok, struct spawn_result *res, void *userdata);
/* Remove a netlab directory unless netlab still holds it (see labjobs_orphan). */
void labjob_settle_workdir(struct labjob *job, const char *workdir);

/* Remove a directory tree (errors are logged). */
void labjobs_remove_dir(const char *dir);
/* Keep a default-instance directory netlab could not tear down (see orphan_workdir). */
void labjobs_orphan(struct labjobs *jobs, const char *workdir);
/* After a default-instance teardown: drop the orphan once netlab let go of it. */
void labjobs_clear_orphan(struct labjobs *jobs);

#endif

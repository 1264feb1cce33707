/* One netlab job on one lab slot: start a lab, stop a lab, or the start-up cleanup. Runs the
 * netlab steps as children (never blocking the loop), takes the cross-process lab lock for
 * every job on the `default` instance, and reports a result; it writes no lab state. */
#ifndef RL_LABD_LABJOB_H
#define RL_LABD_LABJOB_H

#include <stdbool.h>

#include <jansson.h>

#include "uploads.h"

struct labd;
struct labjob;
struct labjobs;

struct labjob_result {
	int err;               /* 0; -EIO netlab failed; -ECANCELED interrupted at shutdown */
	json_t *error;         /* when err: {"detail": ..., "netlab": {...}} (borrowed) */
	json_t *devices;       /* start: [{"name", "raw"}] (borrowed; steal with json_incref) */
	const char *workdir;   /* start: where the lab runs (borrowed) */
	unsigned netlab_calls; /* netlab commands the job ran */
};

/* Runs once when the job is over; the job is freed right after. */
typedef void (*labjob_done_fn)(struct labjob *job, const struct labjob_result *res, void *userdata);

/* State shared by all jobs: the lab lock, the orphaned directory, netlab capabilities. */
struct labjobs *labjobs_new(struct labd *d);
void labjobs_free(struct labjobs *jobs);

/* Start the topology of upload u on multilab instance mlid (0: default) in a new work
 * directory. The upload's files are copied; the upload itself stays the caller's. */
int labjob_start(struct labjobs *jobs, int mlid, const struct upload *u, labjob_done_fn done,
		 void *userdata, struct labjob **ret);
/* Tear down the lab in workdir on instance mlid (`down --cleanup`, retried with --force),
 * then remove the directory unless netlab still holds it. */
int labjob_stop(struct labjobs *jobs, int mlid, const char *workdir, const char *name,
		const char *reason, labjob_done_fn done, void *userdata, struct labjob **ret);
/* At start-up, under the lab lock:
 * - with labs to re-adopt (`adopt`, [{"mlid", "workdir"}] from --keep-labs' state file) or
 *   `all_instances`: `netlab status --all`; each lab to adopt is checked (its directory, its
 *   netlab.lock, the instance registered there) and its devices re-read with `inspect`;
 * - `down --instance default --cleanup` (failure is normal) unless the default instance's
 *   lab was adopted;
 * - with `all_instances`: `down -i ID --cleanup --force` for every multilab instance whose
 *   directory is one of ours (under `<tmp>/netlab_topo_*`) and was not adopted;
 * - `leftovers` (directories of a previous instance) that were not adopted and that netlab
 *   does not hold are removed.
 * The result's `devices` is an array aligned with `adopt`: the devices, or null for a lab
 * that is gone. */
int labjob_startup_cleanup(struct labjobs *jobs, bool all_instances, const json_t *adopt,
			   const json_t *leftovers, labjob_done_fn done, void *userdata,
			   struct labjob **ret);
/* Interrupt a start at shutdown (its cleanup still runs); stops are left to finish. */
void labjob_cancel(struct labjob *job);
/* Drop a job without its callback; its children are killed. Accepts NULL. */
void labjob_abandon(struct labjob *job);
/* Multilab ids registered in netlab's status by directories that are not ours: a
 * start-up job fills this (NULL before; borrowed). */
const json_t *labjobs_foreign_instances(const struct labjobs *jobs);

/* How labops.c runs jobs: the functions above (labjob_runner()), or a fake in unit tests. */
struct labjob_runner {
	int (*start)(void *ctx, int mlid, const struct upload *u, labjob_done_fn done,
		     void *userdata, struct labjob **ret);
	int (*stop)(void *ctx, int mlid, const char *workdir, const char *name, const char *reason,
		    labjob_done_fn done, void *userdata, struct labjob **ret);
	int (*startup)(void *ctx, bool all_instances, const json_t *adopt, const json_t *leftovers,
		       labjob_done_fn done, void *userdata, struct labjob **ret);
	void (*cancel)(struct labjob *job);
	void (*abandon)(struct labjob *job);
	const json_t *(*foreign)(void *ctx);
	void (*free)(void *ctx);
	void *ctx;
};

/* The netlab runner over a new struct labjobs. */
struct labjob_runner labjob_runner(struct labd *d);

#endif

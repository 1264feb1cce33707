/* What netlab jobs share: the orphaned default-instance directory, what this netlab can do,
 * the multilab instances of other users, and the runner labops.c drives jobs through. */
#define LOG_COMPONENT "neops_remote_lab.netlab.lab_manager"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "labjob_int.h"
#include "netlab.h"

/* --- directories netlab may still hold --- */

void labjobs_remove_dir(const char *dir)
{
	int r = fs_rm_rf(dir);

	if (r < 0)
		log_warn("cannot remove %s: %s, ignoring", dir, strerror(-r));
}

/* Keep a default-instance directory that could not be torn down (see orphan_workdir). */
void labjobs_orphan(struct labjobs *jobs, const char *workdir)
{
	if (jobs->orphan_workdir != NULL) {
		log_warn("Removing older orphaned netlab directory %s", jobs->orphan_workdir);
		labjobs_remove_dir(jobs->orphan_workdir);
		free(jobs->orphan_workdir);
	}
	log_error("netlab could not tear down %s; keeping it so the next "
		  "`netlab down --instance default --cleanup` can finish the job",
		  workdir);
	jobs->orphan_workdir = xstrdup(workdir);
}

/* After a default-instance teardown: drop the orphan once netlab let go of it. */
void labjobs_clear_orphan(struct labjobs *jobs)
{
	if (jobs->orphan_workdir == NULL || netlab_dir_locked(jobs->orphan_workdir))
		return;
	log_info("Removing orphaned netlab directory %s", jobs->orphan_workdir);
	labjobs_remove_dir(jobs->orphan_workdir);
	free(jobs->orphan_workdir);
	jobs->orphan_workdir = NULL;
}

struct labjobs *labjobs_new(struct labd *d)
{
	struct labjobs *jobs = xcalloc(1, sizeof(*jobs));

	jobs->d = d;
	jobs->foreign = json_array();
	return jobs;
}

void labjobs_free(struct labjobs *jobs)
{
	if (jobs == NULL)
		return;
	free(jobs->orphan_workdir);
	json_decref(jobs->foreign);
	free(jobs);
}

const json_t *labjobs_foreign_instances(const struct labjobs *jobs)
{
	return jobs->foreign;
}

/* --- the runner labops.c uses --- */

static int runner_start(void *ctx, int mlid, const struct upload *u, labjob_done_fn done,
			void *userdata, struct labjob **ret)
{
	return labjob_start(ctx, mlid, u, done, userdata, ret);
}

static int runner_stop(void *ctx, int mlid, const char *workdir, const char *name,
		       const char *reason, labjob_done_fn done, void *userdata, struct labjob **ret)
{
	return labjob_stop(ctx, mlid, workdir, name, reason, done, userdata, ret);
}

static int runner_startup(void *ctx, bool all_instances, const json_t *adopt,
			  const json_t *leftovers, labjob_done_fn done, void *userdata,
			  struct labjob **ret)
{
	return labjob_startup_cleanup(ctx, all_instances, adopt, leftovers, done, userdata, ret);
}

static const json_t *runner_foreign(void *ctx)
{
	return labjobs_foreign_instances(ctx);
}

static void runner_free(void *ctx)
{
	labjobs_free(ctx);
}

struct labjob_runner labjob_runner(struct labd *d)
{
	return (struct labjob_runner){
		.start = runner_start,
		.stop = runner_stop,
		.startup = runner_startup,
		.cancel = labjob_cancel,
		.abandon = labjob_abandon,
		.foreign = runner_foreign,
		.free = runner_free,
		.ctx = labjobs_new(d),
	};
}

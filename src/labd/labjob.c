/* One netlab job on one lab slot, the engine: creation, the lab lock, children, the end
 * (the phases a job goes through are in labjob_steps.c).
 *
 * A job is a short sequence of phases; each phase runs netlab steps as children and its
 * completion callback moves the job on. Jobs on the `default` instance first take
 * <tmp>/netlab_pytest.lock (retried on a timer while a local netlab user holds it, never
 * blocking the loop), as the original's fixtures expect; multilab jobs run in parallel. */
#define LOG_COMPONENT "neops_remote_lab.netlab.lab_manager"
#include "labjob.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/lock.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "labjob_int.h"
#include "netlab.h"

#define LABJOB_LOCK_RETRY_USEC (250 * USEC_PER_MSEC)

json_t *labjob_detail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "detail", msg);
}

void labjob_set_error(struct labjob *job, json_t *error)
{
	if (job->error == NULL)
		job->error = error;
	else
		json_decref(error);
}

static void labjob_free(struct labjob *job)
{
	size_t i;

	for (i = 0; i < LABJOB_PARALLEL; i++) {
		netlab_run_free(job->children[i].run);
		free(job->children[i].cwd);
		free(job->children[i].arg);
	}
	lock_release(job->lock_fd);
	sd_event_source_disable_unref(job->lock_timer);
	sd_event_source_disable_unref(job->kick);
	free(job->workdir);
	free(job->name);
	json_decref(job->names);
	json_decref(job->devices);
	json_decref(job->status);
	json_decref(job->adopt);
	json_decref(job->adopted);
	json_decref(job->leftovers);
	json_decref(job->error);
	json_decref(job->first_error);
	free(job);
}

/* The job is over: report and free it. */
void labjob_finish(struct labjob *job)
{
	struct labjob_result res = {
		.err = job->error ? (job->cancelled ? -ECANCELED : -EIO) : 0,
		.error = job->error,
		.devices = job->devices,
		.workdir = job->workdir,
		.netlab_calls = job->calls,
	};

	lock_release(job->lock_fd);
	job->lock_fd = -1;
	if (job->done != NULL)
		job->done(job, &res, job->userdata);
	labjob_free(job);
}

/* Remove a netlab directory, unless netlab still holds it. A default-instance directory is
 * then kept as the orphan; a multilab one is left for the next start-up cleanup. */
void labjob_settle_workdir(struct labjob *job, const char *workdir)
{
	if (workdir == NULL)
		return;
	if (!netlab_dir_locked(workdir))
		labjobs_remove_dir(workdir);
	else if (job->mlid == 0)
		labjobs_orphan(job->jobs, workdir);
	else
		log_error("netlab could not tear down instance %d in %s; keeping it for the next "
			  "start-up cleanup",
			  job->mlid, workdir);
}

/* --- children --- */

int labjob_run(struct labjob *job, size_t slot, enum netlab_step step, const char *cwd, int mlid,
	       const char *arg)
{
	struct labd *d = job->jobs->d;
	struct labjob_child *c = &job->children[slot];
	char *ncwd = cwd ? xstrdup(cwd) : NULL, *narg = arg ? xstrdup(arg) : NULL;
	int r;

	/* cwd and arg may be this child's own copies (a rerun without -i): copy first. */
	c->job = job;
	c->step = step;
	c->mlid = mlid;
	free(c->cwd);
	free(c->arg);
	c->cwd = ncwd;
	c->arg = narg;
	r = netlab_run(d->event, &d->netlab, step, c->cwd, mlid, c->arg, labjob_on_netlab, c,
		       &c->run);
	if (r < 0)
		labjob_set_error(
			job, labjob_detail("cannot run %s: %s", d->netlab.command, strerror(-r)));
	else
		job->calls++;
	return r;
}

/* Run step as the job's single child; on failure to spawn, advance at once. */
void labjob_run1(struct labjob *job, enum labjob_phase phase, enum netlab_step step,
		 const char *cwd, int mlid, const char *arg)
{
	job->phase = phase;
	if (labjob_run(job, 0, step, cwd, mlid, arg) < 0)
		labjob_step(job);
}

bool labjob_children_running(const struct labjob *job)
{
	size_t i;

	for (i = 0; i < LABJOB_PARALLEL; i++)
		if (job->children[i].run != NULL)
			return true;
	return false;
}

/* --- the lab lock --- */

static int labjob_on_lock_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Take the cross-process lab lock for a default-instance job, then begin. */
static void labjob_take_lock(struct labjob *job)
{
	struct labd *d = job->jobs->d;
	int r;

	if (job->mlid != 0 && job->kind != LABJOB_STARTUP) {
		labjob_begin(job);
		return;
	}
	r = lock_try(d->lab_lock_path, &job->lock_fd);
	if (r == -EWOULDBLOCK && !job->cancelled) {
		if (!job->lock_wait_logged)
			log_info("Lab lock %s is held by another process - waiting",
				 d->lab_lock_path);
		job->lock_wait_logged = true;
		(void)loop_timer_arm(d->event, &job->lock_timer, LABJOB_LOCK_RETRY_USEC,
				     labjob_on_lock_timer, job);
		return;
	}
	if (r < 0) {
		job->lock_fd = -1;
		if (r != -EWOULDBLOCK)
			log_error("cannot take the lab lock %s: %s", d->lab_lock_path,
				  strerror(-r));
		labjob_set_error(job, labjob_detail("cannot take the lab lock %s: %s",
						    d->lab_lock_path, strerror(-r)));
		labjob_finish(job);
		return;
	}
	if (job->lock_wait_logged)
		log_info("Lab lock %s acquired", d->lab_lock_path);
	labjob_begin(job);
}

static int labjob_on_lock_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	labjob_take_lock(userdata);
	return 0;
}

/* Jobs begin from a fresh loop iteration: the caller gets its handle first. */
static int labjob_on_kick(sd_event_source *s, void *userdata)
{
	labjob_take_lock(userdata);
	return 0;
}

static struct labjob *labjob_new(struct labjobs *jobs, enum labjob_kind kind, int mlid,
				 labjob_done_fn done, void *userdata)
{
	struct labjob *job = xcalloc(1, sizeof(*job));

	job->jobs = jobs;
	job->kind = kind;
	job->mlid = mlid;
	job->lock_fd = -1;
	job->phase = PHASE_LOCK;
	job->done = done;
	job->userdata = userdata;
	if (sd_event_add_defer(jobs->d->event, &job->kick, labjob_on_kick, job) < 0) {
		free(job);
		return NULL;
	}
	return job;
}

int labjob_start(struct labjobs *jobs, int mlid, const struct upload *u, labjob_done_fn done,
		 void *userdata, struct labjob **ret)
{
	struct labjob *job = labjob_new(jobs, LABJOB_START, mlid, done, userdata);

	if (job == NULL)
		return -ENOMEM;
	job->upload = u;
	job->name = xstrdup(u->topology_name);
	*ret = job;
	return 0;
}

int labjob_stop(struct labjobs *jobs, int mlid, const char *workdir, const char *name,
		const char *reason, labjob_done_fn done, void *userdata, struct labjob **ret)
{
	struct labjob *job = labjob_new(jobs, LABJOB_STOP, mlid, done, userdata);

	if (job == NULL)
		return -ENOMEM;
	job->workdir = xstrdup(workdir);
	job->name = xstrdup(name ? name : workdir);
	snprintf(job->reason, sizeof(job->reason), "%s", reason);
	*ret = job;
	return 0;
}

int labjob_startup_cleanup(struct labjobs *jobs, bool all_instances, const json_t *adopt,
			   const json_t *leftovers, labjob_done_fn done, void *userdata,
			   struct labjob **ret)
{
	struct labjob *job = labjob_new(jobs, LABJOB_STARTUP, 0, done, userdata);

	if (job == NULL)
		return -ENOMEM;
	job->all_instances = all_instances;
	job->adopt = adopt ? json_deep_copy(adopt) : json_array();
	job->leftovers = leftovers ? json_deep_copy(leftovers) : json_array();
	*ret = job;
	return 0;
}

void labjob_abandon(struct labjob *job)
{
	if (job == NULL)
		return;
	job->done = NULL;
	labjob_free(job);
}

void labjob_cancel(struct labjob *job)
{
	size_t i;

	if (job == NULL)
		return;
	job->cancelled = true;
	/* An up, inspect or sanity down is interrupted; cleanups and stops are left to finish. */
	if (job->kind == LABJOB_START && job->phase != PHASE_CLEANUP_FAILED)
		for (i = 0; i < LABJOB_PARALLEL; i++)
			netlab_interrupt(job->children[i].run);
}

/* One netlab job on one lab slot: start a lab, stop a lab, or the start-up cleanup.
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
#include "netlab.h"

#define LABJOB_PARALLEL 4 /* node inspections at once (they only read netlab's snapshot) */
#define LABJOB_LOCK_RETRY_USEC (250 * USEC_PER_MSEC)

enum labjob_kind {
	LABJOB_START,
	LABJOB_STOP,
	LABJOB_STARTUP,
};

enum labjob_phase {
	PHASE_LOCK,           /* waiting for the lab lock */
	PHASE_STARTUP_DOWN,   /* down --instance default --cleanup at start-up */
	PHASE_STARTUP_STATUS, /* status --all, to find our multilab instances */
	PHASE_STARTUP_DOWN_ML,/* down -i ID --cleanup --force, one instance after another */
	PHASE_SANITY_DOWN,    /* down --instance default before starting the default instance */
	PHASE_UP,
	PHASE_INSPECT_ALL,
	PHASE_INSPECT_NODES,
	PHASE_INSPECT_NODE,
	PHASE_CLEANUP_FAILED, /* down --cleanup --force after a failed start */
	PHASE_DOWN,           /* down --cleanup of a running lab */
	PHASE_DOWN_FORCE,     /* ... retried with --force */
};

struct labjobs {
	struct labd *d;
	/* A default-instance directory whose teardown failed: netlab's registry may still point
	 * at it, so it stays until a `netlab down --instance default --cleanup` succeeds. */
	char *orphan_workdir;
	/* This netlab cannot evaluate the one-call inspect expression: inspect node by node. */
	bool inspect_all_unsupported;
	json_t *foreign;          /* multilab ids netlab runs in directories not ours */
};

struct labjob_child {
	struct labjob *job;
	struct netlab_run *run;
	size_t node;
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
	json_t *names;            /* node names (node-by-node inspection) */
	size_t next_node;
	json_t *devices;
	json_t *status;           /* start-up: `status --all` */
	void *status_iter;
	/* stop */
	char *name;
	char reason[192];
	json_t *error;            /* the first failure: {"detail":..., "netlab":{...}} */
	json_t *first_error;      /* a stop's first failure while it retries with --force */
	labjob_done_fn done;
	void *userdata;
};

static void labjob_step(struct labjob *job);

static json_t *labjob_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *labjob_detail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "detail", msg);
}

static void labjob_set_error(struct labjob *job, json_t *error)
{
	if (job->error == NULL)
		job->error = error;
	else
		json_decref(error);
}

static void labjob_free(struct labjob *job)
{
	size_t i;

	for (i = 0; i < LABJOB_PARALLEL; i++)
		netlab_run_free(job->children[i].run);
	lock_release(job->lock_fd);
	sd_event_source_disable_unref(job->lock_timer);
	sd_event_source_disable_unref(job->kick);
	free(job->workdir);
	free(job->name);
	json_decref(job->names);
	json_decref(job->devices);
	json_decref(job->status);
	json_decref(job->error);
	json_decref(job->first_error);
	free(job);
}

/* The job is over: report and free it. */
static void labjob_finish(struct labjob *job)
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

/* --- directories netlab may still hold --- */

static void labjobs_remove_dir(const char *dir)
{
	int r = fs_rm_rf(dir);

	if (r < 0)
		log_warn("cannot remove %s: %s, ignoring", dir, strerror(-r));
}

/* Keep a default-instance directory that could not be torn down (see orphan_workdir). */
static void labjobs_orphan(struct labjobs *jobs, const char *workdir)
{
	if (jobs->orphan_workdir != NULL) {
		log_warn("Removing older orphaned netlab directory %s", jobs->orphan_workdir);
		labjobs_remove_dir(jobs->orphan_workdir);
		free(jobs->orphan_workdir);
	}
	log_error("netlab could not tear down %s; keeping it so the next "
		  "`netlab down --instance default --cleanup` can finish the job", workdir);
	jobs->orphan_workdir = xstrdup(workdir);
}

/* After a default-instance teardown: drop the orphan once netlab let go of it. */
static void labjobs_clear_orphan(struct labjobs *jobs)
{
	if (jobs->orphan_workdir == NULL || netlab_dir_locked(jobs->orphan_workdir))
		return;
	log_info("Removing orphaned netlab directory %s", jobs->orphan_workdir);
	labjobs_remove_dir(jobs->orphan_workdir);
	free(jobs->orphan_workdir);
	jobs->orphan_workdir = NULL;
}

/* Remove a netlab directory, unless netlab still holds it. A default-instance directory is
 * then kept as the orphan; a multilab one is left for the next start-up cleanup. */
static void labjob_settle_workdir(struct labjob *job, const char *workdir)
{
	if (workdir == NULL)
		return;
	if (!netlab_dir_locked(workdir))
		labjobs_remove_dir(workdir);
	else if (job->mlid == 0)
		labjobs_orphan(job->jobs, workdir);
	else
		log_error("netlab could not tear down instance %d in %s; keeping it for the next "
			  "start-up cleanup", job->mlid, workdir);
}

/* --- children --- */

static void labjob_on_netlab(struct netlab_run *run, bool ok, struct spawn_result *res,
			     void *userdata);

static int labjob_run(struct labjob *job, size_t slot, enum netlab_step step, const char *cwd,
		      int mlid, const char *arg)
{
	struct labd *d = job->jobs->d;
	int r;

	job->children[slot].job = job;
	r = netlab_run(d->event, &d->netlab, step, cwd, mlid, arg, labjob_on_netlab,
		       &job->children[slot], &job->children[slot].run);
	if (r < 0)
		labjob_set_error(job, labjob_detail("cannot run %s: %s", d->netlab.command,
						    strerror(-r)));
	else
		job->calls++;
	return r;
}

/* Run step as the job's single child; on failure to spawn, advance at once. */
static void labjob_run1(struct labjob *job, enum labjob_phase phase, enum netlab_step step,
			const char *cwd, int mlid, const char *arg)
{
	job->phase = phase;
	if (labjob_run(job, 0, step, cwd, mlid, arg) < 0)
		labjob_step(job);
}

static bool labjob_children_running(const struct labjob *job)
{
	size_t i;

	for (i = 0; i < LABJOB_PARALLEL; i++)
		if (job->children[i].run != NULL)
			return true;
	return false;
}

/* --- the start sequence --- */

static void labjob_fail_start(struct labjob *job)
{
	/* After a failed or interrupted `up`, netlab may have left its lock, registry entry
	 * and containers behind: clean up before the directory goes. */
	if (job->up_started) {
		job->up_started = false;
		log_info("Cleaning up after the failed start in %s", job->workdir);
		labjob_run1(job, PHASE_CLEANUP_FAILED, NETLAB_DOWN_FORCE, job->workdir, job->mlid,
			    NULL);
		return;
	}
	job->phase = PHASE_CLEANUP_FAILED;
	labjob_step(job);
}

/* Start the next node inspection in a free child slot; false when none was started. */
static bool labjob_next_node(struct labjob *job, size_t slot)
{
	if (job->error != NULL || job->cancelled || job->next_node >= json_array_size(job->names))
		return false;
	job->children[slot].node = job->next_node++;
	return labjob_run(job, slot, NETLAB_INSPECT_NODE, job->workdir, job->mlid,
			  json_string_value(json_array_get(job->names, job->children[slot].node))) ==
	       0;
}

static void labjob_start_inspect_nodes(struct labjob *job)
{
	size_t i, n = json_array_size(job->names);

	job->phase = PHASE_INSPECT_NODE;
	job->devices = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(job->devices, json_null());
	for (i = 0; i < LABJOB_PARALLEL; i++)
		if (!labjob_next_node(job, i))
			break;
	if (!labjob_children_running(job))
		labjob_step(job);
}

static void labjob_inspect(struct labjob *job)
{
	if (job->jobs->inspect_all_unsupported)
		labjob_run1(job, PHASE_INSPECT_NODES, NETLAB_INSPECT_NODES, job->workdir, job->mlid,
			    NULL);
	else
		labjob_run1(job, PHASE_INSPECT_ALL, NETLAB_INSPECT_ALL, job->workdir, job->mlid,
			    NULL);
}

static void labjob_prepare_and_up(struct labjob *job)
{
	struct labd *d = job->jobs->d;
	const char *name = job->upload->topology_name, *dot = strrchr(name, '.');
	char stem[64], *prefix;
	size_t n = dot ? (size_t)(dot - name) : strlen(name), i;
	int r;

	if (job->cancelled) {
		labjob_set_error(job, labjob_detail("Server is shutting down"));
		job->phase = PHASE_CLEANUP_FAILED;
		labjob_step(job);
		return;
	}
	if (n >= sizeof(stem))
		n = sizeof(stem) - 1;
	for (i = 0; i < n; i++)
		stem[i] = name[i] == '/' ? '_' : name[i];
	stem[n] = '\0';
	prefix = xasprintf("%s/netlab_topo_%s_", d->tmpdir, stem);
	r = fs_mkdtemp(prefix, &job->workdir);
	free(prefix);
	if (r < 0)
		labjob_set_error(job, labjob_detail("cannot create the netlab work directory: %s",
						    strerror(-r)));
	else if ((r = upload_install(job->upload, job->workdir)) < 0)
		labjob_set_error(job, labjob_detail("cannot copy the upload into %s: %s",
						    job->workdir, strerror(-r)));
	if (r < 0) {
		job->phase = PHASE_CLEANUP_FAILED;
		labjob_step(job);
		return;
	}
	log_debug("Topology copied to %s", job->workdir);
	log_info("Starting lab %s - this may take several minutes...", name);
	job->up_started = true;
	job->phase = PHASE_UP;
	if (labjob_run(job, 0, NETLAB_UP, job->workdir, job->mlid, name) < 0) {
		job->up_started = false;
		job->phase = PHASE_CLEANUP_FAILED;
		labjob_step(job);
	}
}

/* Before starting the default instance: tear down a `default` lab netlab still registers
 * (an orphan of ours, or a local user's). The lab lock is held, so when netlab's status
 * file registers none, the sanity teardown would only fail; it is skipped. */
static void labjob_begin_start(struct labjob *job)
{
	struct labd *d = job->jobs->d;
	int r;

	if (job->mlid == 0) {
		r = netlab_status_file_has_default(getenv("HOME"));
		if (r != 0) {
			if (r < 0)
				log_debug("cannot read netlab's status file (%s); tearing the "
					  "default instance down to be sure", strerror(-r));
			log_info("Tearing down default lab instance (reason: startup-sanity-check)");
			labjob_run1(job, PHASE_SANITY_DOWN, NETLAB_DOWN_DEFAULT, d->cwd, 0, NULL);
			return;
		}
		log_debug("netlab registers no default instance; no sanity teardown needed");
	}
	labjob_prepare_and_up(job);
}

/* --- the stop sequence --- */

/* A failed `netlab down --cleanup` is retried once with --force, which goes on to clean up
 * and unregister the instance even when stopping failed. True when the retry started. */
static bool labjob_stop_retry(struct labjob *job)
{
	if (job->error == NULL || job->phase == PHASE_DOWN_FORCE)
		return false;
	log_warn("Teardown of lab %s failed; retrying with --force", job->name);
	job->first_error = job->error;
	job->error = NULL;
	job->phase = PHASE_DOWN_FORCE;
	if (labjob_run(job, 0, NETLAB_DOWN_FORCE, job->workdir, job->mlid, NULL) == 0)
		return true;
	json_decref(job->error);
	job->error = job->first_error;
	job->first_error = NULL;
	return false;
}

/* After the retry: success clears the error, failure reports the first one. */
static void labjob_stop_settle(struct labjob *job)
{
	if (job->first_error == NULL)
		return;
	if (job->error == NULL) {
		log_info("Forced teardown of lab %s succeeded", job->name);
		json_decref(job->first_error);
	} else {
		json_decref(job->error);
		job->error = job->first_error;
	}
	job->first_error = NULL;
}

/* --- start-up --- */

/* Our directories: <tmp>/netlab_topo_* */
static bool labjobs_is_ours(const struct labjobs *jobs, const char *dir)
{
	const char *tmp = jobs->d->tmpdir;
	size_t n = strlen(tmp);

	return dir != NULL && strncmp(dir, tmp, n) == 0 &&
	       strncmp(dir + n, "/netlab_topo_", strlen("/netlab_topo_")) == 0 &&
	       strstr(dir + n, "/..") == NULL;
}

/* Tear down the next multilab instance of ours from `status --all`; false when none is left. */
static bool labjob_startup_next_instance(struct labjob *job)
{
	struct labjobs *jobs = job->jobs;
	const char *id, *dir;
	json_t *entry;
	char *end;
	long mlid;

	for (; job->status_iter != NULL;
	     job->status_iter = json_object_iter_next(job->status, job->status_iter)) {
		id = json_object_iter_key(job->status_iter);
		entry = json_object_iter_value(job->status_iter);
		dir = json_string_value(json_object_get(entry, "dir"));
		mlid = strtol(id, &end, 10);
		if (*end != '\0' || mlid < NETLAB_MLID_MIN || mlid > NETLAB_MLID_MAX)
			continue; /* `default` was handled above */
		if (!labjobs_is_ours(jobs, dir)) {
			log_info("netlab instance %ld runs in %s, not ours: leaving it alone", mlid,
				 dir ? dir : "an unknown directory");
			json_array_append_new(jobs->foreign, json_integer(mlid));
			continue;
		}
		log_info("Tearing down stale lab instance %ld in %s (reason: server-startup)", mlid,
			 dir);
		free(job->workdir);
		job->workdir = xstrdup(dir);
		job->mlid = (int)mlid;
		job->status_iter = json_object_iter_next(job->status, job->status_iter);
		job->phase = PHASE_STARTUP_DOWN_ML;
		if (labjob_run(job, 0, NETLAB_DOWN_FORCE, job->workdir, job->mlid, NULL) == 0)
			return true;
		json_decref(job->error);
		job->error = NULL;
	}
	return false;
}

/* --- the state machine --- */

static void labjob_begin(struct labjob *job)
{
	struct labd *d = job->jobs->d;

	switch (job->kind) {
	case LABJOB_STARTUP:
		log_info("Tearing down default lab instance (reason: server-startup)");
		labjob_run1(job, PHASE_STARTUP_DOWN, NETLAB_DOWN_DEFAULT, d->cwd, 0, NULL);
		return;
	case LABJOB_START:
		labjob_begin_start(job);
		return;
	case LABJOB_STOP:
		log_info("Tearing down lab %s (reason: %s)", job->name, job->reason);
		labjob_run1(job, PHASE_DOWN, NETLAB_DOWN, job->workdir, job->mlid, NULL);
		return;
	}
}

/* Advance a job after its current phase completed (or could not start). */
static void labjob_step(struct labjob *job)
{
	switch (job->phase) {
	case PHASE_LOCK:
		labjob_begin(job);
		return;
	case PHASE_STARTUP_DOWN:
		if (job->error != NULL)
			log_warn("Startup cleanup encountered an error (this is normal if no default "
				 "instance was running): %s",
				 json_string_value(json_object_get(job->error, "detail")));
		else
			log_info("Startup cleanup completed successfully");
		json_decref(job->error);
		job->error = NULL;
		if (job->all_instances) {
			labjob_run1(job, PHASE_STARTUP_STATUS, NETLAB_STATUS_ALL, job->jobs->d->cwd, 0,
				    NULL);
			return;
		}
		labjob_finish(job);
		return;
	case PHASE_STARTUP_STATUS:
	case PHASE_STARTUP_DOWN_ML:
		json_decref(job->error);
		job->error = NULL;
		if (job->phase == PHASE_STARTUP_DOWN_ML) {
			if (!netlab_dir_locked(job->workdir))
				labjobs_remove_dir(job->workdir);
			else
				log_error("netlab could not tear down instance %d in %s", job->mlid,
					  job->workdir);
		}
		if (job->status != NULL && labjob_startup_next_instance(job))
			return;
		free(job->workdir);
		job->workdir = NULL;
		labjob_finish(job);
		return;
	case PHASE_SANITY_DOWN:
		/* Its failure is expected when no default instance runs. */
		json_decref(job->error);
		job->error = NULL;
		labjob_prepare_and_up(job);
		return;
	case PHASE_UP:
		if (job->error != NULL || job->cancelled) {
			labjob_fail_start(job);
			return;
		}
		labjob_inspect(job);
		return;
	case PHASE_INSPECT_ALL:
	case PHASE_INSPECT_NODES:
	case PHASE_INSPECT_NODE:
		if (job->error != NULL || job->cancelled) {
			labjob_fail_start(job);
			return;
		}
		if (job->phase == PHASE_INSPECT_NODES) {
			labjob_start_inspect_nodes(job);
			return;
		}
		labjob_finish(job);
		return;
	case PHASE_CLEANUP_FAILED:
		labjob_settle_workdir(job, job->workdir);
		free(job->workdir);
		job->workdir = NULL;
		if (job->error == NULL)
			job->error = labjob_detail(job->cancelled ? "Server is shutting down"
								  : "Lab start failed");
		labjob_finish(job);
		return;
	case PHASE_DOWN:
	case PHASE_DOWN_FORCE:
		if (labjob_stop_retry(job))
			return;
		labjob_stop_settle(job);
		labjob_settle_workdir(job, job->workdir);
		labjob_finish(job);
		return;
	}
}

/* A netlab child of this job finished. */
static void labjob_on_netlab(struct netlab_run *run, bool ok, struct spawn_result *res,
			     void *userdata)
{
	struct labjob_child *child = userdata;
	struct labjob *job = child->job;
	struct labjobs *jobs = job->jobs;
	json_t *parsed = NULL;

	if (job->phase == PHASE_INSPECT_ALL && !ok && netlab_inspect_all_unsupported(res)) {
		log_warn("This netlab cannot report every node's data in one call; inspecting node "
			 "by node from now on");
		jobs->inspect_all_unsupported = true;
		netlab_run_free(run);
		child->run = NULL;
		labjob_inspect(job);
		return;
	}
	if (!ok && job->phase != PHASE_STARTUP_STATUS)
		labjob_set_error(job, netlab_error_json(run, res));
	if (ok && (job->phase == PHASE_DOWN || job->phase == PHASE_DOWN_FORCE) &&
	    netlab_dir_locked(job->workdir))
		labjob_set_error(job, labjob_detail("`%s` exited 0 but %s/netlab.lock is still there",
						    netlab_run_cmdline(run), job->workdir));
	if (job->phase == PHASE_SANITY_DOWN || job->phase == PHASE_STARTUP_DOWN)
		labjobs_clear_orphan(jobs);
	if (job->phase == PHASE_STARTUP_STATUS) {
		/* exit 1 with a warning when netlab registers no lab at all */
		if (netlab_parse_status(buf_cstr(&res->out), res->out.len, &parsed) == 0) {
			job->status = parsed;
			job->status_iter = json_object_iter(parsed);
		} else if (!ok) {
			log_warn("`%s` failed; cannot look for stale lab instances",
				 netlab_run_cmdline(run));
		}
	}
	if (job->phase == PHASE_INSPECT_ALL && ok) {
		if (netlab_parse_devices(buf_cstr(&res->out), res->out.len, &parsed) == 0)
			job->devices = parsed;
		else
			labjob_set_error(job, labjob_detail("Unexpected JSON structure from `netlab "
							    "inspect`."));
	}
	if (job->phase == PHASE_INSPECT_NODES && ok) {
		if (netlab_parse_nodes(buf_cstr(&res->out), res->out.len, &parsed) == 0)
			job->names = parsed;
		else
			labjob_set_error(job, labjob_detail("Unexpected JSON structure from `netlab "
							    "inspect`."));
	}
	if (job->phase == PHASE_INSPECT_NODE && ok) {
		if (netlab_parse_node(buf_cstr(&res->out), res->out.len, &parsed) == 0)
			json_array_set_new(job->devices, child->node,
					   json_pack("{s:O, s:o}", "name",
						     json_array_get(job->names, child->node), "raw",
						     parsed));
		else
			labjob_set_error(job, labjob_detail("Unexpected output from `%s`",
							    netlab_run_cmdline(run)));
	}
	netlab_run_free(run);
	child->run = NULL;
	if (job->phase == PHASE_INSPECT_NODE) {
		(void)labjob_next_node(job, (size_t)(child - job->children));
		if (labjob_children_running(job))
			return;
	}
	labjob_step(job);
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
			log_error("cannot take the lab lock %s: %s", d->lab_lock_path, strerror(-r));
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

int labjob_startup_cleanup(struct labjobs *jobs, bool all_instances, labjob_done_fn done,
			   void *userdata, struct labjob **ret)
{
	struct labjob *job = labjob_new(jobs, LABJOB_STARTUP, 0, done, userdata);

	if (job == NULL)
		return -ENOMEM;
	job->all_instances = all_instances;
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
		       const char *reason, labjob_done_fn done, void *userdata,
		       struct labjob **ret)
{
	return labjob_stop(ctx, mlid, workdir, name, reason, done, userdata, ret);
}

static int runner_startup(void *ctx, bool all_instances, labjob_done_fn done, void *userdata,
			  struct labjob **ret)
{
	return labjob_startup_cleanup(ctx, all_instances, done, userdata, ret);
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

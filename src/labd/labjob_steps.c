/* One netlab job on one lab slot, its phases: the start sequence (sanity teardown when
 * needed, up, the one-call inspect or node by node), the stop sequence (down, retried with
 * --force), the start-up cleanup (the default instance, then our multilab instances), and
 * what each netlab child's result means. */
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
			  json_string_value(
				  json_array_get(job->names, job->children[slot].node))) == 0;
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

void labjob_inspect(struct labjob *job)
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
					  "default instance down to be sure",
					  strerror(-r));
			log_info(
				"Tearing down default lab instance (reason: startup-sanity-check)");
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

/* --- the state machine --- */

void labjob_begin(struct labjob *job)
{
	switch (job->kind) {
	case LABJOB_STARTUP:
		labjob_startup_begin(job);
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
void labjob_step(struct labjob *job)
{
	if (job->kind == LABJOB_STARTUP && labjob_startup_step(job))
		return;
	switch (job->phase) {
	case PHASE_LOCK:
		labjob_begin(job);
		return;
	case PHASE_STARTUP_DOWN:
	case PHASE_STARTUP_STATUS:
	case PHASE_STARTUP_DOWN_ML:
	case PHASE_ADOPT:
		return; /* labjob_startup_step's */
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
void labjob_on_netlab(struct netlab_run *run, bool ok, struct spawn_result *res, void *userdata)
{
	struct labjob_child *child = userdata;
	struct labjob *job = child->job;
	struct labjobs *jobs = job->jobs;
	json_t *parsed = NULL;

	/* netlab reads its status file without a lock; a lookup of -i N that raced another
	 * lab's registry rewrite finds no instance. The command ran in the lab's directory
	 * anyway: run it there once more, without -i, where netlab needs no lookup. */
	if (!ok && child->mlid > 0 && netlab_unknown_instance(res)) {
		log_warn("`%s` found no instance %d (netlab's status file was being rewritten?); "
			 "running it again in %s without -i",
			 netlab_run_cmdline(run), child->mlid, child->cwd);
		netlab_run_free(run);
		child->run = NULL;
		if (labjob_run(job, (size_t)(child - job->children), child->step, child->cwd, 0,
			       child->arg) == 0)
			return;
		labjob_step(job);
		return;
	}
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
		labjob_set_error(job,
				 labjob_detail("`%s` exited 0 but %s/netlab.lock is still there",
					       netlab_run_cmdline(run), job->workdir));
	if (job->phase == PHASE_SANITY_DOWN || job->phase == PHASE_STARTUP_DOWN)
		labjobs_clear_orphan(jobs);
	if (job->phase == PHASE_STARTUP_STATUS)
		labjob_startup_status(job, ok, res);
	if (job->phase == PHASE_INSPECT_ALL && ok) {
		if (netlab_parse_devices(buf_cstr(&res->out), res->out.len, &parsed) == 0)
			job->devices = parsed;
		else
			labjob_set_error(job,
					 labjob_detail("Unexpected JSON structure from `netlab "
						       "inspect`."));
	}
	if (job->phase == PHASE_INSPECT_NODES && ok) {
		if (netlab_parse_nodes(buf_cstr(&res->out), res->out.len, &parsed) == 0)
			job->names = parsed;
		else
			labjob_set_error(job,
					 labjob_detail("Unexpected JSON structure from `netlab "
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

/* The start-up job's phases: re-adopt the labs the previous run kept (--keep-labs) after
 * checking them with netlab itself, tear down what is stale (the default instance, our
 * multilab instances) but never an adopted lab or another user's, and remove the directories
 * a crashed instance left behind. */
#define LOG_COMPONENT "neops_remote_lab.netlab.lab_manager"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "labjob_int.h"

/* Our directories: <tmp>/netlab_topo_* */
static bool labjobs_is_ours(const struct labjobs *jobs, const char *dir)
{
	const char *tmp = jobs->d->tmpdir;
	size_t n = strlen(tmp);

	return dir != NULL && strncmp(dir, tmp, n) == 0 &&
	       strncmp(dir + n, "/netlab_topo_", strlen("/netlab_topo_")) == 0 &&
	       strstr(dir + n, "/..") == NULL;
}

static const char *cand_workdir(const json_t *cand)
{
	return json_string_value(json_object_get(cand, "workdir"));
}

static int cand_mlid(const json_t *cand)
{
	return (int)json_integer_value(json_object_get(cand, "mlid"));
}

/* Was this directory (or multilab id, when dir is NULL) re-adopted? */
static bool labjob_adopted(const struct labjob *job, const char *dir, int mlid)
{
	size_t i;

	for (i = 0; i < json_array_size(job->adopted); i++) {
		const json_t *cand = json_array_get(job->adopt, i);

		if (json_is_null(json_array_get(job->adopted, i)))
			continue;
		if (dir != NULL ? strcmp(cand_workdir(cand), dir) == 0 : cand_mlid(cand) == mlid)
			return true;
	}
	return false;
}

static void labjob_after_default_down(struct labjob *job);

/* Check and inspect the next recorded lab; after the last one, the default instance. */
static void labjob_adopt_next(struct labjob *job)
{
	struct stat st;

	while (job->adopt_next < json_array_size(job->adopt)) {
		const json_t *cand = json_array_get(job->adopt, job->adopt_next);
		const char *dir = cand_workdir(cand), *registered;
		int mlid = cand_mlid(cand);
		char key[16];
		const char *why = NULL;

		job->adopt_next++;
		if (mlid > 0)
			snprintf(key, sizeof(key), "%d", mlid);
		else
			snprintf(key, sizeof(key), "default");
		registered = json_string_value(
			json_object_get(json_object_get(job->status, key), "dir"));
		if (dir == NULL || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			why = "its directory is gone";
		else if (!netlab_dir_locked(dir))
			why = "netlab.lock is gone (the lab is down)";
		else if (registered == NULL)
			why = "netlab does not register its instance";
		else if (strcmp(registered, dir) != 0)
			why = "netlab registers its instance in another directory";
		if (why != NULL) {
			log_warn("Not re-adopting the lab in %s (instance %s): %s", dir ? dir : "?",
				 key, why);
			json_array_append_new(job->adopted, json_null());
			continue;
		}
		log_info("Re-adopting the lab in %s (instance %s)", dir, key);
		free(job->workdir);
		job->workdir = xstrdup(dir);
		job->mlid = mlid;
		json_decref(job->names);
		job->names = NULL;
		json_decref(job->devices);
		job->devices = NULL;
		job->next_node = 0;
		labjob_inspect(job);
		return;
	}
	job->mlid = 0;
	free(job->workdir);
	job->workdir = NULL;
	if (labjob_adopted(job, NULL, 0)) {
		log_info("Sparing the default instance: its lab was re-adopted");
		labjob_after_default_down(job);
		return;
	}
	log_info("Tearing down default lab instance (reason: server-startup)");
	labjob_run1(job, PHASE_STARTUP_DOWN, NETLAB_DOWN_DEFAULT, job->jobs->d->cwd, 0, NULL);
}

/* An adopted lab's inspection is over: record its devices (or that it is gone). */
static void labjob_adopt_done(struct labjob *job)
{
	if (job->error != NULL || job->cancelled || job->devices == NULL) {
		log_warn("Not re-adopting the lab in %s: `netlab inspect` failed", job->workdir);
		json_array_append_new(job->adopted, json_null());
	} else {
		json_array_append(job->adopted, job->devices);
	}
	json_decref(job->error);
	job->error = NULL;
	labjob_adopt_next(job);
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
		if (labjob_adopted(job, dir, (int)mlid))
			continue;
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

/* The end: remove what a previous instance left behind, report the adoptions. */
static void labjob_startup_finish(struct labjob *job)
{
	size_t i, removed = 0;
	json_t *v;

	json_array_foreach (job->leftovers, i, v) {
		const char *dir = json_string_value(v);

		if (labjob_adopted(job, dir, -1))
			continue;
		if (netlab_dir_locked(dir)) {
			log_warn("Keeping %s: netlab still holds it (see `netlab status --all`)",
				 dir);
			continue;
		}
		labjobs_remove_dir(dir);
		removed++;
	}
	if (removed > 0)
		log_info("Removed %zu directories a previous instance left behind", removed);
	free(job->workdir);
	job->workdir = NULL;
	json_decref(job->devices);
	job->devices = json_incref(job->adopted);
	labjob_finish(job);
}

static void labjob_after_default_down(struct labjob *job)
{
	if (job->all_instances && job->status != NULL) {
		job->status_iter = json_object_iter(job->status);
		if (labjob_startup_next_instance(job))
			return;
	}
	labjob_startup_finish(job);
}

void labjob_startup_begin(struct labjob *job)
{
	job->adopted = json_array();
	if (job->all_instances || json_array_size(job->adopt) > 0) {
		labjob_run1(job, PHASE_STARTUP_STATUS, NETLAB_STATUS_ALL, job->jobs->d->cwd, 0,
			    NULL);
		return;
	}
	labjob_adopt_next(job);
}

void labjob_startup_status(struct labjob *job, bool ok, const struct spawn_result *res)
{
	json_t *parsed = NULL;

	/* exit 1 with a warning when netlab registers no lab at all */
	if (netlab_parse_status(buf_cstr(&res->out), res->out.len, &parsed) == 0)
		job->status = parsed;
	else
		log_warn(
			"`netlab status --all` failed; cannot look for stale or kept lab instances");
}

bool labjob_startup_step(struct labjob *job)
{
	switch (job->phase) {
	case PHASE_STARTUP_STATUS:
		json_decref(job->error);
		job->error = NULL;
		labjob_adopt_next(job);
		return true;
	case PHASE_INSPECT_NODES:
		if (job->error == NULL && !job->cancelled)
			return false; /* the node by node inspections start as for a start */
		labjob_adopt_done(job);
		return true;
	case PHASE_INSPECT_ALL:
	case PHASE_INSPECT_NODE:
		labjob_adopt_done(job);
		return true;
	case PHASE_STARTUP_DOWN:
		if (job->error != NULL)
			log_warn(
				"Startup cleanup encountered an error (this is normal if no default "
				"instance was running): %s",
				json_string_value(json_object_get(job->error, "detail")));
		else
			log_info("Startup cleanup completed successfully");
		json_decref(job->error);
		job->error = NULL;
		labjob_after_default_down(job);
		return true;
	case PHASE_STARTUP_DOWN_ML:
		json_decref(job->error);
		job->error = NULL;
		if (!netlab_dir_locked(job->workdir))
			labjobs_remove_dir(job->workdir);
		else
			log_error("netlab could not tear down instance %d in %s", job->mlid,
				  job->workdir);
		if (labjob_startup_next_instance(job))
			return true;
		labjob_startup_finish(job);
		return true;
	default:
		return false;
	}
}

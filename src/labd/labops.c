/* Lab operations: acquire and teardown run as netlab steps under the lab lock, one at a time.
 *
 * Operations wait in a FIFO. The head takes <tmp>/netlab_pytest.lock (retrying on a timer
 * while a local netlab user holds it, never blocking the loop), then runs its netlab steps
 * as child processes; each step's completion callback moves the operation to its next
 * phase. The lab state (lab.c) changes only here. */
#define LOG_COMPONENT "neops_remote_lab.netlab.lab_manager"
#include "labops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/fsutil.h"
#include "common/lock.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "netlab.h"

#define LABOPS_PARALLEL 4
#define LABOPS_LOCK_RETRY_USEC (250 * USEC_PER_MSEC)

enum labop_kind {
	LABOP_STARTUP_CLEANUP,
	LABOP_ACQUIRE,
	LABOP_TEARDOWN,
};

enum labop_phase {
	PHASE_STARTUP_DOWN,   /* netlab down --instance default --cleanup at startup */
	PHASE_TEARDOWN,       /* netlab down --cleanup of the current lab (teardown op) */
	PHASE_TEARDOWN_OLD,   /* the same, before a restart or a topology switch */
	PHASE_DOWN_DEFAULT,   /* sanity teardown of the default instance before up */
	PHASE_UP,
	PHASE_INSPECT_NODES,
	PHASE_INSPECT_NODE,
	PHASE_CLEANUP_FAILED, /* netlab down --cleanup --force after a failed start */
};

struct labop;

struct labop_slot {
	struct labop *op;
	struct netlab_run *run;
	size_t node;
};

struct labop {
	enum labop_kind kind;
	enum labop_phase phase;
	struct labops *ops;
	TAILQ_ENTRY(labop) link;
	bool cancelled;
	/* acquire */
	struct http_request *req;
	char session_id[SESSION_ID_LEN + 1];
	struct upload *upload;
	bool upload_kept;        /* the lab now owns the upload directory */
	bool reuse;
	char *workdir;
	bool up_started;
	json_t *names;
	json_t *devices;
	size_t next_node;
	struct labop_slot slots[LABOPS_PARALLEL];
	json_t *error;           /* first failure: {"detail":..., "netlab":{...}} */
	json_t *first_error;     /* a teardown's first failure while it retries with --force */
	bool forced;             /* the teardown retry with --force has run */
	/* teardown */
	char reason[192];
	labops_done_fn done;
	void *done_userdata;
};

TAILQ_HEAD(labop_list, labop);

struct labops {
	struct labd *d;
	struct labop_list queue;
	struct labop *running;
	int lock_fd;
	bool lock_wait_logged;
	/* A netlab directory whose teardown failed: netlab's registry may still point at it,
	 * so it stays until a `netlab down --instance default --cleanup` succeeds. */
	char *orphan_workdir;
	sd_event_source *lock_timer;
	sd_event_source *kick;
};

static void labop_step(struct labop *op);
static void labops_kick(struct labops *ops);

static const char *labop_stem(const char *name, char *out, size_t len)
{
	const char *dot = strrchr(name, '.');
	size_t n = dot ? (size_t)(dot - name) : strlen(name), i;

	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		out[i] = name[i] == '/' ? '_' : name[i];
	out[n] = '\0';
	return out;
}

static void labop_free(struct labop *op)
{
	size_t i;

	for (i = 0; i < LABOPS_PARALLEL; i++)
		netlab_run_free(op->slots[i].run);
	if (op->upload != NULL) {
		if (!op->upload_kept)
			upload_remove(op->upload);
		upload_free(op->upload);
		free(op->upload);
	}
	free(op->workdir);
	json_decref(op->names);
	json_decref(op->devices);
	json_decref(op->error);
	json_decref(op->first_error);
	free(op);
}

static void labop_respond(struct labop *op, unsigned status, json_t *body)
{
	if (op->req == NULL) {
		json_decref(body);
		return;
	}
	if (body != NULL)
		http_respond_json(op->req, status, body);
	else
		http_respond_empty(op->req, status);
	op->req = NULL;
}

static json_t *labop_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *labop_detail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "detail", msg);
}

static void labop_set_error(struct labop *op, json_t *error)
{
	if (op->error == NULL)
		op->error = error;
	else
		json_decref(error);
}

/* The operation is over: release the lock, account the session, report, start the next. */
static void labop_finish(struct labop *op)
{
	struct labops *ops = op->ops;
	struct labd *d = ops->d;
	struct session *s;

	lock_release(ops->lock_fd);
	ops->lock_fd = -1;
	ops->running = NULL;
	if (op->kind == LABOP_ACQUIRE) {
		s = queue_find(&d->queue, op->session_id);
		if (s != NULL) {
			if (s->busy > 0)
				s->busy--;
			labd_session_touch(d, s);
		}
		if (op->req != NULL) /* every path answers; this is a safety net */
			labop_respond(op, 500, labop_detail("Lab operation ended without a result"));
	}
	if (op->done != NULL)
		op->done(d, op->error ? -EIO : 0, op->error, op->done_userdata);
	labop_free(op);
	labops_kick(ops);
}

static void labops_remove_dir(const char *dir)
{
	int r = fs_rm_rf(dir);

	if (r < 0)
		log_warn("cannot remove %s: %s, ignoring", dir, strerror(-r));
}

/* Keep a netlab directory that could not be torn down (see orphan_workdir). */
static void labops_orphan(struct labops *ops, const char *workdir)
{
	if (ops->orphan_workdir != NULL) {
		log_warn("Removing older orphaned netlab directory %s", ops->orphan_workdir);
		labops_remove_dir(ops->orphan_workdir);
		free(ops->orphan_workdir);
	}
	log_error("netlab could not tear down %s; keeping it so the next "
		  "`netlab down --instance default --cleanup` can finish the job", workdir);
	ops->orphan_workdir = xstrdup(workdir);
}

/* After a default-instance teardown: drop the orphan once netlab let go of it. */
static void labops_clear_orphan(struct labops *ops)
{
	if (ops->orphan_workdir == NULL || netlab_dir_locked(ops->orphan_workdir))
		return;
	log_info("Removing orphaned netlab directory %s", ops->orphan_workdir);
	labops_remove_dir(ops->orphan_workdir);
	free(ops->orphan_workdir);
	ops->orphan_workdir = NULL;
}

/* Remove a netlab directory, unless netlab still holds it (then keep it as the orphan). */
static void labops_settle_workdir(struct labops *ops, const char *workdir)
{
	if (workdir == NULL)
		return;
	if (netlab_dir_locked(workdir))
		labops_orphan(ops, workdir);
	else
		labops_remove_dir(workdir);
}

/* Remove the directories of the current lab and forget it. */
static void labop_forget_lab(struct labops *ops)
{
	struct labd *d = ops->d;
	int r;

	labops_settle_workdir(ops, d->lab.workdir);
	if (d->lab.upload_dir != NULL && (r = fs_rm_rf(d->lab.upload_dir)) < 0)
		log_warn("cannot remove %s: %s, ignoring", d->lab.upload_dir, strerror(-r));
	lab_clear(&d->lab);
	labd_idle_cancel(d);
}

static void labop_on_netlab(struct netlab_run *run, bool ok, struct spawn_result *res,
			    void *userdata);

static int labop_run(struct labop *op, size_t slot, enum netlab_step step, const char *cwd,
		     const char *arg)
{
	struct labd *d = op->ops->d;
	int r;

	op->slots[slot].op = op;
	r = netlab_run(d->event, &d->netlab, step, cwd, arg, labop_on_netlab, &op->slots[slot],
		       &op->slots[slot].run);
	if (r < 0)
		labop_set_error(op, labop_detail("cannot run %s: %s", d->netlab.command,
						 strerror(-r)));
	return r;
}

/* --- the start sequence --- */

static void labop_fail_start(struct labop *op)
{
	/* After a failed or interrupted `up`, netlab may have left its lock, registry entry
	 * and containers behind: clean up before the directory goes. */
	if (op->up_started) {
		op->phase = PHASE_CLEANUP_FAILED;
		log_info("Cleaning up after the failed start in %s", op->workdir);
		if (labop_run(op, 0, NETLAB_DOWN_FORCE, op->workdir, NULL) == 0)
			return;
	}
	op->phase = PHASE_CLEANUP_FAILED;
	labop_step(op);
}

static bool labop_children_running(const struct labop *op)
{
	size_t i;

	for (i = 0; i < LABOPS_PARALLEL; i++)
		if (op->slots[i].run != NULL)
			return true;
	return false;
}

/* Start the next node inspection in a free slot; false when none was started. */
static bool labop_next_node(struct labop *op, size_t slot)
{
	if (op->error != NULL || op->cancelled || op->next_node >= json_array_size(op->names))
		return false;
	op->slots[slot].node = op->next_node++;
	return labop_run(op, slot, NETLAB_INSPECT_NODE, op->workdir,
			 json_string_value(json_array_get(op->names, op->slots[slot].node))) == 0;
}

/* Inspect every node, LABOPS_PARALLEL at a time (they only read netlab's snapshot). */
static void labop_start_inspect_nodes(struct labop *op)
{
	size_t i, n = json_array_size(op->names);

	op->phase = PHASE_INSPECT_NODE;
	op->devices = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(op->devices, json_null());
	for (i = 0; i < LABOPS_PARALLEL; i++)
		if (!labop_next_node(op, i))
			break;
	if (!labop_children_running(op))
		labop_step(op);
}

static void labop_prepare_and_up(struct labop *op)
{
	struct labd *d = op->ops->d;
	char stem[64], *prefix;
	int r;

	if (op->cancelled) {
		labop_set_error(op, labop_detail("Server is shutting down"));
		op->phase = PHASE_CLEANUP_FAILED;
		labop_step(op);
		return;
	}
	labop_stem(op->upload->topology_name, stem, sizeof(stem));
	prefix = xasprintf("%s/netlab_topo_%s_", d->tmpdir, stem);
	r = fs_mkdtemp(prefix, &op->workdir);
	free(prefix);
	if (r < 0) {
		labop_set_error(op, labop_detail("cannot create the netlab work directory: %s",
						 strerror(-r)));
		op->phase = PHASE_CLEANUP_FAILED;
		labop_step(op);
		return;
	}
	r = upload_install(op->upload, op->workdir);
	if (r < 0) {
		labop_set_error(op, labop_detail("cannot copy the upload into %s: %s", op->workdir,
						 strerror(-r)));
		op->phase = PHASE_CLEANUP_FAILED;
		labop_step(op);
		return;
	}
	log_debug("Topology copied to %s", op->workdir);
	log_info("Starting lab %s - this may take several minutes...", op->upload->topology_name);
	op->phase = PHASE_UP;
	op->up_started = true;
	if (labop_run(op, 0, NETLAB_UP, op->workdir, op->upload->topology_name) < 0) {
		op->up_started = false;
		op->phase = PHASE_CLEANUP_FAILED;
		labop_step(op);
	}
}

static void labop_begin_start(struct labop *op)
{
	struct labd *d = op->ops->d;

	log_info("Tearing down default lab instance (reason: startup-sanity-check)");
	op->phase = PHASE_DOWN_DEFAULT;
	if (labop_run(op, 0, NETLAB_DOWN_DEFAULT, d->cwd, NULL) < 0) {
		op->phase = PHASE_CLEANUP_FAILED;
		labop_step(op);
	}
}

static void labop_succeed_start(struct labop *op)
{
	struct labd *d = op->ops->d;
	struct upload *u = op->upload;
	json_t *devices = op->devices ? op->devices : json_array();

	op->devices = NULL;
	lab_set_running(&d->lab, u->topology_path, u->topology_name, u->hash, op->workdir,
			u->dir, devices);
	op->upload_kept = true;
	labd_idle_cancel(d);
	log_info("Lab %s started (%zu devices)", u->topology_name, json_array_size(devices));
	labop_respond(op, 200, json_pack("{s:b, s:O}", "reused", 0, "devices", devices));
	labop_finish(op);
}

/* A failed `netlab down --cleanup` is retried once with --force, which goes on to clean up
 * and unregister the instance even when stopping failed. True when the retry started. */
static bool labop_teardown_retry(struct labop *op)
{
	struct labd *d = op->ops->d;

	if (op->error == NULL || op->forced)
		return false;
	op->forced = true;
	log_warn("Teardown of lab %s failed; retrying with --force", d->lab.name);
	op->first_error = op->error;
	op->error = NULL;
	if (labop_run(op, 0, NETLAB_DOWN_FORCE, d->lab.workdir, NULL) == 0)
		return true;
	json_decref(op->error);
	op->error = op->first_error;
	op->first_error = NULL;
	return false;
}

/* After the retry: success clears the error, failure reports the first one. */
static void labop_teardown_settle(struct labop *op)
{
	if (op->first_error == NULL)
		return;
	if (op->error == NULL) {
		log_info("Forced teardown of lab %s succeeded", op->ops->d->lab.name);
		json_decref(op->first_error);
	} else {
		json_decref(op->error);
		op->error = op->first_error;
	}
	op->first_error = NULL;
}

/* Advance an operation after its current phase completed (or could not start). */
static void labop_step(struct labop *op)
{
	switch (op->phase) {
	case PHASE_STARTUP_DOWN:
		if (op->error != NULL)
			log_warn("Startup cleanup encountered an error (this is normal if no default "
				 "instance was running): %s",
				 json_string_value(json_object_get(op->error, "detail")));
		else
			log_info("Startup cleanup completed successfully");
		json_decref(op->error);
		op->error = NULL;
		labop_finish(op);
		return;
	case PHASE_TEARDOWN:
		if (labop_teardown_retry(op))
			return;
		labop_teardown_settle(op);
		labop_forget_lab(op->ops);
		labop_finish(op);
		return;
	case PHASE_TEARDOWN_OLD:
		if (labop_teardown_retry(op))
			return;
		labop_teardown_settle(op);
		labop_forget_lab(op->ops);
		if (op->error != NULL) {
			labop_respond(op, 500, json_incref(op->error));
			labop_finish(op);
			return;
		}
		labop_begin_start(op);
		return;
	case PHASE_DOWN_DEFAULT:
		/* Its failure is expected when no default instance runs. */
		json_decref(op->error);
		op->error = NULL;
		labop_prepare_and_up(op);
		return;
	case PHASE_UP:
		if (op->error != NULL || op->cancelled) {
			labop_fail_start(op);
			return;
		}
		op->phase = PHASE_INSPECT_NODES;
		if (labop_run(op, 0, NETLAB_INSPECT_NODES, op->workdir, NULL) < 0)
			labop_fail_start(op);
		return;
	case PHASE_INSPECT_NODES:
		if (op->error != NULL || op->cancelled) {
			labop_fail_start(op);
			return;
		}
		labop_start_inspect_nodes(op);
		return;
	case PHASE_INSPECT_NODE:
		if (op->error != NULL || op->cancelled) {
			labop_fail_start(op);
			return;
		}
		labop_succeed_start(op);
		return;
	case PHASE_CLEANUP_FAILED:
		labops_settle_workdir(op->ops, op->workdir);
		if (op->cancelled)
			labop_respond(op, 503, labop_detail("Server is shutting down"));
		else
			labop_respond(op, 500, op->error ? json_incref(op->error)
							 : labop_detail("Lab start failed"));
		labop_finish(op);
		return;
	}
}

/* A netlab child of this operation finished. */
static void labop_on_netlab(struct netlab_run *run, bool ok, struct spawn_result *res,
			    void *userdata)
{
	struct labop_slot *slot = userdata;
	struct labop *op = slot->op;
	json_t *parsed = NULL;

	if (!ok)
		labop_set_error(op, netlab_error_json(run, res));
	if (ok && (op->phase == PHASE_TEARDOWN || op->phase == PHASE_TEARDOWN_OLD) &&
	    netlab_dir_locked(op->ops->d->lab.workdir))
		labop_set_error(op, labop_detail("`%s` exited 0 but %s/netlab.lock is still there",
						 netlab_run_cmdline(run),
						 op->ops->d->lab.workdir));
	if (op->phase == PHASE_DOWN_DEFAULT || op->phase == PHASE_STARTUP_DOWN)
		labops_clear_orphan(op->ops);
	if (op->phase == PHASE_INSPECT_NODES && ok) {
		if (netlab_parse_nodes(buf_cstr(&res->out), res->out.len, &parsed) == 0)
			op->names = parsed;
		else
			labop_set_error(op, labop_detail("Unexpected JSON structure from `netlab inspect`."));
	}
	if (op->phase == PHASE_INSPECT_NODE && ok) {
		if (netlab_parse_node(buf_cstr(&res->out), res->out.len, &parsed) == 0)
			json_array_set_new(op->devices, slot->node,
					   json_pack("{s:O, s:o}", "name",
						     json_array_get(op->names, slot->node), "raw",
						     parsed));
		else
			labop_set_error(op, labop_detail("Unexpected output from `%s`",
							 netlab_run_cmdline(run)));
	}
	netlab_run_free(run);
	slot->run = NULL;
	if (op->phase == PHASE_INSPECT_NODE) {
		(void)labop_next_node(op, (size_t)(slot - op->slots));
		if (labop_children_running(op))
			return;
	}
	labop_step(op);
}

/* --- acquire decision --- */

static void labop_begin_acquire(struct labop *op)
{
	struct labd *d = op->ops->d;
	struct upload *u = op->upload;
	struct session *s = queue_find(&d->queue, op->session_id);
	enum lab_decision decision;
	const char *name = u->topology_name;

	if (s == NULL || s->state != SESSION_ACTIVE || op->cancelled) {
		/* Ended (or shutting down) while this acquire waited behind another operation. */
		labop_respond(op, op->cancelled ? 503 : 404,
			      labop_detail(op->cancelled ? "Server is shutting down"
							 : "Session not found"));
		labop_finish(op);
		return;
	}
	labd_idle_cancel(d);
	decision = lab_decide(&d->lab, u->hash, op->reuse);
	switch (decision) {
	case LAB_BUSY:
		log_info("Lab %s is in use (ref=%d) - %s is busy", d->lab.name, d->lab.ref, name);
		labop_respond(op, 423, labop_detail("Lab currently busy"));
		labop_finish(op);
		return;
	case LAB_ATTACH:
		log_info("Re-using lab %s (ref=%d)", d->lab.name, lab_attach(&d->lab));
		labop_respond(op, 200, json_pack("{s:b, s:o}", "reused", 1, "devices",
						 lab_devices_json(&d->lab)));
		labop_finish(op);
		return;
	case LAB_START:
		log_info("No active lab - starting %s", name);
		labop_begin_start(op);
		return;
	case LAB_RESTART_EXCLUSIVE:
	case LAB_SWITCH:
		if (decision == LAB_RESTART_EXCLUSIVE)
			log_info("Exclusive request - restarting idle lab %s", d->lab.name);
		else
			log_info("Switching topology from %s to %s", d->lab.name, name);
		log_info("Tearing down lab %s (reason: %s)", d->lab.name,
			 decision == LAB_RESTART_EXCLUSIVE ? "exclusive-request" : "topology-switch");
		op->phase = PHASE_TEARDOWN_OLD;
		if (labop_run(op, 0, NETLAB_DOWN, d->lab.workdir, NULL) < 0)
			labop_step(op);
		return;
	}
}

static void labop_begin(struct labop *op)
{
	struct labd *d = op->ops->d;

	switch (op->kind) {
	case LABOP_STARTUP_CLEANUP:
		log_info("Tearing down default lab instance (reason: server-startup)");
		op->phase = PHASE_STARTUP_DOWN;
		if (labop_run(op, 0, NETLAB_DOWN_DEFAULT, d->cwd, NULL) < 0)
			labop_step(op);
		return;
	case LABOP_TEARDOWN:
		op->phase = PHASE_TEARDOWN;
		if (!d->lab.running) {
			labop_finish(op);
			return;
		}
		log_info("Tearing down lab %s (reason: %s)", d->lab.name, op->reason);
		if (labop_run(op, 0, NETLAB_DOWN, d->lab.workdir, NULL) < 0)
			labop_step(op);
		return;
	case LABOP_ACQUIRE:
		labop_begin_acquire(op);
		return;
	}
}

/* --- the queue and the lab lock --- */

static int labops_on_lock_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Try to take the cross-process lab lock for the running operation. */
static void labops_take_lock(struct labops *ops)
{
	struct labd *d = ops->d;
	struct labop *op = ops->running;
	int r;

	r = lock_try(d->lab_lock_path, &ops->lock_fd);
	if (r == -EWOULDBLOCK && !op->cancelled) {
		if (!ops->lock_wait_logged)
			log_info("Lab lock %s is held by another process - waiting",
				 d->lab_lock_path);
		ops->lock_wait_logged = true;
		(void)loop_timer_arm(d->event, &ops->lock_timer, LABOPS_LOCK_RETRY_USEC,
				     labops_on_lock_timer, ops);
		return;
	}
	if (r < 0) {
		ops->lock_fd = -1;
		if (r != -EWOULDBLOCK)
			log_error("cannot take the lab lock %s: %s", d->lab_lock_path, strerror(-r));
		labop_set_error(op, labop_detail("cannot take the lab lock %s: %s",
						 d->lab_lock_path, strerror(-r)));
		if (op->kind == LABOP_ACQUIRE)
			labop_respond(op, op->cancelled ? 503 : 500, json_incref(op->error));
		labop_finish(op);
		return;
	}
	if (ops->lock_wait_logged)
		log_info("Lab lock %s acquired", d->lab_lock_path);
	ops->lock_wait_logged = false;
	labop_begin(op);
}

static int labops_on_lock_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct labops *ops = userdata;

	if (ops->running != NULL)
		labops_take_lock(ops);
	return 0;
}

static int labops_on_kick(sd_event_source *s, void *userdata)
{
	struct labops *ops = userdata;
	struct labop *op;

	if (ops->running != NULL || (op = TAILQ_FIRST(&ops->queue)) == NULL)
		return 0;
	TAILQ_REMOVE(&ops->queue, op, link);
	ops->running = op;
	labops_take_lock(ops);
	return 0;
}

/* Start the next operation from a fresh loop iteration (keeps call stacks flat). */
static void labops_kick(struct labops *ops)
{
	if (ops->running != NULL || TAILQ_EMPTY(&ops->queue))
		return;
	if (ops->kick == NULL) {
		if (sd_event_add_defer(ops->d->event, &ops->kick, labops_on_kick, ops) < 0)
			labops_on_kick(NULL, ops);
		return;
	}
	sd_event_source_set_enabled(ops->kick, SD_EVENT_ONESHOT);
}

static struct labop *labop_new(struct labops *ops, enum labop_kind kind)
{
	struct labop *op = xcalloc(1, sizeof(*op));

	op->kind = kind;
	op->ops = ops;
	TAILQ_INSERT_TAIL(&ops->queue, op, link);
	labops_kick(ops);
	return op;
}

struct labops *labops_new(struct labd *d)
{
	struct labops *ops = xcalloc(1, sizeof(*ops));

	ops->d = d;
	ops->lock_fd = -1;
	TAILQ_INIT(&ops->queue);
	return ops;
}

void labops_acquire(struct labops *ops, struct http_request *req, const char *session_id,
		    struct upload *upload, bool reuse)
{
	struct labop *op = labop_new(ops, LABOP_ACQUIRE);
	struct session *s = queue_find(&ops->d->queue, session_id);

	op->req = req;
	memcpy(op->session_id, session_id, strnlen(session_id, SESSION_ID_LEN));
	op->upload = upload;
	op->reuse = reuse;
	if (s != NULL)
		s->busy++;
}

void labops_teardown(struct labops *ops, const char *reason, labops_done_fn done,
		     void *userdata)
{
	struct labop *op = labop_new(ops, LABOP_TEARDOWN);

	snprintf(op->reason, sizeof(op->reason), "%s", reason);
	op->done = done;
	op->done_userdata = userdata;
}

void labops_startup_cleanup(struct labops *ops)
{
	labop_new(ops, LABOP_STARTUP_CLEANUP);
}

bool labops_idle(const struct labops *ops)
{
	return ops->running == NULL && TAILQ_EMPTY(&ops->queue);
}

void labops_cancel(struct labops *ops)
{
	struct labop *op, *tmp;
	size_t i;

	for (op = TAILQ_FIRST(&ops->queue); op != NULL; op = tmp) {
		tmp = TAILQ_NEXT(op, link);
		if (op->kind == LABOP_TEARDOWN)
			continue;
		op->cancelled = true;
	}
	if ((op = ops->running) != NULL) {
		op->cancelled = true;
		/* An up, inspect or sanity down is interrupted; a teardown is left to finish. */
		if (op->kind != LABOP_TEARDOWN && op->phase != PHASE_CLEANUP_FAILED &&
		    op->phase != PHASE_TEARDOWN_OLD)
			for (i = 0; i < LABOPS_PARALLEL; i++)
				netlab_interrupt(op->slots[i].run);
	}
}

void labops_free(struct labops *ops)
{
	struct labop *op;

	if (ops == NULL)
		return;
	while ((op = TAILQ_FIRST(&ops->queue)) != NULL) {
		TAILQ_REMOVE(&ops->queue, op, link);
		labop_respond(op, 503, labop_detail("Server is shutting down"));
		labop_free(op);
	}
	if (ops->running != NULL) {
		labop_respond(ops->running, 503, labop_detail("Server is shutting down"));
		labop_free(ops->running);
	}
	lock_release(ops->lock_fd);
	sd_event_source_disable_unref(ops->lock_timer);
	sd_event_source_disable_unref(ops->kick);
	free(ops->orphan_workdir);
	free(ops);
}

/* Lab operations, the slot half: runs netlab jobs on slots (start, stop), records their
 * outcome in the lab (the only writer of lab state, with labops.c), keeps idle labs warm or
 * lets them go (--idle-lab-keep, --prewarm), and tells the requests waiting on a slot. */
#define LOG_COMPONENT "neops_remote_lab.netlab.lab_manager"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "events.h"
#include "labops_int.h"

/* Event data about a lab: slot, instance, topology, hash, holder (handle). */
json_t *labops_lab_event(const struct lab *lab)
{
	return json_pack("{s:i, s:s, s:o, s:o, s:o}", "slot", lab->slot, "instance", lab->instance,
			 "topology", lab->name ? json_string(lab->name) : json_null(), "hash",
			 lab->hash[0] ? json_string(lab->hash) : json_null(), "holder",
			 lab->holder ? json_string(lab->holder->handle) : json_null());
}

/* --- answering --- */

void labops_report(labop_done_fn done, void *userdata, struct labd *d, enum labop_outcome outcome,
		   bool reused, json_t *devices, json_t *error)
{
	struct labop_result res = {
		.outcome = outcome, .reused = reused, .devices = devices, .error = error
	};

	if (done != NULL)
		done(d, &res, userdata);
}

void labacq_free(struct labacq *acq)
{
	if (acq->upload != NULL) {
		upload_remove(acq->upload);
		upload_free(acq->upload);
		free(acq->upload);
	}
	free(acq);
}

/* The acquire is over: account its session, answer, and forget it. */
void labacq_finish(struct labops *ops, struct labacq *acq, enum labop_outcome outcome, bool reused,
		   json_t *devices, json_t *error)
{
	struct session *s = sessions_find(&D(ops)->sessions, acq->sid);

	TAILQ_REMOVE(&ops->acqs, acq, link);
	labd_state_changed(D(ops));
	if (s != NULL && outcome == LABOP_OK && s->lab != NULL && s->lab->held_since == 0)
		s->lab->held_since = now_usec(ops);
	if (s != NULL) {
		if (s->busy > 0)
			s->busy--;
		labd_session_touch(D(ops), s);
	}
	labops_report(acq->done, acq->userdata, D(ops), outcome, reused, devices, error);
	labacq_free(acq);
	labops_kick(ops);
}

void labops_fire_waiters(struct slot_rt *rt, enum labop_outcome outcome, json_t *error)
{
	struct labops_waiter *w;

	while ((w = rt->waiters) != NULL) {
		rt->waiters = w->next;
		labops_report(w->done, w->userdata, D(rt->ops), outcome, false, NULL, error);
		free(w);
	}
}

void labops_add_waiter(struct slot_rt *rt, labop_done_fn done, void *userdata)
{
	struct labops_waiter *w = xcalloc(1, sizeof(*w)), **p;

	w->done = done;
	w->userdata = userdata;
	for (p = &rt->waiters; *p != NULL; p = &(*p)->next)
		;
	*p = w;
}

/* --- lab bookkeeping --- */

bool labops_is_pinned(const struct labops *ops, const char *hash)
{
	size_t i;

	for (i = 0; i < ops->n_pinned; i++)
		if (strcmp(ops->pinned[i], hash) == 0)
			return true;
	return false;
}

/* The lab is gone (torn down, or its start failed): its holder no longer holds it. */
void labops_forget(struct labops *ops, struct lab *lab)
{
	int r;

	if (lab->holder != NULL && lab->holder->lab == lab)
		lab->holder->lab = NULL;
	if (lab->upload_dir != NULL && (r = fs_rm_rf(lab->upload_dir)) < 0)
		log_warn("cannot remove %s: %s, ignoring", lab->upload_dir, strerror(-r));
	loop_timer_disarm(RT(ops, lab)->idle_timer);
	lab_clear(lab);
	labd_state_changed(D(ops));
}

static int labops_on_idle_expired(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct slot_rt *rt = userdata;
	struct labops *ops = rt->ops;
	struct lab *lab = &D(ops)->slots.labs[rt - ops->rt];

	if (lab_is_idle(lab) && !lab->pinned && rt->job == NULL && !ops->cancelled) {
		log_info("Idle lab %s was not reused within %.0fs", lab->name,
			 D(ops)->cfg.idle_keep);
		labops_stop(ops, lab, "idle-keep-expired");
	}
	return 0;
}

/* A lab lost its holder (session ended, or it moved to a warm lab): keep it warm or tear it
 * down. True when it is settled now (kept); false when a teardown was started. */
bool labops_let_go(struct labops *ops, struct lab *lab, const char *reason)
{
	struct labd *d = D(ops);
	uint64_t now = now_usec(ops);
	bool pinned = lab->pinned || labops_is_pinned(ops, lab->hash);

	if (lab->holder != NULL && lab->holder->lab == lab)
		lab->holder->lab = NULL;
	if (lab->held_since != 0 && now > lab->held_since)
		ops->mean_hold = labops_average(ops->mean_hold, now - lab->held_since);
	labd_state_changed(d);
	if (ops->cancelled) { /* the final teardown (or --keep-labs) takes care of it */
		lab_set_idle(lab, now, 0);
		return true;
	}
	if (pinned) {
		lab_set_idle(lab, now, 0);
		lab->pinned = true;
		log_info("Lab %s kept warm (prewarmed topology, refcount=0)", lab->name);
		labops_kick(ops);
		return true;
	}
	if (d->cfg.idle_keep > 0) {
		uint64_t keep = (uint64_t)(d->cfg.idle_keep * USEC_PER_SEC);

		lab_set_idle(lab, now, now + keep);
		log_info("Lab %s kept idle for %.0fs for the next session (refcount=0)", lab->name,
			 d->cfg.idle_keep);
		(void)loop_timer_arm(d->event, &RT(ops, lab)->idle_timer, keep,
				     labops_on_idle_expired, RT(ops, lab));
		labops_kick(ops);
		return true;
	}
	lab_set_idle(lab, now, 0);
	labops_stop(ops, lab, reason);
	return false;
}

void labops_keep_idle(struct labops *ops, struct lab *lab)
{
	struct labd *d = D(ops);
	uint64_t now = now_usec(ops);

	if (lab->pinned || labops_is_pinned(ops, lab->hash)) {
		lab->pinned = true;
		lab->idle_until = 0;
		return;
	}
	if (d->cfg.idle_keep <= 0 || (lab->idle_until != 0 && lab->idle_until <= now)) {
		labops_stop(ops, lab, "idle-keep-expired");
		return;
	}
	if (lab->idle_until == 0)
		lab->idle_until = now + (uint64_t)(d->cfg.idle_keep * USEC_PER_SEC);
	(void)loop_timer_arm(d->event, &RT(ops, lab)->idle_timer, lab->idle_until - now,
			     labops_on_idle_expired, RT(ops, lab));
}

/* --- jobs --- */

static void labops_on_start_done(struct labjob *job, const struct labjob_result *res,
				 void *userdata);
static void labops_on_stop_done(struct labjob *job, const struct labjob_result *res,
				void *userdata);

/* A job that could not even start ends at once, through its usual completion. */
static void labops_job_failed(int err, labjob_done_fn done, struct slot_rt *rt)
{
	struct labjob_result res = { .err = err };

	res.error = json_pack("{s:s}", "detail", "cannot start a lab job");
	done(NULL, &res, rt);
	json_decref(res.error);
}

/* Start upload u in lab's slot for holder (NULL: idle, e.g. prewarm). */
void labops_start(struct labops *ops, struct lab *lab, const struct upload *u)
{
	struct slot_rt *rt = RT(ops, lab);
	int r;

	lab->state = LAB_STARTING;
	lab->starting_since = now_usec(ops);
	memcpy(lab->hash, u->hash, LAB_HASH_LEN + 1);
	free(lab->name);
	lab->name = xstrdup(u->topology_name);
	labd_event(D(ops), "lab.starting", labops_lab_event(lab));
	rt->job_started = now_usec(ops);
	r = ops->run.start(ops->run.ctx, lab->mlid, u, labops_on_start_done, rt, &rt->job);
	if (r < 0) {
		labops_job_failed(r, labops_on_start_done, rt);
		return;
	}
	rt->starting = true;
}

void labops_stop(struct labops *ops, struct lab *lab, const char *reason)
{
	struct slot_rt *rt = RT(ops, lab);
	int r;

	if (rt->job != NULL || rt->adopting) { /* a start (or a check) runs: tear down after it */
		rt->stop_after = true;
		snprintf(rt->stop_reason, sizeof(rt->stop_reason), "%s", reason);
		return;
	}
	loop_timer_disarm(rt->idle_timer);
	lab->state = LAB_STOPPING;
	rt->job_started = now_usec(ops);
	r = ops->run.stop(ops->run.ctx, lab->mlid, lab->workdir, lab->name, reason,
			  labops_on_stop_done, rt, &rt->job);
	if (r < 0) {
		labops_job_failed(r, labops_on_stop_done, rt);
		return;
	}
	rt->starting = false;
}

/* After a job: a teardown asked for meanwhile, or the shutdown's progress. */
static void labops_after_job(struct labops *ops, struct lab *lab)
{
	struct slot_rt *rt = RT(ops, lab);

	if (rt->stop_after && rt->job == NULL) {
		rt->stop_after = false;
		if (lab->state == LAB_UP)
			labops_stop(ops, lab, rt->stop_reason);
		else
			labops_fire_waiters(rt, LABOP_OK, NULL);
	}
	labops_kick(ops);
}

/* Give the slot a fresh multilab id: netlab still registers the old one somewhere. */
static void labops_retire_mlid(struct labops *ops, struct lab *lab)
{
	if (lab->mlid == 0 || ops->n_spare == 0) {
		if (lab->mlid != 0)
			log_error("No spare multilab id left for slot %u; instance %d stays in use",
				  lab->slot, lab->mlid);
		return;
	}
	log_warn("Slot %u: netlab still registers instance %d; using instance %d from now on",
		 lab->slot, lab->mlid, ops->spare_mlids[0]);
	lab->mlid = ops->spare_mlids[0];
	memmove(&ops->spare_mlids[0], &ops->spare_mlids[1], --ops->n_spare * sizeof(int));
	snprintf(lab->instance, sizeof(lab->instance), "%d", lab->mlid);
}

static void labops_on_start_done(struct labjob *job, const struct labjob_result *res,
				 void *userdata)
{
	struct slot_rt *rt = userdata;
	struct labops *ops = rt->ops;
	struct labd *d = D(ops);
	struct lab *lab = &d->slots.labs[rt - ops->rt];
	struct labacq *acq = rt->acq;
	struct upload *u = acq ? acq->upload : rt->upload;
	struct session *s = acq ? sessions_find(&d->sessions, acq->sid) : NULL;
	json_t *devices;

	rt->job = NULL;
	rt->acq = NULL;
	rt->upload = NULL;
	labd_state_changed(d);
	if (res->err < 0) {
		json_t *e = labops_lab_event(lab);

		json_object_set_new(e, "stage", json_string("start"));
		json_object_set_new(e, "seconds",
				    json_real((double)(now_usec(ops) - rt->job_started) / 1e6));
		json_object_set_new(e, "detail",
				    json_incref(json_object_get(res->error, "detail")
							? json_object_get(res->error, "detail")
							: json_null()));
		labd_event(d, "lab.failed", e);
		lab->holder = NULL;
		labops_forget(ops, lab);
		if (acq != NULL) {
			if (s != NULL && s->lab == lab)
				s->lab = NULL;
			labacq_finish(ops, acq, ops->cancelled ? LABOP_SHUTDOWN : LABOP_FAILED,
				      false, NULL, res->error);
		} else {
			log_error("Prewarming %s failed: %s", u->topology_name,
				  json_string_value(json_object_get(res->error, "detail")));
			upload_remove(u);
			upload_free(u);
			free(u);
		}
		labops_fire_waiters(rt, LABOP_OK, NULL);
		rt->stop_after = false;
		labops_kick(ops);
		return;
	}
	devices = json_incref(res->devices ? res->devices : json_array());
	ops->up_cost = labops_average(ops->up_cost, now_usec(ops) - rt->job_started);
	/* The session may have ended while its lab came up: then nobody holds it. */
	lab_set_up(lab, u->topology_path, u->topology_name, u->hash, res->workdir, u->dir, devices,
		   s != NULL && s->lab == lab ? s : NULL, now_usec(ops));
	if (acq == NULL)
		lab->pinned = true;
	{
		json_t *e = labops_lab_event(lab);

		json_object_set_new(e, "devices",
				    json_integer((json_int_t)json_array_size(devices)));
		json_object_set_new(e, "seconds",
				    json_real((double)(now_usec(ops) - rt->job_started) / 1e6));
		labd_event(d, "lab.up", e);
	}
	if (d->slots.n > 1)
		log_info("Lab %s started (%zu devices) in slot %u (instance %s)", u->topology_name,
			 json_array_size(devices), lab->slot, lab->instance);
	else
		log_info("Lab %s started (%zu devices)", u->topology_name,
			 json_array_size(devices));
	if (acq != NULL) {
		free(u->dir); /* the lab owns the upload directory now (a copy of the path) */
		u->dir = NULL;
		labacq_finish(ops, acq, LABOP_OK, false, devices, NULL);
	} else {
		log_info("Lab %s is warm in slot %u (instance %s)", u->topology_name, lab->slot,
			 lab->instance);
		upload_free(u);
		free(u);
	}
	if (lab->holder == NULL && !rt->stop_after &&
	    labops_let_go(ops, lab, "session-ended-during-start"))
		labops_fire_waiters(rt, LABOP_OK, NULL);
	labops_after_job(ops, lab);
}

static void labops_on_stop_done(struct labjob *job, const struct labjob_result *res, void *userdata)
{
	struct slot_rt *rt = userdata;
	struct labops *ops = rt->ops;
	struct labd *d = D(ops);
	struct lab *lab = &d->slots.labs[rt - ops->rt];
	struct labacq *acq = rt->acq;
	struct session *s = acq ? sessions_find(&d->sessions, acq->sid) : NULL;
	bool kept_dir = lab->workdir != NULL && netlab_dir_locked(lab->workdir);

	rt->job = NULL;
	if (res->err < 0)
		ops->shutdown_failed = true;
	{
		json_t *e = labops_lab_event(lab);

		json_object_set_new(e, "seconds",
				    json_real((double)(now_usec(ops) - rt->job_started) / 1e6));
		if (res->err < 0) {
			json_object_set_new(e, "stage", json_string("stop"));
			json_object_set_new(
				e, "detail",
				json_incref(json_object_get(res->error, "detail")
						    ? json_object_get(res->error, "detail")
						    : json_null()));
		}
		labd_event(d, res->err < 0 ? "lab.failed" : "lab.down", e);
	}
	labops_forget(ops, lab);
	if (kept_dir && lab->mlid != 0)
		labops_retire_mlid(ops, lab);
	labops_fire_waiters(rt, res->err < 0 ? LABOP_FAILED : LABOP_OK, res->error);
	if (acq != NULL) {
		/* A restart, switch or replacement: the new lab starts in the freed slot. */
		rt->acq = NULL;
		if (res->err < 0)
			labacq_finish(ops, acq, LABOP_FAILED, false, NULL, res->error);
		else if (ops->cancelled)
			labacq_finish(ops, acq, LABOP_SHUTDOWN, false, NULL, NULL);
		else if (s == NULL || s->state != SESSION_ACTIVE)
			labacq_finish(ops, acq, LABOP_GONE, false, NULL, NULL);
		else {
			lab->holder = s;
			s->lab = lab;
			rt->acq = acq;
			labops_start(ops, lab, acq->upload);
			return;
		}
	}
	labops_after_job(ops, lab);
}

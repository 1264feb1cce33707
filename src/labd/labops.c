/* Lab operations: acquire, release, destroy, a session's end, shutdown (start-up and prewarm:
 * labops_startup.c; jobs on slots: labops_slot.c; replaced labs: labops_retire.c).
 *
 * An acquire waits in a FIFO until it can be decided: after the start-up cleanup, when its
 * session has no other acquire running, and when slots.c finds a usable slot (otherwise it
 * stays queued and is decided again whenever a slot settles). A decision either answers at
 * once (attach, take a warm lab, busy) or runs netlab jobs on one slot: a start, or a stop
 * followed by a start. Jobs on different slots run in parallel; one slot runs one job at a
 * time. This file is the only writer of lab state: it records each job's outcome, then tells
 * its caller the outcome (api.c picks the HTTP status). */
#define LOG_COMPONENT "neops_remote_lab.netlab.lab_manager"
#include "labops.h"

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

/* --- acquire --- */

static void labops_log_decision(struct labops *ops, const struct slot_plan *p,
				const struct lab *own, const struct upload *u)
{
	const char *name = u->topology_name;

	switch (p->decision) {
	case SLOT_BUSY:
		log_info("Lab %s is in use (ref=%d) - %s is busy", own->name, own->ref, name);
		break;
	case SLOT_START:
		if (D(ops)->slots.n > 1)
			log_info("Starting %s in free slot %u (instance %s)", name, p->lab->slot,
				 p->lab->instance);
		else
			log_info("No active lab - starting %s", name);
		break;
	case SLOT_RESTART:
		log_info("Exclusive request - restarting idle lab %s", p->lab->name);
		break;
	case SLOT_SWITCH:
		log_info("Switching topology from %s to %s", p->lab->name, name);
		break;
	case SLOT_REPLACE:
		if (D(ops)->slots.n > 1)
			log_info("Replacing idle lab %s in slot %u with %s", p->lab->name,
				 p->lab->slot, name);
		else if (strcmp(p->lab->hash, u->hash) == 0)
			log_info("Exclusive request - restarting idle lab %s", p->lab->name);
		else
			log_info("Switching topology from %s to %s", p->lab->name, name);
		break;
	default:
		break;
	}
}

static const char *labops_replace_reason(const struct labops *ops, const struct slot_plan *p,
					 const struct upload *u)
{
	if (p->decision == SLOT_RESTART)
		return "exclusive-request";
	if (p->decision == SLOT_SWITCH)
		return "topology-switch";
	if (D(ops)->slots.n > 1)
		return "replace-idle";
	return strcmp(p->lab->hash, u->hash) == 0 ? "exclusive-request" : "topology-switch";
}

static int labops_on_recheck(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct labops *ops = userdata;

	ops->recheck_at = 0;
	labops_kick(ops);
	return 0;
}

/* Decide waiting acquires again at `at` (monotonic usec), unless an earlier time is set. */
static void labops_recheck_at(struct labops *ops, uint64_t at)
{
	uint64_t now = now_usec(ops);

	if (ops->recheck_at != 0 && ops->recheck_at <= at)
		return;
	if (loop_timer_arm(D(ops)->event, &ops->recheck, at > now ? at - now : 0, labops_on_recheck,
			   ops) == 0)
		ops->recheck_at = at;
}

/* Decide one waiting acquire. False when it must keep waiting. */
static bool labops_decide(struct labops *ops, struct labacq *acq)
{
	struct labd *d = D(ops);
	struct session *s = sessions_find(&d->sessions, acq->sid);
	struct lab *own;
	struct slot_plan p;
	struct slot_hints hints;

	if (ops->cancelled) {
		labacq_finish(ops, acq, LABOP_SHUTDOWN, false, NULL, NULL);
		return true;
	}
	if (s == NULL || s->state != SESSION_ACTIVE) {
		labacq_finish(ops, acq, LABOP_GONE, false, NULL, NULL);
		return true;
	}
	own = s->lab;
	if (own != NULL && RT(ops, own)->job != NULL)
		return false; /* its lab is busy with a job: decide once that is over */
	hints = (struct slot_hints){ .now = now_usec(ops),
				     .up_cost = ops->up_cost,
				     .mean_hold = ops->mean_hold };
	p = slots_decide(&d->slots, own, acq->upload->hash, acq->reuse, &hints);
	log_debug("Acquire for session %.8s: %s", s->id, slot_decision_name(p.decision));
	if (p.decision == SLOT_WAIT) {
		if (p.recheck_at != 0) {
			if (!acq->waits_for_held)
				log_info(
					"Waiting for lab %s in slot %u, held by session %s and "
					"expected back sooner than a new lab comes up (%.1fs), rather "
					"than replacing an idle lab",
					p.lab->name, p.lab->slot, p.lab->holder->handle,
					(double)ops->up_cost / 1e6);
			acq->waits_for_held = true;
			labops_recheck_at(ops, p.recheck_at);
		}
		return false;
	}
	labops_log_decision(ops, &p, own, acq->upload);
	switch (p.decision) {
	case SLOT_BUSY:
		labacq_finish(ops, acq, LABOP_BUSY, false, NULL, NULL);
		return true;
	case SLOT_ATTACH:
		log_info("Re-using lab %s (ref=%d)", p.lab->name, lab_attach(p.lab));
		labd_event(d, "lab.reused", labops_lab_event(p.lab));
		labacq_finish(ops, acq, LABOP_OK, true, p.lab->devices, NULL);
		return true;
	case SLOT_TAKE:
		loop_timer_disarm(RT(ops, p.lab)->idle_timer);
		if (p.leave != NULL)
			(void)labops_let_go(ops, p.leave, "left-for-a-warm-lab");
		p.lab->holder = s;
		p.lab->ref = 0;
		p.lab->idle_until = 0;
		s->lab = p.lab;
		log_info("Re-using lab %s (ref=%d)", p.lab->name, lab_attach(p.lab));
		labd_event(d, "lab.reused", labops_lab_event(p.lab));
		labacq_finish(ops, acq, LABOP_OK, true, p.lab->devices, NULL);
		return true;
	case SLOT_START:
		acq->running = true;
		acq->lab = p.lab;
		p.lab->holder = s;
		s->lab = p.lab;
		RT(ops, p.lab)->acq = acq;
		labops_start(ops, p.lab, acq->upload);
		return true;
	case SLOT_RESTART:
	case SLOT_SWITCH:
	case SLOT_REPLACE:
		acq->running = true;
		acq->lab = p.lab;
		if (p.lab->holder != NULL && p.lab->holder != s && p.lab->holder->lab == p.lab)
			p.lab->holder->lab = NULL;
		RT(ops, p.lab)->acq = acq;
		/* On multilab, the old lab goes down on its own instance while the new one
		 * starts on another; on the default instance, one after the other. */
		if (labops_retire(ops, p.lab, labops_replace_reason(ops, &p, acq->upload))) {
			p.lab->holder = s;
			s->lab = p.lab;
			labops_start(ops, p.lab, acq->upload);
			return true;
		}
		p.lab->holder = s;
		s->lab = p.lab;
		labops_stop(ops, p.lab, labops_replace_reason(ops, &p, acq->upload));
		return true;
	case SLOT_WAIT:
		break;
	}
	return false;
}

/* Decide what can be decided, in FIFO order; one running acquire per session. */
static int labops_on_kick(sd_event_source *src, void *userdata)
{
	struct labops *ops = userdata;
	struct labacq *acq, *next;
	unsigned i;

	if (ops->ready || ops->cancelled) {
		for (acq = TAILQ_FIRST(&ops->acqs); acq != NULL; acq = next) {
			struct labacq *other;
			bool session_busy = false;

			next = TAILQ_NEXT(acq, link);
			if (acq->running)
				continue;
			TAILQ_FOREACH (other, &ops->acqs, link)
				if (other != acq && other->running &&
				    strcmp(other->sid, acq->sid) == 0)
					session_busy = true;
			if (session_busy && !ops->cancelled)
				continue;
			if (labops_decide(ops, acq))
				next = TAILQ_FIRST(&ops->acqs); /* lists changed: start over */
		}
	}
	if (ops->shutdown_done == NULL)
		return 0;
	/* Shutdown: wait for running jobs, then tear every lab down (unless kept). */
	if (!labops_retiring_idle(ops))
		return 0;
	for (i = 0; i < D(ops)->slots.n; i++)
		if (ops->rt[i].job != NULL || !TAILQ_EMPTY(&ops->acqs) || ops->startup != NULL)
			return 0;
	if (!ops->shutdown_keep)
		for (i = 0; i < D(ops)->slots.n; i++)
			if (D(ops)->slots.labs[i].state == LAB_UP) {
				labops_stop(ops, &D(ops)->slots.labs[i], "server-shutdown");
				return 0;
			}
	{
		labop_done_fn done = ops->shutdown_done;

		ops->shutdown_done = NULL;
		labops_report(done, ops->shutdown_userdata, D(ops),
			      ops->shutdown_failed ? LABOP_FAILED : LABOP_OK, false, NULL, NULL);
	}
	return 0;
}

/* Decide from a fresh loop iteration (keeps call stacks flat). */
void labops_kick(struct labops *ops)
{
	if (ops->kick == NULL) {
		if (sd_event_add_defer(D(ops)->event, &ops->kick, labops_on_kick, ops) < 0)
			log_error("cannot schedule lab operations");
		return;
	}
	sd_event_source_set_enabled(ops->kick, SD_EVENT_ONESHOT);
}

struct lab *labops_session_lab(struct labops *ops, const struct session *s)
{
	struct slots *sl = &D(ops)->slots;

	if (sl->n == 1)
		return sl->labs[0].state == LAB_UP || sl->labs[0].state == LAB_STOPPING ||
				       sl->labs[0].holder == s
			       ? &sl->labs[0]
			       : NULL;
	return s->lab;
}

void labops_acquire(struct labops *ops, struct session *s, struct upload *u, bool reuse,
		    labop_done_fn done, void *userdata)
{
	struct labacq *acq = xcalloc(1, sizeof(*acq));

	memcpy(acq->sid, s->id, sizeof(acq->sid));
	acq->upload = u;
	acq->reuse = reuse;
	acq->done = done;
	acq->userdata = userdata;
	TAILQ_INSERT_TAIL(&ops->acqs, acq, link);
	s->busy++;
	labops_kick(ops);
}

enum labop_outcome labops_release(struct labops *ops, struct session *s)
{
	struct lab *lab = labops_session_lab(ops, s);

	if (lab == NULL || lab->state != LAB_UP)
		return LABOP_NO_LAB;
	if (lab_release(lab))
		log_error("Reference counter underflow for topo %s", lab->name);
	labd_state_changed(D(ops));
	{
		json_t *e = labops_lab_event(lab);

		json_object_set_new(e, "ref_count", json_integer(lab->ref));
		labd_event(D(ops), "lab.released", e);
	}
	if (lab->ref == 0)
		log_info("Lab %s became idle - awaiting next user or teardown (refcount=0)",
			 lab->name);
	return LABOP_OK;
}

/* Tear lab down on request; done when over (or at once when there is nothing to do). */
static void labops_teardown_for(struct labops *ops, struct lab *lab, const char *reason,
				labop_done_fn done, void *userdata)
{
	struct slot_rt *rt = RT(ops, lab);

	if (lab->state == LAB_EMPTY && rt->job == NULL) {
		labops_report(done, userdata, D(ops), LABOP_NO_LAB, false, NULL, NULL);
		return;
	}
	labops_add_waiter(rt, done, userdata);
	if (lab->state == LAB_UP || rt->starting)
		labops_stop(ops, lab, reason);
	/* a stop already runs: its waiters hear about it */
}

void labops_destroy(struct labops *ops, struct session *s, bool force, labop_done_fn done,
		    void *userdata)
{
	struct lab *lab = labops_session_lab(ops, s);

	if (lab == NULL || lab->state != LAB_UP) {
		labops_report(done, userdata, D(ops), LABOP_NO_LAB, false, NULL, NULL);
		return;
	}
	if (!force && lab->ref > 0) {
		labops_report(done, userdata, D(ops), LABOP_IN_USE, false, NULL, NULL);
		return;
	}
	labops_teardown_for(ops, lab, "api-destroy", done, userdata);
}

void labops_destroy_slot(struct labops *ops, unsigned slot, const char *who, labop_done_fn done,
			 void *userdata)
{
	char reason[160];

	if (slot >= D(ops)->slots.n) {
		labops_report(done, userdata, D(ops), LABOP_NO_LAB, false, NULL, NULL);
		return;
	}
	snprintf(reason, sizeof(reason), "admin-destroy-by-%s", who);
	labops_teardown_for(ops, &D(ops)->slots.labs[slot], reason, done, userdata);
}

void labops_session_ended(struct labops *ops, struct session *s, const char *reason,
			  labop_done_fn done, void *userdata)
{
	struct lab *lab = s->lab;
	struct slot_rt *rt;

	if (lab == NULL) {
		labops_report(done, userdata, D(ops), LABOP_NO_LAB, false, NULL, NULL);
		return;
	}
	rt = RT(ops, lab);
	if (lab->holder == s)
		lab->holder = NULL;
	s->lab = NULL;
	if (rt->job != NULL) {
		/* Its lab is starting (or stopping): settled once the job is over, when a lab
		 * that came up without a holder is kept idle or torn down. */
		labops_add_waiter(rt, done, userdata);
		return;
	}
	if (lab->state != LAB_UP) {
		labops_report(done, userdata, D(ops), LABOP_NO_LAB, false, NULL, NULL);
		return;
	}
	if (labops_let_go(ops, lab, reason)) {
		labops_report(done, userdata, D(ops), LABOP_OK, false, NULL, NULL);
		return;
	}
	labops_add_waiter(rt, done, userdata);
}

void labops_session_gone(struct labops *ops, struct session *s)
{
	unsigned i;

	for (i = 0; i < D(ops)->slots.n; i++)
		if (D(ops)->slots.labs[i].holder == s)
			D(ops)->slots.labs[i].holder = NULL;
	s->lab = NULL;
}

/* --- shutdown --- */

void labops_cancel(struct labops *ops)
{
	unsigned i;

	ops->cancelled = true;
	for (i = 0; i < D(ops)->slots.n; i++) {
		if (ops->rt[i].job != NULL && ops->rt[i].starting)
			ops->run.cancel(ops->rt[i].job);
		loop_timer_disarm(ops->rt[i].idle_timer);
	}
	if (ops->startup != NULL)
		ops->run.cancel(ops->startup);
	labops_kick(ops);
}

void labops_shutdown(struct labops *ops, bool keep_labs, labop_done_fn done, void *userdata)
{
	ops->shutdown_done = done;
	ops->shutdown_userdata = userdata;
	ops->shutdown_keep = keep_labs;
	ops->shutdown_failed = false;
	labops_kick(ops);
}

bool labops_idle(const struct labops *ops)
{
	return labops_busy_slots(ops) == 0 && TAILQ_EMPTY(&ops->acqs) && ops->startup == NULL &&
	       labops_retiring_idle(ops);
}

unsigned labops_busy_slots(const struct labops *ops)
{
	unsigned i, n = 0;

	for (i = 0; i < D(ops)->slots.n; i++)
		n += ops->rt[i].job != NULL;
	return n;
}

struct labops *labops_new(struct labd *d)
{
	return labops_new_with_runner(d, labjob_runner(d));
}

struct labops *labops_new_with_runner(struct labd *d, struct labjob_runner runner)
{
	struct labops *ops = xcalloc(1, sizeof(*ops));
	unsigned i;

	ops->d = d;
	ops->run = runner;
	ops->rt = xcalloc(d->slots.n, sizeof(*ops->rt));
	for (i = 0; i < d->slots.n; i++)
		ops->rt[i].ops = ops;
	TAILQ_INIT(&ops->acqs);
	LIST_INIT(&ops->retiring);
	ops->spare_mlids = xcalloc(d->n_mlids + 1, sizeof(int));
	for (i = d->slots.n; i < d->n_mlids; i++)
		ops->spare_mlids[ops->n_spare++] = d->mlids[i];
	return ops;
}

void labops_free(struct labops *ops)
{
	struct labacq *acq;
	unsigned i;
	size_t k;

	if (ops == NULL)
		return;
	ops->cancelled = true;
	while ((acq = TAILQ_FIRST(&ops->acqs)) != NULL) {
		TAILQ_REMOVE(&ops->acqs, acq, link);
		labops_report(acq->done, acq->userdata, D(ops), LABOP_SHUTDOWN, false, NULL, NULL);
		if (acq->running && ops->rt[acq->lab->slot].acq == acq)
			ops->rt[acq->lab->slot].acq = NULL;
		labacq_free(acq);
	}
	for (i = 0; i < D(ops)->slots.n; i++) {
		struct slot_rt *rt = &ops->rt[i];

		if (rt->job != NULL) {
			/* The job's callback must not run now: drop it quietly. */
			ops->run.abandon(rt->job);
			rt->job = NULL;
		}
		labops_fire_waiters(rt, LABOP_SHUTDOWN, NULL);
		if (rt->upload != NULL) {
			upload_remove(rt->upload);
			upload_free(rt->upload);
			free(rt->upload);
		}
		sd_event_source_disable_unref(rt->idle_timer);
	}
	if (ops->startup != NULL)
		ops->run.abandon(ops->startup);
	labops_retiring_abandon(ops);
	for (k = 0; k < ops->n_prewarm; k++)
		free(ops->prewarm[k]);
	free(ops->prewarm);
	free(ops->pinned);
	free(ops->spare_mlids);
	free(ops->rt);
	if (ops->run.free != NULL)
		ops->run.free(ops->run.ctx);
	sd_event_source_disable_unref(ops->kick);
	sd_event_source_disable_unref(ops->recheck);
	free(ops);
}

/* Reservation automation: scan lab_reservations, claim a step, run it, record, transition. */
#define LOG_COMPONENT "ops-worker.scheduler"
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "config.h"
#include "db.h"
#include "dbq.h"
#include "hosts.h"
#include "isotime.h"
#include "journal.h"
#include "opsd.h"
#include "opsd_metrics.h"
#include "periodic.h"
#include "request.h"
#include "reservations.h"
#include "scheduler_store.h"

struct scheduler {
	struct opsd *o;
	struct periodic *job;
	bool took_over; /* the claims of an earlier run of this worker id are released */
	/* the scan being dispatched */
	struct scheduler_candidate *starts, *ends;
	size_t n_starts, n_ends, next;
	/* the item in progress */
	bool cur_start;
	struct scheduler_candidate *cur;
	long attempt;
	char *status;
	bool success;
	char *host;
};

struct sched_job {
	struct scheduler *s;
	struct scheduler_params p;
	char *id;
	bool start;
	/* scan */
	bool take_over;
	int64_t taken;
	struct scheduler_candidate *starts, *ends;
	size_t n_starts, n_ends;
	/* claim */
	long attempt;
	char *status;
	/* status */
	char *from, *to;
	bool changed;
};

static void sched_next(struct scheduler *s);

static void params_fill(struct scheduler *s, struct scheduler_params *p)
{
	const struct opsd_config *c = &s->o->cfg;

	p->now_usec = isotime_now_usec();
	p->lookback = c->lookback;
	p->start_lead = c->start_lead;
	p->end_delay = c->end_delay;
	p->cooldown = c->retry_cooldown;
	p->claim_ttl = config_claim_ttl(c, hosts_max_wake_attempts(s->o->hosts));
	p->max_attempts = c->max_attempts;
	p->max_batch = config_max_batch();
	p->owner = c->worker_id;
}

static struct sched_job *job_new(struct scheduler *s)
{
	struct sched_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	params_fill(s, &j->p);
	return j;
}

static void job_free(struct sched_job *j)
{
	free(j->id);
	free(j->status);
	free(j->from);
	free(j->to);
	scheduler_store_candidates_free(j->starts, j->n_starts);
	scheduler_store_candidates_free(j->ends, j->n_ends);
	free(j);
}

static void scan_finished(struct scheduler *s)
{
	scheduler_store_candidates_free(s->starts, s->n_starts);
	scheduler_store_candidates_free(s->ends, s->n_ends);
	s->starts = s->ends = NULL;
	s->n_starts = s->n_ends = s->next = 0;
	opsd_busy_dec(s->o);
	log_debug("reservation scan finished after %.3fs", periodic_done(s->job));
}

/* next item, after the current one is complete */
static void item_done(struct scheduler *s)
{
	free(s->status);
	free(s->host);
	s->status = NULL;
	s->host = NULL;
	s->cur = NULL;
	sched_next(s);
}

static int release_work(struct db *db, void *arg)
{
	struct sched_job *j = arg;

	return scheduler_store_release(db, &j->p, j->id, j->start);
}

static void release_done(void *arg, int r)
{
	struct sched_job *j = arg;
	struct scheduler *s = j->s;

	if (r < 0)
		log_warn("failed to release claim on %s/%s, it expires on its own", j->id,
			 j->start ? "start" : "end");
	job_free(j);
	item_done(s);
}

static void release_claim(struct scheduler *s)
{
	struct sched_job *j = job_new(s);

	j->id = xstrdup(s->cur->id);
	j->start = s->cur_start;
	if (dbq_submit(s->o->dbq, release_work, release_done, j) < 0) {
		job_free(j);
		item_done(s);
	}
}

static int status_work(struct db *db, void *arg)
{
	struct sched_job *j = arg;

	return scheduler_store_set_status(db, j->p.now_usec, j->id, j->from, j->to, &j->changed);
}

static void status_done(void *arg, int r)
{
	struct sched_job *j = arg;
	struct scheduler *s = j->s;

	if (r < 0)
		log_error("failed to move reservation %s from %s to %s", j->id, j->from, j->to);
	else if (!j->changed)
		log_warn("reservation %s was no longer %s, status left alone", j->id, j->from);
	else
		log_info("reservation %s: %s -> %s", j->id, j->from, j->to);
	job_free(j);
	release_claim(s);
}

static void summary_recorded(void *userdata, bool in_db)
{
	struct scheduler *s = userdata;
	const char *to = s->cur_start ? "ACTIVE" : "COMPLETED";
	struct sched_job *j;

	if (!in_db) {
		/* Stopping (or the row was dropped): do not release; the claim keeps other
		 * workers off until it expires. */
		item_done(s);
		return;
	}
	if (!s->success || !scheduler_store_transition_allowed(s->status, to)) {
		release_claim(s);
		return;
	}
	j = job_new(s);
	j->id = xstrdup(s->cur->id);
	j->from = xstrdup(s->status);
	j->to = xstrdup(to);
	if (dbq_submit(s->o->dbq, status_work, status_done, j) < 0) {
		job_free(j);
		release_claim(s);
	}
}

static void record_summary(struct scheduler *s, const char *host, bool success, unsigned status,
			   json_t *response, const char *message)
{
	const char *action = s->cur_start ? "scheduler:start" : "scheduler:end";
	json_t *payload = NULL;
	int64_t code = status;

	if (response != NULL) {
		payload = json_object();
		json_object_set_new(payload, "response", response);
		json_object_set_new(payload, "status_code", json_integer(status));
		json_object_set_new(payload, "attempt", json_integer(s->attempt));
		json_object_set_new(payload, "maxAttempts", json_integer(s->o->cfg.max_attempts));
	}
	s->success = success;
	if (!success && s->o->cfg.max_attempts > 0 && s->attempt >= s->o->cfg.max_attempts)
		log_warn("reservation %s %s failed on attempt %ld of %ld: giving up", s->cur->id,
			 s->cur_start ? "start" : "end", s->attempt, s->o->cfg.max_attempts);
	journal_add(s->o->journal, s->cur->id, s->cur->lab_id, host, action, success,
		    response ? &code : NULL, NULL, payload, message, JOURNAL_WAIT_DB,
		    summary_recorded, s);
}

static void flow_done(void *userdata, unsigned status, json_t *response)
{
	struct scheduler *s = userdata;
	bool ok = status == 200 && json_is_true(json_object_get(response, "success"));
	const char *err = json_string_value(json_object_get(response, "error"));
	const char *msg = ok             ? NULL
			  : err          ? err
			  : s->cur_start ? "Reservation start failed"
					 : "Reservation end failed";
	char *m = msg ? xstrdup(msg) : NULL;

	opsd_metrics_scheduler_step(s->o->metrics, s->cur_start, ok ? "ok" : "failed");
	record_summary(s, s->host, ok, status, response, m);
	free(m);
}

static void claim_done(void *arg, int r)
{
	struct sched_job *j = arg;
	struct scheduler *s = j->s;
	const struct host *h;
	struct req_resv req = { 0 };
	char *msg;

	if (r < 0 || j->attempt == 0 || s->o->stopping) {
		if (r < 0 || j->attempt == 0)
			opsd_metrics_scheduler_step(s->o->metrics, j->start,
						    r < 0 ? "claim_failed" : "skipped");
		if (r < 0)
			log_warn("could not claim %s/%s, skipping", j->id,
				 j->start ? "start" : "end");
		job_free(j);
		item_done(s);
		return;
	}
	s->attempt = j->attempt;
	s->status = j->status;
	j->status = NULL;
	job_free(j);
	h = hosts_get_by_lab(s->o->hosts, s->cur->lab_id);
	if (h == NULL) {
		log_warn("No host mapping for lab %s (reservation %s)", s->cur->lab_id, s->cur->id);
		s->host = xstrdup("unmapped");
		msg = xasprintf("No host mapping for lab %s", s->cur->lab_id);
		opsd_metrics_scheduler_step(s->o->metrics, s->cur_start, "unmapped");
		record_summary(s, "unmapped", false, 0, NULL, msg);
		free(msg);
		return;
	}
	s->host = xstrdup(h->name);
	log_info("reservation %s: scheduler %s on %s (attempt %ld)", s->cur->id,
		 s->cur_start ? "start" : "end", h->name, s->attempt);
	req.is_start = s->cur_start;
	req.reservation_id = xstrdup(s->cur->id);
	req.host = xstrdup(h->name);
	req.lab_id = xstrdup(s->cur->lab_id);
	if (s->cur_start) {
		req.wake = true;
		req.prepare = true;
		req.prepare_args = xcalloc(2, sizeof(char *));
		req.prepare_args[0] = xstrdup("--guard-grace=90");
		req.n_prepare = 1;
	} else {
		req.release = true;
		req.release_args = xcalloc(2, sizeof(char *));
		req.release_args[0] = xstrdup("--reboot");
		req.n_release = 1;
	}
	resv_run(s->o, &req, h, flow_done, s);
}

static int claim_work(struct db *db, void *arg)
{
	struct sched_job *j = arg;

	return scheduler_store_claim(db, &j->p, j->id, j->start, &j->attempt, &j->status);
}

static void sched_next(struct scheduler *s)
{
	struct sched_job *j;

	for (;;) {
		if (periodic_stopped(s->job) || s->o->stopping ||
		    s->next >= s->n_starts + s->n_ends) {
			scan_finished(s);
			return;
		}
		s->cur_start = s->next < s->n_starts;
		s->cur = s->cur_start ? &s->starts[s->next] : &s->ends[s->next - s->n_starts];
		s->next++;
		j = job_new(s);
		j->id = xstrdup(s->cur->id);
		j->start = s->cur_start;
		if (dbq_submit(s->o->dbq, claim_work, claim_done, j) == 0)
			return;
		job_free(j);
	}
}

static int scan_work(struct db *db, void *arg)
{
	struct sched_job *j = arg;
	int r;

	if (j->take_over) {
		r = scheduler_store_take_over(db, &j->p, &j->taken);
		if (r < 0)
			return r;
	}
	r = scheduler_store_candidates(db, &j->p, true, &j->starts, &j->n_starts);
	if (r < 0)
		return r;
	return scheduler_store_candidates(db, &j->p, false, &j->ends, &j->n_ends);
}

static void scan_done(void *arg, int r)
{
	struct sched_job *j = arg;
	struct scheduler *s = j->s;

	opsd_metrics_scheduler_scan(s->o->metrics, r >= 0);
	if (r < 0) {
		log_warn("reservation scan failed, trying again in %gs", s->o->cfg.scan_interval);
		job_free(j);
		scan_finished(s);
		return;
	}
	if (j->take_over) {
		s->took_over = true;
		if (j->taken > 0)
			log_info("took over %lld claim(s) of an earlier run of worker %s",
				 (long long)j->taken, j->p.owner);
	}
	if (j->n_starts || j->n_ends)
		log_info("reservation scan: %zu start(s), %zu end(s) due", j->n_starts, j->n_ends);
	s->starts = j->starts;
	s->n_starts = j->n_starts;
	s->ends = j->ends;
	s->n_ends = j->n_ends;
	j->starts = j->ends = NULL;
	j->n_starts = j->n_ends = 0;
	job_free(j);
	s->next = 0;
	sched_next(s);
}

/* One scan: the candidates, then each of them in turn (sched_next). */
static void scheduler_run(void *userdata)
{
	struct scheduler *s = userdata;
	struct sched_job *j;

	log_debug("reservation scan started");
	opsd_busy_inc(s->o);
	j = job_new(s);
	/* Until it has worked once (the database may be down at first), each scan starts by
	 * taking over the claims an earlier run of this worker id left behind. */
	j->take_over = !s->took_over;
	if (dbq_submit(s->o->dbq, scan_work, scan_done, j) < 0) {
		job_free(j);
		scan_finished(s);
	}
}

int scheduler_new(struct opsd *o, struct scheduler **ret)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	int r;

	s->o = o;
	log_info("reservation automation: worker %s, claim TTL %.0fs%s", o->cfg.worker_id,
		 config_claim_ttl(&o->cfg, hosts_max_wake_attempts(o->hosts)),
		 o->cfg.claim_ttl > 0 ? " (OPS_RESERVATION_CLAIM_TTL)" : " (the longest step)");
	r = periodic_new(o->event, o->cfg.scan_interval, scheduler_run, s, &s->job);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void scheduler_stop(struct scheduler *s)
{
	if (s != NULL)
		periodic_stop(s->job);
}

void scheduler_free(struct scheduler *s)
{
	if (s == NULL)
		return;
	scheduler_store_candidates_free(s->starts, s->n_starts);
	scheduler_store_candidates_free(s->ends, s->n_ends);
	free(s->status);
	free(s->host);
	periodic_free(s->job);
	free(s);
}

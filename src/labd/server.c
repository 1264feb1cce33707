/* Session lifecycle: create, keep-alive, end (with lab cleanup and promotion), stale sweeping,
 * and the idle-lab keep timer. */
#define LOG_COMPONENT LABD_LOGGER
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "labops.h"

/* The original sweeps every 5 s, slower when idle; with short test timeouts we must sweep
 * faster than the timeout or stale sessions would live far longer than configured. */
#define SWEEP_BASE_MAX_USEC (5 * USEC_PER_SEC)
#define SWEEP_BASE_MIN_USEC (20 * USEC_PER_MSEC)

const char *labd_sid8(const char *id, char out[9])
{
	snprintf(out, 9, "%.8s", id);
	return out;
}

static uint64_t labd_sweep_base(const struct labd *d)
{
	double t = d->cfg.active_timeout < d->cfg.waiting_timeout ? d->cfg.active_timeout
								  : d->cfg.waiting_timeout;
	uint64_t half = (uint64_t)(t * USEC_PER_SEC / 2);

	if (half > SWEEP_BASE_MAX_USEC)
		half = SWEEP_BASE_MAX_USEC;
	return half < SWEEP_BASE_MIN_USEC ? SWEEP_BASE_MIN_USEC : half;
}

/* The original's adaptive interval: 6x base with no sessions, 3x with only an ACTIVE one. */
static uint64_t labd_sweep_interval(const struct labd *d)
{
	uint64_t base = labd_sweep_base(d);
	const struct session *head = queue_head(&d->queue);

	if (queue_length(&d->queue) == 0)
		return base * 6;
	if (queue_length(&d->queue) == 1 && head->state == SESSION_ACTIVE)
		return base * 3;
	return base;
}

static int labd_on_sweep(sd_event_source *s, uint64_t usec, void *userdata);

static void labd_sweep_arm(struct labd *d, uint64_t interval)
{
	d->sweep_due = loop_now(d->event) + interval;
	(void)loop_timer_arm(d->event, &d->sweep_timer, interval, labd_on_sweep, d);
}

void labd_promote(struct labd *d)
{
	struct session *s = queue_promote(&d->queue);
	char sid[9];

	if (s != NULL)
		log_info("Session %s promoted to ACTIVE (topology=%s)", labd_sid8(s->id, sid),
			 s->topology_name ? s->topology_name : "<unknown>");
}

struct session *labd_session_create(struct labd *d)
{
	size_t position = queue_length(&d->queue);
	struct session *s;
	uuid_t uu;
	char id[37], sid[9];
	uint64_t base;

	uuid_generate_random(uu);
	uuid_unparse_lower(uu, id);
	s = queue_add(&d->queue, id, loop_now(d->event), loop_wall_seconds());
	if (s == NULL)
		return NULL;
	log_info("Created session %s at queue position %zu", labd_sid8(id, sid), position);
	labd_promote(d);
	/* Leave the idle sweep interval as soon as there is something to watch. */
	base = labd_sweep_base(d);
	if (d->sweep_timer != NULL && d->sweep_due > loop_now(d->event) + base)
		labd_sweep_arm(d, base);
	return s;
}

void labd_session_touch(struct labd *d, struct session *s)
{
	s->last_seen = loop_now(d->event);
}

struct labd_end {
	char id[SESSION_ID_LEN + 1];
	labd_done_fn done;
	void *userdata;
};

static void labd_on_end_teardown(struct labd *d, int err, json_t *error, void *userdata)
{
	struct labd_end *end = userdata;
	char sid[9];

	if (err < 0)
		log_error("Error during lab cleanup for session %s: %s", labd_sid8(end->id, sid),
			  error ? json_string_value(json_object_get(error, "detail")) : strerror(-err));
	/* Unlike the original, promote even when the teardown failed: never stall the queue. */
	if (!d->shutting_down)
		labd_promote(d);
	if (end->done != NULL)
		end->done(d, end->userdata);
	free(end);
}

static int labd_on_idle_expired(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct labd *d = userdata;

	if (d->lab.running && d->lab.ref == 0 && !d->shutting_down) {
		log_info("Idle lab %s was not reused within %.0fs", d->lab.name, d->cfg.idle_keep);
		labops_teardown(d->ops, "idle-keep-expired", NULL, NULL);
	}
	return 0;
}

void labd_idle_cancel(struct labd *d)
{
	loop_timer_disarm(d->idle_timer);
}

void labd_session_end(struct labd *d, struct session *s, const char *reason, labd_done_fn done,
		      void *userdata)
{
	bool was_active = s->state == SESSION_ACTIVE;
	struct labd_end *end;
	char sid[9], teardown_reason[96];

	end = xcalloc(1, sizeof(*end));
	memcpy(end->id, s->id, sizeof(end->id));
	end->done = done;
	end->userdata = userdata;
	labd_sid8(s->id, sid);
	log_debug("_delete_session: %s reason=%s", sid, reason);
	log_info("Session %s removed (%s, topology=%s)", sid, reason,
		 s->topology_name ? s->topology_name : "None");
	queue_remove(&d->queue, s);
	log_debug("Removed session %s from queue", sid);
	/* At shutdown the lab gets one final "server-shutdown" teardown instead. */
	if (!was_active || d->shutting_down) {
		labd_on_end_teardown(d, 0, NULL, end);
		return;
	}
	if (strcmp(reason, "stale") == 0) {
		log_info("Cleaning up lab for stale active session %s", sid);
		snprintf(teardown_reason, sizeof(teardown_reason), "stale-session-%s", end->id);
	} else {
		log_info("Active session %s ended, cleaning up lab.", sid);
		snprintf(teardown_reason, sizeof(teardown_reason), "session-end-%s", end->id);
	}
	if (d->cfg.idle_keep > 0 && d->lab.running && !d->shutting_down) {
		/* Keep the lab for the next session that asks for the same topology. */
		d->lab.ref = 0;
		log_info("Lab %s kept idle for %.0fs for the next session (refcount=0)",
			 d->lab.name, d->cfg.idle_keep);
		(void)loop_timer_arm(d->event, &d->idle_timer,
				     (uint64_t)(d->cfg.idle_keep * USEC_PER_SEC),
				     labd_on_idle_expired, d);
		labd_on_end_teardown(d, 0, NULL, end);
		return;
	}
	labops_teardown(d->ops, teardown_reason, labd_on_end_teardown, end);
}

static void labd_sweep(struct labd *d)
{
	uint64_t now = loop_now(d->event);
	uint64_t active = (uint64_t)(d->cfg.active_timeout * USEC_PER_SEC);
	uint64_t waiting = (uint64_t)(d->cfg.waiting_timeout * USEC_PER_SEC);
	char (*stale)[SESSION_ID_LEN + 1] = NULL;
	size_t n = 0, i;
	struct session *s;
	char sid[9];

	if (queue_length(&d->queue) == 0)
		return;
	log_debug("Running session cleanup, %zu sessions tracked", queue_length(&d->queue));
	QUEUE_FOREACH(s, &d->queue) {
		if (!queue_is_stale(s, now, active, waiting))
			continue;
		log_debug("Session %s is stale (age=%.1fs, timeout=%.0fs)", labd_sid8(s->id, sid),
			  (double)(now - s->last_seen) / 1e6,
			  s->state == SESSION_ACTIVE ? d->cfg.active_timeout : d->cfg.waiting_timeout);
		stale = xreallocarray(stale, n + 1, sizeof(*stale));
		memcpy(stale[n++], s->id, SESSION_ID_LEN + 1);
	}
	for (i = 0; i < n; i++) {
		log_warn("Removing stale session %s due to inactivity", labd_sid8(stale[i], sid));
		s = queue_find(&d->queue, stale[i]);
		if (s != NULL)
			labd_session_end(d, s, "stale", NULL, NULL);
	}
	free(stale);
}

static int labd_on_sweep(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct labd *d = userdata;

	if (d->shutting_down)
		return 0;
	labd_sweep(d);
	labd_sweep_arm(d, labd_sweep_interval(d));
	return 0;
}

int labd_sweeper_start(struct labd *d)
{
	log_info("Starting session cleanup task (interval=%.2gs)",
		 (double)labd_sweep_base(d) / USEC_PER_SEC);
	labd_sweep_arm(d, 0); /* the first sweep runs right away */
	return 0;
}

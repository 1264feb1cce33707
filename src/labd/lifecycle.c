/* Session lifecycle on the loop: create (with a public handle), keep-alive, promotion into
 * free slots, ending (the lab let go first, then the next sessions promoted), and the sweeper
 * that reaps silent sessions and ends those past their max_wait or --max-session-hold. */
#define LOG_COMPONENT LABD_LOGGER
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <uuid/uuid.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "events.h"
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

/* The earliest max_wait / max-session-hold deadline (monotonic usec), or UINT64_MAX. */
static uint64_t labd_next_deadline(const struct labd *d)
{
	uint64_t next = UINT64_MAX, hold = (uint64_t)(d->cfg.max_hold * USEC_PER_SEC), t;
	const struct session *s;

	SESSIONS_FOREACH(s, &d->sessions)
	{
		if (s->state == SESSION_ACTIVE && hold > 0)
			t = s->promoted + hold;
		else if (s->state == SESSION_WAITING && s->max_wait > 0)
			t = s->created + s->max_wait;
		else
			continue;
		if (t < next)
			next = t;
	}
	return next;
}

/* The original's adaptive interval (6x base with no sessions, 3x with only ACTIVE ones),
 * shortened to the next max_wait / max-session-hold deadline. */
static uint64_t labd_sweep_interval(const struct labd *d)
{
	uint64_t base = labd_sweep_base(d), interval = base, now = loop_now(d->event);
	uint64_t next = labd_next_deadline(d);

	if (sessions_count(&d->sessions) == 0)
		interval = base * 6;
	else if (d->sessions.n_waiting == 0)
		interval = base * 3;
	if (next != UINT64_MAX) {
		next = next > now ? next - now + 1 : 0; /* '>' deadlines: just past them */
		if (next < interval)
			interval = next;
	}
	return interval;
}

static int labd_on_sweep(sd_event_source *s, uint64_t usec, void *userdata);

static void labd_sweep_arm(struct labd *d, uint64_t interval)
{
	d->sweep_due = loop_now(d->event) + interval;
	(void)loop_timer_arm(d->event, &d->sweep_timer, interval, labd_on_sweep, d);
}

/* Bring the next sweep forward when something needs watching sooner. */
static void labd_sweep_sooner(struct labd *d)
{
	uint64_t interval;

	if (d->sweep_timer == NULL || d->shutting_down)
		return;
	interval = labd_sweep_interval(d);
	if (d->sweep_due > loop_now(d->event) + interval)
		labd_sweep_arm(d, interval);
}

void labd_promote(struct labd *d)
{
	struct session *s;
	char sid[9];

	if (d->shutting_down || d->draining)
		return;
	while (d->sessions.n_active < d->cfg.lab_slots &&
	       (s = sessions_next_waiting(&d->sessions)) != NULL) {
		sessions_promote(&d->sessions, s, loop_now(d->event));
		labd_state_changed(d);
		labd_event(d, "session.promoted",
			   json_pack("{s:s, s:f}", "handle", s->handle, "waited",
				     s->promoted > s->created
					     ? (double)(s->promoted - s->created) / 1e6
					     : 0.0));
		log_info("Session %s promoted to ACTIVE (topology=%s)", labd_sid8(s->id, sid),
			 s->topology_name ? s->topology_name : "<unknown>");
	}
	labd_sweep_sooner(d);
}

void labd_set_draining(struct labd *d, bool on)
{
	if (d->draining != on)
		labd_event(d, on ? "drain.on" : "drain.off", NULL);
	d->draining = on;
	if (!on)
		labd_promote(d);
}

bool labd_can_serve_now(const struct labd *d)
{
	return !d->shutting_down && !d->draining && d->sessions.n_waiting == 0 &&
	       d->sessions.n_active < d->cfg.lab_slots;
}

/* "s-" and 8 characters of a 32-letter alphabet without look-alikes: 40 random bits. */
static void labd_new_handle(char out[SESSION_HANDLE_LEN + 1])
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char rnd[8];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		uuid_t uu;

		uuid_generate_random(uu);
		memcpy(rnd, uu, sizeof(rnd));
	}
	out[0] = 's';
	out[1] = '-';
	for (i = 0; i < 8; i++)
		out[2 + i] = alphabet[rnd[i] & 31];
	out[SESSION_HANDLE_LEN] = '\0';
}

struct session *labd_session_create(struct labd *d, const struct labd_session_options *o,
				    size_t *ret_position)
{
	struct session *s = NULL;
	char id[37], handle[SESSION_HANDLE_LEN + 1], sid[9];
	uuid_t uu;
	int tries;

	for (tries = 0; tries < 16 && s == NULL; tries++) {
		uuid_generate_random(uu);
		uuid_unparse_lower(uu, id);
		labd_new_handle(handle);
		if (sessions_name_taken(&d->sessions, id, handle))
			continue;
		s = sessions_add(&d->sessions, id, handle, o->priority, o->label,
				 loop_now(d->event), loop_wall_seconds());
	}
	if (s == NULL)
		return NULL;
	s->max_wait = (uint64_t)(o->max_wait * USEC_PER_SEC);
	labd_state_changed(d);
	*ret_position = sessions_position(&d->sessions, s);
	labd_event(d, "session.created",
		   json_pack("{s:s, s:I, s:i, s:o}", "handle", s->handle, "position",
			     (json_int_t)*ret_position, "priority", s->priority, "label",
			     s->label ? json_string(s->label) : json_null()));
	log_info("Created session %s at queue position %zu (handle %s, priority %d%s%s)",
		 labd_sid8(id, sid), *ret_position, s->handle, s->priority,
		 s->label ? ", label " : "", s->label ? s->label : "");
	labd_promote(d);
	labd_sweep_sooner(d);
	return s;
}

void labd_session_touch(struct labd *d, struct session *s)
{
	s->last_seen = loop_now(d->event);
}

struct labd_end {
	char sid[9];
	labd_done_fn done;
	void *userdata;
	bool removed; /* the session is out of the queue */
	bool settled; /* its lab is settled */
};

static void labd_end_finish(struct labd *d, struct labd_end *end)
{
	/* Unlike the original, promote even when a teardown failed: never stall the queue. */
	labd_promote(d);
	if (end->done != NULL)
		end->done(d, end->userdata);
	free(end);
}

static void labd_on_lab_settled(struct labd *d, const struct labop_result *res, void *userdata)
{
	struct labd_end *end = userdata;

	if (res->outcome == LABOP_FAILED)
		log_error("Error during lab cleanup for session %s: %s", end->sid,
			  res->error ? json_string_value(json_object_get(res->error, "detail"))
				     : "unknown error");
	end->settled = true;
	if (end->removed) /* else labd_session_end finishes once the session is gone */
		labd_end_finish(d, end);
}

void labd_session_end(struct labd *d, struct session *s, enum session_end reason, const char *why,
		      labd_done_fn done, void *userdata)
{
	bool was_active = s->state == SESSION_ACTIVE;
	struct labd_end *end = xcalloc(1, sizeof(*end));
	char teardown_reason[96];

	labd_sid8(s->id, end->sid);
	end->done = done;
	end->userdata = userdata;
	log_debug("_delete_session: %s reason=%s", end->sid, why);
	log_info("Session %s removed (%s, topology=%s)", end->sid, why,
		 s->topology_name ? s->topology_name : "None");
	if (was_active && !d->shutting_down) {
		if (reason == SESSION_END_REAPED) {
			log_info("Cleaning up lab for stale active session %s", end->sid);
			snprintf(teardown_reason, sizeof(teardown_reason), "stale-session-%s",
				 end->sid);
		} else {
			log_info("Active session %s ended, cleaning up lab.", end->sid);
			snprintf(teardown_reason, sizeof(teardown_reason), "session-end-%s",
				 end->sid);
		}
		labops_session_ended(d->ops, s, teardown_reason, labd_on_lab_settled, end);
	} else {
		/* At shutdown the labs get one final "server-shutdown" teardown instead. */
		end->settled = true;
	}
	labops_session_gone(d->ops, s);
	labd_event(d, "session.ended",
		   json_pack("{s:s, s:s, s:s}", "handle", s->handle, "reason",
			     session_end_name(reason), "state", session_state_name(s->state)));
	sessions_remove(&d->sessions, s, reason, loop_now(d->event));
	labd_state_changed(d);
	log_debug("Removed session %s from queue", end->sid);
	end->removed = true;
	if (end->settled)
		labd_end_finish(d, end);
}

double labd_estimated_wait(const struct labd *d)
{
	uint64_t *w;
	size_t n = d->sessions.n_waiting + 1;
	double r = -1;

	if (labd_can_serve_now(d))
		return 0;
	w = xcalloc(n, sizeof(*w));
	if (sessions_estimate_waits(&d->sessions, d->cfg.lab_slots, loop_now(d->event), w, n) == 0)
		r = (double)w[n - 1] / 1e6;
	free(w);
	return r;
}

/* --- the sweeper --- */

struct labd_expired {
	char id[SESSION_ID_LEN + 1];
	enum session_end reason;
};

static void labd_sweep(struct labd *d)
{
	uint64_t now = loop_now(d->event);
	uint64_t active = (uint64_t)(d->cfg.active_timeout * USEC_PER_SEC);
	uint64_t waiting = (uint64_t)(d->cfg.waiting_timeout * USEC_PER_SEC);
	uint64_t hold = (uint64_t)(d->cfg.max_hold * USEC_PER_SEC);
	struct labd_expired *ex = NULL;
	size_t n = 0, i;
	struct session *s;
	char sid[9];

	if (sessions_count(&d->sessions) == 0)
		return;
	log_debug("Running session cleanup, %zu sessions tracked", sessions_count(&d->sessions));
	SESSIONS_FOREACH(s, &d->sessions)
	{
		enum session_end reason;

		if (session_is_stale(s, now, active, waiting)) {
			log_debug("Session %s is stale (age=%.1fs, timeout=%.0fs)",
				  labd_sid8(s->id, sid), (double)(now - s->last_seen) / 1e6,
				  s->state == SESSION_ACTIVE ? d->cfg.active_timeout
							     : d->cfg.waiting_timeout);
			reason = SESSION_END_REAPED;
		} else if (s->state == SESSION_WAITING && s->max_wait > 0 &&
			   now > s->created + s->max_wait) {
			reason = SESSION_END_MAX_WAIT;
		} else if (s->state == SESSION_ACTIVE && hold > 0 && now > s->promoted + hold &&
			   s->busy == 0) {
			reason = SESSION_END_MAX_HOLD;
		} else {
			continue;
		}
		ex = xreallocarray(ex, n + 1, sizeof(*ex));
		memcpy(ex[n].id, s->id, sizeof(ex[n].id));
		ex[n++].reason = reason;
	}
	for (i = 0; i < n; i++) {
		s = sessions_find(&d->sessions, ex[i].id);
		if (s == NULL)
			continue;
		labd_sid8(s->id, sid);
		switch (ex[i].reason) {
		case SESSION_END_REAPED:
			log_warn("Removing stale session %s due to inactivity", sid);
			labd_session_end(d, s, SESSION_END_REAPED, "stale", NULL, NULL);
			break;
		case SESSION_END_MAX_WAIT:
			log_warn(
				"Session %s (%s) waited longer than its max_wait of %.0fs; ending it",
				sid, s->handle, (double)s->max_wait / 1e6);
			labd_session_end(d, s, SESSION_END_MAX_WAIT, "max-wait", NULL, NULL);
			break;
		default:
			log_warn("Session %s (%s) was ACTIVE longer than --max-session-hold %.0fs; "
				 "ending it and releasing its lab",
				 sid, s->handle, d->cfg.max_hold);
			labd_session_end(d, s, SESSION_END_MAX_HOLD, "max-session-hold", NULL,
					 NULL);
			break;
		}
	}
	free(ex);
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

/* Reservation flows (start: wake + prepare-session; end: release-session + power) and the
 * timeline query. */
#define LOG_COMPONENT "ops-worker.reservations"
#include "reservations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "hosts.h"
#include "journal.h"
#include "jsonx.h"
#include "opsd.h"
#include "remote.h"
#include "request.h"
#include "wake.h"
#include "wol.h"

struct resv_flow {
	struct opsd *o;
	struct req_resv req;
	struct host_registry *reg; /* keeps host alive */
	const struct host *host;
	json_t *steps;
	bool success;
	int stage;
	uint64_t step_start;
	/* the step in progress */
	char *action;
	char **args;
	size_t nargs;
	json_t *wake_details;
	resv_done_fn done;
	void *userdata;
};

static void flow_next(struct resv_flow *f);

static void flow_journal_done(void *userdata, bool in_db)
{
	flow_next(userdata);
}

static void flow_finish(struct resv_flow *f)
{
	struct opsd *o = f->o;
	json_t *resp = json_object();
	unsigned status = f->success ? 200 : 502;

	json_object_set_new(resp, "success", json_boolean(f->success));
	json_object_set_new(resp, "reservationId", json_string(f->req.reservation_id));
	json_object_set_new(resp, "host", json_string(f->req.host));
	json_object_set_new(resp, "labId",
			    f->req.lab_id ? json_string(f->req.lab_id) : json_null());
	json_object_set_new(resp, "steps", f->steps);
	f->steps = NULL;
	log_info("reservation %s %s on %s: %s", f->req.reservation_id,
		 f->req.is_start ? "start" : "end", f->host->name, f->success ? "ok" : "failed");
	f->done(f->userdata, status, resp);
	req_resv_clear(&f->req);
	hosts_unref(f->reg);
	free(f);
	opsd_busy_dec(o);
}

/* A finished step: its object in the response's steps ({action, success, status, message,
 * [durationMs,] details}; durationMs only when step_ms) and its journal row (code and
 * duration may be NULL; details, owned, is the payload, which stays NULL for a step without
 * details, as the original writes it). The flow goes on once the row is kept. */
static void step_done(struct resv_flow *f, const char *action, bool ok, const char *message,
		      const int64_t *code, const int64_t *dur, bool step_ms, json_t *details)
{
	json_t *step = json_object();

	json_object_set_new(step, "action", json_string(action));
	json_object_set_new(step, "success", json_boolean(ok));
	json_object_set_new(step, "status", json_string(ok ? "completed" : "failed"));
	json_object_set_new(step, "message", json_string(message));
	if (step_ms)
		json_object_set_new(step, "durationMs", json_integer(*dur));
	json_object_set_new(step, "details", json_deep_copy(details));
	json_array_append_new(f->steps, step);
	if (!ok)
		f->success = false;
	if (json_object_size(details) == 0) {
		json_decref(details);
		details = NULL;
	}
	journal_add(f->o->journal, f->req.reservation_id, f->req.lab_id, f->host->name, action, ok,
		    code, dur, details, message, 0, flow_journal_done, f);
}

/* ---- wake step ------------------------------------------------------------------------ */

static void wake_step_done(void *userdata, const struct wake_outcome *out)
{
	struct resv_flow *f = userdata;
	json_t *details = f->wake_details;
	int64_t code = out->success ? 200 : 504, dur = (int64_t)out->duration_ms;

	f->wake_details = NULL;
	json_object_set_new(details, "attemptsUsed", json_integer(out->attempts_used));
	step_done(f, "wake", out->success, out->message, &code, &dur, true, details);
}

static void wake_step(struct resv_flow *f)
{
	const struct req_wake_opts *w = &f->req.wake_opts;
	const struct host *h = f->host;
	struct wake_request wr = { 0 };
	struct wake_outcome out = { 0 };
	const char *mac = w->mac ? w->mac : h->mac;
	const char *target = w->ping_target                          ? w->ping_target
			     : (h->ping_target && h->ping_target[0]) ? h->ping_target
								     : h->address;
	const char *bcast = w->broadcast ? w->broadcast : h->broadcast;
	json_t *d;

	if (mac == NULL || mac[0] == '\0') {
		step_done(f, "wake", false, "MAC address not configured", NULL, NULL, false,
			  json_object());
		return;
	}
	if (target == NULL || target[0] == '\0') {
		step_done(f, "wake", false, "Ping target not configured", NULL, NULL, false,
			  json_object());
		return;
	}
	wr.attempts = w->has_attempts ? w->attempts : h->wake_attempts ? h->wake_attempts : 3;
	wr.wait_s = w->has_timeout ? w->timeout : f->o->cfg.wake_wait;
	wr.port = w->has_port ? w->port : h->wol_port ? h->wol_port : 9;
	d = json_object();
	json_object_set_new(d, "mac", json_string(mac));
	json_object_set_new(d, "pingTarget", json_string(target));
	json_object_set_new(d, "attemptsRequested", json_integer(wr.attempts));
	json_object_set_new(d, "attemptsUsed", json_integer(0));
	json_object_set_new(d, "waitSeconds", json_real(wr.wait_s));
	json_object_set_new(d, "port", json_integer(wr.port));
	json_object_set_new(d, "broadcast", bcast ? json_string(bcast) : json_null());
	f->wake_details = d;
	if (wol_parse_mac(mac, wr.mac) < 0) {
		out.success = false;
		snprintf(out.message, sizeof(out.message), "Incorrect MAC address format");
		wake_step_done(f, &out);
		return;
	}
	wr.broadcast = bcast ? xstrdup(bcast) : NULL;
	wr.ping_target = xstrdup(target);
	wake_start(f->o, &wr, wake_step_done, f);
}

/* ---- command steps -------------------------------------------------------------------- */

static void command_step_done(struct remote_call *c, void *userdata)
{
	struct resv_flow *f = userdata;
	json_t *details = json_object();
	int64_t dur = (int64_t)c->duration_ms, code = 0;
	bool ok = false, failed_call;
	char msg[128];
	char *out = NULL, *err = NULL;

	if (c->r < 0) {
		log_warn("%s on %s for reservation %s failed: %s", f->action, f->host->name,
			 f->req.reservation_id, c->err);
		snprintf(msg, sizeof(msg), "%s", remote_error_message(c->r));
		json_object_set_new(details, "exitCode", json_null());
		out = xstrdup("");
		err = xstrdup("");
	} else {
		code = c->res.exit_code;
		ok = code == 0;
		snprintf(msg, sizeof(msg), "Exit code %lld", (long long)code);
		json_object_set_new(details, "exitCode", json_integer(code));
		out = jsonx_utf8_lossy(c->res.out, c->res.out_len, true);
		err = jsonx_utf8_lossy(c->res.err, c->res.err_len, true);
	}
	json_object_set_new(details, "stdout", json_string(out));
	json_object_set_new(details, "stderr", json_string(err));
	json_object_set_new(details, "args", jsonx_args_json(f->args, f->nargs));
	json_object_set_new(details, "durationMs", json_integer(dur));
	free(out);
	free(err);
	failed_call = c->r < 0;
	remote_call_free(c);
	step_done(f, f->action, ok, msg, failed_call ? NULL : &code, &dur, false, details);
}

/* action (journal), command (LabStation), args (borrowed into f). */
static void command_step(struct resv_flow *f, const char *action, const char *command, char **args,
			 size_t nargs)
{
	struct remote_call *c;

	free(f->action);
	f->action = xstrdup(action);
	f->args = args;
	f->nargs = nargs;
	c = remote_command_new(f->host, NULL, command, args, nargs, command_step_done, f);
	if (remote_submit(f->o, c) < 0) {
		c->r = -EAGAIN;
		snprintf(c->err, sizeof(c->err), "worker queue full");
		command_step_done(c, f);
	}
}

/* ---- the flow ------------------------------------------------------------------------- */

static void flow_next(struct resv_flow *f)
{
	for (;;) {
		switch (f->stage++) {
		case 0:
			if (f->req.is_start && f->req.wake) {
				wake_step(f);
				return;
			}
			break;
		case 1:
			if (f->req.is_start && f->success && f->req.prepare) {
				command_step(f, "prepare", "prepare-session", f->req.prepare_args,
					     f->req.n_prepare);
				return;
			}
			if (!f->req.is_start && f->req.release) {
				command_step(f, "release", "release-session", f->req.release_args,
					     f->req.n_release);
				return;
			}
			break;
		case 2:
			if (!f->req.is_start && f->success && f->req.power) {
				char **args = xcalloc(f->req.n_power + 2, sizeof(*args));
				char action[40];
				size_t i;

				/* [mode] + args: keep them in req so they live as long as f */
				args[0] = xstrdup(f->req.power_mode);
				for (i = 0; i < f->req.n_power; i++)
					args[i + 1] = f->req.power_args[i];
				free(f->req.power_args);
				f->req.power_args = args;
				f->req.n_power++;
				snprintf(action, sizeof(action), "power:%s", f->req.power_mode);
				command_step(f, action, "power", f->req.power_args, f->req.n_power);
				return;
			}
			break;
		default:
			free(f->action);
			f->action = NULL;
			flow_finish(f);
			return;
		}
	}
}

void resv_run(struct opsd *o, struct req_resv *req, const struct host *h, resv_done_fn done,
	      void *userdata)
{
	struct resv_flow *f = xcalloc(1, sizeof(*f));

	f->o = o;
	f->req = *req;
	memset(req, 0, sizeof(*req));
	f->reg = hosts_ref(o->hosts);
	f->host = h;
	f->steps = json_array();
	f->success = true;
	f->done = done;
	f->userdata = userdata;
	opsd_busy_inc(o);
	log_info("reservation %s %s on %s", f->req.reservation_id,
		 f->req.is_start ? "start" : "end", h->name);
	flow_next(f);
}

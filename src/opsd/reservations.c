/* Reservation flows (start: wake + prepare-session; end: release-session + power) and the
 * timeline query. */
#define LOG_COMPONENT "ops-worker.reservations"
#include "reservations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "db.h"
#include "hosts.h"
#include "isotime.h"
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
	struct host_registry *reg;  /* keeps host alive */
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
	json_object_set_new(resp, "labId", f->req.lab_id ? json_string(f->req.lab_id) : json_null());
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
 * duration may be NULL; details, owned, is the payload). The flow goes on once the row is
 * kept. */
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
	const char *target = w->ping_target ? w->ping_target
			     : (h->ping_target && h->ping_target[0]) ? h->ping_target : h->address;
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
static void command_step(struct resv_flow *f, const char *action, const char *command,
			 char **args, size_t nargs)
{
	struct remote_call *c = xcalloc(1, sizeof(*c));
	size_t i;

	free(f->action);
	f->action = xstrdup(action);
	f->args = args;
	f->nargs = nargs;
	c->kind = REMOTE_COMMAND;
	remote_target_from_host(&c->target, f->host, NULL, NULL, NULL, false, 0);
	c->exe = xstrdup(f->host->labstation_exe);
	c->args = xcalloc(nargs + 2, sizeof(*c->args));
	c->args[0] = xstrdup(command);
	for (i = 0; i < nargs; i++)
		c->args[i + 1] = xstrdup(args[i]);
	c->nargs = nargs + 1;
	c->done = command_step_done;
	c->userdata = f;
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
	log_info("reservation %s %s on %s", f->req.reservation_id, f->req.is_start ? "start" : "end",
		 h->name);
	flow_next(f);
}

/* ---- timeline (database thread) --------------------------------------------------------- */

void resv_lab_snapshot(const struct opsd *o, struct resv_lab_entry **ret, size_t *ret_n)
{
	const struct host_registry *reg = o->hosts;
	struct resv_lab_entry *labs = NULL;
	size_t n = 0, cap = 0, i, j, k;

	for (i = 0; reg && i < reg->n; i++) {
		const struct host *h = &reg->hosts[i];

		if (h->quarantined)
			continue;
		for (j = 0; j < h->n_labs; j++) {
			for (k = 0; k < n; k++)
				if (strcmp(labs[k].lab, h->labs[j]) == 0)
					break;
			if (k < n)
				continue; /* the first host wins */
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				labs = xreallocarray(labs, cap, sizeof(*labs));
			}
			labs[n].lab = xstrdup(h->labs[j]);
			labs[n].host = xstrdup(h->name);
			n++;
		}
	}
	*ret = labs;
	*ret_n = n;
}

void timeline_query_free(struct timeline_query *q)
{
	size_t i;

	if (q == NULL)
		return;
	free(q->reservation_id);
	for (i = 0; i < q->n_labs; i++) {
		free(q->labs[i].lab);
		free(q->labs[i].host);
	}
	free(q->labs);
	json_decref(q->result);
	free(q->host_name);
	free(q);
}

/* DB datetime text -> ISO-8601 with offset (raw text when it does not parse). */
static json_t *iso_col(struct db_stmt *st, unsigned col)
{
	char out[ISOTIME_MAX];
	int64_t t;

	if (db_column_null(st, col))
		return json_null();
	if (isotime_parse(db_column_text(st, col), &t) < 0)
		return json_string(db_column_text(st, col));
	isotime_format(t, out);
	return json_string(out);
}

static json_t *text_col(struct db_stmt *st, unsigned col)
{
	return db_column_null(st, col) ? json_null() : json_string(db_column_text(st, col));
}

static json_t *int_col(struct db_stmt *st, unsigned col)
{
	return db_column_null(st, col) ? json_null() : json_integer(db_column_int64(st, col));
}

static json_t *bool_col(struct db_stmt *st, unsigned col)
{
	return db_column_null(st, col) ? json_null() : json_boolean(db_column_int64(st, col) != 0);
}

static json_t *json_col(struct db_stmt *st, unsigned col)
{
	json_t *v;

	if (db_column_null(st, col))
		return json_null();
	v = json_loads(db_column_text(st, col), JSON_DECODE_ANY, NULL);
	return v ? v : json_string(db_column_text(st, col));
}

#define OPS_COLUMNS "action, status, success, message, payload, response_code, duration_ms, created_at"

static json_t *op_row(struct db_stmt *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "action", text_col(st, 0));
	json_object_set_new(o, "status", text_col(st, 1));
	json_object_set_new(o, "success", json_boolean(db_column_int64(st, 2) != 0));
	json_object_set_new(o, "message", text_col(st, 3));
	json_object_set_new(o, "payload", json_col(st, 4));
	json_object_set_new(o, "responseCode", int_col(st, 5));
	json_object_set_new(o, "durationMs", int_col(st, 6));
	json_object_set_new(o, "createdAt", iso_col(st, 7));
	return o;
}

/* Every row of st as an operation, appended to ops; finalizes st. 0 or a negative errno. */
static int read_ops(struct db_stmt *st, json_t *ops)
{
	int r;

	while ((r = db_step(st)) > 0)
		json_array_append_new(ops, op_row(st));
	db_finalize(st);
	return r;
}

int timeline_fetch(struct db *db, struct timeline_query *q)
{
	static const struct {
		const char *phase;
		const char *prefix[2];
	} phases[] = {
		{ "wake", { "wake", "scheduler:start" } },
		{ "prepare", { "prepare", NULL } },
		{ "release", { "release", NULL } },
		{ "power", { "power:", NULL } },
		{ "schedulerEnd", { "scheduler:end", NULL } },
	};
	json_t *res = NULL, *resv, *ops, *ph, *recent = NULL, *hb = json_null(), *attempts;
	struct db_stmt *st = NULL;
	char *lab = NULL, *key;
	int64_t total = 0;
	size_t i, k;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_prepare(db, &st,
		       "SELECT transaction_hash, lab_id, status, start_time, end_time, wallet_address, "
		       "created_at, updated_at FROM lab_reservations WHERE transaction_hash = ?",
		       "s", q->reservation_id);
	if (r < 0)
		goto fail;
	r = db_step(st);
	if (r <= 0) {
		db_finalize(st);
		st = NULL;
		if (r == 0) {
			q->found = false;
			(void)db_rollback(db);
			return 0;
		}
		goto fail;
	}
	q->found = true;
	res = json_object();
	resv = json_object();
	json_object_set_new(resv, "reservationId", text_col(st, 0));
	json_object_set_new(resv, "labId", text_col(st, 1));
	json_object_set_new(resv, "status", text_col(st, 2));
	json_object_set_new(resv, "start", iso_col(st, 3));
	json_object_set_new(resv, "end", iso_col(st, 4));
	json_object_set_new(resv, "walletAddress", text_col(st, 5));
	json_object_set_new(resv, "createdAt", iso_col(st, 6));
	json_object_set_new(resv, "updatedAt", iso_col(st, 7));
	json_object_set_new(res, "reservation", resv);
	lab = db_column_null(st, 1) ? NULL : xstrdup(db_column_text(st, 1));
	db_finalize(st);
	st = NULL;

	/* host from the lab mapping */
	key = lab ? hosts_lab_key(lab) : NULL;
	for (i = 0; key && i < q->n_labs; i++)
		if (strcmp(q->labs[i].lab, key) == 0) {
			q->host_name = xstrdup(q->labs[i].host);
			break;
		}
	free(key);

	/* operations, paginated */
	r = db_query_int64(db, &total,
			   "SELECT COUNT(*) FROM reservation_operations WHERE reservation_id = ?", "s",
			   q->reservation_id);
	if (r < 0)
		goto fail;
	r = db_prepare(db, &st,
		       "SELECT " OPS_COLUMNS " FROM reservation_operations WHERE reservation_id = ? "
		       "ORDER BY created_at ASC, id ASC LIMIT ? OFFSET ?",
		       "sii", q->reservation_id, (int64_t)q->limit, (int64_t)q->offset);
	if (r < 0)
		goto fail;
	ops = json_array();
	json_object_set_new(res, "operations", ops);
	r = read_ops(st, ops);
	st = NULL;
	if (r < 0)
		goto fail;

	/* phases: the newest rows, last match per phase */
	r = db_prepare(db, &st,
		       "SELECT " OPS_COLUMNS " FROM reservation_operations WHERE reservation_id = ? "
		       "ORDER BY created_at DESC, id DESC LIMIT ?",
		       "si", q->reservation_id, (int64_t)q->phase_lookback);
	if (r < 0)
		goto fail;
	recent = json_array();
	r = read_ops(st, recent);
	st = NULL;
	if (r < 0)
		goto fail;
	ph = json_object();
	json_object_set_new(res, "phases", ph);
	for (k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
		json_t *found = NULL;

		/* recent is newest first: the first match is the newest */
		for (i = 0; i < json_array_size(recent) && found == NULL; i++) {
			json_t *op = json_array_get(recent, i);
			const char *a = json_string_value(json_object_get(op, "action"));

			if (a && (str_has_prefix(a, phases[k].prefix[0]) ||
				  (phases[k].prefix[1] && str_has_prefix(a, phases[k].prefix[1]))))
				found = op;
		}
		json_object_set(ph, phases[k].phase, found ? found : json_null());
	}

	/* latest heartbeat of the mapped host */
	if (q->host_name != NULL) {
		r = db_prepare(db, &st,
			       "SELECT hb.timestamp_utc, hb.ready, hb.local_mode, hb.local_session, "
			       "hb.last_power_action_ts, hb.last_power_action_mode, "
			       "hb.last_forced_logoff_ts, hb.last_forced_logoff_user, hb.raw_json "
			       "FROM lab_host_heartbeat hb JOIN lab_hosts h ON h.id = hb.host_id "
			       "WHERE h.name = ? ORDER BY hb.timestamp_utc DESC, hb.id DESC LIMIT 1",
			       "s", q->host_name);
		if (r < 0)
			goto fail;
		r = db_step(st);
		if (r < 0)
			goto fail;
		if (r > 0) {
			json_t *lp = json_object(), *lf = json_object();

			json_decref(hb);
			hb = json_object();
			json_object_set_new(hb, "timestamp", iso_col(st, 0));
			json_object_set_new(hb, "ready", bool_col(st, 1));
			json_object_set_new(hb, "localMode", bool_col(st, 2));
			json_object_set_new(hb, "localSession", bool_col(st, 3));
			json_object_set_new(lp, "timestamp", iso_col(st, 4));
			json_object_set_new(lp, "mode", text_col(st, 5));
			json_object_set_new(lf, "timestamp", iso_col(st, 6));
			json_object_set_new(lf, "user", text_col(st, 7));
			json_object_set_new(hb, "lastPower", lp);
			json_object_set_new(hb, "lastForcedLogoff", lf);
			json_object_set_new(hb, "raw", json_col(st, 8));
		}
		db_finalize(st);
		st = NULL;
	}
	json_object_set_new(res, "heartbeat", hb);
	hb = NULL;

	/* scheduler attempts (ops_reservation_claims) */
	attempts = json_object();
	json_object_set_new(attempts, "start", json_integer(0));
	json_object_set_new(attempts, "end", json_integer(0));
	r = db_prepare(db, &st,
		       "SELECT phase, attempts FROM ops_reservation_claims WHERE reservation_id = ?",
		       "s", q->reservation_id);
	if (r < 0) {
		json_decref(attempts);
		goto fail;
	}
	while ((r = db_step(st)) > 0) {
		const char *phase = db_column_text(st, 0);

		if (strcmp(phase, "start") == 0 || strcmp(phase, "end") == 0)
			json_object_set_new(attempts, phase, json_integer(db_column_int64(st, 1)));
	}
	db_finalize(st);
	st = NULL;
	json_object_set_new(res, "schedulerAttempts", attempts);
	if (r < 0)
		goto fail;

	{
		json_t *p = json_object();
		size_t returned = json_array_size(json_object_get(res, "operations"));

		json_object_set_new(p, "limit", json_integer(q->limit));
		json_object_set_new(p, "offset", json_integer(q->offset));
		json_object_set_new(p, "page", json_integer(q->offset / q->limit + 1));
		json_object_set_new(p, "pageSize", json_integer(q->limit));
		json_object_set_new(p, "returned", json_integer((json_int_t)returned));
		json_object_set_new(p, "total", json_integer(total));
		json_object_set_new(p, "hasMore",
				    json_boolean(total > q->offset + (int64_t)returned));
		json_object_set_new(p, "nextOffset", json_integer(q->offset + (int64_t)returned));
		json_object_set_new(res, "pagination", p);
	}
	r = db_commit(db);
	if (r < 0)
		goto fail;
	json_decref(recent);
	free(lab);
	q->result = res;
	return 0;
fail:
	db_finalize(st);
	json_decref(recent);
	json_decref(res);
	json_decref(hb);
	free(lab);
	free(q->host_name);
	q->host_name = NULL;
	(void)db_rollback(db);
	return r < 0 ? r : -EIO;
}

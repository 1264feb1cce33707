/* The HTTP routes of ops-worker: translate requests to module calls and back. */
#define LOG_COMPONENT "ops-worker.api"
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/http.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "dbq.h"
#include "heartbeat.h"
#include "hosts.h"
#include "journal.h"
#include "jsonx.h"
#include "opsd.h"
#include "remote.h"
#include "request.h"
#include "reservations.h"
#include "wake.h"
#include "wol.h"

static struct opsd *opsd_of(struct http_request *req)
{
	return http_request_server_data(req);
}

static void respond_error(struct http_request *req, unsigned status, const char *message)
{
	json_t *o = json_object();

	json_object_set_new(o, "error", json_string(message));
	http_respond_json(req, status, o);
}

void api_error(struct http_request *req, unsigned status, const char *message)
{
	respond_error(req, status, message);
}

void api_before(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	unsigned status;

	status = auth_check(&o->auth, http_request_path(req),
			    http_request_header(req, "X-Lab-Manager-Token"),
			    http_request_cookie(req, "lab_manager_token"), http_request_peer(req));
	if (status == 401)
		respond_error(req, 401, "Unauthorized");
	else if (status == 403)
		respond_error(req, 403, "Forbidden");
}

/* The body as an object ({} when empty or malformed); NULL after a 400 when valid JSON
 * that is not an object. */
static json_t *body_object(struct http_request *req)
{
	size_t len;
	const char *body = http_request_body(req, &len);
	json_t *o = jsonx_body_object(body, len);

	if (o == NULL)
		respond_error(req, 400, "invalid JSON body: expected an object");
	return o;
}

/* The original words "unknown host" differently per route. */
enum unknown_host {
	UNKNOWN_HOST_IN_CONFIG, /* host '<name>' not found in config (winrm, heartbeat/poll) */
	UNKNOWN_HOST_QUOTED,    /* host '<name>' not found (reservations) */
	UNKNOWN_HOST_BARE,      /* host <name> not found (quarantine) */
};

/* The host a validated request names: 0, or 404 with the route's message in err. */
static unsigned find_host(const struct opsd *o, const char *name, enum unknown_host wording,
			  struct host **ret, char *err, size_t errlen)
{
	struct host *h = hosts_get(o->hosts, name);

	if (h != NULL) {
		*ret = h;
		return 0;
	}
	if (wording == UNKNOWN_HOST_BARE)
		snprintf(err, errlen, "host %s not found", name);
	else
		snprintf(err, errlen, "host '%s' not found%s", name,
			 wording == UNKNOWN_HOST_IN_CONFIG ? " in config" : "");
	return 404;
}

/* ---- GET /health ---------------------------------------------------------------------- */

static void h_health(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	json_t *r = json_object();

	json_object_set_new(r, "status", json_string("ok"));
	json_object_set_new(r, "hosts_loaded", json_integer((json_int_t)hosts_count_active(o->hosts)));
	json_object_set_new(r, "db", json_boolean(o->dbq != NULL));
	json_object_set_new(r, "db_backend", json_string(dbq_backend(o->dbq)));
	json_object_set_new(r, "db_connected", json_boolean(dbq_connected(o->dbq)));
	json_object_set_new(r, "db_errors", json_integer((json_int_t)dbq_errors(o->dbq)));
	json_object_set_new(r, "journal_spooled",
			    json_integer((json_int_t)journal_spooled(o->journal)));
	http_respond_json(req, 200, r);
}

/* ---- POST /api/wol ---------------------------------------------------------------------- */

struct wol_ctx {
	struct http_request *req;
	char *ping_target;
};

static void wol_done(void *userdata, const struct wake_outcome *out)
{
	struct wol_ctx *c = userdata;
	json_t *r;

	if (out->error < 0) {
		respond_error(c->req, 500, out->message);
	} else {
		r = json_object();
		json_object_set_new(r, "success", json_boolean(out->success));
		json_object_set_new(r, "attempts_used", json_integer(out->attempts_used));
		json_object_set_new(r, "duration_ms", json_integer((json_int_t)out->duration_ms));
		json_object_set_new(r, "ping_target",
				    c->ping_target ? json_string(c->ping_target) : json_null());
		http_respond_json(c->req, 200, r);
	}
	free(c->ping_target);
	free(c);
}

static void h_wol(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct req_wol r = { 0 };
	struct wake_request wr = { 0 };
	struct wol_ctx *c;
	char err[REQUEST_ERR_MAX];
	json_t *body = body_object(req);
	unsigned status;

	if (body == NULL)
		return;
	status = request_wol(body, o->hosts, &r, err, sizeof(err));
	json_decref(body);
	if (status) {
		respond_error(req, status, err);
		return;
	}
	if (wol_parse_mac(r.mac, wr.mac) < 0) {
		respond_error(req, 400, "Incorrect MAC address format");
		req_wol_clear(&r);
		return;
	}
	wr.broadcast = r.broadcast;
	wr.port = r.port;
	wr.ping_target = r.ping_target ? xstrdup(r.ping_target) : NULL;
	wr.attempts = r.attempts;
	wr.wait_s = r.ping_timeout;
	r.broadcast = NULL;
	c = xcalloc(1, sizeof(*c));
	c->req = req;
	c->ping_target = r.ping_target;
	r.ping_target = NULL;
	req_wol_clear(&r);
	wake_start(o, &wr, wol_done, c);
}

/* ---- POST /api/winrm -------------------------------------------------------------------- */

static void winrm_done(struct remote_call *c, void *userdata)
{
	struct http_request *req = userdata;
	json_t *r;
	char *out, *err;

	log_debug("WinRM %s on %s done: r=%d", c->args[0], c->target.address, c->r);
	if (c->r < 0) {
		log_warn("WinRM %s on %s failed: %s", c->args[0], c->target.address, c->err);
		respond_error(req, 500, remote_error_message(c->r));
		remote_call_free(c);
		return;
	}
	out = jsonx_utf8_lossy(c->res.out, c->res.out_len, false);
	err = jsonx_utf8_lossy(c->res.err, c->res.err_len, false);
	r = json_object();
	json_object_set_new(r, "exit_code", json_integer(c->res.exit_code));
	json_object_set_new(r, "stdout", json_string(out));
	json_object_set_new(r, "stderr", json_string(err));
	json_object_set_new(r, "duration_ms", json_integer((json_int_t)c->duration_ms));
	free(out);
	free(err);
	remote_call_free(c);
	http_respond_json(req, 200, r);
}

static void h_winrm(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct req_winrm r = { 0 };
	struct remote_call *c;
	struct host *h = NULL;
	char err[REQUEST_ERR_MAX + 64];
	json_t *body = body_object(req);
	unsigned status;
	size_t i;

	if (body == NULL)
		return;
	status = request_winrm(body, &o->cfg, &r, err, sizeof(err));
	json_decref(body);
	if (status == 0)
		status = find_host(o, r.host, UNKNOWN_HOST_IN_CONFIG, &h, err, sizeof(err));
	if (status) {
		respond_error(req, status, err);
		req_winrm_clear(&r);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->kind = REMOTE_COMMAND;
	remote_target_from_host(&c->target, h, r.user, r.password, r.transport, r.use_ssl, r.port);
	if (c->target.user == NULL || !c->target.user[0] || c->target.password == NULL ||
	    !c->target.password[0]) {
		respond_error(req, 500, "WinRM credentials are required");
		remote_call_free(c);
		req_winrm_clear(&r);
		return;
	}
	c->exe = xstrdup(h->labstation_exe);
	c->args = xcalloc(r.nargs + 2, sizeof(*c->args));
	c->args[0] = xstrdup(r.command);
	for (i = 0; i < r.nargs; i++)
		c->args[i + 1] = xstrdup(r.args[i]);
	c->nargs = r.nargs + 1;
	c->done = winrm_done;
	c->userdata = req;
	log_info("WinRM %s on %s (%s)", r.command, h->name, c->target.transport);
	req_winrm_clear(&r);
	if (remote_submit(o, c) < 0) {
		respond_error(req, 503, remote_error_message(-EAGAIN));
		remote_call_free(c);
	}
}

/* ---- POST /api/heartbeat/poll ---------------------------------------------------------- */

struct poll_ctx {
	struct http_request *req;
	char *host;
};

static void poll_done(void *userdata, const struct heartbeat_result *res)
{
	struct poll_ctx *c = userdata;
	json_t *r;

	if (res->status != 200) {
		respond_error(c->req, res->status, res->error);
	} else {
		r = json_object();
		json_object_set(r, "heartbeat", res->heartbeat);
		json_object_set(r, "last_event", res->last_event ? res->last_event : json_null());
		json_object_set_new(r, "duration_ms", json_integer((json_int_t)res->duration_ms));
		json_object_set_new(r, "host", json_string(c->host));
		http_respond_json(c->req, 200, r);
	}
	free(c->host);
	free(c);
}

static void h_poll(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct req_poll r = { 0 };
	struct poll_ctx *c;
	struct host *h = NULL;
	char err[REQUEST_ERR_MAX + 64];
	json_t *body = body_object(req);
	unsigned status;

	if (body == NULL)
		return;
	status = request_poll(body, &r, err, sizeof(err));
	json_decref(body);
	if (status == 0)
		status = find_host(o, r.host, UNKNOWN_HOST_IN_CONFIG, &h, err, sizeof(err));
	if (status) {
		respond_error(req, status, err);
		req_poll_clear(&r);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->req = req;
	c->host = r.host;
	r.host = NULL;
	heartbeat_poll(o, h, r.include_events, poll_done, c);
	req_poll_clear(&r);
}

/* ---- POST /api/hosts/reload, /api/hosts/quarantine -------------------------------------- */

static void hosts_warn(void *userdata, const char *message)
{
	log_warn("%s", message);
}

int api_load_hosts(struct opsd *o, char *err, size_t errlen)
{
	struct host_registry *reg;
	int r;

	r = hosts_load(o->cfg.hosts_path, hosts_warn, NULL, &reg, err, errlen);
	if (r < 0)
		return r;
	log_info("%s %zu host(s) from %s", o->hosts ? "reloaded" : "loaded", reg->n,
		 o->cfg.hosts_path);
	hosts_unref(o->hosts);
	o->hosts = reg;
	return 0;
}

static void h_reload(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	char err[512];
	json_t *r;

	if (api_load_hosts(o, err, sizeof(err)) < 0) {
		log_error("hosts reload from %s failed, keeping the previous hosts: %s",
			  o->cfg.hosts_path, err);
		respond_error(req, 500, err);
		return;
	}
	r = json_object();
	json_object_set_new(r, "reloaded", json_true());
	json_object_set_new(r, "hosts", json_integer((json_int_t)o->hosts->n));
	http_respond_json(req, 200, r);
}

/* Flask's request.is_json: application/json or application/<x>+json. */
static bool is_json_type(const char *ct)
{
	size_t n;
	const char *semi;

	if (ct == NULL)
		return false;
	semi = strchr(ct, ';');
	n = semi ? (size_t)(semi - ct) : strlen(ct);
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return true;
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	       strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static void h_quarantine(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct req_quarantine r = { 0 };
	struct host *h = NULL;
	char err[REQUEST_ERR_MAX + 64];
	json_t *body, *resp;
	unsigned status;

	/* The original does not force JSON here: other content types are read as {}. */
	if (is_json_type(http_request_header(req, "Content-Type")))
		body = body_object(req);
	else
		body = json_object();
	if (body == NULL)
		return;
	status = request_quarantine(body, &r, err, sizeof(err));
	json_decref(body);
	if (status == 0)
		status = find_host(o, r.host, UNKNOWN_HOST_BARE, &h, err, sizeof(err));
	if (status) {
		respond_error(req, status, err);
		req_quarantine_clear(&r);
		return;
	}
	h->quarantined = r.quarantined;
	log_info("host %s %s", h->name, r.quarantined ? "quarantined" : "released from quarantine");
	resp = json_object();
	json_object_set_new(resp, "host", json_string(r.host));
	json_object_set_new(resp, "quarantined", json_boolean(r.quarantined));
	req_quarantine_clear(&r);
	http_respond_json(req, 200, resp);
}

/* ---- POST /api/reservations/start|end ---------------------------------------------------- */

static void resv_done(void *userdata, unsigned status, json_t *response)
{
	http_respond_json(userdata, status, response);
}

static void h_resv(struct http_request *req, bool start)
{
	struct opsd *o = opsd_of(req);
	struct req_resv r = { 0 };
	struct host *h = NULL;
	char err[REQUEST_ERR_MAX + 64];
	json_t *body = body_object(req);
	unsigned status;

	if (body == NULL)
		return;
	status = request_resv(body, start, &r, err, sizeof(err));
	json_decref(body);
	if (status == 0)
		status = find_host(o, r.host, UNKNOWN_HOST_QUOTED, &h, err, sizeof(err));
	if (status) {
		respond_error(req, status, err);
		req_resv_clear(&r);
		return;
	}
	resv_run(o, &r, h, resv_done, req);
}

static void h_resv_start(struct http_request *req)
{
	h_resv(req, true);
}

static void h_resv_end(struct http_request *req)
{
	h_resv(req, false);
}

/* ---- GET /api/reservations/timeline ------------------------------------------------------- */

struct timeline_ctx {
	struct http_request *req;
	struct timeline_query *q;
};

static int timeline_work(struct db *db, void *arg)
{
	struct timeline_ctx *c = arg;

	return timeline_fetch(db, c->q);
}

static void timeline_done(void *arg, int r)
{
	struct timeline_ctx *c = arg;
	struct opsd *o = opsd_of(c->req);
	struct timeline_query *q = c->q;
	json_t *host, *res;
	const struct host *h;

	if (r < 0) {
		respond_error(c->req, r == -ENOTCONN ? 503 : 500,
			      r == -ENOTCONN ? "Database unavailable" : "Timeline query failed");
	} else if (!q->found) {
		respond_error(c->req, 404, "Reservation not found");
	} else {
		res = q->result;
		q->result = NULL;
		host = json_object();
		h = q->host_name ? hosts_get(o->hosts, q->host_name) : NULL;
		json_object_set_new(host, "name", q->host_name ? json_string(q->host_name) : json_null());
		json_object_set(host, "labId",
				json_object_get(json_object_get(res, "reservation"), "labId"));
		json_object_set_new(host, "config", h ? hosts_config_json(h) : json_null());
		json_object_set_new(res, "host", host);
		http_respond_json(c->req, 200, res);
	}
	timeline_query_free(q);
	free(c);
}

static void h_timeline(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct req_timeline r = { 0 };
	struct timeline_ctx *c;
	char err[REQUEST_ERR_MAX];
	unsigned status;

	if (o->dbq == NULL) {
		respond_error(req, 500, "Database not configured");
		return;
	}
	status = request_timeline(http_request_query(req, "reservationId", NULL),
				  http_request_query(req, "reservation_id", NULL),
				  http_request_query(req, "limit", NULL),
				  http_request_query(req, "offset", NULL), &o->cfg, &r, err,
				  sizeof(err));
	if (status) {
		respond_error(req, status, err);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->req = req;
	c->q = xcalloc(1, sizeof(*c->q));
	c->q->reservation_id = r.reservation_id;
	r.reservation_id = NULL;
	c->q->limit = r.limit;
	c->q->offset = r.offset;
	c->q->phase_lookback = o->cfg.timeline_phase_lookback;
	resv_lab_snapshot(o, &c->q->labs, &c->q->n_labs);
	req_timeline_clear(&r);
	if (dbq_submit(o->dbq, timeline_work, timeline_done, c) < 0) {
		respond_error(req, 503, "Database queue is full, try again later");
		timeline_query_free(c->q);
		free(c);
	}
}

/* ---- the table ---------------------------------------------------------------------------- */

const struct http_route api_routes[] = {
	{ .method = "GET", .path = "/health", .handler = h_health },
	{ .method = "POST", .path = "/api/wol", .handler = h_wol, .body = HTTP_BODY_BUFFER },
	{ .method = "POST", .path = "/api/winrm", .handler = h_winrm, .body = HTTP_BODY_BUFFER },
	{ .method = "POST", .path = "/api/heartbeat/poll", .handler = h_poll,
	  .body = HTTP_BODY_BUFFER },
	{ .method = "POST", .path = "/api/hosts/reload", .handler = h_reload },
	{ .method = "POST", .path = "/api/hosts/quarantine", .handler = h_quarantine,
	  .body = HTTP_BODY_BUFFER },
	{ .method = "POST", .path = "/api/reservations/start", .handler = h_resv_start,
	  .body = HTTP_BODY_BUFFER },
	{ .method = "POST", .path = "/api/reservations/end", .handler = h_resv_end,
	  .body = HTTP_BODY_BUFFER },
	{ .method = "GET", .path = "/api/reservations/timeline", .handler = h_timeline },
};
const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);

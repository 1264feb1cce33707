/* The HTTP routes of ops-worker: translate requests to module calls and back. */
#define LOG_COMPONENT "ops-worker.api"
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/router.h"
#include "common/xmalloc.h"
#include "dbq.h"
#include "heartbeat.h"
#include "heartbeat_stream.h"
#include "hosts.h"
#include "journal.h"
#include "jsonx.h"
#include "openapi.h"
#include "opsd.h"
#include "opsd_metrics.h"
#include "remote.h"
#include "request.h"
#include "reservations.h"
#include "timeline.h"
#include "wake.h"
#include "wol.h"

static struct opsd *opsd_of(struct http_request *req)
{
	return http_request_server_data(req);
}

#define METRICS_TEXT_MAX (4u * 1024u * 1024u)

/* Count an answer in ops_worker_http_requests_total under its route's pattern. Requests
 * answered before routing (access control, the layer's 404/405 and screen) are matched
 * here; without a route they count as "unmatched". */
static void count(struct http_request *req, unsigned status)
{
	const struct http_route *rt = http_request_route(req);
	struct router_match m;
	char label[96];

	if (rt == NULL && router_match(api_routes, api_n_routes, http_request_method(req),
				       http_request_path(req), true, &m) == ROUTER_FOUND)
		rt = m.route;
	if (rt != NULL)
		snprintf(label, sizeof(label), "%s %s", rt->method, rt->path);
	else
		snprintf(label, sizeof(label), "unmatched");
	opsd_metrics_http(opsd_of(req)->metrics, label, status);
}

/* Every answer goes through here (or count() for the raw ones below). */
static void respond(struct http_request *req, unsigned status, json_t *body)
{
	count(req, status);
	http_respond_json(req, status, body);
}

static void respond_error(struct http_request *req, unsigned status, const char *message)
{
	json_t *o = json_object();

	json_object_set_new(o, "error", json_string(message));
	respond(req, status, o);
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
	UNKNOWN_HOST_NONE,      /* no lookup here (/api/wol looks the host up itself) */
	UNKNOWN_HOST_IN_CONFIG, /* host '<name>' not found in config (winrm, heartbeat/poll) */
	UNKNOWN_HOST_QUOTED,    /* host '<name>' not found (reservations) */
	UNKNOWN_HOST_BARE,      /* host <name> not found (quarantine) */
};

static const enum unknown_host unknown_host_wording[] = {
	[REQUEST_WOL] = UNKNOWN_HOST_NONE,          [REQUEST_WINRM] = UNKNOWN_HOST_IN_CONFIG,
	[REQUEST_POLL] = UNKNOWN_HOST_IN_CONFIG,    [REQUEST_QUARANTINE] = UNKNOWN_HOST_BARE,
	[REQUEST_RESV_START] = UNKNOWN_HOST_QUOTED, [REQUEST_RESV_END] = UNKNOWN_HOST_QUOTED,
};

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

/*
 * The preamble of every route with a body: the body as an object, validated into *r, and
 * the host it names looked up (into *ret_host when not NULL). false when an error reply has
 * been sent (and nothing is left to clear); true when the handler goes on and owns *r.
 */
static bool api_begin(struct http_request *req, enum request_kind kind, union request *r,
		      struct host **ret_host)
{
	struct opsd *o = opsd_of(req);
	const struct request_env env = { .cfg = &o->cfg, .hosts = o->hosts };
	enum unknown_host wording = unknown_host_wording[kind];
	char err[REQUEST_ERR_MAX + 64];
	const char *name;
	struct host *h = NULL;
	unsigned status;
	json_t *body;

	/* The original does not force JSON for quarantine: other content types are read as {}. */
	if (kind == REQUEST_QUARANTINE && !is_json_type(http_request_header(req, "Content-Type")))
		body = json_object();
	else
		body = body_object(req);
	if (body == NULL)
		return false;
	memset(r, 0, sizeof(*r));
	status = request_parse(kind, body, &env, r, err, sizeof(err));
	json_decref(body);
	if (status) {
		respond_error(req, status, err);
		return false;
	}
	name = request_host(kind, r);
	if (wording != UNKNOWN_HOST_NONE && (h = hosts_get(o->hosts, name)) == NULL) {
		if (wording == UNKNOWN_HOST_BARE)
			snprintf(err, sizeof(err), "host %s not found", name);
		else
			snprintf(err, sizeof(err), "host '%s' not found%s", name,
				 wording == UNKNOWN_HOST_IN_CONFIG ? " in config" : "");
		respond_error(req, 404, err);
		request_clear(kind, r);
		return false;
	}
	if (ret_host != NULL)
		*ret_host = h;
	return true;
}

/* ---- GET /health ---------------------------------------------------------------------- */

static void h_health(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	json_t *r = json_object();

	json_object_set_new(r, "status", json_string("ok"));
	json_object_set_new(r, "hosts_loaded",
			    json_integer((json_int_t)hosts_count_active(o->hosts)));
	json_object_set_new(r, "db", json_boolean(o->dbq != NULL));
	json_object_set_new(r, "db_backend", json_string(dbq_backend(o->dbq)));
	json_object_set_new(r, "db_connected", json_boolean(dbq_connected(o->dbq)));
	json_object_set_new(r, "db_errors", json_integer((json_int_t)dbq_errors(o->dbq)));
	json_object_set_new(r, "journal_spooled",
			    json_integer((json_int_t)journal_spooled(o->journal)));
	respond(req, 200, r);
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
		respond(c->req, 200, r);
	}
	free(c->ping_target);
	free(c);
}

static void h_wol(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct wake_request wr = { 0 };
	union request u;
	struct req_wol *r = &u.wol;
	struct wol_ctx *c;

	if (!api_begin(req, REQUEST_WOL, &u, NULL))
		return;
	if (wol_parse_mac(r->mac, wr.mac) < 0) {
		respond_error(req, 400, "Incorrect MAC address format");
		req_wol_clear(r);
		return;
	}
	wr.broadcast = r->broadcast;
	wr.port = r->port;
	wr.ping_target = r->ping_target ? xstrdup(r->ping_target) : NULL;
	wr.attempts = r->attempts;
	wr.wait_s = r->ping_timeout;
	r->broadcast = NULL;
	c = xcalloc(1, sizeof(*c));
	c->req = req;
	c->ping_target = r->ping_target;
	r->ping_target = NULL;
	req_wol_clear(r);
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
	respond(req, 200, r);
}

static void h_winrm(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct remote_overrides ov = { 0 };
	struct remote_call *c;
	struct host *h;
	union request u;
	struct req_winrm *r = &u.winrm;

	if (!api_begin(req, REQUEST_WINRM, &u, &h))
		return;
	ov.user = r->user;
	ov.password = r->password;
	ov.transport = r->transport;
	ov.use_ssl = r->use_ssl;
	ov.port = r->port;
	c = remote_command_new(h, &ov, r->command, r->args, r->nargs, winrm_done, req);
	if (!remote_target_has_credentials(&c->target)) {
		respond_error(req, 500, "WinRM credentials are required");
		remote_call_free(c);
		req_winrm_clear(r);
		return;
	}
	log_info("WinRM %s on %s (%s)", r->command, h->name, c->target.transport);
	req_winrm_clear(r);
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
		respond(c->req, 200, r);
	}
	free(c->host);
	free(c);
}

static void h_poll(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct poll_ctx *c;
	struct host *h;
	union request u;

	if (!api_begin(req, REQUEST_POLL, &u, &h))
		return;
	c = xcalloc(1, sizeof(*c));
	c->req = req;
	c->host = u.poll.host;
	u.poll.host = NULL;
	heartbeat_poll(o, h, u.poll.include_events, true, poll_done, c);
	req_poll_clear(&u.poll);
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
	respond(req, 200, r);
}

static void h_quarantine(struct http_request *req)
{
	struct host *h;
	union request u;
	struct req_quarantine *r = &u.quarantine;
	json_t *resp;

	if (!api_begin(req, REQUEST_QUARANTINE, &u, &h))
		return;
	h->quarantined = r->quarantined;
	log_info("host %s %s", h->name,
		 r->quarantined ? "quarantined" : "released from quarantine");
	resp = json_object();
	json_object_set_new(resp, "host", json_string(r->host));
	json_object_set_new(resp, "quarantined", json_boolean(r->quarantined));
	req_quarantine_clear(r);
	respond(req, 200, resp);
}

/* ---- POST /api/reservations/start|end ---------------------------------------------------- */

static void resv_done(void *userdata, unsigned status, json_t *response)
{
	respond(userdata, status, response);
}

static void h_resv(struct http_request *req, bool start)
{
	struct host *h;
	union request u;

	if (!api_begin(req, start ? REQUEST_RESV_START : REQUEST_RESV_END, &u, &h))
		return;
	resv_run(opsd_of(req), &u.resv, h, resv_done, req);
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

static void timeline_reply(void *userdata, unsigned status, const char *error, json_t *result)
{
	if (error != NULL)
		respond_error(userdata, status, error);
	else
		respond(userdata, status, result);
}

static void h_timeline(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct req_timeline r = { 0 };
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
	timeline_run(o, &r, timeline_reply, req);
}

/* ---- GET /api/heartbeat/stream ----------------------------------------------------------- */

static void h_stream(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	const char *name = http_request_query(req, "host", NULL);
	const char *events = http_request_query(req, "include_events", NULL);
	char err[REQUEST_ERR_MAX + 64];
	struct host *h = NULL;
	int r;

	/* host= (empty) is every host, as the original's ?host=&include_events= */
	if (name != NULL && name[0] != '\0' && (h = hosts_get(o->hosts, name)) == NULL) {
		snprintf(err, sizeof(err), "host '%.*s' not found in config", REQUEST_ERR_MAX,
			 name);
		respond_error(req, 404, err);
		return;
	}
	r = heartbeat_stream_open(o->hbstream, req, h,
				  events == NULL || jsonx_parse_bool_str(events, strlen(events)));
	if (r == -EBUSY)
		respond_error(req, 503,
			      o->stopping ? "Shutting down" : "Too many heartbeat stream readers");
	else if (r == 0)
		count(req, 200);
}

/* ---- GET /metrics, GET /openapi.json ------------------------------------------------------ */

static void h_metrics(struct http_request *req)
{
	struct opsd *o = opsd_of(req);
	struct buf out;

	buf_init(&out, METRICS_TEXT_MAX);
	if (o->metrics == NULL || opsd_metrics_render(o->metrics, &out) < 0) {
		log_error("the metrics text exceeds %u bytes; not served", METRICS_TEXT_MAX);
		respond_error(req, 500, "Metrics unavailable");
	} else {
		count(req, 200);
		http_respond(req, 200, METRICS_CONTENT_TYPE, out.data, out.len);
	}
	buf_free(&out);
}

static void h_openapi(struct http_request *req)
{
	count(req, 200);
	http_respond(req, 200, "application/json", openapi_json, strlen(openapi_json));
}

/* ---- the table ---------------------------------------------------------------------------- */

const struct http_route api_routes[] = {
	{ .method = "GET", .path = "/health", .handler = h_health },
	{ .method = "POST", .path = "/api/wol", .handler = h_wol, .body = HTTP_BODY_BUFFER },
	{ .method = "POST", .path = "/api/winrm", .handler = h_winrm, .body = HTTP_BODY_BUFFER },
	{ .method = "POST",
	  .path = "/api/heartbeat/poll",
	  .handler = h_poll,
	  .body = HTTP_BODY_BUFFER },
	{ .method = "POST", .path = "/api/hosts/reload", .handler = h_reload },
	{ .method = "POST",
	  .path = "/api/hosts/quarantine",
	  .handler = h_quarantine,
	  .body = HTTP_BODY_BUFFER },
	{ .method = "POST",
	  .path = "/api/reservations/start",
	  .handler = h_resv_start,
	  .body = HTTP_BODY_BUFFER },
	{ .method = "POST",
	  .path = "/api/reservations/end",
	  .handler = h_resv_end,
	  .body = HTTP_BODY_BUFFER },
	{ .method = "GET", .path = "/api/reservations/timeline", .handler = h_timeline },
	{ .method = "GET", .path = "/api/heartbeat/stream", .handler = h_stream },
	{ .method = "GET", .path = "/metrics", .handler = h_metrics },
	{ .method = "GET", .path = "/openapi.json", .handler = h_openapi },
};
const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);

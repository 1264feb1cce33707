/* The REST routes of neops-remote-lab: translate HTTP <-> queue/lab calls, nothing else.
 * Paths, codes and JSON shapes are those of the Python 1.x server (spec §2). */
#define LOG_COMPONENT LABD_LOGGER
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "labops.h"

#define SESSION_HEADER "X-Session-ID"

static struct labd *api_labd(const struct http_request *req)
{
	return http_request_server_data(req);
}

static void api_detail(struct http_request *req, unsigned status, const char *detail)
{
	http_respond_json(req, status, json_pack("{s:s}", "detail", detail));
}

/* FastAPI/pydantic v2 validation item. */
static json_t *api_error_item(const char *type, const char *where, const char *name,
			      const char *msg, json_t *input)
{
	return json_pack("{s:s, s:[ss], s:s, s:o}", "type", type, "loc", where, name, "msg", msg,
			 "input", input ? input : json_null());
}

static json_t *api_header_missing(void)
{
	return api_error_item("missing", "header", SESSION_HEADER, "Field required", NULL);
}

/* 422 with a list of validation items (steals errors). */
static void api_validation(struct http_request *req, json_t *errors)
{
	http_respond_json(req, 422, json_pack("{s:o}", "detail", errors));
}

void api_error(struct http_request *req, unsigned status, const char *message)
{
	api_detail(req, status, message);
}

enum api_gate {
	GATE_OK,
	GATE_NO_HEADER,
	GATE_UNKNOWN,
	GATE_NOT_ACTIVE,
};

/* The X-Session-ID dependency of every /lab* route (spec §2.1). */
static enum api_gate api_gate(struct http_request *req, struct session **ret)
{
	struct labd *d = api_labd(req);
	const char *id = http_request_header(req, SESSION_HEADER);
	struct session *s;
	char sid[9];

	if (id == NULL)
		return GATE_NO_HEADER;
	s = queue_find(&d->queue, id);
	if (s == NULL) {
		log_warn("Session %s not found in _get_active_session", labd_sid8(id, sid));
		return GATE_UNKNOWN;
	}
	if (s->state != SESSION_ACTIVE) {
		log_warn("Session %s not active (status=waiting) in _get_active_session",
			 labd_sid8(id, sid));
		return GATE_NOT_ACTIVE;
	}
	*ret = s;
	return GATE_OK;
}

/* Answer a failed gate; extra validation items join a 422 (FastAPI collects them all). */
static bool api_gate_respond(struct http_request *req, enum api_gate g, json_t *extra)
{
	json_t *errors;

	switch (g) {
	case GATE_OK:
		json_decref(extra);
		return false;
	case GATE_NO_HEADER:
		errors = json_array();
		json_array_append_new(errors, api_header_missing());
		if (extra != NULL)
			json_array_extend(errors, extra);
		json_decref(extra);
		api_validation(req, errors);
		return true;
	case GATE_UNKNOWN:
		json_decref(extra);
		api_detail(req, 404, "Session not found");
		return true;
	case GATE_NOT_ACTIVE:
		json_decref(extra);
		api_detail(req, 423, "Session is not active");
		return true;
	}
	return true;
}

/* The ACTIVE session of a /lab* request, refreshed; NULL when the request was answered. */
static struct session *api_active_session(struct http_request *req, json_t *extra)
{
	struct session *s = NULL;

	if (api_gate_respond(req, api_gate(req, &s), extra))
		return NULL;
	labd_session_touch(api_labd(req), s);
	return s;
}

/* --- sessions --- */

static void api_create_session(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct session *s;
	size_t position = queue_length(&d->queue);

	if (d->cfg.max_sessions > 0 && position >= d->cfg.max_sessions) {
		log_warn("Refusing a new session: %zu sessions already queued (limit %u)", position,
			 d->cfg.max_sessions);
		api_detail(req, 429, "Too many sessions queued");
		return;
	}
	s = labd_session_create(d);
	if (s == NULL) {
		api_detail(req, 500, "Cannot create a session");
		return;
	}
	http_respond_json(req, 201, json_pack("{s:s, s:I}", "session_id", s->id, "position",
					      (json_int_t)position));
}

static const char *api_state_name(const struct session *s)
{
	return s->state == SESSION_ACTIVE ? "active" : "waiting";
}

static void api_get_session(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct session *s = queue_find(&d->queue, http_request_param(req, "session_id"));

	if (s == NULL) {
		api_detail(req, 404, "Session not found");
		return;
	}
	labd_session_touch(d, s);
	http_respond_json(req, 200, json_pack("{s:s, s:I}", "status", api_state_name(s),
					      "position",
					      (json_int_t)queue_position(&d->queue, s)));
}

static void api_on_session_ended(struct labd *d, void *userdata)
{
	http_respond_empty(userdata, 204);
}

static void api_delete_session(struct http_request *req)
{
	struct labd *d = api_labd(req);
	const char *id = http_request_param(req, "session_id");
	struct session *s = queue_find(&d->queue, id);
	char sid[9];

	if (d->shutting_down) {
		log_warn("Server is shutting down, handling session deletion gracefully");
		if (s != NULL) {
			log_info("Session %s removed (client-end-during-shutdown, topology=%s)",
				 labd_sid8(s->id, sid), s->topology_name ? s->topology_name : "None");
			queue_remove(&d->queue, s);
		}
		http_respond_empty(req, 204);
		return;
	}
	if (s == NULL) {
		log_warn("Attempted to delete non-existent session %s", labd_sid8(id, sid));
		api_detail(req, 404, "Session not found");
		return;
	}
	/* Answered once the lab (if this session was ACTIVE) is torn down. */
	labd_session_end(d, s, "client-end", api_on_session_ended, req);
}

static void api_heartbeat(struct http_request *req)
{
	struct labd *d = api_labd(req);
	const char *id = http_request_header(req, SESSION_HEADER);
	struct session *s;
	char sid[9];

	if (id == NULL) {
		json_t *errors = json_array();

		json_array_append_new(errors, api_header_missing());
		api_validation(req, errors);
		return;
	}
	s = queue_find(&d->queue, id);
	if (s == NULL) {
		api_detail(req, 404, "Session not found");
		return;
	}
	labd_session_touch(d, s);
	log_debug("Heartbeat for session %s (topology=%s)", labd_sid8(id, sid),
		  s->topology_name ? s->topology_name : "None");
	http_respond_empty(req, 204);
}

static void api_active_session_get(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct session *s = queue_head(&d->queue);

	if (s == NULL) {
		api_detail(req, 404, "No active session");
		return;
	}
	labd_session_touch(d, s);
	http_respond_json(req, 200, json_pack("{s:s, s:i, s:s}", "status", api_state_name(s),
					      "position", 0, "session_id", s->id));
}

/* --- the lab --- */

struct api_upload {
	enum api_gate gate;
	struct upload *upload;
};

static void api_upload_free(void *p)
{
	struct api_upload *au = p;

	if (au->upload != NULL) {
		upload_remove(au->upload);
		upload_free(au->upload);
		free(au->upload);
	}
	free(au);
}

/* POST /lab: decide, once the headers are in, whether the body is stored or only checked. */
static void api_acquire_begin(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct api_upload *au = xcalloc(1, sizeof(*au));
	struct session *s = NULL;

	http_request_set_data(req, au, api_upload_free);
	au->gate = api_gate(req, &s);
	if (au->gate == GATE_UNKNOWN || au->gate == GATE_NOT_ACTIVE) {
		api_gate_respond(req, au->gate, NULL); /* the body is read and dropped */
		return;
	}
	if (s != NULL)
		labd_session_touch(d, s);
	au->upload = xcalloc(1, sizeof(*au->upload));
	/* Without the header the form is still checked (for the 422 list) but not stored. */
	upload_init(au->upload, d->tmpdir, &d->upload_limits, au->gate == GATE_NO_HEADER);
}

static int api_acquire_part(struct http_request *req, const struct http_form_part *part)
{
	struct api_upload *au = http_request_data(req);

	return au->upload ? upload_part(au->upload, part) : -ECANCELED;
}

/* Answer a rejected upload, removing its files first so the client never sees them. */
static void api_upload_reject(struct http_request *req, struct upload *u, unsigned status,
			      json_t *body)
{
	upload_remove(u);
	http_respond_json(req, status, body);
}

static void api_acquire(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct api_upload *au = http_request_data(req);
	struct upload *u = au->upload;
	const char *detail = NULL;
	struct session *s;
	json_t *errors;
	unsigned status;
	bool reuse = true;
	char sid[9];

	upload_finish(u);
	if (http_request_form_failed(req))
		errors = json_pack("[{s:s, s:[s], s:s, s:n}]", "type", "value_error", "loc", "body",
				   "msg", "Value error, malformed multipart body", "input");
	else
		errors = upload_validation_errors(u);
	if (au->gate == GATE_NO_HEADER) {
		upload_remove(u);
		api_gate_respond(req, GATE_NO_HEADER, errors);
		return;
	}
	if (json_array_size(errors) > 0) {
		api_upload_reject(req, u, 422, json_pack("{s:o}", "detail", errors));
		return;
	}
	json_decref(errors);
	status = upload_check(u, &reuse, &detail);
	if (status != 0) {
		log_warn("Rejected upload: %s", detail);
		api_upload_reject(req, u, status, json_pack("{s:s}", "detail", detail));
		return;
	}
	/* The session may have ended while its upload streamed in. */
	s = NULL;
	if (api_gate(req, &s) != GATE_OK) {
		upload_remove(u);
		api_gate_respond(req, api_gate(req, &s), NULL);
		return;
	}
	labd_session_touch(d, s);
	log_info("Saved topology %s to %s", u->topology_name, u->topology_path);
	session_set_topology(s, u->topology_name);
	log_info("Starting lab acquisition for session %s (topology=%s, reuse=%s)",
		 labd_sid8(s->id, sid), u->topology_name, reuse ? "True" : "False");
	au->upload = NULL; /* the operation owns it now */
	labops_acquire(d->ops, req, s->id, u, reuse);
}

static void api_lab_status(struct http_request *req)
{
	struct labd *d = api_labd(req);

	if (api_active_session(req, NULL) == NULL)
		return;
	http_respond_json(req, 200, lab_status_json(&d->lab, true));
}

/* The ACTIVE session's request against a running lab; NULL when already answered. */
static struct labd *api_running_lab(struct http_request *req)
{
	struct labd *d = api_labd(req);

	if (api_active_session(req, NULL) == NULL)
		return NULL;
	if (!d->lab.running) {
		api_detail(req, 404, "No lab running");
		return NULL;
	}
	return d;
}

static void api_lab_release(struct http_request *req)
{
	struct labd *d = api_running_lab(req);

	if (d == NULL)
		return;
	if (lab_release(&d->lab))
		log_error("Reference counter underflow for topo %s", d->lab.name);
	if (d->lab.ref == 0)
		log_info("Lab %s became idle - awaiting next user or teardown (refcount=0)",
			 d->lab.name);
	http_respond_empty(req, 204);
}

static void api_on_destroyed(struct labd *d, int err, json_t *error, void *userdata)
{
	struct http_request *req = userdata;

	if (err < 0)
		http_respond_json(req, 500, error ? json_incref(error)
						  : json_pack("{s:s}", "detail", "Lab teardown failed"));
	else
		http_respond_empty(req, 202);
}

static void api_lab_destroy(struct http_request *req)
{
	struct labd *d = api_labd(req);
	const char *v = http_request_query(req, "force", NULL);
	json_t *errors = NULL;
	bool force = true;

	if (v != NULL && parse_bool_strict(v, &force) < 0) {
		errors = json_array();
		json_array_append_new(errors, api_error_item(
			"bool_parsing", "query", "force",
			"Input should be a valid boolean, unable to interpret input", json_string(v)));
	}
	{
		struct session *s = NULL;
		enum api_gate g = api_gate(req, &s);

		if (g != GATE_OK) {
			api_gate_respond(req, g, errors);
			return;
		}
		if (errors != NULL) {
			api_validation(req, errors);
			return;
		}
		labd_session_touch(d, s);
	}
	if (!d->lab.running) {
		http_respond_empty(req, 204);
		return;
	}
	if (!force && d->lab.ref > 0) {
		api_detail(req, 409, "Lab still in use");
		return;
	}
	labops_teardown(d->ops, "api-destroy", api_on_destroyed, req);
}

static void api_lab_devices(struct http_request *req)
{
	struct labd *d = api_running_lab(req);

	if (d == NULL)
		return;
	http_respond_json(req, 200, lab_devices_json(&d->lab));
}

/* --- health --- */

static void api_healthz(struct http_request *req)
{
	http_respond_empty(req, 204);
}

static void api_debug_health(struct http_request *req)
{
	struct labd *d = api_labd(req);

	http_respond_json(req, 200, json_pack("{s:s, s:f, s:f, s:I, s:I}", "status", "ok",
					      "timestamp", loop_wall_seconds(), "uptime",
					      (double)(loop_now(NULL) - d->started_mono) / 1e6,
					      "sessions", (json_int_t)queue_length(&d->queue),
					      "queue_length", (json_int_t)queue_length(&d->queue)));
}

static const struct http_route api_routes[] = {
	{ .method = "POST", .path = "/session", .handler = api_create_session },
	{ .method = "POST", .path = "/session/heartbeat", .handler = api_heartbeat },
	{ .method = "GET", .path = "/session/{session_id}", .handler = api_get_session },
	{ .method = "DELETE", .path = "/session/{session_id}", .handler = api_delete_session },
	{ .method = "GET", .path = "/active-session", .handler = api_active_session_get },
	{ .method = "GET", .path = "/lab", .handler = api_lab_status },
	{ .method = "POST", .path = "/lab", .handler = api_acquire, .body = HTTP_BODY_FORM,
	  .begin = api_acquire_begin, .form_part = api_acquire_part },
	{ .method = "DELETE", .path = "/lab", .handler = api_lab_destroy },
	{ .method = "POST", .path = "/lab/release", .handler = api_lab_release },
	{ .method = "GET", .path = "/lab/devices", .handler = api_lab_devices },
	{ .method = "GET", .path = "/healthz", .handler = api_healthz },
	{ .method = "GET", .path = "/debug/health", .handler = api_debug_health },
};

const struct http_route *api_routes_get(size_t *ret_n, size_t upload_body_max)
{
	static struct http_route routes[sizeof(api_routes) / sizeof(api_routes[0])];
	size_t i;

	for (i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		routes[i] = api_routes[i];
		if (routes[i].body == HTTP_BODY_FORM)
			routes[i].body_max = upload_body_max;
	}
	*ret_n = i;
	return routes;
}

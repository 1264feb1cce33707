/* The REST routes of neops-remote-lab: translate HTTP <-> session/lab calls, nothing else;
 * the only place that picks status codes. Paths, codes and JSON shapes are those of the
 * Python 1.x server (spec §2); what is new comes only with new input (a JSON body on
 * POST /session) or on new routes (api_status.c). */
#define LOG_COMPONENT LABD_LOGGER
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "api_int.h"
#include "labd.h"
#include "labops.h"

#define SESSION_BODY_MAX 16384 /* POST /session's optional JSON options */

void api_detail(struct http_request *req, unsigned status, const char *detail)
{
	http_respond_json(req, status, json_pack("{s:s}", "detail", detail));
}

json_t *api_error_item(const char *type, const char *where, const char *name, const char *msg,
		       json_t *input)
{
	return json_pack("{s:s, s:[ss], s:s, s:o}", "type", type, "loc", where, name, "msg", msg,
			 "input", input ? input : json_null());
}

void api_session_not_found(struct http_request *req, const char *id)
{
	struct labd *d = api_labd(req);
	enum session_end reason;

	if (id != NULL && sessions_ended_reason(&d->sessions, id, loop_now(d->event), &reason) == 0)
		http_respond_json(req, 404,
				  json_pack("{s:s, s:s}", "detail", "Session not found", "reason",
					    session_end_name(reason)));
	else
		api_detail(req, 404, "Session not found");
}

json_t *api_header_missing(void)
{
	return api_error_item("missing", "header", SESSION_HEADER, "Field required", NULL);
}

void api_validation(struct http_request *req, json_t *errors)
{
	http_respond_json(req, 422, json_pack("{s:o}", "detail", errors));
}

void api_error(struct http_request *req, unsigned status, const char *message)
{
	api_detail(req, status, message);
}

/* --- sessions --- */

static json_t *api_body_item(const char *type, const char *name, const char *msg, json_t *input,
			     json_t *ctx)
{
	json_t *item = api_error_item(type, "body", name, msg, input);

	if (ctx != NULL)
		json_object_set_new(item, "ctx", ctx);
	return item;
}

/* POST /session's optional JSON body: {"priority", "label", "max_wait", "wait"}. Only a body
 * sent as application/json is read (the original ignored bodies). Appends 422 items to
 * errors; *ret_has_body says whether options were sent. */
static void api_session_options(struct http_request *req, struct labd_session_options *o,
				bool *ret_wait, bool *ret_has_body, json_t *errors)
{
	const char *ct = http_request_header(req, "Content-Type"), *body;
	json_t *v, *f;
	json_error_t jerr;
	size_t len = 0;

	body = http_request_body(req, &len);
	if (len == 0 || ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return;
	*ret_has_body = true;
	v = json_loadb(body, len, 0, &jerr);
	if (v == NULL) {
		json_array_append_new(
			errors, json_pack("{s:s, s:[s,i], s:s, s:{}, s:{s:s}}", "type",
					  "json_invalid", "loc", "body", (int)jerr.position, "msg",
					  "JSON decode error", "input", "ctx", "error", jerr.text));
		return;
	}
	if (!json_is_object(v)) {
		json_array_append_new(errors,
				      json_pack("{s:s, s:[s], s:s, s:O}", "type",
						"model_attributes_type", "loc", "body", "msg",
						"Input should be a valid dictionary or object "
						"to extract fields from",
						"input", v));
		json_decref(v);
		return;
	}
	if ((f = json_object_get(v, "priority")) != NULL && !json_is_null(f)) {
		if (!json_is_integer(f))
			json_array_append_new(errors,
					      api_body_item("int_type", "priority",
							    "Input should be a valid integer",
							    json_incref(f), NULL));
		else if (json_integer_value(f) < SESSION_PRIORITY_MIN)
			json_array_append_new(
				errors,
				api_body_item("greater_than_equal", "priority",
					      "Input should be greater than or equal to -1000",
					      json_incref(f),
					      json_pack("{s:i}", "ge", SESSION_PRIORITY_MIN)));
		else if (json_integer_value(f) > SESSION_PRIORITY_MAX)
			json_array_append_new(
				errors,
				api_body_item("less_than_equal", "priority",
					      "Input should be less than or equal to 1000",
					      json_incref(f),
					      json_pack("{s:i}", "le", SESSION_PRIORITY_MAX)));
		else
			o->priority = (int)json_integer_value(f);
	}
	if ((f = json_object_get(v, "label")) != NULL && !json_is_null(f)) {
		if (!json_is_string(f))
			json_array_append_new(errors,
					      api_body_item("string_type", "label",
							    "Input should be a valid string",
							    json_incref(f), NULL));
		else if (json_string_length(f) > SESSION_LABEL_MAX)
			json_array_append_new(
				errors,
				api_body_item("string_too_long", "label",
					      "String should have at most 128 bytes",
					      json_incref(f),
					      json_pack("{s:i}", "max_length", SESSION_LABEL_MAX)));
		else if (memchr(json_string_value(f), 0, json_string_length(f)) != NULL)
			json_array_append_new(
				errors, api_body_item("string_pattern_mismatch", "label",
						      "String should not contain NUL characters",
						      json_incref(f), NULL));
		else
			o->label = json_string_value(f);
	}
	if ((f = json_object_get(v, "max_wait")) != NULL && !json_is_null(f)) {
		if (!json_is_number(f))
			json_array_append_new(errors,
					      api_body_item("float_type", "max_wait",
							    "Input should be a valid number",
							    json_incref(f), NULL));
		else if (!(json_number_value(f) > 0))
			json_array_append_new(
				errors, api_body_item("greater_than", "max_wait",
						      "Input should be greater than 0",
						      json_incref(f), json_pack("{s:i}", "gt", 0)));
		else if (json_number_value(f) > 31536000)
			json_array_append_new(
				errors,
				api_body_item("less_than_equal", "max_wait",
					      "Input should be less than or equal to 31536000",
					      json_incref(f), json_pack("{s:i}", "le", 31536000)));
		else
			o->max_wait = json_number_value(f);
	}
	if ((f = json_object_get(v, "wait")) != NULL && !json_is_null(f)) {
		if (!json_is_boolean(f))
			json_array_append_new(errors,
					      api_body_item("bool_type", "wait",
							    "Input should be a valid boolean",
							    json_incref(f), NULL));
		else
			*ret_wait = json_is_true(f);
	}
	/* o->label points into v: keep v alive with the request. */
	http_request_set_data(req, v, (void (*)(void *))json_decref);
}

static void api_create_session(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct labd_session_options o = { 0 };
	size_t count = sessions_count(&d->sessions), position = 0;
	json_t *errors = json_array(), *body;
	bool wait = true, has_body = false;
	struct session *s;

	api_session_options(req, &o, &wait, &has_body, errors);
	if (json_array_size(errors) > 0) {
		api_validation(req, errors);
		return;
	}
	json_decref(errors);
	if (d->cfg.max_sessions > 0 && count >= d->cfg.max_sessions) {
		log_warn("Refusing a new session: %zu sessions already queued (limit %u)", count,
			 d->cfg.max_sessions);
		api_detail(req, 429, "Too many sessions queued");
		return;
	}
	if (!wait && !labd_can_serve_now(d)) {
		log_info("Try-lock refused: no lab slot is free (%zu active, %zu waiting%s)",
			 d->sessions.n_active, d->sessions.n_waiting,
			 d->draining ? ", draining" : "");
		api_detail(req, 409, "No lab slot is free");
		return;
	}
	s = labd_session_create(d, &o, &position);
	if (s == NULL) {
		api_detail(req, 500, "Cannot create a session");
		return;
	}
	/* The position at creation time, as the original (it may be promoted already). */
	body = json_pack("{s:s, s:I}", "session_id", s->id, "position", (json_int_t)position);
	if (has_body)
		json_object_set_new(body, "handle", json_string(s->handle));
	http_respond_json(req, 201, body);
}

static void api_get_session(struct http_request *req)
{
	struct labd *d = api_labd(req);
	const char *id = http_request_param(req, "session_id");
	struct session *s = sessions_find(&d->sessions, id);

	if (s == NULL) {
		api_session_not_found(req, id);
		return;
	}
	labd_session_touch(d, s);
	http_respond_json(req, 200,
			  json_pack("{s:s, s:I}", "status", session_state_name(s->state),
				    "position", (json_int_t)sessions_position(&d->sessions, s)));
}

static void api_on_session_ended(struct labd *d, void *userdata)
{
	http_respond_empty(userdata, 204);
}

static void api_delete_session(struct http_request *req)
{
	struct labd *d = api_labd(req);
	const char *id = http_request_param(req, "session_id");
	struct session *s = sessions_find(&d->sessions, id);
	char sid[9];

	if (d->shutting_down) {
		log_warn("Server is shutting down, handling session deletion gracefully");
		if (s != NULL)
			labd_session_end(d, s, SESSION_END_DELETED, "client-end-during-shutdown",
					 NULL, NULL);
		http_respond_empty(req, 204);
		return;
	}
	if (s == NULL) {
		log_warn("Attempted to delete non-existent session %s", labd_sid8(id, sid));
		api_session_not_found(req, id);
		return;
	}
	/* Answered once the lab (if this session was ACTIVE) is let go of. */
	labd_session_end(d, s, SESSION_END_DELETED, "client-end", api_on_session_ended, req);
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
	s = sessions_find(&d->sessions, id);
	if (s == NULL) {
		api_session_not_found(req, id);
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
	struct session *s = TAILQ_FIRST(&d->sessions.active);

	if (s == NULL) {
		api_detail(req, 404, "No active session");
		return;
	}
	labd_session_touch(d, s);
	http_respond_json(req, 200,
			  json_pack("{s:s, s:i, s:s}", "status", session_state_name(s->state),
				    "position", 0, "session_id", s->id));
}

/* --- health --- */

static void api_healthz(struct http_request *req)
{
	http_respond_empty(req, 204);
}

static void api_debug_health(struct http_request *req)
{
	struct labd *d = api_labd(req);
	json_t *body = json_pack("{s:s, s:f, s:f, s:I, s:I}", "status", "ok", "timestamp",
				 loop_wall_seconds(), "uptime",
				 (double)(loop_now(NULL) - d->started_mono) / 1e6, "sessions",
				 (json_int_t)sessions_count(&d->sessions), "queue_length",
				 (json_int_t)sessions_count(&d->sessions));

	/* The mode, only while it is not the normal one: the original's answer otherwise. */
	if (d->draining)
		json_object_set_new(body, "draining", json_true());
	http_respond_json(req, 200, body);
}

static const struct http_route api_routes[] = {
	{ .method = "POST",
	  .path = "/session",
	  .handler = api_create_session,
	  .body = HTTP_BODY_BUFFER,
	  .body_max = SESSION_BODY_MAX },
	{ .method = "POST", .path = "/session/heartbeat", .handler = api_heartbeat },
	{ .method = "GET", .path = "/session/{session_id}", .handler = api_get_session },
	{ .method = "DELETE", .path = "/session/{session_id}", .handler = api_delete_session },
	{ .method = "GET", .path = "/active-session", .handler = api_active_session_get },
	{ .method = "GET", .path = "/lab", .handler = api_lab_status },
	{ .method = "POST",
	  .path = "/lab",
	  .handler = api_acquire,
	  .body = HTTP_BODY_FORM,
	  .begin = api_acquire_begin,
	  .form_part = api_acquire_part },
	{ .method = "DELETE", .path = "/lab", .handler = api_lab_destroy },
	{ .method = "POST", .path = "/lab/release", .handler = api_lab_release },
	{ .method = "GET", .path = "/lab/devices", .handler = api_lab_devices },
	{ .method = "GET", .path = "/healthz", .handler = api_healthz },
	{ .method = "GET", .path = "/debug/health", .handler = api_debug_health },
	{ .method = "GET", .path = "/sessions", .handler = api_sessions },
	{ .method = "GET", .path = "/labs", .handler = api_labs },
	{ .method = "GET", .path = "/host", .handler = api_host },
	{ .method = "GET", .path = "/events", .handler = api_events },
	{ .method = "GET", .path = "/netlab-ops", .handler = api_netlab_ops },
	{ .method = "GET", .path = "/metrics", .handler = api_metrics },
	{ .method = "GET", .path = "/openapi.json", .handler = api_openapi },
	{ .method = "POST", .path = "/admin/drain", .handler = api_admin_drain },
	{ .method = "POST", .path = "/admin/undrain", .handler = api_admin_undrain },
	{ .method = "DELETE",
	  .path = "/admin/sessions/{handle}",
	  .handler = api_admin_end_session },
	{ .method = "DELETE", .path = "/admin/labs/{slot}", .handler = api_admin_destroy_lab },
	{ .method = "GET", .path = "/ui", .handler = api_ui_page },
	{ .method = "GET", .path = "/ui/{asset}", .handler = api_ui_asset },
	{ .method = "GET", .path = "/", .handler = api_ui_root },
	{ .method = "POST", .path = "/", .handler = api_ui_root },
	{ .method = "PUT", .path = "/", .handler = api_ui_root },
	{ .method = "DELETE", .path = "/", .handler = api_ui_root },
	{ .method = "PATCH", .path = "/", .handler = api_ui_root },
	{ .method = "OPTIONS", .path = "/", .handler = api_ui_root },
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

/* The /lab routes: the X-Session-ID gate (spec §2.1), the multipart upload and the acquire,
 * status, release, destroy and devices — HTTP <-> labops calls, and the status codes. */
#define LOG_COMPONENT LABD_LOGGER
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "common/log.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "labops.h"

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
	s = sessions_find(&d->sessions, id);
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
		api_session_not_found(req, http_request_header(req, SESSION_HEADER));
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
void api_acquire_begin(struct http_request *req)
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

int api_acquire_part(struct http_request *req, const struct http_form_part *part)
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

/* The acquire's outcome -> HTTP. */
static void api_on_acquired(struct labd *d, const struct labop_result *res, void *userdata)
{
	struct http_request *req = userdata;

	switch (res->outcome) {
	case LABOP_OK:
		http_respond_json(
			req, 200,
			json_pack("{s:b, s:O}", "reused", res->reused, "devices", res->devices));
		return;
	case LABOP_BUSY:
		api_detail(req, 423, "Lab currently busy");
		return;
	case LABOP_GONE:
		api_session_not_found(req, http_request_header(req, SESSION_HEADER));
		return;
	case LABOP_SHUTDOWN:
		api_detail(req, 503, "Server is shutting down");
		return;
	case LABOP_FAILED:
	default:
		if (res->error != NULL)
			http_respond_json(req, 500, json_incref(res->error));
		else
			api_detail(req, 500, "Lab start failed");
		return;
	}
}

void api_acquire(struct http_request *req)
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
	labops_acquire(d->ops, s, u, reuse, api_on_acquired, req);
}

void api_lab_status(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct session *s = api_active_session(req, NULL);

	if (s == NULL)
		return;
	http_respond_json(req, 200, lab_status_json(labops_session_lab(d->ops, s), true));
}

/* The ACTIVE session's running lab; NULL when the request was answered. */
static struct lab *api_running_lab(struct http_request *req, struct session **ret_s)
{
	struct labd *d = api_labd(req);
	struct session *s = api_active_session(req, NULL);
	struct lab *lab;

	if (s == NULL)
		return NULL;
	lab = labops_session_lab(d->ops, s);
	if (lab == NULL || lab->state != LAB_UP) {
		api_detail(req, 404, "No lab running");
		return NULL;
	}
	if (ret_s != NULL)
		*ret_s = s;
	return lab;
}

void api_lab_release(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct session *s = NULL;

	if (api_running_lab(req, &s) == NULL)
		return;
	if (labops_release(d->ops, s) == LABOP_NO_LAB)
		api_detail(req, 404, "No lab running");
	else
		http_respond_empty(req, 204);
}

static void api_on_destroyed(struct labd *d, const struct labop_result *res, void *userdata)
{
	struct http_request *req = userdata;

	switch (res->outcome) {
	case LABOP_OK:
		http_respond_empty(req, 202);
		return;
	case LABOP_NO_LAB:
		http_respond_empty(req, 204);
		return;
	case LABOP_IN_USE:
		api_detail(req, 409, "Lab still in use");
		return;
	case LABOP_SHUTDOWN:
		api_detail(req, 503, "Server is shutting down");
		return;
	default:
		if (res->error != NULL)
			http_respond_json(req, 500, json_incref(res->error));
		else
			api_detail(req, 500, "Lab teardown failed");
		return;
	}
}

void api_lab_destroy(struct http_request *req)
{
	struct labd *d = api_labd(req);
	const char *v = http_request_query(req, "force", NULL);
	json_t *errors = NULL;
	struct session *s = NULL;
	enum api_gate g;
	bool force = true;

	if (v != NULL && parse_bool_strict(v, &force) < 0) {
		errors = json_array();
		json_array_append_new(
			errors,
			api_error_item("bool_parsing", "query", "force",
				       "Input should be a valid boolean, unable to interpret input",
				       json_string(v)));
	}
	g = api_gate(req, &s);
	if (g != GATE_OK) {
		api_gate_respond(req, g, errors);
		return;
	}
	if (errors != NULL) {
		api_validation(req, errors);
		return;
	}
	labd_session_touch(d, s);
	labops_destroy(d->ops, s, force, api_on_destroyed, req);
}

void api_lab_devices(struct http_request *req)
{
	struct lab *lab = api_running_lab(req, NULL);

	if (lab == NULL)
		return;
	http_respond_json(req, 200, lab_devices_json(lab));
}

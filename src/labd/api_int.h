/* Helpers shared by the route files (api.c, api_status.c): request context, FastAPI-shaped
 * error bodies. Only api*.c include this. */
#ifndef RL_LABD_API_INT_H
#define RL_LABD_API_INT_H

#include <jansson.h>

#include "common/http.h"
#include "labd.h"

#define SESSION_HEADER "X-Session-ID"

static inline struct labd *api_labd(const struct http_request *req)
{
	return http_request_server_data(req);
}

/* {"detail": detail} with status. */
void api_detail(struct http_request *req, unsigned status, const char *detail);
/* A FastAPI/pydantic v2 validation item: {"type","loc":[where,name],"msg","input"}
 * (steals input; NULL is null). */
json_t *api_error_item(const char *type, const char *where, const char *name, const char *msg,
		       json_t *input);
/* 422 {"detail": errors} (steals errors). */
void api_validation(struct http_request *req, json_t *errors);
/* 404 "Session not found", with the `reason` of a session that ended recently. */
void api_session_not_found(struct http_request *req, const char *id);

/* The 422 item for a missing X-Session-ID header. */
json_t *api_header_missing(void);

/* Lab routes (api_lab.c). */
void api_acquire_begin(struct http_request *req);
int api_acquire_part(struct http_request *req, const struct http_form_part *part);
void api_acquire(struct http_request *req);
void api_lab_status(struct http_request *req);
void api_lab_release(struct http_request *req);
void api_lab_destroy(struct http_request *req);
void api_lab_devices(struct http_request *req);

/* Admin routes (api_admin.c). */
void api_admin_drain(struct http_request *req);
void api_admin_undrain(struct http_request *req);
void api_admin_end_session(struct http_request *req);
void api_admin_destroy_lab(struct http_request *req);

/* GET /metrics (api_metrics.c). */
void api_metrics(struct http_request *req);

/* Event routes (events.c). */
void api_events(struct http_request *req);
void api_netlab_ops(struct http_request *req);

/* Status routes (api_status.c). */
void api_sessions(struct http_request *req);
void api_labs(struct http_request *req);
void api_host(struct http_request *req);
void api_openapi(struct http_request *req);

/* Status page routes (api_ui.c); api_ui_root answers every method on / (404 but for HTML). */
void api_ui_page(struct http_request *req);
void api_ui_asset(struct http_request *req);
void api_ui_root(struct http_request *req);

#endif

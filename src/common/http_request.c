/* HTTP requests: libmicrohttpd's request callbacks (routing, the body collected, parsed as a
 * form or discarded within its limit, the handler run and the connection suspended until it
 * responds) and the request accessors. */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "buf.h"
#include "http_int.h"
#include "httpform.h"
#include "log.h"
#include "router.h"
#include "strutil.h"
#include "xmalloc.h"

#define HTTP_FORM_BUFFER 65536

/* --- request lifecycle --- */

static void http_request_free(struct http_request *req)
{
	size_t i;

	if (req == NULL)
		return;
	if (req->stream != NULL) {
		req->stream->req = NULL;
		req->stream = NULL;
	}
	if (req->data_free)
		req->data_free(req->data);
	if (req->post)
		MHD_destroy_post_processor(req->post);
	if (req->response)
		MHD_destroy_response(req->response);
	for (i = 0; i < req->n_headers; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	buf_free(&req->body);
	free(req->path);
	free(req);
}

void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		       enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;
	struct http_server *srv = cls;
	struct http_conn *c = http_conn_of(conn);

	if (c != NULL) {
		c->in_request = false;
		/* The next request (or an idle keep-alive) has the same time to arrive. */
		if (!c->closing && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
			http_conn_deadline_set(c, http_request_timeout_usec(srv));
	}
	if (req == NULL)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && req->srv != NULL)
		HTTP_LOG(LOG_LEVEL_DEBUG, req->srv, "%s %s: connection ended early (code %d)",
			 req->method, req->path, (int)toe);
	if (req->suspended) {
		/* Cannot happen: MHD does not complete suspended connections. Be safe. */
		TAILQ_REMOVE(&req->srv->suspended, req, link);
		req->srv->n_suspended--;
	}
	if (req->stream != NULL && req->stream->reason == 0)
		req->stream->reason = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
					      ? HTTP_STREAM_ENDED
					      : HTTP_STREAM_CLIENT_GONE;
	http_request_free(req);
	*con_cls = NULL;
}

static enum MHD_Result http_on_form(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *filename, const char *content_type,
				    const char *transfer_encoding, const char *data, uint64_t off,
				    size_t size)
{
	struct http_request *req = cls;
	struct http_form_part part = {
		.name = key ? key : "",
		.filename = filename,
		.content_type = content_type,
		.data = data,
		.len = size,
		.offset = off,
	};

	if (req->form_stopped || req->discard_body || req->route->form_part == NULL)
		return MHD_YES;
	if (req->route->form_part(req, &part) < 0)
		req->form_stopped = true;
	if (req->response != NULL)
		req->discard_body = true;
	return MHD_YES;
}

/* Queue the decided response on the connection. */
static enum MHD_Result http_queue(struct http_request *req)
{
	enum MHD_Result r;

	r = MHD_queue_response(req->conn, req->status, req->response);
	if (r != MHD_YES)
		HTTP_LOG(LOG_LEVEL_WARNING, req->srv, "%s %s: failed to queue response %u",
			 req->method, req->path, req->status);
	return r;
}

static void http_request_begin(struct http_request *req)
{
	struct http_server *srv = req->srv;
	enum router_result rr;
	const char *cl;
	uint64_t clen;

	if (srv->cfg.before) {
		srv->cfg.before(req);
		if (req->response != NULL)
			goto decided;
	}
	rr = router_match(srv->cfg.routes, srv->cfg.n_routes, req->method, req->path,
			  srv->cfg.head_as_get, &req->match);
	if (rr == ROUTER_NOT_FOUND) {
		http_respond_error(req, 404, "Not Found");
		goto decided;
	}
	if (rr == ROUTER_METHOD_NOT_ALLOWED) {
		http_response_header(req, "Allow", req->match.allow);
		http_respond_error(req, 405, "Method Not Allowed");
		goto decided;
	}
	req->route = req->match.route;
	req->body_max = req->route->body_max ? req->route->body_max : srv->cfg.default_body_max;
	buf_init(&req->body, req->body_max);

	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && parse_u64(cl, 0, UINT64_MAX, &clen) == 0 && clen > req->body_max) {
		http_respond_error(req, 413, "Request body too large");
		goto decided;
	}
	if (req->route->body == HTTP_BODY_FORM) {
		req->post =
			MHD_create_post_processor(req->conn, HTTP_FORM_BUFFER, http_on_form, req);
		/* NULL when the content type is not a form: the handler sees an empty form. */
		http_form_scan_init(&req->form_scan,
				    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
								MHD_HTTP_HEADER_CONTENT_TYPE));
	}
	if (req->route->begin)
		req->route->begin(req);
decided:
	if (req->response != NULL)
		req->discard_body = true;
}

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				const char *method, const char *version, const char *upload_data,
				size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	if (req == NULL) {
		req = xcalloc(1, sizeof(*req));
		req->srv = srv;
		req->conn = conn;
		req->hc = http_conn_of(conn);
		if (req->hc != NULL)
			req->hc->in_request = true;
		strlcpy_rl(req->method, method, sizeof(req->method));
		req->path = xstrdup(url);
		req->start_usec = http_now_usec();
		req->body_max = srv->cfg.default_body_max;
		*con_cls = req;
		http_request_begin(req);
		/* A body larger than allowed by Content-Length: answer at once, before reading
		 * it (clients using Expect: 100-continue never send it; MHD closes after). */
		if (req->response != NULL && req->status == 413)
			return http_queue(req);
		return MHD_YES;
	}

	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		req->body_seen += n;
		if (req->body_seen > req->body_max) {
			/* Chunked or lying Content-Length: cannot answer mid-body, so close. */
			HTTP_LOG(LOG_LEVEL_WARNING, srv,
				 "%s %s: body exceeds %zu bytes, closing connection", req->method,
				 req->path, req->body_max);
			return MHD_NO;
		}
		if (req->discard_body || req->route == NULL)
			return MHD_YES;
		if (req->route->body == HTTP_BODY_BUFFER) {
			(void)buf_append(&req->body, upload_data,
					 n); /* bounded by body_max above */
		} else if (req->route->body == HTTP_BODY_FORM && req->post != NULL &&
			   !req->form_failed) {
			if (http_form_scan_feed(&req->form_scan, upload_data, n)) {
				/* libmicrohttpd would cut the part's name or file name at the NUL */
				http_respond_error(req, 400,
						   "Invalid form part: NUL byte in a part "
						   "header (field or file name)");
				req->discard_body = true;
				return MHD_YES;
			}
			if (MHD_post_process(req->post, upload_data, n) != MHD_YES)
				req->form_failed = true;
		}
		return MHD_YES;
	}

	/* The whole request is in (or we were resumed with a response). */
	if (req->hc != NULL && req->hc->in_request) {
		req->hc->in_request = false;
		http_conn_deadline_clear(req->hc); /* answering is ours, not the client's time */
		http_deadline_rearm(srv);
	}
	if (req->response == NULL && !req->handled) {
		req->handled = true;
		if (req->post != NULL) {
			MHD_destroy_post_processor(req->post); /* flushes the last part */
			req->post = NULL;
		}
		req->route->handler(req);
		if (req->response == NULL) {
			MHD_suspend_connection(conn);
			req->suspended = true;
			TAILQ_INSERT_TAIL(&srv->suspended, req, link);
			srv->n_suspended++;
			return MHD_YES;
		}
	}
	if (req->response == NULL)
		return MHD_YES; /* resumed spuriously; wait for the response */
	return http_queue(req);
}

/* --- accessors --- */

const char *http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *http_request_path(const struct http_request *req)
{
	return req->path;
}

const struct http_route *http_request_route(const struct http_request *req)
{
	return req->route;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	if (req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *req, const char *key, bool *present)
{
	const char *v = NULL;
	size_t len = 0;
	enum MHD_Result r;

	if (req->conn == NULL) {
		if (present)
			*present = false;
		return NULL;
	}
	r = MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &v,
					  &len);
	if (present)
		*present = r == MHD_YES;
	if (r != MHD_YES)
		return NULL;
	return v ? v : "";
}

const char *http_request_param(const struct http_request *req, const char *name)
{
	return router_param(&req->match, name);
}

const char *http_request_cookie(const struct http_request *req, const char *name)
{
	if (req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *http_request_body(const struct http_request *req, size_t *ret_len)
{
	if (ret_len)
		*ret_len = req->body.len;
	return buf_cstr(&req->body);
}

bool http_request_form_failed(const struct http_request *req)
{
	return req->form_failed;
}

const struct sockaddr *http_request_peer(const struct http_request *req)
{
	const union MHD_ConnectionInfo *ci;

	if (req->hc != NULL)
		return (const struct sockaddr *)&req->hc->addr;
	if (req->conn == NULL)
		return NULL;
	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci ? ci->client_addr : NULL;
}

void *http_request_server_data(const struct http_request *req)
{
	return req->srv->cfg.userdata;
}

void http_request_set_data(struct http_request *req, void *data, void (*free_fn)(void *))
{
	if (req->data_free && req->data != data)
		req->data_free(req->data);
	req->data = data;
	req->data_free = free_fn;
}

void *http_request_data(const struct http_request *req)
{
	return req->data;
}

uint64_t http_request_start_usec(const struct http_request *req)
{
	return req->start_usec;
}

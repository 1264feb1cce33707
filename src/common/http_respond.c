/* HTTP responses: exactly one per request, plain (a buffer, through libmicrohttpd or, for a
 * screened request, written by the layer itself) or streaming (a bounded buffer the daemon
 * appends to; a client that does not keep up is dropped). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <microhttpd.h>

#include "buf.h"
#include "http_int.h"
#include "log.h"
#include "xmalloc.h"

static void http_stream_mhd_done(struct http_stream *st, int reason);

/* --- streaming responses --- */

static void http_stream_free(struct http_stream *st)
{
	buf_free(&st->out);
	free(st);
}

/* Resume a connection waiting for data (or for the end). */
void http_stream_wake(struct http_stream *st)
{
	struct http_request *req = st->req;

	if (!st->waiting || req == NULL)
		return;
	st->waiting = false;
	if (req->suspended) {
		TAILQ_REMOVE(&st->srv->suspended, req, link);
		st->srv->n_suspended--;
		req->suspended = false;
	}
	MHD_resume_connection(req->conn);
	http_server_kick(st->srv);
}

static ssize_t http_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_stream *st = cls;
	size_t avail = st->out.len - st->sent, n;

	if (avail == 0) {
		if (st->ending)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (st->req == NULL)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		/* Nothing to send: park the connection until the next write. */
		st->waiting = true;
		MHD_suspend_connection(st->req->conn);
		st->req->suspended = true;
		TAILQ_INSERT_TAIL(&st->srv->suspended, st->req, link);
		st->srv->n_suspended++;
		return 0;
	}
	n = avail < max ? avail : max;
	memcpy(out, st->out.data + st->sent, n);
	st->sent += n;
	if (st->sent == st->out.len) {
		buf_reset(&st->out);
		st->sent = 0;
	}
	return (ssize_t)n;
}

/* libmicrohttpd released the response: the connection is finished. */
static void http_stream_release(void *cls)
{
	struct http_stream *st = cls;

	http_stream_mhd_done(st, st->reason ? st->reason : HTTP_STREAM_CLIENT_GONE);
}

static void http_stream_mhd_done(struct http_stream *st, int reason)
{
	st->mhd_done = true;
	st->req = NULL;
	if (!st->caller_done) {
		st->caller_done = true;
		if (st->on_close != NULL)
			st->on_close(st, reason, st->userdata);
	}
	http_stream_free(st);
}

/* Set the decided response; resume the connection if it waits for one. */
static void http_set_response(struct http_request *req, struct MHD_Response *resp, unsigned status)
{
	req->response = resp;
	req->status = status;
	if (req->suspended) {
		struct http_server *srv = req->srv;

		TAILQ_REMOVE(&srv->suspended, req, link);
		srv->n_suspended--;
		req->suspended = false;
		MHD_resume_connection(req->conn);
		/* In external-epoll mode MHD's wake-up channel is not in its epoll set, so a
		 * resume is only noticed by the next MHD_run: schedule one. */
		http_server_kick(srv);
	}
}

/* A long-lived stream keeps at most about `max` bytes in the kernel too (Linux doubles the
 * value for its bookkeeping); best effort. */
static void http_stream_cap_sndbuf(struct http_request *req, size_t max)
{
	const union MHD_ConnectionInfo *ci;
	int v = max > INT_MAX / 2 ? INT_MAX / 2 : (int)max;

	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL && ci->connect_fd >= 0)
		(void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

struct http_stream *http_stream_open(struct http_request *req, const char *content_type,
				     size_t buffer_max, http_stream_closed_fn on_close,
				     void *userdata)
{
	struct http_stream *st;
	struct MHD_Response *resp;
	size_t i;

	if (req->response != NULL || req->conn == NULL) {
		HTTP_LOG(LOG_LEVEL_ERROR, req->srv, "%s %s: stream on an answered request",
			 req->method, req->path);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->req = req;
	st->srv = req->srv;
	st->on_close = on_close;
	st->userdata = userdata;
	buf_init(&st->out, buffer_max ? buffer_max : HTTP_DEFAULT_STREAM_BUFFER);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, http_stream_read, st,
						 http_stream_release);
	if (resp == NULL) {
		fprintf(stderr, "fatal: cannot allocate HTTP response\n");
		abort();
	}
	http_stream_cap_sndbuf(req, st->out.max);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	for (i = 0; i < req->n_headers; i++)
		MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
	req->stream = st;
	if (req->srv->cfg.answered != NULL)
		req->srv->cfg.answered(req, 200);
	http_set_response(req, resp, 200);
	return st;
}

size_t http_stream_queued(const struct http_stream *st)
{
	return st->out.len - st->sent;
}

int http_stream_write(struct http_stream *st, const void *data, size_t len)
{
	if (st->caller_done || st->ending || st->mhd_done || st->reason == HTTP_STREAM_TOO_SLOW)
		return -EPIPE;
	if (http_stream_queued(st) + len > st->out.max) {
		struct http_server *srv = st->srv;

		/* The reader does not keep up: drop it, never grow. */
		st->reason = HTTP_STREAM_TOO_SLOW;
		srv->stats.streams_dropped++;
		if (st->req != NULL && st->req->hc != NULL) {
			HTTP_LOG(LOG_LEVEL_WARNING, srv,
				 "%s %s: disconnecting %s: the client does not read its stream "
				 "(%zu bytes queued)",
				 st->req->method, st->req->path, st->req->hc->addr_text,
				 st->out.len - st->sent);
			http_conn_abort(st->req->hc);
		}
		st->ending = true;
		http_stream_wake(st);
		return -ENOBUFS;
	}
	if (st->sent > 0 && st->out.len + len > st->out.max) {
		/* compact: move what is left to the front */
		memmove(st->out.data, st->out.data + st->sent, st->out.len - st->sent);
		st->out.len -= st->sent;
		st->out.data[st->out.len] = '\0';
		st->sent = 0;
	}
	if (buf_append(&st->out, data, len) < 0)
		return -ENOBUFS; /* cannot happen: checked above */
	http_stream_wake(st);
	return 0;
}

void http_stream_close(struct http_stream *st)
{
	if (st == NULL || st->caller_done)
		return;
	st->caller_done = true; /* libmicrohttpd's release frees it */
	st->ending = true;
	http_stream_wake(st);
}

/* --- responses --- */

void http_response_header(struct http_request *req, const char *name, const char *value)
{
	if (req->n_headers >= HTTP_RESPONSE_HEADERS_MAX)
		return;
	req->headers[req->n_headers].name = xstrdup(name);
	req->headers[req->n_headers].value = xstrdup(value);
	req->n_headers++;
}

bool http_request_responded(const struct http_request *req)
{
	return req->response != NULL || req->screened_done;
}

/* A screened request (no libmicrohttpd connection): the header fields and body after the
 * status line, for the layer to send itself. */
static void http_respond_screened(struct http_request *req, const char *content_type,
				  const void *body, size_t len)
{
	size_t i;

	if (content_type != NULL)
		(void)buf_printf(&req->screened, "Content-Type: %s\r\n", content_type);
	for (i = 0; i < req->n_headers; i++)
		(void)buf_printf(&req->screened, "%s: %s\r\n", req->headers[i].name,
				 req->headers[i].value);
	(void)buf_printf(&req->screened, "Content-Length: %zu\r\n\r\n", len);
	(void)buf_append(&req->screened, body, len);
	req->screened_done = true;
}

void http_respond(struct http_request *req, unsigned status, const char *content_type,
		  const void *body, size_t len)
{
	struct MHD_Response *resp;
	size_t i;

	if (req->response != NULL || req->screened_done) {
		HTTP_LOG(LOG_LEVEL_ERROR, req->srv, "%s %s: second response %u ignored",
			 req->method, req->path, status);
		return;
	}
	if (req->srv->cfg.answered != NULL)
		req->srv->cfg.answered(req, status);
	if (req->conn == NULL) {
		http_respond_screened(req, content_type, body, len);
		return;
	}
	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL) {
		fprintf(stderr, "fatal: cannot allocate HTTP response\n");
		abort();
	}
	if (content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	for (i = 0; i < req->n_headers; i++)
		MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
	http_set_response(req, resp, status);
}

void http_respond_json(struct http_request *req, unsigned status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL) {
		fprintf(stderr, "fatal: cannot encode JSON response\n");
		abort();
	}
	http_respond(req, status, "application/json", s, strlen(s));
	free(s);
	json_decref(body);
}

void http_respond_empty(struct http_request *req, unsigned status)
{
	http_respond(req, status, NULL, "", 0);
}

void http_respond_error(struct http_request *req, unsigned status, const char *message)
{
	if (req->srv->cfg.error)
		req->srv->cfg.error(req, status, message);
	if (!http_request_responded(req))
		http_respond(req, status, "text/plain; charset=utf-8", message, strlen(message));
}

/* HTTP server: libmicrohttpd in external-epoll mode on the sd-event loop, plus a route table. */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "log.h"
#include "router.h"
#include "strutil.h"
#include "xmalloc.h"

#define HTTP_RESPONSE_HEADERS_MAX 8
#define HTTP_FORM_BUFFER 65536

struct http_server {
	sd_event *event;
	struct MHD_Daemon *mhd;
	sd_event_source *io;
	sd_event_source *timer;
	sd_event_source *kick;   /* runs MHD after a resume (MHD does not wake us itself) */
	struct http_server_config cfg;
	unsigned port;
	TAILQ_HEAD(, http_request) suspended;
	size_t n_suspended;
	bool stopping;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	char method[16];
	char *path;
	struct router_match match;
	const struct http_route *route;
	uint64_t start_usec;
	uint64_t body_seen;     /* bytes of body received so far */
	size_t body_max;
	struct buf body;
	struct MHD_PostProcessor *post;
	bool form_failed;
	bool form_stopped;      /* form_part asked to ignore the rest */
	bool discard_body;      /* a response is decided; read and drop the body */
	bool handled;           /* handler has run */
	bool suspended;
	/* the response, once decided */
	struct MHD_Response *response;
	unsigned status;
	struct {
		char *name, *value;
	} headers[HTTP_RESPONSE_HEADERS_MAX];
	size_t n_headers;
	void *data;
	void (*data_free)(void *);
	TAILQ_ENTRY(http_request) link;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

#define HTTP_LOG(level, srv, ...) log_write(level, (srv)->cfg.log_component, __VA_ARGS__)

static void http_server_rearm(struct http_server *srv)
{
	MHD_UNSIGNED_LONG_LONG timeout_ms;
	uint64_t now;

	if (srv->mhd == NULL)
		return;
	if (MHD_get_timeout(srv->mhd, &timeout_ms) == MHD_YES) {
		sd_event_now(srv->event, CLOCK_MONOTONIC, &now);
		sd_event_source_set_time(srv->timer, now + (uint64_t)timeout_ms * 1000ULL);
		sd_event_source_set_enabled(srv->timer, SD_EVENT_ONESHOT);
	} else {
		sd_event_source_set_enabled(srv->timer, SD_EVENT_OFF);
	}
}

static void http_server_run(struct http_server *srv)
{
	if (srv->mhd == NULL)
		return;
	MHD_run(srv->mhd);
	http_server_rearm(srv);
}

static int http_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	http_server_run(userdata);
	return 0;
}

static int http_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	http_server_run(userdata);
	return 0;
}

static int http_on_kick(sd_event_source *s, void *userdata)
{
	http_server_run(userdata);
	return 0;
}

/* --- request lifecycle --- */

static void http_request_free(struct http_request *req)
{
	size_t i;

	if (req == NULL)
		return;
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

static void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;

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
	http_request_free(req);
	*con_cls = NULL;
}

static enum MHD_Result http_on_form(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *filename, const char *content_type,
				    const char *transfer_encoding, const char *data,
				    uint64_t off, size_t size)
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

	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && parse_u64(cl, 0, UINT64_MAX, &clen) == 0 && clen > req->body_max) {
		http_respond_error(req, 413, "Request body too large");
		goto decided;
	}
	if (req->route->body == HTTP_BODY_FORM) {
		req->post = MHD_create_post_processor(req->conn, HTTP_FORM_BUFFER, http_on_form, req);
		/* NULL when the content type is not a form: the handler sees an empty form. */
	}
	if (req->route->begin)
		req->route->begin(req);
decided:
	if (req->response != NULL)
		req->discard_body = true;
}

static enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				       const char *method, const char *version,
				       const char *upload_data, size_t *upload_data_size,
				       void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	if (req == NULL) {
		req = xcalloc(1, sizeof(*req));
		req->srv = srv;
		req->conn = conn;
		strlcpy_rl(req->method, method, sizeof(req->method));
		req->path = xstrdup(url);
		req->start_usec = now_usec();
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
			(void)buf_append(&req->body, upload_data, n); /* bounded by body_max above */
		} else if (req->route->body == HTTP_BODY_FORM && req->post != NULL &&
			   !req->form_failed) {
			if (MHD_post_process(req->post, upload_data, n) != MHD_YES)
				req->form_failed = true;
		}
		return MHD_YES;
	}

	/* The whole request is in (or we were resumed with a response). */
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

static void __attribute__((format(printf, 2, 0)))
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	HTTP_LOG(LOG_LEVEL_DEBUG, srv, "libmicrohttpd: %s", msg);
}

int http_server_new(sd_event *e, const struct http_server_config *cfg,
		    struct http_server **ret)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai = NULL;
	struct http_server *srv;
	const union MHD_DaemonInfo *info;
	char portstr[16];
	unsigned flags;
	int r, epfd;

	srv = xcalloc(1, sizeof(*srv));
	srv->event = sd_event_ref(e);
	srv->cfg = *cfg;
	TAILQ_INIT(&srv->suspended);

	snprintf(portstr, sizeof(portstr), "%u", cfg->port);
	r = getaddrinfo(cfg->host, portstr, &hints, &ai);
	if (r != 0) {
		HTTP_LOG(LOG_LEVEL_ERROR, srv, "cannot resolve bind address '%s': %s", cfg->host,
			 gai_strerror(r));
		r = -EADDRNOTAVAIL;
		goto fail;
	}
	flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->mhd = MHD_start_daemon(
		flags, (uint16_t)cfg->port, NULL, NULL, http_on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, srv, /* first, or MHD logs to stderr */
		MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, srv,
		MHD_OPTION_CONNECTION_LIMIT, cfg->connection_limit ? cfg->connection_limit : 1024,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_connection_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout ? cfg->connection_timeout : 120,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
		MHD_OPTION_END);
	freeaddrinfo(ai);
	if (srv->mhd == NULL) {
		r = errno > 0 ? -errno : -EADDRINUSE;
		HTTP_LOG(LOG_LEVEL_ERROR, srv, "cannot listen on %s:%u: %s", cfg->host, cfg->port,
			 strerror(-r));
		goto fail;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	epfd = info ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : cfg->port;
	r = sd_event_add_io(e, &srv->io, epfd, EPOLLIN, http_on_io, srv);
	if (r < 0)
		goto fail;
	r = sd_event_add_time(e, &srv->timer, CLOCK_MONOTONIC, 0, 1000, http_on_timer, srv);
	if (r < 0)
		goto fail;
	r = sd_event_add_defer(e, &srv->kick, http_on_kick, srv);
	if (r < 0)
		goto fail;
	sd_event_source_set_enabled(srv->kick, SD_EVENT_OFF);
	http_server_rearm(srv);
	*ret = srv;
	return 0;
fail:
	http_server_free(srv, 503);
	return r;
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv->port;
}

void http_server_quiesce(struct http_server *srv)
{
	if (srv != NULL && srv->mhd != NULL) {
		MHD_socket s = MHD_quiesce_daemon(srv->mhd);

		if (s != MHD_INVALID_SOCKET)
			close(s);
	}
}

size_t http_server_suspended(const struct http_server *srv)
{
	return srv ? srv->n_suspended : 0;
}

void http_server_free(struct http_server *srv, unsigned status_for_suspended)
{
	struct http_request *req;

	if (srv == NULL)
		return;
	srv->stopping = true;
	while ((req = TAILQ_FIRST(&srv->suspended)) != NULL) {
		if (req->response == NULL)
			http_respond_error(req, status_for_suspended, "Server is shutting down");
		else
			http_respond_empty(req, status_for_suspended); /* unreachable */
	}
	if (srv->mhd != NULL) {
		int i;

		/* Let MHD push out the answers of the just-resumed connections. */
		for (i = 0; i < 3; i++)
			MHD_run(srv->mhd);
		MHD_stop_daemon(srv->mhd);
	}
	sd_event_source_disable_unref(srv->io);
	sd_event_source_disable_unref(srv->timer);
	sd_event_source_disable_unref(srv->kick);
	sd_event_unref(srv->event);
	free(srv);
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
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *req, const char *key, bool *present)
{
	const char *v = NULL;
	size_t len = 0;
	enum MHD_Result r;

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
	return req->response != NULL;
}

void http_respond(struct http_request *req, unsigned status, const char *content_type,
		  const void *body, size_t len)
{
	struct MHD_Response *resp;
	size_t i;

	if (req->response != NULL) {
		HTTP_LOG(LOG_LEVEL_ERROR, req->srv, "%s %s: second response %u ignored",
			 req->method, req->path, status);
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
		if (!srv->stopping)
			sd_event_source_set_enabled(srv->kick, SD_EVENT_ONESHOT);
	}
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
	if (req->response == NULL)
		http_respond(req, status, "text/plain; charset=utf-8", message, strlen(message));
}

/* HTTP server: libmicrohttpd in external-epoll mode on the sd-event loop, plus a route table. */
#ifndef RL_HTTP_H
#define RL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <systemd/sd-event.h>

struct http_server;
struct http_request;

/* What the HTTP layer does with a request body. */
enum http_body_mode {
	HTTP_BODY_NONE,   /* discarded (still bounded by body_max) */
	HTTP_BODY_BUFFER, /* collected; read with http_request_body() */
	HTTP_BODY_FORM,   /* multipart/form-data or urlencoded, streamed to form_part() */
};

/* One chunk of one form part. offset == 0 marks the first chunk of a new part. */
struct http_form_part {
	const char *name;         /* field name */
	const char *filename;     /* NULL for plain (non-file) fields */
	const char *content_type; /* may be NULL */
	const char *data;
	size_t len;
	uint64_t offset;
};

struct http_route {
	const char *method;  /* "GET", "POST", ... */
	const char *path;    /* "/session/{id}": {name} matches one non-empty segment */
	/* Called when the whole request is in. It responds now, or later from a loop callback
	 * (the connection is suspended until then; every other request keeps being served). */
	void (*handler)(struct http_request *req);
	enum http_body_mode body;
	size_t body_max;     /* max body bytes; 0 means the server default */
	/* Optional: called once the headers are in, before any body. If it responds, the body
	 * is read and discarded and that response is sent. */
	void (*begin)(struct http_request *req);
	/* HTTP_BODY_FORM routes: called for every chunk of every part. Return 0 to go on, or a
	 * negative errno to ignore the rest of the body (respond before returning if you want a
	 * specific error; otherwise the handler still runs at the end). */
	int (*form_part)(struct http_request *req, const struct http_form_part *part);
};

struct http_server_config {
	const char *host;                /* bind address ("0.0.0.0", "::1", "localhost") */
	unsigned port;                   /* 0 picks a free port; see http_server_port() */
	const struct http_route *routes;
	size_t n_routes;
	bool head_as_get;                /* answer HEAD on GET routes */
	size_t default_body_max;         /* body limit for routes with body_max == 0 */
	unsigned connection_limit;       /* concurrent connections */
	unsigned per_ip_connection_limit;/* 0 = unlimited */
	unsigned connection_timeout;     /* idle seconds before MHD closes a connection */
	/* Optional: runs before routing for every request; may respond (e.g. 401/403). */
	void (*before)(struct http_request *req);
	/* Writes the daemon's error body for errors the HTTP layer produces itself
	 * (404, 405, 413, 500, 503); must respond. */
	void (*error)(struct http_request *req, unsigned status, const char *message);
	void *userdata;                  /* http_request_server_data() */
	const char *log_component;       /* logger name for the layer's own messages */
};

/* Start listening and serving on loop e. 0 or negative errno. */
int http_server_new(sd_event *e, const struct http_server_config *cfg,
		    struct http_server **ret);
/* Port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *srv);
/* Stop accepting new connections; established ones are still served. */
void http_server_quiesce(struct http_server *srv);
/* Number of requests waiting for an asynchronous response. */
size_t http_server_suspended(const struct http_server *srv);
/* Answer every suspended request with `status` (via the error callback), then stop and
 * free the server. Accepts NULL. */
void http_server_free(struct http_server *srv, unsigned status_for_suspended);

/* --- request accessors (borrowed pointers, valid until the response is sent) --- */
const char *http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);
const struct http_route *http_request_route(const struct http_request *req);
/* Header value, case-insensitive name; NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Query argument (decoded); NULL when absent. *present says whether the key appeared. */
const char *http_request_query(const struct http_request *req, const char *key, bool *present);
/* Path parameter from the route pattern; NULL when the pattern has none of that name. */
const char *http_request_param(const struct http_request *req, const char *name);
const char *http_request_cookie(const struct http_request *req, const char *name);
/* HTTP_BODY_BUFFER: the body bytes (NUL-terminated) and length. */
const char *http_request_body(const struct http_request *req, size_t *ret_len);
/* True when a form body could not be parsed (bad multipart framing). */
bool http_request_form_failed(const struct http_request *req);
/* Peer address, or NULL. */
const struct sockaddr *http_request_peer(const struct http_request *req);
void *http_request_server_data(const struct http_request *req);
/* Per-request data owned by the route; free_fn runs when the request is finished. */
void http_request_set_data(struct http_request *req, void *data, void (*free_fn)(void *));
void *http_request_data(const struct http_request *req);
/* Monotonic microseconds when the request started. */
uint64_t http_request_start_usec(const struct http_request *req);

/* --- responses: exactly one per request --- */
void http_response_header(struct http_request *req, const char *name, const char *value);
void http_respond(struct http_request *req, unsigned status, const char *content_type,
		  const void *body, size_t len);
/* Steals the reference to body. */
void http_respond_json(struct http_request *req, unsigned status, json_t *body);
void http_respond_empty(struct http_request *req, unsigned status);
/* Use the server's error callback (daemon-specific error body). */
void http_respond_error(struct http_request *req, unsigned status, const char *message);
bool http_request_responded(const struct http_request *req);

#endif

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
struct http_stream;

/* Defaults for http_server_config fields left 0 (both daemons get them). */
#define HTTP_DEFAULT_CONNECTION_LIMIT 1024 /* open connections in all */
/* per address: a quarter of the connection limit */
#define HTTP_DEFAULT_IDLE_TIMEOUT 300         /* s without traffic while answering */
#define HTTP_DEFAULT_REQUEST_TIMEOUT 60       /* s to receive a complete request */
#define HTTP_DEFAULT_REQUEST_LINE_MAX 8192    /* bytes: first request line of a connection */
#define HTTP_DEFAULT_REQUEST_HEADER_MAX 16384 /* bytes: its whole header */
#define HTTP_DEFAULT_STREAM_BUFFER 262144     /* bytes queued for one streaming client */

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
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* "/session/{id}": {name} matches one non-empty segment */
	/* Called when the whole request is in. It responds now, or later from a loop callback
	 * (the connection is suspended until then; every other request keeps being served). */
	void (*handler)(struct http_request *req);
	enum http_body_mode body;
	size_t body_max; /* max body bytes; 0 means the server default */
	/* Optional: called once the headers are in, before any body. If it responds, the body
	 * is read and discarded and that response is sent. */
	void (*begin)(struct http_request *req);
	/* HTTP_BODY_FORM routes: called for every chunk of every part. Return 0 to go on, or a
	 * negative errno to ignore the rest of the body (respond before returning if you want a
	 * specific error; otherwise the handler still runs at the end). */
	int (*form_part)(struct http_request *req, const struct http_form_part *part);
};

struct http_server_config {
	const char *host; /* bind address ("0.0.0.0", "::1", "localhost") */
	unsigned port;    /* 0 picks a free port; see http_server_port() */
	const struct http_route *routes;
	size_t n_routes;
	bool head_as_get;        /* answer HEAD on GET routes */
	size_t default_body_max; /* body limit for routes with body_max == 0 */
	/* Connections. The layer accepts them itself: it counts them (in all and per peer
	 * address; over a limit a connection is closed at once, with a rate-limited warning),
	 * screens the first request header of each (see httpscreen.h), and closes a connection
	 * that has not delivered a complete request (header and body) within request_timeout
	 * of being accepted or of its previous response (so an idle keep-alive connection
	 * lasts that long too). 0 means the default above. */
	unsigned connection_limit;        /* lowered to fit RLIMIT_NOFILE, with a warning */
	unsigned per_ip_connection_limit; /* 0: connection_limit / 4 */
	unsigned connection_timeout;      /* s without traffic (libmicrohttpd's idle timeout) */
	unsigned request_timeout;         /* at most connection_timeout */
	size_t request_line_max;          /* screen: longer first request line -> 414 */
	size_t request_header_max;        /* screen: larger first header -> 431 */
	/* TLS (libmicrohttpd with GnuTLS): PEM text of the certificate (chain) and key, both or
	 * neither. With TLS the first request is not screened (the layer cannot read it). */
	const char *tls_cert_pem;
	const char *tls_key_pem;
	/* Optional: told of every answer as it is decided (metrics: http_request_route() is NULL
	 * for a request no route matched). */
	void (*answered)(struct http_request *req, unsigned status);
	/* Optional: runs before routing for every request; may respond (e.g. 401/403). */
	void (*before)(struct http_request *req);
	/* Writes the daemon's error body for errors the HTTP layer produces itself
	 * (400, 404, 405, 413, 414, 431, 500, 503, 505); must respond. For a screened request
	 * only the method, path and peer are known (headers, query and cookies read as
	 * absent) and the answer is sent with "Connection: close". */
	void (*error)(struct http_request *req, unsigned status, const char *message);
	void *userdata;            /* http_request_server_data() */
	const char *log_component; /* logger name for the layer's own messages */
};

/* Start listening and serving on loop e. 0 or negative errno. */
int http_server_new(sd_event *e, const struct http_server_config *cfg, struct http_server **ret);
/* Port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *srv);
/* Stop accepting new connections; established ones are still served. */
void http_server_quiesce(struct http_server *srv);
/* Number of requests waiting for an asynchronous response (open streams waiting for data
 * count too). */
size_t http_server_suspended(const struct http_server *srv);
struct http_server_stats {
	uint64_t accepted;            /* connections accepted and counted */
	uint64_t refused_total;       /* closed at once: connection_limit reached */
	uint64_t refused_per_address; /* closed at once: per_ip_connection_limit reached */
	uint64_t deadline_closed;     /* closed for want of a complete request in time */
	uint64_t screened;            /* first requests answered by the screen */
	uint64_t streams_dropped;     /* streaming clients disconnected for reading too slowly */
	unsigned open;                /* connections open now */
};
void http_server_get_stats(const struct http_server *srv, struct http_server_stats *ret);
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

/* --- streaming responses (e.g. text/event-stream) ---
 * A long-lived 200 answer (chunked, no length) whose bytes the daemon appends from loop
 * callbacks. Each stream has a bounded buffer: a client that does not read fast enough to
 * keep it below buffer_max is disconnected (never the server's memory grows). */
enum http_stream_reason {
	HTTP_STREAM_ENDED = 1,      /* the response ended without the caller closing it */
	HTTP_STREAM_CLIENT_GONE,    /* the client went away (noticed at the next write) */
	HTTP_STREAM_TOO_SLOW,       /* dropped: the buffer would have exceeded buffer_max */
	HTTP_STREAM_SERVER_STOPPED, /* http_server_free() ended it */
};
/* Called once when the stream ends for any reason other than http_stream_close() — from
 * inside the HTTP layer (as handlers are); the handle is invalid after it returns. */
typedef void (*http_stream_closed_fn)(struct http_stream *st, int reason, void *userdata);
/* Answer req (from its handler, or later) with a streaming 200 of content_type, plus the
 * headers set with http_response_header and Cache-Control: no-cache. buffer_max 0 means
 * HTTP_DEFAULT_STREAM_BUFFER. The connection's kernel send buffer is capped near buffer_max
 * too (no autotuning to megabytes), so a client that stops reading is dropped after a few
 * times buffer_max, not after what the kernel would hold. NULL if req was answered already. */
struct http_stream *http_stream_open(struct http_request *req, const char *content_type,
				     size_t buffer_max, http_stream_closed_fn on_close,
				     void *userdata);
/* Queue bytes for the client. 0; -ENOBUFS when they do not fit (the client is then being
 * disconnected; on_close follows with HTTP_STREAM_TOO_SLOW); -EPIPE once the stream
 * is ending. */
int http_stream_write(struct http_stream *st, const void *data, size_t len);
/* Bytes queued and not yet handed to the socket. */
size_t http_stream_queued(const struct http_stream *st);
/* End the response once the queued bytes are sent; the handle is invalid afterwards and
 * on_close is not called. Accepts NULL. */
void http_stream_close(struct http_stream *st);

#endif

/* Internals of the HTTP layer, shared by its four files: http.c (the server and its place on
 * the loop), http_conn.c (connections), http_request.c (requests) and http_respond.c
 * (responses and streams). One module, four files; nothing else includes this. */
#ifndef RL_HTTP_INT_H
#define RL_HTTP_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "buf.h"
#include "http.h"
#include "httpform.h"
#include "log.h"
#include "router.h"

#define HTTP_RESPONSE_HEADERS_MAX 8

/* Where a connection is. */
enum http_conn_phase {
	CONN_SCREEN, /* accepted; its first request header is being screened */
	CONN_DRAIN,  /* the screen answered an error; reading and dropping until closed */
	CONN_MHD,    /* handed to libmicrohttpd */
};

/* Connections per peer address (IPv4-mapped IPv6 counts as IPv4). */
struct http_peer {
	int family;
	unsigned char addr[16];
	unsigned count;
};

/* Rate-limited warnings: at most one line per kind every HTTP_RATELOG_USEC. */
struct http_ratelog {
	uint64_t last;
	unsigned suppressed;
};

struct http_conn {
	struct http_server *srv;
	int fd;
	enum http_conn_phase phase;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_text[INET6_ADDRSTRLEN];
	struct http_peer *peer;
	sd_event_source *io; /* CONN_SCREEN / CONN_DRAIN only */
	uint64_t deadline;   /* 0: none */
	bool deadline_linked;
	bool in_request; /* headers of a request in, body not complete */
	bool bytes_seen; /* CONN_SCREEN: something arrived */
	bool closing;    /* shut down by us; libmicrohttpd will notice */
	struct MHD_Connection *mhd_conn;
	TAILQ_ENTRY(http_conn) link;    /* srv->conns */
	TAILQ_ENTRY(http_conn) dl_link; /* srv->deadlines or srv->drains (both in deadline order) */
};

TAILQ_HEAD(http_conn_list, http_conn);

struct http_stream {
	struct http_request *req; /* NULL once the request is finished */
	struct http_server *srv;
	struct buf out; /* bytes not yet handed to libmicrohttpd */
	size_t sent;    /* bytes of out already handed over */
	http_stream_closed_fn on_close;
	void *userdata;
	int reason;       /* for on_close */
	bool waiting;     /* the connection is suspended for lack of data */
	bool ending;      /* http_stream_close: end after what is queued */
	bool mhd_done;    /* libmicrohttpd released the response */
	bool caller_done; /* the caller let go (close or on_close delivered) */
};

struct http_server {
	sd_event *event;
	struct MHD_Daemon *mhd;
	sd_event_source *io;
	sd_event_source *timer;
	sd_event_source *kick; /* runs MHD after a resume (MHD does not wake us itself) */
	sd_event_source *listen_io;
	sd_event_source *deadline_timer;
	int listen_fd;
	struct http_server_config cfg;
	unsigned port;
	char *tls_cert, *tls_key;
	TAILQ_HEAD(, http_request) suspended;
	size_t n_suspended;
	struct http_conn_list conns;
	struct http_conn_list deadlines; /* request deadlines, earliest first */
	struct http_conn_list drains;    /* screen answers being drained, earliest first */
	unsigned n_conns;
	void *peers;              /* tsearch tree of struct http_peer */
	struct http_conn *adding; /* the connection MHD_add_connection is taking */
	struct http_ratelog log_total, log_peer, log_deadline, log_screen;
	struct http_server_stats stats;
	bool stopping;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn; /* NULL for a screened request answered by the layer */
	struct http_conn *hc;
	char method[16];
	char *path;
	struct router_match match;
	const struct http_route *route;
	uint64_t start_usec;
	uint64_t body_seen; /* bytes of body received so far */
	size_t body_max;
	struct buf body;
	struct MHD_PostProcessor *post;
	struct http_form_scan form_scan;
	bool form_failed;
	bool form_stopped; /* form_part asked to ignore the rest */
	bool discard_body; /* a response is decided; read and drop the body */
	bool handled;      /* handler has run */
	bool suspended;
	/* the response, once decided */
	struct MHD_Response *response;
	unsigned status;
	struct http_stream *stream;
	/* a screened request's answer (conn == NULL) */
	struct buf screened;
	bool screened_done;
	struct {
		char *name, *value;
	} headers[HTTP_RESPONSE_HEADERS_MAX];
	size_t n_headers;
	void *data;
	void (*data_free)(void *);
	TAILQ_ENTRY(http_request) link;
};

static inline uint64_t http_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

#define HTTP_LOG(level, srv, ...) log_write(level, (srv)->cfg.log_component, __VA_ARGS__)

/* http.c: schedule an MHD_run from the loop. */
void http_server_kick(struct http_server *srv);

/* http_conn.c: connections, their limits and deadlines, the screen, the hand-off to MHD. */
unsigned http_cfg_connection_limit(const struct http_server_config *cfg);
void http_deadline_rearm(struct http_server *srv);
void http_conn_deadline_clear(struct http_conn *c);
void http_conn_deadline_set(struct http_conn *c, uint64_t usec);
uint64_t http_request_timeout_usec(const struct http_server *srv);
void http_conn_free(struct http_conn *c);
void http_conn_close(struct http_conn *c);
void http_conn_abort(struct http_conn *c);
struct http_conn *http_conn_of(struct MHD_Connection *conn);
int http_on_accept(sd_event_source *s, int lfd, uint32_t revents, void *userdata);
int http_on_deadline(sd_event_source *s, uint64_t usec, void *userdata);
void http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode code);

/* http_request.c: libmicrohttpd's request callbacks. */
enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				const char *method, const char *version, const char *upload_data,
				size_t *upload_data_size, void **con_cls);
void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		       enum MHD_RequestTerminationCode toe);

/* http_respond.c: resume a stream's connection waiting for data (or for the end). */
void http_stream_wake(struct http_stream *st);

#endif

/* HTTP server: libmicrohttpd in external-epoll mode on the sd-event loop, plus a route table,
 * connection limits and deadlines, a screen of each connection's first request header, and
 * streaming responses. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "httpform.h"
#include "httpscreen.h"
#include "log.h"
#include "router.h"
#include "strutil.h"
#include "xmalloc.h"

#define HTTP_RESPONSE_HEADERS_MAX 8
#define HTTP_FORM_BUFFER 65536
#define HTTP_ACCEPT_BATCH 64          /* accepts per wake-up, so one flood cannot starve */
#define HTTP_DRAIN_USEC (2 * 1000000ULL) /* after a screen error: read and drop, then close */
#define HTTP_RATELOG_USEC (10 * 1000000ULL)
#define HTTP_FD_RESERVE 64            /* descriptors kept for everything but connections */

/* Where a connection is. */
enum http_conn_phase {
	CONN_SCREEN,  /* accepted; its first request header is being screened */
	CONN_DRAIN,   /* the screen answered an error; reading and dropping until closed */
	CONN_MHD,     /* handed to libmicrohttpd */
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
	sd_event_source *io;          /* CONN_SCREEN / CONN_DRAIN only */
	uint64_t deadline;            /* 0: none */
	bool deadline_linked;
	bool in_request;              /* headers of a request in, body not complete */
	bool bytes_seen;              /* CONN_SCREEN: something arrived */
	bool closing;                 /* shut down by us; libmicrohttpd will notice */
	struct MHD_Connection *mhd_conn;
	TAILQ_ENTRY(http_conn) link;    /* srv->conns */
	TAILQ_ENTRY(http_conn) dl_link; /* srv->deadlines or srv->drains (both in deadline order) */
};

TAILQ_HEAD(http_conn_list, http_conn);

struct http_stream {
	struct http_request *req;     /* NULL once the request is finished */
	struct http_server *srv;
	struct buf out;               /* bytes not yet handed to libmicrohttpd */
	size_t sent;                  /* bytes of out already handed over */
	http_stream_closed_fn on_close;
	void *userdata;
	int reason;                   /* for on_close */
	bool waiting;                 /* the connection is suspended for lack of data */
	bool ending;                  /* http_stream_close: end after what is queued */
	bool mhd_done;                /* libmicrohttpd released the response */
	bool caller_done;             /* the caller let go (close or on_close delivered) */
};

struct http_server {
	sd_event *event;
	struct MHD_Daemon *mhd;
	sd_event_source *io;
	sd_event_source *timer;
	sd_event_source *kick;   /* runs MHD after a resume (MHD does not wake us itself) */
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
	void *peers;                     /* tsearch tree of struct http_peer */
	struct http_conn *adding;        /* the connection MHD_add_connection is taking */
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
	uint64_t body_seen;     /* bytes of body received so far */
	size_t body_max;
	struct buf body;
	struct MHD_PostProcessor *post;
	struct http_form_scan form_scan;
	bool form_failed;
	bool form_stopped;      /* form_part asked to ignore the rest */
	bool discard_body;      /* a response is decided; read and drop the body */
	bool handled;           /* handler has run */
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

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

#define HTTP_LOG(level, srv, ...) log_write(level, (srv)->cfg.log_component, __VA_ARGS__)

/* 0 when a line may be written now (and how many were suppressed since in *suppressed). */
static bool http_ratelog_due(struct http_ratelog *rl, unsigned *suppressed)
{
	uint64_t now = now_usec();

	if (rl->last != 0 && now - rl->last < HTTP_RATELOG_USEC) {
		rl->suppressed++;
		return false;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last = now;
	return true;
}

static unsigned cfg_connection_limit(const struct http_server_config *cfg)
{
	return cfg->connection_limit ? cfg->connection_limit : HTTP_DEFAULT_CONNECTION_LIMIT;
}

static unsigned cfg_per_ip_limit(const struct http_server_config *cfg)
{
	unsigned total = cfg_connection_limit(cfg);

	if (cfg->per_ip_connection_limit)
		return cfg->per_ip_connection_limit;
	return total / 4 > 0 ? total / 4 : 1;
}

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

/* Schedule an MHD_run from the loop (after a resume, an add or a shutdown of a socket). */
static void http_server_kick(struct http_server *srv)
{
	if (!srv->stopping)
		sd_event_source_set_enabled(srv->kick, SD_EVENT_ONESHOT);
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

/* --- peers --- */

static int http_peer_cmp(const void *a, const void *b)
{
	const struct http_peer *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static void http_peer_key(const struct sockaddr_storage *ss, struct http_peer *key)
{
	memset(key, 0, sizeof(*key));
	if (ss->ss_family == AF_INET) {
		key->family = AF_INET;
		memcpy(key->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key->family = AF_INET;
			memcpy(key->addr, &a->s6_addr[12], 4);
		} else {
			key->family = AF_INET6;
			memcpy(key->addr, a, 16);
		}
	} else {
		key->family = ss->ss_family;
	}
}

static void http_addr_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	const void *a = NULL;

	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (a == NULL || inet_ntop(ss->ss_family, a, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "?");
}

/* --- connections --- */

static void http_conn_deadline_clear(struct http_conn *c)
{
	if (c->deadline_linked)
		TAILQ_REMOVE(c->phase == CONN_DRAIN ? &c->srv->drains : &c->srv->deadlines, c,
			     dl_link);
	c->deadline_linked = false;
	c->deadline = 0;
}

static void http_deadline_rearm(struct http_server *srv)
{
	struct http_conn *a = TAILQ_FIRST(&srv->deadlines), *b = TAILQ_FIRST(&srv->drains);
	uint64_t t;

	if (a == NULL && b == NULL) {
		sd_event_source_set_enabled(srv->deadline_timer, SD_EVENT_OFF);
		return;
	}
	t = a == NULL ? b->deadline : b == NULL ? a->deadline
		: (a->deadline < b->deadline ? a->deadline : b->deadline);
	sd_event_source_set_time(srv->deadline_timer, t);
	sd_event_source_set_enabled(srv->deadline_timer, SD_EVENT_ONESHOT);
}

/* (Re)start c's deadline: usec from now. Lists stay sorted: each has one fixed length. */
static void http_conn_deadline_set(struct http_conn *c, uint64_t usec)
{
	struct http_server *srv = c->srv;
	uint64_t now;

	http_conn_deadline_clear(c);
	sd_event_now(srv->event, CLOCK_MONOTONIC, &now);
	c->deadline = now + usec;
	c->deadline_linked = true;
	TAILQ_INSERT_TAIL(c->phase == CONN_DRAIN ? &srv->drains : &srv->deadlines, c, dl_link);
	http_deadline_rearm(srv);
}

/* The request deadline: request_timeout, but never longer than the idle timeout (a silent
 * connection that libmicrohttpd does not hold yet is idle too). */
static unsigned http_request_timeout_sec(const struct http_server *srv)
{
	unsigned req = srv->cfg.request_timeout ? srv->cfg.request_timeout
						: HTTP_DEFAULT_REQUEST_TIMEOUT;
	unsigned idle = srv->cfg.connection_timeout ? srv->cfg.connection_timeout
						    : HTTP_DEFAULT_IDLE_TIMEOUT;

	return req < idle ? req : idle;
}

static uint64_t http_request_timeout_usec(const struct http_server *srv)
{
	return (uint64_t)http_request_timeout_sec(srv) * 1000000ULL;
}

static void http_conn_free(struct http_conn *c)
{
	struct http_server *srv = c->srv;

	http_conn_deadline_clear(c);
	sd_event_source_disable_unref(c->io);
	TAILQ_REMOVE(&srv->conns, c, link);
	srv->n_conns--;
	if (c->peer != NULL && --c->peer->count == 0) {
		struct http_peer *p = c->peer;

		tdelete(p, &srv->peers, http_peer_cmp);
		free(p);
	}
	free(c);
}

/* Close a connection we still own (screen or drain phase). */
static void http_conn_close(struct http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	http_conn_free(c);
}

/* End a connection libmicrohttpd owns: shut its socket down; libmicrohttpd sees the end at
 * its next run and closes it (NOTIFY_CONNECTION CLOSED frees c). */
static void http_conn_abort(struct http_conn *c)
{
	http_conn_deadline_clear(c);
	if (c->closing)
		return;
	c->closing = true;
	(void)shutdown(c->fd, SHUT_RDWR);
	http_server_kick(c->srv);
}

static const char *http_reason(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static int http_on_drain(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct http_conn *c = userdata;
	char sink[4096];
	ssize_t n;

	while ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		http_conn_close(c);
	return 0;
}

/* Answer a screened request with the daemon's error body (through cfg.error) and close. */
static void http_screen_answer(struct http_conn *c, char *head, size_t head_len,
			       const struct http_screen *sc)
{
	struct http_server *srv = c->srv;
	struct http_request req = { .srv = srv, .hc = c };
	struct buf out;
	ssize_t w;
	unsigned suppressed;

	snprintf(req.method, sizeof(req.method), "%.*s", (int)(sc->method_len < 15 ? sc->method_len : 15),
		 sc->method ? sc->method : "");
	req.path = xasprintf("%.*s", (int)(sc->target_len < 200 ? sc->target_len : 200),
			     sc->target ? sc->target : "");
	buf_init(&req.screened, 4096);
	http_respond_error(&req, sc->status, sc->message);
	buf_init(&out, 8192);
	(void)buf_printf(&out, "HTTP/1.1 %u %s\r\nConnection: close\r\n%s",
			 sc->status, http_reason(sc->status), buf_cstr(&req.screened));
	srv->stats.screened++;
	if (http_ratelog_due(&srv->log_screen, &suppressed))
		HTTP_LOG(LOG_LEVEL_WARNING, srv, "%s: answered %u (%s) to a request from %s%s",
			 req.method[0] ? req.method : "-", sc->status, sc->message, c->addr_text,
			 suppressed ? " (and more since the last report)" : "");
	/* What was peeked is read now, so the answer is not lost to a reset. */
	(void)!recv(c->fd, head, head_len, MSG_DONTWAIT);
	w = send(c->fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w; /* a fresh socket's send buffer takes a short answer; if not, the close says it */
	buf_free(&out);
	buf_free(&req.screened);
	free(req.path);
	(void)shutdown(c->fd, SHUT_WR);
	sd_event_source_disable_unref(c->io);
	c->io = NULL;
	http_conn_deadline_clear(c);
	c->phase = CONN_DRAIN;
	if (sd_event_add_io(srv->event, &c->io, c->fd, EPOLLIN, http_on_drain, c) < 0) {
		http_conn_close(c);
		return;
	}
	http_conn_deadline_set(c, HTTP_DRAIN_USEC);
}

/* Give a screened connection to libmicrohttpd. */
static void http_conn_to_mhd(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	int fd = c->fd;

	char text[INET6_ADDRSTRLEN];
	bool started;
	enum MHD_Result r;

	sd_event_source_disable_unref(c->io);
	c->io = NULL;
	c->phase = CONN_MHD;
	srv->adding = c;
	memcpy(text, c->addr_text, sizeof(text));
	r = MHD_add_connection(srv->mhd, fd, (const struct sockaddr *)&c->addr, c->addrlen);
	started = srv->adding == NULL; /* NOTIFY_CONNECTION STARTED took it */
	srv->adding = NULL;
	if (r != MHD_YES) {
		/* libmicrohttpd closed the socket; if it had taken the connection, its CLOSED
		 * notification freed c already. */
		HTTP_LOG(LOG_LEVEL_WARNING, srv, "cannot serve a connection from %s: %s", text,
			 strerror(errno));
		if (!started) {
			c->fd = -1;
			http_conn_free(c);
		}
		return;
	}
	http_server_kick(srv);
}

static int http_on_screen(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct http_conn *c = userdata;
	struct http_server *srv = c->srv;
	struct http_screen_limits lim = {
		.line_max = srv->cfg.request_line_max ? srv->cfg.request_line_max
						      : HTTP_DEFAULT_REQUEST_LINE_MAX,
		.header_max = srv->cfg.request_header_max ? srv->cfg.request_header_max
							  : HTTP_DEFAULT_REQUEST_HEADER_MAX,
	};
	size_t cap = lim.header_max + 1;
	struct http_screen sc;
	char *head;
	ssize_t n;

	head = xmalloc(cap);
	n = recv(fd, head, cap, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		goto out;
	if (n <= 0) {
		http_conn_close(c); /* gone before it asked anything */
		goto out;
	}
	c->bytes_seen = true;
	if (http_screen(head, (size_t)n, &lim, &sc) == HTTP_SCREEN_MORE) {
		/* Edge-triggered: the next arrival wakes us again. Nothing to do until then
		 * (the request deadline bounds the wait). */
		goto out;
	}
	if (sc.status != 0)
		http_screen_answer(c, head, (size_t)n, &sc);
	else
		http_conn_to_mhd(c);
out:
	free(head);
	return 0;
}

static void __attribute__((format(printf, 3, 4)))
http_log_refused(struct http_server *srv, struct http_ratelog *rl, const char *fmt, ...)
{
	unsigned suppressed;
	char msg[256];
	va_list ap;

	if (!http_ratelog_due(rl, &suppressed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed)
		HTTP_LOG(LOG_LEVEL_WARNING, srv, "%s (%u more refused since the last report)", msg,
			 suppressed);
	else
		HTTP_LOG(LOG_LEVEL_WARNING, srv, "%s", msg);
}

static void http_accept_one(struct http_server *srv, int fd, struct sockaddr_storage *ss,
			    socklen_t sslen)
{
	unsigned total = cfg_connection_limit(&srv->cfg), per = cfg_per_ip_limit(&srv->cfg);
	struct http_peer key, **found, *p;
	struct http_conn *c;
	char text[INET6_ADDRSTRLEN];
	int r;

	http_peer_key(ss, &key);
	found = tfind(&key, &srv->peers, http_peer_cmp);
	p = found ? *found : NULL;
	if (srv->n_conns >= total) {
		http_addr_text(ss, text, sizeof(text));
		srv->stats.refused_total++;
		http_log_refused(srv, &srv->log_total,
				 "Refused a connection from %s: %u connections open, the limit is %u",
				 text, srv->n_conns, total);
		close(fd);
		return;
	}
	if (p != NULL && p->count >= per) {
		http_addr_text(ss, text, sizeof(text));
		srv->stats.refused_per_address++;
		http_log_refused(srv, &srv->log_peer,
				 "Refused a connection from %s: %u connections open from that "
				 "address, the limit is %u", text, p->count, per);
		close(fd);
		return;
	}
	if (p == NULL) {
		p = xmalloc(sizeof(*p));
		*p = key;
		p->count = 0;
		(void)tsearch(p, &srv->peers, http_peer_cmp);
	}
	p->count++;
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->fd = fd;
	c->peer = p;
	memcpy(&c->addr, ss, sslen);
	c->addrlen = sslen;
	http_addr_text(ss, c->addr_text, sizeof(c->addr_text));
	TAILQ_INSERT_TAIL(&srv->conns, c, link);
	srv->n_conns++;
	srv->stats.accepted++;
	if (srv->n_conns == total) {
		http_log_refused(srv, &srv->log_total,
				 "Connection limit reached (latest from %s): %u connections open, "
				 "the limit is %u", c->addr_text, srv->n_conns, total);
	}
	if (srv->cfg.tls_cert_pem != NULL) {
		/* TLS: nothing to screen in clear; libmicrohttpd does the handshake. */
		http_conn_deadline_set(c, http_request_timeout_usec(srv));
		http_conn_to_mhd(c);
		return;
	}
	c->phase = CONN_SCREEN;
	r = sd_event_add_io(srv->event, &c->io, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, http_on_screen, c);
	if (r < 0) {
		http_conn_close(c);
		return;
	}
	http_conn_deadline_set(c, http_request_timeout_usec(srv));
}

static int http_on_accept(sd_event_source *s, int lfd, uint32_t revents, void *userdata)
{
	struct http_server *srv = userdata;
	int i;

	for (i = 0; i < HTTP_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				unsigned suppressed;

				if (http_ratelog_due(&srv->log_total, &suppressed))
					HTTP_LOG(LOG_LEVEL_ERROR, srv, "cannot accept connections: %s "
						 "(%u open)", strerror(errno), srv->n_conns);
			}
			break;
		}
		http_accept_one(srv, fd, &ss, sslen);
	}
	return 0;
}

static int http_on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct http_server *srv = userdata;
	struct http_conn *c;
	uint64_t now;

	sd_event_now(srv->event, CLOCK_MONOTONIC, &now);
	while ((c = TAILQ_FIRST(&srv->drains)) != NULL && c->deadline <= now)
		http_conn_close(c);
	while ((c = TAILQ_FIRST(&srv->deadlines)) != NULL && c->deadline <= now) {
		unsigned suppressed;
		bool slow = c->in_request || c->bytes_seen;

		srv->stats.deadline_closed++;
		if (slow && http_ratelog_due(&srv->log_deadline, &suppressed))
			HTTP_LOG(LOG_LEVEL_WARNING, srv,
				 "Closed a connection from %s: no complete request within %u s%s",
				 c->addr_text, http_request_timeout_sec(srv),
				 suppressed ? " (more since the last report)" : "");
		else if (!slow)
			HTTP_LOG(LOG_LEVEL_DEBUG, srv, "closing an idle connection from %s",
				 c->addr_text);
		if (c->phase == CONN_MHD)
			http_conn_abort(c);
		else
			http_conn_close(c);
	}
	http_deadline_rearm(srv);
	return 0;
}

static struct http_conn *http_conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			       enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	struct http_conn *c;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		c = srv->adding;
		srv->adding = NULL;
		if (c != NULL) {
			c->mhd_conn = conn;
			*socket_context = c;
		}
		return;
	}
	c = *socket_context;
	if (c == NULL)
		return;
	*socket_context = NULL;
	c->fd = -1; /* libmicrohttpd closes it */
	http_conn_free(c);
}

/* --- request lifecycle --- */

static void http_stream_mhd_done(struct http_stream *st, int reason);

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

static void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
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
			? HTTP_STREAM_ENDED : HTTP_STREAM_CLIENT_GONE;
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
		req->hc = http_conn_of(conn);
		if (req->hc != NULL)
			req->hc->in_request = true;
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
			if (http_form_scan_feed(&req->form_scan, upload_data, n)) {
				/* libmicrohttpd would cut the part's name or file name at the NUL */
				http_respond_error(req, 400, "Invalid form part: NUL byte in a part "
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

/* Our own listening socket: the layer accepts, counts and screens before libmicrohttpd. */
static int http_listen(struct http_server *srv, const struct addrinfo *ai)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int fd, one = 1, r;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	srv->listen_fd = fd;
	return 0;
}

/* The connection limit must fit the process's descriptor limit. */
static unsigned http_fit_fd_limit(struct http_server *srv, unsigned limit)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return limit;
	if (rl.rlim_cur < (rlim_t)limit + HTTP_FD_RESERVE) {
		unsigned fit = rl.rlim_cur > HTTP_FD_RESERVE * 2 ? (unsigned)(rl.rlim_cur - HTTP_FD_RESERVE)
								: (unsigned)(rl.rlim_cur / 2);

		HTTP_LOG(LOG_LEVEL_WARNING, srv,
			 "connection limit %u lowered to %u: the process may open %llu files "
			 "(raise LimitNOFILE / ulimit -n)", limit, fit, (unsigned long long)rl.rlim_cur);
		return fit;
	}
	return limit;
}

int http_server_new(sd_event *e, const struct http_server_config *cfg,
		    struct http_server **ret)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai = NULL;
	struct http_server *srv;
	const union MHD_DaemonInfo *info;
	char portstr[16];
	unsigned flags, limit;
	int r, epfd;
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, NULL },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	srv = xcalloc(1, sizeof(*srv));
	srv->event = sd_event_ref(e);
	srv->cfg = *cfg;
	srv->listen_fd = -1;
	TAILQ_INIT(&srv->suspended);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->deadlines);
	TAILQ_INIT(&srv->drains);
	if ((cfg->tls_cert_pem == NULL) != (cfg->tls_key_pem == NULL)) {
		HTTP_LOG(LOG_LEVEL_ERROR, srv, "TLS needs both a certificate and a key");
		r = -EINVAL;
		goto fail;
	}
	limit = http_fit_fd_limit(srv, cfg_connection_limit(cfg));
	srv->cfg.connection_limit = limit;
	if (srv->cfg.per_ip_connection_limit > limit)
		srv->cfg.per_ip_connection_limit = limit;

	snprintf(portstr, sizeof(portstr), "%u", cfg->port);
	r = getaddrinfo(cfg->host, portstr, &hints, &ai);
	if (r != 0) {
		HTTP_LOG(LOG_LEVEL_ERROR, srv, "cannot resolve bind address '%s': %s", cfg->host,
			 gai_strerror(r));
		r = -EADDRNOTAVAIL;
		goto fail;
	}
	r = http_listen(srv, ai);
	freeaddrinfo(ai);
	if (r < 0) {
		HTTP_LOG(LOG_LEVEL_ERROR, srv, "cannot listen on %s:%u: %s", cfg->host, cfg->port,
			 strerror(-r));
		goto fail;
	}
	flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
		MHD_USE_NO_LISTEN_SOCKET;
	if (cfg->tls_cert_pem != NULL) {
		flags |= MHD_USE_TLS;
		srv->tls_cert = xstrdup(cfg->tls_cert_pem);
		srv->tls_key = xstrdup(cfg->tls_key_pem);
		tls_opts[0].ptr_value = srv->tls_cert;
		tls_opts[1].ptr_value = srv->tls_key;
	} else {
		tls_opts[0].option = MHD_OPTION_END;
	}
	srv->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, http_on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, srv, /* first, or MHD logs to stderr */
		MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, srv,
		MHD_OPTION_NOTIFY_CONNECTION, http_on_connection, srv,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_CONNECTION_TIMEOUT,
		cfg->connection_timeout ? cfg->connection_timeout : HTTP_DEFAULT_IDLE_TIMEOUT,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
		MHD_OPTION_ARRAY, tls_opts,
		MHD_OPTION_END);
	if (srv->mhd == NULL) {
		r = errno > 0 ? -errno : -EINVAL;
		HTTP_LOG(LOG_LEVEL_ERROR, srv, "cannot start the HTTP server on %s:%u%s", cfg->host,
			 cfg->port, cfg->tls_cert_pem ? " (is the TLS certificate/key valid?)" : "");
		goto fail;
	}
	/* GnuTLS copied the key and certificate when the daemon started. */
	str_free_secret(srv->tls_key);
	srv->tls_key = NULL;
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	epfd = info ? info->epoll_fd : -1;
	r = sd_event_add_io(e, &srv->io, epfd, EPOLLIN, http_on_io, srv);
	if (r < 0)
		goto fail;
	r = sd_event_add_io(e, &srv->listen_io, srv->listen_fd, EPOLLIN, http_on_accept, srv);
	if (r < 0)
		goto fail;
	r = sd_event_add_time(e, &srv->timer, CLOCK_MONOTONIC, 0, 1000, http_on_timer, srv);
	if (r < 0)
		goto fail;
	r = sd_event_add_time(e, &srv->deadline_timer, CLOCK_MONOTONIC, 0, 100000,
			      http_on_deadline, srv);
	if (r < 0)
		goto fail;
	sd_event_source_set_enabled(srv->deadline_timer, SD_EVENT_OFF);
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
	if (srv == NULL)
		return;
	srv->listen_io = sd_event_source_disable_unref(srv->listen_io);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = -1;
}

size_t http_server_suspended(const struct http_server *srv)
{
	return srv ? srv->n_suspended : 0;
}

void http_server_get_stats(const struct http_server *srv, struct http_server_stats *ret)
{
	*ret = srv->stats;
	ret->open = srv->n_conns;
}

static void http_stream_wake(struct http_stream *st);

void http_server_free(struct http_server *srv, unsigned status_for_suspended)
{
	struct http_request *req, *next;
	struct http_conn *c;

	if (srv == NULL)
		return;
	srv->stopping = true;
	http_server_quiesce(srv);
	for (req = TAILQ_FIRST(&srv->suspended); req != NULL; req = next) {
		next = TAILQ_NEXT(req, link);
		if (req->stream != NULL) {
			if (req->stream->reason == 0)
				req->stream->reason = HTTP_STREAM_SERVER_STOPPED;
			req->stream->ending = true;
			http_stream_wake(req->stream);
		} else if (req->response == NULL) {
			http_respond_error(req, status_for_suspended, "Server is shutting down");
		}
	}
	/* Connections still being screened or drained are ours to close. */
	for (c = TAILQ_FIRST(&srv->conns); c != NULL;) {
		struct http_conn *n = TAILQ_NEXT(c, link);

		if (c->phase != CONN_MHD)
			http_conn_close(c);
		c = n;
	}
	if (srv->mhd != NULL) {
		int i;

		/* Let MHD push out the answers of the just-resumed connections. */
		for (i = 0; i < 3; i++)
			MHD_run(srv->mhd);
		MHD_stop_daemon(srv->mhd);
	}
	/* MHD_stop_daemon reported every connection closed; whatever is left never reached it. */
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL) {
		c->fd = -1;
		http_conn_free(c);
	}
	tdestroy(srv->peers, free);
	sd_event_source_disable_unref(srv->io);
	sd_event_source_disable_unref(srv->listen_io);
	sd_event_source_disable_unref(srv->timer);
	sd_event_source_disable_unref(srv->deadline_timer);
	sd_event_source_disable_unref(srv->kick);
	sd_event_unref(srv->event);
	str_free_secret(srv->tls_key);
	free(srv->tls_cert);
	free(srv);
}

/* --- streaming responses --- */

static void http_stream_free(struct http_stream *st)
{
	buf_free(&st->out);
	free(st);
}

/* Resume a connection waiting for data (or for the end). */
static void http_stream_wake(struct http_stream *st)
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
static void http_set_response(struct http_request *req, struct MHD_Response *resp,
			      unsigned status)
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
				 "(%zu bytes queued)", st->req->method, st->req->path,
				 st->req->hc->addr_text, st->out.len - st->sent);
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

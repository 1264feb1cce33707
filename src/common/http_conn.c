/* HTTP connections: the layer accepts them itself, counts them in all and per peer address
 * (over a limit a connection is closed at once, with a rate-limited warning), screens the
 * first request header of each (httpscreen.c) and answers what fails it, hands the rest to
 * libmicrohttpd, and closes any that has not delivered a complete request in time. */
#include <arpa/inet.h>
#include <errno.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "http_int.h"
#include "httpscreen.h"
#include "log.h"
#include "xmalloc.h"

#define HTTP_ACCEPT_BATCH 64             /* accepts per wake-up, so one flood cannot starve */
#define HTTP_DRAIN_USEC (2 * 1000000ULL) /* after a screen error: read and drop, then close */
#define HTTP_RATELOG_USEC (10 * 1000000ULL)

/* 0 when a line may be written now (and how many were suppressed since in *suppressed). */
static bool http_ratelog_due(struct http_ratelog *rl, unsigned *suppressed)
{
	uint64_t now = http_now_usec();

	if (rl->last != 0 && now - rl->last < HTTP_RATELOG_USEC) {
		rl->suppressed++;
		return false;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last = now;
	return true;
}

unsigned http_cfg_connection_limit(const struct http_server_config *cfg)
{
	return cfg->connection_limit ? cfg->connection_limit : HTTP_DEFAULT_CONNECTION_LIMIT;
}

static unsigned cfg_per_ip_limit(const struct http_server_config *cfg)
{
	unsigned total = http_cfg_connection_limit(cfg);

	if (cfg->per_ip_connection_limit)
		return cfg->per_ip_connection_limit;
	return total / 4 > 0 ? total / 4 : 1;
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

void http_conn_deadline_clear(struct http_conn *c)
{
	if (c->deadline_linked)
		TAILQ_REMOVE(c->phase == CONN_DRAIN ? &c->srv->drains : &c->srv->deadlines, c,
			     dl_link);
	c->deadline_linked = false;
	c->deadline = 0;
}

void http_deadline_rearm(struct http_server *srv)
{
	struct http_conn *a = TAILQ_FIRST(&srv->deadlines), *b = TAILQ_FIRST(&srv->drains);
	uint64_t t;

	if (a == NULL && b == NULL) {
		sd_event_source_set_enabled(srv->deadline_timer, SD_EVENT_OFF);
		return;
	}
	t = a == NULL   ? b->deadline
	    : b == NULL ? a->deadline
			: (a->deadline < b->deadline ? a->deadline : b->deadline);
	sd_event_source_set_time(srv->deadline_timer, t);
	sd_event_source_set_enabled(srv->deadline_timer, SD_EVENT_ONESHOT);
}

/* (Re)start c's deadline: usec from now. Lists stay sorted: each has one fixed length. */
void http_conn_deadline_set(struct http_conn *c, uint64_t usec)
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
	unsigned req =
		srv->cfg.request_timeout ? srv->cfg.request_timeout : HTTP_DEFAULT_REQUEST_TIMEOUT;
	unsigned idle = srv->cfg.connection_timeout ? srv->cfg.connection_timeout
						    : HTTP_DEFAULT_IDLE_TIMEOUT;

	return req < idle ? req : idle;
}

uint64_t http_request_timeout_usec(const struct http_server *srv)
{
	return (uint64_t)http_request_timeout_sec(srv) * 1000000ULL;
}

void http_conn_free(struct http_conn *c)
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
void http_conn_close(struct http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	http_conn_free(c);
}

/* End a connection libmicrohttpd owns: shut its socket down; libmicrohttpd sees the end at
 * its next run and closes it (NOTIFY_CONNECTION CLOSED frees c). */
void http_conn_abort(struct http_conn *c)
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
	case 400:
		return "Bad Request";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
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

	snprintf(req.method, sizeof(req.method), "%.*s",
		 (int)(sc->method_len < 15 ? sc->method_len : 15), sc->method ? sc->method : "");
	req.path = xasprintf("%.*s", (int)(sc->target_len < 200 ? sc->target_len : 200),
			     sc->target ? sc->target : "");
	buf_init(&req.screened, 4096);
	http_respond_error(&req, sc->status, sc->message);
	buf_init(&out, 8192);
	(void)buf_printf(&out, "HTTP/1.1 %u %s\r\nConnection: close\r\n%s", sc->status,
			 http_reason(sc->status), buf_cstr(&req.screened));
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
	unsigned total = http_cfg_connection_limit(&srv->cfg), per = cfg_per_ip_limit(&srv->cfg);
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
		http_log_refused(
			srv, &srv->log_total,
			"Refused a connection from %s: %u connections open, the limit is %u", text,
			srv->n_conns, total);
		close(fd);
		return;
	}
	if (p != NULL && p->count >= per) {
		http_addr_text(ss, text, sizeof(text));
		srv->stats.refused_per_address++;
		http_log_refused(srv, &srv->log_peer,
				 "Refused a connection from %s: %u connections open from that "
				 "address, the limit is %u",
				 text, p->count, per);
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
				 "the limit is %u",
				 c->addr_text, srv->n_conns, total);
	}
	if (srv->cfg.tls_cert_pem != NULL) {
		/* TLS: nothing to screen in clear; libmicrohttpd does the handshake. */
		http_conn_deadline_set(c, http_request_timeout_usec(srv));
		http_conn_to_mhd(c);
		return;
	}
	c->phase = CONN_SCREEN;
	r = sd_event_add_io(srv->event, &c->io, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, http_on_screen,
			    c);
	if (r < 0) {
		http_conn_close(c);
		return;
	}
	http_conn_deadline_set(c, http_request_timeout_usec(srv));
}

int http_on_accept(sd_event_source *s, int lfd, uint32_t revents, void *userdata)
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
					HTTP_LOG(LOG_LEVEL_ERROR, srv,
						 "cannot accept connections: %s "
						 "(%u open)",
						 strerror(errno), srv->n_conns);
			}
			break;
		}
		http_accept_one(srv, fd, &ss, sslen);
	}
	return 0;
}

int http_on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
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

struct http_conn *http_conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
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

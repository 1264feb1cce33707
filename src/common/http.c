/* HTTP server: libmicrohttpd in external-epoll mode on the sd-event loop. This file is the
 * server object (start, stop, port, statistics) and its place on the loop (MHD's epoll fd,
 * its timer, a deferred run after a resume); connections are in http_conn.c, requests in
 * http_request.c, responses and streams in http_respond.c. */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http_int.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#define HTTP_FD_RESERVE 64 /* descriptors kept for everything but connections */

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
void http_server_kick(struct http_server *srv)
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
		unsigned fit = rl.rlim_cur > HTTP_FD_RESERVE * 2
				       ? (unsigned)(rl.rlim_cur - HTTP_FD_RESERVE)
				       : (unsigned)(rl.rlim_cur / 2);

		HTTP_LOG(LOG_LEVEL_WARNING, srv,
			 "connection limit %u lowered to %u: the process may open %llu files "
			 "(raise LimitNOFILE / ulimit -n)",
			 limit, fit, (unsigned long long)rl.rlim_cur);
		return fit;
	}
	return limit;
}

int http_server_new(sd_event *e, const struct http_server_config *cfg, struct http_server **ret)
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
	limit = http_fit_fd_limit(srv, http_cfg_connection_limit(cfg));
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
		flags, 0, NULL, NULL, http_on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
		http_mhd_log, srv, /* first, or MHD logs to stderr */
		MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
		http_on_connection, srv, MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_CONNECTION_TIMEOUT,
		cfg->connection_timeout ? cfg->connection_timeout : HTTP_DEFAULT_IDLE_TIMEOUT,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_ARRAY, tls_opts,
		MHD_OPTION_END);
	if (srv->mhd == NULL) {
		r = errno > 0 ? -errno : -EINVAL;
		HTTP_LOG(LOG_LEVEL_ERROR, srv, "cannot start the HTTP server on %s:%u%s", cfg->host,
			 cfg->port,
			 cfg->tls_cert_pem ? " (is the TLS certificate/key valid?)" : "");
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
	r = sd_event_add_time(e, &srv->deadline_timer, CLOCK_MONOTONIC, 0, 100000, http_on_deadline,
			      srv);
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

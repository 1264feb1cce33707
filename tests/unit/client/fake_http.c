/* A tiny in-process HTTP/1.1 server for client unit tests (thread per connection, keep-alive). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake_http.h"

#define MAX_CONN 64
#define MAX_REQ 4096

struct conn {
	struct fake_http *f;
	pthread_t thread;
	int fd;
	int used;
};

struct fake_http {
	int lfd;
	pthread_t thread;
	pthread_mutex_t mu;
	fake_handler handler;
	void *ud;
	char url[64];
	struct fake_req reqs[MAX_REQ];
	size_t nreq;
	struct conn conns[MAX_CONN];
	volatile int stopping;
	unsigned short port;
	volatile int want_listen; /* the accept thread opens/closes the listener to match */
	volatile int listening;
};

/* Read until the header terminator; returns header length incl. CRLFCRLF, 0 on EOF. */
static size_t read_headers(int fd, char *buf, size_t cap, size_t *have)
{
	char *end;
	ssize_t n;

	for (;;) {
		buf[*have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL)
			return (size_t)(end - buf) + 4;
		if (*have + 1 >= cap)
			return 0;
		n = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (n <= 0)
			return 0;
		*have += (size_t)n;
	}
}

const char *fake_header(const struct fake_req *req, const char *name, char *buf, size_t len)
{
	const char *p = req->headers, *eol, *colon;
	size_t nl = strlen(name), vl;

	while (p != NULL && *p != '\0') {
		eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon != NULL && (size_t)(colon - p) == nl && strncasecmp(p, name, nl) == 0) {
			colon++;
			while (*colon == ' ')
				colon++;
			vl = (size_t)(eol - colon);
			if (vl >= len)
				vl = len - 1;
			memcpy(buf, colon, vl);
			buf[vl] = '\0';
			return buf;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Send all of buf. */
static int send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send n spaces. */
static int send_pad(int fd, size_t n)
{
	char chunk[65536];
	size_t k;

	memset(chunk, ' ', sizeof(chunk));
	while (n > 0) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		if (send_all(fd, chunk, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static void *conn_main(void *arg)
{
	struct conn *cn = arg;
	struct fake_http *f = cn->f;
	size_t cap = 1 << 20, have = 0, hlen, clen, idx;
	char *buf = malloc(cap), *cl, tmp[64], head[512];
	struct fake_req *req;
	struct fake_resp resp;
	ssize_t n;

	while (buf != NULL && !f->stopping) {
		hlen = read_headers(cn->fd, buf, cap, &have);
		if (hlen == 0)
			break;
		pthread_mutex_lock(&f->mu);
		idx = f->nreq < MAX_REQ ? f->nreq++ : MAX_REQ - 1;
		req = &f->reqs[idx];
		free(req->headers);
		free(req->body);
		memset(req, 0, sizeof(*req));
		sscanf(buf, "%15s %511s", req->method, req->path);
		cl = memchr(buf, '\n', hlen);
		req->headers = strndup(cl != NULL ? cl + 1 : buf,
				       hlen - (size_t)(cl != NULL ? cl + 1 - buf : 0));
		pthread_mutex_unlock(&f->mu);
		clen = 0;
		if (fake_header(req, "Content-Length", tmp, sizeof(tmp)) != NULL)
			clen = strtoul(tmp, NULL, 10);
		while (have < hlen + clen && have < cap - 1) {
			n = recv(cn->fd, buf + have, cap - 1 - have, 0);
			if (n <= 0)
				goto done;
			have += (size_t)n;
		}
		pthread_mutex_lock(&f->mu);
		req->body = malloc(clen + 1);
		if (req->body != NULL) {
			memcpy(req->body, buf + hlen, clen);
			req->body[clen] = '\0';
			req->body_len = clen;
		}
		memset(&resp, 0, sizeof(resp));
		resp.status = 404;
		snprintf(resp.body, sizeof(resp.body), "{\"detail\":\"Not Found\"}");
		f->handler(req, idx, &resp, f->ud);
		pthread_mutex_unlock(&f->mu);
		if (resp.close) { /* a reset: the client gets no answer */
			shutdown(cn->fd, SHUT_RDWR);
			break;
		}
		memmove(buf, buf + hlen + clen, have - hlen - clen);
		have -= hlen + clen;
		/* a slow server; stopping the fake cuts the wait short */
		while (resp.delay > 0 && !f->stopping) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			resp.delay -= 0.01;
		}
		snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			 resp.status, resp.content_type ? resp.content_type : "application/json",
			 resp.status == 204 ? (size_t)0 : strlen(resp.body) + resp.pad);
		if (send_all(cn->fd, head, strlen(head)) < 0)
			break;
		if (resp.status != 204 && send_all(cn->fd, resp.body, strlen(resp.body)) < 0)
			break;
		if (resp.status != 204 && send_pad(cn->fd, resp.pad) < 0)
			break;
	}
done:
	free(buf);
	return NULL;
}

/* A listening socket on 127.0.0.1:port (0: any); -1 on failure. */
static int listen_on(unsigned short port, unsigned short *ret_port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		close(fd);
		return -1;
	}
	if (ret_port != NULL)
		*ret_port = ntohs(sa.sin_port);
	return fd;
}

static void *accept_main(void *arg)
{
	struct fake_http *f = arg;
	struct pollfd pfd;
	int fd, i;

	while (!f->stopping) {
		if (!f->want_listen && f->lfd >= 0) { /* pause: refuse, drop every connection */
			close(f->lfd);
			f->lfd = -1;
			pthread_mutex_lock(&f->mu);
			for (i = 0; i < MAX_CONN; i++)
				if (f->conns[i].used)
					shutdown(f->conns[i].fd, SHUT_RDWR);
			pthread_mutex_unlock(&f->mu);
			f->listening = 0;
		}
		if (f->want_listen && f->lfd < 0) {
			f->lfd = listen_on(f->port, NULL);
			f->listening = f->lfd >= 0;
		}
		if (f->lfd < 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			continue;
		}
		pfd.fd = f->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&f->mu);
		for (i = 0; i < MAX_CONN && f->conns[i].used; i++)
			;
		if (i == MAX_CONN) {
			pthread_mutex_unlock(&f->mu);
			close(fd);
			continue;
		}
		f->conns[i].used = 1;
		f->conns[i].fd = fd;
		f->conns[i].f = f;
		pthread_create(&f->conns[i].thread, NULL, conn_main, &f->conns[i]);
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

struct fake_http *fake_http_start(fake_handler h, void *ud)
{
	struct fake_http *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->handler = h;
	f->ud = ud;
	pthread_mutex_init(&f->mu, NULL);
	f->lfd = listen_on(0, &f->port);
	if (f->lfd < 0) {
		free(f);
		return NULL;
	}
	f->want_listen = 1;
	f->listening = 1;
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", f->port);
	pthread_create(&f->thread, NULL, accept_main, f);
	return f;
}

void fake_http_stop(struct fake_http *f)
{
	size_t i;

	if (f == NULL)
		return;
	f->stopping = 1;
	pthread_join(f->thread, NULL);
	for (i = 0; i < MAX_CONN; i++) {
		if (!f->conns[i].used)
			continue;
		shutdown(f->conns[i].fd, SHUT_RDWR);
		pthread_join(f->conns[i].thread, NULL);
		close(f->conns[i].fd);
	}
	if (f->lfd >= 0)
		close(f->lfd);
	for (i = 0; i < MAX_REQ; i++) {
		free(f->reqs[i].headers);
		free(f->reqs[i].body);
	}
	pthread_mutex_destroy(&f->mu);
	free(f);
}

const char *fake_http_url(struct fake_http *f)
{
	return f->url;
}

size_t fake_http_count(struct fake_http *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->nreq;
	pthread_mutex_unlock(&f->mu);
	return n;
}

const struct fake_req *fake_http_req(struct fake_http *f, size_t i)
{
	return &f->reqs[i];
}

size_t fake_http_count_matching(struct fake_http *f, const char *method, const char *path)
{
	size_t i, n = 0;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->nreq; i++)
		if (strcmp(f->reqs[i].method, method) == 0 &&
		    strncmp(f->reqs[i].path, path, strlen(path)) == 0)
			n++;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void fake_http_pause(struct fake_http *f)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	f->want_listen = 0;
	while (f->listening)
		nanosleep(&ts, NULL);
}

void fake_http_resume(struct fake_http *f)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	f->want_listen = 1;
	while (!f->listening)
		nanosleep(&ts, NULL);
}

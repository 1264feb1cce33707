/* A tiny in-process HTTP/1.1 server for client unit tests: records requests, answers via a handler. */
#ifndef FAKE_HTTP_H
#define FAKE_HTTP_H

#include <stddef.h>

struct fake_req {
	char method[16];
	char path[512];
	char *headers; /* raw header block, lines "Name: value\r\n" */
	char *body;
	size_t body_len;
};

struct fake_resp {
	int status;
	const char *content_type; /* default application/json */
	char body[4096];
	double delay; /* seconds to wait before answering */
	int close;    /* close the connection instead of answering (a reset) */
	size_t pad;   /* this many spaces after body (a large answer; JSON still) */
};

/* Called with the server lock held; n is the 0-based index of this request. */
typedef void (*fake_handler)(const struct fake_req *req, size_t n, struct fake_resp *resp,
			     void *ud);

struct fake_http;

struct fake_http *fake_http_start(fake_handler h, void *ud);
void fake_http_stop(struct fake_http *f);
const char *fake_http_url(struct fake_http *f);
size_t fake_http_count(struct fake_http *f);
/* copies of the recorded request i (valid until stop) */
const struct fake_req *fake_http_req(struct fake_http *f, size_t i);
/* count requests whose "METHOD path" starts with prefix */
size_t fake_http_count_matching(struct fake_http *f, const char *method, const char *path);
/* stop listening and close every connection (a server that went down: connections are
 * refused); resume listens on the same port again (the server is back) */
void fake_http_pause(struct fake_http *f);
void fake_http_resume(struct fake_http *f);
/* the value of header name in req, or NULL (case-insensitive name); static buffer */
const char *fake_header(const struct fake_req *req, const char *name, char *buf, size_t len);

#endif

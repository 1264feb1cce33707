/* Unit tests: the HTTP layer on a real loopback socket (routes, errors, limits, async replies). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/http.h"
#include "common/loop.h"

struct fixture {
	sd_event *e;
	struct http_server *srv;
	struct http_stream *stream;
	int stream_reason;
	size_t stream_max;
	sd_event_source *later;
	struct http_request *pending;
	int parts;
	size_t form_bytes;
};

static struct fixture fx;

static void on_error(struct http_request *req, unsigned status, const char *msg)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"error\":\"%s\"}", msg);
	http_respond(req, status, "application/json", body, strlen(body));
}

static void h_hello(struct http_request *req)
{
	http_respond(req, 200, "text/plain", "hello", 5);
}

static void h_echo(struct http_request *req)
{
	size_t len;
	const char *body = http_request_body(req, &len);

	http_respond(req, 200, "application/octet-stream", body, len);
}

static void h_param(struct http_request *req)
{
	const char *id = http_request_param(req, "id");
	bool present = false;
	const char *q = http_request_query(req, "q", &present);
	char out[256];

	snprintf(out, sizeof(out), "%s|%s|%d", id, q ? q : "(null)", present);
	http_respond(req, 200, "text/plain", out, strlen(out));
}

static int on_later(sd_event_source *s, uint64_t usec, void *userdata)
{
	http_respond(fx.pending, 200, "text/plain", "late", 4);
	fx.pending = NULL;
	return 0;
}

static void h_async(struct http_request *req)
{
	fx.pending = req; /* answered from a timer: the connection is suspended meanwhile */
	assert_int_equal(loop_timer_arm(fx.e, &fx.later, 100 * USEC_PER_MSEC, on_later, NULL), 0);
}

static int f_part(struct http_request *req, const struct http_form_part *p)
{
	if (p->offset == 0)
		fx.parts++;
	fx.form_bytes += p->len;
	return 0;
}

static void h_form(struct http_request *req)
{
	char out[64];

	snprintf(out, sizeof(out), "%d parts %zu bytes", fx.parts, fx.form_bytes);
	http_respond(req, 200, "text/plain", out, strlen(out));
}

static void on_stream_closed(struct http_stream *st, int reason, void *userdata)
{
	assert_ptr_equal(st, fx.stream);
	fx.stream = NULL;
	fx.stream_reason = reason;
}

static void h_stream(struct http_request *req)
{
	fx.stream_reason = 0;
	fx.stream =
		http_stream_open(req, "text/event-stream", fx.stream_max, on_stream_closed, NULL);
	assert_non_null(fx.stream);
	assert_int_equal(http_stream_write(fx.stream, ": hello\n\n", 9), 0);
}

static const struct http_route routes[] = {
	{ .method = "GET", .path = "/hello", .handler = h_hello },
	{ .method = "POST",
	  .path = "/echo",
	  .handler = h_echo,
	  .body = HTTP_BODY_BUFFER,
	  .body_max = 16 },
	{ .method = "GET", .path = "/item/{id}", .handler = h_param },
	{ .method = "GET", .path = "/async", .handler = h_async },
	{ .method = "POST",
	  .path = "/form",
	  .handler = h_form,
	  .body = HTTP_BODY_FORM,
	  .body_max = 4096,
	  .form_part = f_part },
	{ .method = "GET", .path = "/stream", .handler = h_stream },
};

/* The client runs in a thread; the loop runs in the test thread until it is done. */
struct exchange {
	unsigned port;
	const char *request;
	char response[8192];
	bool done;
};

static void *client_thread(void *arg)
{
	struct exchange *x = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)x->port) };
	size_t off = 0;
	ssize_t n;
	int fd;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		(void)!write(fd, x->request, strlen(x->request));
		while ((n = read(fd, x->response + off, sizeof(x->response) - 1 - off)) > 0)
			off += (size_t)n;
	}
	x->response[off] = '\0';
	close(fd);
	__atomic_store_n(&x->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void exchange(const char *request, char *out, size_t outlen)
{
	struct exchange x = { .port = http_server_port(fx.srv), .request = request };
	pthread_t t;
	int i;

	pthread_create(&t, NULL, client_thread, &x);
	for (i = 0; i < 500 && !__atomic_load_n(&x.done, __ATOMIC_SEQ_CST); i++)
		sd_event_run(fx.e, 10 * USEC_PER_MSEC);
	assert_true(x.done);
	pthread_join(t, NULL);
	snprintf(out, outlen, "%s", x.response);
}

static const struct http_server_config base_cfg = {
	.host = "127.0.0.1",
	.port = 0,
	.routes = routes,
	.n_routes = sizeof(routes) / sizeof(routes[0]),
	.head_as_get = true,
	.default_body_max = 1024,
	.error = on_error,
};

static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	if (sd_event_new(&fx.e) < 0)
		return -1;
	return http_server_new(fx.e, &base_cfg, &fx.srv);
}

/* Replace the server with one of another configuration. */
static void restart(const struct http_server_config *cfg)
{
	http_server_free(fx.srv, 503);
	fx.srv = NULL;
	assert_int_equal(http_server_new(fx.e, cfg, &fx.srv), 0);
}

static int teardown(void **state)
{
	http_server_free(fx.srv, 503);
	sd_event_source_disable_unref(fx.later);
	sd_event_unref(fx.e);
	return 0;
}

#define CLOSE "Connection: close\r\n"

static void test_route_and_errors(void **state)
{
	char r[8192];

	exchange("GET /hello HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n", r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "\r\n\r\nhello"));
	exchange("GET /nope HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n", r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	assert_non_null(strstr(r, "{\"error\":\"Not Found\"}"));
	exchange("DELETE /hello HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n", r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 405"));
	assert_non_null(strstr(r, "Allow: GET, HEAD"));
	exchange("HEAD /hello HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n", r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_null(strstr(r, "hello"));
}

static void test_params_and_query(void **state)
{
	char r[8192];

	exchange("GET /item/abc?q=x%20y HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n", r, sizeof(r));
	assert_non_null(strstr(r, "abc|x y|1"));
	exchange("GET /item/abc HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n", r, sizeof(r));
	assert_non_null(strstr(r, "abc|(null)|0"));
}

static void test_body_limits(void **state)
{
	char r[8192];

	exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n" CLOSE "\r\nabcde", r,
		 sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "\r\n\r\nabcde"));
	/* Declared too large: 413 before the body is read. */
	exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n" CLOSE
		 "\r\n0123456789abcdefg",
		 r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 413"));
	/* Chunked and too large: the connection is closed without an answer. */
	exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" CLOSE
		 "\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n",
		 r, sizeof(r));
	assert_null(strstr(r, "HTTP/1.1 200"));
}

static void test_async_response(void **state)
{
	char r[8192];

	exchange("GET /async HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n", r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "\r\n\r\nlate"));
	assert_int_equal(http_server_suspended(fx.srv), 0);
}

static void test_form(void **state)
{
	static const char body[] =
		"--XX\r\nContent-Disposition: form-data; name=\"a\"; filename=\"f.yml\"\r\n\r\nhello\r\n"
		"--XX\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ntrue\r\n--XX--\r\n";
	char req[1024], r[8192];

	fx.parts = 0;
	fx.form_bytes = 0;
	snprintf(
		req, sizeof(req),
		"POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
		"Content-Length: %zu\r\n" CLOSE "\r\n%s",
		strlen(body), body);
	exchange(req, r, sizeof(r));
	assert_non_null(strstr(r, "2 parts 9 bytes"));
}

/* --- connections driven from the test thread (non-blocking clients, the loop pumped) --- */

static void pump(int ms)
{
	int i;

	for (i = 0; i < ms / 5; i++)
		sd_event_run(fx.e, 5 * USEC_PER_MSEC);
}

/* A client socket from source address src to the server (connected by the kernel; the
 * server accepts it when the loop runs). */
static int client_from(const char *src)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)http_server_port(fx.srv)) };
	struct sockaddr_in me = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, src, &me.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Append what fd delivers to out (a string) until the server closes it (true) or max_ms pass (false). */
static bool read_until_closed(int fd, char *out, size_t outlen, int max_ms)
{
	size_t off = strlen(out);
	int waited;

	for (waited = 0; waited < max_ms; waited += 5) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		sd_event_run(fx.e, 5 * USEC_PER_MSEC);
		if (poll(&p, 1, 0) <= 0)
			continue;
		n = recv(fd, out + off, outlen - 1 - off, MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			out[off] = '\0';
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			out[off] = '\0';
			return true;
		}
	}
	out[off] = '\0';
	return false;
}

/* Read until `want` appears in what was received (true) or max_ms pass. */
static bool read_until(int fd, char *out, size_t outlen, const char *want, int max_ms)
{
	size_t off = strlen(out);
	int waited;

	for (waited = 0; waited < max_ms && strstr(out, want) == NULL; waited += 5) {
		ssize_t n;

		sd_event_run(fx.e, 5 * USEC_PER_MSEC);
		n = recv(fd, out + off, outlen - 1 - off, MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			out[off] = '\0';
		}
	}
	return strstr(out, want) != NULL;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

/* libmicrohttpd 0.9.75 sends two header blocks (and an HTML body) for a bad Content-Length;
 * the layer answers the first request of a connection itself: one block, JSON. */
static void test_malformed_length_is_one_json_answer(void **state)
{
	static const char *const lengths[] = { "abc", "-1", "1 2", "99999999999999999999999" };
	char req[256], r[8192];
	size_t i;

	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		snprintf(req, sizeof(req),
			 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n",
			 lengths[i]);
		exchange(req, r, sizeof(r));
		assert_int_equal(count(r, "HTTP/1.1 "), 1);
		assert_non_null(strstr(r, i == 3 ? "HTTP/1.1 413" : "HTTP/1.1 400"));
		assert_non_null(strstr(r, "Content-Type: application/json"));
		assert_non_null(
			strstr(r, i == 3 ? "\r\n\r\n{\"error\":\"Content-Length too large\"}"
					 : "\r\n\r\n{\"error\":\"Invalid Content-Length\"}"));
		assert_null(strstr(r, "<html>"));
	}
}

/* 414 and 431 (libmicrohttpd's are HTML) come from the screen in the daemon's JSON. */
static void test_long_lines_are_json(void **state)
{
	static char req[40000], r[8192];

	memset(req, 'a', sizeof(req));
	memcpy(req, "GET /", 5);
	strcpy(req + 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
	exchange(req, r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 414"));
	assert_non_null(strstr(r, "{\"error\":\"Request line too long\"}"));
	strcpy(req, "GET /hello HTTP/1.1\r\nHost: x\r\n");
	while (strlen(req) < 30000)
		strcat(req, "X-Pad: 0123456789012345678901234567890123456789\r\n");
	strcat(req, "\r\n");
	exchange(req, r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 431"));
	assert_non_null(strstr(r, "{\"error\":\"Request header too large\"}"));
}

static void test_form_nul_is_400(void **state)
{
	static const char body[] =
		"--XX\r\nContent-Disposition: form-data; name=\"a\"; filename=\"f\0.yml\"\r\n\r\nhello\r\n"
		"--XX--\r\n";
	char req[1024], r[8192] = "";
	int n;

	fx.parts = 0;
	n = snprintf(
		req, sizeof(req),
		"POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
		"Content-Length: %zu\r\n" CLOSE "\r\n",
		sizeof(body) - 1);
	memcpy(req + n, body, sizeof(body)); /* with its NUL: send by hand */
	{
		int fd = client_from("127.0.0.1");

		assert_int_equal(send(fd, req, (size_t)n + sizeof(body) - 1, 0),
				 (ssize_t)(n + sizeof(body) - 1));
		assert_true(read_until_closed(fd, r, sizeof(r), 10000));
		close(fd);
	}
	assert_non_null(strstr(r, "HTTP/1.1 400"));
	assert_non_null(strstr(r, "NUL byte in a part header"));
	assert_int_equal(fx.parts, 0);
}

/* Over the per-address limit a connection is closed at once; other addresses are served. */
static void test_per_address_limit(void **state)
{
	struct http_server_config cfg = base_cfg;
	struct http_server_stats st;
	int hostile[3], fd, i;
	char r[8192] = "";

	cfg.connection_limit = 8;
	cfg.per_ip_connection_limit = 2;
	restart(&cfg);
	for (i = 0; i < 3; i++)
		hostile[i] = client_from("127.0.0.2");
	pump(200);
	/* the third is refused: closed without a byte */
	assert_true(read_until_closed(hostile[2], r, sizeof(r), 5000));
	assert_string_equal(r, "");
	http_server_get_stats(fx.srv, &st);
	assert_int_equal(st.refused_per_address, 1);
	assert_int_equal(st.open, 2);
	fd = client_from("127.0.0.1");
	send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n");
	assert_true(read_until_closed(fd, r, sizeof(r), 10000));
	assert_non_null(strstr(r, "\r\n\r\nhello"));
	close(fd);
	for (i = 0; i < 3; i++)
		close(hostile[i]);
	pump(100);
	http_server_get_stats(fx.srv, &st);
	assert_int_equal(st.open, 0);
	restart(&base_cfg);
}

/* Slowloris: a request trickling in is cut at the request deadline, before or after the
 * connection reached libmicrohttpd; a complete request on the same terms is served. */
static void test_request_deadline(void **state)
{
	struct http_server_config cfg = base_cfg;
	struct http_server_stats st;
	char r[8192] = "";
	int fd_head, fd_body, fd_ok;

	cfg.request_timeout = 1;
	restart(&cfg);
	fd_head = client_from("127.0.0.2");
	fd_body = client_from("127.0.0.2");
	fd_ok = client_from("127.0.0.1");
	send_str(fd_head, "GET /hello HT");
	send_str(fd_body, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
	send_str(fd_ok, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_until(fd_ok, r, sizeof(r), "hello", 10000));
	/* the two slow ones are closed (generous bound: a loaded machine) */
	r[0] = '\0';
	assert_true(read_until_closed(fd_head, r, sizeof(r), 20000));
	assert_string_equal(r, "");
	assert_true(read_until_closed(fd_body, r, sizeof(r), 20000));
	assert_string_equal(r, "");
	/* the kept-alive one is closed too once idle that long */
	r[0] = '\0';
	assert_true(read_until_closed(fd_ok, r, sizeof(r), 20000));
	http_server_get_stats(fx.srv, &st);
	assert_int_equal(st.deadline_closed, 3);
	close(fd_head);
	close(fd_body);
	close(fd_ok);
	restart(&base_cfg);
}

static void test_stream(void **state)
{
	char r[8192] = "";
	int fd = client_from("127.0.0.1");

	fx.stream_max = 0;
	send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n" CLOSE "\r\n");
	assert_true(read_until(fd, r, sizeof(r), ": hello\n\n", 10000));
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "Content-Type: text/event-stream"));
	assert_non_null(strstr(r, "Transfer-Encoding: chunked"));
	assert_non_null(fx.stream);
	/* the connection waits (suspended) without data; data from a loop callback goes out */
	pump(100);
	assert_int_equal(http_server_suspended(fx.srv), 1);
	assert_int_equal(http_stream_write(fx.stream, "data: 1\n\n", 9), 0);
	assert_true(read_until(fd, r, sizeof(r), "data: 1\n\n", 10000));
	assert_int_equal(http_stream_queued(fx.stream), 0);
	http_stream_close(fx.stream);
	fx.stream = NULL;
	assert_true(read_until_closed(fd, r, sizeof(r), 10000));
	assert_non_null(strstr(r, "\r\n0\r\n\r\n")); /* the last chunk: well framed */
	assert_int_equal(fx.stream_reason, 0);       /* on_close is not called after close */
	assert_int_equal(http_server_suspended(fx.srv), 0);
	close(fd);
}

/* A client that does not read is disconnected once its buffer is full; memory stays bounded. */
static void test_stream_slow_reader(void **state)
{
	char r[512] = "", block[4096];
	int fd, rcv = 4096, i, rc = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)http_server_port(fx.srv)) };

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fx.stream_max = 32768;
	send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_until(fd, r, sizeof(r), ": hello", 10000));
	memset(block, 'x', sizeof(block));
	for (i = 0; i < 10000 && fx.stream != NULL; i++) {
		rc = http_stream_write(fx.stream, block, sizeof(block));
		if (rc < 0)
			break;
		assert_true(http_stream_queued(fx.stream) <= 32768);
		sd_event_run(fx.e, 1 * USEC_PER_MSEC);
	}
	assert_int_equal(rc, -ENOBUFS);
	for (i = 0; i < 2000 && fx.stream != NULL; i++)
		sd_event_run(fx.e, 5 * USEC_PER_MSEC);
	assert_null(fx.stream);
	assert_int_equal(fx.stream_reason, HTTP_STREAM_TOO_SLOW);
	close(fd);
	pump(50);
}

/* A client that goes away is noticed at a following write. */
static void test_stream_client_gone(void **state)
{
	char r[512] = "";
	int fd = client_from("127.0.0.1"), i;

	fx.stream_max = 0;
	send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_until(fd, r, sizeof(r), ": hello", 10000));
	close(fd);
	for (i = 0; i < 2000 && fx.stream != NULL; i++) {
		(void)http_stream_write(fx.stream, ": ping\n\n", 8);
		sd_event_run(fx.e, 5 * USEC_PER_MSEC);
	}
	assert_null(fx.stream);
	assert_int_equal(fx.stream_reason, HTTP_STREAM_CLIENT_GONE);
}

/* Stopping the server ends open streams (on_close) and frees everything. */
static void test_stream_at_shutdown(void **state)
{
	char r[512] = "";
	int fd = client_from("127.0.0.1");

	fx.stream_max = 0;
	send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(read_until(fd, r, sizeof(r), ": hello", 10000));
	restart(&base_cfg);
	assert_null(fx.stream);
	assert_int_equal(fx.stream_reason, HTTP_STREAM_SERVER_STOPPED);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_and_errors),
		cmocka_unit_test(test_params_and_query),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_async_response),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_malformed_length_is_one_json_answer),
		cmocka_unit_test(test_long_lines_are_json),
		cmocka_unit_test(test_form_nul_is_400),
		cmocka_unit_test(test_per_address_limit),
		cmocka_unit_test(test_request_deadline),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_slow_reader),
		cmocka_unit_test(test_stream_client_gone),
		cmocka_unit_test(test_stream_at_shutdown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}

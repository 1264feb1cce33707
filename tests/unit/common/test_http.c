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

static const struct http_route routes[] = {
	{ .method = "GET", .path = "/hello", .handler = h_hello },
	{ .method = "POST", .path = "/echo", .handler = h_echo, .body = HTTP_BODY_BUFFER, .body_max = 16 },
	{ .method = "GET", .path = "/item/{id}", .handler = h_param },
	{ .method = "GET", .path = "/async", .handler = h_async },
	{ .method = "POST", .path = "/form", .handler = h_form, .body = HTTP_BODY_FORM,
	  .body_max = 4096, .form_part = f_part },
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

static int setup(void **state)
{
	struct http_server_config cfg = {
		.host = "127.0.0.1", .port = 0, .routes = routes,
		.n_routes = sizeof(routes) / sizeof(routes[0]), .head_as_get = true,
		.default_body_max = 1024, .error = on_error,
	};

	memset(&fx, 0, sizeof(fx));
	if (sd_event_new(&fx.e) < 0)
		return -1;
	return http_server_new(fx.e, &cfg, &fx.srv);
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
	exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n" CLOSE "\r\n0123456789abcdefg",
		 r, sizeof(r));
	assert_non_null(strstr(r, "HTTP/1.1 413"));
	/* Chunked and too large: the connection is closed without an answer. */
	exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" CLOSE
		 "\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n", r, sizeof(r));
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
	snprintf(req, sizeof(req),
		 "POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
		 "Content-Length: %zu\r\n" CLOSE "\r\n%s", strlen(body), body);
	exchange(req, r, sizeof(r));
	assert_non_null(strstr(r, "2 parts 9 bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_and_errors),
		cmocka_unit_test(test_params_and_query),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_async_response),
		cmocka_unit_test(test_form),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}

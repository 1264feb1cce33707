/* The scripted fake server (struct script picks its answers), the client under test and small
 * helpers that the client's HTTP unit tests share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "client_fixture.h"

static const char devices_body[] =
	"[{\"name\":\"r1\",\"raw\":{\"mgmt\":{\"ipv4\":\"192.0.2.1\"},\"ansible_user\":\"tester\","
	"\"ansible_network_os\":\"frr\"}},{\"name\":\"r2\",\"raw\":{\"mgmt\":{\"ipv4\":\"192.0.2.2\"}}}]";

struct script sc;
struct fake_http *srv;
struct rl_client *cl;

/* CLOCK_MONOTONIC seconds, the library's clock */
double fx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t count_hb_locked(void)
{
	size_t i, n = 0;

	for (i = 0; i < 4096; i++) {
		const struct fake_req *r = fake_http_req(srv, i);

		if (r->method[0] == '\0')
			break;
		if (strcmp(r->path, "/session/heartbeat") == 0)
			n++;
	}
	return n;
}

/* One handler for all tests; sc.mode picks the behaviour. The modes by test file:
 * test_client_call.c: 2 (create refused), 3 and 4 (5xx), 5 (404), 6 (POST 500), 12 (in
 * test_threads), 15 (a slow answer), 21 (422), 22 (a padded answer);
 * test_client_lab.c: 7, 8, 9, 23 and 24 (POST /lab);
 * test_client_session.c: 10 to 13 (waiting), 16 to 18 (heartbeats), 19 and 20 (DELETE). */
static void handler(const struct fake_req *req, size_t n, struct fake_resp *resp, void *ud)
{
	bool is = false;
#define ROUTE(m, p) (strcmp(req->method, m) == 0 && strcmp(req->path, p) == 0)
#define REPLY(st, ...)                                                 \
	do {                                                           \
		resp->status = (st);                                   \
		snprintf(resp->body, sizeof(resp->body), __VA_ARGS__); \
	} while (0)

	(void)is;
	if (ROUTE("POST", "/session")) {
		if (sc.mode == 2)
			REPLY(503, "{\"detail\":\"try later\"}");
		else
			REPLY(201, "{\"session_id\":\"sid-1\",\"position\":0}");
	} else if (ROUTE("POST", "/session/heartbeat")) {
		if (sc.mode == 17)
			REPLY(404, "{\"detail\":\"Session not found\"}");
		else if (sc.mode == 18) {
			REPLY(204, "%s", "");
			resp->delay = 3;
		} else if (sc.mode == 21)
			REPLY(422,
			      "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"header\",\"X-Session-ID\"],"
			      "\"msg\":\"Field required\",\"input\":null}]}");
		else
			REPLY(204, "%s", "");
	} else if (ROUTE("GET", "/lab/devices")) {
		if (sc.mode == 3 && n < 2) {
			REPLY(500, "Internal Server Error");
			resp->content_type = "text/plain";
		} else if (sc.mode == 4) {
			REPLY(500, "Internal Server Error");
			resp->content_type = "text/plain";
		} else if (sc.mode == 5) {
			REPLY(404, "{\"detail\":\"No lab running\"}");
		} else if (sc.mode == 22) {
			REPLY(200, "[]");
			resp->pad = sc.pad;
		} else if (sc.mode == 15) {
			REPLY(200, "%s", devices_body);
			resp->delay = 3;
		} else {
			REPLY(200, "%s", devices_body);
		}
	} else if (ROUTE("POST", "/lab/release")) {
		if (sc.mode == 6) {
			REPLY(500, "Internal Server Error");
			resp->content_type = "text/plain";
		} else
			REPLY(204, "%s", "");
	} else if (ROUTE("POST", "/lab")) {
		if (sc.mode == 7 && n < 2)
			REPLY(423, "{\"detail\":\"Lab currently busy\"}");
		else if (sc.mode == 8)
			REPLY(423, "{\"detail\":\"Lab currently busy\"}");
		else if ((sc.mode == 23 && n >= 1) || sc.mode == 24) {
			/* answered only after the acquire deadline */
			REPLY(200, "{\"reused\":false,\"devices\":%s}", devices_body);
			resp->delay = sc.answer_at - fx_now();
		} else if (sc.mode == 23)
			REPLY(423, "{\"detail\":\"Lab currently busy\"}");
		else if (sc.mode == 9) {
			REPLY(500, "Internal Server Error");
			resp->content_type = "text/plain";
		} else {
			if (sc.mode == 16) {
				sc.hb_at_lab = count_hb_locked();
				resp->delay = 1.0;
			}
			REPLY(200, "{\"reused\":false,\"devices\":%s}", devices_body);
		}
	} else if (strncmp(req->path, "/session/", 9) == 0 && strcmp(req->method, "GET") == 0) {
		sc.polls++;
		if (sc.mode == 10)
			REPLY(200, "{\"status\":\"%s\",\"position\":%d}",
			      sc.polls >= 3 ? "active" : "waiting",
			      sc.polls >= 3 ? 0 : 3 - sc.polls);
		else if (sc.mode == 11)
			REPLY(404, "{\"detail\":\"Session not found\"}");
		else if (sc.mode == 12 && sc.polls == 1)
			REPLY(503, "oops");
		else if (sc.mode == 12)
			REPLY(200, "{\"status\":\"active\",\"position\":0}");
		else
			REPLY(200, "{\"status\":\"waiting\",\"position\":1}");
	} else if (strncmp(req->path, "/session/", 9) == 0 && strcmp(req->method, "DELETE") == 0) {
		if (sc.mode == 19)
			REPLY(404, "{\"detail\":\"Session not found\"}");
		else if (sc.mode == 20) {
			REPLY(500, "Internal Server Error");
			resp->content_type = "text/plain";
		} else
			REPLY(204, "%s", "");
	} else if (strncmp(req->path, "/lab?force=", 11) == 0 &&
		   strcmp(req->method, "DELETE") == 0) {
		if (strcmp(req->path, "/lab?force=false") == 0)
			REPLY(409, "{\"detail\":\"Lab still in use\"}");
		else
			REPLY(202, "%s", "");
	} else if (ROUTE("GET", "/lab")) {
		REPLY(200,
		      "{\"running\":true,\"topology\":\"/tmp/x/t.yml\",\"ref_count\":1,\"devices\":%s,"
		      "\"netlab_status\":null}",
		      devices_body);
	} else if (ROUTE("GET", "/healthz")) {
		REPLY(204, "%s", "");
	}
#undef ROUTE
#undef REPLY
}

int fx_setup(void **state)
{
	memset(&sc, 0, sizeof(sc));
	srv = fake_http_start(handler, NULL);
	assert_non_null(srv);
	unsetenv("REMOTE_LAB_TOKEN");
	assert_int_equal(rl_client_new(&cl, fake_http_url(srv), NULL, 0), 0);
	rl_client_set(cl, RL_PARAM_RETRY_INITIAL, 0.01);
	rl_client_set(cl, RL_PARAM_RETRY_MAX, 0.05);
	rl_client_set(cl, RL_PARAM_REQUEST_TIMEOUT, 20);
	return 0;
}

int fx_teardown(void **state)
{
	rl_client_free(cl);
	cl = NULL;
	fake_http_stop(srv);
	srv = NULL;
	return 0;
}

const char *fx_hdr(size_t i, const char *name)
{
	static char buf[512];

	return fake_header(fake_http_req(srv, i), name, buf, sizeof(buf));
}

void fx_sleep(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

int nretry;
long retry_status;
char retry_detail[1200];

void fx_on_retry(const struct rl_error *why, double delay, void *ud)
{
	nretry++;
	retry_status = why->http_status;
	snprintf(retry_detail, sizeof(retry_detail), "%s %s", why->op, why->detail);
}

/* Write a file, creating nothing else. */
void fx_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char topo_text[] = "name: unit\nnodes: [r1, r2]\n# marker-7f3a\n";
static const char extra_text[] = "hostname r1\n! extra-marker-91b2\n";

struct rl_lab_request *fx_lab_request(bool reuse)
{
	struct rl_lab_request *req = NULL;

	fx_write_file("/tmp/rl-unit-topo.yml", topo_text);
	fx_write_file("/tmp/rl-unit-r1.cfg", extra_text);
	assert_int_equal(rl_lab_request_new(cl, "/tmp/rl-unit-topo.yml", &req), 0);
	assert_int_equal(rl_lab_request_add_file(cl, req, "/tmp/rl-unit-r1.cfg", "configs/r1.cfg"),
			 0);
	rl_lab_request_set_reuse(req, reuse);
	return req;
}

void fx_check_multipart(size_t i, const char *reuse)
{
	const struct fake_req *r = fake_http_req(srv, i);
	char want[128];
	const char *p;

	assert_string_equal(r->method, "POST");
	assert_string_equal(r->path, "/lab");
	assert_string_equal(fx_hdr(i, "X-Session-ID"), "sid-1");
	assert_non_null(strstr(fx_hdr(i, "Content-Type"), "multipart/form-data; boundary="));
	assert_non_null(strstr(r->body, "name=\"topology\"; filename=\"rl-unit-topo.yml\"\r\n"
					"Content-Type: application/x-yaml\r\n\r\n"));
	assert_non_null(strstr(r->body, topo_text)); /* the full content, every time */
	p = strstr(r->body, "name=\"reuse\"\r\n\r\n");
	assert_non_null(p);
	snprintf(want, sizeof(want), "name=\"reuse\"\r\n\r\n%s\r\n", reuse);
	assert_non_null(strstr(r->body, want));
	assert_non_null(strstr(r->body, "name=\"extra_files\"; filename=\"configs/r1.cfg\""));
	assert_non_null(strstr(r->body, extra_text));
}

/* Unit tests for libremotelab over HTTP against an in-process fake server: request bytes,
 * retry policy (423, 4xx, 5xx, POST), waiting, heartbeat thread, cancellation. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "remotelab.h"
#include "fake_http.h"

static const char devices_body[] =
	"[{\"name\":\"r1\",\"raw\":{\"mgmt\":{\"ipv4\":\"192.0.2.1\"},\"ansible_user\":\"tester\","
	"\"ansible_network_os\":\"frr\"}},{\"name\":\"r2\",\"raw\":{\"mgmt\":{\"ipv4\":\"192.0.2.2\"}}}]";

struct script {
	int mode;
	int polls;
	size_t hb_at_lab; /* heartbeats seen when POST /lab arrived */
	size_t pad;       /* mode 22: spaces after the devices list */
	double answer_at; /* modes 23, 24: when (clock_now_s()) POST /lab gets its 200 */
	struct fake_http *f;
};

static struct script sc;

/* CLOCK_MONOTONIC seconds, the library's clock */
static double clock_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static struct fake_http *srv;
static struct rl_client *cl;

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

/* One handler for all tests; sc.mode picks the behaviour. */
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
			resp->delay = sc.answer_at - clock_now_s();
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

static int setup(void **state)
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

static int teardown(void **state)
{
	rl_client_free(cl);
	cl = NULL;
	fake_http_stop(srv);
	srv = NULL;
	return 0;
}

static const char *hdr(size_t i, const char *name)
{
	static char buf[512];

	return fake_header(fake_http_req(srv, i), name, buf, sizeof(buf));
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

static int nretry;
static long retry_status;
static char retry_detail[1200];

static void on_retry(const struct rl_error *why, double delay, void *ud)
{
	nretry++;
	retry_status = why->http_status;
	snprintf(retry_detail, sizeof(retry_detail), "%s %s", why->op, why->detail);
}

static void test_create_and_headers(void **state)
{
	int pos = -1;

	rl_client_free(cl);
	setenv("REMOTE_LAB_TOKEN", "s3cret", 1);
	assert_int_equal(rl_client_new(&cl, fake_http_url(srv), NULL, 0), 0);
	unsetenv("REMOTE_LAB_TOKEN");
	assert_int_equal(rl_session_create(cl, &pos), 0);
	assert_int_equal(pos, 0);
	assert_string_equal(rl_session_id(cl), "sid-1");
	assert_int_equal(rl_session_create(cl, &pos), -EEXIST);
	assert_int_equal(rl_session_heartbeat(cl), 0);
	assert_int_equal(fake_http_count(srv), 2);
	assert_string_equal(fake_http_req(srv, 0)->method, "POST");
	assert_string_equal(fake_http_req(srv, 0)->path, "/session");
	assert_string_equal(hdr(0, "User-Agent"), "libremotelab/" REMOTELAB_VERSION);
	assert_null(hdr(0, "X-Session-ID"));
	assert_string_equal(hdr(0, "Authorization"), "Bearer s3cret");
	assert_null(hdr(0, "Expect"));
	assert_string_equal(fake_http_req(srv, 1)->path, "/session/heartbeat");
	assert_string_equal(hdr(1, "X-Session-ID"), "sid-1");
	assert_string_equal(hdr(1, "Authorization"), "Bearer s3cret");
	/* no token: no Authorization header */
	assert_int_equal(rl_client_set_token(cl, NULL), 0);
	assert_int_equal(rl_server_health(cl), 0);
	assert_null(hdr(2, "Authorization"));
	assert_null(hdr(2, "X-Session-ID"));
	/* a token too long for a header is refused locally, not truncated */
	{
		char big[2000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(rl_client_set_token(cl, big), 0);
		assert_int_equal(rl_server_health(cl), -EINVAL);
		assert_int_equal(fake_http_count(srv), 3);
		assert_non_null(strstr(rl_client_errmsg(cl), "too long"));
	}
}

static void test_create_not_retried(void **state)
{
	sc.mode = 2;
	assert_int_equal(rl_session_create(cl, NULL), -EREMOTEIO);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_errmsg(cl), "POST /session: HTTP 503: try later");
	assert_int_equal(rl_client_error(cl)->http_status, 503);
	assert_null(rl_session_id(cl));
}

static void test_get_retried_on_5xx(void **state)
{
	struct rl_devices *d = NULL;

	sc.mode = 3;
	nretry = 0;
	rl_session_attach(cl, "sid-1");
	rl_client_set_retry_notify(cl, on_retry, NULL);
	assert_int_equal(rl_lab_devices(cl, &d), 0);
	assert_int_equal(fake_http_count(srv), 3);
	assert_int_equal(nretry, 2);
	assert_int_equal(retry_status, 500);
	assert_string_equal(retry_detail, "GET /lab/devices Internal Server Error");
	assert_int_equal(d->n, 2);
	assert_string_equal(d->items[0].name, "r1");
	assert_string_equal(d->items[0].mgmt_ipv4, "192.0.2.1");
	assert_string_equal(d->items[0].ansible_user, "tester");
	assert_string_equal(d->items[0].ansible_network_os, "frr");
	assert_null(d->items[1].ansible_user);
	assert_string_equal(rl_client_errmsg(cl), "");
	rl_devices_free(d);
}

static void test_get_5xx_exhausted(void **state)
{
	struct rl_devices *d = NULL;

	sc.mode = 4;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_lab_devices(cl, &d), -EREMOTEIO);
	assert_null(d);
	assert_int_equal(fake_http_count(srv), 3); /* 1 + RL_PARAM_MAX_RETRIES (2) */
	assert_int_equal(rl_client_error(cl)->http_status, 500);
	assert_string_equal(rl_client_error(cl)->detail, "Internal Server Error");
	assert_string_equal(rl_client_error(cl)->op, "GET /lab/devices");
}

static void test_4xx_not_retried(void **state)
{
	struct rl_devices *d = NULL;

	sc.mode = 5;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_lab_devices(cl, &d), -ENOENT);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_errmsg(cl), "GET /lab/devices: HTTP 404: No lab running");
}

static void test_post_not_retried(void **state)
{
	sc.mode = 6;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_lab_release(cl), -EREMOTEIO);
	assert_int_equal(fake_http_count(srv), 1);
	/* no session: fails locally without a request */
	rl_session_detach(cl);
	assert_int_equal(rl_lab_release(cl), -ENOENT);
	assert_int_equal(fake_http_count(srv), 1);
}

/* Write a file, creating nothing else. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char topo_text[] = "name: unit\nnodes: [r1, r2]\n# marker-7f3a\n";
static const char extra_text[] = "hostname r1\n! extra-marker-91b2\n";

static struct rl_lab_request *make_request(bool reuse)
{
	struct rl_lab_request *req = NULL;

	write_file("/tmp/rl-unit-topo.yml", topo_text);
	write_file("/tmp/rl-unit-r1.cfg", extra_text);
	assert_int_equal(rl_lab_request_new(cl, "/tmp/rl-unit-topo.yml", &req), 0);
	assert_int_equal(rl_lab_request_add_file(cl, req, "/tmp/rl-unit-r1.cfg", "configs/r1.cfg"),
			 0);
	rl_lab_request_set_reuse(req, reuse);
	return req;
}

static void check_multipart(size_t i, const char *reuse)
{
	const struct fake_req *r = fake_http_req(srv, i);
	char want[128];
	const char *p;

	assert_string_equal(r->method, "POST");
	assert_string_equal(r->path, "/lab");
	assert_string_equal(hdr(i, "X-Session-ID"), "sid-1");
	assert_non_null(strstr(hdr(i, "Content-Type"), "multipart/form-data; boundary="));
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

static void test_acquire_423_resends_everything(void **state)
{
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;

	sc.mode = 7;
	nretry = 0;
	rl_session_attach(cl, "sid-1");
	rl_client_set_retry_notify(cl, on_retry, NULL);
	req = make_request(true);
	assert_int_equal(rl_lab_acquire(cl, req, &d), 0);
	assert_int_equal(fake_http_count(srv), 3);
	assert_int_equal(nretry, 2);
	assert_int_equal(retry_status, 423);
	assert_string_equal(retry_detail, "POST /lab Lab currently busy");
	check_multipart(0, "true");
	check_multipart(1, "true");
	check_multipart(2, "true");
	assert_int_equal(d->n, 2);
	assert_false(d->reused);
	assert_string_equal(rl_client_errmsg(cl), "");
	rl_devices_free(d);
	rl_lab_request_free(req);
}

/*
 * A lab busy until the deadline is -EAGAIN with the server's detail, however slow the
 * machine: the retrying stops only when the next back-off (at most RETRY_MAX, 0.05 s) would
 * end past the deadline, every retry announced was sent in full, and no attempt is cut to
 * the time left (that made this test fail under load: -ETIMEDOUT from a retry sent with a
 * few milliseconds to live, or "deadline passed" after a back-off that woke up late).
 */
static void test_acquire_423_deadline(void **state)
{
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;
	double t0;

	sc.mode = 8;
	nretry = 0;
	rl_session_attach(cl, "sid-1");
	rl_client_set_retry_notify(cl, on_retry, NULL);
	rl_client_set(cl, RL_PARAM_ACQUIRE_TIMEOUT, 0.4);
	req = make_request(false);
	t0 = clock_now_s();
	assert_int_equal(rl_lab_acquire(cl, req, &d), -EAGAIN);
	assert_true(clock_now_s() - t0 >= 0.4 - 0.05);
	assert_null(d);
	assert_true(fake_http_count(srv) >= 1);
	assert_int_equal((size_t)nretry, fake_http_count(srv) - 1);
	check_multipart(fake_http_count(srv) - 1, "false");
	assert_int_equal(rl_client_error(cl)->http_status, 423);
	assert_non_null(
		strstr(rl_client_errmsg(cl), "POST /lab: HTTP 423: Lab currently busy (gave up"));
	rl_lab_request_free(req);
}

/* POST /lab in mode 23/24 with an acquire deadline of `deadline` s, the 200 coming 0.2 s
 * after it: the caller gets the lab, not a timeout, after `requests` uploads in all. */
static void acquire_answered_after_deadline(int mode, double deadline, size_t requests)
{
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;

	sc.mode = mode;
	rl_session_attach(cl, "sid-1");
	rl_client_set(cl, RL_PARAM_ACQUIRE_TIMEOUT, deadline);
	req = make_request(false);
	sc.answer_at = clock_now_s() + deadline + 0.2;
	assert_int_equal(rl_lab_acquire(cl, req, &d), 0);
	assert_true(clock_now_s() >= sc.answer_at);
	assert_non_null(d);
	assert_int_equal(d->n, 2);
	assert_int_equal(fake_http_count(srv), requests);
	check_multipart(requests - 1, "false");
	rl_devices_free(d);
	rl_lab_request_free(req);
}

/* A retry sent before the deadline and answered after it (the lab came free and is being
 * started). */
static void test_acquire_retry_answered_after_deadline(void **state)
{
	acquire_answered_after_deadline(23, 2, 2);
}

/* The first POST /lab has at least RL_PARAM_REQUEST_TIMEOUT too, even with a shorter
 * acquire deadline; it is not sent again. */
static void test_acquire_first_answer_after_deadline(void **state)
{
	acquire_answered_after_deadline(24, 0.3, 1);
}

static void test_acquire_500_not_retried(void **state)
{
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;

	sc.mode = 9;
	rl_session_attach(cl, "sid-1");
	req = make_request(false);
	assert_int_equal(rl_lab_acquire(cl, req, &d), -EREMOTEIO);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_errmsg(cl), "POST /lab: HTTP 500: Internal Server Error");
	rl_lab_request_free(req);
}

static int seen[16], nseen;

static int record_progress(const struct rl_progress *p, void *ud)
{
	if (nseen < 16)
		seen[nseen++] = p->position;
	return ud != NULL; /* non-NULL userdata: cancel */
}

static void test_wait_progress(void **state)
{
	sc.mode = 10;
	nseen = 0;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, record_progress, NULL), 0);
	assert_int_equal(nseen, 3);
	assert_int_equal(seen[0], 2);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 0);
	assert_string_equal(fake_http_req(srv, 0)->path, "/session/sid-1");
}

static void test_wait_404_is_immediate(void **state)
{
	sc.mode = 11;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, NULL, NULL), -ENOENT);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_error(cl)->detail, "Session not found");
}

static void test_wait_transient(void **state)
{
	sc.mode = 12;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, NULL, NULL), 0);
	assert_int_equal(sc.polls, 2);
}

static void test_wait_deadline_and_cancel(void **state)
{
	sc.mode = 13;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_wait_active(cl, 0.02, 0.2, NULL, NULL), -ETIMEDOUT);
	assert_non_null(strstr(rl_client_errmsg(cl), "not active after"));
	nseen = 0;
	assert_int_equal(rl_session_wait_active(cl, 0.02, 10, record_progress, (void *)1),
			 -ECANCELED);
	assert_int_equal(nseen, 1);
}

static volatile int cancel_now;

static int cancel_hook(void *ud)
{
	return cancel_now;
}

static void *cancel_later(void *arg)
{
	sleep_s(0.3);
	cancel_now = 1;
	return NULL;
}

static void test_cancel_hook(void **state)
{
	struct rl_devices *d = NULL;
	pthread_t t;

	sc.mode = 15; /* the server takes 3 s to answer */
	cancel_now = 0;
	rl_session_attach(cl, "sid-1");
	rl_client_set_cancel(cl, cancel_hook, NULL);
	pthread_create(&t, NULL, cancel_later, NULL);
	assert_int_equal(rl_lab_devices(cl, &d), -ECANCELED);
	pthread_join(t, NULL);
	assert_int_equal(fake_http_count(srv), 1); /* cancelled calls are not retried */
	rl_client_set_cancel(cl, NULL, NULL);
}

static void test_heartbeat_during_acquire(void **state)
{
	struct rl_heartbeat_info info;
	struct rl_lab_request *req;
	struct rl_devices *d = NULL;
	size_t after;

	sc.mode = 16;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_heartbeat_start(cl, 0.05), 0);
	assert_int_equal(rl_heartbeat_start(cl, 0.05), -EALREADY);
	req = make_request(false);
	assert_int_equal(rl_lab_acquire(cl, req, &d), 0); /* the server holds it for 1 s */
	after = fake_http_count_matching(srv, "POST", "/session/heartbeat");
	assert_true(after >= sc.hb_at_lab + 2);
	rl_heartbeat_get_info(cl, &info);
	assert_true(info.running);
	assert_true(info.sent >= 2);
	assert_int_equal(info.failed, 0);
	rl_heartbeat_stop(cl);
	rl_heartbeat_stop(cl);
	rl_heartbeat_get_info(cl, &info);
	assert_false(info.running);
	/* every heartbeat carried the session id */
	for (size_t i = 0; i < fake_http_count(srv); i++)
		if (strcmp(fake_http_req(srv, i)->path, "/session/heartbeat") == 0)
			assert_string_equal(hdr(i, "X-Session-ID"), "sid-1");
	rl_devices_free(d);
	rl_lab_request_free(req);
}

static void test_heartbeat_stops_on_404(void **state)
{
	struct rl_heartbeat_info info;
	int i;

	sc.mode = 17;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_heartbeat_start(cl, 0.02), 0);
	for (i = 0; i < 500; i++) {
		rl_heartbeat_get_info(cl, &info);
		if (!info.running)
			break;
		sleep_s(0.01);
	}
	assert_false(info.running);
	assert_int_equal(info.last_error, -ENOENT);
	assert_int_equal(info.last_http_status, 404);
	assert_int_equal(info.failed, 1);
	assert_int_equal(fake_http_count(srv), 1);
	/* a thread that ended by itself can be started again */
	assert_int_equal(rl_heartbeat_start(cl, 0.02), 0);
	rl_heartbeat_stop(cl);
}

static void test_heartbeat_stop_aborts_inflight(void **state)
{
	struct rl_heartbeat_info info;
	int i;

	sc.mode = 18; /* heartbeats take 3 s to answer */
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_heartbeat_start(cl, 10), 0);
	for (i = 0; i < 500 && fake_http_count(srv) == 0; i++)
		sleep_s(0.01);
	assert_int_equal(fake_http_count(srv), 1);
	rl_heartbeat_get_info(cl, &info);
	assert_true(info.running);
	assert_int_equal(info.sent, 0);
	rl_heartbeat_stop(cl); /* aborts the transfer instead of waiting for it */
	rl_heartbeat_get_info(cl, &info);
	assert_false(info.running);
}

static void test_session_end(void **state)
{
	sc.mode = 0;
	rl_session_attach(cl, "a b/c");
	assert_int_equal(rl_session_end(cl), 0);
	assert_string_equal(fake_http_req(srv, 0)->method, "DELETE");
	assert_string_equal(fake_http_req(srv, 0)->path, "/session/a%20b%2Fc");
	assert_null(rl_session_id(cl));
	assert_int_equal(rl_session_end(cl), -ENOENT); /* no session: local error */
	assert_int_equal(fake_http_count(srv), 1);

	sc.mode = 19;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_end(cl), -ENOENT);
	assert_null(rl_session_id(cl));
	assert_string_equal(rl_client_error(cl)->detail, "Session not found");

	sc.mode = 20;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_end(cl), -EREMOTEIO);
	assert_string_equal(rl_session_id(cl), "sid-1"); /* kept so the caller can retry */
}

static void test_destroy_and_status(void **state)
{
	struct rl_lab_status *s = NULL;

	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_lab_destroy(cl, false), -EBUSY);
	assert_string_equal(fake_http_req(srv, 0)->path, "/lab?force=false");
	assert_string_equal(rl_client_errmsg(cl), "DELETE /lab: HTTP 409: Lab still in use");
	assert_int_equal(rl_lab_destroy(cl, true), 0);
	assert_string_equal(fake_http_req(srv, 1)->path, "/lab?force=true");
	assert_string_equal(hdr(1, "X-Session-ID"), "sid-1");
	assert_int_equal(rl_lab_status(cl, &s), 0);
	assert_true(s->running);
	assert_int_equal(s->ref_count, 1);
	assert_string_equal(s->topology, "/tmp/x/t.yml");
	assert_int_equal(s->devices->n, 2);
	rl_lab_status_free(s);
}

static void test_validation_detail(void **state)
{
	sc.mode = 21;
	rl_session_attach(cl, "sid-1");
	assert_int_equal(rl_session_heartbeat(cl), -EINVAL);
	assert_int_equal(fake_http_count(srv), 1);
	assert_string_equal(rl_client_error(cl)->detail, "header.X-Session-ID: Field required");
	assert_int_equal(rl_client_error(cl)->http_status, 422);
}

/* The body limit (RL_MAX_RESPONSE, 16 MiB): at it a response is read; one byte over, the
 * transfer stops with the public -EMSGSIZE (rl_buf says -E2BIG) and is not retried. */
static void test_response_limit(void **state)
{
	const size_t max = 16u * 1024 * 1024;
	struct rl_devices *d = NULL;

	sc.mode = 22;
	rl_session_attach(cl, "sid-1");
	sc.pad = max - 2;
	assert_int_equal(rl_lab_devices(cl, &d), 0);
	assert_int_equal(d->n, 0);
	rl_devices_free(d);
	d = NULL;
	sc.pad = max - 1;
	assert_int_equal(rl_lab_devices(cl, &d), -EMSGSIZE);
	assert_null(d);
	assert_int_equal(fake_http_count(srv), 2);
	assert_string_equal(rl_client_errmsg(cl),
			    "GET /lab/devices: response larger than 16777216 bytes");
}

static void test_connect_refused(void **state)
{
	struct rl_client *c2 = NULL;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char url[64];
	int fd;

	/* a bound but not listening port refuses connections */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	assert_int_equal(rl_client_new(&c2, url, NULL, 0), 0);
	rl_client_set(c2, RL_PARAM_RETRY_INITIAL, 0.01);
	rl_client_set(c2, RL_PARAM_RESTART_WAIT, 0.2); /* the ride-out has its own tests */
	assert_int_equal(rl_server_health(c2), -ECONNREFUSED);
	assert_int_equal(rl_client_error(c2)->http_status, 0);
	assert_non_null(strstr(rl_client_errmsg(c2), "GET /healthz: "));
	/* a session can't be created either, and no id is kept */
	assert_int_equal(rl_session_create(c2, NULL), -ECONNREFUSED);
	assert_null(rl_session_id(c2));
	rl_client_free(c2);
	close(fd);
}

/* One client per thread, all at once: session, heartbeat thread, lab calls, end. */
static void *thread_body(void *arg)
{
	struct rl_devices *d = NULL;
	struct rl_client *c = NULL;
	long ok = 0;
	int i;

	if (rl_client_new(&c, fake_http_url(srv), NULL, 0) != 0)
		return (void *)0;
	for (i = 0; i < 5; i++) {
		if (rl_session_create(c, NULL) != 0 || rl_heartbeat_start(c, 0.01) != 0)
			break;
		if (rl_session_wait_active(c, 0.01, 10, NULL, NULL) == 0 &&
		    rl_lab_devices(c, &d) == 0 && d->n == 2 && rl_session_end(c) == 0)
			ok++;
		rl_devices_free(d);
		d = NULL;
	}
	rl_client_free(c);
	return (void *)ok;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	void *ok;
	int i;

	sc.mode = 12; /* first poll 503 (retried), then active */
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_body, NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ok), 0);
		assert_int_equal((long)ok, 5);
	}
	assert_int_equal(fake_http_count_matching(srv, "DELETE", "/session/"), 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_retried_on_5xx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_5xx_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_4xx_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_423_resends_everything, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_acquire_423_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_retry_answered_after_deadline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_acquire_first_answer_after_deadline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_acquire_500_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_404_is_immediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_transient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_deadline_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_during_acquire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_stops_on_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_stop_aborts_inflight, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_session_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validation_detail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

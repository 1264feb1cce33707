/* Unit tests over HTTP (in-process fake servers) for restart ride-out, tokens, queue
 * controls, ended-session reasons, events, admin and status calls, and the pool protocol. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/sha.h>

#include "remotelab.h"
#include "fake_http.h"

#define NSRV 3

/* Per fake server: its answers. */
struct srv {
	int idx;
	int mode;
	int free_slots, waiting; /* for GET /host */
	const char *tags, *warm;
	int polls;        /* GET /session polls seen */
	int active_after; /* polls until the session is active (0: never) */
	bool trylock_ok;  /* POST /session with wait=false: 201, else 409 */
	int sessions;     /* sessions created here */
	bool session_alive;
};

static struct srv st[NSRV];
static struct fake_http *fs[NSRV];
static struct rl_client *cl;

/* A global log of session events across servers, in order. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char seqlog[64][48];
static int nseq;

static void logev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logev(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&log_mu);
	if (nseq < 64) {
		va_start(ap, fmt);
		vsnprintf(seqlog[nseq++], sizeof(seqlog[0]), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&log_mu);
}

#define REPLY(code, ...)                                               \
	do {                                                           \
		resp->status = (code);                                 \
		snprintf(resp->body, sizeof(resp->body), __VA_ARGS__); \
	} while (0)
#define IS(m, p) (strcmp(req->method, m) == 0 && strcmp(req->path, p) == 0)

static void handler(const struct fake_req *req, size_t n, struct fake_resp *resp, void *ud)
{
	struct srv *s = ud;
	char buf[256];

	if (IS("GET", "/host")) {
		REPLY(200,
		      "{\"name\":\"host%d\",\"version\":\"2.1.0\",\"slots\":1,\"free_slots\":%d,"
		      "\"active\":%d,\"waiting\":%d,\"queue_length\":%d,\"estimated_wait\":%d,"
		      "\"warm\":[%s],\"draining\":false,\"tags\":{%s}}",
		      s->idx, s->free_slots, 1 - s->free_slots, s->waiting,
		      1 - s->free_slots + s->waiting,
		      s->free_slots > 0 && s->waiting == 0 ? 0 : 10 * s->waiting,
		      s->warm ? s->warm : "", s->tags ? s->tags : "");
	} else if (IS("POST", "/session")) {
		bool trylock = req->body != NULL && strstr(req->body, "\"wait\":false") != NULL;

		if (s->mode == 1) { /* reset: the server went away with the request */
			resp->close = 1;
			return;
		}
		if (trylock && !s->trylock_ok) {
			logev("%d refuse", s->idx);
			REPLY(409, "{\"detail\":\"No lab slot is free\"}");
			return;
		}
		s->sessions++;
		s->session_alive = true;
		s->polls = 0;
		logev("%d create%s", s->idx, trylock ? " trylock" : "");
		if (req->body != NULL && req->body_len > 0)
			REPLY(201,
			      "{\"session_id\":\"sid-%d-%d\",\"position\":%d,\"handle\":\"s-h%d\"}",
			      s->idx, s->sessions, trylock ? 0 : 1, s->idx);
		else
			REPLY(201, "{\"session_id\":\"sid-%d-%d\",\"position\":%d}", s->idx,
			      s->sessions, s->active_after == 1 ? 0 : 1);
	} else if (IS("POST", "/session/heartbeat")) {
		REPLY(204, "%s", "");
	} else if (strncmp(req->path, "/session/", 9) == 0 && strcmp(req->method, "GET") == 0) {
		s->polls++;
		if (s->mode == 2)
			REPLY(404, "{\"detail\":\"Session not found\",\"reason\":\"max_wait\"}");
		else if (s->mode == 3)
			REPLY(404, "{\"detail\":\"Session not found\",\"reason\":\"reaped\"}");
		else if (!s->session_alive)
			REPLY(404, "{\"detail\":\"Session not found\"}");
		else if (s->active_after > 0 && s->polls >= s->active_after)
			REPLY(200, "{\"status\":\"active\",\"position\":0}");
		else
			REPLY(200, "{\"status\":\"waiting\",\"position\":1}");
	} else if (strncmp(req->path, "/session/", 9) == 0 && strcmp(req->method, "DELETE") == 0) {
		logev("%d end", s->idx);
		s->session_alive = false;
		REPLY(204, "%s", "");
	} else if (IS("GET", "/lab/devices")) {
		if (s->mode == 4 && n == 0) {
			resp->close = 1; /* the first try is reset: a GET is retried */
			return;
		}
		REPLY(200, "[{\"name\":\"r1\",\"raw\":{}}]");
	} else if (IS("POST", "/lab/release")) {
		resp->close = 1; /* a reset after sending: a POST is never retried */
	} else if (IS("GET", "/sessions")) {
		REPLY(200,
		      "{\"slots\":1,\"sessions\":[{\"handle\":\"s-1\",\"state\":\"active\",\"position\":0,"
		      "\"priority\":0,\"label\":\"job\",\"age\":1,\"last_seen_age\":0,\"slot\":0,"
		      "\"lab_hash\":null,\"estimated_wait\":null}]}");
	} else if (IS("GET", "/labs")) {
		REPLY(200, "{\"labs\":[]}");
	} else if (IS("GET", "/events")) {
		resp->content_type = "text/event-stream";
		REPLY(200, "id: 1\nevent: session.created\ndata: {\"handle\":\"s-1\"}\n\n: ping\n\n"
			   "id: 2\nevent: drain.on\ndata: {}\n\n");
	} else if (strncmp(req->path, "/admin/", 7) == 0) {
		if (fake_header(req, "Authorization", buf, sizeof(buf)) == NULL ||
		    strcmp(buf, "Bearer adm1n") != 0)
			REPLY(401, "{\"detail\":\"Not authenticated\"}");
		else if (strcmp(req->path, "/admin/sessions/nope") == 0)
			REPLY(404, "{\"detail\":\"Session not found\"}");
		else if (strncmp(req->path, "/admin/labs/", 12) == 0)
			REPLY(202, "%s", "");
		else
			REPLY(204, "%s", "");
	} else if (IS("GET", "/healthz")) {
		if (fake_header(req, "Authorization", buf, sizeof(buf)) != NULL &&
		    strcmp(buf, "Bearer wrong") == 0)
			REPLY(401, "{\"detail\":\"Not authenticated\"}");
		else if (s->mode == 5 &&
			 fake_header(req, "Authorization", buf, sizeof(buf)) == NULL)
			REPLY(401, "{\"detail\":\"Not authenticated\"}");
		else
			REPLY(204, "%s", "");
	}
}

static int setup(void **state)
{
	int i;

	unsetenv("REMOTE_LAB_TOKEN");
	unsetenv("REMOTE_LAB_URLS");
	unsetenv("REMOTE_LAB_RESTART_WAIT");
	unsetenv("REMOTE_LAB_CA_FILE");
	nseq = 0;
	for (i = 0; i < NSRV; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].idx = i;
		fs[i] = fake_http_start(handler, &st[i]);
		assert_non_null(fs[i]);
	}
	assert_int_equal(rl_client_new(&cl, fake_http_url(fs[0]), NULL, 0), 0);
	rl_client_set(cl, RL_PARAM_RETRY_INITIAL, 0.01);
	rl_client_set(cl, RL_PARAM_RETRY_MAX, 0.05);
	rl_client_set(cl, RL_PARAM_POLL_INTERVAL, 0.05);
	rl_client_set(cl, RL_PARAM_POOL_JITTER, 0.02);
	rl_client_set(cl, RL_PARAM_RESERVATION, 0.1);
	return 0;
}

static int teardown(void **state)
{
	int i;

	rl_client_free(cl);
	cl = NULL;
	for (i = 0; i < NSRV; i++) {
		fake_http_stop(fs[i]);
		fs[i] = NULL;
	}
	return 0;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

static void *resume_later(void *arg)
{
	sleep_s(0.6);
	fake_http_resume(arg);
	return NULL;
}

/* --- restart ride-out --- */

static void test_ride_out_restart(void **state)
{
	struct rl_devices *d = NULL;
	pthread_t t;
	double v;

	assert_int_equal(rl_client_get(cl, RL_PARAM_RESTART_WAIT, &v), 0);
	assert_true(v == 30); /* the documented default */
	rl_session_attach(cl, "sid-x");
	fake_http_pause(fs[0]); /* the server is down: connections are refused */
	pthread_create(&t, NULL, resume_later, fs[0]);
	assert_int_equal(rl_lab_devices(cl, &d), 0); /* ... and comes back */
	pthread_join(t, NULL);
	assert_int_equal(d->n, 1);
	rl_devices_free(d);
	assert_string_equal(rl_session_id(cl), "sid-x"); /* the session is kept */

	/* bounded: past the ride-out window the refusal is the answer */
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESTART_WAIT, 0.3), 0);
	fake_http_pause(fs[0]);
	assert_int_equal(rl_session_heartbeat(cl), -ECONNREFUSED);
	assert_non_null(strstr(rl_client_errmsg(cl), "gave up"));
	/* POST /session never reached the server: refused connections are retried too */
	rl_session_detach(cl);
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESTART_WAIT, 30), 0);
	pthread_create(&t, NULL, resume_later, fs[0]);
	assert_int_equal(rl_session_create(cl, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(st[0].sessions, 1);
	/* a health check reports the moment: no ride-out */
	fake_http_pause(fs[0]);
	rl_client_set(cl, RL_PARAM_MAX_RETRIES, 0);
	assert_int_equal(rl_server_health(cl), -ECONNREFUSED);
	assert_null(strstr(rl_client_errmsg(cl), "gave up"));
	fake_http_resume(fs[0]);
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESTART_WAIT, 0), 0); /* 0 is allowed */
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESTART_WAIT, -1), -EINVAL);
}

static void test_reset_idempotent_vs_post(void **state)
{
	struct rl_devices *d = NULL;

	st[0].mode = 4;
	rl_session_attach(cl, "sid-x");
	assert_int_equal(rl_lab_devices(cl, &d), 0); /* GET: retried after the reset */
	rl_devices_free(d);
	assert_int_equal(fake_http_count_matching(fs[0], "GET", "/lab/devices"), 2);
	assert_int_equal(rl_lab_release(cl), -ECONNRESET); /* POST: never re-sent */
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/lab/release"), 1);
	rl_session_detach(cl);
	st[0].mode = 1;
	assert_int_equal(rl_session_create(cl, NULL), -ECONNRESET);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/session"), 1);
	assert_null(rl_session_id(cl));
}

static void test_heartbeat_rides_out(void **state)
{
	struct rl_heartbeat_info info;
	int i;

	rl_session_attach(cl, "sid-x");
	fake_http_pause(fs[0]);                          /* the server restarts ... */
	assert_int_equal(rl_heartbeat_start(cl, 30), 0); /* ... a 30 s period */
	for (i = 0; i < 1000; i++) {
		rl_heartbeat_get_info(cl, &info);
		if (info.failed >= 2)
			break;
		sleep_s(0.01);
	}
	assert_true(info.failed >= 2); /* it kept trying, well inside one period */
	assert_int_equal(info.last_error, -ECONNREFUSED);
	fake_http_resume(fs[0]);
	/* a beat arrives once the server is back, long before the 30 s period */
	for (i = 0; i < 1000 && fake_http_count_matching(fs[0], "POST", "/session/heartbeat") == 0;
	     i++)
		sleep_s(0.01);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/session/heartbeat"), 1);
	rl_heartbeat_get_info(cl, &info);
	assert_true(info.running);
	rl_heartbeat_stop(cl);
}

/* --- access control --- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *hdr(struct fake_http *f, size_t i, const char *name)
{
	static char buf[512];

	return fake_header(fake_http_req(f, i), name, buf, sizeof(buf));
}

static void test_token_file_and_401(void **state)
{
	char path[] = "/tmp/rl-unit-tokenXXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "  t0ken-abc \n");
	assert_int_equal(rl_client_set_token_file(cl, path), 0);
	assert_int_equal(rl_server_health(cl), 0);
	assert_string_equal(hdr(fs[0], 0, "Authorization"), "Bearer t0ken-abc");
	write_file(path, "\n \n");
	assert_int_equal(rl_client_set_token_file(cl, path), -EINVAL);
	assert_non_null(strstr(rl_client_errmsg(cl), "empty"));
	write_file(path, "a\nb\n");
	assert_int_equal(rl_client_set_token_file(cl, path), -EINVAL);
	assert_int_equal(rl_client_set_token_file(cl, "/nonexistent/token"), -ENOENT);
	unlink(path);
	/* 401: a clear message that says what to do; the token itself is never in it */
	assert_int_equal(rl_client_set_token(cl, "wrong"), 0);
	assert_int_equal(rl_server_health(cl), -EACCES);
	assert_int_equal(rl_client_error(cl)->http_status, 401);
	assert_non_null(
		strstr(rl_client_errmsg(cl), "Not authenticated (the server refused the token)"));
	assert_null(strstr(rl_client_errmsg(cl), "wrong"));
	st[0].mode = 5;
	assert_int_equal(rl_client_set_token(cl, NULL), 0);
	assert_int_equal(rl_server_health(cl), -EACCES);
	assert_non_null(strstr(rl_client_errmsg(cl), "set REMOTE_LAB_TOKEN"));
	/* a CA file that does not exist is refused at once */
	assert_int_equal(rl_client_set_ca_file(cl, "/nonexistent/ca.pem"), -ENOENT);
	assert_int_equal(rl_client_set_ca_file(cl, NULL), 0);
}

/* --- queue controls --- */

static void test_queue_controls(void **state)
{
	struct rl_session_opts o = RL_SESSION_OPTS_INIT;
	const struct fake_req *r;
	char ct[64];
	int pos = -1;

	/* no options: the original request, no body and no handle */
	assert_int_equal(rl_session_create(cl, &pos), 0);
	r = fake_http_req(fs[0], 0);
	assert_int_equal(r->body_len, 0);
	assert_true(fake_header(r, "Content-Type", ct, sizeof(ct)) == NULL ||
		    strcmp(ct, "application/json") !=
			    0); /* libcurl's form type for an empty POST, as before */
	assert_null(rl_session_handle(cl));
	rl_session_detach(cl);
	/* options: a JSON body, the handle comes back */
	o.priority = 5;
	o.label = "job-1";
	o.max_wait = 60;
	assert_int_equal(rl_session_create_opts(cl, &o, &pos), 0);
	r = fake_http_req(fs[0], 1);
	assert_string_equal(fake_header(r, "Content-Type", ct, sizeof(ct)), "application/json");
	assert_string_equal(r->body, "{\"priority\":5,\"label\":\"job-1\",\"max_wait\":60.0}");
	assert_string_equal(rl_session_handle(cl), "s-h0");
	rl_session_detach(cl);
	/* try-lock refused: -ENOLCK, nothing created, nothing retried */
	o.no_wait = true;
	assert_int_equal(rl_session_create_opts(cl, &o, &pos), -ENOLCK);
	assert_null(rl_session_id(cl));
	assert_int_equal(rl_client_error(cl)->http_status, 409);
	assert_non_null(strstr(rl_client_errmsg(cl), "No lab slot is free"));
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/session"), 3);
	/* bad values are caught locally */
	o.priority = 5000;
	assert_int_equal(rl_session_create_opts(cl, &o, &pos), -EINVAL);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/session"), 3);
}

static void test_end_reasons(void **state)
{
	rl_session_attach(cl, "sid-x");
	st[0].mode = 2;
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, NULL, NULL), -ETIMEDOUT);
	assert_non_null(strstr(rl_client_errmsg(cl), "session ended by the server: max_wait"));
	assert_string_equal(rl_client_end_reason(cl), "max_wait");
	st[0].mode = 3;
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, NULL, NULL), -ENOENT);
	assert_string_equal(rl_client_end_reason(cl), "reaped");
	assert_non_null(strstr(rl_client_error(cl)->detail,
			       "Session not found (session ended by the server: reaped"));
	assert_int_equal(rl_session_heartbeat(cl), 0);
	assert_null(rl_client_end_reason(cl)); /* reset by the next call */
}

/* --- operators' view --- */

static int nev;
static char ev_kinds[256];

static int on_ev(const struct rl_event *ev, void *ud)
{
	nev++;
	strncat(ev_kinds, ev->kind, sizeof(ev_kinds) - strlen(ev_kinds) - 2);
	strcat(ev_kinds, ";");
	return nev >= 3; /* stop after the first event of the second connection */
}

static void test_events_status_admin(void **state)
{
	struct rl_queue *q = NULL;
	struct rl_labs *l = NULL;

	nev = 0;
	ev_kinds[0] = '\0';
	/* the stream ends after two events; it is re-opened (a restart) and the third stops it */
	assert_int_equal(rl_events_watch(cl, on_ev, NULL), 0);
	assert_string_equal(ev_kinds, "session.created;drain.on;session.created;");
	assert_string_equal(hdr(fs[0], 0, "Accept"), "text/event-stream");
	assert_int_equal(fake_http_count_matching(fs[0], "GET", "/events"), 2);

	assert_int_equal(rl_server_sessions(cl, &q), 0);
	assert_int_equal(q->n, 1);
	assert_string_equal(q->items[0].label, "job");
	rl_queue_free(q);
	assert_int_equal(rl_server_labs(cl, &l), 0);
	assert_int_equal(l->n, 0);
	rl_labs_free(l);

	assert_int_equal(rl_admin_drain(cl, true), -EACCES); /* no admin token */
	assert_int_equal(rl_client_set_token(cl, "user"), 0);
	assert_int_equal(rl_client_set_admin_token(cl, "adm1n"), 0);
	assert_int_equal(rl_admin_drain(cl, true), 0);
	assert_int_equal(rl_admin_drain(cl, false), 0);
	assert_int_equal(rl_admin_end_session(cl, "s-1"), 0);
	assert_int_equal(rl_admin_end_session(cl, "nope"), -ENOENT);
	assert_int_equal(rl_admin_destroy_lab(cl, 2), 0);
	assert_int_equal(rl_admin_destroy_lab(cl, -1), -EINVAL);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/admin/drain"), 2);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/admin/undrain"), 1);
	assert_int_equal(fake_http_count_matching(fs[0], "DELETE", "/admin/labs/2"), 1);
	/* the other calls still send the access token */
	assert_int_equal(rl_server_health(cl), 0);
	assert_string_equal(hdr(fs[0], fake_http_count(fs[0]) - 1, "Authorization"), "Bearer user");
}

/* --- pools --- */

static void add_all(void)
{
	int i;

	for (i = 1; i < NSRV; i++)
		assert_int_equal(rl_client_add_url(cl, fake_http_url(fs[i])), 0);
	assert_int_equal(rl_client_url_count(cl), NSRV);
}

static void test_pool_single_url_is_the_original(void **state)
{
	st[0].active_after = 2;
	assert_int_equal(rl_session_obtain(cl, NULL, false, 10, NULL, NULL), 0);
	assert_int_equal(fake_http_count_matching(fs[0], "GET", "/host"), 0);
	assert_int_equal(fake_http_req(fs[0], 0)->body_len, 0);
	assert_string_equal(fake_http_req(fs[0], 0)->path, "/session");
	assert_int_equal(rl_session_end(cl), 0);
}

static void test_pool_choice(void **state)
{
	struct rl_lab_request *req = NULL;
	char topo[] = "/tmp/rl-unit-poolXXXXXX";
	int fd;

	/* host0 busy, host1 free but not provider=clab, host2 free and clab */
	st[0].tags = "\"provider\":\"clab\"";
	st[1].free_slots = 1;
	st[1].tags = "\"provider\":\"libvirt\"";
	st[2].free_slots = 1;
	st[2].tags = "\"provider\":\"clab\"";
	st[2].active_after = 1;
	add_all();
	assert_int_equal(rl_client_add_url(cl, fake_http_url(fs[1])), -EEXIST);
	assert_int_equal(rl_client_require(cl, "provider", "clab"), 0);
	assert_int_equal(rl_session_obtain(cl, NULL, false, 10, NULL, NULL), 0);
	assert_string_equal(rl_client_url(cl), fake_http_url(fs[2]));
	assert_string_equal(rl_client_host_name(cl), "host2");
	assert_int_equal(st[1].sessions, 0);
	assert_int_equal(st[0].sessions, 0);
	assert_int_equal(rl_session_end(cl), 0);
	assert_int_equal(rl_client_add_url(cl, "ftp://x"), -EINVAL);

	/* a warm host wins among free ones: the client knows its topology's SHA-256 */
	fd = mkstemp(topo);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "nodes: [r1]\n", 12), 12);
	close(fd);
	assert_int_equal(rl_lab_request_new(cl, topo, &req), 0);
	assert_int_equal(rl_client_prefer_warm(cl, req), 0);
	unlink(topo);
	rl_lab_request_free(req);
	{
		static char warm[80];
		unsigned char md[SHA256_DIGEST_LENGTH];
		int k;

		SHA256((const unsigned char *)"nodes: [r1]\n", 12, md);
		warm[0] = '"';
		for (k = 0; k < SHA256_DIGEST_LENGTH; k++)
			snprintf(warm + 1 + 2 * k, 3, "%02x", md[k]);
		strcat(warm, "\"");
		st[0].free_slots = 1;
		st[0].active_after = 1;
		st[0].warm = warm;
		for (k = 0; k < 20; k++) { /* whatever the jitter draws */
			assert_int_equal(rl_session_obtain(cl, NULL, false, 10, NULL, NULL), 0);
			assert_string_equal(rl_client_host_name(cl), "host0");
			assert_int_equal(rl_session_end(cl), 0);
		}
	}
}

static void test_pool_switch_never_two_sessions(void **state)
{
	int i;

	/* queue on host0 (the best: shortest wait); host1 and host2 are full; then host1 frees */
	st[0].waiting = 1;
	st[1].waiting = 3;
	st[2].waiting = 5;
	st[0].active_after = 0; /* never promoted */
	add_all();
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESERVATION, 0.2), 0);
	st[1].trylock_ok = true;
	st[1].active_after = 1;
	/* make host1 free only after a few polls of host0: flip it from another thread */
	{
		pthread_t t;
		void *flip(void *a);

		pthread_create(&t, NULL, flip, NULL);
		assert_int_equal(rl_session_obtain(cl, NULL, true, 20, NULL, NULL), 0);
		pthread_join(t, NULL);
	}
	assert_string_equal(rl_client_host_name(cl), "host1");
	assert_non_null(rl_session_handle(cl)); /* pools always send a body */
	/* the protocol: host0's session was ended BEFORE the try-lock on host1 */
	for (i = 0; i < nseq; i++)
		if (strcmp(seqlog[i], "1 create trylock") == 0)
			break;
	assert_true(i < nseq);
	assert_true(i >= 2);
	assert_string_equal(seqlog[0], "0 create");
	assert_string_equal(seqlog[i - 1], "0 end");
	assert_false(st[0].session_alive);
	rl_heartbeat_stop(cl);
	assert_int_equal(rl_session_end(cl), 0);
}

void *flip(void *a);

void *flip(void *a)
{
	int i;

	for (i = 0; i < 500 && st[0].polls < 3; i++)
		sleep_s(0.01);
	st[1].free_slots = 1;
	st[1].waiting = 0;
	return NULL;
}

static void test_pool_lost_race_and_dead_host(void **state)
{
	int i;

	/* host1 looks free but someone else wins the try-lock (409): the client queues again */
	st[0].waiting = 1;
	st[0].active_after = 8;
	st[1].free_slots = 1;
	st[1].trylock_ok = false;
	st[1].active_after = 1;
	st[2].waiting = 9;
	add_all();
	st[1].free_slots = 0; /* not free at the first choice */
	st[1].waiting = 2;
	{
		pthread_t t;

		pthread_create(&t, NULL, flip, NULL);
		assert_int_equal(rl_session_obtain(cl, NULL, false, 20, NULL, NULL), 0);
		pthread_join(t, NULL);
	}
	for (i = 0; i < nseq; i++)
		if (strcmp(seqlog[i], "1 refuse") == 0)
			break;
	assert_true(i < nseq);                       /* the try-lock was refused ... */
	assert_string_equal(seqlog[i - 1], "0 end"); /* ... after the waiting session ended */
	assert_int_equal(rl_session_end(cl), 0);

	/* the held host dies while waiting: the client moves on within seconds */
	nseq = 0;
	for (i = 0; i < NSRV; i++) {
		st[i].sessions = 0;
		st[i].polls = 0;
	}
	st[0].waiting = 0;
	st[0].free_slots = 0;
	st[0].active_after = 0;
	st[1].free_slots = 0;
	st[1].waiting = 3;
	st[1].active_after = 1;
	st[2].waiting = 9;
	st[2].active_after = 1;
	{
		pthread_t t;
		void *kill0(void *a);

		pthread_create(&t, NULL, kill0, NULL);
		assert_int_equal(rl_session_obtain(cl, NULL, false, 20, NULL, NULL), 0);
		pthread_join(t, NULL);
	}
	assert_string_not_equal(rl_client_url(cl), fake_http_url(fs[0]));
	assert_int_equal(st[0].sessions, 1);
	fake_http_resume(fs[0]);
	/* the session left on host0 is ended once it answers again */
	assert_int_equal(rl_session_end(cl), 0);
	assert_false(st[0].session_alive);
}

void *kill0(void *a);

void *kill0(void *a)
{
	int i;

	for (i = 0; i < 500 && st[0].polls < 2; i++)
		sleep_s(0.01);
	fake_http_pause(fs[0]);
	return NULL;
}

static void test_pool_nothing_matches(void **state)
{
	add_all();
	assert_int_equal(rl_client_require(cl, "site", "mars"), 0);
	assert_int_equal(rl_session_obtain(cl, NULL, false, 10, NULL, NULL), -ENODEV);
	assert_non_null(strstr(rl_client_errmsg(cl), "tags do not match"));
	assert_null(rl_session_id(cl));
	assert_int_equal(st[0].sessions + st[1].sessions + st[2].sessions, 0);
}

static void test_pool_env(void **state)
{
	struct rl_client *c = NULL;
	char list[256], err[256];

	snprintf(list, sizeof(list), " %s , %s,%s ", fake_http_url(fs[0]), fake_http_url(fs[1]),
		 fake_http_url(fs[2]));
	setenv("REMOTE_LAB_URLS", list, 1);
	setenv("REMOTE_LAB_URL", "http://127.0.0.1:9", 1);
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(rl_client_url_count(c), 3); /* REMOTE_LAB_URLS first */
	assert_string_equal(rl_client_url_at(c, 1), fake_http_url(fs[1]));
	rl_client_free(c);
	setenv("REMOTE_LAB_URLS", "http://a,ftp://b", 1);
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ftp://b"));
	unsetenv("REMOTE_LAB_URLS");
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(rl_client_url_count(c), 1);
	rl_client_free(c);
	unsetenv("REMOTE_LAB_URL");
	setenv("REMOTE_LAB_RESTART_WAIT", "0", 1);
	assert_int_equal(rl_client_new(&c, "http://x", err, sizeof(err)), 0);
	rl_client_free(c);
	setenv("REMOTE_LAB_RESTART_WAIT", "soon", 1);
	assert_int_equal(rl_client_new(&c, "http://x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "REMOTE_LAB_RESTART_WAIT"));
	unsetenv("REMOTE_LAB_RESTART_WAIT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ride_out_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_idempotent_vs_post, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_rides_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_file_and_401, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_controls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_status_admin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_single_url_is_the_original, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pool_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_switch_never_two_sessions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pool_lost_race_and_dead_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_nothing_matches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_env, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

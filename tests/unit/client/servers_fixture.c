/* Three fake servers, each answering from its own struct srv, for the client's unit tests of
 * restarts, access, the operators' calls, queue controls and pools. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "servers_fixture.h"

struct srv st[NSRV];
struct fake_http *fs[NSRV];

/* A global log of session events across servers, in order. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
char seqlog[64][48];
int nseq;

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

int fx_servers_setup(void **state)
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

int fx_servers_teardown(void **state)
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

const char *fx_servers_hdr(struct fake_http *f, size_t i, const char *name)
{
	static char buf[512];

	return fake_header(fake_http_req(f, i), name, buf, sizeof(buf));
}

/* What a server tells about itself: GET /host, GET /sessions, GET /labs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* GET path and parse its 200 body with parse. */
static int get_parsed(struct rl_client *c, const char *path, const char *op, unsigned flags,
		      int (*parse)(const char *, size_t, void *), void *ret)
{
	struct call call = { "GET", path, op, CALL_IDEMPOTENT | flags, NULL, NULL, 0, 0 };
	struct xfer_resp resp;
	int r;

	xfer_resp_init(&resp);
	r = client_get_json(c, &call, &resp);
	if (r == 0) {
		r = parse(resp.body.data, resp.body.len, ret);
		if (r < 0)
			client_body_error(c, r, op, resp.status);
	}
	xfer_resp_free(&resp);
	return r;
}

static int parse_host(const char *b, size_t n, void *ret)
{
	return reply_host(b, n, ret);
}

static int parse_queue(const char *b, size_t n, void *ret)
{
	return reply_queue(b, n, ret);
}

static int parse_labs(const char *b, size_t n, void *ret)
{
	return reply_labs(b, n, ret);
}

int rl_server_host(struct rl_client *c, struct rl_host_info **ret)
{
	return get_parsed(c, "/host", "GET /host", 0, parse_host, ret);
}

/* GET /host for the pool's probes: no ride-out (a host that does not answer is news). */
int server_probe_host(struct rl_client *c, double timeout, struct rl_host_info **ret)
{
	struct call call = { "GET", "/host", "GET /host", CALL_IDEMPOTENT | CALL_NO_RIDE,
			     NULL,  NULL,    timeout,     0 };
	struct xfer_resp resp;
	double retries = c->params[RL_PARAM_MAX_RETRIES];
	int r;

	c->params[RL_PARAM_MAX_RETRIES] = 0; /* one try: the watch loop comes back soon */
	xfer_resp_init(&resp);
	r = client_get_json(c, &call, &resp);
	c->params[RL_PARAM_MAX_RETRIES] = retries;
	if (r == 0) {
		r = reply_host(resp.body.data, resp.body.len, ret);
		if (r < 0)
			client_body_error(c, r, call.op, resp.status);
	}
	xfer_resp_free(&resp);
	return r;
}

int rl_server_sessions(struct rl_client *c, struct rl_queue **ret)
{
	return get_parsed(c, "/sessions", "GET /sessions", 0, parse_queue, ret);
}

int rl_server_labs(struct rl_client *c, struct rl_labs **ret)
{
	return get_parsed(c, "/labs", "GET /labs", 0, parse_labs, ret);
}

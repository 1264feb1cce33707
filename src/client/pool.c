/*
 * Client-side lab pools: several independent servers, one session at a time.
 *
 * The choice (pool_judge, pool_cost, pool_pick) is pure: tests drive it directly. The
 * protocol (rl_session_obtain) holds at most ONE session at any moment: to move, it ends
 * its waiting session first and only then takes the other server with a try-lock, so two
 * ACTIVE sessions can never exist for one client (see docs/client.md "Lab pools").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Can this host be used at all under the requirements? */
enum pool_verdict pool_judge(const struct rl_host_info *h, const struct pool_req *req)
{
	size_t i, k;

	if (h == NULL)
		return POOL_DOWN;
	for (i = 0; i < req->n; i++) {
		for (k = 0; k < h->n_tags; k++)
			if (strcmp(h->tag_keys[k], req->keys[i]) == 0)
				break;
		if (k == h->n_tags || strcmp(h->tag_values[k], req->values[i]) != 0)
			return POOL_MISMATCH;
	}
	return h->draining ? POOL_DRAINING : POOL_OK;
}

/* Is the topology with this SHA-256 (hex) up and idle there? */
bool pool_is_warm(const struct rl_host_info *h, const char *hash)
{
	size_t i;

	if (h == NULL || hash == NULL || hash[0] == '\0')
		return false;
	for (i = 0; i < h->n_warm; i++)
		if (strcasecmp(h->warm[i], hash) == 0)
			return true;
	return false;
}

/* Would a new session be ACTIVE at once there? */
bool pool_serves_now(const struct rl_host_info *h)
{
	return h != NULL && !h->draining && h->free_slots > 0 && h->waiting == 0;
}

/*
 * The estimated wait in seconds, plus jitter: u (uniform in [0, 1)) times
 * max(jitter, 10 % of the wait), so that equal hosts are chosen at random and close
 * ones roughly so. An unknown estimate (no hold times observed yet) ranks after every
 * known one, by queue length.
 */
double pool_cost(const struct rl_host_info *h, double jitter, double u)
{
	double w;

	if (pool_serves_now(h))
		return u * jitter;
	if (h->estimated_wait < 0)
		return 1e9 + (double)h->waiting + u * 0.999;
	w = h->estimated_wait;
	return w + u * (jitter > w * 0.1 ? jitter : w * 0.1);
}

/*
 * The best host index, or -1. Order: can serve at once, then warm, then the smallest
 * jittered cost. only_now: only hosts that can serve at once and are outside their
 * reservation window (switch targets). skip: an index never chosen ((size_t)-1: none).
 */
int pool_pick(const struct pool_host *hosts, size_t n, const struct pool_req *req, const char *hash,
	      double jitter, double now, double (*rnd)(void *), void *rnd_ud, bool only_now,
	      size_t skip)
{
	double cost, best_cost = 0;
	int best = -1, rank, best_rank = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct rl_host_info *h = hosts[i].info;

		if (i == skip || pool_judge(h, req) != POOL_OK)
			continue;
		if (only_now && (!pool_serves_now(h) || hosts[i].hold_until > now))
			continue;
		rank = (pool_serves_now(h) ? 2 : 0) + (pool_is_warm(h, hash) ? 1 : 0);
		cost = pool_cost(h, jitter, rnd(rnd_ud));
		if (best < 0 || rank > best_rank || (rank == best_rank && cost < best_cost)) {
			best = (int)i;
			best_rank = rank;
			best_cost = cost;
		}
	}
	return best;
}

struct pool_run {
	struct rl_client *c;
	const char *json;         /* POST /session body with the caller's options */
	const char *json_trylock; /* the same with "wait": false */
	bool caller_trylock;
	bool heartbeat;
	struct pool_host hosts[RL_MAX_URLS];
	struct rl_host_info *info[RL_MAX_URLS];
	double probe_timeout;
};

/* GET /host of server i into run->info[i] (NULL when it does not answer). */
static void probe(struct pool_run *run, size_t i)
{
	struct rl_client *c = run->c;
	struct rl_error keep = c->err;
	char *url = c->url;

	rl_host_info_free(run->info[i]);
	run->info[i] = NULL;
	c->url = c->urls[i]; /* no session header is sent to /host */
	if (server_probe_host(c, run->probe_timeout, &run->info[i]) < 0)
		run->info[i] = NULL;
	c->url = url;
	c->err = keep;
	run->hosts[i].info = run->info[i];
}

/* Probe every server except skip. */
static void probe_all(struct pool_run *run, size_t skip)
{
	size_t i;

	for (i = 0; i < run->c->n_urls; i++)
		if (i != skip)
			probe(run, i);
}

/* Leave the held session: end it (no ride-out: a dead server is left as an orphan). */
static void leave(struct pool_run *run)
{
	struct rl_client *c = run->c;
	int r;

	heartbeat_free(c->hb);
	c->hb = NULL;
	if (c->session_id == NULL)
		return;
	r = session_end(c, CALL_NO_RIDE);
	if (r < 0 && c->session_id != NULL) /* no answer, or a 5xx: not known to be ended */
		client_add_orphan(c);
}

/* Take server i: create the session there (try-lock when asked), start the heartbeat. */
static int take(struct pool_run *run, size_t i, bool trylock, int *ret_position)
{
	struct rl_client *c = run->c;
	int r;

	client_switch_url(c, i);
	free(c->host_name);
	c->host_name = run->info[i] != NULL ? strdup(run->info[i]->name) : NULL;
	r = session_create(c, trylock ? run->json_trylock : run->json, CALL_NO_RIDE, ret_position);
	if (r < 0)
		return r;
	if (run->heartbeat) {
		r = rl_heartbeat_start(c, 0);
		if (r < 0) {
			struct rl_error keep = c->err;

			session_end(c, CALL_NO_RIDE);
			client_forget_session(c);
			c->err = keep;
			return r;
		}
	}
	return 0;
}

/* A one-line summary of why no server could be used, into c's error. */
static int no_server(struct pool_run *run, const char *why)
{
	struct rl_client *c = run->c;
	char detail[900];
	size_t i, o = 0;
	static const char *const verdict[] = { "ok", "no answer", "tags do not match", "draining" };
	int n;

	detail[0] = '\0';
	for (i = 0; i < c->n_urls && o < sizeof(detail); i++) {
		n = snprintf(detail + o, sizeof(detail) - o, "%s%s: %s", i > 0 ? "; " : "",
			     c->urls[i], verdict[pool_judge(run->info[i], &c->req)]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return client_set_error(c, -ENODEV, 0, "pool", "%s (%s)", why, detail);
}

/* The pool protocol; see the file comment. */
static int obtain_pool(struct pool_run *run, double end, double start, rl_progress_fn progress,
		       void *userdata)
{
	struct rl_client *c = run->c;
	double poll = c->params[RL_PARAM_POLL_INTERVAL], jitter = c->params[RL_PARAM_POOL_JITTER];
	double resv = c->params[RL_PARAM_RESERVATION], taken_at = 0, d;
	size_t held = (size_t)-1, i;
	int r, best, pos;
	bool any_up;

	for (;;) {
		if (c->cancel != NULL && c->cancel(c->cancel_ud))
			return client_set_error(c, -ECANCELED, 0, "pool", "cancelled");
		client_end_orphans(c, run->probe_timeout);
		if (c->session_id == NULL) {
			probe_all(run, (size_t)-1);
			best = pool_pick(run->hosts, c->n_urls, &c->req, c->warm_hash, jitter,
					 clock_now(), client_random, c, run->caller_trylock,
					 (size_t)-1);
			if (best < 0) {
				any_up = false;
				for (i = 0; i < c->n_urls; i++)
					any_up |= run->info[i] != NULL;
				if (run->caller_trylock)
					return client_set_error(
						c, -ENOLCK, 409, "pool",
						"no server of the pool has a lab slot free");
				if (any_up) { /* all answer, none fits: waiting will not change that */
					for (i = 0; i < c->n_urls; i++)
						if (pool_judge(run->info[i], &c->req) ==
						    POOL_DRAINING)
							break;
					if (i == c->n_urls)
						return no_server(
							run,
							"no server of the pool matches the requirements");
				}
				if (clock_now() + poll >= end)
					return no_server(run,
							 "no server of the pool could be used");
				if (clock_sleep(poll, c->cancel, c->cancel_ud) < 0)
					return client_set_error(c, -ECANCELED, 0, "pool",
								"cancelled");
				continue;
			}
			r = take(run, (size_t)best, run->caller_trylock, &pos);
			if (r == -ENOLCK && run->caller_trylock) {
				run->hosts[best].hold_until = clock_now() + resv;
				continue; /* someone was faster: try the next server that is free */
			}
			if (r < 0 && (xfer_is_outage(r) || r == -ETIMEDOUT || r == -EHOSTUNREACH ||
				      r == -EIO || r == -EREMOTEIO)) {
				rl_host_info_free(run->info[best]); /* left for the next best */
				run->info[best] = NULL;
				run->hosts[best].info = NULL;
				continue;
			}
			if (r < 0)
				return r;
			held = (size_t)best;
			taken_at = clock_now();
			run->hosts[held].hold_until = taken_at + resv;
		}
		/* one poll of the held session */
		r = session_wait(c, -1, end, start, progress, userdata, true);
		if (r == 0)
			return 0;
		if (r != -EAGAIN) {
			if (xfer_is_outage(r) ||
			    r == -EHOSTUNREACH) { /* the server stopped answering */
				heartbeat_free(c->hb);
				c->hb = NULL;
				client_add_orphan(c);
				held = (size_t)-1;
				continue;
			}
			if (r != -ETIMEDOUT && r != -EREMOTEIO && r != -EIO)
				return r; /* ended by the server, cancelled, ... */
			if (r == -ETIMEDOUT && clock_now() >= end)
				return r;
		}
		/* still waiting: watch the others */
		if (clock_now() >= taken_at + resv) {
			probe_all(run, held);
			best = pool_pick(run->hosts, c->n_urls, &c->req, c->warm_hash, jitter,
					 clock_now(), client_random, c, true, held);
			if (best >= 0) {
				/* jitter against a stampede, then look again before moving */
				d = jitter * client_random(c);
				if (d > 0 && clock_sleep(d, c->cancel, c->cancel_ud) < 0)
					return client_set_error(c, -ECANCELED, 0, "pool",
								"cancelled");
				probe(run, (size_t)best);
				if (pool_judge(run->info[best], &c->req) == POOL_OK &&
				    pool_serves_now(run->info[best])) {
					r = session_wait(c, -1, end, start, progress, userdata,
							 true);
					if (r == 0)
						return 0; /* promoted meanwhile: stay */
					if (r == -EAGAIN || xfer_is_outage(r)) {
						leave(run); /* first end the waiting session ... */
						held = (size_t)-1;
						r = take(run, (size_t)best, true,
							 &pos); /* ... then try-lock */
						if (r == 0) {
							held = (size_t)best;
							taken_at = clock_now();
							continue; /* ACTIVE: the next poll says so */
						}
						run->hosts[best].hold_until = clock_now() + resv;
						if (r != -ENOLCK && !xfer_is_outage(r) &&
						    r != -ETIMEDOUT && r != -EHOSTUNREACH &&
						    r != -EIO && r != -EREMOTEIO)
							return r;
						continue; /* lost the race: queue again on the best */
					}
					if (r != -ETIMEDOUT && r != -EREMOTEIO && r != -EIO)
						return r;
				}
			}
		}
		if (clock_now() >= end)
			return client_set_error(
				c, -ETIMEDOUT, 0, "wait",
				"session not active after %.0f s (pool of %zu servers)",
				clock_now() - start, c->n_urls);
		d = end - clock_now() < poll ? end - clock_now() : poll;
		if (clock_sleep(d, c->cancel, c->cancel_ud) < 0)
			return client_set_error(c, -ECANCELED, 0, "wait", "cancelled");
	}
}

int rl_session_obtain(struct rl_client *c, const struct rl_session_opts *opts, bool heartbeat,
		      double deadline, rl_progress_fn progress, void *userdata)
{
	struct rl_session_opts o = RL_SESSION_OPTS_INIT;
	struct pool_run run;
	char *json = NULL, *json_trylock = NULL;
	double start = clock_now();
	struct rl_error keep;
	size_t i;
	int r;

	memset(&run, 0, sizeof(run));
	run.c = c;
	client_clear_error(c);
	if (c->session_id != NULL)
		return client_set_error(c, -EEXIST, 0, "POST /session",
					"client already holds a session");
	if (deadline <= 0)
		deadline = c->params[RL_PARAM_SESSION_TIMEOUT];
	if (c->n_urls == 1) { /* one server: exactly today's calls */
		r = opts != NULL ? rl_session_create_opts(c, opts, NULL)
				 : rl_session_create(c, NULL);
		if (r == 0 && heartbeat)
			r = rl_heartbeat_start(c, 0);
		if (r == 0)
			r = rl_session_wait_active(c, 0, deadline, progress, userdata);
		goto out;
	}
	if (opts != NULL)
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	o.size = sizeof(o);
	o.no_wait = false;
	r = reply_session_body(&o, &json);
	if (r == 0) {
		o.no_wait = true;
		r = reply_session_body(&o, &json_trylock);
	}
	if (r < 0) {
		r = client_set_error(c, r, 0, "POST /session", "%s",
				     r == -ENOMEM ? "out of memory" : "invalid session options");
		goto out;
	}
	run.json = json;
	run.json_trylock = json_trylock;
	run.caller_trylock = opts != NULL && opts->no_wait;
	run.heartbeat = heartbeat;
	run.probe_timeout =
		c->params[RL_PARAM_REQUEST_TIMEOUT] < 5 ? c->params[RL_PARAM_REQUEST_TIMEOUT] : 5;
	r = obtain_pool(&run, start + deadline, start, progress, userdata);
	for (i = 0; i < c->n_urls; i++)
		rl_host_info_free(run.info[i]);
out:
	if (r < 0 && c->session_id != NULL) { /* no session is kept on failure */
		keep = c->err;
		rl_heartbeat_stop(c);
		if (c->n_urls == 1)
			rl_session_end(c);
		else
			leave(&run);
		c->err = keep;
	}
	free(json);
	free(json_trylock);
	return r;
}

/* The client handle: created from arguments and environment, its servers, tunables and
 * requirements. Credentials are in client_auth.c, errors in client_error.c, the retry policy
 * in client_call.c, orphaned sessions in client_orphan.c. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
	const char *env; /* environment variable that overrides the default, or NULL */
	double def;
} param_info[RL_PARAM_COUNT] = {
	[RL_PARAM_REQUEST_TIMEOUT] = { "REMOTE_LAB_REQUEST_TIMEOUT", 30 },
	[RL_PARAM_SESSION_TIMEOUT] = { "REMOTE_LAB_SESSION_TIMEOUT", 600 },
	[RL_PARAM_ACQUIRE_TIMEOUT] = { "REMOTE_LAB_ACQUISITION_TIMEOUT", 600 },
	[RL_PARAM_CONNECT_TIMEOUT] = { NULL, 10 },
	[RL_PARAM_POLL_INTERVAL] = { NULL, 5 },
	[RL_PARAM_HEARTBEAT_PERIOD] = { NULL, 30 },
	[RL_PARAM_RETRY_INITIAL] = { NULL, 1 },
	[RL_PARAM_RETRY_MAX] = { NULL, 10 },
	[RL_PARAM_MAX_RETRIES] = { NULL, 2 },
	[RL_PARAM_MAX_UPLOAD] = { NULL, RL_MAX_UPLOAD_DEFAULT },
	[RL_PARAM_RESTART_WAIT] = { "REMOTE_LAB_RESTART_WAIT", 30 },
	[RL_PARAM_POOL_JITTER] = { NULL, 1 },
	[RL_PARAM_RESERVATION] = { NULL, 3 },
};

/* Params that may be 0 (the others must be > 0). */
static bool param_may_be_zero(int p)
{
	return p == RL_PARAM_MAX_RETRIES || p == RL_PARAM_RETRY_INITIAL ||
	       p == RL_PARAM_RESTART_WAIT || p == RL_PARAM_POOL_JITTER || p == RL_PARAM_RESERVATION;
}

const char *rl_version(void)
{
	return REMOTELAB_VERSION;
}

/* Parse a positive (or, with zero_ok, non-negative) decimal number of seconds. */
static int parse_seconds(const char *s, bool zero_ok, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0 || (v == 0 && !zero_ok))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A normalised copy of url: http(s) only, trailing slashes removed. */
static int norm_url(const char *url, size_t len, char **ret)
{
	char *u;
	size_t n;

	if (len < 7 || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return -EINVAL;
	u = strndup(url, len);
	if (u == NULL)
		return -ENOMEM;
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	/* a host after "scheme://", no query, fragment or space (paths are appended to it) */
	if (strpbrk(u, "?# \t\r\n,") != NULL || n <= strlen(u[4] == 's' ? "https://" : "http://")) {
		free(u);
		return -EINVAL;
	}
	*ret = u;
	return 0;
}

/* Append a server to the pool. */
static int add_url(struct rl_client *c, const char *url, size_t len)
{
	char *u;
	size_t i;
	int r;

	if (c->n_urls >= RL_MAX_URLS)
		return -E2BIG;
	r = norm_url(url, len, &u);
	if (r < 0)
		return r;
	for (i = 0; i < c->n_urls; i++) {
		if (strcmp(c->urls[i], u) == 0) {
			free(u);
			return -EEXIST;
		}
	}
	c->urls[c->n_urls++] = u;
	c->url = c->urls[c->cur];
	return 0;
}

/* $REMOTE_LAB_URLS: comma-separated, blanks around items ignored. */
static int add_url_list(struct rl_client *c, const char *list, char *errbuf, size_t errlen)
{
	const char *p = list, *e, *a, *b;
	int r;

	while (*p != '\0') {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		a = p;
		b = e;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a) {
			r = add_url(c, a, (size_t)(b - a));
			if (r < 0) {
				if (errbuf != NULL)
					snprintf(
						errbuf, errlen,
						r == -ENOMEM ? "out of memory"
						: r == -EEXIST
							? "REMOTE_LAB_URLS: '%.*s' is listed twice"
						: r == -E2BIG
							? "REMOTE_LAB_URLS: more than 64 servers (at '%.*s')"
							: "REMOTE_LAB_URLS: invalid server URL '%.*s' (need http:// or https://)",
						(int)(b - a), a);
				return r == -EEXIST || r == -E2BIG ? -EINVAL : r;
			}
		}
		p = *e == ',' ? e + 1 : e;
	}
	return 0;
}

int rl_client_new(struct rl_client **ret, const char *base_url, char *errbuf, size_t errlen)
{
	struct rl_client *c;
	const char *v;
	int r, i;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (ret == NULL)
		return -EINVAL;
	r = xfer_global_init();
	if (r < 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errlen, "libcurl initialisation failed");
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->rnd_state = (unsigned)(clock_now() * 1e6) ^ (unsigned)(uintptr_t)c;
	if (base_url == NULL || base_url[0] == '\0') {
		v = getenv("REMOTE_LAB_URLS");
		if (v != NULL && v[0] != '\0') {
			r = add_url_list(c, v, errbuf, errlen);
			if (r < 0)
				goto fail;
		}
		if (c->n_urls == 0)
			base_url = getenv("REMOTE_LAB_URL");
	}
	if (c->n_urls == 0 && (base_url == NULL || base_url[0] == '\0')) {
		r = -EINVAL;
		if (errbuf != NULL)
			snprintf(
				errbuf, errlen,
				"no server URL: pass one or set REMOTE_LAB_URL (or REMOTE_LAB_URLS)");
		goto fail;
	}
	if (c->n_urls == 0) {
		r = add_url(c, base_url, strlen(base_url));
		if (r < 0) {
			if (errbuf != NULL)
				snprintf(
					errbuf, errlen,
					r == -ENOMEM
						? "out of memory"
						: "invalid server URL '%s' (need http:// or https://)",
					base_url);
			goto fail;
		}
	}
	for (i = 0; i < RL_PARAM_COUNT; i++) {
		c->params[i] = param_info[i].def;
		v = param_info[i].env != NULL ? getenv(param_info[i].env) : NULL;
		if (v == NULL || v[0] == '\0')
			continue;
		r = parse_seconds(v, param_may_be_zero(i), &c->params[i]);
		if (r < 0) {
			if (errbuf != NULL)
				snprintf(errbuf, errlen,
					 "%s='%s' is not a positive number of seconds",
					 param_info[i].env, v);
			goto fail;
		}
	}
	v = getenv("REMOTE_LAB_TOKEN");
	if (v != NULL && v[0] != '\0') {
		c->token = strdup(v);
		if (c->token == NULL) {
			r = -ENOMEM;
			goto fail;
		}
	}
	v = getenv("REMOTE_LAB_CA_FILE");
	if (v != NULL && v[0] != '\0') {
		r = rl_client_set_ca_file(c, v);
		if (r < 0) {
			if (errbuf != NULL)
				snprintf(errbuf, errlen,
					 r == -ENOMEM ? "out of memory"
						      : "REMOTE_LAB_CA_FILE='%s': %s",
					 v, strerror(-r));
			goto fail;
		}
	}
	*ret = c;
	return 0;
fail:
	rl_client_free(c);
	return r;
}

void rl_client_free(struct rl_client *c)
{
	size_t i;

	if (c == NULL)
		return;
	heartbeat_free(c->hb);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	for (i = 0; i < c->n_urls; i++)
		free(c->urls[i]);
	client_wipe_free(c->token);
	client_wipe_free(c->admin_token);
	free(c->ca_file);
	free(c->session_id);
	free(c->handle);
	free(c->host_name);
	for (i = 0; i < c->req.n; i++) {
		free(c->req.keys[i]);
		free(c->req.values[i]);
	}
	for (i = 0; i < c->n_orphans; i++) {
		free(c->orphans[i].url);
		free(c->orphans[i].id);
	}
	free(c);
}

int rl_client_set(struct rl_client *c, enum rl_param param, double value)
{
	if (c == NULL || (int)param < 0 || (int)param >= RL_PARAM_COUNT || !isfinite(value) ||
	    value < 0)
		return -EINVAL;
	if (!param_may_be_zero((int)param) && value <= 0)
		return -EINVAL;
	c->params[param] = value;
	return 0;
}

int rl_client_get(const struct rl_client *c, enum rl_param param, double *ret)
{
	if (c == NULL || ret == NULL || (int)param < 0 || (int)param >= RL_PARAM_COUNT)
		return -EINVAL;
	*ret = c->params[param];
	return 0;
}

int rl_client_add_url(struct rl_client *c, const char *url)
{
	int r;

	if (c == NULL || url == NULL)
		return -EINVAL;
	if (c->session_id != NULL)
		return -EBUSY;
	r = add_url(c, url, strlen(url));
	return r == -E2BIG ? -EINVAL : r;
}

size_t rl_client_url_count(const struct rl_client *c)
{
	return c != NULL ? c->n_urls : 0;
}

const char *rl_client_url_at(const struct rl_client *c, size_t i)
{
	return c != NULL && i < c->n_urls ? c->urls[i] : NULL;
}

int rl_client_require(struct rl_client *c, const char *key, const char *value)
{
	char *k, *v;

	if (c == NULL || key == NULL || key[0] == '\0' || value == NULL ||
	    c->req.n >= RL_MAX_REQUIRE || strlen(key) > 256 || strlen(value) > 256)
		return -EINVAL;
	k = strdup(key);
	v = strdup(value);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	c->req.keys[c->req.n] = k;
	c->req.values[c->req.n] = v;
	c->req.n++;
	return 0;
}

const char *rl_client_host_name(const struct rl_client *c)
{
	return c != NULL ? c->host_name : NULL;
}

const char *rl_client_end_reason(const struct rl_client *c)
{
	return c != NULL && c->end_reason[0] != '\0' ? c->end_reason : NULL;
}

/* Make server i the current one (no session may be held). */
int client_switch_url(struct rl_client *c, size_t i)
{
	if (i >= c->n_urls)
		return -EINVAL;
	if (c->cur != i && c->easy != NULL) { /* no connection of the old server is reused */
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
	}
	c->cur = i;
	c->url = c->urls[i];
	return 0;
}

/* A uniform random number in [0, 1) from the client's own state (no global state). */
double client_random(void *ud)
{
	struct rl_client *c = ud;

	return (double)rand_r(&c->rnd_state) / ((double)RAND_MAX + 1.0);
}

void rl_client_set_cancel(struct rl_client *c, rl_cancel_fn fn, void *userdata)
{
	c->cancel = fn;
	c->cancel_ud = userdata;
}

void rl_client_set_retry_notify(struct rl_client *c, rl_retry_fn fn, void *userdata)
{
	c->retry = fn;
	c->retry_ud = userdata;
}

const char *rl_client_url(const struct rl_client *c)
{
	return c->url;
}

/* The library client labctl talks through, set up from the options: servers, requirements,
 * secrets, tunables, the session to act on, and the session options. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "labctl.h"

/* The session options from the command line; false when none was given (then the
 * original's POST /session without a body is sent). */
bool labctl_session_opts(const struct opts *o, struct rl_session_opts *ret)
{
	struct rl_session_opts x = RL_SESSION_OPTS_INIT;
	const char *label = o->label;

	if (label == NULL) {
		label = getenv("REMOTE_LAB_LABEL");
		if (label != NULL && label[0] == '\0')
			label = NULL;
	}
	x.priority = o->priority;
	x.label = label;
	x.max_wait = o->max_wait;
	x.no_wait = o->no_wait;
	*ret = x;
	return o->has_priority || label != NULL || o->max_wait > 0 || o->no_wait;
}

/* Apply one option-supplied secret/file setting; returns an exit code. */
static int client_secrets(struct rl_client *c, const struct opts *o)
{
	const char *v;
	int r;

	if (o->token_file != NULL) {
		r = rl_client_set_token_file(c, o->token_file);
		if (r < 0) {
			labctl_err("--token-file: %s", rl_client_errmsg(c));
			return r == -ENOMEM ? LABCTL_EXIT_LOCAL : LABCTL_EXIT_USAGE;
		}
	}
	if (o->cacert != NULL) {
		r = rl_client_set_ca_file(c, o->cacert);
		if (r < 0) {
			labctl_err("--cacert %s: %s", o->cacert, strerror(-r));
			return r == -ENOMEM ? LABCTL_EXIT_LOCAL : LABCTL_EXIT_USAGE;
		}
	}
	if (o->admin_token_file != NULL) {
		r = rl_client_set_admin_token_file(c, o->admin_token_file);
		if (r < 0) {
			labctl_err("--admin-token-file: %s", rl_client_errmsg(c));
			return r == -ENOMEM ? LABCTL_EXIT_LOCAL : LABCTL_EXIT_USAGE;
		}
	} else if ((v = getenv("REMOTE_LAB_ADMIN_TOKEN")) != NULL && v[0] != '\0') {
		if (rl_client_set_admin_token(c, v) < 0) {
			labctl_err("out of memory");
			return LABCTL_EXIT_LOCAL;
		}
	}
	return 0;
}

/* Build a client for the server(s) given; pool: several URLs allowed. */
static int make_client(const struct opts *o, bool pool, struct rl_client **ret)
{
	struct rl_client *c = NULL;
	const char *base = NULL;
	char errbuf[512];
	size_t i;
	int r, ex;

	if (o->n_urls > 0)
		base = o->urls[0];
	else if (!pool && getenv("REMOTE_LAB_URL") != NULL && getenv("REMOTE_LAB_URL")[0] != '\0')
		base = getenv("REMOTE_LAB_URL"); /* one server: REMOTE_LAB_URL before the pool */
	r = rl_client_new(&c, base, errbuf, sizeof(errbuf));
	if (r < 0) {
		labctl_err("%s", errbuf[0] ? errbuf : rl_strerror(r));
		return r == -ENOMEM ? LABCTL_EXIT_LOCAL : LABCTL_EXIT_USAGE;
	}
	for (i = 1; i < o->n_urls; i++) {
		r = rl_client_add_url(c, o->urls[i]);
		if (r < 0) {
			rl_client_free(c);
			if (r == -ENOMEM) {
				labctl_err("out of memory");
				return LABCTL_EXIT_LOCAL;
			}
			return labctl_usage_error("--url '%s': %s", o->urls[i],
						  r == -EEXIST
							  ? "given twice"
							  : "invalid (need http:// or https://)");
		}
	}
	if (!pool && rl_client_url_count(c) > 1) {
		rl_client_free(c);
		return labctl_usage_error(
			"this command talks to one server: pass one --url (or set "
			"REMOTE_LAB_URL to the server that holds the session)");
	}
	for (i = 0; i < o->n_requires; i++) {
		r = rl_client_require(c, o->requires[i].key, o->requires[i].value);
		if (r < 0) {
			rl_client_free(c);
			return r == -ENOMEM ? (labctl_err("out of memory"), LABCTL_EXIT_LOCAL)
					    : labctl_usage_error("--require: too many or too long");
		}
	}
	ex = client_secrets(c, o);
	if (ex != 0) {
		rl_client_free(c);
		return ex;
	}
	*ret = c;
	return 0;
}

/* The tunables from the options. */
static void labctl_tune(struct rl_client *c, const struct opts *o)
{
	rl_client_set_retry_notify(c, output_retry, (void *)&o->quiet);
	if (o->request_timeout > 0)
		rl_client_set(c, RL_PARAM_REQUEST_TIMEOUT, o->request_timeout);
	if (o->wait_timeout > 0)
		rl_client_set(c, RL_PARAM_SESSION_TIMEOUT, o->wait_timeout);
	if (o->acquire_timeout > 0)
		rl_client_set(c, RL_PARAM_ACQUIRE_TIMEOUT, o->acquire_timeout);
	if (o->poll > 0)
		rl_client_set(c, RL_PARAM_POLL_INTERVAL, o->poll);
	if (o->heartbeat > 0)
		rl_client_set(c, RL_PARAM_HEARTBEAT_PERIOD, o->heartbeat);
	if (o->has_restart_wait)
		rl_client_set(c, RL_PARAM_RESTART_WAIT, o->restart_wait);
}

/* A client for a pool (several servers allowed), configured from the options. */
int labctl_pool_client(const struct opts *o, struct rl_client **ret)
{
	struct rl_client *c = NULL;
	int r;

	r = make_client(o, true, &c);
	if (r != 0)
		return r;
	labctl_tune(c, o);
	*ret = c;
	return 0;
}

/* A client configured from the options; with need_session, attached to --session. */
int labctl_client(const struct opts *o, bool need_session, struct rl_client **ret)
{
	struct rl_client *c = NULL;
	int r;

	r = make_client(o, false, &c);
	if (r != 0)
		return r;
	labctl_tune(c, o);
	if (need_session) {
		const char *id = o->session;

		if (id == NULL || id[0] == '\0') {
			rl_client_free(c);
			return labctl_usage_error(
				"no session: pass --session ID or set REMOTE_LAB_SESSION");
		}
		r = rl_session_attach(c, id);
		if (r < 0) {
			labctl_err("%s", rl_client_errmsg(c));
			rl_client_free(c);
			return LABCTL_EXIT_USAGE;
		}
	}
	*ret = c;
	return 0;
}

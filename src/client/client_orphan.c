/* The held session forgotten, or left as an orphan on a server that stopped answering and
 * ended later (best effort). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Drop the session id and handle (no request). */
void client_forget_session(struct rl_client *c)
{
	free(c->session_id);
	c->session_id = NULL;
	free(c->handle);
	c->handle = NULL;
}

/* Remember the held session as left on a server that stopped answering, then forget it.
 * If the list is full the oldest is dropped (its server reaps it after its timeout). */
void client_add_orphan(struct rl_client *c)
{
	char *u = strdup(c->url);

	if (u == NULL) { /* cannot remember it: the server reaps it after its timeout */
		client_forget_session(c);
		return;
	}
	if (c->n_orphans == RL_MAX_ORPHANS) {
		free(c->orphans[0].url);
		free(c->orphans[0].id);
		memmove(&c->orphans[0], &c->orphans[1],
			(RL_MAX_ORPHANS - 1) * sizeof(c->orphans[0]));
		c->n_orphans--;
	}
	c->orphans[c->n_orphans].url = u;
	c->orphans[c->n_orphans].id = c->session_id;
	c->n_orphans++;
	c->session_id = NULL;
	free(c->handle);
	c->handle = NULL;
}

/* Try once to end every orphan (DELETE /session/{id}, short timeout); forget those whose
 * server answered anything but a 5xx. Errors are not reported (best effort). */
void client_end_orphans(struct rl_client *c, double timeout)
{
	struct xfer_conf conf;
	struct xfer_resp resp;
	char errbuf[256], path[1024], *esc;
	size_t i = 0;
	CURL *easy;
	int r, n;

	if (c->n_orphans == 0 || client_easy(c, &easy) < 0)
		return;
	while (i < c->n_orphans) {
		struct orphan *o = &c->orphans[i];

		esc = xfer_escape(o->id);
		n = esc != NULL ? snprintf(path, sizeof(path), "/session/%s", esc) : -1;
		curl_free(esc);
		r = -EINVAL;
		if (n > 0 && (size_t)n < sizeof(path)) {
			client_conf(c, &conf, false, false);
			conf.url = o->url;
			conf.connect_timeout = timeout;
			xfer_resp_init(&resp);
			r = xfer_once(easy, &conf, "DELETE", path, NULL, timeout, &resp, errbuf,
				      sizeof(errbuf));
			if (r == 0 && resp.status >= 500)
				r = -EREMOTEIO;
			xfer_resp_free(&resp);
		}
		if (r == -ENOMEM || r == -EREMOTEIO || (r < 0 && r != -EINVAL)) {
			i++;
			continue;
		}
		free(o->url);
		free(o->id);
		memmove(o, o + 1, (c->n_orphans - i - 1) * sizeof(*o));
		c->n_orphans--;
	}
}

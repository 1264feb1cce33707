/* WinRM calls for the loop: copies of the target, a worker thread, the result on the loop. */
#include "remote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strutil.h"
#include "common/workq.h"
#include "common/xmalloc.h"
#include "hosts.h"
#include "opsd.h"
#include "opsd_metrics.h"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void remote_target_from_host(struct remote_target *t, const struct host *h, const char *user,
			     const char *password, const char *transport, bool use_ssl,
			     unsigned port)
{
	memset(t, 0, sizeof(*t));
	t->address = xstrdup(h->address);
	t->user = dup_or_null(user && user[0] ? user : h->winrm_user);
	t->password = dup_or_null(password && password[0] ? password : h->winrm_pass);
	t->transport = xstrdup(transport && transport[0] ? transport : h->winrm_transport);
	t->use_ssl = use_ssl;
	t->port = port ? port : h->winrm_port;
	if (t->port == 0)
		t->port = use_ssl ? 5986 : 5985;
}

struct remote_call *remote_command_new(const struct host *h, const struct remote_overrides *ov,
				       const char *command, char *const *args, size_t nargs,
				       void (*done)(struct remote_call *c, void *userdata),
				       void *userdata)
{
	static const struct remote_overrides none;
	struct remote_call *c = xcalloc(1, sizeof(*c));
	size_t i;

	if (ov == NULL)
		ov = &none;
	c->kind = REMOTE_COMMAND;
	remote_target_from_host(&c->target, h, ov->user, ov->password, ov->transport, ov->use_ssl,
				ov->port);
	c->exe = xstrdup(h->labstation_exe);
	c->args = xcalloc(nargs + 2, sizeof(*c->args));
	c->args[0] = xstrdup(command);
	for (i = 0; i < nargs; i++)
		c->args[i + 1] = xstrdup(args[i]);
	c->nargs = nargs + 1;
	c->done = done;
	c->userdata = userdata;
	return c;
}

bool remote_target_has_credentials(const struct remote_target *t)
{
	return t->user != NULL && t->user[0] && t->password != NULL && t->password[0];
}

void remote_target_clear(struct remote_target *t)
{
	free(t->address);
	str_free_secret(t->user);
	str_free_secret(t->password);
	free(t->transport);
	memset(t, 0, sizeof(*t));
}

void remote_call_free(struct remote_call *c)
{
	size_t i;

	if (c == NULL)
		return;
	remote_target_clear(&c->target);
	free(c->exe);
	if (c->args) {
		for (i = 0; c->args[i]; i++)
			free(c->args[i]);
		free(c->args);
	}
	free(c->path);
	free(c->events_path);
	winrm_result_free(&c->res);
	free(c->content);
	free(c->events);
	free(c);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void fill_target(const struct remote_call *c, const struct opsd_config *cfg,
			struct winrm_target *w)
{
	memset(w, 0, sizeof(*w));
	w->scheme = c->target.use_ssl ? "https" : NULL;
	w->host = c->target.address;
	w->port = c->target.port;
	w->transport = c->target.transport;
	w->user = c->target.user;
	w->password = c->target.password;
	w->ca_file = cfg->winrm_ca_file;
	w->skip_verify = cfg->winrm_insecure;
	w->read_timeout_ms = (unsigned)(cfg->winrm_read_timeout * 1000.0);
	w->operation_timeout_ms = (unsigned)(cfg->winrm_operation_timeout * 1000.0);
	w->total_timeout_ms = (unsigned)(cfg->winrm_total_timeout * 1000.0);
}

/* Worker thread: reads only the call and the (immutable after start) configuration. */
static void remote_work(void *arg)
{
	struct remote_call *c = arg;
	struct winrm_target w;
	uint64_t start = mono_ms();

	fill_target(c, &c->o->cfg, &w);
	if (c->kind == REMOTE_COMMAND) {
		c->r = winrm_run_command(&w, c->exe, (const char *const *)c->args, c->nargs,
					 &c->res, c->err, sizeof(c->err));
	} else {
		c->r = winrm_read_file(&w, c->path, &c->content, &c->content_len, c->err,
				       sizeof(c->err));
		if (c->r == 0 && c->events_path != NULL)
			c->events_r =
				winrm_read_file(&w, c->events_path, &c->events, &c->events_len,
						c->events_err, sizeof(c->events_err));
	}
	c->duration_ms = mono_ms() - start;
}

static void remote_done(void *arg)
{
	struct remote_call *c = arg;
	struct opsd *o = c->o;

	opsd_metrics_winrm(o->metrics, c->kind == REMOTE_COMMAND ? "command" : "heartbeat", c->r,
			   c->duration_ms);
	c->done(c, c->userdata);
	opsd_busy_dec(o);
}

int remote_submit(struct opsd *o, struct remote_call *c)
{
	int r;

	c->o = o;
	if (o->netq == NULL)
		return -EAGAIN;
	r = workq_submit(o->netq, remote_work, remote_done, c);
	if (r == 0)
		opsd_busy_inc(o);
	return r;
}

/* Each WinRM error: its metric label and the text API callers and the journal get. */
static const struct {
	int r;
	const char *label;
	const char *message;
} remote_errors[] = {
	{ -EINVAL, "invalid", "WinRM request is invalid (check credentials and endpoint)" },
	{ -ENOTSUP, "unsupported", "WinRM transport is not supported" },
	{ -EACCES, "auth_failed", "WinRM authentication failed" },
	{ -ECONNREFUSED, "refused", "WinRM connection refused" },
	{ -EHOSTUNREACH, "unresolved", "WinRM host could not be resolved" },
	{ -ETIMEDOUT, "timeout", "WinRM request timed out" },
	{ -ECONNRESET, "reset", "WinRM connection closed unexpectedly" },
	{ -ECONNABORTED, "cut_off",
	  "WinRM connection closed after the command was sent; it was not sent again "
	  "(it may have run)" },
	{ -EPROTO, "protocol", "WinRM protocol or TLS error" },
	{ -EREMOTEIO, "remote_error", "WinRM request failed on the remote host" },
	{ -EMSGSIZE, "too_large", "WinRM output too large" },
	{ -E2BIG, "too_large", "WinRM output too large" },
	{ -EAGAIN, "busy", "Worker is busy, try again later" },
};

#define REMOTE_N_ERRORS (sizeof(remote_errors) / sizeof(remote_errors[0]))

/* The entry of r, or REMOTE_N_ERRORS. */
static size_t remote_error_index(int r)
{
	size_t i;

	for (i = 0; i < REMOTE_N_ERRORS; i++)
		if (remote_errors[i].r == r)
			return i;
	return REMOTE_N_ERRORS;
}

const char *remote_result_label(int r)
{
	size_t i = remote_error_index(r);

	if (r == 0)
		return "ok";
	return i < REMOTE_N_ERRORS ? remote_errors[i].label : "error";
}

const char *remote_error_message(int r)
{
	size_t i = remote_error_index(r);

	return i < REMOTE_N_ERRORS ? remote_errors[i].message : "WinRM request failed";
}

/* WinRM client: the command flow (Create, Command, Receive..., Signal, Delete) and the
 * library's entry points. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "winrm_int.h"

#define CLEANUP_TIMEOUT_MS 5000u
#define REQUEST_MAX (6u * WINRM_MAX_COMMAND_LINE + 16384u)

/* ---- library init ---------------------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

/* Initialise libcurl and libxml2 exactly once. */
static void global_init_once(void)
{
	init_result = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
	xmlInitParser();
}

/* One-time library initialisation. */
int winrm_global_init(void)
{
	pthread_once(&init_once, global_init_once);
	return init_result;
}

struct session {
	const struct winrm_conf *conf;
	struct winrm_http *http;
	struct buf req;
	struct buf resp;
	uint64_t deadline; /* monotonic ms; 0: none */
	char shell_id[WINRM_ID_MAX];
	char command_id[WINRM_ID_MAX];
};

/* Monotonic clock in milliseconds. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Send one request and parse the reply. Cleanup requests (Signal/Delete after a failure
 * or after Done) get their own short budget, so they still run after the deadline.
 * Returns 0 with *rep filled (also for SOAP faults: the caller decides), or an error.
 */
static int exchange(struct session *s, struct winrm_soap_req *q, bool cleanup, struct buf *out,
		    struct buf *err, struct winrm_reply *rep, char *errbuf, size_t errlen)
{
	const struct winrm_conf *c = s->conf;
	char msgid[48];
	unsigned timeout = c->read_timeout_ms;
	bool clamped = false;
	long status = 0;
	int r;

	winrm_soap_new_message_id(msgid);
	q->to = c->url;
	q->message_id = msgid;
	q->operation_timeout_ms = c->operation_timeout_ms;
	q->codepage = c->codepage;
	buf_reset(&s->req);
	r = winrm_soap_build(q, &s->req);
	if (r == -EINVAL || r == -EILSEQ)
		return winrm_err(errbuf, errlen, r,
				 "command text is not valid UTF-8 XML character data");
	if (r < 0)
		return winrm_err(errbuf, errlen, r, "cannot build WinRM %s request",
				 winrm_soap_action_name(q->action));

	if (cleanup) {
		if (timeout > CLEANUP_TIMEOUT_MS)
			timeout = CLEANUP_TIMEOUT_MS;
	} else if (s->deadline) {
		uint64_t now = now_ms();

		if (now >= s->deadline)
			return winrm_err(errbuf, errlen, -ETIMEDOUT,
					 "WinRM command did not finish within %u ms",
					 c->total_timeout_ms);
		if (s->deadline - now < timeout) {
			timeout = (unsigned)(s->deadline - now);
			clamped = true;
		}
	}

	r = winrm_http_post(s->http, s->req.data, s->req.len,
			    q->action == WINRM_ACTION_COMMAND ? WINRM_HTTP_ONCE : 0, timeout,
			    &s->resp, &status, errbuf, errlen);
	if (r == -ETIMEDOUT && clamped)
		return winrm_err(errbuf, errlen, -ETIMEDOUT,
				 "WinRM command did not finish within %u ms", c->total_timeout_ms);
	if (r < 0)
		return r;

	r = winrm_soap_parse(s->resp.data, s->resp.len, s->command_id[0] ? s->command_id : NULL,
			     out, err, rep, errbuf, errlen);
	if (r < 0) {
		if (status == 500 && r == -EPROTO)
			return winrm_err(errbuf, errlen, -EREMOTEIO,
					 "WinRM %s failed: HTTP 500 without a readable SOAP fault",
					 winrm_soap_action_name(q->action));
		return r;
	}
	if (status == 500 && !rep->is_fault)
		return winrm_err(errbuf, errlen, -EPROTO,
				 "WinRM %s failed: HTTP 500 without SOAP fault",
				 winrm_soap_action_name(q->action));
	if (rep->relates_to[0] && strcmp(rep->relates_to, msgid) != 0)
		return winrm_err(
			errbuf, errlen, -EPROTO,
			"WinRM %s response does not belong to the request (RelatesTo mismatch)",
			winrm_soap_action_name(q->action));
	if (!rep->relates_to[0] && !rep->is_fault &&
	    (q->action == WINRM_ACTION_SIGNAL || q->action == WINRM_ACTION_DELETE))
		return winrm_err(errbuf, errlen, -EPROTO, "WinRM %s response has no RelatesTo",
				 winrm_soap_action_name(q->action));
	return 0;
}

/* Error text for a SOAP fault answer to action. */
static int fault_error(enum winrm_action a, const struct winrm_fault *f, char *errbuf,
		       size_t errlen)
{
	char line[1100];

	winrm_soap_fault_format(f, line, sizeof(line));
	return winrm_err(errbuf, errlen, -EREMOTEIO, "WinRM %s failed: %s",
			 winrm_soap_action_name(a), line);
}

/* Send a request whose reply carries nothing but success or a fault. */
static int simple_step(struct session *s, enum winrm_action a, bool cleanup, char *errbuf,
		       size_t errlen)
{
	struct winrm_soap_req q = { .action = a,
				    .shell_id = s->shell_id,
				    .command_id = s->command_id };
	struct winrm_reply rep;
	int r;

	r = exchange(s, &q, cleanup, NULL, NULL, &rep, errbuf, errlen);
	if (r == 0 && rep.is_fault)
		r = fault_error(a, &rep.fault, errbuf, errlen);
	return r;
}

/* Send Create or Command and copy the id its answer must carry (ShellId, CommandId) to
 * dst (WINRM_ID_MAX bytes). */
static int open_step(struct session *s, struct winrm_soap_req *q, char *dst, char *errbuf,
		     size_t errlen)
{
	bool create = q->action == WINRM_ACTION_CREATE;
	struct winrm_reply rep;
	const char *id;
	int r;

	r = exchange(s, q, false, NULL, NULL, &rep, errbuf, errlen);
	if (r < 0)
		return r;
	if (rep.is_fault)
		return fault_error(q->action, &rep.fault, errbuf, errlen);
	id = create ? rep.shell_id : rep.command_id;
	if (!id[0])
		return winrm_err(errbuf, errlen, -EPROTO, "WinRM %s response has no %s",
				 winrm_soap_action_name(q->action),
				 create ? "ShellId" : "CommandId");
	memcpy(dst, id, WINRM_ID_MAX);
	return 0;
}

/* Signal terminate (if a command exists) and Delete (if a shell exists); first error wins. */
static int cleanup(struct session *s)
{
	char scratch[256];
	int r = 0, q;

	if (s->command_id[0]) {
		r = simple_step(s, WINRM_ACTION_SIGNAL, true, scratch, sizeof(scratch));
		s->command_id[0] = 0;
	}
	if (s->shell_id[0]) {
		q = simple_step(s, WINRM_ACTION_DELETE, true, scratch, sizeof(scratch));
		if (r == 0)
			r = q;
		s->shell_id[0] = 0;
	}
	return r;
}

/* Whether the command line fits our cap. */
static bool command_fits(const char *command, const char *const *args, size_t nargs)
{
	size_t total = strlen(command), i;

	for (i = 0; i < nargs; i++) {
		if (!args[i])
			return false;
		total += 1 + strlen(args[i]);
		if (total > WINRM_MAX_COMMAND_LINE)
			return false;
	}
	return total <= WINRM_MAX_COMMAND_LINE;
}

/* Create -> Command -> Receive... -> Signal -> Delete. */
int winrm_run_resolved(const struct winrm_conf *conf, const char *command, const char *const *args,
		       size_t nargs, struct winrm_result *ret, char *errbuf, size_t errlen)
{
	struct session s;
	struct winrm_soap_req q;
	struct winrm_reply rep;
	struct buf out, err;
	struct winrm_result res;
	uint64_t start = now_ms();
	int r;

	memset(&s, 0, sizeof(s));
	memset(&res, 0, sizeof(res));
	buf_init(&out, conf->max_output);
	buf_init(&err, conf->max_output);
	buf_init(&s.req, REQUEST_MAX);
	buf_init(&s.resp, WINRM_MAX_RESPONSE);
	s.conf = conf;
	if (conf->total_timeout_ms)
		s.deadline = start + conf->total_timeout_ms;

	if (!command || !*command || (nargs && !args)) {
		r = winrm_err(errbuf, errlen, -EINVAL, "a WinRM command is required");
		goto out;
	}
	for (size_t i = 0; i < nargs; i++) {
		if (!args[i]) {
			r = winrm_err(errbuf, errlen, -EINVAL, "WinRM argument %zu is NULL", i);
			goto out;
		}
	}
	if (!command_fits(command, args, nargs)) {
		r = winrm_err(errbuf, errlen, -E2BIG, "WinRM command line exceeds %u bytes",
			      WINRM_MAX_COMMAND_LINE);
		goto out;
	}
	r = winrm_http_new(conf, &s.http, errbuf, errlen);
	if (r < 0)
		goto out;

	memset(&q, 0, sizeof(q));
	q.action = WINRM_ACTION_CREATE;
	r = open_step(&s, &q, s.shell_id, errbuf, errlen);
	if (r < 0)
		goto fail;

	memset(&q, 0, sizeof(q));
	q.action = WINRM_ACTION_COMMAND;
	q.shell_id = s.shell_id;
	q.command = command;
	q.args = args;
	q.nargs = nargs;
	r = open_step(&s, &q, s.command_id, errbuf, errlen);
	if (r < 0)
		goto fail;

	for (;;) {
		/* The two streams share one cap. */
		out.max = conf->max_output - err.len;
		err.max = conf->max_output - out.len;
		memset(&q, 0, sizeof(q));
		q.action = WINRM_ACTION_RECEIVE;
		q.shell_id = s.shell_id;
		q.command_id = s.command_id;
		r = exchange(&s, &q, false, &out, &err, &rep, errbuf, errlen);
		if (r == -E2BIG || (r == 0 && out.len + err.len > conf->max_output))
			r = winrm_err(errbuf, errlen, -E2BIG,
				      "WinRM command output exceeds the limit of %zu bytes",
				      conf->max_output);
		if (r < 0)
			goto fail;
		if (rep.is_fault) {
			/* w:TimedOut only means "no output within OperationTimeout": ask again. */
			if (rep.fault.timed_out)
				continue;
			r = fault_error(q.action, &rep.fault, errbuf, errlen);
			goto fail;
		}
		if (rep.done)
			break;
	}
	if (!rep.has_exit_code) {
		r = winrm_err(errbuf, errlen, -EPROTO,
			      "WinRM command finished without an ExitCode");
		goto fail;
	}
	res.exit_code = rep.exit_code;
	res.duration_ms = now_ms() - start;
	res.cleanup_status = cleanup(&s);

	r = buf_ensure(&out);
	if (r == 0)
		r = buf_ensure(&err);
	if (r < 0) {
		winrm_result_free(&res);
		r = winrm_err(errbuf, errlen, r, "out of memory");
		goto out;
	}
	res.out = (uint8_t *)out.data;
	res.out_len = out.len;
	res.err = (uint8_t *)err.data;
	res.err_len = err.len;
	out.data = err.data = NULL;
	*ret = res;
	goto out;

fail:
	cleanup(&s);
out:
	winrm_http_free(s.http);
	buf_free(&out);
	buf_free(&err);
	buf_free(&s.req);
	buf_free(&s.resp);
	return r;
}

int winrm_run_begin(bool args_ok, char *errbuf, size_t errlen)
{
	int r;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!args_ok)
		return winrm_err(errbuf, errlen, -EINVAL, "invalid arguments");
	r = winrm_global_init();
	if (r < 0)
		return winrm_err(errbuf, errlen, r, "cannot initialise libcurl");
	return 0;
}

/* Public entry: resolve the target, run, scrub the error text. */
int winrm_run_command(const struct winrm_target *target, const char *command,
		      const char *const *args, size_t nargs, struct winrm_result *ret, char *errbuf,
		      size_t errlen)
{
	struct winrm_conf conf;
	int r;

	r = winrm_run_begin(target && ret, errbuf, errlen);
	if (r < 0)
		return r;
	r = winrm_conf_resolve(target, &conf, errbuf, errlen);
	if (r == 0) {
		r = winrm_run_resolved(&conf, command, args, nargs, ret, errbuf, errlen);
		winrm_conf_done(&conf);
	}
	if (r < 0)
		winrm_err_scrub(errbuf, target->password);
	return r;
}

/* Release the buffers of a result. */
void winrm_result_free(struct winrm_result *result)
{
	if (!result)
		return;
	free(result->out);
	free(result->err);
	memset(result, 0, sizeof(*result));
}

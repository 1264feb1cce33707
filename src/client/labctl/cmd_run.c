/* labctl run: session, queue, lab and heartbeats around one COMMAND, always cleaned up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labctl.h"

/* True when the last error says the server no longer knows the session. */
static bool session_gone(struct rl_client *c)
{
	const struct rl_error *e = rl_client_error(c);

	return e->code == -ENOENT && e->http_status == 404 &&
	       strncmp(e->detail, "Session not found", 17) == 0;
}

/* True when the last error says the server did not answer (after the restart ride-out). */
static bool host_lost(struct rl_client *c)
{
	int r = rl_client_error(c)->code;

	return r == -ECONNREFUSED || r == -ECONNRESET || r == -EHOSTUNREACH || r == -ETIMEDOUT ||
	       r == -EIO;
}

/*
 * Release the lab (if held) and end the session; never cancelled by signals. A session
 * the server dropped on its own (stale) is reported: the lab may have been torn down
 * under COMMAND. Returns false when that happened. *lost is set when the server no
 * longer answered (a host that died while we held its lab).
 */
static bool cleanup(struct rl_client *c, bool acquired, bool quiet, bool *lost)
{
	struct rl_heartbeat_info hb;
	bool gone = false;
	int r;

	rl_client_set_cancel(c, NULL, NULL);
	rl_heartbeat_get_info(c, &hb);
	rl_heartbeat_stop(c);
	if (hb.failed > 0)
		labctl_err("warning: %lu heartbeat%s failed (last: %s)", hb.failed,
			   hb.failed == 1 ? "" : "s", rl_strerror(hb.last_error));
	if (acquired) {
		r = rl_lab_release(c);
		if (r < 0 && session_gone(c))
			gone = true;
		else if (r < 0 && acquired && host_lost(c))
			*lost = true;
		else if (r < 0)
			labctl_err("warning: lab release: %s", rl_client_errmsg(c));
	}
	if (rl_session_id(c) == NULL)
		return !gone;
	r = rl_session_end(c);
	if (r < 0 && session_gone(c))
		gone = true;
	else if (r < 0 && acquired && host_lost(c))
		*lost = true;
	else if (r < 0)
		labctl_err("warning: session end: %s", rl_client_errmsg(c));
	else if (!quiet)
		fprintf(stderr, "%s: session ended\n", labctl_prog);
	if (gone)
		labctl_err("warning: the server had already dropped the session (stale: no "
			   "heartbeat within its timeout?)");
	return !gone;
}

/* Export the lab to COMMAND's environment. */
static int export_env(struct rl_client *c, const char *file, size_t n)
{
	char count[32];

	snprintf(count, sizeof(count), "%zu", n);
	if (setenv("REMOTE_LAB_DEVICES_FILE", file, 1) < 0 ||
	    setenv("REMOTE_LAB_DEVICE_COUNT", count, 1) < 0 ||
	    setenv("REMOTE_LAB_SESSION_ID", rl_session_id(c), 1) < 0 ||
	    setenv("REMOTE_LAB_URL", rl_client_url(c), 1) < 0 ||
	    unsetenv("REMOTE_LAB_URLS") < 0) { /* COMMAND's own tools talk to this server */
		labctl_err("cannot set the environment: %s", strerror(errno));
		return LABCTL_EXIT_LOCAL;
	}
	return 0;
}

/* Queue and wait: one server as the original (create, heartbeat, wait), or a pool. */
static int obtain(struct rl_client *c, const struct opts *o, bool *quiet)
{
	struct rl_session_opts so;
	bool has = labctl_session_opts(o, &so);
	int r, pos;

	if (rl_client_url_count(c) > 1) {
		if (!*quiet)
			fprintf(stderr, "%s: choosing among %zu servers\n", labctl_prog,
				rl_client_url_count(c));
		r = rl_session_obtain(c, has ? &so : NULL, true, 0, output_progress, quiet);
		output_progress_done();
		if (r < 0)
			return labctl_fail(c, r, "waiting for a session");
		if (!*quiet)
			fprintf(stderr, "%s: host %s (%s) serves this job\n", labctl_prog,
				rl_client_host_name(c) != NULL ? rl_client_host_name(c) : "?",
				rl_client_url(c));
		return 0;
	}
	r = has ? rl_session_create_opts(c, &so, &pos) : rl_session_create(c, &pos);
	if (r < 0)
		return labctl_fail(c, r, "session");
	if (!*quiet)
		fprintf(stderr, "%s: session %s created at queue position %d\n", labctl_prog,
			rl_session_id(c), pos);
	r = rl_heartbeat_start(c, 0);
	if (r < 0)
		return labctl_fail(c, r, "heartbeat");
	r = rl_session_wait_active(c, 0, 0, output_progress, quiet);
	output_progress_done();
	if (r < 0)
		return labctl_fail(c, r, "waiting for the session");
	return 0;
}

int cmd_run(const struct opts *o)
{
	struct rl_lab_request *req = NULL;
	struct rl_devices *d = NULL;
	struct rl_client *c = NULL;
	char *file = NULL;
	bool acquired = false, quiet = o->quiet, lost = false;
	int r, ex, status;

	if (o->argc == 0)
		return labctl_usage_error(
			"run: no COMMAND given (labctl run --topology FILE -- COMMAND ...)");
	ex = labctl_pool_client(o, &c);
	if (ex != 0)
		return ex;
	/* files are read before queueing, so a typo fails now, not after the wait */
	ex = lab_request_from_opts(c, o, &req);
	if (ex != 0)
		goto out;
	if (rl_client_prefer_warm(c, req) < 0) {
		labctl_err("out of memory");
		ex = LABCTL_EXIT_LOCAL;
		goto out;
	}

	child_install_signals();
	rl_client_set_cancel(c, child_cancel_hook, NULL);

	ex = obtain(c, o, &quiet);
	if (ex != 0) {
		if (rl_session_id(c) == NULL)
			goto out;
		goto cleanup;
	}
	if (!quiet)
		fprintf(stderr, "%s: acquiring lab from %s...\n", labctl_prog, o->topology);
	r = rl_lab_acquire(c, req, &d);
	if (r < 0) {
		ex = labctl_fail(c, r, "acquiring the lab");
		if (ex == LABCTL_EXIT_SERVER)
			ex = LABCTL_EXIT_ACQUIRE;
		goto cleanup;
	}
	acquired = true;
	if (!quiet)
		fprintf(stderr, "%s: lab acquired%s: %zu device%s\n", labctl_prog,
			d->reused ? " (reused)" : "", d->n, d->n == 1 ? "" : "s");
	ex = output_write_devices_file(d, o->devices_file, &file);
	if (ex != 0)
		goto cleanup;
	ex = export_env(c, file, d->n);
	if (ex != 0)
		goto cleanup;
	if (child_signal) {
		ex = 128 + child_signal;
		goto cleanup;
	}
	ex = child_run(o->argv, &status);
	if (ex == 0)
		ex = status;
	if (!quiet && child_signal)
		fprintf(stderr, "%s: got signal %d; cleaning up\n", labctl_prog, (int)child_signal);

cleanup:
	cleanup(c, acquired, quiet, &lost);
	if (lost) { /* never retried elsewhere: the job's lab is gone with its host */
		labctl_err("error: lost the lab host %s%s%s%s while holding its lab: %s",
			   rl_client_url(c), rl_client_host_name(c) != NULL ? " (" : "",
			   rl_client_host_name(c) != NULL ? rl_client_host_name(c) : "",
			   rl_client_host_name(c) != NULL ? ")" : "", rl_client_errmsg(c));
		if (ex == 0)
			ex = LABCTL_EXIT_UNREACHABLE;
	}
	if (child_signal && (ex == 0 || ex == LABCTL_EXIT_SERVER) && !acquired)
		ex = 128 + child_signal;
out:
	if (file != NULL && o->devices_file == NULL && !o->keep_devices_file)
		unlink(file);
	free(file);
	rl_devices_free(d);
	rl_lab_request_free(req);
	rl_client_free(c);
	return ex;
}

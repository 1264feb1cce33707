/* The only place that knows netlab's command lines and output formats. */
#define LOG_COMPONENT "neops_remote_lab.netlab.connector"
#include "netlab.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/strutil.h"
#include "common/xmalloc.h"

#define NETLAB_MAX_ARGS 12
#define NETLAB_DETAIL_TAIL 2048

struct netlab_run {
	enum netlab_step step;
	const char *argv[NETLAB_MAX_ARGS];
	char *arg;             /* owned copy of the variable argument */
	int mlid;              /* multilab instance; 0: default */
	char mlid_text[16];    /* "12" */
	char mlid_setting[48]; /* "defaults.multilab.id=12" */
	char *cmdline;         /* "netlab up topology.yml" for messages (valid UTF-8) */
	const struct netlab_config *cfg;
	struct spawn_group group; /* reported to cfg->on_child while the child runs */
	bool group_known;
	char *cwd;
	bool expected_failure;
	struct spawn *child;
	netlab_done_fn done;
	void *userdata;
};

/* Every node's `netlab inspect --node N` data in one call. netlab evaluates an inspect
 * expression with Python's eval over the transformed topology (netsim/outputs/yaml.py), so the
 * expression can call the very function `--node` uses (netsim/outputs/common.py
 * adjust_inventory_host) for each node, and add `_netlab_version` as --node's output does. A
 * netlab that cannot evaluate it fails with "Error trying to evaluate"; the server then falls
 * back to `inspect nodes` + one `inspect --node` per node. */
static const char netlab_inspect_all_expr[] =
	"type(nodes)({n: dict(__import__(\"netsim.outputs.common\", "
	"fromlist=[\"adjust_inventory_host\"]).adjust_inventory_host(node=nodes[n], "
	"defaults=defaults, group_vars=True), _netlab_version=_netlab_version) for n in nodes})";

/* argv after the program name, per step (spec §4.7 and the fake-netlab contract A.8). */
static size_t netlab_build_argv(struct netlab_run *run, const char *command)
{
	const char **a = run->argv;
	size_t n = 0;

	a[n++] = command;
	switch (run->step) {
	case NETLAB_VERSION:
		a[n++] = "version";
		break;
	case NETLAB_DOWN_DEFAULT:
		a[n++] = "down";
		a[n++] = "--instance";
		a[n++] = "default";
		a[n++] = "--cleanup";
		break;
	case NETLAB_UP:
		a[n++] = "up";
		if (run->mlid > 0) {
			a[n++] = "--plugin";
			a[n++] = "multilab";
			a[n++] = "-s";
			a[n++] = run->mlid_setting;
		}
		a[n++] = run->arg;
		break;
	case NETLAB_INSPECT_ALL:
	case NETLAB_INSPECT_NODES:
	case NETLAB_INSPECT_NODE:
		a[n++] = "inspect";
		a[n++] = "-q";
		a[n++] = "--format";
		a[n++] = "json";
		if (run->mlid > 0) {
			a[n++] = "-i";
			a[n++] = run->mlid_text;
		}
		if (run->step == NETLAB_INSPECT_ALL) {
			a[n++] = netlab_inspect_all_expr;
		} else if (run->step == NETLAB_INSPECT_NODES) {
			a[n++] = "nodes";
		} else {
			a[n++] = "--node";
			a[n++] = run->arg;
		}
		break;
	case NETLAB_DOWN:
	case NETLAB_DOWN_FORCE:
		a[n++] = "down";
		a[n++] = "--cleanup";
		if (run->step == NETLAB_DOWN_FORCE)
			a[n++] = "--force";
		if (run->mlid > 0) {
			a[n++] = "-i";
			a[n++] = run->mlid_text;
		}
		break;
	case NETLAB_STATUS_ALL:
		a[n++] = "status";
		a[n++] = "--all";
		a[n++] = "--format";
		a[n++] = "json";
		break;
	}
	a[n] = NULL;
	return n;
}

static uint64_t netlab_timeout(const struct netlab_config *cfg, enum netlab_step step)
{
	switch (step) {
	case NETLAB_VERSION:
		return cfg->version_timeout;
	case NETLAB_UP:
		return cfg->up_timeout;
	case NETLAB_INSPECT_ALL:
	case NETLAB_INSPECT_NODES:
	case NETLAB_INSPECT_NODE:
	case NETLAB_STATUS_ALL:
		return cfg->inspect_timeout;
	default:
		return cfg->down_timeout;
	}
}

static void netlab_on_line(void *userdata, enum spawn_stream stream, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\r' || line[n - 1] == '\t'))
		n--;
	if (n > 0)
		log_debug("[netlab] %.*s", (int)n, line);
}

/* Log the newest stderr lines of a failed step, one log line each. */
static void netlab_log_stderr(int level, const struct netlab_run *run,
			      const struct spawn_result *res)
{
	const char *s = buf_cstr(&res->err), *end = s + res->err.len, *p = end;
	int lines = 0;

	if (res->err.len == 0)
		return;
	log_write(level, LOG_COMPONENT, "`%s` stderr (%.1fs)%s:", run->cmdline,
		  (double)res->duration_usec / 1e6, res->err.dropped ? " (tail)" : "");
	/* Step back over at most the last 40 lines. */
	while (p > s) {
		if (p[-1] == '\n' && p != end && ++lines >= 40)
			break;
		p--;
	}
	while (*p != '\0') {
		size_t len = strcspn(p, "\n");

		if (len > 0)
			log_write(level, LOG_COMPONENT, "  %.*s", (int)len, p);
		p += len;
		if (*p == '\n')
			p++;
	}
}

static size_t netlab_stderr_tail(const struct spawn_result *res, char out[NETLAB_DETAIL_TAIL + 1]);

/* The child is gone (or about to be killed by spawn_free): no leftover to end later. */
static void netlab_run_forget_group(struct netlab_run *run)
{
	if (!run->group_known)
		return;
	run->group_known = false;
	run->cfg->on_child(run->cfg->op_userdata, &run->group, false);
}

static void netlab_on_done(struct spawn *sp, struct spawn_result *res, void *userdata)
{
	struct netlab_run *run = userdata;
	double secs = (double)res->duration_usec / 1e6;
	bool ok = res->exited && res->exit_code == 0 && !res->timed_out;
	char how[64];

	spawn_describe(res, how, sizeof(how));
	if (ok) {
		log_info("`%s` finished successfully (%.1fs)", run->cmdline, secs);
	} else if (run->expected_failure) {
		netlab_log_stderr(LOG_LEVEL_DEBUG, run, res);
		log_debug("`%s` failed with %s (%.1fs) - expected failure", run->cmdline, how,
			  secs);
	} else {
		netlab_log_stderr(LOG_LEVEL_ERROR, run, res);
		log_error("`%s` failed with %s (%.1fs)", run->cmdline, how, secs);
	}
	if (res->stdout_truncated)
		log_warn("`%s` wrote more than %zu bytes to stdout; the rest was dropped",
			 run->cmdline, res->out.max);
	if (ok && res->out.len > 0)
		log_debug("`%s` stdout: %.*s", run->cmdline,
			  (int)(res->out.len > 2000 ? 2000 : res->out.len), buf_cstr(&res->out));
	netlab_run_forget_group(run);
	if (run->cfg->on_op != NULL) {
		char tail[NETLAB_DETAIL_TAIL + 1];

		netlab_stderr_tail(res, tail);
		run->cfg->on_op(run->cfg->op_userdata, run->cmdline, run->cwd, secs, ok, how, tail);
	}
	run->done(run, ok, res, run->userdata);
}

int netlab_run(sd_event *e, const struct netlab_config *cfg, enum netlab_step step, const char *cwd,
	       int mlid, const char *arg, netlab_done_fn done, void *userdata,
	       struct netlab_run **ret)
{
	struct netlab_run *run = xcalloc(1, sizeof(*run));
	struct spawn_options opt = { 0 };
	struct buf cmd;
	size_t n, i;
	int r;

	run->step = step;
	run->arg = arg ? xstrdup(arg) : NULL;
	run->cwd = cwd ? xstrdup(cwd) : NULL;
	run->cfg = cfg;
	run->mlid = mlid;
	snprintf(run->mlid_text, sizeof(run->mlid_text), "%d", mlid);
	snprintf(run->mlid_setting, sizeof(run->mlid_setting), "defaults.multilab.id=%d", mlid);
	run->expected_failure = step == NETLAB_DOWN_DEFAULT || step == NETLAB_DOWN_FORCE;
	run->done = done;
	run->userdata = userdata;
	n = netlab_build_argv(run, cfg->command);
	buf_init(&cmd, 4096);
	(void)buf_append_str(&cmd, "netlab");
	for (i = 1; i < n; i++)
		(void)buf_printf(&cmd, " %s",
				 run->argv[i] == netlab_inspect_all_expr
					 ? "'<every node's --node data>'"
					 : run->argv[i]);
	run->cmdline = buf_steal(&cmd, NULL);
	str_utf8_repair(run->cmdline, strlen(run->cmdline)); /* a topology name from a client */

	opt.argv = run->argv;
	opt.cwd = run->cwd;
	opt.timeout_usec = netlab_timeout(cfg, step);
	opt.term_signal = SIGINT; /* netlab logs "command was interrupted" and exits 1 */
	opt.kill_grace_usec = 10 * USEC_PER_SEC;
	opt.stdout_max = cfg->stdout_max;
	opt.stderr_max = cfg->stderr_max;
	if (cfg->stream)
		opt.on_line = netlab_on_line;
	log_debug("Running: %s (cwd=%s)", run->cmdline, cwd ? cwd : ".");
	r = spawn_start(e, &opt, netlab_on_done, run, &run->child);
	if (r < 0) {
		log_error("cannot run `%s`: %s", run->cmdline, strerror(-r));
		netlab_run_free(run);
		return r;
	}
	if (cfg->on_child != NULL && spawn_get_group(run->child, &run->group) == 0) {
		run->group_known = true;
		cfg->on_child(cfg->op_userdata, &run->group, true);
	}
	*ret = run;
	return 0;
}

void netlab_interrupt(struct netlab_run *run)
{
	if (run != NULL && run->child != NULL)
		spawn_signal(run->child, SIGINT);
}

void netlab_run_free(struct netlab_run *run)
{
	if (run == NULL)
		return;
	netlab_run_forget_group(run);
	spawn_free(run->child);
	free(run->arg);
	free(run->cmdline);
	free(run->cwd);
	free(run);
}

const char *netlab_run_cmdline(const struct netlab_run *run)
{
	return run->cmdline;
}

int netlab_run_pid(const struct netlab_run *run)
{
	return run != NULL && run->child != NULL ? (int)spawn_pid(run->child) : 0;
}

bool netlab_unknown_instance(const struct spawn_result *res)
{
	return res->exited && res->exit_code == 1 && !res->timed_out &&
	       memmem(buf_cstr(&res->err), res->err.len, "Unknown instance",
		      strlen("Unknown instance")) != NULL;
}

bool netlab_inspect_all_unsupported(const struct spawn_result *res)
{
	return res->exited && res->exit_code == 1 && !res->timed_out &&
	       memmem(buf_cstr(&res->err), res->err.len, "Error trying to evaluate",
		      strlen("Error trying to evaluate")) != NULL;
}

/* The newest stderr bytes (at most NETLAB_DETAIL_TAIL), as valid UTF-8 for JSON. */
static size_t netlab_stderr_tail(const struct spawn_result *res, char out[NETLAB_DETAIL_TAIL + 1])
{
	size_t len = res->err.len;
	const char *tail = buf_cstr(&res->err);

	if (len > NETLAB_DETAIL_TAIL) {
		tail += len - NETLAB_DETAIL_TAIL;
		len = NETLAB_DETAIL_TAIL;
	}
	memcpy(out, tail, len);
	out[len] = '\0';
	return str_utf8_repair(out, len);
}

json_t *netlab_error_json(const struct netlab_run *run, const struct spawn_result *res)
{
	char how[64], detail[NETLAB_DETAIL_TAIL + 512], tail[NETLAB_DETAIL_TAIL + 1];
	size_t len = netlab_stderr_tail(res, tail);
	const char *last = tail + len, *end;

	spawn_describe(res, how, sizeof(how));
	/* The detail names the command and, when there is one, netlab's last stderr line. */
	while (last > tail && (last[-1] == '\n' || last[-1] == '\r' || last[-1] == ' '))
		last--;
	end = last;
	while (last > tail && last[-1] != '\n')
		last--;
	if (end > last)
		snprintf(detail, sizeof(detail), "`%s` failed with %s: %.*s", run->cmdline, how,
			 (int)(end - last), last);
	else
		snprintf(detail, sizeof(detail), "`%s` failed with %s", run->cmdline, how);
	str_utf8_repair(detail, strlen(detail));
	return json_pack("{s:s, s:{s:s, s:o, s:o, s:b, s:s%}}", "detail", detail, "netlab",
			 "command", run->cmdline, "exit_code",
			 res->exited ? json_integer(res->exit_code) : json_null(), "signal",
			 res->exited ? json_null() : json_integer(res->signal), "timed_out",
			 res->timed_out, "stderr_tail", tail, len);
}

bool netlab_dir_locked(const char *workdir)
{
	char path[4096];

	if (workdir == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/netlab.lock", workdir) >= sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

/* An absolute form of path: netlab runs in other working directories than ours. */
static char *netlab_absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

int netlab_locate(const char *command, char **ret_path)
{
	const char *path, *p;
	struct stat st;
	char buf[4096];

	if (strchr(command, '/') != NULL) {
		if (stat(command, &st) < 0 || !S_ISREG(st.st_mode) || access(command, X_OK) < 0)
			return -ENOENT;
		*ret_path = netlab_absolute(command);
		return 0;
	}
	path = getenv("PATH");
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0';) {
		size_t len = strcspn(p, ":");

		if (len > 0 &&
		    (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, command) <
			    sizeof(buf) &&
		    stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) {
			*ret_path = netlab_absolute(buf);
			return 0;
		}
		p += len;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
}

int netlab_preflight(const struct netlab_config *cfg, char **ret_output, char **ret_warnings,
		     char **ret_error)
{
	struct netlab_run run = { .step = NETLAB_VERSION };
	struct spawn_options opt = { 0 };
	struct spawn_result res;
	char how[64];
	int r;

	netlab_build_argv(&run, cfg->command);
	opt.argv = run.argv;
	opt.timeout_usec = cfg->version_timeout;
	opt.stdout_max = 64 * 1024;
	opt.stderr_max = 4096;
	r = spawn_run_sync(&opt, &res);
	if (r < 0) {
		*ret_error = xasprintf("%s", strerror(-r));
		return r;
	}
	if (!res.exited || res.exit_code != 0 || res.timed_out) {
		spawn_describe(&res, how, sizeof(how));
		*ret_error = xasprintf("`netlab version` failed with %s%s%s", how,
				       res.err.len ? ": " : "", buf_cstr(&res.err));
		spawn_result_free(&res);
		return -EIO;
	}
	*ret_output = buf_steal(&res.out, NULL);
	*ret_warnings = buf_steal(&res.err, NULL);
	spawn_result_free(&res);
	return 0;
}

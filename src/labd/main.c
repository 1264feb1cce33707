/* neops-remote-lab: command line, start-up order, single-instance guard, signals and shutdown. */
#define LOG_COMPONENT LABD_LOGGER
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "children.h"
#include "cli.h"
#include "common/buf.h"
#include "common/lock.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/statefile.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "instance.h"
#include "labd.h"
#include "events.h"
#include "labops.h"
#include "state.h"

/* Apply --log-config: "key = value" lines. Missing file: defaults, like the original's
 * fallback to its packaged config. */
static void setup_logging(const struct cli *cli)
{
	const struct labd_config *c = &cli->cfg;
	char *text = NULL, *line, *save = NULL;
	enum log_format format;
	int level = LOG_LEVEL_INFO, r;

	(void)log_parse_level(c->log_level, &level);
	log_set_level(level);
	if (access(c->log_config, F_OK) == 0) {
		r = statefile_read(c->log_config, 64 * 1024, &text, NULL);
		if (r < 0) {
			log_error("Error processing logging config: %s: %s", c->log_config,
				  strerror(-r));
		} else if (strstr(text, "version:") != NULL && strstr(text, "handlers") != NULL) {
			log_warn(
				"%s is a Python logging dictConfig; neops-remote-lab ignores it and "
				"uses its built-in format (see --log-config in --help)",
				c->log_config);
		} else {
			for (line = strtok_r(text, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				char key[32], value[64];

				if (line[0] == '#' || strspn(line, " \t\r") == strlen(line))
					continue;
				if (sscanf(line, " %31[a-z_] = %63s", key, value) != 2) {
					log_error(
						"Error processing logging config: %s: bad line '%s'",
						c->log_config, line);
					break;
				}
				if (strcmp(key, "level") == 0 &&
				    log_parse_level(value, &level) == 0 &&
				    strcasecmp(c->log_level, "INFO") == 0)
					log_set_level(level); /* --log-level/--debug win */
				else if (strcmp(key, "format") == 0 &&
					 log_parse_format(value, &format) == 0)
					log_set_format(format);
				else
					log_error(
						"Error processing logging config: %s: unknown setting "
						"'%s = %s'",
						c->log_config, key, value);
			}
		}
		free(text);
	}
	if (cli->log_format != NULL && log_parse_format(cli->log_format, &format) == 0)
		log_set_format(format);
	log_info("Loaded logging config (level: %s)", log_level_name(log_get_level()));
}

/* --- shutdown --- */

static sd_event_source *shutdown_deadline;

static void log_sessions_at_shutdown(struct labd *d)
{
	struct session *s;
	struct buf b;

	buf_init(&b, 4096);
	(void)buf_append_str(&b, "[");
	/* Handles, not ids: a session id is a credential. */
	SESSIONS_FOREACH(s, &d->sessions)
	{
		if (buf_printf(&b, "%s'%s'", b.len > 1 ? ", " : "", s->handle) < 0) {
			(void)buf_append_str(&b, ", ...");
			break;
		}
	}
	(void)buf_append_str(&b, "]");
	log_info("Active sessions at shutdown: %s", buf_cstr(&b));
	buf_free(&b);
}

static void on_final_teardown(struct labd *d, const struct labop_result *res, void *userdata)
{
	unsigned i, kept = 0;

	if (d->cfg.keep_labs) {
		for (i = 0; i < d->slots.n; i++)
			kept += d->slots.labs[i].state == LAB_UP;
		if (state_save(d) == 0)
			log_info("Kept %u labs and %zu sessions for the next start (--keep-labs)",
				 kept, sessions_count(&d->sessions));
		d->state_frozen = true;
	}
	if (res->outcome == LABOP_FAILED)
		log_error("Error during final cleanup: %s",
			  res->error ? json_string_value(json_object_get(res->error, "detail"))
				     : "a lab teardown failed");
	log_info("Remote Lab Manager shutdown complete");
	sd_event_exit(d->event, 0);
}

static int on_shutdown_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct labd *d = userdata;

	log_error("Shutdown did not finish in time; stopping anyway");
	sd_event_exit(d->event, 1);
	return 0;
}

static void labd_shutdown(struct labd *d)
{
	struct session *s;
	size_t n = sessions_count(&d->sessions);

	log_info("Remote Lab Manager shutting down...");
	loop_notify("STOPPING=1");
	d->shutting_down = true;
	loop_timer_disarm(d->sweep_timer);
	http_server_quiesce(d->http);
	labops_cancel(d->ops);
	if (d->cfg.keep_labs) {
		/* Sessions and labs stay; waiting acquires got 503 and starts in progress are
		 * interrupted and cleaned up (their sessions stay, without a lab). */
		log_info("Keeping labs and sessions for the next start (--keep-labs)");
	} else if (n > 0) {
		log_info("Cleaning up %zu remaining sessions...", n);
		while ((s = sessions_first(&d->sessions)) != NULL)
			labd_session_end(d, s, SESSION_END_SHUTDOWN, "server-shutdown", NULL, NULL);
	}
	/* An interrupted start's cleanup and the final teardown may both take a down's time. */
	(void)loop_timer_arm(d->event, &shutdown_deadline,
			     (uint64_t)((2 * d->cfg.netlab_down_timeout + 30) * USEC_PER_SEC),
			     on_shutdown_deadline, d);
	/* Runs after any start still in progress has been interrupted and cleaned up. */
	labops_shutdown(d->ops, d->cfg.keep_labs, on_final_teardown, NULL);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct labd *d = userdata;

	if (d->shutting_down) {
		log_warn("Received signal %u again, stopping now", si->ssi_signo);
		sd_event_exit(d->event, 1);
		return 0;
	}
	log_warn("Received signal %u, shutting down gracefully...", si->ssi_signo);
	log_sessions_at_shutdown(d);
	labd_shutdown(d);
	return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	log_info("Received SIGHUP; nothing to reload");
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Log `netlab version`: its first line at INFO, the rest at DEBUG, and whatever it wrote
 * to stderr (netlab's warnings) at WARNING. */
static void log_netlab_version(const char *path, const char *out, const char *warnings)
{
	const char *p;
	bool first = true;

	for (p = out; *p != '\0';) {
		size_t len = strcspn(p, "\n");

		if (first)
			log_info("Detected %.*s (%s)", (int)len, p, path);
		else if (len > 0)
			log_debug("netlab version: %.*s", (int)len, p);
		first = false;
		p += len + (p[len] == '\n');
	}
	for (p = warnings; *p != '\0';) {
		size_t len = strcspn(p, "\n");

		if (len > 0)
			log_warn("`netlab version` says: %.*s", (int)len, p);
		p += len + (p[len] == '\n');
	}
}

/* --token-file, --tls-cert, --tls-key: read them before anything starts (exit 1 on error). */
static int load_access(const struct cli *cli, struct labd_auth *auth, char **cert, char **key)
{
	char err[512];
	int r;

	if (cli->token_file != NULL) {
		r = labd_auth_load(auth, cli->token_file, err, sizeof(err));
		if (r < 0) {
			log_crit("%s", err);
			return r;
		}
	}
	if (cli->tls_cert != NULL) {
		r = statefile_read(cli->tls_cert, 1 << 20, cert, NULL);
		if (r < 0) {
			log_crit("cannot read the TLS certificate %s: %s", cli->tls_cert,
				 strerror(-r));
			return r;
		}
		r = statefile_read(cli->tls_key, 1 << 20, key, NULL);
		if (r < 0) {
			log_crit("cannot read the TLS key %s: %s", cli->tls_key, strerror(-r));
			return r;
		}
	}
	return 0;
}

static void labd_on_netlab_op(void *userdata, const char *cmdline, const char *cwd, double secs,
			      bool ok, const char *how, const char *stderr_tail)
{
	labd_netlab_op(userdata, cmdline, cwd, secs, ok, how, stderr_tail);
}

static void labd_on_netlab_child(void *userdata, const struct spawn_group *group, bool started)
{
	labd_children_track(((struct labd *)userdata)->children, group, started);
}

/* Slots and their multilab ids: with one slot the default instance (the original); with
 * more, ids from --multilab-ids (never 121, the default instance's subnet), the slots' first
 * and the rest kept as spares. */
static void labd_slots_setup(struct labd *d)
{
	int id;

	d->mlids = xcalloc((size_t)(d->cfg.mlid_max - d->cfg.mlid_min + 2), sizeof(int));
	for (id = d->cfg.mlid_min; id <= d->cfg.mlid_max; id++)
		if (id != NETLAB_MLID_DEFAULT_SUBNET)
			d->mlids[d->n_mlids++] = id;
	slots_init(&d->slots, d->cfg.lab_slots, d->cfg.lab_slots > 1 ? d->mlids : NULL);
	if (d->cfg.lab_slots == 1)
		d->n_mlids = 0; /* the default instance only: no spares */
	if (d->cfg.lab_slots > 1)
		log_info("%u lab slots on netlab multilab instances %d..%d", d->cfg.lab_slots,
			 d->mlids[0], d->mlids[d->cfg.lab_slots - 1]);
}

int main(int argc, char **argv)
{
	struct labd d = { 0 };
	struct cli cli = { 0 };
	struct http_server_config hc = { 0 };
	struct labd_auth auth = { 0 };
	char *netlab_path = NULL, *version = NULL, *warnings = NULL, *error = NULL;
	char *tls_cert = NULL, *tls_key = NULL;
	char cwd[PATH_MAX];
	int lock_fd = -1, r, ret = 1;

	cli_parse(argc, argv, &cli);
	d.cfg = cli.cfg;
	if (d.cfg.debug)
		setenv("NEOPS_NETLAB_STREAM_OUTPUT", "1", 1);
	log_init(LABD_LOGGER);
	setup_logging(&cli);
	if (d.cfg.debug)
		log_info("Debug mode enabled. Netlab output will be streamed to console and "
			 "loglevel set to DEBUG.");

	d.tmpdir = instance_tmpdir();
	d.cwd = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
	d.lab_lock_path = xasprintf("%s/netlab_pytest.lock", d.tmpdir);
	d.started_wall = loop_wall_seconds();
	d.started_mono = loop_now(NULL);
	sessions_init(&d.sessions);
	labd_slots_setup(&d);
	raise_fd_limit();
	r = loop_new(&d.event);
	if (r < 0) {
		log_crit("cannot set up the event loop: %s", strerror(-r));
		goto out;
	}

	if (load_access(&cli, &auth, &tls_cert, &tls_key) < 0)
		goto out;

	/* Start-up order of the original (spec §5.5). */
	if (instance_lock(d.tmpdir, &lock_fd) < 0)
		goto out;
	instance_write_meta(&d, argc, argv);
	log_info("Starting Remote Lab Manager on %s:%u", d.cfg.host, d.cfg.port);
	/* Before anything runs netlab: end what a crashed instance left running. */
	d.children = labd_children_new(d.tmpdir);
	if (!spawn_uses_pidfd())
		log_info("pidfd_open(2) is not available: child processes are tracked through "
			 "SIGCHLD");

	if (netlab_locate(d.cfg.netlab_command, &netlab_path) < 0) {
		log_error(
			"'netlab' CLI not found in PATH. The Remote Lab Manager requires Netlab to "
			"orchestrate labs.");
		log_error("Install Netlab: https://netlab.tools/install/ubuntu/");
		log_error(
			"After installation, ensure your shell can find 'netlab' (relogin or reload "
			"your shell).");
		goto out_meta;
	}
	d.netlab = (struct netlab_config){
		.command = netlab_path,
		.up_timeout = (uint64_t)(d.cfg.netlab_up_timeout * USEC_PER_SEC),
		.down_timeout = (uint64_t)(d.cfg.netlab_down_timeout * USEC_PER_SEC),
		.inspect_timeout = (uint64_t)(d.cfg.netlab_inspect_timeout * USEC_PER_SEC),
		.version_timeout = (uint64_t)(d.cfg.netlab_inspect_timeout * USEC_PER_SEC),
		.stream = d.cfg.debug || (getenv("NEOPS_NETLAB_STREAM_OUTPUT") &&
					  strcmp(getenv("NEOPS_NETLAB_STREAM_OUTPUT"), "1") == 0),
		.stdout_max = 16 << 20,
		.stderr_max = 64 << 10,
	};
	if (netlab_preflight(&d.netlab, &version, &warnings, &error) < 0) {
		log_error("Failed to execute 'netlab version': %s", error);
		log_error(
			"Please verify your Netlab installation: https://netlab.tools/install/ubuntu/");
		goto out_meta;
	}
	log_netlab_version(netlab_path, version, warnings);

	d.upload_limits = (struct upload_limits){
		.file_max = d.cfg.max_file_size,
		.total_max = d.cfg.max_total_size,
		.files_max = d.cfg.max_files,
	};
	if (d.cfg.admin_token_file != NULL) {
		char err[512];

		r = labd_auth_load(&d.admin, d.cfg.admin_token_file, err, sizeof(err));
		if (r < 0) {
			log_error("--admin-token-file: %s", err);
			goto out_meta;
		}
		log_info("Admin routes enabled (token from %s)", d.cfg.admin_token_file);
	}
	d.events = events_new(&d);
	if (labd_metrics_init(&d) < 0) {
		log_crit("cannot set up the metrics");
		goto out_meta;
	}
	d.netlab.on_op = labd_on_netlab_op;
	d.netlab.on_child = labd_on_netlab_child;
	d.netlab.op_userdata = &d;
	d.ops = labops_new(&d);
	/* Kept sessions and labs are restored before the server listens: a client polling
	 * through a restart never sees its session missing. */
	r = state_restore(&d, d.ops);
	if (r < 0)
		goto out_meta;
	for (unsigned i = 0; i < d.cfg.n_prewarm; i++) {
		r = labops_prewarm(d.ops, d.cfg.prewarm[i]);
		if (r < 0) {
			log_error("--prewarm %s: %s", d.cfg.prewarm[i],
				  r == -EINVAL ? "not a usable topology file" : strerror(-r));
			goto out_meta;
		}
	}
	hc.host = d.cfg.host;
	hc.port = d.cfg.port;
	hc.routes =
		api_routes_get(&hc.n_routes, (size_t)(d.cfg.max_total_size +
						      (uint64_t)d.cfg.max_files * 4096 + 65536));
	hc.head_as_get = true;
	hc.default_body_max = 64 * 1024;
	hc.connection_limit = d.cfg.max_connections;
	hc.connection_timeout = d.cfg.connection_timeout;
	hc.per_ip_connection_limit = cli.max_per_address;
	hc.request_timeout = cli.request_timeout;
	hc.tls_cert_pem = tls_cert;
	hc.tls_key_pem = tls_key;
	if (auth.token != NULL) {
		labd_auth_install(&auth);
		hc.before = labd_auth_before;
	}
	hc.error = api_error;
	hc.userdata = &d;
	hc.answered = labd_metrics_http;
	hc.log_component = "uvicorn.error";
	r = http_server_new(d.event, &hc, &d.http);
	str_free_secret(tls_key);
	tls_key = NULL;
	if (r < 0)
		goto out_meta;
	if (d.cfg.port == 0) {
		d.cfg.port = http_server_port(d.http);
		instance_write_meta(&d, argc, argv);
	}
	log_info("Listening on %s://%s:%u (Press CTRL+C to quit)", tls_cert ? "https" : "http",
		 d.cfg.host, d.cfg.port);
	if (auth.token != NULL)
		log_info(
			"Access control on: every route but /healthz, the status page's files and /admin/* "
			"needs the bearer token");

	log_info("Remote Lab Manager starting up...");
	log_info("Performing startup cleanup of stale netlab instances...");
	{
		json_t *leftovers = state_leftovers(&d);

		labops_startup(d.ops, leftovers);
		json_decref(leftovers);
	}
	labd_sweeper_start(&d);
	if (sd_event_add_signal(d.event, NULL, SIGTERM, on_signal, &d) < 0 ||
	    sd_event_add_signal(d.event, NULL, SIGINT, on_signal, &d) < 0 ||
	    sd_event_add_signal(d.event, NULL, SIGHUP, on_sighup, &d) < 0) {
		log_crit("cannot watch signals");
		goto out_meta;
	}
	(void)sd_event_set_watchdog(d.event, true); /* pings WATCHDOG=1 when WatchdogSec= is set */
	log_info("Remote Lab Manager startup complete");
	loop_notify("READY=1\nSTATUS=Serving lab sessions");

	ret = sd_event_loop(d.event);
	if (ret < 0) {
		log_crit("event loop failed: %s", strerror(-ret));
		ret = 1;
	}
out_meta:
	labops_free(d.ops);
	d.ops = NULL;
	http_server_free(d.http, 503);
	events_free(d.events);
	labd_metrics_free(d.metrics);
	labd_children_free(d.children);
	instance_remove_meta(d.tmpdir);
out:
	lock_release(lock_fd);
	sd_event_source_disable_unref(shutdown_deadline);
	sd_event_source_disable_unref(d.sweep_timer);
	labd_auth_clear(&d.admin);
	labd_auth_clear(&auth);
	free(tls_cert);
	str_free_secret(tls_key);
	sd_event_source_disable_unref(d.state_save);
	sessions_free(&d.sessions);
	slots_free(&d.slots);
	free(d.mlids);
	sd_event_unref(d.event);
	free(netlab_path);
	free(version);
	free(warnings);
	free(error);
	free(d.tmpdir);
	free(d.cwd);
	free(d.lab_lock_path);
	return ret;
}

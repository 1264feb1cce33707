/* ops-worker: Lab Station operations worker (Wake-on-LAN, WinRM, heartbeats, reservations). */
#define LOG_COMPONENT "ops-worker"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mysql.h>

#include "api.h"
#include "common/http.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/workq.h"
#include "common/xmalloc.h"
#include "db.h"
#include "dbq.h"
#include "heartbeat_stream.h"
#include "poller.h"
#include "journal.h"
#include "opsd.h"
#include "opsd_metrics.h"
#include "reach.h"
#include "scheduler.h"
#include "wake.h"
#include "winrm/winrm.h"

#define NET_THREADS 8
#define NET_MAX_PENDING 1024
#define SHUTDOWN_GRACE_USEC (60 * USEC_PER_SEC)

static const char usage[] =
	"Usage: ops-worker [--help] [--version]\n"
	"\n"
	"Lab Station operations worker: Wake-on-LAN, LabStation.exe commands over WinRM,\n"
	"heartbeat polling and reservation automation, served over HTTP.\n"
	"\n"
	"Configuration is read from the environment (defaults in brackets):\n"
	"  OPS_BIND [0.0.0.0]  OPS_PORT [8081]  OPS_CONFIG [/etc/ops-worker/hosts.json]\n"
	"  MYSQL_DSN [unset: SQLite]  OPS_DB [auto|sqlite|mysql|none]\n"
	"  OPS_STATE_DIR [$STATE_DIRECTORY or /var/lib/ops-worker]  OPS_SQLITE_PATH\n"
	"  OPS_WINRM_READ_TIMEOUT [30]  OPS_WINRM_OPERATION_TIMEOUT [20]\n"
	"  OPS_WINRM_TOTAL_TIMEOUT [600]  OPS_WINRM_CA_FILE  OPS_WINRM_INSECURE [false]\n"
	"  OPS_ALLOWED_COMMANDS [prepare-session,release-session,power,session,energy,\n"
	"                        status-json,recovery,account,service,wol,status]\n"
	"  OPS_REACH_METHOD [icmp | tcp:<port>]\n"
	"  OPS_POLL_ENABLED [false]  OPS_POLL_INTERVAL [60]\n"
	"  OPS_RESERVATION_AUTOMATION [false]  OPS_RESERVATION_SCAN_INTERVAL [30]\n"
	"  OPS_RESERVATION_START_LEAD [120]  OPS_RESERVATION_END_DELAY [60]\n"
	"  OPS_RESERVATION_LOOKBACK [21600]  OPS_RESERVATION_RETRY_COOLDOWN [60]\n"
	"  OPS_RESERVATION_MAX_BATCH [200]  OPS_RESERVATION_MAX_ATTEMPTS [10]\n"
	"  OPS_RESERVATION_CLAIM_TTL [the longest step: 730 with these defaults]\n"
	"  OPS_RESERVATION_WAKE_TIMEOUT [10]\n"
	"  OPS_WORKER_ID [host:pid]\n"
	"  OPS_TIMELINE_MAX_OPS [500]  OPS_TIMELINE_DEFAULT_LIMIT [100]\n"
	"  OPS_TIMELINE_PHASE_LOOKBACK [500]  OPS_JOURNAL_SPOOL_MAX [10000]\n"
	"  OPS_JOURNAL_SPOOL_RETRY [5]  OPS_MAX_BODY [65536]\n"
	"  OPS_MAX_CONNECTIONS [512]: open HTTP connections in all; more are closed at once\n"
	"  OPS_MAX_CONNECTIONS_PER_ADDRESS [a quarter of OPS_MAX_CONNECTIONS]: the same, from\n"
	"                        one client address (at most OPS_MAX_CONNECTIONS)\n"
	"  OPS_REQUEST_TIMEOUT [60]: seconds a client has to send a complete request (header\n"
	"                        and body) after connecting or its previous answer; idle\n"
	"                        keep-alive connections last this long (at most the next)\n"
	"  OPS_IDLE_CONNECTION_TIMEOUT [300]: close a connection without traffic this long\n"
	"  OPS_HEARTBEAT_SSE_INTERVAL_SECONDS [10]: polls of the hosts that\n"
	"                        /api/heartbeat/stream readers watch (0: none of its own)\n"
	"  LAB_MANAGER_TOKEN [unset]: when set, needed on every route but /health, /metrics\n"
	"  OPS_ALLOWED_NETWORKS [127.0.0.0/8,::1/128,172.16.0.0/12]\n"
	"  OPS_LOG_LEVEL [INFO]  OPS_LOG_FORMAT [text|json|journal]\n"
	"\n"
	"Prometheus metrics: GET /metrics; the API's OpenAPI 3.1 document: GET /openapi.json.\n"
	"See docs/ops-worker.md.\n";

static bool opsd_idle(const struct opsd *o)
{
	return o->busy == 0 && http_server_suspended(o->http) == 0 && dbq_pending(o->dbq) == 0 &&
	       (o->netq == NULL || workq_pending(o->netq) == 0);
}

static int on_shutdown_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct opsd *o = userdata;
	static uint64_t deadline;

	if (deadline == 0)
		deadline = loop_now(o->event) + SHUTDOWN_GRACE_USEC;
	if (opsd_idle(o)) {
		sd_event_exit(o->event, 0);
		return 0;
	}
	if (loop_now(o->event) >= deadline) {
		log_error("shutdown grace expired with %u operation(s) in flight, exiting now",
			  o->busy);
		_exit(1);
	}
	loop_timer_arm(o->event, &o->grace_timer, 50 * USEC_PER_MSEC, on_shutdown_tick, o);
	return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct opsd *o = userdata;

	if (o->stopping)
		return 0;
	log_info("received %s, shutting down", strsignal((int)si->ssi_signo));
	loop_notify("STOPPING=1");
	o->stopping = true;
	http_server_quiesce(o->http);
	poller_stop(o->poller);
	scheduler_stop(o->sched);
	heartbeat_stream_stop(o->hbstream);
	wake_cancel_all(o);
	journal_stop_waiting(o->journal);
	on_shutdown_tick(NULL, 0, o);
	return 0;
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct opsd *o = userdata;
	char err[512];

	if (api_load_hosts(o, err, sizeof(err)) < 0)
		log_error("hosts reload from %s on SIGHUP failed, keeping the previous hosts: %s",
			  o->cfg.hosts_path, err);
	return 0;
}

static int connect_work(struct db *db, void *arg)
{
	return 0;
}

static int open_database(struct opsd *o)
{
	struct db *db = NULL;
	int r;

	if (o->cfg.db == CONFIG_DB_NONE) {
		log_warn("no database (OPS_DB=none): persistence is off");
		return 0;
	}
	if (o->cfg.db == CONFIG_DB_SQLITE) {
		db_sqlite_new(o->cfg.sqlite_path, &db);
		r = db_connect(db);
		if (r == 0)
			r = db_apply_schema(db);
		if (r < 0) {
			log_crit("cannot open SQLite database '%s': %s", o->cfg.sqlite_path,
				 db_errmsg(db));
			db_close(db);
			return r;
		}
		if (db->schema_kept)
			log_warn(
				"database (sqlite): cannot create tables (%s); using the existing ones",
				db_errmsg(db));
		log_info("database: SQLite %s (WAL)", o->cfg.sqlite_path);
	} else {
		if (mysql_library_init(0, NULL, NULL) != 0) {
			log_crit("cannot initialise the MariaDB client library");
			return -EIO;
		}
		r = db_mysql_new(o->cfg.mysql_dsn, &db);
		if (r < 0) {
			log_crit("MYSQL_DSN is not a valid mysql:// URL");
			return r;
		}
		log_info("database: MySQL/MariaDB (connecting in the background)");
	}
	r = dbq_new(o->event, db, &o->dbq);
	if (r < 0) {
		db_close(db);
		return r;
	}
	if (o->cfg.db == CONFIG_DB_MYSQL)
		(void)dbq_submit(o->dbq, connect_work, NULL, NULL);
	return 0;
}

static int ensure_state_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opsd o = { 0 };
	struct http_server_config hc = { 0 };
	enum log_format fmt;
	char err[512];
	int c, r, ret = 1;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("ops-worker %s\n", RL_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ops-worker: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	log_init("ops-worker");
	if (config_load(&o.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "ops-worker: %s\n", err);
		config_free(&o.cfg);
		return 2;
	}
	log_set_level(o.cfg.log_level);
	if (o.cfg.log_format != NULL) {
		if (log_parse_format(o.cfg.log_format, &fmt) < 0) {
			fprintf(stderr,
				"ops-worker: OPS_LOG_FORMAT must be text, json or journal\n");
			config_free(&o.cfg);
			return 2;
		}
		log_set_format(fmt);
	}
	if (auth_init(&o.auth, o.cfg.token, o.cfg.allowed_networks, err, sizeof(err)) < 0) {
		fprintf(stderr, "ops-worker: %s\n", err);
		config_free(&o.cfg);
		return 2;
	}
	r = winrm_global_init();
	if (r < 0) {
		log_crit("cannot initialise the WinRM client: %s", strerror(-r));
		goto out;
	}
	if (api_load_hosts(&o, err, sizeof(err)) < 0) {
		log_crit("cannot load hosts from %s: %s", o.cfg.hosts_path, err);
		goto out;
	}
	if (o.cfg.db != CONFIG_DB_NONE) {
		r = ensure_state_dir(o.cfg.state_dir);
		if (r < 0)
			log_warn("state directory '%s' is not usable: %s", o.cfg.state_dir,
				 strerror(-r));
	}
	r = loop_new(&o.event);
	if (r < 0) {
		log_crit("cannot create event loop: %s", strerror(-r));
		goto out;
	}
	r = workq_new(o.event, NET_THREADS, NET_MAX_PENDING, &o.netq);
	if (r < 0) {
		log_crit("cannot start worker threads: %s", strerror(-r));
		goto out;
	}
	if (open_database(&o) < 0)
		goto out;
	journal_new(&o, &o.journal);
	o.metrics = opsd_metrics_new(&o);
	o.hbstream = heartbeat_stream_new(&o);
	if (o.cfg.reach == CONFIG_REACH_ICMP && reach_icmp_available() < 0)
		log_warn(
			"ICMP reachability checks need CAP_NET_RAW or net.ipv4.ping_group_range; "
			"wake-and-wait will report hosts as down (or set OPS_REACH_METHOD=tcp:<port>)");

	hc.host = o.cfg.bind;
	hc.port = o.cfg.port;
	hc.routes = api_routes;
	hc.n_routes = api_n_routes;
	hc.head_as_get = true;
	hc.default_body_max = o.cfg.body_max;
	hc.connection_limit = o.cfg.max_connections;
	hc.per_ip_connection_limit = o.cfg.max_per_address;
	hc.request_timeout = o.cfg.request_timeout;
	hc.connection_timeout = o.cfg.idle_timeout;
	hc.before = api_before;
	hc.error = api_error;
	hc.userdata = &o;
	hc.log_component = "ops-worker.http";
	r = http_server_new(o.event, &hc, &o.http);
	if (r < 0)
		goto out;

	if (o.cfg.poll_enabled && poller_new(&o, &o.poller) < 0)
		goto out;
	if (o.cfg.automation) {
		if (o.dbq == NULL)
			log_warn(
				"OPS_RESERVATION_AUTOMATION is on but there is no database: disabled");
		else if (scheduler_new(&o, &o.sched) < 0)
			goto out;
	}
	sd_event_add_signal(o.event, NULL, SIGTERM, on_term, &o);
	sd_event_add_signal(o.event, NULL, SIGINT, on_term, &o);
	sd_event_add_signal(o.event, NULL, SIGHUP, on_hup, &o);

	log_info("ops-worker %s listening on %s:%u (db=%s, poller=%s, automation=%s, auth=%s)",
		 RL_VERSION, o.cfg.bind, http_server_port(o.http), dbq_backend(o.dbq),
		 o.poller ? "on" : "off", o.sched ? "on" : "off", o.auth.token ? "token" : "none");
	log_info("connections: at most %u, %u per address; a request within %u s, idle %u s",
		 o.cfg.max_connections, o.cfg.max_per_address, o.cfg.request_timeout,
		 o.cfg.idle_timeout);
	loop_notify("READY=1\nSTATUS=serving");
	r = sd_event_loop(o.event);
	ret = r < 0 ? 1 : 0;
out:
	http_server_free(o.http, 503);
	o.http = NULL;
	heartbeat_stream_free(o.hbstream);
	poller_free(o.poller);
	scheduler_free(o.sched);
	workq_free(o.netq);
	o.netq = NULL;
	dbq_free(o.dbq);
	o.dbq = NULL;
	journal_free(o.journal);
	opsd_metrics_free(o.metrics);
	sd_event_source_disable_unref(o.grace_timer);
	hosts_unref(o.hosts);
	auth_clear(&o.auth);
	if (o.cfg.db == CONFIG_DB_MYSQL)
		mysql_library_end();
	config_free(&o.cfg);
	sd_event_unref(o.event);
	return ret;
}

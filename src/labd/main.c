/* neops-remote-lab: command line, start-up order, single-instance guard, signals and shutdown. */
#define LOG_COMPONENT LABD_LOGGER
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "common/buf.h"
#include "common/lock.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/statefile.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "instance.h"
#include "labd.h"
#include "labops.h"

#define USAGE_LINE \
	"usage: neops-remote-lab [-h] [--host HOST] [--port PORT] [--log-level LOG_LEVEL]\n" \
	"                        [--log-config LOG_CONFIG] [--log-format FORMAT] [--debug]\n" \
	"                        [--version] [--netlab-command PATH] [--netlab-up-timeout S]\n" \
	"                        [--netlab-down-timeout S] [--netlab-inspect-timeout S]\n" \
	"                        [--active-session-timeout S] [--waiting-session-timeout S]\n" \
	"                        [--idle-lab-keep S] [--max-upload-file-size BYTES]\n" \
	"                        [--max-upload-total-size BYTES] [--max-upload-files N]\n" \
	"                        [--max-sessions N] [--max-connections N]\n" \
	"                        [--max-connections-per-address N] [--request-timeout S]\n" \
	"                        [--idle-connection-timeout S] [--token-file FILE]\n" \
	"                        [--tls-cert FILE] [--tls-key FILE]\n"

static void usage(FILE *f)
{
	fputs(USAGE_LINE
	      "\n"
	      "Start the Remote Lab Manager\n"
	      "\n"
	      "options:\n"
	      "  -h, --help            show this help message and exit\n"
	      "  --host HOST           address to bind (default: 0.0.0.0)\n"
	      "  --port PORT           TCP port (default: 8000; 0 picks a free port and logs it)\n"
	      "  --log-level LOG_LEVEL\n"
	      "                        DEBUG, INFO, WARNING, ERROR or CRITICAL, any case\n"
	      "                        (default: INFO)\n"
	      "  --log-config LOG_CONFIG\n"
	      "                        logging settings file (default: logging_config.yaml in\n"
	      "                        the working directory; used only if it exists). Lines of\n"
	      "                        'key = value': level, format (text|json|journal). A\n"
	      "                        Python logging dictConfig from the original server is\n"
	      "                        recognised and ignored with a warning.\n"
	      "  --log-format FORMAT   text, json or journal (default: journal under systemd,\n"
	      "                        else text)\n"
	      "  --debug               DEBUG level, and stream netlab's output into the log\n"
	      "                        (sets NEOPS_NETLAB_STREAM_OUTPUT=1)\n"
	      "  --version             show program's version number and exit\n"
	      "\n"
	      "netlab:\n"
	      "  --netlab-command PATH netlab executable (default: 'netlab' on PATH)\n"
	      "  --netlab-up-timeout S seconds `netlab up` may run before its process group\n"
	      "                        is interrupted and killed (default: 1800)\n"
	      "  --netlab-down-timeout S\n"
	      "                        likewise for `netlab down` (default: 600)\n"
	      "  --netlab-inspect-timeout S\n"
	      "                        likewise for `netlab inspect` and `netlab version`\n"
	      "                        (default: 120)\n"
	      "\n"
	      "sessions and labs:\n"
	      "  --active-session-timeout S\n"
	      "                        an ACTIVE session silent for longer is reaped and its lab\n"
	      "                        torn down (default: 300)\n"
	      "  --waiting-session-timeout S\n"
	      "                        a WAITING session silent for longer is dropped\n"
	      "                        (default: 600)\n"
	      "  --idle-lab-keep S     keep a lab up this long after its session ended, so the\n"
	      "                        next session asking for the same topology with reuse=true\n"
	      "                        attaches without a new `netlab up` (default: 0 = tear down\n"
	      "                        at once, like the Python server)\n"
	      "  --max-sessions N      sessions queued at once; more get 429 (default: 100000)\n"
	      "\n"
	      "limits:\n"
	      "  --max-upload-file-size BYTES\n"
	      "                        per uploaded file, K/M/G suffixes allowed; larger gets 413\n"
	      "                        (default: 16M)\n"
	      "  --max-upload-total-size BYTES\n"
	      "                        all files of one POST /lab (default: 64M)\n"
	      "  --max-upload-files N  files in one POST /lab (default: 256)\n"
	      "  --max-connections N   open HTTP connections in all; more are closed at once\n"
	      "                        (default: 4096, lowered to fit the open-files limit)\n"
	      "  --max-connections-per-address N\n"
	      "                        open connections from one client address; more are\n"
	      "                        closed at once (default: a quarter of --max-connections)\n"
	      "  --request-timeout S   a client must send a complete request (header and body)\n"
	      "                        within this long of connecting or of its previous answer,\n"
	      "                        else the connection is closed; idle keep-alive connections\n"
	      "                        last this long too (default: 60, at most\n"
	      "                        --idle-connection-timeout)\n"
	      "  --idle-connection-timeout S\n"
	      "                        close a connection without traffic this long (default: 300);\n"
	      "                        a request waiting for netlab is not idle\n"
	      "\n"
	      "access:\n"
	      "  --token-file FILE     require 'Authorization: Bearer <token>' on every route but\n"
	      "                        /healthz, the token being FILE's content (default: off, or\n"
	      "                        $REMOTE_LAB_TOKEN_FILE). The Python 1.x client cannot send\n"
	      "                        a token: with it on, only labctl/libremotelab clients work.\n"
	      "  --tls-cert FILE       serve HTTPS with this PEM certificate (chain); needs\n"
	      "                        --tls-key (default: plain HTTP)\n"
	      "  --tls-key FILE        the certificate's PEM private key\n"
	      "\n"
	      "Exit status: 0 after a clean stop, 1 when another instance runs or netlab is\n"
	      "missing or broken, 2 for command-line errors. State lives under $TMPDIR.\n",
	      f);
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(USAGE_LINE, stderr);
	fputs("neops-remote-lab: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

enum {
	OPT_HOST = 256, OPT_PORT, OPT_LOG_LEVEL, OPT_LOG_CONFIG, OPT_LOG_FORMAT, OPT_DEBUG,
	OPT_VERSION, OPT_NETLAB_COMMAND, OPT_UP_TIMEOUT, OPT_DOWN_TIMEOUT, OPT_INSPECT_TIMEOUT,
	OPT_ACTIVE_TIMEOUT, OPT_WAITING_TIMEOUT, OPT_IDLE_KEEP, OPT_MAX_FILE, OPT_MAX_TOTAL,
	OPT_MAX_FILES, OPT_MAX_SESSIONS, OPT_MAX_CONNECTIONS, OPT_CONNECTION_TIMEOUT,
	OPT_MAX_PER_ADDRESS, OPT_REQUEST_TIMEOUT, OPT_TOKEN_FILE, OPT_TLS_CERT, OPT_TLS_KEY,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-config", required_argument, NULL, OPT_LOG_CONFIG },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "netlab-command", required_argument, NULL, OPT_NETLAB_COMMAND },
	{ "netlab-up-timeout", required_argument, NULL, OPT_UP_TIMEOUT },
	{ "netlab-down-timeout", required_argument, NULL, OPT_DOWN_TIMEOUT },
	{ "netlab-inspect-timeout", required_argument, NULL, OPT_INSPECT_TIMEOUT },
	{ "active-session-timeout", required_argument, NULL, OPT_ACTIVE_TIMEOUT },
	{ "waiting-session-timeout", required_argument, NULL, OPT_WAITING_TIMEOUT },
	{ "idle-lab-keep", required_argument, NULL, OPT_IDLE_KEEP },
	{ "max-upload-file-size", required_argument, NULL, OPT_MAX_FILE },
	{ "max-upload-total-size", required_argument, NULL, OPT_MAX_TOTAL },
	{ "max-upload-files", required_argument, NULL, OPT_MAX_FILES },
	{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
	{ "idle-connection-timeout", required_argument, NULL, OPT_CONNECTION_TIMEOUT },
	{ "max-connections-per-address", required_argument, NULL, OPT_MAX_PER_ADDRESS },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ NULL, 0, NULL, 0 },
};

static const char *opt_name(int id)
{
	const struct option *o;

	for (o = long_options; o->name != NULL; o++)
		if (o->val == id)
			return o->name;
	return "?";
}

static double opt_seconds(int id, const char *v, double min)
{
	double d;

	if (parse_double(v, min, 31536000.0, &d) < 0)
		usage_error("argument --%s: invalid number of seconds: '%s'", opt_name(id), v);
	return d;
}

static uint64_t opt_uint(int id, const char *v, uint64_t min, uint64_t max)
{
	uint64_t n;

	if (parse_u64(v, min, max, &n) < 0)
		usage_error("argument --%s: invalid int value: '%s'", opt_name(id), v);
	return n;
}

static uint64_t opt_size(int id, const char *v)
{
	uint64_t n;

	if (parse_size(v, (uint64_t)1 << 40, &n) < 0 || n == 0)
		usage_error("argument --%s: invalid size: '%s'", opt_name(id), v);
	return n;
}

struct cli {
	struct labd_config cfg;
	const char *log_format;
	/* connection limits and access (issue 9) */
	unsigned max_per_address;    /* 0: a quarter of max_connections */
	unsigned request_timeout;
	const char *token_file;
	const char *tls_cert;
	const char *tls_key;
};

static void parse_args(int argc, char **argv, struct cli *cli)
{
	struct labd_config *c = &cli->cfg;
	int opt, level;

	*c = (struct labd_config){
		.host = "0.0.0.0",
		.port = 8000,
		.log_level = "INFO",
		.log_config = "logging_config.yaml",
		.netlab_command = "netlab",
		.netlab_up_timeout = 1800,
		.netlab_down_timeout = 600,
		.netlab_inspect_timeout = 120,
		.active_timeout = 300,
		.waiting_timeout = 600,
		.idle_keep = 0,
		.max_file_size = 16ULL << 20,
		.max_total_size = 64ULL << 20,
		.max_files = 256,
		.max_sessions = 100000,
		.max_connections = 4096,
		.connection_timeout = 300,
	};
	cli->request_timeout = 60;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("%s %s\n", LABD_PROGRAM, RL_VERSION);
			exit(0);
		case OPT_HOST: c->host = optarg; break;
		case OPT_PORT: c->port = (unsigned)opt_uint(opt, optarg, 0, 65535); break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &level) < 0)
				usage_error("argument --log-level: invalid level: '%s'", optarg);
			c->log_level = optarg;
			break;
		case OPT_LOG_CONFIG: c->log_config = optarg; break;
		case OPT_LOG_FORMAT: {
			enum log_format f;

			if (log_parse_format(optarg, &f) < 0)
				usage_error("argument --log-format: invalid choice: '%s' (choose from "
					    "'text', 'json', 'journal')", optarg);
			cli->log_format = optarg;
			break;
		}
		case OPT_DEBUG: c->debug = true; break;
		case OPT_NETLAB_COMMAND: c->netlab_command = optarg; break;
		case OPT_UP_TIMEOUT: c->netlab_up_timeout = opt_seconds(opt, optarg, 0.001); break;
		case OPT_DOWN_TIMEOUT: c->netlab_down_timeout = opt_seconds(opt, optarg, 0.001); break;
		case OPT_INSPECT_TIMEOUT: c->netlab_inspect_timeout = opt_seconds(opt, optarg, 0.001); break;
		case OPT_ACTIVE_TIMEOUT: c->active_timeout = opt_seconds(opt, optarg, 0.001); break;
		case OPT_WAITING_TIMEOUT: c->waiting_timeout = opt_seconds(opt, optarg, 0.001); break;
		case OPT_IDLE_KEEP: c->idle_keep = opt_seconds(opt, optarg, 0); break;
		case OPT_MAX_FILE: c->max_file_size = opt_size(opt, optarg); break;
		case OPT_MAX_TOTAL: c->max_total_size = opt_size(opt, optarg); break;
		case OPT_MAX_FILES: c->max_files = (unsigned)opt_uint(opt, optarg, 1, 100000); break;
		case OPT_MAX_SESSIONS: c->max_sessions = (unsigned)opt_uint(opt, optarg, 1, 10000000); break;
		case OPT_MAX_CONNECTIONS: c->max_connections = (unsigned)opt_uint(opt, optarg, 4, 1000000); break;
		case OPT_CONNECTION_TIMEOUT: c->connection_timeout = (unsigned)opt_uint(opt, optarg, 1, 86400); break;
		case OPT_MAX_PER_ADDRESS: cli->max_per_address = (unsigned)opt_uint(opt, optarg, 1, 1000000); break;
		case OPT_REQUEST_TIMEOUT: cli->request_timeout = (unsigned)opt_uint(opt, optarg, 1, 86400); break;
		case OPT_TOKEN_FILE: cli->token_file = optarg; break;
		case OPT_TLS_CERT: cli->tls_cert = optarg; break;
		case OPT_TLS_KEY: cli->tls_key = optarg; break;
		case ':':
			usage_error("argument %s: expected one argument", argv[optind - 1]);
		default:
			usage_error("unrecognized arguments: %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unrecognized arguments: %s", argv[optind]);
	if ((cli->tls_cert == NULL) != (cli->tls_key == NULL))
		usage_error("argument --%s: needed with --%s", cli->tls_cert ? "tls-key" : "tls-cert",
			    cli->tls_cert ? "tls-cert" : "tls-key");
	if (cli->max_per_address > c->max_connections)
		usage_error("argument --max-connections-per-address: more than --max-connections "
			    "(%u)", c->max_connections);
	if (cli->token_file == NULL && getenv("REMOTE_LAB_TOKEN_FILE") != NULL &&
	    getenv("REMOTE_LAB_TOKEN_FILE")[0] != '\0')
		cli->token_file = getenv("REMOTE_LAB_TOKEN_FILE");
	if (c->debug)
		c->log_level = "DEBUG";
}

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
			log_error("Error processing logging config: %s: %s", c->log_config, strerror(-r));
		} else if (strstr(text, "version:") != NULL && strstr(text, "handlers") != NULL) {
			log_warn("%s is a Python logging dictConfig; neops-remote-lab ignores it and "
				 "uses its built-in format (see --log-config in --help)", c->log_config);
		} else {
			for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
				char key[32], value[64];

				if (line[0] == '#' || strspn(line, " \t\r") == strlen(line))
					continue;
				if (sscanf(line, " %31[a-z_] = %63s", key, value) != 2) {
					log_error("Error processing logging config: %s: bad line '%s'",
						  c->log_config, line);
					break;
				}
				if (strcmp(key, "level") == 0 && log_parse_level(value, &level) == 0 &&
				    strcasecmp(c->log_level, "INFO") == 0)
					log_set_level(level); /* --log-level/--debug win */
				else if (strcmp(key, "format") == 0 && log_parse_format(value, &format) == 0)
					log_set_format(format);
				else
					log_error("Error processing logging config: %s: unknown setting "
						  "'%s = %s'", c->log_config, key, value);
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
	QUEUE_FOREACH(s, &d->queue) {
		if (buf_printf(&b, "%s'%s'", b.len > 1 ? ", " : "", s->id) < 0) {
			(void)buf_append_str(&b, ", ...");
			break;
		}
	}
	(void)buf_append_str(&b, "]");
	log_info("Active sessions at shutdown: %s", buf_cstr(&b));
	buf_free(&b);
}

static void on_final_teardown(struct labd *d, int err, json_t *error, void *userdata)
{
	if (err < 0)
		log_error("Error during final cleanup: %s",
			  error ? json_string_value(json_object_get(error, "detail")) : strerror(-err));
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
	size_t n = queue_length(&d->queue);

	log_info("Remote Lab Manager shutting down...");
	loop_notify("STOPPING=1");
	d->shutting_down = true;
	loop_timer_disarm(d->sweep_timer);
	labd_idle_cancel(d);
	http_server_quiesce(d->http);
	labops_cancel(d->ops);
	if (n > 0) {
		log_info("Cleaning up %zu remaining sessions...", n);
		while ((s = queue_head(&d->queue)) != NULL)
			labd_session_end(d, s, "server-shutdown", NULL, NULL);
	}
	(void)loop_timer_arm(d->event, &shutdown_deadline,
			     (uint64_t)((d->cfg.netlab_down_timeout + 30) * USEC_PER_SEC),
			     on_shutdown_deadline, d);
	/* Runs after any acquire still in progress has been interrupted and cleaned up. */
	labops_teardown(d->ops, "server-shutdown", on_final_teardown, NULL);
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
			log_crit("cannot read the TLS certificate %s: %s", cli->tls_cert, strerror(-r));
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

int main(int argc, char **argv)
{
	struct labd d = { 0 };
	struct cli cli = { 0 };
	struct http_server_config hc = { 0 };
	struct labd_auth auth = { 0 };
	char *tls_cert = NULL, *tls_key = NULL;
	char *netlab_path = NULL, *version = NULL, *warnings = NULL, *error = NULL;
	char cwd[PATH_MAX];
	int lock_fd = -1, r, ret = 1;

	parse_args(argc, argv, &cli);
	d.cfg = cli.cfg;
	if (d.cfg.debug)
		setenv("NEOPS_NETLAB_STREAM_OUTPUT", "1", 1);
	log_init(LABD_LOGGER);
	setup_logging(&cli);
	if (d.cfg.debug)
		log_info("Debug mode enabled. Netlab output will be streamed to console and "
			 "loglevel set to DEBUG.");

	if (load_access(&cli, &auth, &tls_cert, &tls_key) < 0)
		goto out;

	d.tmpdir = instance_tmpdir();
	d.cwd = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
	d.lab_lock_path = xasprintf("%s/netlab_pytest.lock", d.tmpdir);
	d.started_wall = loop_wall_seconds();
	d.started_mono = loop_now(NULL);
	queue_init(&d.queue);
	lab_init(&d.lab);
	raise_fd_limit();
	r = loop_new(&d.event);
	if (r < 0) {
		log_crit("cannot set up the event loop: %s", strerror(-r));
		goto out;
	}

	/* Start-up order of the original (spec §5.5). */
	if (instance_lock(d.tmpdir, &lock_fd) < 0)
		goto out;
	instance_write_meta(&d, argc, argv);
	log_info("Starting Remote Lab Manager on %s:%u", d.cfg.host, d.cfg.port);

	if (netlab_locate(d.cfg.netlab_command, &netlab_path) < 0) {
		log_error("'netlab' CLI not found in PATH. The Remote Lab Manager requires Netlab to "
			  "orchestrate labs.");
		log_error("Install Netlab: https://netlab.tools/install/ubuntu/");
		log_error("After installation, ensure your shell can find 'netlab' (relogin or reload "
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
		log_error("Please verify your Netlab installation: https://netlab.tools/install/ubuntu/");
		goto out_meta;
	}
	log_netlab_version(netlab_path, version, warnings);

	d.upload_limits = (struct upload_limits){
		.file_max = d.cfg.max_file_size,
		.total_max = d.cfg.max_total_size,
		.files_max = d.cfg.max_files,
	};
	hc.host = d.cfg.host;
	hc.port = d.cfg.port;
	hc.routes = api_routes_get(&hc.n_routes, (size_t)(d.cfg.max_total_size +
							   (uint64_t)d.cfg.max_files * 4096 + 65536));
	hc.head_as_get = true;
	hc.default_body_max = 64 * 1024;
	hc.connection_limit = d.cfg.max_connections;
	hc.per_ip_connection_limit = cli.max_per_address;
	hc.connection_timeout = d.cfg.connection_timeout;
	hc.request_timeout = cli.request_timeout;
	hc.tls_cert_pem = tls_cert;
	hc.tls_key_pem = tls_key;
	if (auth.token != NULL) {
		labd_auth_install(&auth);
		hc.before = labd_auth_before;
	}
	hc.error = api_error;
	hc.userdata = &d;
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
		log_info("Access control on: every route but /healthz needs the bearer token");

	d.ops = labops_new(&d);
	log_info("Remote Lab Manager starting up...");
	log_info("Performing startup cleanup of stale netlab instances...");
	labops_startup_cleanup(d.ops);
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
	instance_remove_meta(d.tmpdir);
out:
	lock_release(lock_fd);
	sd_event_source_disable_unref(shutdown_deadline);
	sd_event_source_disable_unref(d.sweep_timer);
	sd_event_source_disable_unref(d.idle_timer);
	queue_free(&d.queue);
	lab_clear(&d.lab);
	sd_event_unref(d.event);
	free(netlab_path);
	free(version);
	free(warnings);
	free(error);
	free(d.tmpdir);
	free(d.cwd);
	free(d.lab_lock_path);
	labd_auth_clear(&auth);
	free(tls_cert);
	str_free_secret(tls_key);
	return ret;
}

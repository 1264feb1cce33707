/* neops-remote-lab's command line: argparse-compatible parsing (usage line and exit 2 on
 * errors, like the original's argparse) and the --help text. */
#define LOG_COMPONENT LABD_LOGGER
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strutil.h"
#include "netlab.h"
#include "slots.h"

#define USAGE_LINE                                                                              \
	"usage: neops-remote-lab [-h] [--host HOST] [--port PORT] [--log-level LOG_LEVEL]\n"    \
	"                        [--log-config LOG_CONFIG] [--log-format FORMAT] [--debug]\n"   \
	"                        [--version] [--netlab-command PATH] [--netlab-up-timeout S]\n" \
	"                        [--netlab-down-timeout S] [--netlab-inspect-timeout S]\n"      \
	"                        [--active-session-timeout S] [--waiting-session-timeout S]\n"  \
	"                        [--idle-lab-keep S] [--max-upload-file-size BYTES]\n"          \
	"                        [--max-upload-total-size BYTES] [--max-upload-files N]\n"      \
	"                        [--max-sessions N] [--max-connections N]\n"                    \
	"                        [--max-connections-per-address N] [--request-timeout S]\n"     \
	"                        [--idle-connection-timeout S] [--token-file FILE]\n"           \
	"                        [--tls-cert FILE] [--tls-key FILE] [--lab-slots N]\n"          \
	"                        [--multilab-ids FIRST-LAST] [--prewarm FILE]\n"                \
	"                        [--max-session-hold S] [--tag KEY=VALUE]\n"                    \
	"                        [--host-name NAME] [--admin-token-file FILE]\n"                \
	"                        [--keep-labs]\n"

void cli_usage(FILE *f)
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
	      "  --idle-lab-keep S     keep a lab up this long after its session ended (per\n"
	      "                        slot), so the next session asking for the same topology\n"
	      "                        with reuse=true takes it without a new `netlab up`\n"
	      "                        (default: 0 = tear down at once, like the Python server)\n"
	      "  --max-sessions N      sessions queued at once; more get 429 (default: 100000)\n"
	      "  --lab-slots N         labs (and ACTIVE sessions) at once, 1-64 (default: 1 =\n"
	      "                        the original: one lab on netlab's default instance).\n"
	      "                        With N > 1 every lab runs on a netlab multilab\n"
	      "                        instance of its own, in parallel\n"
	      "  --multilab-ids FIRST-LAST\n"
	      "                        multilab instance ids the slots may use (default:\n"
	      "                        1-200, netlab's range; 121, the default instance's\n"
	      "                        subnet, is never used)\n"
	      "  --prewarm FILE        bring this topology up at start-up into a free slot and\n"
	      "                        keep it warm (idle, no expiry) until a session asks for\n"
	      "                        it or its slot is needed; repeatable\n"
	      "  --max-session-hold S  end an ACTIVE session after S seconds and release its\n"
	      "                        lab, even if it heartbeats (default: 0 = no limit)\n"
	      "  --keep-labs           keep the queue and the running labs through a restart:\n"
	      "                        SIGTERM/SIGINT stop without tearing labs down, and the\n"
	      "                        next start re-adopts them (checked with netlab) and\n"
	      "                        restores the sessions from the state file\n"
	      "                        <tmp>/neops_remote_lab_state.json (default: off, like\n"
	      "                        the original: labs are torn down on exit)\n"
	      "\n"
	      "lab pools (GET /host):\n"
	      "  --tag KEY=VALUE       a property clients can require (--require KEY=VALUE),\n"
	      "                        e.g. provider=clab, ram=64G, site=zrh; repeatable\n"
	      "  --host-name NAME      the name GET /host reports (default: the host name)\n"
	      "\n"
	      "operators:\n"
	      "  --admin-token-file FILE\n"
	      "                        enable the admin routes (drain, undrain, end a session,\n"
	      "                        destroy a lab) for requests with 'Authorization: Bearer\n"
	      "                        <token>', the token being the file's content, one word\n"
	      "                        (default: no admin routes; the status page stays\n"
	      "                        read-only)\n"
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
	      "                        closed at once (default: a quarter of --max-connections;\n"
	      "                        at most --max-connections)\n"
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
	      "                        /healthz, /ui, /ui/* (the status page's files) and /admin/*\n"
	      "                        (admin token), the token being FILE's content (default: off, or\n"
	      "                        $REMOTE_LAB_TOKEN_FILE). The Python 1.x client cannot send\n"
	      "                        a token: with it on, only labctl/libremotelab clients work.\n"
	      "  --tls-cert FILE       serve HTTPS with this PEM certificate (chain); needs\n"
	      "                        --tls-key (default: plain HTTP)\n"
	      "  --tls-key FILE        the certificate's PEM private key\n"
	      "\n"
	      "Exit status: 0 after a clean stop, 1 when another instance runs or netlab is\n"
	      "missing or broken, 2 for command-line errors. Files live under <tmp>: the first\n"
	      "usable of $TMPDIR, $TEMP, $TMP, else /tmp.\n",
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
	OPT_HOST = 256,
	OPT_PORT,
	OPT_LOG_LEVEL,
	OPT_LOG_CONFIG,
	OPT_LOG_FORMAT,
	OPT_DEBUG,
	OPT_VERSION,
	OPT_NETLAB_COMMAND,
	OPT_UP_TIMEOUT,
	OPT_DOWN_TIMEOUT,
	OPT_INSPECT_TIMEOUT,
	OPT_ACTIVE_TIMEOUT,
	OPT_WAITING_TIMEOUT,
	OPT_IDLE_KEEP,
	OPT_MAX_FILE,
	OPT_MAX_TOTAL,
	OPT_MAX_FILES,
	OPT_MAX_SESSIONS,
	OPT_MAX_CONNECTIONS,
	OPT_CONNECTION_TIMEOUT,
	OPT_LAB_SLOTS,
	OPT_MULTILAB_IDS,
	OPT_PREWARM,
	OPT_MAX_HOLD,
	OPT_TAG,
	OPT_HOST_NAME,
	OPT_ADMIN_TOKEN_FILE,
	OPT_KEEP_LABS,
	OPT_MAX_PER_ADDRESS,
	OPT_REQUEST_TIMEOUT,
	OPT_TOKEN_FILE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
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
	{ "lab-slots", required_argument, NULL, OPT_LAB_SLOTS },
	{ "multilab-ids", required_argument, NULL, OPT_MULTILAB_IDS },
	{ "prewarm", required_argument, NULL, OPT_PREWARM },
	{ "max-session-hold", required_argument, NULL, OPT_MAX_HOLD },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "host-name", required_argument, NULL, OPT_HOST_NAME },
	{ "admin-token-file", required_argument, NULL, OPT_ADMIN_TOKEN_FILE },
	{ "keep-labs", no_argument, NULL, OPT_KEEP_LABS },
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

/* FIRST-LAST within netlab's multilab range. */
static void opt_mlids(const char *v, int *min, int *max)
{
	const char *dash = strchr(v, '-');
	char first[16];
	uint64_t a, b;

	if (dash == NULL || (size_t)(dash - v) >= sizeof(first))
		usage_error("argument --multilab-ids: expected FIRST-LAST, got '%s'", v);
	memcpy(first, v, (size_t)(dash - v));
	first[dash - v] = '\0';
	if (parse_u64(first, NETLAB_MLID_MIN, NETLAB_MLID_MAX, &a) < 0 ||
	    parse_u64(dash + 1, NETLAB_MLID_MIN, NETLAB_MLID_MAX, &b) < 0 || a > b)
		usage_error("argument --multilab-ids: expected FIRST-LAST within %d-%d, got '%s'",
			    NETLAB_MLID_MIN, NETLAB_MLID_MAX, v);
	*min = (int)a;
	*max = (int)b;
}

/* KEY=VALUE: a key of letters, digits, '_', '-', '.'; a value of printable ASCII. */
static void opt_tag(struct cli *cli, const char *v)
{
	const char *eq = strchr(v, '='), *p;
	struct labd_config *c = &cli->cfg;
	unsigned i;

	if (c->n_tags >= CLI_TAGS_MAX)
		usage_error("argument --tag: at most %d tags", CLI_TAGS_MAX);
	if (eq == NULL || eq == v || strlen(v) > CLI_TAG_MAX)
		usage_error("argument --tag: expected KEY=VALUE, got '%s'", v);
	for (p = v; p < eq; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '_' && *p != '-' && *p != '.')
			usage_error("argument --tag: bad key in '%s' (letters, digits, _ - .)", v);
	for (p = eq + 1; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			usage_error("argument --tag: the value of '%s' must be printable ASCII", v);
	for (i = 0; i < c->n_tags; i++)
		if (strncmp(c->tags[i], v, (size_t)(eq - v) + 1) == 0)
			usage_error("argument --tag: '%.*s' given twice", (int)(eq - v), v);
	cli->tags[c->n_tags++] = v;
	c->tags = cli->tags;
}

void cli_parse(int argc, char **argv, struct cli *cli)
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
		.lab_slots = 1,
		.mlid_min = NETLAB_MLID_MIN,
		.mlid_max = NETLAB_MLID_MAX,
	};
	cli->request_timeout = 60;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			cli_usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("%s %s\n", LABD_PROGRAM, RL_VERSION);
			exit(0);
		case OPT_HOST:
			c->host = optarg;
			break;
		case OPT_PORT:
			c->port = (unsigned)opt_uint(opt, optarg, 0, 65535);
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &level) < 0)
				usage_error("argument --log-level: invalid level: '%s'", optarg);
			c->log_level = optarg;
			break;
		case OPT_LOG_CONFIG:
			c->log_config = optarg;
			break;
		case OPT_LOG_FORMAT: {
			enum log_format f;

			if (log_parse_format(optarg, &f) < 0)
				usage_error(
					"argument --log-format: invalid choice: '%s' (choose from "
					"'text', 'json', 'journal')",
					optarg);
			cli->log_format = optarg;
			break;
		}
		case OPT_DEBUG:
			c->debug = true;
			break;
		case OPT_NETLAB_COMMAND:
			c->netlab_command = optarg;
			break;
		case OPT_UP_TIMEOUT:
			c->netlab_up_timeout = opt_seconds(opt, optarg, 0.001);
			break;
		case OPT_DOWN_TIMEOUT:
			c->netlab_down_timeout = opt_seconds(opt, optarg, 0.001);
			break;
		case OPT_INSPECT_TIMEOUT:
			c->netlab_inspect_timeout = opt_seconds(opt, optarg, 0.001);
			break;
		case OPT_ACTIVE_TIMEOUT:
			c->active_timeout = opt_seconds(opt, optarg, 0.001);
			break;
		case OPT_WAITING_TIMEOUT:
			c->waiting_timeout = opt_seconds(opt, optarg, 0.001);
			break;
		case OPT_IDLE_KEEP:
			c->idle_keep = opt_seconds(opt, optarg, 0);
			break;
		case OPT_MAX_FILE:
			c->max_file_size = opt_size(opt, optarg);
			break;
		case OPT_MAX_TOTAL:
			c->max_total_size = opt_size(opt, optarg);
			break;
		case OPT_MAX_FILES:
			c->max_files = (unsigned)opt_uint(opt, optarg, 1, 100000);
			break;
		case OPT_MAX_SESSIONS:
			c->max_sessions = (unsigned)opt_uint(opt, optarg, 1, 10000000);
			break;
		case OPT_MAX_CONNECTIONS:
			c->max_connections = (unsigned)opt_uint(opt, optarg, 4, 1000000);
			break;
		case OPT_CONNECTION_TIMEOUT:
			c->connection_timeout = (unsigned)opt_uint(opt, optarg, 1, 86400);
			break;
		case OPT_LAB_SLOTS:
			c->lab_slots = (unsigned)opt_uint(opt, optarg, 1, SLOTS_MAX);
			break;
		case OPT_MULTILAB_IDS:
			opt_mlids(optarg, &c->mlid_min, &c->mlid_max);
			break;
		case OPT_PREWARM:
			if (c->n_prewarm >= SLOTS_MAX)
				usage_error("argument --prewarm: at most %d files", SLOTS_MAX);
			cli->prewarm[c->n_prewarm++] = optarg;
			c->prewarm = cli->prewarm;
			break;
		case OPT_MAX_HOLD:
			c->max_hold = opt_seconds(opt, optarg, 0);
			break;
		case OPT_TAG:
			opt_tag(cli, optarg);
			break;
		case OPT_ADMIN_TOKEN_FILE:
			c->admin_token_file = optarg;
			break;
		case OPT_KEEP_LABS:
			c->keep_labs = true;
			break;
		case OPT_MAX_PER_ADDRESS:
			cli->max_per_address = (unsigned)opt_uint(opt, optarg, 1, 1000000);
			break;
		case OPT_REQUEST_TIMEOUT:
			cli->request_timeout = (unsigned)opt_uint(opt, optarg, 1, 86400);
			break;
		case OPT_TOKEN_FILE:
			cli->token_file = optarg;
			break;
		case OPT_TLS_CERT:
			cli->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			cli->tls_key = optarg;
			break;
		case OPT_HOST_NAME:
			if (optarg[0] == '\0' || strlen(optarg) > 255)
				usage_error("argument --host-name: expected 1-255 bytes");
			c->host_name = optarg;
			break;
		case ':':
			usage_error("argument %s: expected one argument", argv[optind - 1]);
		default:
			usage_error("unrecognized arguments: %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unrecognized arguments: %s", argv[optind]);
	if (c->debug)
		c->log_level = "DEBUG";
	if ((cli->tls_cert == NULL) != (cli->tls_key == NULL))
		usage_error("argument --%s: needed with --%s",
			    cli->tls_cert ? "tls-key" : "tls-cert",
			    cli->tls_cert ? "tls-cert" : "tls-key");
	if (cli->max_per_address > c->max_connections)
		usage_error("argument --max-connections-per-address: more than --max-connections "
			    "(%u)",
			    c->max_connections);
	if (cli->token_file == NULL && getenv("REMOTE_LAB_TOKEN_FILE") != NULL &&
	    getenv("REMOTE_LAB_TOKEN_FILE")[0] != '\0')
		cli->token_file = getenv("REMOTE_LAB_TOKEN_FILE");
	{
		int ids = c->mlid_max - c->mlid_min + 1 -
			  (c->mlid_min <= NETLAB_MLID_DEFAULT_SUBNET &&
			   NETLAB_MLID_DEFAULT_SUBNET <= c->mlid_max);

		if (c->lab_slots > 1 && ids < (int)c->lab_slots)
			usage_error("argument --multilab-ids: %d ids for %u slots", ids,
				    c->lab_slots);
	}
}

/* labctl's command line: the options, which command takes which, the commands, --help. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl.h"

enum {
	OPT_URL = 256,
	OPT_SESSION,
	OPT_JSON,
	OPT_QUIET,
	OPT_WAIT,
	OPT_REUSE,
	OPT_NO_FORCE,
	OPT_TOPOLOGY,
	OPT_EXTRA,
	OPT_EXTRA_AS,
	OPT_DEVICES_FILE,
	OPT_KEEP_DEVICES_FILE,
	OPT_REQUEST_TIMEOUT,
	OPT_WAIT_TIMEOUT,
	OPT_ACQUIRE_TIMEOUT,
	OPT_POLL,
	OPT_HEARTBEAT,
	OPT_EVERY,
	OPT_HELP,
	OPT_VERSION,
	OPT_REQUIRE,
	OPT_PRIORITY,
	OPT_LABEL,
	OPT_MAX_WAIT,
	OPT_NO_WAIT,
	OPT_TOKEN_FILE,
	OPT_CACERT,
	OPT_ADMIN_TOKEN_FILE,
	OPT_RESTART_WAIT,
};

/* Which commands take which option (bit per command; 0 = every command). */
enum {
	C_SNEW = 1 << 0,
	C_SSTATUS = 1 << 1,
	C_SEND = 1 << 2,
	C_SHB = 1 << 3,
	C_LUP = 1 << 4,
	C_LSTATUS = 1 << 5,
	C_LDEV = 1 << 6,
	C_LREL = 1 << 7,
	C_LDESTROY = 1 << 8,
	C_HEALTH = 1 << 9,
	C_RUN = 1 << 10,
	C_WATCH = 1 << 11,
	C_STATUS = 1 << 12,
	C_ADMIN = 1 << 13,
};

static const struct option long_opts[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "reuse", no_argument, NULL, OPT_REUSE },
	{ "no-force", no_argument, NULL, OPT_NO_FORCE },
	{ "topology", required_argument, NULL, OPT_TOPOLOGY },
	{ "extra", required_argument, NULL, OPT_EXTRA },
	{ "extra-as", required_argument, NULL, OPT_EXTRA_AS },
	{ "devices-file", required_argument, NULL, OPT_DEVICES_FILE },
	{ "keep-devices-file", no_argument, NULL, OPT_KEEP_DEVICES_FILE },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT },
	{ "acquire-timeout", required_argument, NULL, OPT_ACQUIRE_TIMEOUT },
	{ "poll-interval", required_argument, NULL, OPT_POLL },
	{ "heartbeat-period", required_argument, NULL, OPT_HEARTBEAT },
	{ "every", required_argument, NULL, OPT_EVERY },
	{ "require", required_argument, NULL, OPT_REQUIRE },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "max-wait", required_argument, NULL, OPT_MAX_WAIT },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "admin-token-file", required_argument, NULL, OPT_ADMIN_TOKEN_FILE },
	{ "restart-wait", required_argument, NULL, OPT_RESTART_WAIT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	int opt;
	unsigned cmds;
} opt_scope[] = {
	{ OPT_WAIT, C_SNEW },
	{ OPT_REUSE, C_LUP | C_RUN },
	{ OPT_NO_FORCE, C_LDESTROY },
	{ OPT_TOPOLOGY, C_LUP | C_RUN },
	{ OPT_EXTRA, C_LUP | C_RUN },
	{ OPT_EXTRA_AS, C_LUP | C_RUN },
	{ OPT_DEVICES_FILE, C_LUP | C_RUN },
	{ OPT_KEEP_DEVICES_FILE, C_RUN },
	{ OPT_WAIT_TIMEOUT, C_SNEW | C_RUN },
	{ OPT_ACQUIRE_TIMEOUT, C_LUP | C_RUN | C_LDESTROY },
	{ OPT_POLL, C_SNEW | C_RUN },
	{ OPT_HEARTBEAT, C_RUN },
	{ OPT_EVERY, C_SHB },
	{ OPT_REQUIRE, C_SNEW | C_RUN },
	{ OPT_PRIORITY, C_SNEW | C_RUN },
	{ OPT_LABEL, C_SNEW | C_RUN },
	{ OPT_MAX_WAIT, C_SNEW | C_RUN },
	{ OPT_NO_WAIT, C_SNEW | C_RUN },
	{ OPT_ADMIN_TOKEN_FILE, C_ADMIN },
};

static const struct command commands[] = {
	{ "session", "new", C_SNEW, cmd_session_new, 0 },
	{ "session", "create", C_SNEW, cmd_session_new, 0 },
	{ "session", "status", C_SSTATUS, cmd_session_status, 1 },
	{ "session", "end", C_SEND, cmd_session_end, 1 },
	{ "session", "heartbeat", C_SHB, cmd_session_heartbeat, 1 },
	{ "lab", "up", C_LUP, cmd_lab_up, 0 },
	{ "lab", "status", C_LSTATUS, cmd_lab_status, 0 },
	{ "lab", "devices", C_LDEV, cmd_lab_devices, 0 },
	{ "lab", "release", C_LREL, cmd_lab_release, 0 },
	{ "lab", "destroy", C_LDESTROY, cmd_lab_destroy, 0 },
	{ "server", "health", C_HEALTH, cmd_server_health, 0 },
	{ "run", NULL, C_RUN, cmd_run, -1 },
	{ "watch", NULL, C_WATCH, cmd_watch, 0 },
	{ "status", NULL, C_STATUS, cmd_status, 0 },
	{ "admin", "drain", C_ADMIN, cmd_admin_drain, 0 },
	{ "admin", "undrain", C_ADMIN, cmd_admin_undrain, 0 },
	{ "admin", "end", C_ADMIN, cmd_admin_end, 1 },
	{ "admin", "destroy", C_ADMIN, cmd_admin_destroy, 1 },
};

static const char help_text[] =
	"Usage: labctl [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Take a session on a neops-remote-lab server (or the best of a pool), get a lab, use its\n"
	"devices, give it back.\n"
	"\n"
	"Commands:\n"
	"  run --topology FILE [--extra FILE]... [--reuse] [--] COMMAND [ARGS...]\n"
	"                        session + queue + lab + heartbeats around COMMAND, always cleaned up;\n"
	"                        COMMAND sees REMOTE_LAB_DEVICES_FILE, REMOTE_LAB_DEVICE_COUNT,\n"
	"                        REMOTE_LAB_SESSION_ID and REMOTE_LAB_URL (the server that serves\n"
	"                        the job); exits with its status\n"
	"  session new [--wait]  create a session, print its id (export it as REMOTE_LAB_SESSION);\n"
	"                        'session create' is the same; with a pool it waits until active\n"
	"  session status [ID]   show waiting/active and the queue position\n"
	"  session end [ID]      leave the queue (an active session's lab is torn down)\n"
	"  session heartbeat [ID] [--every SECONDS]\n"
	"                        keep the session alive (once, or forever every SECONDS)\n"
	"  lab up --topology FILE [--extra FILE]... [--reuse] [--devices-file PATH]\n"
	"                        acquire a lab (the session must be active; retries while busy)\n"
	"  lab status            show the lab (running, topology, ref count, devices)\n"
	"  lab devices           list the lab's devices\n"
	"  lab release           release the lab (it stays up, idle)\n"
	"  lab destroy [--no-force]\n"
	"                        tear the lab down (--no-force: refuse while in use)\n"
	"  server health         check that the server answers\n"
	"  status                the queue and the labs as tables (every server of a pool)\n"
	"  watch                 print the server's live events, one line each, until interrupted\n"
	"  admin drain|undrain   stop/resume promotions (needs the admin token)\n"
	"  admin end HANDLE      end a session by its public handle\n"
	"  admin destroy SLOT    force-destroy the lab in a slot\n"
	"\n"
	"Options:\n"
	"  --url URL             server base URL; repeat it for a pool (default: $REMOTE_LAB_URLS,\n"
	"                        comma-separated, else $REMOTE_LAB_URL)\n"
	"  --require KEY=VALUE   run, session new: only servers with this tag (GET /host); repeatable\n"
	"  --session ID          session to act on (default: $REMOTE_LAB_SESSION)\n"
	"  --json                print JSON instead of text\n"
	"  --quiet               no progress output\n"
	"  --topology FILE       topology file (.yml/.yaml), uploaded under its basename\n"
	"  --extra PATH          extra file, uploaded under PATH (relative, no '..')\n"
	"  --extra-as NAME=PATH  extra file read from PATH, uploaded as NAME\n"
	"  --reuse               reuse a running lab with the same topology\n"
	"  --devices-file PATH   write the devices JSON here (run: default is a temp file)\n"
	"  --keep-devices-file   run: do not delete the devices file at the end\n"
	"  --priority N          run, session new: queue priority -1000..1000 (higher first)\n"
	"  --label TEXT          run, session new: label shown in the queue (default:\n"
	"                        $REMOTE_LAB_LABEL; e.g. --label \"$CI_JOB_URL\")\n"
	"  --max-wait S          run, session new: the server ends the session if still waiting\n"
	"  --no-wait             run, session new: try-lock; exit 8 unless a lab slot is free now\n"
	"  --token-file FILE     read the bearer token from FILE (default: $REMOTE_LAB_TOKEN)\n"
	"  --cacert FILE         trust this CA bundle for https (default: $REMOTE_LAB_CA_FILE)\n"
	"  --admin-token-file F  admin: the admin token (default: $REMOTE_LAB_ADMIN_TOKEN)\n"
	"  --request-timeout S   per-request timeout (default: $REMOTE_LAB_REQUEST_TIMEOUT or 30)\n"
	"  --restart-wait S      how long a refused/reset connection is retried (a restarting\n"
	"                        server; default: $REMOTE_LAB_RESTART_WAIT or 30; 0 = never)\n"
	"  --wait-timeout S      queue wait limit (default: $REMOTE_LAB_SESSION_TIMEOUT or 600)\n"
	"  --acquire-timeout S   how long a busy lab is retried (each upload still gets at\n"
	"                        least --request-timeout to be answered)\n"
	"                        (default: $REMOTE_LAB_ACQUISITION_TIMEOUT or 600)\n"
	"  --poll-interval S     queue poll period (default 5)\n"
	"  --heartbeat-period S  heartbeat period during run (default 30)\n"
	"  --help, --version\n"
	"\n"
	"Environment: REMOTE_LAB_URL, REMOTE_LAB_URLS, REMOTE_LAB_SESSION, REMOTE_LAB_TOKEN (sent as a\n"
	"Bearer token), REMOTE_LAB_CA_FILE, REMOTE_LAB_ADMIN_TOKEN, REMOTE_LAB_LABEL,\n"
	"REMOTE_LAB_REQUEST_TIMEOUT, REMOTE_LAB_SESSION_TIMEOUT, REMOTE_LAB_ACQUISITION_TIMEOUT,\n"
	"REMOTE_LAB_RESTART_WAIT.\n"
	"\n"
	"Exit status:\n"
	"  0    success (run: COMMAND's own status is passed through, 128+N if it died of signal N)\n"
	"  1    the server answered with an error (its detail is printed; 401: token missing/refused)\n"
	"  2    usage error\n"
	"  3    server unreachable, the connection failed, or the lab host was lost (run)\n"
	"  4    timed out waiting in the queue or for the lab (also: the server's max_wait)\n"
	"  5    the lab could not be acquired\n"
	"  6    the session is not known to the server (ended or reaped)\n"
	"  7    local error (file unreadable, cannot write the devices file, out of memory)\n"
	"  8    --no-wait: no lab slot was free at once (nothing was created)\n"
	"  126  run: COMMAND is not executable;  127  run: COMMAND not found\n"
	"  128+N  interrupted by signal N before COMMAND ran (after cleaning up)\n"
	"\n"
	"See labctl(1) and docs/client.md.\n";

/* Parse a positive number of seconds. */
static int parse_secs(const char *name, const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0)
		return labctl_usage_error("--%s: '%s' is not a positive number of seconds", name,
					  s);
	*ret = v;
	return 0;
}

/* Parse a non-negative number of seconds. */
static int parse_secs0(const char *name, const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0)
		return labctl_usage_error("--%s: '%s' is not a number of seconds", name, s);
	*ret = v;
	return 0;
}

/* Parse a queue priority. */
static int parse_priority(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < -1000 || v > 1000)
		return labctl_usage_error("--priority: '%s' is not an integer in -1000..1000", s);
	*ret = (int)v;
	return 0;
}

/* Append a --url. */
static int add_url(struct opts *o, const char *url)
{
	const char **n;

	n = realloc(o->urls, (o->n_urls + 1) * sizeof(*n));
	if (n == NULL) {
		labctl_err("out of memory");
		return LABCTL_EXIT_LOCAL;
	}
	o->urls = n;
	o->urls[o->n_urls++] = url;
	return 0;
}

/* Append a --require. */
static int add_require(struct opts *o, const char *key, const char *value)
{
	struct tag *n;

	n = realloc(o->requires, (o->n_requires + 1) * sizeof(*n));
	if (n == NULL) {
		labctl_err("out of memory");
		return LABCTL_EXIT_LOCAL;
	}
	o->requires = n;
	o->requires[o->n_requires].key = key;
	o->requires[o->n_requires].value = value;
	o->n_requires++;
	return 0;
}

/* Append an extra file to the options. */
static int add_extra(struct opts *o, const char *path, const char *name)
{
	struct extra *n;

	n = realloc(o->extras, (o->n_extras + 1) * sizeof(*n));
	if (n == NULL) {
		labctl_err("out of memory");
		return LABCTL_EXIT_LOCAL;
	}
	o->extras = n;
	o->extras[o->n_extras].path = path;
	o->extras[o->n_extras].name = name;
	o->n_extras++;
	return 0;
}

/* Name of a long option, for messages. */
static const char *opt_name(int opt)
{
	size_t i;

	for (i = 0; long_opts[i].name != NULL; i++)
		if (long_opts[i].val == opt)
			return long_opts[i].name;
	return "?";
}

/*
 * Parse options. cmd is NULL for the global part (stops at the first word).
 * Returns 0, or an exit code (with *done set for --help/--version).
 */
int cmdline_parse(int argc, char **argv, const struct command *cmd, struct opts *o, bool *done)
{
	const char *optstring = (cmd == NULL || cmd->max_args < 0) ? "+h" : "h";
	size_t i;
	int ch, r = 0;
	char *eq;

	optind = 0; /* 0, not 1: glibc then also re-reads the ordering mode ("+") */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, optstring, long_opts, NULL)) != -1) {
		if (ch == '?')
			return labctl_usage_error("unknown option '%s'", argv[optind - 1]);
		if (ch == ':')
			return labctl_usage_error("option '%s' needs a value", argv[optind - 1]);
		for (i = 0; i < sizeof(opt_scope) / sizeof(opt_scope[0]); i++) {
			if (opt_scope[i].opt != ch)
				continue;
			if (cmd == NULL)
				return labctl_usage_error("--%s goes after the command",
							  opt_name(ch));
			if (!(opt_scope[i].cmds & cmd->bit))
				return labctl_usage_error("--%s is not an option of '%s%s%s'",
							  opt_name(ch), cmd->noun,
							  cmd->verb ? " " : "",
							  cmd->verb ? cmd->verb : "");
		}
		switch (ch) {
		case 'h':
		case OPT_HELP:
			fputs(help_text, stdout);
			*done = true;
			return 0;
		case OPT_VERSION:
			printf("labctl %s (libremotelab %s)\n", REMOTELAB_VERSION, rl_version());
			*done = true;
			return 0;
		case OPT_URL:
			r = add_url(o, optarg);
			break;
		case OPT_REQUIRE:
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				return labctl_usage_error("--require wants KEY=VALUE, got '%s'",
							  optarg);
			*eq = '\0';
			r = add_require(o, optarg, eq + 1);
			break;
		case OPT_PRIORITY:
			r = parse_priority(optarg, &o->priority);
			o->has_priority = true;
			break;
		case OPT_LABEL:
			if (strlen(optarg) > 128)
				return labctl_usage_error("--label: longer than 128 bytes");
			o->label = optarg;
			break;
		case OPT_MAX_WAIT:
			r = parse_secs("max-wait", optarg, &o->max_wait);
			break;
		case OPT_NO_WAIT:
			o->no_wait = true;
			break;
		case OPT_TOKEN_FILE:
			o->token_file = optarg;
			break;
		case OPT_CACERT:
			o->cacert = optarg;
			break;
		case OPT_ADMIN_TOKEN_FILE:
			o->admin_token_file = optarg;
			break;
		case OPT_RESTART_WAIT:
			r = parse_secs0("restart-wait", optarg, &o->restart_wait);
			o->has_restart_wait = true;
			break;
		case OPT_SESSION:
			o->session = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_WAIT:
			o->wait = true;
			break;
		case OPT_REUSE:
			o->reuse = true;
			break;
		case OPT_NO_FORCE:
			o->no_force = true;
			break;
		case OPT_TOPOLOGY:
			o->topology = optarg;
			break;
		case OPT_EXTRA:
			r = add_extra(o, optarg, optarg);
			break;
		case OPT_EXTRA_AS:
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg || eq[1] == '\0')
				return labctl_usage_error("--extra-as wants NAME=PATH, got '%s'",
							  optarg);
			*eq = '\0';
			r = add_extra(o, eq + 1, optarg);
			break;
		case OPT_DEVICES_FILE:
			o->devices_file = optarg;
			break;
		case OPT_KEEP_DEVICES_FILE:
			o->keep_devices_file = true;
			break;
		case OPT_REQUEST_TIMEOUT:
			r = parse_secs("request-timeout", optarg, &o->request_timeout);
			break;
		case OPT_WAIT_TIMEOUT:
			r = parse_secs("wait-timeout", optarg, &o->wait_timeout);
			break;
		case OPT_ACQUIRE_TIMEOUT:
			r = parse_secs("acquire-timeout", optarg, &o->acquire_timeout);
			break;
		case OPT_POLL:
			r = parse_secs("poll-interval", optarg, &o->poll);
			break;
		case OPT_HEARTBEAT:
			r = parse_secs("heartbeat-period", optarg, &o->heartbeat);
			break;
		case OPT_EVERY:
			r = parse_secs("every", optarg, &o->every);
			break;
		default:
			return labctl_usage_error("unexpected option");
		}
		if (r != 0)
			return r;
	}
	return 0;
}

/* The command named by noun and verb (a one-word command ignores verb), or NULL. */
const struct command *cmdline_command(const char *noun, const char *verb)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].noun, noun) != 0)
			continue;
		if (commands[i].verb == NULL ||
		    (verb != NULL && strcmp(commands[i].verb, verb) == 0))
			return &commands[i];
	}
	return NULL;
}

/* Print --help to stdout. */
void cmdline_help(void)
{
	fputs(help_text, stdout);
}

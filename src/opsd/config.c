/* ops-worker configuration: the original's environment variables, defaults and checks. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "jsonx.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v;
}

bool config_parse_bool(const char *s, bool def)
{
	return s == NULL ? def : jsonx_parse_bool_str(s, strlen(s));
}

static int env_double(const char *name, double def, double min, double max, double *ret, char *err,
		      size_t errlen)
{
	const char *v = env(name);
	char *t;
	int r;

	if (v == NULL || v[0] == '\0') {
		*ret = def;
		return 0;
	}
	t = str_trim_dup(v, strlen(v));
	r = parse_double(t, min, max, ret);
	free(t);
	if (r < 0)
		snprintf(err, errlen, "%s must be a number between %g and %g", name, min, max);
	return r < 0 ? -EINVAL : 0;
}

static int env_long(const char *name, long def, long min, long max, long *ret, char *err,
		    size_t errlen)
{
	const char *v = env(name);
	int64_t x;
	char *t;
	int r;

	if (v == NULL || v[0] == '\0') {
		*ret = def;
		return 0;
	}
	t = str_trim_dup(v, strlen(v));
	r = parse_i64(t, min, max, &x);
	free(t);
	if (r < 0) {
		snprintf(err, errlen, "%s must be an integer between %ld and %ld", name, min, max);
		return -EINVAL;
	}
	*ret = (long)x;
	return 0;
}

static char *env_dup(const char *name, const char *def)
{
	const char *v = env(name);

	if (v == NULL || v[0] == '\0')
		return def ? xstrdup(def) : NULL;
	return xstrdup(v);
}

long config_max_batch(void)
{
	const char *v = env("OPS_RESERVATION_MAX_BATCH");
	int64_t x;

	if (v == NULL || parse_i64(v, 1, 100000, &x) < 0)
		return 200;
	return (long)x;
}

/* The HTTP layer's connection limits. The per-address limit defaults to a quarter of the
 * total (at least 1) and must not exceed it; the request deadline defaults to 60 s but never
 * more than the idle timeout, and an explicit one above the idle timeout is an error (the
 * layer would cut it silently). */
static int load_connections(struct opsd_config *c, char *err, size_t errlen)
{
	const char *v;
	long total, per, req, idle;
	int r;

	r = env_long("OPS_MAX_CONNECTIONS", CONFIG_DEFAULT_MAX_CONNECTIONS, 4, 1000000, &total, err,
		     errlen);
	if (r < 0)
		return r;
	r = env_long("OPS_MAX_CONNECTIONS_PER_ADDRESS", 0, 0, 1000000, &per, err, errlen);
	if (r < 0)
		return r;
	if (per > total) {
		snprintf(
			err, errlen,
			"OPS_MAX_CONNECTIONS_PER_ADDRESS (%ld) must not exceed OPS_MAX_CONNECTIONS (%ld)",
			per, total);
		return -EINVAL;
	}
	r = env_long("OPS_IDLE_CONNECTION_TIMEOUT", CONFIG_DEFAULT_IDLE_TIMEOUT, 1, 86400, &idle,
		     err, errlen);
	if (r < 0)
		return r;
	v = env("OPS_REQUEST_TIMEOUT");
	r = env_long("OPS_REQUEST_TIMEOUT", CONFIG_DEFAULT_REQUEST_TIMEOUT, 1, 86400, &req, err,
		     errlen);
	if (r < 0)
		return r;
	if (req > idle) {
		if (v != NULL && v[0] != '\0') {
			snprintf(
				err, errlen,
				"OPS_REQUEST_TIMEOUT (%ld) must not exceed OPS_IDLE_CONNECTION_TIMEOUT (%ld)",
				req, idle);
			return -EINVAL;
		}
		req = idle;
	}
	c->max_connections = (unsigned)total;
	c->max_per_address = per ? (unsigned)per : (unsigned)(total / 4 > 0 ? total / 4 : 1);
	c->request_timeout = (unsigned)req;
	c->idle_timeout = (unsigned)idle;
	return 0;
}

static int parse_commands(struct opsd_config *c, const char *list, char *err, size_t errlen)
{
	const char *item;
	size_t n;

	while (str_next_item(&list, ',', &item, &n)) {
		if (n == 0)
			continue;
		if (c->n_allowed_commands >= CONFIG_MAX_COMMANDS) {
			snprintf(err, errlen, "OPS_ALLOWED_COMMANDS has more than %d entries",
				 CONFIG_MAX_COMMANDS);
			return -EINVAL;
		}
		c->allowed_commands[c->n_allowed_commands++] = xstrndup(item, n);
	}
	return 0;
}

bool config_command_allowed(const struct opsd_config *c, const char *cmd)
{
	size_t i;

	for (i = 0; i < c->n_allowed_commands; i++)
		if (strcmp(c->allowed_commands[i], cmd) == 0)
			return true;
	return false;
}

static char *default_worker_id(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		strlcpy_rl(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return xasprintf("%s:%ld", host, (long)getpid());
}

int config_load(struct opsd_config *c, char *err, size_t errlen)
{
	const char *v;
	long port;
	int r;

	memset(c, 0, sizeof(*c));
	c->bind = env_dup("OPS_BIND", "0.0.0.0");
	r = env_long("OPS_PORT", 8081, 0, 65535, &port, err, errlen);
	if (r < 0)
		return r;
	c->port = (unsigned)port;
	{
		long body;

		r = env_long("OPS_MAX_BODY", 65536, 1024, 16 * 1024 * 1024, &body, err, errlen);
		if (r < 0)
			return r;
		c->body_max = (size_t)body;
	}
	r = load_connections(c, err, errlen);
	if (r < 0)
		return r;
	c->hosts_path = env_dup("OPS_CONFIG", "/etc/ops-worker/hosts.json");

	/* database */
	c->mysql_dsn = env_dup("MYSQL_DSN", NULL);
	v = env("OPS_DB");
	if (v == NULL || v[0] == '\0' || strcasecmp(v, "auto") == 0)
		c->db = c->mysql_dsn ? CONFIG_DB_MYSQL : CONFIG_DB_SQLITE;
	else if (strcasecmp(v, "sqlite") == 0)
		c->db = CONFIG_DB_SQLITE;
	else if (strcasecmp(v, "mysql") == 0 || strcasecmp(v, "mariadb") == 0)
		c->db = CONFIG_DB_MYSQL;
	else if (strcasecmp(v, "none") == 0)
		c->db = CONFIG_DB_NONE;
	else {
		snprintf(err, errlen, "OPS_DB must be auto, sqlite, mysql or none");
		return -EINVAL;
	}
	if (c->db == CONFIG_DB_MYSQL && c->mysql_dsn == NULL) {
		snprintf(err, errlen, "OPS_DB=mysql needs MYSQL_DSN");
		return -EINVAL;
	}
	v = env("OPS_STATE_DIR");
	if (v == NULL || v[0] == '\0') {
		v = env("STATE_DIRECTORY"); /* systemd StateDirectory=; may list several */
		if (v != NULL && v[0] != '\0') {
			const char *colon = strchr(v, ':');

			c->state_dir = colon ? xstrndup(v, (size_t)(colon - v)) : xstrdup(v);
		} else {
			c->state_dir = xstrdup("/var/lib/ops-worker");
		}
	} else {
		c->state_dir = xstrdup(v);
	}
	v = env("OPS_SQLITE_PATH");
	c->sqlite_path = (v && v[0]) ? xstrdup(v) : xasprintf("%s/ops-worker.db", c->state_dir);

	/* WinRM */
	r = env_double("OPS_WINRM_READ_TIMEOUT", 30, 0.1, 3600, &c->winrm_read_timeout, err,
		       errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_WINRM_OPERATION_TIMEOUT", 20, 0.1, 3600, &c->winrm_operation_timeout,
		       err, errlen);
	if (r < 0)
		return r;
	if (c->winrm_read_timeout <= c->winrm_operation_timeout) {
		snprintf(err, errlen,
			 "OPS_WINRM_READ_TIMEOUT must exceed OPS_WINRM_OPERATION_TIMEOUT");
		return -EINVAL;
	}
	r = env_double("OPS_WINRM_TOTAL_TIMEOUT", 600, 0, 86400, &c->winrm_total_timeout, err,
		       errlen);
	if (r < 0)
		return r;
	c->winrm_ca_file = env_dup("OPS_WINRM_CA_FILE", NULL);
	c->winrm_insecure = config_parse_bool(env("OPS_WINRM_INSECURE"), false);
	v = env("OPS_ALLOWED_COMMANDS");
	r = parse_commands(c, v ? v : CONFIG_DEFAULT_ALLOWED_COMMANDS, err, errlen);
	if (r < 0)
		return r;

	/* reachability */
	v = env("OPS_REACH_METHOD");
	if (v == NULL || v[0] == '\0' || strcasecmp(v, "icmp") == 0) {
		c->reach = CONFIG_REACH_ICMP;
	} else if (strncasecmp(v, "tcp:", 4) == 0) {
		uint64_t p;

		if (parse_u64(v + 4, 1, 65535, &p) < 0) {
			snprintf(err, errlen, "OPS_REACH_METHOD must be icmp or tcp:<port>");
			return -EINVAL;
		}
		c->reach = CONFIG_REACH_TCP;
		c->reach_tcp_port = (unsigned)p;
	} else {
		snprintf(err, errlen, "OPS_REACH_METHOD must be icmp or tcp:<port>");
		return -EINVAL;
	}

	/* timeline */
	r = env_long("OPS_TIMELINE_MAX_OPS", 500, -1000000, 1000000, &c->timeline_max_ops, err,
		     errlen);
	if (r < 0)
		return r;
	if (c->timeline_max_ops < 1)
		c->timeline_max_ops = 1;
	r = env_long("OPS_TIMELINE_DEFAULT_LIMIT", 100, -1000000, 1000000,
		     &c->timeline_default_limit, err, errlen);
	if (r < 0)
		return r;
	if (c->timeline_default_limit < 1)
		c->timeline_default_limit = 1;
	if (c->timeline_default_limit > c->timeline_max_ops)
		c->timeline_default_limit = c->timeline_max_ops;
	r = env_long("OPS_TIMELINE_PHASE_LOOKBACK", 500, -1000000, 1000000,
		     &c->timeline_phase_lookback, err, errlen);
	if (r < 0)
		return r;
	if (c->timeline_phase_lookback < c->timeline_max_ops)
		c->timeline_phase_lookback = c->timeline_max_ops;

	/* poller */
	v = env("OPS_POLL_ENABLED");
	c->poll_enabled = v != NULL && strcasecmp(v, "true") == 0;
	r = env_double("OPS_POLL_INTERVAL", 60, 0.05, 86400, &c->poll_interval, err, errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_HEARTBEAT_SSE_INTERVAL_SECONDS", 10, 0, 86400, &c->stream_interval, err,
		       errlen);
	if (r < 0)
		return r;
	if (c->stream_interval > 0 && c->stream_interval < 0.05) {
		snprintf(err, errlen,
			 "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS must be 0 or at least 0.05");
		return -EINVAL;
	}

	/* reservation automation */
	c->automation = config_parse_bool(env("OPS_RESERVATION_AUTOMATION"), false);
	r = env_double("OPS_RESERVATION_SCAN_INTERVAL", 30, 0.05, 86400, &c->scan_interval, err,
		       errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_RESERVATION_START_LEAD", 120, 0, 30 * 86400, &c->start_lead, err,
		       errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_RESERVATION_END_DELAY", 60, 0, 30 * 86400, &c->end_delay, err, errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_RESERVATION_LOOKBACK", 21600, 0, 365 * 86400.0, &c->lookback, err,
		       errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_RESERVATION_RETRY_COOLDOWN", 60, 0, 30 * 86400, &c->retry_cooldown, err,
		       errlen);
	if (r < 0)
		return r;
	r = env_long("OPS_RESERVATION_MAX_ATTEMPTS", 10, 0, 1000000, &c->max_attempts, err, errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_RESERVATION_CLAIM_TTL", 0, 1, 30 * 86400, &c->claim_ttl, err, errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_RESERVATION_WAKE_TIMEOUT", 10, 0, 600, &c->wake_wait, err, errlen);
	if (r < 0)
		return r;
	c->worker_id = env_dup("OPS_WORKER_ID", NULL);
	if (c->worker_id == NULL)
		c->worker_id = default_worker_id();
	if (strlen(c->worker_id) > 128) {
		snprintf(err, errlen, "OPS_WORKER_ID must be at most 128 characters");
		return -EINVAL;
	}

	/* spool */
	r = env_long("OPS_JOURNAL_SPOOL_MAX", 10000, 1, 1000000, &c->spool_max, err, errlen);
	if (r < 0)
		return r;
	r = env_double("OPS_JOURNAL_SPOOL_RETRY", 5, 0.05, 3600, &c->spool_retry, err, errlen);
	if (r < 0)
		return r;

	/* access control */
	c->token = env_dup("LAB_MANAGER_TOKEN", NULL);
	c->allowed_networks = env_dup("OPS_ALLOWED_NETWORKS", CONFIG_DEFAULT_ALLOWED_NETWORKS);

	/* logging */
	c->log_level = LOG_LEVEL_INFO;
	v = env("OPS_LOG_LEVEL");
	if (v != NULL && v[0] != '\0' && log_parse_level(v, &c->log_level) < 0) {
		snprintf(err, errlen,
			 "OPS_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL");
		return -EINVAL;
	}
	c->log_format = env_dup("OPS_LOG_FORMAT", NULL);
	return 0;
}

void config_free(struct opsd_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->bind);
	free(c->hosts_path);
	str_free_secret(c->mysql_dsn);
	free(c->state_dir);
	free(c->sqlite_path);
	free(c->winrm_ca_file);
	for (i = 0; i < c->n_allowed_commands; i++)
		free(c->allowed_commands[i]);
	free(c->worker_id);
	str_free_secret(c->token);
	free(c->allowed_networks);
	free(c->log_format);
	memset(c, 0, sizeof(*c));
}

double config_claim_ttl(const struct opsd_config *c, unsigned max_wake_attempts)
{
	double cleanup = 2 * (c->winrm_read_timeout < 5 ? c->winrm_read_timeout : 5);
	double winrm = c->winrm_total_timeout + cleanup;
	double start = 2.0 * max_wake_attempts * c->wake_wait + winrm;

	if (c->claim_ttl > 0)
		return c->claim_ttl;
	if (c->winrm_total_timeout <= 0)
		return CONFIG_CLAIM_TTL_UNBOUNDED;
	/* the end step (release-session) is one WinRM call: never longer than the start step */
	return start + CONFIG_CLAIM_TTL_SLACK;
}

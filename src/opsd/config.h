/* ops-worker configuration: the original's environment variables, defaults and checks. */
#ifndef RL_OPSD_CONFIG_H
#define RL_OPSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_ALLOWED_COMMANDS \
	"prepare-session,release-session,power,session,energy,status-json,recovery,account,service,wol,status"
#define CONFIG_DEFAULT_ALLOWED_NETWORKS "127.0.0.0/8,::1/128,172.16.0.0/12"
#define CONFIG_MAX_COMMANDS 64
#define CONFIG_DEFAULT_MAX_CONNECTIONS 512
#define CONFIG_DEFAULT_REQUEST_TIMEOUT 60
#define CONFIG_DEFAULT_IDLE_TIMEOUT 300

enum config_db {
	CONFIG_DB_NONE,
	CONFIG_DB_SQLITE,
	CONFIG_DB_MYSQL,
};

enum config_reach {
	CONFIG_REACH_ICMP,
	CONFIG_REACH_TCP,
};

struct opsd_config {
	/* HTTP */
	char *bind;               /* OPS_BIND */
	unsigned port;            /* OPS_PORT */
	size_t body_max;          /* OPS_MAX_BODY */
	unsigned max_connections; /* OPS_MAX_CONNECTIONS */
	unsigned max_per_address; /* OPS_MAX_CONNECTIONS_PER_ADDRESS (resolved: never 0) */
	unsigned request_timeout; /* OPS_REQUEST_TIMEOUT, s (at most idle_timeout) */
	unsigned idle_timeout;    /* OPS_IDLE_CONNECTION_TIMEOUT, s */
	/* hosts */
	char *hosts_path; /* OPS_CONFIG */
	/* database */
	enum config_db db; /* OPS_DB (auto: mysql with MYSQL_DSN, else sqlite) */
	char *mysql_dsn;   /* MYSQL_DSN (secret: never logged) */
	char *state_dir;   /* OPS_STATE_DIR, $STATE_DIRECTORY, /var/lib/ops-worker */
	char *sqlite_path; /* OPS_SQLITE_PATH */
	/* WinRM */
	double winrm_read_timeout;                   /* OPS_WINRM_READ_TIMEOUT */
	double winrm_operation_timeout;              /* OPS_WINRM_OPERATION_TIMEOUT */
	double winrm_total_timeout;                  /* OPS_WINRM_TOTAL_TIMEOUT (0: none) */
	char *winrm_ca_file;                         /* OPS_WINRM_CA_FILE */
	bool winrm_insecure;                         /* OPS_WINRM_INSECURE */
	char *allowed_commands[CONFIG_MAX_COMMANDS]; /* OPS_ALLOWED_COMMANDS */
	size_t n_allowed_commands;
	/* reachability */
	enum config_reach reach; /* OPS_REACH_METHOD: icmp | tcp:<port> */
	unsigned reach_tcp_port;
	/* timeline */
	long timeline_max_ops;        /* OPS_TIMELINE_MAX_OPS */
	long timeline_default_limit;  /* OPS_TIMELINE_DEFAULT_LIMIT */
	long timeline_phase_lookback; /* OPS_TIMELINE_PHASE_LOOKBACK */
	/* heartbeat poller */
	bool poll_enabled;      /* OPS_POLL_ENABLED (only "true") */
	double poll_interval;   /* OPS_POLL_INTERVAL */
	double stream_interval; /* OPS_HEARTBEAT_SSE_INTERVAL_SECONDS (0: no polls of its own) */
	/* reservation automation */
	bool automation;       /* OPS_RESERVATION_AUTOMATION (parse_bool) */
	double scan_interval;  /* OPS_RESERVATION_SCAN_INTERVAL */
	double start_lead;     /* OPS_RESERVATION_START_LEAD */
	double end_delay;      /* OPS_RESERVATION_END_DELAY */
	double lookback;       /* OPS_RESERVATION_LOOKBACK */
	double retry_cooldown; /* OPS_RESERVATION_RETRY_COOLDOWN */
	long max_attempts;     /* OPS_RESERVATION_MAX_ATTEMPTS (0: unlimited) */
	double claim_ttl;      /* OPS_RESERVATION_CLAIM_TTL (0: auto, config_claim_ttl) */
	char *worker_id;       /* OPS_WORKER_ID */
	double wake_wait;      /* OPS_RESERVATION_WAKE_TIMEOUT: default wake wait (10) */
	/* journal spool */
	long spool_max;     /* OPS_JOURNAL_SPOOL_MAX rows */
	double spool_retry; /* OPS_JOURNAL_SPOOL_RETRY seconds */
	/* access control */
	char *token;            /* LAB_MANAGER_TOKEN (secret) */
	char *allowed_networks; /* OPS_ALLOWED_NETWORKS ("any" disables) */
	/* logging */
	int log_level;    /* OPS_LOG_LEVEL */
	char *log_format; /* OPS_LOG_FORMAT */
};

/* Fill c from the environment. On a bad value: -EINVAL and a message in err. */
int config_load(struct opsd_config *c, char *err, size_t errlen);
void config_free(struct opsd_config *c);
/* OPS_RESERVATION_MAX_BATCH, read again on every scan like the original (default 200). */
long config_max_batch(void);
bool config_command_allowed(const struct opsd_config *c, const char *cmd);
/* Slack on top of the longest step's deadline for queues and the journal (seconds). */
#define CONFIG_CLAIM_TTL_SLACK 60.0
/* Claim TTL without OPS_RESERVATION_CLAIM_TTL when the WinRM calls have no overall deadline
 * (OPS_WINRM_TOTAL_TIMEOUT=0): a step has no bound then. */
#define CONFIG_CLAIM_TTL_UNBOUNDED 3600.0
/* The claim TTL in seconds: OPS_RESERVATION_CLAIM_TTL when set, else the deadline of the
 * longest scheduler step plus CONFIG_CLAIM_TTL_SLACK. A start step is a wake of at most
 * max_wake_attempts attempts (each a wait and a check of OPS_RESERVATION_WAKE_TIMEOUT) and
 * prepare-session; an end step is release-session. A WinRM call ends within
 * OPS_WINRM_TOTAL_TIMEOUT plus its cleanup (Signal and Delete, min(read timeout, 5 s) each). */
double config_claim_ttl(const struct opsd_config *c, unsigned max_wake_attempts);

/* The original's parse_bool on a string: false only for false/0/no/off (trimmed, any
 * case); anything else, including "", is true. NULL gives def. */
bool config_parse_bool(const char *s, bool def);

#endif

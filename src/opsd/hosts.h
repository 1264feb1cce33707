/* Host inventory: hosts.json loading, env: credential references, name and lab lookup. */
#ifndef RL_OPSD_HOSTS_H
#define RL_OPSD_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define HOSTS_FILE_MAX (4u * 1024u * 1024u)
#define HOSTS_MAX 10000
#define HOSTS_DEFAULT_EXE "C:\\LabStation\\LabStation.exe"
#define HOSTS_DEFAULT_HEARTBEAT "C:\\LabStation\\labstation\\data\\telemetry\\heartbeat.json"
#define HOSTS_DEFAULT_EVENTS \
	"C:\\LabStation\\labstation\\data\\telemetry\\session-guard-events.jsonl"

struct host {
	char *name; /* as in the file */
	char *key;  /* lower-cased name: the registry key */
	char *address;
	char *mac;             /* NULL when absent */
	char *winrm_user;      /* resolved (env:VAR); secret */
	char *winrm_pass;      /* resolved (env:VAR); secret: never logged or returned */
	char *winrm_transport; /* default "ntlm" */
	unsigned winrm_port;   /* 0 when not given (the endpoint default applies) */
	char *labstation_exe;
	char *heartbeat_path;
	char *events_path;
	char **labs; /* trimmed, lower-cased, non-empty */
	size_t n_labs;
	bool quarantined;       /* runtime state (the file value after a load) */
	char *ping_target;      /* default: address */
	char *broadcast;        /* default 255.255.255.255 */
	unsigned wol_port;      /* default 9 */
	unsigned wake_attempts; /* default 3 */
};

/* A loaded hosts file. Reference-counted: work in flight keeps the registry it started
 * with alive across a reload. */
struct host_registry {
	unsigned refs;
	struct host *hosts;
	size_t n;
};

/* Called for non-fatal findings (an unset env: variable). */
typedef void (*hosts_warn_fn)(void *userdata, const char *message);

/* Parse the text of a hosts file. Entries without name or address are skipped. Fails
 * (-EINVAL, message in err) on invalid JSON, bad field types or missing credentials.
 * The registry starts with one reference. */
int hosts_parse(const char *text, size_t len, hosts_warn_fn warn, void *userdata,
		struct host_registry **ret, char *err, size_t errlen);
/* Load path; a missing file gives an empty registry (and a warning). err never holds the
 * path or library text (it is returned to API callers). */
int hosts_load(const char *path, hosts_warn_fn warn, void *userdata, struct host_registry **ret,
	       char *err, size_t errlen);
struct host_registry *hosts_ref(struct host_registry *reg);
/* Drop a reference; frees (wiping secrets) at zero. Accepts NULL. */
void hosts_unref(struct host_registry *reg);

/* Case-insensitive lookup by name; quarantined hosts are found too. */
struct host *hosts_get(const struct host_registry *reg, const char *name);
/* First host in file order, not quarantined, serving lab (trimmed, any case). */
struct host *hosts_get_by_lab(const struct host_registry *reg, const char *lab);
/* A lab id as the registry keys it: trimmed and lower-cased (caller frees); NULL when
 * nothing is left. */
char *hosts_lab_key(const char *lab);
/* The most wake attempts a scheduler wake makes on any host (a host's 0 means the default 3). */
unsigned hosts_max_wake_attempts(const struct host_registry *reg);
/* Hosts that are not quarantined. */
size_t hosts_count_active(const struct host_registry *reg);
/* The host's configuration as JSON with credentials removed (new reference). */
json_t *hosts_config_json(const struct host *h);

#endif

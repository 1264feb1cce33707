/* The only place that knows netlab's command lines (netlab.c) and output formats
 * (netlab_out.c). */
#ifndef RL_LABD_NETLAB_H
#define RL_LABD_NETLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <systemd/sd-event.h>

#include "common/spawn.h"

/* The multilab ids netlab's plugin accepts (netsim/extra/multilab: 1..200), and the one
 * whose management subnet 192.168.121.0/24 the default instance uses. */
#define NETLAB_MLID_MIN 1
#define NETLAB_MLID_MAX 200
#define NETLAB_MLID_DEFAULT_SUBNET 121

struct netlab_config {
	const char *command; /* "netlab" (looked up on PATH) or a path */
	uint64_t up_timeout; /* usec */
	uint64_t down_timeout;
	uint64_t inspect_timeout;
	uint64_t version_timeout;
	bool stream; /* log every output line at DEBUG as it arrives */
	size_t stdout_max;
	size_t stderr_max;
	/* Optional: told of every finished command (the status page's recent operations). */
	void (*on_op)(void *userdata, const char *cmdline, const char *cwd, double secs, bool ok,
		      const char *how, const char *stderr_tail);
	void *op_userdata;
	/* Optional: told when a child starts (started) and ends; its group is recorded so that a
	 * start after a crash can end what is left of it (grandchildren such as containerlab). */
	void (*on_child)(void *userdata, const struct spawn_group *group, bool started);
};

enum netlab_step {
	NETLAB_VERSION,      /* netlab version */
	NETLAB_DOWN_DEFAULT, /* netlab down --instance default --cleanup (may fail: nothing runs) */
	NETLAB_UP,          /* netlab up [--plugin multilab -s defaults.multilab.id=N] <topology> */
	NETLAB_INSPECT_ALL, /* every node's `--node` data in one call (an inspect expression) */
	NETLAB_INSPECT_NODES, /* netlab inspect -q --format json [-i N] nodes */
	NETLAB_INSPECT_NODE,  /* netlab inspect -q --format json [-i N] --node <name> */
	NETLAB_DOWN,          /* netlab down --cleanup [-i N] */
	NETLAB_DOWN_FORCE,    /* netlab down --cleanup --force [-i N] (may fail) */
	NETLAB_STATUS_ALL,    /* netlab status --all --format json */
};

struct netlab_run;

/* `ok` is true when netlab exited 0 within its deadline. res is borrowed for the call. */
typedef void (*netlab_done_fn)(struct netlab_run *run, bool ok, struct spawn_result *res,
			       void *userdata);

/* Run one netlab step as a child in cwd. mlid names the lab's multilab instance (0: the
 * default instance, no -i); arg is the topology file or node name where the step takes one.
 * Failed or timed-out steps are logged; expected failures only at DEBUG. */
int netlab_run(sd_event *e, const struct netlab_config *cfg, enum netlab_step step, const char *cwd,
	       int mlid, const char *arg, netlab_done_fn done, void *userdata,
	       struct netlab_run **ret);
/* Interrupt a running step (SIGINT to its process group, SIGKILL after a grace). */
void netlab_interrupt(struct netlab_run *run);
/* Stop watching and kill a still-running step; accepts NULL. */
void netlab_run_free(struct netlab_run *run);
/* "netlab up topology.yml" */
const char *netlab_run_cmdline(const struct netlab_run *run);
/* The child's process (group) id while it runs, else 0. */
int netlab_run_pid(const struct netlab_run *run);

/* JSON error object for a failed step: {"detail": "...", "netlab": {...}} (new reference). */
json_t *netlab_error_json(const struct netlab_run *run, const struct spawn_result *res);
/* Did a failed NETLAB_INSPECT_ALL fail because this netlab cannot evaluate the expression
 * (so the server should fall back to inspecting node by node)? */
bool netlab_inspect_all_unsupported(const struct spawn_result *res);

/* Did a step with -i fail because netlab's status file showed no such instance? */
bool netlab_unknown_instance(const struct spawn_result *res);

/* Does netlab still consider this directory's lab in use? It creates netlab.lock during
 * `up` and removes it on every successful `down`; an exit code alone can mislead. */
bool netlab_dir_locked(const char *workdir);

/* Blocking start-up check: `netlab version` must exit 0. On success *ret_output holds its
 * stdout and *ret_warnings its stderr (caller frees both). On failure *ret_error describes
 * why (caller frees). */
int netlab_preflight(const struct netlab_config *cfg, char **ret_output, char **ret_warnings,
		     char **ret_error);
/* Find the netlab executable: a path as given, else the first match on $PATH. */
int netlab_locate(const char *command, char **ret_path);

/* --- output parsing (netlab_out.c; no I/O but the status file read) --- */

/* Node names from `inspect ... nodes` output (a JSON object keyed by node name, ordered by
 * node id), or a JSON / Python list of names. New reference to an array of strings. */
int netlab_parse_nodes(const char *out, size_t len, json_t **ret_names);
/* One node's data from `inspect --node` output (a JSON object; empty output is {}). */
int netlab_parse_node(const char *out, size_t len, json_t **ret_node);
/* NETLAB_INSPECT_ALL output (an object: node name -> that node's `--node` data) as the
 * device list [{"name", "raw"}] ordered by node id (topology order). */
int netlab_parse_devices(const char *out, size_t len, json_t **ret_devices);
/* `status --all --format json` output: an object instance id -> {"dir", ...}; netlab's
 * "No netlab-managed labs" warning is an empty object. */
int netlab_parse_status(const char *out, size_t len, json_t **ret_status);
/* Does netlab's status file ($HOME/.netlab/status.yaml) register a `default` instance?
 * 1 yes, 0 no (or no file), negative errno when it cannot be read or parsed. */
int netlab_status_file_has_default(const char *home);

#endif

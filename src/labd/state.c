/* --keep-labs: the queue and the running labs in a crash-safe state file, written whenever a
 * session or a lab changes state (never on heartbeats or polls), and restored at the next
 * start so that clients carry on with the same session ids and labs.
 *
 * The file (<tmp>/neops_remote_lab_state.json, mode 0600: it holds session ids, which are
 * credentials) is replaced atomically (write, fsync, rename). What it records is restored
 * optimistically before the server listens — sessions with fresh keep-alive timeouts, labs
 * as they were — and the start-up job then checks every lab with netlab itself; a lab that
 * is gone is dropped. A file that cannot be used is moved aside and the server starts clean. */
#define LOG_COMPONENT LABD_LOGGER
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/statefile.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "labops.h"

#define STATE_FILE "neops_remote_lab_state.json"
#define STATE_FORMAT "neops-remote-lab-state"
#define STATE_VERSION 1
#define STATE_MAX (64u << 20)

static char *state_path(const struct labd *d)
{
	return xasprintf("%s/%s", d->tmpdir, STATE_FILE);
}

/* Monotonic usec -> wall seconds, and back. */
static double state_wall(const struct labd *d, uint64_t mono)
{
	uint64_t now = loop_now(d->event);

	if (mono >= now) /* in the future (an idle-keep expiry) */
		return loop_wall_seconds() + (double)(mono - now) / 1e6;
	return loop_wall_seconds() - (double)(now - mono) / 1e6;
}

static uint64_t state_mono(const struct labd *d, double wall)
{
	uint64_t now = loop_now(d->event);
	double ago = loop_wall_seconds() - wall;

	if (!(ago == ago) || ago > 1e9 || ago < -1e9)
		return now; /* nonsense: treat as now */
	if (ago <= 0)
		return now + (uint64_t)(-ago * 1e6); /* in the future (an idle-keep expiry) */
	return (uint64_t)(ago * 1e6) < now ? now - (uint64_t)(ago * 1e6) : 0;
}

static json_t *state_session_json(const struct labd *d, const struct session *s)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:o, s:f, s:o, s:f, s:o}", "id", s->id, "handle",
			 s->handle, "state", session_state_name(s->state), "priority", s->priority,
			 "label", s->label ? json_string(s->label) : json_null(), "created_at",
			 s->created_at, "promoted_at",
			 s->state == SESSION_ACTIVE ? json_real(state_wall(d, s->promoted))
						    : json_null(),
			 "max_wait", (double)s->max_wait / 1e6, "topology_name",
			 s->topology_name ? json_string(s->topology_name) : json_null());
}

static json_t *state_lab_json(const struct labd *d, const struct lab *lab)
{
	return json_pack("{s:i, s:i, s:s, s:s, s:s, s:s, s:o, s:O, s:o, s:i, s:b, s:f, s:o}",
			 "slot", lab->slot, "mlid", lab->mlid, "topology", lab->topology, "name",
			 lab->name, "hash", lab->hash, "workdir", lab->workdir, "upload_dir",
			 lab->upload_dir ? json_string(lab->upload_dir) : json_null(), "devices",
			 lab->devices, "holder",
			 lab->holder ? json_string(lab->holder->id) : json_null(), "ref", lab->ref,
			 "pinned", lab->pinned, "up_since", state_wall(d, lab->up_since),
			 "idle_until",
			 lab->idle_until ? json_real(state_wall(d, lab->idle_until)) : json_null());
}

int state_save(struct labd *d)
{
	json_t *sessions = json_array(), *labs = json_array(), *root;
	const struct session *s;
	char *path, *text;
	unsigned i;
	int r;

	SESSIONS_FOREACH(s, &d->sessions)
	json_array_append_new(sessions, state_session_json(d, s));
	for (i = 0; i < d->slots.n; i++)
		if (d->slots.labs[i].state == LAB_UP)
			json_array_append_new(labs, state_lab_json(d, &d->slots.labs[i]));
	root = json_pack("{s:s, s:i, s:s, s:s, s:i, s:f, s:o, s:o}", "format", STATE_FORMAT,
			 "version", STATE_VERSION, "program_version", RL_VERSION, "tmpdir",
			 d->tmpdir, "slots", d->slots.n, "written_at", loop_wall_seconds(),
			 "sessions", sessions, "labs", labs);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (text == NULL)
		return -ENOMEM;
	path = state_path(d);
	r = statefile_write(path, text, strlen(text), 0600);
	if (r < 0)
		log_error("cannot write the state file %s: %s", path, strerror(-r));
	explicit_bzero(text, strlen(text)); /* session ids */
	free(text);
	free(path);
	return r;
}

static int state_on_save(sd_event_source *src, void *userdata)
{
	(void)state_save(userdata);
	return 0;
}

void labd_state_changed(struct labd *d)
{
	if (!d->cfg.keep_labs || d->event == NULL || d->state_frozen)
		return;
	/* Once per dispatch, after every change it made, and before anything else runs: a
	 * lab's answer goes out on a resumed connection from the HTTP layer's next run (a defer
	 * of normal priority), so a client never hears of a lab the file does not name yet. */
	if (d->state_save == NULL) {
		if (sd_event_add_defer(d->event, &d->state_save, state_on_save, d) < 0) {
			(void)state_save(d);
			return;
		}
		(void)sd_event_source_set_priority(d->state_save, SD_EVENT_PRIORITY_IMPORTANT);
	}
	(void)sd_event_source_set_enabled(d->state_save, SD_EVENT_ONESHOT);
}

/* Move an unusable state file aside, keeping it for a post-mortem. */
static void state_move_aside(const char *path, const char *why)
{
	char *aside = xasprintf("%s.bad-%ld", path, (long)loop_wall_seconds());

	if (rename(path, aside) == 0)
		log_error("State file %s %s; moved aside to %s, starting clean", path, why, aside);
	else
		log_error("State file %s %s, and it cannot be moved aside (%s); starting clean",
			  path, why, strerror(errno));
	free(aside);
}

static bool state_dir_is_ours(const struct labd *d, const char *dir, const char *prefix)
{
	size_t n = strlen(d->tmpdir);

	return dir != NULL && strncmp(dir, d->tmpdir, n) == 0 && dir[n] == '/' &&
	       strncmp(dir + n + 1, prefix, strlen(prefix)) == 0 &&
	       strchr(dir + n + 1, '/') == NULL;
}

static bool state_id_ok(const char *s, size_t len)
{
	return s != NULL && strlen(s) == len;
}

/* Check the whole file before anything is restored. NULL when fine, else why not. */
static const char *state_check(const struct labd *d, const json_t *root)
{
	const json_t *v, *sessions = json_object_get(root, "sessions"),
			 *labs = json_object_get(root, "labs");
	size_t i;

	if (!json_is_object(root))
		return "is not a JSON object";
	if (!json_is_string(json_object_get(root, "format")) ||
	    strcmp(json_string_value(json_object_get(root, "format")), STATE_FORMAT) != 0)
		return "is not a neops-remote-lab state file";
	if (json_integer_value(json_object_get(root, "version")) != STATE_VERSION)
		return "has another format version";
	if (!json_is_string(json_object_get(root, "tmpdir")) ||
	    strcmp(json_string_value(json_object_get(root, "tmpdir")), d->tmpdir) != 0)
		return "belongs to a server with another state directory";
	if (!json_is_array(sessions) || !json_is_array(labs))
		return "lacks its sessions or labs";
	json_array_foreach (sessions, i, v) {
		const char *st = json_string_value(json_object_get(v, "state"));

		if (!state_id_ok(json_string_value(json_object_get(v, "id")), SESSION_ID_LEN) ||
		    !state_id_ok(json_string_value(json_object_get(v, "handle")),
				 SESSION_HANDLE_LEN) ||
		    st == NULL || (strcmp(st, "active") != 0 && strcmp(st, "waiting") != 0) ||
		    !json_is_integer(json_object_get(v, "priority")) ||
		    !json_is_number(json_object_get(v, "created_at")))
			return "has a malformed session";
	}
	json_array_foreach (labs, i, v) {
		const json_t *up = json_object_get(v, "upload_dir");

		if (!json_is_integer(json_object_get(v, "slot")) ||
		    !json_is_integer(json_object_get(v, "mlid")) ||
		    !json_is_string(json_object_get(v, "topology")) ||
		    !json_is_string(json_object_get(v, "name")) ||
		    !state_id_ok(json_string_value(json_object_get(v, "hash")), LAB_HASH_LEN) ||
		    !json_is_array(json_object_get(v, "devices")) ||
		    !json_is_integer(json_object_get(v, "ref")))
			return "has a malformed lab";
		if (!state_dir_is_ours(d, json_string_value(json_object_get(v, "workdir")),
				       "netlab_topo_") ||
		    (!json_is_null(up) &&
		     !state_dir_is_ours(d, json_string_value(up), "remote_netlab_upload_")))
			return "names labs that are not ours";
	}
	return NULL;
}

static void state_restore_sessions(struct labd *d, const json_t *sessions)
{
	const json_t *v;
	size_t i;

	json_array_foreach (sessions, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		const char *handle = json_string_value(json_object_get(v, "handle"));
		const char *label = json_string_value(json_object_get(v, "label"));
		const char *topo = json_string_value(json_object_get(v, "topology_name"));
		double created = json_number_value(json_object_get(v, "created_at"));
		double max_wait = json_number_value(json_object_get(v, "max_wait"));
		int prio = (int)json_integer_value(json_object_get(v, "priority"));
		struct session *s;

		if (prio < SESSION_PRIORITY_MIN || prio > SESSION_PRIORITY_MAX ||
		    (label != NULL && strlen(label) > SESSION_LABEL_MAX))
			continue;
		/* A fresh keep-alive timeout: last_seen is now. */
		s = sessions_add(&d->sessions, id, handle, prio, label, loop_now(d->event),
				 created);
		if (s == NULL)
			continue;
		s->created = state_mono(d, created);
		s->max_wait = max_wait > 0 ? (uint64_t)(max_wait * 1e6) : 0;
		session_set_topology(s, topo);
		if (strcmp(json_string_value(json_object_get(v, "state")), "active") == 0)
			sessions_promote(&d->sessions, s,
					 state_mono(d, json_number_value(
							       json_object_get(v, "promoted_at"))));
	}
}

static void state_restore_labs(struct labd *d, const json_t *labs, struct labops *ops)
{
	const json_t *v;
	size_t i;

	json_array_foreach (labs, i, v) {
		json_int_t slot = json_integer_value(json_object_get(v, "slot"));
		int mlid = (int)json_integer_value(json_object_get(v, "mlid"));
		const char *holder_id = json_string_value(json_object_get(v, "holder"));
		const json_t *idle = json_object_get(v, "idle_until");
		struct session *holder = holder_id ? sessions_find(&d->sessions, holder_id) : NULL;
		struct lab *lab;

		if (slot < 0 || (unsigned)slot >= d->slots.n || d->slots.labs[slot].mlid != mlid ||
		    d->slots.labs[slot].state != LAB_EMPTY) {
			log_warn(
				"The kept lab %s (slot %lld, instance %d) does not fit the slots of "
				"this start (%u slots); it is cleaned up instead",
				json_string_value(json_object_get(v, "name")), (long long)slot,
				mlid, d->slots.n);
			continue;
		}
		if (holder != NULL && (holder->state != SESSION_ACTIVE || holder->lab != NULL))
			holder = NULL;
		lab = &d->slots.labs[slot];
		lab_set_up(lab, json_string_value(json_object_get(v, "topology")),
			   json_string_value(json_object_get(v, "name")),
			   json_string_value(json_object_get(v, "hash")),
			   json_string_value(json_object_get(v, "workdir")),
			   json_string_value(json_object_get(v, "upload_dir")),
			   json_deep_copy(json_object_get(v, "devices")), holder,
			   state_mono(d, json_number_value(json_object_get(v, "up_since"))));
		if (holder != NULL) {
			holder->lab = lab;
			lab->ref = (int)json_integer_value(json_object_get(v, "ref"));
		} else {
			lab_set_idle(lab, loop_now(d->event),
				     json_is_number(idle) ? state_mono(d, json_number_value(idle))
							  : 0);
		}
		lab->pinned = json_is_true(json_object_get(v, "pinned"));
		labops_adopt(ops, lab);
	}
}

int state_restore(struct labd *d, struct labops *ops)
{
	char *path = state_path(d), *text = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	const char *why;
	size_t len = 0;
	int r;

	r = statefile_read(path, STATE_MAX, &text, &len);
	if (r == -ENOENT) {
		log_info("No state file %s: starting clean", path);
		r = 0;
		goto out;
	}
	if (r < 0) {
		state_move_aside(path, r == -EFBIG ? "is too big" : "cannot be read");
		r = 0;
		goto out;
	}
	if (!d->cfg.keep_labs) {
		state_move_aside(path, "is there but --keep-labs is off");
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	why = root == NULL ? "is not valid JSON" : state_check(d, root);
	if (why != NULL) {
		state_move_aside(path, why);
		goto out;
	}
	state_restore_sessions(d, json_object_get(root, "sessions"));
	state_restore_labs(d, json_object_get(root, "labs"), ops);
	log_info("Restored %zu sessions (%zu ACTIVE) and %zu labs from %s",
		 sessions_count(&d->sessions), d->sessions.n_active,
		 json_array_size(json_object_get(root, "labs")), path);
out:
	if (text != NULL)
		explicit_bzero(text, len);
	free(text);
	json_decref(root);
	free(path);
	return r;
}

/* Is dir used by one of the restored labs? */
static bool state_dir_restored(const struct labd *d, const char *dir)
{
	unsigned i;

	for (i = 0; i < d->slots.n; i++) {
		const struct lab *lab = &d->slots.labs[i];

		if (lab->state == LAB_EMPTY)
			continue;
		if ((lab->workdir && strcmp(lab->workdir, dir) == 0) ||
		    (lab->upload_dir && strcmp(lab->upload_dir, dir) == 0))
			return true;
	}
	return false;
}

json_t *state_leftovers(const struct labd *d)
{
	json_t *out = json_array();
	struct dirent *e;
	DIR *dir = opendir(d->tmpdir);

	if (dir == NULL)
		return out;
	while ((e = readdir(dir)) != NULL && json_array_size(out) < 100000) {
		char *path;
		struct stat st;

		if (strncmp(e->d_name, "netlab_topo_", 12) != 0 &&
		    strncmp(e->d_name, "remote_netlab_upload_", 21) != 0)
			continue;
		path = xasprintf("%s/%s", d->tmpdir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
		    !state_dir_restored(d, path))
			json_array_append_new(out, json_string(path));
		free(path);
	}
	closedir(dir);
	return out;
}

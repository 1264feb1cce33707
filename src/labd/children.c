/* The netlab process groups the server runs, recorded in <tmp>/neops_remote_lab_children.json
 * (crash-safe) while they run, so that a start after a crash ends what the previous instance
 * left behind before its cleanup.
 *
 * A netlab child dies with the server (parent-death signal), but its own children need not:
 * `sudo -E containerlab deploy` drops the signal at exec, and grandchildren never had it. A
 * recorded group is ended only while spawn_group_alive() still finds it the same group (boot,
 * start time, session): a pid the kernel handed to someone else is never signalled. */
#define LOG_COMPONENT LABD_LOGGER
#include "children.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"
#include "common/statefile.h"
#include "common/xmalloc.h"
#include "labd.h"

#define CHILDREN_FILE "neops_remote_lab_children.json"
#define CHILDREN_MAX 1024
#define CHILDREN_FILE_MAX (1 << 20)
#define CHILDREN_TERM_WAIT_MSEC 5000

struct labd_children {
	char *path;
	struct spawn_group groups[CHILDREN_MAX];
	size_t n;
};

static void children_save(struct labd_children *c)
{
	json_t *list = json_array(), *root;
	char *text;
	size_t i;
	int r;

	for (i = 0; i < c->n; i++)
		json_array_append_new(list, json_pack("{s:i, s:i, s:I, s:s}", "pgid",
						      (int)c->groups[i].pgid, "sid",
						      (int)c->groups[i].sid, "starttime",
						      (json_int_t)c->groups[i].starttime, "boot_id",
						      c->groups[i].boot_id));
	root = json_pack("{s:i, s:o}", "version", 1, "groups", list);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (text == NULL)
		return;
	r = statefile_write(c->path, text, strlen(text), 0600);
	if (r < 0)
		log_warn("cannot write %s: %s", c->path, strerror(-r));
	free(text);
}

void labd_children_track(void *userdata, const struct spawn_group *g, bool started)
{
	struct labd_children *c = userdata;
	size_t i;

	if (started) {
		if (c->n == CHILDREN_MAX)
			return; /* more than ever runs at once: not recorded, still killed at exit */
		c->groups[c->n++] = *g;
	} else {
		for (i = 0; i < c->n && c->groups[i].pgid != g->pgid; i++)
			;
		if (i == c->n)
			return;
		c->groups[i] = c->groups[--c->n];
	}
	children_save(c);
}

static void children_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Signal a group and wait (up to `msec`) until it is gone. True when it is. */
static bool children_end(const struct spawn_group *g, int sig, long msec)
{
	long waited = 0;
	int r = spawn_kill_group(g, sig);

	if (r == -ESRCH)
		return true;
	if (r < 0)
		return false;
	while (spawn_group_alive(g) > 0 && waited < msec) {
		children_sleep_ms(50);
		waited += 50;
	}
	return spawn_group_alive(g) <= 0;
}

/* End every group a previous instance recorded that is still there (blocking, at start-up,
 * before the server listens). */
static void children_end_leftovers(const char *path)
{
	json_t *root, *g;
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0, i;
	int r;

	r = statefile_read(path, CHILDREN_FILE_MAX, &text, &len);
	if (r < 0) {
		if (r != -ENOENT)
			log_warn("cannot read %s: %s; not looking for leftover processes", path,
				 strerror(-r));
		return;
	}
	root = json_loadb(text, len, 0, &jerr);
	free(text);
	json_array_foreach (json_object_get(root, "groups"), i, g) {
		struct spawn_group grp = { 0 };
		const char *boot = json_string_value(json_object_get(g, "boot_id"));
		int alive;

		grp.pgid = (pid_t)json_integer_value(json_object_get(g, "pgid"));
		grp.sid = (pid_t)json_integer_value(json_object_get(g, "sid"));
		grp.starttime = (uint64_t)json_integer_value(json_object_get(g, "starttime"));
		snprintf(grp.boot_id, sizeof(grp.boot_id), "%s", boot ? boot : "");
		if (grp.pgid <= 1 || (alive = spawn_group_alive(&grp)) <= 0)
			continue;
		log_warn("Ending leftover netlab process group %d of a previous instance (%d "
			 "processes)",
			 (int)grp.pgid, alive);
		if (children_end(&grp, SIGTERM, CHILDREN_TERM_WAIT_MSEC) ||
		    children_end(&grp, SIGKILL, CHILDREN_TERM_WAIT_MSEC))
			continue;
		log_error("Cannot end process group %d (%s): it runs as another user (sudo?); end "
			  "it by hand",
			  (int)grp.pgid, strerror(EPERM));
	}
	json_decref(root);
}

struct labd_children *labd_children_new(const char *tmpdir)
{
	struct labd_children *c = xcalloc(1, sizeof(*c));

	c->path = xasprintf("%s/%s", tmpdir, CHILDREN_FILE);
	children_end_leftovers(c->path);
	children_save(c);
	return c;
}

void labd_children_free(struct labd_children *c)
{
	if (c == NULL)
		return;
	c->n = 0;
	children_save(c);
	free(c->path);
	free(c);
}

/* One server per host: the instance lock, its metadata JSON and stale-lock recovery (spec §5.4). */
#define LOG_COMPONENT LABD_LOGGER
#include "instance.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/lock.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/statefile.h"
#include "common/xmalloc.h"

#define INSTANCE_LOCK "neops_remote_lab_server.lock"
#define INSTANCE_META "neops_remote_lab_server.meta.json"
#define INSTANCE_META_MAX (64 * 1024)

static bool instance_dir_usable(const char *dir)
{
	struct stat st;

	return dir != NULL && dir[0] != '\0' && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	       access(dir, W_OK | X_OK) == 0;
}

char *instance_tmpdir(void)
{
	static const char *const vars[] = { "TMPDIR", "TEMP", "TMP" };
	static const char *const dirs[] = { "/tmp", "/var/tmp", "/usr/tmp" };
	char cwd[4096];
	size_t i;

	for (i = 0; i < 3; i++) {
		const char *v = getenv(vars[i]);

		if (instance_dir_usable(v)) {
			char *abs = realpath(v, NULL);

			return abs ? abs : xstrdup(v);
		}
	}
	for (i = 0; i < 3; i++)
		if (instance_dir_usable(dirs[i]))
			return xstrdup(dirs[i]);
	return xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
}

static char *instance_path(const char *tmpdir, const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static json_t *instance_read_meta(const char *path)
{
	json_error_t err;
	char *data = NULL;
	json_t *meta;
	size_t len;
	int r;

	r = statefile_read(path, INSTANCE_META_MAX, &data, &len);
	if (r == -ENOENT)
		return NULL;
	if (r < 0) {
		log_warn("Failed to read instance metadata from %s: %s", path, strerror(-r));
		return NULL;
	}
	meta = json_loadb(data, len, 0, &err);
	free(data);
	if (meta == NULL || !json_is_object(meta)) {
		log_warn("Failed to read instance metadata from %s: %s", path,
			 meta ? "not a JSON object" : err.text);
		json_decref(meta);
		return NULL;
	}
	return meta;
}

/* pid as an int, or a string holding one; else 0 (like the original). */
static long instance_meta_pid(const json_t *meta)
{
	json_t *v = json_object_get(meta, "pid");

	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_string(v)) {
		char *end;
		long pid = strtol(json_string_value(v), &end, 10);

		return *end == '\0' ? pid : 0;
	}
	return 0;
}

static void instance_print_field(const json_t *meta, const char *label, const char *key)
{
	json_t *v = json_object_get(meta, key);
	char *s;

	if (v == NULL || json_is_null(v)) {
		log_error("  %-11s %s", label, "?");
		return;
	}
	if (json_is_string(v)) {
		log_error("  %-11s %s", label, json_string_value(v));
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY);
	log_error("  %-11s %s", label, s ? s : "?");
	free(s);
}

static void instance_log_running(const json_t *meta, long pid)
{
	json_t *started = json_object_get(meta, "started_at");
	const char *user = json_string_value(json_object_get(meta, "user"));
	const char *host = json_string_value(json_object_get(meta, "host"));
	const char *bind = json_string_value(json_object_get(meta, "host_bind"));
	json_t *port = json_object_get(meta, "port");
	char when[64] = "?";

	if (json_is_number(started)) {
		time_t t = (time_t)json_number_value(started);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	}
	log_error("Running instance details:");
	log_error("  PID:        %ld", pid);
	log_error("  User:       %s@%s", user ? user : "?", host ? host : "?");
	instance_print_field(meta, "Version:", "version");
	log_error("  Started:    %s", when);
	if (json_is_integer(port))
		log_error("  Bind:       %s:%lld", bind ? bind : "?",
			  (long long)json_integer_value(port));
	else
		log_error("  Bind:       %s:?", bind ? bind : "?");
	instance_print_field(meta, "Log level:", "log_level");
	instance_print_field(meta, "Log config:", "log_config");
	instance_print_field(meta, "CWD:", "cwd");
	instance_print_field(meta, "Command:", "cmd");
}

int instance_lock(const char *tmpdir, int *ret_fd)
{
	char *lock_path = instance_path(tmpdir, INSTANCE_LOCK);
	char *meta_path = instance_path(tmpdir, INSTANCE_META);
	json_t *meta = NULL;
	long pid;
	int r;

	r = lock_try(lock_path, ret_fd);
	if (r == 0)
		goto out;
	if (r != -EWOULDBLOCK) {
		log_error("Cannot open the instance lock %s: %s", lock_path, strerror(-r));
		goto out;
	}
	log_error("Another Remote Lab Manager instance is already running.");
	meta = instance_read_meta(meta_path);
	if (meta == NULL) {
		log_error("No metadata file found for existing instance (%s).", meta_path);
		r = -EEXIST;
		goto out;
	}
	pid = instance_meta_pid(meta);
	if (pid > 0 && kill((pid_t)pid, 0) == 0) {
		instance_log_running(meta, pid);
		r = -EEXIST;
		goto out;
	}
	log_warn("Stale instance metadata detected – cleaning up...");
	unlink(meta_path);
	r = lock_try(lock_path, ret_fd);
	if (r == 0) {
		log_info("Recovered from stale state – proceeding to start server.");
		goto out;
	}
	log_error("Lock still held but metadata was stale – another process likely took the lock.");
	r = -EEXIST;
out:
	json_decref(meta);
	free(lock_path);
	free(meta_path);
	return r;
}

static const char *instance_user(void)
{
	static const char *const vars[] = { "LOGNAME", "USER", "LNAME", "USERNAME" };
	struct passwd *pw;
	size_t i;

	for (i = 0; i < 4; i++) {
		const char *v = getenv(vars[i]);

		if (v != NULL && v[0] != '\0')
			return v;
	}
	pw = getpwuid(getuid());
	return pw ? pw->pw_name : "?";
}

void instance_write_meta(const struct labd *d, int argc, char **argv)
{
	char *path = instance_path(d->tmpdir, INSTANCE_META);
	struct utsname un;
	struct buf cmd;
	json_t *meta;
	char *text;
	int i, r;

	buf_init(&cmd, 64 * 1024);
	for (i = 0; i < argc; i++)
		(void)buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
	if (uname(&un) < 0)
		snprintf(un.nodename, sizeof(un.nodename), "?");
	meta = json_pack("{s:i, s:s, s:s, s:f, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "pid",
			 (int)getpid(), "user", instance_user(), "host", un.nodename, "started_at",
			 d->started_wall, "port", (int)d->cfg.port, "host_bind", d->cfg.host,
			 "log_level", d->cfg.log_level, "log_config", d->cfg.log_config, "version",
			 RL_VERSION, "cwd", d->cwd, "cmd", buf_cstr(&cmd));
	text = meta ? json_dumps(meta, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
	r = text ? statefile_write(path, text, strlen(text), 0644) : -ENOMEM;
	if (r < 0)
		log_warn("Failed to write instance metadata: %s", strerror(-r));
	free(text);
	json_decref(meta);
	buf_free(&cmd);
	free(path);
}

void instance_remove_meta(const char *tmpdir)
{
	char *path = instance_path(tmpdir, INSTANCE_META);

	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s, ignoring", path, strerror(errno));
	free(path);
}

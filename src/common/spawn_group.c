/* A child's process group, recorded so that what is left of it after the server died
 * (grandchildren, set-user-ID programs that dropped the parent-death signal) can be found
 * and ended at the next start, without mistaking a reused pid for it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn_int.h"

/* Fields of /proc/<pid>/stat that identify a process and its group. */
struct spawn_stat {
	char state;
	pid_t pgrp;
	pid_t session;
	uint64_t starttime;
};

static int spawn_read_stat(pid_t pid, struct spawn_stat *ret)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r == -ESRCH ? -ENOENT : r;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime priority nice num_threads itrealvalue starttime ...";
	 * comm may hold spaces and parentheses, so the fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 1,
		   " %c %*d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %" SCNu64,
		   &ret->state, &ret->pgrp, &ret->session, &ret->starttime) != 4)
		return -EIO;
	return 0;
}

static int spawn_boot_id(char out[SPAWN_BOOT_ID_SIZE])
{
	static char cached[SPAWN_BOOT_ID_SIZE];
	ssize_t n;
	int fd;

	if (cached[0] == '\0') {
		fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, cached, sizeof(cached) - 1);
		close(fd);
		if (n < 36) {
			cached[0] = '\0';
			return -EIO;
		}
		cached[36] = '\0';
	}
	memcpy(out, cached, SPAWN_BOOT_ID_SIZE);
	return 0;
}

/* Remember what identifies the child's group after we are gone (see spawn_group_alive). */
void spawn_record_group(struct spawn *sp)
{
	struct spawn_stat st;
	int r;

	sp->group.pgid = sp->pid;
	r = spawn_read_stat(sp->pid, &st);
	if (r == 0)
		r = spawn_boot_id(sp->group.boot_id);
	if (r == 0) {
		sp->group.sid = st.session;
		sp->group.starttime = st.starttime;
	}
	sp->group_error = r;
}

int spawn_get_group(const struct spawn *sp, struct spawn_group *ret)
{
	if (sp->group_error < 0)
		return sp->group_error;
	*ret = sp->group;
	return 0;
}

int spawn_group_alive(const struct spawn_group *g)
{
	char boot_id[SPAWN_BOOT_ID_SIZE];
	struct spawn_stat st;
	struct dirent *de;
	int n = 0, r;
	DIR *d;

	/* sid 0 is a real answer: the session's leader lives outside our pid namespace (a
	 * container, a CI runner), and every process of that session reads 0. */
	if (g->pgid <= 1 || g->sid < 0)
		return -EINVAL;
	/* Start times count from boot: after a reboot nothing of the group can be left. */
	r = spawn_boot_id(boot_id);
	if (r < 0)
		return r;
	if (strncmp(boot_id, g->boot_id, SPAWN_BOOT_ID_SIZE) != 0)
		return 0;
	/* A live process with the leader's pid but another start time: the number was free
	 * again, so the old group had ended. */
	if (spawn_read_stat(g->pgid, &st) == 0 && st.starttime != g->starttime)
		return 0;
	d = opendir("/proc");
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid > INT32_MAX ||
		    spawn_read_stat((pid_t)pid, &st) < 0)
			continue;
		/* A group id stays taken while any member lives, and every member of the
		 * original group started after its leader, in the leader's session. */
		if (st.pgrp == g->pgid && st.session == g->sid && st.starttime >= g->starttime &&
		    st.state != 'Z' && st.state != 'X')
			n++;
	}
	closedir(d);
	return n;
}

int spawn_kill_group(const struct spawn_group *g, int sig)
{
	int n = spawn_group_alive(g);

	if (n < 0)
		return n;
	if (n == 0)
		return -ESRCH;
	if (kill(-g->pgid, sig) < 0)
		return -errno;
	return 0;
}

/* Child processes: own process group, parent-death signal, stdin /dev/null, a deadline,
 * capped output, exit events from a pidfd or SIGCHLD. This file is a child's life on the
 * loop: its pipes read into capped buffers and lines, its deadline (signal the group, then
 * SIGKILL), its end reported from a deferred event; fork and exec are in spawn_exec.c, exit
 * tracking in spawn_watch.c, the group's identity in spawn_group.c. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "spawn_int.h"
#include "xmalloc.h"

#define SPAWN_DRAIN_GRACE_USEC (2 * USEC_PER_SEC)

static void spawn_pipe_close(struct spawn_pipe *p)
{
	p->src = sd_event_source_disable_unref(p->src);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static void spawn_emit_line(struct spawn_pipe *p, bool flush)
{
	struct spawn *sp = p->sp;

	if (sp->opt.on_line == NULL || (p->line_len == 0 && !flush))
		return;
	if (p->line_len == 0)
		return;
	p->line[p->line_len] = '\0';
	sp->opt.on_line(sp->opt.line_userdata, p->stream, p->line);
	p->line_len = 0;
}

static void spawn_feed_lines(struct spawn_pipe *p, const char *data, size_t n)
{
	size_t i;

	if (p->sp->opt.on_line == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			spawn_emit_line(p, true);
			continue;
		}
		if (p->line_len >= SPAWN_LINE_MAX - 1)
			spawn_emit_line(p, true);
		p->line[p->line_len++] = data[i];
	}
}

static int spawn_on_finish(sd_event_source *s, void *userdata)
{
	struct spawn *sp = userdata;
	spawn_done_fn done = sp->done;

	sp->done = NULL;
	if (done != NULL)
		done(sp, &sp->res, sp->userdata); /* may free sp */
	return 0;
}

/* Once the child is reaped and both pipes are drained, report from a deferred event, so
 * the callback may free the spawn without pulling a dispatching source from under sd-event. */
static void spawn_maybe_finish(struct spawn *sp)
{
	if (!sp->child_done || sp->out.fd >= 0 || sp->err.fd >= 0 || sp->finish != NULL)
		return;
	sp->res.duration_usec = loop_now(sp->event) - sp->started;
	if (sd_event_add_defer(sp->event, &sp->finish, spawn_on_finish, sp) < 0)
		spawn_on_finish(NULL, sp);
}

static int spawn_on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct spawn_pipe *p = userdata;
	struct spawn *sp = p->sp;
	char chunk[16384];
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			spawn_emit_line(p, true);
			spawn_pipe_close(p);
			spawn_maybe_finish(sp);
			return 0;
		}
		spawn_feed_lines(p, chunk, (size_t)n);
		if (p->stream == SPAWN_STDOUT) {
			size_t room = sp->res.out.max - sp->res.out.len;

			if ((size_t)n > room) {
				sp->res.stdout_truncated = true;
				(void)buf_append(&sp->res.out, chunk, room);
			} else {
				(void)buf_append(&sp->res.out, chunk, (size_t)n);
			}
		} else {
			buf_append_tail(&sp->res.err, chunk, (size_t)n);
		}
	}
	return 0;
}

static int spawn_on_drain_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct spawn *sp = userdata;

	/* The leader is gone but something in its group still holds the pipes open. */
	if (sp->pid > 0)
		(void)kill(-sp->pid, SIGKILL);
	spawn_pipe_close(&sp->out);
	spawn_pipe_close(&sp->err);
	spawn_maybe_finish(sp);
	return 0;
}

int spawn_on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	struct spawn *sp = userdata;

	sp->child_done = true;
	if (si->si_code == CLD_EXITED) {
		sp->res.exited = true;
		sp->res.exit_code = si->si_status;
	} else {
		sp->res.exited = false;
		sp->res.signal = si->si_status;
	}
	sp->deadline = sd_event_source_disable_unref(sp->deadline);
	if (sp->out.fd >= 0 || sp->err.fd >= 0)
		(void)loop_timer_arm(sp->event, &sp->drain, SPAWN_DRAIN_GRACE_USEC,
				     spawn_on_drain_timeout, sp);
	spawn_maybe_finish(sp);
	return 0;
}

static int spawn_on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct spawn *sp = userdata;
	uint64_t grace = sp->opt.kill_grace_usec ? sp->opt.kill_grace_usec : 5 * USEC_PER_SEC;

	if (sp->child_done)
		return 0;
	if (!sp->res.timed_out) {
		sp->res.timed_out = true;
		spawn_signal(sp, sp->opt.term_signal ? sp->opt.term_signal : SIGTERM);
		return loop_timer_arm(sp->event, &sp->deadline, grace, spawn_on_deadline, sp);
	}
	sp->killed_hard = true;
	spawn_signal(sp, SIGKILL);
	return 0;
}

static int spawn_pipe_open(struct spawn *sp, struct spawn_pipe *p, enum spawn_stream stream,
			   int *ret_write_fd)
{
	int fds[2];

	p->sp = sp;
	p->stream = stream;
	p->fd = -1;
	/* Only our read end is non-blocking; the child gets an ordinary blocking pipe. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		close(fds[0]);
		close(fds[1]);
		return r;
	}
	fds[1] = spawn_fd_above_stdio(fds[1]);
	if (fds[1] < 0) {
		int r = -errno;

		close(fds[0]);
		return r;
	}
	p->fd = fds[0];
	*ret_write_fd = fds[1];
	return 0;
}

int spawn_start(sd_event *e, const struct spawn_options *o, spawn_done_fn done, void *userdata,
		struct spawn **ret)
{
	struct spawn *sp;
	int out_w = -1, err_w = -1, r;

	sp = xcalloc(1, sizeof(*sp));
	sp->event = sd_event_ref(e);
	sp->opt = *o;
	sp->done = done;
	sp->userdata = userdata;
	sp->out.fd = sp->err.fd = -1;
	buf_init(&sp->res.out, o->stdout_max);
	buf_init(&sp->res.err, o->stderr_max);

	r = spawn_pipe_open(sp, &sp->out, SPAWN_STDOUT, &out_w);
	if (r < 0)
		goto fail;
	r = spawn_pipe_open(sp, &sp->err, SPAWN_STDERR, &err_w);
	if (r < 0)
		goto fail;
	r = spawn_fork(sp, o, out_w, err_w);
	if (r < 0)
		goto fail;
	sp->started = loop_now(e);
	close(out_w);
	close(err_w);
	out_w = err_w = -1;
	spawn_record_group(sp);

	r = spawn_watch(sp);
	if (r < 0)
		goto fail;
	r = sd_event_add_io(e, &sp->out.src, sp->out.fd, EPOLLIN, spawn_on_output, &sp->out);
	if (r == 0)
		r = sd_event_add_io(e, &sp->err.src, sp->err.fd, EPOLLIN, spawn_on_output,
				    &sp->err);
	if (r < 0)
		goto fail;
	if (o->timeout_usec > 0) {
		r = loop_timer_arm(e, &sp->deadline, o->timeout_usec, spawn_on_deadline, sp);
		if (r < 0)
			goto fail;
	}
	*ret = sp;
	return 0;

fail:
	/* a running child is killed and reaped by spawn_free (by its child source if any) */
	if (out_w >= 0)
		close(out_w);
	if (err_w >= 0)
		close(err_w);
	sp->done = NULL;
	spawn_free(sp);
	return r;
}

void spawn_signal(struct spawn *sp, int sig)
{
	/* While the leader is unreaped (child_done is set only in the callback, before the
	 * reap), its pid is also a live process-group id. */
	if (sp != NULL && sp->pid > 0 && !sp->child_done)
		(void)kill(-sp->pid, sig);
}

pid_t spawn_pid(const struct spawn *sp)
{
	return sp->pid;
}

void spawn_free(struct spawn *sp)
{
	if (sp == NULL)
		return;
	if (sp->pid > 0 && !sp->child_done) {
		(void)kill(-sp->pid, SIGKILL);
		if (sp->child == NULL) {
			while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
				;
		} else {
			/* Reap synchronously so no zombie is left behind. */
			siginfo_t si;

			(void)sd_event_source_set_child_process_own(sp->child, 0);
			while (waitid(P_PID, (id_t)sp->pid, &si, WEXITED) < 0 && errno == EINTR)
				;
		}
	}
	sp->child = sd_event_source_disable_unref(sp->child);
	sp->deadline = sd_event_source_disable_unref(sp->deadline);
	sp->drain = sd_event_source_disable_unref(sp->drain);
	sp->finish = sd_event_source_disable_unref(sp->finish);
	spawn_pipe_close(&sp->out);
	spawn_pipe_close(&sp->err);
	spawn_result_free(&sp->res);
	sd_event_unref(sp->event);
	free(sp);
}

struct spawn_sync {
	struct spawn_result *ret;
	bool finished;
};

static void spawn_sync_done(struct spawn *sp, struct spawn_result *res, void *userdata)
{
	struct spawn_sync *st = userdata;

	*st->ret = *res;
	/* Take ownership of the buffers. */
	buf_init(&res->out, 0);
	buf_init(&res->err, 0);
	st->finished = true;
}

int spawn_run_sync(const struct spawn_options *o, struct spawn_result *ret)
{
	struct spawn_sync st = { .ret = ret };
	struct spawn *sp = NULL;
	sd_event *e = NULL;
	sigset_t chld, old;
	int r;

	/* sd-event takes child events only with SIGCHLD blocked. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	r = sd_event_new(&e);
	if (r < 0)
		goto out;
	r = spawn_start(e, o, spawn_sync_done, &st, &sp);
	if (r < 0)
		goto out;
	while (!st.finished) {
		r = sd_event_run(e, UINT64_MAX);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	spawn_free(sp);
	sd_event_unref(e);
	/* Tracking by SIGCHLD, this private loop may have taken the one pending SIGCHLD that
	 * also announced a child of another loop: post one more so that loop looks again. */
	if (spawn_watch_sigchld())
		(void)kill(getpid(), SIGCHLD);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void spawn_result_free(struct spawn_result *res)
{
	if (res == NULL)
		return;
	buf_free(&res->out);
	buf_free(&res->err);
}

void spawn_describe(const struct spawn_result *res, char *out, size_t len)
{
	if (res->exited)
		snprintf(out, len, "exit code %d%s", res->exit_code,
			 res->timed_out ? " (timed out)" : "");
	else
		snprintf(out, len, "signal %d%s", res->signal,
			 res->timed_out ? " (timed out)" : "");
}

/* Worker threads for blocking calls (database, WinRM); results come back on the loop thread. */
#ifndef RL_WORKQ_H
#define RL_WORKQ_H

#include <stddef.h>

#include <systemd/sd-event.h>

struct workq;

/* Runs on a worker thread: must not touch loop-owned state. */
typedef void (*workq_work_fn)(void *arg);
/* Runs on the loop thread after the work is done. */
typedef void (*workq_done_fn)(void *arg);

/* nthreads workers; at most max_pending jobs queued or running. */
int workq_new(sd_event *e, unsigned nthreads, size_t max_pending, struct workq **ret);
/* Queue a job. -EAGAIN when max_pending jobs are already queued. */
int workq_submit(struct workq *q, workq_work_fn work, workq_done_fn done, void *arg);
/* Jobs queued or running. */
size_t workq_pending(const struct workq *q);
/* Finish every queued job, join the threads, run the remaining done callbacks. Accepts NULL. */
void workq_free(struct workq *q);

#endif

/* Worker threads for blocking calls; results come back on the loop thread via an eventfd. */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include "xmalloc.h"

struct workq_job {
	workq_work_fn work;
	workq_done_fn done;
	void *arg;
	STAILQ_ENTRY(workq_job) link;
};

STAILQ_HEAD(workq_list, workq_job);

struct workq {
	sd_event *event;
	sd_event_source *src;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct workq_list todo;     /* guarded by mu */
	struct workq_list finished; /* guarded by mu */
	size_t pending;             /* guarded by mu */
	size_t max_pending;
	bool stopping; /* guarded by mu */
	pthread_t *threads;
	unsigned nthreads;
};

static void *workq_thread(void *arg)
{
	struct workq *q = arg;
	struct workq_job *job;
	uint64_t one = 1;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (STAILQ_EMPTY(&q->todo) && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		job = STAILQ_FIRST(&q->todo);
		if (job == NULL)
			break; /* stopping and nothing left */
		STAILQ_REMOVE_HEAD(&q->todo, link);
		pthread_mutex_unlock(&q->mu);
		job->work(job->arg);
		pthread_mutex_lock(&q->mu);
		STAILQ_INSERT_TAIL(&q->finished, job, link);
		(void)!write(q->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Run done callbacks for finished jobs, on the loop thread. */
static void workq_reap(struct workq *q)
{
	struct workq_list done = STAILQ_HEAD_INITIALIZER(done);
	struct workq_job *job;

	pthread_mutex_lock(&q->mu);
	STAILQ_CONCAT(&done, &q->finished);
	pthread_mutex_unlock(&q->mu);
	while ((job = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, link);
		pthread_mutex_lock(&q->mu);
		q->pending--;
		pthread_mutex_unlock(&q->mu);
		if (job->done)
			job->done(job->arg);
		free(job);
	}
}

static int workq_on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	workq_reap(userdata);
	return 0;
}

int workq_new(sd_event *e, unsigned nthreads, size_t max_pending, struct workq **ret)
{
	struct workq *q;
	unsigned i;
	int r;

	q = xcalloc(1, sizeof(*q));
	q->event = sd_event_ref(e);
	q->max_pending = max_pending;
	STAILQ_INIT(&q->todo);
	STAILQ_INIT(&q->finished);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(e, &q->src, q->efd, EPOLLIN, workq_on_event, q);
	if (r < 0)
		goto fail;
	q->threads = xcalloc(nthreads, sizeof(*q->threads));
	for (i = 0; i < nthreads; i++) {
		r = -pthread_create(&q->threads[i], NULL, workq_thread, q);
		if (r < 0)
			goto fail;
		q->nthreads++;
	}
	*ret = q;
	return 0;
fail:
	workq_free(q);
	return r;
}

int workq_submit(struct workq *q, workq_work_fn work, workq_done_fn done, void *arg)
{
	struct workq_job *job;

	pthread_mutex_lock(&q->mu);
	if (q->pending >= q->max_pending || q->stopping) {
		pthread_mutex_unlock(&q->mu);
		return -EAGAIN;
	}
	job = xcalloc(1, sizeof(*job));
	job->work = work;
	job->done = done;
	job->arg = arg;
	STAILQ_INSERT_TAIL(&q->todo, job, link);
	q->pending++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

size_t workq_pending(const struct workq *q)
{
	size_t n;

	pthread_mutex_lock((pthread_mutex_t *)&q->mu);
	n = q->pending;
	pthread_mutex_unlock((pthread_mutex_t *)&q->mu);
	return n;
}

void workq_free(struct workq *q)
{
	unsigned i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	workq_reap(q);
	free(q->threads);
	sd_event_source_disable_unref(q->src);
	if (q->efd >= 0)
		close(q->efd);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	sd_event_unref(q->event);
	free(q);
}

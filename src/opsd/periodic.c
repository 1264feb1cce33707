/* A periodic task on the loop: first run at once, overruns skip missed runs, no overlap. */
#include "periodic.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/loop.h"
#include "common/xmalloc.h"

struct periodic {
	sd_event *event;
	sd_event_source *timer;
	uint64_t interval_usec;
	periodic_run_fn run;
	void *userdata;
	bool running;
	bool stopped;
	uint64_t started_usec;
};

static int periodic_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct periodic *p = userdata;

	/* The timer is only armed between runs; stay safe if that ever changes. */
	if (p->running || p->stopped)
		return 0;
	p->running = true;
	p->started_usec = loop_now(p->event);
	p->run(p->userdata);
	return 0;
}

int periodic_new(sd_event *e, double interval_s, periodic_run_fn run, void *userdata,
		 struct periodic **ret)
{
	struct periodic *p = xcalloc(1, sizeof(*p));
	int r;

	p->event = e;
	p->interval_usec = (uint64_t)(interval_s * 1e6);
	p->run = run;
	p->userdata = userdata;
	r = loop_timer_arm(e, &p->timer, 0, periodic_on_timer, p);
	if (r < 0) {
		free(p);
		return r;
	}
	*ret = p;
	return 0;
}

double periodic_done(struct periodic *p)
{
	double took = (double)(loop_now(p->event) - p->started_usec) / 1e6;

	p->running = false;
	if (!p->stopped)
		loop_timer_arm_next(p->event, &p->timer, p->started_usec, p->interval_usec,
				    periodic_on_timer, p);
	return took;
}

void periodic_stop(struct periodic *p)
{
	if (p == NULL)
		return;
	p->stopped = true;
	loop_timer_disarm(p->timer);
}

bool periodic_stopped(const struct periodic *p)
{
	return p->stopped;
}

void periodic_free(struct periodic *p)
{
	if (p == NULL)
		return;
	sd_event_source_disable_unref(p->timer);
	free(p);
}

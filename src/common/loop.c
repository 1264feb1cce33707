/* Event loop glue on sd-event: signal masks, one-shot timers, clock, sd_notify. */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <systemd/sd-daemon.h>

int loop_new(sd_event **ret)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	r = pthread_sigmask(SIG_BLOCK, &mask, NULL);
	if (r != 0)
		return -r;
	signal(SIGPIPE, SIG_IGN);
	return sd_event_default(ret);
}

uint64_t loop_now(sd_event *e)
{
	uint64_t now;
	struct timespec ts;

	if (e != NULL && sd_event_now(e, CLOCK_MONOTONIC, &now) >= 0)
		return now;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

int loop_timer_arm(sd_event *e, sd_event_source **s, uint64_t usec, sd_event_time_handler_t cb,
		   void *userdata)
{
	uint64_t when = loop_now(e) + usec;
	int r;

	if (*s == NULL)
		return sd_event_add_time(e, s, CLOCK_MONOTONIC, when, 1000, cb, userdata);
	r = sd_event_source_set_time(*s, when);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
}

void loop_timer_disarm(sd_event_source *s)
{
	if (s != NULL)
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

int loop_timer_arm_next(sd_event *e, sd_event_source **s, uint64_t started, uint64_t interval,
			sd_event_time_handler_t cb, void *userdata)
{
	uint64_t now = loop_now(e), due = started + interval;

	if (interval == 0)
		return loop_timer_arm(e, s, 0, cb, userdata);
	if (due <= now)
		due += ((now - due) / interval + 1) * interval;
	return loop_timer_arm(e, s, due - now, cb, userdata);
}

double loop_wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void loop_notify(const char *state)
{
	(void)sd_notify(0, state);
}

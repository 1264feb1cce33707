/* Event loop glue on sd-event: signal masks, one-shot timers, clock, sd_notify. */
#ifndef RL_LOOP_H
#define RL_LOOP_H

#include <stdint.h>

#include <systemd/sd-event.h>

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL

/* The default loop of this thread, with SIGTERM, SIGINT, SIGHUP and SIGCHLD blocked (so
 * sd-event can take them as events) and SIGPIPE ignored. */
int loop_new(sd_event **ret);
/* Monotonic now in microseconds (the loop's cached time when available). */
uint64_t loop_now(sd_event *e);
/* Arm a one-shot monotonic timer `usec` from now, creating the source on first use. */
int loop_timer_arm(sd_event *e, sd_event_source **s, uint64_t usec, sd_event_time_handler_t cb,
		   void *userdata);
void loop_timer_disarm(sd_event_source *s);
/* Arm a one-shot timer for the first `started + k * interval` (k >= 1) still ahead, so a
 * periodic job whose run overran its interval skips the missed runs instead of running late
 * ones back to back (interval 0: now). */
int loop_timer_arm_next(sd_event *e, sd_event_source **s, uint64_t started, uint64_t interval,
			sd_event_time_handler_t cb, void *userdata);
/* Wall clock in seconds since the epoch, with fractions. */
double loop_wall_seconds(void);
/* Tell systemd about our state ("READY=1", "STOPPING=1", "STATUS=..."); no-op outside it. */
void loop_notify(const char *state);

#endif

/* A periodic task on the loop: the first run at once, then one run per interval counted from
 * the start of the previous run; an overrun skips the missed runs and runs never overlap
 * (APScheduler's max_instances=1, as the original's poller and scheduler). */
#ifndef RL_OPSD_PERIODIC_H
#define RL_OPSD_PERIODIC_H

#include <stdbool.h>

#include <systemd/sd-event.h>

struct periodic;

/* Starts a run; the task calls periodic_done() when the run is over (possibly later, from
 * another callback on the loop). */
typedef void (*periodic_run_fn)(void *userdata);

/* Arm the first run for now. interval_s > 0. */
int periodic_new(sd_event *e, double interval_s, periodic_run_fn run, void *userdata,
		 struct periodic **ret);
/* The current run is over: arm the next one (unless stopped). Returns how long the run took,
 * in seconds, for the log. */
double periodic_done(struct periodic *p);
/* No new runs (a run in progress still ends with periodic_done). NULL ok. */
void periodic_stop(struct periodic *p);
bool periodic_stopped(const struct periodic *p);
/* NULL ok. */
void periodic_free(struct periodic *p);

#endif

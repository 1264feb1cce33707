/* Reservation automation: scan lab_reservations, claim a step, run it, record, transition. */
#ifndef RL_OPSD_SCHEDULER_H
#define RL_OPSD_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opsd;
struct scheduler;

int scheduler_new(struct opsd *o, struct scheduler **ret);
void scheduler_stop(struct scheduler *s);
void scheduler_free(struct scheduler *s);

#endif

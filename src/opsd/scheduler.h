/* Reservation automation: scan lab_reservations, claim a step, run it, record, transition. */
#ifndef RL_OPSD_SCHEDULER_H
#define RL_OPSD_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opsd;
struct db;
struct scheduler;

struct sched_params {
	int64_t now_usec;
	double lookback, start_lead, end_delay, cooldown, claim_ttl;
	long max_attempts;  /* 0: unlimited */
	long max_batch;
	const char *owner;
};

struct sched_candidate {
	char *id;       /* transaction_hash */
	char *lab_id;
	char *status;
};

/* Database thread: the start and end candidates of one scan (§7.2). */
int sched_find_candidates(struct db *db, const struct sched_params *p, bool start,
			  struct sched_candidate **ret, size_t *ret_n);
void sched_candidates_free(struct sched_candidate *c, size_t n);
/* Database thread: claim (reservation, phase) for this worker. *ret_attempt is the attempt
 * number (>= 1) when claimed, 0 when another worker holds it, it is exhausted or it is no
 * longer eligible. *ret_status receives the current status (caller frees) when claimed. */
int sched_claim(struct db *db, const struct sched_params *p, const char *id, bool start,
		long *ret_attempt, char **ret_status);
int sched_release(struct db *db, const struct sched_params *p, const char *id, bool start);
/* Guarded transition: only CONFIRMED->ACTIVE, CONFIRMED->COMPLETED, ACTIVE->COMPLETED,
 * CONFIRMED->CANCELLED, ACTIVE->CANCELLED. *ret_changed says whether a row moved. */
int sched_set_status(struct db *db, int64_t now_usec, const char *id, const char *from,
		     const char *to, bool *ret_changed);
bool sched_transition_allowed(const char *from, const char *to);

int scheduler_new(struct opsd *o, struct scheduler **ret);
void scheduler_stop(struct scheduler *s);
void scheduler_free(struct scheduler *s);

#endif

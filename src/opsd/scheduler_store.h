/* The scheduler's SQL (database thread): candidates, claims, guarded status transitions.
 * Every function takes only the database handle and plain data; none touches loop state. */
#ifndef RL_OPSD_SCHEDULER_STORE_H
#define RL_OPSD_SCHEDULER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct scheduler_params {
	int64_t now_usec;
	double lookback, start_lead, end_delay, cooldown, claim_ttl;
	long max_attempts; /* 0: unlimited */
	long max_batch;
	const char *owner;
};

struct scheduler_candidate {
	char *id; /* transaction_hash */
	char *lab_id;
	char *status;
};

/* The start or end candidates of one scan (§7.2). */
int scheduler_store_candidates(struct db *db, const struct scheduler_params *p, bool start,
			       struct scheduler_candidate **ret, size_t *ret_n);
void scheduler_store_candidates_free(struct scheduler_candidate *c, size_t n);
/* Claim (reservation, phase) for this worker. *ret_attempt is the attempt number (>= 1) when
 * claimed, 0 when another worker holds it, it is exhausted or it is no longer eligible.
 * *ret_status receives the current status (caller frees) when claimed. */
int scheduler_store_claim(struct db *db, const struct scheduler_params *p, const char *id,
			  bool start, long *ret_attempt, char **ret_status);
int scheduler_store_release(struct db *db, const struct scheduler_params *p, const char *id,
			    bool start);
/* Guarded transition: only CONFIRMED->ACTIVE, CONFIRMED->COMPLETED, ACTIVE->COMPLETED,
 * CONFIRMED->CANCELLED, ACTIVE->CANCELLED. *ret_changed says whether a row moved. */
int scheduler_store_set_status(struct db *db, int64_t now_usec, const char *id, const char *from,
			       const char *to, bool *ret_changed);
bool scheduler_store_transition_allowed(const char *from, const char *to);
/* A restarted worker takes over its own claims (owner = p->owner) at once: they end now.
 * *ret_n says how many were still held. Called once, before the first scan. */
int scheduler_store_take_over(struct db *db, const struct scheduler_params *p, int64_t *ret_n);

#endif

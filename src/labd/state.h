/* --keep-labs: the queue and the running labs in a crash-safe state file, and their
 * restoration at the next start. */
#ifndef RL_LABD_STATE_H
#define RL_LABD_STATE_H

#include <jansson.h>

struct labd;
struct labops;

/* Write the state file now (mode 0600, atomically). 0 or negative errno (logged). */
int state_save(struct labd *d);
/* At start-up, before the server listens: restore the sessions and labs of the state file
 * (labs are handed to labops_adopt() to be checked by the start-up job). A file that cannot
 * be used — unreadable, another format or version, another state directory, labs that are
 * not ours, or --keep-labs off — is moved aside with a log line and the server starts clean. */
int state_restore(struct labd *d, struct labops *ops);
/* The work and upload directories under <tmp> that no restored lab uses: a previous
 * instance's leftovers, for the start-up job to remove (new reference). */
json_t *state_leftovers(const struct labd *d);

#endif

/* The netlab process groups the server runs, recorded so that a start after a crash ends what
 * the previous instance left behind (issue 9). */
#ifndef RL_LABD_CHILDREN_H
#define RL_LABD_CHILDREN_H

#include <stdbool.h>

#include "common/spawn.h"

struct labd_children;

/* At start-up, before the cleanup and before listening: end every process group the previous
 * instance recorded that is still there (SIGTERM, then SIGKILL; blocking, a few seconds at
 * most per group), then start a fresh record in <tmp>. */
struct labd_children *labd_children_new(const char *tmpdir);
/* A netlab child started or ended: keep the record current (crash-safe file). */
void labd_children_track(void *children, const struct spawn_group *group, bool started);
/* Clear the record. Accepts NULL. */
void labd_children_free(struct labd_children *c);

#endif

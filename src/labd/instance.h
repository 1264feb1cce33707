/* One server per host: the instance lock, its metadata JSON and stale-lock recovery (spec §5.4). */
#ifndef RL_LABD_INSTANCE_H
#define RL_LABD_INSTANCE_H

#include "labd.h"

/* Python's tempfile.gettempdir(): $TMPDIR, $TEMP, $TMP (the first usable), else /tmp. */
char *instance_tmpdir(void);
/* Take <tmp>/neops_remote_lab_server.lock without waiting, recovering from stale metadata.
 * 0 and *ret_fd, or -EEXIST when another live instance holds it (details are logged). */
int instance_lock(const char *tmpdir, int *ret_fd);
/* Write <tmp>/neops_remote_lab_server.meta.json (11 fields, crash-safe). Failure is logged. */
void instance_write_meta(const struct labd *d, int argc, char **argv);
void instance_remove_meta(const char *tmpdir);

#endif

/* Crash-safe state files: write a temp file, fsync, rename over the target, fsync the dir. */
#ifndef RL_STATEFILE_H
#define RL_STATEFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Replace path atomically with len bytes of data, file mode `mode`. 0 or negative errno.
 * A crash at any point leaves either the old or the new content, never a mix. */
int statefile_write(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole file of at most max bytes (caller frees *ret, NUL-terminated). */
int statefile_read(const char *path, size_t max, char **ret, size_t *ret_len);

#endif

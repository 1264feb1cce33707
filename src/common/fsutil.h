/* Filesystem helpers: recursive delete, mkdir -p under a directory, file copy. */
#ifndef RL_FSUTIL_H
#define RL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Remove path and everything below it (does not follow symlinks). Missing path is 0. */
int fs_rm_rf(const char *path);
/* Create every directory of relpath's parent chain below base (mode 0700). */
int fs_mkdir_parents(const char *base, const char *relpath);
/* Create a fresh directory <prefix><8 random [a-z0-9_]> (mode 0700) like Python's
 * tempfile.mkdtemp; the caller frees *ret_path. */
int fs_mkdtemp(const char *prefix, char **ret_path);
/* Write all len bytes (retrying short writes and EINTR). 0 or negative errno. */
int fs_write_all(int fd, const void *data, size_t len);
/* Copy a regular file; dst must not exist. */
int fs_copy_file(const char *src, const char *dst, mode_t mode);

#endif

/* Advisory file locks (flock) on separate lock files, as the Python filelock package uses. */
#ifndef RL_LOCK_H
#define RL_LOCK_H

/* Open (creating, mode 0644) and try to take an exclusive flock without waiting.
 * 0 and *ret_fd on success; -EWOULDBLOCK when another open file description holds it. */
int lock_try(const char *path, int *ret_fd);
/* Release the lock and close the fd (the file stays on disk); accepts -1. */
void lock_release(int fd);

#endif

/* Filesystem helpers: recursive delete, mkdir -p under a directory, file copy. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int fs_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	int r = flag == FTW_DP || flag == FTW_D ? rmdir(path) : unlink(path);

	return r < 0 && errno != ENOENT ? -errno : 0;
}

int fs_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return nftw(path, fs_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int fs_mkdir_parents(const char *base, const char *relpath)
{
	char path[PATH_MAX];
	size_t blen = strlen(base), i;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, relpath) >= sizeof(path))
		return -ENAMETOOLONG;
	for (i = blen + 1; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		path[i] = '/';
	}
	return 0;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_copy_file(const char *src, const char *dst, mode_t mode)
{
	int in = -1, out = -1, r = 0;
	char chunk[65536];

	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (out < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		r = fs_write_all(out, chunk, (size_t)n);
		if (r < 0)
			goto out;
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && r == 0)
		r = -errno;
	return r;
}

int fs_mkdtemp(const char *prefix, char **ret_path)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
	char path[PATH_MAX];
	unsigned char rnd[8];
	size_t n = strlen(prefix), i;
	int attempt;

	if (n + sizeof(rnd) >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, prefix, n);
	for (attempt = 0; attempt < 100; attempt++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -EIO;
		for (i = 0; i < sizeof(rnd); i++)
			path[n + i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
		path[n + sizeof(rnd)] = '\0';
		if (mkdir(path, 0700) == 0) {
			*ret_path = strdup(path);
			return *ret_path ? 0 : -ENOMEM;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

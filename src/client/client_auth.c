/* The client's credentials and trust: access and admin tokens (set or read from a file, wiped
 * when dropped) and the CA bundle for https. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Wipe a secret string and free it (NULL is fine). */
void client_wipe_free(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* Replace *slot with a copy of token (NULL or "" clears it), wiping the old one. */
static int set_secret(char **slot, const char *token)
{
	char *t = NULL;

	if (token != NULL && token[0] != '\0') {
		t = strdup(token);
		if (t == NULL)
			return -ENOMEM;
	}
	client_wipe_free(*slot);
	*slot = t;
	return 0;
}

int rl_client_set_token(struct rl_client *c, const char *token)
{
	return c == NULL ? -EINVAL : set_secret(&c->token, token);
}

int rl_client_set_admin_token(struct rl_client *c, const char *token)
{
	return c == NULL ? -EINVAL : set_secret(&c->admin_token, token);
}

/* Read a token file (one line, trimmed) into a stack buffer that is wiped afterwards, and
 * set it with set(): no copy of the token is left in freed memory. */
static int token_file(struct rl_client *c, const char *path,
		      int (*set)(struct rl_client *, const char *))
{
	const char *op = "token file";
	char data[RL_MAX_TOKEN + 2], *a, *b;
	size_t len = 0;
	ssize_t n;
	int fd, r = 0;

	if (c == NULL || path == NULL)
		return -EINVAL;
	client_clear_error(c);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return client_set_error(c, -errno, 0, op, "%s: %s", path, strerror(errno));
	while (len < sizeof(data) - 1) {
		n = read(fd, data + len, sizeof(data) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	if (r < 0) {
		client_set_error(c, r, 0, op, "%s: %s", path, strerror(-r));
		goto out;
	}
	if (len > RL_MAX_TOKEN) {
		r = client_set_error(c, -EFBIG, 0, op, "%s: larger than %d bytes", path,
				     RL_MAX_TOKEN);
		goto out;
	}
	a = data;
	b = data + len;
	while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
		b--;
	*b = '\0';
	if (a == b || memchr(a, '\n', (size_t)(b - a)) != NULL ||
	    memchr(a, '\r', (size_t)(b - a)) != NULL || strlen(a) != (size_t)(b - a)) {
		r = client_set_error(c, -EINVAL, 0, op, "%s: %s", path,
				     a == b ? "empty" : "not a single line of text");
		goto out;
	}
	r = set(c, a);
	if (r < 0)
		client_set_error(c, r, 0, op, "out of memory");
out:
	explicit_bzero(data, sizeof(data));
	return r;
}

int rl_client_set_token_file(struct rl_client *c, const char *path)
{
	return token_file(c, path, rl_client_set_token);
}

int rl_client_set_admin_token_file(struct rl_client *c, const char *path)
{
	return token_file(c, path, rl_client_set_admin_token);
}

int rl_client_set_ca_file(struct rl_client *c, const char *path)
{
	char *p = NULL;

	if (c == NULL)
		return -EINVAL;
	if (path != NULL && path[0] != '\0') {
		if (access(path, R_OK) < 0)
			return -errno;
		p = strdup(path);
		if (p == NULL)
			return -ENOMEM;
	}
	free(c->ca_file);
	c->ca_file = p;
	return 0;
}

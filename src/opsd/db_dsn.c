/* MYSQL_DSN parsing: the SQLAlchemy-style URL the original takes (pure; no MariaDB). */
#include "db_dsn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strutil.h"
#include "common/xmalloc.h"

/* Percent-decode s[0..n). */
static int pct_decode(const char *s, size_t n, char **ret)
{
	char *o = xmalloc(n + 1);
	size_t i, j = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n) {
				free(o);
				return -EINVAL;
			}
			hi = str_hex_digit(s[i + 1]);
			lo = str_hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(o);
				return -EINVAL;
			}
			o[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			o[j++] = s[i];
		}
	}
	o[j] = '\0';
	*ret = o;
	return 0;
}

void db_dsn_clear(struct db_dsn *d)
{
	if (d == NULL)
		return;
	free(d->user);
	str_free_secret(d->password);
	free(d->host);
	free(d->database);
	free(d->unix_socket);
	memset(d, 0, sizeof(*d));
}

int db_dsn_parse(const char *dsn, struct db_dsn *ret)
{
	struct db_dsn d = { 0 };
	const char *p, *scheme_end, *auth_end, *host_end, *path, *query;
	size_t n;
	int r = -EINVAL;

	if (dsn == NULL)
		return -EINVAL;
	scheme_end = strstr(dsn, "://");
	if (scheme_end == NULL)
		return -EINVAL;
	n = (size_t)(scheme_end - dsn);
	if (!((n >= 5 && strncasecmp(dsn, "mysql", 5) == 0 && (n == 5 || dsn[5] == '+')) ||
	      (n >= 7 && strncasecmp(dsn, "mariadb", 7) == 0 && (n == 7 || dsn[7] == '+'))))
		return -EINVAL;
	p = scheme_end + 3;
	path = p + strcspn(p, "/?");
	query = strchr(p, '?');
	/* user:pass@ (the last '@' before the path: passwords may hold '@' when encoded) */
	auth_end = NULL;
	{
		const char *q;

		for (q = p; q < path; q++)
			if (*q == '@')
				auth_end = q;
	}
	if (auth_end != NULL) {
		const char *colon = memchr(p, ':', (size_t)(auth_end - p));

		if (colon) {
			if (pct_decode(p, (size_t)(colon - p), &d.user) < 0 ||
			    pct_decode(colon + 1, (size_t)(auth_end - colon - 1), &d.password) < 0)
				goto fail;
		} else if (pct_decode(p, (size_t)(auth_end - p), &d.user) < 0) {
			goto fail;
		}
		p = auth_end + 1;
	}
	/* host[:port] */
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(path - p));

		if (rb == NULL)
			goto fail;
		d.host = xstrndup(p + 1, (size_t)(rb - p - 1));
		host_end = rb + 1;
	} else {
		host_end = p;
		while (host_end < path && *host_end != ':')
			host_end++;
		if (host_end > p)
			d.host = xstrndup(p, (size_t)(host_end - p));
	}
	d.port = 3306;
	if (host_end < path && *host_end == ':') {
		char portstr[8];
		uint64_t port;

		n = (size_t)(path - host_end - 1);
		if (n == 0 || n >= sizeof(portstr))
			goto fail;
		memcpy(portstr, host_end + 1, n);
		portstr[n] = '\0';
		if (parse_u64(portstr, 1, 65535, &port) < 0)
			goto fail;
		d.port = (unsigned)port;
	} else if (host_end != path) {
		goto fail;
	}
	if (*path == '/') {
		const char *end = query ? query : path + strlen(path);

		if (end > path + 1 &&
		    pct_decode(path + 1, (size_t)(end - path - 1), &d.database) < 0)
			goto fail;
	}
	if (query != NULL) {
		const char *q = query + 1;

		while (*q) {
			const char *amp = strchr(q, '&');
			size_t len = amp ? (size_t)(amp - q) : strlen(q);

			if (len > 12 && strncmp(q, "unix_socket=", 12) == 0) {
				free(d.unix_socket);
				if (pct_decode(q + 12, len - 12, &d.unix_socket) < 0)
					goto fail;
			}
			q += len;
			if (*q == '&')
				q++;
		}
	}
	if (d.host == NULL)
		d.host = xstrdup("localhost");
	*ret = d;
	return 0;
fail:
	db_dsn_clear(&d);
	return r;
}

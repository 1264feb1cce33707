/* neops-remote-lab access control (see auth.h). */
#define LOG_COMPONENT LABD_LOGGER
#include "auth.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"
#include "common/statefile.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "labd.h"

#define AUTH_LOG_INTERVAL_SEC 10

static const struct labd_auth *auth_installed;

int labd_auth_load(struct labd_auth *a, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	const char *s;
	size_t len = 0, i;
	struct stat st;
	int r;

	r = statefile_read(path, LABD_AUTH_TOKEN_MAX + 256, &text, &len);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the token file %s: %s", path,
			 r == -EFBIG || r == -E2BIG ? "too large" : strerror(-r));
		goto out;
	}
	s = text;
	str_trim(&s, &len);
	if (len == 0 || len > LABD_AUTH_TOKEN_MAX) {
		snprintf(err, errlen, "the token file %s %s", path,
			 len == 0 ? "is empty" : "holds more than 4096 bytes");
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			snprintf(err, errlen,
				 "the token in %s must be one word of printable "
				 "ASCII (no spaces or control characters)",
				 path);
			r = -EINVAL;
			goto out;
		}
	}
	labd_auth_clear(a);
	a->token = xstrndup(s, len);
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("The token file %s can be read by other users (mode %03o); "
			 "chmod 600 it",
			 path, (unsigned)(st.st_mode & 0777));
	r = 0;
out:
	str_free_secret(text);
	return r;
}

unsigned labd_auth_check(const struct labd_auth *a, const char *path, const char *authorization)
{
	const char *v;

	if (a == NULL || a->token == NULL)
		return 0;
	if (strcmp(path, "/healthz") == 0)
		return 0;
	/* The status page's own files hold no data, and a browser cannot send a header when
	 * it opens a page: the page asks for the token and sends it on every read. */
	if (strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0)
		return 0;
	/* The admin routes check the admin token themselves (api_admin.c): an operator needs
	 * that one alone. */
	if (strncmp(path, "/admin/", 7) == 0)
		return 0;
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return 401;
	v = authorization + 7;
	while (*v == ' ')
		v++;
	return str_equal_ct(v, a->token) ? 0 : 401;
}

void labd_auth_install(const struct labd_auth *a)
{
	auth_installed = a;
}

void labd_auth_before(struct http_request *req)
{
	static time_t last_log;
	static unsigned suppressed;
	const struct sockaddr *peer;
	const char *path = http_request_path(req), *slash;
	char addr[64] = "?";
	time_t now;
	int first;

	if (labd_auth_check(auth_installed, path, http_request_header(req, "Authorization")) == 0)
		return;
	now = time(NULL);
	if (now - last_log >= AUTH_LOG_INTERVAL_SEC) {
		peer = http_request_peer(req);
		if (peer != NULL)
			(void)getnameinfo(peer,
					  peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								      : sizeof(struct sockaddr_in),
					  addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
		/* Only the first path segment: later ones may be session ids. */
		slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
		first = slash ? (int)(slash - path) : (int)strnlen(path, 64);
		log_warn("Rejected a request without a valid token from %s: %s %.*s%s%s", addr,
			 http_request_method(req), first, path, slash ? "/..." : "",
			 suppressed ? " (and more since the last report)" : "");
		last_log = now;
		suppressed = 0;
	} else {
		suppressed++;
	}
	http_response_header(req, "WWW-Authenticate", "Bearer");
	http_respond_json(req, 401, json_pack("{s:s}", "detail", "Not authenticated"));
}

void labd_auth_clear(struct labd_auth *a)
{
	str_free_secret(a->token);
	a->token = NULL;
}

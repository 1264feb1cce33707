/* neops-remote-lab access control: an optional bearer token on every route but /healthz. */
#ifndef RL_LABD_AUTH_H
#define RL_LABD_AUTH_H

#include <stddef.h>

#include "common/http.h"

#define LABD_AUTH_TOKEN_MAX 4096

struct labd_auth {
	char *token; /* NULL: access control off (the default, as the Python server) */
};

/* Read the token from path: the file's content without surrounding whitespace; non-empty,
 * at most LABD_AUTH_TOKEN_MAX bytes, printable ASCII. 0 or a negative errno with the reason
 * (never the token) in err. */
int labd_auth_load(struct labd_auth *a, const char *path, char *err, size_t errlen);
/* 0 when the request may go on, 401 when not. /healthz needs no token, /admin/ routes are
 * checked against the admin token by their handlers. Pure: authorization is the header value or
 * NULL. Compares in constant time (the length aside). */
unsigned labd_auth_check(const struct labd_auth *a, const char *path, const char *authorization);
/* The http_server_config `before` hook for the token in *a (a must outlive the server). */
void labd_auth_install(const struct labd_auth *a);
void labd_auth_before(struct http_request *req);
/* Wipe and free the token. Accepts an empty struct. */
void labd_auth_clear(struct labd_auth *a);

#endif

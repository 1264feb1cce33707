/* Static route tables: (method, path pattern) -> handler, with 404/405 and HEAD-as-GET. */
#ifndef RL_ROUTER_H
#define RL_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTER_MAX_PARAMS 4
#define ROUTER_PARAM_MAX 1024
#define ROUTER_PATH_MAX 2048

struct http_route;

struct router_param {
	const char *name; /* points into the route pattern, not NUL-terminated */
	size_t name_len;
	char value[ROUTER_PARAM_MAX];
};

struct router_match {
	const struct http_route *route;
	size_t n_params;
	struct router_param params[ROUTER_MAX_PARAMS];
	char allow[64]; /* for 405: methods allowed on the path, "GET, POST" */
};

enum router_result {
	ROUTER_FOUND = 0,
	ROUTER_NOT_FOUND = 1,
	ROUTER_METHOD_NOT_ALLOWED = 2,
};

/* Match method+path against routes in order. A pattern segment "{name}" matches one
 * non-empty path segment. The first route matching path and method wins; when the path
 * matches only with other methods the result is 405 with m->allow filled. With
 * head_as_get, HEAD also matches GET routes. */
enum router_result router_match(const struct http_route *routes, size_t n_routes,
				const char *method, const char *path, bool head_as_get,
				struct router_match *m);
/* Value of a path parameter of a match, or NULL. */
const char *router_param(const struct router_match *m, const char *name);

#endif

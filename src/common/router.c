/* Static route tables: (method, path pattern) -> handler, with 404/405 and HEAD-as-GET. */
#include "router.h"

#include <string.h>

#include "http.h"

/* Match one pattern against a path; fills params on success. */
static bool router_path_match(const char *pattern, const char *path, struct router_match *m)
{
	const char *p = pattern, *s = path;

	m->n_params = 0;
	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			size_t len = strcspn(s, "/");
			struct router_param *par;

			if (close == NULL || len == 0 || len >= ROUTER_PARAM_MAX ||
			    m->n_params >= ROUTER_MAX_PARAMS)
				return false;
			par = &m->params[m->n_params++];
			par->name = p + 1;
			par->name_len = (size_t)(close - p - 1);
			memcpy(par->value, s, len);
			par->value[len] = '\0';
			p = close + 1;
			s += len;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

static void router_add_allow(struct router_match *m, const char *method)
{
	size_t n = strlen(m->allow), mlen = strlen(method);

	if (strstr(m->allow, method) != NULL || n + mlen + 3 >= sizeof(m->allow))
		return;
	if (n > 0) {
		memcpy(m->allow + n, ", ", 2);
		n += 2;
	}
	memcpy(m->allow + n, method, mlen + 1);
}

enum router_result router_match(const struct http_route *routes, size_t n_routes,
				const char *method, const char *path, bool head_as_get,
				struct router_match *m)
{
	bool path_seen = false;
	struct router_match tmp;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (path == NULL || path[0] != '/' || strlen(path) >= ROUTER_PATH_MAX)
		return ROUTER_NOT_FOUND;
	for (i = 0; i < n_routes; i++) {
		const struct http_route *r = &routes[i];

		if (!router_path_match(r->path, path, &tmp))
			continue;
		if (strcmp(r->method, method) == 0 ||
		    (head_as_get && strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
			char allow[sizeof(m->allow)];

			memcpy(allow, m->allow, sizeof(allow));
			*m = tmp;
			memcpy(m->allow, allow, sizeof(allow));
			m->route = r;
			return ROUTER_FOUND;
		}
		path_seen = true;
		router_add_allow(m, r->method);
		if (head_as_get && strcmp(r->method, "GET") == 0)
			router_add_allow(m, "HEAD");
	}
	return path_seen ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

const char *router_param(const struct router_match *m, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < m->n_params; i++)
		if (m->params[i].name_len == n && memcmp(m->params[i].name, name, n) == 0)
			return m->params[i].value;
	return NULL;
}

/* The HTTP routes of ops-worker: translate requests to module calls and back. */
#ifndef RL_OPSD_API_H
#define RL_OPSD_API_H

#include <stddef.h>

#include "common/http.h"

struct opsd;

extern const struct http_route api_routes[];
extern const size_t api_n_routes;

/* http_server_config hooks. */
void api_before(struct http_request *req);
void api_error(struct http_request *req, unsigned status, const char *message);

/* Load the registry from OPS_CONFIG, replacing the current one (if any); 0 or a negative
 * errno with the reason in err (the current registry stays). */
int api_load_hosts(struct opsd *o, char *err, size_t errlen);

#endif

/* The REST routes of neops-remote-lab (wire-compatible with the Python 1.x server). */
#ifndef RL_LABD_API_H
#define RL_LABD_API_H

#include <stddef.h>

#include "common/http.h"

/* The route table; the POST /lab route gets upload_body_max as its body limit. */
const struct http_route *api_routes_get(size_t *ret_n, size_t upload_body_max);
/* Error bodies the HTTP layer produces itself: {"detail": message}. */
void api_error(struct http_request *req, unsigned status, const char *message);

/* The OpenAPI document served at /openapi.json (for tests: it lists every route). */
const char *api_openapi_document(size_t *ret_len);

#endif

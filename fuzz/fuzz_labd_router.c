/* Fuzz target: route matching on arbitrary method and path (router.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/http.h"
#include "common/router.h"

static void h(struct http_request *req)
{
	(void)req;
}

static const struct http_route routes[] = {
	{ .method = "POST", .path = "/session", .handler = h },
	{ .method = "POST", .path = "/session/heartbeat", .handler = h },
	{ .method = "GET", .path = "/session/{session_id}", .handler = h },
	{ .method = "DELETE", .path = "/session/{session_id}", .handler = h },
	{ .method = "GET", .path = "/lab", .handler = h },
	{ .method = "POST", .path = "/lab", .handler = h },
	{ .method = "GET", .path = "/a/{x}/b/{y}/{z}/{w}", .handler = h },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[4096 + 1], *sep;
	struct router_match m;

	if (size > 4096)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* "METHOD path" */
	sep = strchr(buf, ' ');
	if (sep == NULL)
		return 0;
	*sep = '\0';
	if (router_match(routes, sizeof(routes) / sizeof(routes[0]), buf, sep + 1, size & 1, &m) ==
	    ROUTER_FOUND) {
		size_t i;

		for (i = 0; i < m.n_params; i++)
			(void)strlen(m.params[i].value);
		(void)router_param(&m, "session_id");
	}
	return 0;
}

/* libFuzzer target: ops-worker request validation (JSON bodies of every route, timeline
 * query values) with the original's coercion rules. The first byte picks the route. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "hosts.h"
#include "jsonx.h"
#include "request.h"

static struct host_registry *reg;
static struct opsd_config cfg;

static void setup(void)
{
	static const char hosts[] =
		"{\"hosts\":[{\"name\":\"ws-01\",\"address\":\"10.0.0.1\",\"mac\":\"00:11:22:33:44:55\","
		"\"winrm_user\":\"u\",\"winrm_pass\":\"p\",\"labs\":[\"1\"]}]}";
	char err[256];

	if (reg != NULL)
		return;
	if (hosts_parse(hosts, sizeof(hosts) - 1, NULL, NULL, &reg, err, sizeof(err)) < 0)
		abort();
	cfg.allowed_commands[0] = (char *)"status";
	cfg.allowed_commands[1] = (char *)"prepare-session";
	cfg.n_allowed_commands = 2;
	cfg.timeline_default_limit = 100;
	cfg.timeline_max_ops = 500;
}

static void timeline(const char *data, size_t size)
{
	char *copy = malloc(size + 1), *parts[4] = { NULL, NULL, NULL, NULL }, *p;
	struct req_timeline t;
	char err[REQUEST_ERR_MAX];
	int i = 0;

	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	while (i < 4) {
		char *nl = strchr(p, '\n');

		parts[i++] = p;
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	if (request_timeline(parts[0], parts[1], parts[2], parts[3], &cfg, &t, err, sizeof(err)) ==
	    0)
		req_timeline_clear(&t);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[REQUEST_ERR_MAX];
	json_t *body;
	uint8_t route;

	setup();
	if (size < 1)
		return 0;
	route = data[0] % 8;
	data++;
	size--;
	if (route == 7) {
		timeline((const char *)data, size);
		return 0;
	}
	body = jsonx_body_object((const char *)data, size);
	if (body == NULL)
		return 0;
	if (route <= REQUEST_RESV_END) {
		const struct request_env env = { .cfg = &cfg, .hosts = reg };
		union request r;

		if (request_parse((enum request_kind)route, body, &env, &r, err, sizeof(err)) == 0)
			request_clear((enum request_kind)route, &r);
	} else {
		char **args;
		size_t n;

		if (jsonx_args(json_object_get(body, "args"), NULL, 0, &args, &n) == 0)
			jsonx_args_free(args);
	}
	json_decref(body);
	return 0;
}

/* libFuzzer target: the hosts.json loader and the lookups built on it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct host_registry *reg;
	char err[256];
	size_t i;

	if (hosts_parse((const char *)data, size, NULL, NULL, &reg, err, sizeof(err)) < 0)
		return 0;
	for (i = 0; i < reg->n; i++) {
		json_t *cfg = hosts_config_json(&reg->hosts[i]);
		size_t j;

		json_decref(cfg);
		if (hosts_get(reg, reg->hosts[i].name) == NULL)
			abort(); /* every loaded host is found by its own name */
		for (j = 0; j < reg->hosts[i].n_labs; j++)
			(void)hosts_get_by_lab(reg, reg->hosts[i].labs[j]);
	}
	(void)hosts_count_active(reg);
	hosts_unref(reg);
	return 0;
}

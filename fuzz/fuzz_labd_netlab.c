/* Fuzz target: parsing of netlab's output (node lists, node data, the one-call device data,
 * `status --all`). */
#include <stddef.h>
#include <stdint.h>

#include "netlab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL;

	if (netlab_parse_nodes((const char *)data, size, &v) == 0)
		json_decref(v);
	if (netlab_parse_node((const char *)data, size, &v) == 0)
		json_decref(v);
	if (netlab_parse_devices((const char *)data, size, &v) == 0)
		json_decref(v);
	if (netlab_parse_status((const char *)data, size, &v) == 0)
		json_decref(v);
	return 0;
}

/* Fuzz target: parsing of netlab's inspect output (node lists and node data). */
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
	return 0;
}

/* Fuzz target: the status page's Accept and If-None-Match parsing (ui_neg.c). Input: the
 * Accept value, a newline, the If-None-Match value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ui_neg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[16384 + 1], *nl;

	if (size > 16384)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	/* Only a header that names an HTML type can prefer HTML. */
	if (ui_neg_prefers_html(buf) && strcasestr(buf, "html") == NULL)
		abort();
	if (nl != NULL && ui_neg_etag_match(nl + 1, "\"0123456789abcdef\"") &&
	    strstr(nl + 1, "\"0123456789abcdef\"") == NULL && strchr(nl + 1, '*') == NULL)
		abort();
	return 0;
}

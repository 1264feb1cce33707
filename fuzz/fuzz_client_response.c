/* libFuzzer target: libremotelab's response parsers (reply.c) on arbitrary bodies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rl_devices *d = NULL;
	struct rl_lab_status *s = NULL;
	enum rl_session_state st;
	const char *body;
	char detail[128], *id = NULL;
	size_t len;
	int pos;

	if (size < 1)
		return 0;
	body = (const char *)data + 1; /* the first byte picks the parser */
	len = size - 1;
	switch (data[0] % 6) {
	case 0:
		if (reply_session_created(body, len, &id, &pos) == 0)
			free(id);
		break;
	case 1:
		reply_session_status(body, len, &st, &pos);
		break;
	case 2:
		if (reply_devices(body, len, &d) == 0)
			rl_devices_free(d);
		break;
	case 3:
		if (reply_acquire(body, len, &d) == 0)
			rl_devices_free(d);
		break;
	case 4:
		if (reply_lab_status(body, len, &s) == 0)
			rl_lab_status_free(s);
		break;
	default:
		reply_error_detail(body, len, 400 + (long)(len % 200), detail, sizeof(detail));
		if (strlen(detail) >= sizeof(detail))
			abort();
		break;
	}
	return 0;
}

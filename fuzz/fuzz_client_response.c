/* libFuzzer target: libremotelab's response parsers (reply.c, sse.c) on arbitrary bodies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every byte of an event, so that the sanitizers see any overrun. */
static int on_event(const struct rl_event *ev, void *ud)
{
	volatile size_t n = strlen(ev->id) + strlen(ev->kind) + strlen(ev->data);

	(void)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rl_devices *d = NULL;
	struct rl_lab_status *s = NULL;
	struct rl_host_info *h = NULL;
	struct rl_queue *q = NULL;
	struct rl_labs *l = NULL;
	struct sse sse;
	enum rl_session_state st;
	const char *body;
	char detail[128], *id = NULL;
	size_t len;
	int pos;

	if (size < 1)
		return 0;
	body = (const char *)data + 1; /* the first byte picks the parser */
	len = size - 1;
	switch (data[0] % 11) {
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
	case 5:
		if (reply_host(body, len, &h) == 0)
			rl_host_info_free(h);
		break;
	case 6:
		if (reply_queue(body, len, &q) == 0)
			rl_queue_free(q);
		break;
	case 7:
		if (reply_labs(body, len, &l) == 0)
			rl_labs_free(l);
		break;
	case 8:
		if (reply_session_handle(body, len, &id) == 0)
			free(id);
		reply_end_reason(body, len, detail, sizeof(detail));
		if (strlen(detail) >= sizeof(detail))
			abort();
		break;
	case 9: /* the event stream, fed in two pieces */
		sse_init(&sse);
		if (sse_feed(&sse, body, len / 2, on_event, NULL) == 0)
			sse_feed(&sse, body + len / 2, len - len / 2, on_event, NULL);
		sse_free(&sse);
		break;
	default:
		reply_error_detail(body, len, 400 + (long)(len % 200), detail, sizeof(detail));
		if (strlen(detail) >= sizeof(detail))
			abort();
		break;
	}
	return 0;
}

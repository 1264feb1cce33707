/* Fuzz target: the first-request screen (httpscreen.c) and the multipart NUL watch
 * (httpform.c) on arbitrary bytes. Properties: spans stay inside the input, the status is
 * one the layer knows, and how the body is split into chunks never changes the form verdict. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/httpform.h"
#include "common/httpscreen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool form_verdict(const char *body, size_t len, size_t step)
{
	struct http_form_scan s;
	size_t off;
	bool found = false;

	http_form_scan_init(&s, "multipart/form-data; boundary=XX");
	for (off = 0; off < len; off += step)
		found = http_form_scan_feed(&s, body + off, len - off < step ? len - off : step);
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct http_screen_limits lim = { .line_max = 256, .header_max = 1024 };
	const char *buf = (const char *)data;
	struct http_screen sc;
	enum http_screen_result r;
	size_t step;

	r = http_screen(buf, size, &lim, &sc);
	if (r == HTTP_SCREEN_MORE) {
		if (size > lim.header_max + 1)
			abort(); /* a complete decision is due past the limit */
	} else if (sc.status != 0 && sc.status != 400 && sc.status != 413 && sc.status != 414 &&
		   sc.status != 431 && sc.status != 505) {
		abort();
	}
	if (sc.method != NULL && (sc.method < buf || sc.method + sc.method_len > buf + size))
		abort();
	if (sc.target != NULL && (sc.target < buf || sc.target + sc.target_len > buf + size))
		abort();
	step = size > 0 ? (size_t)data[0] % 17 + 1 : 1;
	if (form_verdict(buf, size, size > 0 ? size : 1) != form_verdict(buf, size, step))
		abort();
	return 0;
}

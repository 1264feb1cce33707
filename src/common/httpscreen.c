/* Screening the first request header of a connection (see httpscreen.h). */
#include "httpscreen.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static enum http_screen_result screen_fail(struct http_screen *out, unsigned status,
					   const char *message)
{
	out->status = status;
	out->message = message;
	return HTTP_SCREEN_DONE;
}

/* The next line of buf[*pos..len): its span without the line end (LF or CRLF). false when
 * no LF has arrived yet. */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *start = buf + *pos;
	const char *lf = memchr(start, '\n', len - *pos);

	if (lf == NULL)
		return false;
	*line = start;
	*n = (size_t)(lf - start);
	if (*n > 0 && start[*n - 1] == '\r')
		(*n)--;
	*pos = (size_t)(lf - buf) + 1;
	return true;
}

static bool name_is(const char *line, size_t name_len, const char *name)
{
	return name_len == strlen(name) && strncasecmp(line, name, name_len) == 0;
}

/* The request line as libmicrohttpd 0.9.75 splits it: method up to the first space, the
 * version after the last one (trailing spaces skipped). */
static enum http_screen_result screen_request_line(const char *line, size_t n,
						   struct http_screen *out)
{
	const char *sp = memchr(line, ' ', n);
	const char *uri, *end, *ver;

	if (sp == NULL || sp == line)
		return screen_fail(out, 400, "Malformed request line");
	out->method = line;
	out->method_len = (size_t)(sp - line);
	uri = sp;
	while (uri < line + n && *uri == ' ')
		uri++;
	end = line + n;
	while (end > uri && end[-1] == ' ')
		end--;
	ver = end;
	while (ver > uri && ver[-1] != ' ')
		ver--;
	if (ver == uri) /* no version after the target */
		return screen_fail(out, 400, "Malformed request line");
	out->target = uri;
	out->target_len = (size_t)(ver - 1 - uri);
	while (out->target_len > 0 && uri[out->target_len - 1] == ' ')
		out->target_len--;
	if (end - ver != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[6] != '.' || ver[5] < '0' ||
	    ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
		return screen_fail(out, 400, "Malformed request line");
	if (ver[5] != '1')
		return screen_fail(out, 505, "HTTP version not supported");
	return HTTP_SCREEN_MORE;
}

/* A Content-Length value as libmicrohttpd reads it: leading blanks skipped, then only
 * digits up to the end of the line. 0: fine; else the error status. */
static unsigned screen_length(const char *v, size_t n, uint64_t *ret)
{
	uint64_t x = 0;
	size_t i;

	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n == 0 || *v < '0' || *v > '9')
		return 400;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (v[i] < '0' || v[i] > '9')
			return 400;
		d = (unsigned)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return 413;
		x = x * 10 + d;
	}
	*ret = x;
	return 0;
}

enum http_screen_result http_screen(const char *buf, size_t len,
				    const struct http_screen_limits *lim, struct http_screen *out)
{
	size_t pos = 0, n, start;
	const char *line;
	bool have_te = false, have_length = false, length_folded = false, last_was_length = false;
	unsigned length_error = 0;
	uint64_t length = 0;

	memset(out, 0, sizeof(*out));
	/* Empty lines before the request line are tolerated. */
	for (;;) {
		start = pos;
		if (!next_line(buf, len, &pos, &line, &n)) {
			if (len - start > lim->line_max)
				return screen_fail(out, 414, "Request line too long");
			if (len > lim->header_max)
				return screen_fail(out, 431, "Request header too large");
			return HTTP_SCREEN_MORE;
		}
		if (n > 0)
			break;
		if (pos > lim->header_max)
			return screen_fail(out, 431, "Request header too large");
	}
	if (n > lim->line_max)
		return screen_fail(out, 414, "Request line too long");
	if (screen_request_line(line, n, out) == HTTP_SCREEN_DONE)
		return HTTP_SCREEN_DONE;
	for (;;) {
		const char *colon;

		if (!next_line(buf, len, &pos, &line, &n)) {
			if (len > lim->header_max)
				return screen_fail(out, 431, "Request header too large");
			return HTTP_SCREEN_MORE;
		}
		if (pos > lim->header_max)
			return screen_fail(out, 431, "Request header too large");
		if (n == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			/* obs-fold: libmicrohttpd joins it to the previous field */
			if (last_was_length)
				length_folded = true;
			continue;
		}
		colon = memchr(line, ':', n);
		if (colon == NULL)
			return screen_fail(out, 400, "Malformed header line");
		last_was_length = false;
		if (name_is(line, (size_t)(colon - line), "Transfer-Encoding")) {
			have_te = true;
		} else if (name_is(line, (size_t)(colon - line), "Content-Length")) {
			uint64_t v = 0;
			unsigned st = screen_length(colon + 1, n - (size_t)(colon + 1 - line), &v);

			last_was_length = true;
			if (st != 0 && length_error == 0)
				length_error = st;
			else if (st == 0 && have_length && v != length && length_error == 0)
				length_error = 400; /* differing lengths: never guess which one */
			have_length = true;
			length = v;
		}
	}
	/* libmicrohttpd reads Content-Length only without Transfer-Encoding. */
	if (!have_te && (length_error != 0 || length_folded)) {
		if (length_error == 413)
			return screen_fail(out, 413, "Content-Length too large");
		return screen_fail(out, 400, "Invalid Content-Length");
	}
	return screen_fail(out, 0, NULL);
}

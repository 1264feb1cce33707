/* text/event-stream (server-sent events) parsing: bytes in, complete events out (no I/O). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void sse_init(struct sse *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->line, RL_MAX_EVENT);
	buf_init(&s->data, RL_MAX_EVENT);
}

void sse_free(struct sse *s)
{
	buf_free(&s->line);
	buf_free(&s->data);
}

/* Start a new event: forget the fields of the last one. */
static void sse_reset_event(struct sse *s)
{
	buf_reset(&s->data);
	s->kind[0] = '\0';
	s->skip = false;
}

/* Copy a field value into a fixed buffer (longer values are cut). */
static void set_field(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* One complete line (without its end). Returns 0, -ENOMEM, or fn's stop value. */
static int sse_line(struct sse *s, const char *line, size_t n, rl_event_fn fn, void *ud)
{
	struct rl_event ev;
	const char *colon, *v;
	size_t fl, vl;
	int r;

	if (n == 0) { /* dispatch */
		if (!s->skip && s->data.len > 0) {
			s->data.len--; /* the last data line's "\n" */
			s->data.data[s->data.len] = '\0';
			ev.id = s->id;
			ev.kind = s->kind[0] != '\0' ? s->kind : "message";
			ev.data = s->data.data;
			r = fn(&ev, ud);
			sse_reset_event(s);
			return r;
		}
		sse_reset_event(s);
		return 0;
	}
	if (line[0] == ':')
		return 0; /* a comment (the server's ": ping") */
	colon = memchr(line, ':', n);
	fl = colon != NULL ? (size_t)(colon - line) : n;
	v = colon != NULL ? colon + 1 : line + n;
	vl = n - (size_t)(v - line);
	if (vl > 0 && v[0] == ' ') {
		v++;
		vl--;
	}
	if (fl == 4 && memcmp(line, "data", 4) == 0) {
		if (s->skip)
			return 0;
		r = buf_try_append(&s->data, v, vl);
		if (r == 0)
			r = buf_try_append(&s->data, "\n", 1);
		if (r == -E2BIG) { /* over the event limit: drop this event */
			s->skip = true;
			buf_reset(&s->data);
			return 0;
		}
		return r;
	}
	if (fl == 5 && memcmp(line, "event", 5) == 0)
		set_field(s->kind, sizeof(s->kind), v, vl);
	else if (fl == 2 && memcmp(line, "id", 2) == 0 && memchr(v, '\0', vl) == NULL)
		set_field(s->id, sizeof(s->id), v, vl);
	return 0; /* "retry" and unknown fields are ignored */
}

int sse_feed(struct sse *s, const char *p, size_t n, rl_event_fn fn, void *ud)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		char ch = p[i];

		if (!s->started) { /* one leading UTF-8 BOM is ignored */
			if (s->line.len < 3 && (unsigned char)ch == "\xef\xbb\xbf"[s->line.len]) {
				r = buf_try_append(&s->line, &ch, 1);
				if (r < 0)
					return r;
				if (s->line.len == 3) {
					buf_reset(&s->line);
					s->started = true;
				}
				continue;
			}
			s->started = true;
		}
		if (ch == '\n' && s->cr) { /* CRLF: the CR already ended the line */
			s->cr = false;
			continue;
		}
		s->cr = ch == '\r';
		if (ch == '\r' || ch == '\n') {
			r = sse_line(s, s->line.data, s->line.len, fn, ud);
			buf_reset(&s->line);
			if (r != 0)
				return r;
			continue;
		}
		r = buf_try_append(&s->line, &ch, 1);
		if (r == -E2BIG) { /* a line over the limit: drop the event it belongs to */
			s->skip = true;
			buf_reset(&s->line);
			buf_reset(&s->data);
			continue;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Watching a multipart/form-data body for NUL bytes in part headers (see httpform.h). */
#include "httpform.h"

#include <string.h>
#include <strings.h>

#define MULTIPART "multipart/form-data"

void http_form_scan_init(struct http_form_scan *s, const char *content_type)
{
	const char *b;
	size_t blen;

	memset(s, 0, sizeof(*s));
	s->done = true;
	if (content_type == NULL || strncasecmp(content_type, MULTIPART, strlen(MULTIPART)) != 0)
		return;
	b = strstr(content_type + strlen(MULTIPART), "boundary=");
	if (b == NULL)
		return;
	b += strlen("boundary=");
	blen = strlen(b);
	if (blen >= 2 && b[0] == '"' && b[blen - 1] == '"') {
		b++;
		blen -= 2;
	}
	if (blen == 0 || blen > HTTP_FORM_BOUNDARY_MAX)
		return;
	memcpy(s->delim, "--", 2);
	memcpy(s->delim + 2, b, blen);
	s->delim_len = blen + 2;
	s->line_match = true;
	s->done = false;
}

/* A line ended (without its LF). */
static void scan_line_end(struct http_form_scan *s)
{
	if (s->in_headers) {
		if (s->line_nul)
			s->found = true;
		/* A blank line ("" or "\r") ends the part's header. */
		if (s->line_len == 0 || (s->line_len == 1 && s->first == '\r'))
			s->in_headers = false;
	} else if (s->line_match && s->line_len >= s->delim_len) {
		s->in_headers = true;
	}
	s->line_len = 0;
	s->line_match = true;
	s->line_nul = false;
}

bool http_form_scan_feed(struct http_form_scan *s, const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n && !s->done && !s->found; i++) {
		char c = data[i];

		if (c == '\n') {
			scan_line_end(s);
			continue;
		}
		if (c == '\0')
			s->line_nul = true;
		if (s->line_len == 0)
			s->first = c;
		if (s->line_match) {
			if (s->line_len < s->delim_len) {
				s->line_match = c == s->delim[s->line_len];
			} else if (!s->in_headers && s->line_len < s->delim_len + 2 && c == '-') {
				/* "--boundary--": the close delimiter; nothing after it matters */
				if (s->line_len == s->delim_len + 1)
					s->done = true;
			}
		}
		s->line_len++;
	}
	return s->found;
}

/* Watching a multipart/form-data body for what libmicrohttpd's form parser cannot represent.
 *
 * libmicrohttpd 0.9.75 keeps part header values as C strings: a NUL byte in a part's header
 * (e.g. inside filename="...") silently cuts the value, so the part reaches the route with a
 * truncated or no file name. The HTTP layer feeds the raw body through this scanner first
 * and answers 400 when a part header holds a NUL. Pure: no I/O, no allocation. */
#ifndef RL_HTTPFORM_H
#define RL_HTTPFORM_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_FORM_BOUNDARY_MAX 256 /* longer boundaries are not scanned (RFC 2046: <= 70) */

struct http_form_scan {
	char delim[HTTP_FORM_BOUNDARY_MAX + 2]; /* "--" + boundary */
	size_t delim_len;
	size_t line_len; /* bytes of the current line seen so far */
	bool line_match; /* the current line starts with delim so far */
	bool line_nul;   /* the current line holds a NUL */
	char first;      /* its first byte */
	bool in_headers; /* between a delimiter line and the blank line after it */
	bool done;       /* after the close delimiter, or nothing to scan */
	bool found;      /* a part header held a NUL */
};

/* Set up for a body of this Content-Type (as libmicrohttpd reads the boundary: everything
 * after "boundary=", enclosing quotes removed). Not multipart, or a boundary too long:
 * the scan is a no-op. */
void http_form_scan_init(struct http_form_scan *s, const char *content_type);
/* Feed the next n bytes of the body; true once a NUL has been seen in a part header. */
bool http_form_scan_feed(struct http_form_scan *s, const char *data, size_t n);

#endif

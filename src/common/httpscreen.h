/* Screening the first request header of a connection before libmicrohttpd sees it.
 *
 * libmicrohttpd 0.9.75 answers some malformed requests itself, with HTML bodies, and for a
 * malformed Content-Length with a response that carries two header blocks (its bug, fixed
 * upstream in 1.0.0). The HTTP layer peeks at a new connection's first request header and,
 * when this screen finds one of those cases, answers it in the daemon's JSON instead; every
 * other request passes to libmicrohttpd unchanged. The screen mirrors what libmicrohttpd
 * 0.9.75 accepts: it rejects only what libmicrohttpd would reject. Pure: no I/O. */
#ifndef RL_HTTPSCREEN_H
#define RL_HTTPSCREEN_H

#include <stddef.h>

struct http_screen_limits {
	size_t line_max;   /* request line, bytes (without CRLF); longer -> 414 */
	size_t header_max; /* request line + header fields + blank line; larger -> 431 */
};

struct http_screen {
	unsigned status;     /* 0: pass the connection on; else the error status to send */
	const char *message; /* the error message (static), when status != 0 */
	/* The request line's method and target as spans into the screened bytes (len 0 when
	 * the line could not be split), for the error answer and the log. */
	const char *method, *target;
	size_t method_len, target_len;
};

enum http_screen_result {
	HTTP_SCREEN_MORE, /* header incomplete and below the limits: wait for more bytes */
	HTTP_SCREEN_DONE, /* decided: see ->status */
};

/* Screen the first len bytes received on a connection (len may be anything, including
 * bytes beyond the header). */
enum http_screen_result http_screen(const char *buf, size_t len,
				    const struct http_screen_limits *lim, struct http_screen *out);

#endif

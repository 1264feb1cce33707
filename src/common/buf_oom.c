/* The daemons' buffer calls: the rl_buf operations with out of memory fatal (like xmalloc). */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* -ENOMEM is fatal in a daemon; -E2BIG goes back to the caller. */
static int buf_oom_check(int r, const char *what)
{
	if (r == -ENOMEM) {
		fprintf(stderr, "fatal: %s: out of memory\n", what);
		abort();
	}
	return r;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	return buf_oom_check(buf_try_append(b, p, n), "buf_append");
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_oom_check(buf_try_append_str(b, s), "buf_append_str");
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_try_vprintf(b, fmt, ap);
	va_end(ap);
	return buf_oom_check(r, "buf_printf");
}

void buf_append_tail(struct buf *b, const void *p, size_t n)
{
	buf_oom_check(buf_try_append_tail(b, p, n), "buf_append_tail");
}

char *buf_steal(struct buf *b, size_t *ret_len)
{
	char *p = NULL;

	buf_oom_check(buf_try_steal(b, &p, ret_len), "buf_steal");
	return p;
}

/* Growable byte buffer with a mandatory maximum size. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

static void buf_grow(struct buf *b, size_t need)
{
	size_t cap;

	if (need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -E2BIG;
	buf_grow(b, b->len + n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r = buf_append(b, s, (size_t)n);
	free(s);
	return r;
}

void buf_append_tail(struct buf *b, const void *p, size_t n)
{
	const char *src = p;
	size_t keep;

	if (b->max == 0) {
		b->dropped += n;
		return;
	}
	if (n >= b->max) {
		b->dropped += b->len + (n - b->max);
		b->len = 0;
		src += n - b->max;
		n = b->max;
	} else if (b->len + n > b->max) {
		keep = b->max - n;
		b->dropped += b->len - keep;
		memmove(b->data, b->data + (b->len - keep), keep);
		b->len = keep;
	}
	buf_grow(b, b->len + n);
	memcpy(b->data + b->len, src, n);
	b->len += n;
	b->data[b->len] = '\0';
}

const char *buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *buf_steal(struct buf *b, size_t *ret_len)
{
	char *p = b->data ? b->data : xstrdup("");

	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = b->dropped = 0;
	return p;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->dropped = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = b->dropped = 0;
}

/* Growable byte buffer with a mandatory maximum size; never aborts (rl_buf). */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Make the allocation hold need bytes plus the NUL (need <= max). */
static int buf_grow(struct buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
	/* Never allocate much beyond what the maximum allows. */
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -ENOMEM;
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_reserve(struct buf *b, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -E2BIG;
	return buf_grow(b, b->len + n);
}

int buf_try_append(struct buf *b, const void *p, size_t n)
{
	int r = buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_try_append_str(struct buf *b, const char *s)
{
	return buf_try_append(b, s, strlen(s));
}

int buf_try_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n, r;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_try_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_try_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int buf_try_append_tail(struct buf *b, const void *p, size_t n)
{
	const char *src = p;
	size_t keep;
	int r;

	if (b->max == 0) {
		b->dropped += n;
		return 0;
	}
	/* Room for the final length first, so a failure changes nothing. */
	r = buf_grow(b, n >= b->max || b->len > b->max - n ? b->max : b->len + n);
	if (r < 0)
		return r;
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
	memcpy(b->data + b->len, src, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_ensure(struct buf *b)
{
	return b->data ? 0 : buf_grow(b, 0);
}

int buf_try_steal(struct buf *b, char **ret, size_t *ret_len)
{
	int r = buf_ensure(b);

	if (r < 0)
		return r;
	*ret = b->data;
	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = b->dropped = 0;
	return 0;
}

const char *buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
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

void buf_wipe_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

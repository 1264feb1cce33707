/* Growable byte buffers with a hard maximum, used for every WinRM buffer fed from outside. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winrm_int.h"

/* Start an empty buffer that may grow to max bytes. */
void winrm_buf_init(struct winrm_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Make room for n more bytes plus the terminating NUL. */
int winrm_buf_reserve(struct winrm_buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *p;

	if (n > b->max || b->len > b->max - n)
		return -E2BIG;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	/* Never allocate much beyond what the maximum allows. */
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (ncap < need)
		ncap = need;
	p = realloc(b->data, ncap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

/* Append n bytes. */
int winrm_buf_append(struct winrm_buf *b, const void *p, size_t n)
{
	int r;

	r = winrm_buf_reserve(b, n);
	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

/* Append a C string without its NUL. */
int winrm_buf_append_str(struct winrm_buf *b, const char *s)
{
	return winrm_buf_append(b, s, strlen(s));
}

/* Append printf-formatted text. */
int winrm_buf_appendf(struct winrm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = winrm_buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Allocate the (empty, NUL-terminated) storage if there is none yet. */
int winrm_buf_ensure(struct winrm_buf *b)
{
	int r;

	if (b->data)
		return 0;
	r = winrm_buf_reserve(b, 0);
	if (r < 0)
		return r;
	b->data[0] = 0;
	return 0;
}

/* Forget the contents but keep the allocation. */
void winrm_buf_reset(struct winrm_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

/* Give the allocation to the caller and leave b empty. */
int winrm_buf_steal(struct winrm_buf *b, uint8_t **ret, size_t *ret_len)
{
	int r;

	r = winrm_buf_ensure(b);
	if (r < 0)
		return r;
	*ret = b->data;
	*ret_len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return 0;
}

/* Release the storage. */
void winrm_buf_free(struct winrm_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Wipe and release the storage (for buffers that held secrets). */
void winrm_buf_wipe_free(struct winrm_buf *b)
{
	if (!b)
		return;
	if (b->data)
		explicit_bzero(b->data, b->cap);
	winrm_buf_free(b);
}

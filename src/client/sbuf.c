/* Growable byte buffer with a hard maximum, used for response bodies and file contents. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Start empty; appends past max bytes fail with -EMSGSIZE. */
void
sbuf_init(struct sbuf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Append n bytes, keeping a NUL after the data. On failure b is unchanged. */
int
sbuf_append(struct sbuf *b, const void *p, size_t n)
{
	size_t want, ncap;
	char *nd;

	if (n > b->max || b->len > b->max - n)
		return -EMSGSIZE;
	want = b->len + n + 1;
	if (want > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < want)
			ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
		nd = realloc(b->data, ncap);
		if (nd == NULL)
			return -ENOMEM;
		b->data = nd;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Drop the contents but keep the memory. */
void
sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Release the memory; the buffer can be reused after sbuf_init. */
void
sbuf_free(struct sbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

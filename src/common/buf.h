/* Growable byte buffer with a mandatory maximum size (curl dynbuf style). */
#ifndef RL_BUF_H
#define RL_BUF_H

#include <stddef.h>

struct buf {
	char *data;   /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;   /* hard limit on len */
	size_t dropped; /* bytes discarded by buf_append_tail */
};

/* Initialise an empty buffer that may grow up to max bytes. */
void buf_init(struct buf *b, size_t max);
/* Append n bytes; -E2BIG (and nothing appended) when max would be exceeded. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append n bytes keeping only the newest max bytes (for "tail of stderr"). */
void buf_append_tail(struct buf *b, const void *p, size_t n);
/* Contents as a C string ("" when empty); borrowed until the next change. */
const char *buf_cstr(const struct buf *b);
/* Give the contents to the caller (caller frees) and reset the buffer. */
char *buf_steal(struct buf *b, size_t *ret_len);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif

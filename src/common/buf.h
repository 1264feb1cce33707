/* Growable byte buffer with a mandatory maximum size (curl dynbuf style). */
#ifndef RL_BUF_H
#define RL_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * One buffer type for the whole tree, in two layers:
 *
 * - rl_buf (buf.c): never aborts, never logs, links nothing but libc. Every call that may
 *   allocate returns 0, -E2BIG (the maximum would be exceeded; nothing changed) or -ENOMEM
 *   (nothing changed). For the libraries (WinRM client, libremotelab) and for daemon code
 *   that wants to handle out-of-memory itself.
 * - the daemons' calls (buf_oom.c, in rl_common): the same operations with out-of-memory
 *   fatal, like xmalloc. They return 0 or -E2BIG (buf_printf also -EINVAL for a format
 *   vsnprintf refuses).
 *
 * The data is always NUL-terminated once allocated (the NUL is not counted in len), so
 * text can be read with buf_cstr() and binary data through data/len.
 */
struct buf {
	char *data; /* NULL until the first allocation */
	size_t len;
	size_t cap;     /* allocated bytes, NUL included */
	size_t max;     /* hard limit on len */
	size_t dropped; /* bytes discarded by buf_append_tail */
};

/* ---- rl_buf: 0, -E2BIG or -ENOMEM; the buffer is unchanged on failure ------------------ */

/* Initialise an empty buffer that may grow up to max bytes (no allocation). */
void buf_init(struct buf *b, size_t max);
/* Make room for n more bytes in one allocation (e.g. so a secret is never copied by a
 * later realloc). */
int buf_reserve(struct buf *b, size_t n);
/* Append n bytes / a C string without its NUL / printf-formatted text. */
int buf_try_append(struct buf *b, const void *p, size_t n);
int buf_try_append_str(struct buf *b, const char *s);
int buf_try_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_try_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append n bytes keeping only the newest max bytes (the "tail of stderr"); what falls off
 * the front is counted in dropped. Only -ENOMEM can fail it. */
int buf_try_append_tail(struct buf *b, const void *p, size_t n);
/* Allocate the (empty, NUL-terminated) storage if there is none yet. */
int buf_ensure(struct buf *b);
/* Hand the allocation to the caller (NUL-terminated, never NULL on success; caller frees)
 * and leave the buffer empty. */
int buf_try_steal(struct buf *b, char **ret, size_t *ret_len);

/* Contents as a C string ("" when empty); borrowed until the next change. */
const char *buf_cstr(const struct buf *b);
/* Forget the contents but keep the allocation. */
void buf_reset(struct buf *b);
/* Release the storage; the buffer stays usable (empty, same maximum). NULL is a no-op. */
void buf_free(struct buf *b);
/* Like buf_free, but wipes the whole allocation first (buffers that held secrets). */
void buf_wipe_free(struct buf *b);

/* ---- the daemons' calls (rl_common): out of memory is fatal ---------------------------- */

/* Append; -E2BIG (and nothing appended) when max would be exceeded. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_append_tail(struct buf *b, const void *p, size_t n);
/* Give the contents to the caller (caller frees; "" when empty) and reset the buffer. */
char *buf_steal(struct buf *b, size_t *ret_len);

#endif

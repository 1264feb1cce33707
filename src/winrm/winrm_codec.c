/* Byte codings the WinRM client needs: base64 (OpenSSL EVP) and UTF-8 to UTF-16LE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "winrm_int.h"

#define B64_IN_CHUNK (3u * 4096u)  /* raw bytes per EVP_EncodeBlock call */
#define B64_DEC_CHUNK (4u * 1024u) /* base64 characters per EVP_DecodeBlock call */

/* Base64 of in[0..len), no line breaks; *ret is malloc'd and NUL-terminated. */
int winrm_codec_b64_encode(const void *in, size_t len, char **ret)
{
	const uint8_t *p = in;
	size_t outlen, off = 0, pos = 0;
	char *out;

	if (len > (SIZE_MAX / 4) * 3 - 3)
		return -E2BIG;
	outlen = (len + 2) / 3 * 4;
	out = malloc(outlen + 1);
	if (!out)
		return -ENOMEM;
	while (off < len) {
		size_t n = len - off < B64_IN_CHUNK ? len - off : B64_IN_CHUNK;
		int w = EVP_EncodeBlock((unsigned char *)out + pos, p + off, (int)n);

		pos += (size_t)w;
		off += n;
	}
	out[pos] = 0;
	*ret = out;
	return 0;
}

/* Whether c belongs to the base64 alphabet (padding excluded). */
static bool b64_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Decode a staged group of complete quartets and append it, minus `pad` bytes. */
static int b64_flush(const char *stage, size_t n, size_t pad, struct buf *out)
{
	unsigned char tmp[B64_DEC_CHUNK / 4 * 3];
	int w;

	if (n == 0)
		return 0;
	w = EVP_DecodeBlock(tmp, (const unsigned char *)stage, (int)n);
	if (w < 0 || (size_t)w != n / 4 * 3 || (size_t)w < pad)
		return -EINVAL;
	return buf_try_append(out, tmp, (size_t)w - pad);
}

/* Decode base64 text (ASCII whitespace ignored) and append the bytes to out. */
int winrm_codec_b64_decode(const char *in, size_t len, struct buf *out)
{
	char stage[B64_DEC_CHUNK];
	size_t n = 0, pad = 0, i;
	int r;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			/* Padding: at most two, only at the end of the last quartet. */
			if (++pad > 2)
				return -EINVAL;
		} else if (!b64_alpha(c) || pad) {
			return -EINVAL;
		}
		stage[n++] = (char)c;
		if (n == sizeof(stage) && !pad) {
			r = b64_flush(stage, n, 0, out);
			if (r < 0)
				return r;
			n = 0;
		}
	}
	if (n % 4 != 0)
		return -EINVAL;
	return b64_flush(stage, n, pad, out);
}

/* Append one UTF-16 code unit, little endian. */
static int put_u16le(struct buf *out, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v & 0xff), (uint8_t)(v >> 8) };

	return buf_try_append(out, b, 2);
}

/* Decode one strict UTF-8 sequence at s[0..avail): code point and length, or -EILSEQ. */
static int utf8_next(const unsigned char *s, size_t avail, unsigned *ret_cp, size_t *ret_len)
{
	unsigned c = s[0], cp, need, k;

	if (c < 0x80) {
		cp = c;
		need = 0;
	} else if (c >= 0xc2 && c <= 0xdf) {
		cp = c & 0x1f;
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		cp = c & 0x0f;
		need = 2;
	} else if (c >= 0xf0 && c <= 0xf4) {
		cp = c & 0x07;
		need = 3;
	} else {
		return -EILSEQ;
	}
	if (avail - 1 < need)
		return -EILSEQ;
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return -EILSEQ;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	/* Overlong forms, surrogates and values above U+10FFFF are not UTF-8. */
	if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -EILSEQ;
	*ret_cp = cp;
	*ret_len = need + 1;
	return 0;
}

/* Whether s[0..len) is strict UTF-8. */
bool winrm_codec_utf8_valid(const char *s, size_t len)
{
	size_t i = 0, n;
	unsigned cp;

	while (i < len) {
		if (utf8_next((const unsigned char *)s + i, len - i, &cp, &n) < 0)
			return false;
		i += n;
	}
	return true;
}

/* Strict UTF-8 to UTF-16LE. */
int winrm_codec_utf8_to_utf16le(const char *in, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, n;
	unsigned cp;
	int r;

	while (i < len) {
		r = utf8_next(s + i, len - i, &cp, &n);
		if (r < 0)
			return r;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			r = put_u16le(out, 0xd800 | (cp >> 10));
			if (r == 0)
				r = put_u16le(out, 0xdc00 | (cp & 0x3ff));
		} else {
			r = put_u16le(out, cp);
		}
		if (r < 0)
			return r;
		i += n;
	}
	return buf_ensure(out);
}

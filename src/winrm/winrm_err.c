/* Error text for the WinRM client: formatting, sanitising remote text, scrubbing secrets. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "winrm_int.h"

/* Format the error text and pass the error code through. */
int winrm_err(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || errlen == 0)
		return err;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return err;
}

/* Copy untrusted text as one printable line. */
void winrm_err_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t i, o = 0;
	bool space = true; /* drops leading whitespace */

	if (dstlen == 0)
		return;
	for (i = 0; i < srclen && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (space)
				continue;
			c = ' ';
			space = true;
		} else {
			space = false;
		}
		if (o + 1 >= dstlen)
			break;
		dst[o++] = (char)c;
	}
	/* Trailing space, and a UTF-8 sequence cut in the middle, are dropped. */
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	if (o > 0 && (unsigned char)dst[o - 1] >= 0x80) {
		size_t start = o, need;
		unsigned char lead;

		while (start > 0 && ((unsigned char)dst[start - 1] & 0xc0) == 0x80)
			start--;
		if (start > 0) {
			lead = (unsigned char)dst[start - 1];
			need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
			if (o - (start - 1) < need)
				o = start - 1;
		}
	}
	dst[o] = 0;
}

/* Mask every occurrence of secret in errbuf. */
void winrm_err_scrub(char *errbuf, const char *secret)
{
	size_t slen, mask;
	char *cur, *p;

	if (!errbuf || !secret || !*secret)
		return;
	slen = strlen(secret);
	mask = slen < 3 ? slen : 3;
	cur = errbuf;
	while ((p = strstr(cur, secret)) != NULL) {
		memset(p, '*', mask);
		memmove(p + mask, p + slen, strlen(p + slen) + 1);
		cur = p + mask;
	}
}

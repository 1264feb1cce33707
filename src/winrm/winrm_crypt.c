/* MS-WSMV 2.2.9.1 multipart/encrypted framing of sealed SOAP messages (framing only). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "winrm_int.h"

#define BOUNDARY "--Encrypted Boundary\r\n"
#define BOUNDARY_END "--Encrypted Boundary--"
#define PART1_TYPE "Content-Type: " WINRM_CRYPT_PROTOCOL
#define PART2_TYPE "Content-Type: application/octet-stream\r\n"
#define LENGTH_KEY "Length="
#define MAX_HEADER 1024u /* bytes of part headers we are willing to scan */
#define MAX_SIG_LEN 1024u
#define MAX_PLAIN_LEN (64u * 1024u * 1024u)

/* Append the framed message. */
int winrm_crypt_build(size_t plain_len, const void *sig, size_t sig_len, const void *sealed,
		      size_t sealed_len, struct buf *out)
{
	uint8_t le[4];
	int r;

	if (sig_len == 0 || sig_len > MAX_SIG_LEN || plain_len > MAX_PLAIN_LEN)
		return -EINVAL;
	le[0] = (uint8_t)(sig_len & 0xff);
	le[1] = (uint8_t)((sig_len >> 8) & 0xff);
	le[2] = (uint8_t)((sig_len >> 16) & 0xff);
	le[3] = (uint8_t)((sig_len >> 24) & 0xff);
	r = buf_try_printf(out,
			   BOUNDARY
			   "\t" PART1_TYPE "\r\n"
			   "\tOriginalContent: type=application/soap+xml;charset=UTF-8;" LENGTH_KEY
			   "%zu\r\n" BOUNDARY "\t" PART2_TYPE,
			   plain_len);
	if (r == 0)
		r = buf_try_append(out, le, sizeof(le));
	if (r == 0)
		r = buf_try_append(out, sig, sig_len);
	if (r == 0)
		r = buf_try_append(out, sealed, sealed_len);
	if (r == 0)
		r = buf_try_append_str(out, BOUNDARY_END "\r\n");
	return r;
}

/* memmem limited to the first `limit` bytes of hay. */
static const uint8_t *find(const uint8_t *hay, size_t len, size_t limit, const char *needle)
{
	return memmem(hay, len < limit ? len : limit, needle, strlen(needle));
}

/* Case-insensitive search for needle inside [p, p+len). */
static bool contains_ci(const uint8_t *p, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (strncasecmp((const char *)p + i, needle, n) == 0)
			return true;
	return false;
}

/* Read Length=<decimal> from the first part's headers. */
static int parse_length(const uint8_t *hdr, size_t len, size_t *ret)
{
	const uint8_t *p = memmem(hdr, len, LENGTH_KEY, strlen(LENGTH_KEY)), *end = hdr + len;
	size_t v = 0, digits = 0;

	if (!p)
		return -EPROTO;
	for (p += strlen(LENGTH_KEY); p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		v = v * 10 + (size_t)(*p - '0');
		if (v > MAX_PLAIN_LEN)
			return -EPROTO;
	}
	if (digits == 0)
		return -EPROTO;
	/* The value ends the line (Windows and pywinrm), or is followed by ';'. */
	if (p < end && *p != '\r' && *p != '\n' && *p != ';')
		return -EPROTO;
	*ret = v;
	return 0;
}

/* Parse a single-part encrypted body. */
int winrm_crypt_parse(const void *data, size_t len, struct winrm_crypt_part *ret)
{
	const uint8_t *body = data;
	const size_t blen = strlen(BOUNDARY);
	const uint8_t *hdr, *second, *payload, *end;
	size_t hdr_len, plain_len, sig_len, payload_len;
	int r;

	if (!body || len < blen || memcmp(body, BOUNDARY, blen) != 0)
		return -EPROTO;
	hdr = body + blen;
	second = find(hdr, len - blen, MAX_HEADER, BOUNDARY);
	if (!second)
		return -EPROTO;
	hdr_len = (size_t)(second - hdr);
	if (!contains_ci(hdr, hdr_len, PART1_TYPE))
		return -EPROTO;
	r = parse_length(hdr, hdr_len, &plain_len);
	if (r < 0)
		return r;

	/* Second part: optional leading whitespace, its Content-Type line, then binary. */
	payload = second + blen;
	end = body + len;
	while (payload < end && (*payload == '\t' || *payload == ' '))
		payload++;
	if ((size_t)(end - payload) < strlen(PART2_TYPE) ||
	    strncasecmp((const char *)payload, PART2_TYPE, strlen(PART2_TYPE)) != 0)
		return -EPROTO;
	payload += strlen(PART2_TYPE);

	/* The body ends with the closing boundary, with or without a final CRLF. */
	if ((size_t)(end - payload) >= 2 && end[-2] == '\r' && end[-1] == '\n')
		end -= 2;
	if ((size_t)(end - payload) < strlen(BOUNDARY_END) ||
	    memcmp(end - strlen(BOUNDARY_END), BOUNDARY_END, strlen(BOUNDARY_END)) != 0)
		return -EPROTO;
	end -= strlen(BOUNDARY_END);
	payload_len = (size_t)(end - payload);

	if (payload_len < 4)
		return -EPROTO;
	sig_len = (size_t)payload[0] | (size_t)payload[1] << 8 | (size_t)payload[2] << 16 |
		  (size_t)payload[3] << 24;
	if (sig_len == 0 || sig_len > MAX_SIG_LEN || sig_len > payload_len - 4)
		return -EPROTO;

	ret->plain_len = plain_len;
	ret->sig = payload + 4;
	ret->sig_len = sig_len;
	ret->sealed = payload + 4 + sig_len;
	ret->sealed_len = payload_len - 4 - sig_len;
	return 0;
}

/* Whether a Content-Type announces SPNEGO session encryption. */
bool winrm_crypt_is_encrypted_type(const char *content_type)
{
	if (!content_type)
		return false;
	return strncasecmp(content_type, "multipart/encrypted", strlen("multipart/encrypted")) ==
		       0 &&
	       contains_ci((const uint8_t *)content_type, strlen(content_type),
			   "protocol=\"" WINRM_CRYPT_PROTOCOL "\"");
}

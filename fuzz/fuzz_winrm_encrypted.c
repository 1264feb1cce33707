/* libFuzzer target: the MS-WSMV multipart/encrypted framing parser (build/parse round trip). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "winrm/winrm_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct winrm_crypt_part p, q;
	struct buf b;

	if (winrm_crypt_parse(data, size, &p) != 0)
		return 0;
	/* Everything points inside the input and adds up. */
	if (p.sig < data || p.sig + p.sig_len > data + size || p.sealed < data ||
	    p.sealed + p.sealed_len > data + size || p.sig + p.sig_len != p.sealed || p.sig_len == 0)
		abort();
	/* What we parse we can frame again, and parse back to the same parts. */
	buf_init(&b, 2 * size + 1024);
	if (winrm_crypt_build(p.plain_len, p.sig, p.sig_len, p.sealed, p.sealed_len, &b) != 0)
		abort();
	if (winrm_crypt_parse(b.data, b.len, &q) != 0 || q.plain_len != p.plain_len ||
	    q.sig_len != p.sig_len || q.sealed_len != p.sealed_len ||
	    memcmp(q.sig, p.sig, p.sig_len) != 0 ||
	    (p.sealed_len && memcmp(q.sealed, p.sealed, p.sealed_len) != 0))
		abort();
	buf_free(&b);
	return 0;
}

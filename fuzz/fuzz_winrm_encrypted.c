/*
 * libFuzzer target: an MS-WSMV encrypted response as the WinRM client reads it. The framing
 * parser (with a build/parse round trip), then unsealing with a saved NTLM session
 * (winrm_auth_gss_unseal: framing, signature, RC4, Length=) and the SOAP parse of the
 * plaintext. The seeds corpus/winrm_encrypted/sealed_* are real messages sealed in that
 * session by seed_winrm_encrypted.c; their mutations exercise every rejection on the way.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winrm/winrm_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct buf ctx_token; /* the saved client context, imported afresh for every input */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(WINRM_FUZZ_CTX, "re");

	buf_init(&ctx_token, 1 << 20);
	if (!f) {
		fprintf(stderr, "fuzz_winrm_encrypted: cannot read %s\n", WINRM_FUZZ_CTX);
		abort();
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_try_append(&ctx_token, chunk, n) < 0)
			abort();
	fclose(f);
	return 0;
}

/* Framing: everything points inside the input and adds up; what we parse we can frame again,
 * and parse back to the same parts. */
static void check_framing(const uint8_t *data, size_t size, const struct winrm_crypt_part *p)
{
	struct winrm_crypt_part q;
	struct buf b;

	if (p->sig < data || p->sig + p->sig_len > data + size || p->sealed < data ||
	    p->sealed + p->sealed_len > data + size || p->sig + p->sig_len != p->sealed ||
	    p->sig_len == 0)
		abort();
	buf_init(&b, 2 * size + 1024);
	if (winrm_crypt_build(p->plain_len, p->sig, p->sig_len, p->sealed, p->sealed_len, &b) != 0)
		abort();
	if (winrm_crypt_parse(b.data, b.len, &q) != 0 || q.plain_len != p->plain_len ||
	    q.sig_len != p->sig_len || q.sealed_len != p->sealed_len ||
	    memcmp(q.sig, p->sig, p->sig_len) != 0 ||
	    (p->sealed_len && memcmp(q.sealed, p->sealed, p->sealed_len) != 0))
		abort();
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct winrm_crypt_part p;
	struct winrm_gss *g = NULL;
	struct winrm_reply rep;
	struct buf plain, out, err;
	char errbuf[256];

	if (winrm_crypt_parse(data, size, &p) != 0)
		return 0;
	check_framing(data, size, &p);

	if (winrm_auth_gss_import(ctx_token.data, ctx_token.len, &g, errbuf, sizeof(errbuf)) != 0)
		abort(); /* the saved session must always load */
	buf_init(&plain, WINRM_MAX_RESPONSE);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	if (winrm_auth_gss_unseal(g, data, size, &plain, errbuf, sizeof(errbuf)) == 0) {
		if (plain.len != p.plain_len)
			abort();
		(void)winrm_soap_parse(plain.data, plain.len, NULL, &out, &err, &rep, errbuf,
				       sizeof(errbuf));
	}
	winrm_auth_gss_free(g);
	buf_free(&plain);
	buf_free(&out);
	buf_free(&err);
	return 0;
}

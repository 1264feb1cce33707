/* Unit tests for the MS-WSMV multipart/encrypted framing (winrm_crypt.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "winrm/winrm_int.h"

static const uint8_t sig[16] = { 1, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0, 0, 0, 0 };

/* A sealed payload that contains the boundary text and CRLFs, to prove binary safety. */
static const uint8_t sealed[] =
	"\x00\xff--Encrypted Boundary\r\n\tContent-Type: x\r\nLength=9\r\n\x80";

static void build(struct buf *b, size_t plain_len)
{
	buf_init(b, 1 << 20);
	assert_int_equal(winrm_crypt_build(plain_len, sig, sizeof(sig), sealed, sizeof(sealed), b),
			 0);
}

static void test_build_exact_bytes(void **state)
{
	static const char head[] =
		"--Encrypted Boundary\r\n"
		"\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
		"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=1234\r\n"
		"--Encrypted Boundary\r\n"
		"\tContent-Type: application/octet-stream\r\n"
		"\x10\x00\x00\x00";
	static const char tail[] = "--Encrypted Boundary--\r\n";
	struct buf b;
	size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;

	build(&b, 1234);
	assert_int_equal(b.len, hl + 16 + sizeof(sealed) + tl);
	assert_memory_equal(b.data, head, hl);
	assert_memory_equal(b.data + hl, sig, 16);
	assert_memory_equal(b.data + hl + 16, sealed, sizeof(sealed));
	assert_memory_equal(b.data + b.len - tl, tail, tl);
	buf_free(&b);
}

static void test_round_trip(void **state)
{
	struct buf b;
	struct winrm_crypt_part p;

	build(&b, 77);
	assert_int_equal(winrm_crypt_parse(b.data, b.len, &p), 0);
	assert_int_equal(p.plain_len, 77);
	assert_int_equal(p.sig_len, 16);
	assert_memory_equal(p.sig, sig, 16);
	assert_int_equal(p.sealed_len, sizeof(sealed));
	assert_memory_equal(p.sealed, sealed, sizeof(sealed));
	/* Without the final CRLF (some servers) it still parses. */
	assert_int_equal(winrm_crypt_parse(b.data, b.len - 2, &p), 0);
	assert_int_equal(p.sealed_len, sizeof(sealed));
	buf_free(&b);
}

static void test_windows_variants(void **state)
{
	/* Part headers without tabs, different case, ';' after Length. */
	static const char body[] =
		"--Encrypted Boundary\r\n"
		"content-type: APPLICATION/HTTP-SPNEGO-SESSION-ENCRYPTED\r\n"
		"OriginalContent: type=application/soap+xml;charset=UTF-8;Length=5;\r\n"
		"--Encrypted Boundary\r\n"
		"Content-Type: application/octet-stream\r\n"
		"\x02\x00\x00\x00"
		"SGabcde"
		"--Encrypted Boundary--\r\n";
	struct winrm_crypt_part p;

	assert_int_equal(winrm_crypt_parse((const uint8_t *)body, sizeof(body) - 1, &p), 0);
	assert_int_equal(p.plain_len, 5);
	assert_int_equal(p.sig_len, 2);
	assert_memory_equal(p.sig, "SG", 2);
	assert_int_equal(p.sealed_len, 5);
	assert_memory_equal(p.sealed, "abcde", 5);
}

static void test_every_truncation_fails(void **state)
{
	struct buf b;
	struct winrm_crypt_part p;
	size_t n;

	build(&b, 10);
	/* Dropping the final CRLF is allowed; any other prefix must be refused. */
	for (n = 0; n < b.len; n++) {
		if (n == b.len - 2)
			continue;
		assert_int_equal(winrm_crypt_parse(b.data, n, &p), -EPROTO);
	}
	buf_free(&b);
}

static void replace(struct buf *b, const char *from, const char *to)
{
	char *at = memmem(b->data, b->len, from, strlen(from));
	struct buf n;

	assert_non_null(at);
	buf_init(&n, 1 << 20);
	assert_int_equal(buf_try_append(&n, b->data, (size_t)(at - b->data)), 0);
	assert_int_equal(buf_try_append_str(&n, to), 0);
	assert_int_equal(buf_try_append(&n, at + strlen(from),
					b->len - (size_t)(at - b->data) - strlen(from)),
			 0);
	buf_free(b);
	*b = n;
}

static void test_malformed(void **state)
{
	static const char *const edits[][2] = {
		{ "--Encrypted Boundary\r\n\tContent-Type: application/HTTP",
		  "--Other Boundary\r\n\tContent-Type: application/HTTP" },
		{ "HTTP-SPNEGO-session-encrypted", "HTTP-CredSSP-session-encrypted" },
		{ "Length=10", "Length=" },
		{ "Length=10", "Length=1x0" },
		{ "Length=10", "Length=99999999999999999999" },
		{ "Length=10", "Len=10" },
		{ "application/octet-stream", "application/json" },
		{ "--Encrypted Boundary--", "--Encrypted Boundary!!" },
		{ "\x10\x00\x00\x00", "\x00\x00\x00\x00" }, /* zero-length signature */
		{ "\x10\x00\x00\x00", "\xff\xff\xff\xff" }, /* signature beyond the data */
		{ "\x10\x00\x00\x00", "\x00\x10\x00\x00" }, /* 4096 > limit */
	};
	struct winrm_crypt_part p;
	size_t i;

	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		struct buf b;

		build(&b, 10);
		/* The signature length bytes: edit exactly the 4 bytes after the octet-stream line. */
		if (edits[i][0][0] == '\x10' || edits[i][0][0] == '\x00') {
			uint8_t *at = memmem(b.data, b.len, "octet-stream\r\n", 14);

			assert_non_null(at);
			memcpy(at + 14, edits[i][1], 4);
		} else {
			replace(&b, edits[i][0], edits[i][1]);
		}
		assert_int_equal(winrm_crypt_parse(b.data, b.len, &p), -EPROTO);
		buf_free(&b);
	}
	assert_int_equal(winrm_crypt_parse(NULL, 0, &p), -EPROTO);
}

static void test_build_limits(void **state)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(winrm_crypt_build(1, sig, 0, sealed, 1, &b), -EINVAL);
	assert_int_equal(winrm_crypt_build(1, sig, 2000, sealed, 1, &b), -EINVAL);
	buf_free(&b);
	buf_init(&b, 64);
	assert_int_equal(winrm_crypt_build(1, sig, 16, sealed, 1, &b), -E2BIG);
	buf_free(&b);
}

static void test_content_type(void **state)
{
	assert_true(winrm_crypt_is_encrypted_type(WINRM_CRYPT_CONTENT_TYPE));
	assert_true(winrm_crypt_is_encrypted_type(
		"multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";"
		"boundary=\"Encrypted Boundary\""));
	assert_true(winrm_crypt_is_encrypted_type(
		"Multipart/Encrypted; protocol=\"application/http-spnego-session-encrypted\"; boundary=x"));
	assert_false(winrm_crypt_is_encrypted_type("application/soap+xml;charset=UTF-8"));
	assert_false(winrm_crypt_is_encrypted_type(
		"multipart/encrypted;protocol=\"application/HTTP-CredSSP-session-encrypted\""));
	assert_false(winrm_crypt_is_encrypted_type(""));
	assert_false(winrm_crypt_is_encrypted_type(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_exact_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_windows_variants),
		cmocka_unit_test(test_every_truncation_fails),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_build_limits),
		cmocka_unit_test(test_content_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

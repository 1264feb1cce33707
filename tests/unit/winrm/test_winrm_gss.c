/* Unit tests for NTLM through GSSAPI (winrm_auth_gss.c) against an in-process acceptor. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ntlmssp.h>

#include "winrm/winrm_int.h"

/* Linked with -Wl,--wrap=gss_wrap,--wrap=gss_unwrap: when set, the wrappers emulate a
 * gss-ntlmssp older than 0.5 that put the signature after the sealed bytes. */
static bool emulate_sig_last;

OM_uint32 __real_gss_wrap(OM_uint32 *, gss_ctx_id_t, int, gss_qop_t, gss_buffer_t, int *,
			  gss_buffer_t);
OM_uint32 __real_gss_unwrap(OM_uint32 *, gss_ctx_id_t, gss_buffer_t, gss_buffer_t, int *,
			    gss_qop_t *);
OM_uint32 __wrap_gss_wrap(OM_uint32 *, gss_ctx_id_t, int, gss_qop_t, gss_buffer_t, int *,
			  gss_buffer_t);
OM_uint32 __wrap_gss_unwrap(OM_uint32 *, gss_ctx_id_t, gss_buffer_t, gss_buffer_t, int *,
			    gss_qop_t *);

/* Rotate a token so that its first `n` bytes move to the end (or back). */
static void rotate(uint8_t *p, size_t len, size_t n)
{
	uint8_t tmp[16];

	memcpy(tmp, p, n);
	memmove(p, p + n, len - n);
	memcpy(p + len - n, tmp, n);
}

OM_uint32 __wrap_gss_wrap(OM_uint32 *minor, gss_ctx_id_t ctx, int conf, gss_qop_t qop,
			  gss_buffer_t in, int *conf_state, gss_buffer_t out)
{
	OM_uint32 major = __real_gss_wrap(minor, ctx, conf, qop, in, conf_state, out);

	if (!GSS_ERROR(major) && emulate_sig_last)
		rotate(out->value, out->length, 16);
	return major;
}

OM_uint32 __wrap_gss_unwrap(OM_uint32 *minor, gss_ctx_id_t ctx, gss_buffer_t in, gss_buffer_t out,
			    int *conf_state, gss_qop_t *qop)
{
	if (emulate_sig_last && in->length > 16)
		rotate(in->value, in->length, in->length - 16);
	return __real_gss_unwrap(minor, ctx, in, out, conf_state, qop);
}

/* The in-process acceptor stands in for Windows; gss-ntlmssp 1.2.0 leaks on the accepting
 * side (server credentials, and an OpenSSL context per password hash). Those allocations
 * are not the client's: suppress exactly them. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:acceptor_init\nleak:accept_step\n";
}

/* libcrypto and gss-ntlmssp have no frame pointers: unwind slowly so that the stacks
 * reach the acceptor functions named above. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

struct acceptor {
	gss_cred_id_t cred;
	gss_ctx_id_t ctx;
};

static void acceptor_init(struct acceptor *a)
{
	OM_uint32 major, minor;
	gss_OID_desc oid = { GSS_NTLMSSP_OID_LENGTH, (void *)GSS_NTLMSSP_OID_STRING };
	gss_OID_set_desc mechs = { 1, &oid };

	a->ctx = GSS_C_NO_CONTEXT;
	major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
				 &a->cred, NULL, NULL);
	assert_false(GSS_ERROR(major));
}

static void acceptor_done(struct acceptor *a)
{
	OM_uint32 minor;

	if (a->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &a->ctx, GSS_C_NO_BUFFER);
	gss_release_cred(&minor, &a->cred);
}

/* One acceptor leg; returns the major status, appends the output token to out. */
static OM_uint32 accept_step(struct acceptor *a, const struct buf *in, struct buf *out)
{
	OM_uint32 major, minor;
	gss_buffer_desc itok = { in->len, in->data }, otok = GSS_C_EMPTY_BUFFER;

	major = gss_accept_sec_context(&minor, &a->ctx, a->cred, &itok, GSS_C_NO_CHANNEL_BINDINGS,
				       NULL, NULL, &otok, NULL, NULL, NULL);
	buf_reset(out);
	if (otok.length)
		assert_int_equal(buf_try_append(out, otok.value, otok.length), 0);
	gss_release_buffer(&minor, &otok);
	return major;
}

/* Full handshake; returns the acceptor's final major status. */
static OM_uint32 handshake(struct winrm_gss *g, struct acceptor *a)
{
	struct buf c, s;
	char err[256];
	bool complete = false;
	OM_uint32 major;

	buf_init(&c, 65536);
	buf_init(&s, 65536);
	assert_int_equal(winrm_auth_gss_step(g, NULL, 0, &c, &complete, err, sizeof(err)), 0);
	assert_false(complete);
	assert_memory_equal(c.data, "NTLMSSP\0\x01\0\0\0", 12); /* raw NTLM, not SPNEGO */
	major = accept_step(a, &c, &s);
	assert_int_equal(major, GSS_S_CONTINUE_NEEDED);
	buf_reset(&c);
	assert_int_equal(winrm_auth_gss_step(g, s.data, s.len, &c, &complete, err, sizeof(err)), 0);
	assert_true(complete);
	major = accept_step(a, &c, &s);
	buf_free(&c);
	buf_free(&s);
	return major;
}

/* Seal with the client, unseal with the acceptor. */
static void client_to_server(struct winrm_gss *g, struct acceptor *a, const char *msg, uint32_t seq)
{
	struct buf sig, sealed;
	OM_uint32 major, minor;
	gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
	uint8_t *tok;
	char err[256];
	size_t n = strlen(msg);

	buf_init(&sig, 16);
	buf_init(&sealed, 4096);
	assert_int_equal(
		winrm_auth_gss_wrap(g, (const uint8_t *)msg, n, &sig, &sealed, err, sizeof(err)),
		0);
	assert_int_equal(sig.len, 16);
	assert_int_equal(sealed.len, n);
	assert_memory_equal(sig.data, "\x01\0\0\0", 4); /* MS-WSMV wants it first */
	assert_int_equal(sig.data[12], seq);
	assert_memory_not_equal(sealed.data, msg, n); /* really sealed */
	/* What goes on the wire is sig || sealed; the acceptor unwraps exactly that. */
	tok = malloc(16 + n);
	memcpy(tok, sig.data, 16);
	memcpy(tok + 16, sealed.data, n);
	in.value = tok;
	in.length = 16 + n;
	major = __real_gss_unwrap(&minor, a->ctx, &in, &out, NULL, NULL);
	assert_false(GSS_ERROR(major));
	assert_int_equal(out.length, n);
	assert_memory_equal(out.value, msg, n);
	gss_release_buffer(&minor, &out);
	free(tok);
	buf_free(&sig);
	buf_free(&sealed);
}

/* Seal with the acceptor (Windows order: sig || sealed), unseal with the client. */
static int server_to_client(struct winrm_gss *g, struct acceptor *a, const char *msg, bool tamper)
{
	OM_uint32 major, minor;
	gss_buffer_desc in = { strlen(msg), (void *)msg }, out = GSS_C_EMPTY_BUFFER;
	struct buf plain;
	char err[256];
	int r;

	/* The acceptor plays Windows: the real library, wire order sig || sealed. */
	major = __real_gss_wrap(&minor, a->ctx, 1, GSS_C_QOP_DEFAULT, &in, NULL, &out);
	assert_false(GSS_ERROR(major));
	assert_int_equal(out.length, strlen(msg) + 16);
	if (tamper)
		((uint8_t *)out.value)[20] ^= 1;
	buf_init(&plain, 4096);
	r = winrm_auth_gss_unwrap(g, out.value, 16, (uint8_t *)out.value + 16, out.length - 16,
				  &plain, err, sizeof(err));
	if (r == 0) {
		assert_int_equal(plain.len, strlen(msg));
		assert_memory_equal(plain.data, msg, plain.len);
	}
	buf_free(&plain);
	gss_release_buffer(&minor, &out);
	return r;
}

static void session(bool sig_last)
{
	struct winrm_gss *g;
	struct acceptor a;
	char err[256];
	uint8_t sig[16] = { 1 };

	emulate_sig_last = sig_last;
	assert_int_equal(
		winrm_auth_gss_new("labuser", "S3cret!", "127.0.0.1", &g, err, sizeof(err)), 0);
	acceptor_init(&a);
	assert_int_equal(handshake(g, &a), GSS_S_COMPLETE);
	assert_true(winrm_auth_gss_can_seal(g));
	client_to_server(g, &a, "<s:Envelope>first</s:Envelope>", 0);
	assert_int_equal(server_to_client(g, &a, "reply one", false), 0);
	client_to_server(g, &a, "second message", 1);
	assert_int_equal(server_to_client(g, &a, "reply two", false), 0);
	/* A flipped bit is caught, and bad shapes are refused before gss_unwrap. */
	assert_int_equal(server_to_client(g, &a, "reply three", true), -EPROTO);
	assert_int_equal(winrm_auth_gss_unwrap(g, sig, 15, sig, 1, NULL, err, sizeof(err)),
			 -EPROTO);
	assert_int_equal(winrm_auth_gss_unwrap(g, sig, 16, sig, 0, NULL, err, sizeof(err)),
			 -EPROTO);
	/* After a reset the context is gone until a new handshake. */
	winrm_auth_gss_reset(g);
	assert_false(winrm_auth_gss_can_seal(g));
	acceptor_done(&a);
	acceptor_init(&a);
	assert_int_equal(handshake(g, &a), GSS_S_COMPLETE);
	client_to_server(g, &a, "after reconnect", 0);
	acceptor_done(&a);
	winrm_auth_gss_free(g);
	emulate_sig_last = false;
}

static void test_session_signature_first(void **state)
{
	session(false);
}

static void test_session_signature_last(void **state)
{
	session(true);
}

static void test_wrong_password(void **state)
{
	struct winrm_gss *g;
	struct acceptor a;
	char err[256];

	assert_int_equal(winrm_auth_gss_new("labuser", "wrong", "127.0.0.1", &g, err, sizeof(err)),
			 0);
	acceptor_init(&a);
	assert_true(GSS_ERROR(handshake(g, &a)));
	acceptor_done(&a);
	winrm_auth_gss_free(g);
	/* Without an established context nothing can be sealed. */
	assert_int_equal(winrm_auth_gss_new("labuser", "x", "h", &g, err, sizeof(err)), 0);
	assert_int_equal(
		winrm_auth_gss_wrap(g, (const uint8_t *)"x", 1, NULL, NULL, err, sizeof(err)),
		-EPROTO);
	winrm_auth_gss_free(g);
	winrm_auth_gss_free(NULL);
}

static void test_domain_user_forms(void **state)
{
	static const char *const users[] = { "WORKGROUP\\labuser", "labuser@WORKGROUP" };
	struct winrm_gss *g;
	struct acceptor a;
	char err[256];
	size_t i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(winrm_auth_gss_new(users[i], "S3cret!", "h", &g, err, sizeof(err)),
				 0);
		acceptor_init(&a);
		assert_int_equal(handshake(g, &a), GSS_S_COMPLETE);
		acceptor_done(&a);
		winrm_auth_gss_free(g);
	}
}

/* A saved session unseals a whole framed response (what the fuzzer replays), and only once
 * per import: RC4 state and sequence numbers move on. */
static void test_export_import_unseal(void **state)
{
	static const char msg[] = "<s:Envelope>reply</s:Envelope>";
	struct winrm_gss *g, *copy;
	struct acceptor a;
	struct buf ctx, framed, plain;
	gss_buffer_desc in = { sizeof(msg) - 1, (void *)msg }, out = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	char err[256];

	buf_init(&ctx, 1 << 20);
	buf_init(&framed, 1 << 20);
	buf_init(&plain, 1 << 20);
	assert_int_equal(winrm_auth_gss_new("labuser", "S3cret!", "h", &g, err, sizeof(err)), 0);
	assert_int_equal(winrm_auth_gss_export(g, &ctx, err, sizeof(err)),
			 -EINVAL); /* no context */
	acceptor_init(&a);
	assert_int_equal(handshake(g, &a), GSS_S_COMPLETE);
	assert_int_equal(winrm_auth_gss_export(g, &ctx, err, sizeof(err)), 0);
	assert_false(winrm_auth_gss_can_seal(g)); /* the context moved into the token */
	assert_false(
		GSS_ERROR(__real_gss_wrap(&minor, a.ctx, 1, GSS_C_QOP_DEFAULT, &in, NULL, &out)));
	assert_int_equal(winrm_crypt_build(in.length, out.value, 16, (uint8_t *)out.value + 16,
					   in.length, &framed),
			 0);
	assert_int_equal(winrm_auth_gss_import(ctx.data, ctx.len, &copy, err, sizeof(err)), 0);
	assert_true(winrm_auth_gss_can_seal(copy));
	assert_int_equal(
		winrm_auth_gss_unseal(copy, framed.data, framed.len, &plain, err, sizeof(err)), 0);
	assert_int_equal(plain.len, in.length);
	assert_memory_equal(plain.data, msg, plain.len);
	/* the same message again is a replay for this context */
	buf_reset(&plain);
	assert_int_equal(
		winrm_auth_gss_unseal(copy, framed.data, framed.len, &plain, err, sizeof(err)),
		-EPROTO);
	winrm_auth_gss_free(copy);
	/* a Length= that does not match the plaintext is refused */
	buf_reset(&framed);
	assert_int_equal(winrm_crypt_build(in.length + 1, out.value, 16, (uint8_t *)out.value + 16,
					   in.length, &framed),
			 0);
	assert_int_equal(winrm_auth_gss_import(ctx.data, ctx.len, &copy, err, sizeof(err)), 0);
	assert_int_equal(
		winrm_auth_gss_unseal(copy, framed.data, framed.len, &plain, err, sizeof(err)),
		-EPROTO);
	assert_non_null(strstr(err, "length mismatch"));
	winrm_auth_gss_free(copy);
	assert_int_equal(winrm_auth_gss_import("junk", 4, &copy, err, sizeof(err)), -EPROTO);
	gss_release_buffer(&minor, &out);
	acceptor_done(&a);
	winrm_auth_gss_free(g);
	buf_free(&ctx);
	buf_free(&framed);
	buf_free(&plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_signature_first),
		cmocka_unit_test(test_session_signature_last),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_domain_user_forms),
		cmocka_unit_test(test_export_import_unseal),
	};
	char path[] = "/tmp/winrm-ntlm-users-XXXXXX";
	int fd, r;

	/* The acceptor (gss-ntlmssp) looks users up in $NTLM_USER_FILE. */
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0 || write(fd, "WORKGROUP:labuser:S3cret!\n", 26) != 26)
		return 1;
	close(fd);
	setenv("NTLM_USER_FILE", path, 1);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return r;
}

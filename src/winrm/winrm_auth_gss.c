/* NTLM for WinRM through MIT GSSAPI and the gss-ntlmssp mechanism: handshake, wrap, unwrap. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_ntlmssp.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "winrm_int.h"

/*
 * gss-ntlmssp 1.2.0 (Debian bookworm) leaks an OpenSSL library context (~6 KiB) every
 * time it hashes a password (MD4_HASH never frees its fetched EVP_MD; fixed upstream
 * after 1.2.0). A daemon polling hosts would grow without bound, so we compute the NT
 * hash ourselves, once per call, with an MD4 fetched once per process from a private
 * library context with OpenSSL's legacy provider, and hand gss-ntlmssp the hash through
 * its "ntlmssp_nthash" credential-store key. If MD4 is unavailable we fall back to
 * gss_acquire_cred_with_password (correct, but leaking on 1.2.0).
 */
static pthread_once_t md4_once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX *md4_libctx;
static OSSL_PROVIDER *md4_legacy;
static EVP_MD *md4;

/* Fetch MD4 once; it stays valid (and shareable between threads) until exit. */
static void md4_init(void)
{
	md4_libctx = OSSL_LIB_CTX_new();
	if (!md4_libctx)
		return;
	md4_legacy = OSSL_PROVIDER_load(md4_libctx, "legacy");
	if (md4_legacy)
		md4 = EVP_MD_fetch(md4_libctx, "MD4", NULL);
}

/* NTOWFv1(password) = MD4(UTF-16LE(password)) as 32 hex digits; -ENOTSUP without MD4. */
static int nt_hash_hex(const char *password, char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	struct buf u16;
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0, i;
	int r;

	pthread_once(&md4_once, md4_init);
	if (!md4)
		return -ENOTSUP;
	/* One allocation up front: realloc would leave unwiped copies of the password. */
	buf_init(&u16, 4 * strlen(password) + 4);
	r = buf_reserve(&u16, 4 * strlen(password) + 4);
	if (r == 0)
		r = winrm_codec_utf8_to_utf16le(password, strlen(password), &u16);
	if (r == 0 && (!EVP_Digest(u16.data, u16.len, h, &hlen, md4, NULL) || hlen != 16))
		r = -ENOTSUP;
	if (r == 0) {
		for (i = 0; i < 16; i++) {
			hex[2 * i] = digits[h[i] >> 4];
			hex[2 * i + 1] = digits[h[i] & 0xf];
		}
		hex[32] = 0;
	}
	explicit_bzero(h, sizeof(h));
	buf_wipe_free(&u16);
	return r;
}

struct winrm_gss {
	gss_cred_id_t cred;
	gss_name_t target;
	gss_ctx_id_t ctx;
	OM_uint32 flags; /* ret_flags of the completed context */
	bool complete;
	/*
	 * Where gss_wrap puts the 16-byte NTLM signature. gss-ntlmssp >= 0.5 (2014, commit
	 * "Fix order of signature vs payload"; Debian ships 1.2.0) returns signature||sealed,
	 * which is exactly what MS-WSMV wants; older releases returned sealed||signature.
	 * We detect it on the first wrap of each context instead of assuming either.
	 */
	bool layout_known;
	bool sig_last;
	uint32_t send_seq; /* messages wrapped with the current context */
};

/* The NTLMSSP mechanism OID 1.3.6.1.4.1.311.2.2.10. */
static void ntlm_oid(gss_OID_desc *oid)
{
	oid->length = GSS_NTLMSSP_OID_LENGTH;
	oid->elements = (void *)GSS_NTLMSSP_OID_STRING;
}

/* Append the GSSAPI text for one status code type. */
static void status_text(OM_uint32 code, int type, gss_OID mech, char *dst, size_t dstlen)
{
	OM_uint32 minor, ctx = 0, maj;
	gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
	size_t used = strlen(dst);

	do {
		maj = gss_display_status(&minor, code, type, mech, &ctx, &msg);
		if (GSS_ERROR(maj))
			break;
		if (used + 3 < dstlen) {
			char clean[256];

			winrm_err_sanitize(clean, sizeof(clean), msg.value, msg.length);
			snprintf(dst + used, dstlen - used, "%s%s", used ? "; " : "", clean);
			used = strlen(dst);
		}
		gss_release_buffer(&minor, &msg);
	} while (ctx != 0);
}

/* Format "<what>: <major text>; <minor text>" into errbuf and return err. */
static int gss_fail(char *errbuf, size_t errlen, int err, const char *what, OM_uint32 major,
		    OM_uint32 minor)
{
	char text[512] = "";
	gss_OID_desc oid;

	ntlm_oid(&oid);
	status_text(major, GSS_C_GSS_CODE, GSS_C_NO_OID, text, sizeof(text));
	if (minor)
		status_text(minor, GSS_C_MECH_CODE, &oid, text, sizeof(text));
	return winrm_err(errbuf, errlen, err, "%s: %s", what,
			 text[0] ? text : "unknown GSSAPI error");
}

/* An empty client: no credentials, name or context yet. */
static struct winrm_gss *gss_alloc(void)
{
	struct winrm_gss *g = calloc(1, sizeof(*g));

	if (g) {
		g->cred = GSS_C_NO_CREDENTIAL;
		g->target = GSS_C_NO_NAME;
		g->ctx = GSS_C_NO_CONTEXT;
	}
	return g;
}

/* Acquire NTLM credentials for user/password and name the HTTP@host service. */
int winrm_auth_gss_new(const char *user, const char *password, const char *host,
		       struct winrm_gss **ret, char *errbuf, size_t errlen)
{
	OM_uint32 major, minor;
	gss_OID_desc oid;
	gss_OID_set_desc mechs = { 1, &oid };
	gss_buffer_desc buf;
	gss_name_t uname = GSS_C_NO_NAME;
	struct winrm_gss *g;
	char *svc = NULL, hex[33];
	int r;

	ntlm_oid(&oid);
	g = gss_alloc();
	if (!g)
		return winrm_err(errbuf, errlen, -ENOMEM, "out of memory");

	/*
	 * Names are passed with their terminating NUL inside the buffer: gss-ntlmssp
	 * strndup()s the mechglue's exact-length copy, which ASan's strict_string_checks
	 * (our sanitizer setting) reports as reading a missing terminator. gss-ntlmssp stops
	 * at the NUL, so the name itself is unchanged.
	 */
	buf.value = (void *)user;
	buf.length = strlen(user) + 1;
	major = gss_import_name(&minor, &buf, GSS_C_NT_USER_NAME, &uname);
	if (GSS_ERROR(major)) {
		r = gss_fail(errbuf, errlen, -EINVAL, "invalid NTLM user name", major, minor);
		goto fail;
	}
	r = nt_hash_hex(password, hex);
	if (r == 0) {
		gss_key_value_element_desc el = { GSS_NTLMSSP_CS_NTHASH, hex };
		gss_key_value_set_desc store = { 1, &el };

		major = gss_acquire_cred_from(&minor, uname, GSS_C_INDEFINITE, &mechs,
					      GSS_C_INITIATE, &store, &g->cred, NULL, NULL);
		explicit_bzero(hex, sizeof(hex));
	} else {
		/* gss-ntlmssp reads the password as a C string: pass the caller's NUL-terminated one. */
		buf.value = (void *)password;
		buf.length = strlen(password);
		major = gss_acquire_cred_with_password(&minor, uname, &buf, GSS_C_INDEFINITE,
						       &mechs, GSS_C_INITIATE, &g->cred, NULL,
						       NULL);
	}
	if (GSS_ERROR(major)) {
		r = gss_fail(errbuf, errlen, -EPROTO,
			     "cannot acquire NTLM credentials (is gss-ntlmssp installed?)", major,
			     minor);
		goto fail;
	}

	if (asprintf(&svc, "HTTP@%s", host) < 0) {
		svc = NULL;
		r = winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	buf.value = svc;
	buf.length = strlen(svc) + 1;
	major = gss_import_name(&minor, &buf, GSS_C_NT_HOSTBASED_SERVICE, &g->target);
	if (GSS_ERROR(major)) {
		r = gss_fail(errbuf, errlen, -EINVAL, "invalid service name", major, minor);
		goto fail;
	}
	free(svc);
	gss_release_name(&minor, &uname);
	*ret = g;
	return 0;

fail:
	free(svc);
	if (uname != GSS_C_NO_NAME)
		gss_release_name(&minor, &uname);
	winrm_auth_gss_free(g);
	return r;
}

/* Drop the security context; the credentials stay. */
void winrm_auth_gss_reset(struct winrm_gss *g)
{
	OM_uint32 minor;

	if (g->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &g->ctx, GSS_C_NO_BUFFER);
	g->ctx = GSS_C_NO_CONTEXT;
	g->flags = 0;
	g->complete = false;
	g->layout_known = false;
	g->sig_last = false;
	g->send_seq = 0;
}

/* One gss_init_sec_context leg. */
int winrm_auth_gss_step(struct winrm_gss *g, const void *in, size_t inlen, struct buf *out,
			bool *ret_complete, char *errbuf, size_t errlen)
{
	OM_uint32 major, minor, flags = 0;
	gss_buffer_desc itok, otok = GSS_C_EMPTY_BUFFER;
	gss_OID_desc oid;
	int r = 0;

	if (g->complete)
		return winrm_err(errbuf, errlen, -EPROTO, "NTLM handshake already complete");
	ntlm_oid(&oid);
	itok.value = (void *)in;
	itok.length = inlen;
	major = gss_init_sec_context(
		&minor, g->cred, &g->ctx, g->target, &oid, GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG, 0,
		GSS_C_NO_CHANNEL_BINDINGS, in && inlen ? &itok : GSS_C_NO_BUFFER, NULL, &otok,
		&flags, NULL);
	if (GSS_ERROR(major)) {
		r = gss_fail(errbuf, errlen, -EPROTO, "NTLM handshake failed", major, minor);
		goto out;
	}
	if (otok.length) {
		r = buf_try_append(out, otok.value, otok.length);
		if (r < 0) {
			r = winrm_err(errbuf, errlen, r, "NTLM token too large");
			goto out;
		}
	}
	if (major == GSS_S_COMPLETE) {
		g->complete = true;
		g->flags = flags;
	}
	*ret_complete = g->complete;
out:
	if (otok.value)
		gss_release_buffer(&minor, &otok);
	return r;
}

/* Whether the context can seal messages. */
bool winrm_auth_gss_can_seal(const struct winrm_gss *g)
{
	return g->complete && (g->flags & GSS_C_CONF_FLAG) && (g->flags & GSS_C_INTEG_FLAG);
}

/* Little-endian uint32 at p. */
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether p starts an NTLMSSP_MESSAGE_SIGNATURE (version 1) carrying sequence number seq. */
static bool is_signature(const uint8_t *p, uint32_t seq)
{
	return le32(p) == 1 && le32(p + 12) == seq;
}

/* Seal msg and split gss_wrap's output into signature and sealed bytes. */
int winrm_auth_gss_wrap(struct winrm_gss *g, const void *msg, size_t len, struct buf *sig,
			struct buf *sealed, char *errbuf, size_t errlen)
{
	OM_uint32 major, minor;
	gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
	const uint8_t *o, *s, *m;
	int conf = 0, r;

	if (!winrm_auth_gss_can_seal(g))
		return winrm_err(errbuf, errlen, -EPROTO, "NTLM context cannot seal messages");
	if (len == 0)
		return winrm_err(errbuf, errlen, -EINVAL, "cannot seal an empty message");
	in.value = (void *)msg;
	in.length = len;
	major = gss_wrap(&minor, g->ctx, 1, GSS_C_QOP_DEFAULT, &in, &conf, &out);
	if (GSS_ERROR(major))
		return gss_fail(errbuf, errlen, -EPROTO, "NTLM sealing failed", major, minor);
	o = out.value;
	if (out.length != len + WINRM_NTLM_SIG_LEN) {
		r = winrm_err(errbuf, errlen, -EPROTO,
			      "unexpected gss_wrap token length %zu for %zu bytes", out.length,
			      len);
		goto out;
	}
	if (!g->layout_known) {
		/* With extended session security the sequence number is in clear text. */
		if (is_signature(o, g->send_seq)) {
			g->sig_last = false;
		} else if (is_signature(o + len, g->send_seq)) {
			g->sig_last = true;
		} else {
			r = winrm_err(errbuf, errlen, -EPROTO,
				      "gss_wrap returned no recognisable NTLM signature");
			goto out;
		}
		g->layout_known = true;
	}
	s = g->sig_last ? o + len : o;
	m = g->sig_last ? o : o + WINRM_NTLM_SIG_LEN;
	if (le32(s) != 1) {
		r = winrm_err(errbuf, errlen, -EPROTO, "gss_wrap returned a bad NTLM signature");
		goto out;
	}
	r = buf_try_append(sig, s, WINRM_NTLM_SIG_LEN);
	if (r == 0)
		r = buf_try_append(sealed, m, len);
	if (r < 0) {
		r = winrm_err(errbuf, errlen, r, "sealed message too large");
		goto out;
	}
	g->send_seq++;
out:
	gss_release_buffer(&minor, &out);
	return r;
}

/* Reassemble the token the way gss_unwrap wants it, verify and unseal. */
int winrm_auth_gss_unwrap(struct winrm_gss *g, const uint8_t *sig, size_t sig_len,
			  const uint8_t *sealed, size_t sealed_len, struct buf *out, char *errbuf,
			  size_t errlen)
{
	OM_uint32 major, minor;
	gss_buffer_desc in, plain = GSS_C_EMPTY_BUFFER;
	gss_qop_t qop = 0;
	uint8_t *tok;
	int conf = 0, r;

	if (!winrm_auth_gss_can_seal(g))
		return winrm_err(errbuf, errlen, -EPROTO, "NTLM context cannot unseal messages");
	if (sig_len != WINRM_NTLM_SIG_LEN)
		return winrm_err(errbuf, errlen, -EPROTO, "bad NTLM signature length %zu", sig_len);
	if (sealed_len == 0)
		return winrm_err(errbuf, errlen, -EPROTO, "empty sealed message");
	if (sealed_len > SIZE_MAX - sig_len)
		return winrm_err(errbuf, errlen, -EPROTO, "sealed message too large");
	tok = malloc(sig_len + sealed_len);
	if (!tok)
		return winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
	if (g->sig_last) {
		memcpy(tok, sealed, sealed_len);
		memcpy(tok + sealed_len, sig, sig_len);
	} else {
		memcpy(tok, sig, sig_len);
		memcpy(tok + sig_len, sealed, sealed_len);
	}
	in.value = tok;
	in.length = sig_len + sealed_len;
	major = gss_unwrap(&minor, g->ctx, &in, &plain, &conf, &qop);
	if (GSS_ERROR(major)) {
		r = gss_fail(errbuf, errlen, -EPROTO, "NTLM unsealing failed", major, minor);
		goto out;
	}
	r = buf_try_append(out, plain.value, plain.length);
	if (r < 0)
		r = winrm_err(errbuf, errlen, r, "unsealed message too large");
out:
	if (plain.value)
		gss_release_buffer(&minor, &plain);
	free(tok);
	return r;
}

/* Unseal a whole encrypted response body. */
int winrm_auth_gss_unseal(struct winrm_gss *g, const void *body, size_t len, struct buf *out,
			  char *errbuf, size_t errlen)
{
	struct winrm_crypt_part part;
	int r;

	r = winrm_crypt_parse(body, len, &part);
	if (r < 0)
		return winrm_err(errbuf, errlen, -EPROTO, "malformed encrypted WinRM response");
	r = winrm_auth_gss_unwrap(g, part.sig, part.sig_len, part.sealed, part.sealed_len, out,
				  errbuf, errlen);
	if (r < 0)
		return r;
	if (out->len != part.plain_len)
		return winrm_err(errbuf, errlen, -EPROTO,
				 "encrypted WinRM response length mismatch (%zu, expected %zu)",
				 out->len, part.plain_len);
	return 0;
}

/* Save the established context. */
int winrm_auth_gss_export(struct winrm_gss *g, struct buf *out, char *errbuf, size_t errlen)
{
	OM_uint32 major, minor;
	gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
	int r;

	if (!g->complete)
		return winrm_err(errbuf, errlen, -EINVAL, "no established NTLM context");
	major = gss_export_sec_context(&minor, &g->ctx, &tok);
	if (GSS_ERROR(major))
		return gss_fail(errbuf, errlen, -EPROTO, "cannot export the NTLM context", major,
				minor);
	winrm_auth_gss_reset(g);
	r = buf_try_append(out, tok.value, tok.length);
	gss_release_buffer(&minor, &tok);
	return r < 0 ? winrm_err(errbuf, errlen, r, "NTLM context too large") : 0;
}

/* A client with an imported context. */
int winrm_auth_gss_import(const void *token, size_t len, struct winrm_gss **ret, char *errbuf,
			  size_t errlen)
{
	OM_uint32 major, minor, flags = 0;
	gss_buffer_desc tok = { len, (void *)token };
	struct winrm_gss *g;

	g = gss_alloc();
	if (!g)
		return winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
	major = gss_import_sec_context(&minor, &tok, &g->ctx);
	if (!GSS_ERROR(major))
		major = gss_inquire_context(&minor, g->ctx, NULL, NULL, NULL, NULL, &flags, NULL,
					    NULL);
	if (GSS_ERROR(major)) {
		int r = gss_fail(errbuf, errlen, -EPROTO, "cannot import the NTLM context", major,
				 minor);

		winrm_auth_gss_free(g);
		return r;
	}
	g->complete = true;
	g->flags = flags;
	*ret = g;
	return 0;
}

/* Release context, credentials and names. */
void winrm_auth_gss_free(struct winrm_gss *g)
{
	OM_uint32 minor;

	if (!g)
		return;
	winrm_auth_gss_reset(g);
	if (g->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &g->cred);
	if (g->target != GSS_C_NO_NAME)
		gss_release_name(&minor, &g->target);
	free(g);
}

/*
 * Builds the seed corpus of fuzz_winrm_encrypted: real MS-WSMV sealed responses.
 *
 * An NTLM handshake between the WinRM library's client (winrm_auth_gss.c) and an in-process
 * gss-ntlmssp acceptor (standing in for Windows) establishes a session. The client's context
 * is saved (gss_export_sec_context) to CTX_FILE, which the fuzzer imports for every input;
 * the acceptor's context is saved in memory and imported afresh to seal each plaintext
 * (SOAP responses, such as the files of fuzz/corpus/winrm_response), so every seed is "the
 * first message of the session" and unseals with a fresh import of the client context.
 *
 * Usage: seed_winrm_encrypted CTX_FILE OUT_DIR PLAINTEXT...
 * Writes CTX_FILE and OUT_DIR/sealed_<plaintext name without extension>.bin. Not run by the
 * build or the tests; rerun it and commit the output when gss-ntlmssp's context format
 * changes (the fuzzer aborts when it cannot import CTX_FILE):
 *
 *   cd fuzz && ../build-clang/fuzz/seed_winrm_encrypted winrm_encrypted.ctx \
 *       corpus/winrm_encrypted <every SOAP envelope in corpus/winrm_response: not clixml.xml>
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ntlmssp.h>

#include "winrm/winrm_int.h"

#define USER "seeduser"
#define DOMAIN "WORKGROUP"
#define PASSWORD "Seed-Passw0rd!"

static void die(const char *what, OM_uint32 major, OM_uint32 minor)
{
	fprintf(stderr, "seed_winrm_encrypted: %s failed (major 0x%x, minor %u)\n", what, major,
		minor);
	exit(1);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "seed_winrm_encrypted: cannot write %s\n", path);
		exit(1);
	}
}

static void read_file(const char *path, struct buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "seed_winrm_encrypted: cannot read %s\n", path);
		exit(1);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_try_append(out, chunk, n) < 0)
			exit(1);
	fclose(f);
}

/* One acceptor leg: in -> out (replaced). */
static OM_uint32 accept_step(gss_cred_id_t cred, gss_ctx_id_t *ctx, const struct buf *in,
			     struct buf *out)
{
	OM_uint32 major, minor;
	gss_buffer_desc itok = { in->len, in->data }, otok = GSS_C_EMPTY_BUFFER;

	major = gss_accept_sec_context(&minor, ctx, cred, &itok, GSS_C_NO_CHANNEL_BINDINGS, NULL,
				       NULL, &otok, NULL, NULL, NULL);
	if (GSS_ERROR(major))
		die("gss_accept_sec_context", major, minor);
	buf_reset(out);
	if (otok.length && buf_try_append(out, otok.value, otok.length) < 0)
		exit(1);
	gss_release_buffer(&minor, &otok);
	return major;
}

int main(int argc, char **argv)
{
	gss_OID_desc oid = { GSS_NTLMSSP_OID_LENGTH, (void *)GSS_NTLMSSP_OID_STRING };
	gss_OID_set_desc mechs = { 1, &oid };
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	gss_ctx_id_t actx = GSS_C_NO_CONTEXT;
	gss_buffer_desc acc_token = GSS_C_EMPTY_BUFFER;
	struct winrm_gss *client = NULL;
	struct buf c, s, ctx;
	char users[] = "/tmp/seed-winrm-users-XXXXXX", err[512], line[256];
	OM_uint32 major, minor;
	bool complete = false;
	int fd, i;

	if (argc < 4) {
		fprintf(stderr, "usage: seed_winrm_encrypted CTX_FILE OUT_DIR PLAINTEXT...\n");
		return 2;
	}
	/* The acceptor looks the user up in $NTLM_USER_FILE (DOMAIN:user:password). */
	fd = mkstemp(users);
	snprintf(line, sizeof(line), "%s:%s:%s\n", DOMAIN, USER, PASSWORD);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) || close(fd) < 0)
		return 1;
	setenv("NTLM_USER_FILE", users, 1);

	major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
				 &cred, NULL, NULL);
	if (GSS_ERROR(major))
		die("gss_acquire_cred", major, minor);
	if (winrm_auth_gss_new(DOMAIN "\\" USER, PASSWORD, "lab-ws-01", &client, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "seed_winrm_encrypted: %s\n", err);
		return 1;
	}
	buf_init(&c, 65536);
	buf_init(&s, 65536);
	buf_init(&ctx, 1 << 20);
	if (winrm_auth_gss_step(client, NULL, 0, &c, &complete, err, sizeof(err)) < 0 ||
	    accept_step(cred, &actx, &c, &s) != GSS_S_CONTINUE_NEEDED)
		return 1;
	buf_reset(&c);
	if (winrm_auth_gss_step(client, s.data, s.len, &c, &complete, err, sizeof(err)) < 0 ||
	    !complete || accept_step(cred, &actx, &c, &s) != GSS_S_COMPLETE) {
		fprintf(stderr, "seed_winrm_encrypted: handshake failed: %s\n", err);
		return 1;
	}
	if (winrm_auth_gss_export(client, &ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "seed_winrm_encrypted: %s\n", err);
		return 1;
	}
	write_file(argv[1], ctx.data, ctx.len);
	major = gss_export_sec_context(&minor, &actx, &acc_token);
	if (GSS_ERROR(major))
		die("gss_export_sec_context (acceptor)", major, minor);

	for (i = 3; i < argc; i++) {
		gss_ctx_id_t sealer = GSS_C_NO_CONTEXT;
		gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
		struct buf plain, framed;
		char path[4096], *copy = strdup(argv[i]), *name, *dot;

		buf_init(&plain, 1 << 20);
		buf_init(&framed, 2u << 20);
		read_file(argv[i], &plain);
		major = gss_import_sec_context(&minor, &acc_token, &sealer);
		if (GSS_ERROR(major))
			die("gss_import_sec_context (acceptor)", major, minor);
		in.value = plain.data;
		in.length = plain.len;
		major = gss_wrap(&minor, sealer, 1, GSS_C_QOP_DEFAULT, &in, NULL, &out);
		if (GSS_ERROR(major) || out.length != plain.len + WINRM_NTLM_SIG_LEN)
			die("gss_wrap", major, minor);
		/* gss-ntlmssp >= 0.5 returns signature || sealed, the MS-WSMV order. */
		if (winrm_crypt_build(plain.len, out.value, WINRM_NTLM_SIG_LEN,
				      (const uint8_t *)out.value + WINRM_NTLM_SIG_LEN, plain.len,
				      &framed) < 0)
			return 1;
		name = basename(copy);
		dot = strrchr(name, '.');
		if (dot)
			*dot = '\0';
		snprintf(path, sizeof(path), "%s/sealed_%s.bin", argv[2], name);
		write_file(path, framed.data, framed.len);
		gss_release_buffer(&minor, &out);
		gss_delete_sec_context(&minor, &sealer, GSS_C_NO_BUFFER);
		buf_free(&plain);
		buf_free(&framed);
		free(copy);
	}
	gss_release_buffer(&minor, &acc_token);
	gss_release_cred(&minor, &cred);
	winrm_auth_gss_free(client);
	buf_free(&c);
	buf_free(&s);
	buf_free(&ctx);
	unlink(users);
	return 0;
}

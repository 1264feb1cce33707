/* Internal interfaces of the WinRM client, shared by its files, unit tests and fuzzers. */
#ifndef RL_WINRM_WINRM_INT_H
#define RL_WINRM_WINRM_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "winrm.h"

/* ---- winrm_codec.c: base64, UTF-8 -> UTF-16LE ----------------------------------------- */

/* Base64 (RFC 4648, with padding, no line breaks) of in[0..len); *ret malloc'd, NUL-terminated. */
int winrm_codec_b64_encode(const void *in, size_t len, char **ret);
/* Decode base64 text (ASCII whitespace ignored) and append the bytes to out.
 * -EINVAL on bad characters/padding, -E2BIG when out's maximum is hit. */
int winrm_codec_b64_decode(const char *in, size_t len, struct buf *out);
/* Whether s[0..len) is strict UTF-8. */
bool winrm_codec_utf8_valid(const char *s, size_t len);
/* Strict UTF-8 (no overlongs, surrogates or > U+10FFFF) to UTF-16LE; -EILSEQ on bad input. */
int winrm_codec_utf8_to_utf16le(const char *in, size_t len, struct buf *out);

/* ---- winrm_err.c: error text --------------------------------------------------------- */

/* printf into errbuf (if any); returns err so callers can `return winrm_err(...)`. */
int winrm_err(char *errbuf, size_t errlen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Copy untrusted text into dst as one printable line: control characters become
 * spaces, runs of whitespace collapse, at most dstlen-1 bytes (UTF-8 kept intact). */
void winrm_err_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);
/* Replace every occurrence of secret in errbuf with "***" (defence in depth). */
void winrm_err_scrub(char *errbuf, const char *secret);

/* ---- winrm_conf.c: target resolution --------------------------------------------------- */

enum winrm_auth {
	WINRM_AUTH_BASIC,
	WINRM_AUTH_NTLM,
};

/* A validated, defaulted target. */
struct winrm_conf {
	char *url;  /* malloc'd endpoint URL */
	char *host; /* malloc'd host part (for the HTTP@host service name) */
	bool https;
	enum winrm_auth auth;
	bool encrypt;         /* MS-WSMV message encryption (NTLM over http) */
	const char *user;     /* borrowed from the target */
	const char *password; /* borrowed from the target */
	const char *ca_file;  /* borrowed */
	bool skip_verify;
	unsigned read_timeout_ms;
	unsigned operation_timeout_ms;
	unsigned total_timeout_ms;
	unsigned codepage;
	size_t max_output;
};

int winrm_conf_resolve(const struct winrm_target *t, struct winrm_conf *ret, char *errbuf,
		       size_t errlen);
void winrm_conf_done(struct winrm_conf *c);

/* ---- winrm_soap.c: envelopes and the answers (the only file that spells SOAP) ---------- */

#define WINRM_ID_MAX 128

enum winrm_action {
	WINRM_ACTION_CREATE,
	WINRM_ACTION_COMMAND,
	WINRM_ACTION_RECEIVE,
	WINRM_ACTION_SIGNAL,
	WINRM_ACTION_DELETE,
};

const char *winrm_soap_action_name(enum winrm_action a);

struct winrm_soap_req {
	enum winrm_action action;
	const char *to;         /* a:To (the endpoint URL) */
	const char *message_id; /* "uuid:..." */
	unsigned operation_timeout_ms;
	unsigned codepage;       /* Create */
	const char *shell_id;    /* every action but Create */
	const char *command_id;  /* Receive, Signal */
	const char *command;     /* Command */
	const char *const *args; /* Command */
	size_t nargs;
};

/* Append the envelope for req to out (XML-escaped text, UTF-8). */
int winrm_soap_build(const struct winrm_soap_req *req, struct buf *out);
/* Append s with &, <, >, ", ' escaped; control characters other than TAB/LF/CR are refused
 * with -EINVAL because XML 1.0 cannot carry them. */
int winrm_soap_append_escaped(struct buf *out, const char *s);
/* "uuid:XXXXXXXX-...." (upper case, random v4). */
void winrm_soap_new_message_id(char out[48]);

struct winrm_fault {
	char code[64];       /* s:Code/s:Value, e.g. "s:Receiver" */
	char subcode[128];   /* s:Subcode/s:Value, e.g. "w:TimedOut" */
	char reason[512];    /* s:Reason/s:Text */
	char wsman_code[32]; /* f:WSManFault/@Code, or MSFT_WmiError/error_Code */
	char message[512];   /* f:WSManFault/f:Message */
	bool timed_out;      /* w:TimedOut / 2150858793: just send Receive again */
};

struct winrm_reply {
	char relates_to[WINRM_ID_MAX];
	bool is_fault;
	struct winrm_fault fault;
	char shell_id[WINRM_ID_MAX];
	char command_id[WINRM_ID_MAX];
	bool done;
	bool has_exit_code;
	int64_t exit_code;
};

/* Parse one (plaintext) response envelope. Stream payloads of rsp:ReceiveResponse whose
 * CommandId matches stream_command_id (or all, when NULL) are decoded and appended to
 * out/err (which may be NULL to skip). -EPROTO on anything malformed, -E2BIG when
 * out/err hit their maximum. */
int winrm_soap_parse(const void *data, size_t len, const char *stream_command_id, struct buf *out,
		     struct buf *err, struct winrm_reply *ret, char *errbuf, size_t errlen);
/* One line describing a fault, for error text. */
void winrm_soap_fault_format(const struct winrm_fault *f, char *dst, size_t dstlen);

/* ---- winrm_run.c: the command flow ---------------------------------------------------- */

/* The start of every public entry point: errbuf cleared, args_ok (the arguments are
 * there) checked, the library initialised. 0 or a negative errno with the text. */
int winrm_run_begin(bool args_ok, char *errbuf, size_t errlen);
/* Run a command line with a resolved configuration (used by winrm_ps.c too). */
int winrm_run_resolved(const struct winrm_conf *conf, const char *command, const char *const *args,
		       size_t nargs, struct winrm_result *ret, char *errbuf, size_t errlen);

/* ---- winrm_crypt.c: MS-WSMV multipart/encrypted framing (no crypto here) --------------- */

#define WINRM_CRYPT_PROTOCOL "application/HTTP-SPNEGO-session-encrypted"
#define WINRM_CRYPT_CONTENT_TYPE \
	"multipart/encrypted;protocol=\"" WINRM_CRYPT_PROTOCOL "\";boundary=\"Encrypted Boundary\""

struct winrm_crypt_part {
	size_t plain_len;   /* Length= from OriginalContent */
	const uint8_t *sig; /* points into the parsed body */
	size_t sig_len;
	const uint8_t *sealed; /* points into the parsed body */
	size_t sealed_len;
};

/* Append the framed message: boundary, headers, uint32le sig_len, sig, sealed, end marker. */
int winrm_crypt_build(size_t plain_len, const void *sig, size_t sig_len, const void *sealed,
		      size_t sealed_len, struct buf *out);
/* Parse a single-part encrypted body; pointers in *ret refer into body. -EPROTO if malformed. */
int winrm_crypt_parse(const void *body, size_t len, struct winrm_crypt_part *ret);
/* Whether a response Content-Type announces SPNEGO session encryption. */
bool winrm_crypt_is_encrypted_type(const char *content_type);

/* ---- winrm_auth_gss.c: NTLM through GSSAPI (gss-ntlmssp) ------------------------------- */

#define WINRM_NTLM_SIG_LEN 16

struct winrm_gss;

/* Acquire NTLM credentials for user/password and prepare a context for HTTP@host. */
int winrm_auth_gss_new(const char *user, const char *password, const char *host,
		       struct winrm_gss **ret, char *errbuf, size_t errlen);
/* Drop any security context so the next step starts a new handshake. */
void winrm_auth_gss_reset(struct winrm_gss *g);
/* One handshake leg: in is the server token (NULL/0 for the first leg). The token to
 * send (possibly empty) is appended to out; *ret_complete says whether the context is
 * established. */
int winrm_auth_gss_step(struct winrm_gss *g, const void *in, size_t inlen, struct buf *out,
			bool *ret_complete, char *errbuf, size_t errlen);
/* Whether the established context can seal (confidentiality + integrity). */
bool winrm_auth_gss_can_seal(const struct winrm_gss *g);
/* Seal msg; appends the 16-byte signature to sig and the sealed bytes to sealed. */
int winrm_auth_gss_wrap(struct winrm_gss *g, const void *msg, size_t len, struct buf *sig,
			struct buf *sealed, char *errbuf, size_t errlen);
/* Verify and unseal; appends the plaintext to out. */
int winrm_auth_gss_unwrap(struct winrm_gss *g, const uint8_t *sig, size_t sig_len,
			  const uint8_t *sealed, size_t sealed_len, struct buf *out, char *errbuf,
			  size_t errlen);
/* Unseal a whole MS-WSMV multipart/encrypted response body: framing (winrm_crypt_parse),
 * signature and decryption, and the plaintext length against Length=. Appends to out. */
int winrm_auth_gss_unseal(struct winrm_gss *g, const void *body, size_t len, struct buf *out,
			  char *errbuf, size_t errlen);
/* Save an established context (gss_export_sec_context; g has none afterwards) and make a
 * client from such a token: how tests and the fuzzer replay real sealed messages. */
int winrm_auth_gss_export(struct winrm_gss *g, struct buf *out, char *errbuf, size_t errlen);
int winrm_auth_gss_import(const void *token, size_t len, struct winrm_gss **ret, char *errbuf,
			  size_t errlen);
void winrm_auth_gss_free(struct winrm_gss *g);

/* ---- winrm_http.c: one HTTP connection (libcurl easy handle) with auth and encryption --- */

struct winrm_http;

int winrm_http_new(const struct winrm_conf *conf, struct winrm_http **ret, char *errbuf,
		   size_t errlen);
/* The request must reach the server at most once (Command: a second copy would run the
 * command again). libcurl silently resends a request whose reused connection died before
 * any answer; for such a request that resend is refused and the call fails with
 * -ECONNABORTED. A request the server answered 401 on a new connection was not run and is
 * still sent again after a new NTLM handshake. */
#define WINRM_HTTP_ONCE 1u

/* POST one SOAP envelope. Authenticates (and re-authenticates after a reconnect) as
 * needed, seals/unseals with NTLM over http. On 0, *ret_status is 200 or 500 and body
 * holds the plaintext response (cleared first). 401 -> -EACCES; other statuses -> -EPROTO. */
int winrm_http_post(struct winrm_http *h, const void *soap, size_t len, unsigned flags,
		    unsigned timeout_ms, struct buf *body, long *ret_status, char *errbuf,
		    size_t errlen);
void winrm_http_free(struct winrm_http *h);

/* ---- winrm_ps.c: PowerShell helpers -------------------------------------------------- */

/* "powershell -encodedcommand <base64 of UTF-16LE script>"; *ret malloc'd. */
int winrm_ps_encode_command(const char *script, char **ret);
/* "Get-Content -LiteralPath '<path with ' doubled>' -Raw -Encoding UTF8"; *ret malloc'd. */
int winrm_ps_read_file_script(const char *path, char **ret);
/* If data starts with "#< CLIXML", replace it with the plain-text error message as
 * pywinrm does; returns 1 if converted, 0 if left alone, negative errno on failure. */
int winrm_ps_clixml_to_text(struct buf *data);

#endif

/* WinRM (WS-Management) client: run one command on a Windows host and collect its output. */
#ifndef RL_WINRM_WINRM_H
#define RL_WINRM_WINRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Usage
 * -----
 * Call winrm_global_init() once at program start, before any thread exists. Then any
 * thread may call winrm_run_command(), winrm_run_powershell() or winrm_read_file()
 * concurrently: each call builds its own connection (one libcurl easy handle, one
 * NTLM security context), runs Create shell -> Command -> Receive... -> Signal ->
 * Delete, and tears everything down again. The calls block (bounded by the timeouts
 * below), never log and keep no state between calls.
 *
 * Errors: every function that can fail returns 0 or a negative errno and, when errbuf
 * is not NULL and errlen > 0, writes a one-line NUL-terminated description into errbuf
 * (truncated to errlen). The text may be logged or returned to API callers: it never
 * contains the password. Output parameters (ret_*, *ret) are written only on success.
 *
 *   -EINVAL        bad target (missing host/credentials, bad URL, timeouts, ...)
 *   -ENOTSUP       transport not supported ("WinRM transport 'kerberos' is not supported")
 *   -EACCES        HTTP 401 / authentication rejected ("WinRM authentication failed ...")
 *   -ECONNREFUSED  connection refused;  -EHOSTUNREACH  host name did not resolve
 *   -ETIMEDOUT     HTTP read timeout, or the overall deadline (total_timeout_ms) passed
 *   -ECONNRESET    connection closed without a (complete) response
 *   -ECONNABORTED  the connection closed after Command was sent and before its answer; the
 *                  Command is never sent a second time (it may be running on the host)
 *   -EPROTO        TLS failure (incl. certificate verification), malformed or unexpected
 *                  response, unexpected HTTP status, broken message encryption
 *   -EREMOTEIO     the server answered with a SOAP fault (text has code/subcode/reason)
 *   -EMSGSIZE      a single HTTP response exceeded WINRM_MAX_RESPONSE bytes
 *   -E2BIG         captured output exceeded max_output, or the command line is too long
 *   -ENOMEM        out of memory (the library never aborts)
 */

#define WINRM_DEFAULT_READ_TIMEOUT_MS 30000u
#define WINRM_DEFAULT_OPERATION_TIMEOUT_MS 20000u
#define WINRM_DEFAULT_CODEPAGE 437u
#define WINRM_DEFAULT_MAX_OUTPUT (16u * 1024u * 1024u)
/* w:MaxEnvelopeSize we announce: the largest response envelope the server may send. */
#define WINRM_MAX_ENVELOPE_SIZE 153600u
/* Hard cap on one HTTP response body (encrypted framing included), checked before parsing. */
#define WINRM_MAX_RESPONSE (1024u * 1024u)
/* Hard cap on command + arguments (Windows itself refuses envelopes above ~500 KB). */
#define WINRM_MAX_COMMAND_LINE (256u * 1024u)

/*
 * Where and how to connect. All pointers are borrowed for the duration of the call only.
 * A zero-initialised struct plus host, user and password gives the defaults:
 * NTLM over http://host:5985/wsman with message encryption.
 */
struct winrm_target {
	/* Endpoint: either a full URL ("https://10.0.0.5:5986/wsman", used as is) ... */
	const char *url;
	/* ... or scheme/host/port: URL = scheme://host:port/wsman. */
	const char *scheme; /* "http" or "https"; NULL: https for transport "ssl", else http */
	const char *host;   /* name or address (IPv6 without brackets is fine) */
	unsigned port;      /* 0: 5985 for http, 5986 for https */

	/* pywinrm transport string; NULL or "" means "ntlm" (the ops-worker default):
	 *   "basic", "plaintext"  HTTP Basic; over http unless the endpoint is https
	 *   "ssl"                 HTTP Basic over https (an http endpoint is refused)
	 *   "ntlm"                Negotiate/NTLM via GSSAPI (gss-ntlmssp); over http every
	 *                         message is sealed (MS-WSMV encryption), over https TLS
	 *                         protects the plain SOAP body
	 *   anything else ("kerberos", "credssp", "certificate", ...) fails with -ENOTSUP. */
	const char *transport;
	const char *user;     /* "user", "DOMAIN\\user" or "user@domain" (NTLM) */
	const char *password; /* never copied into error text; wiped from our own buffers */

	/* HTTPS only */
	const char *ca_file; /* PEM bundle to trust; NULL: the system store */
	bool skip_verify;    /* true: do not verify certificate/host name (default: verify) */

	/* Limits; 0 selects the default. read_timeout_ms must exceed operation_timeout_ms. */
	unsigned read_timeout_ms;      /* per HTTP request, default 30000 */
	unsigned operation_timeout_ms; /* WS-Man w:OperationTimeout, default 20000 (PT20S) */
	unsigned total_timeout_ms;     /* deadline for the whole command; 0: none (like pywinrm) */
	unsigned codepage;             /* WINRS_CODEPAGE, default 437; 65001 gives UTF-8 */
	size_t max_output;             /* cap on stdout+stderr bytes, default 16 MiB */
};

/* What a finished command produced. Filled by the run functions, released by
 * winrm_result_free(). The struct itself belongs to the caller (usually on the stack). */
struct winrm_result {
	int64_t exit_code; /* rsp:ExitCode; Windows exit codes are 32-bit, may be negative */
	uint8_t *out;      /* stdout bytes in the shell codepage, NUL-terminated (not counted) */
	size_t out_len;
	uint8_t *err; /* stderr bytes, NUL-terminated (not counted) */
	size_t err_len;
	uint64_t duration_ms; /* wall clock from the first request until the command was Done */
	int cleanup_status;   /* 0, or the negative errno of a failed Signal/Delete after Done
	                        * (the command result is still valid; the shell may linger) */
};

/* One-time library initialisation (libcurl, libxml2). Call once before starting threads.
 * Safe to call again (later calls are no-ops returning the first result). */
int winrm_global_init(void);

/* Run `command` with `args` (joined with single spaces into one rsp:Arguments, like
 * pywinrm; NULL/0 for none) in a cmd shell. Returns 0 whatever the remote exit code is;
 * *ret is written only on success and must be released with winrm_result_free(). */
int winrm_run_command(const struct winrm_target *target, const char *command,
		      const char *const *args, size_t nargs, struct winrm_result *ret, char *errbuf,
		      size_t errlen);

/* Run a PowerShell script (UTF-8) as `powershell -encodedcommand <base64 UTF-16LE>`,
 * like pywinrm's run_ps. A stderr starting with "#< CLIXML" is converted to plain text
 * (the S elements, _x000D__x000A_ -> newline, trimmed); otherwise stderr is raw. */
int winrm_run_powershell(const struct winrm_target *target, const char *script,
			 struct winrm_result *ret, char *errbuf, size_t errlen);

/* Read a remote text file with
 *   Get-Content -LiteralPath '<path>' -Raw -Encoding UTF8
 * (every ' in path doubled). Unless target->codepage is set, the shell uses codepage
 * 65001 so non-ASCII content survives. Non-zero exit -> -EREMOTEIO with
 * "WinRM read failed (<code>): <stderr>". On success *ret_content is a malloc'd,
 * NUL-terminated copy of stdout (caller frees with free()), *ret_len its length. */
int winrm_read_file(const struct winrm_target *target, const char *path, char **ret_content,
		    size_t *ret_len, char *errbuf, size_t errlen);

/* Free the buffers inside *result and zero it. NULL is a no-op. */
void winrm_result_free(struct winrm_result *result);

#endif

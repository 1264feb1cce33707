/* WinRM HTTP transport: one libcurl easy handle, Basic or Negotiate/NTLM, MS-WSMV sealing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "winrm_int.h"

#define CT_SOAP "Content-Type: application/soap+xml;charset=UTF-8"
#define CT_ENCRYPTED "Content-Type: " WINRM_CRYPT_CONTENT_TYPE
#define NEGOTIATE "Negotiate"
#define MAX_TOKEN (16u * 1024u) /* base64 Negotiate token from the server */
#define MAX_HANDSHAKE 4         /* NTLM needs 2 legs; anything longer is wrong */
#define CRYPT_OVERHEAD 512u

struct winrm_http {
	const struct winrm_conf *conf;
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];

	/* The request body libcurl reads (and may rewind for its resend). */
	const char *send_data;
	size_t send_len, send_off;
	bool send_once; /* refuse the rewind: the request must not go out twice */
	bool resend_refused;

	/* Per response, filled by the callbacks. */
	struct buf *sink;
	bool overflow;
	char content_type[256];
	char token[MAX_TOKEN]; /* base64 from "WWW-Authenticate: Negotiate <token>" */

	/* Request headers (curl only reads them; we own and wipe them). */
	char hdr_ct_soap[sizeof(CT_SOAP)];
	char hdr_ct_encrypted[sizeof(CT_ENCRYPTED)];
	char hdr_expect[8];
	char *basic; /* "Authorization: Basic ..." (secret) */
	size_t basic_size;

	struct winrm_gss *gss;
	bool authenticated; /* NTLM context established on the current connection */

	struct buf wire; /* framed request */
	struct buf raw;  /* undecrypted response */
	struct buf sig;
	struct buf sealed;
	struct buf tok;
};

/* libcurl write callback: append to the current sink, stop at its maximum. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct winrm_http *h = userdata;
	size_t n = size * nmemb;

	if (!h->sink || buf_try_append(h->sink, ptr, n) < 0) {
		h->overflow = true;
		return 0;
	}
	return n;
}

/* libcurl read callback: the request body. */
static size_t on_read(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct winrm_http *h = userdata;
	size_t n = size * nitems;

	if (n > h->send_len - h->send_off)
		n = h->send_len - h->send_off;
	if (n)
		memcpy(ptr, h->send_data + h->send_off, n);
	h->send_off += n;
	return n;
}

/*
 * libcurl seek callback. With CURLAUTH_NONE, no redirects and no "Expect: 100-continue",
 * libcurl rewinds the body for one reason only: the request went out (in part or whole) on
 * a reused connection that died before any answer, and libcurl resends it on a new one
 * (Curl_retry_request). For a request that must arrive at most once that resend is refused,
 * which ends the transfer with CURLE_SEND_FAIL_REWIND.
 */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
	struct winrm_http *h = userdata;

	if (h->send_once) {
		h->resend_refused = true;
		return CURL_SEEKFUNC_FAIL;
	}
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > h->send_len)
		return CURL_SEEKFUNC_CANTSEEK;
	h->send_off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* Copy a header value (after "Name:") without surrounding whitespace. */
static void header_value(const char *p, size_t n, char *dst, size_t dstlen)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, p, n);
	dst[n] = 0;
}

/* libcurl header callback: Content-Type and the Negotiate token of this response. */
static size_t on_header(char *ptr, size_t size, size_t nitems, void *userdata)
{
	static const char ct[] = "Content-Type:", wa[] = "WWW-Authenticate:";
	struct winrm_http *h = userdata;
	size_t n = size * nitems;

	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* A new response (e.g. after an interim one): forget the previous headers. */
		h->content_type[0] = 0;
		h->token[0] = 0;
	} else if (n > strlen(ct) && strncasecmp(ptr, ct, strlen(ct)) == 0) {
		header_value(ptr + strlen(ct), n - strlen(ct), h->content_type,
			     sizeof(h->content_type));
	} else if (n > strlen(wa) && strncasecmp(ptr, wa, strlen(wa)) == 0) {
		char v[MAX_TOKEN + 64];
		char *p;

		header_value(ptr + strlen(wa), n - strlen(wa), v, sizeof(v));
		/* "Negotiate <b64>" possibly among comma-separated challenges. */
		for (p = v; (p = strcasestr(p, NEGOTIATE " ")) != NULL; p++) {
			if (p != v && p[-1] != ' ' && p[-1] != ',')
				continue;
			p += strlen(NEGOTIATE " ");
			while (*p == ' ')
				p++;
			header_value(p, strcspn(p, ", "), h->token, sizeof(h->token));
			break;
		}
	}
	return n;
}

/* libcurl socket factory, so that our connection is close-on-exec like every other fd. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	(void)clientp;
	(void)purpose;
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* Map a libcurl failure to an errno and text. */
static int curl_fail(struct winrm_http *h, CURLcode c, char *errbuf, size_t errlen)
{
	const char *text = h->curl_err[0] ? h->curl_err : curl_easy_strerror(c);
	char clean[CURL_ERROR_SIZE];
	int err;

	switch (c) {
	case CURLE_COULDNT_CONNECT:
		err = -ECONNREFUSED;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		err = -EHOSTUNREACH;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		err = -ETIMEDOUT;
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		err = -ECONNRESET;
		break;
	case CURLE_OUT_OF_MEMORY:
		err = -ENOMEM;
		break;
	case CURLE_SEND_FAIL_REWIND:
		if (h->resend_refused)
			return winrm_err(
				errbuf, errlen, -ECONNABORTED,
				"WinRM connection to %s closed after Command was sent; it was "
				"not sent again because the command may already be running",
				h->conf->url);
		err = -EIO;
		break;
	case CURLE_WRITE_ERROR:
		if (h->overflow)
			return winrm_err(errbuf, errlen, -EMSGSIZE,
					 "WinRM response from %s exceeds %zu bytes", h->conf->url,
					 h->sink ? h->sink->max : 0);
		err = -EIO;
		break;
	default:
		err = -EPROTO; /* TLS handshake and certificate problems end up here */
		break;
	}
	winrm_err_sanitize(clean, sizeof(clean), text, strlen(text));
	return winrm_err(errbuf, errlen, err, "WinRM request to %s failed: %s", h->conf->url,
			 clean);
}

/* One HTTP POST on the shared handle. */
static int perform(struct winrm_http *h, const void *body, size_t len, bool once, bool encrypted,
		   char *auth, unsigned timeout_ms, struct buf *sink, long *ret_status,
		   long *ret_connects, char *errbuf, size_t errlen)
{
	struct curl_slist hdr[3];
	long status = 0, connects = 0;
	CURLcode c;
	size_t n = 0;

	hdr[n++].data = encrypted ? h->hdr_ct_encrypted : h->hdr_ct_soap;
	hdr[n++].data = h->hdr_expect;
	if (auth)
		hdr[n++].data = auth;
	for (size_t i = 0; i < n; i++)
		hdr[i].next = i + 1 < n ? &hdr[i + 1] : NULL;

	buf_reset(sink);
	h->sink = sink;
	h->overflow = false;
	h->curl_err[0] = 0;
	h->content_type[0] = 0;
	h->token[0] = 0;
	h->send_data = body;
	h->send_len = len;
	h->send_off = 0;
	h->send_once = once;
	h->resend_refused = false;
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	c = curl_easy_perform(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	h->sink = NULL;
	h->send_data = NULL;
	if (c != CURLE_OK)
		return curl_fail(h, c, errbuf, errlen);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &connects);
	*ret_status = status;
	*ret_connects = connects;
	return 0;
}

/* Build "Authorization: Basic base64(user:password)" in one exactly sized allocation. */
static int make_basic(struct winrm_http *h, char *errbuf, size_t errlen)
{
	const char *user = h->conf->user, *pw = h->conf->password;
	size_t ulen = strlen(user), plen = strlen(pw), clen;
	char *cred = NULL, *b64 = NULL;
	int r = 0;

	if (strchr(user, ':'))
		return winrm_err(errbuf, errlen, -EINVAL,
				 "a WinRM user name for Basic authentication must not contain ':'");
	clen = ulen + 1 + plen;
	cred = malloc(clen + 1);
	if (!cred)
		return winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
	memcpy(cred, user, ulen);
	cred[ulen] = ':';
	memcpy(cred + ulen + 1, pw, plen + 1);
	r = winrm_codec_b64_encode(cred, clen, &b64);
	if (r < 0) {
		r = winrm_err(errbuf, errlen, r, "out of memory");
		goto out;
	}
	h->basic_size = strlen("Authorization: Basic ") + strlen(b64) + 1;
	h->basic = malloc(h->basic_size);
	if (!h->basic) {
		r = winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	snprintf(h->basic, h->basic_size, "Authorization: Basic %s", b64);
out:
	explicit_bzero(cred, clen + 1);
	free(cred);
	if (b64) {
		explicit_bzero(b64, strlen(b64));
		free(b64);
	}
	return r;
}

/* Create the handle for one call. */
int winrm_http_new(const struct winrm_conf *conf, struct winrm_http **ret, char *errbuf,
		   size_t errlen)
{
	struct winrm_http *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
	h->conf = conf;
	memcpy(h->hdr_ct_soap, CT_SOAP, sizeof(CT_SOAP));
	memcpy(h->hdr_ct_encrypted, CT_ENCRYPTED, sizeof(CT_ENCRYPTED));
	memcpy(h->hdr_expect, "Expect:", sizeof("Expect:"));
	/* Sealed requests are the plaintext plus framing; responses are capped before parsing. */
	buf_init(&h->wire, 6u * WINRM_MAX_COMMAND_LINE + 16384u + CRYPT_OVERHEAD);
	buf_init(&h->raw, WINRM_MAX_RESPONSE);
	buf_init(&h->sig, WINRM_NTLM_SIG_LEN);
	buf_init(&h->sealed, 6u * WINRM_MAX_COMMAND_LINE + 16384u);
	buf_init(&h->tok, MAX_TOKEN);

	h->curl = curl_easy_init();
	if (!h->curl) {
		r = winrm_err(errbuf, errlen, -ENOMEM, "cannot create a libcurl handle");
		goto fail;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, conf->url);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	/* Connection-bound NTLM and proxies do not mix; lab hosts are reached directly. */
	curl_easy_setopt(h->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(h->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "remote-lab WinRM client/" RL_VERSION);
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_NONE);
	curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->curl_err);
	/* The body through a read callback (not CURLOPT_POSTFIELDS) so that libcurl has to ask
	 * before it resends it: see on_seek. */
	curl_easy_setopt(h->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h->curl, CURLOPT_READDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_SEEKFUNCTION, on_seek);
	curl_easy_setopt(h->curl, CURLOPT_SEEKDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	if (conf->https) {
		curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, conf->skip_verify ? 0L : 1L);
		curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, conf->skip_verify ? 0L : 2L);
		if (conf->ca_file)
			curl_easy_setopt(h->curl, CURLOPT_CAINFO, conf->ca_file);
	}

	if (conf->auth == WINRM_AUTH_BASIC)
		r = make_basic(h, errbuf, errlen);
	else
		r = winrm_auth_gss_new(conf->user, conf->password, conf->host, &h->gss, errbuf,
				       errlen);
	if (r < 0)
		goto fail;
	*ret = h;
	return 0;
fail:
	winrm_http_free(h);
	return r;
}

/* Run the Negotiate/NTLM handshake with empty POSTs on the current connection. */
static int handshake(struct winrm_http *h, unsigned timeout_ms, char *errbuf, size_t errlen)
{
	char *b64 = NULL, *auth = NULL;
	long status, connects;
	bool complete = false;
	int leg, r;

	h->authenticated = false;
	winrm_auth_gss_reset(h->gss);
	buf_reset(&h->tok);
	r = winrm_auth_gss_step(h->gss, NULL, 0, &h->tok, &complete, errbuf, errlen);
	if (r < 0)
		return r;
	for (leg = 0; leg < MAX_HANDSHAKE; leg++) {
		r = winrm_codec_b64_encode(buf_cstr(&h->tok), h->tok.len, &b64);
		if (r == 0 && asprintf(&auth, "Authorization: " NEGOTIATE " %s", b64) < 0) {
			auth = NULL;
			r = -ENOMEM;
		}
		free(b64);
		b64 = NULL;
		if (r < 0)
			return winrm_err(errbuf, errlen, r, "out of memory");
		r = perform(h, NULL, 0, false, false, auth, timeout_ms, &h->raw, &status, &connects,
			    errbuf, errlen);
		free(auth);
		auth = NULL;
		if (r < 0)
			return r;
		if (leg > 0 && connects > 0)
			return winrm_err(
				errbuf, errlen, -ECONNRESET,
				"WinRM server %s closed the connection during NTLM authentication",
				h->conf->url);
		if (complete) {
			if (status == 401)
				return winrm_err(errbuf, errlen, -EACCES,
						 "WinRM authentication failed (HTTP 401)");
			if (status < 200 || status > 299)
				return winrm_err(
					errbuf, errlen, -EPROTO,
					"WinRM endpoint answered HTTP %ld to NTLM authentication",
					status);
			break;
		}
		if (status != 401)
			return winrm_err(
				errbuf, errlen, -EPROTO,
				"WinRM endpoint answered HTTP %ld instead of an NTLM challenge",
				status);
		if (!h->token[0])
			return winrm_err(
				errbuf, errlen, -EACCES,
				"WinRM authentication failed: no Negotiate challenge (HTTP 401)");
		buf_reset(&h->tok);
		r = winrm_codec_b64_decode(h->token, strlen(h->token), &h->tok);
		if (r < 0)
			return winrm_err(errbuf, errlen, -EPROTO,
					 "invalid Negotiate token from WinRM server");
		{
			struct buf next;

			buf_init(&next, MAX_TOKEN);
			r = winrm_auth_gss_step(h->gss, h->tok.data, h->tok.len, &next, &complete,
						errbuf, errlen);
			buf_free(&h->tok);
			h->tok = next;
			if (r < 0)
				return r;
		}
	}
	if (!complete)
		return winrm_err(errbuf, errlen, -EPROTO, "NTLM handshake did not complete");
	if (h->conf->encrypt && !winrm_auth_gss_can_seal(h->gss))
		return winrm_err(
			errbuf, errlen, -EPROTO,
			"NTLM session without sealing; cannot encrypt WinRM messages over http");
	h->authenticated = true;
	return 0;
}

/* Seal soap into h->wire. */
static int seal(struct winrm_http *h, const void *soap, size_t len, char *errbuf, size_t errlen)
{
	int r;

	buf_reset(&h->sig);
	buf_reset(&h->sealed);
	buf_reset(&h->wire);
	r = winrm_auth_gss_wrap(h->gss, soap, len, &h->sig, &h->sealed, errbuf, errlen);
	if (r < 0)
		return r;
	r = winrm_crypt_build(len, h->sig.data, h->sig.len, h->sealed.data, h->sealed.len,
			      &h->wire);
	if (r < 0)
		return winrm_err(errbuf, errlen, r, "cannot frame the sealed WinRM message");
	return 0;
}

/* POST one SOAP envelope and return the plaintext answer. */
int winrm_http_post(struct winrm_http *h, const void *soap, size_t len, unsigned flags,
		    unsigned timeout_ms, struct buf *body, long *ret_status, char *errbuf,
		    size_t errlen)
{
	bool ntlm = h->conf->auth == WINRM_AUTH_NTLM, encrypt = h->conf->encrypt, retried = false;
	bool once = flags & WINRM_HTTP_ONCE;
	long status, connects;
	int r;

	for (;;) {
		if (ntlm && !h->authenticated) {
			r = handshake(h, timeout_ms, errbuf, errlen);
			if (r < 0)
				return r;
		}
		if (encrypt) {
			r = seal(h, soap, len, errbuf, errlen);
			if (r < 0)
				return r;
			r = perform(h, h->wire.data, h->wire.len, once, true, NULL, timeout_ms,
				    &h->raw, &status, &connects, errbuf, errlen);
		} else {
			r = perform(h, soap, len, once, false, ntlm ? NULL : h->basic, timeout_ms,
				    body, &status, &connects, errbuf, errlen);
		}
		if (r < 0)
			return r;
		if (status != 401)
			break;
		/* NTLM authenticates a connection: a new connection needs a new handshake. */
		if (ntlm && connects > 0 && !retried) {
			retried = true;
			h->authenticated = false;
			continue;
		}
		if (ntlm && connects > 0)
			return winrm_err(
				errbuf, errlen, -ECONNRESET,
				"WinRM server %s keeps closing the authenticated connection",
				h->conf->url);
		/* The server dropped our context: the next request (Signal/Delete cleanup)
		 * starts with a fresh handshake instead of another doomed sealed message. */
		h->authenticated = false;
		return winrm_err(errbuf, errlen, -EACCES, "WinRM authentication failed (HTTP 401)");
	}
	if (status != 200 && status != 500)
		return winrm_err(errbuf, errlen, -EPROTO, "WinRM endpoint %s answered HTTP %ld",
				 h->conf->url, status);
	if (encrypt) {
		buf_reset(body);
		if (winrm_crypt_is_encrypted_type(h->content_type)) {
			r = winrm_auth_gss_unseal(h->gss, h->raw.data, h->raw.len, body, errbuf,
						  errlen);
			if (r < 0)
				return r;
		} else if (status == 200) {
			return winrm_err(errbuf, errlen, -EPROTO,
					 "unencrypted WinRM response on an encrypted session");
		} else {
			/* A plain fault body is still worth reading for the error text. */
			r = buf_try_append(body, buf_cstr(&h->raw), h->raw.len);
			if (r < 0)
				return winrm_err(errbuf, errlen, r, "WinRM response too large");
		}
	}
	*ret_status = status;
	return 0;
}

/* Close the connection and wipe what held credentials. */
void winrm_http_free(struct winrm_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->basic) {
		explicit_bzero(h->basic, h->basic_size);
		free(h->basic);
	}
	winrm_auth_gss_free(h->gss);
	buf_free(&h->wire);
	buf_free(&h->raw);
	buf_free(&h->sig);
	buf_free(&h->sealed);
	buf_free(&h->tok);
	free(h);
}

/* One HTTP exchange with the server over a libcurl easy handle (headers, body cap, errors). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* Runs once per process: libcurl's global init (thread-safe in libcurl >= 7.84). */
static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Initialise libcurl once; -ENOMEM/-EIO if it failed. */
int xfer_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	if (global_rc == CURLE_OK)
		return 0;
	return global_rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

/* Percent-encode a path segment; NULL on OOM. Free with curl_free. */
char *xfer_escape(const char *s)
{
	return curl_easy_escape(NULL, s, 0);
}

/* Start a response with no body (bodies are capped at RL_MAX_RESPONSE). */
void xfer_resp_init(struct xfer_resp *r)
{
	r->status = 0;
	r->sent = false;
	buf_init(&r->body, RL_MAX_RESPONSE);
}

void xfer_resp_free(struct xfer_resp *r)
{
	if (r == NULL)
		return;
	buf_free(&r->body);
}

struct sink {
	struct buf *body;
	const struct xfer_conf *conf;
	CURL *easy;
	int err; /* why the write callback refused */
};

/* curl write callback: append to the capped body buffer, or hand a 200 stream on. */
static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	long status = 0;
	int r;

	if (s->conf->stream != NULL) {
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200) {
			if (s->conf->stream(p, n, s->conf->stream_ud) != n) {
				s->err = -ECANCELED;
				return 0;
			}
			return n;
		}
	}
	r = buf_try_append(s->body, p, n);
	if (r < 0) {
		s->err = r == -E2BIG ? -EMSGSIZE : r; /* the public code for "response too large" */
		return 0;
	}
	return n;
}

/* curl progress callback: polls the cancel hook. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const struct xfer_conf *conf = ud;

	return conf->cancel != NULL && conf->cancel(conf->cancel_ud) ? 1 : 0;
}

/* Map a curl failure to an errno-style code. */
static int curl_errno(CURLcode cc, int sink_err)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return -EKEYREJECTED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		return sink_err < 0 ? sink_err : -EIO;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* A refused or reset connection: what a restarting server looks like. */
bool xfer_is_outage(int r)
{
	return r == -ECONNREFUSED || r == -ECONNRESET;
}

/* Append the header line "name: value" to a list; -ENOMEM on failure. */
static int add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct curl_slist *n;
	char line[1024];
	int len;

	/* "Name:" with nothing after it tells curl to drop that header */
	len = value[0] != '\0' ? snprintf(line, sizeof(line), "%s: %s", name, value)
			       : snprintf(line, sizeof(line), "%s:", name);
	if (len < 0 || (size_t)len >= sizeof(line))
		return -EINVAL;
	n = curl_slist_append(*list, line);
	explicit_bzero(line, sizeof(line)); /* may hold the token */
	if (n == NULL)
		return -ENOMEM;
	*list = n;
	return 0;
}

/* Milliseconds for curl, at least 1. */
static long to_ms(double s)
{
	if (s <= 0.001)
		return 1;
	if (s > 86400.0 * 365)
		return 86400L * 365 * 1000;
	return (long)(s * 1000.0);
}

/*
 * Send one request and collect the response. Returns 0 when any HTTP response
 * arrived (resp->status set, whatever it is), or a negative code on a transport
 * failure with a reason in errbuf; resp->sent then tells whether the request may
 * have reached the server.
 */
int xfer_once(CURL *easy, const struct xfer_conf *conf, const char *method, const char *path,
	      const struct xfer_body *body, double timeout, struct xfer_resp *resp, char *errbuf,
	      size_t errlen)
{
	curl_mime *mime = body != NULL ? body->mime : NULL;
	const char *json = body != NULL ? body->json : NULL;
	char cerr[CURL_ERROR_SIZE], *url = NULL;
	struct curl_slist *hdrs = NULL;
	struct sink sink = { &resp->body, conf, easy, 0 };
	size_t ulen;
	CURLcode cc;
	int r;

	resp->status = 0;
	resp->sent = false;
	buf_reset(&resp->body);
	errbuf[0] = '\0';
	cerr[0] = '\0';

	ulen = strlen(conf->url) + strlen(path) + 1;
	url = malloc(ulen);
	if (url == NULL) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(url, ulen, "%s%s", conf->url, path);

	r = add_header(&hdrs, "User-Agent", "libremotelab/" REMOTELAB_VERSION);
	if (r == 0)
		r = add_header(&hdrs, "Accept",
			       conf->accept != NULL ? conf->accept : "application/json");
	if (r == 0 && json != NULL)
		r = add_header(&hdrs, "Content-Type", "application/json");
	if (r == 0)
		r = add_header(&hdrs, "Expect",
			       ""); /* "Expect:" removes it: no 100-continue wait */
	if (r == 0 && conf->session_id != NULL)
		r = add_header(&hdrs, "X-Session-ID", conf->session_id);
	if (r == 0 && conf->token != NULL && conf->token[0] != '\0') {
		char bearer[900];
		int len = snprintf(bearer, sizeof(bearer), "Bearer %s", conf->token);

		r = len < 0 || (size_t)len >= sizeof(bearer)
			    ? -EINVAL
			    : add_header(&hdrs, "Authorization", bearer);
		explicit_bzero(bearer, sizeof(bearer));
	}
	if (r < 0) {
		snprintf(errbuf, errlen,
			 r == -ENOMEM ? "out of memory"
				      : "request header too long (session id or token)");
		goto out;
	}

	curl_easy_reset(easy);
	cc = curl_easy_setopt(easy, CURLOPT_URL, url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cc == CURLE_OK)
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, cerr);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_XFERINFODATA, (void *)conf);
	if (cc == CURLE_OK && timeout > 0)
		cc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, to_ms(timeout));
	if (cc == CURLE_OK &&
	    conf->stream != NULL) { /* a live stream: no total limit, but no silence */
		cc = curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, 45L);
	}
	if (cc == CURLE_OK && conf->ca_file != NULL)
		cc = curl_easy_setopt(easy, CURLOPT_CAINFO, conf->ca_file);
	if (cc == CURLE_OK && conf->fresh)
		cc = curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
				      to_ms(conf->connect_timeout < timeout || timeout <= 0
						    ? conf->connect_timeout
						    : timeout));
	if (cc == CURLE_OK) {
		if (mime != NULL)
			cc = curl_easy_setopt(easy, CURLOPT_MIMEPOST, mime);
		else if (json != NULL)
			cc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, json);
		else if (strcmp(method, "POST") == 0)
			cc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, ""); /* empty body */
	}
	if (cc == CURLE_OK && strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		cc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	if (cc != CURLE_OK) {
		r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
		snprintf(errbuf, errlen, "%s", curl_easy_strerror(cc));
		goto out;
	}

	cc = curl_easy_perform(easy);
	if (cc != CURLE_OK) {
		r = curl_errno(cc, sink.err);
		/* only these failures prove the server never saw the request */
		resp->sent = !(cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
			       cc == CURLE_COULDNT_RESOLVE_PROXY ||
			       cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT);
		if (r == -EMSGSIZE)
			snprintf(errbuf, errlen, "response larger than %u bytes", RL_MAX_RESPONSE);
		else if (r == -ECANCELED)
			snprintf(errbuf, errlen, "cancelled");
		else if (r == -EKEYREJECTED)
			snprintf(errbuf, errlen,
				 "TLS: the server's certificate was not accepted (%s); "
				 "a private CA? set REMOTE_LAB_CA_FILE or --cacert",
				 cerr[0] ? cerr : curl_easy_strerror(cc));
		else
			snprintf(errbuf, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->sent = true;
	r = 0;
out:
	/* the handle must not keep pointers to our stack or freed memory */
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(easy, CURLOPT_XFERINFODATA, NULL);
	curl_easy_setopt(easy, CURLOPT_MIMEPOST, NULL);
	curl_slist_free_all(hdrs);
	free(url);
	return r;
}

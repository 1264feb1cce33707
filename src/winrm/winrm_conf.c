/* WinRM client: target resolution (defaults, transports, endpoint URL). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "winrm_int.h"

/* Whether a host name/address contains only characters a URL host may carry. */
static bool host_ok(const char *h)
{
	size_t n = strlen(h), i;

	if (n == 0 || n > 255)
		return false;
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_' || c == ':' || c == '%'))
			return false;
	}
	return true;
}

/* Fill c->url/host/https from the target's URL or scheme/host/port. */
static int resolve_endpoint(const struct winrm_target *t, bool ssl, struct winrm_conf *c,
			    char *errbuf, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *url = NULL, *userinfo = NULL, *frag = NULL;
	char portstr[16];
	int r = 0;

	if (!u)
		return winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
	if (t->url && *t->url) {
		if (curl_url_set(u, CURLUPART_URL, t->url, 0) != CURLUE_OK) {
			r = winrm_err(errbuf, errlen, -EINVAL, "invalid WinRM URL");
			goto out;
		}
		if (curl_url_get(u, CURLUPART_USER, &userinfo, 0) == CURLUE_OK ||
		    curl_url_get(u, CURLUPART_PASSWORD, &userinfo, 0) == CURLUE_OK) {
			r = winrm_err(errbuf, errlen, -EINVAL,
				      "the WinRM URL must not contain credentials");
			goto out;
		}
		if (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
			r = winrm_err(errbuf, errlen, -EINVAL,
				      "the WinRM URL must not have a fragment");
			goto out;
		}
	} else {
		const char *sch = t->scheme && *t->scheme ? t->scheme : ssl ? "https" : "http";
		bool https = strcasecmp(sch, "https") == 0;
		char bracketed[300];

		if (!https && strcasecmp(sch, "http") != 0) {
			r = winrm_err(errbuf, errlen, -EINVAL,
				      "WinRM scheme must be http or https");
			goto out;
		}
		if (!t->host || !host_ok(t->host)) {
			r = winrm_err(errbuf, errlen, -EINVAL, "a valid WinRM host is required");
			goto out;
		}
		if (t->port > 65535) {
			r = winrm_err(errbuf, errlen, -EINVAL, "invalid WinRM port %u", t->port);
			goto out;
		}
		if (strchr(t->host, ':'))
			snprintf(bracketed, sizeof(bracketed), "[%s]", t->host);
		else
			snprintf(bracketed, sizeof(bracketed), "%s", t->host);
		snprintf(portstr, sizeof(portstr), "%u", t->port ? t->port : https ? 5986u : 5985u);
		if (curl_url_set(u, CURLUPART_SCHEME, https ? "https" : "http", 0) != CURLUE_OK ||
		    curl_url_set(u, CURLUPART_HOST, bracketed, 0) != CURLUE_OK ||
		    curl_url_set(u, CURLUPART_PORT, portstr, 0) != CURLUE_OK ||
		    curl_url_set(u, CURLUPART_PATH, "/wsman", 0) != CURLUE_OK) {
			r = winrm_err(errbuf, errlen, -EINVAL, "invalid WinRM host or port");
			goto out;
		}
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		r = winrm_err(errbuf, errlen, -EINVAL, "invalid WinRM URL");
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0) {
		c->https = true;
	} else if (strcasecmp(scheme, "http") == 0) {
		c->https = false;
	} else {
		r = winrm_err(errbuf, errlen, -EINVAL, "WinRM URL scheme must be http or https");
		goto out;
	}
	c->url = strdup(url);
	/* An IPv6 literal comes back in brackets; the service name wants it bare. */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = 0;
		c->host = strdup(host + 1);
	} else {
		c->host = strdup(host);
	}
	if (!c->url || !c->host)
		r = winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(url);
	curl_free(userinfo);
	curl_free(frag);
	curl_url_cleanup(u);
	return r;
}

/* Validate the target and apply defaults. */
int winrm_conf_resolve(const struct winrm_target *t, struct winrm_conf *ret, char *errbuf,
		       size_t errlen)
{
	struct winrm_conf c;
	const char *tr = t->transport && *t->transport ? t->transport : "ntlm";
	bool ssl = false;
	int r;

	memset(&c, 0, sizeof(c));
	if (strcasecmp(tr, "basic") == 0 || strcasecmp(tr, "plaintext") == 0) {
		c.auth = WINRM_AUTH_BASIC;
	} else if (strcasecmp(tr, "ssl") == 0) {
		c.auth = WINRM_AUTH_BASIC;
		ssl = true;
	} else if (strcasecmp(tr, "ntlm") == 0) {
		c.auth = WINRM_AUTH_NTLM;
	} else {
		char clean[48];

		winrm_err_sanitize(clean, sizeof(clean), tr, strlen(tr));
		return winrm_err(errbuf, errlen, -ENOTSUP, "WinRM transport '%s' is not supported",
				 clean);
	}
	if (!t->user || !*t->user || !t->password || !*t->password)
		return winrm_err(errbuf, errlen, -EINVAL, "WinRM credentials are required");

	c.read_timeout_ms = t->read_timeout_ms ? t->read_timeout_ms : WINRM_DEFAULT_READ_TIMEOUT_MS;
	c.operation_timeout_ms = t->operation_timeout_ms ? t->operation_timeout_ms
							 : WINRM_DEFAULT_OPERATION_TIMEOUT_MS;
	if (c.read_timeout_ms <= c.operation_timeout_ms)
		return winrm_err(
			errbuf, errlen, -EINVAL,
			"WinRM read timeout (%u ms) must exceed the operation timeout (%u ms)",
			c.read_timeout_ms, c.operation_timeout_ms);
	c.total_timeout_ms = t->total_timeout_ms;
	c.codepage = t->codepage ? t->codepage : WINRM_DEFAULT_CODEPAGE;
	if (c.codepage > 65535)
		return winrm_err(errbuf, errlen, -EINVAL, "invalid WinRM codepage %u", c.codepage);
	c.max_output = t->max_output ? t->max_output : WINRM_DEFAULT_MAX_OUTPUT;

	r = resolve_endpoint(t, ssl, &c, errbuf, errlen);
	if (r < 0)
		goto fail;
	if (ssl && !c.https) {
		r = winrm_err(errbuf, errlen, -EINVAL,
			      "WinRM transport 'ssl' requires an https endpoint");
		goto fail;
	}
	c.encrypt = c.auth == WINRM_AUTH_NTLM && !c.https;
	c.user = t->user;
	c.password = t->password;
	c.ca_file = t->ca_file && *t->ca_file ? t->ca_file : NULL;
	c.skip_verify = t->skip_verify;
	*ret = c;
	return 0;
fail:
	winrm_conf_done(&c);
	return r;
}

/* Release what winrm_conf_resolve allocated. */
void winrm_conf_done(struct winrm_conf *c)
{
	if (!c)
		return;
	free(c->url);
	free(c->host);
	c->url = NULL;
	c->host = NULL;
}

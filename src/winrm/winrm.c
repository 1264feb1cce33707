/* WinRM client core: target resolution, SOAP envelopes and responses, and the command flow. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <uuid/uuid.h>

#include "winrm_int.h"

/* This file is the only one that spells SOAP. */
#define NS_S    "http://www.w3.org/2003/05/soap-envelope"
#define NS_A    "http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_W    "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define NS_P    "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
#define NS_RSP  "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
#define NS_X    "http://schemas.xmlsoap.org/ws/2004/09/transfer"
#define NS_F    "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

#define URI_ANONYMOUS  NS_A "/role/anonymous"
#define URI_CMD        NS_RSP "/cmd"
#define URI_TERMINATE  NS_RSP "/signal/terminate"
#define STATE_DONE     "/CommandState/Done"
#define CODE_TIMED_OUT "2150858793"

#define CLEANUP_TIMEOUT_MS 5000u
#define REQUEST_MAX        (6u * WINRM_MAX_COMMAND_LINE + 16384u)

static const char *const action_uri[] = {
	[WINRM_ACTION_CREATE] = NS_X "/Create",
	[WINRM_ACTION_COMMAND] = NS_RSP "/Command",
	[WINRM_ACTION_RECEIVE] = NS_RSP "/Receive",
	[WINRM_ACTION_SIGNAL] = NS_RSP "/Signal",
	[WINRM_ACTION_DELETE] = NS_X "/Delete",
};

static const char *const action_names[] = {
	[WINRM_ACTION_CREATE] = "Create",
	[WINRM_ACTION_COMMAND] = "Command",
	[WINRM_ACTION_RECEIVE] = "Receive",
	[WINRM_ACTION_SIGNAL] = "Signal",
	[WINRM_ACTION_DELETE] = "Delete",
};

/* ---- library init ---------------------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

/* Initialise libcurl and libxml2 exactly once. */
static void global_init_once(void)
{
	init_result = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
	xmlInitParser();
}

/* One-time library initialisation. */
int winrm_global_init(void)
{
	pthread_once(&init_once, global_init_once);
	return init_result;
}

/* ---- target resolution ------------------------------------------------------------------ */

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
			r = winrm_err(errbuf, errlen, -EINVAL, "the WinRM URL must not contain credentials");
			goto out;
		}
		if (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
			r = winrm_err(errbuf, errlen, -EINVAL, "the WinRM URL must not have a fragment");
			goto out;
		}
	} else {
		const char *sch = t->scheme && *t->scheme ? t->scheme : ssl ? "https" : "http";
		bool https = strcasecmp(sch, "https") == 0;
		char bracketed[300];

		if (!https && strcasecmp(sch, "http") != 0) {
			r = winrm_err(errbuf, errlen, -EINVAL, "WinRM scheme must be http or https");
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
		return winrm_err(errbuf, errlen, -EINVAL,
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

/* ---- envelopes -------------------------------------------------------------------------- */

/* Name of an action for error text. */
const char *winrm_action_name(enum winrm_action a)
{
	return (unsigned)a < sizeof(action_names) / sizeof(action_names[0]) ? action_names[a] : "?";
}

/* A fresh random MessageID. */
void winrm_soap_new_message_id(char out[48])
{
	uuid_t u;
	char s[37];

	uuid_generate_random(u);
	uuid_unparse_upper(u, s);
	snprintf(out, 48, "uuid:%s", s);
}

/* Append s XML-escaped. */
int winrm_soap_append_escaped(struct winrm_buf *out, const char *s)
{
	const char *run = s;
	int r = 0;

	if (!winrm_codec_utf8_valid(s, strlen(s)))
		return -EILSEQ;
	for (; *s; s++) {
		const char *rep;
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		case '\r': rep = "&#13;"; break;  /* a raw CR would be normalised away */
		default:
			if (c < 0x20 && c != '\t' && c != '\n')
				return -EINVAL;
			continue;
		}
		r = winrm_buf_append(out, run, (size_t)(s - run));
		if (r == 0)
			r = winrm_buf_append_str(out, rep);
		if (r < 0)
			return r;
		run = s + 1;
	}
	return winrm_buf_append(out, run, (size_t)(s - run));
}

/* Append an ISO-8601 duration for ms milliseconds ("PT20S", "PT1.500S"). */
static int append_duration(struct winrm_buf *o, unsigned ms)
{
	if (ms % 1000 == 0)
		return winrm_buf_appendf(o, "PT%uS", ms / 1000);
	return winrm_buf_appendf(o, "PT%u.%03uS", ms / 1000, ms % 1000);
}

/* Append <tag>escaped text</tag>. */
static int append_element(struct winrm_buf *o, const char *tag, const char *text)
{
	int r = winrm_buf_appendf(o, "<%s>", tag);

	if (r == 0)
		r = winrm_soap_append_escaped(o, text);
	if (r == 0)
		r = winrm_buf_appendf(o, "</%s>", tag);
	return r;
}

/* The header shared by all requests. */
static int build_header(const struct winrm_soap_req *q, struct winrm_buf *o)
{
	int r;

	r = winrm_buf_append_str(o,
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<s:Envelope xmlns:s=\"" NS_S "\" xmlns:a=\"" NS_A "\" xmlns:w=\"" NS_W "\""
		" xmlns:p=\"" NS_P "\" xmlns:rsp=\"" NS_RSP "\">"
		"<s:Header>");
	if (r == 0)
		r = append_element(o, "a:To", q->to);
	if (r == 0)
		r = winrm_buf_appendf(o,
			"<a:ReplyTo><a:Address s:mustUnderstand=\"true\">" URI_ANONYMOUS
			"</a:Address></a:ReplyTo>"
			"<w:MaxEnvelopeSize s:mustUnderstand=\"true\">%u</w:MaxEnvelopeSize>",
			WINRM_MAX_ENVELOPE_SIZE);
	if (r == 0)
		r = append_element(o, "a:MessageID", q->message_id);
	if (r == 0)
		r = winrm_buf_append_str(o,
			"<w:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>"
			"<p:DataLocale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>"
			"<w:OperationTimeout>");
	if (r == 0)
		r = append_duration(o, q->operation_timeout_ms);
	if (r == 0)
		r = winrm_buf_appendf(o,
			"</w:OperationTimeout>"
			"<w:ResourceURI s:mustUnderstand=\"true\">" URI_CMD "</w:ResourceURI>"
			"<a:Action s:mustUnderstand=\"true\">%s</a:Action>",
			action_uri[q->action]);
	if (r == 0 && q->action != WINRM_ACTION_CREATE) {
		r = winrm_buf_append_str(o, "<w:SelectorSet><w:Selector Name=\"ShellId\">");
		if (r == 0)
			r = winrm_soap_append_escaped(o, q->shell_id);
		if (r == 0)
			r = winrm_buf_append_str(o, "</w:Selector></w:SelectorSet>");
	}
	if (r == 0 && q->action == WINRM_ACTION_CREATE)
		r = winrm_buf_appendf(o,
			"<w:OptionSet><w:Option Name=\"WINRS_NOPROFILE\">FALSE</w:Option>"
			"<w:Option Name=\"WINRS_CODEPAGE\">%u</w:Option></w:OptionSet>",
			q->codepage);
	if (r == 0 && q->action == WINRM_ACTION_COMMAND)
		r = winrm_buf_append_str(o,
			"<w:OptionSet><w:Option Name=\"WINRS_CONSOLEMODE_STDIN\">TRUE</w:Option>"
			"<w:Option Name=\"WINRS_SKIP_CMD_SHELL\">FALSE</w:Option></w:OptionSet>");
	if (r == 0)
		r = winrm_buf_append_str(o, "</s:Header>");
	return r;
}

/* Append the request envelope. */
int winrm_soap_build(const struct winrm_soap_req *q, struct winrm_buf *o)
{
	size_t i;
	int r;

	if ((unsigned)q->action > WINRM_ACTION_DELETE || !q->to || !q->message_id ||
	    q->operation_timeout_ms == 0)
		return -EINVAL;
	if (q->action != WINRM_ACTION_CREATE && (!q->shell_id || !*q->shell_id))
		return -EINVAL;
	if ((q->action == WINRM_ACTION_RECEIVE || q->action == WINRM_ACTION_SIGNAL) &&
	    (!q->command_id || !*q->command_id))
		return -EINVAL;
	if (q->action == WINRM_ACTION_COMMAND && (!q->command || !*q->command))
		return -EINVAL;
	if (q->nargs && !q->args)
		return -EINVAL;

	r = build_header(q, o);
	if (r < 0)
		return r;
	switch (q->action) {
	case WINRM_ACTION_CREATE:
		r = winrm_buf_append_str(o,
			"<s:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
			"<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell></s:Body>");
		break;
	case WINRM_ACTION_COMMAND:
		r = winrm_buf_append_str(o, "<s:Body><rsp:CommandLine>");
		if (r == 0)
			r = append_element(o, "rsp:Command", q->command);
		if (r == 0 && q->nargs) {
			/* pywinrm joins all arguments with spaces into one element. */
			r = winrm_buf_append_str(o, "<rsp:Arguments>");
			for (i = 0; r == 0 && i < q->nargs; i++) {
				if (!q->args[i])
					return -EINVAL;
				if (i)
					r = winrm_buf_append_str(o, " ");
				if (r == 0)
					r = winrm_soap_append_escaped(o, q->args[i]);
			}
			if (r == 0)
				r = winrm_buf_append_str(o, "</rsp:Arguments>");
		}
		if (r == 0)
			r = winrm_buf_append_str(o, "</rsp:CommandLine></s:Body>");
		break;
	case WINRM_ACTION_RECEIVE:
		r = winrm_buf_append_str(o, "<s:Body><rsp:Receive><rsp:DesiredStream CommandId=\"");
		if (r == 0)
			r = winrm_soap_append_escaped(o, q->command_id);
		if (r == 0)
			r = winrm_buf_append_str(o,
				"\">stdout stderr</rsp:DesiredStream></rsp:Receive></s:Body>");
		break;
	case WINRM_ACTION_SIGNAL:
		r = winrm_buf_append_str(o, "<s:Body><rsp:Signal CommandId=\"");
		if (r == 0)
			r = winrm_soap_append_escaped(o, q->command_id);
		if (r == 0)
			r = winrm_buf_append_str(o,
				"\"><rsp:Code>" URI_TERMINATE "</rsp:Code></rsp:Signal></s:Body>");
		break;
	case WINRM_ACTION_DELETE:
		r = winrm_buf_append_str(o, "<s:Body/>");
		break;
	}
	if (r == 0)
		r = winrm_buf_append_str(o, "</s:Envelope>\n");
	return r;
}

/* ---- responses -------------------------------------------------------------------------- */

struct parse {
	xmlDocPtr doc;
	xmlXPathContextPtr xp;
};

/* Evaluate expr relative to node (NULL: the document); the caller frees the result. */
static xmlXPathObjectPtr xpath(struct parse *p, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;

	p->xp->node = node ? node : (xmlNodePtr)p->doc;
	o = xmlXPathEvalExpression((const xmlChar *)expr, p->xp);
	if (o && (o->type != XPATH_NODESET || !o->nodesetval || o->nodesetval->nodeNr == 0)) {
		xmlXPathFreeObject(o);
		o = NULL;
	}
	return o;
}

/* First node matching expr, or NULL. The node lives as long as the document. */
static xmlNodePtr first_node(struct parse *p, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o = xpath(p, node, expr);
	xmlNodePtr n;

	if (!o)
		return NULL;
	n = o->nodesetval->nodeTab[0];
	xmlXPathFreeObject(o);
	return n;
}

/* Text content of the first node matching expr, sanitised into dst; false if absent. */
static bool text_of(struct parse *p, xmlNodePtr node, const char *expr, char *dst, size_t dstlen)
{
	xmlNodePtr n = first_node(p, node, expr);
	xmlChar *s;

	dst[0] = 0;
	if (!n)
		return false;
	s = xmlNodeGetContent(n);
	if (!s)
		return false;
	winrm_err_sanitize(dst, dstlen, (const char *)s, strlen((const char *)s));
	xmlFree(s);
	return true;
}

/* Copy an identifier (ShellId, CommandId, RelatesTo): trimmed, short, plain characters. */
static int copy_id(xmlNodePtr n, char *dst, size_t dstlen)
{
	xmlChar *s = xmlNodeGetContent(n);
	const char *b, *e;
	size_t len, i;
	int r = 0;

	if (!s)
		return -EPROTO;
	b = (const char *)s;
	e = b + strlen(b);
	while (b < e && (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	len = (size_t)(e - b);
	if (len == 0 || len >= dstlen) {
		r = -EPROTO;
		goto out;
	}
	for (i = 0; i < len; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':' || c == '{' || c == '}')) {
			r = -EPROTO;
			goto out;
		}
	}
	memcpy(dst, b, len);
	dst[len] = 0;
out:
	xmlFree(s);
	return r;
}

/* Parse a decimal exit code in the range of a Windows DWORD (signed or unsigned). */
static int parse_exit_code(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (!*s || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return -EPROTO;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -EPROTO;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end || v < INT32_MIN || v > (long long)UINT32_MAX)
		return -EPROTO;
	*ret = v;
	return 0;
}

/* Whether the QName text of node resolves to {ns}local. */
static bool qname_is(xmlNodePtr node, const char *text, const char *ns, const char *local)
{
	const char *colon = strchr(text, ':');
	char prefix[64];
	xmlNsPtr x;

	if (!colon)
		return false;
	if ((size_t)(colon - text) >= sizeof(prefix) || strcmp(colon + 1, local) != 0)
		return false;
	memcpy(prefix, text, (size_t)(colon - text));
	prefix[colon - text] = 0;
	x = xmlSearchNs(node->doc, node, (const xmlChar *)prefix);
	return x && x->href && strcmp((const char *)x->href, ns) == 0;
}

/* Extract s:Fault details. */
static void parse_fault(struct parse *p, xmlNodePtr fault, struct winrm_fault *f)
{
	xmlNodePtr n;
	xmlChar *code;

	text_of(p, fault, "s:Code/s:Value", f->code, sizeof(f->code));
	text_of(p, fault, "s:Code/s:Subcode/s:Value", f->subcode, sizeof(f->subcode));
	text_of(p, fault, "s:Reason/s:Text", f->reason, sizeof(f->reason));
	text_of(p, fault, "s:Detail/f:WSManFault/f:Message", f->message, sizeof(f->message));
	n = first_node(p, fault, "s:Detail/f:WSManFault");
	code = n ? xmlGetProp(n, (const xmlChar *)"Code") : NULL;
	if (code) {
		winrm_err_sanitize(f->wsman_code, sizeof(f->wsman_code), (const char *)code,
		                   strlen((const char *)code));
		xmlFree(code);
	} else {
		text_of(p, fault,
		        ".//*[local-name()='MSFT_WmiError']/*[local-name()='error_Code']",
		        f->wsman_code, sizeof(f->wsman_code));
	}
	n = first_node(p, fault, "s:Code/s:Subcode/s:Value");
	f->timed_out = strcmp(f->wsman_code, CODE_TIMED_OUT) == 0 ||
	               (n && qname_is(n, f->subcode, NS_W, "TimedOut"));
}

/* One line describing a fault. */
void winrm_fault_format(const struct winrm_fault *f, char *dst, size_t dstlen)
{
	const char *kind = f->subcode[0] ? f->subcode : f->code[0] ? f->code : "(no code)";
	const char *text = f->message[0] ? f->message : f->reason[0] ? f->reason : "no reason given";

	if (f->wsman_code[0])
		snprintf(dst, dstlen, "SOAP fault %s (WSManFault %s): %s", kind, f->wsman_code, text);
	else
		snprintf(dst, dstlen, "SOAP fault %s: %s", kind, text);
}

/* Decode the rsp:Stream elements of a ReceiveResponse into out/err. */
static int parse_streams(struct parse *p, const char *cmd, struct winrm_buf *out,
                         struct winrm_buf *err, char *errbuf, size_t errlen)
{
	xmlXPathObjectPtr o;
	int i, r = 0;

	o = xpath(p, NULL, "/s:Envelope/s:Body/rsp:ReceiveResponse/rsp:Stream");
	if (!o)
		return 0;
	for (i = 0; i < o->nodesetval->nodeNr && r == 0; i++) {
		xmlNodePtr n = o->nodesetval->nodeTab[i];
		xmlChar *name = xmlGetProp(n, (const xmlChar *)"Name");
		xmlChar *id = xmlGetProp(n, (const xmlChar *)"CommandId");
		xmlChar *text = NULL;
		struct winrm_buf *dst = NULL;

		if (name && strcmp((const char *)name, "stdout") == 0)
			dst = out;
		else if (name && strcmp((const char *)name, "stderr") == 0)
			dst = err;
		/* Streams of other commands are not ours; a missing CommandId is tolerated. */
		if (dst && cmd && id && strcmp((const char *)id, cmd) != 0)
			dst = NULL;
		if (dst) {
			text = xmlNodeGetContent(n);
			if (text) {
				r = winrm_codec_b64_decode((const char *)text, strlen((const char *)text), dst);
				if (r == -E2BIG)
					r = winrm_err(errbuf, errlen, r, "WinRM command output exceeds the limit");
				else if (r < 0)
					r = winrm_err(errbuf, errlen, -EPROTO,
					              "invalid base64 in WinRM %s stream", (const char *)name);
			}
		}
		xmlFree(text);
		xmlFree(name);
		xmlFree(id);
	}
	xmlXPathFreeObject(o);
	return r;
}

/* Read rsp:CommandState: Done and ExitCode. */
static int parse_state(struct parse *p, const char *cmd, struct winrm_reply *rep, char *errbuf,
                       size_t errlen)
{
	xmlXPathObjectPtr o;
	int i, r = 0;

	o = xpath(p, NULL, "/s:Envelope/s:Body/rsp:ReceiveResponse/rsp:CommandState");
	if (!o)
		return 0;
	for (i = 0; i < o->nodesetval->nodeNr && r == 0; i++) {
		xmlNodePtr n = o->nodesetval->nodeTab[i];
		xmlChar *state = xmlGetProp(n, (const xmlChar *)"State");
		xmlChar *id = xmlGetProp(n, (const xmlChar *)"CommandId");
		size_t sl = state ? strlen((const char *)state) : 0;

		if ((!cmd || !id || strcmp((const char *)id, cmd) == 0) && sl >= strlen(STATE_DONE) &&
		    strcmp((const char *)state + sl - strlen(STATE_DONE), STATE_DONE) == 0) {
			xmlNodePtr ec = first_node(p, n, "rsp:ExitCode");

			rep->done = true;
			if (ec) {
				xmlChar *s = xmlNodeGetContent(ec);

				r = s ? parse_exit_code((const char *)s, &rep->exit_code) : -EPROTO;
				xmlFree(s);
				if (r < 0)
					r = winrm_err(errbuf, errlen, -EPROTO, "invalid ExitCode in WinRM response");
				else
					rep->has_exit_code = true;
			}
		}
		xmlFree(state);
		xmlFree(id);
	}
	xmlXPathFreeObject(o);
	return r;
}

/* Parse one response envelope. */
int winrm_soap_parse(const uint8_t *data, size_t len, const char *stream_command_id,
                     struct winrm_buf *out, struct winrm_buf *err, struct winrm_reply *ret,
                     char *errbuf, size_t errlen)
{
	static const char *const prefixes[][2] = {
		{ "s", NS_S }, { "a", NS_A }, { "w", NS_W }, { "p", NS_P },
		{ "rsp", NS_RSP }, { "x", NS_X }, { "f", NS_F },
	};
	struct parse p = { NULL, NULL };
	struct winrm_reply rep;
	xmlNodePtr root, n;
	size_t i;
	int r = 0;

	memset(&rep, 0, sizeof(rep));
	if (!data || len == 0)
		return winrm_err(errbuf, errlen, -EPROTO, "empty WinRM response");
	if (len > WINRM_MAX_RESPONSE)
		return winrm_err(errbuf, errlen, -EMSGSIZE, "WinRM response exceeds %u bytes",
		                 WINRM_MAX_RESPONSE);
	/* SOAP forbids DTDs; refusing them up front rules out entity tricks entirely. */
	if (memmem(data, len, "<!DOCTYPE", 9) || memmem(data, len, "<!ENTITY", 8))
		return winrm_err(errbuf, errlen, -EPROTO, "WinRM response contains a DTD");
	p.doc = xmlReadMemory((const char *)data, (int)len, "winrm-response.xml", NULL,
	                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                      XML_PARSE_NOCDATA);
	if (!p.doc) {
		r = winrm_err(errbuf, errlen, -EPROTO, "malformed XML in WinRM response");
		goto out;
	}
	root = xmlDocGetRootElement(p.doc);
	if (p.doc->intSubset || p.doc->extSubset || !root || !root->ns ||
	    strcmp((const char *)root->name, "Envelope") != 0 ||
	    strcmp((const char *)root->ns->href, NS_S) != 0) {
		r = winrm_err(errbuf, errlen, -EPROTO, "WinRM response is not a SOAP 1.2 envelope");
		goto out;
	}
	p.xp = xmlXPathNewContext(p.doc);
	if (!p.xp) {
		r = winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (xmlXPathRegisterNs(p.xp, (const xmlChar *)prefixes[i][0],
		                       (const xmlChar *)prefixes[i][1]) != 0) {
			r = winrm_err(errbuf, errlen, -ENOMEM, "out of memory");
			goto out;
		}

	n = first_node(&p, NULL, "/s:Envelope/s:Header/a:RelatesTo");
	if (n && copy_id(n, rep.relates_to, sizeof(rep.relates_to)) < 0) {
		r = winrm_err(errbuf, errlen, -EPROTO, "invalid RelatesTo in WinRM response");
		goto out;
	}
	n = first_node(&p, NULL, "/s:Envelope/s:Body/s:Fault");
	if (n) {
		rep.is_fault = true;
		parse_fault(&p, n, &rep.fault);
		goto done;
	}
	/* ShellId: the selector in x:ResourceCreated, or rsp:Shell/rsp:ShellId on newer hosts. */
	n = first_node(&p, NULL, "/s:Envelope/s:Body//*[@Name='ShellId']");
	if (!n)
		n = first_node(&p, NULL, "/s:Envelope/s:Body//rsp:ShellId");
	if (n && copy_id(n, rep.shell_id, sizeof(rep.shell_id)) < 0) {
		r = winrm_err(errbuf, errlen, -EPROTO, "invalid ShellId in WinRM response");
		goto out;
	}
	n = first_node(&p, NULL, "/s:Envelope/s:Body/rsp:CommandResponse/rsp:CommandId");
	if (n && copy_id(n, rep.command_id, sizeof(rep.command_id)) < 0) {
		r = winrm_err(errbuf, errlen, -EPROTO, "invalid CommandId in WinRM response");
		goto out;
	}
	r = parse_streams(&p, stream_command_id, out, err, errbuf, errlen);
	if (r == 0)
		r = parse_state(&p, stream_command_id, &rep, errbuf, errlen);
	if (r < 0)
		goto out;
done:
	*ret = rep;
out:
	if (p.xp)
		xmlXPathFreeContext(p.xp);
	if (p.doc)
		xmlFreeDoc(p.doc);
	return r;
}

/* ---- the command flow -------------------------------------------------------------------- */

struct session {
	const struct winrm_conf *conf;
	struct winrm_http *http;
	struct winrm_buf req;
	struct winrm_buf resp;
	uint64_t deadline;          /* monotonic ms; 0: none */
	char shell_id[WINRM_ID_MAX];
	char command_id[WINRM_ID_MAX];
};

/* Monotonic clock in milliseconds. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Send one request and parse the reply. Cleanup requests (Signal/Delete after a failure
 * or after Done) get their own short budget, so they still run after the deadline.
 * Returns 0 with *rep filled (also for SOAP faults: the caller decides), or an error.
 */
static int exchange(struct session *s, struct winrm_soap_req *q, bool cleanup,
                    struct winrm_buf *out, struct winrm_buf *err, struct winrm_reply *rep,
                    char *errbuf, size_t errlen)
{
	const struct winrm_conf *c = s->conf;
	char msgid[48];
	unsigned timeout = c->read_timeout_ms;
	bool clamped = false;
	long status = 0;
	int r;

	winrm_soap_new_message_id(msgid);
	q->to = c->url;
	q->message_id = msgid;
	q->operation_timeout_ms = c->operation_timeout_ms;
	q->codepage = c->codepage;
	winrm_buf_reset(&s->req);
	r = winrm_soap_build(q, &s->req);
	if (r == -EINVAL || r == -EILSEQ)
		return winrm_err(errbuf, errlen, r,
		                 "command text is not valid UTF-8 XML character data");
	if (r < 0)
		return winrm_err(errbuf, errlen, r, "cannot build WinRM %s request",
		                 winrm_action_name(q->action));

	if (cleanup) {
		if (timeout > CLEANUP_TIMEOUT_MS)
			timeout = CLEANUP_TIMEOUT_MS;
	} else if (s->deadline) {
		uint64_t now = now_ms();

		if (now >= s->deadline)
			return winrm_err(errbuf, errlen, -ETIMEDOUT,
			                 "WinRM command did not finish within %u ms", c->total_timeout_ms);
		if (s->deadline - now < timeout) {
			timeout = (unsigned)(s->deadline - now);
			clamped = true;
		}
	}

	r = winrm_http_post(s->http, s->req.data, s->req.len, timeout, &s->resp, &status, errbuf,
	                    errlen);
	if (r == -ETIMEDOUT && clamped)
		return winrm_err(errbuf, errlen, -ETIMEDOUT,
		                 "WinRM command did not finish within %u ms", c->total_timeout_ms);
	if (r < 0)
		return r;

	r = winrm_soap_parse(s->resp.data, s->resp.len, s->command_id[0] ? s->command_id : NULL,
	                     out, err, rep, errbuf, errlen);
	if (r < 0) {
		if (status == 500 && r == -EPROTO)
			return winrm_err(errbuf, errlen, -EREMOTEIO,
			                 "WinRM %s failed: HTTP 500 without a readable SOAP fault",
			                 winrm_action_name(q->action));
		return r;
	}
	if (status == 500 && !rep->is_fault)
		return winrm_err(errbuf, errlen, -EPROTO, "WinRM %s failed: HTTP 500 without SOAP fault",
		                 winrm_action_name(q->action));
	if (rep->relates_to[0] && strcmp(rep->relates_to, msgid) != 0)
		return winrm_err(errbuf, errlen, -EPROTO,
		                 "WinRM %s response does not belong to the request (RelatesTo mismatch)",
		                 winrm_action_name(q->action));
	if (!rep->relates_to[0] && !rep->is_fault &&
	    (q->action == WINRM_ACTION_SIGNAL || q->action == WINRM_ACTION_DELETE))
		return winrm_err(errbuf, errlen, -EPROTO, "WinRM %s response has no RelatesTo",
		                 winrm_action_name(q->action));
	return 0;
}

/* Error text for a SOAP fault answer to action. */
static int fault_error(enum winrm_action a, const struct winrm_fault *f, char *errbuf,
                       size_t errlen)
{
	char line[1100];

	winrm_fault_format(f, line, sizeof(line));
	return winrm_err(errbuf, errlen, -EREMOTEIO, "WinRM %s failed: %s", winrm_action_name(a),
	                 line);
}

/* Send a request whose reply carries nothing but success or a fault. */
static int simple_step(struct session *s, enum winrm_action a, bool cleanup, char *errbuf,
                       size_t errlen)
{
	struct winrm_soap_req q = { .action = a, .shell_id = s->shell_id,
	                            .command_id = s->command_id };
	struct winrm_reply rep;
	int r;

	r = exchange(s, &q, cleanup, NULL, NULL, &rep, errbuf, errlen);
	if (r == 0 && rep.is_fault)
		r = fault_error(a, &rep.fault, errbuf, errlen);
	return r;
}

/* Signal terminate (if a command exists) and Delete (if a shell exists); first error wins. */
static int cleanup(struct session *s)
{
	char scratch[256];
	int r = 0, q;

	if (s->command_id[0]) {
		r = simple_step(s, WINRM_ACTION_SIGNAL, true, scratch, sizeof(scratch));
		s->command_id[0] = 0;
	}
	if (s->shell_id[0]) {
		q = simple_step(s, WINRM_ACTION_DELETE, true, scratch, sizeof(scratch));
		if (r == 0)
			r = q;
		s->shell_id[0] = 0;
	}
	return r;
}

/* Whether the command line fits our cap. */
static bool command_fits(const char *command, const char *const *args, size_t nargs)
{
	size_t total = strlen(command), i;

	for (i = 0; i < nargs; i++) {
		if (!args[i])
			return false;
		total += 1 + strlen(args[i]);
		if (total > WINRM_MAX_COMMAND_LINE)
			return false;
	}
	return total <= WINRM_MAX_COMMAND_LINE;
}

/* Create -> Command -> Receive... -> Signal -> Delete. */
int winrm_run_resolved(const struct winrm_conf *conf, const char *command,
                       const char *const *args, size_t nargs, struct winrm_result *ret,
                       char *errbuf, size_t errlen)
{
	struct session s;
	struct winrm_soap_req q;
	struct winrm_reply rep;
	struct winrm_buf out, err;
	struct winrm_result res;
	uint64_t start = now_ms();
	int r;

	memset(&s, 0, sizeof(s));
	memset(&res, 0, sizeof(res));
	winrm_buf_init(&out, conf->max_output);
	winrm_buf_init(&err, conf->max_output);
	winrm_buf_init(&s.req, REQUEST_MAX);
	winrm_buf_init(&s.resp, WINRM_MAX_RESPONSE);
	s.conf = conf;
	if (conf->total_timeout_ms)
		s.deadline = start + conf->total_timeout_ms;

	if (!command || !*command || (nargs && !args)) {
		r = winrm_err(errbuf, errlen, -EINVAL, "a WinRM command is required");
		goto out;
	}
	for (size_t i = 0; i < nargs; i++) {
		if (!args[i]) {
			r = winrm_err(errbuf, errlen, -EINVAL, "WinRM argument %zu is NULL", i);
			goto out;
		}
	}
	if (!command_fits(command, args, nargs)) {
		r = winrm_err(errbuf, errlen, -E2BIG, "WinRM command line exceeds %u bytes",
		              WINRM_MAX_COMMAND_LINE);
		goto out;
	}
	r = winrm_http_new(conf, &s.http, errbuf, errlen);
	if (r < 0)
		goto out;

	memset(&q, 0, sizeof(q));
	q.action = WINRM_ACTION_CREATE;
	r = exchange(&s, &q, false, NULL, NULL, &rep, errbuf, errlen);
	if (r == 0 && rep.is_fault)
		r = fault_error(q.action, &rep.fault, errbuf, errlen);
	if (r == 0 && !rep.shell_id[0])
		r = winrm_err(errbuf, errlen, -EPROTO, "WinRM Create response has no ShellId");
	if (r < 0)
		goto fail;
	memcpy(s.shell_id, rep.shell_id, sizeof(s.shell_id));

	memset(&q, 0, sizeof(q));
	q.action = WINRM_ACTION_COMMAND;
	q.shell_id = s.shell_id;
	q.command = command;
	q.args = args;
	q.nargs = nargs;
	r = exchange(&s, &q, false, NULL, NULL, &rep, errbuf, errlen);
	if (r == 0 && rep.is_fault)
		r = fault_error(q.action, &rep.fault, errbuf, errlen);
	if (r == 0 && !rep.command_id[0])
		r = winrm_err(errbuf, errlen, -EPROTO, "WinRM Command response has no CommandId");
	if (r < 0)
		goto fail;
	memcpy(s.command_id, rep.command_id, sizeof(s.command_id));

	for (;;) {
		/* The two streams share one cap. */
		out.max = conf->max_output - err.len;
		err.max = conf->max_output - out.len;
		memset(&q, 0, sizeof(q));
		q.action = WINRM_ACTION_RECEIVE;
		q.shell_id = s.shell_id;
		q.command_id = s.command_id;
		r = exchange(&s, &q, false, &out, &err, &rep, errbuf, errlen);
		if (r == -E2BIG || (r == 0 && out.len + err.len > conf->max_output))
			r = winrm_err(errbuf, errlen, -E2BIG,
			              "WinRM command output exceeds the limit of %zu bytes",
			              conf->max_output);
		if (r < 0)
			goto fail;
		if (rep.is_fault) {
			/* w:TimedOut only means "no output within OperationTimeout": ask again. */
			if (rep.fault.timed_out)
				continue;
			r = fault_error(q.action, &rep.fault, errbuf, errlen);
			goto fail;
		}
		if (rep.done)
			break;
	}
	if (!rep.has_exit_code) {
		r = winrm_err(errbuf, errlen, -EPROTO, "WinRM command finished without an ExitCode");
		goto fail;
	}
	res.exit_code = rep.exit_code;
	res.duration_ms = now_ms() - start;
	res.cleanup_status = cleanup(&s);

	r = winrm_buf_steal(&out, &res.out, &res.out_len);
	if (r == 0)
		r = winrm_buf_steal(&err, &res.err, &res.err_len);
	if (r < 0) {
		winrm_result_free(&res);
		r = winrm_err(errbuf, errlen, r, "out of memory");
		goto out;
	}
	*ret = res;
	goto out;

fail:
	cleanup(&s);
out:
	winrm_http_free(s.http);
	winrm_buf_free(&out);
	winrm_buf_free(&err);
	winrm_buf_free(&s.req);
	winrm_buf_free(&s.resp);
	return r;
}

/* Public entry: resolve the target, run, scrub the error text. */
int winrm_run_command(const struct winrm_target *target, const char *command,
                      const char *const *args, size_t nargs, struct winrm_result *ret,
                      char *errbuf, size_t errlen)
{
	struct winrm_conf conf;
	int r;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!target || !ret)
		return winrm_err(errbuf, errlen, -EINVAL, "invalid arguments");
	r = winrm_global_init();
	if (r < 0)
		return winrm_err(errbuf, errlen, r, "cannot initialise libcurl");
	r = winrm_conf_resolve(target, &conf, errbuf, errlen);
	if (r == 0) {
		r = winrm_run_resolved(&conf, command, args, nargs, ret, errbuf, errlen);
		winrm_conf_done(&conf);
	}
	if (r < 0)
		winrm_err_scrub(errbuf, target->password);
	return r;
}

/* Release the buffers of a result. */
void winrm_result_free(struct winrm_result *result)
{
	if (!result)
		return;
	free(result->out);
	free(result->err);
	memset(result, 0, sizeof(*result));
}

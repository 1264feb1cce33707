/* WinRM client: SOAP envelopes for every action and the parser for the answers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <uuid/uuid.h>

#include "winrm_int.h"

/* This file is the only one that spells SOAP. */
#define NS_S "http://www.w3.org/2003/05/soap-envelope"
#define NS_A "http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_W "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define NS_P "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
#define NS_RSP "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
#define NS_X "http://schemas.xmlsoap.org/ws/2004/09/transfer"
#define NS_F "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

#define URI_ANONYMOUS NS_A "/role/anonymous"
#define URI_CMD NS_RSP "/cmd"
#define URI_TERMINATE NS_RSP "/signal/terminate"
#define STATE_DONE "/CommandState/Done"
#define CODE_TIMED_OUT "2150858793"

static const char *const action_uri[] = {
	[WINRM_ACTION_CREATE] = NS_X "/Create",     [WINRM_ACTION_COMMAND] = NS_RSP "/Command",
	[WINRM_ACTION_RECEIVE] = NS_RSP "/Receive", [WINRM_ACTION_SIGNAL] = NS_RSP "/Signal",
	[WINRM_ACTION_DELETE] = NS_X "/Delete",
};

static const char *const action_names[] = {
	[WINRM_ACTION_CREATE] = "Create",   [WINRM_ACTION_COMMAND] = "Command",
	[WINRM_ACTION_RECEIVE] = "Receive", [WINRM_ACTION_SIGNAL] = "Signal",
	[WINRM_ACTION_DELETE] = "Delete",
};

/* ---- envelopes -------------------------------------------------------------------------- */

/* Name of an action for error text. */
const char *winrm_soap_action_name(enum winrm_action a)
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
int winrm_soap_append_escaped(struct buf *out, const char *s)
{
	const char *run = s;
	int r = 0;

	if (!winrm_codec_utf8_valid(s, strlen(s)))
		return -EILSEQ;
	for (; *s; s++) {
		const char *rep;
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		case '\r':
			rep = "&#13;";
			break; /* a raw CR would be normalised away */
		default:
			if (c < 0x20 && c != '\t' && c != '\n')
				return -EINVAL;
			continue;
		}
		r = buf_try_append(out, run, (size_t)(s - run));
		if (r == 0)
			r = buf_try_append_str(out, rep);
		if (r < 0)
			return r;
		run = s + 1;
	}
	return buf_try_append(out, run, (size_t)(s - run));
}

/* Append an ISO-8601 duration for ms milliseconds ("PT20S", "PT1.500S"). */
static int append_duration(struct buf *o, unsigned ms)
{
	if (ms % 1000 == 0)
		return buf_try_printf(o, "PT%uS", ms / 1000);
	return buf_try_printf(o, "PT%u.%03uS", ms / 1000, ms % 1000);
}

/* Append <tag>escaped text</tag>. */
static int append_element(struct buf *o, const char *tag, const char *text)
{
	int r = buf_try_printf(o, "<%s>", tag);

	if (r == 0)
		r = winrm_soap_append_escaped(o, text);
	if (r == 0)
		r = buf_try_printf(o, "</%s>", tag);
	return r;
}

/* The header shared by all requests. */
static int build_header(const struct winrm_soap_req *q, struct buf *o)
{
	int r;

	r = buf_try_append_str(o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
				  "<s:Envelope xmlns:s=\"" NS_S "\" xmlns:a=\"" NS_A
				  "\" xmlns:w=\"" NS_W "\""
				  " xmlns:p=\"" NS_P "\" xmlns:rsp=\"" NS_RSP "\">"
				  "<s:Header>");
	if (r == 0)
		r = append_element(o, "a:To", q->to);
	if (r == 0)
		r = buf_try_printf(
			o,
			"<a:ReplyTo><a:Address s:mustUnderstand=\"true\">" URI_ANONYMOUS
			"</a:Address></a:ReplyTo>"
			"<w:MaxEnvelopeSize s:mustUnderstand=\"true\">%u</w:MaxEnvelopeSize>",
			WINRM_MAX_ENVELOPE_SIZE);
	if (r == 0)
		r = append_element(o, "a:MessageID", q->message_id);
	if (r == 0)
		r = buf_try_append_str(
			o, "<w:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>"
			   "<p:DataLocale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>"
			   "<w:OperationTimeout>");
	if (r == 0)
		r = append_duration(o, q->operation_timeout_ms);
	if (r == 0)
		r = buf_try_printf(o,
				   "</w:OperationTimeout>"
				   "<w:ResourceURI s:mustUnderstand=\"true\">" URI_CMD
				   "</w:ResourceURI>"
				   "<a:Action s:mustUnderstand=\"true\">%s</a:Action>",
				   action_uri[q->action]);
	if (r == 0 && q->action != WINRM_ACTION_CREATE) {
		r = buf_try_append_str(o, "<w:SelectorSet><w:Selector Name=\"ShellId\">");
		if (r == 0)
			r = winrm_soap_append_escaped(o, q->shell_id);
		if (r == 0)
			r = buf_try_append_str(o, "</w:Selector></w:SelectorSet>");
	}
	if (r == 0 && q->action == WINRM_ACTION_CREATE)
		r = buf_try_printf(
			o,
			"<w:OptionSet><w:Option Name=\"WINRS_NOPROFILE\">FALSE</w:Option>"
			"<w:Option Name=\"WINRS_CODEPAGE\">%u</w:Option></w:OptionSet>",
			q->codepage);
	if (r == 0 && q->action == WINRM_ACTION_COMMAND)
		r = buf_try_append_str(
			o,
			"<w:OptionSet><w:Option Name=\"WINRS_CONSOLEMODE_STDIN\">TRUE</w:Option>"
			"<w:Option Name=\"WINRS_SKIP_CMD_SHELL\">FALSE</w:Option></w:OptionSet>");
	if (r == 0)
		r = buf_try_append_str(o, "</s:Header>");
	return r;
}

/* Append the request envelope. */
int winrm_soap_build(const struct winrm_soap_req *q, struct buf *o)
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
		r = buf_try_append_str(
			o,
			"<s:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
			"<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell></s:Body>");
		break;
	case WINRM_ACTION_COMMAND:
		r = buf_try_append_str(o, "<s:Body><rsp:CommandLine>");
		if (r == 0)
			r = append_element(o, "rsp:Command", q->command);
		if (r == 0 && q->nargs) {
			/* pywinrm joins all arguments with spaces into one element. */
			r = buf_try_append_str(o, "<rsp:Arguments>");
			for (i = 0; r == 0 && i < q->nargs; i++) {
				if (!q->args[i])
					return -EINVAL;
				if (i)
					r = buf_try_append_str(o, " ");
				if (r == 0)
					r = winrm_soap_append_escaped(o, q->args[i]);
			}
			if (r == 0)
				r = buf_try_append_str(o, "</rsp:Arguments>");
		}
		if (r == 0)
			r = buf_try_append_str(o, "</rsp:CommandLine></s:Body>");
		break;
	case WINRM_ACTION_RECEIVE:
		r = buf_try_append_str(o, "<s:Body><rsp:Receive><rsp:DesiredStream CommandId=\"");
		if (r == 0)
			r = winrm_soap_append_escaped(o, q->command_id);
		if (r == 0)
			r = buf_try_append_str(
				o, "\">stdout stderr</rsp:DesiredStream></rsp:Receive></s:Body>");
		break;
	case WINRM_ACTION_SIGNAL:
		r = buf_try_append_str(o, "<s:Body><rsp:Signal CommandId=\"");
		if (r == 0)
			r = winrm_soap_append_escaped(o, q->command_id);
		if (r == 0)
			r = buf_try_append_str(o, "\"><rsp:Code>" URI_TERMINATE
						  "</rsp:Code></rsp:Signal></s:Body>");
		break;
	case WINRM_ACTION_DELETE:
		r = buf_try_append_str(o, "<s:Body/>");
		break;
	}
	if (r == 0)
		r = buf_try_append_str(o, "</s:Envelope>\n");
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
		text_of(p, fault, ".//*[local-name()='MSFT_WmiError']/*[local-name()='error_Code']",
			f->wsman_code, sizeof(f->wsman_code));
	}
	n = first_node(p, fault, "s:Code/s:Subcode/s:Value");
	f->timed_out = strcmp(f->wsman_code, CODE_TIMED_OUT) == 0 ||
		       (n && qname_is(n, f->subcode, NS_W, "TimedOut"));
}

/* One line describing a fault. */
void winrm_soap_fault_format(const struct winrm_fault *f, char *dst, size_t dstlen)
{
	const char *kind = f->subcode[0] ? f->subcode : f->code[0] ? f->code : "(no code)";
	const char *text = f->message[0]  ? f->message
			   : f->reason[0] ? f->reason
					  : "no reason given";

	if (f->wsman_code[0])
		snprintf(dst, dstlen, "SOAP fault %s (WSManFault %s): %s", kind, f->wsman_code,
			 text);
	else
		snprintf(dst, dstlen, "SOAP fault %s: %s", kind, text);
}

/* Decode the rsp:Stream elements of a ReceiveResponse into out/err. */
static int parse_streams(struct parse *p, const char *cmd, struct buf *out, struct buf *err,
			 char *errbuf, size_t errlen)
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
		struct buf *dst = NULL;

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
				r = winrm_codec_b64_decode((const char *)text,
							   strlen((const char *)text), dst);
				if (r == -E2BIG)
					r = winrm_err(errbuf, errlen, r,
						      "WinRM command output exceeds the limit");
				else if (r < 0)
					r = winrm_err(errbuf, errlen, -EPROTO,
						      "invalid base64 in WinRM %s stream",
						      (const char *)name);
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

		if ((!cmd || !id || strcmp((const char *)id, cmd) == 0) &&
		    sl >= strlen(STATE_DONE) &&
		    strcmp((const char *)state + sl - strlen(STATE_DONE), STATE_DONE) == 0) {
			xmlNodePtr ec = first_node(p, n, "rsp:ExitCode");

			rep->done = true;
			if (ec) {
				xmlChar *s = xmlNodeGetContent(ec);

				r = s ? parse_exit_code((const char *)s, &rep->exit_code) : -EPROTO;
				xmlFree(s);
				if (r < 0)
					r = winrm_err(errbuf, errlen, -EPROTO,
						      "invalid ExitCode in WinRM response");
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
int winrm_soap_parse(const void *data, size_t len, const char *stream_command_id, struct buf *out,
		     struct buf *err, struct winrm_reply *ret, char *errbuf, size_t errlen)
{
	static const char *const prefixes[][2] = {
		{ "s", NS_S },     { "a", NS_A }, { "w", NS_W }, { "p", NS_P },
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

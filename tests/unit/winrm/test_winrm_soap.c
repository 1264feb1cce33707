/* Unit tests for the WinRM SOAP envelope builder and response parser (winrm.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "winrm/winrm_int.h"

#define NS_DECL                                                                  \
	"xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "                   \
	"xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "          \
	"xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\" "            \
	"xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" "            \
	"xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\" " \
	"xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\""
#define HDR(action)                                                                    \
	"<s:Header><a:Action>" action "</a:Action>"                                    \
	"<a:MessageID>uuid:A0A0A0A0-0000-4000-8000-000000000001</a:MessageID>"         \
	"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>" \
	"<a:RelatesTo>uuid:11111111-2222-4333-8444-555555555555</a:RelatesTo></s:Header>"
#define ENV(action, body)                                                         \
	"<s:Envelope xml:lang=\"en-US\" " NS_DECL ">" HDR(action) "<s:Body>" body \
								  "</s:Body></s:Envelope>"
#define CMD "3B2BE0DA-7A5A-4E5C-8F4F-1D52E1A3B7C1"
#define DONE_STATE "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
#define RUN_STATE "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"

/* ---- helpers -------------------------------------------------------------------------- */

static char *build(const struct winrm_soap_req *q)
{
	struct buf b;
	char *data;
	size_t len;

	buf_init(&b, 1 << 20);
	assert_int_equal(winrm_soap_build(q, &b), 0);
	assert_int_equal(buf_try_steal(&b, &data, &len), 0);
	assert_int_equal(strlen(data), len);
	return data;
}

/* Evaluate an XPath over a built envelope and return its string value (caller frees). */
static char *xp(const char *xml, const char *expr)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o;
	xmlChar *s;
	char *ret;

	assert_non_null(doc);
	ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2003/05/soap-envelope");
	xmlXPathRegisterNs(ctx, BAD_CAST "a",
			   BAD_CAST "http://schemas.xmlsoap.org/ws/2004/08/addressing");
	xmlXPathRegisterNs(ctx, BAD_CAST "w",
			   BAD_CAST "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd");
	xmlXPathRegisterNs(ctx, BAD_CAST "p",
			   BAD_CAST "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd");
	xmlXPathRegisterNs(ctx, BAD_CAST "rsp",
			   BAD_CAST "http://schemas.microsoft.com/wbem/wsman/1/windows/shell");
	o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	assert_non_null(o);
	s = xmlXPathCastToString(o);
	ret = strdup((char *)s);
	xmlFree(s);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}

static void assert_xp(const char *xml, const char *expr, const char *want)
{
	char *got = xp(xml, expr);

	assert_string_equal(got, want);
	free(got);
}

static int parse(const char *xml, const char *cmd, struct buf *out, struct buf *err,
		 struct winrm_reply *rep)
{
	char errbuf[256];

	return winrm_soap_parse((const uint8_t *)xml, strlen(xml), cmd, out, err, rep, errbuf,
				sizeof(errbuf));
}

static struct winrm_soap_req base_req(enum winrm_action a)
{
	struct winrm_soap_req q = {
		.action = a,
		.to = "http://10.0.0.5:5985/wsman",
		.message_id = "uuid:0F0F0F0F-1111-4222-8333-444444444444",
		.operation_timeout_ms = 20000,
		.codepage = 437,
		.shell_id = "SHELL-1",
		.command_id = CMD,
		.command = "ipconfig",
	};
	return q;
}

/* ---- builder ---------------------------------------------------------------------------- */

static void test_build_create_headers(void **state)
{
	struct winrm_soap_req q = base_req(WINRM_ACTION_CREATE);
	char *x = build(&q);

	assert_xp(x, "string(/s:Envelope/s:Header/a:To)", "http://10.0.0.5:5985/wsman");
	assert_xp(x, "string(/s:Envelope/s:Header/a:Action)",
		  "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create");
	assert_xp(x, "string(/s:Envelope/s:Header/a:Action/@s:mustUnderstand)", "true");
	assert_xp(x, "string(/s:Envelope/s:Header/a:MessageID)",
		  "uuid:0F0F0F0F-1111-4222-8333-444444444444");
	assert_xp(x, "string(/s:Envelope/s:Header/w:MaxEnvelopeSize)", "153600");
	assert_xp(x, "string(/s:Envelope/s:Header/w:MaxEnvelopeSize/@s:mustUnderstand)", "true");
	assert_xp(x, "string(/s:Envelope/s:Header/w:OperationTimeout)", "PT20S");
	assert_xp(x, "string(/s:Envelope/s:Header/w:Locale/@xml:lang)", "en-US");
	assert_xp(x, "string(/s:Envelope/s:Header/p:DataLocale/@xml:lang)", "en-US");
	assert_xp(x, "string(/s:Envelope/s:Header/w:ResourceURI)",
		  "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd");
	assert_xp(x, "string(/s:Envelope/s:Header/a:ReplyTo/a:Address)",
		  "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous");
	assert_xp(x, "string(//w:Option[@Name='WINRS_CODEPAGE'])", "437");
	assert_xp(x, "string(//w:Option[@Name='WINRS_NOPROFILE'])", "FALSE");
	assert_xp(x, "count(/s:Envelope/s:Header/w:SelectorSet)", "0");
	assert_xp(x, "string(/s:Envelope/s:Body/rsp:Shell/rsp:InputStreams)", "stdin");
	assert_xp(x, "string(/s:Envelope/s:Body/rsp:Shell/rsp:OutputStreams)", "stdout stderr");
	free(x);

	q.codepage = 65001;
	q.operation_timeout_ms = 1500;
	x = build(&q);
	assert_xp(x, "string(//w:Option[@Name='WINRS_CODEPAGE'])", "65001");
	assert_xp(x, "string(/s:Envelope/s:Header/w:OperationTimeout)", "PT1.500S");
	free(x);
}

static void test_build_command_escaping(void **state)
{
	static const char *const args[] = { "a&b", "<x>", "\"q\"", "it's", "é\r\n" };
	struct winrm_soap_req q = base_req(WINRM_ACTION_COMMAND);
	char *x;

	q.shell_id = "SH<&>";
	q.command = "C:\\Lab Station\\LabStation.exe & del";
	q.args = args;
	q.nargs = 5;
	x = build(&q);
	assert_non_null(
		strstr(x, "<rsp:Command>C:\\Lab Station\\LabStation.exe &amp; del</rsp:Command>"));
	assert_non_null(strstr(x, "a&amp;b &lt;x&gt; &quot;q&quot; it&apos;s é&#13;\n"));
	/* Round trip: a parser sees exactly the original text, CR included. */
	assert_xp(x, "string(//rsp:CommandLine/rsp:Command)",
		  "C:\\Lab Station\\LabStation.exe & del");
	assert_xp(x, "string(//rsp:CommandLine/rsp:Arguments)", "a&b <x> \"q\" it's é\r\n");
	assert_xp(x, "count(//rsp:CommandLine/rsp:Arguments)", "1");
	assert_xp(x, "string(//w:Selector[@Name='ShellId'])", "SH<&>");
	assert_xp(x, "string(//w:Option[@Name='WINRS_CONSOLEMODE_STDIN'])", "TRUE");
	assert_xp(x, "string(//w:Option[@Name='WINRS_SKIP_CMD_SHELL'])", "FALSE");
	assert_xp(x, "string(/s:Envelope/s:Header/a:Action)",
		  "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command");
	free(x);

	/* No arguments: no rsp:Arguments element at all. */
	q.nargs = 0;
	q.args = NULL;
	x = build(&q);
	assert_xp(x, "count(//rsp:Arguments)", "0");
	free(x);
}

static void test_build_receive_signal_delete(void **state)
{
	struct winrm_soap_req q = base_req(WINRM_ACTION_RECEIVE);
	char *x = build(&q);

	assert_xp(x, "string(//rsp:Receive/rsp:DesiredStream/@CommandId)", CMD);
	assert_xp(x, "string(//rsp:Receive/rsp:DesiredStream)", "stdout stderr");
	assert_xp(x, "string(//w:Selector[@Name='ShellId'])", "SHELL-1");
	free(x);

	q.action = WINRM_ACTION_SIGNAL;
	x = build(&q);
	assert_xp(x, "string(//rsp:Signal/@CommandId)", CMD);
	assert_xp(x, "string(//rsp:Signal/rsp:Code)",
		  "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate");
	assert_xp(x, "string(/s:Envelope/s:Header/a:Action)",
		  "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal");
	free(x);

	q.action = WINRM_ACTION_DELETE;
	x = build(&q);
	assert_xp(x, "count(/s:Envelope/s:Body/*)", "0");
	assert_xp(x, "string(/s:Envelope/s:Header/a:Action)",
		  "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete");
	free(x);
}

static void test_build_rejects(void **state)
{
	struct winrm_soap_req q = base_req(WINRM_ACTION_COMMAND);
	struct buf b;

	buf_init(&b, 1 << 20);
	q.command = "bad\x01";
	assert_int_equal(winrm_soap_build(&q, &b), -EINVAL);
	buf_reset(&b);
	q.command = "bad \xff utf8";
	assert_int_equal(winrm_soap_build(&q, &b), -EILSEQ);
	buf_reset(&b);
	q.command = "";
	assert_int_equal(winrm_soap_build(&q, &b), -EINVAL);
	buf_reset(&b);
	q = base_req(WINRM_ACTION_RECEIVE);
	q.command_id = NULL;
	assert_int_equal(winrm_soap_build(&q, &b), -EINVAL);
	buf_reset(&b);
	q = base_req(WINRM_ACTION_DELETE);
	q.shell_id = "";
	assert_int_equal(winrm_soap_build(&q, &b), -EINVAL);
	buf_free(&b);

	/* The cap applies. */
	buf_init(&b, 100);
	q = base_req(WINRM_ACTION_CREATE);
	assert_int_equal(winrm_soap_build(&q, &b), -E2BIG);
	buf_free(&b);
}

static void test_message_id_format(void **state)
{
	char a[48], b[48];
	size_t i;

	winrm_soap_new_message_id(a);
	winrm_soap_new_message_id(b);
	assert_int_equal(strlen(a), 41);
	assert_memory_equal(a, "uuid:", 5);
	assert_string_not_equal(a, b);
	for (i = 5; i < 41; i++) {
		if (i == 13 || i == 18 || i == 23 || i == 28)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789ABCDEF", a[i]));
	}
	assert_int_equal(a[19], '4'); /* version 4 */
}

/* ---- parser ----------------------------------------------------------------------------- */

static void test_parse_shell_id_shapes(void **state)
{
	static const char selector[] = ENV(
		"http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
		"<x:ResourceCreated><a:Address>http://h:5985/wsman</a:Address><a:ReferenceParameters>"
		"<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>"
		"<w:SelectorSet><w:Selector Name=\"ShellId\">AAAA-1111</w:Selector></w:SelectorSet>"
		"</a:ReferenceParameters></x:ResourceCreated>");
	static const char shell[] =
		ENV("http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
		    "<rsp:Shell><rsp:ShellId>\n  BBBB-2222  \n</rsp:ShellId><rsp:InputStreams>stdin"
		    "</rsp:InputStreams></rsp:Shell>");
	/* A different prefix for the same namespace must not matter. */
	static const char other_prefix[] =
		"<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" "
		"xmlns:sh=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"><env:Header/>"
		"<env:Body><sh:Shell><sh:ShellId>CCCC-3333</sh:ShellId></sh:Shell></env:Body></env:Envelope>";
	struct winrm_reply rep;

	assert_int_equal(parse(selector, NULL, NULL, NULL, &rep), 0);
	assert_string_equal(rep.shell_id, "AAAA-1111");
	assert_string_equal(rep.relates_to, "uuid:11111111-2222-4333-8444-555555555555");
	assert_false(rep.is_fault);
	assert_int_equal(parse(shell, NULL, NULL, NULL, &rep), 0);
	assert_string_equal(rep.shell_id, "BBBB-2222");
	assert_int_equal(parse(other_prefix, NULL, NULL, NULL, &rep), 0);
	assert_string_equal(rep.shell_id, "CCCC-3333");
	assert_string_equal(rep.relates_to, "");
}

static void test_parse_command_id(void **state)
{
	static const char ok[] =
		ENV("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse",
		    "<rsp:CommandResponse><rsp:CommandId>" CMD
		    "</rsp:CommandId></rsp:CommandResponse>");
	static const char bad[] = ENV(
		"x",
		"<rsp:CommandResponse><rsp:CommandId>a\"b</rsp:CommandId></rsp:CommandResponse>");
	struct winrm_reply rep;

	assert_int_equal(parse(ok, NULL, NULL, NULL, &rep), 0);
	assert_string_equal(rep.command_id, CMD);
	assert_int_equal(parse(bad, NULL, NULL, NULL, &rep), -EPROTO);
}

static void test_parse_streams_chunks(void **state)
{
	/* "\x00\xff\r\n" = AP8NCg==, "é\r\n" (cp437 0x82) = gg0K, "err" = ZXJy */
	static const char running[] =
		ENV("r", "<rsp:ReceiveResponse>"
			 "<rsp:Stream Name=\"stdout\" CommandId=\"" CMD "\">AP8NCg==</rsp:Stream>"
			 "<rsp:Stream Name=\"stdout\" CommandId=\"" CMD "\">\n gg0K \n</rsp:Stream>"
			 "<rsp:Stream Name=\"stdout\" CommandId=\"OTHER\">T1RIRVI=</rsp:Stream>"
			 "<rsp:Stream Name=\"stdin\" CommandId=\"" CMD "\">SU4=</rsp:Stream>"
			 "<rsp:CommandState CommandId=\"" CMD "\" State=\"" RUN_STATE "\"/>"
			 "</rsp:ReceiveResponse>");
	static const char done[] = ENV(
		"r", "<rsp:ReceiveResponse>"
		     "<rsp:Stream Name=\"stderr\" CommandId=\"" CMD "\">ZXJy</rsp:Stream>"
		     "<rsp:Stream Name=\"stdout\" CommandId=\"" CMD "\" End=\"true\"></rsp:Stream>"
		     "<rsp:Stream Name=\"stderr\" CommandId=\"" CMD "\" End=\"true\"/>"
		     "<rsp:CommandState CommandId=\"" CMD "\" State=\"" DONE_STATE "\">"
		     "<rsp:ExitCode>2</rsp:ExitCode></rsp:CommandState>"
		     "</rsp:ReceiveResponse>");
	struct buf out, err;
	struct winrm_reply rep;

	buf_init(&out, 1024);
	buf_init(&err, 1024);
	assert_int_equal(parse(running, CMD, &out, &err, &rep), 0);
	assert_false(rep.done);
	assert_false(rep.has_exit_code);
	assert_int_equal(out.len, 7);
	assert_memory_equal(out.data, "\x00\xff\r\n\x82\r\n", 7);
	assert_int_equal(err.len, 0);
	assert_int_equal(parse(done, CMD, &out, &err, &rep), 0);
	assert_true(rep.done);
	assert_true(rep.has_exit_code);
	assert_int_equal(rep.exit_code, 2);
	assert_int_equal(out.len, 7);
	assert_int_equal(err.len, 3);
	assert_memory_equal(err.data, "err", 3);
	buf_free(&out);
	buf_free(&err);
}

static void test_parse_exit_codes(void **state)
{
	static const char *const codes[] = { "0", "1", " 2 ", "-1073741510", "4294967295" };
	static const int64_t want[] = { 0, 1, 2, -1073741510, 4294967295LL };
	static const char *const bad[] = { "", "x", "1x", "4294967296", "-2147483649", "0x10" };
	char xml[1024];
	struct winrm_reply rep;
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(xml, sizeof(xml),
			 ENV("r", "<rsp:ReceiveResponse><rsp:CommandState "
				  "CommandId=\"" CMD "\" State=\"" DONE_STATE
				  "\"><rsp:ExitCode>%s</rsp:ExitCode>"
				  "</rsp:CommandState></rsp:ReceiveResponse>"),
			 codes[i]);
		assert_int_equal(parse(xml, CMD, NULL, NULL, &rep), 0);
		assert_true(rep.done);
		assert_int_equal(rep.exit_code, want[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(xml, sizeof(xml),
			 ENV("r", "<rsp:ReceiveResponse><rsp:CommandState "
				  "CommandId=\"" CMD "\" State=\"" DONE_STATE
				  "\"><rsp:ExitCode>%s</rsp:ExitCode>"
				  "</rsp:CommandState></rsp:ReceiveResponse>"),
			 bad[i]);
		assert_int_equal(parse(xml, CMD, NULL, NULL, &rep), -EPROTO);
	}
	/* Done without ExitCode parses; the flow treats it as an error. */
	snprintf(xml, sizeof(xml),
		 ENV("r", "<rsp:ReceiveResponse><rsp:CommandState CommandId=\"" CMD
			  "\" State=\"" DONE_STATE "\"/></rsp:ReceiveResponse>"));
	assert_int_equal(parse(xml, CMD, NULL, NULL, &rep), 0);
	assert_true(rep.done);
	assert_false(rep.has_exit_code);
	/* The Done state of another command is not ours. */
	snprintf(xml, sizeof(xml),
		 ENV("r", "<rsp:ReceiveResponse><rsp:CommandState CommandId=\""
			  "OTHER\" State=\"" DONE_STATE
			  "\"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>"
			  "</rsp:ReceiveResponse>"));
	assert_int_equal(parse(xml, CMD, NULL, NULL, &rep), 0);
	assert_false(rep.done);
}

static void test_parse_stream_errors(void **state)
{
	static const char badb64[] =
		ENV("r", "<rsp:ReceiveResponse><rsp:Stream Name=\"stdout\" "
			 "CommandId=\"" CMD "\">@@@@</rsp:Stream></rsp:ReceiveResponse>");
	static const char big[] = ENV(
		"r", "<rsp:ReceiveResponse><rsp:Stream Name=\"stdout\" "
		     "CommandId=\"" CMD "\">MDEyMzQ1Njc4OQ==</rsp:Stream></rsp:ReceiveResponse>");
	struct buf out, err;
	struct winrm_reply rep;

	buf_init(&out, 5);
	buf_init(&err, 5);
	assert_int_equal(parse(badb64, CMD, &out, &err, &rep), -EPROTO);
	assert_int_equal(parse(big, CMD, &out, &err, &rep), -E2BIG);
	buf_free(&out);
	buf_free(&err);
}

static void test_parse_faults(void **state)
{
	static const char timed_out[] = ENV(
		"http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
		"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value>"
		"</s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en-US\">The WS-Management service "
		"cannot complete the operation within the time specified in OperationTimeout.</s:Text>"
		"</s:Reason><s:Detail><f:WSManFault xmlns:f=\"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault\" "
		"Code=\"2150858793\" Machine=\"h\"><f:Message/></f:WSManFault></s:Detail></s:Fault>");
	/* TimedOut recognised by subcode alone, with a different prefix. */
	static const char timed_out_subcode[] = ENV(
		"f",
		"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value "
		"xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\">wsman:TimedOut</s:Value>"
		"</s:Subcode></s:Code><s:Reason><s:Text>t</s:Text></s:Reason></s:Fault>");
	/* Right local name, wrong namespace: not a timeout. */
	static const char fake_timeout[] = ENV(
		"f", "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value "
		     "xmlns:q=\"urn:other\">q:TimedOut</s:Value></s:Subcode></s:Code></s:Fault>");
	static const char selectors[] = ENV(
		"f",
		"<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidSelectors"
		"</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en-US\">reason text"
		"</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f=\"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault\" "
		"Code=\"2150858843\"><f:Message>The request for the Windows Remote Shell with ShellId X "
		"failed\r\n because the shell was not found.</f:Message></f:WSManFault></s:Detail></s:Fault>");
	static const char wmi[] = ENV(
		"f",
		"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:InternalError"
		"</s:Value></s:Subcode></s:Code><s:Reason><s:Text>wmi says no</s:Text></s:Reason>"
		"<s:Detail><p:MSFT_WmiError xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/MSFT_WmiError\">"
		"<p:error_Code>2147749889</p:error_Code></p:MSFT_WmiError></s:Detail></s:Fault>");
	struct winrm_reply rep;
	char line[512];

	assert_int_equal(parse(timed_out, NULL, NULL, NULL, &rep), 0);
	assert_true(rep.is_fault);
	assert_true(rep.fault.timed_out);
	assert_string_equal(rep.fault.code, "s:Receiver");
	assert_string_equal(rep.fault.subcode, "w:TimedOut");
	assert_string_equal(rep.fault.wsman_code, "2150858793");

	assert_int_equal(parse(timed_out_subcode, NULL, NULL, NULL, &rep), 0);
	assert_true(rep.fault.timed_out);
	assert_int_equal(parse(fake_timeout, NULL, NULL, NULL, &rep), 0);
	assert_true(rep.is_fault);
	assert_false(rep.fault.timed_out);

	assert_int_equal(parse(selectors, NULL, NULL, NULL, &rep), 0);
	assert_false(rep.fault.timed_out);
	assert_string_equal(rep.fault.wsman_code, "2150858843");
	assert_string_equal(rep.fault.reason, "reason text");
	/* Multi-line server text becomes one line. */
	assert_string_equal(rep.fault.message,
			    "The request for the Windows Remote Shell with ShellId "
			    "X failed because the shell was not found.");
	winrm_soap_fault_format(&rep.fault, line, sizeof(line));
	assert_string_equal(
		line, "SOAP fault w:InvalidSelectors (WSManFault 2150858843): The request "
		      "for the Windows Remote Shell with ShellId X failed because the shell was "
		      "not found.");

	assert_int_equal(parse(wmi, NULL, NULL, NULL, &rep), 0);
	assert_string_equal(rep.fault.wsman_code, "2147749889");
	winrm_soap_fault_format(&rep.fault, line, sizeof(line));
	assert_string_equal(line,
			    "SOAP fault w:InternalError (WSManFault 2147749889): wmi says no");
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"not xml",
		"<a/>",
		"<s:Envelope xmlns:s=\"urn:wrong\"/>",
		"<!DOCTYPE s [<!ENTITY x \"y\">]><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>",
		"<?xml version=\"1.0\"?><!DOCTYPE lol SYSTEM \"http://127.0.0.1:1/evil.dtd\"><lol/>",
		"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>",
		ENV("r",
		    "<rsp:CommandResponse><rsp:CommandId></rsp:CommandId></rsp:CommandResponse>"),
	};
	struct winrm_reply rep;
	char errbuf[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errbuf[0] = 0;
		assert_int_equal(winrm_soap_parse((const uint8_t *)bad[i], strlen(bad[i]), NULL,
						  NULL, NULL, &rep, errbuf, sizeof(errbuf)),
				 -EPROTO);
		assert_true(strlen(errbuf) > 0);
	}
	/* Responses above the cap are refused before parsing. */
	{
		size_t n = WINRM_MAX_RESPONSE + 1;
		uint8_t *big = calloc(1, n);

		assert_non_null(big);
		memset(big, ' ', n);
		assert_int_equal(
			winrm_soap_parse(big, n, NULL, NULL, NULL, &rep, errbuf, sizeof(errbuf)),
			-EMSGSIZE);
		free(big);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_create_headers),
		cmocka_unit_test(test_build_command_escaping),
		cmocka_unit_test(test_build_receive_signal_delete),
		cmocka_unit_test(test_build_rejects),
		cmocka_unit_test(test_message_id_format),
		cmocka_unit_test(test_parse_shell_id_shapes),
		cmocka_unit_test(test_parse_command_id),
		cmocka_unit_test(test_parse_streams_chunks),
		cmocka_unit_test(test_parse_exit_codes),
		cmocka_unit_test(test_parse_stream_errors),
		cmocka_unit_test(test_parse_faults),
		cmocka_unit_test(test_parse_rejects),
	};
	int r;

	winrm_global_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return r;
}

/* PowerShell over WinRM: -encodedcommand, CLIXML error text, reading remote files. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "winrm_int.h"

#define CLIXML_PREFIX "#< CLIXML"

/* "powershell -encodedcommand <base64 of UTF-16LE script>". */
int winrm_ps_encode_command(const char *script, char **ret)
{
	struct buf u16;
	char *b64 = NULL, *cmd = NULL;
	int r;

	if (!script || !*script)
		return -EINVAL;
	buf_init(&u16, WINRM_MAX_COMMAND_LINE);
	r = winrm_codec_utf8_to_utf16le(script, strlen(script), &u16);
	if (r == 0)
		r = winrm_codec_b64_encode(u16.data, u16.len, &b64);
	if (r == 0 && strlen(b64) > WINRM_MAX_COMMAND_LINE - 64)
		r = -E2BIG;
	if (r == 0 && asprintf(&cmd, "powershell -encodedcommand %s", b64) < 0)
		r = -ENOMEM;
	buf_free(&u16);
	free(b64);
	if (r == 0)
		*ret = cmd;
	return r;
}

/* Whether s starts with one of PowerShell's single-quote characters (', U+2018..U+201B). */
static size_t quote_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] == '\'')
		return 1;
	if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x98 && u[2] <= 0x9b)
		return 3;
	return 0;
}

/* Get-Content script for path, every single quote doubled. */
int winrm_ps_read_file_script(const char *path, char **ret)
{
	struct buf b;
	const char *p;
	int r;

	if (!path || !*path)
		return -EINVAL;
	if (!winrm_codec_utf8_valid(path, strlen(path)))
		return -EILSEQ;
	buf_init(&b, WINRM_MAX_COMMAND_LINE);
	r = buf_try_append_str(&b, "Get-Content -LiteralPath '");
	for (p = path; r == 0 && *p;) {
		/* PowerShell also ends a '...' string at the typographic quotes U+2018-U+201B;
		 * doubling any of them keeps it literal. */
		size_t q = quote_len(p);

		if (q) {
			r = buf_try_append(&b, p, q);
			if (r == 0)
				r = buf_try_append(&b, p, q);
			p += q;
		} else {
			r = buf_try_append(&b, p, 1);
			p++;
		}
	}
	if (r == 0)
		r = buf_try_append_str(&b, "' -Raw -Encoding UTF8");
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	*ret = b.data;
	return 0;
}

/* The code point of a "_xHHHH_" escape at s, or -1 when s does not start with one. */
static long clixml_escape(const char *s)
{
	char hex[5];
	int i;

	if (s[0] != '_' || s[1] != 'x')
		return -1;
	for (i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)s[2 + i]))
			return -1;
		hex[i] = s[2 + i];
	}
	if (s[6] != '_')
		return -1;
	hex[4] = '\0';
	return (long)strtoul(hex, NULL, 16);
}

/* Append CLIXML text, turning _x000D__x000A_ into "\n" (as pywinrm) and other _xHHHH_
 * escapes of BMP characters into UTF-8. */
static int append_unescaped(struct buf *o, const char *s)
{
	int r = 0;

	while (*s && r == 0) {
		if (strncmp(s, "_x000D__x000A_", 14) == 0) {
			r = buf_try_append_str(o, "\n");
			s += 14;
			continue;
		}
		long esc = clixml_escape(s);

		if (esc >= 0) {
			unsigned cp = (unsigned)esc;
			uint8_t u[3];
			size_t n;

			if (cp >= 0xd800 && cp <= 0xdfff) {
				r = buf_try_append(o, s, 1);
				s++;
				continue;
			}
			if (cp < 0x80) {
				u[0] = (uint8_t)cp;
				n = 1;
			} else if (cp < 0x800) {
				u[0] = (uint8_t)(0xc0 | cp >> 6);
				u[1] = (uint8_t)(0x80 | (cp & 0x3f));
				n = 2;
			} else {
				u[0] = (uint8_t)(0xe0 | cp >> 12);
				u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
				u[2] = (uint8_t)(0x80 | (cp & 0x3f));
				n = 3;
			}
			r = buf_try_append(o, u, n);
			s += 7;
			continue;
		}
		r = buf_try_append(o, s, 1);
		s++;
	}
	return r;
}

/* Replace a "#< CLIXML" stderr with its plain-text message. */
int winrm_ps_clixml_to_text(struct buf *data)
{
	struct buf text;
	const char *xml;
	size_t plen = strlen(CLIXML_PREFIX), xlen, b, e;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, n;
	int r = 0;

	if (!data->data || data->len < plen || memcmp(data->data, CLIXML_PREFIX, plen) != 0)
		return 0;
	xml = (const char *)data->data + plen;
	xlen = data->len - plen;
	if (xlen > INT32_MAX || memmem(xml, xlen, "<!DOCTYPE", 9) ||
	    memmem(xml, xlen, "<!ENTITY", 8))
		return 0;
	buf_init(&text, data->max);
	doc = xmlReadMemory(xml, (int)xlen, "clixml.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				    XML_PARSE_NOCDATA);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || doc->intSubset)
		goto out;
	/* The S children of the root carry the messages (pywinrm takes all of them). */
	for (n = root->children; n && r == 0; n = n->next) {
		xmlChar *s;

		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "S") != 0)
			continue;
		s = xmlNodeGetContent(n);
		if (s)
			r = append_unescaped(&text, (const char *)s);
		xmlFree(s);
	}
	if (r < 0 || !text.data)
		goto out;
	for (b = 0; b < text.len && strchr(" \t\r\n", text.data[b]); b++)
		;
	for (e = text.len; e > b && strchr(" \t\r\n", text.data[e - 1]); e--)
		;
	if (e == b)
		goto out;
	buf_reset(data);
	r = buf_try_append(data, text.data + b, e - b);
	if (r == 0)
		r = 1;
out:
	if (doc)
		xmlFreeDoc(doc);
	buf_free(&text);
	return r;
}

/* Run script through a resolved configuration and decode CLIXML stderr. */
static int run_ps(const struct winrm_conf *conf, const char *script, struct winrm_result *ret,
		  char *errbuf, size_t errlen)
{
	struct winrm_result res;
	struct buf err;
	char *cmd = NULL;
	int r;

	r = winrm_ps_encode_command(script, &cmd);
	if (r == -E2BIG)
		return winrm_err(errbuf, errlen, r, "PowerShell script too long");
	if (r == -EILSEQ)
		return winrm_err(errbuf, errlen, r, "PowerShell script is not valid UTF-8");
	if (r < 0)
		return winrm_err(errbuf, errlen, r, "cannot encode PowerShell script");
	r = winrm_run_resolved(conf, cmd, NULL, 0, &res, errbuf, errlen);
	free(cmd);
	if (r < 0)
		return r;
	if (res.err_len) {
		err.data = (char *)res.err;
		err.len = res.err_len;
		err.cap = res.err_len + 1;
		err.max = conf->max_output;
		r = winrm_ps_clixml_to_text(&err);
		res.err = (uint8_t *)err.data;
		res.err_len = err.len;
		if (r < 0) {
			winrm_result_free(&res);
			return winrm_err(errbuf, errlen, r,
					 "cannot decode PowerShell error output");
		}
	}
	*ret = res;
	return 0;
}

/* Public: run a PowerShell script. */
int winrm_run_powershell(const struct winrm_target *target, const char *script,
			 struct winrm_result *ret, char *errbuf, size_t errlen)
{
	struct winrm_conf conf;
	int r;

	r = winrm_run_begin(target && ret && script, errbuf, errlen);
	if (r < 0)
		return r;
	r = winrm_conf_resolve(target, &conf, errbuf, errlen);
	if (r == 0) {
		r = run_ps(&conf, script, ret, errbuf, errlen);
		winrm_conf_done(&conf);
	}
	if (r < 0)
		winrm_err_scrub(errbuf, target->password);
	return r;
}

/* Public: read a remote file with Get-Content. */
int winrm_read_file(const struct winrm_target *target, const char *path, char **ret_content,
		    size_t *ret_len, char *errbuf, size_t errlen)
{
	struct winrm_target t;
	struct winrm_conf conf;
	struct winrm_result res;
	char *script = NULL, msg[512];
	bool resolved = false;
	int r;

	r = winrm_run_begin(target && path && ret_content && ret_len, errbuf, errlen);
	if (r < 0)
		return r;
	r = winrm_ps_read_file_script(path, &script);
	if (r < 0) {
		r = winrm_err(errbuf, errlen, r, "invalid remote file path");
		goto out;
	}
	t = *target;
	if (!t.codepage)
		t.codepage = 65001; /* UTF-8 console output, so the content survives */
	r = winrm_conf_resolve(&t, &conf, errbuf, errlen);
	if (r < 0)
		goto out;
	resolved = true;
	r = run_ps(&conf, script, &res, errbuf, errlen);
	if (r < 0)
		goto out;
	if (res.exit_code != 0) {
		winrm_err_sanitize(msg, sizeof(msg), (const char *)res.err, res.err_len);
		r = winrm_err(errbuf, errlen, -EREMOTEIO, "WinRM read failed (%" PRId64 "): %s",
			      res.exit_code, msg);
		winrm_result_free(&res);
		goto out;
	}
	*ret_content = (char *)res.out;
	*ret_len = res.out_len;
	res.out = NULL;
	winrm_result_free(&res);
out:
	if (resolved)
		winrm_conf_done(&conf);
	free(script);
	if (r < 0)
		winrm_err_scrub(errbuf, target->password);
	return r;
}

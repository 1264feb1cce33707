/* HTTP negotiation for the status page (see ui_neg.h): RFC 9110 §12.5.1 Accept and §13.1.2
 * If-None-Match, read without copies over the bounded header the HTTP layer hands us. */
#include "ui_neg.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "common/strutil.h"

#define UI_NEG_NONE (-1)

/* A qvalue ("0", "0.5", "1", "1.000") in thousandths; UI_NEG_NONE when malformed. */
static int ui_neg_qvalue(const char *s, size_t n)
{
	static const int scale[] = { 100, 10, 1 };
	int q;
	size_t i;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return UI_NEG_NONE;
	q = (s[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return UI_NEG_NONE;
	for (i = 2; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return UI_NEG_NONE;
		q += (s[i] - '0') * scale[i - 2];
	}
	return q <= 1000 ? q : UI_NEG_NONE;
}

/* The span s[0..n) up to the first sep (or all of it), trimmed; *rest is what follows the
 * sep, or NULL when there was none. */
static void ui_neg_split(const char *s, size_t n, char sep, const char **ret, size_t *ret_n,
			 const char **rest, size_t *rest_n)
{
	const char *end = memchr(s, sep, n);
	size_t len = end ? (size_t)(end - s) : n;

	*rest = end ? end + 1 : NULL;
	*rest_n = end ? n - len - 1 : 0;
	str_trim(&s, &len);
	*ret = s;
	*ret_n = len;
}

static bool ui_neg_is(const char *s, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

/* One media range with its parameters: its quality in thousandths (1000 without q=), or
 * UI_NEG_NONE when its q= is malformed. The range itself goes to ret and ret_n. */
static int ui_neg_item(const char *item, size_t n, const char **ret, size_t *ret_n)
{
	const char *param, *rest;
	size_t param_n, rest_n;
	int q = 1000;

	ui_neg_split(item, n, ';', ret, ret_n, &rest, &rest_n);
	while (rest != NULL) {
		ui_neg_split(rest, rest_n, ';', &param, &param_n, &rest, &rest_n);
		if (param_n >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
			q = ui_neg_qvalue(param + 2, param_n - 2);
			break; /* what follows q= are accept-extensions */
		}
	}
	return q;
}

bool ui_neg_prefers_html(const char *accept)
{
	const char *p = accept, *item, *range;
	size_t n, range_n, index = 0, html_at = 0, json_at = 0;
	int html = UI_NEG_NONE, json = UI_NEG_NONE, q;

	if (accept == NULL)
		return false;
	while (str_next_item(&p, ',', &item, &n)) {
		index++;
		q = ui_neg_item(item, n, &range, &range_n);
		if (q == UI_NEG_NONE)
			continue;
		if (ui_neg_is(range, range_n, "text/html") ||
		    ui_neg_is(range, range_n, "application/xhtml+xml")) {
			if (q > html) {
				html = q;
				html_at = index;
			}
		} else if (ui_neg_is(range, range_n, "application/json")) {
			if (q > json) {
				json = q;
				json_at = index;
			}
		}
	}
	if (html <= 0)
		return false;
	return html > json || (html == json && html_at < json_at);
}

bool ui_neg_etag_match(const char *if_none_match, const char *etag)
{
	const char *p = if_none_match, *item;
	size_t n, len = strlen(etag);

	if (if_none_match == NULL)
		return false;
	while (str_next_item(&p, ',', &item, &n)) {
		if (n == 1 && item[0] == '*')
			return true;
		if (n >= 2 && item[0] == 'W' && item[1] == '/') {
			item += 2;
			n -= 2;
		}
		if (n == len && memcmp(item, etag, len) == 0)
			return true;
	}
	return false;
}

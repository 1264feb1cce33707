/* JSON helpers with the original's (Python) coercion rules: truthiness, int(), str(), args. */
#include "jsonx.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strutil.h"
#include "common/xmalloc.h"

json_t *jsonx_body_object(const char *body, size_t len)
{
	json_t *v;

	if (body == NULL || len == 0)
		return json_object();
	v = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	if (v == NULL)
		return json_object();
	if (!json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

bool jsonx_truthy(const json_t *v)
{
	if (v == NULL)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_TRUE:
		return true;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	}
	return false;
}

bool jsonx_parse_bool_str(const char *s, size_t n)
{
	char *t = str_trim_dup(s, n);
	bool r;

	r = !(strcasecmp(t, "false") == 0 || strcmp(t, "0") == 0 || strcasecmp(t, "no") == 0 ||
	      strcasecmp(t, "off") == 0);
	free(t);
	return r;
}

bool jsonx_parse_bool(const json_t *v, bool def)
{
	if (v == NULL || json_is_null(v))
		return def; /* None -> default */
	if (json_is_boolean(v))
		return json_is_true(v);
	if (!json_is_string(v))
		return jsonx_truthy(v);
	return jsonx_parse_bool_str(json_string_value(v), json_string_length(v));
}

int jsonx_str_int(const char *s, size_t n, int64_t *ret)
{
	char *t;
	const char *p;
	int r;

	if (memchr(s, '\0', n))
		return -EINVAL;
	t = str_trim_dup(s, n);
	p = t[0] == '+' ? t + 1 : t;
	r = parse_i64(p, INT64_MIN, INT64_MAX, ret);
	free(t);
	return r < 0 ? -EINVAL : 0;
}

int jsonx_int(const json_t *v, int64_t min, int64_t max, int64_t *ret)
{
	int64_t x;

	if (v == NULL)
		return -EINVAL;
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		x = json_integer_value(v);
		break;
	case JSON_TRUE:
		x = 1;
		break;
	case JSON_FALSE:
		x = 0;
		break;
	case JSON_REAL: {
		double d = json_real_value(v);

		if (!isfinite(d) || d < -9.0e18 || d > 9.0e18)
			return -ERANGE;
		x = (int64_t)d;
		break;
	}
	case JSON_STRING:
		if (jsonx_str_int(json_string_value(v), json_string_length(v), &x) < 0)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (x < min || x > max)
		return -ERANGE;
	*ret = x;
	return 0;
}

int jsonx_double(const json_t *v, double min, double max, double *ret)
{
	double d;
	int r;

	if (v == NULL)
		return -EINVAL;
	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if (json_is_true(v) || json_is_false(v)) {
		d = json_is_true(v) ? 1 : 0;
	} else if (json_is_string(v)) {
		char *t = str_trim_dup(json_string_value(v), json_string_length(v));

		r = parse_double(t, -INFINITY, INFINITY, &d);
		free(t);
		if (r < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (!isfinite(d))
		return -EINVAL;
	if (d < min || d > max)
		return -ERANGE;
	*ret = d;
	return 0;
}

/* Python repr() of a float: shortest round-trip digits, ".0" for integral values. */
static char *real_str(double d)
{
	char buf[64];
	int prec;

	if (isnan(d))
		return xstrdup("nan");
	if (isinf(d))
		return xstrdup(d > 0 ? "inf" : "-inf");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strpbrk(buf, ".eEn") == NULL) {
		size_t n = strlen(buf);

		if (n + 2 < sizeof(buf))
			memcpy(buf + n, ".0", 3);
	}
	return xstrdup(buf);
}

int jsonx_to_str(const json_t *v, char **ret)
{
	if (v == NULL)
		return -EINVAL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (memchr(json_string_value(v), '\0', json_string_length(v)))
			return -EINVAL;
		*ret = xstrdup(json_string_value(v));
		return 0;
	case JSON_INTEGER:
		*ret = xasprintf("%lld", (long long)json_integer_value(v));
		return 0;
	case JSON_REAL:
		*ret = real_str(json_real_value(v));
		return 0;
	case JSON_TRUE:
		*ret = xstrdup("True");
		return 0;
	case JSON_FALSE:
		*ret = xstrdup("False");
		return 0;
	case JSON_NULL:
		*ret = xstrdup("None");
		return 0;
	default:
		return -EINVAL;
	}
}

const char *jsonx_first_str(const json_t *obj, const char *const *keys, bool *ret_bad)
{
	size_t i;

	if (ret_bad)
		*ret_bad = false;
	for (i = 0; keys[i] != NULL; i++) {
		json_t *v = json_object_get(obj, keys[i]);

		if (v == NULL || json_is_null(v))
			continue;
		if (json_is_string(v)) {
			if (json_string_length(v) == 0)
				continue;
			if (memchr(json_string_value(v), '\0', json_string_length(v))) {
				if (ret_bad)
					*ret_bad = true;
				return NULL;
			}
			return json_string_value(v);
		}
		if (ret_bad)
			*ret_bad = true;
		return NULL;
	}
	return NULL;
}

void jsonx_args_free(char **args)
{
	size_t i;

	if (args == NULL)
		return;
	for (i = 0; args[i] != NULL; i++)
		free(args[i]);
	free(args);
}

int jsonx_args(const json_t *v, const char *const *def, size_t ndef, char ***ret, size_t *ret_n)
{
	char **out;
	size_t n = 0, i;
	int r;

	if (v == NULL || json_is_null(v)) {
		out = xcalloc(ndef + 1, sizeof(*out));
		for (i = 0; i < ndef; i++)
			out[i] = xstrdup(def[i]);
		*ret = out;
		*ret_n = ndef;
		return 0;
	}
	if (json_is_object(v))
		return -EINVAL;
	if (!json_is_array(v)) {
		out = xcalloc(2, sizeof(*out));
		r = jsonx_to_str(v, &out[0]);
		if (r < 0) {
			free(out);
			return r;
		}
		if (strlen(out[0]) > JSONX_ARG_LEN_MAX) {
			jsonx_args_free(out);
			return -E2BIG;
		}
		*ret = out;
		*ret_n = 1;
		return 0;
	}
	if (json_array_size(v) > JSONX_ARGS_MAX)
		return -E2BIG;
	out = xcalloc(json_array_size(v) + 1, sizeof(*out));
	for (i = 0; i < json_array_size(v); i++) {
		r = jsonx_to_str(json_array_get(v, i), &out[n]);
		if (r < 0)
			goto fail;
		if (strlen(out[n]) > JSONX_ARG_LEN_MAX) {
			n++;
			r = -E2BIG;
			goto fail;
		}
		n++;
	}
	*ret = out;
	*ret_n = n;
	return 0;
fail:
	jsonx_args_free(out);
	return r;
}

json_t *jsonx_args_json(char *const *args, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(args[i]));
	return a;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len, i;
	unsigned cp;

	if (c < 0x80)
		return c == 0 ? 0 : 1; /* NUL dropped: it cannot appear in a C string */
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

char *jsonx_utf8_lossy(const void *data, size_t n, bool strip)
{
	const unsigned char *p = data;
	char *out = xmalloc(n + 1);
	size_t i = 0, o = 0, start, end;

	while (i < n) {
		size_t l = utf8_seq(p + i, n - i);

		if (l == 0) {
			i++;
			continue;
		}
		memcpy(out + o, p + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	if (!strip)
		return out;
	start = 0;
	end = o;
	while (start < end &&
	       (isspace((unsigned char)out[start]) || out[start] == '\x1c' ||
		out[start] == '\x1d' || out[start] == '\x1e' || out[start] == '\x1f'))
		start++;
	while (end > start &&
	       (isspace((unsigned char)out[end - 1]) || out[end - 1] == '\x1c' ||
		out[end - 1] == '\x1d' || out[end - 1] == '\x1e' || out[end - 1] == '\x1f'))
		end--;
	memmove(out, out + start, end - start);
	out[end - start] = '\0';
	return out;
}

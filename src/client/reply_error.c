/* Error bodies: a printable detail line, an ended session's reason, status -> errno (pure
 * functions, no I/O). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Copy text into out, turning control characters into spaces and trimming. */
static void copy_printable(const char *src, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	while (n > 0 && isspace((unsigned char)*src)) {
		src++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)src[n - 1]))
		n--;
	for (i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)src[i];

		out[o++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[o] = '\0';
	if (i < n && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
}

/* Append s to out at *o (bounded). */
static void put(char *out, size_t outlen, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o + 1 >= outlen)
		return;
	if (n > outlen - 1 - *o)
		n = outlen - 1 - *o;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
}

/* FastAPI validation list: "loc.a.b: msg; ..." */
static void detail_list(json_t *list, char *out, size_t outlen)
{
	size_t i, o = 0, k;
	json_t *e, *loc, *msg, *p;
	char num[32];

	out[0] = '\0';
	json_array_foreach (list, i, e) {
		if (i > 0)
			put(out, outlen, &o, "; ");
		loc = json_object_get(e, "loc");
		if (json_is_array(loc) && json_array_size(loc) > 0) {
			json_array_foreach (loc, k, p) {
				if (k > 0)
					put(out, outlen, &o, ".");
				if (json_is_string(p)) {
					put(out, outlen, &o, json_string_value(p));
				} else if (json_is_integer(p)) {
					snprintf(num, sizeof(num), "%lld",
						 (long long)json_integer_value(p));
					put(out, outlen, &o, num);
				}
			}
			put(out, outlen, &o, ": ");
		}
		msg = json_object_get(e, "msg");
		put(out, outlen, &o, json_is_string(msg) ? json_string_value(msg) : "invalid");
	}
}

/*
 * A printable detail for an error response: {"detail": "..."}, a FastAPI 422 list,
 * other JSON (compact), or the body text (for plain-text 5xx). Empty bodies get
 * the status's reason phrase.
 */
void reply_error_detail(const char *body, size_t len, long status, char *out, size_t outlen)
{
	json_t *j = NULL, *d;
	char *txt;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (body != NULL && len > 0 && reply_load(body, len, &j) == 0) {
		d = json_is_object(j) ? json_object_get(j, "detail") : NULL;
		if (json_is_string(d)) {
			copy_printable(json_string_value(d), json_string_length(d), out, outlen);
		} else if (json_is_array(d)) {
			detail_list(d, out, outlen);
		} else {
			txt = reply_dump(d != NULL ? d : j);
			if (txt != NULL)
				copy_printable(txt, strlen(txt), out, outlen);
			free(txt);
		}
		json_decref(j);
	} else if (body != NULL && len > 0) {
		copy_printable(body, strnlen(body, len), out, outlen);
	}
	if (out[0] == '\0') {
		const char *reason;

		switch (status) {
		case 400:
			reason = "Bad Request";
			break;
		case 401:
			reason = "Unauthorized";
			break;
		case 403:
			reason = "Forbidden";
			break;
		case 404:
			reason = "Not Found";
			break;
		case 405:
			reason = "Method Not Allowed";
			break;
		case 409:
			reason = "Conflict";
			break;
		case 413:
			reason = "Payload Too Large";
			break;
		case 422:
			reason = "Unprocessable Entity";
			break;
		case 423:
			reason = "Locked";
			break;
		case 500:
			reason = "Internal Server Error";
			break;
		case 502:
			reason = "Bad Gateway";
			break;
		case 503:
			reason = "Service Unavailable";
			break;
		case 504:
			reason = "Gateway Timeout";
			break;
		default:
			reason = "unexpected response";
			break;
		}
		snprintf(out, outlen, "%s", reason);
	}
}

/* The errno-style code an error status maps to (documented in remotelab.h). */
int reply_status_errno(long status)
{
	switch (status) {
	case 400:
	case 422:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return -EBUSY;
	case 413:
		return -EFBIG;
	case 423:
		return -EAGAIN;
	default:
		if (status >= 500 && status <= 599)
			return -EREMOTEIO;
		return -EPROTO;
	}
}

/* The "reason" of a 404 for an ended session, printable, into out; -ENOENT without one. */
int reply_end_reason(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *j = NULL, *v;
	int r = -ENOENT;

	if (body == NULL || len == 0 || outlen == 0 || reply_load(body, len, &j) < 0)
		return -ENOENT;
	v = json_is_object(j) ? json_object_get(j, "reason") : NULL;
	if (json_is_string(v) && json_string_length(v) > 0) {
		copy_printable(json_string_value(v), json_string_length(v), out, outlen);
		r = 0;
	}
	json_decref(j);
	return r;
}

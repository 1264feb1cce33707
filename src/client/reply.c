/* Reading neops-remote-lab response bodies: the JSON helpers the reply_*.c parsers share
 * (pure functions, no I/O). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Parse a JSON document; -ENOMEM or -EBADMSG. */
int reply_load(const char *body, size_t len, json_t **ret)
{
	json_error_t jerr;
	json_t *j;

	if (body == NULL || len == 0)
		return -EBADMSG;
	j = json_loadb(body, len, 0, &jerr);
	if (j == NULL)
		return json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
	*ret = j;
	return 0;
}

/* An int-range JSON integer. */
int reply_get_int(json_t *v, int *ret)
{
	json_int_t i;

	if (!json_is_integer(v))
		return -EBADMSG;
	i = json_integer_value(v);
	if (i < INT_MIN || i > INT_MAX)
		return -EBADMSG;
	*ret = (int)i;
	return 0;
}

/* Copy a JSON string member; absent/null gives NULL, another type is an error. */
int reply_dup_opt_string(json_t *obj, const char *key, char **ret)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	char *s;

	if (v == NULL || json_is_null(v)) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v)) {
		*ret = NULL;
		return 0; /* vendor data of another shape: treat as absent */
	}
	s = strndup(json_string_value(v), json_string_length(v));
	if (s == NULL)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* Serialise compactly; NULL means out of memory. */
char *reply_dump(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* A JSON number (integer or real) as a double; absent or null gives def. */
int reply_get_num(json_t *obj, const char *key, double def, double *ret)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v)) {
		*ret = def;
		return 0;
	}
	if (!json_is_number(v))
		return -EBADMSG;
	*ret = json_number_value(v);
	return isfinite(*ret) ? 0 : -EBADMSG;
}

/* A JSON integer as a long; absent or null gives def. */
int reply_get_long(json_t *obj, const char *key, long def, long *ret)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v)) {
		*ret = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < LONG_MIN / 2 ||
	    json_integer_value(v) > LONG_MAX / 2)
		return -EBADMSG;
	*ret = (long)json_integer_value(v);
	return 0;
}

/* A required string member copied (empty string when absent). */
int reply_dup_string_or_empty(json_t *obj, const char *key, char **ret)
{
	int r = reply_dup_opt_string(obj, key, ret);

	if (r == 0 && *ret == NULL) {
		*ret = strdup("");
		if (*ret == NULL)
			return -ENOMEM;
	}
	return r;
}

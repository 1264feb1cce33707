/* Session bodies: POST /session and GET /session/{id} answers, and the body of POST /session
 * (pure functions, no I/O). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* {"session_id": str, "position": int} from POST /session. */
int reply_session_created(const char *body, size_t len, char **ret_id, int *ret_position)
{
	json_t *j = NULL, *id;
	char *s;
	int r, pos;

	r = reply_load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	id = json_object_get(j, "session_id");
	if (!json_is_string(id) || json_string_length(id) == 0 ||
	    strlen(json_string_value(id)) != json_string_length(id))
		goto out;
	if (reply_get_int(json_object_get(j, "position"), &pos) < 0)
		goto out;
	s = strdup(json_string_value(id));
	if (s == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*ret_id = s;
	if (ret_position != NULL)
		*ret_position = pos;
	r = 0;
out:
	json_decref(j);
	return r;
}

/* {"status": "waiting"|"active", "position": int} from GET /session/{id}. */
int reply_session_status(const char *body, size_t len, enum rl_session_state *ret_state,
			 int *ret_position)
{
	enum rl_session_state st;
	json_t *j = NULL, *s;
	int r, pos;

	r = reply_load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	s = json_object_get(j, "status");
	if (!json_is_string(s))
		goto out;
	if (strcasecmp(json_string_value(s), "active") == 0)
		st = RL_SESSION_ACTIVE;
	else if (strcasecmp(json_string_value(s), "waiting") == 0)
		st = RL_SESSION_WAITING;
	else
		goto out;
	if (reply_get_int(json_object_get(j, "position"), &pos) < 0)
		goto out;
	if (ret_state != NULL)
		*ret_state = st;
	if (ret_position != NULL)
		*ret_position = pos;
	r = 0;
out:
	json_decref(j);
	return r;
}

/* {"handle": str} of a POST /session answered to a JSON body; absent gives NULL. */
int reply_session_handle(const char *body, size_t len, char **ret_handle)
{
	json_t *j = NULL;
	int r;

	r = reply_load(body, len, &j);
	if (r == 0)
		r = reply_dup_opt_string(j, "handle", ret_handle);
	json_decref(j);
	return r;
}

/* True when s[0..n) is well-formed UTF-8 without NUL. */
static bool utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	unsigned cp, k, i;

	while (p < e) {
		if (*p == 0)
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			k = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			k = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			k = 3;
			cp = *p & 0x07;
		} else {
			return false;
		}
		if ((size_t)(e - p) <= k)
			return false;
		for (i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += k + 1;
	}
	return true;
}

/* The JSON body of POST /session for opts (NULL: "{}"); only the fields that differ from
 * the server's defaults. -EINVAL for values the server would refuse with a 422. */
int reply_session_body(const struct rl_session_opts *o, char **ret)
{
	json_t *j;
	char *s;
	int r = -ENOMEM;

	if (o != NULL) {
		if (o->size < offsetof(struct rl_session_opts, no_wait) + sizeof(o->no_wait) ||
		    o->priority < -1000 || o->priority > 1000 || !isfinite(o->max_wait) ||
		    o->max_wait < 0 ||
		    (o->label != NULL &&
		     (strlen(o->label) > 128 || !utf8_ok(o->label, strlen(o->label)))))
			return -EINVAL;
	}
	j = json_object();
	if (j == NULL)
		return -ENOMEM;
	if (o != NULL) {
		if (o->priority != 0 &&
		    json_object_set_new(j, "priority", json_integer(o->priority)) < 0)
			goto out;
		if (o->label != NULL && json_object_set_new(j, "label", json_string(o->label)) < 0)
			goto out;
		if (o->max_wait > 0 &&
		    json_object_set_new(j, "max_wait", json_real(o->max_wait)) < 0)
			goto out;
		if (o->no_wait && json_object_set_new(j, "wait", json_false()) < 0)
			goto out;
	}
	s = json_dumps(j, JSON_COMPACT);
	if (s == NULL)
		goto out;
	*ret = s;
	r = 0;
out:
	json_decref(j);
	return r;
}

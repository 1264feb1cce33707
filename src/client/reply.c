/* Parsing of neops-remote-lab response bodies into library structs (pure functions, no I/O). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Parse a JSON document; -ENOMEM or -EBADMSG. */
static int
load(const char *body, size_t len, json_t **ret)
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
static int
get_int(json_t *v, int *ret)
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
static int
dup_opt_string(json_t *obj, const char *key, char **ret)
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
static char *
dump(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* {"session_id": str, "position": int} from POST /session. */
int
reply_session_created(const char *body, size_t len, char **ret_id, int *ret_position)
{
	json_t *j = NULL, *id;
	char *s;
	int r, pos;

	r = load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	id = json_object_get(j, "session_id");
	if (!json_is_string(id) || json_string_length(id) == 0 ||
	    strlen(json_string_value(id)) != json_string_length(id))
		goto out;
	if (get_int(json_object_get(j, "position"), &pos) < 0)
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
int
reply_session_status(const char *body, size_t len, enum rl_session_state *ret_state,
		     int *ret_position)
{
	enum rl_session_state st;
	json_t *j = NULL, *s;
	int r, pos;

	r = load(body, len, &j);
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
	if (get_int(json_object_get(j, "position"), &pos) < 0)
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

/* Free one device's strings. */
static void
device_clear(struct rl_device *d)
{
	free(d->name);
	free(d->mgmt_ipv4);
	free(d->ansible_host);
	free(d->ansible_user);
	free(d->ansible_network_os);
	free(d->raw_json);
}

/* Free a device list and everything in it. */
void
rl_devices_free(struct rl_devices *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		device_clear(&d->items[i]);
	free(d->items);
	free(d->json);
	free(d);
}

/* One DeviceInfo {name, raw} into dev. */
static int
device_from_json(json_t *o, struct rl_device *dev)
{
	json_t *name, *raw, *mgmt;
	int r;

	if (!json_is_object(o))
		return -EBADMSG;
	name = json_object_get(o, "name");
	if (!json_is_string(name) || strlen(json_string_value(name)) != json_string_length(name))
		return -EBADMSG;
	dev->name = strdup(json_string_value(name));
	if (dev->name == NULL)
		return -ENOMEM;
	raw = json_object_get(o, "raw");
	mgmt = json_is_object(raw) ? json_object_get(raw, "mgmt") : NULL;
	r = dup_opt_string(mgmt, "ipv4", &dev->mgmt_ipv4);
	if (r < 0)
		return r;
	r = dup_opt_string(raw, "ansible_host", &dev->ansible_host);
	if (r < 0)
		return r;
	r = dup_opt_string(raw, "ansible_user", &dev->ansible_user);
	if (r < 0)
		return r;
	r = dup_opt_string(raw, "ansible_network_os", &dev->ansible_network_os);
	if (r < 0)
		return r;
	if (raw == NULL)
		dev->raw_json = strdup("null");
	else
		dev->raw_json = dump(raw);
	if (dev->raw_json == NULL)
		return -ENOMEM;
	return 0;
}

/* A JSON array of DeviceInfo into a new struct rl_devices. */
static int
devices_from_json(json_t *arr, struct rl_devices **ret)
{
	struct rl_devices *d;
	size_t i, n;
	int r;

	if (!json_is_array(arr))
		return -EBADMSG;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	n = json_array_size(arr);
	if (n > 0) {
		d->items = calloc(n, sizeof(*d->items));
		if (d->items == NULL) {
			r = -ENOMEM;
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		d->n = i + 1; /* so that a failure frees what was filled */
		r = device_from_json(json_array_get(arr, i), &d->items[i]);
		if (r < 0)
			goto fail;
	}
	d->n = n;
	d->json = dump(arr);
	if (d->json == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	*ret = d;
	return 0;
fail:
	rl_devices_free(d);
	return r;
}

/* [DeviceInfo...] from GET /lab/devices. */
int
reply_devices(const char *body, size_t len, struct rl_devices **ret)
{
	json_t *j = NULL;
	int r;

	r = load(body, len, &j);
	if (r == 0)
		r = devices_from_json(j, ret);
	json_decref(j);
	return r;
}

/* {"reused": bool, "devices": [...]} from POST /lab. */
int
reply_acquire(const char *body, size_t len, struct rl_devices **ret)
{
	struct rl_devices *d = NULL;
	json_t *j = NULL, *reused;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		goto out;
	reused = json_object_get(j, "reused");
	if (!json_is_boolean(reused)) {
		r = -EBADMSG;
		goto out;
	}
	r = devices_from_json(json_object_get(j, "devices"), &d);
	if (r < 0)
		goto out;
	d->reused = json_is_true(reused);
	*ret = d;
out:
	json_decref(j);
	return r;
}

/* Free a lab status. */
void
rl_lab_status_free(struct rl_lab_status *s)
{
	if (s == NULL)
		return;
	free(s->topology);
	rl_devices_free(s->devices);
	free(s->json);
	free(s);
}

/* LabStatus {running, topology, ref_count, devices, netlab_status} from GET /lab. */
int
reply_lab_status(const char *body, size_t len, struct rl_lab_status **ret)
{
	struct rl_lab_status *s = NULL;
	json_t *j = NULL, *running, *topo, *ref, *devs;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	running = json_object_get(j, "running");
	topo = json_object_get(j, "topology");
	ref = json_object_get(j, "ref_count");
	devs = json_object_get(j, "devices");
	if (!json_is_boolean(running) || !json_is_integer(ref) ||
	    (topo != NULL && !json_is_null(topo) && !json_is_string(topo)))
		goto out;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		r = -ENOMEM;
		goto out;
	}
	s->running = json_is_true(running);
	s->ref_count = (long)json_integer_value(ref);
	r = dup_opt_string(j, "topology", &s->topology);
	if (r < 0)
		goto out;
	if (devs == NULL || json_is_null(devs)) {
		s->devices = calloc(1, sizeof(*s->devices));
		if (s->devices == NULL || (s->devices->json = strdup("[]")) == NULL) {
			r = -ENOMEM;
			goto out;
		}
	} else {
		r = devices_from_json(devs, &s->devices);
		if (r < 0)
			goto out;
	}
	s->json = dump(j);
	if (s->json == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*ret = s;
	s = NULL;
	r = 0;
out:
	rl_lab_status_free(s);
	json_decref(j);
	return r;
}

/* Copy text into out, turning control characters into spaces and trimming. */
static void
copy_printable(const char *src, size_t n, char *out, size_t outlen)
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
static void
put(char *out, size_t outlen, size_t *o, const char *s)
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
static void
detail_list(json_t *list, char *out, size_t outlen)
{
	size_t i, o = 0, k;
	json_t *e, *loc, *msg, *p;
	char num[32];

	out[0] = '\0';
	json_array_foreach(list, i, e) {
		if (i > 0)
			put(out, outlen, &o, "; ");
		loc = json_object_get(e, "loc");
		if (json_is_array(loc) && json_array_size(loc) > 0) {
			json_array_foreach(loc, k, p) {
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
void
reply_error_detail(const char *body, size_t len, long status, char *out, size_t outlen)
{
	json_t *j = NULL, *d;
	char *txt;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (body != NULL && len > 0 && load(body, len, &j) == 0) {
		d = json_is_object(j) ? json_object_get(j, "detail") : NULL;
		if (json_is_string(d)) {
			copy_printable(json_string_value(d), json_string_length(d), out, outlen);
		} else if (json_is_array(d)) {
			detail_list(d, out, outlen);
		} else {
			txt = dump(d != NULL ? d : j);
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
		case 400: reason = "Bad Request"; break;
		case 401: reason = "Unauthorized"; break;
		case 403: reason = "Forbidden"; break;
		case 404: reason = "Not Found"; break;
		case 405: reason = "Method Not Allowed"; break;
		case 409: reason = "Conflict"; break;
		case 413: reason = "Payload Too Large"; break;
		case 422: reason = "Unprocessable Entity"; break;
		case 423: reason = "Locked"; break;
		case 500: reason = "Internal Server Error"; break;
		case 502: reason = "Bad Gateway"; break;
		case 503: reason = "Service Unavailable"; break;
		case 504: reason = "Gateway Timeout"; break;
		default: reason = "unexpected response"; break;
		}
		snprintf(out, outlen, "%s", reason);
	}
}

/* The errno-style code an error status maps to (documented in remotelab.h). */
int
reply_status_errno(long status)
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

/* --- queue controls, pools and the operators' view (new, optional server features) --- */

/* {"handle": str} of a POST /session answered to a JSON body; absent gives NULL. */
int
reply_session_handle(const char *body, size_t len, char **ret_handle)
{
	json_t *j = NULL;
	int r;

	r = load(body, len, &j);
	if (r == 0)
		r = dup_opt_string(j, "handle", ret_handle);
	json_decref(j);
	return r;
}

/* The "reason" of a 404 for an ended session, printable, into out; -ENOENT without one. */
int
reply_end_reason(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *j = NULL, *v;
	int r = -ENOENT;

	if (body == NULL || len == 0 || outlen == 0 || load(body, len, &j) < 0)
		return -ENOENT;
	v = json_is_object(j) ? json_object_get(j, "reason") : NULL;
	if (json_is_string(v) && json_string_length(v) > 0) {
		copy_printable(json_string_value(v), json_string_length(v), out, outlen);
		r = 0;
	}
	json_decref(j);
	return r;
}

/* True when s[0..n) is well-formed UTF-8 without NUL. */
static bool
utf8_ok(const char *s, size_t n)
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
int
reply_session_body(const struct rl_session_opts *o, char **ret)
{
	json_t *j;
	char *s;
	int r = -ENOMEM;

	if (o != NULL) {
		if (o->size < offsetof(struct rl_session_opts, no_wait) + sizeof(o->no_wait) ||
		    o->priority < -1000 || o->priority > 1000 || !isfinite(o->max_wait) ||
		    o->max_wait < 0 ||
		    (o->label != NULL && (strlen(o->label) > 128 || !utf8_ok(o->label, strlen(o->label)))))
			return -EINVAL;
	}
	j = json_object();
	if (j == NULL)
		return -ENOMEM;
	if (o != NULL) {
		if (o->priority != 0 && json_object_set_new(j, "priority", json_integer(o->priority)) < 0)
			goto out;
		if (o->label != NULL && json_object_set_new(j, "label", json_string(o->label)) < 0)
			goto out;
		if (o->max_wait > 0 && json_object_set_new(j, "max_wait", json_real(o->max_wait)) < 0)
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

/* A JSON number (integer or real) as a double; absent or null gives def. */
static int
get_num(json_t *obj, const char *key, double def, double *ret)
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
static int
get_long(json_t *obj, const char *key, long def, long *ret)
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
static int
dup_string_or_empty(json_t *obj, const char *key, char **ret)
{
	int r = dup_opt_string(obj, key, ret);

	if (r == 0 && *ret == NULL) {
		*ret = strdup("");
		if (*ret == NULL)
			return -ENOMEM;
	}
	return r;
}

void
rl_host_info_free(struct rl_host_info *h)
{
	size_t i;

	if (h == NULL)
		return;
	free(h->name);
	free(h->version);
	for (i = 0; i < h->n_warm; i++)
		free(h->warm[i]);
	free(h->warm);
	for (i = 0; i < h->n_tags; i++) {
		free(h->tag_keys[i]);
		free(h->tag_values[i]);
	}
	free(h->tag_keys);
	free(h->tag_values);
	free(h->json);
	free(h);
}

#define REPLY_MAX_ITEMS 4096 /* warm hashes, tags, sessions, labs, devices: more is garbage */

/* GET /host. */
int
reply_host(const char *body, size_t len, struct rl_host_info **ret)
{
	struct rl_host_info *h = NULL;
	json_t *j = NULL, *name, *warm, *tags, *drain, *v;
	const char *key;
	size_t i, n;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	name = json_object_get(j, "name");
	warm = json_object_get(j, "warm");
	tags = json_object_get(j, "tags");
	drain = json_object_get(j, "draining");
	if (!json_is_string(name) || strlen(json_string_value(name)) != json_string_length(name) ||
	    (warm != NULL && !json_is_null(warm) && !json_is_array(warm)) ||
	    (tags != NULL && !json_is_null(tags) && !json_is_object(tags)) ||
	    (drain != NULL && !json_is_boolean(drain)) || json_array_size(warm) > REPLY_MAX_ITEMS ||
	    json_object_size(tags) > REPLY_MAX_ITEMS)
		goto out;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = get_long(j, "slots", 1, &h->slots)) < 0 ||
	    (r = get_long(j, "free_slots", 0, &h->free_slots)) < 0 ||
	    (r = get_long(j, "active", 0, &h->active)) < 0 ||
	    (r = get_long(j, "waiting", 0, &h->waiting)) < 0 ||
	    (r = get_long(j, "queue_length", 0, &h->queue_length)) < 0 ||
	    (r = get_num(j, "estimated_wait", -1, &h->estimated_wait)) < 0)
		goto out;
	h->draining = json_is_true(drain);
	r = -ENOMEM;
	h->name = strdup(json_string_value(name));
	if (h->name == NULL || dup_opt_string(j, "version", &h->version) < 0)
		goto out;
	n = json_array_size(warm);
	if (n > 0 && (h->warm = calloc(n, sizeof(*h->warm))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		v = json_array_get(warm, i);
		if (!json_is_string(v))
			continue; /* not a hash: ignore */
		h->warm[h->n_warm] = strdup(json_string_value(v));
		if (h->warm[h->n_warm] == NULL)
			goto out;
		h->n_warm++;
	}
	n = json_object_size(tags);
	if (n > 0 && ((h->tag_keys = calloc(n, sizeof(char *))) == NULL ||
		      (h->tag_values = calloc(n, sizeof(char *))) == NULL))
		goto out;
	json_object_foreach(tags, key, v) {
		if (!json_is_string(v))
			continue; /* tags are strings; anything else can't match a requirement */
		h->tag_keys[h->n_tags] = strdup(key);
		h->tag_values[h->n_tags] = strdup(json_string_value(v));
		if (h->tag_keys[h->n_tags] == NULL || h->tag_values[h->n_tags] == NULL) {
			free(h->tag_keys[h->n_tags]);
			free(h->tag_values[h->n_tags]);
			goto out;
		}
		h->n_tags++;
	}
	h->json = dump(j);
	if (h->json == NULL)
		goto out;
	*ret = h;
	h = NULL;
	r = 0;
out:
	rl_host_info_free(h);
	json_decref(j);
	return r;
}

void
rl_queue_free(struct rl_queue *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->n; i++) {
		free(q->items[i].handle);
		free(q->items[i].label);
		free(q->items[i].lab_hash);
	}
	free(q->items);
	free(q->json);
	free(q);
}

/* One entry of GET /sessions. */
static int
queue_entry(json_t *o, struct rl_queue_entry *e)
{
	json_t *st = json_object_get(o, "state");
	int r;

	if (!json_is_object(o) || !json_is_string(st))
		return -EBADMSG;
	if (strcasecmp(json_string_value(st), "active") == 0)
		e->state = RL_SESSION_ACTIVE;
	else if (strcasecmp(json_string_value(st), "waiting") == 0)
		e->state = RL_SESSION_WAITING;
	else
		return -EBADMSG;
	if ((r = get_long(o, "position", 0, &e->position)) < 0 ||
	    (r = get_long(o, "priority", 0, &e->priority)) < 0 ||
	    (r = get_num(o, "age", 0, &e->age)) < 0 ||
	    (r = get_num(o, "last_seen_age", 0, &e->last_seen_age)) < 0 ||
	    (r = get_long(o, "slot", -1, &e->slot)) < 0 ||
	    (r = get_num(o, "estimated_wait", -1, &e->estimated_wait)) < 0)
		return r;
	if ((r = dup_string_or_empty(o, "handle", &e->handle)) < 0 ||
	    (r = dup_opt_string(o, "label", &e->label)) < 0 ||
	    (r = dup_opt_string(o, "lab_hash", &e->lab_hash)) < 0)
		return r;
	return 0;
}

/* GET /sessions. */
int
reply_queue(const char *body, size_t len, struct rl_queue **ret)
{
	struct rl_queue *q = NULL;
	json_t *j = NULL, *list;
	size_t i, n;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	list = json_object_get(j, "sessions");
	if (!json_is_array(list) || json_array_size(list) > REPLY_MAX_ITEMS)
		goto out;
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		r = -ENOMEM;
		goto out;
	}
	r = get_long(j, "slots", 1, &q->slots);
	if (r < 0)
		goto out;
	n = json_array_size(list);
	if (n > 0 && (q->items = calloc(n, sizeof(*q->items))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		q->n = i + 1; /* so that a failure frees what was filled */
		r = queue_entry(json_array_get(list, i), &q->items[i]);
		if (r < 0)
			goto out;
	}
	q->json = dump(j);
	if (q->json == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*ret = q;
	q = NULL;
	r = 0;
out:
	rl_queue_free(q);
	json_decref(j);
	return r;
}

void
rl_labs_free(struct rl_labs *l)
{
	size_t i, k;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		struct rl_lab_info *x = &l->items[i];

		free(x->instance);
		free(x->state);
		free(x->topology);
		free(x->hash);
		free(x->holder);
		for (k = 0; k < x->n_devices; k++) {
			free(x->devices[k].name);
			free(x->devices[k].mgmt_ipv4);
		}
		free(x->devices);
	}
	free(l->items);
	free(l->json);
	free(l);
}

/* One lab of GET /labs. */
static int
lab_info(json_t *o, struct rl_lab_info *x)
{
	json_t *devs, *d, *idle;
	size_t i, n;
	int r;

	if (!json_is_object(o))
		return -EBADMSG;
	devs = json_object_get(o, "devices");
	idle = json_object_get(o, "idle");
	if ((devs != NULL && !json_is_null(devs) && !json_is_array(devs)) ||
	    json_array_size(devs) > REPLY_MAX_ITEMS || (idle != NULL && !json_is_boolean(idle)))
		return -EBADMSG;
	x->idle = json_is_true(idle);
	if ((r = get_long(o, "slot", 0, &x->slot)) < 0 ||
	    (r = get_long(o, "ref_count", 0, &x->ref_count)) < 0 ||
	    (r = get_num(o, "uptime", 0, &x->uptime)) < 0)
		return r;
	if ((r = dup_string_or_empty(o, "instance", &x->instance)) < 0 ||
	    (r = dup_string_or_empty(o, "state", &x->state)) < 0 ||
	    (r = dup_string_or_empty(o, "topology", &x->topology)) < 0 ||
	    (r = dup_string_or_empty(o, "hash", &x->hash)) < 0 ||
	    (r = dup_opt_string(o, "holder", &x->holder)) < 0)
		return r;
	n = json_array_size(devs);
	if (n > 0 && (x->devices = calloc(n, sizeof(*x->devices))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		d = json_array_get(devs, i);
		if (!json_is_object(d))
			return -EBADMSG;
		x->n_devices = i + 1;
		if ((r = dup_string_or_empty(d, "name", &x->devices[i].name)) < 0 ||
		    (r = dup_opt_string(d, "mgmt_ipv4", &x->devices[i].mgmt_ipv4)) < 0)
			return r;
	}
	return 0;
}

/* GET /labs. */
int
reply_labs(const char *body, size_t len, struct rl_labs **ret)
{
	struct rl_labs *l = NULL;
	json_t *j = NULL, *list;
	size_t i, n;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	list = json_object_get(j, "labs");
	if (!json_is_array(list) || json_array_size(list) > REPLY_MAX_ITEMS)
		goto out;
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		r = -ENOMEM;
		goto out;
	}
	n = json_array_size(list);
	if (n > 0 && (l->items = calloc(n, sizeof(*l->items))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		l->n = i + 1;
		r = lab_info(json_array_get(list, i), &l->items[i]);
		if (r < 0)
			goto out;
	}
	l->json = dump(j);
	if (l->json == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*ret = l;
	l = NULL;
	r = 0;
out:
	rl_labs_free(l);
	json_decref(j);
	return r;
}

/* Parsing of neops-remote-lab response bodies into library structs (pure functions, no I/O). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
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

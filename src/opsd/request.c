/* Request validation for the API routes: pure functions from a JSON body to typed fields. */
#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "common/xmalloc.h"
#include "config.h"
#include "hosts.h"
#include "jsonx.h"

#define BAD(...)                                    \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		status = 400;                       \
		goto fail;                          \
	} while (0)

bool request_arg_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7F || c == '&' || c == '|' || c == '<' || c == '>' ||
		    c == '^' || c == '%')
			return false;
	}
	return true;
}

static bool args_safe(char **args)
{
	size_t i;

	for (i = 0; args && args[i]; i++)
		if (!request_arg_safe(args[i]))
			return false;
	return true;
}

/* A truthy optional string field: absent/falsy -> NULL (0); truthy non-string -> -EINVAL. */
static int opt_str(const json_t *body, const char *key, size_t max, char **ret)
{
	json_t *v = json_object_get(body, key);

	*ret = NULL;
	if (!jsonx_truthy(v))
		return 0;
	if (!json_is_string(v) || memchr(json_string_value(v), '\0', json_string_length(v)))
		return -EINVAL;
	if (json_string_length(v) > max)
		return -E2BIG;
	*ret = xstrdup(json_string_value(v));
	return 0;
}

/* A mandatory field: the first alias that is neither null nor ""; scalars as str(). */
static int first_scalar(const json_t *body, const char *const *keys, size_t max, char **ret)
{
	size_t i;

	*ret = NULL;
	for (i = 0; keys[i]; i++) {
		json_t *v = json_object_get(body, keys[i]);

		if (v == NULL || json_is_null(v) ||
		    (json_is_string(v) && json_string_length(v) == 0))
			continue;
		if (jsonx_to_str(v, ret) < 0)
			return -EINVAL;
		if (strlen(*ret) > max) {
			free(*ret);
			*ret = NULL;
			return -E2BIG;
		}
		return 0;
	}
	return 0;
}

/* ---- /api/wol ---------------------------------------------------------------------------- */

void req_wol_clear(struct req_wol *r)
{
	free(r->host);
	free(r->mac);
	free(r->broadcast);
	free(r->ping_target);
	memset(r, 0, sizeof(*r));
}

unsigned request_wol(const json_t *body, const struct host_registry *reg, struct req_wol *ret,
		     char *err, size_t errlen)
{
	struct req_wol r = { 0 };
	const struct host *h = NULL;
	unsigned status = 0;
	json_t *v;
	int64_t i;
	double d;

	if (opt_str(body, "host", REQUEST_NAME_MAX, &r.host) < 0)
		BAD("host must be a string of at most %d characters", REQUEST_NAME_MAX);
	if (r.host)
		h = hosts_get(reg, r.host);
	if (opt_str(body, "mac", 64, &r.mac) < 0)
		BAD("mac must be a string");
	if (r.mac == NULL && h && h->mac)
		r.mac = xstrdup(h->mac);
	if (r.mac == NULL)
		BAD("mac is required");
	if (opt_str(body, "broadcast", 255, &r.broadcast) < 0)
		BAD("broadcast must be a string");
	v = json_object_get(body, "port");
	r.port = 9;
	if (v != NULL) {
		if (jsonx_int(v, 1, 65535, &i) < 0)
			BAD("port must be an integer between 1 and 65535");
		r.port = (unsigned)i;
	}
	if (opt_str(body, "ping_target", 255, &r.ping_target) < 0)
		BAD("ping_target must be a string");
	if (r.ping_target == NULL && h)
		r.ping_target = xstrdup(h->ping_target ? h->ping_target : h->address);
	v = json_object_get(body, "ping_timeout");
	r.ping_timeout = 10;
	if (v != NULL) {
		if (jsonx_double(v, 0, 600, &d) < 0)
			BAD("ping_timeout must be a number between 0 and 600");
		r.ping_timeout = d;
	}
	v = json_object_get(body, "attempts");
	r.attempts = 3;
	if (v != NULL) {
		if (jsonx_int(v, 0, 100, &i) < 0)
			BAD("attempts must be an integer between 0 and 100");
		r.attempts = (unsigned)i;
	}
	*ret = r;
	return 0;
fail:
	req_wol_clear(&r);
	return status;
}

/* ---- /api/winrm ------------------------------------------------------------------------- */

void req_winrm_clear(struct req_winrm *r)
{
	free(r->host);
	free(r->command);
	jsonx_args_free(r->args);
	str_free_secret(r->user);
	str_free_secret(r->password);
	free(r->transport);
	memset(r, 0, sizeof(*r));
}

unsigned request_winrm(const json_t *body, const struct opsd_config *cfg, struct req_winrm *ret,
		       char *err, size_t errlen)
{
	struct req_winrm r = { 0 };
	unsigned status = 0;
	json_t *v;
	int64_t i;

	if (!jsonx_truthy(json_object_get(body, "host")) ||
	    !jsonx_truthy(json_object_get(body, "command")))
		BAD("host and command are required");
	if (opt_str(body, "host", REQUEST_NAME_MAX, &r.host) < 0 ||
	    opt_str(body, "command", 128, &r.command) < 0)
		BAD("host and command must be strings");
	if (!config_command_allowed(cfg, r.command))
		BAD("command '%s' not allowed", r.command);
	v = json_object_get(body, "args");
	if (!jsonx_truthy(v)) {
		r.args = xcalloc(1, sizeof(*r.args));
	} else {
		size_t k;

		if (!json_is_array(v))
			BAD("args must be a list");
		for (k = 0; k < json_array_size(v); k++) {
			json_t *a = json_array_get(v, k);

			if (!json_is_string(a) && !json_is_number(a))
				BAD("args must be a list of strings");
		}
		if (jsonx_args(v, NULL, 0, &r.args, &r.nargs) < 0)
			BAD("args must be a list of at most %d strings", JSONX_ARGS_MAX);
	}
	if (!request_arg_safe(r.command) || !args_safe(r.args))
		BAD("args contain characters that are not allowed");
	if (opt_str(body, "user", REQUEST_STR_MAX, &r.user) < 0 ||
	    opt_str(body, "password", REQUEST_STR_MAX, &r.password) < 0)
		BAD("user and password must be strings");
	if (opt_str(body, "transport", 32, &r.transport) < 0)
		BAD("transport must be a string");
	r.use_ssl = jsonx_truthy(json_object_get(body, "use_ssl"));
	v = json_object_get(body, "port");
	if (jsonx_truthy(v)) {
		if (jsonx_int(v, 1, 65535, &i) < 0)
			BAD("port must be an integer between 1 and 65535");
		r.port = (unsigned)i;
	}
	*ret = r;
	return 0;
fail:
	req_winrm_clear(&r);
	return status;
}

/* ---- /api/heartbeat/poll, /api/hosts/quarantine ------------------------------------------ */

void req_poll_clear(struct req_poll *r)
{
	free(r->host);
	memset(r, 0, sizeof(*r));
}

unsigned request_poll(const json_t *body, struct req_poll *ret, char *err, size_t errlen)
{
	struct req_poll r = { 0 };
	unsigned status = 0;
	json_t *v;

	if (!jsonx_truthy(json_object_get(body, "host")))
		BAD("host is required");
	if (opt_str(body, "host", REQUEST_NAME_MAX, &r.host) < 0)
		BAD("host must be a string");
	v = json_object_get(body, "include_events");
	r.include_events = v == NULL ? true : jsonx_truthy(v);
	*ret = r;
	return 0;
fail:
	req_poll_clear(&r);
	return status;
}

void req_quarantine_clear(struct req_quarantine *r)
{
	free(r->host);
	memset(r, 0, sizeof(*r));
}

unsigned request_quarantine(const json_t *body, struct req_quarantine *ret, char *err,
			    size_t errlen)
{
	struct req_quarantine r = { 0 };
	unsigned status = 0;
	const char *key = jsonx_truthy(json_object_get(body, "host")) ? "host" : "name";

	if (!jsonx_truthy(json_object_get(body, key)))
		BAD("host is required");
	if (opt_str(body, key, REQUEST_NAME_MAX, &r.host) < 0)
		BAD("host must be a string");
	r.quarantined = jsonx_parse_bool(json_object_get(body, "quarantined"), true);
	*ret = r;
	return 0;
fail:
	req_quarantine_clear(&r);
	return status;
}

/* ---- /api/reservations/start|end ----------------------------------------------------------- */

static void wake_opts_clear(struct req_wake_opts *w)
{
	free(w->mac);
	free(w->ping_target);
	free(w->broadcast);
	memset(w, 0, sizeof(*w));
}

void req_resv_clear(struct req_resv *r)
{
	free(r->reservation_id);
	free(r->host);
	free(r->lab_id);
	wake_opts_clear(&r->wake_opts);
	jsonx_args_free(r->prepare_args);
	jsonx_args_free(r->release_args);
	free(r->power_mode);
	jsonx_args_free(r->power_args);
	memset(r, 0, sizeof(*r));
}

static unsigned parse_wake_opts(const json_t *o, struct req_wake_opts *w, char *err, size_t errlen)
{
	unsigned status = 0;
	json_t *v;
	int64_t i;
	double d;

	if (opt_str(o, "mac", 64, &w->mac) < 0)
		BAD("wakeOptions.mac must be a string");
	if (opt_str(o, "ping_target", 255, &w->ping_target) < 0)
		BAD("wakeOptions.ping_target must be a string");
	if (opt_str(o, "broadcast", 255, &w->broadcast) < 0)
		BAD("wakeOptions.broadcast must be a string");
	v = json_object_get(o, "attempts");
	if (jsonx_truthy(v)) {
		if (jsonx_int(v, 0, 100, &i) < 0)
			BAD("wakeOptions.attempts must be an integer between 0 and 100");
		w->has_attempts = true;
		w->attempts = (unsigned)i;
	}
	v = json_object_get(o, "ping_timeout");
	if (jsonx_truthy(v)) {
		if (jsonx_double(v, 0, 600, &d) < 0)
			BAD("wakeOptions.ping_timeout must be a number between 0 and 600");
		w->has_timeout = true;
		w->timeout = d;
	}
	v = json_object_get(o, "port");
	if (jsonx_truthy(v)) {
		if (jsonx_int(v, 1, 65535, &i) < 0)
			BAD("wakeOptions.port must be an integer between 1 and 65535");
		w->has_port = true;
		w->port = (unsigned)i;
	}
	return 0;
fail:
	return status;
}

static unsigned parse_args_field(const json_t *v, const char *def, const char *name, char ***ret,
				 size_t *ret_n, char *err, size_t errlen)
{
	const char *defs[1] = { def };
	unsigned status = 0;
	int r;

	r = jsonx_args(v, defs, def ? 1 : 0, ret, ret_n);
	if (r == -E2BIG)
		BAD("%s has too many or too long items", name);
	if (r < 0)
		BAD("%s must be a list of strings", name);
	if (!args_safe(*ret))
		BAD("%s contain characters that are not allowed", name);
	return 0;
fail:
	return status;
}

static bool mode_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 26) /* "power:" + mode must fit action VARCHAR(32) */
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

unsigned request_resv(const json_t *body, bool is_start, struct req_resv *ret, char *err,
		      size_t errlen)
{
	static const char *const id_keys[] = { "reservationId", "reservation_id", NULL };
	static const char *const host_keys[] = { "host", "hostName", NULL };
	static const char *const lab_keys[] = { "labId", "lab_id", NULL };
	struct req_resv r = { 0 };
	unsigned status = 0;
	json_t *v;
	int rr;

	r.is_start = is_start;
	rr = first_scalar(body, id_keys, REQUEST_ID_MAX, &r.reservation_id);
	if (rr == -E2BIG)
		BAD("reservationId must be at most %d characters", REQUEST_ID_MAX);
	if (rr < 0)
		BAD("reservationId must be a string");
	rr = first_scalar(body, host_keys, REQUEST_NAME_MAX, &r.host);
	if (rr == -E2BIG)
		BAD("host must be at most %d characters", REQUEST_NAME_MAX);
	if (rr < 0)
		BAD("host must be a string");
	if (r.reservation_id == NULL || r.host == NULL)
		BAD("reservationId and host are required");
	rr = first_scalar(body, lab_keys, REQUEST_ID_MAX, &r.lab_id);
	if (rr < 0)
		BAD("labId must be a string of at most %d characters", REQUEST_ID_MAX);
	if (is_start) {
		int64_t grace = 90;
		char def[64];

		r.wake = jsonx_parse_bool(json_object_get(body, "wake"), true);
		v = json_object_get(body, "wakeOptions");
		if (jsonx_truthy(v)) {
			if (!json_is_object(v))
				BAD("wakeOptions must be an object");
			status = parse_wake_opts(v, &r.wake_opts, err, errlen);
			if (status)
				goto fail;
		}
		r.prepare = jsonx_parse_bool(json_object_get(body, "prepare"), true);
		v = json_object_get(body, "guardGrace");
		if (v != NULL && jsonx_int(v, 0, 86400, &grace) < 0)
			BAD("guardGrace must be an integer between 0 and 86400");
		snprintf(def, sizeof(def), "--guard-grace=%lld", (long long)grace);
		status = parse_args_field(json_object_get(body, "prepareArgs"), def, "prepareArgs",
					  &r.prepare_args, &r.n_prepare, err, errlen);
		if (status)
			goto fail;
	} else {
		r.release = jsonx_parse_bool(json_object_get(body, "release"), true);
		status =
			parse_args_field(json_object_get(body, "releaseArgs"), "--reboot",
					 "releaseArgs", &r.release_args, &r.n_release, err, errlen);
		if (status)
			goto fail;
		v = json_object_get(body, "powerAction");
		if (jsonx_truthy(v)) {
			json_t *mode;

			if (!json_is_object(v))
				BAD("powerAction must be an object");
			r.power = true;
			mode = json_object_get(v, "mode");
			if (jsonx_truthy(mode)) {
				if (!json_is_string(mode) || !mode_valid(json_string_value(mode)))
					BAD("powerAction.mode must be a word of at most 26 characters");
				r.power_mode = xstrdup(json_string_value(mode));
			} else {
				r.power_mode = xstrdup("shutdown");
			}
			status = parse_args_field(json_object_get(v, "args"), NULL,
						  "powerAction.args", &r.power_args, &r.n_power,
						  err, errlen);
			if (status)
				goto fail;
		}
	}
	*ret = r;
	return 0;
fail:
	req_resv_clear(&r);
	return status;
}

/* ---- /api/reservations/timeline --------------------------------------------------------- */

void req_timeline_clear(struct req_timeline *r)
{
	free(r->reservation_id);
	memset(r, 0, sizeof(*r));
}

/* Python int() on a query string value; false when it is absent or not an integer. */
static bool query_int(const char *s, int64_t *ret)
{
	return s != NULL && jsonx_str_int(s, strlen(s), ret) == 0;
}

unsigned request_timeline(const char *id, const char *id_alias, const char *limit,
			  const char *offset, const struct opsd_config *cfg,
			  struct req_timeline *ret, char *err, size_t errlen)
{
	struct req_timeline r = { 0 };
	unsigned status = 0;
	int64_t v;

	if (id == NULL || id[0] == '\0')
		id = id_alias;
	if (id == NULL || id[0] == '\0')
		BAD("reservationId is required");
	if (strlen(id) > REQUEST_ID_MAX)
		BAD("reservationId must be at most %d characters", REQUEST_ID_MAX);
	r.reservation_id = xstrdup(id);
	r.limit = cfg->timeline_default_limit;
	if (query_int(limit, &v))
		r.limit = v < 1 ? 1 : v > cfg->timeline_max_ops ? cfg->timeline_max_ops : (long)v;
	r.offset = 0;
	if (query_int(offset, &v))
		r.offset = v < 0 ? 0 : v > 1000000000 ? 1000000000 : (long)v;
	*ret = r;
	return 0;
fail:
	req_timeline_clear(&r);
	return status;
}

/* ---- one entry point ------------------------------------------------------------------- */

unsigned request_parse(enum request_kind kind, const json_t *body, const struct request_env *env,
		       union request *ret, char *err, size_t errlen)
{
	switch (kind) {
	case REQUEST_WOL:
		return request_wol(body, env->hosts, &ret->wol, err, errlen);
	case REQUEST_WINRM:
		return request_winrm(body, env->cfg, &ret->winrm, err, errlen);
	case REQUEST_POLL:
		return request_poll(body, &ret->poll, err, errlen);
	case REQUEST_QUARANTINE:
		return request_quarantine(body, &ret->quarantine, err, errlen);
	case REQUEST_RESV_START:
	case REQUEST_RESV_END:
		return request_resv(body, kind == REQUEST_RESV_START, &ret->resv, err, errlen);
	}
	snprintf(err, errlen, "unknown request");
	return 400;
}

const char *request_host(enum request_kind kind, const union request *r)
{
	switch (kind) {
	case REQUEST_WOL:
		return r->wol.host;
	case REQUEST_WINRM:
		return r->winrm.host;
	case REQUEST_POLL:
		return r->poll.host;
	case REQUEST_QUARANTINE:
		return r->quarantine.host;
	case REQUEST_RESV_START:
	case REQUEST_RESV_END:
		return r->resv.host;
	}
	return NULL;
}

void request_clear(enum request_kind kind, union request *r)
{
	switch (kind) {
	case REQUEST_WOL:
		req_wol_clear(&r->wol);
		break;
	case REQUEST_WINRM:
		req_winrm_clear(&r->winrm);
		break;
	case REQUEST_POLL:
		req_poll_clear(&r->poll);
		break;
	case REQUEST_QUARANTINE:
		req_quarantine_clear(&r->quarantine);
		break;
	case REQUEST_RESV_START:
	case REQUEST_RESV_END:
		req_resv_clear(&r->resv);
		break;
	}
}

/* Host inventory: hosts.json loading, env: credential references, name and lab lookup. */
#include "hosts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/statefile.h"
#include "common/strutil.h"
#include "common/xmalloc.h"
#include "jsonx.h"

static void host_clear(struct host *h)
{
	size_t i;

	free(h->name);
	free(h->key);
	free(h->address);
	free(h->mac);
	str_free_secret(h->winrm_user);
	str_free_secret(h->winrm_pass);
	free(h->winrm_transport);
	free(h->labstation_exe);
	free(h->heartbeat_path);
	free(h->events_path);
	for (i = 0; i < h->n_labs; i++)
		free(h->labs[i]);
	free(h->labs);
	free(h->ping_target);
	free(h->broadcast);
	memset(h, 0, sizeof(*h));
}

/* s, lower-cased in place. */
static char *lower(char *s)
{
	char *p;

	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

char *hosts_lab_key(const char *lab)
{
	char *k = str_trim_dup(lab, strlen(lab));

	if (k[0] == '\0') {
		free(k);
		return NULL;
	}
	return lower(k);
}

/* An optional string field: absent/null -> def (may be NULL). */
static int opt_str(const json_t *e, const char *key, const char *def, char **ret, char *err,
		   size_t errlen, const char *hname)
{
	json_t *v = json_object_get(e, key);

	if (v == NULL || json_is_null(v)) {
		*ret = def ? xstrdup(def) : NULL;
		return 0;
	}
	if (!json_is_string(v) || memchr(json_string_value(v), '\0', json_string_length(v))) {
		snprintf(err, errlen, "host %s: %s must be a string", hname, key);
		return -EINVAL;
	}
	/* The original uses `value or default` for most fields: "" means the default. */
	if (json_string_length(v) == 0 && def != NULL) {
		*ret = xstrdup(def);
		return 0;
	}
	*ret = json_string_length(v) ? xstrdup(json_string_value(v)) : NULL;
	return 0;
}

static int opt_uint(const json_t *e, const char *key, unsigned def, unsigned min, unsigned max,
		    unsigned *ret, char *err, size_t errlen, const char *hname)
{
	json_t *v = json_object_get(e, key);
	int64_t x;

	if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
		*ret = def;
		return 0;
	}
	if (jsonx_int(v, min, max, &x) < 0) {
		snprintf(err, errlen, "host %s: %s must be an integer between %u and %u", hname,
			 key, min, max);
		return -EINVAL;
	}
	*ret = (unsigned)x;
	return 0;
}

/* winrm_user / winrm_pass with the env:VAR indirection. */
static int credential(const json_t *e, const char *key, char **ret, hosts_warn_fn warn,
		      void *userdata, const char *hname, char *err, size_t errlen)
{
	json_t *v = json_object_get(e, key);
	const char *s;

	*ret = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || memchr(json_string_value(v), '\0', json_string_length(v))) {
		snprintf(err, errlen, "host %s: %s must be a string", hname, key);
		return -EINVAL;
	}
	s = json_string_value(v);
	if (strncmp(s, "env:", 4) == 0) {
		const char *val = getenv(s + 4);

		if (val == NULL || val[0] == '\0') {
			if (warn) {
				char msg[512];

				snprintf(
					msg, sizeof(msg),
					"environment variable %s referenced by host %s field %s is not set",
					s + 4, hname, key);
				warn(userdata, msg);
			}
			*ret = xstrdup("");
			return 0;
		}
		*ret = xstrdup(val);
		return 0;
	}
	*ret = xstrdup(s);
	return 0;
}

static int parse_labs(const json_t *e, struct host *h, char *err, size_t errlen)
{
	json_t *v = json_object_get(e, "labs");
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		snprintf(err, errlen, "host %s: labs must be a list", h->name);
		return -EINVAL;
	}
	if (json_array_size(v) > 10000) {
		snprintf(err, errlen, "host %s: too many labs", h->name);
		return -EINVAL;
	}
	h->labs = xcalloc(json_array_size(v) + 1, sizeof(*h->labs));
	for (i = 0; i < json_array_size(v); i++) {
		char *s, *k;

		if (jsonx_to_str(json_array_get(v, i), &s) < 0) {
			snprintf(err, errlen, "host %s: lab ids must be strings or numbers",
				 h->name);
			return -EINVAL;
		}
		k = hosts_lab_key(s);
		free(s);
		if (k != NULL)
			h->labs[h->n_labs++] = k;
	}
	return 0;
}

static int parse_host(const json_t *e, struct host *h, hosts_warn_fn warn, void *userdata,
		      bool *ret_skip, char *err, size_t errlen)
{
	json_t *name = json_object_get(e, "name"), *addr = json_object_get(e, "address");
	int r;

	*ret_skip = false;
	if (!jsonx_truthy(name) || !jsonx_truthy(addr)) {
		*ret_skip = true;
		return 0;
	}
	if (!json_is_string(name) || !json_is_string(addr) ||
	    memchr(json_string_value(name), '\0', json_string_length(name)) ||
	    memchr(json_string_value(addr), '\0', json_string_length(addr))) {
		snprintf(err, errlen, "host entries need string name and address");
		return -EINVAL;
	}
	if (json_string_length(name) > 128 || json_string_length(addr) > 255) {
		snprintf(err, errlen, "host name or address too long");
		return -EINVAL;
	}
	h->name = xstrdup(json_string_value(name));
	h->key = lower(xstrdup(h->name));
	h->address = xstrdup(json_string_value(addr));
	if ((r = opt_str(e, "mac", NULL, &h->mac, err, errlen, h->name)) < 0 ||
	    (r = opt_str(e, "winrm_transport", "ntlm", &h->winrm_transport, err, errlen, h->name)) <
		    0 ||
	    (r = opt_str(e, "labstation_exe", HOSTS_DEFAULT_EXE, &h->labstation_exe, err, errlen,
			 h->name)) < 0 ||
	    (r = opt_str(e, "heartbeat_path", HOSTS_DEFAULT_HEARTBEAT, &h->heartbeat_path, err,
			 errlen, h->name)) < 0 ||
	    (r = opt_str(e, "events_path", HOSTS_DEFAULT_EVENTS, &h->events_path, err, errlen,
			 h->name)) < 0 ||
	    (r = opt_str(e, "ping_target", h->address, &h->ping_target, err, errlen, h->name)) <
		    0 ||
	    (r = opt_str(e, "broadcast", "255.255.255.255", &h->broadcast, err, errlen, h->name)) <
		    0)
		return r;
	if ((r = opt_uint(e, "winrm_port", 0, 1, 65535, &h->winrm_port, err, errlen, h->name)) <
		    0 ||
	    (r = opt_uint(e, "wol_port", 9, 1, 65535, &h->wol_port, err, errlen, h->name)) < 0 ||
	    (r = opt_uint(e, "wake_attempts", 3, 0, 100, &h->wake_attempts, err, errlen, h->name)) <
		    0)
		return r;
	if (h->mac != NULL && strlen(h->mac) > 32) {
		snprintf(err, errlen, "host %s: mac too long", h->name);
		return -EINVAL;
	}
	r = parse_labs(e, h, err, errlen);
	if (r < 0)
		return r;
	h->quarantined = jsonx_parse_bool(json_object_get(e, "quarantined"), false);
	if ((r = credential(e, "winrm_user", &h->winrm_user, warn, userdata, h->name, err,
			    errlen)) < 0 ||
	    (r = credential(e, "winrm_pass", &h->winrm_pass, warn, userdata, h->name, err,
			    errlen)) < 0)
		return r;
	if (h->winrm_user == NULL || h->winrm_user[0] == '\0' || h->winrm_pass == NULL ||
	    h->winrm_pass[0] == '\0') {
		snprintf(err, errlen, "Missing WinRM credentials for host %s", h->name);
		return -EINVAL;
	}
	return 0;
}

int hosts_parse(const char *text, size_t len, hosts_warn_fn warn, void *userdata,
		struct host_registry **ret, char *err, size_t errlen)
{
	struct host_registry *reg;
	json_error_t jerr;
	json_t *root, *list;
	size_t i, j;
	int r = -EINVAL;

	root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "invalid JSON in hosts file (line %d, column %d)", jerr.line,
			 jerr.column);
		return -EINVAL;
	}
	reg = xcalloc(1, sizeof(*reg));
	reg->refs = 1;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "hosts file must hold a JSON object");
		goto fail;
	}
	list = json_object_get(root, "hosts");
	if (list != NULL && !json_is_null(list) && !json_is_array(list)) {
		snprintf(err, errlen, "\"hosts\" must be a list");
		goto fail;
	}
	if (json_array_size(list) > HOSTS_MAX) {
		snprintf(err, errlen, "too many hosts (at most %d)", HOSTS_MAX);
		goto fail;
	}
	reg->hosts = xcalloc(json_array_size(list) + 1, sizeof(*reg->hosts));
	for (i = 0; i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);
		struct host h = { 0 };
		bool skip;

		if (!json_is_object(e)) {
			snprintf(err, errlen, "host entries must be objects");
			goto fail;
		}
		r = parse_host(e, &h, warn, userdata, &skip, err, errlen);
		if (r < 0) {
			host_clear(&h);
			goto fail;
		}
		if (skip)
			continue;
		/* Like a dict keyed by the lower-cased name: a later entry replaces an earlier
		 * one in the earlier one's position. */
		for (j = 0; j < reg->n; j++)
			if (strcmp(reg->hosts[j].key, h.key) == 0)
				break;
		if (j < reg->n) {
			host_clear(&reg->hosts[j]);
			reg->hosts[j] = h;
		} else {
			reg->hosts[reg->n++] = h;
		}
	}
	json_decref(root);
	*ret = reg;
	return 0;
fail:
	json_decref(root);
	hosts_unref(reg);
	return -EINVAL;
}

/* Our words for a failed read, not strerror(): the text reaches API callers on a reload. */
static const char *read_error(int r)
{
	switch (r) {
	case -EFBIG:
		return "file too large";
	case -EINVAL:
		return "not a regular file";
	case -EACCES:
	case -EPERM:
		return "permission denied";
	default:
		return "read error";
	}
}

int hosts_load(const char *path, hosts_warn_fn warn, void *userdata, struct host_registry **ret,
	       char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	r = statefile_read(path, HOSTS_FILE_MAX, &text, &len);
	if (r == -ENOENT) {
		if (warn) {
			char msg[512];

			snprintf(msg, sizeof(msg),
				 "hosts file %s not found, starting with no hosts", path);
			warn(userdata, msg);
		}
		return hosts_parse("{\"hosts\":[]}", 12, warn, userdata, ret, err, errlen);
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot read hosts file: %s", read_error(r));
		return r;
	}
	r = hosts_parse(text, len, warn, userdata, ret, err, errlen);
	free(text);
	return r;
}

struct host_registry *hosts_ref(struct host_registry *reg)
{
	if (reg != NULL)
		reg->refs++;
	return reg;
}

void hosts_unref(struct host_registry *reg)
{
	size_t i;

	if (reg == NULL || --reg->refs > 0)
		return;
	for (i = 0; i < reg->n; i++)
		host_clear(&reg->hosts[i]);
	free(reg->hosts);
	free(reg);
}

struct host *hosts_get(const struct host_registry *reg, const char *name)
{
	size_t i;

	if (reg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < reg->n; i++)
		if (strcasecmp(reg->hosts[i].key, name) == 0)
			return &reg->hosts[i];
	return NULL;
}

struct host *hosts_get_by_lab(const struct host_registry *reg, const char *lab)
{
	struct host *found = NULL;
	char *k;
	size_t i, j;

	if (reg == NULL || lab == NULL)
		return NULL;
	k = hosts_lab_key(lab);
	if (k == NULL)
		return NULL;
	for (i = 0; i < reg->n && found == NULL; i++) {
		if (reg->hosts[i].quarantined)
			continue;
		for (j = 0; j < reg->hosts[i].n_labs; j++) {
			if (strcmp(reg->hosts[i].labs[j], k) == 0) {
				found = &reg->hosts[i];
				break;
			}
		}
	}
	free(k);
	return found;
}

unsigned hosts_max_wake_attempts(const struct host_registry *reg)
{
	unsigned max = 0, a;
	size_t i;

	for (i = 0; reg != NULL && i < reg->n; i++) {
		a = reg->hosts[i].wake_attempts ? reg->hosts[i].wake_attempts : 3;
		if (a > max)
			max = a;
	}
	return max ? max : 3;
}

size_t hosts_count_active(const struct host_registry *reg)
{
	size_t i, n = 0;

	if (reg == NULL)
		return 0;
	for (i = 0; i < reg->n; i++)
		if (!reg->hosts[i].quarantined)
			n++;
	return n;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *hosts_config_json(const struct host *h)
{
	json_t *o = json_object(), *labs = json_array();
	size_t i;

	for (i = 0; i < h->n_labs; i++)
		json_array_append_new(labs, json_string(h->labs[i]));
	json_object_set_new(o, "name", json_string(h->name));
	json_object_set_new(o, "address", json_string(h->address));
	json_object_set_new(o, "mac", str_or_null(h->mac));
	json_object_set_new(o, "winrm_transport", json_string(h->winrm_transport));
	json_object_set_new(o, "winrm_port",
			    h->winrm_port ? json_integer(h->winrm_port) : json_integer(5985));
	json_object_set_new(o, "labstation_exe", json_string(h->labstation_exe));
	json_object_set_new(o, "heartbeat_path", json_string(h->heartbeat_path));
	json_object_set_new(o, "events_path", json_string(h->events_path));
	json_object_set_new(o, "labs", labs);
	json_object_set_new(o, "quarantined", json_boolean(h->quarantined));
	json_object_set_new(o, "ping_target", str_or_null(h->ping_target));
	json_object_set_new(o, "broadcast", str_or_null(h->broadcast));
	json_object_set_new(o, "wol_port", json_integer(h->wol_port));
	json_object_set_new(o, "wake_attempts", json_integer(h->wake_attempts));
	/* winrm_user / winrm_pass are deliberately absent (the original leaked them). */
	return o;
}

/* Read-only views for people and pools: GET /sessions (the queue and the holders), GET /labs
 * (every slot's lab), GET /host (what a client-side pool needs to choose a host), and GET
 * /openapi.json. Public
 * handles only, never a session id. No side effects: polling them refreshes nothing. */
#define LOG_COMPONENT LABD_LOGGER
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "api_int.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "labd.h"

static double api_secs(uint64_t now, uint64_t then)
{
	return now > then ? (double)(now - then) / 1e6 : 0.0;
}

static json_t *api_opt_string(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

void api_sessions(struct http_request *req)
{
	struct labd *d = api_labd(req);
	uint64_t now = loop_now(d->event), *waits;
	size_t n = d->sessions.n_waiting, i = 0;
	bool have_waits;
	json_t *list = json_array();
	const struct session *s;

	waits = xcalloc(n + 1, sizeof(*waits));
	have_waits = sessions_estimate_waits(&d->sessions, d->cfg.lab_slots, now, waits, n) == 0;
	SESSIONS_FOREACH(s, &d->sessions)
	{
		json_t *wait = json_null();

		if (s->state == SESSION_WAITING) {
			if (have_waits && i < n)
				wait = json_real((double)waits[i] / 1e6);
			i++;
		}
		json_array_append_new(
			list,
			json_pack("{s:s, s:s, s:I, s:i, s:o, s:f, s:f, s:o, s:o, s:o}", "handle",
				  s->handle, "state", session_state_name(s->state), "position",
				  (json_int_t)sessions_position(&d->sessions, s), "priority",
				  s->priority, "label", api_opt_string(s->label), "age",
				  api_secs(now, s->created), "last_seen_age",
				  api_secs(now, s->last_seen), "slot",
				  s->lab ? json_integer(s->lab->slot) : json_null(), "lab_hash",
				  s->lab && s->lab->hash[0] ? json_string(s->lab->hash)
							    : json_null(),
				  "estimated_wait", wait));
	}
	free(waits);
	http_respond_json(req, 200,
			  json_pack("{s:i, s:b, s:o}", "slots", d->cfg.lab_slots, "draining",
				    d->draining, "sessions", list));
}

static json_t *api_lab_devices_brief(const struct lab *lab)
{
	json_t *out = json_array(), *dev;
	size_t i;

	json_array_foreach (lab->devices, i, dev) {
		json_t *raw = json_object_get(dev, "raw");
		json_t *mgmt = json_object_get(json_object_get(raw, "mgmt"), "ipv4");

		json_array_append_new(out, json_pack("{s:O, s:O}", "name",
						     json_object_get(dev, "name"), "mgmt_ipv4",
						     json_is_string(mgmt) ? mgmt : json_null()));
	}
	return out;
}

void api_labs(struct http_request *req)
{
	struct labd *d = api_labd(req);
	uint64_t now = loop_now(d->event);
	json_t *list = json_array();
	unsigned i;

	for (i = 0; i < d->slots.n; i++) {
		const struct lab *lab = &d->slots.labs[i];
		bool up = lab->state == LAB_UP;

		if (lab->state == LAB_EMPTY)
			continue;
		json_array_append_new(
			list,
			json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:i, s:o, s:b, s:b, s:o, s:o}",
				  "slot", lab->slot, "instance", lab->instance, "state",
				  lab_state_name(lab->state), "topology", api_opt_string(lab->name),
				  "hash", lab->hash[0] ? json_string(lab->hash) : json_null(),
				  "holder",
				  lab->holder ? json_string(lab->holder->handle) : json_null(),
				  "ref_count", lab->ref, "uptime",
				  up ? json_real(api_secs(now, lab->up_since)) : json_null(),
				  "idle", lab_is_idle(lab), "pinned", lab->pinned,
				  "idle_expires_in",
				  up && lab_is_idle(lab) && lab->idle_until > 0
					  ? json_real(api_secs(lab->idle_until, now))
					  : json_null(),
				  "devices", up ? api_lab_devices_brief(lab) : json_array()));
	}
	http_respond_json(req, 200, json_pack("{s:i, s:o}", "slots", d->slots.n, "labs", list));
}

void api_host(struct http_request *req)
{
	struct labd *d = api_labd(req);
	json_t *warm = json_array(), *tags = json_object(), *h;
	double wait = labd_estimated_wait(d);
	char name[256];
	unsigned i, free_slots;

	for (i = 0; i < d->slots.n; i++) {
		const struct lab *lab = &d->slots.labs[i];
		size_t k;
		bool seen = false;

		if (!lab_is_idle(lab))
			continue;
		json_array_foreach (warm, k, h)
			seen = seen || strcmp(json_string_value(h), lab->hash) == 0;
		if (!seen)
			json_array_append_new(warm, json_string(lab->hash));
	}
	if (d->cfg.host_name != NULL)
		snprintf(name, sizeof(name), "%s", d->cfg.host_name);
	else if (gethostname(name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = '\0';
	for (i = 0; i < d->cfg.n_tags; i++) {
		const char *eq = strchr(d->cfg.tags[i], '=');

		json_object_setn_new(tags, d->cfg.tags[i], (size_t)(eq - d->cfg.tags[i]),
				     json_string(eq + 1));
	}
	free_slots = d->sessions.n_active < d->cfg.lab_slots
			     ? d->cfg.lab_slots - (unsigned)d->sessions.n_active
			     : 0;
	http_respond_json(req, 200,
			  json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:I, s:o, s:o, s:b, s:o}",
				    "name", name, "version", RL_VERSION, "slots", d->cfg.lab_slots,
				    "free_slots", free_slots, "active",
				    (json_int_t)d->sessions.n_active, "waiting",
				    (json_int_t)d->sessions.n_waiting, "queue_length",
				    (json_int_t)sessions_count(&d->sessions), "estimated_wait",
				    wait >= 0 ? json_real(wait) : json_null(), "warm", warm,
				    "draining", d->draining, "tags", tags));
}

/* The OpenAPI 3.1 document (src/labd/openapi/openapi.json, embedded at build time). */
extern const char labd_openapi_json[];
extern const size_t labd_openapi_json_len;

void api_openapi(struct http_request *req)
{
	http_respond(req, 200, "application/json", labd_openapi_json, labd_openapi_json_len);
}

const char *api_openapi_document(size_t *ret_len)
{
	*ret_len = labd_openapi_json_len;
	return labd_openapi_json;
}

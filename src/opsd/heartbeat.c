/* Heartbeat polls on the loop: read heartbeat.json (+ the last session-guard event) over
 * WinRM, map it to the stored row (§6.3) and hand it to the database thread. */
#define LOG_COMPONENT "ops-worker.heartbeat"
#include "heartbeat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "db.h"
#include "dbq.h"
#include "heartbeat_stream.h"
#include "hosts.h"
#include "isotime.h"
#include "jsonx.h"
#include "opsd.h"
#include "opsd_metrics.h"
#include "remote.h"

struct hb_poll {
	struct opsd *o;
	char *name, *address, *mac;
	heartbeat_done_fn done;
	void *userdata;
	bool store;
	uint64_t start_usec;
	json_t *heartbeat;
	json_t *last_event;
	struct heartbeat_row row;
};

/* ---- extraction ----------------------------------------------------------------------- */

static json_t *path2(json_t *o, const char *a, const char *b)
{
	json_t *v = json_is_object(o) ? json_object_get(o, a) : NULL;

	if (b == NULL)
		return v;
	return json_is_object(v) ? json_object_get(v, b) : NULL;
}

static int tri(json_t *v)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_real(v))
		return json_real_value(v) != 0.0;
	return -1;
}

/* to_utc(value) as DB text, or "" (NULL) when absent or invalid. */
static void to_utc(json_t *v, char out[ISOTIME_MAX])
{
	int64_t t;

	out[0] = '\0';
	if (json_is_string(v) && isotime_parse(json_string_value(v), &t) == 0)
		isotime_format_db(t, out);
}

static char *str_field(json_t *v)
{
	char *s;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (jsonx_to_str(v, &s) == 0)
		return s;
	return NULL;
}

void heartbeat_row_build(struct heartbeat_row *row, const char *name, const char *address,
			 const char *mac, json_t *hb, json_t *ev, int64_t now_usec)
{
	memset(row, 0, sizeof(*row));
	row->name = xstrdup(name);
	row->address = xstrdup(address);
	row->mac = mac ? xstrdup(mac) : NULL;
	to_utc(path2(hb, "timestamp", NULL), row->ts);
	if (row->ts[0] == '\0')
		isotime_format_db(now_usec, row->ts);
	row->ready = tri(path2(hb, "summary", "ready"));
	row->local_mode = tri(path2(hb, "status", "localModeEnabled"));
	row->local_session = tri(path2(hb, "status", "localSessionActive"));
	{
		json_t *ops = path2(hb, "operations", NULL);

		to_utc(path2(ops, "lastForcedLogoff", "timestamp"), row->lfo_ts);
		row->lfo_user = str_field(path2(ops, "lastForcedLogoff", "user"));
		to_utc(path2(ops, "lastPowerAction", "timestamp"), row->lpa_ts);
		row->lpa_mode = str_field(path2(ops, "lastPowerAction", "mode"));
	}
	row->raw_json = json_dumps(hb, JSON_COMPACT | JSON_ENCODE_ANY);
	if (ev != NULL) {
		row->has_event = true;
		to_utc(path2(ev, "timestamp", NULL), row->event_ts);
		if (row->event_ts[0] == '\0')
			memcpy(row->event_ts, row->ts, sizeof(row->ts));
		row->event_payload = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
	}
}

void heartbeat_row_clear(struct heartbeat_row *row)
{
	free(row->name);
	free(row->address);
	free(row->mac);
	free(row->lfo_user);
	free(row->lpa_mode);
	free(row->raw_json);
	free(row->event_payload);
	memset(row, 0, sizeof(*row));
}

/* ---- the poll ------------------------------------------------------------------------- */

static void hb_finish(struct hb_poll *p, unsigned status, const char *error)
{
	struct heartbeat_result res = { 0 };
	struct opsd *o = p->o;

	res.status = status;
	if (error)
		snprintf(res.error, sizeof(res.error), "%s", error);
	res.heartbeat = p->heartbeat;
	res.last_event = p->last_event;
	res.duration_ms = (loop_now(o->event) - p->start_usec) / 1000;
	opsd_metrics_heartbeat(o->metrics, p->name, status == 200);
	heartbeat_stream_publish(o->hbstream, p->name, &res);
	p->done(p->userdata, &res);
	json_decref(p->heartbeat);
	json_decref(p->last_event);
	heartbeat_row_clear(&p->row);
	free(p->name);
	free(p->address);
	free(p->mac);
	free(p);
	opsd_busy_dec(o);
}

static int hb_store_work(struct db *db, void *arg)
{
	struct hb_poll *p = arg;

	return heartbeat_store_row(db, &p->row);
}

static void hb_store_done(void *arg, int r)
{
	struct hb_poll *p = arg;

	if (r < 0)
		log_error("failed to persist heartbeat of %s, ignoring", p->name);
	hb_finish(p, 200, NULL);
}

/* Parse text as JSON, tolerating a UTF-8 BOM. */
static json_t *parse_text(const char *s, size_t len)
{
	if (len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
	    (unsigned char)s[2] == 0xBF) {
		s += 3;
		len -= 3;
	}
	return json_loadb(s, len, JSON_DECODE_ANY, NULL);
}

/* The last non-empty line of the events file, parsed. */
static json_t *last_event(const char *text, size_t len, const char *host)
{
	char *clean = jsonx_utf8_lossy(text, len, true);
	char *end, *start;
	json_t *ev = NULL;

	if (clean[0] == '\0')
		goto out;
	end = clean + strlen(clean);
	start = end;
	while (start > clean && start[-1] != '\n' && start[-1] != '\r')
		start--;
	ev = parse_text(start, (size_t)(end - start));
	if (ev == NULL)
		log_warn("last session-guard event of %s is not valid JSON, ignoring", host);
out:
	free(clean);
	return ev;
}

static void hb_read_done(struct remote_call *c, void *userdata)
{
	struct hb_poll *p = userdata;
	struct opsd *o = p->o;
	char *text;

	if (c->r < 0) {
		log_warn("heartbeat read from %s failed: %s", p->name, c->err);
		hb_finish(p, 500,
			  c->r == -EREMOTEIO ? "WinRM read failed" : remote_error_message(c->r));
		remote_call_free(c);
		return;
	}
	text = jsonx_utf8_lossy(c->content, c->content_len, false);
	p->heartbeat = parse_text(text, strlen(text));
	free(text);
	if (p->heartbeat == NULL) {
		log_warn("heartbeat of %s is not valid JSON", p->name);
		hb_finish(p, 500, "heartbeat.json is not valid JSON");
		remote_call_free(c);
		return;
	}
	if (c->events_path != NULL) {
		if (c->events_r < 0)
			log_warn("session-guard events read from %s failed: %s, ignoring", p->name,
				 c->events_err);
		else if (c->events != NULL)
			p->last_event = last_event(c->events, c->events_len, p->name);
	}
	remote_call_free(c);
	if (o->dbq == NULL || !p->store) {
		hb_finish(p, 200, NULL);
		return;
	}
	heartbeat_row_build(&p->row, p->name, p->address, p->mac, p->heartbeat, p->last_event,
			    isotime_now_usec());
	if (dbq_submit(o->dbq, hb_store_work, hb_store_done, p) < 0) {
		log_error("failed to persist heartbeat of %s: database queue full, ignoring",
			  p->name);
		hb_finish(p, 200, NULL);
	}
}

void heartbeat_poll(struct opsd *o, const struct host *h, bool include_events, bool store,
		    heartbeat_done_fn done, void *userdata)
{
	struct hb_poll *p = xcalloc(1, sizeof(*p));
	struct remote_call *c = xcalloc(1, sizeof(*c));

	p->o = o;
	p->name = xstrdup(h->name);
	p->address = xstrdup(h->address);
	p->mac = h->mac ? xstrdup(h->mac) : NULL;
	p->done = done;
	p->userdata = userdata;
	p->store = store;
	p->start_usec = loop_now(o->event);
	opsd_busy_inc(o);

	c->kind = REMOTE_HEARTBEAT;
	remote_target_from_host(&c->target, h, NULL, NULL, NULL, false, 0);
	c->path = xstrdup(h->heartbeat_path);
	c->events_path = include_events ? xstrdup(h->events_path) : NULL;
	c->done = hb_read_done;
	c->userdata = p;
	if (remote_submit(o, c) < 0) {
		remote_call_free(c);
		hb_finish(p, 500, remote_error_message(-EAGAIN));
	}
}

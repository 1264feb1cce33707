/* GET /api/reservations/timeline on the loop: lab snapshot, query on the database thread,
 * the mapped host's configuration added afterwards. */
#include "timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "dbq.h"
#include "hosts.h"
#include "opsd.h"
#include "request.h"
#include "timeline_store.h"

struct timeline_run {
	struct opsd *o;
	struct timeline_query *q;
	timeline_done_fn done;
	void *userdata;
};

/* The lab -> host mapping of the current registry (non-quarantined, first wins), copied for
 * the database thread. */
static void lab_snapshot(const struct opsd *o, struct timeline_lab_entry **ret, size_t *ret_n)
{
	const struct host_registry *reg = o->hosts;
	struct timeline_lab_entry *labs = NULL;
	size_t n = 0, cap = 0, i, j, k;

	for (i = 0; reg && i < reg->n; i++) {
		const struct host *h = &reg->hosts[i];

		if (h->quarantined)
			continue;
		for (j = 0; j < h->n_labs; j++) {
			for (k = 0; k < n; k++)
				if (strcmp(labs[k].lab, h->labs[j]) == 0)
					break;
			if (k < n)
				continue; /* the first host wins */
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				labs = xreallocarray(labs, cap, sizeof(*labs));
			}
			labs[n].lab = xstrdup(h->labs[j]);
			labs[n].host = xstrdup(h->name);
			n++;
		}
	}
	*ret = labs;
	*ret_n = n;
}

void timeline_query_free(struct timeline_query *q)
{
	size_t i;

	if (q == NULL)
		return;
	free(q->reservation_id);
	for (i = 0; i < q->n_labs; i++) {
		free(q->labs[i].lab);
		free(q->labs[i].host);
	}
	free(q->labs);
	json_decref(q->result);
	free(q->host_name);
	free(q);
}

/* Database thread. */
static int timeline_work(struct db *db, void *arg)
{
	struct timeline_run *t = arg;

	return timeline_store_fetch(db, t->q);
}

static void timeline_done(void *arg, int r)
{
	struct timeline_run *t = arg;
	struct timeline_query *q = t->q;
	json_t *host, *res;
	const struct host *h;

	if (r < 0) {
		t->done(t->userdata, r == -ENOTCONN ? 503 : 500,
			r == -ENOTCONN ? "Database unavailable" : "Timeline query failed", NULL);
	} else if (!q->found) {
		t->done(t->userdata, 404, "Reservation not found", NULL);
	} else {
		res = q->result;
		q->result = NULL;
		host = json_object();
		h = q->host_name ? hosts_get(t->o->hosts, q->host_name) : NULL;
		json_object_set_new(host, "name",
				    q->host_name ? json_string(q->host_name) : json_null());
		json_object_set(host, "labId",
				json_object_get(json_object_get(res, "reservation"), "labId"));
		json_object_set_new(host, "config", h ? hosts_config_json(h) : json_null());
		json_object_set_new(res, "host", host);
		t->done(t->userdata, 200, NULL, res);
	}
	timeline_query_free(q);
	free(t);
}

void timeline_run(struct opsd *o, struct req_timeline *req, timeline_done_fn done, void *userdata)
{
	struct timeline_run *t = xcalloc(1, sizeof(*t));

	t->o = o;
	t->done = done;
	t->userdata = userdata;
	t->q = xcalloc(1, sizeof(*t->q));
	t->q->reservation_id = req->reservation_id;
	req->reservation_id = NULL;
	t->q->limit = req->limit;
	t->q->offset = req->offset;
	t->q->phase_lookback = o->cfg.timeline_phase_lookback;
	lab_snapshot(o, &t->q->labs, &t->q->n_labs);
	req_timeline_clear(req);
	if (dbq_submit(o->dbq, timeline_work, timeline_done, t) < 0) {
		timeline_query_free(t->q);
		free(t);
		done(userdata, 503, "Database queue is full, try again later", NULL);
	}
}

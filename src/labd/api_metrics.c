/* Prometheus metrics (GET /metrics, text format 0.0.4): sessions by state, queue waits, lab
 * operations by kind and result with their durations, warm-pool reuse, slots, netlab
 * commands, HTTP requests by route and code. Counters move on events (labd_event feeds
 * them), gauges are read from the state just before each render. Bounded label sets. */
#define LOG_COMPONENT LABD_LOGGER
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/xmalloc.h"
#include "events.h"
#include "labd.h"

#define METRICS_BODY_MAX (1 << 20)

struct labd_metrics {
	struct metrics *m;
	struct metrics_family *info, *sessions, *slots, *slots_total, *queue_wait, *lab_ops,
		*lab_op_seconds, *reuse, *netlab, *netlab_seconds, *http, *readers, *conns_open,
		*conns_refused, *draining;
};

static const double wait_buckets[] = { 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600 };
static const double op_buckets[] = { 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800 };

/* Gauges from the state, just before a render. */
static void labd_metrics_collect(struct metrics *m, void *userdata)
{
	struct labd *d = userdata;
	struct labd_metrics *lm = d->metrics;
	struct http_server_stats st = { 0 };
	unsigned i, by_state[4] = { 0 }, idle = 0;

	metrics_set(lm->sessions, METRICS_LABELS("active"), (double)d->sessions.n_active);
	metrics_set(lm->sessions, METRICS_LABELS("waiting"), (double)d->sessions.n_waiting);
	for (i = 0; i < d->slots.n; i++) {
		by_state[d->slots.labs[i].state]++;
		idle += lab_is_idle(&d->slots.labs[i]);
	}
	metrics_set(lm->slots, METRICS_LABELS("empty"), by_state[LAB_EMPTY]);
	metrics_set(lm->slots, METRICS_LABELS("starting"), by_state[LAB_STARTING]);
	metrics_set(lm->slots, METRICS_LABELS("held"), by_state[LAB_UP] - idle);
	metrics_set(lm->slots, METRICS_LABELS("idle"), idle);
	metrics_set(lm->slots, METRICS_LABELS("stopping"), by_state[LAB_STOPPING]);
	metrics_set(lm->slots_total, NULL, d->slots.n);
	metrics_set(lm->draining, NULL, d->draining);
	metrics_set(lm->readers, NULL, (double)labd_event_readers(d));
	if (d->http != NULL)
		http_server_get_stats(d->http, &st);
	metrics_set(lm->conns_open, NULL, st.open);
	metrics_clear(lm->conns_refused);
	metrics_add(lm->conns_refused, METRICS_LABELS("total_limit"), (double)st.refused_total);
	metrics_add(lm->conns_refused, METRICS_LABELS("address_limit"),
		    (double)st.refused_per_address);
	metrics_add(lm->conns_refused, METRICS_LABELS("request_deadline"),
		    (double)st.deadline_closed);
}

int labd_metrics_init(struct labd *d)
{
	struct labd_metrics *lm = xcalloc(1, sizeof(*lm));
	int r = 0;

	lm->m = metrics_new(256);
#define R(x) (r = r < 0 ? r : (x))
	R(metrics_gauge_new(lm->m, "remote_lab_info", "The server: its version (always 1).",
			    METRICS_LABELS("version"), &lm->info));
	R(metrics_gauge_new(lm->m, "remote_lab_sessions", "Sessions by state.",
			    METRICS_LABELS("state"), &lm->sessions));
	R(metrics_gauge_new(lm->m, "remote_lab_slots", "Lab slots by what they hold.",
			    METRICS_LABELS("state"), &lm->slots));
	R(metrics_gauge_new(lm->m, "remote_lab_slots_configured", "Lab slots (--lab-slots).", NULL,
			    &lm->slots_total));
	R(metrics_gauge_new(lm->m, "remote_lab_draining", "1 while the host is drained.", NULL,
			    &lm->draining));
	R(metrics_histogram_new(lm->m, "remote_lab_queue_wait_seconds",
				"How long sessions waited until they became ACTIVE.", NULL,
				wait_buckets, sizeof(wait_buckets) / sizeof(*wait_buckets),
				&lm->queue_wait));
	R(metrics_counter_new(lm->m, "remote_lab_lab_operations_total",
			      "Lab operations (start, stop) by result (ok, failed).",
			      METRICS_LABELS("kind", "result"), &lm->lab_ops));
	R(metrics_histogram_new(lm->m, "remote_lab_lab_operation_seconds",
				"How long lab operations took (netlab up/inspect, down).",
				METRICS_LABELS("kind"), op_buckets,
				sizeof(op_buckets) / sizeof(*op_buckets), &lm->lab_op_seconds));
	R(metrics_counter_new(lm->m, "remote_lab_lab_reuse_total",
			      "Acquires answered with a running lab, without netlab up.", NULL,
			      &lm->reuse));
	R(metrics_counter_new(lm->m, "remote_lab_netlab_commands_total",
			      "netlab commands run, by subcommand and result.",
			      METRICS_LABELS("command", "result"), &lm->netlab));
	R(metrics_histogram_new(lm->m, "remote_lab_netlab_command_seconds",
				"How long netlab commands took.", METRICS_LABELS("command"),
				op_buckets, sizeof(op_buckets) / sizeof(*op_buckets),
				&lm->netlab_seconds));
	R(metrics_counter_new(lm->m, "remote_lab_http_requests_total",
			      "HTTP requests by route (its pattern) and status code.",
			      METRICS_LABELS("route", "code"), &lm->http));
	R(metrics_gauge_new(lm->m, "remote_lab_event_readers", "Open GET /events streams.", NULL,
			    &lm->readers));
	R(metrics_gauge_new(lm->m, "remote_lab_http_connections_open", "Open HTTP connections.",
			    NULL, &lm->conns_open));
	R(metrics_counter_new(lm->m, "remote_lab_http_connections_refused_total",
			      "Connections closed by a limit, by the limit.",
			      METRICS_LABELS("limit"), &lm->conns_refused));
#undef R
	if (r < 0) {
		metrics_free(lm->m);
		free(lm);
		return r;
	}
	metrics_set(lm->info, METRICS_LABELS(RL_VERSION), 1);
	metrics_set_collect(lm->m, labd_metrics_collect, d);
	d->metrics = lm;
	return 0;
}

void labd_metrics_free(struct labd_metrics *lm)
{
	if (lm == NULL)
		return;
	metrics_free(lm->m);
	free(lm);
}

void labd_metrics_event(struct labd *d, const char *kind, const json_t *data)
{
	struct labd_metrics *lm = d->metrics;
	const json_t *secs = json_object_get(data, "seconds");

	if (lm == NULL)
		return;
	if (strcmp(kind, "session.promoted") == 0 &&
	    json_is_number(json_object_get(data, "waited")))
		metrics_observe(lm->queue_wait, NULL,
				json_number_value(json_object_get(data, "waited")));
	else if (strcmp(kind, "lab.reused") == 0)
		metrics_inc(lm->reuse, NULL);
	else if (strcmp(kind, "lab.up") == 0 || strcmp(kind, "lab.down") == 0 ||
		 strcmp(kind, "lab.failed") == 0) {
		const char *op = strcmp(kind, "lab.down") == 0 ? "stop"
				 : strcmp(kind, "lab.up") == 0
					 ? "start"
					 : json_string_value(json_object_get(data, "stage"));

		if (op == NULL)
			return;
		metrics_inc(lm->lab_ops,
			    METRICS_LABELS(op, strcmp(kind, "lab.failed") == 0 ? "failed" : "ok"));
		if (json_is_number(secs))
			metrics_observe(lm->lab_op_seconds, METRICS_LABELS(op),
					json_number_value(secs));
	}
}

void labd_metrics_netlab(struct labd *d, const char *cmdline, double secs, bool ok)
{
	struct labd_metrics *lm = d->metrics;
	char cmd[16];

	if (lm == NULL)
		return;
	/* "netlab up topology.yml" -> "up" (a fixed, small set) */
	if (sscanf(cmdline, "netlab %15[a-z]", cmd) != 1)
		snprintf(cmd, sizeof(cmd), "other");
	metrics_inc(lm->netlab, METRICS_LABELS(cmd, ok ? "ok" : "failed"));
	metrics_observe(lm->netlab_seconds, METRICS_LABELS(cmd), secs);
}

void labd_metrics_http(struct http_request *req, unsigned status)
{
	struct labd *d = api_labd(req);
	const struct http_route *route = http_request_route(req);
	char label[128], code[8];

	if (d->metrics == NULL)
		return;
	if (route != NULL)
		snprintf(label, sizeof(label), "%s %s", route->method, route->path);
	else
		snprintf(label, sizeof(label), "unmatched");
	snprintf(code, sizeof(code), "%u", status);
	metrics_inc(d->metrics->http, METRICS_LABELS(label, code));
}

void api_metrics(struct http_request *req)
{
	struct labd *d = api_labd(req);
	struct buf out;

	buf_init(&out, METRICS_BODY_MAX);
	if (metrics_render(d->metrics->m, &out) < 0)
		log_warn("The metrics did not fit in %d bytes; /metrics is cut", METRICS_BODY_MAX);
	http_respond(req, 200, METRICS_CONTENT_TYPE, out.data, out.len);
	buf_free(&out);
}

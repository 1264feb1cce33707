/* ops-worker's Prometheus metrics: the registry, what the flows count, what GET /metrics
 * renders (docs/ops-worker.md "Metrics" lists them). */
#define LOG_COMPONENT "ops-worker.metrics"
#include "opsd_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/http.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "common/xmalloc.h"
#include "dbq.h"
#include "heartbeat_stream.h"
#include "hosts.h"
#include "journal.h"
#include "opsd.h"
#include "remote.h"

/* Label combinations per metric: routes × codes and hosts stay far below. */
#define METRICS_MAX_SERIES 4096

/* The last successful poll of a host (loop clock), for ops_worker_heartbeat_age_seconds. */
struct seen {
	char *host;
	uint64_t usec;
};

struct opsd_metrics {
	struct opsd *o;
	struct metrics *reg;
	struct metrics_family *http_requests, *winrm_seconds, *wake_packets, *wakes;
	struct metrics_family *hb_polls, *hb_age, *sched_steps, *sched_scans;
	struct metrics_family *spool_rows, *db_errors, *db_connected;
	struct metrics_family *stream_readers, *stream_closed;
	struct metrics_family *conns_open, *conns_closed, *hosts_loaded, *build_info;
	struct seen *seen;
	size_t n_seen;
	/* sources that count by themselves (the database thread, the HTTP layer): the values
	 * already added to the counters */
	uint64_t db_unavailable, db_failed;
	struct http_server_stats http_seen;
};

static const double winrm_buckets[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600 };

/* ---- the host table ----------------------------------------------------------------- */

static struct seen *seen_find(struct opsd_metrics *m, const char *host)
{
	size_t i;

	for (i = 0; i < m->n_seen; i++)
		if (strcasecmp(m->seen[i].host, host) == 0)
			return &m->seen[i];
	return NULL;
}

/* Forget hosts that left hosts.json (a reload): the table holds at most the registry. */
static void seen_prune(struct opsd_metrics *m)
{
	size_t i = 0;

	while (i < m->n_seen) {
		if (m->o->hosts != NULL && hosts_get(m->o->hosts, m->seen[i].host) != NULL) {
			i++;
			continue;
		}
		free(m->seen[i].host);
		m->seen[i] = m->seen[--m->n_seen];
	}
}

/* ---- collect: state read at render time ----------------------------------------------- */

static void add_since(struct metrics_family *f, const char *const *labels, uint64_t now,
		      uint64_t *seen)
{
	if (now > *seen)
		(void)metrics_add(f, labels, (double)(now - *seen));
	*seen = now;
}

static void collect(struct metrics *reg, void *userdata)
{
	struct opsd_metrics *m = userdata;
	struct opsd *o = m->o;
	struct http_server_stats st = { 0 };
	uint64_t now = loop_now(o->event), unavailable = 0, failed = 0;
	size_t i;

	seen_prune(m);
	metrics_clear(m->hb_age);
	for (i = 0; i < m->n_seen; i++)
		(void)metrics_set(m->hb_age, METRICS_LABELS(m->seen[i].host),
				  (double)(now - m->seen[i].usec) / 1e6);
	(void)metrics_set(m->spool_rows, NULL, (double)journal_spooled(o->journal));
	(void)metrics_set(m->db_connected, NULL, dbq_connected(o->dbq) ? 1 : 0);
	dbq_error_counts(o->dbq, &unavailable, &failed);
	add_since(m->db_errors, METRICS_LABELS("unavailable"), unavailable, &m->db_unavailable);
	add_since(m->db_errors, METRICS_LABELS("failed"), failed, &m->db_failed);
	(void)metrics_set(m->stream_readers, NULL, (double)heartbeat_stream_readers(o->hbstream));
	(void)metrics_set(m->hosts_loaded, NULL, (double)hosts_count_active(o->hosts));
	if (o->http != NULL) {
		http_server_get_stats(o->http, &st);
		(void)metrics_set(m->conns_open, NULL, st.open);
		add_since(m->conns_closed, METRICS_LABELS("limit"), st.refused_total,
			  &m->http_seen.refused_total);
		add_since(m->conns_closed, METRICS_LABELS("address_limit"), st.refused_per_address,
			  &m->http_seen.refused_per_address);
		add_since(m->conns_closed, METRICS_LABELS("request_deadline"), st.deadline_closed,
			  &m->http_seen.deadline_closed);
		add_since(m->conns_closed, METRICS_LABELS("screened"), st.screened,
			  &m->http_seen.screened);
	}
}

/* ---- registration --------------------------------------------------------------------- */

struct def {
	struct metrics_family **f;
	char type; /* c(ounter), g(auge), h(istogram) */
	const char *name;
	const char *help;
	const char *const *labels;
};

static void register_all(struct opsd_metrics *m)
{
	const struct def defs[] = {
		{ &m->build_info, 'g', "ops_worker_build_info",
		  "Always 1; the version of the running ops-worker.", METRICS_LABELS("version") },
		{ &m->http_requests, 'c', "ops_worker_http_requests_total",
		  "HTTP answers by route pattern (\"unmatched\" for no route) and status code.",
		  METRICS_LABELS("route", "code") },
		{ &m->conns_open, 'g', "ops_worker_http_connections", "HTTP connections open now.",
		  NULL },
		{ &m->conns_closed, 'c', "ops_worker_http_connections_closed_total",
		  "HTTP connections the worker closed before a complete request: over "
		  "OPS_MAX_CONNECTIONS (limit), over OPS_MAX_CONNECTIONS_PER_ADDRESS "
		  "(address_limit), past OPS_REQUEST_TIMEOUT (request_deadline), or answered with "
		  "an error at once for a malformed first request (screened).",
		  METRICS_LABELS("reason") },
		{ &m->winrm_seconds, 'h', "ops_worker_winrm_call_duration_seconds",
		  "WinRM calls that ran, by kind (command, heartbeat) and result (ok or the error), "
		  "with their duration.",
		  METRICS_LABELS("kind", "result") },
		{ &m->wake_packets, 'c', "ops_worker_wake_attempts_total",
		  "Magic packets of wake-and-wait attempts, sent or failed to send.",
		  METRICS_LABELS("result") },
		{ &m->wakes, 'c', "ops_worker_wakes_total",
		  "Wake-and-wait operations by outcome (reachable, unreachable, failed).",
		  METRICS_LABELS("result") },
		{ &m->hb_polls, 'c', "ops_worker_heartbeat_polls_total",
		  "Heartbeat polls by result (ok, failed).", METRICS_LABELS("result") },
		{ &m->hb_age, 'g', "ops_worker_heartbeat_age_seconds",
		  "Seconds since the last successful heartbeat poll of each host in hosts.json "
		  "(hosts not polled successfully since the start have no sample).",
		  METRICS_LABELS("host") },
		{ &m->hosts_loaded, 'g', "ops_worker_hosts_loaded",
		  "Hosts in hosts.json that are not quarantined.", NULL },
		{ &m->sched_steps, 'c', "ops_worker_scheduler_steps_total",
		  "Reservation automation steps by step (start, end) and result (ok, failed, "
		  "unmapped, skipped, claim_failed).",
		  METRICS_LABELS("step", "result") },
		{ &m->sched_scans, 'c', "ops_worker_scheduler_scans_total",
		  "Reservation scans by result (ok, failed).", METRICS_LABELS("result") },
		{ &m->spool_rows, 'g', "ops_worker_journal_spool_rows",
		  "Journal rows waiting in the spool for the database.", NULL },
		{ &m->db_errors, 'c', "ops_worker_database_errors_total",
		  "Database jobs that failed: no connection (unavailable) or refused (failed).",
		  METRICS_LABELS("kind") },
		{ &m->db_connected, 'g', "ops_worker_database_connected",
		  "1 when the last database job found the database reachable, else 0.", NULL },
		{ &m->stream_readers, 'g', "ops_worker_heartbeat_stream_readers",
		  "Readers of GET /api/heartbeat/stream now.", NULL },
		{ &m->stream_closed, 'c', "ops_worker_heartbeat_stream_closed_total",
		  "Heartbeat stream readers that left, by reason (client_gone, too_slow, ended, "
		  "server_stopped).",
		  METRICS_LABELS("reason") },
	};
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		const struct def *d = &defs[i];

		if (d->type == 'c')
			r = metrics_counter_new(m->reg, d->name, d->help, d->labels, d->f);
		else if (d->type == 'g')
			r = metrics_gauge_new(m->reg, d->name, d->help, d->labels, d->f);
		else
			r = metrics_histogram_new(
				m->reg, d->name, d->help, d->labels, winrm_buckets,
				sizeof(winrm_buckets) / sizeof(winrm_buckets[0]), d->f);
		if (r < 0) { /* a programming error: names and labels are constants */
			log_crit("cannot register metric %s: %s", d->name, strerror(-r));
			abort();
		}
	}
	(void)metrics_set(m->build_info, METRICS_LABELS(RL_VERSION), 1);
	/* Known label values start at 0, so that rate() sees the first event. */
	{
		const struct {
			struct metrics_family *f;
			const char *value;
		} zero[] = {
			{ m->wake_packets, "sent" },
			{ m->wake_packets, "send_failed" },
			{ m->wakes, "reachable" },
			{ m->wakes, "unreachable" },
			{ m->wakes, "failed" },
			{ m->hb_polls, "ok" },
			{ m->hb_polls, "failed" },
			{ m->sched_scans, "ok" },
			{ m->sched_scans, "failed" },
			{ m->db_errors, "unavailable" },
			{ m->db_errors, "failed" },
			{ m->conns_closed, "limit" },
			{ m->conns_closed, "address_limit" },
			{ m->conns_closed, "request_deadline" },
			{ m->conns_closed, "screened" },
			{ m->stream_closed, "client_gone" },
			{ m->stream_closed, "too_slow" },
		};

		for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
			(void)metrics_add(zero[i].f, METRICS_LABELS(zero[i].value), 0);
	}
}

struct opsd_metrics *opsd_metrics_new(struct opsd *o)
{
	struct opsd_metrics *m = xcalloc(1, sizeof(*m));

	m->o = o;
	m->reg = metrics_new(METRICS_MAX_SERIES);
	register_all(m);
	metrics_set_collect(m->reg, collect, m);
	return m;
}

void opsd_metrics_free(struct opsd_metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_seen; i++)
		free(m->seen[i].host);
	free(m->seen);
	metrics_free(m->reg);
	free(m);
}

/* ---- updates ---------------------------------------------------------------------------- */

/* A refused update (a label combination beyond the maximum) is counted by the registry. */
void opsd_metrics_http(struct opsd_metrics *m, const char *route, unsigned status)
{
	char code[12];

	if (m == NULL)
		return;
	snprintf(code, sizeof(code), "%u", status);
	(void)metrics_inc(m->http_requests, METRICS_LABELS(route, code));
}

void opsd_metrics_winrm(struct opsd_metrics *m, const char *kind, int r, uint64_t duration_ms)
{
	if (m != NULL)
		(void)metrics_observe(m->winrm_seconds,
				      METRICS_LABELS(kind, remote_result_label(r)),
				      (double)duration_ms / 1000.0);
}

void opsd_metrics_wake_packet(struct opsd_metrics *m, bool sent)
{
	if (m != NULL)
		(void)metrics_inc(m->wake_packets, METRICS_LABELS(sent ? "sent" : "send_failed"));
}

void opsd_metrics_wake(struct opsd_metrics *m, const char *result)
{
	if (m != NULL)
		(void)metrics_inc(m->wakes, METRICS_LABELS(result));
}

void opsd_metrics_heartbeat(struct opsd_metrics *m, const char *host, bool ok)
{
	struct seen *s;

	if (m == NULL)
		return;
	(void)metrics_inc(m->hb_polls, METRICS_LABELS(ok ? "ok" : "failed"));
	if (!ok)
		return;
	s = seen_find(m, host);
	if (s == NULL) {
		if (m->n_seen >= METRICS_MAX_SERIES)
			seen_prune(m);
		if (m->n_seen >= METRICS_MAX_SERIES)
			return;
		m->seen = xreallocarray(m->seen, m->n_seen + 1, sizeof(*m->seen));
		s = &m->seen[m->n_seen++];
		s->host = xstrdup(host);
	}
	s->usec = loop_now(m->o->event);
}

void opsd_metrics_scheduler_step(struct opsd_metrics *m, bool start, const char *result)
{
	if (m != NULL)
		(void)metrics_inc(m->sched_steps, METRICS_LABELS(start ? "start" : "end", result));
}

void opsd_metrics_scheduler_scan(struct opsd_metrics *m, bool ok)
{
	if (m != NULL)
		(void)metrics_inc(m->sched_scans, METRICS_LABELS(ok ? "ok" : "failed"));
}

void opsd_metrics_stream_closed(struct opsd_metrics *m, const char *reason)
{
	if (m != NULL)
		(void)metrics_inc(m->stream_closed, METRICS_LABELS(reason));
}

int opsd_metrics_render(struct opsd_metrics *m, struct buf *out)
{
	return metrics_render(m->reg, out);
}

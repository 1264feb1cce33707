/* ops-worker's Prometheus metrics: the registry, what the flows count, what GET /metrics
 * renders. Every label has a fixed set of values (results, routes, steps) except `host`,
 * which takes only names from hosts.json. Updates accept a NULL registry (unit tests). */
#ifndef RL_OPSD_OPSD_METRICS_H
#define RL_OPSD_OPSD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

struct opsd;
struct opsd_metrics;

/* The registry of o, with every metric registered; collects state from o at render time. */
struct opsd_metrics *opsd_metrics_new(struct opsd *o);
void opsd_metrics_free(struct opsd_metrics *m);

/* An HTTP answer: route is the route's pattern ("POST /api/wol") or "unmatched". */
void opsd_metrics_http(struct opsd_metrics *m, const char *route, unsigned status);
/* A WinRM call that ran: kind "command" or "heartbeat", r its result (remote_result_label). */
void opsd_metrics_winrm(struct opsd_metrics *m, const char *kind, int r, uint64_t duration_ms);
/* One magic packet of a wake-and-wait, sent or not. */
void opsd_metrics_wake_packet(struct opsd_metrics *m, bool sent);
/* A wake-and-wait's outcome: "reachable", "unreachable" or "failed" (no packet sent). */
void opsd_metrics_wake(struct opsd_metrics *m, const char *result);
/* A heartbeat poll of host (its hosts.json name) ended. */
void opsd_metrics_heartbeat(struct opsd_metrics *m, const char *host, bool ok);
/* A scheduler step: start or end; result "ok", "failed", "unmapped", "skipped" (claimed
 * elsewhere, exhausted or no longer due) or "claim_failed" (the database). */
void opsd_metrics_scheduler_step(struct opsd_metrics *m, bool start, const char *result);
/* A scheduler scan (the candidate queries) ended. */
void opsd_metrics_scheduler_scan(struct opsd_metrics *m, bool ok);
/* A heartbeat stream reader left: "client_gone", "too_slow", "ended" or "server_stopped". */
void opsd_metrics_stream_closed(struct opsd_metrics *m, const char *reason);

/* The text exposition format 0.0.4; 0 or -E2BIG (out's maximum). */
int opsd_metrics_render(struct opsd_metrics *m, struct buf *out);

#endif

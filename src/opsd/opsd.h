/* The ops-worker daemon context: what the single event loop owns. */
#ifndef RL_OPSD_OPSD_H
#define RL_OPSD_OPSD_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "auth.h"
#include "config.h"
#include "hosts.h"

struct dbq;
struct heartbeat_stream;
struct http_server;
struct journal;
struct opsd_metrics;
struct poller;
struct scheduler;
struct workq;

struct opsd {
	sd_event *event;
	struct opsd_config cfg;
	struct auth auth;
	struct host_registry *hosts; /* current registry (one reference owned here) */
	struct http_server *http;
	struct workq *netq;                /* WinRM calls, reachability checks, magic packets */
	struct dbq *dbq;                   /* the database thread; NULL without a database */
	struct journal *journal;           /* reservation_operations writer + spool */
	struct poller *poller;             /* heartbeat poller; NULL when disabled */
	struct scheduler *sched;           /* reservation automation; NULL when disabled */
	struct opsd_metrics *metrics;      /* GET /metrics; NULL in unit tests */
	struct heartbeat_stream *hbstream; /* GET /api/heartbeat/stream readers */
	bool icmp_warned;
	bool stopping;
	unsigned busy; /* asynchronous operations in flight */
	sd_event_source *grace_timer;
};

/* Count an asynchronous operation in / out; shutdown waits for zero. */
void opsd_busy_inc(struct opsd *o);
void opsd_busy_dec(struct opsd *o);

#endif

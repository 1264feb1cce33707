/* Wake-and-wait on the loop: magic packet, wait, reachability check, repeat. */
#define LOG_COMPONENT "ops-worker.wol"
#include "wake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/workq.h"
#include "common/xmalloc.h"
#include "opsd.h"
#include "opsd_metrics.h"
#include "reach.h"
#include "wol.h"

struct wake_op {
	struct opsd *o;
	struct wake_request req;
	unsigned attempt;
	uint64_t start_usec;
	sd_event_source *timer;
	wake_done_fn done;
	void *userdata;
	int r; /* result of the last job */
	LIST_ENTRY(wake_op) link;
};

static LIST_HEAD(, wake_op) wake_ops = LIST_HEAD_INITIALIZER(wake_ops);

static void wake_send_attempt(struct wake_op *w);

static void wake_finish(struct wake_op *w, bool success, int error, const char *message)
{
	struct wake_outcome out = { 0 };
	struct opsd *o = w->o;

	out.success = success;
	out.attempts_used = w->attempt;
	out.duration_ms = (loop_now(o->event) - w->start_usec) / 1000;
	out.error = error;
	snprintf(out.message, sizeof(out.message), "%s", message);
	opsd_metrics_wake(o->metrics, success ? "reachable" : error < 0 ? "failed" : "unreachable");
	LIST_REMOVE(w, link);
	sd_event_source_disable_unref(w->timer);
	w->done(w->userdata, &out);
	free(w->req.broadcast);
	free(w->req.ping_target);
	free(w);
	opsd_busy_dec(o);
}

static void wake_reach_work(void *arg)
{
	struct wake_op *w = arg;
	const struct opsd_config *c = &w->o->cfg;

	w->r = reach_check(c->reach == CONFIG_REACH_TCP ? REACH_TCP : REACH_ICMP, c->reach_tcp_port,
			   w->req.ping_target, w->req.wait_s);
}

static void wake_reach_done(void *arg)
{
	struct wake_op *w = arg;

	if (w->r < 0 && !w->o->icmp_warned) {
		w->o->icmp_warned = true;
		log_warn("cannot run reachability check: %s (ICMP needs CAP_NET_RAW or "
			 "net.ipv4.ping_group_range), treating hosts as down",
			 strerror(-w->r));
	}
	if (w->r == 1) {
		wake_finish(w, true, 0, "Host reachable");
		return;
	}
	if (w->attempt >= w->req.attempts || w->o->stopping) {
		wake_finish(w, false, 0, "Host did not respond to ping");
		return;
	}
	wake_send_attempt(w);
}

static int wake_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct wake_op *w = userdata;

	if (w->o->stopping) {
		wake_finish(w, false, 0, "Host did not respond to ping");
		return 0;
	}
	if (workq_submit(w->o->netq, wake_reach_work, wake_reach_done, w) < 0)
		wake_finish(w, false, -EAGAIN, "Worker is busy, try again later");
	return 0;
}

static void wake_send_work(void *arg)
{
	struct wake_op *w = arg;

	w->r = wol_send(w->req.mac, w->req.broadcast, w->req.port);
}

static void wake_send_done(void *arg)
{
	struct wake_op *w = arg;
	char mac[WOL_MAC_STR];
	int r;

	wol_format_mac(w->req.mac, mac);
	opsd_metrics_wake_packet(w->o->metrics, w->r >= 0);
	if (w->r < 0) {
		log_warn("failed to send magic packet for %s to %s:%u: %s", mac,
			 w->req.broadcast ? w->req.broadcast : "255.255.255.255", w->req.port,
			 strerror(-w->r));
		wake_finish(w, false, w->r, "Failed to send magic packet");
		return;
	}
	log_debug("magic packet %u/%u for %s sent to %s:%u", w->attempt, w->req.attempts, mac,
		  w->req.broadcast ? w->req.broadcast : "255.255.255.255", w->req.port);
	r = loop_timer_arm(w->o->event, &w->timer, (uint64_t)(w->req.wait_s * 1e6), wake_on_timer,
			   w);
	if (r < 0)
		wake_finish(w, false, r, "Failed to arm timer");
}

static void wake_send_attempt(struct wake_op *w)
{
	w->attempt++;
	if (workq_submit(w->o->netq, wake_send_work, wake_send_done, w) < 0)
		wake_finish(w, false, -EAGAIN, "Worker is busy, try again later");
}

void wake_start(struct opsd *o, struct wake_request *req, wake_done_fn done, void *userdata)
{
	struct wake_op *w = xcalloc(1, sizeof(*w));

	w->o = o;
	w->req = *req;
	memset(req, 0, sizeof(*req));
	w->done = done;
	w->userdata = userdata;
	w->start_usec = loop_now(o->event);
	LIST_INSERT_HEAD(&wake_ops, w, link);
	opsd_busy_inc(o);
	if (w->req.attempts == 0) {
		wake_finish(w, false, 0, "Host did not respond to ping");
		return;
	}
	wake_send_attempt(w);
}

void wake_cancel_all(struct opsd *o)
{
	struct wake_op *w;

	LIST_FOREACH (w, &wake_ops, link)
		if (w->timer != NULL && sd_event_source_get_enabled(w->timer, NULL) > 0)
			loop_timer_arm(o->event, &w->timer, 0, wake_on_timer, w);
}

/* The scheduled heartbeat poller: every non-quarantined host, one by one, per interval. */
#define LOG_COMPONENT "ops-worker.heartbeat"
#include "poller.h"

#include <stdlib.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "heartbeat.h"
#include "hosts.h"
#include "opsd.h"
#include "periodic.h"

struct poller {
	struct opsd *o;
	struct periodic *job;
	struct host_registry *reg; /* the registry of the run in progress */
	size_t next;
};

static void poller_next(struct poller *p);

static void poller_run(void *userdata)
{
	struct poller *p = userdata;

	p->reg = hosts_ref(p->o->hosts);
	p->next = 0;
	log_debug("heartbeat poll of %zu host(s) starting", hosts_count_active(p->reg));
	poller_next(p);
}

static void poller_host_done(void *userdata, const struct heartbeat_result *res)
{
	struct poller *p = userdata;

	if (res->status != 200)
		log_warn("scheduled heartbeat poll of %s failed: %s",
			 p->reg->hosts[p->next - 1].name, res->error);
	poller_next(p);
}

static void poller_next(struct poller *p)
{
	while (p->next < p->reg->n && p->reg->hosts[p->next].quarantined)
		p->next++;
	if (p->next >= p->reg->n || periodic_stopped(p->job) || p->o->stopping) {
		hosts_unref(p->reg);
		p->reg = NULL;
		log_debug("heartbeat poll finished after %.3fs", periodic_done(p->job));
		return;
	}
	p->next++;
	heartbeat_poll(p->o, &p->reg->hosts[p->next - 1], true, true, poller_host_done, p);
}

int poller_new(struct opsd *o, struct poller **ret)
{
	struct poller *p = xcalloc(1, sizeof(*p));
	int r;

	p->o = o;
	r = periodic_new(o->event, o->cfg.poll_interval, poller_run, p, &p->job);
	if (r < 0) {
		free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void poller_stop(struct poller *p)
{
	if (p != NULL)
		periodic_stop(p->job);
}

void poller_free(struct poller *p)
{
	if (p == NULL)
		return;
	hosts_unref(p->reg);
	periodic_free(p->job);
	free(p);
}

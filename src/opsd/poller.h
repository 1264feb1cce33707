/* The scheduled heartbeat poller (OPS_POLL_ENABLED): every non-quarantined host, one by one,
 * every OPS_POLL_INTERVAL seconds. */
#ifndef RL_OPSD_POLLER_H
#define RL_OPSD_POLLER_H

struct opsd;
struct poller;

int poller_new(struct opsd *o, struct poller **ret);
/* No new polls; the host in progress finishes. NULL ok. */
void poller_stop(struct poller *p);
void poller_free(struct poller *p);

#endif

/* Wake-and-wait on the loop: magic packet, wait, reachability check, repeat. */
#ifndef RL_OPSD_WAKE_H
#define RL_OPSD_WAKE_H

#include <stdbool.h>
#include <stdint.h>

struct opsd;

struct wake_request {
	uint8_t mac[6];
	char *broadcast; /* NULL: 255.255.255.255 */
	unsigned port;
	char *ping_target; /* NULL or "": every check fails */
	unsigned attempts;
	double wait_s; /* sleep after each packet, and the check's timeout */
};

struct wake_outcome {
	bool success;
	unsigned attempts_used;
	uint64_t duration_ms;
	int error; /* < 0: a packet could not be sent (message says why) */
	char message[256];
};

typedef void (*wake_done_fn)(void *userdata, const struct wake_outcome *out);

/* Start wake-and-wait; takes ownership of req's strings. done runs once on the loop. */
void wake_start(struct opsd *o, struct wake_request *req, wake_done_fn done, void *userdata);
/* Shutdown: make every waiting wake finish at once (as failed). */
void wake_cancel_all(struct opsd *o);

#endif

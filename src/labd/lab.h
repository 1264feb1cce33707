/* The one lab of this host: state, the try_acquire decision tree, refcount, status. No I/O. */
#ifndef RL_LABD_LAB_H
#define RL_LABD_LAB_H

#include <stdbool.h>

#include <jansson.h>

#define LAB_HASH_LEN 64

/* What try_acquire decided (spec §4.3). */
enum lab_decision {
	LAB_START,             /* no lab: start one */
	LAB_ATTACH,            /* same topology, reuse: ref++ and hand out the devices */
	LAB_RESTART_EXCLUSIVE, /* same topology, reuse=false, idle: tear down and start again */
	LAB_SWITCH,            /* other topology, idle: tear down and start the new one */
	LAB_BUSY,              /* in use (ref > 0) and not shareable: 423 */
};

struct lab {
	bool running;          /* a lab handle exists */
	char *topology;        /* server-side path of the uploaded topology of the lab */
	char *name;            /* topology file name, for log lines */
	char hash[LAB_HASH_LEN + 1];
	char *workdir;         /* where netlab up ran */
	char *upload_dir;      /* upload directory the topology came from */
	json_t *devices;       /* [{"name":..., "raw":{...}}, ...] */
	int ref;
};

void lab_init(struct lab *lab);
enum lab_decision lab_decide(const struct lab *lab, const char *hash, bool reuse);
const char *lab_decision_name(enum lab_decision d);
/* Record a freshly started lab with ref 1; takes ownership of devices. */
void lab_set_running(struct lab *lab, const char *topology, const char *name, const char *hash,
		     const char *workdir, const char *upload_dir, json_t *devices);
/* ref++; returns the new count. */
int lab_attach(struct lab *lab);
/* ref-- clamped at 0; returns true when it would have gone below 0 (underflow). */
bool lab_release(struct lab *lab);
/* Forget the lab (after teardown). */
void lab_clear(struct lab *lab);
/* {"running", "topology", "ref_count", "devices", "netlab_status": null} (new reference). */
json_t *lab_status_json(const struct lab *lab, bool include_devices);
/* New reference to a copy of the device list ([] without a lab). */
json_t *lab_devices_json(const struct lab *lab);

#endif

/* Labs in slots: the decision tree, refcounts, the warm pool and LRU replacement. No I/O.
 *
 * A slot holds at most one lab. A lab is held by at most one session (its holder) and
 * counted by that session's acquires (ref); a lab without a holder is idle and may be taken
 * over by a session asking for the same topology (the warm pool) or replaced. Only labops.c
 * changes labs; everyone else reads them. */
#ifndef RL_LABD_SLOTS_H
#define RL_LABD_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define LAB_HASH_LEN 64
#define SLOTS_MAX 64
#define LAB_INSTANCE_MAX 12

enum lab_state {
	LAB_EMPTY,    /* nothing in the slot */
	LAB_STARTING, /* `netlab up` and inspection running */
	LAB_UP,       /* running */
	LAB_STOPPING, /* `netlab down` running */
};

struct session;

struct lab {
	unsigned slot;
	int mlid;                        /* netlab multilab id; 0: the `default` instance */
	char instance[LAB_INSTANCE_MAX]; /* "default" or the id, as netlab's -i takes it */
	enum lab_state state;
	char *topology; /* server-side path of the uploaded topology copy */
	char *name;     /* topology file name, for log lines */
	char hash[LAB_HASH_LEN + 1];
	char *workdir;    /* where netlab up ran */
	char *upload_dir; /* upload directory the topology came from */
	json_t *devices;  /* [{"name":..., "raw":{...}}, ...] */
	int ref;
	struct session *holder;  /* NULL: idle (or being started without a session) */
	bool pinned;             /* a --prewarm topology: kept idle without expiry */
	uint64_t up_since;       /* monotonic usec */
	uint64_t held_since;     /* monotonic usec its holder got it (0: not held) */
	uint64_t starting_since; /* monotonic usec its current start began (LAB_STARTING) */
	uint64_t idle_since;     /* monotonic usec it lost its holder (LRU order) */
	uint64_t idle_until;     /* idle-keep expiry (monotonic usec); 0: none */
};

/* What an acquire should do (spec §4.3, generalised to slots). */
enum slot_decision {
	SLOT_ATTACH,  /* the session's own lab, same topology, reuse: ref+1 */
	SLOT_TAKE,    /* an idle lab with the same topology, reuse: take it over, no netlab */
	SLOT_START,   /* an empty slot: start the lab there */
	SLOT_RESTART, /* own lab, same topology, reuse=false, ref 0: tear down, start again */
	SLOT_SWITCH,  /* own lab, other topology, ref 0: tear down, start the new one */
	SLOT_REPLACE, /* an idle lab (least recently used first): tear down, start the new one */
	SLOT_BUSY,    /* own lab in use (ref > 0) and not shareable: 423 */
	SLOT_WAIT,    /* no slot can be used now (starting or stopping): decide again later */
};

struct slot_plan {
	enum slot_decision decision;
	struct lab *lab;     /* the slot the plan works on (NULL for BUSY/WAIT, but the
				    * held lab waited for when recheck_at is set) */
	struct lab *leave;   /* SLOT_TAKE: the session's own idle lab it lets go of */
	uint64_t recheck_at; /* SLOT_WAIT for a held lab: decide again by then (usec) */
};

/* What the pool has observed, for one choice: a session that would replace an idle lab may
 * instead wait for a lab with its topology that another session holds (or is starting for
 * another session), when that holder is expected to let go sooner than a new lab would come
 * up (then no `netlab up` runs and no warm lab is lost). Expected back: held_since +
 * mean_hold, or starting_since + up_cost + mean_hold. It waits at most until that plus
 * up_cost (overdue), then the tree decides as without hints. Zeros: nothing observed, never
 * wait. */
struct slot_hints {
	uint64_t now;       /* monotonic usec */
	uint64_t up_cost;   /* mean time a lab took to come up (usec) */
	uint64_t mean_hold; /* mean time a holder keeps a lab (usec) */
};

struct slots {
	struct lab *labs;
	unsigned n;
};

/* n slots; mlids[i] is slot i's multilab id (0 = the default instance). */
void slots_init(struct slots *sl, unsigned n, const int *mlids);
void slots_free(struct slots *sl);

/* The decision for session s (holding `own`, or NULL) asking for topology `hash`; hints may
 * be NULL (the tree alone). */
struct slot_plan slots_decide(const struct slots *sl, const struct lab *own, const char *hash,
			      bool reuse, const struct slot_hints *hints);
const char *slot_decision_name(enum slot_decision d);

/* An UP lab nobody holds. */
bool lab_is_idle(const struct lab *lab);
/* Slots with no lab. */
unsigned slots_empty(const struct slots *sl);
/* Idle labs with this topology. */
struct lab *slots_find_idle(const struct slots *sl, const char *hash);

/* The lab came up: record it with ref 1 for holder (or idle with ref 0 when holder is
 * NULL); takes ownership of devices. */
void lab_set_up(struct lab *lab, const char *topology, const char *name, const char *hash,
		const char *workdir, const char *upload_dir, json_t *devices,
		struct session *holder, uint64_t now);
/* ref++; returns the new count. */
int lab_attach(struct lab *lab);
/* ref-- clamped at 0; true when it would have gone below 0 (underflow). */
bool lab_release(struct lab *lab);
/* The holder let go: the lab becomes idle with ref 0. */
void lab_set_idle(struct lab *lab, uint64_t now, uint64_t idle_until);
/* Forget the lab (after teardown); the slot becomes empty. */
void lab_clear(struct lab *lab);
/* {"running", "topology", "ref_count", "devices", "netlab_status": null} (new reference). */
json_t *lab_status_json(const struct lab *lab, bool include_devices);
/* New reference to a copy of the device list ([] without a lab). */
json_t *lab_devices_json(const struct lab *lab);
const char *lab_state_name(enum lab_state state);

#endif

/* Labs in slots: the decision tree, refcounts, the warm pool and LRU replacement. No I/O. */
#include "slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

static void lab_reset(struct lab *lab)
{
	unsigned slot = lab->slot;
	int mlid = lab->mlid;

	memset(lab, 0, sizeof(*lab));
	lab->slot = slot;
	lab->mlid = mlid;
	if (mlid > 0)
		snprintf(lab->instance, sizeof(lab->instance), "%d", mlid);
	else
		snprintf(lab->instance, sizeof(lab->instance), "default");
}

void slots_init(struct slots *sl, unsigned n, const int *mlids)
{
	unsigned i;

	sl->n = n;
	sl->labs = xcalloc(n, sizeof(*sl->labs));
	for (i = 0; i < n; i++) {
		sl->labs[i].slot = i;
		sl->labs[i].mlid = mlids ? mlids[i] : 0;
		lab_reset(&sl->labs[i]);
	}
}

void slots_free(struct slots *sl)
{
	unsigned i;

	for (i = 0; sl->labs != NULL && i < sl->n; i++)
		lab_clear(&sl->labs[i]);
	free(sl->labs);
	sl->labs = NULL;
	sl->n = 0;
}

bool lab_is_idle(const struct lab *lab)
{
	return lab->state == LAB_UP && lab->holder == NULL;
}

unsigned slots_empty(const struct slots *sl)
{
	unsigned i, n = 0;

	for (i = 0; i < sl->n; i++)
		n += sl->labs[i].state == LAB_EMPTY;
	return n;
}

struct lab *slots_find_idle(const struct slots *sl, const char *hash)
{
	unsigned i;

	for (i = 0; i < sl->n; i++)
		if (lab_is_idle(&sl->labs[i]) && strcmp(sl->labs[i].hash, hash) == 0)
			return &sl->labs[i];
	return NULL;
}

/* Another slot has a lab (up or coming up) with lab's topology. */
static bool slots_has_copy(const struct slots *sl, const struct lab *lab)
{
	unsigned i;

	for (i = 0; i < sl->n; i++)
		if (&sl->labs[i] != lab && sl->labs[i].state != LAB_EMPTY &&
		    sl->labs[i].state != LAB_STOPPING && strcmp(sl->labs[i].hash, lab->hash) == 0)
			return true;
	return false;
}

/* The idle lab to replace: a second copy of a topology before the only one (so the pool
 * keeps as many topologies warm as it can), then prewarmed ones last, then least recently
 * used. */
static struct lab *slots_lru_idle(const struct slots *sl)
{
	struct lab *best = NULL, *lab;
	bool best_copy = false, copy;
	unsigned i;

	for (i = 0; i < sl->n; i++) {
		lab = &sl->labs[i];
		if (!lab_is_idle(lab))
			continue;
		copy = slots_has_copy(sl, lab);
		if (best == NULL || (copy && !best_copy) ||
		    (copy == best_copy && best->pinned && !lab->pinned) ||
		    (copy == best_copy && best->pinned == lab->pinned &&
		     lab->idle_since < best->idle_since)) {
			best = lab;
			best_copy = copy;
		}
	}
	return best;
}

static struct slot_plan plan(enum slot_decision d, const struct lab *lab, const struct lab *leave)
{
	return (struct slot_plan){ .decision = d,
				   .lab = (struct lab *)lab,
				   .leave = (struct lab *)leave };
}

/* The held lab with this topology worth waiting for (its holder is expected to let go
 * before a new lab could come up, and is not overdue yet; the one due first), with the time
 * it stops being worth it in *until; NULL: none. */
static const struct lab *slots_worth_waiting(const struct slots *sl, const char *hash,
					     const struct slot_hints *h, uint64_t *until_out)
{
	const struct lab *lab, *best = NULL;
	uint64_t back, until;
	unsigned i;

	if (h == NULL || h->up_cost == 0 || h->mean_hold == 0)
		return NULL;
	for (i = 0; i < sl->n; i++) {
		lab = &sl->labs[i];
		if (lab->holder == NULL || strcmp(lab->hash, hash) != 0)
			continue;
		if (lab->state == LAB_UP && lab->held_since != 0 && lab->held_since <= h->now)
			back = lab->held_since + h->mean_hold;
		else if (lab->state == LAB_STARTING && lab->starting_since != 0 &&
			 lab->starting_since <= h->now)
			back = lab->starting_since + h->up_cost + h->mean_hold;
		else
			continue;
		until = back + h->up_cost;
		if (back < h->now + h->up_cost && h->now < until &&
		    (best == NULL || until < *until_out)) {
			best = lab;
			*until_out = until;
		}
	}
	return best;
}

struct slot_plan slots_decide(const struct slots *sl, const struct lab *own, const char *hash,
			      bool reuse, const struct slot_hints *hints)
{
	const struct lab *lab, *held;
	struct slot_plan p;
	uint64_t until = 0;
	unsigned i;

	if (own != NULL && own->state == LAB_UP) {
		/* The session's own lab: the original's tree, unchanged. */
		if (strcmp(own->hash, hash) == 0) {
			if (reuse)
				return plan(SLOT_ATTACH, own, NULL);
			return plan(own->ref == 0 ? SLOT_RESTART : SLOT_BUSY,
				    own->ref == 0 ? own : NULL, NULL);
		}
		if (own->ref > 0)
			return plan(SLOT_BUSY, NULL, NULL);
		/* Another topology is warm elsewhere: take it and let go of our own. */
		if (reuse && (lab = slots_find_idle(sl, hash)) != NULL)
			return plan(SLOT_TAKE, lab, own);
		return plan(SLOT_SWITCH, own, NULL);
	}
	if (own != NULL)
		return plan(SLOT_WAIT, NULL, NULL); /* its own lab is still settling */
	if (reuse && (lab = slots_find_idle(sl, hash)) != NULL)
		return plan(SLOT_TAKE, lab, NULL);
	for (i = 0; i < sl->n; i++)
		if (sl->labs[i].state == LAB_EMPTY)
			return plan(SLOT_START, &sl->labs[i], NULL);
	if ((lab = slots_lru_idle(sl)) != NULL) {
		if (reuse && (held = slots_worth_waiting(sl, hash, hints, &until)) != NULL) {
			p = plan(SLOT_WAIT, held, NULL);
			p.recheck_at = until;
			return p;
		}
		return plan(SLOT_REPLACE, lab, NULL);
	}
	return plan(SLOT_WAIT, NULL, NULL);
}

const char *slot_decision_name(enum slot_decision d)
{
	switch (d) {
	case SLOT_ATTACH:
		return "attach";
	case SLOT_TAKE:
		return "take-warm";
	case SLOT_START:
		return "start";
	case SLOT_RESTART:
		return "exclusive-restart";
	case SLOT_SWITCH:
		return "topology-switch";
	case SLOT_REPLACE:
		return "replace-idle";
	case SLOT_BUSY:
		return "busy";
	case SLOT_WAIT:
		return "wait";
	}
	return "?";
}

void lab_set_up(struct lab *lab, const char *topology, const char *name, const char *hash,
		const char *workdir, const char *upload_dir, json_t *devices,
		struct session *holder, uint64_t now)
{
	lab_clear(lab);
	lab->state = LAB_UP;
	lab->topology = xstrdup(topology);
	lab->name = xstrdup(name);
	memcpy(lab->hash, hash, LAB_HASH_LEN);
	lab->hash[LAB_HASH_LEN] = '\0';
	lab->workdir = xstrdup(workdir);
	lab->upload_dir = upload_dir ? xstrdup(upload_dir) : NULL;
	lab->devices = devices;
	lab->holder = holder;
	lab->held_since = 0; /* set when the holder gets its answer */
	lab->ref = holder != NULL ? 1 : 0;
	lab->up_since = now;
	lab->idle_since = now;
}

int lab_attach(struct lab *lab)
{
	return ++lab->ref;
}

bool lab_release(struct lab *lab)
{
	if (lab->ref <= 0) {
		lab->ref = 0;
		return true;
	}
	lab->ref--;
	return false;
}

void lab_set_idle(struct lab *lab, uint64_t now, uint64_t idle_until)
{
	lab->holder = NULL;
	lab->held_since = 0;
	lab->ref = 0;
	lab->idle_since = now;
	lab->idle_until = idle_until;
}

void lab_clear(struct lab *lab)
{
	free(lab->topology);
	free(lab->name);
	free(lab->workdir);
	free(lab->upload_dir);
	json_decref(lab->devices);
	lab_reset(lab);
}

json_t *lab_devices_json(const struct lab *lab)
{
	return lab != NULL && lab->devices ? json_deep_copy(lab->devices) : json_array();
}

json_t *lab_status_json(const struct lab *lab, bool include_devices)
{
	/* As the original: a lab is running from the end of its start to the end of its
	 * teardown. */
	bool running = lab != NULL && (lab->state == LAB_UP || lab->state == LAB_STOPPING);
	json_t *o = json_object();

	json_object_set_new(o, "running", json_boolean(running));
	json_object_set_new(o, "topology",
			    running && lab->topology ? json_string(lab->topology) : json_null());
	json_object_set_new(o, "ref_count", json_integer(running ? lab->ref : 0));
	json_object_set_new(o, "devices",
			    include_devices && running ? lab_devices_json(lab) : json_array());
	json_object_set_new(o, "netlab_status", json_null());
	return o;
}

const char *lab_state_name(enum lab_state state)
{
	switch (state) {
	case LAB_EMPTY:
		return "empty";
	case LAB_STARTING:
		return "starting";
	case LAB_UP:
		return "up";
	case LAB_STOPPING:
		return "stopping";
	}
	return "?";
}

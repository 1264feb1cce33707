/* Lab operations at start-up: the cleanup job (leftover labs of a previous instance torn
 * down, kept labs checked with netlab and re-adopted or dropped), then the --prewarm
 * topologies brought up into free slots. Acquires wait until this is over (ops->ready). */
#define LOG_COMPONENT "neops_remote_lab.netlab.lab_manager"
#include "labops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/xmalloc.h"
#include "events.h"
#include "labops_int.h"

/* The start-up job checked the kept labs: devices (re-read) for each one still up, null for
 * each one that is gone. */
static void labops_adopted(struct labops *ops, const json_t *results)
{
	struct labd *d = D(ops);
	size_t k = 0;
	unsigned i;

	for (i = 0; i < d->slots.n; i++) {
		struct slot_rt *rt = &ops->rt[i];
		struct lab *lab = &d->slots.labs[i];
		const json_t *devices = json_array_get(results, k);

		if (!rt->adopting)
			continue;
		k++;
		rt->adopting = false;
		if (!json_is_array(devices)) {
			log_warn("Dropping the kept lab %s in slot %u: it is not up any more",
				 lab->name, lab->slot);
			if (lab->workdir != NULL && !netlab_dir_locked(lab->workdir) &&
			    fs_rm_rf(lab->workdir) < 0)
				log_warn("cannot remove %s, ignoring", lab->workdir);
			labops_forget(ops, lab);
			labops_fire_waiters(rt, LABOP_OK, NULL);
			continue;
		}
		json_decref(lab->devices);
		lab->devices = json_incref((json_t *)devices);
		log_info("Re-adopted lab %s in slot %u (instance %s, %zu devices, %s)", lab->name,
			 lab->slot, lab->instance, json_array_size(devices),
			 lab->holder ? lab->holder->handle : "idle");
		if (rt->stop_after) {
			rt->stop_after = false;
			labops_stop(ops, lab, rt->stop_reason);
		} else if (lab_is_idle(lab)) {
			labops_keep_idle(ops, lab);
		}
	}
	labd_state_changed(d);
}

static void labops_on_startup_done(struct labjob *job, const struct labjob_result *res,
				   void *userdata)
{
	struct labops *ops = userdata;
	const json_t *foreign = ops->run.foreign(ops->run.ctx);
	struct slots *sl = &D(ops)->slots;
	size_t i, k;
	unsigned j;

	ops->startup = NULL;
	ops->ready = true;
	labops_adopted(ops, res->devices);
	/* A slot whose multilab id another user's lab has: take a spare one. */
	for (j = 0; j < sl->n; j++) {
		for (i = 0; i < json_array_size(foreign); i++)
			if (json_integer_value(json_array_get(foreign, i)) == sl->labs[j].mlid)
				break;
		if (i == json_array_size(foreign) || sl->labs[j].mlid == 0)
			continue;
		for (k = 0; k < ops->n_spare; k++) {
			size_t f;

			for (f = 0; f < json_array_size(foreign); f++)
				if (json_integer_value(json_array_get(foreign, f)) ==
				    ops->spare_mlids[k])
					break;
			if (f == json_array_size(foreign))
				break;
		}
		if (k == ops->n_spare) {
			log_error("Slot %u: instance %d is another user's and no spare id is free",
				  j, sl->labs[j].mlid);
			continue;
		}
		log_info("Slot %u uses instance %d (instance %d is another user's lab)", j,
			 ops->spare_mlids[k], sl->labs[j].mlid);
		sl->labs[j].mlid = ops->spare_mlids[k];
		snprintf(sl->labs[j].instance, sizeof(sl->labs[j].instance), "%d",
			 sl->labs[j].mlid);
		memmove(&ops->spare_mlids[k], &ops->spare_mlids[k + 1],
			(--ops->n_spare - k) * sizeof(int));
	}
	for (i = 0; i < ops->n_prewarm && !ops->cancelled; i++) {
		struct upload *u = xcalloc(1, sizeof(*u));
		struct lab *lab = NULL;
		int r;

		for (j = 0; j < sl->n && lab == NULL; j++)
			if (sl->labs[j].state == LAB_EMPTY)
				lab = &sl->labs[j];
		if (lab == NULL) {
			log_warn("No free slot to prewarm %s", ops->prewarm[i]);
			free(u);
			break;
		}
		r = upload_from_file(u, D(ops)->tmpdir, &D(ops)->upload_limits, ops->prewarm[i]);
		if (r < 0) {
			log_error("Cannot prewarm %s: %s", ops->prewarm[i], strerror(-r));
			upload_free(u);
			free(u);
			continue;
		}
		log_info("Prewarming %s in slot %u (instance %s)", u->topology_name, lab->slot,
			 lab->instance);
		RT(ops, lab)->upload = u;
		labops_start(ops, lab, u);
	}
	labops_kick(ops);
}

void labops_adopt(struct labops *ops, struct lab *lab)
{
	RT(ops, lab)->adopting = true;
}

void labops_startup(struct labops *ops, const json_t *leftovers)
{
	json_t *adopt = json_array();
	unsigned i;

	for (i = 0; i < D(ops)->slots.n; i++)
		if (ops->rt[i].adopting)
			json_array_append_new(
				adopt, json_pack("{s:i, s:s}", "mlid", D(ops)->slots.labs[i].mlid,
						 "workdir", D(ops)->slots.labs[i].workdir));
	if (ops->run.startup(ops->run.ctx, D(ops)->slots.n > 1, adopt, leftovers,
			     labops_on_startup_done, ops, &ops->startup) < 0) {
		log_error("cannot run the start-up cleanup");
		ops->ready = true;
	}
	json_decref(adopt);
}

int labops_prewarm(struct labops *ops, const char *path)
{
	char hash[LAB_HASH_LEN + 1];
	struct upload u;
	int r;

	/* The checks a POST /lab topology passes, now rather than after start-up. */
	r = upload_from_file(&u, D(ops)->tmpdir, &D(ops)->upload_limits, path);
	upload_remove(&u);
	upload_free(&u);
	if (r < 0)
		return r;
	r = upload_hash_file(path, D(ops)->upload_limits.file_max, hash);
	if (r < 0)
		return r;
	ops->prewarm = xreallocarray(ops->prewarm, ops->n_prewarm + 1, sizeof(*ops->prewarm));
	ops->prewarm[ops->n_prewarm++] = xstrdup(path);
	ops->pinned = xreallocarray(ops->pinned, ops->n_pinned + 1, sizeof(*ops->pinned));
	memcpy(ops->pinned[ops->n_pinned++], hash, sizeof(hash));
	return 0;
}

/* Lab operations, retiring: a multilab lab that is replaced (another topology, reuse=false,
 * or least recently used) is torn down in the background on its own instance, while its slot
 * starts the new lab at once on a spare multilab id; the old id returns to the spares when
 * netlab let go of it. A replacement then costs one `netlab up`, not a `down` and an `up`.
 * The default instance (one slot) cannot overlap: there the teardown comes first. */
#define LOG_COMPONENT "neops_remote_lab.netlab.lab_manager"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "events.h"
#include "labops_int.h"

struct labops_retiring {
	struct labops *ops;
	struct labjob *job;
	json_t *event; /* lab.down / lab.failed data: the lab as it was */
	int mlid;
	char *workdir;
	char *upload_dir;
	uint64_t started;
	LIST_ENTRY(labops_retiring) link;
};

static void labops_retiring_free(struct labops_retiring *r)
{
	json_decref(r->event);
	free(r->workdir);
	free(r->upload_dir);
	free(r);
}

static void labops_on_retired(struct labjob *job, const struct labjob_result *res, void *userdata)
{
	struct labops_retiring *r = userdata;
	struct labops *ops = r->ops;
	int rr;

	LIST_REMOVE(r, link);
	json_object_set_new(r->event, "seconds",
			    json_real((double)(now_usec(ops) - r->started) / 1e6));
	if (res->err < 0) {
		json_object_set_new(r->event, "stage", json_string("stop"));
		json_object_set_new(r->event, "detail",
				    json_incref(json_object_get(res->error, "detail")
							? json_object_get(res->error, "detail")
							: json_null()));
		ops->shutdown_failed = true;
	}
	labd_event(D(ops), res->err < 0 ? "lab.failed" : "lab.down", json_incref(r->event));
	if (r->upload_dir != NULL && (rr = fs_rm_rf(r->upload_dir)) < 0)
		log_warn("cannot remove %s: %s, ignoring", r->upload_dir, strerror(-rr));
	/* An id netlab still registers (its directory is kept) is not used again. */
	if (netlab_dir_locked(r->workdir))
		log_error("netlab still registers instance %d in %s; not using that id again",
			  r->mlid, r->workdir);
	else
		ops->spare_mlids[ops->n_spare++] = r->mlid;
	labops_retiring_free(r);
	labops_kick(ops);
}

bool labops_retire(struct labops *ops, struct lab *lab, const char *reason)
{
	struct labops_retiring *r;
	int mlid;

	if (lab->mlid == 0 || ops->n_spare == 0 || RT(ops, lab)->job != NULL ||
	    lab->state != LAB_UP)
		return false;
	r = xcalloc(1, sizeof(*r));
	r->ops = ops;
	r->mlid = lab->mlid;
	r->workdir = xstrdup(lab->workdir);
	r->upload_dir = lab->upload_dir ? xstrdup(lab->upload_dir) : NULL;
	r->event = labops_lab_event(lab);
	r->started = now_usec(ops);
	if (ops->run.stop(ops->run.ctx, lab->mlid, lab->workdir, lab->name, reason,
			  labops_on_retired, r, &r->job) < 0) {
		labops_retiring_free(r);
		return false;
	}
	LIST_INSERT_HEAD(&ops->retiring, r, link);
	mlid = ops->spare_mlids[0];
	memmove(&ops->spare_mlids[0], &ops->spare_mlids[1], --ops->n_spare * sizeof(int));
	log_info("Slot %u continues on instance %d while instance %d is torn down", lab->slot, mlid,
		 lab->mlid);
	/* The slot forgets the old lab (its directories are the retiring job's now). */
	free(lab->upload_dir);
	lab->upload_dir = NULL;
	if (lab->holder != NULL && lab->holder->lab == lab)
		lab->holder->lab = NULL;
	loop_timer_disarm(RT(ops, lab)->idle_timer);
	lab_clear(lab);
	lab->mlid = mlid;
	snprintf(lab->instance, sizeof(lab->instance), "%d", mlid);
	labd_state_changed(D(ops));
	return true;
}

bool labops_retiring_idle(const struct labops *ops)
{
	return LIST_EMPTY(&ops->retiring);
}

void labops_retiring_abandon(struct labops *ops)
{
	struct labops_retiring *r;

	while ((r = LIST_FIRST(&ops->retiring)) != NULL) {
		LIST_REMOVE(r, link);
		ops->run.abandon(r->job);
		labops_retiring_free(r);
	}
}

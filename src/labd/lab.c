/* The one lab of this host: state, the try_acquire decision tree, refcount, status. No I/O. */
#include "lab.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

void lab_init(struct lab *lab)
{
	memset(lab, 0, sizeof(*lab));
}

enum lab_decision lab_decide(const struct lab *lab, const char *hash, bool reuse)
{
	if (!lab->running)
		return LAB_START;
	if (strcmp(lab->hash, hash) == 0) {
		if (reuse)
			return LAB_ATTACH;
		return lab->ref == 0 ? LAB_RESTART_EXCLUSIVE : LAB_BUSY;
	}
	return lab->ref == 0 ? LAB_SWITCH : LAB_BUSY;
}

const char *lab_decision_name(enum lab_decision d)
{
	switch (d) {
	case LAB_START: return "start";
	case LAB_ATTACH: return "attach";
	case LAB_RESTART_EXCLUSIVE: return "exclusive-restart";
	case LAB_SWITCH: return "topology-switch";
	case LAB_BUSY: return "busy";
	}
	return "?";
}

void lab_set_running(struct lab *lab, const char *topology, const char *name, const char *hash,
		     const char *workdir, const char *upload_dir, json_t *devices)
{
	lab_clear(lab);
	lab->running = true;
	lab->topology = xstrdup(topology);
	lab->name = xstrdup(name);
	memcpy(lab->hash, hash, LAB_HASH_LEN);
	lab->hash[LAB_HASH_LEN] = '\0';
	lab->workdir = xstrdup(workdir);
	lab->upload_dir = xstrdup(upload_dir);
	lab->devices = devices;
	lab->ref = 1;
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

void lab_clear(struct lab *lab)
{
	free(lab->topology);
	free(lab->name);
	free(lab->workdir);
	free(lab->upload_dir);
	json_decref(lab->devices);
	lab_init(lab);
}

json_t *lab_devices_json(const struct lab *lab)
{
	return lab->devices ? json_deep_copy(lab->devices) : json_array();
}

json_t *lab_status_json(const struct lab *lab, bool include_devices)
{
	json_t *o = json_object();

	json_object_set_new(o, "running", json_boolean(lab->running));
	json_object_set_new(o, "topology", lab->topology ? json_string(lab->topology) : json_null());
	json_object_set_new(o, "ref_count", json_integer(lab->running ? lab->ref : 0));
	json_object_set_new(o, "devices",
			    include_devices ? lab_devices_json(lab) : json_array());
	json_object_set_new(o, "netlab_status", json_null());
	return o;
}

/* Lab bodies: devices, POST /lab and GET /lab answers into library structs (pure functions,
 * no I/O). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Free one device's strings. */
static void device_clear(struct rl_device *d)
{
	free(d->name);
	free(d->mgmt_ipv4);
	free(d->ansible_host);
	free(d->ansible_user);
	free(d->ansible_network_os);
	free(d->raw_json);
}

/* Free a device list and everything in it. */
void rl_devices_free(struct rl_devices *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		device_clear(&d->items[i]);
	free(d->items);
	free(d->json);
	free(d);
}

/* One DeviceInfo {name, raw} into dev. */
static int device_from_json(json_t *o, struct rl_device *dev)
{
	json_t *name, *raw, *mgmt;
	int r;

	if (!json_is_object(o))
		return -EBADMSG;
	name = json_object_get(o, "name");
	if (!json_is_string(name) || strlen(json_string_value(name)) != json_string_length(name))
		return -EBADMSG;
	dev->name = strdup(json_string_value(name));
	if (dev->name == NULL)
		return -ENOMEM;
	raw = json_object_get(o, "raw");
	mgmt = json_is_object(raw) ? json_object_get(raw, "mgmt") : NULL;
	r = reply_dup_opt_string(mgmt, "ipv4", &dev->mgmt_ipv4);
	if (r < 0)
		return r;
	r = reply_dup_opt_string(raw, "ansible_host", &dev->ansible_host);
	if (r < 0)
		return r;
	r = reply_dup_opt_string(raw, "ansible_user", &dev->ansible_user);
	if (r < 0)
		return r;
	r = reply_dup_opt_string(raw, "ansible_network_os", &dev->ansible_network_os);
	if (r < 0)
		return r;
	if (raw == NULL)
		dev->raw_json = strdup("null");
	else
		dev->raw_json = reply_dump(raw);
	if (dev->raw_json == NULL)
		return -ENOMEM;
	return 0;
}

/* A JSON array of DeviceInfo into a new struct rl_devices. */
static int devices_from_json(json_t *arr, struct rl_devices **ret)
{
	struct rl_devices *d;
	size_t i, n;
	int r;

	if (!json_is_array(arr))
		return -EBADMSG;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	n = json_array_size(arr);
	if (n > 0) {
		d->items = calloc(n, sizeof(*d->items));
		if (d->items == NULL) {
			r = -ENOMEM;
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		d->n = i + 1; /* so that a failure frees what was filled */
		r = device_from_json(json_array_get(arr, i), &d->items[i]);
		if (r < 0)
			goto fail;
	}
	d->n = n;
	d->json = reply_dump(arr);
	if (d->json == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	*ret = d;
	return 0;
fail:
	rl_devices_free(d);
	return r;
}

/* [DeviceInfo...] from GET /lab/devices. */
int reply_devices(const char *body, size_t len, struct rl_devices **ret)
{
	json_t *j = NULL;
	int r;

	r = reply_load(body, len, &j);
	if (r == 0)
		r = devices_from_json(j, ret);
	json_decref(j);
	return r;
}

/* {"reused": bool, "devices": [...]} from POST /lab. */
int reply_acquire(const char *body, size_t len, struct rl_devices **ret)
{
	struct rl_devices *d = NULL;
	json_t *j = NULL, *reused;
	int r;

	r = reply_load(body, len, &j);
	if (r < 0)
		goto out;
	reused = json_object_get(j, "reused");
	if (!json_is_boolean(reused)) {
		r = -EBADMSG;
		goto out;
	}
	r = devices_from_json(json_object_get(j, "devices"), &d);
	if (r < 0)
		goto out;
	d->reused = json_is_true(reused);
	*ret = d;
out:
	json_decref(j);
	return r;
}

/* Free a lab status. */
void rl_lab_status_free(struct rl_lab_status *s)
{
	if (s == NULL)
		return;
	free(s->topology);
	rl_devices_free(s->devices);
	free(s->json);
	free(s);
}

/* LabStatus {running, topology, ref_count, devices, netlab_status} from GET /lab. */
int reply_lab_status(const char *body, size_t len, struct rl_lab_status **ret)
{
	struct rl_lab_status *s = NULL;
	json_t *j = NULL, *running, *topo, *ref, *devs;
	int r;

	r = reply_load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	running = json_object_get(j, "running");
	topo = json_object_get(j, "topology");
	ref = json_object_get(j, "ref_count");
	devs = json_object_get(j, "devices");
	if (!json_is_boolean(running) || !json_is_integer(ref) ||
	    (topo != NULL && !json_is_null(topo) && !json_is_string(topo)))
		goto out;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		r = -ENOMEM;
		goto out;
	}
	s->running = json_is_true(running);
	s->ref_count = (long)json_integer_value(ref);
	r = reply_dup_opt_string(j, "topology", &s->topology);
	if (r < 0)
		goto out;
	if (devs == NULL || json_is_null(devs)) {
		s->devices = calloc(1, sizeof(*s->devices));
		if (s->devices == NULL || (s->devices->json = strdup("[]")) == NULL) {
			r = -ENOMEM;
			goto out;
		}
	} else {
		r = devices_from_json(devs, &s->devices);
		if (r < 0)
			goto out;
	}
	s->json = reply_dump(j);
	if (s->json == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*ret = s;
	s = NULL;
	r = 0;
out:
	rl_lab_status_free(s);
	json_decref(j);
	return r;
}

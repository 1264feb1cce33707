/* The operators' view of a server: GET /host, GET /sessions and GET /labs answers into library
 * structs (pure functions, no I/O). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

void rl_host_info_free(struct rl_host_info *h)
{
	size_t i;

	if (h == NULL)
		return;
	free(h->name);
	free(h->version);
	for (i = 0; i < h->n_warm; i++)
		free(h->warm[i]);
	free(h->warm);
	for (i = 0; i < h->n_tags; i++) {
		free(h->tag_keys[i]);
		free(h->tag_values[i]);
	}
	free(h->tag_keys);
	free(h->tag_values);
	free(h->json);
	free(h);
}

#define REPLY_MAX_ITEMS 4096 /* warm hashes, tags, sessions, labs, devices: more is garbage */

/* GET /host. */
int reply_host(const char *body, size_t len, struct rl_host_info **ret)
{
	struct rl_host_info *h = NULL;
	json_t *j = NULL, *name, *warm, *tags, *drain, *v;
	const char *key;
	size_t i, n;
	int r;

	r = reply_load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	name = json_object_get(j, "name");
	warm = json_object_get(j, "warm");
	tags = json_object_get(j, "tags");
	drain = json_object_get(j, "draining");
	if (!json_is_string(name) || strlen(json_string_value(name)) != json_string_length(name) ||
	    (warm != NULL && !json_is_null(warm) && !json_is_array(warm)) ||
	    (tags != NULL && !json_is_null(tags) && !json_is_object(tags)) ||
	    (drain != NULL && !json_is_boolean(drain)) || json_array_size(warm) > REPLY_MAX_ITEMS ||
	    json_object_size(tags) > REPLY_MAX_ITEMS)
		goto out;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = reply_get_long(j, "slots", 1, &h->slots)) < 0 ||
	    (r = reply_get_long(j, "free_slots", 0, &h->free_slots)) < 0 ||
	    (r = reply_get_long(j, "active", 0, &h->active)) < 0 ||
	    (r = reply_get_long(j, "waiting", 0, &h->waiting)) < 0 ||
	    (r = reply_get_long(j, "queue_length", 0, &h->queue_length)) < 0 ||
	    (r = reply_get_num(j, "estimated_wait", -1, &h->estimated_wait)) < 0)
		goto out;
	h->draining = json_is_true(drain);
	r = -ENOMEM;
	h->name = strdup(json_string_value(name));
	if (h->name == NULL || reply_dup_opt_string(j, "version", &h->version) < 0)
		goto out;
	n = json_array_size(warm);
	if (n > 0 && (h->warm = calloc(n, sizeof(*h->warm))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		v = json_array_get(warm, i);
		if (!json_is_string(v))
			continue; /* not a hash: ignore */
		h->warm[h->n_warm] = strdup(json_string_value(v));
		if (h->warm[h->n_warm] == NULL)
			goto out;
		h->n_warm++;
	}
	n = json_object_size(tags);
	if (n > 0 && ((h->tag_keys = calloc(n, sizeof(char *))) == NULL ||
		      (h->tag_values = calloc(n, sizeof(char *))) == NULL))
		goto out;
	json_object_foreach (tags, key, v) {
		if (!json_is_string(v))
			continue; /* tags are strings; anything else can't match a requirement */
		h->tag_keys[h->n_tags] = strdup(key);
		h->tag_values[h->n_tags] = strdup(json_string_value(v));
		if (h->tag_keys[h->n_tags] == NULL || h->tag_values[h->n_tags] == NULL) {
			free(h->tag_keys[h->n_tags]);
			free(h->tag_values[h->n_tags]);
			goto out;
		}
		h->n_tags++;
	}
	h->json = reply_dump(j);
	if (h->json == NULL)
		goto out;
	*ret = h;
	h = NULL;
	r = 0;
out:
	rl_host_info_free(h);
	json_decref(j);
	return r;
}

void rl_queue_free(struct rl_queue *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->n; i++) {
		free(q->items[i].handle);
		free(q->items[i].label);
		free(q->items[i].lab_hash);
	}
	free(q->items);
	free(q->json);
	free(q);
}

/* One entry of GET /sessions. */
static int queue_entry(json_t *o, struct rl_queue_entry *e)
{
	json_t *st = json_object_get(o, "state");
	int r;

	if (!json_is_object(o) || !json_is_string(st))
		return -EBADMSG;
	if (strcasecmp(json_string_value(st), "active") == 0)
		e->state = RL_SESSION_ACTIVE;
	else if (strcasecmp(json_string_value(st), "waiting") == 0)
		e->state = RL_SESSION_WAITING;
	else
		return -EBADMSG;
	if ((r = reply_get_long(o, "position", 0, &e->position)) < 0 ||
	    (r = reply_get_long(o, "priority", 0, &e->priority)) < 0 ||
	    (r = reply_get_num(o, "age", 0, &e->age)) < 0 ||
	    (r = reply_get_num(o, "last_seen_age", 0, &e->last_seen_age)) < 0 ||
	    (r = reply_get_long(o, "slot", -1, &e->slot)) < 0 ||
	    (r = reply_get_num(o, "estimated_wait", -1, &e->estimated_wait)) < 0)
		return r;
	if ((r = reply_dup_string_or_empty(o, "handle", &e->handle)) < 0 ||
	    (r = reply_dup_opt_string(o, "label", &e->label)) < 0 ||
	    (r = reply_dup_opt_string(o, "lab_hash", &e->lab_hash)) < 0)
		return r;
	return 0;
}

/* GET /sessions. */
int reply_queue(const char *body, size_t len, struct rl_queue **ret)
{
	struct rl_queue *q = NULL;
	json_t *j = NULL, *list;
	size_t i, n;
	int r;

	r = reply_load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	list = json_object_get(j, "sessions");
	if (!json_is_array(list) || json_array_size(list) > REPLY_MAX_ITEMS)
		goto out;
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		r = -ENOMEM;
		goto out;
	}
	r = reply_get_long(j, "slots", 1, &q->slots);
	if (r < 0)
		goto out;
	n = json_array_size(list);
	if (n > 0 && (q->items = calloc(n, sizeof(*q->items))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		q->n = i + 1; /* so that a failure frees what was filled */
		r = queue_entry(json_array_get(list, i), &q->items[i]);
		if (r < 0)
			goto out;
	}
	q->json = reply_dump(j);
	if (q->json == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*ret = q;
	q = NULL;
	r = 0;
out:
	rl_queue_free(q);
	json_decref(j);
	return r;
}

void rl_labs_free(struct rl_labs *l)
{
	size_t i, k;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		struct rl_lab_info *x = &l->items[i];

		free(x->instance);
		free(x->state);
		free(x->topology);
		free(x->hash);
		free(x->holder);
		for (k = 0; k < x->n_devices; k++) {
			free(x->devices[k].name);
			free(x->devices[k].mgmt_ipv4);
		}
		free(x->devices);
	}
	free(l->items);
	free(l->json);
	free(l);
}

/* One lab of GET /labs. */
static int lab_info(json_t *o, struct rl_lab_info *x)
{
	json_t *devs, *d, *idle;
	size_t i, n;
	int r;

	if (!json_is_object(o))
		return -EBADMSG;
	devs = json_object_get(o, "devices");
	idle = json_object_get(o, "idle");
	if ((devs != NULL && !json_is_null(devs) && !json_is_array(devs)) ||
	    json_array_size(devs) > REPLY_MAX_ITEMS || (idle != NULL && !json_is_boolean(idle)))
		return -EBADMSG;
	x->idle = json_is_true(idle);
	if ((r = reply_get_long(o, "slot", 0, &x->slot)) < 0 ||
	    (r = reply_get_long(o, "ref_count", 0, &x->ref_count)) < 0 ||
	    (r = reply_get_num(o, "uptime", 0, &x->uptime)) < 0)
		return r;
	if ((r = reply_dup_string_or_empty(o, "instance", &x->instance)) < 0 ||
	    (r = reply_dup_string_or_empty(o, "state", &x->state)) < 0 ||
	    (r = reply_dup_string_or_empty(o, "topology", &x->topology)) < 0 ||
	    (r = reply_dup_string_or_empty(o, "hash", &x->hash)) < 0 ||
	    (r = reply_dup_opt_string(o, "holder", &x->holder)) < 0)
		return r;
	n = json_array_size(devs);
	if (n > 0 && (x->devices = calloc(n, sizeof(*x->devices))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		d = json_array_get(devs, i);
		if (!json_is_object(d))
			return -EBADMSG;
		x->n_devices = i + 1;
		if ((r = reply_dup_string_or_empty(d, "name", &x->devices[i].name)) < 0 ||
		    (r = reply_dup_opt_string(d, "mgmt_ipv4", &x->devices[i].mgmt_ipv4)) < 0)
			return r;
	}
	return 0;
}

/* GET /labs. */
int reply_labs(const char *body, size_t len, struct rl_labs **ret)
{
	struct rl_labs *l = NULL;
	json_t *j = NULL, *list;
	size_t i, n;
	int r;

	r = reply_load(body, len, &j);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	list = json_object_get(j, "labs");
	if (!json_is_array(list) || json_array_size(list) > REPLY_MAX_ITEMS)
		goto out;
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		r = -ENOMEM;
		goto out;
	}
	n = json_array_size(list);
	if (n > 0 && (l->items = calloc(n, sizeof(*l->items))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		l->n = i + 1;
		r = lab_info(json_array_get(list, i), &l->items[i]);
		if (r < 0)
			goto out;
	}
	l->json = reply_dump(j);
	if (l->json == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*ret = l;
	l = NULL;
	r = 0;
out:
	rl_labs_free(l);
	json_decref(j);
	return r;
}

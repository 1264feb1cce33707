/* labctl lab up|status|devices|release|destroy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "labctl.h"

/* Load --topology, --extra and --extra-as into a lab request (before any waiting). */
int lab_request_from_opts(struct rl_client *c, const struct opts *o, struct rl_lab_request **ret)
{
	struct rl_lab_request *req = NULL;
	size_t i;
	int r;

	if (o->topology == NULL)
		return labctl_usage_error("--topology FILE is required");
	r = rl_lab_request_new(c, o->topology, &req);
	if (r < 0) {
		labctl_err("%s", rl_client_errmsg(c));
		return r == -ENOMEM ? LABCTL_EXIT_LOCAL
				    : (r == -EINVAL ? LABCTL_EXIT_USAGE : LABCTL_EXIT_LOCAL);
	}
	for (i = 0; i < o->n_extras; i++) {
		r = rl_lab_request_add_file(c, req, o->extras[i].path, o->extras[i].name);
		if (r < 0) {
			labctl_err("%s", rl_client_errmsg(c));
			rl_lab_request_free(req);
			return r == -EINVAL ? LABCTL_EXIT_USAGE : LABCTL_EXIT_LOCAL;
		}
	}
	rl_lab_request_set_reuse(req, o->reuse);
	*ret = req;
	return 0;
}

/* Print an acquire result. */
static void print_acquired(const struct opts *o, const struct rl_devices *d, const char *file)
{
	json_t *devs;

	if (o->json) {
		devs = json_loads(d->json, JSON_DECODE_ANY, NULL);
		output_json_pack("{s:b, s:I, s:o?, s:s?}", "reused", d->reused, "device_count",
				 (json_int_t)d->n, "devices", devs, "devices_file", file);
		return;
	}
	printf("lab acquired%s: %zu device%s\n", d->reused ? " (reused)" : "", d->n,
	       d->n == 1 ? "" : "s");
	output_devices(d);
	if (file != NULL)
		printf("devices written to %s\n", file);
}

int cmd_lab_up(const struct opts *o)
{
	struct rl_lab_request *req = NULL;
	struct rl_devices *d = NULL;
	struct rl_client *c;
	char *file = NULL;
	int r, ex = 0;

	r = labctl_client(o, true, &c);
	if (r != 0)
		return r;
	ex = lab_request_from_opts(c, o, &req);
	if (ex != 0)
		goto out;
	child_install_signals();
	rl_client_set_cancel(c, child_cancel_hook, NULL);
	r = rl_lab_acquire(c, req, &d);
	if (r < 0) {
		ex = labctl_fail(c, r, "lab up");
		if (ex == LABCTL_EXIT_SERVER)
			ex = LABCTL_EXIT_ACQUIRE;
		goto out;
	}
	if (o->devices_file != NULL) {
		ex = output_write_devices_file(d, o->devices_file, &file);
		if (ex != 0)
			goto out;
	}
	print_acquired(o, d, file);
out:
	free(file);
	rl_devices_free(d);
	rl_lab_request_free(req);
	rl_client_free(c);
	return ex;
}

int cmd_lab_status(const struct opts *o)
{
	struct rl_lab_status *s = NULL;
	struct rl_client *c;
	int r, ex = 0;

	r = labctl_client(o, true, &c);
	if (r != 0)
		return r;
	r = rl_lab_status(c, &s);
	if (r < 0) {
		ex = labctl_fail(c, r, "lab status");
	} else if (o->json) {
		output_json_text(s->json);
	} else {
		printf("running:   %s\n", s->running ? "yes" : "no");
		printf("topology:  %s\n", s->topology ? s->topology : "-");
		printf("ref count: %ld\n", s->ref_count);
		if (s->devices->n > 0)
			output_devices(s->devices);
	}
	rl_lab_status_free(s);
	rl_client_free(c);
	return ex;
}

int cmd_lab_devices(const struct opts *o)
{
	struct rl_devices *d = NULL;
	struct rl_client *c;
	int r, ex = 0;

	r = labctl_client(o, true, &c);
	if (r != 0)
		return r;
	r = rl_lab_devices(c, &d);
	if (r < 0)
		ex = labctl_fail(c, r, "lab devices");
	else if (o->json)
		output_json_text(d->json);
	else
		output_devices(d);
	rl_devices_free(d);
	rl_client_free(c);
	return ex;
}

int cmd_lab_release(const struct opts *o)
{
	struct rl_client *c;
	int r, ex = 0;

	r = labctl_client(o, true, &c);
	if (r != 0)
		return r;
	r = rl_lab_release(c);
	if (r < 0)
		ex = labctl_fail(c, r, "lab release");
	else if (o->json)
		output_json_pack("{s:b}", "released", 1);
	else if (!o->quiet)
		printf("lab released\n");
	rl_client_free(c);
	return ex;
}

int cmd_lab_destroy(const struct opts *o)
{
	struct rl_client *c;
	int r, ex = 0;

	r = labctl_client(o, true, &c);
	if (r != 0)
		return r;
	r = rl_lab_destroy(c, !o->no_force);
	if (r < 0)
		ex = labctl_fail(c, r, "lab destroy");
	else if (o->json)
		output_json_pack("{s:b}", "destroyed", 1);
	else if (!o->quiet)
		printf("lab destroyed\n");
	rl_client_free(c);
	return ex;
}

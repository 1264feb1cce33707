/* labctl status, watch and admin: the operators' view of a server (or of every pool server). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "labctl.h"

/* "1:05" / "2:03:04" for a number of seconds; "-" when unknown (< 0). */
static const char *dur(double s, char *buf, size_t len)
{
	unsigned long t;

	if (s < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	t = (unsigned long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%lu:%02lu", t / 60, t % 60);
	return buf;
}

/* A label cut to width for the table (the JSON output has it whole). */
static void print_cut(const char *s, int width)
{
	if (s == NULL)
		s = "-";
	if ((int)strlen(s) <= width)
		printf("%-*s", width, s);
	else
		printf("%.*s...", width - 3, s);
}

/* One server's queue and labs as tables. */
static void print_tables(const struct rl_queue *q, const struct rl_labs *l)
{
	char a[32], b[32], w[32], slot[24];
	size_t i;

	printf("sessions (%zu; %ld slot%s)\n", q->n, q->slots, q->slots == 1 ? "" : "s");
	if (q->n > 0) {
		printf("  %-12s %-8s %4s %5s %8s %8s %4s %9s  %s\n", "HANDLE", "STATE", "POS",
		       "PRIO", "AGE", "SEEN", "SLOT", "EST-WAIT", "LABEL");
		for (i = 0; i < q->n; i++) {
			const struct rl_queue_entry *e = &q->items[i];

			if (e->slot >= 0)
				snprintf(slot, sizeof(slot), "%ld", e->slot);
			else
				snprintf(slot, sizeof(slot), "-");
			printf("  %-12s %-8s %4ld %5ld %8s %8s %4s %9s  ", e->handle,
			       e->state == RL_SESSION_ACTIVE ? "active" : "waiting", e->position,
			       e->priority, dur(e->age, a, sizeof(a)),
			       dur(e->last_seen_age, b, sizeof(b)), slot,
			       e->state == RL_SESSION_WAITING ? dur(e->estimated_wait, w, sizeof(w))
							      : "");
			print_cut(e->label, 60);
			putchar('\n');
		}
	}
	printf("labs (%zu)\n", l->n);
	if (l->n > 0) {
		printf("  %4s %-10s %-9s %-20s %-12s %-12s %3s %8s %s\n", "SLOT", "INSTANCE",
		       "STATE", "TOPOLOGY", "HASH", "HOLDER", "REF", "UPTIME", "DEVICES");
		for (i = 0; i < l->n; i++) {
			const struct rl_lab_info *x = &l->items[i];
			size_t k;

			printf("  %4ld %-10s %-9s ", x->slot, x->instance,
			       x->idle ? "idle" : x->state);
			print_cut(x->topology, 20);
			printf(" %-12.12s %-12s %3ld %8s ", x->hash, x->holder ? x->holder : "-",
			       x->ref_count, dur(x->uptime, a, sizeof(a)));
			for (k = 0; k < x->n_devices; k++)
				printf("%s%s%s%s%s", k ? ", " : "", x->devices[k].name,
				       x->devices[k].mgmt_ipv4 ? " (" : "",
				       x->devices[k].mgmt_ipv4 ? x->devices[k].mgmt_ipv4 : "",
				       x->devices[k].mgmt_ipv4 ? ")" : "");
			putchar('\n');
		}
	}
}

int cmd_status(const struct opts *o)
{
	struct rl_client *c;
	struct rl_queue *q = NULL;
	struct rl_labs *l = NULL;
	json_t *all = NULL, *one;
	size_t i, n;
	int r, ex = 0, ex1;

	r = labctl_pool_client(o, &c);
	if (r != 0)
		return r;
	n = rl_client_url_count(c);
	if (o->json && n > 1)
		all = json_array();
	for (i = 0; i < n; i++) {
		const char *url = rl_client_url_at(c, i);
		struct rl_client *one_c = c;

		if (i > 0) { /* one client per server: the same options, another URL */
			struct opts x = *o;
			const char *u[1] = { url };

			x.urls = u;
			x.n_urls = 1;
			ex1 = labctl_pool_client(&x, &one_c);
			if (ex1 != 0) {
				ex = ex1;
				continue;
			}
		}
		ex1 = 0;
		r = rl_server_sessions(one_c, &q);
		if (r == 0)
			r = rl_server_labs(one_c, &l);
		if (r < 0) {
			ex1 = labctl_fail(one_c, r, url);
		} else if (o->json) {
			one = json_pack("{s:s, s:o?, s:o?}", "url", url, "sessions",
					json_loads(q->json, 0, NULL), "labs",
					json_loads(l->json, 0, NULL));
			if (one == NULL) {
				labctl_err("out of memory");
				ex1 = LABCTL_EXIT_LOCAL;
			} else if (all != NULL) {
				json_array_append_new(all, one);
			} else {
				json_dumpf(one, stdout, JSON_INDENT(2));
				fputc('\n', stdout);
				json_decref(one);
			}
		} else {
			if (n > 1)
				printf("%s== %s\n", i > 0 ? "\n" : "", url);
			print_tables(q, l);
		}
		if (ex1 != 0)
			ex = ex1;
		rl_queue_free(q);
		rl_labs_free(l);
		q = NULL;
		l = NULL;
		if (one_c != c)
			rl_client_free(one_c);
	}
	if (all != NULL) {
		json_dumpf(all, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(all);
	}
	rl_client_free(c);
	return ex;
}

/* Print one event: a line "TIME KIND key=value ..." or, with --json, one compact object. */
static int on_event(const struct rl_event *ev, void *userdata)
{
	const struct opts *o = userdata;
	json_t *data = json_loads(ev->data, JSON_DECODE_ANY, NULL), *v, *line;
	const char *key;
	char ts[32];
	struct tm tm;
	time_t now;

	if (o->json) {
		line = json_pack("{s:s, s:s, s:o}", "id", ev->id, "event", ev->kind, "data",
				 data != NULL ? data : json_string(ev->data));
		if (line != NULL) {
			json_dumpf(line, stdout, JSON_COMPACT);
			json_decref(line);
		}
		putchar('\n');
		fflush(stdout);
		return child_signal != 0;
	}
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	printf("%s %-17s", ts, ev->kind);
	if (json_is_object(data)) {
		json_object_foreach (data, key, v) {
			if (strcmp(key, "time") == 0)
				continue;
			if (json_is_string(v))
				printf(" %s=%s", key, json_string_value(v));
			else if (!json_is_null(v)) {
				char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

				printf(" %s=%s", key, t != NULL ? t : "?");
				free(t);
			}
		}
	} else {
		printf(" %s", ev->data);
	}
	putchar('\n');
	fflush(stdout);
	json_decref(data);
	return child_signal != 0;
}

int cmd_watch(const struct opts *o)
{
	struct rl_client *c;
	int r, ex = 0;

	r = labctl_client(o, false, &c);
	if (r != 0)
		return r;
	child_install_signals();
	rl_client_set_cancel(c, child_cancel_hook, NULL);
	r = rl_events_watch(c, on_event, (void *)o);
	if (r < 0 && !(r == -ECANCELED && child_signal))
		ex = labctl_fail(c, r, "watch");
	rl_client_free(c);
	return ex;
}

/* Run one admin call with a client for the one server. */
static int admin(const struct opts *o, const char *what,
		 int (*fn)(struct rl_client *, const struct opts *))
{
	struct rl_client *c;
	int r, ex = 0;

	r = labctl_client(o, false, &c);
	if (r != 0)
		return r;
	r = fn(c, o);
	if (r < 0)
		ex = labctl_fail(c, r, what);
	else if (o->json)
		output_json_pack("{s:s, s:b}", "action", what, "done", 1);
	else if (!o->quiet)
		printf("%s: done\n", what);
	rl_client_free(c);
	return ex;
}

static int do_drain(struct rl_client *c, const struct opts *o)
{
	return rl_admin_drain(c, true);
}

static int do_undrain(struct rl_client *c, const struct opts *o)
{
	return rl_admin_drain(c, false);
}

static int do_end(struct rl_client *c, const struct opts *o)
{
	return rl_admin_end_session(c, o->argv[0]);
}

static int do_destroy(struct rl_client *c, const struct opts *o)
{
	return rl_admin_destroy_lab(c, strtol(o->argv[0], NULL, 10));
}

int cmd_admin_drain(const struct opts *o)
{
	return admin(o, "admin drain", do_drain);
}

int cmd_admin_undrain(const struct opts *o)
{
	return admin(o, "admin undrain", do_undrain);
}

int cmd_admin_end(const struct opts *o)
{
	if (o->argc != 1)
		return labctl_usage_error("admin end: which session? (labctl admin end HANDLE)");
	return admin(o, "admin end", do_end);
}

int cmd_admin_destroy(const struct opts *o)
{
	char *end;
	long v;

	if (o->argc != 1)
		return labctl_usage_error("admin destroy: which slot? (labctl admin destroy SLOT)");
	errno = 0;
	v = strtol(o->argv[0], &end, 10);
	if (errno != 0 || end == o->argv[0] || *end != '\0' || v < 0)
		return labctl_usage_error("admin destroy: '%s' is not a slot number", o->argv[0]);
	return admin(o, "admin destroy", do_destroy);
}

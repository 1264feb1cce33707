/* labctl output: device tables, JSON printing, the queue progress line, the devices file. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labctl.h"

/* A human-readable table of devices on stdout. */
void output_devices(const struct rl_devices *d)
{
	size_t i, w = 4;

	for (i = 0; i < d->n; i++)
		if (strlen(d->items[i].name) > w)
			w = strlen(d->items[i].name);
	printf("%-*s  %-15s  %-12s  %-15s  %s\n", (int)w, "NAME", "MGMT-IPV4", "NETWORK-OS",
	       "ANSIBLE-HOST", "USER");
	for (i = 0; i < d->n; i++) {
		const struct rl_device *v = &d->items[i];

		printf("%-*s  %-15s  %-12s  %-15s  %s\n", (int)w, v->name,
		       v->mgmt_ipv4 ? v->mgmt_ipv4 : "-",
		       v->ansible_network_os ? v->ansible_network_os : "-",
		       v->ansible_host ? v->ansible_host : "-",
		       v->ansible_user ? v->ansible_user : "-");
	}
}

/* Pretty-print a JSON text on stdout. */
int output_json_text(const char *json)
{
	json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);

	if (j == NULL) {
		puts(json);
		return 0;
	}
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	json_decref(j);
	return 0;
}

/* Print json_pack(fmt, ...) pretty on stdout. */
void output_json_pack(const char *fmt, ...)
{
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	j = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	if (j == NULL) {
		labctl_err("cannot build JSON output");
		return;
	}
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(j);
}

static int last_position = -2;
static double last_print;
static bool line_open;

/* Progress callback while waiting in the queue: a live line on a terminal, plain lines
 * (on change, or every minute) otherwise. userdata is a bool *quiet. */
int output_progress(const struct rl_progress *p, void *userdata)
{
	const bool *quiet = userdata;
	unsigned el = (unsigned)p->elapsed;

	if (child_signal)
		return 1;
	if (quiet != NULL && *quiet)
		return 0;
	if (isatty(STDERR_FILENO)) {
		if (p->state == RL_SESSION_ACTIVE)
			fprintf(stderr, "\r\033[Ksession active after %u:%02u\n", el / 60, el % 60);
		else
			fprintf(stderr, "\r\033[Kwaiting in queue: position %d, %u:%02u elapsed",
				p->position, el / 60, el % 60);
		line_open = p->state != RL_SESSION_ACTIVE;
	} else if (p->state == RL_SESSION_ACTIVE) {
		fprintf(stderr, "%s: session active after %u s\n", labctl_prog, el);
	} else if (p->position != last_position || p->elapsed - last_print >= 60) {
		fprintf(stderr, "%s: waiting in queue: position %d, %u s elapsed\n", labctl_prog,
			p->position, el);
		last_position = p->position;
		last_print = p->elapsed;
	}
	fflush(stderr);
	return 0;
}

/* End a live progress line that is still open. */
void output_progress_done(void)
{
	if (line_open)
		fputc('\n', stderr);
	line_open = false;
}

/* Write the device list (pretty JSON, mode 0600) to path, or to a new temp file when
 * path is NULL; *ret_path gets a malloc'd copy of the path used. */
int output_write_devices_file(const struct rl_devices *d, const char *path, char **ret_path)
{
	const char *tmp = getenv("TMPDIR");
	char *p = NULL;
	json_t *j = NULL;
	FILE *f = NULL;
	int fd = -1, r = LABCTL_EXIT_LOCAL;

	j = json_loads(d->json, JSON_DECODE_ANY, NULL);
	if (j == NULL) {
		labctl_err("devices: cannot parse the server's device list");
		goto out;
	}
	if (path == NULL) {
		if (tmp == NULL || tmp[0] == '\0')
			tmp = "/tmp";
		if (asprintf(&p, "%s/labctl-devices-XXXXXX.json", tmp) < 0) {
			p = NULL;
			labctl_err("out of memory");
			goto out;
		}
		fd = mkostemps(p, 5, O_CLOEXEC);
	} else {
		p = strdup(path);
		if (p == NULL) {
			labctl_err("out of memory");
			goto out;
		}
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		labctl_err("devices file %s: %s", p, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		labctl_err("devices file %s: %s", p, strerror(errno));
		close(fd);
		goto out;
	}
	if (json_dumpf(j, f, JSON_INDENT(2)) < 0 || fputc('\n', f) == EOF) {
		labctl_err("devices file %s: write failed", p);
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0) {
		labctl_err("devices file %s: %s", p, strerror(errno));
		goto out;
	}
	*ret_path = p;
	p = NULL;
	r = 0;
out:
	if (r != 0 && p != NULL && path == NULL)
		unlink(p);
	free(p);
	json_decref(j);
	return r;
}

/* Retry notifier: one line per back-off (userdata is a const bool *quiet). */
void output_retry(const struct rl_error *why, double delay, void *userdata)
{
	const bool *quiet = userdata;

	if (quiet != NULL && *quiet)
		return;
	output_progress_done();
	if (why->http_status > 0)
		fprintf(stderr, "%s: %s: HTTP %ld: %s; retrying in %.1f s\n", labctl_prog, why->op,
			why->http_status, why->detail, delay);
	else
		fprintf(stderr, "%s: %s: %s; retrying in %.1f s\n", labctl_prog, why->op,
			why->detail, delay);
	fflush(stderr);
}

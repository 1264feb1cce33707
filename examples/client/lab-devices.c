/* Example: take a session, get a lab from a topology file, print its devices, give it back. */
#define _POSIX_C_SOURCE 200809L /* sigaction */

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <remotelab.h>

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

/* libremotelab polls this during blocking calls; non-zero makes them return -ECANCELED. */
static int
cancel_hook(void *userdata)
{
	(void)userdata;
	return interrupted != 0;
}

static int
show_progress(const struct rl_progress *p, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "queue position %d after %.0f s\n", p->position, p->elapsed);
	return 0;
}

int
main(int argc, char **argv)
{
	struct rl_lab_request *req = NULL;
	struct rl_devices *devs = NULL;
	struct rl_client *c = NULL;
	struct sigaction sa;
	char err[256];
	size_t i;
	int r, status = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: %s TOPOLOGY.yml [EXTRA-FILE...]\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* NULL: the URL comes from $REMOTE_LAB_URL; timeouts from REMOTE_LAB_*_TIMEOUT */
	r = rl_client_new(&c, NULL, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "client: %s\n", err);
		return 2;
	}
	rl_client_set_cancel(c, cancel_hook, NULL);

	/* read every file before queueing: a missing file fails now */
	r = rl_lab_request_new(c, argv[1], &req);
	for (i = 2; r == 0 && i < (size_t)argc; i++)
		r = rl_lab_request_add_file(c, req, argv[i], NULL); /* relative paths are kept */
	if (r < 0) {
		fprintf(stderr, "%s\n", rl_client_errmsg(c));
		goto out;
	}

	r = rl_session_create(c, NULL);
	if (r < 0) {
		fprintf(stderr, "%s\n", rl_client_errmsg(c));
		goto out;
	}
	printf("session %s\n", rl_session_id(c));
	r = rl_heartbeat_start(c, 0); /* keeps the session alive while we wait and work */
	if (r == 0)
		r = rl_session_wait_active(c, 0, 0, show_progress, NULL);
	if (r == 0)
		r = rl_lab_acquire(c, req, &devs);
	if (r < 0) {
		fprintf(stderr, "%s\n", rl_client_errmsg(c));
		goto end;
	}
	printf("%zu devices%s\n", devs->n, devs->reused ? " (reused lab)" : "");
	for (i = 0; i < devs->n; i++)
		printf("  %-12s %-16s %s\n", devs->items[i].name,
		       devs->items[i].mgmt_ipv4 ? devs->items[i].mgmt_ipv4 : "-",
		       devs->items[i].ansible_network_os ? devs->items[i].ansible_network_os : "-");
	status = 0;
	if (rl_lab_release(c) < 0)
		fprintf(stderr, "release: %s\n", rl_client_errmsg(c));
end:
	rl_client_set_cancel(c, NULL, NULL); /* cleanup must not be cancelled */
	if (rl_session_end(c) < 0)
		fprintf(stderr, "end: %s\n", rl_client_errmsg(c));
out:
	rl_devices_free(devs);
	rl_lab_request_free(req);
	rl_client_free(c);
	return status;
}

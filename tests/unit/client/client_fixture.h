/* The client's HTTP unit tests' shared fixture: one scripted fake server, the client under test. */
#ifndef CLIENT_FIXTURE_H
#define CLIENT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "remotelab.h"
#include "fake_http.h"

/* What the scripted server answers: mode picks the behaviour (see the handler in
 * client_fixture.c), the rest is state a test sets or reads. */
struct script {
	int mode;
	int polls;
	size_t hb_at_lab; /* heartbeats seen when POST /lab arrived */
	size_t pad;       /* mode 22: spaces after the devices list */
	double answer_at; /* modes 23, 24: when (fx_now()) POST /lab gets its 200 */
	struct fake_http *f;
};

extern struct script sc;
extern struct fake_http *srv; /* the scripted server (fx_setup) */
extern struct rl_client *cl;  /* the client under test (fx_setup, fx_servers_setup) */

/* cmocka setup/teardown: a fresh scripted server (sc zeroed) and a client of it with short
 * retry back-offs. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* The value of header name in the scripted server's request i, or NULL; static buffer. */
const char *fx_hdr(size_t i, const char *name);

/* CLOCK_MONOTONIC seconds, the library's clock */
double fx_now(void);
void fx_sleep(double s);
/* Write a file, creating nothing else. */
void fx_write_file(const char *path, const char *text);

/* A retry notifier (rl_client_set_retry_notify) that counts the retries and keeps the last
 * one's status and "op detail". */
extern int nretry;
extern long retry_status;
extern char retry_detail[1200];
void fx_on_retry(const struct rl_error *why, double delay, void *ud);

/* A lab request for the topology /tmp/rl-unit-topo.yml plus configs/r1.cfg (both written
 * anew), and the check that the scripted server's request i carried all of it as a
 * multipart POST /lab with reuse = "true" or "false". */
struct rl_lab_request *fx_lab_request(bool reuse);
void fx_check_multipart(size_t i, const char *reuse);

#endif

/* The client's HTTP unit tests' fixture of NSRV fake servers, each with its own answers. */
#ifndef SERVERS_FIXTURE_H
#define SERVERS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "client_fixture.h"

#define NSRV 3

/* Per fake server: its answers. */
struct srv {
	int idx;
	int mode;
	int free_slots, waiting; /* for GET /host */
	const char *tags, *warm;
	int polls;        /* GET /session polls seen */
	int active_after; /* polls until the session is active (0: never) */
	bool trylock_ok;  /* POST /session with wait=false: 201, else 409 */
	int sessions;     /* sessions created here */
	bool session_alive;
};

extern struct srv st[NSRV];
extern struct fake_http *fs[NSRV];

/* A global log of session events across servers, in order ("0 create", "1 create trylock",
 * "1 refuse", "0 end"); nseq entries, at most 64. */
extern char seqlog[64][48];
extern int nseq;

/* cmocka setup/teardown: NSRV fresh servers (st zeroed) and cl, a client of fs[0] only, with
 * short back-offs, poll interval, pool jitter and reservation window. */
int fx_servers_setup(void **state);
int fx_servers_teardown(void **state);

/* The value of header name in request i of server f, or NULL; static buffer. */
const char *fx_servers_hdr(struct fake_http *f, size_t i, const char *name);

#endif

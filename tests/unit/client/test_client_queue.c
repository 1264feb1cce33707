/* Unit tests for queueing against the fake servers: queue controls and try-lock
 * (rl_session_create_opts, session.c), ended-session reasons, and the pool protocol
 * (rl_session_obtain, pool.c) across three servers; the pool's pure choice rules are in
 * test_client_pool.c. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/sha.h>

#include "servers_fixture.h"

/* --- queue controls --- */

static void test_queue_controls(void **state)
{
	struct rl_session_opts o = RL_SESSION_OPTS_INIT;
	const struct fake_req *r;
	char ct[64];
	int pos = -1;

	/* no options: the original request, no body and no handle */
	assert_int_equal(rl_session_create(cl, &pos), 0);
	r = fake_http_req(fs[0], 0);
	assert_int_equal(r->body_len, 0);
	assert_true(fake_header(r, "Content-Type", ct, sizeof(ct)) == NULL ||
		    strcmp(ct, "application/json") !=
			    0); /* libcurl's form type for an empty POST, as before */
	assert_null(rl_session_handle(cl));
	rl_session_detach(cl);
	/* options: a JSON body, the handle comes back */
	o.priority = 5;
	o.label = "job-1";
	o.max_wait = 60;
	assert_int_equal(rl_session_create_opts(cl, &o, &pos), 0);
	r = fake_http_req(fs[0], 1);
	assert_string_equal(fake_header(r, "Content-Type", ct, sizeof(ct)), "application/json");
	assert_string_equal(r->body, "{\"priority\":5,\"label\":\"job-1\",\"max_wait\":60.0}");
	assert_string_equal(rl_session_handle(cl), "s-h0");
	rl_session_detach(cl);
	/* try-lock refused: -ENOLCK, nothing created, nothing retried */
	o.no_wait = true;
	assert_int_equal(rl_session_create_opts(cl, &o, &pos), -ENOLCK);
	assert_null(rl_session_id(cl));
	assert_int_equal(rl_client_error(cl)->http_status, 409);
	assert_non_null(strstr(rl_client_errmsg(cl), "No lab slot is free"));
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/session"), 3);
	/* bad values are caught locally */
	o.priority = 5000;
	assert_int_equal(rl_session_create_opts(cl, &o, &pos), -EINVAL);
	assert_int_equal(fake_http_count_matching(fs[0], "POST", "/session"), 3);
}

static void test_end_reasons(void **state)
{
	rl_session_attach(cl, "sid-x");
	st[0].mode = 2;
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, NULL, NULL), -ETIMEDOUT);
	assert_non_null(strstr(rl_client_errmsg(cl), "session ended by the server: max_wait"));
	assert_string_equal(rl_client_end_reason(cl), "max_wait");
	st[0].mode = 3;
	assert_int_equal(rl_session_wait_active(cl, 0.01, 10, NULL, NULL), -ENOENT);
	assert_string_equal(rl_client_end_reason(cl), "reaped");
	assert_non_null(strstr(rl_client_error(cl)->detail,
			       "Session not found (session ended by the server: reaped"));
	assert_int_equal(rl_session_heartbeat(cl), 0);
	assert_null(rl_client_end_reason(cl)); /* reset by the next call */
}

/* --- pools --- */

static void add_all(void)
{
	int i;

	for (i = 1; i < NSRV; i++)
		assert_int_equal(rl_client_add_url(cl, fake_http_url(fs[i])), 0);
	assert_int_equal(rl_client_url_count(cl), NSRV);
}

static void test_pool_single_url_is_the_original(void **state)
{
	st[0].active_after = 2;
	assert_int_equal(rl_session_obtain(cl, NULL, false, 10, NULL, NULL), 0);
	assert_int_equal(fake_http_count_matching(fs[0], "GET", "/host"), 0);
	assert_int_equal(fake_http_req(fs[0], 0)->body_len, 0);
	assert_string_equal(fake_http_req(fs[0], 0)->path, "/session");
	assert_int_equal(rl_session_end(cl), 0);
}

static void test_pool_choice(void **state)
{
	struct rl_lab_request *req = NULL;
	char topo[] = "/tmp/rl-unit-poolXXXXXX";
	int fd;

	/* host0 busy, host1 free but not provider=clab, host2 free and clab */
	st[0].tags = "\"provider\":\"clab\"";
	st[1].free_slots = 1;
	st[1].tags = "\"provider\":\"libvirt\"";
	st[2].free_slots = 1;
	st[2].tags = "\"provider\":\"clab\"";
	st[2].active_after = 1;
	add_all();
	assert_int_equal(rl_client_add_url(cl, fake_http_url(fs[1])), -EEXIST);
	assert_int_equal(rl_client_require(cl, "provider", "clab"), 0);
	assert_int_equal(rl_session_obtain(cl, NULL, false, 10, NULL, NULL), 0);
	assert_string_equal(rl_client_url(cl), fake_http_url(fs[2]));
	assert_string_equal(rl_client_host_name(cl), "host2");
	assert_int_equal(st[1].sessions, 0);
	assert_int_equal(st[0].sessions, 0);
	assert_int_equal(rl_session_end(cl), 0);
	assert_int_equal(rl_client_add_url(cl, "ftp://x"), -EINVAL);

	/* a warm host wins among free ones: the client knows its topology's SHA-256 */
	fd = mkstemp(topo);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "nodes: [r1]\n", 12), 12);
	close(fd);
	assert_int_equal(rl_lab_request_new(cl, topo, &req), 0);
	assert_int_equal(rl_client_prefer_warm(cl, req), 0);
	unlink(topo);
	rl_lab_request_free(req);
	{
		static char warm[80];
		unsigned char md[SHA256_DIGEST_LENGTH];
		int k;

		SHA256((const unsigned char *)"nodes: [r1]\n", 12, md);
		warm[0] = '"';
		for (k = 0; k < SHA256_DIGEST_LENGTH; k++)
			snprintf(warm + 1 + 2 * k, 3, "%02x", md[k]);
		strcat(warm, "\"");
		st[0].free_slots = 1;
		st[0].active_after = 1;
		st[0].warm = warm;
		for (k = 0; k < 20; k++) { /* whatever the jitter draws */
			assert_int_equal(rl_session_obtain(cl, NULL, false, 10, NULL, NULL), 0);
			assert_string_equal(rl_client_host_name(cl), "host0");
			assert_int_equal(rl_session_end(cl), 0);
		}
	}
}

static void test_pool_switch_never_two_sessions(void **state)
{
	int i;

	/* queue on host0 (the best: shortest wait); host1 and host2 are full; then host1 frees */
	st[0].waiting = 1;
	st[1].waiting = 3;
	st[2].waiting = 5;
	st[0].active_after = 0; /* never promoted */
	add_all();
	assert_int_equal(rl_client_set(cl, RL_PARAM_RESERVATION, 0.2), 0);
	st[1].trylock_ok = true;
	st[1].active_after = 1;
	/* make host1 free only after a few polls of host0: flip it from another thread */
	{
		pthread_t t;
		void *flip(void *a);

		pthread_create(&t, NULL, flip, NULL);
		assert_int_equal(rl_session_obtain(cl, NULL, true, 20, NULL, NULL), 0);
		pthread_join(t, NULL);
	}
	assert_string_equal(rl_client_host_name(cl), "host1");
	assert_non_null(rl_session_handle(cl)); /* pools always send a body */
	/* the protocol: host0's session was ended BEFORE the try-lock on host1 */
	for (i = 0; i < nseq; i++)
		if (strcmp(seqlog[i], "1 create trylock") == 0)
			break;
	assert_true(i < nseq);
	assert_true(i >= 2);
	assert_string_equal(seqlog[0], "0 create");
	assert_string_equal(seqlog[i - 1], "0 end");
	assert_false(st[0].session_alive);
	rl_heartbeat_stop(cl);
	assert_int_equal(rl_session_end(cl), 0);
}

void *flip(void *a);

void *flip(void *a)
{
	int i;

	for (i = 0; i < 500 && st[0].polls < 3; i++)
		fx_sleep(0.01);
	st[1].free_slots = 1;
	st[1].waiting = 0;
	return NULL;
}

static void test_pool_lost_race_and_dead_host(void **state)
{
	int i;

	/* host1 looks free but someone else wins the try-lock (409): the client queues again */
	st[0].waiting = 1;
	st[0].active_after = 8;
	st[1].free_slots = 1;
	st[1].trylock_ok = false;
	st[1].active_after = 1;
	st[2].waiting = 9;
	add_all();
	st[1].free_slots = 0; /* not free at the first choice */
	st[1].waiting = 2;
	{
		pthread_t t;

		pthread_create(&t, NULL, flip, NULL);
		assert_int_equal(rl_session_obtain(cl, NULL, false, 20, NULL, NULL), 0);
		pthread_join(t, NULL);
	}
	for (i = 0; i < nseq; i++)
		if (strcmp(seqlog[i], "1 refuse") == 0)
			break;
	assert_true(i < nseq);                       /* the try-lock was refused ... */
	assert_string_equal(seqlog[i - 1], "0 end"); /* ... after the waiting session ended */
	assert_int_equal(rl_session_end(cl), 0);

	/* the held host dies while waiting: the client moves on within seconds */
	nseq = 0;
	for (i = 0; i < NSRV; i++) {
		st[i].sessions = 0;
		st[i].polls = 0;
	}
	st[0].waiting = 0;
	st[0].free_slots = 0;
	st[0].active_after = 0;
	st[1].free_slots = 0;
	st[1].waiting = 3;
	st[1].active_after = 1;
	st[2].waiting = 9;
	st[2].active_after = 1;
	{
		pthread_t t;
		void *kill0(void *a);

		pthread_create(&t, NULL, kill0, NULL);
		assert_int_equal(rl_session_obtain(cl, NULL, false, 20, NULL, NULL), 0);
		pthread_join(t, NULL);
	}
	assert_string_not_equal(rl_client_url(cl), fake_http_url(fs[0]));
	assert_int_equal(st[0].sessions, 1);
	fake_http_resume(fs[0]);
	/* the session left on host0 is ended once it answers again */
	assert_int_equal(rl_session_end(cl), 0);
	assert_false(st[0].session_alive);
}

void *kill0(void *a);

void *kill0(void *a)
{
	int i;

	for (i = 0; i < 500 && st[0].polls < 2; i++)
		fx_sleep(0.01);
	fake_http_pause(fs[0]);
	return NULL;
}

static void test_pool_nothing_matches(void **state)
{
	add_all();
	assert_int_equal(rl_client_require(cl, "site", "mars"), 0);
	assert_int_equal(rl_session_obtain(cl, NULL, false, 10, NULL, NULL), -ENODEV);
	assert_non_null(strstr(rl_client_errmsg(cl), "tags do not match"));
	assert_null(rl_session_id(cl));
	assert_int_equal(st[0].sessions + st[1].sessions + st[2].sessions, 0);
}

static void test_pool_env(void **state)
{
	struct rl_client *c = NULL;
	char list[256], err[256];

	snprintf(list, sizeof(list), " %s , %s,%s ", fake_http_url(fs[0]), fake_http_url(fs[1]),
		 fake_http_url(fs[2]));
	setenv("REMOTE_LAB_URLS", list, 1);
	setenv("REMOTE_LAB_URL", "http://127.0.0.1:9", 1);
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(rl_client_url_count(c), 3); /* REMOTE_LAB_URLS first */
	assert_string_equal(rl_client_url_at(c, 1), fake_http_url(fs[1]));
	rl_client_free(c);
	setenv("REMOTE_LAB_URLS", "http://a,ftp://b", 1);
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ftp://b"));
	unsetenv("REMOTE_LAB_URLS");
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(rl_client_url_count(c), 1);
	rl_client_free(c);
	unsetenv("REMOTE_LAB_URL");
	setenv("REMOTE_LAB_RESTART_WAIT", "0", 1);
	assert_int_equal(rl_client_new(&c, "http://x", err, sizeof(err)), 0);
	rl_client_free(c);
	setenv("REMOTE_LAB_RESTART_WAIT", "soon", 1);
	assert_int_equal(rl_client_new(&c, "http://x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "REMOTE_LAB_RESTART_WAIT"));
	unsetenv("REMOTE_LAB_RESTART_WAIT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_controls, fx_servers_setup,
						fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_end_reasons, fx_servers_setup,
						fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_pool_single_url_is_the_original,
						fx_servers_setup, fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_pool_choice, fx_servers_setup,
						fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_pool_switch_never_two_sessions,
						fx_servers_setup, fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_pool_lost_race_and_dead_host, fx_servers_setup,
						fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_pool_nothing_matches, fx_servers_setup,
						fx_servers_teardown),
		cmocka_unit_test_setup_teardown(test_pool_env, fx_servers_setup,
						fx_servers_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

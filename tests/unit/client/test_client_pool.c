/* Unit tests of the pure parts added for pools, queue controls and the operators' view:
 * the pool's choice, the server-sent-event parser and the new response parsers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static struct rl_host_info *host(const char *json)
{
	struct rl_host_info *h = NULL;

	assert_int_equal(reply_host(json, strlen(json), &h), 0);
	return h;
}

#define HASH_A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define HASH_B "bbbb000000000000000000000000000000000000000000000000000000000002"

static void test_reply_host(void **state)
{
	struct rl_host_info *h = NULL;
	static const char full[] =
		"{\"name\":\"lab1\",\"version\":\"2.1.0\",\"slots\":4,\"free_slots\":1,\"active\":3,"
		"\"waiting\":2,\"queue_length\":5,\"estimated_wait\":12.5,\"warm\":[\"" HASH_A
		"\",7],"
		"\"draining\":false,\"tags\":{\"provider\":\"clab\",\"ram\":\"64G\",\"n\":3}}";

	h = host(full);
	assert_string_equal(h->name, "lab1");
	assert_string_equal(h->version, "2.1.0");
	assert_int_equal(h->slots, 4);
	assert_int_equal(h->free_slots, 1);
	assert_int_equal(h->active, 3);
	assert_int_equal(h->waiting, 2);
	assert_int_equal(h->queue_length, 5);
	assert_true(h->estimated_wait > 12.4 && h->estimated_wait < 12.6);
	assert_int_equal(h->n_warm, 1); /* the non-string is ignored */
	assert_string_equal(h->warm[0], HASH_A);
	assert_false(h->draining);
	assert_int_equal(h->n_tags, 2); /* tags are strings: "n" can't match anything */
	assert_string_equal(h->tag_keys[0], "provider");
	assert_string_equal(h->tag_values[0], "clab");
	assert_non_null(strstr(h->json, "\"lab1\""));
	rl_host_info_free(h);

	h = host("{\"name\":\"x\",\"estimated_wait\":null}");
	assert_true(h->estimated_wait < 0); /* unknown */
	assert_int_equal(h->slots, 1);
	assert_int_equal(h->n_warm, 0);
	assert_int_equal(h->n_tags, 0);
	rl_host_info_free(h);

	h = NULL;
	assert_int_equal(reply_host("{}", strlen("{}"), &h), -EBADMSG);
	assert_int_equal(reply_host("{\"name\":1}", strlen("{\"name\":1}"), &h), -EBADMSG);
	assert_int_equal(reply_host("{\"name\":\"x\",\"free_slots\":\"1\"}",
				    strlen("{\"name\":\"x\",\"free_slots\":\"1\"}"), &h),
			 -EBADMSG);
	assert_int_equal(reply_host("{\"name\":\"x\",\"warm\":{}}",
				    strlen("{\"name\":\"x\",\"warm\":{}}"), &h),
			 -EBADMSG);
	assert_int_equal(reply_host("{\"name\":\"x\",\"draining\":1}",
				    strlen("{\"name\":\"x\",\"draining\":1}"), &h),
			 -EBADMSG);
	assert_int_equal(reply_host("[", strlen("["), &h), -EBADMSG);
	assert_null(h);
	rl_host_info_free(NULL);
}

static void test_reply_queue_and_labs(void **state)
{
	static const char qj[] =
		"{\"slots\":2,\"sessions\":[{\"handle\":\"s-7k2m9q4x\",\"state\":\"active\",\"position\":0,"
		"\"priority\":5,\"label\":\"https://ci/job/1\",\"age\":10.5,\"last_seen_age\":1,\"slot\":1,"
		"\"lab_hash\":\"" HASH_A
		"\",\"estimated_wait\":null},{\"handle\":\"s-2\",\"state\":"
		"\"waiting\",\"position\":1,\"priority\":0,\"label\":null,\"age\":3,\"last_seen_age\":0.5,"
		"\"slot\":null,\"lab_hash\":null,\"estimated_wait\":42}]}";
	static const char lj[] =
		"{\"labs\":[{\"slot\":1,\"instance\":\"7\",\"state\":\"up\",\"topology\":\"t.yml\",\"hash\":\"" HASH_A
		"\",\"holder\":\"s-7k2m9q4x\",\"ref_count\":1,\"uptime\":99,\"idle\":false,"
		"\"devices\":[{\"name\":\"r1\",\"mgmt_ipv4\":\"192.0.2.1\"},{\"name\":\"r2\",\"mgmt_ipv4\":null}]}]}";
	struct rl_queue *q = NULL;
	struct rl_labs *l = NULL;

	assert_int_equal(reply_queue(qj, strlen(qj), &q), 0);
	assert_int_equal(q->slots, 2);
	assert_int_equal(q->n, 2);
	assert_string_equal(q->items[0].handle, "s-7k2m9q4x");
	assert_int_equal(q->items[0].state, RL_SESSION_ACTIVE);
	assert_int_equal(q->items[0].priority, 5);
	assert_string_equal(q->items[0].label, "https://ci/job/1");
	assert_int_equal(q->items[0].slot, 1);
	assert_string_equal(q->items[0].lab_hash, HASH_A);
	assert_int_equal(q->items[1].state, RL_SESSION_WAITING);
	assert_null(q->items[1].label);
	assert_int_equal(q->items[1].slot, -1);
	assert_null(q->items[1].lab_hash);
	assert_true(q->items[1].estimated_wait > 41.9);
	rl_queue_free(q);
	q = NULL;
	assert_int_equal(reply_queue("{\"sessions\":[{\"state\":\"gone\"}]}",
				     strlen("{\"sessions\":[{\"state\":\"gone\"}]}"), &q),
			 -EBADMSG);
	assert_int_equal(reply_queue("{\"sessions\":{}}", strlen("{\"sessions\":{}}"), &q),
			 -EBADMSG);
	assert_null(q);

	assert_int_equal(reply_labs(lj, strlen(lj), &l), 0);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->items[0].slot, 1);
	assert_string_equal(l->items[0].instance, "7");
	assert_string_equal(l->items[0].holder, "s-7k2m9q4x");
	assert_int_equal(l->items[0].n_devices, 2);
	assert_string_equal(l->items[0].devices[0].mgmt_ipv4, "192.0.2.1");
	assert_null(l->items[0].devices[1].mgmt_ipv4);
	rl_labs_free(l);
	l = NULL;
	assert_int_equal(reply_labs("{\"labs\":[{\"devices\":[1]}]}",
				    strlen("{\"labs\":[{\"devices\":[1]}]}"), &l),
			 -EBADMSG);
	assert_null(l);
	rl_queue_free(NULL);
	rl_labs_free(NULL);
}

static void test_session_body_and_reasons(void **state)
{
	struct rl_session_opts o = RL_SESSION_OPTS_INIT;
	char *s = NULL, reason[32];

	assert_int_equal(reply_session_body(NULL, &s), 0);
	assert_string_equal(s, "{}");
	free(s);
	assert_int_equal(reply_session_body(&o, &s), 0);
	assert_string_equal(s, "{}");
	free(s);
	o.priority = -7;
	o.label = "https://ci.example/job/42";
	o.max_wait = 90;
	o.no_wait = true;
	assert_int_equal(reply_session_body(&o, &s), 0);
	assert_string_equal(s, "{\"priority\":-7,\"label\":\"https://ci.example/job/42\","
			       "\"max_wait\":90.0,\"wait\":false}");
	free(s);
	s = NULL;
	o.priority = 1001;
	assert_int_equal(reply_session_body(&o, &s), -EINVAL);
	o.priority = 0;
	o.label = "bad \xff utf-8";
	assert_int_equal(reply_session_body(&o, &s), -EINVAL);
	o.label = "\xe2\x82\xac ok"; /* the euro sign */
	assert_int_equal(reply_session_body(&o, &s), 0);
	free(s);
	s = NULL;
	{
		char big[130];

		memset(big, 'x', 129);
		big[129] = '\0';
		o.label = big;
		assert_int_equal(reply_session_body(&o, &s), -EINVAL);
	}
	o.label = NULL;
	o.max_wait = -1;
	assert_int_equal(reply_session_body(&o, &s), -EINVAL);
	o.max_wait = 0;
	o.size = 4; /* a caller that did not use RL_SESSION_OPTS_INIT */
	assert_int_equal(reply_session_body(&o, &s), -EINVAL);
	assert_null(s);

	assert_int_equal(reply_session_handle(
				 "{\"session_id\":\"a\",\"position\":0,\"handle\":\"s-1\"}",
				 strlen("{\"session_id\":\"a\",\"position\":0,\"handle\":\"s-1\"}"),
				 &s),
			 0);
	assert_string_equal(s, "s-1");
	free(s);
	assert_int_equal(reply_session_handle("{\"session_id\":\"a\",\"position\":0}",
					      strlen("{\"session_id\":\"a\",\"position\":0}"), &s),
			 0);
	assert_null(s);

	assert_int_equal(
		reply_end_reason(
			"{\"detail\":\"Session not found\",\"reason\":\"max_wait\"}",
			strlen("{\"detail\":\"Session not found\",\"reason\":\"max_wait\"}"),
			reason, sizeof(reason)),
		0);
	assert_string_equal(reason, "max_wait");
	assert_int_equal(reply_end_reason("{\"detail\":\"Session not found\"}",
					  strlen("{\"detail\":\"Session not found\"}"), reason,
					  sizeof(reason)),
			 -ENOENT);
	assert_int_equal(reply_end_reason("{\"reason\":\"a\\nb\"}",
					  strlen("{\"reason\":\"a\\nb\"}"), reason, sizeof(reason)),
			 0);
	assert_string_equal(reason, "a b"); /* printable only */
	assert_int_equal(reply_end_reason("oops", strlen("oops"), reason, sizeof(reason)), -ENOENT);
}

/* --- pool choice --- */

static double fixed_u;

static double fixed_rnd(void *ud)
{
	return fixed_u;
}

static unsigned seq_state;

static double seq_rnd(void *ud)
{
	return (double)rand_r(&seq_state) / ((double)RAND_MAX + 1.0);
}

static struct pool_req req_of(const char *k, const char *v)
{
	struct pool_req r;

	memset(&r, 0, sizeof(r));
	if (k != NULL) {
		r.n = 1;
		r.keys[0] = (char *)(uintptr_t)k;
		r.values[0] = (char *)(uintptr_t)v;
	}
	return r;
}

static void test_pool_judge(void **state)
{
	struct rl_host_info *h =
		host("{\"name\":\"a\",\"tags\":{\"provider\":\"clab\",\"site\":\"zrh\"}}");
	struct rl_host_info *d = host("{\"name\":\"d\",\"draining\":true,\"free_slots\":1}");
	struct pool_req none = req_of(NULL, NULL), clab = req_of("provider", "clab"),
			libvirt = req_of("provider", "libvirt"), ram = req_of("ram", "64G");
	struct pool_req two;

	assert_int_equal(pool_judge(NULL, &none), POOL_DOWN);
	assert_int_equal(pool_judge(h, &none), POOL_OK);
	assert_int_equal(pool_judge(h, &clab), POOL_OK);
	assert_int_equal(pool_judge(h, &libvirt), POOL_MISMATCH);
	assert_int_equal(pool_judge(h, &ram), POOL_MISMATCH); /* a missing tag never matches */
	two = clab;
	two.n = 2;
	two.keys[1] = (char *)(uintptr_t) "site";
	two.values[1] = (char *)(uintptr_t) "zrh";
	assert_int_equal(pool_judge(h, &two), POOL_OK);
	two.values[1] = (char *)(uintptr_t) "ber";
	assert_int_equal(pool_judge(h, &two), POOL_MISMATCH);
	assert_int_equal(pool_judge(d, &none), POOL_DRAINING);
	assert_false(pool_serves_now(d)); /* a draining host never serves */
	rl_host_info_free(h);
	rl_host_info_free(d);
}

static void test_pool_cost_and_warm(void **state)
{
	struct rl_host_info *idle = host("{\"name\":\"i\",\"free_slots\":1,\"waiting\":0,"
					 "\"estimated_wait\":0,\"warm\":[\"" HASH_A "\"]}");
	struct rl_host_info *busy = host("{\"name\":\"b\",\"free_slots\":0,\"waiting\":3,"
					 "\"estimated_wait\":100}");
	struct rl_host_info *unk = host("{\"name\":\"u\",\"free_slots\":0,\"waiting\":2,"
					"\"estimated_wait\":null}");
	struct rl_host_info *freeq = host("{\"name\":\"f\",\"free_slots\":1,\"waiting\":1,"
					  "\"estimated_wait\":5}");

	assert_true(pool_serves_now(idle));
	assert_false(pool_serves_now(busy));
	assert_false(pool_serves_now(freeq)); /* others wait ahead: they get the free slot */
	assert_true(pool_is_warm(idle, HASH_A));
	assert_true(pool_is_warm(
		idle, "AAAA000000000000000000000000000000000000000000000000000000000001"));
	assert_false(pool_is_warm(idle, HASH_B));
	assert_false(pool_is_warm(idle, ""));
	assert_false(pool_is_warm(busy, HASH_A));
	/* jitter: u * max(jitter, 10 % of the wait) */
	assert_true(pool_cost(idle, 1, 0) == 0);
	assert_true(pool_cost(idle, 1, 0.5) == 0.5);
	assert_true(pool_cost(busy, 1, 0) == 100);
	assert_true(pool_cost(busy, 1, 0.5) == 105);
	assert_true(pool_cost(busy, 0, 0.99) < 110);
	/* unknown estimates rank after every known one, then by queue length */
	assert_true(pool_cost(unk, 1, 0.99) > pool_cost(busy, 1, 0.99));
	assert_true(pool_cost(unk, 1, 0.99) < 1e9 + 3);
	rl_host_info_free(idle);
	rl_host_info_free(busy);
	rl_host_info_free(unk);
	rl_host_info_free(freeq);
}

static void test_pool_pick_rules(void **state)
{
	struct rl_host_info *h[5];
	struct pool_host ph[5];
	struct pool_req none = req_of(NULL, NULL), clab = req_of("provider", "clab");
	size_t i;

	h[0] = host("{\"name\":\"busy\",\"free_slots\":0,\"waiting\":4,\"estimated_wait\":50,"
		    "\"tags\":{\"provider\":\"clab\"}}");
	h[1] = host("{\"name\":\"idle\",\"free_slots\":1,\"waiting\":0,\"estimated_wait\":0,"
		    "\"tags\":{\"provider\":\"libvirt\"}}");
	h[2] = host("{\"name\":\"short\",\"free_slots\":0,\"waiting\":1,\"estimated_wait\":10,"
		    "\"tags\":{\"provider\":\"clab\"}}");
	h[3] = host("{\"name\":\"drain\",\"free_slots\":2,\"waiting\":0,\"draining\":true,"
		    "\"tags\":{\"provider\":\"clab\"}}");
	h[4] = NULL; /* down */
	for (i = 0; i < 5; i++) {
		ph[i].info = h[i];
		ph[i].hold_until = 0;
	}
	fixed_u = 0.5;
	/* serving at once beats everything */
	assert_int_equal(pool_pick(ph, 5, &none, "", 1, 0, fixed_rnd, NULL, false, (size_t)-1), 1);
	/* requirements: the idle host is libvirt; among clab, the shortest wait; draining skipped */
	assert_int_equal(pool_pick(ph, 5, &clab, "", 1, 0, fixed_rnd, NULL, false, (size_t)-1), 2);
	/* only_now: nothing of clab can serve at once */
	assert_int_equal(pool_pick(ph, 5, &clab, "", 1, 0, fixed_rnd, NULL, true, (size_t)-1), -1);
	assert_int_equal(pool_pick(ph, 5, &none, "", 1, 0, fixed_rnd, NULL, true, (size_t)-1), 1);
	/* skip (the server already held) and the reservation window */
	assert_int_equal(pool_pick(ph, 5, &none, "", 1, 0, fixed_rnd, NULL, true, 1), -1);
	ph[1].hold_until = 10;
	assert_int_equal(pool_pick(ph, 5, &none, "", 1, 5, fixed_rnd, NULL, true, (size_t)-1), -1);
	assert_int_equal(pool_pick(ph, 5, &none, "", 1, 11, fixed_rnd, NULL, true, (size_t)-1), 1);
	/* the initial choice ignores the window (it is for switching) */
	assert_int_equal(pool_pick(ph, 5, &none, "", 1, 5, fixed_rnd, NULL, false, (size_t)-1), 1);
	/* everything down or mismatching */
	ph[1].info = NULL;
	ph[0].info = ph[2].info = NULL;
	assert_int_equal(pool_pick(ph, 5, &none, "", 1, 0, fixed_rnd, NULL, false, (size_t)-1), -1);
	for (i = 0; i < 5; i++)
		rl_host_info_free(h[i]);
}

static void test_pool_warm_wins(void **state)
{
	struct rl_host_info *h[3];
	struct pool_host ph[3];
	size_t i, k;
	struct pool_req none = req_of(NULL, NULL);

	h[0] = host("{\"name\":\"a\",\"free_slots\":1,\"estimated_wait\":0,\"warm\":[\"" HASH_B
		    "\"]}");
	h[1] = host("{\"name\":\"b\",\"free_slots\":1,\"estimated_wait\":0,\"warm\":[\"" HASH_A
		    "\"]}");
	h[2] = host("{\"name\":\"c\",\"free_slots\":1,\"estimated_wait\":0}");
	for (i = 0; i < 3; i++) {
		ph[i].info = h[i];
		ph[i].hold_until = 0;
	}
	seq_state = 1;
	for (k = 0; k < 200; k++) /* whatever the jitter draws */
		assert_int_equal(
			pool_pick(ph, 3, &none, HASH_A, 1, 0, seq_rnd, NULL, false, (size_t)-1), 1);
	/* warm but queued loses to cold and free (a switch would follow at once anyway) */
	rl_host_info_free(h[1]);
	h[1] = host(
		"{\"name\":\"b\",\"free_slots\":0,\"waiting\":2,\"estimated_wait\":30,\"warm\":[\"" HASH_A
		"\"]}");
	ph[1].info = h[1];
	for (k = 0; k < 50; k++)
		assert_int_not_equal(
			pool_pick(ph, 3, &none, HASH_A, 1, 0, seq_rnd, NULL, false, (size_t)-1), 1);
	/* among queued hosts, warm first */
	rl_host_info_free(h[0]);
	rl_host_info_free(h[2]);
	h[0] = host("{\"name\":\"a\",\"free_slots\":0,\"waiting\":1,\"estimated_wait\":5}");
	h[2] = host("{\"name\":\"c\",\"free_slots\":0,\"waiting\":1,\"estimated_wait\":3}");
	ph[0].info = h[0];
	ph[2].info = h[2];
	assert_int_equal(pool_pick(ph, 3, &none, HASH_A, 1, 0, seq_rnd, NULL, false, (size_t)-1),
			 1);
	assert_int_equal(pool_pick(ph, 3, &none, "", 0, 0, seq_rnd, NULL, false, (size_t)-1), 2);
	for (i = 0; i < 3; i++)
		rl_host_info_free(h[i]);
}

/* Many clients choosing among equal idle hosts spread over all of them (the jitter). */
static void test_pool_spread(void **state)
{
	struct rl_host_info *h[3];
	struct pool_host ph[3];
	struct pool_req none = req_of(NULL, NULL);
	int count[3] = { 0, 0, 0 }, k, i;

	for (i = 0; i < 3; i++) {
		h[i] = host("{\"name\":\"x\",\"free_slots\":1,\"waiting\":0,\"estimated_wait\":0}");
		ph[i].info = h[i];
		ph[i].hold_until = 0;
	}
	seq_state = 7;
	for (k = 0; k < 300; k++)
		count[pool_pick(ph, 3, &none, "", 1, 0, seq_rnd, NULL, false, (size_t)-1)]++;
	for (i = 0; i < 3; i++)
		assert_true(count[i] > 60); /* 100 expected each; any fixed choice would give 0 */
	/* without jitter the first one always wins: the stampede the jitter prevents */
	memset(count, 0, sizeof(count));
	for (k = 0; k < 30; k++)
		count[pool_pick(ph, 3, &none, "", 0, 0, seq_rnd, NULL, false, (size_t)-1)]++;
	assert_int_equal(count[0], 30);
	for (i = 0; i < 3; i++)
		rl_host_info_free(h[i]);
}

/* --- server-sent events --- */

struct seen_events {
	int n;
	char kind[8][64], id[8][64], data[8][256];
	int stop_at;
};

static int collect(const struct rl_event *ev, void *ud)
{
	struct seen_events *s = ud;

	if (s->n < 8) {
		snprintf(s->kind[s->n], 64, "%s", ev->kind);
		snprintf(s->id[s->n], 64, "%s", ev->id);
		snprintf(s->data[s->n], 256, "%s", ev->data);
	}
	s->n++;
	return s->stop_at > 0 && s->n >= s->stop_at ? 7 : 0;
}

static void test_sse(void **state)
{
	static const char stream[] = "\xef\xbb\xbf: ping\n\n"
				     "id: 1\nevent: session.created\ndata: {\"handle\":\"s-1\"}\n\n"
				     "id: 2\r\nevent: lab.up\r\ndata: {\"a\":\r\ndata:1}\r\n\r\n"
				     "data: no kind\rretry: 5\r\r"
				     "event: empty\n\n" /* no data: not dispatched */
				     "id: 3\nevent: drain.on\ndata: {}\n\n";
	struct seen_events s;
	struct sse p;
	size_t i;

	/* whole, and byte by byte: the same events */
	for (int pass = 0; pass < 2; pass++) {
		memset(&s, 0, sizeof(s));
		sse_init(&p);
		if (pass == 0) {
			assert_int_equal(sse_feed(&p, stream, sizeof(stream) - 1, collect, &s), 0);
		} else {
			for (i = 0; i < sizeof(stream) - 1; i++)
				assert_int_equal(sse_feed(&p, stream + i, 1, collect, &s), 0);
		}
		sse_free(&p);
		assert_int_equal(s.n, 4);
		assert_string_equal(s.kind[0], "session.created");
		assert_string_equal(s.id[0], "1");
		assert_string_equal(s.data[0], "{\"handle\":\"s-1\"}");
		assert_string_equal(s.kind[1], "lab.up");
		assert_string_equal(s.data[1], "{\"a\":\n1}");
		assert_string_equal(s.kind[2], "message");
		assert_string_equal(s.id[2], "2"); /* the id persists */
		assert_string_equal(s.data[2], "no kind");
		assert_string_equal(s.kind[3], "drain.on");
	}
	/* the callback stops the stream */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	sse_init(&p);
	assert_int_equal(sse_feed(&p, stream, sizeof(stream) - 1, collect, &s), 7);
	sse_free(&p);
	assert_int_equal(s.n, 2);
	/* an event over the limit is dropped, the next one arrives */
	{
		size_t big = RL_MAX_EVENT + 100;
		char *buf = malloc(big + 64);

		assert_non_null(buf);
		memcpy(buf, "data: ", 6);
		memset(buf + 6, 'x', big);
		memcpy(buf + 6 + big, "\n\ndata: after\n\n", 15);
		memset(&s, 0, sizeof(s));
		sse_init(&p);
		assert_int_equal(sse_feed(&p, buf, big + 21, collect, &s), 0);
		sse_free(&p);
		free(buf);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.data[0], "after");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_host),
		cmocka_unit_test(test_reply_queue_and_labs),
		cmocka_unit_test(test_session_body_and_reasons),
		cmocka_unit_test(test_pool_judge),
		cmocka_unit_test(test_pool_cost_and_warm),
		cmocka_unit_test(test_pool_pick_rules),
		cmocka_unit_test(test_pool_warm_wins),
		cmocka_unit_test(test_pool_spread),
		cmocka_unit_test(test_sse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: lab operations (labops.c) driven with a fake netlab job runner — slots in
 * parallel, the warm pool, held labs never shared, LRU replacement, waiting for a slot,
 * busy labs, a session ending while its lab starts, and shutdown. No netlab, no HTTP. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/loop.h"
#include "common/xmalloc.h"
#include "labd.h"
#include "labjob.h"
#include "labops.h"

/* --- the fake runner: jobs wait until the test completes them --- */

enum fake_kind {
	FAKE_START,
	FAKE_STOP,
	FAKE_STARTUP
};

struct labjob {
	enum fake_kind kind;
	int mlid;
	char hash[LAB_HASH_LEN + 1];
	char workdir[64];
	bool cancelled;
	labjob_done_fn done;
	void *userdata;
	struct labjob *next;
};

struct fake {
	struct labjob *jobs; /* running, oldest first */
	unsigned starts, stops;
	json_t *foreign;
};

static void fake_push(struct fake *f, struct labjob *j)
{
	struct labjob **p;

	for (p = &f->jobs; *p != NULL; p = &(*p)->next)
		;
	*p = j;
}

static int fake_start(void *ctx, int mlid, const struct upload *u, labjob_done_fn done,
		      void *userdata, struct labjob **ret)
{
	struct fake *f = ctx;
	struct labjob *j = xcalloc(1, sizeof(*j));

	j->kind = FAKE_START;
	j->mlid = mlid;
	memcpy(j->hash, u->hash, sizeof(j->hash));
	snprintf(j->workdir, sizeof(j->workdir), "/nonexistent/lab-%u", ++f->starts);
	j->done = done;
	j->userdata = userdata;
	fake_push(f, j);
	*ret = j;
	return 0;
}

static int fake_stop(void *ctx, int mlid, const char *workdir, const char *name, const char *reason,
		     labjob_done_fn done, void *userdata, struct labjob **ret)
{
	struct fake *f = ctx;
	struct labjob *j = xcalloc(1, sizeof(*j));

	j->kind = FAKE_STOP;
	j->mlid = mlid;
	snprintf(j->workdir, sizeof(j->workdir), "%s", workdir);
	j->done = done;
	j->userdata = userdata;
	f->stops++;
	fake_push(f, j);
	*ret = j;
	return 0;
}

static int fake_startup(void *ctx, bool all, const json_t *adopt, const json_t *leftovers,
			labjob_done_fn done, void *userdata, struct labjob **ret)
{
	struct fake *f = ctx;
	struct labjob *j = xcalloc(1, sizeof(*j));

	j->kind = FAKE_STARTUP;
	j->done = done;
	j->userdata = userdata;
	fake_push(f, j);
	*ret = j;
	return 0;
}

static void fake_cancel(struct labjob *job)
{
	job->cancelled = true;
}

static struct fake *the_fake;

static void fake_unlink(struct labjob *job)
{
	struct labjob **p;

	for (p = &the_fake->jobs; *p != NULL; p = &(*p)->next)
		if (*p == job) {
			*p = job->next;
			return;
		}
}

static void fake_abandon(struct labjob *job)
{
	fake_unlink(job);
	free(job);
}

static const json_t *fake_foreign(void *ctx)
{
	return ((struct fake *)ctx)->foreign;
}

/* Finish a job as netlab would have. */
static void fake_complete(struct labjob *j, bool ok)
{
	struct labjob_result res = { 0 };
	json_t *devices = json_pack("[{s:s, s:{s:{s:s}}}]", "name", "r1", "raw", "mgmt", "ipv4",
				    "192.168.1.101");

	fake_unlink(j);
	if (!ok || j->cancelled) {
		res.err = j->cancelled ? -ECANCELED : -EIO;
		res.error = json_pack("{s:s}", "detail", "netlab failed");
	}
	res.devices = devices;
	res.workdir = j->workdir;
	j->done(j, &res, j->userdata);
	json_decref(res.error);
	json_decref(devices);
	free(j);
}

static struct labjob *fake_find(enum fake_kind kind, int n)
{
	struct labjob *j;

	for (j = the_fake->jobs; j != NULL; j = j->next)
		if (j->kind == kind && n-- == 0)
			return j;
	return NULL;
}

static unsigned fake_count(enum fake_kind kind)
{
	struct labjob *j;
	unsigned n = 0;

	for (j = the_fake->jobs; j != NULL; j = j->next)
		n += j->kind == kind;
	return n;
}

/* --- the world around labops --- */

struct world {
	struct labd d;
	struct fake fake;
};

struct outcome {
	bool called;
	enum labop_outcome outcome;
	bool reused;
};

static void on_result(struct labd *d, const struct labop_result *res, void *userdata)
{
	struct outcome *o = userdata;

	o->called = true;
	o->outcome = res->outcome;
	o->reused = res->reused;
}

static void run_loop(struct world *w)
{
	while (sd_event_run(w->d.event, 0) > 0)
		;
}

static struct world *world_new(unsigned slots, double idle_keep)
{
	struct world *w = xcalloc(1, sizeof(*w));
	static int mlids[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct labjob_runner runner = {
		.start = fake_start,
		.stop = fake_stop,
		.startup = fake_startup,
		.cancel = fake_cancel,
		.abandon = fake_abandon,
		.foreign = fake_foreign,
		.ctx = &w->fake,
	};

	the_fake = &w->fake;
	w->fake.foreign = json_array();
	assert_true(loop_new(&w->d.event) >= 0);
	w->d.cfg.lab_slots = slots;
	w->d.cfg.idle_keep = idle_keep;
	w->d.cfg.active_timeout = 300;
	w->d.cfg.waiting_timeout = 600;
	w->d.tmpdir = xstrdup("/nonexistent");
	w->d.mlids = xcalloc(8, sizeof(int));
	memcpy(w->d.mlids, mlids, sizeof(mlids));
	w->d.n_mlids = slots > 1 ? 8 : 0;
	sessions_init(&w->d.sessions);
	slots_init(&w->d.slots, slots, slots > 1 ? mlids : NULL);
	w->d.ops = labops_new_with_runner(&w->d, runner);
	labops_startup(w->d.ops, NULL);
	run_loop(w);
	fake_complete(fake_find(FAKE_STARTUP, 0), true);
	run_loop(w);
	return w;
}

static void world_free(struct world *w)
{
	labops_free(w->d.ops);
	sessions_free(&w->d.sessions);
	slots_free(&w->d.slots);
	sd_event_unref(w->d.event);
	json_decref(w->fake.foreign);
	free(w->d.mlids);
	free(w->d.tmpdir);
	free(w);
}

static struct session *active_session(struct world *w, int i)
{
	char id[SESSION_ID_LEN + 1], handle[SESSION_HANDLE_LEN + 1];
	struct session *s;

	snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012u", (unsigned)i);
	snprintf(handle, sizeof(handle), "s-%08u", (unsigned)i % 100000000u);
	s = sessions_add(&w->d.sessions, id, handle, 0, NULL, 1, 1.0);
	sessions_promote(&w->d.sessions, s, 1);
	return s;
}

static struct upload *topo(char c)
{
	struct upload_limits lim = { 1 << 20, 1 << 20, 16 };
	struct upload *u = xcalloc(1, sizeof(*u));

	upload_init(u, "/nonexistent", &lim, true);
	memset(u->hash, c, LAB_HASH_LEN);
	u->topology_name = xasprintf("%c.yml", c);
	u->topology_path = xasprintf("/nonexistent/%c.yml", c);
	return u;
}

static void end_session(struct world *w, struct session *s, struct outcome *o)
{
	labops_session_ended(w->d.ops, s, "session-end", on_result, o);
	labops_session_gone(w->d.ops, s);
	sessions_remove(&w->d.sessions, s, SESSION_END_DELETED, 2);
	run_loop(w);
}

/* --- tests --- */

static void test_slots_start_in_parallel(void **state)
{
	struct world *w = world_new(2, 0);
	struct session *a = active_session(w, 1), *b = active_session(w, 2);
	struct outcome oa = { 0 }, ob = { 0 };

	labops_acquire(w->d.ops, a, topo('1'), true, on_result, &oa);
	labops_acquire(w->d.ops, b, topo('2'), true, on_result, &ob);
	run_loop(w);
	/* both starts run at once, on different multilab instances */
	assert_int_equal(fake_count(FAKE_START), 2);
	assert_int_not_equal(fake_find(FAKE_START, 0)->mlid, fake_find(FAKE_START, 1)->mlid);
	assert_false(oa.called || ob.called);
	fake_complete(fake_find(FAKE_START, 1), true);
	run_loop(w);
	assert_true(ob.called && ob.outcome == LABOP_OK && !ob.reused);
	assert_false(oa.called);
	fake_complete(fake_find(FAKE_START, 0), true);
	run_loop(w);
	assert_true(oa.called && oa.outcome == LABOP_OK);
	assert_ptr_equal(a->lab->holder, a);
	assert_ptr_equal(b->lab->holder, b);
	assert_ptr_not_equal(a->lab, b->lab);
	world_free(w);
}

static void test_warm_pool_and_held_labs(void **state)
{
	struct world *w = world_new(2, 300);
	struct session *a = active_session(w, 1), *b = active_session(w, 2), *c;
	struct outcome o1 = { 0 }, o2 = { 0 }, o3 = { 0 }, end = { 0 };

	labops_acquire(w->d.ops, a, topo('1'), true, on_result, &o1);
	run_loop(w);
	fake_complete(fake_find(FAKE_START, 0), true);
	run_loop(w);
	assert_true(o1.called && !o1.reused);
	/* b asks for the same topology while a holds it: never shared, a second lab starts */
	labops_acquire(w->d.ops, b, topo('1'), true, on_result, &o2);
	run_loop(w);
	assert_int_equal(fake_count(FAKE_START), 1);
	fake_complete(fake_find(FAKE_START, 0), true);
	run_loop(w);
	assert_true(o2.called && o2.outcome == LABOP_OK && !o2.reused);
	assert_ptr_not_equal(a->lab, b->lab);
	/* a ends: its lab is kept idle; c takes it over without netlab */
	end_session(w, a, &end);
	assert_true(end.called && end.outcome == LABOP_OK);
	assert_int_equal(w->fake.stops, 0);
	c = active_session(w, 3);
	labops_acquire(w->d.ops, c, topo('1'), true, on_result, &o3);
	run_loop(w);
	assert_true(o3.called && o3.outcome == LABOP_OK && o3.reused);
	assert_int_equal(w->fake.starts, 2);
	assert_ptr_equal(c->lab->holder, c);
	assert_int_equal(c->lab->ref, 1);
	world_free(w);
}

static void test_lru_replacement(void **state)
{
	struct world *w = world_new(2, 300);
	struct session *s[4];
	struct outcome o[4] = { 0 }, end = { 0 };
	struct lab *older;
	int i;

	for (i = 0; i < 2; i++) {
		s[i] = active_session(w, i);
		labops_acquire(w->d.ops, s[i], topo((char)('1' + i)), true, on_result, &o[i]);
		run_loop(w);
		fake_complete(fake_find(FAKE_START, 0), true);
		run_loop(w);
	}
	older = s[0]->lab;
	end_session(w, s[0], &end); /* idle first: least recently used */
	end_session(w, s[1], &end);
	s[2] = active_session(w, 2);
	labops_acquire(w->d.ops, s[2], topo('3'), true, on_result, &o[2]);
	run_loop(w);
	/* the older idle lab is torn down on its instance while the new one starts at once in
	 * its slot, on a spare instance */
	assert_int_equal(fake_count(FAKE_STOP), 1);
	assert_int_equal(fake_count(FAKE_START), 1);
	assert_int_equal(fake_find(FAKE_STOP, 0)->mlid, 1);
	assert_int_equal(fake_find(FAKE_START, 0)->mlid, 3);
	assert_int_equal(older->state, LAB_STARTING);
	assert_int_equal(older->mlid, 3);
	fake_complete(fake_find(FAKE_START, 0), true);
	run_loop(w);
	assert_true(o[2].called && o[2].outcome == LABOP_OK && !o[2].reused);
	assert_ptr_equal(s[2]->lab, older);
	/* the old instance goes back to the spares once netlab let go of it */
	fake_complete(fake_find(FAKE_STOP, 0), true);
	run_loop(w);
	assert_true(labops_idle(w->d.ops));
	world_free(w);
}

static void test_waits_for_a_slot_and_busy(void **state)
{
	struct world *w = world_new(1, 0);
	struct session *a = active_session(w, 1), *b;
	struct outcome o1 = { 0 }, o2 = { 0 }, o3 = { 0 }, end = { 0 };

	labops_acquire(w->d.ops, a, topo('1'), true, on_result, &o1);
	run_loop(w);
	fake_complete(fake_find(FAKE_START, 0), true);
	run_loop(w);
	/* the same session asks for another topology while it holds ref 1: 423 */
	labops_acquire(w->d.ops, a, topo('2'), true, on_result, &o2);
	run_loop(w);
	assert_true(o2.called && o2.outcome == LABOP_BUSY);
	/* a ends: its lab is torn down; b's acquire waits for the slot */
	end_session(w, a, &end);
	assert_false(end.called);
	b = active_session(w, 2);
	labops_acquire(w->d.ops, b, topo('2'), true, on_result, &o3);
	run_loop(w);
	assert_false(o3.called);
	assert_int_equal(fake_count(FAKE_START), 0);
	fake_complete(fake_find(FAKE_STOP, 0), true);
	run_loop(w);
	assert_true(end.called && end.outcome == LABOP_OK);
	assert_int_equal(fake_count(FAKE_START), 1);
	fake_complete(fake_find(FAKE_START, 0), true);
	run_loop(w);
	assert_true(o3.called && o3.outcome == LABOP_OK);
	world_free(w);
}

static void test_session_ends_while_its_lab_starts(void **state)
{
	struct world *w = world_new(1, 0);
	struct session *a = active_session(w, 1);
	struct outcome o = { 0 }, end = { 0 };

	labops_acquire(w->d.ops, a, topo('1'), true, on_result, &o);
	run_loop(w);
	end_session(w, a, &end);
	assert_false(end.called);
	fake_complete(fake_find(FAKE_START, 0), true);
	run_loop(w);
	/* the acquire is answered as the original did; then the lab nobody holds goes down */
	assert_true(o.called && o.outcome == LABOP_OK);
	assert_int_equal(fake_count(FAKE_STOP), 1);
	assert_false(end.called);
	fake_complete(fake_find(FAKE_STOP, 0), true);
	run_loop(w);
	assert_true(end.called);
	assert_int_equal(w->d.slots.labs[0].state, LAB_EMPTY);
	world_free(w);
}

static void test_failed_start_frees_the_slot(void **state)
{
	struct world *w = world_new(1, 0);
	struct session *a = active_session(w, 1);
	struct outcome o = { 0 };

	labops_acquire(w->d.ops, a, topo('1'), true, on_result, &o);
	run_loop(w);
	fake_complete(fake_find(FAKE_START, 0), false);
	run_loop(w);
	assert_true(o.called && o.outcome == LABOP_FAILED);
	assert_null(a->lab);
	assert_int_equal(w->d.slots.labs[0].state, LAB_EMPTY);
	world_free(w);
}

static void test_shutdown(void **state)
{
	struct world *w = world_new(2, 0);
	struct session *a = active_session(w, 1), *b = active_session(w, 2);
	struct outcome o1 = { 0 }, o2 = { 0 }, done = { 0 };

	labops_acquire(w->d.ops, a, topo('1'), true, on_result, &o1);
	run_loop(w);
	fake_complete(fake_find(FAKE_START, 0), true);
	labops_acquire(w->d.ops, b, topo('2'), true, on_result, &o2);
	run_loop(w);
	labops_cancel(w->d.ops);
	labops_shutdown(w->d.ops, false, on_result, &done);
	run_loop(w);
	assert_true(fake_find(FAKE_START, 0)->cancelled);
	fake_complete(fake_find(FAKE_START, 0), true);
	run_loop(w);
	assert_true(o2.called && o2.outcome == LABOP_SHUTDOWN);
	/* the remaining lab gets its final teardown, then shutdown is done */
	assert_false(done.called);
	assert_int_equal(fake_count(FAKE_STOP), 1);
	fake_complete(fake_find(FAKE_STOP, 0), true);
	run_loop(w);
	assert_true(done.called && done.outcome == LABOP_OK);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_start_in_parallel),
		cmocka_unit_test(test_warm_pool_and_held_labs),
		cmocka_unit_test(test_lru_replacement),
		cmocka_unit_test(test_waits_for_a_slot_and_busy),
		cmocka_unit_test(test_session_ends_while_its_lab_starts),
		cmocka_unit_test(test_failed_start_frees_the_slot),
		cmocka_unit_test(test_shutdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for journal.c: the spool line codec, and the writer's flushing driven with a fake
 * database thread (-Wl,--wrap=dbq_submit) in front of an in-memory SQLite: rows in order,
 * the write-ahead spool while the database is down, the cap, a restart, data errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <cmocka.h>

#include "common/loop.h"
#include "db.h"
#include "dbq.h"
#include "journal.h"
#include "journal_store.h"
#include "opsd.h"
#include "testdb.h"

/* ---- a fake database thread ---------------------------------------------------------- */

struct job {
	dbq_fn fn;
	dbq_done_fn done;
	void *arg;
};

static struct {
	struct job jobs[16];
	size_t n_jobs;
	struct db *db;
	bool db_down; /* jobs fail with -ENOTCONN without running, like dbq */
	int done_true, done_false;
	char order[64]; /* the done callbacks' tags in order */
} fk;

int __wrap_dbq_submit(struct dbq *q, dbq_fn fn, dbq_done_fn done, void *arg);
int __wrap_dbq_submit(struct dbq *q, dbq_fn fn, dbq_done_fn done, void *arg)
{
	assert_true(fk.n_jobs < sizeof(fk.jobs) / sizeof(fk.jobs[0]));
	fk.jobs[fk.n_jobs++] = (struct job){ fn, done, arg };
	return 0;
}

/* Run the queued database jobs (and what they queue in turn). */
static void pump(void)
{
	while (fk.n_jobs > 0) {
		struct job j = fk.jobs[0];

		memmove(fk.jobs, fk.jobs + 1, --fk.n_jobs * sizeof(fk.jobs[0]));
		j.done(j.arg, fk.db_down ? -ENOTCONN : j.fn(fk.db, j.arg));
	}
}

static void row_done(void *userdata, bool in_db)
{
	size_t n = strlen(fk.order);

	if (in_db)
		fk.done_true++;
	else
		fk.done_false++;
	assert_true(n + 2 < sizeof(fk.order));
	fk.order[n] = *(const char *)userdata;
	fk.order[n + 1] = in_db ? '+' : '-';
	fk.order[n + 2] = '\0';
}

static struct opsd o;
static char state_dir[64];

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	memset(&o, 0, sizeof(o));
	assert_int_equal(sd_event_new(&o.event), 0);
	o.dbq = (struct dbq *)&fk; /* never dereferenced: dbq_submit is the fake */
	o.cfg.spool_max = 100;
	o.cfg.spool_retry = 0.001;
	snprintf(state_dir, sizeof(state_dir), "/tmp/test-journal-XXXXXX");
	assert_non_null(mkdtemp(state_dir));
	o.cfg.state_dir = state_dir;
	fk.db = testdb_open();
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	db_close(fk.db);
	sd_event_unref(o.event);
	snprintf(path, sizeof(path), "%s/journal-spool.jsonl", state_dir);
	unlink(path);
	rmdir(state_dir);
	assert_int_equal(o.busy, 0);
	return 0;
}

static size_t spool_lines(void)
{
	char path[128], line[4096];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/journal-spool.jsonl", state_dir);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static void add(struct journal *j, const char *action, const char *host, int flags, const char *tag)
{
	int64_t code = 200;

	journal_add(j, "0xr1", "lab-1", host, action, true, &code, NULL, NULL, NULL, flags,
		    row_done, (void *)tag);
}

static int64_t rows(void)
{
	return testdb_count(fk.db, "SELECT COUNT(*) FROM reservation_operations");
}

/* Run the loop once, so a due retry timer fires. */
static void tick(void)
{
	assert_true(sd_event_run(o.event, 5 * USEC_PER_SEC) >= 0);
}

static void test_spool_codec(void **state)
{
	struct journal_row row, back;
	char *line;

	testdb_journal_row(&row);
	line = journal_row_to_json(&row);
	assert_int_equal(journal_row_from_json(line, strlen(line), &back), 0);
	assert_string_equal(back.reservation_id, "0xabc");
	assert_null(back.lab_id);
	assert_true(back.has_code && back.response_code == 200 && !back.has_duration);
	assert_string_equal(back.payload, "{\"mac\":\"x\"}");
	assert_true(back.spooled);
	assert_string_equal(back.created_at, "2026-01-01 12:00:00");
	journal_row_clear(&back);
	free(line);
	assert_int_equal(journal_row_from_json("{}", 2, &back), -EINVAL);
	assert_int_equal(journal_row_from_json("nope", 4, &back), -EINVAL);
	journal_row_clear(&row);
	journal_row_clear(NULL);
}

static void test_rows_in_order(void **state)
{
	struct journal *j;

	assert_int_equal(journal_new(&o, &j), 0);
	add(j, "wake", "ws", 0, "a");
	add(j, "prepare", "ws", 0, "b");
	add(j, "scheduler:start", "ws", JOURNAL_WAIT_DB, "c");
	assert_int_equal(journal_spooled(j), 3); /* written ahead, not yet inserted */
	assert_int_equal(spool_lines(), 3);
	pump();
	assert_int_equal(rows(), 3);
	assert_string_equal(fk.order, "a+b+c+");
	assert_int_equal(journal_spooled(j), 0);
	assert_int_equal(spool_lines(), 0);
	assert_int_equal(testdb_count(fk.db, "SELECT COUNT(*) FROM reservation_operations WHERE "
					     "action = 'wake' AND id < (SELECT id FROM "
					     "reservation_operations WHERE action = 'prepare')"),
			 1);
	journal_free(j);
}

static void test_database_down_then_back(void **state)
{
	struct journal *j;

	assert_int_equal(journal_new(&o, &j), 0);
	fk.db_down = true;
	add(j, "wake", "ws", 0, "a");
	add(j, "scheduler:start", "ws", JOURNAL_WAIT_DB, "w");
	pump();
	/* nothing inserted, nothing lost: in the spool; the plain caller goes on, the waiting
	 * one is not answered yet */
	assert_int_equal(rows(), 0);
	assert_int_equal(journal_spooled(j), 2);
	assert_int_equal(spool_lines(), 2);
	assert_string_equal(fk.order, "a-");
	fk.db_down = false;
	tick(); /* the retry timer */
	pump();
	assert_int_equal(rows(), 2);
	assert_string_equal(fk.order, "a-w+");
	assert_int_equal(spool_lines(), 0);
	journal_free(j);
}

static void test_stop_releases_waiting_callers(void **state)
{
	struct journal *j;

	assert_int_equal(journal_new(&o, &j), 0);
	fk.db_down = true;
	add(j, "scheduler:end", "ws", JOURNAL_WAIT_DB, "w");
	pump();
	assert_string_equal(fk.order, "");
	o.stopping = true;
	journal_stop_waiting(j);
	assert_string_equal(fk.order, "w-");
	journal_free(j); /* the row stays in the spool for the next start */
	assert_int_equal(spool_lines(), 1);
}

static void test_spool_cap_drops_oldest(void **state)
{
	struct journal *j;

	o.cfg.spool_max = 2;
	assert_int_equal(journal_new(&o, &j), 0);
	fk.db_down = true;
	add(j, "wake", "ws", 0, "a");
	pump();
	add(j, "prepare", "ws", 0, "b");
	pump();
	add(j, "release", "ws", 0, "c");
	pump();
	assert_int_equal(journal_spooled(j), 2);
	fk.db_down = false;
	tick();
	pump();
	assert_int_equal(testdb_count(fk.db, "SELECT COUNT(*) FROM reservation_operations WHERE "
					     "action = 'wake'"),
			 0);
	assert_int_equal(rows(), 2);
	journal_free(j);
}

static void test_restart_loads_spool_without_duplicates(void **state)
{
	struct journal_row first;
	struct journal *j;
	char path[128], line[4096];
	FILE *f;

	assert_int_equal(journal_new(&o, &j), 0);
	fk.db_down = true;
	add(j, "wake", "ws", 0, "a");
	add(j, "prepare", "ws", 0, "b");
	pump();
	journal_free(j); /* the process ends: both rows only in the spool file */
	assert_int_equal(spool_lines(), 2);
	/* The first row had reached the database just before the crash. */
	snprintf(path, sizeof(path), "%s/journal-spool.jsonl", state_dir);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(journal_row_from_json(line, strlen(line) - 1, &first), 0);
	assert_int_equal(journal_store_insert(fk.db, &first, false), 0);
	journal_row_clear(&first);
	/* The next start loads the spool and inserts with the duplicate check. */
	fk.db_down = false;
	assert_int_equal(journal_new(&o, &j), 0);
	assert_int_equal(journal_spooled(j), 2);
	pump();
	assert_int_equal(rows(), 2);
	assert_int_equal(journal_spooled(j), 0);
	assert_int_equal(spool_lines(), 0);
	journal_free(j);
}

/* A row the database refuses is dropped after three tries (its caller heard "not in the
 * database" at the first); the rows behind it go in with the next try, in order. */
static void test_data_error_dropped(void **state)
{
	struct journal *j;
	int i;

	assert_int_equal(db_run(fk.db,
				"CREATE TRIGGER refuse BEFORE INSERT ON "
				"reservation_operations WHEN NEW.action = 'bad' "
				"BEGIN SELECT RAISE(ABORT, 'refused'); END",
				""),
			 0);
	assert_int_equal(journal_new(&o, &j), 0);
	add(j, "bad", "ws", 0, "a");
	add(j, "wake", "ws", 0, "b");
	pump();
	assert_int_equal(rows(), 0);
	assert_int_equal(journal_spooled(j), 2);
	for (i = 0; i < 10 && journal_spooled(j) > 0; i++) {
		tick();
		pump();
	}
	assert_int_equal(journal_spooled(j), 0);
	assert_int_equal(spool_lines(), 0);
	assert_int_equal(rows(), 1);
	assert_string_equal(fk.order, "a-b+"); /* a: kept in the spool, later dropped */
	journal_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spool_codec),
		cmocka_unit_test_setup_teardown(test_rows_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_database_down_then_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_releases_waiting_callers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_spool_cap_drops_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_loads_spool_without_duplicates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_data_error_dropped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

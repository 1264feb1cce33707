/* Unit tests for scheduler_store.c: candidate queries, claims (one owner, cooldown, attempt
 * cap), releases and guarded status transitions, on SQLite with the real schema. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "isotime.h"
#include "journal.h"
#include "journal_store.h"
#include "scheduler_store.h"
#include "testdb.h"

/* Scan and claim parameters of worker owner at now (seconds are the test's choice). */
static struct scheduler_params params(const char *owner, int64_t now, long max_attempts)
{
	struct scheduler_params p = { .now_usec = now,
				      .lookback = 3600,
				      .start_lead = 120,
				      .end_delay = 60,
				      .cooldown = 60,
				      .claim_ttl = 600,
				      .max_attempts = max_attempts,
				      .max_batch = 10,
				      .owner = owner };

	return p;
}

static void test_candidates_claims_transitions(void **state)
{
	struct db *db = testdb_open();
	const int64_t S = 1000000, now = isotime_now_usec();
	struct scheduler_params p = params("me", now, 2), other = params("other", now, 2);
	struct scheduler_candidate *c;
	size_t n;
	long attempt;
	char *status;
	bool changed;

	testdb_reservation(db, "due", "CONFIRMED", now + 60 * S, now + 7200 * S);
	testdb_reservation(db, "late", "CONFIRMED", now - 1800 * S, now + 7200 * S);
	testdb_reservation(db, "too-old", "CONFIRMED", now - 7200 * S, now + 7200 * S);
	testdb_reservation(db, "too-early", "CONFIRMED", now + 600 * S, now + 7200 * S);
	testdb_reservation(db, "active-ended", "ACTIVE", now - 1800 * S, now - 120 * S);
	testdb_reservation(db, "just-ended", "ACTIVE", now - 1800 * S, now - 30 * S);
	testdb_reservation(db, "pending", "PENDING", now, now + 60 * S);
	assert_int_equal(scheduler_store_candidates(db, &p, true, &c, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].id, "late"); /* ORDER BY start_time */
	assert_string_equal(c[1].id, "due");
	scheduler_store_candidates_free(c, n);
	assert_int_equal(scheduler_store_candidates(db, &p, false, &c, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].id, "active-ended");
	assert_string_equal(c[0].status, "ACTIVE");
	scheduler_store_candidates_free(c, n);

	/* claims: one owner at a time */
	assert_int_equal(scheduler_store_claim(db, &p, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 1);
	assert_string_equal(status, "CONFIRMED");
	free(status);
	assert_int_equal(scheduler_store_claim(db, &other, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0);
	assert_int_equal(scheduler_store_candidates(db, &p, true, &c, &n), 0);
	assert_int_equal(n, 1); /* a held claim hides the candidate */
	scheduler_store_candidates_free(c, n);
	assert_int_equal(scheduler_store_release(db, &other, "due", true),
			 0); /* not the owner: no-op */
	assert_int_equal(scheduler_store_claim(db, &other, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0);
	assert_int_equal(scheduler_store_release(db, &p, "due", true), 0);
	/* a scheduler row within the cooldown makes the claim back off */
	{
		struct journal_row row = { .reservation_id = (char *)"due",
					   .host = (char *)"h",
					   .action = (char *)"scheduler:start",
					   .status = (char *)"failed" };

		isotime_format_db(now, row.created_at);
		assert_int_equal(journal_store_insert(db, &row, false), 0);
	}
	assert_int_equal(scheduler_store_claim(db, &other, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0);
	assert_int_equal(testdb_count(db, "SELECT attempts FROM ops_reservation_claims"), 1);
	/* after the cooldown: attempt 2, then the cap (2) */
	other.now_usec = p.now_usec = now + 120 * S;
	assert_int_equal(scheduler_store_claim(db, &other, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 2);
	free(status);
	assert_int_equal(scheduler_store_release(db, &other, "due", true), 0);
	p.now_usec = now + 300 * S;
	assert_int_equal(scheduler_store_claim(db, &p, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0);
	assert_int_equal(scheduler_store_candidates(db, &p, true, &c, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(c[i].id, "due");
	scheduler_store_candidates_free(c, n);

	/* guarded transitions */
	assert_true(scheduler_store_transition_allowed("CONFIRMED", "ACTIVE"));
	assert_false(scheduler_store_transition_allowed("COMPLETED", "ACTIVE"));
	assert_false(scheduler_store_transition_allowed("PENDING", "ACTIVE"));
	assert_int_equal(
		scheduler_store_set_status(db, now, "due", "ACTIVE", "CONFIRMED", &changed),
		-EINVAL);
	assert_int_equal(
		scheduler_store_set_status(db, now, "due", "ACTIVE", "COMPLETED", &changed), 0);
	assert_false(changed); /* it is CONFIRMED */
	assert_int_equal(
		scheduler_store_set_status(db, now, "due", "CONFIRMED", "ACTIVE", &changed), 0);
	assert_true(changed);
	db_close(db);
}

/* A restarted worker releases its own claims at once; other workers' claims stay. */
static void test_take_over(void **state)
{
	struct db *db = testdb_open();
	const int64_t S = 1000000, now = isotime_now_usec();
	struct scheduler_params me = params("me", now, 0), other = params("other", now, 0);
	long attempt;
	char *status;
	int64_t n;

	testdb_reservation(db, "mine", "CONFIRMED", now + 60 * S, now + 7200 * S);
	testdb_reservation(db, "theirs", "CONFIRMED", now + 60 * S, now + 7200 * S);
	assert_int_equal(scheduler_store_claim(db, &me, "mine", true, &attempt, &status), 0);
	assert_int_equal(attempt, 1);
	free(status);
	assert_int_equal(scheduler_store_claim(db, &other, "theirs", true, &attempt, &status), 0);
	assert_int_equal(attempt, 1);
	free(status);
	/* "me" crashed and came back (later, but long before the TTL ran out) */
	me.now_usec = other.now_usec = now + 5 * S;
	assert_int_equal(scheduler_store_take_over(db, &me, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(scheduler_store_claim(db, &me, "mine", true, &attempt, &status), 0);
	assert_int_equal(attempt, 2); /* the crashed attempt counts */
	free(status);
	assert_int_equal(scheduler_store_claim(db, &me, "theirs", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0); /* another worker's claim is not ours to take */
	assert_int_equal(scheduler_store_take_over(db, &me, &n), 0);
	assert_int_equal(n, 1); /* the claim just taken again */
	assert_int_equal(scheduler_store_take_over(db, &me, &n), 0);
	assert_int_equal(n, 0);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidates_claims_transitions),
		cmocka_unit_test(test_take_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

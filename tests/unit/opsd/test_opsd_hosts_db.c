/* Unit tests: hosts.json loading, the SQLite db_ops backend with the real schema, journal
 * rows and the spool codec, scheduler candidate/claim SQL, MySQL DSN parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "hosts.h"
#include "isotime.h"
#include "journal.h"
#include "scheduler.h"

static int warnings;

static void count_warn(void *ud, const char *msg)
{
	warnings++;
	assert_non_null(strstr(msg, "OPS_TEST_UNSET"));
}

static struct host_registry *load(const char *text, int want)
{
	struct host_registry *reg = NULL;
	char err[256] = "";
	int r = hosts_parse(text, strlen(text), count_warn, NULL, &reg, err, sizeof(err));

	assert_int_equal(r, want);
	return reg;
}

static void test_hosts(void **state)
{
	struct host_registry *reg;
	struct host *h;
	json_t *cfg;
	char err[256], *key;

	setenv("OPS_TEST_USER", "alice", 1);
	reg = load("{\"hosts\":[{\"name\":\"WS-01\",\"address\":\"10.0.0.1\",\"winrm_user\":"
		   "\"env:OPS_TEST_USER\",\"winrm_pass\":\"p\",\"labs\":[\" Lab-A \",2,\"\",\"lab-b\"]},"
		   "{\"name\":\"ws-02\",\"address\":\"10.0.0.2\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\","
		   "\"labs\":[\"LAB-A\",\"lab-c\"],\"winrm_port\":\"5986\",\"quarantined\":\"yes\"},"
		   "{\"name\":\"\",\"address\":\"x\"},{\"address\":\"y\"},{\"name\":\"z\"}]}", 0);
	assert_int_equal(reg->n, 2);
	h = hosts_get(reg, "ws-01");
	assert_non_null(h);
	assert_ptr_equal(hosts_get(reg, "WS-01"), h);
	assert_string_equal(h->name, "WS-01");
	assert_string_equal(h->winrm_user, "alice");
	assert_string_equal(h->winrm_transport, "ntlm");
	assert_int_equal(h->winrm_port, 0);
	assert_string_equal(h->labstation_exe, "C:\\LabStation\\LabStation.exe");
	assert_string_equal(h->heartbeat_path, HOSTS_DEFAULT_HEARTBEAT);
	assert_string_equal(h->events_path, HOSTS_DEFAULT_EVENTS);
	assert_string_equal(h->ping_target, "10.0.0.1");
	assert_string_equal(h->broadcast, "255.255.255.255");
	assert_int_equal(h->wol_port, 9);
	assert_int_equal(h->wake_attempts, 3);
	assert_int_equal(h->n_labs, 3);
	assert_string_equal(h->labs[0], "lab-a");
	assert_string_equal(h->labs[1], "2");
	assert_false(h->quarantined);
	assert_ptr_equal(hosts_get_by_lab(reg, "  LAB-A"), h); /* the first host wins */
	assert_ptr_equal(hosts_get_by_lab(reg, "2"), h);
	assert_null(hosts_get_by_lab(reg, "lab-c"));            /* ws-02 is quarantined */
	assert_true(hosts_get(reg, "ws-02")->quarantined);
	assert_int_equal(hosts_get(reg, "ws-02")->winrm_port, 5986);
	assert_int_equal(hosts_count_active(reg), 1);
	h->quarantined = true;
	assert_null(hosts_get_by_lab(reg, "lab-a"));
	key = hosts_lab_key(" \tLab-A \n");
	assert_string_equal(key, "lab-a");
	free(key);
	assert_null(hosts_lab_key("  "));
	cfg = hosts_config_json(h);
	assert_null(json_object_get(cfg, "winrm_pass"));
	assert_null(json_object_get(cfg, "winrm_user"));
	assert_string_equal(json_string_value(json_object_get(cfg, "address")), "10.0.0.1");
	json_decref(cfg);
	assert_ptr_equal(hosts_ref(reg), reg);
	hosts_unref(reg);
	hosts_unref(reg);
	hosts_unref(NULL);

	warnings = 0;
	load("{\"hosts\":[{\"name\":\"a\",\"address\":\"b\",\"winrm_user\":\"env:OPS_TEST_UNSET\","
	     "\"winrm_pass\":\"p\"}]}", -EINVAL);
	assert_int_equal(warnings, 1);
	load("{\"hosts\":[{\"name\":\"a\",\"address\":\"b\",\"winrm_user\":\"u\"}]}", -EINVAL);
	load("{\"hosts\":{}}", -EINVAL);
	load("[]", -EINVAL);
	load("{\"hosts\":[", -EINVAL);
	load("{\"hosts\":[{\"name\":\"a\",\"address\":\"b\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\","
	     "\"wol_port\":\"x\"}]}", -EINVAL);
	load("{\"hosts\":[{\"name\":\"a\",\"address\":\"b\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\","
	     "\"labs\":\"abc\"}]}", -EINVAL);
	reg = load("{}", 0);
	assert_int_equal(reg->n, 0);
	hosts_unref(reg);
	/* a later duplicate replaces the earlier entry in place */
	reg = load("{\"hosts\":[{\"name\":\"A\",\"address\":\"1\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\"},"
		   "{\"name\":\"b\",\"address\":\"2\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\"},"
		   "{\"name\":\"a\",\"address\":\"3\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\"}]}", 0);
	assert_int_equal(reg->n, 2);
	assert_string_equal(reg->hosts[0].address, "3");
	hosts_unref(reg);
	assert_int_equal(hosts_load("/nonexistent/hosts.json", NULL, NULL, &reg, err, sizeof(err)), 0);
	assert_int_equal(reg->n, 0);
	hosts_unref(reg);
}

static struct db *open_mem(void)
{
	struct db *db;

	assert_int_equal(db_sqlite_new(":memory:", &db), 0);
	assert_int_equal(db_connect(db), 0);
	assert_int_equal(db_apply_schema(db), 0);
	assert_int_equal(db_apply_schema(db), 0); /* idempotent */
	return db;
}

static int64_t count(struct db *db, const char *sql)
{
	struct db_stmt *st;
	int64_t n;

	assert_int_equal(db_prepare(db, &st, sql, ""), 0);
	assert_int_equal(db_step(st), 1);
	n = db_column_int64(st, 0);
	db_finalize(st);
	return n;
}

static void test_db_and_journal(void **state)
{
	struct db *db = open_mem();
	struct journal_row row = { 0 }, back;
	struct db_stmt *st;
	int64_t code = 200, value;
	char *line;

	assert_int_equal(db_prepare(db, &st, "SELECT ?", "ss", "a", "b"), -EINVAL);
	row.reservation_id = strdup("0xabc");
	row.host = strdup("ws");
	row.action = strdup("wake");
	row.status = strdup("completed");
	row.success = true;
	row.has_code = true;
	row.response_code = code;
	row.payload = strdup("{\"mac\":\"x\"}");
	snprintf(row.created_at, sizeof(row.created_at), "%s", "2026-01-01 12:00:00");
	assert_int_equal(journal_insert_row(db, &row, false), 0);
	assert_int_equal(journal_insert_row(db, &row, true), 0); /* dedup: already there */
	assert_int_equal(count(db, "SELECT COUNT(*) FROM reservation_operations"), 1);
	assert_int_equal(db_query_int64(db, &value, "SELECT response_code FROM "
					"reservation_operations WHERE action = ?", "s", "wake"), 1);
	assert_int_equal(value, 200);
	value = -1;
	assert_int_equal(db_query_int64(db, &value, "SELECT response_code FROM "
					"reservation_operations WHERE action = ?", "s", "nope"), 0);
	assert_int_equal(value, -1); /* no row: untouched */
	assert_int_equal(db_query_int64(db, &value, "SELECT ?", "", NULL), -EINVAL);
	assert_int_equal(db_prepare(db, &st, "SELECT lab_id, response_code, duration_ms, payload, "
				    "success FROM reservation_operations", ""), 0);
	assert_int_equal(db_step(st), 1);
	assert_true(db_column_null(st, 0));
	assert_int_equal(db_column_int64(st, 1), 200);
	assert_true(db_column_null(st, 2));
	assert_string_equal(db_column_text(st, 3), "{\"mac\":\"x\"}");
	assert_int_equal(db_column_int64(st, 4), 1);
	assert_int_equal(db_step(st), 0);
	db_finalize(st);

	line = journal_row_to_json(&row);
	assert_int_equal(journal_row_from_json(line, strlen(line), &back), 0);
	assert_string_equal(back.reservation_id, "0xabc");
	assert_null(back.lab_id);
	assert_true(back.has_code && back.response_code == 200 && !back.has_duration);
	assert_true(back.spooled);
	assert_string_equal(back.created_at, "2026-01-01 12:00:00");
	journal_row_clear(&back);
	free(line);
	assert_int_equal(journal_row_from_json("{}", 2, &back), -EINVAL);
	assert_int_equal(journal_row_from_json("nope", 4, &back), -EINVAL);
	journal_row_clear(&row);

	/* constraint errors map to -EEXIST */
	assert_int_equal(db_run(db, "INSERT INTO lab_hosts (name, address) VALUES (?, ?)", "ss",
				"h", "a"), 0);
	assert_int_equal(db_last_insert_id(db), 1);
	assert_int_equal(db_run(db, "INSERT INTO lab_hosts (name, address) VALUES (?, ?)", "ss",
				"h", "b"), -EEXIST);
	assert_int_equal(db_run(db, "SELECT nope FROM nowhere", ""), -EIO);
	db_close(db);
}

static void seed(struct db *db, const char *id, const char *status, int64_t start, int64_t end)
{
	char s[ISOTIME_MAX], e[ISOTIME_MAX];

	isotime_format_db(start, s);
	isotime_format_db(end, e);
	assert_int_equal(db_run(db, "INSERT INTO lab_reservations (transaction_hash, user_id, "
				"wallet_address, lab_id, start_time, end_time, status) VALUES "
				"(?, 1, 'w', 'lab', ?, ?, ?)", "ssss", id, s, e, status), 0);
}

static void test_scheduler_sql(void **state)
{
	struct db *db = open_mem();
	const int64_t S = 1000000, now = isotime_now_usec();
	struct sched_params p = { .now_usec = now, .lookback = 3600, .start_lead = 120,
				  .end_delay = 60, .cooldown = 60, .claim_ttl = 600,
				  .max_attempts = 2, .max_batch = 10, .owner = "me" };
	struct sched_params other = p;
	struct sched_candidate *c;
	size_t n;
	long attempt;
	char *status;
	bool changed;

	other.owner = "other";
	seed(db, "due", "CONFIRMED", now + 60 * S, now + 7200 * S);
	seed(db, "late", "CONFIRMED", now - 1800 * S, now + 7200 * S);
	seed(db, "too-old", "CONFIRMED", now - 7200 * S, now + 7200 * S);
	seed(db, "too-early", "CONFIRMED", now + 600 * S, now + 7200 * S);
	seed(db, "active-ended", "ACTIVE", now - 1800 * S, now - 120 * S);
	seed(db, "just-ended", "ACTIVE", now - 1800 * S, now - 30 * S);
	seed(db, "pending", "PENDING", now, now + 60 * S);
	assert_int_equal(sched_find_candidates(db, &p, true, &c, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].id, "late"); /* ORDER BY start_time */
	assert_string_equal(c[1].id, "due");
	sched_candidates_free(c, n);
	assert_int_equal(sched_find_candidates(db, &p, false, &c, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].id, "active-ended");
	assert_string_equal(c[0].status, "ACTIVE");
	sched_candidates_free(c, n);

	/* claims: one owner at a time */
	assert_int_equal(sched_claim(db, &p, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 1);
	assert_string_equal(status, "CONFIRMED");
	free(status);
	assert_int_equal(sched_claim(db, &other, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0);
	assert_int_equal(sched_find_candidates(db, &p, true, &c, &n), 0);
	assert_int_equal(n, 1); /* a held claim hides the candidate */
	sched_candidates_free(c, n);
	assert_int_equal(sched_release(db, &other, "due", true), 0); /* not the owner: no-op */
	assert_int_equal(sched_claim(db, &other, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0);
	assert_int_equal(sched_release(db, &p, "due", true), 0);
	/* a scheduler row within the cooldown makes the claim back off */
	{
		struct journal_row row = { .reservation_id = (char *)"due", .host = (char *)"h",
					   .action = (char *)"scheduler:start",
					   .status = (char *)"failed" };

		isotime_format_db(now, row.created_at);
		assert_int_equal(journal_insert_row(db, &row, false), 0);
	}
	assert_int_equal(sched_claim(db, &other, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0);
	assert_int_equal(count(db, "SELECT attempts FROM ops_reservation_claims"), 1);
	/* after the cooldown: attempt 2, then the cap (2) */
	other.now_usec = p.now_usec = now + 120 * S;
	assert_int_equal(sched_claim(db, &other, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 2);
	free(status);
	assert_int_equal(sched_release(db, &other, "due", true), 0);
	p.now_usec = now + 300 * S;
	assert_int_equal(sched_claim(db, &p, "due", true, &attempt, &status), 0);
	assert_int_equal(attempt, 0);
	assert_int_equal(sched_find_candidates(db, &p, true, &c, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(c[i].id, "due");
	sched_candidates_free(c, n);

	/* guarded transitions */
	assert_true(sched_transition_allowed("CONFIRMED", "ACTIVE"));
	assert_false(sched_transition_allowed("COMPLETED", "ACTIVE"));
	assert_false(sched_transition_allowed("PENDING", "ACTIVE"));
	assert_int_equal(sched_set_status(db, now, "due", "ACTIVE", "CONFIRMED", &changed), -EINVAL);
	assert_int_equal(sched_set_status(db, now, "due", "ACTIVE", "COMPLETED", &changed), 0);
	assert_false(changed); /* it is CONFIRMED */
	assert_int_equal(sched_set_status(db, now, "due", "CONFIRMED", "ACTIVE", &changed), 0);
	assert_true(changed);
	db_close(db);
}

static void test_dsn(void **state)
{
	struct db_dsn d;

	assert_int_equal(db_dsn_parse("mysql+pymysql://us%40r:p%3Aw@db.example:3307/gw?charset=utf8mb4", &d), 0);
	assert_string_equal(d.user, "us@r");
	assert_string_equal(d.password, "p:w");
	assert_string_equal(d.host, "db.example");
	assert_int_equal(d.port, 3307);
	assert_string_equal(d.database, "gw");
	assert_null(d.unix_socket);
	db_dsn_clear(&d);
	assert_int_equal(db_dsn_parse("mysql://root@[::1]/x?unix_socket=/run/m.sock", &d), 0);
	assert_string_equal(d.host, "::1");
	assert_int_equal(d.port, 3306);
	assert_null(d.password);
	assert_string_equal(d.unix_socket, "/run/m.sock");
	db_dsn_clear(&d);
	assert_int_equal(db_dsn_parse("mariadb://h", &d), 0);
	assert_null(d.database);
	db_dsn_clear(&d);
	assert_int_equal(db_dsn_parse("postgresql://h/x", &d), -EINVAL);
	assert_int_equal(db_dsn_parse("mysql://h:99999/x", &d), -EINVAL);
	assert_int_equal(db_dsn_parse("mysql://u:%zz@h/x", &d), -EINVAL);
	assert_int_equal(db_dsn_parse("mysqlx://h/x", &d), -EINVAL);
	assert_int_equal(db_dsn_parse("h/x", &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_db_and_journal),
		cmocka_unit_test(test_scheduler_sql),
		cmocka_unit_test(test_dsn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

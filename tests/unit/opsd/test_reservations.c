/* Unit tests for reservations.c: the start and end flows driven with fake services (wake,
 * remote command, journal) through -Wl,--wrap; every step is completed by the test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hosts.h"
#include "journal.h"
#include "opsd.h"
#include "remote.h"
#include "request.h"
#include "reservations.h"
#include "wake.h"

/* ---- fake services ------------------------------------------------------------------- */

struct fake_wake {
	struct wake_request req;
	wake_done_fn done;
	void *userdata;
};

struct fake_row {
	char *host;
	char *action;
	bool success;
	bool has_code, has_dur;
	int64_t code, dur;
	char *payload; /* NULL: SQL NULL */
	char *message;
};

static struct {
	struct fake_wake wake;
	int wakes;
	struct remote_call *call; /* the submitted command, completed by the test */
	int calls;
	int submit_result;
	struct fake_row rows[8];
	size_t n_rows;
	unsigned status; /* the flow's answer */
	json_t *response;
	int answers;
} fk;

void __wrap_wake_start(struct opsd *o, struct wake_request *req, wake_done_fn done, void *userdata);
void __wrap_wake_start(struct opsd *o, struct wake_request *req, wake_done_fn done, void *userdata)
{
	fk.wake.req = *req;
	memset(req, 0, sizeof(*req));
	fk.wake.done = done;
	fk.wake.userdata = userdata;
	fk.wakes++;
}

int __wrap_remote_submit(struct opsd *o, struct remote_call *c);
int __wrap_remote_submit(struct opsd *o, struct remote_call *c)
{
	if (fk.submit_result < 0)
		return fk.submit_result;
	c->o = o;
	fk.call = c;
	fk.calls++;
	return 0;
}

void __wrap_journal_add(struct journal *j, const char *reservation_id, const char *lab_id,
			const char *host, const char *action, bool success,
			const int64_t *response_code, const int64_t *duration_ms, json_t *payload,
			const char *message, int flags, journal_done_fn done, void *userdata);
void __wrap_journal_add(struct journal *j, const char *reservation_id, const char *lab_id,
			const char *host, const char *action, bool success,
			const int64_t *response_code, const int64_t *duration_ms, json_t *payload,
			const char *message, int flags, journal_done_fn done, void *userdata)
{
	struct fake_row *r = &fk.rows[fk.n_rows++];

	assert_true(fk.n_rows <= sizeof(fk.rows) / sizeof(fk.rows[0]));
	assert_string_equal(reservation_id, "0xr1");
	r->host = strdup(host);
	r->action = strdup(action);
	r->success = success;
	r->has_code = response_code != NULL;
	r->code = response_code ? *response_code : 0;
	r->has_dur = duration_ms != NULL;
	r->dur = duration_ms ? *duration_ms : 0;
	r->payload = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	r->message = message ? strdup(message) : NULL;
	json_decref(payload);
	/* The row is kept at once (like a database that is up). */
	done(userdata, true);
}

static void flow_done(void *userdata, unsigned status, json_t *response)
{
	fk.status = status;
	fk.response = response;
	fk.answers++;
}

/* Complete the pending wake. */
static void finish_wake(bool success, unsigned attempts)
{
	struct wake_outcome out = { 0 };

	assert_non_null(fk.wake.done);
	out.success = success;
	out.attempts_used = attempts;
	out.duration_ms = 1234;
	snprintf(out.message, sizeof(out.message), "%s",
		 success ? "Host reachable" : "Host did not respond to ping");
	free(fk.wake.req.broadcast);
	free(fk.wake.req.ping_target);
	fk.wake.done(fk.wake.userdata, &out);
}

/* Complete the pending command with an exit code, or a WinRM error (r < 0). */
static void finish_call(int r, int64_t exit_code, const char *out)
{
	struct remote_call *c = fk.call;

	assert_non_null(c);
	fk.call = NULL;
	c->r = r;
	c->duration_ms = 42;
	if (r == 0) {
		c->res.exit_code = exit_code;
		c->res.out = (uint8_t *)strdup(out);
		c->res.out_len = strlen(out);
		c->res.err = (uint8_t *)strdup("");
	} else {
		snprintf(c->err, sizeof(c->err), "library text");
	}
	c->done(c, c->userdata);
}

/* ---- fixtures ------------------------------------------------------------------------ */

static struct opsd o;

static int setup(void **state)
{
	static const char hosts[] =
		"{\"hosts\":[{\"name\":\"ws-1\",\"address\":\"10.0.0.5\",\"mac\":\"00:11:22:33:44:55\","
		"\"winrm_user\":\"u\",\"winrm_pass\":\"p\",\"labs\":[\"lab-1\"],\"wol_port\":7,"
		"\"broadcast\":\"10.0.0.255\"},"
		"{\"name\":\"no-mac\",\"address\":\"10.0.0.6\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\"}]}";
	char err[256];

	memset(&fk, 0, sizeof(fk));
	memset(&o, 0, sizeof(o));
	o.cfg.wake_wait = 10;
	assert_int_equal(hosts_parse(hosts, strlen(hosts), NULL, NULL, &o.hosts, err, sizeof(err)),
			 0);
	return 0;
}

static int teardown(void **state)
{
	size_t i;

	for (i = 0; i < fk.n_rows; i++) {
		free(fk.rows[i].host);
		free(fk.rows[i].action);
		free(fk.rows[i].payload);
		free(fk.rows[i].message);
	}
	json_decref(fk.response);
	hosts_unref(o.hosts);
	assert_int_equal(o.busy, 0); /* every flow let go of the shutdown counter */
	return 0;
}

/* A start or end request as the API validator would build it from body. */
static void run(const char *body, bool start, const char *host)
{
	union request u;
	const struct request_env env = { .cfg = &o.cfg, .hosts = o.hosts };
	char err[REQUEST_ERR_MAX];
	json_t *b = json_loads(body, 0, NULL);

	assert_non_null(b);
	assert_int_equal(request_parse(start ? REQUEST_RESV_START : REQUEST_RESV_END, b, &env, &u,
				       err, sizeof(err)),
			 0);
	json_decref(b);
	resv_run(&o, &u.resv, hosts_get(o.hosts, host), flow_done, NULL);
}

static json_t *step(size_t i)
{
	return json_array_get(json_object_get(fk.response, "steps"), i);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_start_wake_then_prepare(void **state)
{
	run("{\"reservationId\":\"0xr1\",\"host\":\"ws-1\",\"labId\":\"lab-1\"}", true, "ws-1");
	/* wake from the host's values and the defaults */
	assert_int_equal(fk.wakes, 1);
	assert_int_equal(fk.wake.req.attempts, 3);
	assert_int_equal(fk.wake.req.port, 7);
	assert_true(fk.wake.req.wait_s == 10);
	assert_string_equal(fk.wake.req.ping_target, "10.0.0.5");
	assert_string_equal(fk.wake.req.broadcast, "10.0.0.255");
	assert_int_equal(fk.calls, 0); /* nothing else runs before the wake is over */
	finish_wake(true, 2);
	assert_int_equal(fk.n_rows, 1);
	assert_string_equal(fk.rows[0].action, "wake");
	assert_true(fk.rows[0].success && fk.rows[0].has_code && fk.rows[0].code == 200);
	assert_true(fk.rows[0].has_dur && fk.rows[0].dur == 1234);
	assert_string_equal(
		fk.rows[0].payload,
		"{\"attemptsRequested\":3,\"attemptsUsed\":2,\"broadcast\":\"10.0.0.255\","
		"\"mac\":\"00:11:22:33:44:55\",\"pingTarget\":\"10.0.0.5\",\"port\":7,"
		"\"waitSeconds\":10.0}");
	/* then prepare-session with the default grace */
	assert_int_equal(fk.calls, 1);
	assert_string_equal(fk.call->exe, "C:\\LabStation\\LabStation.exe");
	assert_int_equal(fk.call->nargs, 2);
	assert_string_equal(fk.call->args[0], "prepare-session");
	assert_string_equal(fk.call->args[1], "--guard-grace=90");
	assert_string_equal(fk.call->target.address, "10.0.0.5");
	assert_int_equal(fk.answers, 0);
	finish_call(0, 0, "  ready \r\n");
	assert_int_equal(fk.n_rows, 2);
	assert_string_equal(fk.rows[1].action, "prepare");
	assert_true(fk.rows[1].success && fk.rows[1].has_code && fk.rows[1].code == 0);
	assert_string_equal(fk.rows[1].message, "Exit code 0");
	assert_string_equal(fk.rows[1].payload,
			    "{\"args\":[\"--guard-grace=90\"],\"durationMs\":42,\"exitCode\":0,"
			    "\"stderr\":\"\",\"stdout\":\"ready\"}");
	/* the answer */
	assert_int_equal(fk.answers, 1);
	assert_int_equal(fk.status, 200);
	assert_true(json_is_true(json_object_get(fk.response, "success")));
	assert_string_equal(json_string_value(json_object_get(fk.response, "labId")), "lab-1");
	assert_int_equal(json_array_size(json_object_get(fk.response, "steps")), 2);
	assert_int_equal(json_integer_value(json_object_get(step(0), "durationMs")), 1234);
	assert_null(json_object_get(step(1), "durationMs"));
	assert_string_equal(json_string_value(json_object_get(step(1), "status")), "completed");
}

static void test_start_wake_fails_no_prepare(void **state)
{
	run("{\"reservationId\":\"0xr1\",\"host\":\"ws-1\",\"wakeOptions\":{\"attempts\":5,"
	    "\"ping_target\":\"10.9.9.9\",\"ping_timeout\":2}}",
	    true, "ws-1");
	assert_int_equal(fk.wake.req.attempts, 5);
	assert_true(fk.wake.req.wait_s == 2);
	assert_string_equal(fk.wake.req.ping_target, "10.9.9.9");
	finish_wake(false, 5);
	assert_int_equal(fk.calls, 0);
	assert_int_equal(fk.n_rows, 1);
	assert_false(fk.rows[0].success);
	assert_int_equal(fk.rows[0].code, 504);
	assert_int_equal(fk.answers, 1);
	assert_int_equal(fk.status, 502);
	assert_false(json_is_true(json_object_get(fk.response, "success")));
	assert_int_equal(json_array_size(json_object_get(fk.response, "steps")), 1);
}

/* A step without details: the response shows details {}, the journal row has no payload
 * (NULL, as the original writes it), no code and no duration. */
static void test_start_without_mac(void **state)
{
	run("{\"reservationId\":\"0xr1\",\"host\":\"no-mac\"}", true, "no-mac");
	assert_int_equal(fk.wakes, 0);
	assert_int_equal(fk.calls, 0);
	assert_int_equal(fk.n_rows, 1);
	assert_string_equal(fk.rows[0].host, "no-mac");
	assert_string_equal(fk.rows[0].action, "wake");
	assert_false(fk.rows[0].success);
	assert_string_equal(fk.rows[0].message, "MAC address not configured");
	assert_false(fk.rows[0].has_code);
	assert_false(fk.rows[0].has_dur);
	assert_null(fk.rows[0].payload);
	assert_int_equal(fk.status, 502);
	assert_true(json_is_object(json_object_get(step(0), "details")));
	assert_int_equal(json_object_size(json_object_get(step(0), "details")), 0);
	assert_null(json_object_get(step(0), "durationMs"));
}

static void test_start_command_errors(void **state)
{
	/* No wake; the WinRM call fails: exitCode null, our words, no code. */
	run("{\"reservationId\":\"0xr1\",\"host\":\"ws-1\",\"wake\":false,"
	    "\"prepareArgs\":[\"--x\"]}",
	    true, "ws-1");
	assert_int_equal(fk.wakes, 0);
	assert_string_equal(fk.call->args[1], "--x");
	finish_call(-ECONNREFUSED, 0, NULL);
	assert_int_equal(fk.n_rows, 1);
	assert_string_equal(fk.rows[0].action, "prepare");
	assert_false(fk.rows[0].success);
	assert_false(fk.rows[0].has_code);
	assert_true(fk.rows[0].has_dur);
	assert_string_equal(fk.rows[0].message, "WinRM connection refused");
	assert_string_equal(fk.rows[0].payload,
			    "{\"args\":[\"--x\"],\"durationMs\":42,\"exitCode\":null,"
			    "\"stderr\":\"\",\"stdout\":\"\"}");
	assert_int_equal(fk.status, 502);
	/* the worker queue is full: the step fails at once */
	json_decref(fk.response);
	fk.response = NULL;
	fk.submit_result = -EAGAIN;
	run("{\"reservationId\":\"0xr1\",\"host\":\"ws-1\",\"wake\":false}", true, "ws-1");
	assert_int_equal(fk.n_rows, 2);
	assert_string_equal(fk.rows[1].message, "Worker is busy, try again later");
	assert_int_equal(fk.answers, 2);
	assert_int_equal(fk.status, 502);
}

static void test_end_release_then_power(void **state)
{
	run("{\"reservationId\":\"0xr1\",\"host\":\"ws-1\",\"powerAction\":{\"mode\":\"hibernate\","
	    "\"args\":[\"--force\"]}}",
	    false, "ws-1");
	assert_int_equal(fk.wakes, 0);
	assert_string_equal(fk.call->args[0], "release-session");
	assert_string_equal(fk.call->args[1], "--reboot");
	finish_call(0, 0, "released");
	assert_string_equal(fk.rows[0].action, "release");
	/* power: [mode] + args */
	assert_int_equal(fk.call->nargs, 3);
	assert_string_equal(fk.call->args[0], "power");
	assert_string_equal(fk.call->args[1], "hibernate");
	assert_string_equal(fk.call->args[2], "--force");
	finish_call(0, 3, "");
	assert_string_equal(fk.rows[1].action, "power:hibernate");
	assert_false(fk.rows[1].success); /* only exit code 0 is success */
	assert_int_equal(fk.rows[1].code, 3);
	assert_string_equal(fk.rows[1].message, "Exit code 3");
	assert_int_equal(fk.status, 502);
	assert_int_equal(json_array_size(json_object_get(fk.response, "steps")), 2);
}

static void test_end_release_fails_no_power(void **state)
{
	run("{\"reservationId\":\"0xr1\",\"host\":\"ws-1\",\"powerAction\":{}}", false, "ws-1");
	finish_call(0, 1, "");
	assert_int_equal(fk.calls, 1);
	assert_null(fk.call);
	assert_int_equal(fk.n_rows, 1);
	assert_int_equal(fk.status, 502);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_wake_then_prepare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_wake_fails_no_prepare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_without_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_command_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_release_then_power, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_release_fails_no_power, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for libremotelab's pure parts: response parsing, error details, names, config. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "form.h"

#define S(x) x, strlen(x)

static void test_session_created(void **state)
{
	char *id = NULL;
	int pos = -1;

	assert_int_equal(
		reply_session_created(S("{\"session_id\":\"abc-1\",\"position\":3}"), &id, &pos),
		0);
	assert_string_equal(id, "abc-1");
	assert_int_equal(pos, 3);
	free(id);
	id = NULL;
	assert_int_equal(
		reply_session_created(S("{\"session_id\":\"\",\"position\":0}"), &id, &pos),
		-EBADMSG);
	assert_int_equal(reply_session_created(S("{\"session_id\":\"x\"}"), &id, &pos), -EBADMSG);
	assert_int_equal(reply_session_created(S("{\"session_id\":5,\"position\":0}"), &id, &pos),
			 -EBADMSG);
	assert_int_equal(
		reply_session_created(S("{\"session_id\":\"x\",\"position\":1.5}"), &id, &pos),
		-EBADMSG);
	assert_int_equal(reply_session_created(S("{\"session_id\":\"x\",\"position\":99999999999}"),
					       &id, &pos),
			 -EBADMSG);
	assert_int_equal(reply_session_created(S("not json"), &id, &pos), -EBADMSG);
	assert_int_equal(reply_session_created("", 0, &id, &pos), -EBADMSG);
	assert_null(id);
}

static void test_session_status(void **state)
{
	enum rl_session_state st = RL_SESSION_ACTIVE;
	int pos = -1;

	assert_int_equal(
		reply_session_status(S("{\"status\":\"waiting\",\"position\":2}"), &st, &pos), 0);
	assert_int_equal(st, RL_SESSION_WAITING);
	assert_int_equal(pos, 2);
	assert_int_equal(
		reply_session_status(S("{\"status\":\"ACTIVE\",\"position\":0}"), &st, &pos), 0);
	assert_int_equal(st, RL_SESSION_ACTIVE);
	assert_int_equal(pos, 0);
	assert_int_equal(reply_session_status(S("{\"status\":\"done\",\"position\":0}"), &st, &pos),
			 -EBADMSG);
	assert_int_equal(reply_session_status(S("[1,2]"), &st, &pos), -EBADMSG);
}

static const char two_devices[] =
	"[{\"name\":\"r1\",\"raw\":{\"mgmt\":{\"ipv4\":\"192.0.2.1\",\"mac\":\"x\"},"
	"\"ansible_host\":\"192.0.2.1\",\"ansible_user\":\"tester\",\"ansible_ssh_pass\":\"test\","
	"\"ansible_network_os\":\"frr\",\"box\":\"quay.io/frr\"}},"
	"{\"name\":\"r2\",\"raw\":{\"mgmt\":{\"ipv4\":7},\"ansible_user\":null}}]";

static void test_devices(void **state)
{
	struct rl_devices *d = NULL;

	assert_int_equal(reply_devices(S(two_devices), &d), 0);
	assert_int_equal(d->n, 2);
	assert_string_equal(d->items[0].name, "r1");
	assert_string_equal(d->items[0].mgmt_ipv4, "192.0.2.1");
	assert_string_equal(d->items[0].ansible_host, "192.0.2.1");
	assert_string_equal(d->items[0].ansible_user, "tester");
	assert_string_equal(d->items[0].ansible_network_os, "frr");
	assert_non_null(strstr(d->items[0].raw_json, "\"box\":\"quay.io/frr\""));
	assert_string_equal(d->items[1].name, "r2");
	assert_null(d->items[1].mgmt_ipv4); /* not a string: treated as absent */
	assert_null(d->items[1].ansible_user);
	assert_null(d->items[1].ansible_host);
	assert_non_null(strstr(d->json, "\"r2\""));
	rl_devices_free(d);

	d = NULL;
	assert_int_equal(reply_devices(S("[]"), &d), 0);
	assert_int_equal(d->n, 0);
	assert_string_equal(d->json, "[]");
	rl_devices_free(d);

	assert_int_equal(reply_devices(S("[{\"raw\":{}}]"), &d), -EBADMSG);
	assert_int_equal(reply_devices(S("[{\"name\":\"a\"},3]"), &d), -EBADMSG);
	assert_int_equal(reply_devices(S("{\"devices\":[]}"), &d), -EBADMSG);
	rl_devices_free(NULL);
}

static void test_acquire(void **state)
{
	struct rl_devices *d = NULL;
	char body[1024];

	snprintf(body, sizeof(body), "{\"reused\":true,\"devices\":%s}", two_devices);
	assert_int_equal(reply_acquire(S(body), &d), 0);
	assert_true(d->reused);
	assert_int_equal(d->n, 2);
	rl_devices_free(d);
	assert_int_equal(reply_acquire(S("{\"reused\":\"no\",\"devices\":[]}"), &d), -EBADMSG);
	assert_int_equal(reply_acquire(S("{\"reused\":false}"), &d), -EBADMSG);
}

static void test_lab_status(void **state)
{
	struct rl_lab_status *s = NULL;
	char body[1024];

	assert_int_equal(reply_lab_status(S("{\"running\":false,\"topology\":null,\"ref_count\":0,"
					    "\"devices\":[],\"netlab_status\":null}"),
					  &s),
			 0);
	assert_false(s->running);
	assert_null(s->topology);
	assert_int_equal(s->ref_count, 0);
	assert_int_equal(s->devices->n, 0);
	assert_non_null(strstr(s->json, "\"netlab_status\":null"));
	rl_lab_status_free(s);

	snprintf(body, sizeof(body),
		 "{\"running\":true,\"topology\":\"/tmp/u/t.yml\","
		 "\"ref_count\":2,\"devices\":%s,\"netlab_status\":null}",
		 two_devices);
	assert_int_equal(reply_lab_status(S(body), &s), 0);
	assert_true(s->running);
	assert_string_equal(s->topology, "/tmp/u/t.yml");
	assert_int_equal(s->ref_count, 2);
	assert_int_equal(s->devices->n, 2);
	rl_lab_status_free(s);

	assert_int_equal(reply_lab_status(S("{\"running\":1,\"ref_count\":0}"), &s), -EBADMSG);
	assert_int_equal(
		reply_lab_status(S("{\"running\":true,\"topology\":3,\"ref_count\":0}"), &s),
		-EBADMSG);
	rl_lab_status_free(NULL);
}

static void test_error_detail(void **state)
{
	char out[256];

	reply_error_detail(S("{\"detail\":\"Lab currently busy\"}"), 423, out, sizeof(out));
	assert_string_equal(out, "Lab currently busy");
	reply_error_detail(
		S("{\"detail\":[{\"type\":\"missing\",\"loc\":[\"header\",\"X-Session-ID\"],"
		  "\"msg\":\"Field required\",\"input\":null},{\"type\":\"bool_parsing\","
		  "\"loc\":[\"body\",\"reuse\"],\"msg\":\"Input should be a valid boolean\"}]}"),
		422, out, sizeof(out));
	assert_string_equal(out,
			    "header.X-Session-ID: Field required; body.reuse: Input should be a "
			    "valid boolean");
	reply_error_detail(S("Internal Server Error"), 500, out, sizeof(out));
	assert_string_equal(out, "Internal Server Error");
	reply_error_detail(S("  line one\r\nline two\n"), 502, out, sizeof(out));
	assert_string_equal(out, "line one  line two");
	reply_error_detail(NULL, 0, 503, out, sizeof(out));
	assert_string_equal(out, "Service Unavailable");
	reply_error_detail(S("{\"error\":\"x\"}"), 418, out, sizeof(out));
	assert_string_equal(out, "{\"error\":\"x\"}");
	reply_error_detail(S("{\"detail\":{\"a\":1}}"), 400, out, sizeof(out));
	assert_string_equal(out, "{\"a\":1}");
	reply_error_detail(S("{\"detail\":\"a\\u0001b\"}"), 400, out, sizeof(out));
	assert_string_equal(out, "a b");

	/* long details are cut and marked */
	{
		char big[600], small[16];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		reply_error_detail(big, strlen(big), 500, small, sizeof(small));
		assert_int_equal(strlen(small), sizeof(small) - 1);
		assert_string_equal(small + sizeof(small) - 4, "...");
	}
}

static void test_status_errno(void **state)
{
	assert_int_equal(reply_status_errno(400), -EINVAL);
	assert_int_equal(reply_status_errno(422), -EINVAL);
	assert_int_equal(reply_status_errno(401), -EACCES);
	assert_int_equal(reply_status_errno(404), -ENOENT);
	assert_int_equal(reply_status_errno(409), -EBUSY);
	assert_int_equal(reply_status_errno(413), -EFBIG);
	assert_int_equal(reply_status_errno(423), -EAGAIN);
	assert_int_equal(reply_status_errno(500), -EREMOTEIO);
	assert_int_equal(reply_status_errno(503), -EREMOTEIO);
	assert_int_equal(reply_status_errno(302), -EPROTO);
	assert_int_equal(reply_status_errno(200), -EPROTO);
}

static void test_check_name(void **state)
{
	assert_int_equal(form_check_name("topo.yml"), 0);
	assert_int_equal(form_check_name("configs/r1.cfg"), 0);
	assert_int_equal(form_check_name("a/b/c..d/.hidden"), 0);
	assert_int_equal(form_check_name(""), -EINVAL);
	assert_int_equal(form_check_name(NULL), -EINVAL);
	assert_int_equal(form_check_name("/etc/passwd"), -EINVAL);
	assert_int_equal(form_check_name("../x"), -EINVAL);
	assert_int_equal(form_check_name("a/../x"), -EINVAL);
	assert_int_equal(form_check_name("a/.."), -EINVAL);
	assert_int_equal(form_check_name("a//b"), -EINVAL);
	assert_int_equal(form_check_name("a/"), -EINVAL);
	assert_int_equal(form_check_name("./a"), -EINVAL);
	assert_int_equal(form_check_name("a\"b"), -EINVAL);
	assert_int_equal(form_check_name("a\nb"), -EINVAL);
	assert_int_equal(form_check_name("c:\\x"), -EINVAL);
}

static void test_backoff(void **state)
{
	assert_true(clock_backoff(1, 10, 0) == 1);
	assert_true(clock_backoff(1, 10, 1) == 2);
	assert_true(clock_backoff(1, 10, 3) == 8);
	assert_true(clock_backoff(1, 10, 4) == 10);
	assert_true(clock_backoff(1, 10, 400) == 10);
	assert_true(clock_backoff(0, 10, 5) == 0);
	assert_true(clock_backoff(5, 2, 0) == 2);
}

static void test_read_file(void **state)
{
	char path[] = "/tmp/rl-unit-XXXXXX", *data = NULL;
	size_t len = 0;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello: world\n", 13), 13);
	close(fd);
	assert_int_equal(form_read_file(path, 100, &data, &len), 0);
	assert_int_equal(len, 13);
	assert_memory_equal(data, "hello: world\n", 13);
	free(data);
	assert_int_equal(form_read_file(path, 12, &data, &len), -EFBIG);
	assert_int_equal(form_read_file("/tmp", 100, &data, &len), -EISDIR);
	assert_int_equal(form_read_file("/nonexistent/x.yml", 100, &data, &len), -ENOENT);
	unlink(path);

	/* several read chunks, exactly at the limit */
	{
		static char big[200000];
		size_t i;

		for (i = 0; i < sizeof(big); i++)
			big[i] = (char)('a' + i % 26);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
		close(fd);
		assert_int_equal(form_read_file(path, sizeof(big), &data, &len), 0);
		assert_int_equal(len, sizeof(big));
		assert_memory_equal(data, big, sizeof(big));
		assert_int_equal(data[len], '\0');
		free(data);
		assert_int_equal(form_read_file(path, sizeof(big) - 1, &data, &len), -EFBIG);
		unlink(path);
	}

	/* a file longer than its size said (procfs: st_size 0) stops at the buffer's limit,
	 * reported as the public -EFBIG (rl_buf says -E2BIG) */
	assert_int_equal(form_read_file("/proc/self/status", 8, &data, &len), -EFBIG);
	assert_int_equal(form_read_file("/proc/self/status", 1 << 20, &data, &len), 0);
	assert_true(len > 8);
	assert_non_null(strstr(data, "Name:"));
	free(data);

	/* an empty file is fine and has a (NUL-only) buffer */
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	data = NULL;
	assert_int_equal(form_read_file(path, 100, &data, &len), 0);
	assert_int_equal(len, 0);
	assert_non_null(data);
	free(data);
	unlink(path);
}

static void test_client_config(void **state)
{
	struct rl_client *c = NULL;
	char err[256];
	double v;

	unsetenv("REMOTE_LAB_URL");
	unsetenv("REMOTE_LAB_TOKEN");
	unsetenv("REMOTE_LAB_REQUEST_TIMEOUT");
	unsetenv("REMOTE_LAB_SESSION_TIMEOUT");
	unsetenv("REMOTE_LAB_ACQUISITION_TIMEOUT");
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "REMOTE_LAB_URL"));
	assert_int_equal(rl_client_new(&c, "ftp://x", err, sizeof(err)), -EINVAL);
	assert_int_equal(rl_client_new(&c, "lab1:8000", err, sizeof(err)), -EINVAL);
	assert_int_equal(rl_client_new(&c, "http://", err, sizeof(err)), -EINVAL);
	assert_int_equal(rl_client_new(&c, "https:///", err, sizeof(err)), -EINVAL);
	assert_int_equal(rl_client_new(&c, "http://h/?x=1", err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_int_equal(rl_client_new(&c, "http://x", err, sizeof(err)), 0);
	assert_string_equal(rl_client_url(c), "http://x");
	rl_client_free(c);
	c = NULL;
	assert_int_equal(rl_client_new(&c, "https://proxy/lab/", err, sizeof(err)), 0);
	assert_string_equal(rl_client_url(c), "https://proxy/lab");
	rl_client_free(c);
	c = NULL;

	setenv("REMOTE_LAB_URL", "http://lab1:8000//", 1);
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(rl_client_url(c), "http://lab1:8000");
	assert_int_equal(rl_client_get(c, RL_PARAM_REQUEST_TIMEOUT, &v), 0);
	assert_true(v == 30);
	assert_int_equal(rl_client_get(c, RL_PARAM_SESSION_TIMEOUT, &v), 0);
	assert_true(v == 600);
	assert_int_equal(rl_client_get(c, RL_PARAM_ACQUIRE_TIMEOUT, &v), 0);
	assert_true(v == 600);
	assert_int_equal(rl_client_get(c, RL_PARAM_HEARTBEAT_PERIOD, &v), 0);
	assert_true(v == 30);
	assert_int_equal(rl_client_set(c, RL_PARAM_POLL_INTERVAL, -1), -EINVAL);
	assert_int_equal(rl_client_set(c, RL_PARAM_POLL_INTERVAL, 0), -EINVAL);
	assert_int_equal(rl_client_set(c, (enum rl_param)99, 1), -EINVAL);
	assert_int_equal(rl_client_set(c, RL_PARAM_MAX_RETRIES, 0), 0);
	assert_null(rl_session_id(c));
	assert_int_equal(rl_session_attach(c, "s-1"), 0);
	assert_string_equal(rl_session_id(c), "s-1");
	assert_int_equal(rl_session_attach(c, "s-2"), -EEXIST);
	rl_session_detach(c);
	assert_null(rl_session_id(c));
	assert_int_equal(rl_session_attach(c, "bad\r\nid"), -EINVAL);
	assert_int_equal(rl_heartbeat_start(c, 1), -ENOENT);
	rl_client_free(c);

	/* the original client's timeout variables, fractions allowed */
	setenv("REMOTE_LAB_REQUEST_TIMEOUT", "12", 1);
	setenv("REMOTE_LAB_SESSION_TIMEOUT", "1.5", 1);
	setenv("REMOTE_LAB_ACQUISITION_TIMEOUT", "99", 1);
	assert_int_equal(rl_client_new(&c, "https://lab2/", err, sizeof(err)), 0);
	assert_string_equal(rl_client_url(c), "https://lab2");
	rl_client_get(c, RL_PARAM_REQUEST_TIMEOUT, &v);
	assert_true(v == 12);
	rl_client_get(c, RL_PARAM_SESSION_TIMEOUT, &v);
	assert_true(v == 1.5);
	rl_client_get(c, RL_PARAM_ACQUIRE_TIMEOUT, &v);
	assert_true(v == 99);
	rl_client_free(c);
	c = NULL;

	setenv("REMOTE_LAB_SESSION_TIMEOUT", "ten", 1);
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "REMOTE_LAB_SESSION_TIMEOUT"));
	setenv("REMOTE_LAB_SESSION_TIMEOUT", "-3", 1);
	assert_int_equal(rl_client_new(&c, NULL, err, sizeof(err)), -EINVAL);
	unsetenv("REMOTE_LAB_SESSION_TIMEOUT");
	unsetenv("REMOTE_LAB_REQUEST_TIMEOUT");
	unsetenv("REMOTE_LAB_ACQUISITION_TIMEOUT");
	unsetenv("REMOTE_LAB_URL");
	rl_client_free(NULL);
}

static void test_lab_request_local_checks(void **state)
{
	struct rl_lab_request *req = NULL;
	struct rl_client *c = NULL;
	char path[] = "/tmp/rl-unit-XXXXXX.yml";
	int fd;

	assert_int_equal(rl_client_new(&c, "http://127.0.0.1:9", NULL, 0), 0);
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "nodes: [r1]\n", 12), 12);
	close(fd);
	assert_int_equal(rl_lab_request_new(c, "/nonexistent/t.yml", &req), -ENOENT);
	assert_non_null(strstr(rl_client_errmsg(c), "/nonexistent/t.yml"));
	assert_int_equal(rl_lab_request_new(c, path, &req), 0);
	assert_string_equal(req->topo.name, strrchr(path, '/') + 1);
	assert_int_equal(rl_lab_request_add_file(c, req, path, "/abs/x"), -EINVAL);
	assert_int_equal(rl_lab_request_add_file(c, req, path, "../x"), -EINVAL);
	assert_int_equal(rl_lab_request_add_file(c, req, path, NULL), -EINVAL); /* absolute path */
	assert_int_equal(rl_lab_request_add_file(c, req, path, "configs/r1.cfg"), 0);
	assert_int_equal(req->n_extras, 1);
	assert_int_equal(req->total, 24);
	/* the size cap counts all files together */
	assert_int_equal(rl_client_set(c, RL_PARAM_MAX_UPLOAD, 30), 0);
	assert_int_equal(rl_lab_request_add_file(c, req, path, "configs/r2.cfg"), -EFBIG);
	assert_int_equal(req->n_extras, 1);
	rl_lab_request_free(req);
	rl_lab_request_free(NULL);
	unlink(path);
	rl_client_free(c);
}

static void test_strerror(void **state)
{
	assert_string_equal(rl_strerror(-ENOENT), "not found (session or lab)");
	assert_string_equal(rl_strerror(-EAGAIN), "locked: session not active or lab busy");
	assert_non_null(rl_strerror(-EPERM));
	assert_string_equal(rl_version(), REMOTELAB_VERSION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_created),
		cmocka_unit_test(test_session_status),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_acquire),
		cmocka_unit_test(test_lab_status),
		cmocka_unit_test(test_error_detail),
		cmocka_unit_test(test_status_errno),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_client_config),
		cmocka_unit_test(test_lab_request_local_checks),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

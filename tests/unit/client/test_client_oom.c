/* Allocation-failure ("torture") tests: every library allocation that fails must give -ENOMEM
 * and leak nothing. Linked with --wrap for malloc, calloc, realloc, strdup, strndup; only the
 * test's own thread is failed (the in-process fake server's threads allocate normally). */
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

#include "internal.h"
#include "fake_http.h"
#include "form.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static _Thread_local long fail_at = -1, count;

/* True when this allocation is the one to fail. */
static int inject(void)
{
	return fail_at >= 0 && count++ == fail_at;
}

void *__wrap_malloc(size_t n)
{
	return inject() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	return inject() ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	return inject() ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s)
{
	return inject() ? NULL : __real_strdup(s);
}
char *__wrap_strndup(const char *s, size_t n)
{
	return inject() ? NULL : __real_strndup(s, n);
}

/* Run op with the k-th allocation failing, for k = 0, 1, ... until op makes no more than k
 * allocations; every injected failure must come back as -ENOMEM. Returns the number of
 * failure points exercised. */
static long torture(int (*op)(void))
{
	long k;
	int r;

	for (k = 0; k < 10000; k++) {
		count = 0;
		fail_at = k;
		r = op();
		fail_at = -1;
		if (count <= k) { /* nothing was failed: the full run must succeed */
			assert_int_equal(r, 0);
			return k;
		}
		assert_int_equal(r, -ENOMEM);
	}
	fail_msg("too many allocations");
	return k;
}

static const char acquire_body[] =
	"{\"reused\":false,\"devices\":[{\"name\":\"r1\",\"raw\":{\"mgmt\":{\"ipv4\":\"192.0.2.1\"},"
	"\"ansible_host\":\"h1\",\"ansible_user\":\"u\",\"ansible_network_os\":\"frr\"}},"
	"{\"name\":\"r2\",\"raw\":{\"mgmt\":{\"ipv4\":\"192.0.2.2\"},\"ansible_host\":\"h2\"}}]}";

static int op_acquire(void)
{
	struct rl_devices *d = NULL;
	int r = reply_acquire(acquire_body, strlen(acquire_body), &d);

	rl_devices_free(d);
	return r;
}

static int op_lab_status(void)
{
	static const char body[] =
		"{\"running\":true,\"topology\":\"/tmp/u/t.yml\",\"ref_count\":1,\"devices\":"
		"[{\"name\":\"r1\",\"raw\":{\"ansible_user\":\"u\"}}],\"netlab_status\":null}";
	struct rl_lab_status *s = NULL;
	int r = reply_lab_status(body, strlen(body), &s);

	rl_lab_status_free(s);
	return r;
}

static int op_session_created(void)
{
	static const char body[] = "{\"session_id\":\"abc\",\"position\":1}";
	char *id = NULL;
	int r = reply_session_created(body, strlen(body), &id, NULL);

	free(id);
	return r;
}

static int op_host(void)
{
	static const char body[] =
		"{\"name\":\"lab1\",\"version\":\"2.1.0\",\"slots\":2,\"free_slots\":1,\"warm\":[\"ab\",\"cd\"],"
		"\"draining\":false,\"tags\":{\"provider\":\"clab\",\"site\":\"zrh\"}}";
	struct rl_host_info *h = NULL;
	int r = reply_host(body, strlen(body), &h);

	rl_host_info_free(h);
	return r;
}

static int op_queue_labs(void)
{
	static const char q[] =
		"{\"slots\":1,\"sessions\":[{\"handle\":\"s-1\",\"state\":\"active\",\"label\":\"l\","
		"\"lab_hash\":\"ab\"},{\"handle\":\"s-2\",\"state\":\"waiting\"}]}";
	static const char l[] =
		"{\"labs\":[{\"slot\":0,\"instance\":\"default\",\"state\":\"up\",\"topology\":\"t.yml\","
		"\"hash\":\"ab\",\"holder\":\"s-1\",\"devices\":[{\"name\":\"r1\",\"mgmt_ipv4\":\"192.0.2.1\"}]}]}";
	struct rl_queue *qq = NULL;
	struct rl_labs *ll = NULL;
	int r = reply_queue(q, strlen(q), &qq);

	if (r == 0)
		r = reply_labs(l, strlen(l), &ll);
	rl_queue_free(qq);
	rl_labs_free(ll);
	return r;
}

static int op_session_body(void)
{
	struct rl_session_opts o = RL_SESSION_OPTS_INIT;
	char *s = NULL, *h = NULL;
	int r;

	o.priority = 3;
	o.label = "job";
	o.max_wait = 5;
	o.no_wait = true;
	r = reply_session_body(&o, &s);
	free(s);
	if (r == 0)
		r = reply_session_handle("{\"handle\":\"s-1\"}", 16, &h);
	free(h);
	return r;
}

static int ev_cb(const struct rl_event *ev, void *ud)
{
	return 0;
}

static int op_sse(void)
{
	static const char s[] = "id: 1\nevent: lab.up\ndata: {\"a\":1}\ndata: x\n\n";
	struct sse p;
	int r;

	sse_init(&p);
	r = sse_feed(&p, s, strlen(s), ev_cb, NULL);
	sse_free(&p);
	return r;
}

static int op_pool_client(void)
{
	struct rl_client *c = NULL;
	int r;

	r = rl_client_new(&c, "http://127.0.0.1:9/", NULL, 0);
	if (r == 0)
		r = rl_client_add_url(c, "http://127.0.0.1:10");
	if (r == 0)
		r = rl_client_require(c, "provider", "clab");
	if (r == 0)
		r = rl_client_set_admin_token(c, "adm");
	rl_client_free(c);
	return r;
}

static int op_client(void)
{
	struct rl_client *c = NULL;
	int r;

	r = rl_client_new(&c, "http://127.0.0.1:9/", NULL, 0);
	if (r == 0)
		r = rl_session_attach(c, "sid-1");
	if (r == 0)
		r = rl_client_set_token(c, "tok");
	rl_client_free(c);
	return r;
}

static char topo_path[64], extra_path[64];
static struct rl_client *gc; /* made outside the injection */
static CURL *geasy;

static int op_lab_request(void)
{
	struct rl_lab_request *req = NULL;
	curl_mime *m = NULL;
	int r;

	r = rl_lab_request_new(gc, topo_path, &req);
	if (r == 0)
		r = rl_lab_request_add_file(gc, req, extra_path, "configs/a.cfg");
	if (r == 0)
		r = rl_lab_request_add_file(gc, req, extra_path, "configs/b.cfg");
	if (r == 0)
		r = form_build(geasy, req,
			       &m); /* our cursors are wrapped; curl's own memory is not */
	curl_mime_free(m);
	rl_lab_request_free(req);
	return r;
}

static const char devices_body[] =
	"[{\"name\":\"r1\",\"raw\":{\"mgmt\":{\"ipv4\":\"192.0.2.1\"}}},{\"name\":\"r2\"}]";

/* GET /lab/devices: the devices list followed by 6000 spaces, so that the response body
 * buffer (rl_buf) grows several times */
static void devices_handler(const struct fake_req *req, size_t n, struct fake_resp *resp, void *ud)
{
	resp->status = 200;
	snprintf(resp->body, sizeof(resp->body), "%s", devices_body);
	resp->pad = 6000;
}

static struct fake_http *gsrv;

static int op_http(void)
{
	struct rl_client *c = NULL;
	struct rl_devices *d = NULL;
	int r;

	r = rl_client_new(&c, fake_http_url(gsrv), NULL, 0);
	if (r == 0)
		r = rl_session_attach(c, "sid-1");
	if (r == 0)
		r = rl_lab_devices(c, &d);
	if (r == 0 && d->n != 2)
		r = -EBADMSG;
	rl_devices_free(d);
	rl_client_free(c);
	return r;
}

static void test_parsers(void **state)
{
	assert_true(torture(op_acquire) >= 10);
	assert_true(torture(op_lab_status) >= 4);
	assert_true(torture(op_session_created) >= 1);
	assert_true(torture(op_host) >= 8);
	assert_true(torture(op_queue_labs) >= 8);
	assert_true(torture(op_session_body) >= 1); /* jansson allocates outside the wrap */
	assert_true(torture(op_sse) >= 2);
}

static void test_client_handle(void **state)
{
	setenv("REMOTE_LAB_TOKEN", "env-token", 1);
	assert_true(torture(op_client) >= 4);
	assert_true(torture(op_pool_client) >= 5);
	unsetenv("REMOTE_LAB_TOKEN");
}

/* A whole call: the handle, the request, the response body buffer and the parser. */
static void test_http_call(void **state)
{
	unsetenv("REMOTE_LAB_TOKEN");
	gsrv = fake_http_start(devices_handler, NULL);
	assert_non_null(gsrv);
	assert_true(torture(op_http) >= 10);
	fake_http_stop(gsrv);
	gsrv = NULL;
}

static void test_lab_request(void **state)
{
	FILE *f;
	int fd;

	snprintf(topo_path, sizeof(topo_path), "/tmp/rl-oom-XXXXXX");
	fd = mkstemp(topo_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("name: oom\nnodes: [r1]\n", f);
	fclose(f);
	snprintf(extra_path, sizeof(extra_path), "/tmp/rl-oom-XXXXXX");
	fd = mkstemp(extra_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(rl_client_new(&gc, "http://127.0.0.1:9", NULL, 0), 0);
	geasy = curl_easy_init();
	assert_non_null(geasy);
	assert_true(torture(op_lab_request) >= 6);
	curl_easy_cleanup(geasy);
	rl_client_free(gc);
	unlink(topo_path);
	unlink(extra_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_client_handle),
		cmocka_unit_test(test_lab_request),
		cmocka_unit_test(test_http_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

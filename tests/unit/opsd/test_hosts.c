/* Unit tests for hosts.c: hosts.json loading, defaults, env: values, duplicates, lab index. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <cmocka.h>

#include "hosts.h"

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
	reg = load(
		"{\"hosts\":[{\"name\":\"WS-01\",\"address\":\"10.0.0.1\",\"winrm_user\":"
		"\"env:OPS_TEST_USER\",\"winrm_pass\":\"p\",\"labs\":[\" Lab-A \",2,\"\",\"lab-b\"]},"
		"{\"name\":\"ws-02\",\"address\":\"10.0.0.2\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\","
		"\"labs\":[\"LAB-A\",\"lab-c\"],\"winrm_port\":\"5986\",\"quarantined\":\"yes\"},"
		"{\"name\":\"\",\"address\":\"x\"},{\"address\":\"y\"},{\"name\":\"z\"}]}",
		0);
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
	assert_null(hosts_get_by_lab(reg, "lab-c")); /* ws-02 is quarantined */
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
	     "\"winrm_pass\":\"p\"}]}",
	     -EINVAL);
	assert_int_equal(warnings, 1);
	load("{\"hosts\":[{\"name\":\"a\",\"address\":\"b\",\"winrm_user\":\"u\"}]}", -EINVAL);
	load("{\"hosts\":{}}", -EINVAL);
	load("[]", -EINVAL);
	load("{\"hosts\":[", -EINVAL);
	load("{\"hosts\":[{\"name\":\"a\",\"address\":\"b\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\","
	     "\"wol_port\":\"x\"}]}",
	     -EINVAL);
	load("{\"hosts\":[{\"name\":\"a\",\"address\":\"b\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\","
	     "\"labs\":\"abc\"}]}",
	     -EINVAL);
	reg = load("{}", 0);
	assert_int_equal(reg->n, 0);
	hosts_unref(reg);
	/* a later duplicate replaces the earlier entry in place */
	reg = load(
		"{\"hosts\":[{\"name\":\"A\",\"address\":\"1\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\"},"
		"{\"name\":\"b\",\"address\":\"2\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\"},"
		"{\"name\":\"a\",\"address\":\"3\",\"winrm_user\":\"u\",\"winrm_pass\":\"p\"}]}",
		0);
	assert_int_equal(reg->n, 2);
	assert_string_equal(reg->hosts[0].address, "3");
	hosts_unref(reg);
	assert_int_equal(hosts_load("/nonexistent/hosts.json", NULL, NULL, &reg, err, sizeof(err)),
			 0);
	assert_int_equal(reg->n, 0);
	hosts_unref(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

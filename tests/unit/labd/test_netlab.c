/* Unit tests of netlab_out.c: inspect output (node lists, node data, the one-call device
 * data), `status --all`, and netlab's status file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fsutil.h"
#include "netlab.h"

static void test_parse_nodes(void **state)
{
	static const char obj[] =
		"{\"r2\": {\"id\": 2}, \"r10\": {\"id\": 10}, \"r1\": {\"id\": 1}}";
	static const char noid[] = "{\"b\": {}, \"a\": {}}";
	json_t *names;

	assert_int_equal(netlab_parse_nodes(obj, strlen(obj), &names), 0);
	assert_int_equal(json_array_size(names), 3);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "r1");
	assert_string_equal(json_string_value(json_array_get(names, 1)), "r2");
	assert_string_equal(json_string_value(json_array_get(names, 2)), "r10");
	json_decref(names);
	assert_int_equal(netlab_parse_nodes(noid, strlen(noid), &names), 0);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "b"); /* key order */
	json_decref(names);
	/* The original's `list(nodes.keys())` output, JSON or Python repr. */
	assert_int_equal(netlab_parse_nodes("['r1', 'r2']", 12, &names), 0);
	assert_int_equal(json_array_size(names), 2);
	json_decref(names);
	assert_int_equal(netlab_parse_nodes("[\"r1\"]", 6, &names), 0);
	json_decref(names);
	assert_int_equal(netlab_parse_nodes("[1, 2]", 6, &names), -EINVAL);
	assert_int_equal(netlab_parse_nodes("\"r1\"", 4, &names), -EINVAL);
	assert_int_equal(netlab_parse_nodes("garbage", 7, &names), -EINVAL);
	assert_int_equal(netlab_parse_nodes("", 0, &names), -EINVAL);
	assert_int_equal(netlab_parse_nodes("{\"a\":1, \"a\":2}", 14, &names), -EINVAL);
}

static void test_parse_node(void **state)
{
	json_t *node;

	assert_int_equal(netlab_parse_node("{\"mgmt\": {\"ipv4\": \"1.2.3.4\"}}", 29, &node), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(node, "mgmt"), "ipv4")),
		"1.2.3.4");
	json_decref(node);
	assert_int_equal(netlab_parse_node(" \n", 2, &node), 0); /* empty output is {} */
	assert_int_equal(json_object_size(node), 0);
	json_decref(node);
	assert_int_equal(netlab_parse_node("[]", 2, &node), -EINVAL);
	assert_int_equal(netlab_parse_node("{", 1, &node), -EINVAL);
}

#define S(lit) (lit), strlen(lit)

static void test_parse_devices_and_status(void **state)
{
	const char *all = "{\"r2\": {\"id\": 2, \"x\": 1}, \"r1\": {\"id\": 1, \"mgmt\": "
			  "{\"ipv4\": \"192.168.1.101\"}}}";
	json_t *v = NULL;

	assert_int_equal(netlab_parse_devices(all, strlen(all), &v), 0);
	assert_int_equal(json_array_size(v), 2);
	/* ordered by node id; each {"name", "raw"} with the node's own data */
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "name")), "r1");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(json_array_get(v, 0), "raw"), "mgmt"),
			"ipv4")),
		"192.168.1.101");
	json_decref(v);
	assert_int_equal(netlab_parse_devices(S("{\"r1\": 3}"), &v), -EINVAL);
	assert_int_equal(netlab_parse_devices(S("[]"), &v), -EINVAL);
	assert_int_equal(netlab_parse_status(S("{\"warning\": \"No netlab-managed labs\"}"), &v),
			 0);
	assert_int_equal(json_object_size(v), 0);
	json_decref(v);
	assert_int_equal(netlab_parse_status(S("{\"3\": {\"dir\": \"/x\"}}"), &v), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "3"), "dir")),
			    "/x");
	json_decref(v);
	assert_int_equal(netlab_parse_status(S("{\"3\": 1}"), &v), -EINVAL);
}

static void test_status_file(void **state)
{
	char dir[] = "/tmp/test-netlab-home-XXXXXX", path[256];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(netlab_status_file_has_default(dir), 0); /* no ~/.netlab at all */
	snprintf(path, sizeof(path), "%s/.netlab", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.netlab/status.yaml", dir);
	f = fopen(path, "w");
	fputs("12:\n  dir: /tmp/a\n  status: started\n  log:\n  - 'x: default'\n", f);
	fclose(f);
	assert_int_equal(netlab_status_file_has_default(dir), 0); /* "default" only as a value */
	f = fopen(path, "w");
	fputs("12:\n  dir: /tmp/a\ndefault:\n  dir: /tmp/b\n", f);
	fclose(f);
	assert_int_equal(netlab_status_file_has_default(dir), 1);
	f = fopen(path, "w");
	fputs("x: [unclosed\ndefault: 1\n", f);
	fclose(f);
	assert_true(netlab_status_file_has_default(dir) <
		    0); /* unreadable: the caller tears down */
	assert_int_equal(fs_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_nodes),
		cmocka_unit_test(test_parse_node),
		cmocka_unit_test(test_parse_devices_and_status),
		cmocka_unit_test(test_status_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* netlab's output formats: inspect JSON (and the Python list repr the original parsed), the
 * status registry as JSON and as its YAML file. Parsing only; fuzzed (fuzz_labd_netlab). */
#include "netlab.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "common/buf.h"
#include "common/lock.h"
#include "common/xmalloc.h"

/* Turn a Python list repr (['r1', 'r2']) into JSON text; NULL when it is not one. */
static char *netlab_pylist_to_json(const char *s, size_t len)
{
	struct buf b;
	size_t i;
	char quote = 0;

	buf_init(&b, len + 16);
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (quote) {
			if (c == '\\' && i + 1 < len) {
				if (buf_append(&b, &s[i], 2) < 0)
					goto fail;
				i++;
				continue;
			}
			if (c == quote) {
				quote = 0;
				c = '"';
			} else if (c == '"') {
				if (buf_append(&b, "\\", 1) < 0)
					goto fail;
			}
		} else if (c == '\'') {
			quote = c;
			c = '"';
		}
		if (buf_append(&b, &c, 1) < 0)
			goto fail;
	}
	return buf_steal(&b, NULL);
fail:
	buf_free(&b);
	return NULL;
}

struct netlab_node_order {
	const char *name;
	json_int_t id;
	size_t pos;
};

static int netlab_node_cmp(const void *a, const void *b)
{
	const struct netlab_node_order *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

/* Sort node names by their `id`, then by the order netlab printed them (by name). */
static json_t *netlab_order_nodes(json_t *obj)
{
	struct netlab_node_order *order;
	const char *key;
	json_t *node, *names = json_array();
	size_t n = 0, i;

	order = xcalloc(json_object_size(obj) + 1, sizeof(*order));
	json_object_foreach (obj, key, node) {
		json_t *id = json_is_object(node) ? json_object_get(node, "id") : NULL;

		order[n].name = key;
		order[n].id = json_is_integer(id) ? json_integer_value(id) : LLONG_MAX;
		order[n].pos = n;
		n++;
	}
	qsort(order, n, sizeof(*order), netlab_node_cmp);
	for (i = 0; i < n; i++)
		json_array_append_new(names, json_string(order[i].name));
	free(order);
	return names;
}

int netlab_parse_nodes(const char *out, size_t len, json_t **ret_names)
{
	json_error_t err;
	json_t *v, *names = NULL;
	int r = -EINVAL;

	v = json_loadb(out, len, JSON_REJECT_DUPLICATES, &err);
	if (v == NULL && len > 0 && out[0] == '[') {
		char *conv = netlab_pylist_to_json(out, len);

		if (conv != NULL)
			v = json_loads(conv, JSON_REJECT_DUPLICATES, &err);
		free(conv);
	}
	if (v == NULL)
		return -EINVAL;
	if (json_is_object(v)) {
		names = netlab_order_nodes(v);
		r = 0;
	} else if (json_is_array(v)) {
		size_t i;
		json_t *item;

		names = json_array();
		r = 0;
		json_array_foreach (v, i, item) {
			if (!json_is_string(item)) {
				r = -EINVAL;
				break;
			}
			json_array_append(names, item);
		}
	}
	json_decref(v);
	if (r < 0) {
		json_decref(names);
		return r;
	}
	*ret_names = names;
	return 0;
}

int netlab_parse_node(const char *out, size_t len, json_t **ret_node)
{
	json_error_t err;
	json_t *v;
	size_t i;

	for (i = 0;
	     i < len && (out[i] == ' ' || out[i] == '\n' || out[i] == '\r' || out[i] == '\t'); i++)
		;
	if (i == len) {
		*ret_node = json_object();
		return 0;
	}
	v = json_loadb(out, len, 0, &err);
	if (v == NULL || !json_is_object(v)) {
		json_decref(v);
		return -EINVAL;
	}
	*ret_node = v;
	return 0;
}

int netlab_parse_devices(const char *out, size_t len, json_t **ret_devices)
{
	json_error_t err;
	json_t *v, *names, *devices, *name;
	size_t i;

	v = json_loadb(out, len, JSON_REJECT_DUPLICATES, &err);
	if (v == NULL || !json_is_object(v)) {
		json_decref(v);
		return -EINVAL;
	}
	names = netlab_order_nodes(v);
	devices = json_array();
	json_array_foreach (names, i, name) {
		json_t *raw = json_object_get(v, json_string_value(name));

		if (!json_is_object(raw)) {
			json_decref(devices);
			devices = NULL;
			break;
		}
		json_array_append_new(devices, json_pack("{s:O, s:O}", "name", name, "raw", raw));
	}
	json_decref(names);
	json_decref(v);
	if (devices == NULL)
		return -EINVAL;
	*ret_devices = devices;
	return 0;
}

int netlab_parse_status(const char *out, size_t len, json_t **ret_status)
{
	json_error_t err;
	json_t *v = json_loadb(out, len, JSON_REJECT_DUPLICATES, &err), *entry;
	const char *key;

	if (v == NULL || !json_is_object(v)) {
		json_decref(v);
		return -EINVAL;
	}
	if (json_object_size(v) == 1 && json_is_string(json_object_get(v, "warning"))) {
		/* {"warning": "No netlab-managed labs"} */
		json_object_clear(v);
	}
	json_object_foreach (v, key, entry) {
		if (!json_is_object(entry)) {
			json_decref(v);
			return -EINVAL;
		}
	}
	*ret_status = v;
	return 0;
}

/* The status file is a YAML mapping keyed by instance id; we only need its top-level keys. */
#define NETLAB_STATUS_FILE_MAX (4 << 20)

int netlab_status_file_has_default(const char *home)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	char path[PATH_MAX];
	FILE *f;
	int depth = 0, r = 0, tries, lock_fd = -1;
	bool key_next = true, done = false;
	long size;

	if (home == NULL || home[0] == '\0')
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s/.netlab/status.yaml.lock", home) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	/* netlab rewrites the file in place under this lock (python filelock): read it under the
	 * lock too, waiting a little for a writer (each holds it for milliseconds). */
	for (tries = 0; (r = lock_try(path, &lock_fd)) == -EWOULDBLOCK && tries < 20; tries++)
		usleep(10000);
	if (r < 0 && r != -ENOENT)
		return r;
	path[strlen(path) - strlen(".lock")] = '\0';
	f = fopen(path, "re");
	if (f == NULL) {
		r = errno == ENOENT ? 0 : -errno;
		lock_release(lock_fd);
		return r;
	}
	r = 0;
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || size > NETLAB_STATUS_FILE_MAX ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		lock_release(lock_fd);
		return -EFBIG;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		lock_release(lock_fd);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			r = -EBADMSG;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			/* a top-level value that is a collection: skip it as a whole */
			if (depth == 1)
				key_next = true;
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			if (depth == 1) {
				if (key_next &&
				    strcmp((const char *)ev.data.scalar.value, "default") == 0) {
					r = 1;
					done = true;
				}
				key_next = !key_next;
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	lock_release(lock_fd);
	return r;
}

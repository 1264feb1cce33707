/* Lab request internals: the in-memory files and the multipart builder. */
#ifndef RL_CLIENT_FORM_H
#define RL_CLIENT_FORM_H

#include "internal.h"

struct form_file {
	char *name; /* upload name: basename for the topology, relative path for extras */
	char *data;
	size_t len;
};

struct rl_lab_request {
	struct form_file topo;
	struct form_file *extras;
	size_t n_extras;
	size_t total;
	bool reuse;
};

int form_check_name(const char *name);
int form_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);
int form_build(CURL *easy, const struct rl_lab_request *req, curl_mime **ret);

#endif

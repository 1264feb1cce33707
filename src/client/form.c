/* Lab requests: files loaded into memory once, upload-name checks, multipart form building. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "form.h"

#include <openssl/sha.h>

/* Check an upload name: a non-empty relative path without "", "." or ".." components
 * and without control characters or quotes. 0 or -EINVAL. */
int form_check_name(const char *name)
{
	const char *p, *seg;
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '/' || strlen(name) > 1024)
		return -EINVAL;
	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return -EINVAL;
	seg = name;
	for (;;) {
		p = strchr(seg, '/');
		n = p != NULL ? (size_t)(p - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return -EINVAL;
		if (p == NULL)
			return 0;
		seg = p + 1;
	}
}

/* Read a regular file completely, at most max bytes. */
int form_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	struct buf b;
	struct stat st;
	char chunk[65536];
	ssize_t n;
	int fd, r;

	buf_init(&b, max);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	r = 0;
	while (r == 0) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = buf_try_append(&b, chunk, (size_t)n);
		if (r == -E2BIG) /* the file grew past max after fstat */
			r = -EFBIG;
	}
	if (r == 0) /* allocates for an empty file: *ret_data is never NULL */
		r = buf_try_steal(&b, ret_data, ret_len);
out:
	close(fd);
	buf_free(&b);
	return r;
}

/* Last path component, for the topology's upload name. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Describe a file error in the client. */
static int file_error(struct rl_client *c, int r, const char *path, size_t max)
{
	if (r == -EFBIG)
		return client_set_error(c, r, 0, "read", "%s: uploads together exceed %zu bytes",
					path, max);
	return client_set_error(c, r, 0, "read", "%s: %s", path, strerror(-r));
}

/* What may still be read: RL_PARAM_MAX_UPLOAD minus what the request holds. */
static size_t budget(const struct rl_client *c, const struct rl_lab_request *req)
{
	size_t max = (size_t)c->params[RL_PARAM_MAX_UPLOAD];

	return req->total >= max ? 0 : max - req->total;
}

int rl_lab_request_new(struct rl_client *c, const char *topology_path, struct rl_lab_request **ret)
{
	struct rl_lab_request *req;
	int r;

	client_clear_error(c);
	if (topology_path == NULL || ret == NULL)
		return client_set_error(c, -EINVAL, 0, "read", "no topology file");
	if (form_check_name(base_name(topology_path)) < 0)
		return client_set_error(c, -EINVAL, 0, "read", "%s: not a usable file name",
					topology_path);
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return client_set_error(c, -ENOMEM, 0, "read", "out of memory");
	req->topo.name = strdup(base_name(topology_path));
	if (req->topo.name == NULL) {
		rl_lab_request_free(req);
		return client_set_error(c, -ENOMEM, 0, "read", "out of memory");
	}
	r = form_read_file(topology_path, budget(c, req), &req->topo.data, &req->topo.len);
	if (r < 0) {
		rl_lab_request_free(req);
		return file_error(c, r, topology_path, (size_t)c->params[RL_PARAM_MAX_UPLOAD]);
	}
	req->total = req->topo.len;
	*ret = req;
	return 0;
}

int rl_lab_request_add_file(struct rl_client *c, struct rl_lab_request *req, const char *path,
			    const char *name)
{
	struct form_file *n, f = { NULL, NULL, 0 };
	int r;

	client_clear_error(c);
	if (req == NULL || path == NULL)
		return client_set_error(c, -EINVAL, 0, "read", "no file");
	if (name == NULL)
		name = path;
	if (form_check_name(name) < 0)
		return client_set_error(c, -EINVAL, 0, "read",
					"'%s': upload name must be a relative path without '..'",
					name);
	if (req->n_extras >= RL_MAX_EXTRA_FILES)
		return client_set_error(c, -E2BIG, 0, "read", "too many extra files");
	f.name = strdup(name);
	if (f.name == NULL)
		return client_set_error(c, -ENOMEM, 0, "read", "out of memory");
	r = form_read_file(path, budget(c, req), &f.data, &f.len);
	if (r < 0) {
		free(f.name);
		return file_error(c, r, path, (size_t)c->params[RL_PARAM_MAX_UPLOAD]);
	}
	n = realloc(req->extras, (req->n_extras + 1) * sizeof(*n));
	if (n == NULL) {
		free(f.name);
		free(f.data);
		return client_set_error(c, -ENOMEM, 0, "read", "out of memory");
	}
	req->extras = n;
	req->extras[req->n_extras++] = f;
	req->total += f.len;
	return 0;
}

void rl_lab_request_set_reuse(struct rl_lab_request *req, bool reuse)
{
	req->reuse = reuse;
}

void rl_lab_request_free(struct rl_lab_request *req)
{
	size_t i;

	if (req == NULL)
		return;
	free(req->topo.name);
	free(req->topo.data);
	for (i = 0; i < req->n_extras; i++) {
		free(req->extras[i].name);
		free(req->extras[i].data);
	}
	free(req->extras);
	free(req);
}

struct cursor {
	const char *data;
	size_t len, pos;
};

/* Mime read callback over an in-memory file. */
static size_t cursor_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct cursor *cur = arg;
	size_t n = size * nitems;

	if (n > cur->len - cur->pos)
		n = cur->len - cur->pos;
	memcpy(buf, cur->data + cur->pos, n);
	cur->pos += n;
	return n;
}

/* Mime seek callback: curl rewinds when it has to send the body again. */
static int cursor_seek(void *arg, curl_off_t offset, int origin)
{
	struct cursor *cur = arg;
	curl_off_t base = origin == SEEK_CUR   ? (curl_off_t)cur->pos
			  : origin == SEEK_END ? (curl_off_t)cur->len
					       : 0;

	if (base + offset < 0 || base + offset > (curl_off_t)cur->len)
		return CURL_SEEKFUNC_FAIL;
	cur->pos = (size_t)(base + offset);
	return CURL_SEEKFUNC_OK;
}

/* One file part, read from memory from its first byte. */
static int add_file_part(curl_mime *mime, const char *field, const struct form_file *f,
			 const char *type)
{
	curl_mimepart *part;
	struct cursor *cur;

	part = curl_mime_addpart(mime);
	if (part == NULL)
		return -ENOMEM;
	cur = malloc(sizeof(*cur));
	if (cur == NULL)
		return -ENOMEM;
	cur->data = f->data;
	cur->len = f->len;
	cur->pos = 0;
	if (curl_mime_data_cb(part, (curl_off_t)f->len, cursor_read, cursor_seek, free, cur) !=
	    CURLE_OK) {
		free(cur);
		return -ENOMEM;
	}
	if (curl_mime_name(part, field) != CURLE_OK ||
	    curl_mime_filename(part, f->name) != CURLE_OK || curl_mime_type(part, type) != CURLE_OK)
		return -ENOMEM;
	return 0;
}

/*
 * The multipart body for POST /lab: part "topology" (basename, application/x-yaml),
 * field "reuse" ("true"/"false"), one "extra_files" part per extra file named by
 * its relative path. Every call starts every file from its first byte.
 */
int form_build(CURL *easy, const struct rl_lab_request *req, curl_mime **ret)
{
	curl_mimepart *part;
	curl_mime *mime;
	size_t i;
	int r;

	mime = curl_mime_init(easy);
	if (mime == NULL)
		return -ENOMEM;
	r = add_file_part(mime, "topology", &req->topo, "application/x-yaml");
	if (r < 0)
		goto fail;
	part = curl_mime_addpart(mime);
	if (part == NULL || curl_mime_name(part, "reuse") != CURLE_OK ||
	    curl_mime_data(part, req->reuse ? "true" : "false", CURL_ZERO_TERMINATED) != CURLE_OK) {
		r = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < req->n_extras; i++) {
		r = add_file_part(mime, "extra_files", &req->extras[i], "application/octet-stream");
		if (r < 0)
			goto fail;
	}
	*ret = mime;
	return 0;
fail:
	curl_mime_free(mime);
	return r;
}

int rl_client_prefer_warm(struct rl_client *c, const struct rl_lab_request *req)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	if (c == NULL)
		return -EINVAL;
	c->warm_hash[0] = '\0';
	if (req == NULL)
		return 0;
	/* the server hashes the topology's bytes only (not its name, not the extra files) */
	if (SHA256((const unsigned char *)req->topo.data, req->topo.len, md) == NULL)
		return -ENOMEM;
	for (i = 0; i < sizeof(md); i++)
		snprintf(c->warm_hash + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* POST /lab multipart parts -> a safe upload directory tree, with limits and the topology hash. */
#ifndef RL_LABD_UPLOADS_H
#define RL_LABD_UPLOADS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/http.h"

#define UPLOAD_PATH_MAX 1024
#define UPLOAD_DEPTH_MAX 16
#define UPLOAD_FIELD_MAX 64

struct upload_limits {
	uint64_t file_max;  /* bytes per file */
	uint64_t total_max; /* bytes of all files */
	unsigned files_max; /* number of file parts */
};

enum upload_part_kind {
	UPLOAD_PART_NONE,
	UPLOAD_PART_TOPOLOGY,
	UPLOAD_PART_EXTRA,
	UPLOAD_PART_REUSE,
	UPLOAD_PART_IGNORED,
};

struct upload {
	struct upload_limits limits;
	char *tmpdir;
	char *dir; /* <tmp>/remote_netlab_upload_XXXXXXXX, created on first file */
	bool dry;  /* validate the form only; write nothing */

	bool topology_seen;
	bool topology_plain; /* sent as a plain field, not a file */
	char *topology_name; /* file name as sent */
	char *topology_path; /* <dir>/<name> */
	bool topology_bad_suffix;
	char hash[65]; /* SHA-256 hex of the topology bytes */
	void *md;      /* EVP_MD_CTX while the topology streams in */

	bool reuse_seen;
	char reuse_value[UPLOAD_FIELD_MAX + 1];

	char **extras; /* relative paths, in order */
	size_t n_extras;
	int extra_plain_index; /* index of the first extra_files sent as plain field, or -1 */

	enum upload_part_kind cur;
	char *cur_path; /* file being written */
	int fd;
	uint64_t cur_size;
	uint64_t total;
	unsigned files;

	unsigned err_status; /* first non-validation error (400/413/500) */
	char err_detail[UPLOAD_PATH_MAX + 128];
};

void upload_init(struct upload *u, const char *tmpdir, const struct upload_limits *limits,
		 bool dry);
/* Feed one chunk of one form part. 0, or a negative errno when the rest may be ignored. */
int upload_part(struct upload *u, const struct http_form_part *part);
/* The body is complete: close the current file and finish the hash. */
void upload_finish(struct upload *u);
/* FastAPI-style 422 items for the form (an array, possibly empty; new reference). */
json_t *upload_validation_errors(const struct upload *u);
/* After validation passed: 0 and *ret_reuse, or an HTTP status (400/413/500) with
 * *ret_detail set (borrowed). */
unsigned upload_check(const struct upload *u, bool *ret_reuse, const char **ret_detail);
/* Copy the topology and the extra files (relative paths kept) into workdir. */
int upload_install(const struct upload *u, const char *workdir);
/* Remove the upload directory (if any) and forget it. */
void upload_remove(struct upload *u);
/* Free memory; removes nothing on disk. Accepts NULL. */
void upload_free(struct upload *u);

/* An upload made from a topology file on the server's disk (--prewarm): the same checks
 * and hash as a POST /lab topology. 0, or negative errno (-EINVAL for a bad file). */
int upload_from_file(struct upload *u, const char *tmpdir, const struct upload_limits *limits,
		     const char *path);
/* SHA-256 (hex) of a file of at most max bytes. */
int upload_hash_file(const char *path, uint64_t max, char ret[65]);

/* Is this a safe relative path for an extra file? 0, or -EINVAL with a reason. */
int upload_check_relpath(const char *path, char *why, size_t whylen);

#endif

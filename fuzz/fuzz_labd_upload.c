/* Fuzz target: POST /lab form parts (names, file names, chunking) through the upload module.
 * Input: records of "name\0filename\0data\0" (filename "-" means a plain field); parts are
 * fed in dry mode (validation only), then the same names go through upload_check_relpath. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "uploads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct upload_limits lim = { .file_max = 64, .total_max = 256, .files_max = 8 };
	const char *p = (const char *)data, *end = p + size;
	const char *detail = NULL;
	struct upload u;
	char why[128];
	bool reuse;
	json_t *errs;

	upload_init(&u, "/nonexistent-fuzz-dir", &lim, true);
	while (p < end) {
		const char *name = p, *fn, *body;
		size_t n;
		struct http_form_part part = { 0 };

		fn = memchr(name, '\0', (size_t)(end - name));
		if (fn == NULL)
			break;
		fn++;
		body = memchr(fn, '\0', (size_t)(end - fn));
		if (body == NULL)
			break;
		body++;
		n = strnlen(body, (size_t)(end - body));
		part.name = name;
		part.filename = strcmp(fn, "-") == 0 ? NULL : fn;
		part.data = body;
		/* two chunks per part, like a streamed upload */
		part.len = n / 2;
		part.offset = 0;
		(void)upload_part(&u, &part);
		part.data = body + n / 2;
		part.len = n - n / 2;
		part.offset = n / 2;
		(void)upload_part(&u, &part);
		if (part.filename != NULL)
			(void)upload_check_relpath(part.filename, why, sizeof(why));
		p = body + n + 1;
	}
	upload_finish(&u);
	errs = upload_validation_errors(&u);
	json_decref(errs);
	(void)upload_check(&u, &reuse, &detail);
	upload_free(&u);
	return 0;
}

/* The status page's files, embedded in the binary at build time (embed.cmake generates the
 * table from the files in this folder). */
#ifndef RL_LABD_UI_ASSETS_H
#define RL_LABD_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
	const char *name;         /* "index.html", "app.js": its file name here */
	const char *content_type;
	const unsigned char *data; /* len bytes, then a NUL */
	size_t len;
	const char *etag;         /* quoted: "\"0123456789abcdef\"" (SHA-256 prefix) */
};

extern const struct ui_asset ui_assets[];
extern const size_t ui_assets_n;

#endif

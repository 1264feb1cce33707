/* The status page's files, embedded in the binary at build time (rl_embed in
 * src/labd/CMakeLists.txt; the table is ui_assets.c). */
#ifndef RL_LABD_UI_ASSETS_H
#define RL_LABD_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
	const char *name; /* "index.html", "app.js": its file name here */
	const char *content_type;
	const char *data; /* *len bytes, then a NUL */
	const size_t *len;
	const char *sha256; /* hex; the ETag is its first 16 digits, quoted */
};

extern const struct ui_asset ui_assets[];
extern const size_t ui_assets_n;

#endif

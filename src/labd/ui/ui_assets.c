/* The status page's files: what rl_embed (cmake/embed.cmake) built into the binary, with the
 * content type each is served with. A new file here also goes into LABD_UI_FILES in
 * src/labd/CMakeLists.txt. */
#include "ui/ui_assets.h"

#define UI_EMBEDDED(sym)                         \
	extern const char sym[], sym##_sha256[]; \
	extern const size_t sym##_len

UI_EMBEDDED(labd_ui_index_html);
UI_EMBEDDED(labd_ui_app_js);
UI_EMBEDDED(labd_ui_app_css);

#define UI_ASSET(name, type, sym)                         \
	{                                                 \
		name, type, sym, &sym##_len, sym##_sha256 \
	}

const struct ui_asset ui_assets[] = {
	UI_ASSET("index.html", "text/html; charset=utf-8", labd_ui_index_html),
	UI_ASSET("app.js", "text/javascript; charset=utf-8", labd_ui_app_js),
	UI_ASSET("app.css", "text/css; charset=utf-8", labd_ui_app_css),
};
const size_t ui_assets_n = sizeof(ui_assets) / sizeof(ui_assets[0]);

/* The status page: GET /ui, its files at GET /ui/{asset} (src/labd/ui, embedded at build
 * time), and GET / for a browser whose Accept prefers HTML. Static files only, no data and no
 * secrets: the page reads the JSON views and GET /events itself. Every other request to /
 * with a usual method (the route table sends GET, HEAD, POST, PUT, DELETE, PATCH and OPTIONS
 * here) gets the original's answer, 404 {"detail": "Not Found"}. */
#define LOG_COMPONENT LABD_LOGGER
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "ui/ui_assets.h"
#include "ui_neg.h"

/* The page loads nothing but its own files and talks only to this server; nobody frames it. */
#define API_UI_CSP                                                                        \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct ui_asset *api_ui_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < ui_assets_n; i++)
		if (strcmp(ui_assets[i].name, name) == 0)
			return &ui_assets[i];
	return NULL;
}

/* One embedded file: revalidated on every load (no-cache with an ETag; 304 when the browser
 * has this version), never content-sniffed. vary: the answer depended on Accept. */
static void api_ui_send(struct http_request *req, const struct ui_asset *a, bool vary)
{
	char etag[20];

	snprintf(etag, sizeof(etag), "\"%.16s\"", a->sha256);
	http_response_header(req, "ETag", etag);
	http_response_header(req, "Cache-Control", "no-cache");
	http_response_header(req, "X-Content-Type-Options", "nosniff");
	if (vary)
		http_response_header(req, "Vary", "Accept");
	if (strncmp(a->content_type, "text/html", 9) == 0) {
		http_response_header(req, "Content-Security-Policy", API_UI_CSP);
		http_response_header(req, "Referrer-Policy", "no-referrer");
	}
	if (ui_neg_etag_match(http_request_header(req, "If-None-Match"), etag))
		http_respond_empty(req, 304);
	else
		http_respond(req, 200, a->content_type, a->data, *a->len);
}

void api_ui_page(struct http_request *req)
{
	api_ui_send(req, api_ui_find("index.html"), false);
}

void api_ui_asset(struct http_request *req)
{
	const struct ui_asset *a = api_ui_find(http_request_param(req, "asset"));

	/* The page itself only at /ui (and /): its relative links resolve from there. */
	if (a == NULL || strcmp(a->name, "index.html") == 0)
		api_detail(req, 404, "Not Found");
	else
		api_ui_send(req, a, false);
}

void api_ui_root(struct http_request *req)
{
	const char *method = http_request_method(req);

	if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
	    ui_neg_prefers_html(http_request_header(req, "Accept")))
		api_ui_send(req, api_ui_find("index.html"), true);
	else
		api_detail(req, 404, "Not Found"); /* what the router answers for an unknown path */
}

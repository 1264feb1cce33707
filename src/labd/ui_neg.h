/* HTTP negotiation for the status page: does an Accept header prefer HTML, does an
 * If-None-Match header name an ETag. Pure (no I/O); unit-tested and fuzzed. */
#ifndef RL_LABD_UI_NEG_H
#define RL_LABD_UI_NEG_H

#include <stdbool.h>

/* True when accept (NULL: absent) names text/html or application/xhtml+xml with a quality
 * above 0 and above application/json's (equal qualities: whichever is listed first).
 * Wildcard ranges prefer nothing: curl, requests and most HTTP libraries send "star/star"
 * and keep the JSON answers. Items with a malformed q= are ignored. */
bool ui_neg_prefers_html(const char *accept);
/* True when if_none_match (NULL: absent) is "*" or lists etag (a quoted entity tag, e.g.
 * "\"0123abcd\""), weakly compared (a W/ prefix is ignored). */
bool ui_neg_etag_match(const char *if_none_match, const char *etag);

#endif

/* Operators' actions, only with --admin-token-file (Authorization: Bearer <token>): drain and
 * undrain the host, end a session by its public handle, force-destroy a slot's lab. Each is
 * logged with who asked and what was done. Without the option the routes do not exist (404). */
#define LOG_COMPONENT LABD_LOGGER
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"
#include "common/log.h"
#include "common/strutil.h"
#include "labd.h"
#include "labops.h"

/* "127.0.0.1 (labctl/1.1.0)": who asked, for the log. */
static void api_admin_who(struct http_request *req, char *out, size_t len)
{
	const struct sockaddr *sa = http_request_peer(req);
	const char *ua = http_request_header(req, "User-Agent");
	char addr[INET6_ADDRSTRLEN] = "?";

	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr,
			  sizeof(addr));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  addr, sizeof(addr));
	snprintf(out, len, "%s (%.64s)", addr, ua ? ua : "no user agent");
}

/* The admin gate: 404 when admin actions are off, 401 without the right bearer token. True
 * when the request may go on. */
static bool api_admin_gate(struct http_request *req, char *who, size_t wholen)
{
	struct labd *d = api_labd(req);
	const char *h = http_request_header(req, "Authorization");

	if (d->admin.token == NULL) {
		api_detail(req, 404, "Not Found");
		return false;
	}
	api_admin_who(req, who, wholen);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 ||
	    !str_equal_ct(h + 7, d->admin.token)) {
		log_warn("Admin request %s %s refused: %s token from %s", http_request_method(req),
			 http_request_path(req), h ? "wrong" : "no", who);
		http_response_header(req, "WWW-Authenticate", "Bearer");
		api_detail(req, 401, "Not authenticated");
		return false;
	}
	return true;
}

static void api_admin_set_drain(struct http_request *req, bool on)
{
	struct labd *d = api_labd(req);
	char who[160];

	if (!api_admin_gate(req, who, sizeof(who)))
		return;
	log_warn("Admin %s by %s: %s", on ? "drain" : "undrain", who,
		 on ? "no new promotions; running sessions finish"
		    : "promoting waiting sessions again");
	labd_set_draining(d, on);
	http_respond_empty(req, 204);
}

void api_admin_drain(struct http_request *req)
{
	api_admin_set_drain(req, true);
}

void api_admin_undrain(struct http_request *req)
{
	api_admin_set_drain(req, false);
}

static void api_admin_on_session_ended(struct labd *d, void *userdata)
{
	http_respond_empty(userdata, 204);
}

void api_admin_end_session(struct http_request *req)
{
	struct labd *d = api_labd(req);
	const char *handle = http_request_param(req, "handle");
	struct session *s;
	char who[160], sid[9];

	if (!api_admin_gate(req, who, sizeof(who)))
		return;
	s = sessions_find_handle(&d->sessions, handle);
	if (s == NULL) {
		api_detail(req, 404, "Session not found");
		return;
	}
	log_warn("Admin end of session %s (%s, %s) by %s", labd_sid8(s->id, sid), s->handle,
		 session_state_name(s->state), who);
	labd_session_end(d, s, SESSION_END_ADMIN, "admin-end", api_admin_on_session_ended, req);
}

static void api_admin_on_destroyed(struct labd *d, const struct labop_result *res, void *userdata)
{
	struct http_request *req = userdata;

	if (res->outcome == LABOP_OK)
		http_respond_empty(req, 202);
	else if (res->outcome == LABOP_NO_LAB)
		api_detail(req, 404, "No lab in this slot");
	else if (res->outcome == LABOP_SHUTDOWN)
		api_detail(req, 503, "Server is shutting down");
	else if (res->error != NULL)
		http_respond_json(req, 500, json_incref(res->error));
	else
		api_detail(req, 500, "Lab teardown failed");
}

void api_admin_destroy_lab(struct http_request *req)
{
	struct labd *d = api_labd(req);
	const char *v = http_request_param(req, "slot");
	char who[160], tag[48];
	uint64_t slot;

	if (!api_admin_gate(req, who, sizeof(who)))
		return;
	if (parse_u64(v, 0, SLOTS_MAX - 1, &slot) < 0 || slot >= d->slots.n) {
		api_detail(req, 404, "No lab in this slot");
		return;
	}
	log_warn("Admin force-destroy of slot %u (%s, %s) by %s", (unsigned)slot,
		 lab_state_name(d->slots.labs[slot].state),
		 d->slots.labs[slot].name ? d->slots.labs[slot].name : "no lab", who);
	snprintf(tag, sizeof(tag), "%.40s", who);
	tag[strcspn(tag, " ")] = '\0'; /* the address: the teardown reason is one word */
	labops_destroy_slot(d->ops, (unsigned)slot, tag, api_admin_on_destroyed, req);
}

/* Operators' calls (servers started with --admin-token-file): drain, end a session, destroy a lab. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* An admin call whose success is status ok. */
static int admin_call(struct rl_client *c, const char *method, const char *path, const char *op,
		      long ok)
{
	struct call call = { method, path, op, CALL_ADMIN, NULL, NULL, 0, 0 };
	struct xfer_resp resp;
	int r;

	if (strcmp(method, "DELETE") == 0)
		call.flags |= CALL_IDEMPOTENT;
	xfer_resp_init(&resp);
	r = client_call(c, &call, &resp);
	if (r == 0 && resp.status != ok && resp.status != 200 && resp.status != 204)
		r = client_http_error(c, op, &resp);
	xfer_resp_free(&resp);
	return r;
}

int rl_admin_drain(struct rl_client *c, bool on)
{
	client_clear_error(c);
	return on ? admin_call(c, "POST", "/admin/drain", "POST /admin/drain", 204)
		  : admin_call(c, "POST", "/admin/undrain", "POST /admin/undrain", 204);
}

int rl_admin_end_session(struct rl_client *c, const char *handle)
{
	char path[256], *esc;
	int n;

	client_clear_error(c);
	if (handle == NULL || handle[0] == '\0' || strlen(handle) > 128)
		return client_set_error(c, -EINVAL, 0, "DELETE /admin/sessions", "invalid handle");
	esc = xfer_escape(handle);
	if (esc == NULL)
		return client_set_error(c, -ENOMEM, 0, "DELETE /admin/sessions", "out of memory");
	n = snprintf(path, sizeof(path), "/admin/sessions/%s", esc);
	curl_free(esc);
	if (n < 0 || (size_t)n >= sizeof(path))
		return client_set_error(c, -EINVAL, 0, "DELETE /admin/sessions", "handle too long");
	return admin_call(c, "DELETE", path, "DELETE /admin/sessions", 204);
}

int rl_admin_destroy_lab(struct rl_client *c, long slot)
{
	char path[64];

	client_clear_error(c);
	if (slot < 0)
		return client_set_error(c, -EINVAL, 0, "DELETE /admin/labs", "invalid slot %ld",
					slot);
	snprintf(path, sizeof(path), "/admin/labs/%ld", slot);
	return admin_call(c, "DELETE", path, "DELETE /admin/labs", 202);
}

/* Lab operations: acquire and teardown run as netlab steps under the lab lock, one at a time. */
#ifndef RL_LABD_LABOPS_H
#define RL_LABD_LABOPS_H

#include <stdbool.h>

#include <jansson.h>

#include "common/http.h"
#include "uploads.h"

struct labd;
struct labops;

/* err is 0 or negative errno; error (may be NULL) describes a netlab failure (borrowed). */
typedef void (*labops_done_fn)(struct labd *d, int err, json_t *error, void *userdata);

struct labops *labops_new(struct labd *d);
/* Cancels what is queued, kills what runs. Accepts NULL. */
void labops_free(struct labops *ops);

/* Acquire a lab for the ACTIVE session session_id from an upload (ownership taken) and
 * answer req: 200 {"reused", "devices"}, 423 busy, 500 with a JSON error on netlab failure. */
void labops_acquire(struct labops *ops, struct http_request *req, const char *session_id,
		    struct upload *upload, bool reuse);
/* Tear the current lab down (no-op without one); `done` runs afterwards. */
void labops_teardown(struct labops *ops, const char *reason, labops_done_fn done,
		     void *userdata);
/* `netlab down --instance default --cleanup` at startup (failure is normal). */
void labops_startup_cleanup(struct labops *ops);
/* Nothing queued or running. */
bool labops_idle(const struct labops *ops);
/* Shutdown: queued acquires get 503, a running netlab step is interrupted (its cleanup still
 * runs). Teardowns stay queued. */
void labops_cancel(struct labops *ops);

#endif

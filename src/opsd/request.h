/* Request validation for the API routes: pure functions from a JSON body to typed fields. */
#ifndef RL_OPSD_REQUEST_H
#define RL_OPSD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct opsd_config;
struct host_registry;

#define REQUEST_ID_MAX 128   /* reservation_operations.reservation_id VARCHAR(128) */
#define REQUEST_NAME_MAX 128 /* host names */
#define REQUEST_STR_MAX 1024 /* other free strings (targets, transport, users) */
#define REQUEST_ERR_MAX 256

/* POST /api/wol */
struct req_wol {
	char *host;      /* NULL when absent */
	char *mac;       /* NULL: take the host's */
	char *broadcast; /* NULL: 255.255.255.255 */
	unsigned port;
	char *ping_target; /* NULL: the host's ping_target, then address */
	double ping_timeout;
	unsigned attempts;
};

/* POST /api/winrm */
struct req_winrm {
	char *host;
	char *command;
	char **args; /* NULL-terminated */
	size_t nargs;
	char *user; /* overrides, NULL when absent */
	char *password;
	char *transport;
	bool use_ssl;
	unsigned port; /* 0: host's, then default */
};

/* POST /api/heartbeat/poll */
struct req_poll {
	char *host;
	bool include_events;
};

/* POST /api/hosts/quarantine */
struct req_quarantine {
	char *host;
	bool quarantined;
};

/* wakeOptions of a reservation start: a value is used only when present and truthy. */
struct req_wake_opts {
	char *mac;
	char *ping_target;
	bool has_attempts;
	unsigned attempts;
	bool has_timeout;
	double timeout;
	char *broadcast;
	bool has_port;
	unsigned port;
};

/* POST /api/reservations/start and /end */
struct req_resv {
	bool is_start;
	char *reservation_id;
	char *host;
	char *lab_id; /* NULL when absent */
	/* start */
	bool wake;
	struct req_wake_opts wake_opts;
	bool prepare;
	char **prepare_args;
	size_t n_prepare;
	/* end */
	bool release;
	char **release_args;
	size_t n_release;
	bool power;
	char *power_mode;
	char **power_args;
	size_t n_power;
};

/* GET /api/reservations/timeline */
struct req_timeline {
	char *reservation_id;
	long limit;
	long offset;
};

/*
 * Each parser returns 0, or an HTTP status (400) with the error text in err. body is the
 * request object (never NULL). They look nothing up: host existence (404) is the
 * route's business.
 */
/* Fills mac and ping_target from the host named in the body when reg knows it; the
 * original checks "mac is required" before any number. */
unsigned request_wol(const json_t *body, const struct host_registry *reg, struct req_wol *ret,
		     char *err, size_t errlen);
unsigned request_winrm(const json_t *body, const struct opsd_config *cfg, struct req_winrm *ret,
		       char *err, size_t errlen);
unsigned request_poll(const json_t *body, struct req_poll *ret, char *err, size_t errlen);
unsigned request_quarantine(const json_t *body, struct req_quarantine *ret, char *err,
			    size_t errlen);
unsigned request_resv(const json_t *body, bool is_start, struct req_resv *ret, char *err,
		      size_t errlen);
/* Query values (NULL when absent). */
unsigned request_timeline(const char *reservation_id, const char *reservation_id_alias,
			  const char *limit, const char *offset, const struct opsd_config *cfg,
			  struct req_timeline *ret, char *err, size_t errlen);

/* The body routes through one entry point, so the API has one preamble (parse, validate,
 * find the host) and the fuzzer one call. */
enum request_kind {
	REQUEST_WOL,
	REQUEST_WINRM,
	REQUEST_POLL,
	REQUEST_QUARANTINE,
	REQUEST_RESV_START,
	REQUEST_RESV_END,
};

union request {
	struct req_wol wol;
	struct req_winrm winrm;
	struct req_poll poll;
	struct req_quarantine quarantine;
	struct req_resv resv;
};

/* What the validators may consult (read only). */
struct request_env {
	const struct opsd_config *cfg;
	const struct host_registry *hosts;
};

/* request_<kind>() for kind; 0, or an HTTP status with the text in err. */
unsigned request_parse(enum request_kind kind, const json_t *body, const struct request_env *env,
		       union request *ret, char *err, size_t errlen);
/* The host a parsed request names (NULL when it names none, e.g. /api/wol by MAC). */
const char *request_host(enum request_kind kind, const union request *r);
void request_clear(enum request_kind kind, union request *r);

void req_wol_clear(struct req_wol *r);
void req_winrm_clear(struct req_winrm *r);
void req_poll_clear(struct req_poll *r);
void req_quarantine_clear(struct req_quarantine *r);
void req_resv_clear(struct req_resv *r);
void req_timeline_clear(struct req_timeline *r);

/* Arguments and commands go to cmd.exe on the station: refuse its metacharacters. */
bool request_arg_safe(const char *s);

#endif

/* Sessions and the queue: priorities (FIFO within one), positions in O(log n), public handles,
 * the memory of ended sessions, hold-time statistics and wait estimates. No I/O. */
#ifndef RL_LABD_SESSION_H
#define RL_LABD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define SESSION_ID_LEN 36
#define SESSION_HANDLE_LEN 10 /* "s-" + 8 base32 characters */
#define SESSION_LABEL_MAX 128 /* bytes of UTF-8 */
#define SESSION_PRIORITY_MIN (-1000)
#define SESSION_PRIORITY_MAX 1000
#define SESSION_ENDED_MAX 4096                    /* ended sessions remembered ... */
#define SESSION_ENDED_USEC (3600ULL * 1000000ULL) /* ... for at most an hour */
#define SESSION_HOLD_SAMPLES 64                   /* hold times the wait estimate is based on */

enum session_state {
	SESSION_WAITING,
	SESSION_ACTIVE,
};

/* Why a session ended (the `reason` of a later 404). */
enum session_end {
	SESSION_END_DELETED,  /* the client's DELETE /session */
	SESSION_END_REAPED,   /* silent longer than its timeout */
	SESSION_END_MAX_HOLD, /* ACTIVE longer than --max-session-hold */
	SESSION_END_MAX_WAIT, /* WAITING longer than its max_wait */
	SESSION_END_ADMIN,    /* ended by an operator */
	SESSION_END_SHUTDOWN, /* the server stopped */
};

struct lab;
struct session_level;

struct session {
	char id[SESSION_ID_LEN + 1];         /* a credential: never shown above DEBUG */
	char handle[SESSION_HANDLE_LEN + 1]; /* public name for lists, pages and events */
	enum session_state state;
	int priority;
	char *label;         /* NULL or <= SESSION_LABEL_MAX bytes */
	double created_at;   /* wall clock, epoch seconds */
	uint64_t created;    /* monotonic usec */
	uint64_t last_seen;  /* monotonic usec of the last keep-alive */
	uint64_t promoted;   /* monotonic usec when it became ACTIVE */
	uint64_t max_wait;   /* usec a WAITING session may wait; 0 = no limit */
	char *topology_name; /* file name of the last uploaded topology, or NULL */
	unsigned busy;       /* lab operations in flight for it: never stale */
	struct lab *lab;     /* the lab it holds (written by labops only) */
	/* queue bookkeeping, session.c only */
	struct session_level *level; /* NULL once ACTIVE */
	uint64_t ticket;
	TAILQ_ENTRY(session) link;
};

TAILQ_HEAD(session_list, session);

struct session_ended {
	char id[SESSION_ID_LEN + 1];
	char handle[SESSION_HANDLE_LEN + 1];
	enum session_end reason;
	uint64_t at; /* monotonic usec */
};

struct sessions {
	struct session_list active; /* in promotion order */
	size_t n_active;
	struct session_level **levels; /* WAITING sessions by priority, highest first */
	size_t n_levels;
	size_t n_waiting;
	void *by_id; /* tsearch trees */
	void *by_handle;
	/* ended sessions: a ring, oldest at `ended_head` */
	struct session_ended *ended;
	size_t ended_head, ended_count;
	void *ended_by_id;
	void *ended_by_handle;
	/* hold times of ended ACTIVE sessions (usec), a ring */
	uint64_t holds[SESSION_HOLD_SAMPLES];
	size_t n_holds, holds_next;
};

void sessions_init(struct sessions *ss);
/* Free every session and the ended-session memory. */
void sessions_free(struct sessions *ss);

/* A new WAITING session queued behind every session of its priority or higher. The caller
 * made the id and a handle that sessions_name_taken() rejected neither of. */
struct session *sessions_add(struct sessions *ss, const char *id, const char *handle, int priority,
			     const char *label, uint64_t now, double wall);
struct session *sessions_find(const struct sessions *ss, const char *id);
struct session *sessions_find_handle(const struct sessions *ss, const char *handle);
/* Is this id or handle used by a live or a remembered session? */
bool sessions_name_taken(const struct sessions *ss, const char *id, const char *handle);

size_t sessions_count(const struct sessions *ss);
/* 0 for an ACTIVE session; for a WAITING one the sessions ahead of it, ACTIVE ones included
 * (with one slot, the index in the original's FIFO). O(levels + log n). */
size_t sessions_position(const struct sessions *ss, const struct session *s);
/* The WAITING session to promote next (highest priority, oldest), or NULL. */
struct session *sessions_next_waiting(const struct sessions *ss);
/* WAITING -> ACTIVE. */
void sessions_promote(struct sessions *ss, struct session *s, uint64_t now);
/* Unlink and free a session; remember why it ended (and its hold time if it was ACTIVE). */
void sessions_remove(struct sessions *ss, struct session *s, enum session_end reason, uint64_t now);
/* Why a remembered session ended: 0 and *ret, or -ENOENT. Forgets what is too old. */
int sessions_ended_reason(struct sessions *ss, const char *id, uint64_t now, enum session_end *ret);
const char *session_end_name(enum session_end reason);
const char *session_state_name(enum session_state state);

/* Is the session stale at `now`? Busy sessions never are. Strict '>' as the original. */
bool session_is_stale(const struct session *s, uint64_t now, uint64_t active_timeout,
		      uint64_t waiting_timeout);
void session_set_topology(struct session *s, const char *name);

/* Mean hold time of recent ACTIVE sessions in usec; 0 when nothing was observed yet. */
uint64_t sessions_mean_hold(const struct sessions *ss);
/* Estimated waits with `slots` lab slots: ret[i] (usec) for the i-th WAITING session in queue
 * order, i < n, and the wait of a session that would be queued now as ret[n_waiting] when
 * n > n_waiting. Each ACTIVE session is expected to end mean-hold after its promotion (or
 * soon, when it is already older), free slots are free now, and each WAITING session
 * holds a slot for the mean hold time. -ENODATA when no hold time was observed yet. */
int sessions_estimate_waits(const struct sessions *ss, unsigned slots, uint64_t now, uint64_t *ret,
			    size_t n);

/* Iteration: ACTIVE sessions in promotion order, then WAITING ones in queue order. */
struct session *sessions_first(const struct sessions *ss);
struct session *sessions_next(const struct sessions *ss, const struct session *s);
#define SESSIONS_FOREACH(s, ss) \
	for ((s) = sessions_first(ss); (s) != NULL; (s) = sessions_next(ss, s))
#define SESSIONS_FOREACH_ACTIVE(s, ss) TAILQ_FOREACH (s, &(ss)->active, link)

#endif

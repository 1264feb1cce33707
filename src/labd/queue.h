/* Session queue: FIFO of sessions, head is ACTIVE, promotion, positions, stale selection. No I/O. */
#ifndef RL_LABD_QUEUE_H
#define RL_LABD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define SESSION_ID_LEN 36

enum session_state {
	SESSION_WAITING,
	SESSION_ACTIVE,
};

struct session {
	char id[SESSION_ID_LEN + 1];
	enum session_state state;
	double created_at;        /* wall clock, epoch seconds */
	uint64_t last_seen;       /* monotonic usec of the last keep-alive */
	char *topology_name;      /* filename of the last uploaded topology, or NULL */
	unsigned busy;            /* lab operations in flight for this session: never stale */
	uint64_t ticket;          /* position bookkeeping (Fenwick index) */
	TAILQ_ENTRY(session) link;
};

TAILQ_HEAD(session_list, session);

struct queue {
	struct session_list fifo;  /* index 0 (head) is the ACTIVE session */
	void *index;               /* tsearch tree: id -> session */
	size_t count;
	uint32_t *fenwick;         /* live-ticket counts, 1-based */
	uint64_t fenwick_cap;
	uint64_t next_ticket;
};

void queue_init(struct queue *q);
/* Free every session. */
void queue_free(struct queue *q);
/* Append a new session (WAITING) with this id; its position is queue_length before. */
struct session *queue_add(struct queue *q, const char *id, uint64_t now, double wall);
struct session *queue_find(const struct queue *q, const char *id);
struct session *queue_head(const struct queue *q);
/* Index of the session in the FIFO (0 = head), in O(log n). */
size_t queue_position(const struct queue *q, const struct session *s);
size_t queue_length(const struct queue *q);
/* Unlink and free a session. */
void queue_remove(struct queue *q, struct session *s);
/* If the head is WAITING, make it ACTIVE and return it; else NULL. */
struct session *queue_promote(struct queue *q);
/* Is the session stale at `now`? Busy sessions never are. Strict '>' as the original. */
bool queue_is_stale(const struct session *s, uint64_t now, uint64_t active_timeout,
		    uint64_t waiting_timeout);
void session_set_topology(struct session *s, const char *name);

#define QUEUE_FOREACH(s, q) TAILQ_FOREACH(s, &(q)->fifo, link)
#define QUEUE_FOREACH_SAFE(s, q, tmp) \
	for ((s) = TAILQ_FIRST(&(q)->fifo); (s) && ((tmp) = TAILQ_NEXT(s, link), 1); (s) = (tmp))

#endif

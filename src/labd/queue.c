/* Session queue: FIFO of sessions, head is ACTIVE, promotion, positions, stale selection. No I/O.
 *
 * Positions are asked for on every poll, so they must not cost O(n): each session holds a
 * ticket (a slot in a Fenwick tree of live tickets), and its position is the number of live
 * tickets before its own. Tickets are renumbered in FIFO order when they run out. */
#include "queue.h"

#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

static int session_cmp(const void *a, const void *b)
{
	return strcmp(((const struct session *)a)->id, ((const struct session *)b)->id);
}

static void fenwick_add(struct queue *q, uint64_t i, int32_t delta)
{
	for (; i <= q->fenwick_cap; i += i & (~i + 1))
		q->fenwick[i] = (uint32_t)((int64_t)q->fenwick[i] + delta);
}

static uint64_t fenwick_sum(const struct queue *q, uint64_t i)
{
	uint64_t sum = 0;

	for (; i > 0; i -= i & (~i + 1))
		sum += q->fenwick[i];
	return sum;
}

/* Renumber live sessions 1..count in FIFO order into a tree with room to grow. */
static void fenwick_rebuild(struct queue *q)
{
	struct session *s;
	uint64_t cap = 64, i = 0;

	while (cap < 2 * (q->count + 1))
		cap *= 2;
	free(q->fenwick);
	q->fenwick = xcalloc(cap + 1, sizeof(*q->fenwick));
	q->fenwick_cap = cap;
	TAILQ_FOREACH(s, &q->fifo, link) {
		s->ticket = ++i;
		fenwick_add(q, s->ticket, 1);
	}
	q->next_ticket = i + 1;
}

void queue_init(struct queue *q)
{
	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->fifo);
	fenwick_rebuild(q);
}

static void session_free(struct session *s)
{
	free(s->topology_name);
	free(s);
}

void queue_free(struct queue *q)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&q->fifo)) != NULL)
		queue_remove(q, s);
	free(q->fenwick);
	q->fenwick = NULL;
}

struct session *queue_add(struct queue *q, const char *id, uint64_t now, double wall)
{
	struct session *s = xcalloc(1, sizeof(*s));

	memcpy(s->id, id, strnlen(id, SESSION_ID_LEN));
	s->state = SESSION_WAITING;
	s->created_at = wall;
	s->last_seen = now;
	if (tsearch(s, &q->index, session_cmp) == NULL) {
		free(s);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&q->fifo, s, link);
	q->count++;
	if (q->next_ticket > q->fenwick_cap) {
		fenwick_rebuild(q); /* numbers the new session too */
	} else {
		s->ticket = q->next_ticket++;
		fenwick_add(q, s->ticket, 1);
	}
	return s;
}

struct session *queue_find(const struct queue *q, const char *id)
{
	struct session key;
	void *found;

	if (strlen(id) > SESSION_ID_LEN)
		return NULL;
	memset(key.id, 0, sizeof(key.id));
	memcpy(key.id, id, strlen(id));
	found = tfind(&key, &q->index, session_cmp);
	return found ? *(struct session **)found : NULL;
}

struct session *queue_head(const struct queue *q)
{
	return TAILQ_FIRST(&q->fifo);
}

size_t queue_position(const struct queue *q, const struct session *s)
{
	return (size_t)fenwick_sum(q, s->ticket - 1);
}

size_t queue_length(const struct queue *q)
{
	return q->count;
}

void queue_remove(struct queue *q, struct session *s)
{
	tdelete(s, &q->index, session_cmp);
	TAILQ_REMOVE(&q->fifo, s, link);
	fenwick_add(q, s->ticket, -1);
	q->count--;
	session_free(s);
}

struct session *queue_promote(struct queue *q)
{
	struct session *head = TAILQ_FIRST(&q->fifo);

	if (head == NULL || head->state == SESSION_ACTIVE)
		return NULL;
	head->state = SESSION_ACTIVE;
	return head;
}

bool queue_is_stale(const struct session *s, uint64_t now, uint64_t active_timeout,
		    uint64_t waiting_timeout)
{
	uint64_t timeout = s->state == SESSION_ACTIVE ? active_timeout : waiting_timeout;

	if (s->busy > 0 || now < s->last_seen)
		return false;
	return now - s->last_seen > timeout;
}

void session_set_topology(struct session *s, const char *name)
{
	free(s->topology_name);
	s->topology_name = name ? xstrdup(name) : NULL;
}

/* Sessions and the queue: priorities (FIFO within one), positions in O(log n), public handles,
 * the memory of ended sessions, hold-time statistics and wait estimates. No I/O.
 *
 * WAITING sessions live in priority levels, highest first; each level is a FIFO whose
 * sessions hold tickets in a Fenwick tree of live tickets, so a position is the number of
 * ACTIVE sessions, plus the sessions of higher levels, plus the live tickets before its own
 * in its level. Positions are asked for on every poll: this keeps them cheap with ten
 * thousand waiting clients. Tickets are renumbered in FIFO order when they run out. */
#include "session.h"

#include <errno.h>
#include <search.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct session_level {
	int priority;
	struct session_list fifo;
	size_t count;
	uint32_t *fenwick; /* live-ticket counts, 1-based */
	uint64_t cap;
	uint64_t next_ticket;
};

/* --- Fenwick tree of one level --- */

static void level_add(struct session_level *l, uint64_t i, int32_t delta)
{
	for (; i <= l->cap; i += i & (~i + 1))
		l->fenwick[i] = (uint32_t)((int64_t)l->fenwick[i] + delta);
}

static uint64_t level_sum(const struct session_level *l, uint64_t i)
{
	uint64_t sum = 0;

	for (; i > 0; i -= i & (~i + 1))
		sum += l->fenwick[i];
	return sum;
}

/* Renumber the level's sessions 1..count in FIFO order into a tree with room to grow. */
static void level_rebuild(struct session_level *l)
{
	struct session *s;
	uint64_t cap = 64, i = 0;

	while (cap < 2 * (l->count + 1))
		cap *= 2;
	free(l->fenwick);
	l->fenwick = xcalloc(cap + 1, sizeof(*l->fenwick));
	l->cap = cap;
	TAILQ_FOREACH (s, &l->fifo, link) {
		s->ticket = ++i;
		level_add(l, s->ticket, 1);
	}
	l->next_ticket = i + 1;
}

static struct session_level *level_get(struct sessions *ss, int priority)
{
	struct session_level *l;
	size_t i;

	for (i = 0; i < ss->n_levels && ss->levels[i]->priority >= priority; i++)
		if (ss->levels[i]->priority == priority)
			return ss->levels[i];
	l = xcalloc(1, sizeof(*l));
	l->priority = priority;
	TAILQ_INIT(&l->fifo);
	level_rebuild(l);
	ss->levels = xreallocarray(ss->levels, ss->n_levels + 1, sizeof(*ss->levels));
	memmove(&ss->levels[i + 1], &ss->levels[i], (ss->n_levels - i) * sizeof(*ss->levels));
	ss->levels[i] = l;
	ss->n_levels++;
	return l;
}

/* Unlink a WAITING session from its level; empty levels go. */
static void level_unlink(struct sessions *ss, struct session *s)
{
	struct session_level *l = s->level;
	size_t i;

	TAILQ_REMOVE(&l->fifo, s, link);
	level_add(l, s->ticket, -1);
	l->count--;
	ss->n_waiting--;
	s->level = NULL;
	if (l->count > 0)
		return;
	for (i = 0; i < ss->n_levels && ss->levels[i] != l; i++)
		;
	memmove(&ss->levels[i], &ss->levels[i + 1], (ss->n_levels - i - 1) * sizeof(*ss->levels));
	ss->n_levels--;
	free(l->fenwick);
	free(l);
}

/* --- indexes --- */

static int by_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct session *)a)->id, ((const struct session *)b)->id);
}

static int by_handle_cmp(const void *a, const void *b)
{
	return strcmp(((const struct session *)a)->handle, ((const struct session *)b)->handle);
}

static int ended_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct session_ended *)a)->id, ((const struct session_ended *)b)->id);
}

static int ended_handle_cmp(const void *a, const void *b)
{
	return strcmp(((const struct session_ended *)a)->handle,
		      ((const struct session_ended *)b)->handle);
}

static void noop_free(void *p)
{
	(void)p;
}

void sessions_init(struct sessions *ss)
{
	memset(ss, 0, sizeof(*ss));
	TAILQ_INIT(&ss->active);
}

static void session_free(struct session *s)
{
	free(s->label);
	free(s->topology_name);
	free(s);
}

void sessions_free(struct sessions *ss)
{
	struct session *s;
	size_t i;

	while ((s = TAILQ_FIRST(&ss->active)) != NULL) {
		TAILQ_REMOVE(&ss->active, s, link);
		session_free(s);
	}
	for (i = 0; i < ss->n_levels; i++) {
		while ((s = TAILQ_FIRST(&ss->levels[i]->fifo)) != NULL) {
			TAILQ_REMOVE(&ss->levels[i]->fifo, s, link);
			session_free(s);
		}
		free(ss->levels[i]->fenwick);
		free(ss->levels[i]);
	}
	free(ss->levels);
	tdestroy(ss->by_id, noop_free);
	tdestroy(ss->by_handle, noop_free);
	tdestroy(ss->ended_by_id, noop_free);
	tdestroy(ss->ended_by_handle, noop_free);
	free(ss->ended);
	sessions_init(ss);
}

struct session *sessions_add(struct sessions *ss, const char *id, const char *handle, int priority,
			     const char *label, uint64_t now, double wall)
{
	struct session *s = xcalloc(1, sizeof(*s));
	struct session_level *l;
	void *found;

	memcpy(s->id, id, strnlen(id, SESSION_ID_LEN));
	memcpy(s->handle, handle, strnlen(handle, SESSION_HANDLE_LEN));
	s->state = SESSION_WAITING;
	s->priority = priority;
	s->label = label ? xstrdup(label) : NULL;
	s->created_at = wall;
	s->created = now;
	s->last_seen = now;
	/* tsearch returns the existing entry for a duplicate: refuse those. */
	found = tsearch(s, &ss->by_id, by_id_cmp);
	if (found == NULL || *(struct session **)found != s) {
		session_free(s);
		return NULL;
	}
	found = tsearch(s, &ss->by_handle, by_handle_cmp);
	if (found == NULL || *(struct session **)found != s) {
		tdelete(s, &ss->by_id, by_id_cmp);
		session_free(s);
		return NULL;
	}
	l = level_get(ss, priority);
	s->level = l;
	TAILQ_INSERT_TAIL(&l->fifo, s, link);
	l->count++;
	ss->n_waiting++;
	if (l->next_ticket > l->cap) {
		level_rebuild(l); /* numbers the new session too */
	} else {
		s->ticket = l->next_ticket++;
		level_add(l, s->ticket, 1);
	}
	return s;
}

/* Looks up the session whose id (or handle: field, at most max bytes) is key in tree. */
static struct session *find_by(void *const *tree, int (*cmp)(const void *, const void *),
			       size_t field, size_t max, const char *key)
{
	struct session probe;
	void *found;
	size_t len = strlen(key);

	if (len > max)
		return NULL;
	memset(&probe, 0, sizeof(probe));
	memcpy((char *)&probe + field, key, len);
	found = tfind(&probe, tree, cmp);
	return found ? *(struct session **)found : NULL;
}

struct session *sessions_find(const struct sessions *ss, const char *id)
{
	return find_by(&ss->by_id, by_id_cmp, offsetof(struct session, id), SESSION_ID_LEN, id);
}

struct session *sessions_find_handle(const struct sessions *ss, const char *handle)
{
	return find_by(&ss->by_handle, by_handle_cmp, offsetof(struct session, handle),
		       SESSION_HANDLE_LEN, handle);
}

bool sessions_name_taken(const struct sessions *ss, const char *id, const char *handle)
{
	struct session_ended key;

	if (sessions_find(ss, id) != NULL || sessions_find_handle(ss, handle) != NULL)
		return true;
	memset(&key, 0, sizeof(key));
	memcpy(key.id, id, strnlen(id, SESSION_ID_LEN));
	memcpy(key.handle, handle, strnlen(handle, SESSION_HANDLE_LEN));
	return tfind(&key, &ss->ended_by_id, ended_id_cmp) != NULL ||
	       tfind(&key, &ss->ended_by_handle, ended_handle_cmp) != NULL;
}

size_t sessions_count(const struct sessions *ss)
{
	return ss->n_active + ss->n_waiting;
}

size_t sessions_position(const struct sessions *ss, const struct session *s)
{
	size_t pos = ss->n_active, i;

	if (s->state == SESSION_ACTIVE)
		return 0;
	for (i = 0; i < ss->n_levels && ss->levels[i] != s->level; i++)
		pos += ss->levels[i]->count;
	return pos + (size_t)level_sum(s->level, s->ticket - 1);
}

struct session *sessions_next_waiting(const struct sessions *ss)
{
	return ss->n_levels > 0 ? TAILQ_FIRST(&ss->levels[0]->fifo) : NULL;
}

void sessions_promote(struct sessions *ss, struct session *s, uint64_t now)
{
	if (s->state == SESSION_ACTIVE)
		return;
	level_unlink(ss, s);
	s->state = SESSION_ACTIVE;
	s->promoted = now;
	TAILQ_INSERT_TAIL(&ss->active, s, link);
	ss->n_active++;
}

/* --- ended sessions --- */

static void ended_forget_oldest(struct sessions *ss)
{
	struct session_ended *e = &ss->ended[ss->ended_head];

	tdelete(e, &ss->ended_by_id, ended_id_cmp);
	tdelete(e, &ss->ended_by_handle, ended_handle_cmp);
	ss->ended_head = (ss->ended_head + 1) % SESSION_ENDED_MAX;
	ss->ended_count--;
}

static void ended_expire(struct sessions *ss, uint64_t now)
{
	while (ss->ended_count > 0 && now - ss->ended[ss->ended_head].at > SESSION_ENDED_USEC &&
	       now >= ss->ended[ss->ended_head].at)
		ended_forget_oldest(ss);
}

static void ended_remember(struct sessions *ss, const struct session *s, enum session_end reason,
			   uint64_t now)
{
	struct session_ended *e;

	if (ss->ended == NULL)
		ss->ended = xcalloc(SESSION_ENDED_MAX, sizeof(*ss->ended));
	ended_expire(ss, now);
	if (ss->ended_count == SESSION_ENDED_MAX)
		ended_forget_oldest(ss);
	e = &ss->ended[(ss->ended_head + ss->ended_count) % SESSION_ENDED_MAX];
	memset(e, 0, sizeof(*e));
	memcpy(e->id, s->id, sizeof(e->id));
	memcpy(e->handle, s->handle, sizeof(e->handle));
	e->reason = reason;
	e->at = now;
	ss->ended_count++;
	(void)tsearch(e, &ss->ended_by_id, ended_id_cmp);
	(void)tsearch(e, &ss->ended_by_handle, ended_handle_cmp);
}

void sessions_remove(struct sessions *ss, struct session *s, enum session_end reason, uint64_t now)
{
	tdelete(s, &ss->by_id, by_id_cmp);
	tdelete(s, &ss->by_handle, by_handle_cmp);
	if (s->state == SESSION_ACTIVE) {
		TAILQ_REMOVE(&ss->active, s, link);
		ss->n_active--;
		if (now >= s->promoted) {
			ss->holds[ss->holds_next] = now - s->promoted;
			ss->holds_next = (ss->holds_next + 1) % SESSION_HOLD_SAMPLES;
			if (ss->n_holds < SESSION_HOLD_SAMPLES)
				ss->n_holds++;
		}
	} else {
		level_unlink(ss, s);
	}
	ended_remember(ss, s, reason, now);
	session_free(s);
}

int sessions_ended_reason(struct sessions *ss, const char *id, uint64_t now, enum session_end *ret)
{
	struct session_ended key;
	void *found;
	size_t len = strlen(id);

	ended_expire(ss, now);
	if (len > SESSION_ID_LEN)
		return -ENOENT;
	memset(&key, 0, sizeof(key));
	memcpy(key.id, id, len);
	found = tfind(&key, &ss->ended_by_id, ended_id_cmp);
	if (found == NULL)
		return -ENOENT;
	*ret = (*(struct session_ended **)found)->reason;
	return 0;
}

const char *session_end_name(enum session_end reason)
{
	switch (reason) {
	case SESSION_END_DELETED:
		return "deleted";
	case SESSION_END_REAPED:
		return "reaped";
	case SESSION_END_MAX_HOLD:
		return "max_hold";
	case SESSION_END_MAX_WAIT:
		return "max_wait";
	case SESSION_END_ADMIN:
		return "admin";
	case SESSION_END_SHUTDOWN:
		return "shutdown";
	}
	return "?";
}

const char *session_state_name(enum session_state state)
{
	return state == SESSION_ACTIVE ? "active" : "waiting";
}

bool session_is_stale(const struct session *s, uint64_t now, uint64_t active_timeout,
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

/* --- statistics --- */

uint64_t sessions_mean_hold(const struct sessions *ss)
{
	uint64_t sum = 0;
	size_t i;

	if (ss->n_holds == 0)
		return 0;
	for (i = 0; i < ss->n_holds; i++)
		sum += ss->holds[i];
	return sum / ss->n_holds;
}

/* A binary min-heap of slot free times (usec from now). */
static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
	size_t i = (*n)++;

	while (i > 0 && h[(i - 1) / 2] > v) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
	uint64_t top = h[0], last = h[--*n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < *n) {
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= last)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = last;
	return top;
}

int sessions_estimate_waits(const struct sessions *ss, unsigned slots, uint64_t now, uint64_t *ret,
			    size_t n)
{
	uint64_t mean = sessions_mean_hold(ss), *heap, t;
	const struct session *s;
	size_t hn = 0, i = 0, k;

	if (mean == 0)
		return -ENODATA;
	if (slots == 0)
		slots = 1;
	heap = xcalloc(slots + ss->n_active + 1, sizeof(*heap));
	SESSIONS_FOREACH_ACTIVE(s, ss)
	{
		uint64_t age = now > s->promoted ? now - s->promoted : 0;

		/* An ACTIVE session older than the mean is expected to end soon. */
		heap_push(heap, &hn, age < mean ? mean - age : 0);
	}
	for (k = ss->n_active; k < slots; k++)
		heap_push(heap, &hn, 0);
	for (s = ss->n_levels > 0 ? TAILQ_FIRST(&ss->levels[0]->fifo) : NULL; i < n;
	     s = s ? sessions_next(ss, s) : NULL) {
		t = heap_pop(heap, &hn);
		ret[i++] = t;
		heap_push(heap, &hn, t + mean);
		if (s == NULL)
			break; /* the would-be new session was the last one asked for */
	}
	free(heap);
	return 0;
}

/* --- iteration --- */

struct session *sessions_first(const struct sessions *ss)
{
	if (!TAILQ_EMPTY(&ss->active))
		return TAILQ_FIRST(&ss->active);
	return sessions_next_waiting(ss);
}

struct session *sessions_next(const struct sessions *ss, const struct session *s)
{
	struct session *next = TAILQ_NEXT(s, link);
	size_t i;

	if (next != NULL)
		return next;
	if (s->state == SESSION_ACTIVE)
		return sessions_next_waiting(ss);
	for (i = 0; i < ss->n_levels && ss->levels[i] != s->level; i++)
		;
	return i + 1 < ss->n_levels ? TAILQ_FIRST(&ss->levels[i + 1]->fifo) : NULL;
}

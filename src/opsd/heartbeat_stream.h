/* GET /api/heartbeat/stream: heartbeat poll results as server-sent events, one event per
 * host per poll; the hosts readers watch are polled every OPS_HEARTBEAT_SSE_INTERVAL_SECONDS
 * (one poll per host however many readers). Each reader has a bounded buffer: a reader that
 * falls behind is disconnected. */
#ifndef RL_OPSD_HEARTBEAT_STREAM_H
#define RL_OPSD_HEARTBEAT_STREAM_H

#include <stdbool.h>
#include <stddef.h>

struct heartbeat_result;
struct heartbeat_stream;
struct host;
struct http_request;
struct opsd;

#define HEARTBEAT_STREAM_READERS_MAX 64
#define HEARTBEAT_STREAM_BUFFER (256u * 1024u)   /* bytes queued per reader */
#define HEARTBEAT_STREAM_EVENT_MAX (64u * 1024u) /* larger: sent without the documents */
#define HEARTBEAT_STREAM_PING_SECONDS 15
#define HEARTBEAT_STREAM_POLLS_MAX 4 /* the stream's own polls in flight at a time */

struct heartbeat_stream *heartbeat_stream_new(struct opsd *o);
/* Ends every reader's stream; NULL ok. */
void heartbeat_stream_free(struct heartbeat_stream *hs);
/* Answer req with a stream of the results of host h (NULL: every host; a copy of the name
 * is kept); with include_events the polls it causes read the last session-guard event too.
 * 0, or -EBUSY with HEARTBEAT_STREAM_READERS_MAX readers already (req not answered). */
int heartbeat_stream_open(struct heartbeat_stream *hs, struct http_request *req,
			  const struct host *h, bool include_events);
/* A poll of host (its hosts.json name) ended: one event to every reader watching it. */
void heartbeat_stream_publish(struct heartbeat_stream *hs, const char *host,
			      const struct heartbeat_result *res);
/* Shutdown: end every reader's stream (after what is queued) and stop polling. */
void heartbeat_stream_stop(struct heartbeat_stream *hs);
/* Readers now; NULL gives 0. */
size_t heartbeat_stream_readers(const struct heartbeat_stream *hs);

#endif

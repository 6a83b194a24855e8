/* fanout: immutable, reference-counted packets and the bounded per-session
 * queues that hold references to them, with conflation for laggards.
 *
 * An event is encoded once into a packet (with LWS_PRE bytes of headroom so
 * lws can frame it in place); every recipient's queue holds a reference, not
 * a copy, so an event costs one allocation whatever the number of
 * recipients. A queue is bounded in bytes (the sum of its live packets'
 * lengths): a push that would pass the bound fails, and the owner decides
 * the policy (the bridge disconnects the client).
 *
 * Conflation: once a queue's live bytes reach conflate_after, a pushed
 * training_progress (is_progress, with its run's id) takes the place of
 * that run's newest unsent progress, in place, so its order with every
 * other packet is kept; it is never moved past a lifecycle event of its own
 * run (the search stops there). Everything else is only ever appended.
 * Replay packets (is_replay: history sent to a late joiner, a bounded set of
 * shared packets) are queued outside the byte bound and never conflated;
 * they have their own, larger bound (FANOUT_REPLAY_FACTOR x the byte bound)
 * so that a client cannot pile up replays by subscribing over and over
 * without reading.
 * Loop thread only. */
#ifndef TB_FANOUT_H
#define TB_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct packet {
    unsigned refs;
    bool is_binary;      /* sent as a binary WebSocket frame */
    bool is_replay;      /* history replay: outside the queue's byte bound */
    bool is_progress;    /* a live training_progress: may be conflated */
    uint64_t run_id;     /* the run a live event belongs to, or 0 */
    int64_t born_us;     /* when a live event arrived (client lag), or 0 */
    size_t len;          /* payload bytes, after the LWS_PRE headroom */
    unsigned char buf[]; /* LWS_PRE headroom, len bytes, a NUL */
};

/* A packet with room for len bytes (plus headroom and a NUL), refs = 1.
 * Fill packet_data(). Caller owns the reference. */
struct packet *packet_new(size_t len);

/* A packet holding a copy of text[0..len). Caller owns the reference. */
struct packet *packet_from_text(const char *text, size_t len);

static inline unsigned char *packet_data(struct packet *p);

/* Takes another reference; returns p. */
struct packet *packet_ref(struct packet *p);

/* Drops a reference, frees the packet with the last one; NULL-safe; sets *p = NULL. */
void packet_unref(struct packet **p);

struct fanout_queue {
    struct packet **ring; /* capacity is a power of two */
    size_t cap;
    size_t head;           /* index of the oldest entry */
    size_t n;              /* entries queued */
    size_t bytes;          /* sum of queued packets' len */
    size_t replay_bytes;   /* the part of bytes that is replay */
    size_t max_bytes;      /* the bound on bytes - replay_bytes */
    size_t conflate_after; /* live bytes from which progress is conflated; 0: never */
};

enum { FANOUT_QUEUED = 0, FANOUT_CONFLATED = 1 };

#define FANOUT_REPLAY_FACTOR 64 /* unsent replay may reach 64 x max_bytes */

void fanout_queue_init(struct fanout_queue *q, size_t max_bytes);

/* Turns conflation on from that many live bytes (0: off, the default). */
void fanout_queue_set_conflate_after(struct fanout_queue *q, size_t bytes);

/* Drops every queued reference and frees the ring. */
void fanout_queue_fini(struct fanout_queue *q);

/* Queues a new reference to p. Returns FANOUT_QUEUED; FANOUT_CONFLATED if
 * p replaced an older progress of its run (whose reference is dropped); or
 * -ENOBUFS if the live bytes would pass the bound, or for a replay packet
 * the replay bytes theirs (nothing is queued then).
 * A queue with no live bytes accepts any one packet, so an oversize packet
 * cannot wedge a client. */
int fanout_queue_push(struct fanout_queue *q, struct packet *p);

/* The oldest packet (borrowed), or NULL when empty. */
struct packet *fanout_queue_peek(const struct fanout_queue *q);

/* The i-th oldest packet (borrowed), or NULL if fewer are queued. */
struct packet *fanout_queue_at(const struct fanout_queue *q, size_t i);

/* Removes the oldest packet and drops its reference. */
void fanout_queue_pop(struct fanout_queue *q);

/* Seconds since the oldest queued live event arrived (born_us), looking at
 * the first FANOUT_AGE_SCAN entries; -1 if none of them is one. */
#define FANOUT_AGE_SCAN 32
double fanout_queue_oldest_age_s(const struct fanout_queue *q, int64_t now_us);

static inline bool fanout_queue_empty(const struct fanout_queue *q)
{
    return q->n == 0;
}

#include <libwebsockets.h>

static inline unsigned char *packet_data(struct packet *p)
{
    return p->buf + LWS_PRE;
}

#endif

#include "fanout.h"

#include <errno.h>
#include <string.h>

#include "xalloc.h"

#define QUEUE_MIN_CAP 8
#define QUEUE_KEEP_CAP 64

struct packet *packet_new(size_t len)
{
    struct packet *p = xmalloc(sizeof *p + LWS_PRE + len + 1);
    p->refs = 1;
    p->is_binary = false;
    p->is_replay = false;
    p->is_progress = false;
    p->run_id = 0;
    p->born_us = 0;
    p->len = len;
    p->buf[LWS_PRE + len] = '\0';
    return p;
}

struct packet *packet_from_text(const char *text, size_t len)
{
    struct packet *p = packet_new(len);
    memcpy(packet_data(p), text, len);
    return p;
}

struct packet *packet_ref(struct packet *p)
{
    p->refs++;
    return p;
}

void packet_unref(struct packet **p)
{
    if (!p || !*p)
        return;
    if (--(*p)->refs == 0)
        free(*p);
    *p = NULL;
}

void fanout_queue_init(struct fanout_queue *q, size_t max_bytes)
{
    memset(q, 0, sizeof *q);
    q->max_bytes = max_bytes;
}

void fanout_queue_fini(struct fanout_queue *q)
{
    while (q->n)
        fanout_queue_pop(q);
    free(q->ring);
    q->ring = NULL;
    q->cap = 0;
}

/* Doubles the ring, unwrapping its entries to the start of the new one. */
static void grow_ring(struct fanout_queue *q)
{
    size_t new_cap = q->cap ? q->cap * 2 : QUEUE_MIN_CAP;
    struct packet **ring = xcalloc(new_cap, sizeof(struct packet *));
    for (size_t i = 0; i < q->n; i++)
        ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
    free(q->ring);
    q->ring = ring;
    q->cap = new_cap;
    q->head = 0;
}

void fanout_queue_set_conflate_after(struct fanout_queue *q, size_t bytes)
{
    q->conflate_after = bytes;
}

/* The slot of the newest queued live progress of p's run, or NULL if none
 * is queued after the run's last lifecycle event. Walks back from the tail:
 * once a laggard conflates, its queue holds about one entry per run. */
static struct packet **conflation_slot(struct fanout_queue *q, const struct packet *p)
{
    for (size_t i = q->n; i-- > 0;) {
        struct packet **slot = &q->ring[(q->head + i) & (q->cap - 1)];
        if ((*slot)->run_id != p->run_id || (*slot)->is_replay)
            continue;
        return (*slot)->is_progress ? slot : NULL;
    }
    return NULL;
}

/* Replaces the packet in slot with a reference to p. */
static void replace(struct fanout_queue *q, struct packet **slot, struct packet *p)
{
    q->bytes = q->bytes - (*slot)->len + p->len;
    packet_unref(slot);
    *slot = packet_ref(p);
}

static size_t live_bytes(const struct fanout_queue *q)
{
    return q->bytes - q->replay_bytes;
}

int fanout_queue_push(struct fanout_queue *q, struct packet *p)
{
    if (p->is_progress && p->run_id && q->conflate_after && live_bytes(q) >= q->conflate_after) {
        struct packet **slot = conflation_slot(q, p);
        if (slot) {
            replace(q, slot, p);
            return FANOUT_CONFLATED;
        }
    }
    if (!p->is_replay && live_bytes(q) > 0 && live_bytes(q) + p->len > q->max_bytes)
        return -ENOBUFS;
    if (p->is_replay && q->replay_bytes + p->len > q->max_bytes * FANOUT_REPLAY_FACTOR)
        return -ENOBUFS;
    if (q->n == q->cap)
        grow_ring(q);
    q->ring[(q->head + q->n) & (q->cap - 1)] = packet_ref(p);
    q->n++;
    q->bytes += p->len;
    if (p->is_replay)
        q->replay_bytes += p->len;
    return FANOUT_QUEUED;
}

struct packet *fanout_queue_peek(const struct fanout_queue *q)
{
    return q->n ? q->ring[q->head] : NULL;
}

struct packet *fanout_queue_at(const struct fanout_queue *q, size_t i)
{
    return i < q->n ? q->ring[(q->head + i) & (q->cap - 1)] : NULL;
}

void fanout_queue_pop(struct fanout_queue *q)
{
    if (!q->n)
        return;
    struct packet *p = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) & (q->cap - 1);
    q->n--;
    q->bytes -= p->len;
    if (p->is_replay)
        q->replay_bytes -= p->len;
    packet_unref(&p);
    if (q->n == 0 && q->cap > QUEUE_KEEP_CAP) {
        free(q->ring); /* give a burst's ring back; idle sessions stay small */
        q->ring = NULL;
        q->cap = 0;
        q->head = 0;
    }
}

double fanout_queue_oldest_age_s(const struct fanout_queue *q, int64_t now_us)
{
    for (size_t i = 0; i < q->n && i < FANOUT_AGE_SCAN; i++) {
        const struct packet *p = fanout_queue_at(q, i);
        if (p->born_us > 0)
            return now_us > p->born_us ? (double)(now_us - p->born_us) / 1e6 : 0.0;
    }
    return -1;
}

/* metrics: the bridge's counters and gauges, rendered in the Prometheus text
 * format for GET /metrics. Owns plain integers only; each module bumps its
 * own counters and sets the gauges it knows. Loop thread only. */
#ifndef TB_METRICS_H
#define TB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "trainevents.h"

enum metric_id {
    METRIC_INGEST_MESSAGES,        /* accepted trainer events */
    METRIC_INGEST_BYTES,           /* payload bytes of accepted events */
    METRIC_INGEST_GAPS,            /* events missing between a trainer and us (seq gaps) */
    METRIC_INGEST_DUPLICATES,      /* seq not above the last one: dropped (duplicates) */
    METRIC_INGEST_RESTARTS,        /* trainers seen starting again at seq 1 */
    METRIC_DELIVERIES,             /* event packets queued to clients */
    METRIC_DELIVERED_BYTES,        /* bytes written to clients */
    METRIC_CLIENTS_ACCEPTED,       /* Engine.IO sessions opened */
    METRIC_CLIENTS_CLOSED,         /* Engine.IO sessions ended, any reason */
    METRIC_CLIENTS_DROPPED_SLOW,   /* cut off at the outbound queue bound */
    METRIC_CLIENTS_PING_TIMEOUT,   /* closed for not answering pings */
    METRIC_CLIENT_PROTOCOL_ERRORS, /* malformed/hostile client packets */
    METRIC_HANDSHAKES_REFUSED,     /* bad Engine.IO handshakes (HTTP 400) */
    METRIC_SUBSCRIBES,             /* successful subscribe_training */
    METRIC_UNSUBSCRIBES,           /* successful unsubscribe_training */
    METRIC_WEB_RESPONSES,          /* dashboard files served (200) */
    METRIC_WEB_NOT_MODIFIED,       /* dashboard files revalidated (304) */
    METRIC_WEB_NOT_FOUND,          /* dashboard paths with no file (404) */
    METRIC_WEB_REFUSED,            /* dashboard paths refused: not plain names (400) */
    METRIC_COUNT
};

enum gauge_id {
    GAUGE_CLIENTS_CONNECTED, /* open Engine.IO sessions */
    GAUGE_ROOMS,             /* rooms with at least one member */
    GAUGE_QUEUED_BYTES,      /* bytes queued to clients, all sessions */
    GAUGE_TRAINERS,          /* trainers seen (sequence tracking) */
    GAUGE_COUNT
};

struct metrics {
    uint64_t counters[METRIC_COUNT];
    uint64_t rejected[TE_ERRC_COUNT]; /* ingest rejects by reason */
    int64_t gauges[GAUGE_COUNT];
};

static inline void metrics_inc(struct metrics *m, enum metric_id id)
{
    m->counters[id]++;
}

static inline void metrics_add(struct metrics *m, enum metric_id id, uint64_t n)
{
    m->counters[id] += n;
}

static inline void metrics_set(struct metrics *m, enum gauge_id id, int64_t v)
{
    m->gauges[id] = v;
}

static inline void metrics_reject(struct metrics *m, enum te_errc reason)
{
    if (reason < TE_ERRC_COUNT)
        m->rejected[reason]++;
}

/* Renders every metric as Prometheus text into a new NUL-terminated buffer;
 * *len_out gets its length. Caller frees. */
char *metrics_render_new(const struct metrics *m, size_t *len_out);

#endif

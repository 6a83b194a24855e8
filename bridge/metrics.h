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
    METRIC_AUTH_ACCEPTED,          /* CONNECTs with a valid token */
    METRIC_SUBSCRIBES_FORBIDDEN,   /* subscribe_training outside the token's scenarios */
    METRIC_CLIENTS_TOKEN_EXPIRED,  /* transports closed at their token's exp */
    METRIC_ORIGIN_REFUSED,         /* handshakes/upgrades refused for their Origin (403) */
    METRIC_CONN_REFUSED_TOTAL,     /* handshakes refused at --max-connections (503) */
    METRIC_CONN_REFUSED_PER_IP,    /* handshakes refused at --max-connections-per-ip (503) */
    METRIC_CLIENTS_RATE_LIMITED,   /* closed for passing --max-client-packets-per-s */
    METRIC_ZMQ_AUTH_FAILURES,      /* trainers refused by CURVE/ZAP (socket monitor) */
    METRIC_COUNT
};

enum gauge_id {
    GAUGE_CLIENTS_CONNECTED, /* open Engine.IO sessions */
    GAUGE_ROOMS,             /* rooms with at least one member */
    GAUGE_QUEUED_BYTES,      /* bytes queued to clients, all sessions */
    GAUGE_TRAINERS,          /* trainers seen (sequence tracking) */
    GAUGE_COUNT
};

#define METRICS_AUTH_REASONS 16 /* room for enum auth_reason */

struct metrics {
    uint64_t counters[METRIC_COUNT];
    uint64_t rejected[TE_ERRC_COUNT];            /* ingest rejects by reason */
    uint64_t auth_refused[METRICS_AUTH_REASONS]; /* CONNECTs refused, by enum auth_reason */
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

static inline void metrics_auth_refused(struct metrics *m, int reason)
{
    if (reason >= 0 && reason < METRICS_AUTH_REASONS)
        m->auth_refused[reason]++;
}

/* Renders every metric as Prometheus text into a new NUL-terminated buffer;
 * *len_out gets its length. Caller frees. */
char *metrics_render_new(const struct metrics *m, size_t *len_out);

#endif

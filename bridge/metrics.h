/* metrics: the bridge's counters and gauges, rendered in the Prometheus text
 * format for GET /metrics. Owns plain integers only; each module bumps its
 * own counters and sets the gauges it knows. Loop thread only. */
#ifndef TB_METRICS_H
#define TB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "runs.h"
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
    METRIC_SUBSCRIBES_REFUSED,     /* client requests answered ok:false */
    METRIC_REPLAYED_EVENTS,        /* history packets queued to late joiners */
    METRIC_PROGRESS_CONFLATED,     /* progress replaced in a laggard's queue */
    METRIC_HEARTBEATS,             /* valid trainer heartbeats (never forwarded) */
    METRIC_WEB_RESPONSES,          /* dashboard files served (200) */
    METRIC_WEB_NOT_MODIFIED,       /* dashboard files revalidated (304) */
    METRIC_WEB_NOT_FOUND,          /* dashboard paths with no file (404) */
    METRIC_WEB_REFUSED,            /* dashboard paths refused: not plain names (400) */
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

/* Client lag, a snapshot over every session taken periodically: how many
 * clients have at most each bound of queued bytes, and of age of their
 * oldest unsent live event (fixed buckets: bounded label cardinality). */
#define METRICS_LAG_BYTES_BUCKETS 6
#define METRICS_LAG_AGE_BUCKETS 6

struct metrics_lag {
    uint64_t by_bytes[METRICS_LAG_BYTES_BUCKETS]; /* not cumulative; last is +Inf */
    uint64_t by_age[METRICS_LAG_AGE_BUCKETS];
    uint64_t n_clients;
    uint64_t bytes_sum;
    double age_sum_s;
    double age_max_s;
};

/* enum heartbeat_reason (why a valid heartbeat changed nothing) is the run
 * store's verdict: runs.h. */

/* Active runs (running or stalled) by seconds since their trainer was last
 * heard from (event or heartbeat), a snapshot taken at each scrape: fixed
 * buckets, no label per trainer. */
#define METRICS_SILENCE_BUCKETS 7

struct metrics_silence {
    uint64_t by_age[METRICS_SILENCE_BUCKETS]; /* not cumulative; last is +Inf */
    uint64_t n_runs;
    double sum_s;
};

struct metrics {
    uint64_t counters[METRIC_COUNT];
    uint64_t rejected[TE_ERRC_COUNT];                    /* ingest rejects by reason */
    uint64_t heartbeats_ignored[HEARTBEAT_REASON_COUNT]; /* [HEARTBEAT_TAKEN] unused */
    uint64_t auth_refused[METRICS_AUTH_REASONS];         /* CONNECTs refused, by enum auth_reason */
    int64_t gauges[GAUGE_COUNT];
    struct runs_stats runs; /* the run store's figures, copied on change */
    struct metrics_lag lag;
    struct metrics_silence silence;
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

/* Starts a new lag snapshot. */
void metrics_lag_reset(struct metrics *m);
/* Adds one client to the lag snapshot; age_s < 0: nothing live is queued. */
void metrics_lag_observe(struct metrics *m, size_t queued_bytes, double age_s);

/* Starts a new silence snapshot; then one observation per active run. */
void metrics_silence_reset(struct metrics *m);
void metrics_silence_observe(struct metrics *m, double silent_s);

static inline void metrics_heartbeat_ignored(struct metrics *m, enum heartbeat_reason reason)
{
    if (reason > HEARTBEAT_TAKEN && reason < HEARTBEAT_REASON_COUNT)
        m->heartbeats_ignored[reason]++;
}

/* Stable label of a reason ("unknown_scenario", "no_run"; "taken"). */
const char *metrics_heartbeat_reason_name(enum heartbeat_reason reason);

static inline void metrics_auth_refused(struct metrics *m, int reason)
{
    if (reason >= 0 && reason < METRICS_AUTH_REASONS)
        m->auth_refused[reason]++;
}

/* Renders every metric as Prometheus text into a new NUL-terminated buffer;
 * *len_out gets its length. Caller frees. */
char *metrics_render_new(const struct metrics *m, size_t *len_out);

#endif

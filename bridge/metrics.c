#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "xalloc.h"

_Static_assert(AUTH_N_REASONS <= METRICS_AUTH_REASONS, "metrics: auth reasons");

struct metric_desc {
    const char *name;
    const char *help;
};

static const struct metric_desc counter_descs[METRIC_COUNT] = {
    [METRIC_INGEST_MESSAGES] = {"trainbridge_ingest_messages_total", "Trainer events accepted."},
    [METRIC_INGEST_BYTES] = {"trainbridge_ingest_bytes_total", "Payload bytes of accepted events."},
    [METRIC_INGEST_GAPS] = {"trainbridge_ingest_gaps_total",
                            "Events lost between trainers and the bridge (sequence gaps)."},
    [METRIC_INGEST_DUPLICATES] = {"trainbridge_ingest_duplicates_total",
                                  "Events dropped: sequence number not above the trainer's last."},
    [METRIC_INGEST_RESTARTS] = {"trainbridge_ingest_trainer_restarts_total",
                                "Trainers seen starting again at sequence number 1."},
    [METRIC_DELIVERIES] = {"trainbridge_deliveries_total", "Event packets queued to clients."},
    [METRIC_DELIVERED_BYTES] = {"trainbridge_written_bytes_total", "Bytes written to clients."},
    [METRIC_CLIENTS_ACCEPTED] = {"trainbridge_clients_accepted_total",
                                 "Engine.IO sessions opened."},
    [METRIC_CLIENTS_CLOSED] = {"trainbridge_clients_closed_total", "Engine.IO sessions ended."},
    [METRIC_CLIENTS_DROPPED_SLOW] = {"trainbridge_clients_dropped_slow_total",
                                     "Clients cut off at their outbound queue bound."},
    [METRIC_CLIENTS_PING_TIMEOUT] = {"trainbridge_clients_ping_timeout_total",
                                     "Clients closed for not answering pings."},
    [METRIC_CLIENT_PROTOCOL_ERRORS] = {"trainbridge_client_protocol_errors_total",
                                       "Malformed or hostile packets from clients."},
    [METRIC_HANDSHAKES_REFUSED] = {"trainbridge_handshakes_refused_total",
                                   "Engine.IO handshakes refused (HTTP 400)."},
    [METRIC_SUBSCRIBES] = {"trainbridge_subscribes_total", "Successful subscribe_training."},
    [METRIC_UNSUBSCRIBES] = {"trainbridge_unsubscribes_total", "Successful unsubscribe_training."},
    [METRIC_SUBSCRIBES_REFUSED] =
        {"trainbridge_subscribes_refused_total",
         "Client requests answered ok:false (bad subscribe payloads, unknown events)."},
    [METRIC_REPLAYED_EVENTS] = {"trainbridge_replayed_events_total",
                                "History packets queued to clients that subscribed late."},
    [METRIC_PROGRESS_CONFLATED] = {"trainbridge_progress_conflated_total",
                                   "training_progress that replaced an older unsent one of its "
                                   "run in a lagging client's queue."},
    [METRIC_HEARTBEATS] = {"trainbridge_heartbeats_total",
                           "Valid trainer heartbeats received (never forwarded to clients)."},
    [METRIC_WEB_RESPONSES] = {"trainbridge_dashboard_responses_total",
                              "Dashboard files served (200)."},
    [METRIC_WEB_NOT_MODIFIED] = {"trainbridge_dashboard_not_modified_total",
                                 "Dashboard files revalidated by ETag (304)."},
    [METRIC_WEB_NOT_FOUND] = {"trainbridge_dashboard_not_found_total",
                              "Dashboard paths with no file (404)."},
    [METRIC_WEB_REFUSED] = {"trainbridge_dashboard_refused_total",
                            "Dashboard paths refused: not plain names (400)."},
    [METRIC_AUTH_ACCEPTED] = {"trainbridge_auth_accepted_total",
                              "Socket.IO CONNECTs with a valid token."},
    [METRIC_SUBSCRIBES_FORBIDDEN] = {"trainbridge_subscribes_forbidden_total",
                                     "subscribe_training outside the token's scenarios."},
    [METRIC_CLIENTS_TOKEN_EXPIRED] = {"trainbridge_clients_token_expired_total",
                                      "Transports closed when their token expired."},
    [METRIC_ORIGIN_REFUSED] = {"trainbridge_origin_refused_total",
                               "Handshakes and upgrades refused for their Origin (HTTP 403)."},
    [METRIC_CONN_REFUSED_TOTAL] = {"trainbridge_connections_refused_total",
                                   "Handshakes refused at --max-connections (HTTP 503)."},
    [METRIC_CONN_REFUSED_PER_IP] = {"trainbridge_connections_refused_per_ip_total",
                                    "Handshakes refused at --max-connections-per-ip (HTTP 503)."},
    [METRIC_CLIENTS_RATE_LIMITED] = {"trainbridge_clients_rate_limited_total",
                                     "Clients closed for sending too many packets per second."},
    [METRIC_ZMQ_AUTH_FAILURES] = {"trainbridge_zmq_auth_failures_total",
                                  "Trainer connections refused by CURVE authentication."},
};

static const char *const heartbeat_reason_names[HEARTBEAT_REASON_COUNT] = {
    [HEARTBEAT_TAKEN] = "taken",
    [HEARTBEAT_UNKNOWN_SCENARIO] = "unknown_scenario",
    [HEARTBEAT_NO_RUN] = "no_run",
};

static const size_t LAG_BYTES_LE[METRICS_LAG_BYTES_BUCKETS - 1] = {1024, 16384, 65536, 262144,
                                                                   1048576};
static const double LAG_AGE_LE[METRICS_LAG_AGE_BUCKETS - 1] = {0.01, 0.1, 1, 10, 60};
static const double SILENCE_LE[METRICS_SILENCE_BUCKETS - 1] = {1, 5, 15, 60, 300, 3600};

static const struct metric_desc gauge_descs[GAUGE_COUNT] = {
    [GAUGE_CLIENTS_CONNECTED] = {"trainbridge_clients_connected", "Open Engine.IO sessions."},
    [GAUGE_ROOMS] = {"trainbridge_rooms", "Rooms with at least one member."},
    [GAUGE_QUEUED_BYTES] = {"trainbridge_queued_bytes", "Bytes queued to clients, all sessions."},
    [GAUGE_TRAINERS] = {"trainbridge_trainers_seen",
                        "Trainers whose sequence numbers are tracked."},
};

struct text {
    char *buf;
    size_t len, cap;
};

static void append(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n;
        t->buf = xrealloc(t->buf, t->cap);
    }
}

static void render_rejects(struct text *t, const struct metrics *m)
{
    const char *name = "trainbridge_ingest_rejected_total";
    append(t, "# HELP %s Trainer messages rejected, by reason.\n# TYPE %s counter\n", name, name);
    for (int r = 1; r < TE_ERRC_COUNT; r++)
        append(t, "%s{reason=\"%s\"} %" PRIu64 "\n", name, te_errc_name((enum te_errc)r),
               m->rejected[r]);
}

static void render_auth_refused(struct text *t, const struct metrics *m)
{
    const char *name = "trainbridge_auth_refused_total";
    append(t, "# HELP %s Socket.IO CONNECTs refused, by reason.\n# TYPE %s counter\n", name, name);
    for (int r = AUTH_OK + 1; r < AUTH_N_REASONS; r++)
        append(t, "%s{reason=\"%s\"} %" PRIu64 "\n", name, auth_reason_name((enum auth_reason)r),
               m->auth_refused[r]);
}

static void render_runs(struct text *t, const struct metrics *m)
{
    static const char *const reasons[RUN_EVICTION_COUNT] = {
        [RUN_EVICT_COUNT] = "count", [RUN_EVICT_TTL] = "ttl", [RUN_EVICT_BYTES] = "bytes"};
    const char *name = "trainbridge_runs";
    append(t, "# HELP %s Runs kept, by state.\n# TYPE %s gauge\n", name, name);
    for (int s = 0; s < RUN_STATE_COUNT; s++)
        append(t, "%s{state=\"%s\"} %zu\n", name, run_state_name((enum run_state)s),
               m->runs.n_runs[s]);
    name = "trainbridge_history_bytes";
    append(t, "# HELP %s Bytes of run history kept.\n# TYPE %s gauge\n%s %zu\n", name, name, name,
           m->runs.bytes);
    name = "trainbridge_history_evictions_total";
    append(t, "# HELP %s Finished runs dropped from history, by reason.\n# TYPE %s counter\n", name,
           name);
    for (int r = 0; r < RUN_EVICTION_COUNT; r++)
        append(t, "%s{reason=\"%s\"} %" PRIu64 "\n", name, reasons[r], m->runs.n_evicted[r]);
    name = "trainbridge_history_curves_thinned_total";
    append(t,
           "# HELP %s Running runs' curves thinned for --history-bytes.\n# TYPE %s counter\n"
           "%s %" PRIu64 "\n",
           name, name, name, m->runs.n_thinned);
}

static void render_lag(struct text *t, const struct metrics *m)
{
    const struct metrics_lag *l = &m->lag;
    const char *name = "trainbridge_client_queued_bytes";
    append(t, "# HELP %s Clients by bytes queued to them (last snapshot).\n# TYPE %s histogram\n",
           name, name);
    uint64_t n = 0;
    for (int i = 0; i < METRICS_LAG_BYTES_BUCKETS - 1; i++) {
        n += l->by_bytes[i];
        append(t, "%s_bucket{le=\"%zu\"} %" PRIu64 "\n", name, LAG_BYTES_LE[i], n);
    }
    append(t, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %" PRIu64 "\n%s_count %" PRIu64 "\n",
           name, l->n_clients, name, l->bytes_sum, name, l->n_clients);
    name = "trainbridge_client_lag_seconds";
    append(t,
           "# HELP %s Clients by age of their oldest unsent live event (last snapshot; clients\n"
           "# with nothing live queued are not counted).\n# TYPE %s histogram\n",
           name, name);
    n = 0;
    uint64_t total = 0;
    for (int i = 0; i < METRICS_LAG_AGE_BUCKETS; i++)
        total += l->by_age[i];
    for (int i = 0; i < METRICS_LAG_AGE_BUCKETS - 1; i++) {
        n += l->by_age[i];
        append(t, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, LAG_AGE_LE[i], n);
    }
    append(t, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %" PRIu64 "\n", name,
           total, name, l->age_sum_s, name, total);
    name = "trainbridge_client_lag_max_seconds";
    append(t,
           "# HELP %s Oldest unsent live event of any client (last snapshot).\n"
           "# TYPE %s gauge\n%s %.6f\n",
           name, name, name, l->age_max_s);
}

static void render_silence(struct text *t, const struct metrics *m)
{
    const struct metrics_silence *sl = &m->silence;
    const char *name = "trainbridge_run_silence_seconds";
    append(t,
           "# HELP %s Active (running or stalled) runs by seconds since their trainer was last\n"
           "# heard from, event or heartbeat (snapshot at scrape).\n# TYPE %s histogram\n",
           name, name);
    uint64_t n = 0;
    for (int i = 0; i < METRICS_SILENCE_BUCKETS - 1; i++) {
        n += sl->by_age[i];
        append(t, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, SILENCE_LE[i], n);
    }
    append(t, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %" PRIu64 "\n", name,
           sl->n_runs, name, sl->sum_s, name, sl->n_runs);
}

void metrics_silence_reset(struct metrics *m)
{
    memset(&m->silence, 0, sizeof m->silence);
}

void metrics_silence_observe(struct metrics *m, double silent_s)
{
    struct metrics_silence *sl = &m->silence;
    int b = 0;
    while (b < METRICS_SILENCE_BUCKETS - 1 && silent_s > SILENCE_LE[b])
        b++;
    sl->by_age[b]++;
    sl->n_runs++;
    sl->sum_s += silent_s;
}

void metrics_lag_reset(struct metrics *m)
{
    memset(&m->lag, 0, sizeof m->lag);
}

void metrics_lag_observe(struct metrics *m, size_t queued_bytes, double age_s)
{
    struct metrics_lag *l = &m->lag;
    int b = 0;
    while (b < METRICS_LAG_BYTES_BUCKETS - 1 && queued_bytes > LAG_BYTES_LE[b])
        b++;
    l->by_bytes[b]++;
    l->n_clients++;
    l->bytes_sum += queued_bytes;
    if (age_s < 0)
        return;
    int a = 0;
    while (a < METRICS_LAG_AGE_BUCKETS - 1 && age_s > LAG_AGE_LE[a])
        a++;
    l->by_age[a]++;
    l->age_sum_s += age_s;
    l->age_max_s = age_s > l->age_max_s ? age_s : l->age_max_s;
}

static void render_heartbeats_ignored(struct text *t, const struct metrics *m)
{
    const char *name = "trainbridge_heartbeats_ignored_total";
    append(t,
           "# HELP %s Valid heartbeats that matched no active run, by reason.\n"
           "# TYPE %s counter\n",
           name, name);
    for (int r = HEARTBEAT_TAKEN + 1; r < HEARTBEAT_REASON_COUNT; r++)
        append(t, "%s{reason=\"%s\"} %" PRIu64 "\n", name, heartbeat_reason_names[r],
               m->heartbeats_ignored[r]);
}

const char *metrics_heartbeat_reason_name(enum heartbeat_reason reason)
{
    return (unsigned)reason < HEARTBEAT_REASON_COUNT ? heartbeat_reason_names[reason] : "unknown";
}

char *metrics_render_new(const struct metrics *m, size_t *len_out)
{
    struct text t = {.buf = xmalloc(4096), .len = 0, .cap = 4096};
    t.buf[0] = '\0';
    for (int i = 0; i < METRIC_COUNT; i++) {
        const struct metric_desc *d = &counter_descs[i];
        append(&t, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", d->name, d->help, d->name,
               d->name, m->counters[i]);
    }
    render_rejects(&t, m);
    render_auth_refused(&t, m);
    render_runs(&t, m);
    render_lag(&t, m);
    render_silence(&t, m);
    render_heartbeats_ignored(&t, m);
    for (int i = 0; i < GAUGE_COUNT; i++) {
        const struct metric_desc *d = &gauge_descs[i];
        append(&t, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRId64 "\n", d->name, d->help, d->name,
               d->name, m->gauges[i]);
    }
    *len_out = t.len;
    return t.buf;
}

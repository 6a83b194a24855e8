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
    for (int i = 0; i < GAUGE_COUNT; i++) {
        const struct metric_desc *d = &gauge_descs[i];
        append(&t, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRId64 "\n", d->name, d->help, d->name,
               d->name, m->gauges[i]);
    }
    *len_out = t.len;
    return t.buf;
}

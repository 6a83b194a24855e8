#include "eio.h"

#include <czmq.h>
#include <errno.h>
#include <stdint.h>
#include <libwebsockets.h>
#include <string.h>

#include "deadline.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

struct eio_server {
    struct lws_context *ctx;
    struct eio_server_opts opts;
    struct eio_handler handler;
    struct metrics *m;
    lws_dll2_owner_t sessions;
    zhashx_t *by_sid; /* sid -> session (borrowed) */
    size_t queued_bytes;
    struct packet *ping_pkt;  /* "2", shared by every session */
    struct packet *close_pkt; /* "1" */
    bool is_accepting;
    struct deadline_queue ping_due;    /* sessions waiting to be pinged */
    struct deadline_queue pong_due;    /* sessions pinged, waiting for a pong */
    struct deadline_queue connect_due; /* sessions without a Socket.IO CONNECT yet */
    struct quota *quota;               /* connection bounds per peer address, or NULL */
};

struct eio_session {
    struct eio_server *srv;
    lws_dll2_t link; /* in srv->sessions */
    char sid[EIO_SID_LEN + 1];
    const struct eio_transport_ops *ops;
    void *transport;
    void *app;
    struct fanout_queue q;
    struct deadline heartbeat;       /* in ping_due or pong_due */
    struct deadline connect;         /* in connect_due until the Socket.IO CONNECT */
    lws_sorted_usec_list_t sul_reap; /* deferred free */
    void *probe;                     /* WebSocket probing an upgrade, or NULL */
    eio_probe_lost_fn *probe_lost;
    bool is_awaiting_pong;
    bool is_closing;
    bool is_end_after_flush;
    bool is_end_now;
    char *peer;   /* the address counted in srv->quota, or NULL */
    char *bearer; /* Authorization: Bearer of the handshake, or NULL */
};

/* ------------------------------------------------------------ helpers */

static lws_usec_t ms_to_us(int ms)
{
    return (lws_usec_t)ms * LWS_US_PER_MS;
}

static int queue_packet(struct eio_session *s, struct packet *p)
{
    size_t before = s->q.bytes;
    int rc = fanout_queue_push(&s->q, p);
    if (rc < 0)
        return rc;
    s->srv->queued_bytes += s->q.bytes - before;
    s->ops->want_write(s);
    return rc;
}

/* ping_due: time to ping; the pong is then due within ping_timeout. */
static void on_ping_due(struct deadline *d, struct deadline_queue *q)
{
    struct eio_session *s = lws_container_of(d, struct eio_session, heartbeat);
    struct eio_server *srv = lws_container_of(q, struct eio_server, ping_due);
    if (s->is_closing)
        return;
    if (queue_packet(s, srv->ping_pkt) < 0) {
        metrics_inc(srv->m, METRIC_CLIENTS_DROPPED_SLOW);
        eio_session_drop(s, "outbound queue full");
        return;
    }
    s->is_awaiting_pong = true;
    deadline_start(&srv->pong_due, &s->heartbeat);
}

static void on_pong_missed(struct deadline *d, struct deadline_queue *q)
{
    struct eio_session *s = lws_container_of(d, struct eio_session, heartbeat);
    struct eio_server *srv = lws_container_of(q, struct eio_server, pong_due);
    if (s->is_closing)
        return;
    metrics_inc(srv->m, METRIC_CLIENTS_PING_TIMEOUT);
    log_info_limited("eio", "closing session: ping timeout sid=%s", s->sid);
    eio_session_drop(s, "ping timeout");
}

static void schedule_ping(struct eio_session *s)
{
    s->is_awaiting_pong = false;
    deadline_start(&s->srv->ping_due, &s->heartbeat);
}

static void on_connect_timeout(struct deadline *d, struct deadline_queue *q)
{
    (void)q;
    struct eio_session *s = lws_container_of(d, struct eio_session, connect);
    log_info_limited("eio", "closing session: no Socket.IO CONNECT within %d ms sid=%s",
                     s->srv->opts.connect_timeout_ms, s->sid);
    eio_session_close(s, "connect timeout");
}

static void on_reap(lws_sorted_usec_list_t *sul)
{
    struct eio_session *s = lws_container_of(sul, struct eio_session, sul_reap);
    eio_session_free(&s);
}

static void cancel_timers(struct eio_session *s)
{
    deadline_cancel(&s->heartbeat);
    deadline_cancel(&s->connect);
}

/* The client sent a close packet: nothing more is sent. A long poll still
 * held is answered with a noop (the transport's nudge), then the session
 * ends; a WebSocket just closes. */
static void end_by_peer(struct eio_session *s)
{
    log_debug("eio", "client closed the session sid=%s", s->sid);
    s->srv->queued_bytes -= s->q.bytes;
    fanout_queue_fini(&s->q);
    s->is_closing = true;
    s->is_end_after_flush = true;
    cancel_timers(s);
    if (s->ops->nudge)
        s->ops->nudge(s);
    else
        eio_session_drop(s, "client closed");
}

static void answer_ping(struct eio_session *s, const char *payload, size_t len)
{
    struct packet *p = packet_new(len + 1);
    packet_data(p)[0] = (unsigned char)eio_packet_char(EIO_PONG);
    memcpy(packet_data(p) + 1, payload, len);
    if (queue_packet(s, p) < 0)
        eio_session_drop(s, "outbound queue full");
    packet_unref(&p);
}

/* ------------------------------------------------------------ server */

struct eio_server *eio_server_new(struct lws_context *ctx, const struct eio_server_opts *opts,
                                  const struct eio_handler *handler, struct metrics *m)
{
    struct eio_server *srv = xcalloc(1, sizeof *srv);
    srv->ctx = ctx;
    srv->opts = *opts;
    srv->handler = *handler;
    srv->m = m;
    srv->by_sid = zhashx_new();
    srv->ping_pkt = packet_from_text("2", 1);
    srv->close_pkt = packet_from_text("1", 1);
    srv->is_accepting = true;
    deadline_queue_init(&srv->ping_due, ctx, ms_to_us(opts->ping_interval_ms), on_ping_due);
    deadline_queue_init(&srv->pong_due, ctx, ms_to_us(opts->ping_timeout_ms), on_pong_missed);
    deadline_queue_init(&srv->connect_due, ctx, ms_to_us(opts->connect_timeout_ms),
                        on_connect_timeout);
    if (opts->max_sessions || opts->max_sessions_per_addr)
        srv->quota =
            quota_new(opts->max_sessions ? opts->max_sessions : SIZE_MAX,
                      opts->max_sessions_per_addr ? opts->max_sessions_per_addr : SIZE_MAX);
    return srv;
}

void eio_server_destroy(struct eio_server **srv_p)
{
    if (!srv_p || !*srv_p)
        return;
    struct eio_server *srv = *srv_p;
    if (srv->sessions.count)
        log_warn("eio", "destroying the server with %u sessions left", srv->sessions.count);
    deadline_queue_fini(&srv->ping_due);
    deadline_queue_fini(&srv->pong_due);
    deadline_queue_fini(&srv->connect_due);
    packet_unref(&srv->ping_pkt);
    packet_unref(&srv->close_pkt);
    zhashx_destroy(&srv->by_sid);
    quota_destroy(&srv->quota);
    free(srv);
    *srv_p = NULL;
}

const struct eio_server_opts *eio_server_opts(const struct eio_server *srv)
{
    return &srv->opts;
}

struct eio_session *eio_server_find(const struct eio_server *srv, const char *sid)
{
    return zhashx_lookup(srv->by_sid, sid);
}

size_t eio_server_n_sessions(const struct eio_server *srv)
{
    return srv->sessions.count;
}

size_t eio_server_queued_bytes(const struct eio_server *srv)
{
    return srv->queued_bytes;
}

static int observe_lag(struct lws_dll2 *d, void *user)
{
    const struct eio_session *s = lws_container_of(d, struct eio_session, link);
    int64_t now_us = *(const int64_t *)user;
    metrics_lag_observe(s->srv->m, s->q.bytes, fanout_queue_oldest_age_s(&s->q, now_us));
    return 0;
}

void eio_server_observe_lag(struct eio_server *srv, int64_t now_us)
{
    metrics_lag_reset(srv->m);
    lws_dll2_foreach_safe(&srv->sessions, &now_us, observe_lag);
}

static int close_one(struct lws_dll2 *d, void *user)
{
    (void)user;
    eio_session_close(lws_container_of(d, struct eio_session, link), "server shutting down");
    return 0;
}

void eio_server_close_all(struct eio_server *srv)
{
    srv->is_accepting = false;
    lws_dll2_foreach_safe(&srv->sessions, NULL, close_one);
}

bool eio_server_is_accepting(const struct eio_server *srv)
{
    return srv->is_accepting;
}

void eio_server_note_refused(struct eio_server *srv)
{
    metrics_inc(srv->m, METRIC_HANDSHAKES_REFUSED);
}

struct metrics *eio_server_metrics(const struct eio_server *srv)
{
    return srv->m;
}

enum quota_verdict eio_server_room_for(const struct eio_server *srv, const char *addr)
{
    return srv->quota ? quota_check(srv->quota, addr) : QUOTA_OK;
}

bool eio_server_allows_origin(const struct eio_server *srv, const char *origin)
{
    for (size_t i = 0; i < srv->opts.n_cors_origins; i++) {
        const char *o = srv->opts.cors_origins[i];
        if (strcmp(o, "*") == 0 || strcmp(o, origin) == 0)
            return true;
    }
    return false;
}

static int free_if_unconnected(struct lws_dll2 *d, void *user)
{
    (void)user;
    struct eio_session *s = lws_container_of(d, struct eio_session, link);
    if (s->ops->kind == EIO_TRANSPORT_POLLING)
        eio_session_free(&s);
    return 0;
}

void eio_server_free_unconnected(struct eio_server *srv)
{
    lws_dll2_foreach_safe(&srv->sessions, NULL, free_if_unconnected);
}

/* ------------------------------------------------------------ sessions */

struct eio_session *eio_session_open(struct eio_server *srv, const struct eio_transport_ops *ops,
                                     void *transport)
{
    struct eio_session *s = xcalloc(1, sizeof *s);
    s->srv = srv;
    s->ops = ops;
    s->transport = transport;
    do
        eio_sid_generate(s->sid);
    while (zhashx_lookup(srv->by_sid, s->sid));
    zhashx_insert(srv->by_sid, s->sid, s);
    fanout_queue_init(&s->q, srv->opts.client_queue_bytes);
    fanout_queue_set_conflate_after(&s->q, srv->opts.conflate_after);
    lws_dll2_add_tail(&s->link, &srv->sessions);
    metrics_inc(srv->m, METRIC_CLIENTS_ACCEPTED);

    char open[256];
    bool can_upgrade = ops->kind == EIO_TRANSPORT_POLLING && srv->opts.allow_websocket;
    int n = eio_open_packet(s->sid, can_upgrade, srv->opts.ping_interval_ms,
                            srv->opts.ping_timeout_ms, srv->opts.max_payload, open, sizeof open);
    struct packet *p = packet_from_text(open, n > 0 ? (size_t)n : 0);
    queue_packet(s, p); /* an empty queue takes any one packet */
    packet_unref(&p);
    schedule_ping(s);
    if (srv->opts.connect_timeout_ms > 0)
        deadline_start(&srv->connect_due, &s->connect);
    if (srv->handler.on_open)
        srv->handler.on_open(s, srv->handler.arg);
    return s;
}

void eio_session_free(struct eio_session **s_p)
{
    if (!s_p || !*s_p)
        return;
    struct eio_session *s = *s_p;
    struct eio_server *srv = s->srv;
    if (srv->handler.on_close)
        srv->handler.on_close(s, srv->handler.arg);
    cancel_timers(s);
    lws_sul_cancel(&s->sul_reap);
    if (s->probe)
        s->probe_lost(s->probe);
    if (s->ops->detach)
        s->ops->detach(s);
    zhashx_delete(srv->by_sid, s->sid);
    srv->queued_bytes -= s->q.bytes;
    fanout_queue_fini(&s->q);
    lws_dll2_remove(&s->link);
    metrics_inc(srv->m, METRIC_CLIENTS_CLOSED);
    if (s->peer)
        quota_release(srv->quota, s->peer);
    free(s->peer);
    free(s->bearer);
    free(s);
    *s_p = NULL;
}

enum quota_verdict eio_session_set_peer(struct eio_session *s, const char *addr)
{
    if (!s->srv->quota || s->peer)
        return QUOTA_OK;
    enum quota_verdict v = quota_admit(s->srv->quota, addr);
    if (v == QUOTA_OK)
        s->peer = xstrdup(addr);
    return v;
}

void eio_session_take_bearer(struct eio_session *s, char *token)
{
    free(s->bearer);
    s->bearer = token;
}

const char *eio_session_bearer(const struct eio_session *s)
{
    return s->bearer;
}

void eio_session_reap_later(struct eio_session *s)
{
    lws_sul_schedule(s->srv->ctx, 0, &s->sul_reap, on_reap, 1);
}

void eio_session_on_packet(struct eio_session *s, const char *data, size_t len, bool is_binary)
{
    if (s->is_closing)
        return;
    const struct eio_handler *h = &s->srv->handler;
    if (is_binary) {
        h->on_message(s, data, len, true, h->arg);
        return;
    }
    enum eio_packet_type type;
    const char *payload;
    size_t payload_len;
    if (eio_packet_parse(data, len, &type, &payload, &payload_len) < 0) {
        eio_session_fail(s, EIO_END_NOW, "malformed Engine.IO packet");
        return;
    }
    switch (type) {
    case EIO_PONG:
        if (s->is_awaiting_pong)
            schedule_ping(s);
        return;
    case EIO_PING:
        answer_ping(s, payload, payload_len);
        return;
    case EIO_MESSAGE:
        h->on_message(s, payload, payload_len, false, h->arg);
        return;
    case EIO_CLOSE:
        end_by_peer(s);
        return;
    case EIO_NOOP:
        return;
    default:
        eio_session_fail(s, EIO_END_NOW, "unexpected Engine.IO packet type");
        return;
    }
}

int eio_session_send(struct eio_session *s, struct packet *p)
{
    if (s->is_closing)
        return 0;
    return queue_packet(s, p);
}

int eio_session_send_binary(struct eio_session *s, const void *data, size_t len)
{
    struct packet *p = packet_new(len);
    p->is_binary = true;
    memcpy(packet_data(p), data, len);
    int rc = eio_session_send(s, p);
    packet_unref(&p);
    return rc;
}

void eio_session_mark_connected(struct eio_session *s)
{
    deadline_cancel(&s->connect);
}

int eio_session_send_message(struct eio_session *s, const char *payload, size_t len)
{
    struct packet *p = packet_new(len + 1);
    packet_data(p)[0] = (unsigned char)eio_packet_char(EIO_MESSAGE);
    memcpy(packet_data(p) + 1, payload, len);
    int rc = eio_session_send(s, p);
    packet_unref(&p);
    return rc;
}

struct packet *eio_session_peek(const struct eio_session *s)
{
    if (s->is_end_now)
        return NULL;
    return fanout_queue_peek(&s->q);
}

struct packet *eio_session_peek_at(const struct eio_session *s, size_t i)
{
    if (s->is_end_now)
        return NULL;
    return fanout_queue_at(&s->q, i);
}

void eio_session_written(struct eio_session *s)
{
    struct packet *p = fanout_queue_peek(&s->q);
    if (!p)
        return;
    s->srv->queued_bytes -= p->len;
    metrics_add(s->srv->m, METRIC_DELIVERED_BYTES, p->len);
    fanout_queue_pop(&s->q);
}

void eio_session_close(struct eio_session *s, const char *reason)
{
    if (s->is_closing)
        return;
    log_debug("eio", "closing session sid=%s reason=%s", s->sid, reason);
    if (queue_packet(s, s->srv->close_pkt) < 0) {
        eio_session_drop(s, reason);
        return;
    }
    s->is_closing = true;
    s->is_end_after_flush = true;
    cancel_timers(s);
    s->ops->want_write(s);
}

void eio_session_drop(struct eio_session *s, const char *reason)
{
    if (s->is_end_now)
        return;
    log_debug("eio", "dropping session sid=%s reason=%s", s->sid, reason);
    s->is_closing = true;
    s->is_end_now = true;
    cancel_timers(s);
    s->ops->abort(s);
}

void eio_session_fail(struct eio_session *s, enum eio_end end, const char *why)
{
    metrics_inc(s->srv->m, METRIC_CLIENT_PROTOCOL_ERRORS);
    log_info_limited("eio", "closing session: %s sid=%s", why, s->sid);
    if (end == EIO_END_GRACEFUL)
        eio_session_close(s, why);
    else
        eio_session_drop(s, why);
}

bool eio_session_is_closing(const struct eio_session *s)
{
    return s->is_closing;
}

bool eio_session_should_end(const struct eio_session *s)
{
    return s->is_end_now || (s->is_end_after_flush && fanout_queue_empty(&s->q));
}

int eio_session_begin_upgrade(struct eio_session *s, void *probe, eio_probe_lost_fn *lost)
{
    if (s->ops->kind != EIO_TRANSPORT_POLLING || s->probe || s->is_closing)
        return -EBUSY;
    s->probe = probe;
    s->probe_lost = lost;
    return 0;
}

void eio_session_probe_answered(struct eio_session *s)
{
    if (s->ops->nudge)
        s->ops->nudge(s);
}

void eio_session_finish_upgrade(struct eio_session *s, const struct eio_transport_ops *ops,
                                void *transport)
{
    if (s->ops->release)
        s->ops->release(s);
    s->probe = NULL;
    s->ops = ops;
    s->transport = transport;
    if (s->is_end_now)
        ops->abort(s);
    else if (!fanout_queue_empty(&s->q) || s->is_end_after_flush)
        ops->want_write(s);
}

void eio_session_cancel_upgrade(struct eio_session *s)
{
    s->probe = NULL;
}

bool eio_session_is_upgrading(const struct eio_session *s)
{
    return s->probe != NULL;
}

enum eio_transport eio_session_transport_kind(const struct eio_session *s)
{
    return s->ops->kind;
}

const char *eio_session_sid(const struct eio_session *s)
{
    return s->sid;
}

void *eio_session_transport(const struct eio_session *s)
{
    return s->transport;
}

void eio_session_set_app(struct eio_session *s, void *app)
{
    s->app = app;
}

void *eio_session_app(const struct eio_session *s)
{
    return s->app;
}

struct eio_server *eio_session_server(const struct eio_session *s)
{
    return s->srv;
}

size_t eio_session_queued_bytes(const struct eio_session *s)
{
    return s->q.bytes;
}

#include "sio.h"

#include <errno.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "log.h"
#include "metrics.h"
#include "quota.h"
#include "replay.h"
#include "rooms.h"
#include "sio_packet.h"
#include "trainevents.h"
#include "xalloc.h"

#define SIO_ENCODE_MAX 4096

struct sio {
    struct rooms *rooms;
    struct metrics *m;
    struct runs *runs; /* history for late joiners, or NULL */
    size_t max_rooms_per_client;
    uint64_t n_broadcasts;      /* numbers broadcasts, so a client in two rooms gets one copy */
    const struct auth *auth;    /* NULL: no tokens required */
    struct lws_context *ctx;    /* for token expiry timers */
    unsigned max_packets_per_s; /* 0: unlimited */
};

struct sio_client {
    struct eio_session *session;
    char sid[EIO_SID_LEN + 1]; /* the Socket.IO socket id (not the Engine.IO sid) */
    bool is_connected;         /* to namespace "/" */
    uint64_t last_broadcast;   /* n_broadcasts of the last event queued */
    unsigned n_attachments_left;
    struct sio_packet pending; /* a binary packet waiting for its attachments */
    struct sio *sio;
    struct auth_grant *grant;          /* the CONNECT token's claims, when auth is on */
    lws_sorted_usec_list_t sul_expiry; /* closes the transport at the token's exp */
    struct quota_rate rate;            /* messages per second from this client */
};

/* ------------------------------------------------------------ replies */

/* Encodes p and queues it as an Engine.IO message. A client whose queue
 * is full is dropped. */
static void send_packet(struct sio *sio, struct sio_client *c, const struct sio_packet *p)
{
    char buf[SIO_ENCODE_MAX];
    int n = sio_packet_encode(p, buf, sizeof buf);
    if (n < 0) {
        log_error("sio", "reply too large to encode (type %s)", sio_type_name(p->type));
        return;
    }
    if (eio_session_send_message(c->session, buf, (size_t)n) < 0) {
        metrics_inc(sio->m, METRIC_CLIENTS_DROPPED_SLOW);
        eio_session_drop(c->session, "outbound queue full");
    }
}

/* Answers an ack id with one argument; steals arg. */
static void send_ack(struct sio *sio, struct sio_client *c, const struct sio_packet *req,
                     json_t *arg)
{
    struct sio_packet ack = {.type = SIO_ACK, .has_id = true, .id = req->id};
    snprintf(ack.nsp, sizeof ack.nsp, "%s", req->nsp);
    ack.data = json_array();
    json_array_append_new(ack.data, arg);
    send_packet(sio, c, &ack);
    sio_packet_fini(&ack);
}

/* Answers a request; a join's answer says what was replayed (count). */
static void ack_result(struct sio *sio, struct sio_client *c, const struct sio_packet *req,
                       const char *scenario, const char *error, const struct replay_count *count)
{
    if (error) {
        metrics_inc(sio->m, METRIC_SUBSCRIBES_REFUSED);
        log_info_limited("sio", "refused: %s sid=%s", error, eio_session_sid(c->session));
    }
    if (!req->has_id)
        return;
    json_t *res = error ? json_pack("{s:b, s:s}", "ok", 0, "error", error)
                        : json_pack("{s:b, s:s}", "ok", 1, "scenario_name", scenario);
    if (!error && count) {
        json_object_set_new(res, "runs", json_integer((json_int_t)count->n_runs));
        json_object_set_new(res, "replayed", json_integer((json_int_t)count->n_events));
    }
    send_ack(sio, c, req, res);
}

/* ------------------------------------------------------------ packets */

/* The token's exp has come: the transport is closed (not a Socket.IO
 * DISCONNECT), so a client reconnects and may present a fresh token. */
static void on_token_expired(lws_sorted_usec_list_t *sul)
{
    struct sio_client *c = lws_container_of(sul, struct sio_client, sul_expiry);
    metrics_inc(c->sio->m, METRIC_CLIENTS_TOKEN_EXPIRED);
    log_info_limited("sio", "closing session: token expired sid=%s", eio_session_sid(c->session));
    eio_session_close(c->session, "token expired");
}

static void arm_expiry(struct sio *sio, struct sio_client *c, int64_t now_s)
{
    int64_t at = auth_grant_expires_at(c->grant);
    lws_sul_cancel(&c->sul_expiry);
    if (at <= 0)
        return;
    lws_usec_t delay = (lws_usec_t)(at - now_s) * LWS_US_PER_SEC;
    lws_sul_schedule(sio->ctx, 0, &c->sul_expiry, on_token_expired, delay > 0 ? delay : 1);
}

/* Checks the CONNECT's token when auth is on; keeps its grant. Returns
 * AUTH_OK or why the client is refused. */
static enum auth_reason authorize(struct sio *sio, struct sio_client *c, const struct sio_packet *p)
{
    if (!sio->auth)
        return AUTH_OK;
    const char *token = NULL;
    size_t len = 0;
    int64_t now_s = (int64_t)time(NULL);
    struct auth_grant *grant = NULL;
    enum auth_reason r = auth_token_from_connect(p->data, &token, &len);
    const char *bearer = eio_session_bearer(c->session);
    if (r == AUTH_MISSING && bearer) { /* the handshake's Authorization: Bearer */
        token = bearer;
        len = strlen(bearer);
        r = AUTH_OK;
    }
    if (r == AUTH_OK)
        r = auth_verify(sio->auth, token, len, now_s, &grant);
    if (r != AUTH_OK) {
        metrics_auth_refused(sio->m, (int)r);
        log_info_limited("sio", "CONNECT refused: %s token sid=%s", auth_reason_name(r),
                         eio_session_sid(c->session));
        return r;
    }
    metrics_inc(sio->m, METRIC_AUTH_ACCEPTED);
    auth_grant_destroy(&c->grant);
    c->grant = grant;
    arm_expiry(sio, c, now_s);
    return AUTH_OK;
}

static void on_connect(struct sio *sio, struct sio_client *c, const struct sio_packet *p)
{
    struct sio_packet reply = {.type = SIO_CONNECT};
    snprintf(reply.nsp, sizeof reply.nsp, "%s", p->nsp);
    enum auth_reason why = AUTH_OK;
    if (strcmp(p->nsp, "/") != 0) {
        reply.type = SIO_CONNECT_ERROR;
        reply.data = json_pack("{s:s}", "message", "Invalid namespace");
    } else if ((why = authorize(sio, c, p)) != AUTH_OK) {
        reply.type = SIO_CONNECT_ERROR;
        reply.data = json_pack("{s:s, s:{s:s}}", "message", "unauthorized", "data", "reason",
                               auth_reason_name(why));
    } else {
        c->is_connected = true;
        eio_session_mark_connected(c->session);
        reply.data = json_pack("{s:s}", "sid", c->sid);
    }
    send_packet(sio, c, &reply);
    sio_packet_fini(&reply);
}

/* The scenario a subscribe/unsubscribe names, or NULL with *error set. */
static const char *requested_scenario(const struct sio_packet *p, const char **error)
{
    json_t *arg = json_array_get(p->data, 1);
    if (!json_is_object(arg)) {
        *error = "payload must be an object {\"scenario_name\": \"...\"}";
        return NULL;
    }
    json_t *name = json_object_get(arg, "scenario_name");
    if (!json_is_string(name)) {
        *error = "scenario_name must be a string";
        return NULL;
    }
    const char *s = json_string_value(name);
    size_t len = json_string_length(name);
    if (strcmp(s, SIO_ALL_SCENARIOS) != 0 && (strlen(s) != len || !te_name_valid(s, len))) {
        *error = "invalid scenario_name: 1-64 characters of A-Z a-z 0-9 . _ : - (or \"*\")";
        return NULL;
    }
    return s;
}

struct join {
    struct sio *sio;
    struct sio_client *c;
    const char *room;
};

/* A scenario whose events the joining client already gets live. */
static bool gets_live(const char *scenario, void *arg)
{
    const struct join *j = arg;
    const char *room = strcmp(j->room, SIO_ALL_SCENARIOS) == 0 ? scenario : SIO_ALL_SCENARIOS;
    return rooms_is_member(j->sio->rooms, room, j->c->session);
}

/* Replay has its own bound (fanout.h): a client that piles up unsent
 * history by subscribing over and over is dropped like a slow one. */
static void send_replayed(struct packet *p, void *arg)
{
    const struct join *j = arg;
    struct eio_session *s = j->c->session;
    if (eio_session_is_closing(s) || eio_session_send(s, p) >= 0)
        return;
    metrics_inc(j->sio->m, METRIC_CLIENTS_DROPPED_SLOW);
    log_warn_limited("sio", "dropping client: unsent history passed its bound sid=%s",
                     eio_session_sid(s));
    eio_session_drop(s, "outbound queue full");
}

/* Joins the room and, in the same loop step (no live event can come
 * between), queues its history; a room already joined replays nothing. */
static const char *join(struct sio *sio, struct sio_client *c, const char *scenario,
                        enum replay_mode mode, struct replay_count *count)
{
    int rc = rooms_join(sio->rooms, scenario, c->session, sio->max_rooms_per_client);
    if (rc == -E2BIG)
        return "too many subscriptions for one client";
    metrics_inc(sio->m, METRIC_SUBSCRIBES);
    if (rc == 0 && sio->runs) {
        struct join j = {.sio = sio, .c = c, .room = scenario};
        *count = replay_send(sio->runs, scenario, mode, gets_live, send_replayed, &j);
        metrics_add(sio->m, METRIC_REPLAYED_EVENTS, count->n_events);
    }
    return NULL;
}

static void on_subscribe(struct sio *sio, struct sio_client *c, const struct sio_packet *p,
                         bool is_join)
{
    const char *error = NULL;
    const char *scenario = requested_scenario(p, &error);
    struct replay_count count = {0, 0};
    enum replay_mode mode = REPLAY_CURVE;
    if (scenario && is_join &&
        replay_mode_parse(json_object_get(json_array_get(p->data, 1), "history"), &mode) < 0)
        error = "history must be one of \"curve\", \"latest\", \"none\", \"compact\"";
    else if (scenario && is_join && sio->auth && !auth_grant_allows(c->grant, scenario)) {
        metrics_inc(sio->m, METRIC_SUBSCRIBES_FORBIDDEN);
        log_info_limited("sio", "subscribe to %s forbidden by the token sid=%s", scenario,
                         eio_session_sid(c->session));
        error = "forbidden";
    } else if (scenario && is_join &&
               rooms_n_of_session(sio->rooms, c->session) >= sio->max_rooms_per_client &&
               !rooms_is_member(sio->rooms, scenario, c->session))
        error = "too many subscriptions for one client";
    else if (scenario && is_join)
        error = join(sio, c, scenario, mode, &count);
    else if (scenario) {
        rooms_leave(sio->rooms, scenario, c->session); /* leaving a room not joined is fine */
        metrics_inc(sio->m, METRIC_UNSUBSCRIBES);
    }
    ack_result(sio, c, p, error ? NULL : scenario, error, is_join ? &count : NULL);
}

/* True if j is exactly the string s (a JSON string may hold NUL bytes). */
static bool json_string_is(const json_t *j, const char *s)
{
    size_t len = strlen(s);
    return json_string_length(j) == len && memcmp(json_string_value(j), s, len) == 0;
}

static void on_event(struct sio *sio, struct sio_client *c, const struct sio_packet *p)
{
    const json_t *name = json_array_get(p->data, 0);
    if (json_string_is(name, "subscribe_training"))
        on_subscribe(sio, c, p, true);
    else if (json_string_is(name, "unsubscribe_training"))
        on_subscribe(sio, c, p, false);
    else
        ack_result(sio, c, p, NULL, "unknown event", NULL);
}

static void on_disconnect(struct sio *sio, struct sio_client *c)
{
    c->is_connected = false;
    rooms_leave_all(sio->rooms, c->session);
}

/* Packets other than CONNECT need a namespace the client has connected to;
 * anything else is an invalid state, which closes the session (as the
 * reference server does). */
static void dispatch(struct sio *sio, struct sio_client *c, const struct sio_packet *p)
{
    if (p->type != SIO_CONNECT && (!c->is_connected || strcmp(p->nsp, "/") != 0)) {
        eio_session_fail(c->session, EIO_END_GRACEFUL,
                         "packet for a namespace that is not connected");
        return;
    }
    switch (p->type) {
    case SIO_CONNECT:
        on_connect(sio, c, p);
        return;
    case SIO_DISCONNECT:
        on_disconnect(sio, c);
        return;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        on_event(sio, c, p);
        return;
    default: /* ACK / BINARY_ACK: the bridge never asks clients for acks */
        return;
    }
}

/* A binary attachment: counts it against the pending packet, and handles
 * that packet once it is complete. The bridge takes no binary arguments, so
 * the attachments themselves are not kept. */
static void on_attachment(struct sio *sio, struct sio_client *c)
{
    if (c->n_attachments_left == 0) {
        eio_session_fail(c->session, EIO_END_GRACEFUL, "binary frame without a binary packet");
        return;
    }
    if (--c->n_attachments_left == 0) {
        dispatch(sio, c, &c->pending);
        sio_packet_fini(&c->pending);
    }
}

static void on_text(struct sio *sio, struct sio_client *c, const char *data, size_t len)
{
    if (c->n_attachments_left) {
        eio_session_fail(c->session, EIO_END_GRACEFUL,
                         "text packet while binary attachments were expected");
        return;
    }
    struct sio_packet p;
    const char *why = NULL;
    if (sio_packet_parse(data, len, &p, &why) < 0) {
        eio_session_fail(c->session, EIO_END_GRACEFUL, why ? why : "malformed Socket.IO packet");
        return;
    }
    if (p.n_attachments) {
        c->pending = p; /* ownership moves to the client */
        c->n_attachments_left = p.n_attachments;
        return;
    }
    dispatch(sio, c, &p);
    sio_packet_fini(&p);
}

/* ------------------------------------------------------------ eio hooks */

static void on_open(struct eio_session *s, void *arg)
{
    struct sio_client *c = xcalloc(1, sizeof *c);
    c->session = s;
    c->sio = arg;
    eio_sid_generate(c->sid);
    eio_session_set_app(s, c);
}

/* True (and the client is dropped) when it has been flooding for
 * QUOTA_RATE_SECONDS seconds. */
static bool is_flooding(struct sio *sio, struct sio_client *c)
{
    if (!sio->max_packets_per_s)
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (!quota_rate_note(&c->rate, now_ms, sio->max_packets_per_s))
        return false;
    metrics_inc(sio->m, METRIC_CLIENTS_RATE_LIMITED);
    log_warn_limited("sio", "closing session: more than %u packets/s for %d s sid=%s",
                     sio->max_packets_per_s, QUOTA_RATE_SECONDS, eio_session_sid(c->session));
    eio_session_drop(c->session, "packet rate limit");
    return true;
}

static void on_message(struct eio_session *s, const char *data, size_t len, bool is_binary,
                       void *arg)
{
    struct sio *sio = arg;
    struct sio_client *c = eio_session_app(s);
    if (eio_session_is_closing(s) || is_flooding(sio, c))
        return;
    if (is_binary)
        on_attachment(sio, c);
    else
        on_text(sio, c, data, len);
}

static void on_close(struct eio_session *s, void *arg)
{
    struct sio *sio = arg;
    struct sio_client *c = eio_session_app(s);
    rooms_leave_all(sio->rooms, s);
    if (c) {
        sio_packet_fini(&c->pending);
        lws_sul_cancel(&c->sul_expiry);
        auth_grant_destroy(&c->grant);
    }
    free(c);
    eio_session_set_app(s, NULL);
}

/* ------------------------------------------------------------ public */

struct sio *sio_new(struct rooms *rooms, struct metrics *m, size_t max_rooms_per_client)
{
    struct sio *sio = xcalloc(1, sizeof *sio);
    sio->rooms = rooms;
    sio->m = m;
    sio->max_rooms_per_client = max_rooms_per_client;
    return sio;
}

void sio_set_runs(struct sio *sio, struct runs *runs)
{
    sio->runs = runs;
}

void sio_destroy(struct sio **sio_p)
{
    if (!sio_p || !*sio_p)
        return;
    free(*sio_p);
    *sio_p = NULL;
}

void sio_set_auth(struct sio *sio, const struct auth *auth, struct lws_context *ctx)
{
    sio->auth = auth;
    sio->ctx = ctx;
}

void sio_set_packet_rate(struct sio *sio, unsigned max_per_s)
{
    sio->max_packets_per_s = max_per_s;
}

struct eio_handler sio_eio_handler(struct sio *sio)
{
    return (struct eio_handler){
        .on_open = on_open, .on_message = on_message, .on_close = on_close, .arg = sio};
}

struct broadcast {
    struct sio *sio;
    struct packet *pkt;
    size_t n_queued;
};

static void deliver(struct eio_session *s, void *arg)
{
    struct broadcast *b = arg;
    struct sio_client *c = eio_session_app(s);
    if (!c || c->last_broadcast == b->sio->n_broadcasts || eio_session_is_closing(s))
        return;
    c->last_broadcast = b->sio->n_broadcasts;
    int rc = eio_session_send(s, b->pkt);
    if (rc == FANOUT_CONFLATED)
        metrics_inc(b->sio->m, METRIC_PROGRESS_CONFLATED);
    if (rc < 0) {
        metrics_inc(b->sio->m, METRIC_CLIENTS_DROPPED_SLOW);
        log_warn_limited("sio", "dropping slow client: outbound queue passed %zu bytes sid=%s",
                         eio_session_queued_bytes(s), eio_session_sid(s));
        eio_session_drop(s, "outbound queue full");
        return;
    }
    b->n_queued++;
}

size_t sio_broadcast(struct sio *sio, const char *scenario, struct packet *pkt)
{
    struct broadcast b = {.sio = sio, .pkt = pkt};
    sio->n_broadcasts++;
    rooms_each(sio->rooms, scenario, deliver, &b);
    rooms_each(sio->rooms, SIO_ALL_SCENARIOS, deliver, &b);
    metrics_add(sio->m, METRIC_DELIVERIES, b.n_queued);
    return b.n_queued;
}

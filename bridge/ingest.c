#include "ingest.h"

#include <czmq.h>
#include <errno.h>
#include <libwebsockets.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"
#include "zcurve.h"

#define INGEST_PROTOCOL_NAME "trainbridge-zmq"
#define INGEST_RCVHWM 100000
#define ENDPOINTS_TEXT 2048
#define CURVE_TICK_US LWS_US_PER_SEC

struct ingest {
    zsock_t *sub;
    struct metrics *m;
    ingest_event_fn *fn;
    void *arg;
    ingest_heartbeat_fn *heartbeat_fn; /* NULL: heartbeats are only counted */
    void *heartbeat_arg;
    zhashx_t *last_seq; /* trainer id -> last seq, stored as the pointer value */
    char endpoints[ENDPOINTS_TEXT];
    struct lws_context *ctx;
    struct lws *wsi; /* the adopted descriptor */
    lws_sorted_usec_list_t sul_carry_on;
    lws_sorted_usec_list_t sul_curve; /* reads the CURVE handshake monitor */
    struct zcurve *curve;             /* --zmq-curve-secret: the SUB socket is a CURVE server */
};

/* ------------------------------------------------------------ setup */

static int append_endpoint(struct ingest *in, const char *prefix, const char *ep)
{
    size_t len = strlen(in->endpoints);
    int n = snprintf(in->endpoints + len, sizeof in->endpoints - len, "%s%s%s", len ? "," : "",
                     prefix, ep);
    return n < 0 || (size_t)n >= sizeof in->endpoints - len ? -EMSGSIZE : 0;
}

static int attach_endpoints(struct ingest *in, const struct cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_zmq_bind; i++) {
        if (zsock_bind(in->sub, "%s", cfg->zmq_bind[i]) < 0) {
            log_error("ingest", "cannot bind %s: %s", cfg->zmq_bind[i], zmq_strerror(errno));
            return -EIO;
        }
        char *bound = zsock_last_endpoint(in->sub); /* the real port; caller frees */
        append_endpoint(in, "", bound ? bound : cfg->zmq_bind[i]);
        zstr_free(&bound);
    }
    for (size_t i = 0; i < cfg->n_zmq_connect; i++) {
        if (zsock_connect(in->sub, "%s", cfg->zmq_connect[i]) < 0) {
            log_error("ingest", "cannot connect %s: %s", cfg->zmq_connect[i], zmq_strerror(errno));
            return -EIO;
        }
        append_endpoint(in, ">", cfg->zmq_connect[i]);
    }
    return 0;
}

/* With --zmq-curve-secret, only trainers whose certificates are in
 * --zmq-curve-clients may publish (zcurve.c). */
static int secure_socket(struct ingest *in, const struct cfg *cfg)
{
    char err[512];
    if (!cfg->zmq_curve_secret)
        return 0;
    in->curve = zcurve_new(cfg->zmq_curve_secret, cfg->zmq_curve_clients, err, sizeof err);
    if (!in->curve) {
        log_error("ingest", "%s", err);
        return -EINVAL;
    }
    return zcurve_apply(in->curve, in->sub);
}

struct ingest *ingest_new(const struct cfg *cfg, struct metrics *m, ingest_event_fn *fn, void *arg)
{
    struct ingest *in = xcalloc(1, sizeof *in);
    in->m = m;
    in->fn = fn;
    in->arg = arg;
    in->last_seq = zhashx_new();
    in->sub = zsock_new(ZMQ_SUB);
    if (!in->sub) {
        log_error("ingest", "cannot create the SUB socket: %s", zmq_strerror(errno));
        ingest_destroy(&in);
        return NULL;
    }
    zsock_set_rcvhwm(in->sub, INGEST_RCVHWM);
    zsock_set_maxmsgsize(in->sub, INGEST_MAX_MSG_BYTES);
    zsock_set_linger(in->sub, 0);
    zsock_set_subscribe(in->sub, "");
    if (secure_socket(in, cfg) < 0 || attach_endpoints(in, cfg) < 0)
        ingest_destroy(&in);
    return in;
}

void ingest_set_heartbeat_fn(struct ingest *in, ingest_heartbeat_fn *fn, void *arg)
{
    in->heartbeat_fn = fn;
    in->heartbeat_arg = arg;
}

void ingest_destroy(struct ingest **in_p)
{
    if (!in_p || !*in_p)
        return;
    struct ingest *in = *in_p;
    if (in->ctx) { /* call before the lws context goes */
        lws_sul_cancel(&in->sul_carry_on);
        lws_sul_cancel(&in->sul_curve);
        lws_set_opaque_user_data(in->wsi, NULL);
    }
    zcurve_destroy(&in->curve); /* its monitor first: it watches the socket */
    zsock_destroy(&in->sub);
    zhashx_destroy(&in->last_seq);
    free(in);
    *in_p = NULL;
}

/* With CURVE on: counts the handshakes the monitor saw refused, once a
 * second (the monitor's pipe does not wake the loop). */
static void on_curve_tick(lws_sorted_usec_list_t *sul)
{
    struct ingest *in = lws_container_of(sul, struct ingest, sul_curve);
    metrics_add(in->m, METRIC_ZMQ_AUTH_FAILURES, zcurve_take_failures(in->curve));
    lws_sul_schedule(in->ctx, 0, &in->sul_curve, on_curve_tick, CURVE_TICK_US);
}

static int callback_ingest(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    struct ingest *ingest = lws_get_opaque_user_data(wsi);
    if (reason == LWS_CALLBACK_RAW_RX_FILE && ingest)
        ingest_on_readable(ingest);
    return 0;
}

const struct lws_protocols *ingest_protocol(void)
{
    static const struct lws_protocols protocol = {
        INGEST_PROTOCOL_NAME, callback_ingest, 0, 0, 0, NULL, 0};
    return &protocol;
}

int ingest_attach(struct ingest *in, struct lws_context *ctx, struct lws_vhost *vh)
{
    int fd = dup(zsock_fd(in->sub));
    if (fd < 0) {
        log_error("ingest", "dup(ZMQ_FD): %s", strerror(errno));
        return -EIO;
    }
    lws_sock_file_fd_type u = {.filefd = fd};
    in->wsi =
        lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, u, INGEST_PROTOCOL_NAME, NULL);
    if (!in->wsi) {
        log_error("ingest", "lws could not adopt the ZeroMQ descriptor");
        close(fd);
        return -EIO;
    }
    lws_set_opaque_user_data(in->wsi, in);
    in->ctx = ctx;
    if (in->curve)
        lws_sul_schedule(ctx, 0, &in->sul_curve, on_curve_tick, CURVE_TICK_US);
    return 0;
}

/* ------------------------------------------------------------ messages */

static void reject(struct ingest *in, const struct te_error *err)
{
    metrics_reject(in->m, err->code);
    log_warn_limited("ingest", "rejected message: %s: %s%s%s", te_errc_name(err->code), err->msg,
                     err->field[0] ? " field=" : "", err->field);
}

/* Counts what the trainer's sequence number says about messages lost
 * (gaps) or a restart at 1. Returns false for a repeat or a late arrival
 * (seq not above the last one): counted and not delivered, so a stream that
 * reaches the bridge twice (two proxies, say) is delivered once. */
static bool track_sequence(struct ingest *in, const struct te_event *ev);

/* A heartbeat repeats its trainer's latest event's seq: one above what we
 * have seen means events were lost (counted now, not when the next event
 * comes); an older one changes nothing. Heartbeats are never dropped here. */
static void track_heartbeat_sequence(struct ingest *in, const struct te_event *hb)
{
    uint64_t last = (uint64_t)(uintptr_t)zhashx_lookup(in->last_seq, hb->trainer);
    if (last != 0 && hb->seq <= last)
        return;
    if (last == 0) {
        track_sequence(in, hb); /* first sight: tracked like an event */
        return;
    }
    metrics_add(in->m, METRIC_INGEST_GAPS, hb->seq - last);
    zhashx_update(in->last_seq, hb->trainer, (void *)(uintptr_t)hb->seq);
}

static bool track_sequence(struct ingest *in, const struct te_event *ev)
{
    uint64_t last = (uint64_t)(uintptr_t)zhashx_lookup(in->last_seq, ev->trainer);
    void *seq_item = (void *)(uintptr_t)ev->seq;
    if (last == 0) {
        if (zhashx_size(in->last_seq) >= INGEST_MAX_TRAINERS) {
            log_warn_limited("ingest", "not tracking trainer %s: %d trainers tracked already",
                             ev->trainer, INGEST_MAX_TRAINERS);
            return true;
        }
        zhashx_insert(in->last_seq, ev->trainer, seq_item);
        return true;
    }
    if (ev->seq > last + 1) {
        metrics_add(in->m, METRIC_INGEST_GAPS, ev->seq - last - 1);
    } else if (ev->seq == 1) {
        metrics_inc(in->m, METRIC_INGEST_RESTARTS);
    } else if (ev->seq <= last) {
        metrics_inc(in->m, METRIC_INGEST_DUPLICATES);
        return false;
    }
    zhashx_update(in->last_seq, ev->trainer, seq_item);
    return true;
}

/* A heartbeat is counted and handed to the run store, never to clients. */
static void take_heartbeat(struct ingest *in, const struct te_event *hb)
{
    metrics_inc(in->m, METRIC_HEARTBEATS);
    if (!in->heartbeat_fn)
        return;
    enum heartbeat_reason reason = in->heartbeat_fn(hb, in->heartbeat_arg);
    if (reason == HEARTBEAT_TAKEN)
        return;
    metrics_heartbeat_ignored(in->m, reason);
    log_debug("ingest", "heartbeat ignored: %s scenario=%s trainer=%s",
              metrics_heartbeat_reason_name(reason), hb->scenario, hb->trainer);
}

static void accept_message(struct ingest *in, zmq_msg_t *topic, zmq_msg_t *payload)
{
    struct te_event ev;
    struct te_error err;
    if (te_frames_decode(zmq_msg_data(topic), zmq_msg_size(topic), zmq_msg_data(payload),
                         zmq_msg_size(payload), &ev, &err) < 0) {
        reject(in, &err);
        return;
    }
    if (ev.type == TE_HEARTBEAT) {
        track_heartbeat_sequence(in, &ev);
        take_heartbeat(in, &ev);
        return;
    }
    if (!track_sequence(in, &ev))
        return;
    metrics_inc(in->m, METRIC_INGEST_MESSAGES);
    metrics_add(in->m, METRIC_INGEST_BYTES, zmq_msg_size(payload));
    struct packet *pkt = codec_event_packet(&ev);
    if (!pkt)
        return;
    in->fn(&ev, pkt, in->arg);
    packet_unref(&pkt);
}

/* Receives the rest of a message with more than two frames and rejects it. */
static void reject_frames(struct ingest *in, int n_frames)
{
    void *sock = zsock_resolve(in->sub);
    zmq_msg_t extra;
    zmq_msg_init(&extra);
    while (zsock_rcvmore(in->sub) && zmq_msg_recv(&extra, sock, 0) >= 0)
        n_frames++;
    zmq_msg_close(&extra);
    struct te_error err = {.code = TE_E_FRAMES};
    snprintf(err.msg, sizeof err.msg, "expected 2 frames [topic, payload], got %d", n_frames);
    reject(in, &err);
}

/* Receives one whole message. Returns 1 if one was handled, 0 if none was
 * waiting, -EIO on a socket error. */
static int receive_one(struct ingest *in)
{
    void *sock = zsock_resolve(in->sub);
    zmq_msg_t topic, payload;
    zmq_msg_init(&topic);
    if (zmq_msg_recv(&topic, sock, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&topic);
        return e == EAGAIN || e == EINTR ? 0 : -EIO;
    }
    if (!zmq_msg_more(&topic)) {
        reject_frames(in, 1);
        zmq_msg_close(&topic);
        return 1;
    }
    zmq_msg_init(&payload);
    if (zmq_msg_recv(&payload, sock, 0) >= 0) {
        if (zmq_msg_more(&payload))
            reject_frames(in, 2);
        else
            accept_message(in, &topic, &payload);
    }
    zmq_msg_close(&payload);
    zmq_msg_close(&topic);
    return 1;
}

static void on_carry_on(lws_sorted_usec_list_t *sul)
{
    ingest_on_readable(lws_container_of(sul, struct ingest, sul_carry_on));
}

void ingest_on_readable(struct ingest *in)
{
    for (int n = 0; n < INGEST_BUDGET; n++) {
        int rc = receive_one(in);
        if (rc < 0) {
            log_error_limited("ingest", "receive failed: %s", zmq_strerror(errno));
            break;
        }
        if (rc == 0) {
            if (zsock_events(in->sub) & ZMQ_POLLIN) /* reading ZMQ_EVENTS re-arms ZMQ_FD */
                break;
            return;
        }
    }
    lws_sul_schedule(in->ctx, 0, &in->sul_carry_on, on_carry_on, 1);
}

int ingest_endpoints(const struct ingest *in, char *buf, size_t cap)
{
    size_t len = strlen(in->endpoints);
    if (len + 1 > cap)
        return -EMSGSIZE;
    memcpy(buf, in->endpoints, len + 1);
    return (int)len;
}

size_t ingest_n_trainers(const struct ingest *in)
{
    return in ? zhashx_size(in->last_seq) : 0;
}

#include "conformance_sio.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance_attachments.h"
#include "log.h"
#include "metrics.h"
#include "sio_packet.h"
#include "xalloc.h"

/* Room for "<type><n>-<nsp>,<id>" in front of the JSON data. */
#define HEADER_MAX_BYTES (SIO_MAX_NSP_LEN + 64)
/* The flags sio_packet_encode dumps with, to size its buffer beforehand. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

static const char *const namespaces[] = {"/", "/custom"};
#define N_NAMESPACES (sizeof namespaces / sizeof namespaces[0])

struct conformance_sio {
    struct metrics *m;
    size_t max_attachment_bytes;
};

/* One namespace as a session sees it. */
struct nsp_socket {
    bool is_connected;
    char sid[EIO_SID_LEN + 1]; /* the Socket.IO socket id, not the Engine.IO one */
};

struct client {
    struct eio_session *session;
    struct nsp_socket sockets[N_NAMESPACES];
    bool has_connected;                         /* a CONNECT ever succeeded */
    struct sio_packet pending;                  /* binary packet awaiting its frames */
    struct conformance_attachments attachments; /* its frames so far */
};

/* ------------------------------------------------------------ helpers */

/* The index of a known namespace, or -1. */
static int namespace_index(const char *nsp)
{
    for (size_t i = 0; i < N_NAMESPACES; i++)
        if (strcmp(nsp, namespaces[i]) == 0)
            return (int)i;
    return -1;
}

/* True if j is exactly the string s (a JSON string may hold NUL bytes). */
static bool json_string_is(const json_t *j, const char *s)
{
    size_t len = strlen(s);
    return json_is_string(j) && json_string_length(j) == len &&
           memcmp(json_string_value(j), s, len) == 0;
}

/* Names p's namespace (nsp comes from a parsed packet, so it fits). */
static void set_nsp(struct sio_packet *p, const char *nsp)
{
    (void)snprintf(p->nsp, sizeof p->nsp, "%s", nsp);
}

static void protocol_error(struct conformance_sio *cs, struct client *c, const char *why)
{
    metrics_inc(cs->m, METRIC_CLIENT_PROTOCOL_ERRORS);
    log_info_limited("fixture", "closing session: %s sid=%s", why, eio_session_sid(c->session));
    eio_session_close(c->session, why);
}

static void drop_slow(struct conformance_sio *cs, struct client *c)
{
    metrics_inc(cs->m, METRIC_CLIENTS_DROPPED_SLOW);
    log_warn_limited("fixture", "dropping client: outbound queue passed %zu bytes sid=%s",
                     eio_session_queued_bytes(c->session), eio_session_sid(c->session));
    eio_session_drop(c->session, "outbound queue full");
}

/* Forgets the binary packet being reassembled and its frames. */
static void reset_pending(struct client *c)
{
    sio_packet_fini(&c->pending);
    conformance_attachments_fini(&c->attachments);
}

/* ------------------------------------------------------------ sending */

/* Encodes p once, into a buffer sized for it, and queues it as one
 * Engine.IO message. Returns 0, or a negative errno (the session is dropped
 * if its queue is full). */
static int send_packet(struct conformance_sio *cs, struct client *c, const struct sio_packet *p)
{
    size_t json_len = p->data ? json_dumpb(p->data, NULL, 0, DUMP_FLAGS) : 0;
    if (p->data && json_len == 0)
        return -EINVAL;
    size_t cap = json_len + HEADER_MAX_BYTES;
    char *buf = xmalloc(cap);
    int n = sio_packet_encode(p, buf, cap);
    int rc = n < 0 ? n : eio_session_send_message(c->session, buf, (size_t)n);
    free(buf);
    if (n < 0)
        log_error("fixture", "cannot encode a %s packet: %s", sio_type_name(p->type), strerror(-n));
    else if (rc < 0)
        drop_slow(cs, c);
    return rc;
}

/* Queues the frames a reply's placeholders stand for, in their order. */
static int send_frames(struct conformance_sio *cs, struct client *c, const unsigned *order,
                       unsigned n)
{
    const struct conformance_attachments *a = &c->attachments;
    for (unsigned k = 0; k < n; k++) {
        if (eio_session_send_binary(c->session, a->data[order[k]], a->len[order[k]]) < 0) {
            drop_slow(cs, c);
            return -ENOBUFS;
        }
    }
    return 0;
}

/* Sends type/data (data borrowed) on the request's namespace, as is when the
 * request was plain text; for a binary request, with its placeholders
 * renumbered, as the binary type when any remain, then their frames. */
static void send_reply(struct conformance_sio *cs, struct client *c, const struct sio_packet *req,
                       enum sio_type type, json_t *data)
{
    struct sio_packet out = {.type = type, .has_id = type == SIO_ACK, .id = req->id, .data = data};
    set_nsp(&out, req->nsp);
    unsigned order[SIO_MAX_ATTACHMENTS];
    unsigned n = 0;
    if (req->n_attachments) {
        int rc = conformance_attachments_renumber(&c->attachments, data, order);
        if (rc < 0) {
            protocol_error(cs, c,
                           rc == -E2BIG ? "reply would carry too many attachment bytes"
                                        : "illegal attachments");
            return;
        }
        n = (unsigned)rc;
    }
    if (n) {
        out.type = type == SIO_ACK ? SIO_BINARY_ACK : SIO_BINARY_EVENT;
        out.n_attachments = n;
    }
    if (send_packet(cs, c, &out) == 0)
        send_frames(cs, c, order, n);
}

/* ------------------------------------------------------------ packets */

static void connect_error(struct conformance_sio *cs, struct client *c, const char *nsp)
{
    struct sio_packet reply = {.type = SIO_CONNECT_ERROR};
    set_nsp(&reply, nsp);
    reply.data = json_pack("{s:s}", "message", "Invalid namespace");
    send_packet(cs, c, &reply);
    sio_packet_fini(&reply);
}

/* Answers {"sid"} and emits "auth" with the CONNECT payload ({} if none). */
static void on_connect(struct conformance_sio *cs, struct client *c, const struct sio_packet *p)
{
    int i = namespace_index(p->nsp);
    if (i < 0) {
        connect_error(cs, c, p->nsp);
        return;
    }
    struct nsp_socket *sock = &c->sockets[i];
    if (sock->is_connected) {
        protocol_error(cs, c, "CONNECT to a namespace already connected");
        return;
    }
    sock->is_connected = true;
    eio_sid_generate(sock->sid);
    if (!c->has_connected)
        eio_session_mark_connected(c->session);
    c->has_connected = true;

    struct sio_packet reply = {.type = SIO_CONNECT};
    set_nsp(&reply, p->nsp);
    reply.data = json_pack("{s:s}", "sid", sock->sid);
    int rc = send_packet(cs, c, &reply);
    sio_packet_fini(&reply);
    if (rc < 0)
        return;
    struct sio_packet auth = {.type = SIO_EVENT};
    set_nsp(&auth, p->nsp);
    json_t *payload = p->data ? json_incref(p->data) : json_object();
    auth.data = json_pack("[s, o]", "auth", payload); /* takes payload */
    send_packet(cs, c, &auth);
    sio_packet_fini(&auth);
}

/* "message" -> "message-back" with the same arguments; "message-with-ack"
 * with an ack id -> ACK with the same arguments; anything else is ignored
 * (the reference registers no other handler). Edits p->data in place. */
static void on_event(struct conformance_sio *cs, struct client *c, struct sio_packet *p)
{
    const json_t *name = json_array_get(p->data, 0);
    if (json_string_is(name, "message")) {
        json_array_set_new(p->data, 0, json_string("message-back"));
        send_reply(cs, c, p, SIO_EVENT, p->data);
    } else if (json_string_is(name, "message-with-ack") && p->has_id) {
        json_array_remove(p->data, 0);
        send_reply(cs, c, p, SIO_ACK, p->data);
    }
}

/* A complete packet (binary ones with their frames). Only CONNECT may name
 * a namespace the session is not connected to; anything else there is an
 * invalid state, which closes the session as the reference server does. */
static void dispatch(struct conformance_sio *cs, struct client *c, struct sio_packet *p)
{
    if (p->type == SIO_CONNECT) {
        on_connect(cs, c, p);
        return;
    }
    int i = namespace_index(p->nsp);
    if (i < 0 || !c->sockets[i].is_connected) {
        protocol_error(cs, c, "packet for a namespace that is not connected");
        return;
    }
    switch (p->type) {
    case SIO_DISCONNECT:
        c->sockets[i].is_connected = false;
        return;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        on_event(cs, c, p);
        return;
    default: /* ACK / BINARY_ACK: the fixture never asks for acks */
        return;
    }
}

static void on_text(struct conformance_sio *cs, struct client *c, const char *data, size_t len)
{
    if (conformance_attachments_is_waiting(&c->attachments)) {
        protocol_error(cs, c, "text packet while binary attachments were expected");
        return;
    }
    struct sio_packet p;
    const char *why = NULL;
    if (sio_packet_parse(data, len, &p, &why) < 0) {
        protocol_error(cs, c, why ? why : "malformed Socket.IO packet");
        return;
    }
    if (p.n_attachments) {
        c->pending = p; /* the client owns it until its frames are in */
        conformance_attachments_expect(&c->attachments, p.n_attachments);
        return;
    }
    dispatch(cs, c, &p);
    sio_packet_fini(&p);
}

static void on_frame(struct conformance_sio *cs, struct client *c, const char *data, size_t len)
{
    int rc = conformance_attachments_add(&c->attachments, data, len);
    if (rc < 0) {
        protocol_error(cs, c,
                       rc == -EMSGSIZE ? "binary attachments over the byte bound"
                                       : "binary frame without a binary packet");
        reset_pending(c);
        return;
    }
    if (conformance_attachments_is_waiting(&c->attachments))
        return;
    dispatch(cs, c, &c->pending);
    reset_pending(c);
}

/* ------------------------------------------------------------ eio hooks */

static void on_open(struct eio_session *s, void *arg)
{
    struct conformance_sio *cs = arg;
    struct client *c = xcalloc(1, sizeof *c);
    c->session = s;
    sio_packet_fini(&c->pending); /* empties it: namespace "/", no data */
    conformance_attachments_init(&c->attachments, cs->max_attachment_bytes);
    eio_session_set_app(s, c);
}

static void on_message(struct eio_session *s, const char *data, size_t len, bool is_binary,
                       void *arg)
{
    struct conformance_sio *cs = arg;
    struct client *c = eio_session_app(s);
    if (!c)
        return;
    if (is_binary)
        on_frame(cs, c, data, len);
    else
        on_text(cs, c, data, len);
}

static void on_close(struct eio_session *s, void *arg)
{
    (void)arg;
    struct client *c = eio_session_app(s);
    if (c)
        reset_pending(c);
    free(c);
    eio_session_set_app(s, NULL);
}

/* ------------------------------------------------------------ public */

struct conformance_sio *conformance_sio_new(struct metrics *m, size_t max_attachment_bytes)
{
    struct conformance_sio *cs = xcalloc(1, sizeof *cs);
    cs->m = m;
    cs->max_attachment_bytes = max_attachment_bytes;
    return cs;
}

void conformance_sio_destroy(struct conformance_sio **cs_p)
{
    if (!cs_p || !*cs_p)
        return;
    free(*cs_p);
    *cs_p = NULL;
}

struct eio_handler conformance_sio_handler(struct conformance_sio *cs)
{
    return (struct eio_handler){
        .on_open = on_open, .on_message = on_message, .on_close = on_close, .arg = cs};
}

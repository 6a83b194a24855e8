#include "eio_ws.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "eio.h"
#include "eio_gate.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"

static void ws_want_write(struct eio_session *s)
{
    struct ws_conn *conn = eio_session_transport(s);
    lws_callback_on_writable(conn->wsi);
}

static void ws_abort(struct eio_session *s)
{
    struct ws_conn *conn = eio_session_transport(s);
    lws_set_timeout(conn->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static const struct eio_transport_ops ws_ops = {
    .kind = EIO_TRANSPORT_WEBSOCKET,
    .want_write = ws_want_write,
    .abort = ws_abort,
};

static int refuse(struct lws *wsi, struct eio_server *eio, enum eio_errc errc)
{
    log_info_limited("eio_ws", "refused WebSocket handshake: %s", eio_errc_message(errc));
    eio_server_note_refused(eio);
    return http_refuse_upgrade(wsi, errc);
}

/* An upgrade the gate refused: 403 for its Origin, 503 when full. */
static int refuse_at_gate(struct lws *wsi, struct eio_server *eio, enum eio_gate_verdict v)
{
    static const char full[] = "too many connections\n";
    if (v == EIO_GATE_ORIGIN)
        return refuse(wsi, eio, EIO_ERR_FORBIDDEN);
    struct http_response r = {.status = eio_gate_status(v),
                              .content_type = "text/plain",
                              .body = full,
                              .len = sizeof full - 1};
    return http_refuse_upgrade_with(wsi, &r);
}

/* The query of the upgrade request; -1 with *errc if refused. */
static int read_request(struct lws *wsi, const struct eio_server *eio, struct eio_query *q,
                        enum eio_errc *errc)
{
    char query[1024];
    *errc = EIO_ERR_BAD_REQUEST;
    int len = http_query_string(wsi, query, sizeof query);
    if (len < 0 || eio_query_parse(query, (size_t)len, q, errc) < 0)
        return -1;
    if (q->transport != EIO_TRANSPORT_WEBSOCKET || !eio_server_opts(eio)->allow_websocket) {
        *errc = EIO_ERR_UNKNOWN_TRANSPORT;
        return -1;
    }
    return 0;
}

int eio_ws_confirm_upgrade(struct lws *wsi, struct eio_server *eio)
{
    struct eio_query q;
    enum eio_errc errc;
    if (read_request(wsi, eio, &q, &errc) < 0)
        return refuse(wsi, eio, errc);
    if (!eio_server_is_accepting(eio))
        return refuse(wsi, eio, EIO_ERR_FORBIDDEN);
    char addr[EIO_GATE_ADDR_MAX];
    enum eio_gate_verdict v = eio_gate_check(wsi, eio, !q.has_sid, addr);
    if (v != EIO_GATE_OK)
        return refuse_at_gate(wsi, eio, v);
    if (!q.has_sid)
        return 0;
    struct eio_session *s = eio_server_find(eio, q.sid);
    if (!s)
        return refuse(wsi, eio, EIO_ERR_UNKNOWN_SID);
    if (eio_session_transport_kind(s) != EIO_TRANSPORT_POLLING || eio_session_is_upgrading(s) ||
        eio_session_is_closing(s))
        return refuse(wsi, eio, EIO_ERR_BAD_REQUEST);
    return 0;
}

static void probe_lost(void *probe)
{
    struct ws_conn *conn = probe;
    conn->session = NULL;
    conn->is_probe = false;
    lws_set_timeout(conn->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

/* A WebSocket without sid: a new session, counted against the bounds
 * (checked at the upgrade; one that no longer fits is closed). */
static int open_session(struct lws *wsi, struct eio_server *eio, struct ws_conn *conn)
{
    char addr[EIO_GATE_ADDR_MAX];
    conn->session = eio_session_open(eio, &ws_ops, conn);
    eio_gate_peer(wsi, addr);
    if (eio_session_set_peer(conn->session, addr) != QUOTA_OK)
        eio_session_drop(conn->session, "connection bound reached");
    eio_session_take_bearer(conn->session, eio_gate_bearer_new(wsi));
    return 0;
}

int eio_ws_established(struct lws *wsi, struct eio_server *eio, struct ws_conn *conn)
{
    memset(conn, 0, sizeof *conn);
    conn->wsi = wsi;
    struct eio_query q;
    enum eio_errc errc;
    if (read_request(wsi, eio, &q, &errc) < 0)
        return -1;
    if (!q.has_sid)
        return open_session(wsi, eio, conn);
    struct eio_session *s = eio_server_find(eio, q.sid);
    if (!s || eio_session_begin_upgrade(s, conn, probe_lost) < 0)
        return -1; /* the session changed between the handshake and now */
    conn->session = s;
    conn->is_probe = true;
    return 0;
}

/* A packet on a probing connection: "2probe" is answered, "5" completes the
 * upgrade; anything else ends the probe. Returns -1 to close. */
static int on_probe_packet(struct ws_conn *conn, const char *data, size_t len)
{
    if (len == 6 && memcmp(data, "2probe", 6) == 0) {
        conn->is_probe_reply_due = true;
        lws_callback_on_writable(conn->wsi);
        return 0;
    }
    if (len == 1 && data[0] == '5') {
        conn->is_probe = false;
        eio_session_finish_upgrade(conn->session, &ws_ops, conn);
        return 0;
    }
    log_info_limited("eio_ws", "closing upgrade probe: unexpected packet sid=%s",
                     eio_session_sid(conn->session));
    return -1;
}

static int write_probe_reply(struct lws *wsi, struct ws_conn *conn)
{
    static const unsigned char reply[6] = {'3', 'p', 'r', 'o', 'b', 'e'};
    unsigned char buf[LWS_PRE + sizeof reply];
    memcpy(buf + LWS_PRE, reply, sizeof reply);
    conn->is_probe_reply_due = false;
    if (lws_write(wsi, buf + LWS_PRE, 6, LWS_WRITE_TEXT) < 6)
        return -1;
    eio_session_probe_answered(conn->session);
    return 0;
}

/* Appends a fragment; returns -EMSGSIZE past max_payload. */
static int append_fragment(struct ws_conn *conn, const void *in, size_t len, size_t max_payload)
{
    if (conn->rx_len + len > max_payload)
        return -EMSGSIZE;
    if (conn->rx_len + len + 1 > conn->rx_cap) {
        conn->rx_cap = (conn->rx_len + len + 1) * 2;
        if (conn->rx_cap > max_payload + 1)
            conn->rx_cap = max_payload + 1;
        conn->rx = xrealloc(conn->rx, conn->rx_cap);
    }
    memcpy(conn->rx + conn->rx_len, in, len);
    conn->rx_len += len;
    conn->rx[conn->rx_len] = '\0';
    return 0;
}

static void reset_rx(struct ws_conn *conn)
{
    free(conn->rx);
    conn->rx = NULL;
    conn->rx_len = conn->rx_cap = 0;
}

int eio_ws_receive(struct lws *wsi, struct ws_conn *conn, const void *in, size_t len)
{
    if (!conn->session)
        return -1;
    if (conn->is_probe)
        return lws_is_final_fragment(wsi) && !lws_frame_is_binary(wsi)
                   ? on_probe_packet(conn, in, len)
                   : -1;
    bool is_final = lws_is_final_fragment(wsi);
    bool is_binary = lws_frame_is_binary(wsi);
    size_t max_payload = eio_server_opts(eio_session_server(conn->session))->max_payload;
    if (is_final && conn->rx_len == 0) { /* the common case: one whole frame */
        if (len > max_payload)
            goto too_big;
        eio_session_on_packet(conn->session, in, len, is_binary);
        return 0;
    }
    if (conn->rx_len == 0)
        conn->is_rx_binary = is_binary;
    if (append_fragment(conn, in, len, max_payload) < 0)
        goto too_big;
    if (is_final) {
        eio_session_on_packet(conn->session, conn->rx, conn->rx_len, conn->is_rx_binary);
        reset_rx(conn);
    }
    return 0;
too_big:
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
    eio_session_fail(conn->session, EIO_END_NOW, "message over max-payload");
    return -1;
}

/* Writes a WebSocket frame header (FIN, text or binary, unmasked) for a
 * payload of len bytes. Returns the header's length. */
static size_t put_frame_header(unsigned char *h, size_t len, bool is_binary)
{
    h[0] = (unsigned char)(0x80 | (is_binary ? 0x2 : 0x1));
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* Frames the packets waiting at the head of the session's queue into buf,
 * as many as fit in EIO_WS_BATCH_BYTES of payload. Returns how many. */
static size_t build_batch(const struct eio_session *s, unsigned char *buf, size_t *len_out)
{
    size_t n = 0, len = 0, payload = 0;
    struct packet *p;
    const size_t room = EIO_WS_BATCH_BUF_BYTES - LWS_PRE;
    while ((p = eio_session_peek_at(s, n)) != NULL && payload + p->len <= EIO_WS_BATCH_BYTES &&
           len + EIO_WS_FRAME_HEADER_MAX + p->len <= room) {
        len += put_frame_header(buf + len, p->len, p->is_binary);
        memcpy(buf + len, packet_data(p), p->len);
        len += p->len;
        payload += p->len;
        n++;
    }
    *len_out = len;
    return n;
}

/* Writes what is queued: one packet through lws_write's own framing, or
 * several pre-framed in one raw write. Returns the packets written, or -1. */
static int write_queued(struct lws *wsi, struct eio_session *s, unsigned char *scratch)
{
    struct packet *first = eio_session_peek(s);
    struct packet *second = eio_session_peek_at(s, 1);
    if (!second || first->len + second->len > EIO_WS_BATCH_BYTES) {
        enum lws_write_protocol kind = first->is_binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
        return lws_write(wsi, packet_data(first), first->len, kind) < (int)first->len ? -1 : 1;
    }
    size_t len;
    size_t n = build_batch(s, scratch + LWS_PRE, &len);
    if (lws_write(wsi, scratch + LWS_PRE, len, LWS_WRITE_RAW) < (int)len)
        return -1;
    return (int)n;
}

int eio_ws_writeable(struct lws *wsi, struct ws_conn *conn, unsigned char *scratch)
{
    struct eio_session *s = conn->session;
    if (!s)
        return -1;
    if (conn->is_probe)
        return conn->is_probe_reply_due ? write_probe_reply(wsi, conn) : 0;
    if (eio_session_peek(s)) {
        int n = write_queued(wsi, s, scratch);
        if (n < 0)
            return -1;
        while (n--)
            eio_session_written(s);
    }
    if (eio_session_should_end(s)) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    if (eio_session_peek(s))
        lws_callback_on_writable(wsi);
    return 0;
}

void eio_ws_closed(struct ws_conn *conn)
{
    reset_rx(conn);
    if (conn->is_probe && conn->session) {
        eio_session_cancel_upgrade(conn->session);
        conn->session = NULL;
        return;
    }
    eio_session_free(&conn->session);
}

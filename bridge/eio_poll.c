#include "eio_poll.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "eio.h"
#include "eio_gate.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"

static const char CONTENT_TYPE_PAYLOAD[] = "text/plain; charset=UTF-8";

/* A polling session's transport state. */
struct poll_state {
    struct eio_session *session;
    struct lws *held_get; /* the long poll waiting for packets, or NULL */
    struct lws *post;     /* the POST being received, or NULL */
    bool is_nudged;       /* answer the next poll at once, noop if need be */
};

/* ------------------------------------------------------------ transport ops */

static struct poll_state *state_of(const struct eio_session *s)
{
    return eio_session_transport(s);
}

static void kill_request(struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static void poll_want_write(struct eio_session *s)
{
    struct poll_state *ps = state_of(s);
    if (ps->held_get)
        lws_callback_on_writable(ps->held_get);
}

static void poll_abort(struct eio_session *s)
{
    struct poll_state *ps = state_of(s);
    if (ps->held_get)
        kill_request(ps->held_get);
    ps->held_get = NULL;
    eio_session_reap_later(s);
}

/* Answer the held poll now (noop if nothing is queued). A session that is
 * over and has no poll to answer goes at once. */
static void poll_nudge(struct eio_session *s)
{
    struct poll_state *ps = state_of(s);
    ps->is_nudged = true;
    if (ps->held_get)
        lws_callback_on_writable(ps->held_get);
    else if (eio_session_should_end(s))
        eio_session_reap_later(s);
}

/* The session moved to WebSocket: a poll still held is answered with a
 * noop by its own writeable callback, without the session. */
static void poll_release(struct eio_session *s)
{
    struct poll_state *ps = state_of(s);
    if (ps->held_get) {
        struct poll_conn *pc = lws_wsi_user(ps->held_get);
        pc->is_released = true;
        lws_callback_on_writable(ps->held_get);
    }
    free(ps);
}

static void poll_detach(struct eio_session *s)
{
    struct poll_state *ps = state_of(s);
    if (ps->held_get)
        kill_request(ps->held_get);
    free(ps);
}

static const struct eio_transport_ops poll_ops = {
    .kind = EIO_TRANSPORT_POLLING,
    .want_write = poll_want_write,
    .abort = poll_abort,
    .nudge = poll_nudge,
    .release = poll_release,
    .detach = poll_detach,
};

/* ------------------------------------------------------------ helpers */

/* The polling session a request belongs to, or NULL if it is gone or has
 * moved to another transport. */
static struct eio_session *session_of(const struct poll_conn *pc)
{
    if (!pc->eio || !pc->sid[0])
        return NULL;
    struct eio_session *s = eio_server_find(pc->eio, pc->sid);
    if (!s || eio_session_transport_kind(s) != EIO_TRANSPORT_POLLING)
        return NULL;
    return s;
}

static const char *cors_origin(const struct poll_conn *pc)
{
    return pc->origin[0] ? pc->origin : NULL;
}

static int respond(struct lws *wsi, struct http_out *out, const struct poll_conn *pc, int status,
                   const char *content_type, const char *body, size_t len)
{
    struct http_response r = {.status = status,
                              .content_type = content_type,
                              .body = body,
                              .len = len,
                              .allow_origin = cors_origin(pc)};
    return http_respond(wsi, out, &r);
}

/* A refused request (Engine.IO error body), counted. */
static int refuse(struct lws *wsi, struct http_out *out, const struct poll_conn *pc,
                  struct eio_server *eio, enum eio_errc errc)
{
    eio_server_note_refused(eio);
    return http_respond_eio_error(wsi, out, errc, cors_origin(pc));
}

/* Answers a held poll from its WRITEABLE callback. */
static int answer_now(struct lws *wsi, struct http_out *out, const struct poll_conn *pc,
                      const char *body, size_t len)
{
    struct http_response r = {.status = HTTP_STATUS_OK,
                              .content_type = CONTENT_TYPE_PAYLOAD,
                              .body = body,
                              .len = len,
                              .allow_origin = cors_origin(pc)};
    return http_respond_now(wsi, out, &r);
}

/* Makes wsi the session's held poll, answered as soon as there is
 * something to say. */
static int hold_poll(struct lws *wsi, struct poll_conn *pc, struct eio_session *s)
{
    struct poll_state *ps = state_of(s);
    ps->held_get = wsi;
    pc->is_held_get = true;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    if (eio_session_peek(s) || ps->is_nudged || eio_session_should_end(s))
        lws_callback_on_writable(wsi);
    return 0;
}

static void bind_request(struct poll_conn *pc, const char *sid)
{
    snprintf(pc->sid, sizeof pc->sid, "%s", sid);
}

/* ------------------------------------------------------------ requests */

/* A handshake the gate refused: 403 for its Origin, 503 when full. */
static int refuse_at_gate(struct lws *wsi, struct http_out *out, const struct poll_conn *pc,
                          enum eio_gate_verdict v)
{
    static const char full[] = "too many connections\n";
    if (v == EIO_GATE_ORIGIN)
        return refuse(wsi, out, pc, pc->eio, EIO_ERR_FORBIDDEN);
    return respond(wsi, out, pc, eio_gate_status(v), "text/plain", full, sizeof full - 1);
}

static int handshake(struct lws *wsi, struct http_out *out, struct poll_conn *pc)
{
    if (!eio_server_is_accepting(pc->eio))
        return refuse(wsi, out, pc, pc->eio, EIO_ERR_FORBIDDEN);
    char addr[EIO_GATE_ADDR_MAX];
    enum eio_gate_verdict v = eio_gate_check(wsi, pc->eio, true, addr);
    if (v != EIO_GATE_OK)
        return refuse_at_gate(wsi, out, pc, v);
    struct poll_state *ps = xcalloc(1, sizeof *ps);
    struct eio_session *s = eio_session_open(pc->eio, &poll_ops, ps);
    ps->session = s;
    eio_session_set_peer(s, addr); /* fits: checked just above, same loop turn */
    eio_session_take_bearer(s, eio_gate_bearer_new(wsi));
    bind_request(pc, eio_session_sid(s));
    return hold_poll(wsi, pc, s);
}

static int begin_poll(struct lws *wsi, struct http_out *out, struct poll_conn *pc,
                      struct eio_session *s)
{
    if (state_of(s)->held_get) {
        pc->sid[0] = '\0';
        eio_session_fail(s, EIO_END_GRACEFUL, "overlapping long polls"); /* held poll gets "1" */
        return refuse(wsi, out, pc, pc->eio, EIO_ERR_BAD_REQUEST);
    }
    return hold_poll(wsi, pc, s);
}

static int payload_too_large(struct lws *wsi, struct http_out *out, const struct poll_conn *pc,
                             struct eio_session *s)
{
    static const char body[] = "payload too large\n";
    if (s)
        eio_session_fail(s, EIO_END_NOW, "POST body over max-payload");
    return respond(wsi, out, pc, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, "text/plain", body,
                   sizeof body - 1);
}

static int begin_post(struct lws *wsi, struct http_out *out, struct poll_conn *pc,
                      struct eio_session *s)
{
    struct poll_state *ps = state_of(s);
    if (ps->post) {
        pc->sid[0] = '\0';
        eio_session_fail(s, EIO_END_NOW, "overlapping POSTs");
        return refuse(wsi, out, pc, pc->eio, EIO_ERR_BAD_REQUEST);
    }
    char length[32];
    size_t max_payload = eio_server_opts(pc->eio)->max_payload;
    if (lws_hdr_copy(wsi, length, sizeof length, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        strtoull(length, NULL, 10) > max_payload) {
        pc->sid[0] = '\0';
        return payload_too_large(wsi, out, pc, s);
    }
    ps->post = wsi;
    pc->is_posting = true;
    return 0;
}

/* Remembers the request's Origin when --cors-origin allows it. */
static void read_origin(struct lws *wsi, struct poll_conn *pc)
{
    if (!http_origin(wsi, pc->origin, sizeof pc->origin) ||
        !eio_server_allows_origin(pc->eio, pc->origin))
        pc->origin[0] = '\0';
}

static int preflight(struct lws *wsi, struct http_out *out, const struct poll_conn *pc)
{
    struct http_response r = {.status = HTTP_STATUS_NO_CONTENT,
                              .content_type = "text/plain",
                              .allow_origin = cors_origin(pc),
                              .is_preflight = true};
    return http_respond(wsi, out, &r);
}

/* The session a request with a sid names; NULL after answering if it
 * cannot be served on this transport. */
static struct eio_session *find_session(struct lws *wsi, struct http_out *out, struct poll_conn *pc,
                                        const struct eio_query *q, int *rc)
{
    struct eio_session *s = eio_server_find(pc->eio, q->sid);
    if (!s)
        *rc = refuse(wsi, out, pc, pc->eio, EIO_ERR_UNKNOWN_SID);
    else if (eio_session_transport_kind(s) != EIO_TRANSPORT_POLLING)
        *rc = refuse(wsi, out, pc, pc->eio, EIO_ERR_BAD_REQUEST);
    else
        return s;
    return NULL;
}

/* Parses and checks the query; answers and returns -1 if refused. */
static int read_query(struct lws *wsi, struct http_out *out, struct poll_conn *pc,
                      struct eio_query *q, int *rc)
{
    char query[1024];
    enum eio_errc errc;
    int len = http_query_string(wsi, query, sizeof query);
    if (len < 0 || eio_query_parse(query, (size_t)len, q, &errc) < 0) {
        *rc = refuse(wsi, out, pc, pc->eio, len < 0 ? EIO_ERR_BAD_REQUEST : errc);
        return -1;
    }
    const struct eio_server_opts *opts = eio_server_opts(pc->eio);
    bool is_offered = (q->transport == EIO_TRANSPORT_POLLING && opts->allow_polling) ||
                      (q->transport == EIO_TRANSPORT_WEBSOCKET && opts->allow_websocket);
    if (!is_offered || q->transport == EIO_TRANSPORT_WEBSOCKET) { /* ws without Upgrade */
        *rc = refuse(wsi, out, pc, pc->eio,
                     is_offered ? EIO_ERR_BAD_REQUEST : EIO_ERR_UNKNOWN_TRANSPORT);
        return -1;
    }
    return 0;
}

int eio_poll_on_request(struct lws *wsi, struct http_out *out, struct poll_conn *pc,
                        struct eio_server *eio)
{
    memset(pc, 0, sizeof *pc);
    pc->eio = eio;
    pc->method = http_method(wsi);
    read_origin(wsi, pc);
    if (pc->method == HTTP_OPTIONS)
        return preflight(wsi, out, pc);
    struct eio_query q;
    int rc = 0;
    if (read_query(wsi, out, pc, &q, &rc) < 0)
        return rc;
    if (!q.has_sid)
        return pc->method == HTTP_GET ? handshake(wsi, out, pc)
                                      : refuse(wsi, out, pc, eio, EIO_ERR_BAD_HANDSHAKE_METHOD);
    struct eio_session *s = find_session(wsi, out, pc, &q, &rc);
    if (!s)
        return rc;
    bind_request(pc, q.sid);
    if (pc->method == HTTP_GET)
        return begin_poll(wsi, out, pc, s);
    if (pc->method == HTTP_POST)
        return begin_post(wsi, out, pc, s);
    pc->sid[0] = '\0';
    return refuse(wsi, out, pc, eio, EIO_ERR_BAD_REQUEST);
}

/* ------------------------------------------------------------ POST bodies */

int eio_poll_on_body(struct poll_conn *pc, const void *in, size_t len)
{
    if (!pc->is_posting || len == 0)
        return 0;
    size_t max_payload = eio_server_opts(pc->eio)->max_payload;
    if (pc->body_len + len > max_payload) {
        pc->body_len = max_payload + 1; /* remembered as too large; the rest is dropped */
        return 0;
    }
    pc->body = xrealloc(pc->body, pc->body_len + len + 1);
    memcpy(pc->body + pc->body_len, in, len);
    pc->body_len += len;
    return 0;
}

/* Hands one packet of a POST body to the session; a text packet whose type
 * is not Engine.IO's makes the whole body malformed. */
static int deliver_packet(const char *data, size_t len, bool is_binary, void *arg)
{
    enum eio_packet_type type;
    const char *payload;
    size_t payload_len;
    if (!is_binary && eio_packet_parse(data, len, &type, &payload, &payload_len) < 0)
        return -EPROTO;
    eio_session_on_packet(arg, data, len, is_binary);
    return 0;
}

static void end_post(struct lws *wsi, struct poll_conn *pc, struct eio_session *s)
{
    if (s && state_of(s)->post == wsi)
        state_of(s)->post = NULL;
    free(pc->body);
    pc->body = NULL;
}

int eio_poll_on_body_done(struct lws *wsi, struct http_out *out, struct poll_conn *pc)
{
    if (!pc->is_posting)
        return 0;
    pc->is_posting = false;
    struct eio_session *s = session_of(pc);
    size_t len = pc->body_len, max_payload = eio_server_opts(pc->eio)->max_payload;
    if (len > max_payload) {
        end_post(wsi, pc, s);
        return payload_too_large(wsi, out, pc, s);
    }
    if (!s) {
        end_post(wsi, pc, s);
        return refuse(wsi, out, pc, pc->eio, EIO_ERR_BAD_REQUEST);
    }
    int rc = eio_payload_each(pc->body ? pc->body : "", len, deliver_packet, s);
    end_post(wsi, pc, s);
    if (rc < 0) {
        eio_session_fail(s, EIO_END_NOW, "malformed long-polling payload");
        return refuse(wsi, out, pc, pc->eio, EIO_ERR_BAD_REQUEST);
    }
    return respond(wsi, out, pc, HTTP_STATUS_OK, "text/html", "ok", 2);
}

/* ------------------------------------------------------------ long polls */

static size_t encoded_len(struct packet *p)
{
    return p->is_binary ? 1 + eio_base64_len(p->len) : p->len;
}

/* How many queued packets the next answer carries, and its length. */
static size_t plan_answer(const struct eio_session *s, size_t *len_out)
{
    size_t n = 0, len = 0;
    struct packet *p;
    while (n < EIO_POLL_MAX_PACKETS && (p = eio_session_peek_at(s, n)) != NULL) {
        size_t add = encoded_len(p) + (n > 0);
        if (n > 0 && len + add > EIO_POLL_MAX_RESPONSE)
            break;
        len += add;
        n++;
    }
    *len_out = len;
    return n;
}

static void encode_answer(const struct eio_session *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        struct packet *p = eio_session_peek_at(s, i);
        if (i > 0)
            *out++ = EIO_RECORD_SEPARATOR;
        if (p->is_binary) {
            *out++ = 'b';
            eio_base64_encode(packet_data(p), p->len, out);
            out += eio_base64_len(p->len);
        } else {
            memcpy(out, packet_data(p), p->len);
            out += p->len;
        }
    }
}

/* Answers the held poll with what is queued, or keeps holding it. The
 * request's data (pc) is not touched after the response: lws may free it
 * when a keep-alive transaction completes. */
static int answer_poll(struct lws *wsi, struct http_out *out, struct poll_conn *pc,
                       struct eio_session *s)
{
    struct poll_state *ps = state_of(s);
    size_t len;
    size_t n = plan_answer(s, &len);
    if (n == 0 && !ps->is_nudged)
        return eio_session_should_end(s) ? -1 : 0; /* nothing to say yet: keep holding */
    ps->held_get = NULL;
    ps->is_nudged = false;
    pc->is_held_get = false;
    int rc;
    if (n == 0) {
        rc = answer_now(wsi, out, pc, "6", 1);
    } else {
        char *body = xmalloc(len + 1);
        encode_answer(s, n, body);
        rc = answer_now(wsi, out, pc, body, len);
        free(body);
        while (n--)
            eio_session_written(s);
    }
    if (eio_session_should_end(s))
        eio_session_reap_later(s);
    return rc;
}

int eio_poll_writeable(struct lws *wsi, struct http_out *out, struct poll_conn *pc)
{
    if (!pc->is_held_get)
        return 0; /* not asked for */
    if (pc->is_released) {
        pc->is_held_get = pc->is_released = false;
        return answer_now(wsi, out, pc, "6", 1);
    }
    struct eio_session *s = session_of(pc);
    if (!s || state_of(s)->held_get != wsi) {
        pc->is_held_get = false;
        return -1;
    }
    return answer_poll(wsi, out, pc, s);
}

void eio_poll_closed(struct lws *wsi, struct poll_conn *pc)
{
    struct eio_session *s = session_of(pc);
    end_post(wsi, pc, s);
    if (s && state_of(s)->held_get == wsi) {
        state_of(s)->held_get = NULL;
        log_debug("eio_poll", "long poll closed prematurely sid=%s", pc->sid);
        eio_session_drop(s, "poll connection closed prematurely");
    }
    pc->sid[0] = '\0';
    pc->is_held_get = false;
}

/* eio_poll: the Engine.IO long-polling transport.
 *
 * GET without sid is the handshake (a new session; the open packet is the
 * answer). GET with sid is a long poll: held until the session has packets
 * (joined by the record separator, binary ones as "b<base64>"), at most one
 * at a time (a second one closes the session). POST with sid carries packets
 * from the client, answered "ok"; one at a time, at most max_payload bytes
 * (HTTP 413 past it). A held poll whose connection goes away ends the
 * session. During an upgrade to WebSocket a held poll is answered with a
 * noop so the client can pause, and once the upgrade is done every further
 * request with that sid is refused (400, "Bad request").
 *
 * Owns struct poll_conn, the per-request data of HTTP requests on an
 * Engine.IO path, and each polling session's transport state (freed with
 * the session, or when an upgrade moves the session away). Requests find
 * their session by sid on every callback and never keep a pointer to it, so
 * a session can end while requests are in flight. */
#ifndef TB_EIO_POLL_H
#define TB_EIO_POLL_H

#include <stdbool.h>
#include <stddef.h>

#include "eio_packet.h"
#include "http.h"

struct eio_server;
struct lws;

struct poll_conn {
    struct eio_server *eio;    /* the mount the request came to */
    char sid[EIO_SID_LEN + 1]; /* "" until the request belongs to a session */
    enum http_method method;
    bool is_held_get; /* answered in HTTP_WRITEABLE */
    bool is_released; /* the session upgraded: answer noop */
    bool is_posting;  /* an accepted POST whose body is being received */
    char *body;       /* POST body so far */
    size_t body_len;
    char origin[HTTP_ORIGIN_MAX]; /* the request's Origin if CORS allows it, else "" */
};

/* Largest long-poll answer (more stays queued for the next poll): bytes,
 * and packets: python-engineio drops the connection when one answer holds
 * more than 16 packets. */
#define EIO_POLL_MAX_RESPONSE ((size_t)256 * 1024)
#define EIO_POLL_MAX_PACKETS 16

/* LWS_CALLBACK_HTTP on the Engine.IO mount eio (resolved by server.c).
 * Responses go through out. Returns what the callback returns. */
int eio_poll_on_request(struct lws *wsi, struct http_out *out, struct poll_conn *pc,
                        struct eio_server *eio);

/* LWS_CALLBACK_HTTP_BODY / _BODY_COMPLETION of a POST. */
int eio_poll_on_body(struct poll_conn *pc, const void *in, size_t len);
int eio_poll_on_body_done(struct lws *wsi, struct http_out *out, struct poll_conn *pc);

/* LWS_CALLBACK_HTTP_WRITEABLE with no response pending: a held GET. */
int eio_poll_writeable(struct lws *wsi, struct http_out *out, struct poll_conn *pc);

/* LWS_CALLBACK_CLOSED_HTTP (or the request is over): lets go of pc. */
void eio_poll_closed(struct lws *wsi, struct poll_conn *pc);

#endif

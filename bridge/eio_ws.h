/* eio_ws: the Engine.IO WebSocket transport. Checks the upgrade request
 * (path /socket.io/, EIO=4, transport=websocket) and refuses a bad one with
 * the spec's HTTP 400; opens a session per connection; reassembles
 * fragmented messages up to max_payload; writes one queued packet per
 * WRITEABLE callback; frees the session when lws reports the close.
 * Owns struct ws_conn, the per-connection data lws allocates. */
#ifndef TB_EIO_WS_H
#define TB_EIO_WS_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>

struct eio_session;
struct server_ctx;

struct ws_conn {
    struct lws *wsi;
    struct eio_session *session;
    char *rx;      /* a message being reassembled from fragments */
    size_t rx_len;
    size_t rx_cap;
    bool is_rx_binary;
};

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 to accept, 1 if refused (answered). */
int eio_ws_confirm_upgrade(struct lws *wsi, struct server_ctx *ctx);
int eio_ws_established(struct lws *wsi, struct server_ctx *ctx, struct ws_conn *conn);
int eio_ws_receive(struct lws *wsi, struct server_ctx *ctx, struct ws_conn *conn, const void *in,
                   size_t len);
int eio_ws_writeable(struct lws *wsi, struct ws_conn *conn);
void eio_ws_closed(struct ws_conn *conn);

#endif

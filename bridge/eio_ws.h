/* eio_ws: the Engine.IO WebSocket transport. Checks the upgrade request
 * (path /socket.io/, EIO=4, transport=websocket) and refuses a bad one with
 * the spec's HTTP 400; opens a session per connection; reassembles
 * fragmented messages up to max_payload; on each WRITEABLE callback writes
 * every queued packet (up to EIO_WS_BATCH_BYTES) in one system call, framing
 * them itself as unmasked server frames, because a loopback write() costs
 * ~5-7 µs whatever it carries (tests/bench/tb_writecost.c; README,
 * "Performance"); frees the session when lws reports
 * the close. While it probes an upgrade the connection only answers
 * "2probe" with "3probe" and waits for "5"; then it becomes the session's
 * transport (eio_session_finish_upgrade) and flushes its queue.
 * Owns struct ws_conn, the per-connection data lws allocates. server.c
 * resolves which Engine.IO server (mount) a connection belongs to.
 *
 * Hand-built frames are only correct while no WebSocket extension (e.g.
 * permessage-deflate) is negotiated: server.c creates its vhost without
 * extensions and asserts so. */
#ifndef TB_EIO_WS_H
#define TB_EIO_WS_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>

struct eio_server;
struct eio_session;

/* Frames written per system call: at most this many payload bytes (one
 * larger packet goes alone), into a scratch buffer of this size. */
#define EIO_WS_BATCH_BYTES 65536
#define EIO_WS_FRAME_HEADER_MAX 10
#define EIO_WS_BATCH_BUF_BYTES (LWS_PRE + EIO_WS_BATCH_BYTES + 16384) /* + frame headers */

struct ws_conn {
    struct lws *wsi;
    struct eio_session *session; /* served, or probed while is_probe */
    bool is_probe;               /* upgrading a polling session, not yet its transport */
    bool is_probe_reply_due;     /* "3probe" to write */
    char *rx;                    /* a message being reassembled from fragments */
    size_t rx_len;
    size_t rx_cap;
    bool is_rx_binary;
};

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE on the mount eio: 0 to accept, 1 if
 * refused (answered; counted). A request with a sid asks to
 * upgrade that polling session: accepted only if the session is on polling
 * and not already being upgraded. */
int eio_ws_confirm_upgrade(struct lws *wsi, struct eio_server *eio);
/* LWS_CALLBACK_ESTABLISHED on the mount eio. */
int eio_ws_established(struct lws *wsi, struct eio_server *eio, struct ws_conn *conn);
int eio_ws_receive(struct lws *wsi, struct ws_conn *conn, const void *in, size_t len);
/* LWS_CALLBACK_SERVER_WRITEABLE; scratch is EIO_WS_BATCH_BUF_BYTES long,
 * owned by the caller and shared by every connection of the loop. */
int eio_ws_writeable(struct lws *wsi, struct ws_conn *conn, unsigned char *scratch);
void eio_ws_closed(struct ws_conn *conn);

#endif

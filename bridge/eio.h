/* eio: Engine.IO v4 sessions, independent of transport.
 *
 * Owns every session: its id, its bounded outbound queue, its heartbeat
 * (server pings every ping_interval, closes a peer that has not answered
 * within ping_timeout) and its state. A transport (eio_ws.c; long-polling
 * next) plugs in through struct eio_transport_ops: it hands received packets
 * to eio_session_on_packet, asks eio_session_peek for what to write when
 * its peer is writable, and frees the session once its connection is gone.
 * The application above (Socket.IO, sio.c) plugs in through struct
 * eio_handler and sees only message payloads.
 *
 * Lifetime: a session is freed only by eio_session_free, called by its
 * transport when the connection has closed (never inside a callback that
 * still uses it). eio_session_close and eio_session_drop only mark it and
 * ask the transport to finish. Loop thread only. */
#ifndef TB_EIO_H
#define TB_EIO_H

#include <stdbool.h>
#include <stddef.h>

#include "eio_packet.h"
#include "fanout.h"
#include "quota.h"

struct lws_context;
struct metrics;
struct eio_server;
struct eio_session;

struct eio_transport_ops {
    enum eio_transport kind;
    /* Ask for a write opportunity (the transport calls eio_session_peek then). */
    void (*want_write)(struct eio_session *s);
    /* End the connection now, without flushing. The session is freed later,
     * never inside this call: by the WebSocket's CLOSED callback, or for
     * long-polling by eio's own deferred reaper. */
    void (*abort)(struct eio_session *s);
    /* Upgrade probing (polling only; may be NULL): answer a held request now,
     * with a noop packet if nothing is queued, so the client can pause. */
    void (*nudge)(struct eio_session *s);
    /* The session moved to another transport (polling only; may be NULL):
     * answer anything held and let go of the session. */
    void (*release)(struct eio_session *s);
    /* The session is being freed (may be NULL): free the transport state. */
    void (*detach)(struct eio_session *s);
};

/* The session a probing WebSocket was upgrading is gone. */
typedef void eio_probe_lost_fn(void *probe);

struct eio_handler {
    void (*on_open)(struct eio_session *s, void *arg);
    /* One message packet's payload (without the '4'); binary when is_binary. */
    void (*on_message)(struct eio_session *s, const char *data, size_t len, bool is_binary,
                       void *arg);
    /* The session is going away: drop every reference to it. */
    void (*on_close)(struct eio_session *s, void *arg);
    void *arg;
};

struct eio_server_opts {
    int ping_interval_ms;
    int ping_timeout_ms;
    size_t max_payload;        /* largest message accepted from a client */
    size_t client_queue_bytes; /* outbound bound per session */
    size_t conflate_after;     /* queued bytes from which progress conflates; 0: never */
    int connect_timeout_ms;    /* until eio_session_mark_connected; 0 = none */
    bool allow_polling;        /* transports offered (--transports) */
    bool allow_websocket;
    char *const *cors_origins; /* --allowed-origin list (borrowed; "*" = any), or NULL */
    size_t n_cors_origins;
    bool is_tls;                  /* the listener serves https/wss (same-origin checks) */
    size_t max_sessions;          /* --max-connections; 0 = no bound */
    size_t max_sessions_per_addr; /* --max-connections-per-ip; 0 = no bound */
};

/* How a session that broke the protocol ends. */
enum eio_end {
    EIO_END_NOW,     /* drop the connection, nothing more is written */
    EIO_END_GRACEFUL /* queue a close packet, flush, then end */
};

/* Caller frees with eio_server_destroy (after every session is gone). */
struct eio_server *eio_server_new(struct lws_context *ctx, const struct eio_server_opts *opts,
                                  const struct eio_handler *handler, struct metrics *m);
void eio_server_destroy(struct eio_server **srv_p); /* NULL-safe; sets *srv_p = NULL */

const struct eio_server_opts *eio_server_opts(const struct eio_server *srv);

/* The session with that id, or NULL. Borrowed. */
struct eio_session *eio_server_find(const struct eio_server *srv, const char *sid);
size_t eio_server_n_sessions(const struct eio_server *srv);
size_t eio_server_queued_bytes(const struct eio_server *srv);

/* Takes a client lag snapshot (metrics_lag_*) over every session. */
void eio_server_observe_lag(struct eio_server *srv, int64_t now_us);

/* Closes every session with an Engine.IO close packet and stops accepting
 * new ones (shutdown). */
void eio_server_close_all(struct eio_server *srv);

/* False once shutdown began: handshakes are then refused (Forbidden). */
bool eio_server_is_accepting(const struct eio_server *srv);

/* A handshake or upgrade request was refused (counted in metrics). */
void eio_server_note_refused(struct eio_server *srv);

/* The metrics the server counts into (borrowed). */
struct metrics *eio_server_metrics(const struct eio_server *srv);

/* Whether a new session from peer address addr fits the connection
 * bounds; counts nothing (eio_session_set_peer does). */
enum quota_verdict eio_server_room_for(const struct eio_server *srv, const char *addr);

/* Whether a request from origin may get CORS headers (--cors-origin). */
bool eio_server_allows_origin(const struct eio_server *srv, const char *origin);

/* Frees every session no connection holds (long-polling ones): the end of
 * a shutdown, while the lws context still exists. WebSocket sessions go
 * with their connections. */
void eio_server_free_unconnected(struct eio_server *srv);

/* Opens a session on a transport connection: queues the open packet, starts
 * the heartbeat, tells the handler. Returned pointer is owned by srv. */
struct eio_session *eio_session_open(struct eio_server *srv, const struct eio_transport_ops *ops,
                                     void *transport);

/* The session's peer address (numeric, borrowed): counted against the
 * connection bounds until the session is freed. Returns the bounds'
 * verdict; a session that does not fit is not counted (the caller ends it). */
enum quota_verdict eio_session_set_peer(struct eio_session *s, const char *addr);

/* A token from the handshake's "Authorization: Bearer" header (steals
 * token, may be NULL); eio_session_bearer returns it (borrowed) or NULL. */
void eio_session_take_bearer(struct eio_session *s, char *token);
const char *eio_session_bearer(const struct eio_session *s);

/* Frees the session (its transport's connection has closed). NULL-safe. */
void eio_session_free(struct eio_session **s_p);

/* Frees the session soon, from the loop, outside any caller's callback
 * (for transports that have no connection whose close would do it). */
void eio_session_reap_later(struct eio_session *s);

/* Upgrade (polling -> WebSocket). begin: probe is the WebSocket connection
 * that asked; returns 0, or -EBUSY if the session is not on polling or is
 * already being upgraded. The probe answers "2probe" itself and then calls
 * eio_session_probe_answered (the held poll is nudged). finish ("5"
 * arrived): the session moves to the new transport and flushes its queue
 * there. cancel: the probe went away before finishing. */
int eio_session_begin_upgrade(struct eio_session *s, void *probe, eio_probe_lost_fn *lost);
void eio_session_probe_answered(struct eio_session *s);
void eio_session_finish_upgrade(struct eio_session *s, const struct eio_transport_ops *ops,
                                void *transport);
void eio_session_cancel_upgrade(struct eio_session *s);
bool eio_session_is_upgrading(const struct eio_session *s);
enum eio_transport eio_session_transport_kind(const struct eio_session *s);

/* Handles one complete packet from the peer. Text packets start with the
 * type digit; binary ones are message payloads. */
void eio_session_on_packet(struct eio_session *s, const char *data, size_t len, bool is_binary);

/* Queues a packet whose bytes are already a full Engine.IO packet (e.g.
 * "42[...]"). Returns 0, FANOUT_CONFLATED (it replaced an older progress of
 * its run), or -ENOBUFS if the session's bound would be passed (the caller
 * decides: the bridge then drops the client). */
int eio_session_send(struct eio_session *s, struct packet *p);

/* Queues a message packet '4' + payload (a copy). Returns as eio_session_send. */
int eio_session_send_message(struct eio_session *s, const char *payload, size_t len);

/* Queues a binary message (a copy): a binary WebSocket frame, or "b<base64>"
 * over long-polling. Returns as eio_session_send. */
int eio_session_send_binary(struct eio_session *s, const void *data, size_t len);

/* The application saw its handshake (Socket.IO CONNECT): cancels the
 * connect timeout, after which a session that has not is closed. */
void eio_session_mark_connected(struct eio_session *s);

/* Next packet to write (borrowed) or NULL; eio_session_written after writing it. */
struct packet *eio_session_peek(const struct eio_session *s);
void eio_session_written(struct eio_session *s);

/* The i-th packet waiting to be written (borrowed), or NULL: lets a
 * transport write several in one system call, then call
 * eio_session_written once for each. */
struct packet *eio_session_peek_at(const struct eio_session *s, size_t i);

/* Graceful close: queues a close packet, refuses further sends, and lets the
 * transport end the connection once the queue is flushed. */
void eio_session_close(struct eio_session *s, const char *reason);

/* Immediate close without flushing (slow or hostile peer). */
void eio_session_drop(struct eio_session *s, const char *reason);

/* The peer broke the protocol: counts it, logs why (rate-limited, with the
 * sid) and ends the session as end says. */
void eio_session_fail(struct eio_session *s, enum eio_end end, const char *why);

/* True once close or drop was called: nothing more will be sent. */
bool eio_session_is_closing(const struct eio_session *s);
/* True when the transport should end the connection now. */
bool eio_session_should_end(const struct eio_session *s);

const char *eio_session_sid(const struct eio_session *s);
void *eio_session_transport(const struct eio_session *s);
void eio_session_set_app(struct eio_session *s, void *app);
void *eio_session_app(const struct eio_session *s);
struct eio_server *eio_session_server(const struct eio_session *s);
size_t eio_session_queued_bytes(const struct eio_session *s);

#endif

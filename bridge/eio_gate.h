/* eio_gate: whether a request may open an Engine.IO session, or upgrade
 * one, asked before any session exists: its Origin (origin.c's policy with
 * --allowed-origin, the Host header and the listener's scheme) and, for a
 * new session, the connection bounds per peer address (quota.c, kept by
 * eio.c). Refusals are counted in metrics and logged rate-limited here; the
 * transports answer them (403, 503). Also reads the handshake's
 * "Authorization: Bearer" token for the Socket.IO layer. Loop thread only. */
#ifndef TB_EIO_GATE_H
#define TB_EIO_GATE_H

#include <stdbool.h>

struct eio_server;
struct lws;

#define EIO_GATE_ADDR_MAX 64 /* a numeric IPv4 or IPv6 address */

enum eio_gate_verdict {
    EIO_GATE_OK,
    EIO_GATE_ORIGIN, /* Origin not allowed: HTTP 403 */
    EIO_GATE_FULL,   /* --max-connections or --max-connections-per-ip: HTTP 503 */
};

/* Judges wsi's request. is_new_session: it would open a session (a
 * handshake, or a WebSocket without sid), so the bounds apply. addr gets
 * the peer's address either way. */
enum eio_gate_verdict eio_gate_check(struct lws *wsi, struct eio_server *eio, bool is_new_session,
                                     char addr[EIO_GATE_ADDR_MAX]);

/* The HTTP status a refusal is answered with. */
int eio_gate_status(enum eio_gate_verdict v);

/* Copies the peer's numeric address into addr ("" if unknown). */
void eio_gate_peer(struct lws *wsi, char addr[EIO_GATE_ADDR_MAX]);

/* The token of the request's "Authorization: Bearer" header, or NULL.
 * Caller frees. */
char *eio_gate_bearer_new(struct lws *wsi);

#endif

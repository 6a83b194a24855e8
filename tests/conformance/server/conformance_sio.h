/* conformance_sio: the Socket.IO v5 fixture of the conformance server,
 * mounted at /socket.io/. It plays the Socket.IO project's protocol test
 * server on top of the bridge's own Engine.IO sessions and packet codec
 * (sio_packet):
 *   - namespaces "/" and "/custom"; one Engine.IO session may connect to
 *     both, each with its own socket id. CONNECT answers {"sid":"..."} and
 *     then emits "auth" with the CONNECT payload ({} when none came); an
 *     unknown namespace gets CONNECT_ERROR {"message":"Invalid namespace"};
 *   - event "message" -> emits "message-back" with the same arguments;
 *     "message-with-ack" with an ack id -> ACK with the same arguments;
 *     binary arguments go back as BINARY_EVENT / BINARY_ACK and the frames;
 *   - DISCONNECT leaves its namespace; a packet for a namespace the session
 *     is not connected to, a second CONNECT to one it is, a malformed packet,
 *     an unexpected binary frame or one past the byte bound close the session
 *     (as the reference server does).
 *
 * Owns each session's Socket.IO state (connected namespaces, socket ids, the
 * binary packet being reassembled), attached with eio_session_set_app and
 * freed in on_close. Loop thread only. */
#ifndef TB_CONFORMANCE_SIO_H
#define TB_CONFORMANCE_SIO_H

#include <stddef.h>

#include "eio.h"

struct conformance_sio;
struct metrics;

/* max_attachment_bytes bounds the binary frames of one packet (received,
 * and echoed back in one reply). m is borrowed. Caller frees with
 * conformance_sio_destroy, after every session is gone. */
struct conformance_sio *conformance_sio_new(struct metrics *m, size_t max_attachment_bytes);
void conformance_sio_destroy(struct conformance_sio **cs_p); /* NULL-safe; sets *cs_p = NULL */

/* The Engine.IO handler that routes sessions' messages into the fixture. */
struct eio_handler conformance_sio_handler(struct conformance_sio *cs);

#endif

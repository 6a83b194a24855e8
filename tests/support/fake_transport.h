/* fake_transport: an Engine.IO transport for unit tests that records what a
 * session asks of its transport (write opportunities, aborts, nudges,
 * release) and "writes" queued packets into a list of strings, as the
 * WebSocket and long-polling transports would. Lets test_eio.c and
 * test_sio.c drive real sessions (eio.c) without lws connections. */
#ifndef TB_FAKE_TRANSPORT_H
#define TB_FAKE_TRANSPORT_H

#include <stdbool.h>

#include "eio.h"

#define FAKE_MAX_OUT 64

struct fake_conn {
    struct eio_session *s;
    int n_want_write;
    int n_nudges;
    bool is_aborted;
    bool is_released;
    char *out[FAKE_MAX_OUT]; /* packets written, in order (owned) */
    int n_out;
};

/* As WebSocket (no nudge/release) and as long-polling (with them). */
extern const struct eio_transport_ops fake_ws_ops;
extern const struct eio_transport_ops fake_poll_ops;

/* Opens a session on eio with ops and writes its open packet into c->out. */
void fake_open(struct fake_conn *c, struct eio_server *eio, const struct eio_transport_ops *ops);

/* Moves every queued packet into c->out, as a transport would write them. */
void fake_drain(struct fake_conn *c);

/* Hands a text packet to the session, then drains. */
void fake_recv(struct fake_conn *c, const char *text);

/* The last packet written, or "". */
const char *fake_last(const struct fake_conn *c);

/* Frees the session (if still there) and the recorded packets. */
void fake_close(struct fake_conn *c);

#endif

/* conformance_echo: the plain Engine.IO fixture of the conformance server,
 * mounted at /engine.io/. Sends every message straight back on the session
 * it came from: text as text, binary as binary. Marks each session connected
 * when it opens (there is no application handshake to wait for). Keeps no
 * per-session state. A session whose outbound queue would pass its bound is
 * dropped (counted as METRIC_CLIENTS_DROPPED_SLOW, logged). Loop thread only. */
#ifndef TB_CONFORMANCE_ECHO_H
#define TB_CONFORMANCE_ECHO_H

#include "eio.h"

struct metrics;

/* The handler to give eio_server_new; m is borrowed and must outlive it. */
struct eio_handler conformance_echo_handler(struct metrics *m);

#endif

/* stop_signal: how every trainbridge program stops. SIGINT and SIGTERM set
 * one flag, the process's only mutable global; a server also ignores
 * SIGPIPE (a client that goes away is an error return, not a death). The
 * handlers are
 * installed without SA_RESTART, so a blocking wait (poll, zmq_poll,
 * nanosleep) returns EINTR and the program looks at the flag. czmq's own
 * handlers are taken back first (zsys_handler_set(NULL)).
 *
 * Shared by the command-line tools (trainsim, trainsub) and the servers
 * (trainbridge, trainbridge-proxy, sio-conformance-server); lives in proto/
 * so that the tools do not depend on bridge/. */
#ifndef TB_STOP_SIGNAL_H
#define TB_STOP_SIGNAL_H

#include <signal.h>
#include <stdbool.h>

/* Installs the handlers; is_server also ignores SIGPIPE. Returns 0, or
 * -errno if sigaction failed. */
int stop_signal_install(bool is_server);

/* True once SIGINT or SIGTERM arrived. */
bool stop_signal_requested(void);

/* The flag itself, for a loop that watches it (server_run). */
volatile sig_atomic_t *stop_signal_flag(void);

#endif

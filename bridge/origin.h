/* origin: which browser pages may open Engine.IO sessions. A request
 * without an Origin header (a non-browser client) passes; so does a page
 * from the bridge's own host and port (the request's Host header; default
 * ports by each side's scheme: an Origin's scheme alone is not compared,
 * since websocket-client sends "http://" over wss as well);
 * otherwise the Origin must be on the --allowed-origin list (or the list
 * holds "*"). Applies to long-polling handshakes and WebSocket upgrades
 * alike. Owns nothing; pure functions. */
#ifndef TB_ORIGIN_H
#define TB_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

enum origin_verdict {
    ORIGIN_ABSENT,  /* no Origin header: allowed */
    ORIGIN_SAME,    /* the bridge's own origin: allowed */
    ORIGIN_LISTED,  /* on the allowed list: allowed */
    ORIGIN_REFUSED, /* anything else, "null" included: 403 */
};

/* Judges origin (NULL or "" when the request had none) for a request that
 * named host in its Host header (NULL if absent) on a listener that serves
 * TLS or not. allowed: n_allowed origins, borrowed. */
enum origin_verdict origin_check(const char *const *allowed, size_t n_allowed, const char *origin,
                                 const char *host, bool is_tls);

static inline bool origin_is_allowed(enum origin_verdict v)
{
    return v != ORIGIN_REFUSED;
}

#endif

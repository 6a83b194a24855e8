/* proxy_http: a very small HTTP/1.x responder for trainbridge-proxy's
 * GET /healthz and GET /metrics. Owns the listening socket and at most
 * PROXY_HTTP_MAX_CONNS connections, each with a fixed request buffer, a fixed
 * response buffer and a deadline: one request per connection, answered with
 * "Connection: close". Non-blocking sockets, driven by the caller's zmq_poll
 * (the proxy's main loop), so the HTTP side never blocks the counters.
 * Anything odd (oversize headers, unknown methods, slow peers) gets a short
 * error answer or a close, and a counter; when every slot is taken the
 * oldest connection is closed for the new one.
 * One thread only. */
#ifndef TB_PROXY_HTTP_H
#define TB_PROXY_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define PROXY_HTTP_MAX_CONNS 16
#define PROXY_HTTP_DEADLINE_MS 5000
#define PROXY_HTTP_BODY_MAX 16384

/* Answers one request for path (query string removed): writes a
 * NUL-terminated body of at most cap bytes into body, sets *content_type
 * (a static string) and returns the HTTP status. */
typedef int proxy_http_route_fn(const char *path, char *body, size_t cap, const char **content_type,
                                void *arg);

struct proxy_http_stats {
    uint64_t n_requests; /* answered, whatever the status */
    uint64_t n_evicted;  /* oldest closed to make room for a new one */
    uint64_t n_bad;      /* malformed, oversize or timed out */
};

struct proxy_http;

/* Listens on host:port (port 0 picks one; host may be a name, an IPv4 or an
 * IPv6 address without brackets). Returns NULL and logs why on failure.
 * Caller destroys. */
struct proxy_http *proxy_http_new(const char *host, int port);

/* NULL-safe; closes every connection and the listener; sets *h_p = NULL. */
void proxy_http_destroy(struct proxy_http **h_p);

/* The port actually bound. */
int proxy_http_port(const struct proxy_http *h);

/* Fills items[0..] with the listener and every connection (at most cap) and
 * returns how many; pass the same items to proxy_http_handle after zmq_poll. */
size_t proxy_http_fill_poll(const struct proxy_http *h, zmq_pollitem_t *items, size_t cap);

/* Accepts, reads, answers and closes as the polled events allow; expires
 * connections past their deadline (now_ms is CLOCK_MONOTONIC milliseconds). */
void proxy_http_handle(struct proxy_http *h, const zmq_pollitem_t *items, size_t n_items,
                       long long now_ms, proxy_http_route_fn *route, void *arg);

/* Borrowed; valid until proxy_http_destroy. */
const struct proxy_http_stats *proxy_http_stats(const struct proxy_http *h);

#endif

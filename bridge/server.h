/* server: the libwebsockets context, its vhost and listener, the protocol
 * table, the service loop, and routing: the only module that knows which
 * lws callback goes where. lws runs on this module's libuv loop; everything
 * else joins it.
 *
 * Routing: GET /healthz (200 while serving, 503 once stopping) and GET
 * /metrics (Prometheus text) are answered here; a path that is an Engine.IO
 * mount ("/socket.io/", with or without the trailing '/') goes to the
 * long-polling transport (eio_poll.c) or, for a WebSocket upgrade, to
 * eio_ws.c, each given that mount's struct eio_server; GET / and
 * /dashboard/... to the dashboard (web.c) when one is served; anything
 * else is 404.
 * Every HTTP response is written by http.c. Extra lws protocols (ingest's
 * adopted ZeroMQ descriptor) come from the program at creation.
 *
 * The loop is libuv's (epoll), owned here and given to lws as a foreign
 * loop: lws's sockets and timers (lws_sul), the adopted ZeroMQ descriptor
 * and the stop signals are all watched on it, so nothing wakes the process
 * while nothing happens, and a wake-up costs O(ready descriptors), not
 * O(connections) as lws's default poll() loop did.
 *
 * Shutdown: SIGINT/SIGTERM (uv_signal watchers) set *stop and end
 * server_run; then server_drain closes every session with an Engine.IO
 * close packet and runs the loop until they are gone or the deadline
 * passes. */
#ifndef TB_SERVER_H
#define TB_SERVER_H

#include <signal.h>

struct cfg;
struct eio_server;
struct lws_context;
struct lws_protocols;
struct lws_vhost;
struct metrics;
struct server;
struct web;

#define SERVER_MAX_MOUNTS 4

/* Called before /metrics is rendered, so the program can set its gauges. */
typedef void server_metrics_fn(struct metrics *m, void *arg);

/* Creates the lws context listening on cfg's address, with extra (may be
 * NULL) as a second protocol. cfg and m are borrowed and must outlive the
 * server. Returns NULL and logs why on failure. */
struct server *server_new(const struct cfg *cfg, struct metrics *m,
                          const struct lws_protocols *extra);
void server_destroy(struct server **srv_p); /* NULL-safe; sets *srv_p = NULL */

/* Serves the Engine.IO server eio (borrowed) under path (e.g. "/socket.io/",
 * borrowed). Returns 0, or -ENOSPC past SERVER_MAX_MOUNTS. */
int server_mount(struct server *srv, const char *path, struct eio_server *eio);

/* fn is called (with m) before each /metrics answer. */
void server_on_metrics(struct server *srv, server_metrics_fn *fn, void *arg);

/* Serves the dashboard web (borrowed; NULL: none, 404) at / and /dashboard/. */
void server_serve_dashboard(struct server *srv, const struct web *web);

struct lws_context *server_lws_context(const struct server *srv);
struct lws_vhost *server_vhost(const struct server *srv);

/* The port actually listened on (cfg may have asked for 0). */
int server_port(const struct server *srv);

/* Runs the loop until SIGINT or SIGTERM arrives (then *stop is set) or
 * *stop is already set. Returns 0. */
int server_run(struct server *srv, volatile sig_atomic_t *stop);

/* Closes every client and services the loop until they are gone or
 * deadline_ms passes. /healthz answers 503 from here on. */
void server_drain(struct server *srv, int deadline_ms);

#endif

/* server: the libwebsockets context, its vhost and listener, the protocol
 * table and the service loop. lws owns the loop; everything else joins it:
 * HTTP requests go to http.c, WebSocket connections to eio_ws.c, the
 * ZeroMQ socket (an adopted descriptor) to ingest.c, timers are lws_sul.
 * The one callback here only dispatches.
 *
 * Shutdown: server_run returns when *stop is set (SIGINT/SIGTERM); then
 * server_drain closes every session with an Engine.IO close packet and
 * services the loop until they are gone or the deadline passes. */
#ifndef TB_SERVER_H
#define TB_SERVER_H

#include <signal.h>
#include <stdbool.h>

struct cfg;
struct eio_server;
struct ingest;
struct metrics;
struct rooms;
struct server;
struct web;
struct lws_context;
struct lws_vhost;

#define SERVER_MAX_MOUNTS 4

/* An Engine.IO server reachable under a path prefix ("/socket.io/"). */
struct server_mount {
    const char *path;
    struct eio_server *eio;
};

/* What connection callbacks need; filled by main's wiring, read by the
 * modules server.c dispatches to. The pointers are borrowed; rooms and
 * ingest may be NULL (programs that are not the bridge). */
struct server_ctx {
    const struct cfg *cfg;
    struct metrics *m;
    struct rooms *rooms;
    struct eio_server *eio; /* the bridge's, also mounts[0] */
    struct server_mount mounts[SERVER_MAX_MOUNTS];
    size_t n_mounts;
    struct ingest *ingest;
    struct web *web;         /* the dashboard, or NULL (--no-dashboard) */
    unsigned char *ws_batch; /* scratch for eio_ws: several frames, one write */
    bool is_shutting_down;
};

/* The Engine.IO server mounted at path (exactly, or without its trailing
 * '/'), or NULL. */
struct eio_server *server_mount_for(const struct server_ctx *ctx, const char *path);

/* Creates the lws context listening on cfg's address. Returns NULL and logs
 * why on failure. ctx is borrowed and must outlive the server. */
struct server *server_new(const struct cfg *cfg, struct server_ctx *ctx);
void server_destroy(struct server **srv_p); /* NULL-safe; sets *srv_p = NULL */

struct lws_context *server_lws_context(const struct server *srv);
struct lws_vhost *server_vhost(const struct server *srv);

/* The port actually listened on (cfg may have asked for 0). */
int server_port(const struct server *srv);

/* Services the loop until *stop becomes non-zero or lws fails. Returns 0 or -EIO. */
int server_run(struct server *srv, volatile sig_atomic_t *stop);

/* Closes every client and services the loop until they are gone or
 * deadline_ms passes. */
void server_drain(struct server *srv, int deadline_ms);

#endif

#include "server.h"

#include <errno.h>
#include <libwebsockets.h>
#include <string.h>

#include "config.h"
#include "eio.h"
#include "eio_poll.h"
#include "eio_ws.h"
#include "http.h"
#include "ingest.h"
#include "log.h"
#include "xalloc.h"

#define PROTOCOL_ZMQ "trainbridge-zmq"
#define WS_RX_BUFFER 65536
#define DRAIN_TICK_US (20 * LWS_US_PER_MS)
/* How often the loop wakes by itself, so a stop signal that arrives just
 * before poll() (no EINTR then) is seen within this time. */
#define STOP_CHECK_US (100 * LWS_US_PER_MS)

/* What lws allocates per connection: an HTTP request's or a WebSocket's. */
struct conn {
    enum { CONN_NONE, CONN_HTTP, CONN_WS } kind;
    struct poll_conn poll;
    struct ws_conn ws;
};

struct server {
    struct lws_context *lws;
    struct lws_vhost *vhost;
    struct server_ctx *ctx;
    char iface[256];
    lws_sorted_usec_list_t sul_drain;
    lws_sorted_usec_list_t sul_stop_check;
};

static int on_http(struct lws *wsi, struct server_ctx *ctx, struct conn *c, const char *path)
{
    c->kind = CONN_HTTP;
    return http_on_request(wsi, ctx, &c->poll, path);
}

static int on_established(struct lws *wsi, struct server_ctx *ctx, struct conn *c)
{
    c->kind = CONN_WS;
    return eio_ws_established(wsi, ctx, &c->ws);
}

static void on_closed_http(struct lws *wsi, struct conn *c)
{
    if (c->kind == CONN_HTTP)
        eio_poll_closed(wsi, &c->poll);
}

static void on_closed_ws(struct conn *c)
{
    if (c->kind == CONN_WS)
        eio_ws_closed(&c->ws);
}

static int callback_main(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct server_ctx *ctx = lws_context_user(lws_get_context(wsi));
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, ctx, c, in);
    case LWS_CALLBACK_HTTP_BODY:
        return eio_poll_on_body(wsi, ctx, &c->poll, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return eio_poll_on_body_done(wsi, ctx, &c->poll);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c && c->kind == CONN_HTTP ? eio_poll_writeable(wsi, ctx, &c->poll) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c)
            on_closed_http(wsi, c);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (!in || strcmp(in, "websocket") != 0)
            return -1;
        return eio_ws_confirm_upgrade(wsi, ctx);
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(wsi, ctx, c);
    case LWS_CALLBACK_RECEIVE:
        return eio_ws_receive(wsi, ctx, &c->ws, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return eio_ws_writeable(wsi, ctx, &c->ws);
    case LWS_CALLBACK_CLOSED:
        on_closed_ws(c);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static int callback_zmq(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    struct ingest *ingest = lws_get_opaque_user_data(wsi);
    if (reason == LWS_CALLBACK_RAW_RX_FILE && ingest)
        ingest_on_readable(ingest);
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"trainbridge", callback_main, sizeof(struct conn), WS_RX_BUFFER, 0, NULL, 0},
    {PROTOCOL_ZMQ, callback_zmq, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws wants an interface or address; "0.0.0.0" and "::" mean every one. */
static const char *listen_iface(struct server *srv, const char *host)
{
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        snprintf(srv->iface, sizeof srv->iface, "%.*s", (int)(len - 2), host + 1);
        host = srv->iface;
    }
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || host[0] == '\0')
        return NULL;
    return host;
}

struct server *server_new(const struct cfg *cfg, struct server_ctx *ctx)
{
    struct server *srv = xcalloc(1, sizeof *srv);
    srv->ctx = ctx;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->listen_port;
    info.iface = listen_iface(srv, cfg->listen_host);
    info.protocols = protocols;
    info.user = ctx;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (strcmp(cfg->listen_host, "0.0.0.0") == 0 || strchr(cfg->listen_host, '.'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.vhost_name = "default";
    info.server_string = "trainbridge";
    srv->lws = lws_create_context(&info);
    if (!srv->lws) {
        log_error("server", "cannot listen on %s:%d (see the lws lines above)", cfg->listen_host,
                  cfg->listen_port);
        free(srv);
        return NULL;
    }
    srv->vhost = lws_get_vhost_by_name(srv->lws, "default");
    ctx->ws_batch = xmalloc(EIO_WS_BATCH_BUF_BYTES);
    return srv;
}

void server_destroy(struct server **srv_p)
{
    if (!srv_p || !*srv_p)
        return;
    struct server *srv = *srv_p;
    lws_sul_cancel(&srv->sul_drain);
    lws_sul_cancel(&srv->sul_stop_check);
    lws_context_destroy(srv->lws);
    free(srv->ctx->ws_batch);
    srv->ctx->ws_batch = NULL;
    free(srv);
    *srv_p = NULL;
}

struct eio_server *server_mount_for(const struct server_ctx *ctx, const char *path)
{
    for (size_t i = 0; i < ctx->n_mounts; i++) {
        const char *mount = ctx->mounts[i].path;
        size_t len = strlen(mount);
        if (strcmp(path, mount) == 0 ||
            (len > 1 && mount[len - 1] == '/' && strlen(path) == len - 1 &&
             strncmp(path, mount, len - 1) == 0))
            return ctx->mounts[i].eio;
    }
    return NULL;
}

struct lws_context *server_lws_context(const struct server *srv)
{
    return srv->lws;
}

struct lws_vhost *server_vhost(const struct server *srv)
{
    return srv->vhost;
}

int server_port(const struct server *srv)
{
    return lws_get_vhost_listen_port(srv->vhost);
}

static void on_stop_check(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, sul_stop_check);
    lws_sul_schedule(srv->lws, 0, &srv->sul_stop_check, on_stop_check, STOP_CHECK_US);
}

int server_run(struct server *srv, volatile sig_atomic_t *stop)
{
    lws_sul_schedule(srv->lws, 0, &srv->sul_stop_check, on_stop_check, STOP_CHECK_US);
    int rc = 0;
    while (!*stop) {
        if (lws_service(srv->lws, 0) < 0) {
            log_error("server", "the lws loop failed");
            rc = -EIO;
            break;
        }
    }
    lws_sul_cancel(&srv->sul_stop_check);
    return rc;
}

/* Wakes the loop while draining so the deadline is noticed. */
static void on_drain_tick(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, sul_drain);
    lws_sul_schedule(srv->lws, 0, &srv->sul_drain, on_drain_tick, DRAIN_TICK_US);
}

static size_t n_sessions(const struct server_ctx *ctx)
{
    size_t n = 0;
    for (size_t i = 0; i < ctx->n_mounts; i++)
        n += eio_server_n_sessions(ctx->mounts[i].eio);
    return n;
}

void server_drain(struct server *srv, int deadline_ms)
{
    struct server_ctx *ctx = srv->ctx;
    ctx->is_shutting_down = true;
    for (size_t i = 0; i < ctx->n_mounts; i++)
        eio_server_close_all(ctx->mounts[i].eio);
    lws_usec_t deadline = lws_now_usecs() + (lws_usec_t)deadline_ms * LWS_US_PER_MS;
    lws_sul_schedule(srv->lws, 0, &srv->sul_drain, on_drain_tick, DRAIN_TICK_US);
    while (n_sessions(ctx) > 0 && lws_now_usecs() < deadline) {
        if (lws_service(srv->lws, 0) < 0)
            break;
    }
    lws_sul_cancel(&srv->sul_drain);
    for (size_t i = 0; i < ctx->n_mounts; i++)
        eio_server_free_unconnected(ctx->mounts[i].eio);
    if (n_sessions(ctx) > 0)
        log_warn("server", "%zu sessions still open at the drain deadline", n_sessions(ctx));
}

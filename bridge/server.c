#include "server.h"

#include <assert.h>
#include <errno.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "eio.h"
#include "eio_poll.h"
#include "eio_ws.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

#define PROTOCOL_MAIN "trainbridge"
#define WS_RX_BUFFER 65536
#define DRAIN_TICK_US (20 * LWS_US_PER_MS)
/* How often the loop wakes by itself, so a stop signal that arrives just
 * before poll() (no EINTR then) is seen within this time. */
#define STOP_CHECK_US (100 * LWS_US_PER_MS)

/* What lws allocates per connection: an HTTP request's or a WebSocket's. */
struct conn {
    enum { CONN_NONE, CONN_HTTP, CONN_POLL, CONN_WS } kind;
    struct http_out out; /* a response waiting for WRITEABLE */
    struct poll_conn poll;
    struct ws_conn ws;
};

struct server_mount {
    const char *path;
    struct eio_server *eio;
};

struct server {
    struct lws_context *lws;
    struct lws_vhost *vhost;
    struct metrics *m;
    struct server_mount mounts[SERVER_MAX_MOUNTS];
    size_t n_mounts;
    server_metrics_fn *on_metrics;
    void *on_metrics_arg;
    bool is_draining;
    unsigned char *ws_scratch; /* eio_ws: several frames, one write */
    struct lws_protocols protocols[3];
    char iface[256];
    lws_sorted_usec_list_t sul_drain;
    lws_sorted_usec_list_t sul_stop_check;
};

/* ------------------------------------------------------------ routing */

/* The Engine.IO server mounted at path (exactly, or without its trailing
 * '/'), or NULL. */
static struct eio_server *mount_for(const struct server *srv, const char *path)
{
    for (size_t i = 0; i < srv->n_mounts; i++) {
        const char *mount = srv->mounts[i].path;
        size_t len = strlen(mount);
        if (strcmp(path, mount) == 0 ||
            (len > 1 && mount[len - 1] == '/' && strlen(path) == len - 1 &&
             strncmp(path, mount, len - 1) == 0))
            return srv->mounts[i].eio;
    }
    return NULL;
}

/* The mount of an upgrade request, from its GET URI; NULL if none. */
static struct eio_server *upgrade_mount(const struct server *srv, struct lws *wsi)
{
    char path[256];
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0)
        return NULL;
    return mount_for(srv, path);
}

static int respond_text(struct lws *wsi, struct conn *c, int status, const char *content_type,
                        const char *body, size_t len)
{
    struct http_response r = {
        .status = status, .content_type = content_type, .body = body, .len = len};
    return http_respond(wsi, &c->out, &r);
}

static int serve_healthz(struct server *srv, struct lws *wsi, struct conn *c)
{
    if (srv->is_draining)
        return respond_text(wsi, c, HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain", "stopping\n", 9);
    return respond_text(wsi, c, HTTP_STATUS_OK, "text/plain", "ok\n", 3);
}

static int serve_metrics(struct server *srv, struct lws *wsi, struct conn *c)
{
    if (srv->on_metrics)
        srv->on_metrics(srv->m, srv->on_metrics_arg);
    size_t len;
    char *text = metrics_render_new(srv->m, &len);
    int rc =
        respond_text(wsi, c, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return rc;
}

static int on_http(struct server *srv, struct lws *wsi, struct conn *c, const char *path)
{
    static const char not_found[] = "not found\n";
    http_out_fini(&c->out);
    c->kind = CONN_HTTP;
    if (strcmp(path, "/healthz") == 0)
        return serve_healthz(srv, wsi, c);
    if (strcmp(path, "/metrics") == 0 && srv->m)
        return serve_metrics(srv, wsi, c);
    struct eio_server *eio = mount_for(srv, path);
    if (eio) {
        c->kind = CONN_POLL;
        return eio_poll_on_request(wsi, &c->out, &c->poll, eio);
    }
    return respond_text(wsi, c, HTTP_STATUS_NOT_FOUND, "text/plain", not_found,
                        sizeof not_found - 1);
}

static int on_http_writeable(struct lws *wsi, struct conn *c)
{
    if (!c)
        return 0;
    if (http_is_pending(&c->out))
        return http_flush(wsi, &c->out);
    return c->kind == CONN_POLL ? eio_poll_writeable(wsi, &c->out, &c->poll) : 0;
}

static void on_closed_http(struct lws *wsi, struct conn *c)
{
    if (!c)
        return;
    http_out_fini(&c->out);
    if (c->kind == CONN_POLL)
        eio_poll_closed(wsi, &c->poll);
    c->kind = CONN_NONE;
}

static int on_confirm_upgrade(struct server *srv, struct lws *wsi, const char *protocol)
{
    if (!protocol || strcmp(protocol, "websocket") != 0)
        return -1;
    struct eio_server *eio = upgrade_mount(srv, wsi);
    if (!eio) {
        if (srv->m)
            metrics_inc(srv->m, METRIC_HANDSHAKES_REFUSED);
        log_info_limited("server", "refused WebSocket upgrade: no Engine.IO server on this path");
        return http_refuse_upgrade(wsi, EIO_ERR_BAD_REQUEST);
    }
    return eio_ws_confirm_upgrade(wsi, eio);
}

static int on_established(struct server *srv, struct lws *wsi, struct conn *c)
{
    struct eio_server *eio = upgrade_mount(srv, wsi);
    if (!eio)
        return -1;
    c->kind = CONN_WS;
    return eio_ws_established(wsi, eio, &c->ws);
}

static void on_closed_ws(struct conn *c)
{
    if (c && c->kind == CONN_WS)
        eio_ws_closed(&c->ws);
}

static int callback_main(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct server *srv = lws_context_user(lws_get_context(wsi));
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(srv, wsi, c, in);
    case LWS_CALLBACK_HTTP_BODY:
        return c->kind == CONN_POLL ? eio_poll_on_body(&c->poll, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return c->kind == CONN_POLL ? eio_poll_on_body_done(wsi, &c->out, &c->poll) : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_http_writeable(wsi, c);
    case LWS_CALLBACK_CLOSED_HTTP:
        on_closed_http(wsi, c);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return on_confirm_upgrade(srv, wsi, in);
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(srv, wsi, c);
    case LWS_CALLBACK_RECEIVE:
        return eio_ws_receive(wsi, &c->ws, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return eio_ws_writeable(wsi, &c->ws, srv->ws_scratch);
    case LWS_CALLBACK_CLOSED:
        on_closed_ws(c);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* ------------------------------------------------------------ setup */

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

static void fill_protocols(struct server *srv, const struct lws_protocols *extra)
{
    srv->protocols[0] = (struct lws_protocols){
        PROTOCOL_MAIN, callback_main, sizeof(struct conn), WS_RX_BUFFER, 0, NULL, 0};
    if (extra)
        srv->protocols[1] = *extra;
}

/* --tls-cert/--tls-key: https and wss on the same listener (lws with
 * OpenSSL); versions below --tls-min-version are refused. A plain-HTTP
 * request on it fails the TLS handshake and is closed. */
static void set_tls(const struct cfg *cfg, struct lws_context_creation_info *info)
{
    if (!cfg->tls_cert)
        return;
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = cfg->tls_cert;
    info->ssl_private_key_filepath = cfg->tls_key;
    info->ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                            SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION |
                            SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (cfg->tls_min_version >= 13)
        info->ssl_options_set |= SSL_OP_NO_TLSv1_2;
}

struct server *server_new(const struct cfg *cfg, struct metrics *m,
                          const struct lws_protocols *extra)
{
    struct server *srv = xcalloc(1, sizeof *srv);
    srv->m = m;
    fill_protocols(srv, extra);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->listen_port;
    info.iface = listen_iface(srv, cfg->listen_host);
    info.protocols = srv->protocols;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (strcmp(cfg->listen_host, "0.0.0.0") == 0 || strchr(cfg->listen_host, '.'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    set_tls(cfg, &info);
    info.vhost_name = "default";
    info.server_string = "trainbridge";
    /* eio_ws.c frames WebSocket messages itself (several per write): that is
     * only correct while no extension such as permessage-deflate is
     * negotiated, so the vhost must offer none. */
    assert(info.extensions == NULL);
    srv->lws = lws_create_context(&info);
    if (!srv->lws) {
        log_error("server", "cannot listen on %s:%d (see the lws lines above)", cfg->listen_host,
                  cfg->listen_port);
        free(srv);
        return NULL;
    }
    srv->vhost = lws_get_vhost_by_name(srv->lws, "default");
    srv->ws_scratch = xmalloc(EIO_WS_BATCH_BUF_BYTES);
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
    free(srv->ws_scratch);
    free(srv);
    *srv_p = NULL;
}

int server_mount(struct server *srv, const char *path, struct eio_server *eio)
{
    if (srv->n_mounts == SERVER_MAX_MOUNTS)
        return -ENOSPC;
    srv->mounts[srv->n_mounts++] = (struct server_mount){.path = path, .eio = eio};
    return 0;
}

void server_on_metrics(struct server *srv, server_metrics_fn *fn, void *arg)
{
    srv->on_metrics = fn;
    srv->on_metrics_arg = arg;
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

/* ------------------------------------------------------------ loop */

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

static size_t n_sessions(const struct server *srv)
{
    size_t n = 0;
    for (size_t i = 0; i < srv->n_mounts; i++)
        n += eio_server_n_sessions(srv->mounts[i].eio);
    return n;
}

void server_drain(struct server *srv, int deadline_ms)
{
    srv->is_draining = true;
    for (size_t i = 0; i < srv->n_mounts; i++)
        eio_server_close_all(srv->mounts[i].eio);
    lws_usec_t deadline = lws_now_usecs() + (lws_usec_t)deadline_ms * LWS_US_PER_MS;
    lws_sul_schedule(srv->lws, 0, &srv->sul_drain, on_drain_tick, DRAIN_TICK_US);
    while (n_sessions(srv) > 0 && lws_now_usecs() < deadline) {
        if (lws_service(srv->lws, 0) < 0)
            break;
    }
    lws_sul_cancel(&srv->sul_drain);
    for (size_t i = 0; i < srv->n_mounts; i++)
        eio_server_free_unconnected(srv->mounts[i].eio);
    if (n_sessions(srv) > 0)
        log_warn("server", "%zu sessions still open at the drain deadline", n_sessions(srv));
}

#include "server.h"

#include <assert.h>
#include <errno.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "config.h"
#include "eio.h"
#include "eio_poll.h"
#include "eio_ws.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "web.h"
#include "xalloc.h"

#define PROTOCOL_MAIN "trainbridge"
#define WS_RX_BUFFER 65536
#define DRAIN_TICK_MS 20
/* Descriptors kept out of lws's reach for ZeroMQ (one per trainer
 * connection), libuv and files, so that lws stops accepting clients before
 * the process runs out (it then stops polling its listener until a client
 * leaves) instead of spinning on accept() failing with EMFILE. */
#define FD_RESERVE ((rlim_t)256)

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
    const struct web *web; /* the dashboard, or NULL */
    bool is_draining;
    unsigned char *ws_scratch; /* eio_ws: several frames, one write */
    struct lws_protocols protocols[3];
    char iface[256];
    uv_loop_t loop; /* ours; lws runs on it (a "foreign" loop to lws) */
    uv_signal_t sig_int, sig_term;
    volatile sig_atomic_t *stop;
    uint64_t drain_deadline_ms; /* uv_now() time */
    uv_timer_t drain_timer;
};

static void close_loop(struct server *srv);

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

static void count_dashboard(struct metrics *m, int status)
{
    if (!m)
        return;
    metrics_inc(m, status == 200   ? METRIC_WEB_RESPONSES
                   : status == 304 ? METRIC_WEB_NOT_MODIFIED
                   : status == 400 ? METRIC_WEB_REFUSED
                                   : METRIC_WEB_NOT_FOUND);
}

/* GET / and /dashboard/...: the page (web.c) with its caching, encoding and
 * security headers. */
static int serve_dashboard(struct server *srv, struct lws *wsi, struct conn *c, const char *path)
{
    static const char refused[] = "bad path\n", missing[] = "not found\n",
                      get_only[] = "GET only\n", csp[] = WEB_CSP;
    if (http_method(wsi) != HTTP_GET)
        return respond_text(wsi, c, HTTP_STATUS_METHOD_NOT_ALLOWED, "text/plain", get_only,
                            sizeof get_only - 1);
    char accept[256], etag[256];
    struct web_response res;
    int status = web_lookup(srv->web, path, http_accept_encoding(wsi, accept, sizeof accept),
                            http_if_none_match(wsi, etag, sizeof etag), &res);
    count_dashboard(srv->m, status);
    if (status == 400)
        return respond_text(wsi, c, status, "text/plain", refused, sizeof refused - 1);
    if (status == 404)
        return respond_text(wsi, c, status, "text/plain", missing, sizeof missing - 1);
    const char *headers[] = {"etag:",
                             res.etag,
                             "vary:",
                             "Accept-Encoding",
                             "content-security-policy:",
                             csp,
                             "x-content-type-options:",
                             "nosniff",
                             "referrer-policy:",
                             "no-referrer",
                             res.content_encoding ? "content-encoding:" : NULL,
                             res.content_encoding,
                             NULL};
    struct http_response r = {.status = status,
                              .content_type = res.content_type,
                              .body = (const char *)res.body,
                              .len = res.len,
                              .cache_control = WEB_CACHE_CONTROL,
                              .extra_headers = headers};
    int rc = http_respond(wsi, &c->out, &r);
    web_response_fini(&res);
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
    if (srv->web && web_owns_path(path))
        return serve_dashboard(srv, wsi, c, path);
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

/* Every client is a descriptor, so the limit on descriptors is the ceiling
 * of clients. Raises the soft limit to the hard one, less FD_RESERVE while
 * lws sizes its descriptor table (lws_create_context reads the soft limit);
 * restore_fd_limit gives the reserve back afterwards. Returns the hard limit. */
static rlim_t limit_fds_for_lws(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        log_warn("server", "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return 0;
    }
    rlim_t hard = lim.rlim_max == RLIM_INFINITY ? lim.rlim_cur : lim.rlim_max;
    lim.rlim_cur = hard > 4 * FD_RESERVE ? hard - FD_RESERVE : hard;
    if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
        log_warn("server", "cannot set the descriptor limit to %llu: %s",
                 (unsigned long long)lim.rlim_cur, strerror(errno));
    return hard;
}

static void restore_fd_limit(rlim_t hard)
{
    struct rlimit lim;
    if (!hard || getrlimit(RLIMIT_NOFILE, &lim) < 0)
        return;
    rlim_t for_lws = lim.rlim_cur;
    lim.rlim_cur = hard;
    if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
        log_warn("server", "cannot raise the descriptor limit to %llu: %s",
                 (unsigned long long)hard, strerror(errno));
    log_info("server", "descriptor limit %llu: at most %llu clients at once",
             (unsigned long long)hard, (unsigned long long)for_lws);
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
 * request on it fails the TLS handshake and is closed. ALPN offers
 * http/1.1 only: http.c and eio_ws.c write HTTP/1.1 responses and
 * WebSocket frames themselves, and a browser that negotiated h2 (lws's
 * default offer) would get neither. */
static void set_tls(const struct cfg *cfg, struct lws_context_creation_info *info)
{
    if (!cfg->tls_cert)
        return;
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = cfg->tls_cert;
    info->ssl_private_key_filepath = cfg->tls_key;
    info->alpn = "http/1.1";
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
    int rc = uv_loop_init(&srv->loop);
    if (rc < 0) {
        log_error("server", "cannot create the event loop: %s", uv_strerror(rc));
        free(srv);
        return NULL;
    }
    void *loops[1] = {&srv->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->listen_port;
    info.iface = listen_iface(srv, cfg->listen_host);
    info.protocols = srv->protocols;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBUV |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    info.foreign_loops = loops;
    if (strcmp(cfg->listen_host, "0.0.0.0") == 0 || strchr(cfg->listen_host, '.'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    set_tls(cfg, &info);
    info.vhost_name = "default";
    info.server_string = "trainbridge";
    /* eio_ws.c frames WebSocket messages itself (several per write): that is
     * only correct while no extension such as permessage-deflate is
     * negotiated, so the vhost must offer none. */
    assert(info.extensions == NULL);
    rlim_t hard = limit_fds_for_lws();
    srv->lws = lws_create_context(&info);
    restore_fd_limit(hard);
    if (!srv->lws) {
        log_error("server", "cannot listen on %s:%d (see the lws lines above)", cfg->listen_host,
                  cfg->listen_port);
        uv_loop_close(&srv->loop);
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
    close_loop(srv);
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

void server_serve_dashboard(struct server *srv, const struct web *web)
{
    srv->web = web;
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

static void on_signal(uv_signal_t *handle, int signum)
{
    struct server *srv = handle->data;
    log_info("server", "signal %d: stopping", signum);
    if (srv->stop)
        *srv->stop = 1;
    uv_stop(&srv->loop);
}

static void watch_signal(struct server *srv, uv_signal_t *handle, int signum)
{
    if (uv_is_active((uv_handle_t *)handle))
        return;
    uv_signal_init(&srv->loop, handle);
    handle->data = srv;
    int rc = uv_signal_start(handle, on_signal, signum);
    if (rc < 0)
        log_error("server", "cannot watch signal %d: %s", signum, uv_strerror(rc));
}

/* Closes a handle of ours that was initialised (data set) and is not closing. */
static void close_own_handle(uv_handle_t *handle)
{
    if (handle->data && !uv_is_closing(handle))
        uv_close(handle, NULL);
}

/* Tears lws off our loop and frees both. With a foreign loop, lws 4.1.6's
 * lws_context_destroy only starts closing its uv handles; once the loop has
 * run their close callbacks, a second call finishes freeing the context.
 * Our own handles close alongside. */
static void close_loop(struct server *srv)
{
    lws_context_destroy(srv->lws);
    close_own_handle((uv_handle_t *)&srv->sig_int);
    close_own_handle((uv_handle_t *)&srv->sig_term);
    close_own_handle((uv_handle_t *)&srv->drain_timer);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    lws_context_destroy(srv->lws);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&srv->loop);
    if (rc < 0)
        log_warn("server", "event loop not fully closed: %s", uv_strerror(rc));
}

int server_run(struct server *srv, volatile sig_atomic_t *stop)
{
    srv->stop = stop;
    watch_signal(srv, &srv->sig_int, SIGINT);
    watch_signal(srv, &srv->sig_term, SIGTERM);
    /* nothing wakes the process when nothing happens: the loop sleeps in
     * epoll until a descriptor, a timer or a signal needs it */
    while (!*stop)
        uv_run(&srv->loop, UV_RUN_DEFAULT);
    return 0;
}

static size_t n_sessions(const struct server *srv)
{
    size_t n = 0;
    for (size_t i = 0; i < srv->n_mounts; i++)
        n += eio_server_n_sessions(srv->mounts[i].eio);
    return n;
}

/* Ends the drain's loop run once every session is gone or the deadline
 * passed. A uv timer, not an lws_sul: lws 4.1.6 arms its timer for a sul
 * only from inside its own service path, and the drain starts outside it. */
static void on_drain_tick(uv_timer_t *timer)
{
    struct server *srv = timer->data;
    if (n_sessions(srv) == 0 || uv_now(&srv->loop) >= srv->drain_deadline_ms) {
        uv_timer_stop(timer);
        uv_stop(&srv->loop);
    }
}

void server_drain(struct server *srv, int deadline_ms)
{
    srv->is_draining = true;
    for (size_t i = 0; i < srv->n_mounts; i++)
        eio_server_close_all(srv->mounts[i].eio);
    uv_update_time(&srv->loop);
    srv->drain_deadline_ms = uv_now(&srv->loop) + (uint64_t)deadline_ms;
    uv_timer_init(&srv->loop, &srv->drain_timer);
    srv->drain_timer.data = srv;
    uv_timer_start(&srv->drain_timer, on_drain_tick, 0, DRAIN_TICK_MS);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&srv->drain_timer);
    for (size_t i = 0; i < srv->n_mounts; i++)
        eio_server_free_unconnected(srv->mounts[i].eio);
    if (n_sessions(srv) > 0)
        log_warn("server", "%zu sessions still open at the drain deadline", n_sessions(srv));
}

#include "http.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "eio.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "rooms.h"
#include "server.h"
#include "web.h"
#include "xalloc.h"

#define HEADER_BUF 2048
#define ORIGIN_MAX 256

/* ------------------------------------------------------------ CORS */

/* Copies the request's Origin into buf if --cors-origin allows it. */
static bool allowed_origin(struct lws *wsi, const struct server_ctx *ctx, char *buf, size_t cap)
{
    if (!ctx || !ctx->cfg || ctx->cfg->n_cors_origins == 0)
        return false;
    if (lws_hdr_copy(wsi, buf, (int)cap, WSI_TOKEN_ORIGIN) <= 0)
        return false;
    for (size_t i = 0; i < ctx->cfg->n_cors_origins; i++) {
        const char *o = ctx->cfg->cors_origins[i];
        if (strcmp(o, "*") == 0 || strcmp(o, buf) == 0)
            return true;
    }
    return false;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int add_cors_headers(struct lws *wsi, const struct server_ctx *ctx, unsigned char **p,
                            unsigned char *end)
{
    char origin[ORIGIN_MAX];
    if (!allowed_origin(wsi, ctx, origin, sizeof origin))
        return 0;
    if (add_header(wsi, "access-control-allow-origin:", origin, p, end) ||
        add_header(wsi, "access-control-allow-credentials:", "true", p, end) ||
        add_header(wsi, "vary:", "Origin", p, end))
        return -1;
    return 0;
}

/* Preflight: which methods and headers the page may use, for a day. */
static int add_preflight_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
    static const char name[] = "access-control-request-headers:";
    char asked[256] = "content-type", copy[256];
    if (lws_hdr_custom_copy(wsi, copy, sizeof copy, name, (int)strlen(name)) > 0)
        memcpy(asked, copy, sizeof asked);
    if (add_header(wsi, "access-control-allow-methods:", "GET, POST, OPTIONS", p, end) ||
        add_header(wsi, "access-control-allow-headers:", asked, p, end) ||
        add_header(wsi, "access-control-max-age:", "86400", p, end))
        return -1;
    return 0;
}

/* ------------------------------------------------------------ responses */

static int write_headers(struct lws *wsi, const struct server_ctx *ctx, int status,
                         const char *content_type, size_t len, bool is_preflight)
{
    unsigned char buf[LWS_PRE + HEADER_BUF];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, content_type, (lws_filepos_t)len, &p,
                                    end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end) ||
        add_cors_headers(wsi, ctx, &p, end) ||
        (is_preflight && add_preflight_headers(wsi, &p, end)))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

static int finish(struct lws *wsi)
{
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int http_respond(struct lws *wsi, const struct server_ctx *ctx, int status,
                 const char *content_type, const char *body, size_t len)
{
    if (write_headers(wsi, ctx, status, content_type, len, false) < 0)
        return -1;
    if (len) {
        unsigned char *buf = xmalloc(LWS_PRE + len);
        memcpy(buf + LWS_PRE, body, len);
        int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        if (n < (int)len)
            return -1;
    }
    return finish(wsi);
}

int http_respond_eio_error(struct lws *wsi, const struct server_ctx *ctx, enum eio_errc errc)
{
    char body[128];
    int n = eio_error_body(errc, body, sizeof body);
    if (n < 0)
        return -1;
    if (ctx && ctx->m)
        metrics_inc(ctx->m, METRIC_HANDSHAKES_REFUSED);
    return http_respond(wsi, ctx, HTTP_STATUS_BAD_REQUEST, "application/json", body, (size_t)n);
}

int http_query_string(struct lws *wsi, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0;; i++) {
        int frag_len = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (frag_len <= 0)
            break;
        if (len + (size_t)frag_len + 2 > cap)
            return -EMSGSIZE;
        if (len)
            buf[len++] = '&';
        int n = lws_hdr_copy_fragment(wsi, buf + len, (int)(cap - len), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            return -EMSGSIZE;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return (int)len;
}

enum poll_method http_method(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
        return POLL_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
        return POLL_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0)
        return POLL_OPTIONS;
    return POLL_OTHER;
}

/* ------------------------------------------------------------ routes */

static void refresh_gauges(struct server_ctx *ctx)
{
    metrics_set(ctx->m, GAUGE_CLIENTS_CONNECTED, (int64_t)eio_server_n_sessions(ctx->eio));
    metrics_set(ctx->m, GAUGE_QUEUED_BYTES, (int64_t)eio_server_queued_bytes(ctx->eio));
    if (ctx->rooms)
        metrics_set(ctx->m, GAUGE_ROOMS, (int64_t)rooms_n_rooms(ctx->rooms));
    if (ctx->ingest)
        metrics_set(ctx->m, GAUGE_TRAINERS, (int64_t)ingest_n_trainers(ctx->ingest));
}

static int serve_metrics(struct lws *wsi, struct server_ctx *ctx)
{
    refresh_gauges(ctx);
    size_t len;
    char *text = metrics_render_new(ctx->m, &len);
    int rc = http_respond(wsi, NULL, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                          text, len);
    free(text);
    return rc;
}

static int serve_engine_io(struct lws *wsi, struct server_ctx *ctx, struct poll_conn *pc,
                           struct eio_server *eio)
{
    enum poll_method method = http_method(wsi);
    if (method == POLL_OPTIONS) {
        if (write_headers(wsi, ctx, HTTP_STATUS_NO_CONTENT, "text/plain", 0, true) < 0)
            return -1;
        return finish(wsi);
    }
    char query[1024];
    int len = http_query_string(wsi, query, sizeof query);
    if (len < 0)
        return http_respond_eio_error(wsi, ctx, EIO_ERR_BAD_REQUEST);
    return eio_poll_on_request(wsi, ctx, pc, eio, method, query, (size_t)len);
}

/* ------------------------------------------------------------ dashboard */

/* Copies request header token into buf; "" when absent or too long. */
static const char *header_or_empty(struct lws *wsi, enum lws_token_indexes token, char *buf,
                                   size_t cap)
{
    if (lws_hdr_copy(wsi, buf, (int)cap, token) < 0)
        buf[0] = '\0';
    return buf;
}

static int write_dashboard_headers(struct lws *wsi, const struct web_response *res)
{
    unsigned char buf[LWS_PRE + HEADER_BUF];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)res->status, res->content_type,
                                    (lws_filepos_t)res->len, &p, end) ||
        add_header(wsi, "cache-control:", WEB_CACHE_CONTROL, &p, end) ||
        add_header(wsi, "etag:", res->etag, &p, end) ||
        add_header(wsi, "vary:", "Accept-Encoding", &p, end) ||
        add_header(wsi, "content-security-policy:", WEB_CSP, &p, end) ||
        add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
        (res->content_encoding &&
         add_header(wsi, "content-encoding:", res->content_encoding, &p, end)))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* GET / and /dashboard/...: the page (web.c), with its caching, encoding
 * and security headers. */
static int serve_dashboard(struct lws *wsi, struct server_ctx *ctx, const char *path)
{
    static const char refused[] = "bad path\n", missing[] = "not found\n", method[] = "GET only\n";
    if (http_method(wsi) != POLL_GET)
        return http_respond(wsi, NULL, HTTP_STATUS_METHOD_NOT_ALLOWED, "text/plain", method,
                            sizeof method - 1);
    char accept[256], etag[256];
    struct web_response res;
    int status = web_lookup(
        ctx->web, path, header_or_empty(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, accept, sizeof accept),
        header_or_empty(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, etag, sizeof etag), &res);
    metrics_inc(ctx->m, status == 200   ? METRIC_WEB_RESPONSES
                        : status == 304 ? METRIC_WEB_NOT_MODIFIED
                        : status == 400 ? METRIC_WEB_REFUSED
                                        : METRIC_WEB_NOT_FOUND);
    if (status == 400 || status == 404)
        return http_respond(wsi, NULL, status, "text/plain", status == 400 ? refused : missing,
                            status == 400 ? sizeof refused - 1 : sizeof missing - 1);
    int rc = write_dashboard_headers(wsi, &res);
    if (rc == 0 && res.len) {
        unsigned char *buf = xmalloc(LWS_PRE + res.len);
        memcpy(buf + LWS_PRE, res.body, res.len);
        if (lws_write(wsi, buf + LWS_PRE, res.len, LWS_WRITE_HTTP_FINAL) < (int)res.len)
            rc = -1;
        free(buf);
    }
    web_response_fini(&res);
    return rc < 0 ? -1 : finish(wsi);
}

int http_on_request(struct lws *wsi, struct server_ctx *ctx, struct poll_conn *pc, const char *path)
{
    static const char not_found[] = "not found\n";
    memset(pc, 0, sizeof *pc);
    if (strcmp(path, "/healthz") == 0) {
        if (ctx->is_shutting_down)
            return http_respond(wsi, NULL, HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain",
                                "stopping\n", 9);
        return http_respond(wsi, NULL, HTTP_STATUS_OK, "text/plain", "ok\n", 3);
    }
    if (strcmp(path, "/metrics") == 0 && ctx->m)
        return serve_metrics(wsi, ctx);
    struct eio_server *eio = server_mount_for(ctx, path);
    if (eio)
        return serve_engine_io(wsi, ctx, pc, eio);
    if (ctx->web && web_owns_path(path))
        return serve_dashboard(wsi, ctx, path);
    return http_respond(wsi, NULL, HTTP_STATUS_NOT_FOUND, "text/plain", not_found,
                        sizeof not_found - 1);
}

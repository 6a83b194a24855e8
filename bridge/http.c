#include "http.h"

#include <errno.h>
#include <libwebsockets.h>
#include <string.h>

#include "eio.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "rooms.h"
#include "server.h"
#include "xalloc.h"

#define HEADER_BUF 1024
#define EIO_PATH "/socket.io/"

static int write_headers(struct lws *wsi, int status, const char *content_type, size_t len)
{
    unsigned char buf[LWS_PRE + HEADER_BUF];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    static const char no_cache[] = "no-store";
    if (lws_add_http_common_headers(wsi, (unsigned)status, content_type, (lws_filepos_t)len, &p,
                                    end))
        return -1;
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)no_cache, sizeof no_cache - 1, &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

int http_respond(struct lws *wsi, int status, const char *content_type, const char *body,
                 size_t len)
{
    if (write_headers(wsi, status, content_type, len) < 0)
        return -1;
    if (len) {
        unsigned char *buf = xmalloc(LWS_PRE + len);
        memcpy(buf + LWS_PRE, body, len);
        int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        if (n < (int)len)
            return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int http_respond_eio_error(struct lws *wsi, enum eio_errc errc)
{
    char body[128];
    int n = eio_error_body(errc, body, sizeof body);
    if (n < 0)
        return -1;
    return http_respond(wsi, HTTP_STATUS_BAD_REQUEST, "application/json", body, (size_t)n);
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

static void refresh_gauges(struct server_ctx *ctx)
{
    metrics_set(ctx->m, GAUGE_CLIENTS_CONNECTED, (int64_t)eio_server_n_sessions(ctx->eio));
    metrics_set(ctx->m, GAUGE_ROOMS, (int64_t)rooms_n_rooms(ctx->rooms));
    metrics_set(ctx->m, GAUGE_QUEUED_BYTES, (int64_t)eio_server_queued_bytes(ctx->eio));
    metrics_set(ctx->m, GAUGE_TRAINERS, (int64_t)ingest_n_trainers(ctx->ingest));
}

static int serve_metrics(struct lws *wsi, struct server_ctx *ctx)
{
    refresh_gauges(ctx);
    size_t len;
    char *text = metrics_render_new(ctx->m, &len);
    int rc = http_respond(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return rc;
}

/* Engine.IO over plain HTTP: long-polling is not served yet, so every
 * request gets the answer the spec gives a server without that transport. */
static int serve_engine_io(struct lws *wsi, struct server_ctx *ctx)
{
    char query[1024];
    struct eio_query q;
    enum eio_errc errc = EIO_ERR_BAD_REQUEST;
    int len = http_query_string(wsi, query, sizeof query);
    if (len >= 0 && eio_query_parse(query, (size_t)len, &q, &errc) == 0)
        errc = q.transport == EIO_TRANSPORT_WEBSOCKET ? EIO_ERR_BAD_REQUEST /* no Upgrade */
                                                      : EIO_ERR_UNKNOWN_TRANSPORT;
    metrics_inc(ctx->m, METRIC_HANDSHAKES_REFUSED);
    return http_respond_eio_error(wsi, errc);
}

int http_on_request(struct lws *wsi, struct server_ctx *ctx, const char *path)
{
    if (strcmp(path, "/healthz") == 0) {
        if (ctx->is_shutting_down)
            return http_respond(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain", "stopping\n", 9);
        return http_respond(wsi, HTTP_STATUS_OK, "text/plain", "ok\n", 3);
    }
    if (strcmp(path, "/metrics") == 0)
        return serve_metrics(wsi, ctx);
    if (strcmp(path, EIO_PATH) == 0 || strcmp(path, "/socket.io") == 0)
        return serve_engine_io(wsi, ctx);
    static const char not_found[] = "not found\n";
    return http_respond(wsi, HTTP_STATUS_NOT_FOUND, "text/plain", not_found, sizeof not_found - 1);
}

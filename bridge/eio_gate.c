#include "eio_gate.h"

#include <libwebsockets.h>
#include <string.h>

#include "auth.h"
#include "eio.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "origin.h"
#include "xalloc.h"

#define HOST_MAX 300

static enum eio_gate_verdict check_origin(struct lws *wsi, struct eio_server *eio, const char *addr)
{
    char origin[HTTP_ORIGIN_MAX] = "";
    char host[HOST_MAX] = "";
    if (!http_origin(wsi, origin, sizeof origin))
        return EIO_GATE_OK;
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) < 0)
        host[0] = '\0';
    const struct eio_server_opts *opts = eio_server_opts(eio);
    enum origin_verdict v =
        origin_check((const char *const *)opts->cors_origins, opts->n_cors_origins, origin,
                     host[0] ? host : NULL, opts->is_tls);
    if (origin_is_allowed(v))
        return EIO_GATE_OK;
    metrics_inc(eio_server_metrics(eio), METRIC_ORIGIN_REFUSED);
    log_info_limited("eio_gate", "refused Origin %.100s (host %.100s) from %s", origin, host, addr);
    return EIO_GATE_ORIGIN;
}

static enum eio_gate_verdict check_room(struct eio_server *eio, const char *addr)
{
    enum quota_verdict v = eio_server_room_for(eio, addr);
    if (v == QUOTA_OK)
        return EIO_GATE_OK;
    bool is_total = v == QUOTA_TOTAL;
    metrics_inc(eio_server_metrics(eio),
                is_total ? METRIC_CONN_REFUSED_TOTAL : METRIC_CONN_REFUSED_PER_IP);
    log_warn_limited("eio_gate", "refused a connection from %s: %s reached", addr,
                     is_total ? "--max-connections" : "--max-connections-per-ip");
    return EIO_GATE_FULL;
}

enum eio_gate_verdict eio_gate_check(struct lws *wsi, struct eio_server *eio, bool is_new_session,
                                     char addr[EIO_GATE_ADDR_MAX])
{
    eio_gate_peer(wsi, addr);
    enum eio_gate_verdict v = check_origin(wsi, eio, addr);
    if (v == EIO_GATE_OK && is_new_session)
        v = check_room(eio, addr);
    return v;
}

int eio_gate_status(enum eio_gate_verdict v)
{
    return v == EIO_GATE_ORIGIN ? HTTP_STATUS_FORBIDDEN
           : v == EIO_GATE_FULL ? HTTP_STATUS_SERVICE_UNAVAILABLE
                                : HTTP_STATUS_OK;
}

void eio_gate_peer(struct lws *wsi, char addr[EIO_GATE_ADDR_MAX])
{
    addr[0] = '\0';
    if (!lws_get_peer_simple(wsi, addr, EIO_GATE_ADDR_MAX))
        addr[0] = '\0';
}

char *eio_gate_bearer_new(struct lws *wsi)
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (len <= 0 || len > AUTH_TOKEN_MAX + 64)
        return NULL;
    char *value = xmalloc((size_t)len + 1);
    const char *token = NULL;
    size_t token_len = 0;
    char *out = NULL;
    if (lws_hdr_copy(wsi, value, len + 1, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        auth_token_from_bearer(value, strlen(value), &token, &token_len) == AUTH_OK)
        out = xstrndup(token, token_len);
    free(value);
    return out;
}

#include "http.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

#define HEADER_BUF 2048
#define CONNECTION_HEADER_MAX 256

/* ------------------------------------------------------------ requests */

/* True if the comma-separated header value holds token (case-insensitive). */
static bool has_token(const char *value, const char *token)
{
    size_t token_len = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == token_len && strncasecmp(start, token, token_len) == 0)
            return true;
    }
    return false;
}

/* Whether the client lets the connection live after this response
 * (RFC 9112 §9.3): HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive". */
static bool client_keeps_alive(struct lws *wsi, bool is_http10)
{
    char value[CONNECTION_HEADER_MAX];
    bool has_value = lws_hdr_copy(wsi, value, sizeof value, WSI_TOKEN_CONNECTION) > 0;
    if (has_value && has_token(value, "close"))
        return false;
    if (is_http10)
        return has_value && has_token(value, "keep-alive");
    return true;
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

enum http_method http_method(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
        return HTTP_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
        return HTTP_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0)
        return HTTP_OPTIONS;
    return HTTP_OTHER;
}

bool http_origin(struct lws *wsi, char *buf, size_t cap)
{
    return lws_hdr_copy(wsi, buf, (int)cap, WSI_TOKEN_ORIGIN) > 0;
}

static const char *header_or_empty(struct lws *wsi, enum lws_token_indexes token, char *buf,
                                   size_t cap)
{
    if (lws_hdr_copy(wsi, buf, (int)cap, token) < 0)
        buf[0] = '\0';
    return buf;
}

const char *http_accept_encoding(struct lws *wsi, char *buf, size_t cap)
{
    return header_or_empty(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, buf, cap);
}

const char *http_if_none_match(struct lws *wsi, char *buf, size_t cap)
{
    return header_or_empty(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, buf, cap);
}

/* ------------------------------------------------------------ headers */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int add_cors_headers(struct lws *wsi, const char *origin, unsigned char **p,
                            unsigned char *end)
{
    if (!origin)
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

static int add_extra_headers(struct lws *wsi, const char *const *pairs, unsigned char **p,
                             unsigned char *end)
{
    for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2) {
        if (add_header(wsi, pairs[i], pairs[i + 1], p, end))
            return -1;
    }
    return 0;
}

/* The Connection header this response needs: "close" when the connection
 * ends after it, "keep-alive" for a kept HTTP/1.0 one, none otherwise. */
static int add_connection_header(struct lws *wsi, bool keeps_alive, bool is_http10,
                                 unsigned char **p, unsigned char *end)
{
    if (!keeps_alive)
        return add_header(wsi, "connection:", "close", p, end);
    if (is_http10)
        return add_header(wsi, "connection:", "keep-alive", p, end);
    return 0;
}

/* Status line and headers into [*p, end); *closes tells whether the
 * connection ends after this response. lws answers in the request's HTTP
 * version (it offers no accessor for it, so the status line it wrote is
 * read back) and keeps the connection exactly when client_keeps_alive says. */
static int compose_headers(struct lws *wsi, const struct http_response *r, unsigned char **p,
                           unsigned char *end, bool *closes)
{
    unsigned char *status_line = *p;
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->content_type,
                                    (lws_filepos_t)r->len, p, end))
        return -1;
    bool is_http10 = *p - status_line >= 8 && memcmp(status_line, "HTTP/1.0", 8) == 0;
    bool keeps_alive = client_keeps_alive(wsi, is_http10);
    *closes = !keeps_alive;
    if (add_header(wsi, "cache-control:", r->cache_control ? r->cache_control : "no-store", p,
                   end) ||
        add_connection_header(wsi, keeps_alive, is_http10, p, end) ||
        add_extra_headers(wsi, r->extra_headers, p, end) ||
        add_cors_headers(wsi, r->allow_origin, p, end) ||
        (r->is_preflight && add_preflight_headers(wsi, p, end)))
        return -1;
    return lws_finalize_http_header(wsi, p, end) ? -1 : 0;
}

/* ------------------------------------------------------------ responses */

struct http_out_meta {
    bool closes; /* the connection ends after this response */
};

static int compose(struct lws *wsi, struct http_out *out, const struct http_response *r)
{
    unsigned char headers[LWS_PRE + HEADER_BUF];
    unsigned char *start = headers + LWS_PRE, *p = start, *end = headers + sizeof headers - 1;
    bool closes;
    http_out_fini(out);
    if (compose_headers(wsi, r, &p, end, &closes) < 0)
        return -1;
    size_t header_len = (size_t)(p - start);
    /* [meta][LWS_PRE][headers][body] */
    out->buf = xmalloc(sizeof(struct http_out_meta) + LWS_PRE + header_len + r->len);
    ((struct http_out_meta *)out->buf)->closes = closes;
    unsigned char *data = out->buf + sizeof(struct http_out_meta) + LWS_PRE;
    memcpy(data, start, header_len);
    if (r->len)
        memcpy(data + header_len, r->body, r->len);
    out->len = header_len + r->len;
    return 0;
}

int http_respond(struct lws *wsi, struct http_out *out, const struct http_response *r)
{
    if (compose(wsi, out, r) < 0)
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

int http_respond_now(struct lws *wsi, struct http_out *out, const struct http_response *r)
{
    if (compose(wsi, out, r) < 0)
        return -1;
    return http_flush(wsi, out);
}

/* The Engine.IO error response for errc; body is the caller's buffer. */
static int eio_error_response(enum eio_errc errc, const char *allow_origin, char *body, size_t cap,
                              struct http_response *r)
{
    int n = eio_error_body(errc, body, cap);
    if (n < 0)
        return -1;
    *r = (struct http_response){.status = errc == EIO_ERR_FORBIDDEN ? HTTP_STATUS_FORBIDDEN
                                                                    : HTTP_STATUS_BAD_REQUEST,
                                .content_type = "application/json",
                                .body = body,
                                .len = (size_t)n,
                                .allow_origin = allow_origin};
    return 0;
}

int http_respond_eio_error(struct lws *wsi, struct http_out *out, enum eio_errc errc,
                           const char *allow_origin)
{
    char body[128];
    struct http_response r;
    if (eio_error_response(errc, allow_origin, body, sizeof body, &r) < 0)
        return -1;
    return http_respond(wsi, out, &r);
}

int http_refuse_upgrade(struct lws *wsi, enum eio_errc errc)
{
    char body[128];
    struct http_response r;
    if (eio_error_response(errc, NULL, body, sizeof body, &r) < 0)
        return -1;
    return http_refuse_upgrade_with(wsi, &r);
}

int http_refuse_upgrade_with(struct lws *wsi, const struct http_response *r)
{
    struct http_out out = {0};
    if (compose(wsi, &out, r) < 0)
        return -1;
    unsigned char *data = out.buf + sizeof(struct http_out_meta) + LWS_PRE;
    int n = lws_write(wsi, data, out.len, LWS_WRITE_HTTP_FINAL);
    bool is_whole = n >= (int)out.len;
    http_out_fini(&out);
    return is_whole ? 1 : -1;
}

bool http_is_pending(const struct http_out *out)
{
    return out->buf != NULL;
}

int http_flush(struct lws *wsi, struct http_out *out)
{
    if (!out->buf)
        return 0;
    unsigned char *data = out->buf + sizeof(struct http_out_meta) + LWS_PRE;
    bool closes = ((struct http_out_meta *)out->buf)->closes;
    size_t len = out->len;
    int n = lws_write(wsi, data, len, LWS_WRITE_HTTP_FINAL);
    http_out_fini(out);
    if (n < (int)len)
        return -1;
    /* lws may free or reuse the request's data from here on */
    if (lws_http_transaction_completed(wsi) || closes)
        return -1;
    return 0;
}

void http_out_fini(struct http_out *out)
{
    free(out->buf);
    out->buf = NULL;
    out->len = 0;
}

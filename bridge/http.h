/* http: writes HTTP/1.x responses. A leaf: it knows no route, session or
 * metric. A response (status line, headers, body) is composed into one
 * buffer held by the connection (struct http_out) and written with one
 * lws_write from the connection's WRITEABLE callback, as lws's dynamic-HTTP
 * examples do; then the transaction completes and lws either waits for the
 * next request on the same connection (keep-alive) or closes it.
 *
 * Connection management (RFC 9112 §9.3, §9.6): a connection is kept open
 * after a response unless the client sent "Connection: close" or spoke
 * HTTP/1.0 without "Connection: keep-alive". A response after which the
 * connection closes says "Connection: close"; a kept HTTP/1.0 connection
 * is announced with "Connection: keep-alive". Every response carries a
 * Content-Length, so pipelined requests and requests after an error answer
 * work on the same connection.
 *
 * Also reads what routing and the transports need from a request: method,
 * query string, Origin. */
#ifndef TB_HTTP_H
#define TB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "eio_packet.h"

struct lws;

enum http_method { HTTP_GET, HTTP_POST, HTTP_OPTIONS, HTTP_OTHER };

#define HTTP_ORIGIN_MAX 256

/* A response to write. Strings are borrowed until http_respond returns. */
struct http_response {
    int status;
    const char *content_type;
    const char *body;
    size_t len;
    const char *allow_origin;  /* CORS: echo this Origin with credentials, or NULL */
    bool is_preflight;         /* add the CORS preflight headers (methods, headers, max-age) */
    const char *cache_control; /* NULL: "no-store" */
    const char *const *extra_headers; /* "name:", "value" pairs ending with NULL, or NULL */
};

/* A composed response waiting for its WRITEABLE callback. Embedded in the
 * connection's per-request data; zeroed at the start of each request. */
struct http_out {
    unsigned char *buf; /* LWS_PRE headroom, then len bytes */
    size_t len;
};

/* Composes the response into out and asks lws for a WRITEABLE callback,
 * where http_flush writes it. Returns 0, or -1 if the connection should be
 * closed (headers did not fit). */
int http_respond(struct lws *wsi, struct http_out *out, const struct http_response *r);

/* From a WRITEABLE callback: composes the response and writes it at once
 * (http_respond + http_flush without a second callback). Returns as http_flush. */
int http_respond_now(struct lws *wsi, struct http_out *out, const struct http_response *r);

/* Writes the Engine.IO error response: HTTP 400 (403 for EIO_ERR_FORBIDDEN),
 * JSON {"code","message"}, with CORS for allow_origin (may be NULL). */
int http_respond_eio_error(struct lws *wsi, struct http_out *out, enum eio_errc errc,
                           const char *allow_origin);

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE refused: writes the Engine.IO error
 * response at once (lws completes the transaction itself there). Returns 1,
 * what that callback returns for an answered refusal, or -1 to hang up. */
int http_refuse_upgrade(struct lws *wsi, enum eio_errc errc);

/* The same with any response (e.g. 503 when the bridge is full). */
int http_refuse_upgrade_with(struct lws *wsi, const struct http_response *r);

/* True when a response is composed and not yet written. */
bool http_is_pending(const struct http_out *out);

/* From WRITEABLE: writes the composed response in one lws_write and
 * completes the transaction. The connection's per-request data must not be
 * touched afterwards (lws may reuse it for the next request). Returns what
 * the lws callback should return: 0, or -1 to close. */
int http_flush(struct lws *wsi, struct http_out *out);

/* Frees a response that will never be written (the connection closed). */
void http_out_fini(struct http_out *out);

/* Copies the request's query string (fragments joined with '&') into buf.
 * Returns its length, or -EMSGSIZE. */
int http_query_string(struct lws *wsi, char *buf, size_t cap);

enum http_method http_method(struct lws *wsi);

/* Copies the request's Origin header into buf. Returns false if there is none. */
bool http_origin(struct lws *wsi, char *buf, size_t cap);

/* Copies the request's Accept-Encoding / If-None-Match header into buf;
 * "" when there is none or it does not fit. Returns buf. */
const char *http_accept_encoding(struct lws *wsi, char *buf, size_t cap);
const char *http_if_none_match(struct lws *wsi, char *buf, size_t cap);

#endif

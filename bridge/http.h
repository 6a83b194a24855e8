/* http: plain HTTP endpoints on the bridge's port: GET /healthz (200 when
 * ready), GET /metrics (Prometheus text), and Engine.IO's HTTP answers
 * (the spec's 400 JSON errors; long-polling arrives with the next issue).
 * Responses are small and written whole from the request callback. */
#ifndef TB_HTTP_H
#define TB_HTTP_H

#include <stddef.h>

#include "eio_packet.h"

struct lws;
struct server_ctx;

/* LWS_CALLBACK_HTTP: answers the request for path. Returns what the lws
 * callback should return. */
int http_on_request(struct lws *wsi, struct server_ctx *ctx, const char *path);

/* Writes a whole response (status line, headers, body). Returns 0, or -1 if
 * the connection should be closed. */
int http_respond(struct lws *wsi, int status, const char *content_type, const char *body,
                 size_t len);

/* Writes the Engine.IO error response: HTTP 400, JSON {"code","message"}. */
int http_respond_eio_error(struct lws *wsi, enum eio_errc errc);

/* Copies the request's query string (fragments joined with '&') into buf.
 * Returns its length, or -EMSGSIZE. */
int http_query_string(struct lws *wsi, char *buf, size_t cap);

#endif

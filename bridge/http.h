/* http: plain HTTP on the bridge's port. Routes each request: GET /healthz
 * (200 when serving, 503 while stopping), GET /metrics (Prometheus text),
 * Engine.IO mounts (long-polling, eio_poll.c; CORS preflight here), 404
 * otherwise. Owns response writing for every HTTP answer (headers, CORS
 * headers for allowed origins, body) and the Engine.IO error bodies.
 * Responses are small and written whole. */
#ifndef TB_HTTP_H
#define TB_HTTP_H

#include <stddef.h>

#include "eio_packet.h"
#include "eio_poll.h"

struct lws;
struct server_ctx;

/* LWS_CALLBACK_HTTP: answers the request for path. Returns what the lws
 * callback should return. */
int http_on_request(struct lws *wsi, struct server_ctx *ctx, struct poll_conn *pc,
                    const char *path);

/* Writes a whole response (status line, headers, body); adds CORS headers
 * when ctx allows the request's Origin (ctx may be NULL). Returns 0, or -1
 * if the connection should be closed. */
int http_respond(struct lws *wsi, const struct server_ctx *ctx, int status,
                 const char *content_type, const char *body, size_t len);

/* Writes the Engine.IO error response: HTTP 400, JSON {"code","message"}. */
int http_respond_eio_error(struct lws *wsi, const struct server_ctx *ctx, enum eio_errc errc);

/* Copies the request's query string (fragments joined with '&') into buf.
 * Returns its length, or -EMSGSIZE. */
int http_query_string(struct lws *wsi, char *buf, size_t cap);

/* The request's method, as long-polling cares about it. */
enum poll_method http_method(struct lws *wsi);

#endif

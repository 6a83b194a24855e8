/* web: the dashboard page the bridge serves at GET / and /dashboard/...
 * Maps a request path to a response: the files embedded at build time
 * (web_assets.h) or, for development, those under --web-root (the two npm
 * libraries under vendor/ still come from the binary when the directory
 * lacks them). Chooses the gzip copy when Accept-Encoding allows it,
 * answers 304 when If-None-Match holds the response's ETag, refuses paths
 * that are not plain names (no "..", no hidden files, nothing that leaves
 * the root). Knows nothing of lws: http.c writes what web_lookup fills in,
 * plus the fixed headers below on every dashboard response.
 * Owns the --web-root path; loop thread only. */
#ifndef TB_WEB_H
#define TB_WEB_H

#include <stdbool.h>
#include <stddef.h>

/* The page may load and connect to its own origin only. */
#define WEB_CSP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "             \
    "form-action 'none'"
/* Every URL is stable across upgrades, so browsers revalidate (ETag, 304). */
#define WEB_CACHE_CONTROL "no-cache"
#define WEB_MAX_FILE_BYTES (8u << 20) /* --web-root files larger than this: 404 */

struct web;

/* What web_lookup answers. body is borrowed from the embedded table, or
 * owned (a --web-root file): release with web_response_fini. */
struct web_response {
    int status;                   /* 200, 304, 400 (refused path) or 404 */
    const char *content_type;     /* NULL unless 200 or 304 */
    const char *content_encoding; /* "gzip" or NULL */
    char etag[32];                /* quoted strong ETag, "" if none */
    const unsigned char *body;
    size_t len;
    unsigned char *owned; /* what web_response_fini frees */
};

/* root_dir: serve files from that directory (development), or NULL for the
 * embedded files only. Returns NULL and logs why if root_dir is not a
 * readable directory. */
struct web *web_new(const char *root_dir);
void web_destroy(struct web **web_p); /* NULL-safe; sets *web_p = NULL */

/* True for the paths the dashboard owns: "/", "/dashboard", "/dashboard/...". */
bool web_owns_path(const char *path);

/* Fills *res for GET path (without query string) given the request's
 * Accept-Encoding and If-None-Match values (either may be NULL). Returns
 * res->status. *res is overwritten: release an earlier answer held there
 * with web_response_fini first. */
int web_lookup(const struct web *web, const char *path, const char *accept_encoding,
               const char *if_none_match, struct web_response *res);

/* Frees what *res owns. NULL-safe, idempotent. */
void web_response_fini(struct web_response *res);

/* Parsers, exposed for tests: does an Accept-Encoding value accept gzip
 * (q > 0, by name or by "*")? Does an If-None-Match value match etag
 * (quoted; weak comparison, "*" matches)? */
bool web_accepts_gzip(const char *accept_encoding);
bool web_etag_matches(const char *if_none_match, const char *etag);

/* The asset name a dashboard path maps to ("/" -> "index.html",
 * "/dashboard/app.js" -> "app.js"), copied into buf; -EINVAL for a path
 * that is not a plain relative name, -ENOENT for one outside the dashboard. */
int web_asset_name(const char *path, char *buf, size_t cap);

#endif

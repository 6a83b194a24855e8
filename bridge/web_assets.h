/* web_assets: the dashboard's files compiled into the binary. The table is
 * generated at build time by bridge/web/embed.py (web_assets.c in the build
 * directory) from bridge/web/ and the two vendored npm libraries; web.c is
 * its only reader. Immutable, static storage. */
#ifndef TB_WEB_ASSETS_H
#define TB_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name;          /* "index.html", "vendor/uPlot.esm.js" */
    const unsigned char *data; /* the file's bytes */
    size_t len;
    const unsigned char *gz; /* gzip of data, or NULL when it would not be smaller */
    size_t gz_len;
    const char *etag; /* 16 hex digits of the SHA-256 of data, unquoted */
};

extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

#endif

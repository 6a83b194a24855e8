#include "web.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "web_assets.h"
#include "xalloc.h"

#define NAME_MAX_LEN 200
#define PREFIX "/dashboard"
#define INDEX "index.html"
#define VENDOR "vendor/"

struct web {
    char *root; /* realpath of --web-root, or NULL */
};

/* ------------------------------------------------------------ names */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* A relative name of '/'-separated segments, none empty, none starting with
 * '.', only [A-Za-z0-9._-]: no "..", no hidden files, no absolute paths. */
static bool is_plain_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    bool at_segment_start = true;
    for (const char *p = name; *p; p++) {
        if (*p == '/') {
            if (at_segment_start)
                return false;
            at_segment_start = true;
            continue;
        }
        if (!is_name_char(*p) || (at_segment_start && *p == '.'))
            return false;
        at_segment_start = false;
    }
    return !at_segment_start;
}

static const char *content_type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++) {
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

/* ------------------------------------------------------------ header parsers */

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses ";q=VALUE" parameters of one Accept-Encoding item (p after the
 * token, up to the next ','); returns whether q > 0 (1 when absent). */
static bool item_q_positive(const char *p, const char *end)
{
    bool positive = true;
    while (p < end) {
        p = skip_ows(p);
        if (*p != ';')
            break;
        p = skip_ows(p + 1);
        if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
            positive = false;
            for (p += 2; p < end && ((*p >= '0' && *p <= '9') || *p == '.'); p++) {
                if (*p >= '1' && *p <= '9')
                    positive = true;
            }
        }
        while (p < end && *p != ';')
            p++;
    }
    return positive;
}

bool web_accepts_gzip(const char *accept_encoding)
{
    int gzip_q = -1, star_q = -1; /* -1: not named; 0/1: q is zero / positive */
    for (const char *p = accept_encoding; p && *p;) {
        p = skip_ows(p);
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        size_t n = strcspn(p, " \t;,");
        int q = item_q_positive(p + n, end) ? 1 : 0;
        if ((n == 4 && strncasecmp(p, "gzip", 4) == 0) ||
            (n == 6 && strncasecmp(p, "x-gzip", 6) == 0))
            gzip_q = q;
        else if (n == 1 && *p == '*')
            star_q = q;
        p = *end ? end + 1 : end;
    }
    return gzip_q == 1 || (gzip_q < 0 && star_q == 1);
}

bool web_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match || !etag || !*etag)
        return false;
    const char *p = skip_ows(if_none_match);
    if (*p == '*')
        return true;
    size_t etag_len = strlen(etag);
    while (*p) {
        p = skip_ows(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            return false; /* malformed: no match */
        const char *close = strchr(p + 1, '"');
        if (!close)
            return false;
        size_t tag_len = (size_t)(close - p) + 1;
        if (tag_len == etag_len && memcmp(p, etag, etag_len) == 0)
            return true;
        p = close + 1;
    }
    return false;
}

int web_asset_name(const char *path, char *buf, size_t cap)
{
    const char *rel;
    if (strcmp(path, "/") == 0 || strcmp(path, PREFIX) == 0 || strcmp(path, PREFIX "/") == 0)
        rel = INDEX;
    else if (strncmp(path, PREFIX "/", sizeof PREFIX) == 0)
        rel = path + sizeof PREFIX;
    else
        return -ENOENT;
    if (!is_plain_name(rel))
        return -EINVAL;
    size_t len = strlen(rel);
    if (len + 1 > cap)
        return -EINVAL;
    memcpy(buf, rel, len + 1);
    return 0;
}

/* ------------------------------------------------------------ sources */

static const struct web_asset *find_embedded(const char *name)
{
    for (size_t i = 0; i < web_n_assets; i++) {
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    }
    return NULL;
}

static void from_embedded(const struct web_asset *a, bool gzip_ok, struct web_response *res)
{
    bool use_gz = gzip_ok && a->gz;
    res->body = use_gz ? a->gz : a->data;
    res->len = use_gz ? a->gz_len : a->len;
    res->content_encoding = use_gz ? "gzip" : NULL;
    snprintf(res->etag, sizeof res->etag, "\"%s%s\"", a->etag, use_gz ? "-gz" : "");
}

static uint64_t fnv1a(const unsigned char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Reads root/name into res (owned). -ENOENT if it is not a regular file
 * inside root no larger than WEB_MAX_FILE_BYTES. */
static int from_root(const char *root, const char *name, struct web_response *res)
{
    char joined[PATH_MAX], real[PATH_MAX];
    size_t root_len = strlen(root);
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", root, name) >= sizeof joined ||
        !realpath(joined, real) || strncmp(real, root, root_len) != 0 || real[root_len] != '/')
        return -ENOENT;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -ENOENT;
    struct stat st;
    int rc = -ENOENT;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= WEB_MAX_FILE_BYTES) {
        size_t len = (size_t)st.st_size;
        res->owned = xmalloc(len ? len : 1);
        if (read(fd, res->owned, len) == (ssize_t)len) {
            res->body = res->owned;
            res->len = len;
            snprintf(res->etag, sizeof res->etag, "\"w%016" PRIx64 "\"", fnv1a(res->owned, len));
            rc = 0;
        } else {
            web_response_fini(res);
        }
    }
    close(fd);
    return rc;
}

/* ------------------------------------------------------------ public */

struct web *web_new(const char *root_dir)
{
    struct web *web = xcalloc(1, sizeof *web);
    if (!root_dir)
        return web;
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(root_dir, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        log_error("web", "--web-root %s: not a readable directory", root_dir);
        free(web);
        return NULL;
    }
    web->root = xstrdup(real);
    return web;
}

void web_destroy(struct web **web_p)
{
    if (!web_p || !*web_p)
        return;
    free((*web_p)->root);
    free(*web_p);
    *web_p = NULL;
}

bool web_owns_path(const char *path)
{
    return strcmp(path, "/") == 0 || strcmp(path, PREFIX) == 0 ||
           strncmp(path, PREFIX "/", sizeof PREFIX) == 0;
}

int web_lookup(const struct web *web, const char *path, const char *accept_encoding,
               const char *if_none_match, struct web_response *res)
{
    memset(res, 0, sizeof *res);
    char name[NAME_MAX_LEN + 1];
    int rc = web_asset_name(path, name, sizeof name);
    if (rc == -EINVAL) {
        log_warn_limited("web", "refused dashboard path (not a plain name): %.80s", path);
        return res->status = 400;
    }
    const struct web_asset *a = NULL;
    if (rc == 0 && web->root)
        rc = from_root(web->root, name, res);
    if (rc == 0 && !res->body && !(a = find_embedded(name)))
        rc = -ENOENT;
    if (rc == -ENOENT && web->root && strncmp(name, VENDOR, sizeof VENDOR - 1) == 0 &&
        (a = find_embedded(name)))
        rc = 0;
    if (rc < 0)
        return res->status = 404;
    if (a)
        from_embedded(a, web_accepts_gzip(accept_encoding), res);
    res->content_type = content_type_of(name);
    if (web_etag_matches(if_none_match, res->etag)) {
        web_response_fini(res);
        res->body = NULL;
        res->len = 0;
        return res->status = 304;
    }
    return res->status = 200;
}

void web_response_fini(struct web_response *res)
{
    if (!res)
        return;
    if (res->owned && res->body == res->owned)
        res->body = NULL;
    free(res->owned);
    res->owned = NULL;
}

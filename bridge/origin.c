#include "origin.h"

#include <string.h>
#include <strings.h>

#define AUTHORITY_MAX 300

/* Copies an authority (host[:port]) lower-cased, without the scheme's
 * default port. Returns false if it does not fit or is empty. */
static bool normalize_authority(const char *in, size_t len, bool is_tls, char *out)
{
    if (len == 0 || len >= AUTHORITY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[len] = '\0';
    const char *default_port = is_tls ? ":443" : ":80";
    size_t dlen = strlen(default_port);
    if (len > dlen && strcmp(out + len - dlen, default_port) == 0 && out[len - dlen - 1] != ':')
        out[len - dlen] = '\0';
    return true;
}

/* Origin "scheme://authority" names the listener the request came to. */
static bool is_same_origin(const char *origin, const char *host, bool is_tls)
{
    const char *scheme = is_tls ? "https://" : "http://";
    size_t slen = strlen(scheme);
    if (!host || strncasecmp(origin, scheme, slen) != 0)
        return false;
    char a[AUTHORITY_MAX], b[AUTHORITY_MAX];
    const char *authority = origin + slen;
    return normalize_authority(authority, strlen(authority), is_tls, a) &&
           normalize_authority(host, strlen(host), is_tls, b) && strcmp(a, b) == 0;
}

enum origin_verdict origin_check(const char *const *allowed, size_t n_allowed, const char *origin,
                                 const char *host, bool is_tls)
{
    if (!origin || !origin[0])
        return ORIGIN_ABSENT;
    for (size_t i = 0; i < n_allowed; i++) {
        if (strcmp(allowed[i], "*") == 0 || strcasecmp(allowed[i], origin) == 0)
            return ORIGIN_LISTED;
    }
    if (is_same_origin(origin, host, is_tls))
        return ORIGIN_SAME;
    return ORIGIN_REFUSED;
}

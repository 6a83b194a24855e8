#include "origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AUTHORITY_MAX 300

/* Copies an authority (host[:port]) lower-cased, with the port made
 * explicit (default_port when absent). Returns false if it does not fit or
 * is empty. */
static bool normalize_authority(const char *in, size_t len, const char *default_port, char *out)
{
    if (len == 0 || len + strlen(default_port) + 1 >= AUTHORITY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[len] = '\0';
    const char *colon = strrchr(out, ':');
    const char *bracket = strrchr(out, ']');
    if (!colon || (bracket && bracket > colon) || (!bracket && strchr(out, ':') != colon))
        snprintf(out + len, AUTHORITY_MAX - len, ":%s", default_port);
    return true;
}

/* Origin names the host and port the request came to (its Host header, on
 * the listener's scheme). The Origin's own scheme only sets its default
 * port: websocket-client (python-socketio) sends "http://" even over wss,
 * and one port cannot serve both a plain and a TLS page. */
static bool is_same_origin(const char *origin, const char *host, bool is_tls)
{
    const char *authority = NULL, *origin_port = NULL;
    if (!host)
        return false;
    if (strncasecmp(origin, "https://", 8) == 0) {
        authority = origin + 8;
        origin_port = "443";
    } else if (strncasecmp(origin, "http://", 7) == 0) {
        authority = origin + 7;
        origin_port = "80";
    } else {
        return false;
    }
    char a[AUTHORITY_MAX], b[AUTHORITY_MAX];
    return normalize_authority(authority, strlen(authority), origin_port, a) &&
           normalize_authority(host, strlen(host), is_tls ? "443" : "80", b) && strcmp(a, b) == 0;
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

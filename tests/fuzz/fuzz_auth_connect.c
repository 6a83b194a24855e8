/* fuzz_auth_connect: the Socket.IO CONNECT auth object ({"token": ...}) as a
 * client sends it, parsed as JSON like the CONNECT packet's data, then the
 * token found in it verified. Checks: a token handed out lies inside the
 * parsed object and has its stated length; reasons are known ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

static struct auth *make_auth(void)
{
    static const char secret[] = "trainbridge-fuzz-secret-0123456789abcdef";
    char path[] = "/tmp/tb-fuzz-auth-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, secret, sizeof secret - 1) != (ssize_t)(sizeof secret - 1))
        abort();
    close(fd);
    struct auth_config cfg = {.secret_path = path, .leeway_s = 5};
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
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    const char *tok = NULL;
    size_t len = 0;
    enum auth_reason r = auth_token_from_connect(obj, &tok, &len);
    if (r == AUTH_OK) {
        if (!tok || len == 0 || strlen(tok) > len)
            abort();
        struct auth_grant *g = NULL;
        enum auth_reason v = auth_verify(a, tok, len, 1800000000, &g);
        if (v < AUTH_OK || v >= AUTH_N_REASONS || (v == AUTH_OK) != (g != NULL))
            abort();
        auth_grant_destroy(&g);
    } else if (tok || len) {
        abort();
    }
    json_decref(obj);
    return 0;
}

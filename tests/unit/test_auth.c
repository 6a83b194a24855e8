/* auth: JWT verification against HS256 secrets (with rotation), RS256 and
 * ES256 public keys; claims (exp, nbf, aud, iss, scenarios); the token's
 * places on the wire (CONNECT auth object, Authorization header); hostile
 * tokens. Every key and token is made here with OpenSSL's own APIs: keys
 * are generated per test and written to a temporary directory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth.h"

#define NOW 1800000000LL
#define SECRET "0123456789abcdef0123456789abcdef-current"
#define PREV_SECRET "0123456789abcdef0123456789abcdef-previous"
#define OTHER_SECRET "0123456789abcdef0123456789abcdef-forger"
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define RS256 "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define ES256 "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"
#define CLAIMS "{\"sub\":\"dash\",\"exp\":1800000600,\"scenarios\":[\"alpha\",\"beta-*\"]}"

static char dir[64];
static char path_secret[128], path_prev[128], path_rsa[128], path_ec[128];
static char path_rsa_small[128], path_ec384[128];
static EVP_PKEY *rsa_key, *ec_key;
static char *rsa_pem; /* the RSA public key PEM text: the classic confusion "secret" */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_public_pem(const char *path, EVP_PKEY *k)
{
    BIO *b = BIO_new_file(path, "w");
    cr_assert_not_null(b);
    cr_assert_eq(PEM_write_bio_PUBKEY(b, k), 1);
    BIO_free(b);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char *buf = calloc(1, 8192);
    size_t n = fread(buf, 1, 8191, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tb-auth-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path_secret, sizeof path_secret, "%s/secret", dir);
    snprintf(path_prev, sizeof path_prev, "%s/previous", dir);
    snprintf(path_rsa, sizeof path_rsa, "%s/rsa.pem", dir);
    snprintf(path_ec, sizeof path_ec, "%s/ec.pem", dir);
    snprintf(path_rsa_small, sizeof path_rsa_small, "%s/rsa1024.pem", dir);
    snprintf(path_ec384, sizeof path_ec384, "%s/ec384.pem", dir);
    write_file(path_secret, SECRET "\n", strlen(SECRET) + 1); /* one newline is ignored */
    write_file(path_prev, PREV_SECRET, strlen(PREV_SECRET));
    rsa_key = EVP_RSA_gen(2048);
    ec_key = EVP_EC_gen("P-256");
    cr_assert(rsa_key && ec_key);
    write_public_pem(path_rsa, rsa_key);
    write_public_pem(path_ec, ec_key);
    rsa_pem = read_text(path_rsa);
}

static void teardown(void)
{
    const char *paths[] = {path_secret, path_prev, path_rsa, path_ec, path_rsa_small, path_ec384};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        unlink(paths[i]);
    rmdir(dir);
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    free(rsa_pem);
}

/* ------------------------------------------------------------ token making */

/* base64url without padding, from OpenSSL's base64. Caller frees. */
static char *b64url(const void *data, size_t len)
{
    char *out = calloc(1, 4 * (len / 3 + 1) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        out[--n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

enum signer { SIGN_HS, SIGN_HS_KEY, SIGN_RS, SIGN_ES, SIGN_NONE };

/* A signature over input; key is the HMAC key for SIGN_HS_KEY. */
static size_t sign(enum signer s, const char *key, const char *input, unsigned char *sig)
{
    size_t len = 0;
    unsigned int md_len = 0;
    switch (s) {
    case SIGN_HS:
        key = SECRET;
        /* fallthrough */
    case SIGN_HS_KEY:
        HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)input, strlen(input), sig,
             &md_len);
        return md_len;
    case SIGN_RS:
    case SIGN_ES: {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        len = 1024;
        cr_assert_eq(
            EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, s == SIGN_RS ? rsa_key : ec_key), 1);
        cr_assert_eq(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)),
                     1);
        EVP_MD_CTX_free(ctx);
        if (s == SIGN_RS)
            return len;
        /* DER ECDSA-Sig-Value -> JWS R || S */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        cr_assert_not_null(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
        ECDSA_SIG_free(es);
        return 64;
    }
    case SIGN_NONE:
        return 0;
    }
    return 0;
}

/* "<b64(header)>.<b64(claims)>.<b64(sig)>". Caller frees. */
static char *make_token_key(const char *header, const char *claims, enum signer s, const char *key)
{
    char *h = b64url(header, strlen(header));
    char *c = b64url(claims, strlen(claims));
    char *input = calloc(1, strlen(h) + strlen(c) + 2);
    sprintf(input, "%s.%s", h, c);
    unsigned char sig[1024];
    size_t sig_len = sign(s, key, input, sig);
    char *sig64 = b64url(sig, sig_len);
    char *token = calloc(1, strlen(input) + strlen(sig64) + 2);
    sprintf(token, "%s.%s", input, sig64);
    free(h);
    free(c);
    free(input);
    free(sig64);
    return token;
}

static char *make_token(const char *header, const char *claims, enum signer s)
{
    return make_token_key(header, claims, s, NULL);
}

static struct auth_config hs_config(void)
{
    return (struct auth_config){.secret_path = path_secret, .leeway_s = 5};
}

static struct auth *new_auth(struct auth_config cfg)
{
    char err[256] = "";
    struct auth *a = auth_new(&cfg, err, sizeof err);
    cr_assert_not_null(a, "auth_new: %s", err);
    return a;
}

/* Verifies a token made from header/claims/signer against cfg at NOW. */
static enum auth_reason verify_made(struct auth_config cfg, const char *header, const char *claims,
                                    enum signer s)
{
    struct auth *a = new_auth(cfg);
    char *t = make_token(header, claims, s);
    enum auth_reason r = auth_verify(a, t, strlen(t), NOW, NULL);
    free(t);
    auth_destroy(&a);
    return r;
}

static enum auth_reason verify_text(struct auth_config cfg, const char *token)
{
    struct auth *a = new_auth(cfg);
    enum auth_reason r = auth_verify(a, token, strlen(token), NOW, NULL);
    auth_destroy(&a);
    return r;
}

#define assert_reason(got, want)                                                                   \
    cr_assert_eq((got), (want), "reason %s, expected %s", auth_reason_name(got),                   \
                 auth_reason_name(want))

TestSuite(auth, .init = setup, .fini = teardown);

/* ------------------------------------------------------------ signatures */

Test(auth, accepts_valid_hs256_and_grants_its_scenarios)
{
    struct auth *a = new_auth(hs_config());
    char *t = make_token(HS256, CLAIMS, SIGN_HS);
    struct auth_grant *g = NULL;
    assert_reason(auth_verify(a, t, strlen(t), NOW, &g), AUTH_OK);
    cr_assert_not_null(g);
    cr_assert_eq(auth_grant_expires_at(g), 1800000605LL); /* exp + leeway */
    cr_assert(auth_grant_allows(g, "alpha"));
    auth_grant_destroy(&g);
    cr_assert_null(g);
    free(t);
    auth_destroy(&a);
    cr_assert_null(a);
}

Test(auth, accepts_valid_rs256_and_es256)
{
    assert_reason(
        verify_made((struct auth_config){.public_key_path = path_rsa}, RS256, CLAIMS, SIGN_RS),
        AUTH_OK);
    assert_reason(
        verify_made((struct auth_config){.public_key_path = path_ec}, ES256, CLAIMS, SIGN_ES),
        AUTH_OK);
}

Test(auth, both_key_kinds_configured_accept_each_own_alg)
{
    struct auth_config cfg = {.secret_path = path_secret, .public_key_path = path_rsa};
    assert_reason(verify_made(cfg, HS256, CLAIMS, SIGN_HS), AUTH_OK);
    assert_reason(verify_made(cfg, RS256, CLAIMS, SIGN_RS), AUTH_OK);
    assert_reason(verify_made(cfg, ES256, CLAIMS, SIGN_ES), AUTH_ALGORITHM);
}

Test(auth, rejects_forged_signature)
{
    struct auth *a = new_auth(hs_config());
    char *t = make_token_key(HS256, CLAIMS, SIGN_HS_KEY, OTHER_SECRET);
    assert_reason(auth_verify(a, t, strlen(t), NOW, NULL), AUTH_SIGNATURE);
    free(t);
    auth_destroy(&a);
    /* an ES256 token from another P-256 key */
    char *es = make_token(ES256, CLAIMS, SIGN_ES);
    EVP_PKEY *other = EVP_EC_gen("P-256");
    write_public_pem(path_ec, other);
    EVP_PKEY_free(other);
    assert_reason(verify_text((struct auth_config){.public_key_path = path_ec}, es),
                  AUTH_SIGNATURE);
    free(es);
}

Test(auth, rejects_tampered_claims)
{
    char *t = make_token(HS256, CLAIMS, SIGN_HS);
    char *other = b64url("{\"scenarios\":[\"*\"]}", 19);
    char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
    char forged[2048];
    snprintf(forged, sizeof forged, "%.*s.%s%s", (int)(dot1 - t), t, other, dot2);
    assert_reason(verify_text(hs_config(), forged), AUTH_SIGNATURE);
    char *rs = make_token(RS256, CLAIMS, SIGN_RS);
    rs[strlen(rs) - 2] = rs[strlen(rs) - 2] == 'A' ? 'B' : 'A'; /* flip signature bits */
    assert_reason(verify_text((struct auth_config){.public_key_path = path_rsa}, rs),
                  AUTH_SIGNATURE);
    free(rs);
    free(other);
    free(t);
}

Test(auth, rejects_alg_none_whatever_the_spelling)
{
    const char *headers[] = {"{\"alg\":\"none\"}", "{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}",
                             "{\"alg\":\"\"}"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        assert_reason(verify_made(hs_config(), headers[i], CLAIMS, SIGN_NONE), AUTH_ALGORITHM);
        assert_reason(verify_made((struct auth_config){.public_key_path = path_rsa}, headers[i],
                                  CLAIMS, SIGN_NONE),
                      AUTH_ALGORITHM);
    }
}

Test(auth, rejects_rs256_token_at_hs256_bridge)
{
    assert_reason(verify_made(hs_config(), RS256, CLAIMS, SIGN_RS), AUTH_ALGORITHM);
}

Test(auth, rejects_hs256_token_keyed_with_the_public_key_at_rs256_bridge)
{
    struct auth *a = new_auth((struct auth_config){.public_key_path = path_rsa});
    char *t = make_token_key(HS256, CLAIMS, SIGN_HS_KEY, rsa_pem); /* the classic confusion */
    assert_reason(auth_verify(a, t, strlen(t), NOW, NULL), AUTH_ALGORITHM);
    free(t);
    auth_destroy(&a);
}

Test(auth, rejects_unknown_and_mismatched_algs)
{
    const char *headers[] = {"{\"alg\":\"HS512\"}", "{\"alg\":\"PS256\"}", "{\"alg\":\"hs256\"}",
                             "{\"alg\":\"HS256 \"}"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
        assert_reason(verify_made(hs_config(), headers[i], CLAIMS, SIGN_HS), AUTH_ALGORITHM);
    /* JSON's \u0000 is refused by the parser itself */
    assert_reason(verify_made(hs_config(), "{\"alg\":\"HS256\\u0000\"}", CLAIMS, SIGN_HS),
                  AUTH_MALFORMED);
    assert_reason(
        verify_made((struct auth_config){.public_key_path = path_rsa}, ES256, CLAIMS, SIGN_ES),
        AUTH_ALGORITHM);
    assert_reason(
        verify_made((struct auth_config){.public_key_path = path_ec}, RS256, CLAIMS, SIGN_RS),
        AUTH_ALGORITHM);
}

/* ------------------------------------------------------------ claims */

Test(auth, rejects_expired_but_honours_leeway)
{
    assert_reason(verify_made(hs_config(), HS256, "{\"exp\":1799999990}", SIGN_HS), AUTH_EXPIRED);
    assert_reason(verify_made(hs_config(), HS256, "{\"exp\":1799999995}", SIGN_HS), AUTH_EXPIRED);
    assert_reason(verify_made(hs_config(), HS256, "{\"exp\":1799999996}", SIGN_HS), AUTH_OK);
    assert_reason(verify_made(hs_config(), HS256, "{\"exp\":1799999996.5}", SIGN_HS), AUTH_OK);
}

Test(auth, rejects_not_yet_valid_but_honours_leeway)
{
    assert_reason(verify_made(hs_config(), HS256, "{\"nbf\":1800000006}", SIGN_HS),
                  AUTH_NOT_YET_VALID);
    assert_reason(verify_made(hs_config(), HS256, "{\"nbf\":1800000005}", SIGN_HS), AUTH_OK);
}

Test(auth, checks_audience_when_configured)
{
    struct auth_config cfg = hs_config();
    assert_reason(verify_made(cfg, HS256, "{\"aud\":\"other\"}", SIGN_HS), AUTH_OK);
    cfg.audience = "dashboards";
    assert_reason(verify_made(cfg, HS256, "{\"aud\":\"dashboards\"}", SIGN_HS), AUTH_OK);
    assert_reason(verify_made(cfg, HS256, "{\"aud\":[\"x\",\"dashboards\"]}", SIGN_HS), AUTH_OK);
    assert_reason(verify_made(cfg, HS256, "{\"aud\":\"other\"}", SIGN_HS), AUTH_AUDIENCE);
    assert_reason(verify_made(cfg, HS256, "{\"aud\":[\"other\"]}", SIGN_HS), AUTH_AUDIENCE);
    assert_reason(verify_made(cfg, HS256, "{\"aud\":\"dashboardsX\"}", SIGN_HS), AUTH_AUDIENCE);
    assert_reason(verify_made(cfg, HS256, "{}", SIGN_HS), AUTH_AUDIENCE);
}

Test(auth, checks_issuer_when_configured)
{
    struct auth_config cfg = hs_config();
    cfg.issuer = "https://issuer.example";
    assert_reason(verify_made(cfg, HS256, "{\"iss\":\"https://issuer.example\"}", SIGN_HS),
                  AUTH_OK);
    assert_reason(verify_made(cfg, HS256, "{\"iss\":\"https://evil.example\"}", SIGN_HS),
                  AUTH_ISSUER);
    assert_reason(verify_made(cfg, HS256, "{}", SIGN_HS), AUTH_ISSUER);
}

Test(auth, previous_secret_valid_until_its_cutoff)
{
    struct auth_config cfg = hs_config();
    cfg.previous_secret_path = path_prev;
    cfg.previous_valid_until = NOW + 1;
    struct auth *a = new_auth(cfg);
    char *t = make_token_key(HS256, CLAIMS, SIGN_HS_KEY, PREV_SECRET);
    assert_reason(auth_verify(a, t, strlen(t), NOW, NULL), AUTH_OK);
    assert_reason(auth_verify(a, t, strlen(t), NOW + 1, NULL), AUTH_SIGNATURE);
    char *cur = make_token(HS256, CLAIMS, SIGN_HS);
    assert_reason(auth_verify(a, cur, strlen(cur), NOW + 1, NULL), AUTH_OK);
    free(cur);
    free(t);
    auth_destroy(&a);
}

Test(auth, secret_file_loses_one_trailing_newline_only)
{
    write_file(path_secret, SECRET "\n\n", strlen(SECRET) + 2);
    assert_reason(verify_made(hs_config(), HS256, CLAIMS, SIGN_HS), AUTH_SIGNATURE);
    struct auth *a = new_auth(hs_config());
    char *t = make_token_key(HS256, CLAIMS, SIGN_HS_KEY, SECRET "\n");
    assert_reason(auth_verify(a, t, strlen(t), NOW, NULL), AUTH_OK);
    free(t);
    auth_destroy(&a);
}

Test(auth, rejects_badly_typed_claims)
{
    const char *claims[] = {"{\"exp\":\"tomorrow\"}",
                            "{\"nbf\":true}",
                            "{\"scenarios\":\"alpha\"}",
                            "{\"scenarios\":[1]}",
                            "{\"scenarios\":[\"\"]}",
                            "{\"scenarios\":[\"a\\u0000b\"]}",
                            "[1,2]",
                            "{\"a\":1,\"a\":2}",
                            "not json"};
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++)
        assert_reason(verify_made(hs_config(), HS256, claims[i], SIGN_HS), AUTH_MALFORMED);
}

Test(auth, far_future_exp_is_clamped_not_overflowed)
{
    struct auth *a = new_auth(hs_config());
    char *t = make_token(HS256, "{\"exp\":1e300}", SIGN_HS);
    struct auth_grant *g = NULL;
    assert_reason(auth_verify(a, t, strlen(t), NOW, &g), AUTH_OK);
    cr_assert_gt(auth_grant_expires_at(g), NOW);
    auth_grant_destroy(&g);
    free(t);
    auth_destroy(&a);
}

/* ------------------------------------------------------------ scenarios */

Test(auth, scenario_claim_names_and_prefixes)
{
    struct auth *a = new_auth(hs_config());
    char *t = make_token(HS256, CLAIMS, SIGN_HS);
    struct auth_grant *g = NULL;
    assert_reason(auth_verify(a, t, strlen(t), NOW, &g), AUTH_OK);
    cr_assert(auth_grant_allows(g, "alpha"));
    cr_assert(auth_grant_allows(g, "beta-2"));
    cr_assert(auth_grant_allows(g, "beta-"));
    cr_assert_not(auth_grant_allows(g, "beta"));
    cr_assert_not(auth_grant_allows(g, "alphabet"));
    cr_assert_not(auth_grant_allows(g, "gamma"));
    cr_assert_not(auth_grant_allows(g, "*"), "\"*\" needs the \"*\" claim");
    auth_grant_destroy(&g);
    free(t);
    auth_destroy(&a);
}

Test(auth, star_claim_allows_everything_and_no_claim_nothing)
{
    struct auth *a = new_auth(hs_config());
    char *all = make_token(HS256, "{\"scenarios\":[\"*\"]}", SIGN_HS);
    char *none = make_token(HS256, "{\"sub\":\"x\"}", SIGN_HS);
    struct auth_grant *g = NULL;
    assert_reason(auth_verify(a, all, strlen(all), NOW, &g), AUTH_OK);
    cr_assert(auth_grant_allows(g, "*"));
    cr_assert(auth_grant_allows(g, "gamma"));
    auth_grant_destroy(&g);
    assert_reason(auth_verify(a, none, strlen(none), NOW, &g), AUTH_OK);
    cr_assert_not(auth_grant_allows(g, "alpha"));
    cr_assert_not(auth_grant_allows(g, "*"));
    cr_assert_not(auth_grant_allows(NULL, "alpha"));
    auth_grant_destroy(&g);
    free(all);
    free(none);
    auth_destroy(&a);
}

/* ------------------------------------------------------------ hostile input */

Test(auth, missing_token)
{
    struct auth *a = new_auth(hs_config());
    assert_reason(auth_verify(a, NULL, 0, NOW, NULL), AUTH_MISSING);
    assert_reason(auth_verify(a, "", 0, NOW, NULL), AUTH_MISSING);
    auth_destroy(&a);
}

Test(auth, malformed_tokens)
{
    char *good = make_token(HS256, CLAIMS, SIGN_HS);
    char buf[4096];
    const char *bad[] = {"abc",
                         "a.b",
                         "a.b.c.d",
                         "..",
                         "eyJhbGciOiJIUzI1NiJ9..",
                         "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA",
                         "eyJhbGci+iJIUzI1NiJ9.e30.AAAA",
                         "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA",
                         "e.e30.AAAA",
                         "W10.e30.AAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_reason(verify_text(hs_config(), bad[i]), AUTH_MALFORMED);
    /* truncated: the signature part cut off, or cut inside the claims */
    snprintf(buf, sizeof buf, "%.*s", (int)(strrchr(good, '.') - good), good);
    assert_reason(verify_text(hs_config(), buf), AUTH_MALFORMED);
    snprintf(buf, sizeof buf, "%.*s", (int)(strchr(good, '.') - good + 5), good);
    assert_reason(verify_text(hs_config(), buf), AUTH_MALFORMED);
    /* bad base64url in the signature */
    snprintf(buf, sizeof buf, "%s!", good);
    assert_reason(verify_text(hs_config(), buf), AUTH_MALFORMED);
    free(good);
}

Test(auth, huge_token_is_malformed_before_any_work)
{
    size_t len = AUTH_TOKEN_MAX + 1;
    char *huge = malloc(len + 1);
    memset(huge, 'A', len);
    huge[len] = '\0';
    huge[10] = '.';
    huge[20] = '.';
    assert_reason(verify_text(hs_config(), huge), AUTH_MALFORMED);
    free(huge);
}

Test(auth, crit_header_is_refused)
{
    assert_reason(
        verify_made(hs_config(), "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", CLAIMS, SIGN_HS),
        AUTH_MALFORMED);
}

/* ------------------------------------------------------------ where tokens come from */

Test(auth, token_from_connect_auth_object)
{
    const char *tok = NULL;
    size_t len = 0;
    json_t *j = json_loads("{\"token\":\"abc.def.ghi\"}", 0, NULL);
    assert_reason(auth_token_from_connect(j, &tok, &len), AUTH_OK);
    cr_assert_eq(len, 11);
    cr_assert_str_eq(tok, "abc.def.ghi");
    json_decref(j);
    const char *missing[] = {"null", "{}", "{\"token\":null}", "{\"token\":\"\"}",
                             "{\"other\":\"x\"}"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        j = json_loads(missing[i], JSON_DECODE_ANY, NULL);
        assert_reason(auth_token_from_connect(j, &tok, &len), AUTH_MISSING);
        json_decref(j);
    }
    assert_reason(auth_token_from_connect(NULL, &tok, &len), AUTH_MISSING);
    const char *malformed[] = {"\"abc\"", "[\"abc\"]", "{\"token\":5}", "{\"token\":[\"a\"]}"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        j = json_loads(malformed[i], JSON_DECODE_ANY, NULL);
        assert_reason(auth_token_from_connect(j, &tok, &len), AUTH_MALFORMED);
        json_decref(j);
    }
}

Test(auth, token_from_bearer_header)
{
    const char *tok = NULL;
    size_t len = 0;
    const char *v = "Bearer  abc.def.ghi ";
    assert_reason(auth_token_from_bearer(v, strlen(v), &tok, &len), AUTH_OK);
    cr_assert_eq(len, 11);
    cr_assert_eq(strncmp(tok, "abc.def.ghi", len), 0);
    v = "bearer x";
    assert_reason(auth_token_from_bearer(v, strlen(v), &tok, &len), AUTH_OK);
    const char *missing[] = {"", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Bearerx"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        assert_reason(auth_token_from_bearer(missing[i], strlen(missing[i]), &tok, &len),
                      AUTH_MISSING);
}

/* ------------------------------------------------------------ configuration */

Test(auth, refuses_unusable_keys)
{
    char err[256];
    struct auth_config none = {0};
    cr_assert_not(auth_config_enabled(&none));
    cr_assert_null(auth_new(&none, err, sizeof err));
    write_file(path_secret, "short\n", 6);
    struct auth_config cfg = hs_config();
    cr_assert_null(auth_new(&cfg, err, sizeof err));
    cr_assert(strstr(err, "--auth-jwt-secret"), "%s", err);
    cfg.secret_path = "/nonexistent/secret";
    cr_assert_null(auth_new(&cfg, err, sizeof err));
    cfg = (struct auth_config){.public_key_path = path_secret};
    cr_assert_null(auth_new(&cfg, err, sizeof err));
    cr_assert(strstr(err, "--auth-jwt-public-key"), "%s", err);

    EVP_PKEY *small = EVP_RSA_gen(1024);
    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    write_public_pem(path_rsa_small, small);
    write_public_pem(path_ec384, p384);
    EVP_PKEY_free(small);
    EVP_PKEY_free(p384);
    cfg.public_key_path = path_rsa_small;
    cr_assert_null(auth_new(&cfg, err, sizeof err));
    cfg.public_key_path = path_ec384;
    cr_assert_null(auth_new(&cfg, err, sizeof err));
}

Test(auth, previous_secret_needs_current_and_cutoff)
{
    char err[256];
    struct auth_config cfg = hs_config();
    cfg.previous_secret_path = path_prev;
    cr_assert_null(auth_new(&cfg, err, sizeof err));
    cr_assert(strstr(err, "--auth-previous-valid-until"), "%s", err);
    cfg.secret_path = NULL;
    cfg.previous_valid_until = NOW;
    cfg.public_key_path = path_rsa;
    cr_assert_null(auth_new(&cfg, err, sizeof err));
}

Test(auth, parses_cutoff_times)
{
    int64_t t = 0;
    cr_assert_eq(auth_parse_time("1800000000", &t), 0);
    cr_assert_eq(t, 1800000000LL);
    cr_assert_eq(auth_parse_time("2027-01-15T08:00:00Z", &t), 0);
    cr_assert_eq(t, 1800000000LL);
    const char *bad[] = {"",
                         "0",
                         "-5",
                         "12x",
                         "2027-01-15",
                         "2027-01-15T08:00:00",
                         "2027-13-01T00:00:00Z",
                         "2027-01-15T08:00:00Z junk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(auth_parse_time(bad[i], &t), -EINVAL, "%s", bad[i]);
}

Test(auth, reason_names_are_the_wire_names)
{
    const char *want[] = {"ok",        "missing", "malformed",
                          "signature", "expired", "not_yet_valid",
                          "audience",  "issuer",  "algorithm"};
    for (int r = 0; r < AUTH_N_REASONS; r++)
        cr_assert_str_eq(auth_reason_name((enum auth_reason)r), want[r]);
    cr_assert_str_eq(auth_reason_name(AUTH_N_REASONS), "unknown");
}

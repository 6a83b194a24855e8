#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "xalloc.h"

#define SECRET_FILE_MAX 65536 /* bytes read from a secret file */
#define SECRET_MIN 32         /* RFC 7518 3.2: an HS256 key has at least 256 bits */
#define RSA_MIN_BITS 2048
#define ES256_COORD_LEN 32 /* JWS ES256 signatures are R || S, 32 bytes each */
#define ES256_SIG_LEN 64
#define SCENARIO_CLAIM_MAX 256
#define FAR_FUTURE_S 1e15 /* NumericDates past this are clamped */

enum key_kind { KEY_HMAC, KEY_PUBLIC };

struct secret {
    unsigned char *bytes;
    size_t len;
};

struct auth {
    struct secret current;
    struct secret previous;
    int64_t previous_valid_until;
    EVP_PKEY *public_key;
    const char *public_alg; /* "RS256" or "ES256", fixed by the key's type */
    int leeway_s;
    char *audience;
    char *issuer;
};

struct auth_grant {
    int64_t expires_at;
    size_t n_scenarios;
    char **scenarios;
};

/* The three dot-separated parts of a compact JWS. */
struct jws_parts {
    const char *header, *payload, *sig;
    size_t header_len, payload_len, sig_len;
};

static const char *const reason_names[AUTH_N_REASONS] = {
    [AUTH_OK] = "ok",
    [AUTH_MISSING] = "missing",
    [AUTH_MALFORMED] = "malformed",
    [AUTH_SIGNATURE] = "signature",
    [AUTH_EXPIRED] = "expired",
    [AUTH_NOT_YET_VALID] = "not_yet_valid",
    [AUTH_AUDIENCE] = "audience",
    [AUTH_ISSUER] = "issuer",
    [AUTH_ALGORITHM] = "algorithm",
};

/* ------------------------------------------------------------ keys */

/* Reads an HS256 key: the file's bytes less one trailing newline. */
static int load_secret(const char *path, const char *flag, struct secret *s, char *err,
                       size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open %s: %s", flag, path, strerror(errno));
        return -EINVAL;
    }
    s->bytes = xmalloc(SECRET_FILE_MAX + 1);
    s->len = fread(s->bytes, 1, SECRET_FILE_MAX + 1, f);
    fclose(f);
    if (s->len > SECRET_FILE_MAX) {
        snprintf(err, err_len, "%s: %s is larger than %d bytes", flag, path, SECRET_FILE_MAX);
        return -EINVAL;
    }
    if (s->len > 0 && s->bytes[s->len - 1] == '\n')
        s->len--;
    if (s->len < SECRET_MIN) {
        snprintf(err, err_len, "%s: %s holds %zu bytes; HS256 needs at least %d", flag, path,
                 s->len, SECRET_MIN);
        return -EINVAL;
    }
    return 0;
}

/* The JWS algorithm a public key verifies, or NULL if the key is unusable. */
static const char *public_key_alg(EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "RSA"))
        return EVP_PKEY_get_bits(k) >= RSA_MIN_BITS ? "RS256" : NULL;
    if (EVP_PKEY_is_a(k, "EC")) {
        char group[64] = "";
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &len) == 1 &&
            strcmp(group, "prime256v1") == 0)
            return "ES256";
    }
    return NULL;
}

static int load_public_key(struct auth *a, const char *path, char *err, size_t err_len)
{
    BIO *bio = BIO_new_file(path, "r");
    if (!bio) {
        snprintf(err, err_len, "--auth-jwt-public-key: cannot open %s", path);
        ERR_clear_error();
        return -EINVAL;
    }
    a->public_key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!a->public_key) {
        snprintf(err, err_len, "--auth-jwt-public-key: %s holds no PEM public key", path);
        return -EINVAL;
    }
    a->public_alg = public_key_alg(a->public_key);
    if (!a->public_alg) {
        snprintf(err, err_len,
                 "--auth-jwt-public-key: %s is neither an RSA key of >= %d bits nor a "
                 "P-256 EC key",
                 path, RSA_MIN_BITS);
        return -EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------ decoding */

static bool is_b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* base64url without padding (RFC 7515 2) -> bytes. OpenSSL's
 * EVP_DecodeBlock decodes standard base64, so the two alphabet differences
 * ('-' '_' for '+' '/') are translated and the '=' padding restored first;
 * the padding's zero bytes are then taken off the result. Caller frees. */
static unsigned char *b64url_decode(const char *in, size_t len, size_t *out_len)
{
    if (len % 4 == 1)
        return NULL;
    size_t pad = (4 - len % 4) % 4;
    char *std = xmalloc(len + pad + 1);
    for (size_t i = 0; i < len; i++) {
        if (!is_b64url_char(in[i])) {
            free(std);
            return NULL;
        }
        char c = in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        std[i] = c;
    }
    memset(std + len, '=', pad);
    unsigned char *out = xmalloc((len + pad) / 4 * 3 + 1);
    int n = EVP_DecodeBlock(out, (const unsigned char *)std, (int)(len + pad));
    free(std);
    if (n < 0 || (size_t)n < pad) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)n - pad;
    return out;
}

/* A base64url part holding one JSON object (duplicate keys refused). */
static json_t *decode_json_part(const char *in, size_t len)
{
    size_t n = 0;
    unsigned char *raw = b64url_decode(in, len, &n);
    if (!raw)
        return NULL;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, &jerr);
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int split_token(const char *t, size_t len, struct jws_parts *p)
{
    const char *end = t + len;
    const char *dot1 = memchr(t, '.', len);
    if (!dot1)
        return -EINVAL;
    const char *dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
    if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
        return -EINVAL;
    *p = (struct jws_parts){.header = t,
                            .header_len = (size_t)(dot1 - t),
                            .payload = dot1 + 1,
                            .payload_len = (size_t)(dot2 - dot1 - 1),
                            .sig = dot2 + 1,
                            .sig_len = (size_t)(end - dot2 - 1)};
    return 0;
}

/* ------------------------------------------------------------ signature */

/* Which key checks this header's alg, or the reason it is refused. */
static enum auth_reason check_header(const struct auth *a, const json_t *header,
                                     enum key_kind *kind)
{
    const json_t *alg = json_object_get(header, "alg");
    if (!json_is_string(alg))
        return AUTH_MALFORMED;
    if (json_object_get(header, "crit")) /* no extension is understood */
        return AUTH_MALFORMED;
    const char *name = json_string_value(alg);
    if (strlen(name) != json_string_length(alg))
        return AUTH_ALGORITHM;
    if (strcmp(name, "HS256") == 0 && a->current.bytes) {
        *kind = KEY_HMAC;
        return AUTH_OK;
    }
    if (a->public_alg && strcmp(name, a->public_alg) == 0) {
        *kind = KEY_PUBLIC;
        return AUTH_OK;
    }
    return AUTH_ALGORITHM;
}

static bool hmac_matches(const struct secret *key, const char *input, size_t len,
                         const unsigned char *sig, size_t sig_len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!key->bytes || !HMAC(EVP_sha256(), key->bytes, (int)key->len, (const unsigned char *)input,
                             len, md, &md_len))
        return false;
    return sig_len == md_len && CRYPTO_memcmp(md, sig, md_len) == 0;
}

/* A JWS ES256 signature (R || S) as the DER ECDSA-Sig-Value OpenSSL
 * verifies, or NULL. Caller frees with OPENSSL_free. */
static unsigned char *es256_to_der(const unsigned char *sig, size_t sig_len, size_t *der_len)
{
    if (sig_len != ES256_SIG_LEN)
        return NULL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, ES256_COORD_LEN, NULL);
    BIGNUM *ss = BN_bin2bn(sig + ES256_COORD_LEN, ES256_COORD_LEN, NULL);
    unsigned char *der = NULL;
    if (s && r && ss && ECDSA_SIG_set0(s, r, ss) == 1) {
        r = ss = NULL; /* owned by s now */
        int n = i2d_ECDSA_SIG(s, &der);
        *der_len = n > 0 ? (size_t)n : 0;
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return der;
}

static bool public_key_matches(const struct auth *a, const char *input, size_t len,
                               const unsigned char *sig, size_t sig_len)
{
    unsigned char *der = NULL;
    if (strcmp(a->public_alg, "ES256") == 0) {
        der = es256_to_der(sig, sig_len, &sig_len);
        if (!der)
            return false;
        sig = der;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, a->public_key) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

static enum auth_reason check_signature(const struct auth *a, enum key_kind kind, const char *input,
                                        size_t len, const struct jws_parts *p, int64_t now_s)
{
    size_t sig_len = 0;
    unsigned char *sig = p->sig_len ? b64url_decode(p->sig, p->sig_len, &sig_len) : NULL;
    if (!sig)
        return AUTH_MALFORMED;
    bool ok;
    if (kind == KEY_HMAC)
        ok = hmac_matches(&a->current, input, len, sig, sig_len) ||
             (now_s < a->previous_valid_until &&
              hmac_matches(&a->previous, input, len, sig, sig_len));
    else
        ok = public_key_matches(a, input, len, sig, sig_len);
    free(sig);
    return ok ? AUTH_OK : AUTH_SIGNATURE;
}

/* ------------------------------------------------------------ claims */

static enum auth_reason check_times(const struct auth *a, const json_t *claims, int64_t now_s,
                                    int64_t *expires_at)
{
    const json_t *exp = json_object_get(claims, "exp");
    const json_t *nbf = json_object_get(claims, "nbf");
    if ((exp && !json_is_number(exp)) || (nbf && !json_is_number(nbf)))
        return AUTH_MALFORMED;
    double now = (double)now_s;
    *expires_at = 0;
    if (exp) {
        double until = json_number_value(exp) + a->leeway_s;
        if (now >= until)
            return AUTH_EXPIRED;
        *expires_at = until > FAR_FUTURE_S ? (int64_t)FAR_FUTURE_S : (int64_t)until;
    }
    if (nbf && now + a->leeway_s < json_number_value(nbf))
        return AUTH_NOT_YET_VALID;
    return AUTH_OK;
}

static bool json_string_equals(const json_t *j, const char *s)
{
    return json_is_string(j) && json_string_length(j) == strlen(s) &&
           memcmp(json_string_value(j), s, json_string_length(j)) == 0;
}

static enum auth_reason check_parties(const struct auth *a, const json_t *claims)
{
    if (a->audience) {
        const json_t *aud = json_object_get(claims, "aud");
        bool found = json_string_equals(aud, a->audience);
        size_t i;
        const json_t *v;
        json_array_foreach(aud, i, v) found = found || json_string_equals(v, a->audience);
        if (!found)
            return AUTH_AUDIENCE;
    }
    if (a->issuer && !json_string_equals(json_object_get(claims, "iss"), a->issuer))
        return AUTH_ISSUER;
    return AUTH_OK;
}

/* The scenarios claim: absent grants nothing; otherwise a list of 1-256
 * byte strings without NUL. */
static enum auth_reason read_scenarios(const json_t *claims, struct auth_grant *g)
{
    const json_t *list = json_object_get(claims, "scenarios");
    if (!list)
        return AUTH_OK;
    if (!json_is_array(list) || json_array_size(list) > AUTH_SCENARIOS_MAX)
        return AUTH_MALFORMED;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        size_t len = json_string_length(v);
        if (!json_is_string(v) || len == 0 || len > SCENARIO_CLAIM_MAX ||
            strlen(json_string_value(v)) != len)
            return AUTH_MALFORMED;
    }
    g->scenarios = xcalloc(json_array_size(list) + 1, sizeof *g->scenarios);
    json_array_foreach(list, i, v) g->scenarios[g->n_scenarios++] = xstrdup(json_string_value(v));
    return AUTH_OK;
}

static enum auth_reason check_claims(const struct auth *a, const json_t *claims, int64_t now_s,
                                     struct auth_grant **grant_p)
{
    struct auth_grant *g = xcalloc(1, sizeof *g);
    enum auth_reason r = check_times(a, claims, now_s, &g->expires_at);
    if (r == AUTH_OK)
        r = check_parties(a, claims);
    if (r == AUTH_OK)
        r = read_scenarios(claims, g);
    if (r == AUTH_OK && grant_p)
        *grant_p = g;
    else
        auth_grant_destroy(&g);
    return r;
}

/* ------------------------------------------------------------ public */

bool auth_config_enabled(const struct auth_config *cfg)
{
    return cfg && (cfg->secret_path || cfg->public_key_path);
}

struct auth *auth_new(const struct auth_config *cfg, char *err, size_t err_len)
{
    struct auth *a = xcalloc(1, sizeof *a);
    a->leeway_s = cfg->leeway_s;
    a->audience = cfg->audience ? xstrdup(cfg->audience) : NULL;
    a->issuer = cfg->issuer ? xstrdup(cfg->issuer) : NULL;
    int rc = 0;
    if (!auth_config_enabled(cfg)) {
        snprintf(err, err_len, "no --auth-jwt-secret or --auth-jwt-public-key");
        rc = -EINVAL;
    }
    if (rc == 0 && cfg->secret_path)
        rc = load_secret(cfg->secret_path, "--auth-jwt-secret", &a->current, err, err_len);
    if (rc == 0 && cfg->previous_secret_path) {
        rc = load_secret(cfg->previous_secret_path, "--auth-jwt-previous-secret", &a->previous, err,
                         err_len);
        a->previous_valid_until = cfg->previous_valid_until;
        if (rc == 0 && (!cfg->secret_path || cfg->previous_valid_until <= 0)) {
            snprintf(err, err_len,
                     "--auth-jwt-previous-secret needs --auth-jwt-secret and "
                     "--auth-previous-valid-until");
            rc = -EINVAL;
        }
    }
    if (rc == 0 && cfg->public_key_path)
        rc = load_public_key(a, cfg->public_key_path, err, err_len);
    if (rc < 0)
        auth_destroy(&a);
    return a;
}

static void secret_wipe(struct secret *s)
{
    if (s->bytes)
        OPENSSL_cleanse(s->bytes, SECRET_FILE_MAX + 1);
    free(s->bytes);
    s->bytes = NULL;
}

void auth_destroy(struct auth **auth_p)
{
    if (!auth_p || !*auth_p)
        return;
    struct auth *a = *auth_p;
    secret_wipe(&a->current);
    secret_wipe(&a->previous);
    EVP_PKEY_free(a->public_key);
    free(a->audience);
    free(a->issuer);
    free(a);
    *auth_p = NULL;
}

enum auth_reason auth_verify(const struct auth *auth, const char *token, size_t len, int64_t now_s,
                             struct auth_grant **grant_p)
{
    if (grant_p)
        *grant_p = NULL;
    if (!token || len == 0)
        return AUTH_MISSING;
    struct jws_parts p;
    if (len > AUTH_TOKEN_MAX || split_token(token, len, &p) < 0)
        return AUTH_MALFORMED;
    json_t *header = decode_json_part(p.header, p.header_len);
    if (!header)
        return AUTH_MALFORMED;
    enum key_kind kind = KEY_HMAC;
    enum auth_reason r = check_header(auth, header, &kind);
    json_decref(header);
    if (r != AUTH_OK)
        return r;
    r = check_signature(auth, kind, token, (size_t)(p.sig - 1 - token), &p, now_s);
    if (r != AUTH_OK)
        return r;
    json_t *claims = decode_json_part(p.payload, p.payload_len);
    if (!claims)
        return AUTH_MALFORMED;
    r = check_claims(auth, claims, now_s, grant_p);
    json_decref(claims);
    return r;
}

const char *auth_reason_name(enum auth_reason reason)
{
    return reason >= 0 && reason < AUTH_N_REASONS ? reason_names[reason] : "unknown";
}

enum auth_reason auth_token_from_connect(const json_t *auth_obj, const char **token_p,
                                         size_t *len_p)
{
    *token_p = NULL;
    *len_p = 0;
    if (!auth_obj || json_is_null(auth_obj))
        return AUTH_MISSING;
    if (!json_is_object(auth_obj))
        return AUTH_MALFORMED;
    const json_t *t = json_object_get(auth_obj, "token");
    if (!t || json_is_null(t) || (json_is_string(t) && json_string_length(t) == 0))
        return AUTH_MISSING;
    if (!json_is_string(t))
        return AUTH_MALFORMED;
    *token_p = json_string_value(t);
    *len_p = json_string_length(t);
    return AUTH_OK;
}

enum auth_reason auth_token_from_bearer(const char *value, size_t len, const char **token_p,
                                        size_t *len_p)
{
    static const char scheme[] = "bearer ";
    *token_p = NULL;
    *len_p = 0;
    if (!value || len < sizeof scheme - 1 || strncasecmp(value, scheme, sizeof scheme - 1) != 0)
        return AUTH_MISSING;
    size_t i = sizeof scheme - 1;
    while (i < len && value[i] == ' ')
        i++;
    while (len > i && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (i == len)
        return AUTH_MISSING;
    *token_p = value + i;
    *len_p = len - i;
    return AUTH_OK;
}

/* n decimal digits at text, or -1. */
static int read_digits(const char *text, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly, into tm; false if it is not that. */
static bool read_iso_utc(const char *text, struct tm *tm)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(text) != sizeof shape - 1)
        return false;
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] != 'd' && text[i] != shape[i])
            return false;
    }
    *tm = (struct tm){.tm_year = read_digits(text, 4),
                      .tm_mon = read_digits(text + 5, 2),
                      .tm_mday = read_digits(text + 8, 2),
                      .tm_hour = read_digits(text + 11, 2),
                      .tm_min = read_digits(text + 14, 2),
                      .tm_sec = read_digits(text + 17, 2)};
    return tm->tm_year >= 1970 && tm->tm_mon >= 1 && tm->tm_mon <= 12 && tm->tm_mday >= 1 &&
           tm->tm_mday <= 31 && tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 &&
           tm->tm_min <= 59 && tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

int auth_parse_time(const char *text, int64_t *out_s)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*text >= '0' && *text <= '9' && end && *end == '\0' && errno == 0 && v > 0) {
        *out_s = v;
        return 0;
    }
    struct tm tm;
    if (!read_iso_utc(text, &tm))
        return -EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t <= 0)
        return -EINVAL;
    *out_s = (int64_t)t;
    return 0;
}

bool auth_grant_allows(const struct auth_grant *grant, const char *scenario)
{
    if (!grant || !scenario)
        return false;
    bool wants_all = strcmp(scenario, "*") == 0;
    for (size_t i = 0; i < grant->n_scenarios; i++) {
        const char *e = grant->scenarios[i];
        size_t n = strlen(e);
        if (strcmp(e, "*") == 0)
            return true;
        if (wants_all)
            continue;
        if (e[n - 1] == '*' ? strncmp(scenario, e, n - 1) == 0 : strcmp(scenario, e) == 0)
            return true;
    }
    return false;
}

int64_t auth_grant_expires_at(const struct auth_grant *grant)
{
    return grant ? grant->expires_at : 0;
}

void auth_grant_destroy(struct auth_grant **grant_p)
{
    if (!grant_p || !*grant_p)
        return;
    struct auth_grant *g = *grant_p;
    for (size_t i = 0; i < g->n_scenarios; i++)
        free(g->scenarios[i]);
    free(g->scenarios);
    free(g);
    *grant_p = NULL;
}

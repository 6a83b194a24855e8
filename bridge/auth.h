/* auth: dashboard tokens (JWT, RFC 7519) and the scenarios they grant.
 *
 * Owns the verification keys (an HS256 secret, an optional previous secret
 * valid until a cutoff, an RS256 or ES256 public key) and the claim policy
 * (leeway, audience, issuer). The algorithm a token may use is fixed by the
 * key that checks it: "HS256" only against the secrets, "RS256" only
 * against an RSA key, "ES256" only against a P-256 key; "none", any other
 * alg and HS/RS confusion are refused. Signatures, HMAC and base64 come from
 * OpenSSL, JSON from jansson. A verified token yields a struct auth_grant:
 * its expiry and the `scenarios` claim (names, "prefix-*" patterns, "*").
 * Stateless after auth_new: any thread may verify. */
#ifndef TB_AUTH_H
#define TB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AUTH_TOKEN_MAX 8192     /* longer tokens are malformed */
#define AUTH_SCENARIOS_MAX 256  /* entries of the scenarios claim */
#define AUTH_LEEWAY_DEFAULT_S 5 /* --auth-leeway */

/* Why a token was refused; the names are the CONNECT_ERROR's data.reason. */
enum auth_reason {
    AUTH_OK = 0,
    AUTH_MISSING,       /* no token at all */
    AUTH_MALFORMED,     /* not three base64url parts of JSON, too long, bad claim types */
    AUTH_SIGNATURE,     /* no configured key verifies it */
    AUTH_EXPIRED,       /* exp + leeway has passed */
    AUTH_NOT_YET_VALID, /* nbf - leeway is still ahead */
    AUTH_AUDIENCE,      /* --auth-audience set and not in aud */
    AUTH_ISSUER,        /* --auth-issuer set and iss differs */
    AUTH_ALGORITHM,     /* alg none, unknown, or not the one the keys allow */
    AUTH_N_REASONS
};

/* Where the keys and the policy come from (borrowed; paths may be NULL). */
struct auth_config {
    const char *secret_path;          /* HS256 key: the file's bytes less one trailing '\n' */
    const char *previous_secret_path; /* HS256 key accepted until previous_valid_until */
    int64_t previous_valid_until;     /* unix seconds; 0 with a previous secret is an error */
    const char *public_key_path;      /* PEM: RSA (>= 2048 bits) -> RS256, P-256 -> ES256 */
    int leeway_s;                     /* slack on exp and nbf */
    const char *audience;             /* required in aud when set */
    const char *issuer;               /* required as iss when set */
};

struct auth;
struct auth_grant;

/* True if cfg names any key: auth is on. */
bool auth_config_enabled(const struct auth_config *cfg);

/* Loads the keys. Returns NULL with err filled (one line naming the flag)
 * when a file cannot be read or holds no usable key. Caller frees with
 * auth_destroy. */
struct auth *auth_new(const struct auth_config *cfg, char *err, size_t err_len);
void auth_destroy(struct auth **auth_p); /* NULL-safe; sets *auth_p = NULL */

/* Verifies token (len bytes, not NUL-terminated) at time now_s (unix
 * seconds). On AUTH_OK and grant_p non-NULL, *grant_p is a new grant the
 * caller frees with auth_grant_destroy; otherwise *grant_p is NULL. */
enum auth_reason auth_verify(const struct auth *auth, const char *token, size_t len, int64_t now_s,
                             struct auth_grant **grant_p);

/* The lower-case name of a reason ("signature", "not_yet_valid", ...). */
const char *auth_reason_name(enum auth_reason reason);

/* The token in a Socket.IO CONNECT auth object ({"token": "<JWT>"}): NULL,
 * an object without "token" or a null token is AUTH_MISSING; anything
 * else that is not an object with a string token is AUTH_MALFORMED.
 * *token_p is borrowed from auth_obj. */
enum auth_reason auth_token_from_connect(const json_t *auth_obj, const char **token_p,
                                         size_t *len_p);

/* The token of an "Authorization: Bearer <token>" header value, or
 * AUTH_MISSING. *token_p points into value. */
enum auth_reason auth_token_from_bearer(const char *value, size_t len, const char **token_p,
                                        size_t *len_p);

/* Parses --auth-previous-valid-until: unix seconds, or an ISO 8601 UTC
 * time "YYYY-MM-DDTHH:MM:SSZ". Returns 0 or -EINVAL. */
int auth_parse_time(const char *text, int64_t *out_s);

/* ---- grants */

/* True if the grant lets its holder subscribe to scenario: a name in the
 * claim, a "prefix*" entry it starts with, or "*"; scenario "*" (every
 * scenario) needs the "*" entry itself. */
bool auth_grant_allows(const struct auth_grant *grant, const char *scenario);

/* The token's exp in unix seconds plus the leeway, or 0 if it has none. */
int64_t auth_grant_expires_at(const struct auth_grant *grant);

void auth_grant_destroy(struct auth_grant **grant_p); /* NULL-safe; sets *grant_p = NULL */

#endif

#include "eio_packet.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Longest decoded key or value we look at; longer ones cannot be valid. */
#define QUERY_VALUE_CAP 32
#define SID_RANDOM_BYTES 15 /* 15 bytes = 120 bits = 20 base64 characters */
_Static_assert(SID_RANDOM_BYTES * 4 / 3 == EIO_SID_LEN, "sid length is 4/3 of its random bytes");

static const char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const errc_messages[] = {
    [EIO_ERR_UNKNOWN_TRANSPORT] = "Transport unknown",
    [EIO_ERR_UNKNOWN_SID] = "Session ID unknown",
    [EIO_ERR_BAD_HANDSHAKE_METHOD] = "Bad handshake method",
    [EIO_ERR_BAD_REQUEST] = "Bad request",
    [EIO_ERR_FORBIDDEN] = "Forbidden",
    [EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION] = "Unsupported protocol version",
};

/* What the parameter loop saw, before it is judged. */
struct query_scan {
    bool seen_eio, seen_transport, seen_sid;
    bool is_sid_bad;
};

/* One decoded key or value, cut at QUERY_VALUE_CAP. len is the full decoded
 * length, so a value longer than the buffer is still recognised as such. */
struct component {
    char text[QUERY_VALUE_CAP + 1];
    size_t len;
};

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes src[0..len) into *out ('+' is a space, as in forms).
 * Returns 0, or -EPROTO on a truncated or non-hex escape. */
static int decode_component(const char *src, size_t len, struct component *out)
{
    out->len = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (len - i < 3)
                return -EPROTO;
            int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -EPROTO;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (out->len < QUERY_VALUE_CAP)
            out->text[out->len] = c;
        out->len++;
    }
    out->text[out->len < QUERY_VALUE_CAP ? out->len : QUERY_VALUE_CAP] = '\0';
    return 0;
}

static bool component_is(const struct component *c, const char *word)
{
    size_t n = strlen(word);
    return c->len == n && memcmp(c->text, word, n) == 0;
}

/* "4" -> 4; anything but 1 to 9 digits -> 0. */
static int parse_version(const struct component *v)
{
    if (v->len == 0 || v->len > 9)
        return 0;
    int n = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->text[i] < '0' || v->text[i] > '9')
            return 0;
        n = n * 10 + (v->text[i] - '0');
    }
    return n;
}

static enum eio_transport parse_transport(const struct component *v)
{
    if (component_is(v, "polling"))
        return EIO_TRANSPORT_POLLING;
    if (component_is(v, "websocket"))
        return EIO_TRANSPORT_WEBSOCKET;
    return EIO_TRANSPORT_NONE;
}

/* Marks a known key as seen; a second occurrence is a malformed query. */
static int mark_seen(bool *seen)
{
    if (*seen)
        return -EPROTO;
    *seen = true;
    return 0;
}

/* Applies one "key=value" pair. Returns 0 or -EPROTO (malformed). */
static int apply_param(const char *seg, size_t len, struct eio_query *q, struct query_scan *scan)
{
    const char *eq = memchr(seg, '=', len);
    size_t key_len = eq ? (size_t)(eq - seg) : len;
    const char *val = eq ? eq + 1 : seg + len;
    struct component key, value;
    if (decode_component(seg, key_len, &key) < 0)
        return -EPROTO;
    if (decode_component(val, len - (size_t)(val - seg), &value) < 0)
        return -EPROTO;
    if (component_is(&key, "EIO")) {
        q->eio_version = parse_version(&value);
        return mark_seen(&scan->seen_eio);
    }
    if (component_is(&key, "transport")) {
        q->transport = parse_transport(&value);
        return mark_seen(&scan->seen_transport);
    }
    if (component_is(&key, "sid")) {
        q->has_sid = value.len <= EIO_SID_LEN && eio_sid_valid(value.text, value.len);
        scan->is_sid_bad = !q->has_sid;
        if (q->has_sid)
            memcpy(q->sid, value.text, value.len + 1);
        return mark_seen(&scan->seen_sid);
    }
    return 0;
}

int eio_query_parse(const char *query, size_t len, struct eio_query *q, enum eio_errc *errc)
{
    struct query_scan scan = {0};
    memset(q, 0, sizeof *q);
    if (!query)
        len = 0;
    size_t start = 0;
    while (start < len) {
        const char *amp = memchr(query + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - query) : len;
        if (end > start && apply_param(query + start, end - start, q, &scan) < 0) {
            *errc = EIO_ERR_BAD_REQUEST;
            return -EPROTO;
        }
        start = end + 1;
    }
    if (q->eio_version != EIO_PROTOCOL_VERSION)
        *errc = EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION;
    else if (q->transport == EIO_TRANSPORT_NONE)
        *errc = EIO_ERR_UNKNOWN_TRANSPORT;
    else if (scan.is_sid_bad)
        *errc = EIO_ERR_UNKNOWN_SID;
    else
        return 0;
    return -EPROTO;
}

const char *eio_errc_message(enum eio_errc errc)
{
    if ((unsigned)errc >= sizeof errc_messages / sizeof errc_messages[0])
        return "Bad request";
    return errc_messages[errc];
}

int eio_error_body(enum eio_errc errc, char *buf, size_t cap)
{
    int n =
        snprintf(buf, cap, "{\"code\":%d,\"message\":\"%s\"}", (int)errc, eio_errc_message(errc));
    if (n < 0 || (size_t)n >= cap)
        return -EMSGSIZE;
    return n;
}

int eio_open_packet(const char *sid, bool can_upgrade, int ping_interval_ms, int ping_timeout_ms,
                    size_t max_payload, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "0{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%d,"
                     "\"pingTimeout\":%d,\"maxPayload\":%zu}",
                     sid, can_upgrade ? "\"websocket\"" : "", ping_interval_ms, ping_timeout_ms,
                     max_payload);
    if (n < 0 || (size_t)n >= cap)
        return -EMSGSIZE;
    return n;
}

int eio_packet_parse(const char *data, size_t len, enum eio_packet_type *type, const char **payload,
                     size_t *payload_len)
{
    if (len == 0 || data[0] < '0' || data[0] >= '0' + EIO_PACKET_TYPE_COUNT)
        return -EPROTO;
    *type = (enum eio_packet_type)(data[0] - '0');
    *payload = data + 1;
    *payload_len = len - 1;
    return 0;
}

char eio_packet_char(enum eio_packet_type type)
{
    return (char)('0' + (int)type);
}

/* Fills buf with kernel randomness. getrandom() does not fail for so few
 * bytes once the pool is ready (it waits until then), short of a kernel
 * without the call: then there is no safe session id to hand out. */
static void fill_random(unsigned char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(buf + done, len - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "error eio: getrandom failed: %s\n", strerror(errno));
            abort();
        }
        done += (size_t)n;
    }
}

void eio_sid_generate(char sid[EIO_SID_LEN + 1])
{
    unsigned char raw[SID_RANDOM_BYTES];
    fill_random(raw, sizeof raw);
    size_t out = 0;
    for (size_t i = 0; i < sizeof raw; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        sid[out++] = base64url[(v >> 18) & 63];
        sid[out++] = base64url[(v >> 12) & 63];
        sid[out++] = base64url[(v >> 6) & 63];
        sid[out++] = base64url[v & 63];
    }
    sid[EIO_SID_LEN] = '\0';
}

bool eio_sid_valid(const char *s, size_t len)
{
    if (len != EIO_SID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ payloads */

static const char BASE64_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64_value(char c)
{
    const char *p = c ? strchr(BASE64_ALPHABET, c) : NULL;
    return p ? (int)(p - BASE64_ALPHABET) : -1;
}

/* Strict standard base64 with padding. Returns the decoded length, or
 * -EPROTO. out needs len / 4 * 3 bytes. */
static int base64_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4)
        return -EPROTO;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = base64_value(in[i + k]);
        bool is_last = i + 4 == len;
        int pad = is_last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
        if (v[0] < 0 || v[1] < 0 || (v[2] < 0 && pad < 2) || (v[3] < 0 && pad < 1))
            return -EPROTO;
        if ((pad == 2 && (v[1] & 0xf)) || (pad == 1 && (v[2] & 0x3)))
            return -EPROTO; /* non-zero bits past the data: not canonical base64 */
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
                          (unsigned)(v[2] < 0 ? 0 : v[2]) << 6 | (unsigned)(v[3] < 0 ? 0 : v[3]);
        out[n++] = (unsigned char)(triple >> 16);
        if (pad < 2)
            out[n++] = (unsigned char)(triple >> 8);
        if (pad < 1)
            out[n++] = (unsigned char)triple;
    }
    return (int)n;
}

size_t eio_base64_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

void eio_base64_encode(const unsigned char *data, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned triple = (unsigned)data[i] << 16;
        if (i + 1 < len)
            triple |= (unsigned)data[i + 1] << 8;
        if (i + 2 < len)
            triple |= data[i + 2];
        out[o++] = BASE64_ALPHABET[(triple >> 18) & 63];
        out[o++] = BASE64_ALPHABET[(triple >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
        if (i + 1 < len)
            out[o - 2] = BASE64_ALPHABET[(triple >> 6) & 63];
        if (i + 2 < len)
            out[o - 1] = BASE64_ALPHABET[triple & 63];
    }
}

static int emit_packet(const char *p, size_t len, eio_payload_fn *fn, void *arg)
{
    if (len == 0)
        return -EPROTO;
    if (p[0] != 'b')
        return fn(p, len, false, arg);
    unsigned char *bin = malloc(len / 4 * 3 + 1);
    if (!bin)
        return -ENOMEM;
    int n = base64_decode(p + 1, len - 1, bin);
    int rc = n < 0 ? n : fn((const char *)bin, (size_t)n, true, arg);
    free(bin);
    return rc;
}

int eio_payload_each(const char *payload, size_t len, eio_payload_fn *fn, void *arg)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && payload[i] != EIO_RECORD_SEPARATOR)
            continue;
        int rc = emit_packet(payload + start, i - start, fn, arg);
        if (rc < 0)
            return rc;
        start = i + 1;
    }
    return 0;
}

/* eio_packet: the Engine.IO v4 wire format, independent of transport and
 * free of state: request query parsing, packet type prefixes, the open
 * packet, the HTTP error bodies of the spec, and session ids.
 * Pure functions; owns nothing. */
#ifndef TB_EIO_PACKET_H
#define TB_EIO_PACKET_H

#include <stdbool.h>
#include <stddef.h>

enum eio_packet_type {
    EIO_OPEN,    /* '0' */
    EIO_CLOSE,   /* '1' */
    EIO_PING,    /* '2' */
    EIO_PONG,    /* '3' */
    EIO_MESSAGE, /* '4' */
    EIO_UPGRADE, /* '5' */
    EIO_NOOP,    /* '6' */
    EIO_PACKET_TYPE_COUNT
};

enum eio_transport { EIO_TRANSPORT_NONE, EIO_TRANSPORT_POLLING, EIO_TRANSPORT_WEBSOCKET };

/* The spec's error codes, sent as HTTP 400 {"code":N,"message":"..."}. */
enum eio_errc {
    EIO_ERR_UNKNOWN_TRANSPORT = 0,
    EIO_ERR_UNKNOWN_SID = 1,
    EIO_ERR_BAD_HANDSHAKE_METHOD = 2,
    EIO_ERR_BAD_REQUEST = 3,
    EIO_ERR_FORBIDDEN = 4,
    EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION = 5
};

#define EIO_SID_LEN 20
#define EIO_PROTOCOL_VERSION 4

struct eio_query {
    int eio_version;              /* value of EIO=, 0 if absent or not a number */
    enum eio_transport transport; /* NONE if absent or unknown */
    bool has_sid;
    char sid[EIO_SID_LEN + 1]; /* valid only if has_sid */
};

/* Parses a raw query string ("EIO=4&transport=websocket&t=Nx1"), values
 * percent-decoded, unknown parameters ignored. Returns 0, or -EPROTO with
 * *errc set to the spec's answer: UNSUPPORTED_PROTOCOL_VERSION if EIO is not
 * 4, UNKNOWN_TRANSPORT if transport is absent or unknown, UNKNOWN_SID if sid
 * is not a well-formed id, BAD_REQUEST for a malformed query (a bad %-escape,
 * or EIO, transport or sid given twice). BAD_REQUEST is checked first, then
 * the order above. '+' decodes to a space; q holds what was found. */
int eio_query_parse(const char *query, size_t len, struct eio_query *q, enum eio_errc *errc);

/* The spec's message for a code ("Transport unknown", "Session ID unknown",
 * "Bad handshake method", "Bad request", "Forbidden",
 * "Unsupported protocol version"). */
const char *eio_errc_message(enum eio_errc errc);

/* Writes {"code":N,"message":"..."} NUL-terminated. Returns the length or -EMSGSIZE. */
int eio_error_body(enum eio_errc errc, char *buf, size_t cap);

/* Writes the open packet, '0' followed by
 * {"sid":"..","upgrades":[..],"pingInterval":N,"pingTimeout":N,"maxPayload":N}
 * with "websocket" in upgrades if can_upgrade. Returns length or -EMSGSIZE. */
int eio_open_packet(const char *sid, bool can_upgrade, int ping_interval_ms, int ping_timeout_ms,
                    size_t max_payload, char *buf, size_t cap);

/* Splits a text packet into its type and payload (which points into data).
 * Returns 0, or -EPROTO if data is empty or the type digit is unknown. */
int eio_packet_parse(const char *data, size_t len, enum eio_packet_type *type, const char **payload,
                     size_t *payload_len);

/* Long-polling payloads: packets joined by the record separator; a binary
 * packet travels as 'b' + base64. */
#define EIO_RECORD_SEPARATOR '\x1e'

typedef int eio_payload_fn(const char *data, size_t len, bool is_binary, void *arg);

/* Splits a long-polling request body into packets and calls fn for each, in
 * order: text packets as they are (type digit first), binary ones decoded.
 * Returns 0; -EPROTO for an empty packet or malformed base64 (fn has seen
 * the packets before it); or fn's first negative return. */
int eio_payload_each(const char *payload, size_t len, eio_payload_fn *fn, void *arg);

/* Bytes eio_base64_encode writes for len input bytes (without a NUL). */
size_t eio_base64_len(size_t len);

/* Writes base64 of data[0..len) to out (eio_base64_len(len) bytes, no NUL). */
void eio_base64_encode(const unsigned char *data, size_t len, char *out);

/* The type's wire character, '0'..'6'. */
char eio_packet_char(enum eio_packet_type type);

/* A fresh session id: EIO_SID_LEN characters of base64url from getrandom(). */
void eio_sid_generate(char sid[EIO_SID_LEN + 1]);

/* True if s[0..len) has the shape eio_sid_generate makes. */
bool eio_sid_valid(const char *s, size_t len);

#endif

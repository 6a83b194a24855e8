/* sio_packet: the Socket.IO v5 packet text format. Parses a client's packet
 * into type, namespace, ack id, attachment count and JSON data (jansson), and
 * encodes any packet. Pure; a parsed packet owns its json_t (free it with
 * sio_packet_fini). */
#ifndef TB_SIO_PACKET_H
#define TB_SIO_PACKET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sio_type {
    SIO_CONNECT,       /* 0 */
    SIO_DISCONNECT,    /* 1 */
    SIO_EVENT,         /* 2 */
    SIO_ACK,           /* 3 */
    SIO_CONNECT_ERROR, /* 4 */
    SIO_BINARY_EVENT,  /* 5 */
    SIO_BINARY_ACK,    /* 6 */
    SIO_TYPE_COUNT
};

#define SIO_MAX_NSP_LEN 128
#define SIO_MAX_ATTACHMENTS 64
#define SIO_MAX_ACK_ID 9007199254740991ULL /* 2^53 - 1 */

struct sio_packet {
    enum sio_type type;
    char nsp[SIO_MAX_NSP_LEN + 1]; /* "/" when the packet names none */
    bool has_id;
    uint64_t id;            /* ack id, valid if has_id */
    unsigned n_attachments; /* BINARY_EVENT / BINARY_ACK only */
    json_t *data;           /* owned; NULL when the packet has none */
};

/* Parses one text packet: <type>[<n>-][<nsp>,][<id>][<json>].
 * Checks the shape each type requires from a client: CONNECT data absent or
 * an object; DISCONNECT no data; EVENT/BINARY_EVENT a non-empty array whose
 * first element is a string; ACK/BINARY_ACK an array and an id;
 * CONNECT_ERROR is server-only and refused; BINARY_* need "<n>-" with
 * 1 <= n <= SIO_MAX_ATTACHMENTS, others must not have it; CONNECT and
 * DISCONNECT carry no id. A namespace is up to SIO_MAX_NSP_LEN printable
 * ASCII characters (no space) and must end with ','. Data is one JSON value
 * (no duplicate keys, no trailing bytes, valid UTF-8, no \u0000).
 * Returns 0, or -EPROTO with *why set to a static reason (p left empty). */
int sio_packet_parse(const char *text, size_t len, struct sio_packet *p, const char **why);

/* Frees what a parsed (or built) packet owns and empties it. NULL-safe. */
void sio_packet_fini(struct sio_packet *p);

/* Encodes p (data may be NULL) compactly into buf[0..cap), NUL-terminated.
 * The namespace is written only when it is neither "/" nor empty; "<n>-" only
 * for BINARY_* types. Returns the length, -EMSGSIZE if cap is too small, or
 * -EINVAL if jansson cannot encode data (a reference cycle). */
int sio_packet_encode(const struct sio_packet *p, char *buf, size_t cap);

/* Stable short name of a type ("CONNECT", "EVENT", ...). */
const char *sio_type_name(enum sio_type type);

#endif

/* bench_ws: the client side of RFC 6455, as much as the load generator
 * needs: the HTTP upgrade request and the check of its answer, parsing the
 * server's (unmasked) frames with 7-, 16- and 64-bit lengths, and building
 * masked client frames. Pure functions over caller buffers; owns nothing. */
#ifndef TB_BENCH_WS_H
#define TB_BENCH_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_ws_opcode {
    BENCH_WS_CONTINUATION = 0x0,
    BENCH_WS_TEXT = 0x1,
    BENCH_WS_BINARY = 0x2,
    BENCH_WS_CLOSE = 0x8,
    BENCH_WS_PING = 0x9,
    BENCH_WS_PONG = 0xA,
};

#define BENCH_WS_MAX_HEADER 14 /* 2 + 8 (64-bit length) + 4 (mask) */

struct bench_ws_frame {
    bool is_fin;
    uint8_t opcode;
    const uint8_t *payload; /* borrowed from the parsed buffer */
    size_t len;
};

/* Parses one server frame at buf[0..len). Returns the bytes it takes (> 0),
 * 0 when buf holds only part of it, -EPROTO for a masked frame or reserved
 * bits, -EMSGSIZE for a payload over max_payload. */
long bench_ws_parse(const uint8_t *buf, size_t len, size_t max_payload, struct bench_ws_frame *f);

/* Writes one masked client frame (FIN set) carrying payload[0..len) into out,
 * which needs len + BENCH_WS_MAX_HEADER bytes. Returns the frame's length. */
size_t bench_ws_encode(enum bench_ws_opcode opcode, const void *payload, size_t len, uint32_t mask,
                       uint8_t *out);

/* Writes the GET request that opens an Engine.IO v4 WebSocket at path into
 * buf. Returns its length, or -EMSGSIZE. */
int bench_ws_upgrade_request(char *buf, size_t cap, const char *host, int port, const char *path);

/* Checks an upgrade answer at buf[0..len). Returns the header's length
 * (through the blank line) for "101", 0 if the header is not complete yet,
 * -EPROTO for any other status or a header over 8 KiB. */
int bench_ws_upgrade_response(const uint8_t *buf, size_t len);

#endif

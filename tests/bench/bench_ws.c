#include "bench_ws.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_HTTP_HEADER 8192
#define LEN16_MARK 126
#define LEN64_MARK 127

long bench_ws_parse(const uint8_t *buf, size_t len, size_t max_payload, struct bench_ws_frame *f)
{
    if (len < 2)
        return 0;
    if ((buf[0] & 0x70) || (buf[1] & 0x80)) /* RSV bits; servers never mask */
        return -EPROTO;
    size_t header = 2;
    uint64_t payload_len = buf[1] & 0x7F;
    if (payload_len == LEN16_MARK) {
        header = 4;
        if (len < header)
            return 0;
        payload_len = ((uint64_t)buf[2] << 8) | buf[3];
    } else if (payload_len == LEN64_MARK) {
        header = 10;
        if (len < header)
            return 0;
        payload_len = 0;
        for (int i = 2; i < 10; i++)
            payload_len = (payload_len << 8) | buf[i];
    }
    if (payload_len > max_payload)
        return -EMSGSIZE;
    if (len - header < payload_len)
        return 0;
    f->is_fin = (buf[0] & 0x80) != 0;
    f->opcode = buf[0] & 0x0F;
    f->payload = buf + header;
    f->len = (size_t)payload_len;
    return (long)(header + payload_len);
}

size_t bench_ws_encode(enum bench_ws_opcode opcode, const void *payload, size_t len, uint32_t mask,
                       uint8_t *out)
{
    size_t n = 0;
    out[n++] = (uint8_t)(0x80 | opcode);
    if (len < LEN16_MARK) {
        out[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[n++] = 0x80 | LEN16_MARK;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 0x80 | LEN64_MARK;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)((uint64_t)len >> shift);
    }
    uint8_t key[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
                      (uint8_t)mask};
    memcpy(out + n, key, 4);
    n += 4;
    const uint8_t *in = payload;
    for (size_t i = 0; i < len; i++)
        out[n + i] = in[i] ^ key[i & 3];
    return n + len;
}

int bench_ws_upgrade_request(char *buf, size_t cap, const char *host, int port, const char *path)
{
    /* A fixed key is valid: the server's accept value is not checked here. */
    int n = snprintf(buf, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "\r\n",
                     path, host, port);
    return n < 0 || (size_t)n >= cap ? -EMSGSIZE : n;
}

int bench_ws_upgrade_response(const uint8_t *buf, size_t len)
{
    const uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return len > MAX_HTTP_HEADER ? -EPROTO : 0;
    static const char status[] = "HTTP/1.1 101";
    if (len < sizeof status - 1 || memcmp(buf, status, sizeof status - 1) != 0)
        return -EPROTO;
    return (int)(end - buf) + 4;
}

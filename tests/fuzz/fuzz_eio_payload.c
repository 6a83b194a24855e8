/* fuzz_eio_payload: the long-polling body parser (packets joined by the
 * record separator, binary ones as "b<base64>") and the packet-type split
 * of each packet it yields. Checks: every packet handed out lies inside the
 * input or is a decoded buffer of plausible size, and a binary packet
 * re-encodes to the exact base64 it came from. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio_packet.h"

struct walk {
    const char *body;
    size_t len;
    size_t n_packets;
};

static int check_packet(const char *data, size_t len, bool is_binary, void *arg)
{
    struct walk *w = arg;
    if (len > w->len)
        abort();
    w->n_packets++;
    if (!is_binary) {
        if (data < w->body || data + len > w->body + w->len)
            abort();
        enum eio_packet_type type;
        const char *payload;
        size_t payload_len;
        if (eio_packet_parse(data, len, &type, &payload, &payload_len) == 0 &&
            payload + payload_len != data + len)
            abort();
        return 0;
    }
    char *b64 = malloc(eio_base64_len(len) + 1);
    eio_base64_encode((const unsigned char *)data, len, b64);
    int found = memmem(w->body, w->len, b64, eio_base64_len(len)) != NULL;
    free(b64);
    if (!found)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct walk w = {.body = (const char *)data, .len = size};
    eio_payload_each((const char *)data, size, check_packet, &w);
    struct eio_query q;
    enum eio_errc errc;
    eio_query_parse((const char *)data, size, &q, &errc);
    return 0;
}

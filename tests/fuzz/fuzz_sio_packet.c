/* fuzz_sio_packet: any text a client may send as a Socket.IO packet. A
 * packet that parses must survive encode -> parse unchanged, and encode to
 * the same text again; a rejected one must say why. Aborts otherwise. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio_packet.h"

#define MAX_ENCODED (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encodes p into a malloc'd buffer that grows until it fits. */
static char *encode(const struct sio_packet *p, int *len)
{
    size_t cap = 2 * SIO_MAX_NSP_LEN + 64;
    for (;;) {
        char *buf = malloc(cap);
        if (!buf)
            abort();
        *len = sio_packet_encode(p, buf, cap);
        if (*len >= 0)
            return buf;
        free(buf);
        if (*len != -EMSGSIZE || cap > MAX_ENCODED)
            abort();
        cap *= 4;
    }
}

static bool same_packet(const struct sio_packet *a, const struct sio_packet *b)
{
    if (a->type != b->type || strcmp(a->nsp, b->nsp) != 0 || a->has_id != b->has_id ||
        a->id != b->id || a->n_attachments != b->n_attachments)
        return false;
    if (!a->data || !b->data)
        return a->data == b->data;
    return json_equal(a->data, b->data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sio_packet first, second;
    const char *why = NULL;
    if (sio_packet_parse((const char *)data, size, &first, &why) < 0) {
        if (!why || first.data)
            abort();
        return 0;
    }
    int len1 = 0, len2 = 0;
    char *text1 = encode(&first, &len1);
    if (sio_packet_parse(text1, (size_t)len1, &second, &why) < 0)
        abort(); /* our own encoding must parse */
    if (!same_packet(&first, &second))
        abort();
    char *text2 = encode(&second, &len2);
    if (len1 != len2 || memcmp(text1, text2, (size_t)len1) != 0)
        abort();
    free(text1);
    free(text2);
    sio_packet_fini(&first);
    sio_packet_fini(&second);
    return 0;
}

/* fuzz_eio_query: any request query string and any Engine.IO text packet.
 * Checks what the parsers promise about their results; aborts otherwise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_query(const char *text, size_t len)
{
    struct eio_query q;
    enum eio_errc errc = (enum eio_errc) - 1;
    int rc = eio_query_parse(text, len, &q, &errc);
    if (rc < 0) {
        if (errc > EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION)
            abort();
        char body[96];
        if (eio_error_body(errc, body, sizeof body) <= 0)
            abort();
        return;
    }
    if (rc != 0 || q.eio_version != EIO_PROTOCOL_VERSION || q.transport == EIO_TRANSPORT_NONE)
        abort();
    if (q.has_sid && !eio_sid_valid(q.sid, strlen(q.sid)))
        abort();
}

static void check_packet(const char *text, size_t len)
{
    enum eio_packet_type type;
    const char *payload = NULL;
    size_t payload_len = 0;
    if (eio_packet_parse(text, len, &type, &payload, &payload_len) < 0)
        return;
    if (type >= EIO_PACKET_TYPE_COUNT || eio_packet_char(type) != text[0])
        abort();
    if (payload != text + 1 || payload_len != len - 1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_query((const char *)data, size);
    check_packet((const char *)data, size);
    (void)eio_sid_valid((const char *)data, size);
    return 0;
}

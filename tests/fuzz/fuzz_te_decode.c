/* fuzz_te_decode: arbitrary bytes as a trainer's payload frame.
 *
 * Whatever the input, te_event_decode must return without crashing, and a
 * rejection must say why. Whatever it accepts must survive the rest of the
 * bridge's path: re-encoding succeeds and is canonical (encode, decode,
 * encode gives the same bytes and the same event), the JSON rendering fits
 * TE_MAX_JSON_BYTES, and the two-frame check accepts the envelope's own
 * scenario as topic. Any broken promise abort()s. */
#include "te_internal.h"
#include "trainevents.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Checks what must hold for an event the decoder accepted from data. */
static void check_accepted(const struct te_event *ev, const uint8_t *data, size_t size)
{
    static char buf[TE_MAX_FRAME_BYTES], again_buf[TE_MAX_FRAME_BYTES];
    static char json[TE_MAX_JSON_BYTES];
    struct te_event again;
    struct te_error err;
    int len = te_event_encode(ev, buf, sizeof buf, &err);
    if (len <= 0)
        abort();
    if (te_event_decode(buf, (size_t)len, &again, &err) != 0 || !te_event_equal(ev, &again))
        abort();
    int len2 = te_event_encode(&again, again_buf, sizeof again_buf, &err);
    if (len2 != len || memcmp(buf, again_buf, (size_t)len) != 0)
        abort();
    int n = te_event_to_json(ev, json, sizeof json);
    if (n <= 0 || (size_t)n != strlen(json) || json[0] != '[' || json[n - 1] != ']')
        abort();
    if (te_frames_decode(ev->scenario, strlen(ev->scenario), data, size, &again, &err) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct te_event ev;
    struct te_error err;
    int rc = te_event_decode(data, size, &ev, &err);
    if (rc < 0) {
        if (err.code == TE_OK || err.msg[0] == '\0' || (rc != -EPROTO && rc != -EMSGSIZE))
            abort();
        return 0;
    }
    if (err.code != TE_OK)
        abort();
    check_accepted(&ev, data, size);
    return 0;
}

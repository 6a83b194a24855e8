#include "codec.h"

#include <string.h>

#include "log.h"

/* "4" (Engine.IO message) + "2" (Socket.IO EVENT) */
static const char EVENT_PREFIX[] = "42";

struct packet *codec_event_packet(const struct te_event *ev)
{
    char json[sizeof EVENT_PREFIX + TE_MAX_JSON_BYTES];
    size_t prefix_len = sizeof EVENT_PREFIX - 1;
    memcpy(json, EVENT_PREFIX, prefix_len);
    int n = te_event_to_json(ev, json + prefix_len, sizeof json - prefix_len);
    if (n < 0) {
        log_error("codec", "event %s from %s does not encode as JSON", te_event_name(ev->type),
                  ev->trainer);
        return NULL;
    }
    return packet_from_text(json, prefix_len + (size_t)n);
}

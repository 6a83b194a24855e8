#include "codec.h"

#include <errno.h>
#include <string.h>

#include "log.h"

/* "4" (Engine.IO message) + "2" (Socket.IO EVENT) */
static const char EVENT_PREFIX[] = "42";
/* te_event_to_json ends every event with its meta object, which starts so;
 * inside a JSON string the quotes would be escaped, so the last occurrence
 * in a packet is the meta's start. */
static const char META_START[] = ",{\"scenario_name\":\"";
static const char REPLAY_TAIL[] = ",\"replay\":true}]";

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

void codec_event_init(struct codec_event *e, struct packet *live)
{
    memset(e, 0, sizeof *e);
    e->shape[CODEC_SHAPE_LIVE] = live ? packet_ref(live) : NULL;
}

void codec_event_fini(struct codec_event *e)
{
    for (int i = 0; i < CODEC_SHAPE_COUNT; i++)
        packet_unref(&e->shape[i]);
}

struct packet *codec_event_get(struct codec_event *e, enum codec_shape shape)
{
    struct packet *live = e->shape[CODEC_SHAPE_LIVE];
    if (!live || shape >= CODEC_SHAPE_COUNT)
        return NULL;
    if (!e->shape[shape] && shape == CODEC_SHAPE_REPLAY)
        e->shape[shape] = codec_replay_packet_new(live);
    return e->shape[shape];
}

size_t codec_event_bytes(const struct codec_event *e)
{
    const struct packet *live = e->shape[CODEC_SHAPE_LIVE];
    return live ? CODEC_SHAPE_COUNT * (sizeof *live + live->len) : 0;
}

/* The last occurrence of needle in hay[0..len), or NULL. */
static const unsigned char *find_last(const unsigned char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = len >= n ? len - n + 1 : 0; i-- > 0;)
        if (memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* True if p's text looks like 42["...",...,{...}]. */
static bool is_event_text(const struct packet *p)
{
    const unsigned char *d = p->buf + LWS_PRE;
    return p->len > 6 && memcmp(d, "42[\"", 4) == 0 && d[p->len - 2] == '}' && d[p->len - 1] == ']';
}

struct packet *codec_replay_packet_new(const struct packet *live)
{
    if (!is_event_text(live))
        return NULL;
    size_t keep = live->len - 2; /* without the meta's '}' and the array's ']' */
    size_t tail = sizeof REPLAY_TAIL - 1;
    struct packet *p = packet_new(keep + tail);
    memcpy(packet_data(p), live->buf + LWS_PRE, keep);
    memcpy(packet_data(p) + keep, REPLAY_TAIL, tail);
    p->is_replay = true;
    return p;
}

int codec_payload_span(const struct packet *p, size_t *off_out, size_t *len_out)
{
    if (!is_event_text(p))
        return -EINVAL;
    const unsigned char *d = p->buf + LWS_PRE;
    const unsigned char *name_end = memchr(d + 4, '"', p->len - 4);
    const unsigned char *meta = find_last(d, p->len, META_START);
    if (!name_end || !meta || name_end[1] != ',' || meta <= name_end + 2)
        return -EINVAL;
    *off_out = (size_t)(name_end + 2 - d);
    *len_out = (size_t)(meta - (name_end + 2));
    return 0;
}

/* codec: the live packet of an event, its replay shape (built once, meta
 * gains "replay":true) and the payload span inside a packet, including text
 * fields that look like JSON. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"

static struct te_event error_event(const char *message)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = TE_SCHEMA_VERSION;
    ev.type = TE_TRAINING_ERROR;
    strcpy(ev.scenario, "alpha");
    strcpy(ev.trainer, "t1");
    ev.seq = 5;
    ev.ts_us = 1714564800000000;
    snprintf(ev.data.error.message, sizeof ev.data.error.message, "%s", message);
    strcpy(ev.data.error.details, "d");
    return ev;
}

static const char *text(struct packet *p)
{
    return (const char *)packet_data(p);
}

Test(codec, replay_shape_adds_replay_last_in_meta)
{
    struct te_event ev = error_event("boom");
    struct packet *live = codec_event_packet(&ev);
    struct packet *replay = codec_replay_packet_new(live);
    cr_assert_str_eq(text(replay), "42[\"training_error\",{\"message\":\"boom\",\"details\":\"d\"},"
                                   "{\"scenario_name\":\"alpha\",\"trainer\":\"t1\",\"seq\":5,"
                                   "\"ts\":1714564800000000,\"replay\":true}]");
    cr_assert(replay->is_replay);
    cr_assert_not(live->is_replay);
    packet_unref(&replay);
    packet_unref(&live);
}

Test(codec, each_shape_is_built_once_and_held)
{
    struct te_event ev = error_event("x");
    struct packet *live = codec_event_packet(&ev);
    struct codec_event e;
    codec_event_init(&e, live);
    cr_assert_eq(codec_event_get(&e, CODEC_SHAPE_LIVE), live);
    struct packet *r = codec_event_get(&e, CODEC_SHAPE_REPLAY);
    cr_assert_eq(codec_event_get(&e, CODEC_SHAPE_REPLAY), r);
    cr_assert_eq(r->refs, 1);
    cr_assert_eq(live->refs, 2);
    cr_assert_gt(codec_event_bytes(&e), 2 * live->len);
    codec_event_fini(&e);
    cr_assert_eq(live->refs, 1);
    packet_unref(&live);
    struct codec_event empty;
    codec_event_init(&empty, NULL);
    cr_assert_null(codec_event_get(&empty, CODEC_SHAPE_REPLAY));
    cr_assert_eq(codec_event_bytes(&empty), 0);
    codec_event_fini(&empty);
}

Test(codec, payload_span_survives_text_that_looks_like_meta)
{
    struct te_event ev = error_event(",{\"scenario_name\":\"evil\"}]");
    struct packet *live = codec_event_packet(&ev);
    size_t off, len;
    cr_assert_eq(codec_payload_span(live, &off, &len), 0);
    const char *want = "{\"message\":\",{\\\"scenario_name\\\":\\\"evil\\\"}]\",\"details\":\"d\"}";
    cr_assert_eq(len, strlen(want));
    cr_assert_eq(memcmp(text(live) + off, want, len), 0, "got %.*s", (int)len, text(live) + off);
    packet_unref(&live);
}

Test(codec, non_event_packets_have_no_replay_or_payload)
{
    const char *bad[] = {"2", "42", "40{\"sid\":\"x\"}", "42[\"x\"]", "42[\"x\",1]", "431[{}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct packet *p = packet_from_text(bad[i], strlen(bad[i]));
        size_t off, len;
        cr_assert_eq(codec_payload_span(p, &off, &len), -EINVAL, "%s", bad[i]);
        cr_assert_null(codec_replay_packet_new(p), "%s", bad[i]);
        packet_unref(&p);
    }
}

/* Unit tests for te_event.c: names, name and UTF-8 checks, ISO 8601 check,
 * te_event_validate, te_now_us. */
#include "te_internal.h"
#include "sample_event.h"
#include "trainevents.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <math.h>
#include <string.h>

/* A valid event of each type, the same values every time. */
static struct te_event sample(enum te_event_type type)
{
    return sample_event(type, "alpha", "host-1", 1);
}

/* Validates ev and checks the error code and field. */
static void expect_invalid(const struct te_event *ev, enum te_errc code, const char *field)
{
    struct te_error err;
    cr_assert_eq(te_event_validate(ev, &err), -EINVAL, "expected %s on %s", te_errc_name(code),
                 field);
    cr_expect_eq(err.code, code, "got %s (%s), want %s", te_errc_name(err.code), err.msg,
                 te_errc_name(code));
    cr_expect_str_eq(err.field, field);
    cr_expect_neq(err.msg[0], '\0');
}

Test(te_event, errc_names_are_stable)
{
    static const char *const want[TE_ERRC_COUNT] = {"ok",
                                                    "malformed",
                                                    "trailing_bytes",
                                                    "oversize",
                                                    "not_a_map",
                                                    "too_deep",
                                                    "missing_field",
                                                    "extra_field",
                                                    "duplicate_field",
                                                    "wrong_type",
                                                    "out_of_range",
                                                    "too_long",
                                                    "bad_utf8",
                                                    "bad_charset",
                                                    "bad_version",
                                                    "unknown_event",
                                                    "scenario_mismatch",
                                                    "topic_mismatch",
                                                    "bad_frames"};
    for (int c = 0; c < TE_ERRC_COUNT; c++)
        cr_expect_str_eq(te_errc_name((enum te_errc)c), want[c]);
    cr_expect_str_eq(te_errc_name(TE_ERRC_COUNT), "unknown");
    cr_expect_str_eq(te_errc_name((enum te_errc) - 1), "unknown");
}

Test(te_event, event_names_round_trip)
{
    static const char *const want[] = {"training_started",   "training_progress",
                                       "training_completed", "training_stopped",
                                       "training_error",     "heartbeat"};
    for (int t = 0; t < TE_EVENT_TYPE_COUNT; t++) {
        enum te_event_type back = TE_EVENT_TYPE_COUNT;
        cr_expect_str_eq(te_event_name((enum te_event_type)t), want[t]);
        cr_expect_eq(te_event_type_from_name(want[t], strlen(want[t]), &back), 0);
        cr_expect_eq(back, (enum te_event_type)t);
    }
    cr_expect_null(te_event_name(TE_EVENT_TYPE_COUNT));
}

Test(te_event, rejects_unknown_event_names)
{
    static const char *const bad[] = {"", "training", "training_started2", "TRAINING_STARTED",
                                      "training_paused"};
    enum te_event_type t;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(te_event_type_from_name(bad[i], strlen(bad[i]), &t), -ENOENT, "%s", bad[i]);
    /* a prefix of a real name is not that name */
    cr_expect_eq(te_event_type_from_name("training_started", 8, &t), -ENOENT);
}

struct name_case {
    char text[80];
    bool is_valid;
};

ParameterizedTestParameters(te_event, name_charset)
{
    static struct name_case cases[] = {
        {"alpha", true},
        {"A-b_c.d:e", true},
        {"0", true},
        {"x.", true},
        {"run:42", true},
        {"", false},
        {".hidden", false},
        {"*", false},
        {"a b", false},
        {"a/b", false},
        {"caf\xc3\xa9", false},
        {"a*", false},
        {"tab\there", false},
        {"#1", false},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},   /* 64 */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false}, /* 65 */
    };
    return cr_make_param_array(struct name_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct name_case *c, te_event, name_charset)
{
    cr_expect_eq(te_name_valid(c->text, strlen(c->text)), c->is_valid, "\"%s\"", c->text);
}

struct utf8_case {
    char bytes[8];
    size_t len;
    bool is_valid;
};

ParameterizedTestParameters(te_event, utf8)
{
    static struct utf8_case cases[] = {
        {"abc", 3, true},
        {"\xc3\xa9", 2, true},         /* é */
        {"\xe6\x97\xa5", 3, true},     /* 日 */
        {"\xf0\x9f\x98\x80", 4, true}, /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4, true}, /* U+10FFFF */
        {"\xed\x9f\xbf", 3, true},     /* U+D7FF */
        {"", 0, true},
        {"a\0b", 3, false},             /* NUL */
        {"\xc0\xaf", 2, false},         /* overlong '/' */
        {"\xc1\xbf", 2, false},         /* overlong */
        {"\xe0\x80\xaf", 3, false},     /* overlong */
        {"\xf0\x80\x80\xaf", 4, false}, /* overlong */
        {"\xed\xa0\x80", 3, false},     /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3, false},     /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4, false}, /* U+110000 */
        {"\xf5\x80\x80\x80", 4, false},
        {"\xe6\x97", 2, false}, /* truncated */
        {"\xc3", 1, false},     /* truncated */
        {"\x80", 1, false},     /* lone continuation */
        {"\xff", 1, false},
        {"\xc3\x28", 2, false}, /* bad continuation */
    };
    return cr_make_param_array(struct utf8_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct utf8_case *c, te_event, utf8)
{
    cr_expect_eq(te_utf8_valid(c->bytes, c->len), c->is_valid, "case of %zu bytes, 0x%02x...",
                 c->len, (unsigned char)c->bytes[0]);
}

struct time_case {
    char text[72];
    bool is_valid;
};

ParameterizedTestParameters(te_event, start_time_format)
{
    static struct time_case cases[] = {
        {"2024-05-01T12:00:00", true},
        {"2024-05-01T12:00:00Z", true},
        {"2024-05-01T12:00:00.123456", true},
        {"2024-05-01T12:00:00.1+02:00", true},
        {"2024-05-01T23:59:60.123456789-05:30", true},
        {"2024-05-01T12:00:00+00:00", true},
        {"2024-05-01 12:00:00", false},
        {"2024-05-01", false},
        {"2024-13-01T12:00:00", false},
        {"2024-05-00T12:00:00", false},
        {"2024-05-01T24:00:00", false},
        {"2024-05-01T12:60:00", false},
        {"2024-05-01T12:00:00.", false},
        {"2024-05-01T12:00:00.1234567890", false},
        {"2024-05-01T12:00:00z", false},
        {"2024-05-01T12:00:00+0200", false},
        {"2024-05-01T12:00:00+02:00x", false},
        {"2024-5-01T12:00:00", false},
        {"", false},
    };
    return cr_make_param_array(struct time_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct time_case *c, te_event, start_time_format)
{
    cr_expect_eq(te_time_valid(c->text, strlen(c->text)), c->is_valid, "\"%s\"", c->text);
}

Test(te_event, validates_every_sample)
{
    for (int t = 0; t < TE_EVENT_TYPE_COUNT; t++) {
        struct te_event ev = sample((enum te_event_type)t);
        struct te_error err;
        cr_expect_eq(te_event_validate(&ev, &err), 0, "%s: %s", te_event_name(ev.type), err.msg);
        cr_expect_eq(err.code, TE_OK);
    }
}

Test(te_event, rejects_bad_envelope_values)
{
    struct te_event ev = sample(TE_TRAINING_PROGRESS);
    ev.version = TE_SCHEMA_VERSION + 1;
    expect_invalid(&ev, TE_E_VERSION, "v");
    ev.version = 0;
    expect_invalid(&ev, TE_E_VERSION, "v");
    ev = sample(TE_TRAINING_PROGRESS);
    ev.type = TE_EVENT_TYPE_COUNT;
    expect_invalid(&ev, TE_E_UNKNOWN_EVENT, "event");
    ev = sample(TE_TRAINING_PROGRESS);
    strcpy(ev.scenario, "*");
    expect_invalid(&ev, TE_E_CHARSET, "scenario");
    ev = sample(TE_TRAINING_PROGRESS);
    ev.trainer[0] = '\0';
    expect_invalid(&ev, TE_E_CHARSET, "trainer");
    ev = sample(TE_TRAINING_PROGRESS);
    memset(ev.trainer, 'a', sizeof ev.trainer); /* not terminated */
    expect_invalid(&ev, TE_E_TOO_LONG, "trainer");
    ev = sample(TE_TRAINING_PROGRESS);
    strcpy(ev.trainer, "\xff");
    expect_invalid(&ev, TE_E_UTF8, "trainer");
}

Test(te_event, rejects_seq_and_ts_out_of_range)
{
    struct te_event ev = sample(TE_TRAINING_STOPPED);
    ev.seq = 0;
    expect_invalid(&ev, TE_E_RANGE, "seq");
    ev.seq = TE_MAX_SEQ + 1;
    expect_invalid(&ev, TE_E_RANGE, "seq");
    ev.seq = TE_MAX_SEQ;
    cr_expect_eq(te_event_validate(&ev, NULL), 0);
    ev.ts_us = -1;
    expect_invalid(&ev, TE_E_RANGE, "ts");
    ev.ts_us = (int64_t)TE_MAX_SEQ + 1;
    expect_invalid(&ev, TE_E_RANGE, "ts");
    ev.ts_us = 0;
    cr_expect_eq(te_event_validate(&ev, NULL), 0);
}

Test(te_event, rejects_bad_payload_values)
{
    struct te_event ev = sample(TE_TRAINING_PROGRESS);
    ev.data.progress.total_episodes = -1;
    expect_invalid(&ev, TE_E_RANGE, "data.total_episodes");
    ev = sample(TE_TRAINING_PROGRESS);
    ev.data.progress.elapsed_time = NAN;
    expect_invalid(&ev, TE_E_RANGE, "data.elapsed_time");
    ev = sample(TE_TRAINING_COMPLETED);
    ev.data.completed.final_metrics.avg_duration = -INFINITY;
    expect_invalid(&ev, TE_E_RANGE, "data.final_metrics.avg_duration");
    ev = sample(TE_TRAINING_STOPPED);
    strcpy(ev.data.stopped.scenario_name, "beta");
    expect_invalid(&ev, TE_E_MISMATCH, "data.scenario_name");
    ev = sample(TE_TRAINING_STARTED);
    strcpy(ev.data.started.start_time, "yesterday");
    expect_invalid(&ev, TE_E_CHARSET, "data.start_time");
    ev = sample(TE_TRAINING_ERROR);
    memset(ev.data.error.details, 'x', sizeof ev.data.error.details);
    expect_invalid(&ev, TE_E_TOO_LONG, "data.details");
    ev = sample(TE_TRAINING_ERROR);
    strcpy(ev.data.error.message, "\xed\xa0\x80");
    expect_invalid(&ev, TE_E_UTF8, "data.message");
}

Test(te_event, versions_are_per_message)
{
    cr_expect_eq(TE_SCHEMA_VERSION, 2);
    for (int t = 0; t < TE_EVENT_TYPE_COUNT; t++) {
        uint32_t want = t == TE_HEARTBEAT ? 2 : 1;
        cr_expect_eq(te_event_min_version((enum te_event_type)t), want, "%d", t);
        struct te_event ev = sample((enum te_event_type)t);
        ev.version = 2; /* v2 still has the five v1 events, unchanged */
        cr_expect_eq(te_event_validate(&ev, NULL), 0, "%s as v2", te_event_name(ev.type));
    }
    cr_expect_eq(te_event_min_version(TE_EVENT_TYPE_COUNT), 0);
    struct te_event ev = sample(TE_HEARTBEAT);
    ev.version = 1; /* v1 has no heartbeat */
    expect_invalid(&ev, TE_E_UNKNOWN_EVENT, "event");
}

Test(te_event, terminal_events_end_a_run)
{
    cr_expect(te_event_is_terminal(TE_TRAINING_COMPLETED));
    cr_expect(te_event_is_terminal(TE_TRAINING_STOPPED));
    cr_expect(te_event_is_terminal(TE_TRAINING_ERROR));
    cr_expect_not(te_event_is_terminal(TE_TRAINING_STARTED));
    cr_expect_not(te_event_is_terminal(TE_TRAINING_PROGRESS));
    cr_expect_not(te_event_is_terminal(TE_HEARTBEAT));
    cr_expect_not(te_event_is_terminal(TE_EVENT_TYPE_COUNT));
}

Test(te_event, checks_heartbeat_values)
{
    struct te_event ev = sample(TE_HEARTBEAT);
    ev.data.heartbeat.episode = -1;
    expect_invalid(&ev, TE_E_RANGE, "data.episode");
    const int64_t bad_ms[] = {0, -5000, TE_HEARTBEAT_MIN_MS - 1, TE_HEARTBEAT_MAX_MS + 1,
                              INT64_MAX};
    for (size_t i = 0; i < sizeof bad_ms / sizeof bad_ms[0]; i++) {
        ev = sample(TE_HEARTBEAT);
        ev.data.heartbeat.interval_ms = bad_ms[i];
        expect_invalid(&ev, TE_E_RANGE, "data.interval_ms");
    }
    const int64_t good_ms[] = {TE_HEARTBEAT_MIN_MS, TE_HEARTBEAT_INTERVAL_MS, TE_HEARTBEAT_MAX_MS};
    for (size_t i = 0; i < sizeof good_ms / sizeof good_ms[0]; i++) {
        ev = sample(TE_HEARTBEAT);
        ev.data.heartbeat.interval_ms = good_ms[i];
        cr_expect_eq(te_event_validate(&ev, NULL), 0);
    }
    ev = sample(TE_HEARTBEAT);
    strcpy(ev.data.heartbeat.scenario_name, "beta");
    expect_invalid(&ev, TE_E_MISMATCH, "data.scenario_name");
    ev = sample(TE_HEARTBEAT);
    strcpy(ev.data.heartbeat.scenario_name, "*");
    expect_invalid(&ev, TE_E_CHARSET, "data.scenario_name");
}

Test(te_event, accepts_text_at_its_limit)
{
    struct te_event ev = sample(TE_TRAINING_ERROR);
    memset(ev.data.error.message, 'm', TE_MAX_TEXT_LEN);
    ev.data.error.message[TE_MAX_TEXT_LEN] = '\0';
    cr_expect_eq(te_event_validate(&ev, NULL), 0);
}

Test(te_event, error_message_names_the_field)
{
    struct te_event ev = sample(TE_TRAINING_PROGRESS);
    struct te_error err;
    ev.data.progress.episode = -5;
    cr_assert_eq(te_event_validate(&ev, &err), -EINVAL);
    cr_expect_str_eq(err.msg, "data.episode: must be >= 0, got -5");
}

Test(te_event, equal_compares_every_field)
{
    struct te_event a = sample(TE_TRAINING_COMPLETED), b = a;
    cr_expect(te_event_equal(&a, &b));
    b.data.completed.final_metrics.stability = -0.0;
    a.data.completed.final_metrics.stability = 0.0;
    cr_expect_not(te_event_equal(&a, &b));
    b = a;
    b.seq = 2;
    cr_expect_not(te_event_equal(&a, &b));
}

Test(te_event, now_is_microseconds_since_epoch)
{
    int64_t t = te_now_us();
    cr_expect_gt(t, (int64_t)1600000000 * 1000000); /* after 2020 */
    cr_expect_lt(t, (int64_t)4100000000 * 1000000); /* before 2100 */
}

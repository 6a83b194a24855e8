/* Unit tests for te_msgpack.c: encode/decode round trips and every way a
 * hostile or careless publisher can get an envelope wrong.
 *
 * The schema is restated here independently of te_event.c's tables: a small
 * packer builds envelopes from it and applies one mutation (drop, replace,
 * duplicate a field, add an unknown one...), so each field of each event is
 * checked by name. */
#include "te_internal.h"
#include "trainevents.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ test schema */

/* Kinds: V version, E event name, N name, T start time, X text, i int,
 * I interval in ms, f float, D data map, m final_metrics map. */
struct tfield {
    const char *name;
    char kind;
};

#define N_OF(a) (sizeof a / sizeof a[0])

static const struct tfield env_fields[] = {{"v", 'V'},       {"event", 'E'}, {"scenario", 'N'},
                                           {"trainer", 'N'}, {"seq", 'i'},   {"ts", 'i'},
                                           {"data", 'D'}};
static const struct tfield started_fields[] = {
    {"scenario_name", 'N'}, {"num_episodes", 'i'}, {"start_time", 'T'}};
static const struct tfield progress_fields[] = {
    {"episode", 'i'},      {"total_episodes", 'i'}, {"avg_reward", 'f'},
    {"avg_duration", 'f'}, {"avg_cash", 'f'},       {"avg_invested", 'f'},
    {"stability", 'f'},    {"goal_adherence", 'f'}, {"elapsed_time", 'f'}};
static const struct tfield completed_fields[] = {
    {"scenario_name", 'N'}, {"episodes_completed", 'i'}, {"final_metrics", 'm'}};
static const struct tfield metrics_fields[] = {
    {"avg_reward", 'f'}, {"avg_duration", 'f'}, {"stability", 'f'}};
static const struct tfield stopped_fields[] = {{"scenario_name", 'N'}, {"episodes_completed", 'i'}};
static const struct tfield error_fields[] = {{"message", 'X'}, {"details", 'X'}};
static const struct tfield heartbeat_fields[] = {
    {"scenario_name", 'N'}, {"episode", 'i'}, {"interval_ms", 'I'}};

struct tevent {
    const char *name;
    const struct tfield *fields;
    size_t n_fields;
};

static const struct tevent tevents[TE_EVENT_TYPE_COUNT] = {
    {"training_started", started_fields, N_OF(started_fields)},
    {"training_progress", progress_fields, N_OF(progress_fields)},
    {"training_completed", completed_fields, N_OF(completed_fields)},
    {"training_stopped", stopped_fields, N_OF(stopped_fields)},
    {"training_error", error_fields, N_OF(error_fields)},
    {"heartbeat", heartbeat_fields, N_OF(heartbeat_fields)},
};

/* ------------------------------------------------------------ raw values */

struct raw {
    char b[4200];
    size_t len;
};

struct frame {
    char b[16384];
    size_t len;
};

static int write_raw(void *data, const char *buf, size_t len)
{
    struct raw *r = data;
    cr_assert_leq(r->len + len, sizeof r->b);
    memcpy(r->b + r->len, buf, len);
    r->len += len;
    return 0;
}

static int write_frame(void *data, const char *buf, size_t len)
{
    struct frame *f = data;
    cr_assert_leq(f->len + len, sizeof f->b);
    memcpy(f->b + f->len, buf, len);
    f->len += len;
    return 0;
}

/* A frame from a string literal (which may hold NUL bytes). */
#define LIT(s)                                                                                     \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }

static struct raw raw_bytes(const char *b, size_t len)
{
    struct raw r = {.len = len};
    memcpy(r.b, b, len);
    return r;
}

/* A packer that appends to *r. */
static msgpack_packer raw_packer(struct raw *r)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, r, write_raw);
    return pk;
}

static struct raw raw_str(const char *s, size_t len)
{
    struct raw r = {.len = 0};
    msgpack_packer pk = raw_packer(&r);
    msgpack_pack_str(&pk, len);
    msgpack_pack_str_body(&pk, s, len);
    return r;
}

static struct raw raw_i64(int64_t v)
{
    struct raw r = {.len = 0};
    msgpack_packer pk = raw_packer(&r);
    msgpack_pack_int64(&pk, v);
    return r;
}

static struct raw raw_u64(uint64_t v)
{
    struct raw r = {.len = 0};
    msgpack_packer pk = raw_packer(&r);
    msgpack_pack_uint64(&pk, v);
    return r;
}

static struct raw raw_f64(double v)
{
    struct raw r = {.len = 0};
    msgpack_packer pk = raw_packer(&r);
    msgpack_pack_double(&pk, v);
    return r;
}

static struct raw raw_f32(float v)
{
    struct raw r = {.len = 0};
    msgpack_packer pk = raw_packer(&r);
    msgpack_pack_float(&pk, v);
    return r;
}

/* ------------------------------------------------------------ the packer */

enum mut_op { MUT_NONE, MUT_DROP, MUT_REPLACE, MUT_DUP, MUT_EXTRA, MUT_KEY, MUT_REVERSE };

/* One change to the default envelope: op applies to the field at path (for
 * MUT_EXTRA, to the map at path; "" is the envelope). */
struct mutation {
    enum mut_op op;
    const char *path;
    struct raw value; /* MUT_REPLACE: the value; MUT_KEY: the key */
};

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pack_map(msgpack_packer *pk, int ev, const char *prefix, const struct tfield *fields,
                     size_t n, const struct mutation *m);

static void pack_default(msgpack_packer *pk, int ev, const char *path, char kind,
                         const struct mutation *m)
{
    switch (kind) {
    case 'V': /* each message carries the lowest version that has its event */
        msgpack_pack_int(pk, ev == TE_HEARTBEAT ? 2 : 1);
        break;
    case 'E':
        pack_cstr(pk, tevents[ev].name);
        break;
    case 'N':
        pack_cstr(pk, "alpha");
        break;
    case 'T':
        pack_cstr(pk, "2024-05-01T12:00:00Z");
        break;
    case 'X':
        pack_cstr(pk, "text");
        break;
    case 'i':
        msgpack_pack_int(pk, 7);
        break;
    case 'I':
        msgpack_pack_int(pk, 5000);
        break;
    case 'f':
        msgpack_pack_double(pk, 2.5);
        break;
    case 'D':
        pack_map(pk, ev, path, tevents[ev].fields, tevents[ev].n_fields, m);
        break;
    case 'm':
        pack_map(pk, ev, path, metrics_fields, N_OF(metrics_fields), m);
        break;
    default:
        cr_assert_fail("bad kind %c", kind);
    }
}

static void pack_field(msgpack_packer *pk, int ev, const char *path, const struct tfield *f,
                       const struct mutation *m)
{
    bool is_hit = m->path && strcmp(m->path, path) == 0;
    if (is_hit && m->op == MUT_KEY)
        msgpack_pack_str_body(pk, m->value.b, m->value.len); /* raw key bytes */
    else
        pack_cstr(pk, f->name);
    if (is_hit && m->op == MUT_REPLACE)
        msgpack_pack_str_body(pk, m->value.b, m->value.len);
    else
        pack_default(pk, ev, path, f->kind, m);
}

static void pack_map(msgpack_packer *pk, int ev, const char *prefix, const struct tfield *fields,
                     size_t n, const struct mutation *m)
{
    char paths[9][48];
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], 48, "%s%s%s", prefix, prefix[0] ? "." : "", fields[i].name);
        bool is_hit = m->path && strcmp(m->path, paths[i]) == 0;
        count += is_hit && m->op == MUT_DROP ? 0 : is_hit && m->op == MUT_DUP ? 2 : 1;
    }
    bool is_extra = m->op == MUT_EXTRA && strcmp(m->path, prefix) == 0;
    msgpack_pack_map(pk, count + is_extra);
    for (size_t k = 0; k < n; k++) {
        size_t i = m->op == MUT_REVERSE ? n - 1 - k : k;
        bool is_hit = m->path && strcmp(m->path, paths[i]) == 0;
        if (is_hit && m->op == MUT_DROP)
            continue;
        pack_field(pk, ev, paths[i], &fields[i], m);
        if (is_hit && m->op == MUT_DUP)
            pack_field(pk, ev, paths[i], &fields[i], m);
    }
    if (is_extra) {
        pack_cstr(pk, "bogus");
        msgpack_pack_nil(pk);
    }
}

/* The default envelope of event ev with mutation m applied. */
static struct frame build(int ev, struct mutation m)
{
    struct frame f = {.len = 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &f, write_frame);
    pack_map(&pk, ev, "", env_fields, N_OF(env_fields), &m);
    return f;
}

/* Decodes f and checks the outcome: rc matches code, field as given. */
static void expect_code(const struct frame *f, enum te_errc code, const char *field)
{
    struct te_event ev;
    struct te_error err;
    int rc = te_event_decode(f->b, f->len, &ev, &err);
    cr_expect_eq(err.code, code, "want %s at '%s', got %s: %s", te_errc_name(code),
                 field ? field : "", te_errc_name(err.code), err.msg);
    cr_expect_eq(rc, code == TE_OK ? 0 : code == TE_E_OVERSIZE ? -EMSGSIZE : -EPROTO);
    if (field)
        cr_expect_str_eq(err.field, field, "for %s: %s", te_errc_name(code), err.msg);
}

static struct frame replaced(int ev, const char *path, struct raw value)
{
    return build(ev, (struct mutation){MUT_REPLACE, path, value});
}

/* ------------------------------------------------------------ field table */

struct field_case {
    int event;
    int level; /* 0 envelope, 1 data, 2 final_metrics */
    int index;
};

static const struct tfield *case_field(const struct field_case *c, char path[48])
{
    const struct tfield *f = c->level == 0   ? &env_fields[c->index]
                             : c->level == 1 ? &tevents[c->event].fields[c->index]
                                             : &metrics_fields[c->index];
    static const char *const prefixes[] = {"", "data.", "data.final_metrics."};
    snprintf(path, 48, "%s%s", prefixes[c->level], f->name);
    return f;
}

static void free_cases(struct criterion_test_params *params)
{
    cr_free(params->params);
}

ParameterizedTestParameters(te_msgpack, fields)
{
    size_t n = 0, cap = 128;
    struct field_case *cases = cr_malloc(cap * sizeof *cases);
    for (int e = 0; e < TE_EVENT_TYPE_COUNT; e++) {
        for (size_t i = 0; i < N_OF(env_fields); i++)
            cases[n++] = (struct field_case){e, 0, (int)i};
        for (size_t i = 0; i < tevents[e].n_fields; i++)
            cases[n++] = (struct field_case){e, 1, (int)i};
    }
    for (size_t i = 0; i < N_OF(metrics_fields); i++)
        cases[n++] = (struct field_case){TE_TRAINING_COMPLETED, 2, (int)i};
    return cr_make_param_array(struct field_case, cases, n, free_cases);
}

/* Every field of every event: missing, duplicated and wrongly typed. */
ParameterizedTest(struct field_case *c, te_msgpack, fields)
{
    char path[48];
    const struct tfield *f = case_field(c, path);
    bool is_map = f->kind == 'D' || f->kind == 'm';
    expect_code((struct frame[]){build(c->event, (struct mutation){MUT_NONE, NULL, {.len = 0}})},
                TE_OK, "");
    expect_code((struct frame[]){build(c->event, (struct mutation){MUT_DROP, path, {.len = 0}})},
                TE_E_MISSING, path);
    expect_code((struct frame[]){build(c->event, (struct mutation){MUT_DUP, path, {.len = 0}})},
                TE_E_DUPLICATE, path);
    struct raw wrong[] = {raw_bytes("\xc0", 1), raw_bytes("\xc3", 1),
                          raw_bytes("\xc4\x01"
                                    "A",
                                    3),
                          raw_bytes("\xd6\xff\x00\x00\x00\x01", 6),
                          strchr("ifI", f->kind) ? raw_str("1", 1) : raw_f64(3.0)};
    for (size_t i = 0; i < N_OF(wrong); i++) {
        struct frame fr = replaced(c->event, path, wrong[i]);
        expect_code(&fr, is_map ? TE_E_NOT_MAP : TE_E_TYPE, path);
    }
    struct frame arr = replaced(c->event, path, raw_bytes("\x90", 1));
    expect_code(&arr,
                c->level == 2 ? TE_E_NESTING
                : is_map      ? TE_E_NOT_MAP
                              : TE_E_TYPE,
                c->level == 2 ? "" : path);
    if (f->kind == 'i' || f->kind == 'I') /* 3.0 is not an integer, whatever its value */
        expect_code((struct frame[]){replaced(c->event, path, raw_f32(3.0f))}, TE_E_TYPE, path);
}

/* An unknown key in each map: the envelope, each data map, final_metrics. */
Test(te_msgpack, rejects_extra_fields)
{
    for (int e = 0; e < TE_EVENT_TYPE_COUNT; e++) {
        expect_code((struct frame[]){build(e, (struct mutation){MUT_EXTRA, "", {.len = 0}})},
                    TE_E_EXTRA, "bogus");
        expect_code((struct frame[]){build(e, (struct mutation){MUT_EXTRA, "data", {.len = 0}})},
                    TE_E_EXTRA, "data.bogus");
    }
    struct frame f = build(TE_TRAINING_COMPLETED,
                           (struct mutation){MUT_EXTRA, "data.final_metrics", {.len = 0}});
    expect_code(&f, TE_E_EXTRA, "data.final_metrics.bogus");
}

Test(te_msgpack, accepts_keys_in_any_order)
{
    for (int e = 0; e < TE_EVENT_TYPE_COUNT; e++)
        expect_code((struct frame[]){build(e, (struct mutation){MUT_REVERSE, NULL, {.len = 0}})},
                    TE_OK, "");
}

Test(te_msgpack, rejects_non_string_keys)
{
    struct frame f = build(TE_TRAINING_STOPPED, (struct mutation){MUT_KEY, "seq", raw_i64(1)});
    expect_code(&f, TE_E_TYPE, "");
    f = build(TE_TRAINING_STOPPED,
              (struct mutation){MUT_KEY, "data.episodes_completed", raw_bytes("\xc4\x01x", 3)});
    expect_code(&f, TE_E_TYPE, "data");
}

Test(te_msgpack, rejects_float_in_int_field)
{
    struct frame f = replaced(TE_TRAINING_PROGRESS, "data.episode", raw_f64(3.0));
    struct te_event ev;
    struct te_error err;
    cr_assert_eq(te_event_decode(f.b, f.len, &ev, &err), -EPROTO);
    cr_expect_eq(err.code, TE_E_TYPE);
    cr_expect_str_eq(err.msg, "data.episode: expected an integer, got float");
}

Test(te_msgpack, accepts_ints_in_float_fields)
{
    static const int64_t values[] = {0, 3, -3, TE_MAX_EXACT_INT, -TE_MAX_EXACT_INT};
    for (size_t p = 2; p < N_OF(progress_fields); p++) {
        char path[48];
        snprintf(path, sizeof path, "data.%s", progress_fields[p].name);
        for (size_t i = 0; i < N_OF(values); i++) {
            struct frame f = replaced(TE_TRAINING_PROGRESS, path, raw_i64(values[i]));
            struct te_event ev;
            cr_assert_eq(te_event_decode(f.b, f.len, &ev, NULL), 0, "%s = %ld", path,
                         (long)values[i]);
            const struct te_progress *g = &ev.data.progress;
            const double got[] = {g->avg_reward, g->avg_duration,   g->avg_cash,    g->avg_invested,
                                  g->stability,  g->goal_adherence, g->elapsed_time};
            cr_expect_eq(got[p - 2], (double)values[i], "%s", path);
        }
        expect_code((struct frame[]){replaced(1, path, raw_i64(TE_MAX_EXACT_INT + 1))}, TE_E_RANGE,
                    path);
        expect_code((struct frame[]){replaced(1, path, raw_i64(-TE_MAX_EXACT_INT - 1))}, TE_E_RANGE,
                    path);
        expect_code((struct frame[]){replaced(1, path, raw_u64(UINT64_MAX))}, TE_E_RANGE, path);
    }
}

Test(te_msgpack, accepts_float32)
{
    struct frame f =
        replaced(TE_TRAINING_COMPLETED, "data.final_metrics.stability", raw_f32(0.25f));
    struct te_event ev;
    cr_assert_eq(te_event_decode(f.b, f.len, &ev, NULL), 0);
    cr_expect_eq(ev.data.completed.final_metrics.stability, 0.25);
}

Test(te_msgpack, rejects_nan_and_infinity)
{
    const struct raw bad[] = {raw_f64(NAN), raw_f64(INFINITY), raw_f64(-INFINITY), raw_f32(NAN),
                              raw_f32(INFINITY)};
    for (size_t i = 0; i < N_OF(bad); i++) {
        expect_code((struct frame[]){replaced(1, "data.avg_cash", bad[i])}, TE_E_RANGE,
                    "data.avg_cash");
        expect_code((struct frame[]){replaced(2, "data.final_metrics.avg_reward", bad[i])},
                    TE_E_RANGE, "data.final_metrics.avg_reward");
    }
}

Test(te_msgpack, checks_int64_edges)
{
    struct te_event ev;
    struct frame f = replaced(0, "data.num_episodes", raw_i64(INT64_MAX));
    cr_assert_eq(te_event_decode(f.b, f.len, &ev, NULL), 0);
    cr_expect_eq(ev.data.started.num_episodes, INT64_MAX);
    expect_code((struct frame[]){replaced(0, "data.num_episodes", raw_i64(INT64_MIN))}, TE_E_RANGE,
                "data.num_episodes");
    expect_code((struct frame[]){replaced(0, "data.num_episodes", raw_i64(-1))}, TE_E_RANGE,
                "data.num_episodes");
    expect_code(
        (struct frame[]){replaced(3, "data.episodes_completed", raw_u64((uint64_t)INT64_MAX + 1))},
        TE_E_RANGE, "data.episodes_completed");
    expect_code((struct frame[]){replaced(1, "data.total_episodes", raw_u64(UINT64_MAX))},
                TE_E_RANGE, "data.total_episodes");
}

Test(te_msgpack, checks_seq_and_ts_ranges)
{
    struct te_event ev;
    struct frame f = replaced(4, "seq", raw_u64(TE_MAX_SEQ));
    cr_assert_eq(te_event_decode(f.b, f.len, &ev, NULL), 0);
    cr_expect_eq(ev.seq, TE_MAX_SEQ);
    const struct raw bad_seq[] = {raw_i64(0), raw_i64(-1), raw_u64(TE_MAX_SEQ + 1),
                                  raw_i64(INT64_MIN), raw_u64(UINT64_MAX)};
    for (size_t i = 0; i < N_OF(bad_seq); i++)
        expect_code((struct frame[]){replaced(4, "seq", bad_seq[i])}, TE_E_RANGE, "seq");
    const struct raw bad_ts[] = {raw_i64(-1), raw_u64(TE_MAX_SEQ + 1), raw_u64(UINT64_MAX)};
    for (size_t i = 0; i < N_OF(bad_ts); i++)
        expect_code((struct frame[]){replaced(4, "ts", bad_ts[i])}, TE_E_RANGE, "ts");
    f = replaced(4, "ts", raw_i64(0));
    cr_expect_eq(te_event_decode(f.b, f.len, &ev, NULL), 0);
}

Test(te_msgpack, rejects_other_versions)
{
    const struct raw bad[] = {raw_i64(3), raw_i64(0), raw_i64(-1), raw_u64(UINT64_MAX)};
    for (size_t i = 0; i < N_OF(bad); i++)
        expect_code((struct frame[]){replaced(1, "v", bad[i])}, TE_E_VERSION, "v");
    /* a v3 message is reported as v3 even though its fields differ too */
    expect_code((struct frame[]){LIT("\x82\xa1v\x03\xa5"
                                     "extra\xc0")},
                TE_E_VERSION, "v");
    expect_code((struct frame[]){replaced(1, "v", raw_f64(1.0))}, TE_E_TYPE, "v");
    expect_code((struct frame[]){replaced(1, "v", raw_str("1", 1))}, TE_E_TYPE, "v");
}

/* v2 is v1 plus the heartbeat: the five events read as v1 or v2, the
 * heartbeat only as v2 (a v1 heartbeat is an event v1 does not have). */
Test(te_msgpack, versions_are_per_message)
{
    for (int e = 0; e < TE_EVENT_TYPE_COUNT; e++) {
        struct te_event ev;
        struct frame f = replaced(e, "v", raw_i64(2));
        cr_expect_eq(te_event_decode(f.b, f.len, &ev, NULL), 0, "%s as v2", tevents[e].name);
        cr_expect_eq(ev.version, 2);
        f = build(e, (struct mutation){MUT_NONE, NULL, {.len = 0}});
        cr_expect_eq(te_event_decode(f.b, f.len, &ev, NULL), 0);
        cr_expect_eq(ev.version, e == TE_HEARTBEAT ? 2u : 1u, "decoded v of %s", tevents[e].name);
    }
    expect_code((struct frame[]){replaced(TE_HEARTBEAT, "v", raw_i64(1))}, TE_E_UNKNOWN_EVENT,
                "event");
}

Test(te_msgpack, checks_heartbeat_values)
{
    const struct raw bad[] = {raw_i64(0), raw_i64(99), raw_i64(-1), raw_i64(3600001),
                              raw_u64(UINT64_MAX)};
    for (size_t i = 0; i < N_OF(bad); i++)
        expect_code((struct frame[]){replaced(TE_HEARTBEAT, "data.interval_ms", bad[i])},
                    TE_E_RANGE, "data.interval_ms");
    expect_code((struct frame[]){replaced(TE_HEARTBEAT, "data.interval_ms", raw_i64(100))}, TE_OK,
                "");
    expect_code((struct frame[]){replaced(TE_HEARTBEAT, "data.interval_ms", raw_i64(3600000))},
                TE_OK, "");
    expect_code((struct frame[]){replaced(TE_HEARTBEAT, "data.episode", raw_i64(-1))}, TE_E_RANGE,
                "data.episode");
    expect_code((struct frame[]){replaced(TE_HEARTBEAT, "data.scenario_name", raw_str("beta", 4))},
                TE_E_MISMATCH, "data.scenario_name");
    expect_code((struct frame[]){replaced(TE_HEARTBEAT, "scenario", raw_str("beta", 4))},
                TE_E_MISMATCH, "data.scenario_name");
    expect_code((struct frame[]){replaced(TE_HEARTBEAT, "data.interval_ms", raw_f64(5000.0))},
                TE_E_TYPE, "data.interval_ms");
}

Test(te_msgpack, rejects_unknown_event)
{
    expect_code((struct frame[]){replaced(1, "event", raw_str("training_paused", 15))},
                TE_E_UNKNOWN_EVENT, "event");
    expect_code((struct frame[]){replaced(1, "event", raw_str("", 0))}, TE_E_UNKNOWN_EVENT,
                "event");
    /* a real event name with another event's payload */
    expect_code((struct frame[]){replaced(1, "event", raw_str("training_error", 14))}, TE_E_EXTRA,
                "data.episode");
}

Test(te_msgpack, rejects_scenario_mismatch)
{
    expect_code((struct frame[]){replaced(0, "data.scenario_name", raw_str("beta", 4))},
                TE_E_MISMATCH, "data.scenario_name");
    expect_code((struct frame[]){replaced(3, "scenario", raw_str("beta", 4))}, TE_E_MISMATCH,
                "data.scenario_name");
}

Test(te_msgpack, checks_name_charset_and_length)
{
    static const char *const bad[] = {"*", "a b", ".x", "a/b", "caf\xc3\xa9"};
    for (size_t i = 0; i < N_OF(bad); i++) {
        struct raw r = raw_str(bad[i], strlen(bad[i]));
        expect_code((struct frame[]){replaced(4, "trainer", r)}, TE_E_CHARSET, "trainer");
        expect_code((struct frame[]){replaced(3, "data.scenario_name", r)}, TE_E_CHARSET,
                    "data.scenario_name");
    }
    char long_name[TE_MAX_NAME_LEN + 1];
    memset(long_name, 'n', sizeof long_name);
    expect_code((struct frame[]){replaced(4, "scenario", raw_str(long_name, TE_MAX_NAME_LEN + 1))},
                TE_E_TOO_LONG, "scenario");
    expect_code((struct frame[]){replaced(4, "trainer", raw_str(long_name, TE_MAX_NAME_LEN))},
                TE_OK, "");
    expect_code((struct frame[]){replaced(0, "data.start_time", raw_str(long_name, 65))},
                TE_E_TOO_LONG, "data.start_time");
    expect_code((struct frame[]){replaced(0, "data.start_time", raw_str("May 1st", 7))},
                TE_E_CHARSET, "data.start_time");
}

Test(te_msgpack, checks_text_length)
{
    static char text[TE_MAX_TEXT_LEN + 1];
    memset(text, 'x', sizeof text);
    expect_code((struct frame[]){replaced(4, "data.message", raw_str(text, TE_MAX_TEXT_LEN))},
                TE_OK, "");
    expect_code((struct frame[]){replaced(4, "data.details", raw_str(text, sizeof text))},
                TE_E_TOO_LONG, "data.details");
}

struct bad_utf8 {
    char bytes[8];
    size_t len;
};

ParameterizedTestParameters(te_msgpack, rejects_bad_utf8)
{
    static struct bad_utf8 cases[] = {
        {"\xc0\xaf", 2},                              /* overlong */
        {"\xe0\x80\xaf", 3},                          /* overlong */
        {"\xed\xa0\x80", 3},                          /* surrogate */
        {"ok\xe6\x97", 4},                            /* truncated sequence */
        {"\xff", 1},         {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
        {"a\0b", 3},                                  /* NUL */
    };
    return cr_make_param_array(struct bad_utf8, cases, N_OF(cases));
}

ParameterizedTest(struct bad_utf8 *c, te_msgpack, rejects_bad_utf8)
{
    struct raw r = raw_str(c->bytes, c->len);
    expect_code((struct frame[]){replaced(4, "data.message", r)}, TE_E_UTF8, "data.message");
    expect_code((struct frame[]){replaced(4, "scenario", r)}, TE_E_UTF8, "scenario");
    expect_code((struct frame[]){replaced(0, "data.start_time", r)}, TE_E_UTF8, "data.start_time");
}

Test(te_msgpack, rejects_nesting_deeper_than_schema)
{
    struct frame f = {.len = 101};
    memset(f.b, 0x91, 100); /* 100 nested one-element arrays */
    f.b[100] = (char)0xc0;
    expect_code(&f, TE_E_NESTING, "");
    expect_code((struct frame[]){LIT("\x91\x91\x91\x90")}, TE_E_NESTING, "");
    expect_code((struct frame[]){LIT("\x91\x91\x90")}, TE_E_NOT_MAP, "");
    expect_code(
        (struct frame[]){replaced(2, "data.final_metrics.avg_reward", raw_bytes("\x91\x01", 2))},
        TE_E_NESTING, "");
    expect_code((struct frame[]){replaced(1, "data.episode",
                                          raw_bytes("\x81\xa1"
                                                    "a\x80",
                                                    4))},
                TE_E_NESTING, "");
}

Test(te_msgpack, rejects_non_map_top_level)
{
    static const struct frame cases[] = {{"\x01", 1},
                                         {"\x90", 1},
                                         {"\xa1"
                                          "a",
                                          2},
                                         {"\xc0", 1},
                                         {"\xcb\0\0\0\0\0\0\0\0", 9}};
    for (size_t i = 0; i < N_OF(cases); i++)
        expect_code(&cases[i], TE_E_NOT_MAP, "");
}

Test(te_msgpack, rejects_huge_declared_counts_without_allocating)
{
    /* each would make msgpack-c allocate gigabytes if it got the bytes */
    static const struct frame cases[] = {
        {"\xdd\xff\xff\xff\xff", 5},
        {"\xdf\xff\xff\xff\xff", 5},
        {"\xdc\xff\xff", 3},
        {"\xde\x00\x02\xc0\xc0\xc0", 6},
        {"\xdb\xff\xff\xff\xff"
         "a",
         6},
        {"\x81\xa1"
         "a\xdd\xff\xff\xff\xff",
         8},
        {"\xc6\xff\xff\xff\xff", 5},
        {"\xc9\xff\xff\xff\xff\x01", 6},
    };
    for (size_t i = 0; i < N_OF(cases); i++)
        expect_code(&cases[i], TE_E_MALFORMED, "");
}

Test(te_msgpack, rejects_malformed_bytes)
{
    static const struct frame cases[] = {{"", 0}, {"\xc1", 1}, {"\xcb\x00", 2}, {"\x81", 1}};
    for (size_t i = 0; i < N_OF(cases); i++)
        expect_code(&cases[i], TE_E_MALFORMED, "");
}

Test(te_msgpack, rejects_every_truncation)
{
    for (int e = 0; e < TE_EVENT_TYPE_COUNT; e++) {
        struct frame full = build(e, (struct mutation){MUT_NONE, NULL, {.len = 0}});
        for (size_t n = 0; n < full.len; n++) {
            struct frame cut = full;
            cut.len = n;
            expect_code(&cut, TE_E_MALFORMED, "");
        }
    }
}

Test(te_msgpack, rejects_trailing_bytes)
{
    struct frame f = build(1, (struct mutation){MUT_NONE, NULL, {.len = 0}});
    size_t len = f.len;
    f.b[f.len++] = (char)0xc0;
    expect_code(&f, TE_E_TRAILING, "");
    memcpy(f.b + len, f.b, len); /* two envelopes back to back */
    f.len = 2 * len;
    expect_code(&f, TE_E_TRAILING, "");
}

Test(te_msgpack, rejects_oversize_frames_before_parsing)
{
    static char big[TE_MAX_FRAME_BYTES + 1];
    struct te_event ev;
    struct te_error err;
    cr_expect_eq(te_event_decode(big, sizeof big, &ev, &err), -EMSGSIZE);
    cr_expect_eq(err.code, TE_E_OVERSIZE);
    /* exactly at the limit is parsed (and here rejected for what it is) */
    struct frame f = build(1, (struct mutation){MUT_NONE, NULL, {.len = 0}});
    memcpy(big, f.b, f.len);
    cr_expect_eq(te_event_decode(big, TE_MAX_FRAME_BYTES, &ev, &err), -EPROTO);
    cr_expect_eq(err.code, TE_E_TRAILING);
}

Test(te_msgpack, checks_topic_frame)
{
    struct frame f = build(3, (struct mutation){MUT_NONE, NULL, {.len = 0}});
    struct te_event ev;
    struct te_error err;
    cr_expect_eq(te_frames_decode("alpha", 5, f.b, f.len, &ev, &err), 0);
    static const char *const bad[] = {"beta", "alph", "alpha2", "", "ALPHA"};
    for (size_t i = 0; i < N_OF(bad); i++) {
        cr_expect_eq(te_frames_decode(bad[i], strlen(bad[i]), f.b, f.len, &ev, &err), -EPROTO);
        cr_expect_eq(err.code, TE_E_TOPIC, "topic '%s'", bad[i]);
    }
    cr_expect_eq(te_frames_decode(NULL, 0, f.b, f.len, &ev, &err), -EPROTO);
    cr_expect_eq(err.code, TE_E_TOPIC);
    /* a bad payload is reported as such, whatever the topic */
    cr_expect_eq(te_frames_decode("alpha", 5, "\xc1", 1, &ev, &err), -EPROTO);
    cr_expect_eq(err.code, TE_E_MALFORMED);
}

/* ------------------------------------------------------------ round trips */

/* A valid event of type t whose values exercise the edges of each kind. */
static struct te_event edge_event(enum te_event_type t)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = TE_SCHEMA_VERSION;
    ev.type = t;
    strcpy(ev.scenario, "alpha.v2:run-1_x");
    strcpy(ev.trainer, "gpu-node-07-12345");
    ev.seq = TE_MAX_SEQ;
    ev.ts_us = 1714564800123456;
    if (t == TE_TRAINING_STARTED) {
        strcpy(ev.data.started.scenario_name, ev.scenario);
        ev.data.started.num_episodes = INT64_MAX;
        strcpy(ev.data.started.start_time, "2024-05-01T12:00:00.123456+02:00");
    } else if (t == TE_TRAINING_PROGRESS) {
        struct te_progress p = {0, 1000, 150.5, 0.1, -0.0, 1e300, 5e-324, 1.0 / 3, -1e-7};
        ev.data.progress = p;
    } else if (t == TE_TRAINING_COMPLETED) {
        strcpy(ev.data.completed.scenario_name, ev.scenario);
        ev.data.completed.episodes_completed = 4294967296;
        ev.data.completed.final_metrics = (struct te_final_metrics){-2.5e-308, 1e21, 0.75};
    } else if (t == TE_TRAINING_STOPPED) {
        strcpy(ev.data.stopped.scenario_name, ev.scenario);
        ev.data.stopped.episodes_completed = 0;
    } else if (t == TE_HEARTBEAT) {
        ev.version = 2;
        strcpy(ev.data.heartbeat.scenario_name, ev.scenario);
        ev.data.heartbeat.episode = INT64_MAX;
        ev.data.heartbeat.interval_ms = TE_HEARTBEAT_MAX_MS;
    } else {
        memset(ev.data.error.message, 'm', TE_MAX_TEXT_LEN);
        strcpy(ev.data.error.details, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \"q\" \\ \n\t\x01");
    }
    return ev;
}

Test(te_msgpack, round_trips_every_event)
{
    for (int t = 0; t < TE_EVENT_TYPE_COUNT; t++) {
        struct te_event in = edge_event((enum te_event_type)t), out;
        static char buf[TE_MAX_FRAME_BYTES];
        struct te_error err;
        int len = te_event_encode(&in, buf, sizeof buf, &err);
        cr_assert_gt(len, 0, "%s: %s", te_event_name(in.type), err.msg);
        cr_assert_eq(te_event_decode(buf, (size_t)len, &out, &err), 0, "%s", err.msg);
        cr_expect(te_event_equal(&in, &out), "%s changed in a round trip", te_event_name(in.type));
        cr_expect_eq(
            te_frames_decode(in.scenario, strlen(in.scenario), buf, (size_t)len, &out, &err), 0);
    }
}

Test(te_msgpack, round_trip_keeps_values)
{
    struct te_event in = edge_event(TE_TRAINING_PROGRESS), out;
    char buf[512];
    int len = te_event_encode(&in, buf, sizeof buf, NULL);
    cr_assert_gt(len, 0);
    cr_assert_eq(te_event_decode(buf, (size_t)len, &out, NULL), 0);
    cr_expect_eq(out.seq, TE_MAX_SEQ);
    cr_expect_eq(out.ts_us, 1714564800123456);
    cr_expect_str_eq(out.trainer, "gpu-node-07-12345");
    cr_expect_eq(out.data.progress.total_episodes, 1000);
    cr_expect_eq(out.data.progress.avg_reward, 150.5);
    cr_expect(signbit(out.data.progress.avg_cash));
    cr_expect_eq(out.data.progress.stability, 5e-324);
    cr_expect_eq(out.data.progress.goal_adherence, 1.0 / 3);
}

/* The canonical bytes, as shown in proto/EVENTS.md. */
Test(te_msgpack, encodes_canonical_bytes)
{
    static const char want[] = "\x87"
                               "\xa1v\x01"
                               "\xa5"
                               "event\xb0training_stopped"
                               "\xa8scenario\xa5"
                               "alpha"
                               "\xa7trainer\xa6host-1"
                               "\xa3seq\x2a"
                               "\xa2ts\xcf\x00\x06\x17\x63\x39\xd9\x30\x00"
                               "\xa4"
                               "data\x82"
                               "\xad"
                               "scenario_name\xa5"
                               "alpha"
                               "\xb2"
                               "episodes_completed\x07";
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = 1;
    ev.type = TE_TRAINING_STOPPED;
    strcpy(ev.scenario, "alpha");
    strcpy(ev.trainer, "host-1");
    ev.seq = 42;
    ev.ts_us = 1714564800000000;
    strcpy(ev.data.stopped.scenario_name, "alpha");
    ev.data.stopped.episodes_completed = 7;
    char buf[256];
    int len = te_event_encode(&ev, buf, sizeof buf, NULL);
    cr_assert_eq(len, (int)sizeof want - 1);
    cr_expect_arr_eq(buf, want, sizeof want - 1);
}

/* The heartbeat example of proto/EVENTS.md: a v2 message. */
Test(te_msgpack, encodes_canonical_heartbeat)
{
    static const char want[] = "\x87"
                               "\xa1v\x02"
                               "\xa5"
                               "event\xa9heartbeat"
                               "\xa8scenario\xa5"
                               "alpha"
                               "\xa7trainer\xa6host-1"
                               "\xa3seq\x2b"
                               "\xa2ts\xcf\x00\x06\x17\x63\x3a\x71\xc6\x80"
                               "\xa4"
                               "data\x83"
                               "\xad"
                               "scenario_name\xa5"
                               "alpha"
                               "\xa7"
                               "episode\x07"
                               "\xab"
                               "interval_ms\xcd\x13\x88";
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = 2;
    ev.type = TE_HEARTBEAT;
    strcpy(ev.scenario, "alpha");
    strcpy(ev.trainer, "host-1");
    ev.seq = 43;
    ev.ts_us = 1714564810000000;
    strcpy(ev.data.heartbeat.scenario_name, "alpha");
    ev.data.heartbeat.episode = 7;
    ev.data.heartbeat.interval_ms = 5000;
    char buf[256];
    int len = te_event_encode(&ev, buf, sizeof buf, NULL);
    cr_assert_eq(len, (int)sizeof want - 1);
    cr_expect_arr_eq(buf, want, sizeof want - 1);
    ev.version = 1;
    struct te_error err;
    cr_expect_eq(te_event_encode(&ev, buf, sizeof buf, &err), -EINVAL);
    cr_expect_eq(err.code, TE_E_UNKNOWN_EVENT);
}

Test(te_msgpack, encode_reports_small_buffers)
{
    struct te_event ev = edge_event(TE_TRAINING_COMPLETED);
    char buf[512];
    int len = te_event_encode(&ev, buf, sizeof buf, NULL);
    cr_assert_gt(len, 0);
    for (size_t cap = 0; cap < (size_t)len; cap++) {
        struct te_error err;
        cr_expect_eq(te_event_encode(&ev, buf, cap, &err), -EMSGSIZE, "cap %zu", cap);
        cr_expect_eq(err.code, TE_E_OVERSIZE);
    }
    cr_expect_eq(te_event_encode(&ev, buf, (size_t)len, NULL), len);
}

Test(te_msgpack, encode_refuses_invalid_events)
{
    struct te_event ev = edge_event(TE_TRAINING_STARTED);
    char buf[512];
    struct te_error err;
    strcpy(ev.data.started.scenario_name, "other");
    cr_expect_eq(te_event_encode(&ev, buf, sizeof buf, &err), -EINVAL);
    cr_expect_eq(err.code, TE_E_MISMATCH);
    cr_expect_str_eq(err.field, "data.scenario_name");
    ev = edge_event(TE_TRAINING_PROGRESS);
    ev.data.progress.avg_duration = NAN;
    cr_expect_eq(te_event_encode(&ev, buf, sizeof buf, NULL), -EINVAL);
    ev = edge_event(TE_TRAINING_PROGRESS);
    ev.seq = 0;
    cr_expect_eq(te_event_encode(&ev, buf, sizeof buf, NULL), -EINVAL);
}

Test(te_msgpack, decode_reports_through_null_error)
{
    struct te_event ev;
    cr_expect_eq(te_event_decode("\xc1", 1, &ev, NULL), -EPROTO);
    cr_expect_eq(te_frames_decode("a", 1, "\xc1", 1, &ev, NULL), -EPROTO);
}

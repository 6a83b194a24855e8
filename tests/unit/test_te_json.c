/* Unit tests for te_json.c: the exact JSON text of each event, string
 * escapes, and shortest round-trip floats that always read as floats. */
#include "te_internal.h"
#include "sample_event.h"
#include "trainevents.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof a / sizeof a[0])

/* ------------------------------------------------------------ doubles */

struct double_case {
    double v;
    char want[32];
};

ParameterizedTestParameters(te_json, doubles)
{
    static struct double_case cases[] = {
        {150.5, "150.5"},
        {0.1, "0.1"},
        {1e300, "1e+300"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {5e-324, "5e-324"},
        {150.0, "150.0"},
        {100.0, "100.0"},
        {1e21, "1e+21"},
        {-1.5, "-1.5"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {9007199254740992.0, "9007199254740992.0"},
        {123456789012345680.0, "1.2345678901234568e+17"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {0.3, "0.3"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.0 / 3, "0.3333333333333333"},
        {2.0 / 3, "0.6666666666666666"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {-123.456e-10, "-1.23456e-08"},
        {42.0, "42.0"},
        {999999999999999.9, "999999999999999.9"},
    };
    return cr_make_param_array(struct double_case, cases, N_OF(cases));
}

ParameterizedTest(struct double_case *c, te_json, doubles)
{
    char buf[32];
    int len = te_json_double(c->v, buf);
    cr_expect_str_eq(buf, c->want);
    cr_expect_eq(len, (int)strlen(c->want));
    double back = strtod(buf, NULL);
    cr_expect(back == c->v && signbit(back) == signbit(c->v), "%s does not read back", buf);
}

/* Text that a JSON reader takes for a float: digits with '.' or 'e'. */
static bool looks_like_json_float(const char *s)
{
    const char *p = s + (*s == '-');
    if (*p < '0' || *p > '9')
        return false;
    if (strspn(p, "0123456789.e+-") != strlen(p))
        return false;
    return strchr(p, '.') || strchr(p, 'e');
}

Test(te_json, doubles_round_trip_over_random_bit_patterns)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    int n_checked = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        char buf[32];
        int len = te_json_double(v, buf);
        cr_assert(len > 0 && len < 32 && (size_t)len == strlen(buf));
        double back = strtod(buf, NULL);
        cr_assert(memcmp(&back, &v, sizeof v) == 0, "%s != %a", buf, v);
        cr_assert(looks_like_json_float(buf), "%s", buf);
        n_checked++;
    }
    cr_expect_gt(n_checked, 190000);
}

Test(te_json, third_reads_back_exactly)
{
    char buf[32];
    double third = 1.0 / 3;
    te_json_double(third, buf);
    cr_expect_eq(strtod(buf, NULL), third);
    /* and no shorter text would: one digit less reads back differently */
    buf[strlen(buf) - 1] = '\0';
    cr_expect_neq(strtod(buf, NULL), third);
}

Test(te_json, doubles_ignore_the_process_locale)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *got = NULL;
    for (size_t i = 0; i < N_OF(names) && !got; i++)
        got = setlocale(LC_ALL, names[i]);
    if (!got)
        cr_skip_test("no locale with a decimal comma is installed");
    char buf[32];
    te_json_double(150.5, buf);
    setlocale(LC_ALL, "C");
    cr_expect_str_eq(buf, "150.5");
}

/* ------------------------------------------------------------ events */

/* The envelope of a sample event with an empty payload: each test writes
 * the payload whose JSON it checks. */
static struct te_event base(enum te_event_type type, uint64_t seq)
{
    struct te_event ev = sample_event(type, "alpha", "host-1", seq);
    memset(&ev.data, 0, sizeof ev.data);
    return ev;
}

/* Renders ev and checks it validates and matches want exactly. */
static void expect_json(const struct te_event *ev, const char *want)
{
    static char buf[TE_MAX_JSON_BYTES];
    struct te_error err;
    cr_assert_eq(te_event_validate(ev, &err), 0, "%s", err.msg);
    int len = te_event_to_json(ev, buf, sizeof buf);
    cr_assert_gt(len, 0);
    cr_expect_str_eq(buf, want);
    cr_expect_eq((size_t)len, strlen(want));
}

Test(te_json, writes_training_started)
{
    struct te_event ev = base(TE_TRAINING_STARTED, 1);
    strcpy(ev.data.started.scenario_name, "alpha");
    ev.data.started.num_episodes = 100;
    strcpy(ev.data.started.start_time, "2024-05-01T12:00:00.250000+02:00");
    expect_json(&ev, "[\"training_started\",{\"scenario_name\":\"alpha\",\"num_episodes\":100,"
                     "\"start_time\":\"2024-05-01T12:00:00.250000+02:00\"},"
                     "{\"scenario_name\":\"alpha\",\"trainer\":\"host-1\",\"seq\":1,"
                     "\"ts\":1714564800000000}]");
}

Test(te_json, writes_training_progress)
{
    struct te_event ev = base(TE_TRAINING_PROGRESS, 2);
    ev.data.progress = (struct te_progress){3, 100, 150.5, 0.1, 150.0, 1e300, -0.0, 5e-324, 12.25};
    expect_json(&ev, "[\"training_progress\",{\"episode\":3,\"total_episodes\":100,"
                     "\"avg_reward\":150.5,\"avg_duration\":0.1,\"avg_cash\":150.0,"
                     "\"avg_invested\":1e+300,\"stability\":-0.0,\"goal_adherence\":5e-324,"
                     "\"elapsed_time\":12.25},"
                     "{\"scenario_name\":\"alpha\",\"trainer\":\"host-1\",\"seq\":2,"
                     "\"ts\":1714564800000000}]");
}

Test(te_json, writes_training_completed)
{
    struct te_event ev = base(TE_TRAINING_COMPLETED, 9007199254740991u);
    strcpy(ev.data.completed.scenario_name, "alpha");
    ev.data.completed.episodes_completed = 100;
    ev.data.completed.final_metrics = (struct te_final_metrics){1e21, 100.0, 0.95};
    expect_json(&ev, "[\"training_completed\",{\"scenario_name\":\"alpha\","
                     "\"episodes_completed\":100,\"final_metrics\":{\"avg_reward\":1e+21,"
                     "\"avg_duration\":100.0,\"stability\":0.95}},"
                     "{\"scenario_name\":\"alpha\",\"trainer\":\"host-1\","
                     "\"seq\":9007199254740991,\"ts\":1714564800000000}]");
}

Test(te_json, writes_training_stopped)
{
    struct te_event ev = base(TE_TRAINING_STOPPED, 4);
    strcpy(ev.data.stopped.scenario_name, "alpha");
    ev.data.stopped.episodes_completed = 50;
    ev.ts_us = 0;
    expect_json(&ev, "[\"training_stopped\",{\"scenario_name\":\"alpha\","
                     "\"episodes_completed\":50},"
                     "{\"scenario_name\":\"alpha\",\"trainer\":\"host-1\",\"seq\":4,\"ts\":0}]");
}

/* Heartbeats are never forwarded to clients, but trainsub prints them. */
Test(te_json, writes_heartbeat)
{
    struct te_event ev = base(TE_HEARTBEAT, 6);
    strcpy(ev.data.heartbeat.scenario_name, "alpha");
    ev.data.heartbeat.episode = 12;
    ev.data.heartbeat.interval_ms = 5000;
    expect_json(&ev, "[\"heartbeat\",{\"scenario_name\":\"alpha\",\"episode\":12,"
                     "\"interval_ms\":5000},"
                     "{\"scenario_name\":\"alpha\",\"trainer\":\"host-1\",\"seq\":6,"
                     "\"ts\":1714564800000000}]");
}

Test(te_json, writes_training_error_with_escapes)
{
    struct te_event ev = base(TE_TRAINING_ERROR, 5);
    strcpy(ev.data.error.message, "CUDA \"out\" of memory \\ 100%");
    strcpy(ev.data.error.details,
           "a\bb\fc\nd\re\tf\x01g\x1fh\x7fi caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
    expect_json(&ev, "[\"training_error\",{\"message\":\"CUDA \\\"out\\\" of memory \\\\ 100%\","
                     "\"details\":\"a\\bb\\fc\\nd\\re\\tf\\u0001g\\u001fh\x7fi caf\xc3\xa9 "
                     "\xe6\x97\xa5\xe6\x9c\xac\"},"
                     "{\"scenario_name\":\"alpha\",\"trainer\":\"host-1\",\"seq\":5,"
                     "\"ts\":1714564800000000}]");
}

Test(te_json, worst_case_fits_the_limit)
{
    struct te_event ev = base(TE_TRAINING_ERROR, TE_MAX_SEQ);
    memset(ev.scenario, 'a', TE_MAX_NAME_LEN);
    memset(ev.trainer, 'b', TE_MAX_NAME_LEN);
    ev.ts_us = (int64_t)TE_MAX_SEQ;
    memset(ev.data.error.message, 0x01, TE_MAX_TEXT_LEN);
    memset(ev.data.error.details, 0x1f, TE_MAX_TEXT_LEN);
    cr_assert_eq(te_event_validate(&ev, NULL), 0);
    static char buf[TE_MAX_JSON_BYTES];
    int len = te_event_to_json(&ev, buf, sizeof buf);
    cr_assert_gt(len, 2 * 6 * TE_MAX_TEXT_LEN);
    cr_expect_lt(len, TE_MAX_JSON_BYTES);
}

Test(te_json, reports_small_buffers)
{
    struct te_event ev = base(TE_TRAINING_STOPPED, 4);
    strcpy(ev.data.stopped.scenario_name, "alpha");
    char full[256];
    int len = te_event_to_json(&ev, full, sizeof full);
    cr_assert_gt(len, 0);
    for (size_t cap = 0; cap <= (size_t)len; cap++) {
        char buf[256];
        memset(buf, 'z', sizeof buf);
        cr_expect_eq(te_event_to_json(&ev, buf, cap), -EMSGSIZE, "cap %zu", cap);
        if (cap > 0)
            cr_expect_eq(buf[0], '\0');
    }
    char exact[256];
    cr_expect_eq(te_event_to_json(&ev, exact, (size_t)len + 1), len);
    cr_expect_str_eq(exact, full);
}

Test(te_json, refuses_an_out_of_range_type)
{
    struct te_event ev = base(TE_EVENT_TYPE_COUNT, 1);
    char buf[64];
    cr_expect_eq(te_event_to_json(&ev, buf, sizeof buf), -EINVAL);
}

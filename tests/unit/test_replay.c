/* replay: what a late joiner is sent, per history mode, from a real run
 * store; training_history's JSON; each stored event's replay shape encoded
 * once whatever the number of clients. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "replay.h"
#include "sample_event.h"

static struct runs *store;

static void setup(void)
{
    struct runs_limits lim = {.max_points = 20,
                              .max_finished_per_scenario = 10,
                              .ttl_us = INT64_MAX,
                              .max_bytes = 1 << 30};
    store = runs_new_memory(&lim);
}

static void teardown(void)
{
    runs_destroy(&store);
}

TestSuite(replay, .init = setup, .fini = teardown);

static void record(enum te_event_type type, const char *scenario, const char *trainer, uint64_t seq,
                   int64_t episode)
{
    struct te_event ev = type == TE_TRAINING_PROGRESS
                             ? sample_progress(scenario, trainer, seq, episode)
                             : sample_event(type, scenario, trainer, seq);
    if (type == TE_TRAINING_COMPLETED)
        ev.data.completed.episodes_completed = episode;
    struct packet *pkt = codec_event_packet(&ev);
    runs_record(store, &ev, pkt, 1);
    packet_unref(&pkt);
}

/* A finished run of 100 episodes on "a"/t1 and a running one on "b"/t2. */
static void two_runs(void)
{
    record(TE_TRAINING_STARTED, "a", "t1", 1, 0);
    for (int64_t e = 1; e <= 100; e++)
        record(TE_TRAINING_PROGRESS, "a", "t1", (uint64_t)e + 1, e);
    record(TE_TRAINING_COMPLETED, "a", "t1", 102, 100);
    record(TE_TRAINING_STARTED, "b", "t2", 1, 0);
    record(TE_TRAINING_PROGRESS, "b", "t2", 2, 7);
}

#define MAX_SENT 256

struct sent {
    struct packet *p[MAX_SENT];
    size_t n;
};

static void keep(struct packet *p, void *arg)
{
    struct sent *s = arg;
    cr_assert_lt(s->n, MAX_SENT);
    s->p[s->n++] = p;
}

/* The i-th packet as JSON (without "42"). Caller decrefs. */
static json_t *json_of(const struct sent *s, size_t i)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)packet_data(s->p[i]) + 2, s->p[i]->len - 2, 0, &err);
    cr_assert_not_null(j, "packet %zu: %s", i, err.text);
    return j;
}

static const char *event_name(json_t *j)
{
    return json_string_value(json_array_get(j, 0));
}

Test(replay, curve_sends_started_the_curve_and_the_end_marked_replay)
{
    two_runs();
    struct sent s = {.n = 0};
    struct replay_count c = replay_send(store, "a", REPLAY_CURVE, NULL, keep, &s);
    cr_assert_eq(c.n_runs, 1);
    cr_assert_eq(c.n_events, s.n);
    cr_assert_leq(s.n, 22);
    int64_t last_episode = 0;
    for (size_t i = 0; i < s.n; i++) {
        json_t *j = json_of(&s, i);
        cr_assert(s.p[i]->is_replay);
        cr_assert(json_is_true(json_object_get(json_array_get(j, 2), "replay")));
        const char *name = event_name(j);
        if (i == 0)
            cr_assert_str_eq(name, "training_started");
        else if (i == s.n - 1)
            cr_assert_str_eq(name, "training_completed");
        else {
            cr_assert_str_eq(name, "training_progress");
            int64_t e = json_integer_value(json_object_get(json_array_get(j, 1), "episode"));
            cr_assert_gt(e, last_episode);
            last_episode = e;
        }
        json_decref(j);
    }
    cr_assert_eq(last_episode, 100, "ends with the exact latest");
}

Test(replay, latest_sends_started_latest_and_end)
{
    two_runs();
    struct sent s = {.n = 0};
    struct replay_count c = replay_send(store, "*", REPLAY_LATEST, NULL, keep, &s);
    cr_assert_eq(c.n_runs, 2);
    cr_assert_eq(s.n, 5);
    const char *want[] = {"training_started", "training_progress", "training_completed",
                          "training_started", "training_progress"};
    for (size_t i = 0; i < s.n; i++) {
        json_t *j = json_of(&s, i);
        cr_assert_str_eq(event_name(j), want[i]);
        json_decref(j);
    }
}

Test(replay, none_sends_nothing)
{
    two_runs();
    struct sent s = {.n = 0};
    struct replay_count c = replay_send(store, "*", REPLAY_NONE, NULL, keep, &s);
    cr_assert_eq(c.n_runs + c.n_events + s.n, 0);
}

static bool skip_a(const char *scenario, void *arg)
{
    (void)arg;
    return strcmp(scenario, "a") == 0;
}

Test(replay, skips_scenarios_the_client_already_gets)
{
    two_runs();
    struct sent s = {.n = 0};
    struct replay_count c = replay_send(store, "*", REPLAY_LATEST, skip_a, keep, &s);
    cr_assert_eq(c.n_runs, 1);
    cr_assert_eq(s.n, 2);
}

Test(replay, each_stored_event_is_encoded_once_for_every_client)
{
    two_runs();
    struct sent one = {.n = 0}, two = {.n = 0};
    replay_send(store, "*", REPLAY_CURVE, NULL, keep, &one);
    replay_send(store, "*", REPLAY_CURVE, NULL, keep, &two);
    cr_assert_eq(one.n, two.n);
    for (size_t i = 0; i < one.n; i++)
        cr_assert_eq(one.p[i], two.p[i], "packet %zu encoded again", i);
    struct sent c1 = {.n = 0}, c2 = {.n = 0};
    replay_send(store, "a", REPLAY_COMPACT, NULL, keep, &c1);
    replay_send(store, "a", REPLAY_COMPACT, NULL, keep, &c2);
    cr_assert_eq(c1.p[0], c2.p[0], "training_history cached until the run changes");
}

Test(replay, compact_is_one_training_history_per_run)
{
    two_runs();
    struct sent s = {.n = 0};
    struct replay_count c = replay_send(store, "*", REPLAY_COMPACT, NULL, keep, &s);
    cr_assert_eq(c.n_runs, 2);
    cr_assert_eq(s.n, 2);
    json_t *j = json_of(&s, 0);
    cr_assert_str_eq(event_name(j), "training_history");
    json_t *h = json_array_get(j, 1);
    cr_assert_str_eq(json_string_value(json_object_get(h, "scenario_name")), "a");
    cr_assert_str_eq(json_string_value(json_object_get(h, "trainer")), "t1");
    cr_assert_str_eq(json_string_value(json_object_get(h, "state")), "completed");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(h, "started"), "num_episodes")),
                 1000);
    json_t *cols = json_object_get(h, "columns");
    cr_assert_eq(json_array_size(cols), 9);
    cr_assert_str_eq(json_string_value(json_array_get(cols, 2)), "avg_reward");
    json_t *points = json_object_get(h, "points");
    cr_assert_leq(json_array_size(points), 20);
    json_t *last = json_array_get(points, json_array_size(points) - 1);
    cr_assert_eq(json_array_size(last), 9);
    cr_assert_eq(json_integer_value(json_array_get(last, 0)), 100);
    cr_assert_eq(json_real_value(json_array_get(last, 6)), 150.5);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(h, "latest"), "episode")), 100);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(h, "terminal"), "episodes_completed")),
        100);
    cr_assert(json_is_true(json_object_get(json_array_get(j, 2), "replay")));
    json_decref(j);
    j = json_of(&s, 1);
    h = json_array_get(j, 1);
    cr_assert_str_eq(json_string_value(json_object_get(h, "state")), "running");
    cr_assert(json_is_null(json_object_get(h, "terminal")));
    json_decref(j);
    /* the exact text of short floats: 0.1 * 7 stays shortest */
    cr_assert_not_null(strstr((const char *)packet_data(s.p[1]), ",0.7000000000000001,"));
}

struct mode_case {
    char json[32];
    int rc;
    enum replay_mode mode;
};

ParameterizedTestParameters(replay, parses_history_modes)
{
    static struct mode_case cases[] = {
        {"\"curve\"", 0, REPLAY_CURVE}, {"\"latest\"", 0, REPLAY_LATEST},
        {"\"none\"", 0, REPLAY_NONE},   {"\"compact\"", 0, REPLAY_COMPACT},
        {"\"Curve\"", -EINVAL, 0},      {"\"curve\\u0000x\"", -EINVAL, 0},
        {"\"\"", -EINVAL, 0},           {"1", -EINVAL, 0},
        {"null", -EINVAL, 0},           {"[\"curve\"]", -EINVAL, 0},
        {"{\"curve\":1}", -EINVAL, 0},  {"\"latest \"", -EINVAL, 0},
    };
    return cr_make_param_array(struct mode_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct mode_case *c, replay, parses_history_modes)
{
    json_error_t err;
    json_t *j = json_loads(c->json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    cr_assert_not_null(j, "%s: %s", c->json, err.text);
    enum replay_mode mode = REPLAY_NONE;
    cr_assert_eq(replay_mode_parse(j, &mode), c->rc, "%s", c->json);
    if (c->rc == 0)
        cr_assert_eq(mode, c->mode);
    json_decref(j);
}

Test(replay, absent_history_means_curve)
{
    enum replay_mode mode = REPLAY_NONE;
    cr_assert_eq(replay_mode_parse(NULL, &mode), 0);
    cr_assert_eq(mode, REPLAY_CURVE);
}

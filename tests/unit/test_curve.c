/* curve: the bounded learning curve (bounds, kept points, order,
 * determinism, episodes going backwards, shared packets), with a random
 * model test against the full event list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "curve.h"

#define MAX_SEEN 4096

struct seen {
    int64_t episodes[MAX_SEEN];
    double rewards[MAX_SEEN];
    size_t n;
};

static void collect(struct curve_point *pt, void *arg)
{
    struct seen *s = arg;
    cr_assert_lt(s->n, MAX_SEEN);
    s->episodes[s->n] = pt->p.episode;
    s->rewards[s->n] = pt->p.avg_reward;
    s->n++;
}

static struct packet *progress_packet(int64_t episode)
{
    char text[128];
    int n = snprintf(text, sizeof text,
                     "42[\"training_progress\",{\"episode\":%lld},{\"scenario_name\":\"a\"}]",
                     (long long)episode);
    return packet_from_text(text, (size_t)n);
}

static void add(struct curve *c, int64_t episode, double reward)
{
    struct te_progress p = {.episode = episode, .total_episodes = 1000000, .avg_reward = reward};
    struct packet *pkt = progress_packet(episode);
    curve_add(c, &p, pkt);
    packet_unref(&pkt);
}

/* A deterministic pseudo-random sequence (xorshift64*). */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ULL;
}

static double reward_at(uint64_t *state)
{
    return (double)(next_random(state) % 100000) / 100.0 - 500.0;
}

static void assert_strictly_increasing(const struct seen *s)
{
    for (size_t i = 1; i < s->n; i++)
        cr_assert_gt(s->episodes[i], s->episodes[i - 1], "points out of order at %zu", i);
}

static bool has_reward(const struct seen *s, double r)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->rewards[i] == r)
            return true;
    return false;
}

Test(curve, stays_bounded_for_a_million_episodes)
{
    struct curve *c = curve_new(500);
    uint64_t rng = 42;
    size_t most = 0;
    for (int64_t e = 1; e <= 1000000; e++) {
        add(c, e, reward_at(&rng));
        size_t n = curve_n_points(c);
        cr_assert_leq(n, 500, "%zu points after episode %lld", n, (long long)e);
        most = n > most ? n : most;
    }
    struct seen s = {.n = 0};
    curve_each(c, collect, &s);
    cr_assert_eq(s.n, curve_n_points(c));
    cr_assert_gt(most, 250, "the bound is used, not wasted (%zu)", most);
    cr_assert_eq(s.episodes[0], 1);
    cr_assert_eq(s.episodes[s.n - 1], 1000000);
    assert_strictly_increasing(&s);
    curve_destroy(&c);
    cr_assert_null(c);
}

Test(curve, keeps_first_latest_and_the_extremes)
{
    struct curve *c = curve_new(50);
    uint64_t rng = 7;
    double lowest = 1e9, highest = -1e9;
    for (int64_t e = 0; e < 20000; e++) {
        double r = reward_at(&rng);
        if (e == 12345)
            r = 9999.5; /* a spike */
        if (e == 777)
            r = -9999.25; /* a dip */
        lowest = r < lowest ? r : lowest;
        highest = r > highest ? r : highest;
        add(c, e, r);
    }
    struct seen s = {.n = 0};
    curve_each(c, collect, &s);
    cr_assert_leq(s.n, 50);
    cr_assert_eq(s.episodes[0], 0);
    cr_assert_eq(s.episodes[s.n - 1], 19999);
    cr_assert_eq(curve_latest(c)->p.episode, 19999);
    cr_assert(has_reward(&s, highest));
    cr_assert(has_reward(&s, lowest));
    cr_assert(has_reward(&s, 9999.5));
    cr_assert(has_reward(&s, -9999.25));
    curve_destroy(&c);
}

Test(curve, is_deterministic)
{
    struct curve *a = curve_new(64), *b = curve_new(64);
    uint64_t ra = 99, rb = 99;
    for (int64_t e = 0; e < 50000; e += 1 + (e % 7)) {
        add(a, e, reward_at(&ra));
        add(b, e, reward_at(&rb));
    }
    struct seen sa = {.n = 0}, sb = {.n = 0};
    curve_each(a, collect, &sa);
    curve_each(b, collect, &sb);
    cr_assert_eq(sa.n, sb.n);
    cr_assert_eq(memcmp(sa.episodes, sb.episodes, sa.n * sizeof sa.episodes[0]), 0);
    cr_assert_eq(memcmp(sa.rewards, sb.rewards, sa.n * sizeof sa.rewards[0]), 0);
    curve_destroy(&a);
    curve_destroy(&b);
}

Test(curve, episode_going_back_drops_points_at_and_after_it)
{
    struct curve *c = curve_new(100);
    for (int64_t e = 0; e < 1000; e++)
        add(c, e, (double)e);
    add(c, 500, -1.0);
    struct seen s = {.n = 0};
    curve_each(c, collect, &s);
    assert_strictly_increasing(&s);
    cr_assert_eq(s.episodes[s.n - 1], 500);
    cr_assert_eq(s.rewards[s.n - 1], -1.0);
    for (size_t i = 0; i + 1 < s.n; i++)
        cr_assert_lt(s.episodes[i], 500);
    cr_assert_eq(s.episodes[0], 0);
    add(c, 501, 3.0);
    cr_assert_eq(curve_latest(c)->p.episode, 501);
    curve_destroy(&c);
}

Test(curve, a_repeated_episode_replaces_the_previous_one)
{
    struct curve *c = curve_new(10);
    add(c, 1, 1.0);
    add(c, 2, 2.0);
    add(c, 2, 5.0);
    struct seen s = {.n = 0};
    curve_each(c, collect, &s);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.episodes[1], 2);
    cr_assert_eq(s.rewards[1], 5.0);
    curve_destroy(&c);
}

Test(curve, going_back_before_the_first_starts_over)
{
    struct curve *c = curve_new(10);
    for (int64_t e = 10; e < 100; e++)
        add(c, e, 1.0);
    add(c, 3, 2.0);
    struct seen s = {.n = 0};
    curve_each(c, collect, &s);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.episodes[0], 3);
    cr_assert_eq(curve_n_points(c), 1);
    curve_destroy(&c);
}

Test(curve, huge_jumps_and_negative_episodes_stay_bounded)
{
    struct curve *c = curve_new(8);
    add(c, -5, 1.0);
    for (int64_t e = 0; e < 60; e++)
        add(c, (INT64_C(1) << e) - 1, (double)(e % 5));
    add(c, INT64_MAX, 0.5);
    cr_assert_leq(curve_n_points(c), 8);
    struct seen s = {.n = 0};
    curve_each(c, collect, &s);
    assert_strictly_increasing(&s);
    cr_assert_eq(s.episodes[0], -5);
    cr_assert_eq(s.episodes[s.n - 1], INT64_MAX);
    curve_destroy(&c);
}

Test(curve, stores_references_to_the_shared_packets)
{
    struct curve *c = curve_new(10);
    struct packet *pkt = progress_packet(1);
    struct te_progress p = {.episode = 1, .avg_reward = 1.0};
    curve_add(c, &p, pkt);
    cr_assert_eq(pkt->refs, 2);
    struct curve_point *latest = curve_latest(c);
    cr_assert_eq(codec_event_get(&latest->ev, CODEC_SHAPE_LIVE), pkt);
    struct packet *replay = codec_event_get(&latest->ev, CODEC_SHAPE_REPLAY);
    cr_assert_not_null(replay);
    cr_assert_eq(codec_event_get(&latest->ev, CODEC_SHAPE_REPLAY), replay, "encoded once");
    cr_assert(replay->is_replay);
    curve_destroy(&c);
    cr_assert_eq(pkt->refs, 1);
    packet_unref(&pkt);
}

Test(curve, thin_halves_the_bound)
{
    struct curve *c = curve_new(200);
    for (int64_t e = 0; e < 10000; e++)
        add(c, e, (double)(e % 13));
    size_t before = curve_n_points(c);
    size_t freed = curve_thin(c);
    cr_assert_leq(curve_n_points(c), 100);
    cr_assert_lt(curve_n_points(c), before);
    cr_assert_gt(freed, 0);
    cr_assert_eq(curve_latest(c)->p.episode, 9999);
    curve_destroy(&c);
}

/* ------------------------------------------------------------ model test */

struct model {
    int64_t episodes[MAX_SEEN];
    double rewards[MAX_SEEN];
    size_t n;
};

static void model_add(struct model *m, int64_t e, double r)
{
    while (m->n > 0 && m->episodes[m->n - 1] >= e)
        m->n--;
    m->episodes[m->n] = e;
    m->rewards[m->n] = r;
    m->n++;
}

/* Every stored point is one of the model's current events. */
static void assert_subset(const struct seen *s, const struct model *m)
{
    size_t j = 0;
    for (size_t i = 0; i < s->n; i++) {
        while (j < m->n && m->episodes[j] != s->episodes[i])
            j++;
        cr_assert_lt(j, m->n, "point %lld is not a current event", (long long)s->episodes[i]);
        cr_assert_eq(m->rewards[j], s->rewards[i]);
    }
}

static void check_against_model(struct curve *c, const struct model *m, size_t k)
{
    struct seen s = {.n = 0};
    curve_each(c, collect, &s);
    cr_assert_eq(s.n, curve_n_points(c));
    cr_assert_leq(s.n, k);
    assert_strictly_increasing(&s);
    assert_subset(&s, m);
    cr_assert_eq(s.episodes[0], m->episodes[0], "first kept");
    cr_assert_eq(s.episodes[s.n - 1], m->episodes[m->n - 1], "latest kept");
    cr_assert_eq(s.rewards[s.n - 1], m->rewards[m->n - 1]);
}

Test(curve, random_streams_match_the_model)
{
    uint64_t rng = 2026;
    for (int round = 0; round < 40; round++) {
        size_t k = CURVE_MIN_POINTS + next_random(&rng) % 40;
        struct curve *c = curve_new(k);
        struct model m = {.n = 0};
        int64_t e = 0;
        for (int i = 0; i < 2000; i++) {
            uint64_t op = next_random(&rng) % 100;
            if (op < 80)
                e += 1;
            else if (op < 90)
                e += (int64_t)(next_random(&rng) % 50);
            else if (op < 97)
                e -= (int64_t)(next_random(&rng) % 30); /* backwards or repeated */
            else
                e = (int64_t)(next_random(&rng) % 5);
            double r = (double)(next_random(&rng) % 1000) / 4.0;
            add(c, e, r);
            model_add(&m, e, r);
            check_against_model(c, &m, k);
        }
        curve_destroy(&c);
    }
}

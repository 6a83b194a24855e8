/* fuzz_runs: random trainer event streams into the run store. The input
 * bytes drive a generator: 4 bytes of limits, then 4 bytes per event (kind,
 * which scenario/trainer, episode step, reward and clock/seq flags), so
 * episodes jump, repeat and go backwards, seqs restart, runs supersede and
 * finish, the clock runs past the TTL and the byte cap bites. After every
 * event the store must hold its invariants; aborts otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs.h"

#define N_SCENARIOS 3
#define N_TRAINERS 4
#define SEC INT64_C(1000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trainer {
    uint64_t seq;
    int64_t episode;
};

struct check {
    size_t max_points;
    size_t n_runs;
    size_t n_finished[N_SCENARIOS];
    int64_t last_episode;
    bool is_sorted;
};

static void check_point(struct curve_point *pt, void *arg)
{
    struct check *c = arg;
    if (c->n_runs && pt->p.episode <= c->last_episode)
        c->is_sorted = false;
    c->last_episode = pt->p.episode;
    if (!codec_event_get(&pt->ev, CODEC_SHAPE_REPLAY))
        abort();
}

static void check_run(const struct run_view *run, void *arg)
{
    struct check *c = arg;
    if (curve_n_points(run->curve) > c->max_points)
        abort();
    c->last_episode = INT64_MIN;
    curve_each(run->curve, check_point, c);
    if (!c->is_sorted)
        abort();
    struct curve_point *latest = curve_latest(run->curve);
    if (latest && latest->p.episode != c->last_episode)
        abort();
    if ((run->state == RUN_RUNNING) != (run->ended_us == 0 && !run->terminal) &&
        run->state != RUN_SUPERSEDED)
        abort();
    if (run->state != RUN_RUNNING)
        c->n_finished[run->scenario[1] - '0']++;
    c->n_runs++;
}

static void check_store(struct runs *r, const struct runs_limits *lim)
{
    struct check c = {.max_points = lim->max_points, .is_sorted = true};
    runs_each(r, "*", check_run, &c);
    struct runs_stats s;
    runs_stats(r, &s);
    size_t total = 0;
    for (int i = 0; i < RUN_STATE_COUNT; i++)
        total += s.n_runs[i];
    if (total != c.n_runs)
        abort();
    for (int i = 0; i < N_SCENARIOS; i++)
        if (c.n_finished[i] > lim->max_finished_per_scenario)
            abort();
    if (c.n_runs == 0 && s.bytes != 0)
        abort();
}

static struct te_event make_event(uint8_t kind, int sc, int tr, struct trainer *t,
                                  const uint8_t *arg)
{
    static const enum te_event_type types[8] = {
        TE_TRAINING_STARTED,  TE_TRAINING_PROGRESS,  TE_TRAINING_PROGRESS, TE_TRAINING_PROGRESS,
        TE_TRAINING_PROGRESS, TE_TRAINING_COMPLETED, TE_TRAINING_STOPPED,  TE_TRAINING_ERROR};
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = TE_SCHEMA_VERSION;
    ev.type = types[kind % 8];
    snprintf(ev.scenario, sizeof ev.scenario, "s%d", sc);
    snprintf(ev.trainer, sizeof ev.trainer, "t%d", tr);
    t->seq = (arg[1] & 0x80) ? 1 : t->seq + 1;
    ev.seq = t->seq;
    t->episode += (int8_t)arg[0];
    t->episode = t->episode < 0 ? 0 : t->episode;
    struct te_progress *p = &ev.data.progress;
    switch (ev.type) {
    case TE_TRAINING_STARTED:
        memcpy(ev.data.started.scenario_name, ev.scenario, sizeof ev.scenario);
        snprintf(ev.data.started.start_time, sizeof ev.data.started.start_time, "2026-01-01");
        break;
    case TE_TRAINING_PROGRESS:
        p->episode = t->episode;
        p->avg_reward = (double)(arg[1] & 0x7f) - 60.0;
        break;
    case TE_TRAINING_COMPLETED:
        memcpy(ev.data.completed.scenario_name, ev.scenario, sizeof ev.scenario);
        break;
    case TE_TRAINING_STOPPED:
        memcpy(ev.data.stopped.scenario_name, ev.scenario, sizeof ev.scenario);
        break;
    default:
        break;
    }
    return ev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    struct runs_limits lim = {.max_points = CURVE_MIN_POINTS + data[0] % 32,
                              .max_finished_per_scenario = data[1] % 4,
                              .ttl_us = (1 + data[2] % 16) * SEC,
                              .max_bytes = 2000 + (size_t)data[3] * 500};
    struct runs *r = runs_new_memory(&lim);
    struct trainer trainers[N_SCENARIOS][N_TRAINERS];
    memset(trainers, 0, sizeof trainers);
    int64_t now_us = 1;
    for (size_t i = 4; i + 4 <= size; i += 4) {
        int who = data[i + 1];
        int sc = who % N_SCENARIOS, tr = (who / N_SCENARIOS) % N_TRAINERS;
        struct te_event ev = make_event(data[i], sc, tr, &trainers[sc][tr], data + i + 2);
        struct packet *pkt = codec_event_packet(&ev);
        if (!pkt)
            abort();
        runs_record(r, &ev, pkt, now_us);
        packet_unref(&pkt);
        now_us += (data[i + 3] % 4) * SEC;
        if (data[i + 2] & 1)
            runs_expire(r, now_us);
        check_store(r, &lim);
    }
    runs_destroy(&r);
    return 0;
}

/* runs: the run store (runs by (scenario, trainer), supersede, history
 * bounds by count, TTL and bytes, in that eviction order) and its ops
 * interface. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "runs.h"

#define SEC INT64_C(1000000)

static struct runs *store;
static struct runs_limits limits;

static void setup(void)
{
    limits = (struct runs_limits){.max_points = 50,
                                  .max_finished_per_scenario = 10,
                                  .ttl_us = 3600 * SEC,
                                  .max_bytes = 1 << 30};
    store = runs_new_memory(&limits);
}

static void teardown(void)
{
    runs_destroy(&store);
}

static void reopen(size_t max_finished, int64_t ttl_us, size_t max_bytes)
{
    runs_destroy(&store);
    limits.max_finished_per_scenario = max_finished;
    limits.ttl_us = ttl_us;
    limits.max_bytes = max_bytes;
    store = runs_new_memory(&limits);
}

static struct te_event event(enum te_event_type type, const char *scenario, const char *trainer,
                             uint64_t seq)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = TE_SCHEMA_VERSION;
    ev.type = type;
    snprintf(ev.scenario, sizeof ev.scenario, "%s", scenario);
    snprintf(ev.trainer, sizeof ev.trainer, "%s", trainer);
    ev.seq = seq;
    ev.ts_us = 1700000000000000 + (int64_t)seq;
    switch (type) {
    case TE_TRAINING_STARTED:
        snprintf(ev.data.started.scenario_name, sizeof ev.data.started.scenario_name, "%s",
                 scenario);
        ev.data.started.num_episodes = 100;
        snprintf(ev.data.started.start_time, sizeof ev.data.started.start_time,
                 "2026-01-01T00:00:00Z");
        break;
    case TE_TRAINING_COMPLETED:
        snprintf(ev.data.completed.scenario_name, sizeof ev.data.completed.scenario_name, "%s",
                 scenario);
        break;
    case TE_TRAINING_STOPPED:
        snprintf(ev.data.stopped.scenario_name, sizeof ev.data.stopped.scenario_name, "%s",
                 scenario);
        break;
    case TE_TRAINING_ERROR:
        snprintf(ev.data.error.message, sizeof ev.data.error.message, "boom");
        break;
    default:
        break;
    }
    return ev;
}

/* Records one event through the real codec; returns the run id. */
static uint64_t record(enum te_event_type type, const char *scenario, const char *trainer,
                       uint64_t seq, int64_t episode, int64_t now_us)
{
    struct te_event ev = event(type, scenario, trainer, seq);
    if (type == TE_TRAINING_PROGRESS) {
        ev.data.progress.episode = episode;
        ev.data.progress.total_episodes = 1000;
        ev.data.progress.avg_reward = (double)(episode % 17);
    }
    struct packet *pkt = codec_event_packet(&ev);
    cr_assert_not_null(pkt);
    uint64_t id = runs_record(store, &ev, pkt, now_us);
    packet_unref(&pkt);
    return id;
}

#define MAX_VIEWS 64

struct views {
    struct run_view v[MAX_VIEWS];
    size_t n;
};

static void collect(const struct run_view *run, void *arg)
{
    struct views *vs = arg;
    cr_assert_lt(vs->n, MAX_VIEWS);
    vs->v[vs->n++] = *run;
}

static struct views visit(const char *scenario)
{
    struct views vs = {.n = 0};
    runs_each(store, scenario, collect, &vs);
    return vs;
}

static struct runs_stats stats(void)
{
    struct runs_stats s;
    runs_stats(store, &s);
    return s;
}

TestSuite(runs, .init = setup, .fini = teardown);

Test(runs, a_whole_run_is_kept_with_its_lifecycle_and_curve)
{
    uint64_t id = record(TE_TRAINING_STARTED, "a", "t1", 1, 0, 0);
    for (int64_t e = 1; e <= 200; e++)
        cr_assert_eq(record(TE_TRAINING_PROGRESS, "a", "t1", (uint64_t)e + 1, e, e), id);
    cr_assert_eq(record(TE_TRAINING_COMPLETED, "a", "t1", 202, 0, 300), id);
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 1);
    const struct run_view *r = &vs.v[0];
    cr_assert_eq(r->state, RUN_COMPLETED);
    cr_assert_str_eq(r->scenario, "a");
    cr_assert_str_eq(r->trainer, "t1");
    cr_assert_not_null(r->started);
    cr_assert_not_null(r->terminal);
    cr_assert_eq(r->n_events, 202);
    cr_assert_eq(r->n_progress, 200);
    cr_assert_leq(curve_n_points(r->curve), 50);
    cr_assert_eq(curve_latest(r->curve)->p.episode, 200);
    cr_assert_eq(r->ended_us, 300);
    struct runs_stats s = stats();
    cr_assert_eq(s.n_runs[RUN_COMPLETED], 1);
    cr_assert_eq(s.n_runs[RUN_RUNNING], 0);
    cr_assert_gt(s.bytes, 0);
}

Test(runs, progress_without_a_start_creates_a_running_run)
{
    record(TE_TRAINING_PROGRESS, "a", "t1", 7, 3000, 0);
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].state, RUN_RUNNING);
    cr_assert_null(vs.v[0].started);
    cr_assert_null(vs.v[0].terminal);
    cr_assert_eq(curve_latest(vs.v[0].curve)->p.episode, 3000);
}

Test(runs, a_new_start_supersedes_a_running_run)
{
    uint64_t first = record(TE_TRAINING_STARTED, "a", "t1", 1, 0, 0);
    record(TE_TRAINING_PROGRESS, "a", "t1", 2, 1, 1);
    uint64_t second = record(TE_TRAINING_STARTED, "a", "t1", 3, 0, 2);
    cr_assert_neq(first, second);
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 2);
    cr_assert_eq(vs.v[0].id, first, "oldest first");
    cr_assert_eq(vs.v[0].state, RUN_SUPERSEDED);
    cr_assert_null(vs.v[0].terminal);
    cr_assert_eq(vs.v[1].id, second);
    cr_assert_eq(vs.v[1].state, RUN_RUNNING);
    cr_assert_eq(stats().n_runs[RUN_SUPERSEDED], 1);
}

Test(runs, seq_back_to_one_begins_a_new_run)
{
    uint64_t first = record(TE_TRAINING_PROGRESS, "a", "t1", 5, 10, 0);
    uint64_t second = record(TE_TRAINING_PROGRESS, "a", "t1", 1, 1, 1);
    cr_assert_neq(first, second);
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 2);
    cr_assert_eq(vs.v[0].state, RUN_SUPERSEDED);
    cr_assert_eq(curve_latest(vs.v[1].curve)->p.episode, 1);
}

Test(runs, events_after_the_end_begin_a_new_run)
{
    uint64_t first = record(TE_TRAINING_STARTED, "a", "t1", 1, 0, 0);
    record(TE_TRAINING_STOPPED, "a", "t1", 2, 0, 1);
    uint64_t second = record(TE_TRAINING_PROGRESS, "a", "t1", 3, 5, 2);
    cr_assert_neq(first, second);
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 2);
    cr_assert_eq(vs.v[0].state, RUN_STOPPED);
    cr_assert_eq(vs.v[1].state, RUN_RUNNING);
}

Test(runs, trainers_and_scenarios_are_separate_and_star_sees_all_oldest_first)
{
    uint64_t a1 = record(TE_TRAINING_STARTED, "a", "t1", 1, 0, 0);
    uint64_t b1 = record(TE_TRAINING_STARTED, "b", "t1", 1, 0, 1);
    uint64_t a2 = record(TE_TRAINING_STARTED, "a", "t2", 1, 0, 2);
    record(TE_TRAINING_ERROR, "a", "t1", 2, 0, 3);
    struct views all = visit("*");
    cr_assert_eq(all.n, 3);
    cr_assert_eq(all.v[0].id, a1);
    cr_assert_eq(all.v[1].id, b1);
    cr_assert_eq(all.v[2].id, a2);
    cr_assert_eq(all.v[0].state, RUN_FAILED);
    struct views a = visit("a");
    cr_assert_eq(a.n, 2);
    cr_assert_eq(a.v[0].id, a1);
    cr_assert_eq(a.v[1].id, a2);
    cr_assert_eq(visit("nope").n, 0);
}

Test(runs, keeps_the_most_recent_finished_runs_per_scenario)
{
    reopen(2, 3600 * SEC, 1 << 30);
    uint64_t ids[4];
    for (uint64_t i = 0; i < 4; i++) {
        ids[i] = record(TE_TRAINING_STARTED, "a", "t1", 1, 0, (int64_t)i * 10);
        record(TE_TRAINING_COMPLETED, "a", "t1", 2, 0, (int64_t)i * 10 + 1);
    }
    record(TE_TRAINING_STARTED, "b", "t1", 1, 0, 100);
    record(TE_TRAINING_COMPLETED, "b", "t1", 2, 0, 101);
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 2);
    cr_assert_eq(vs.v[0].id, ids[2]);
    cr_assert_eq(vs.v[1].id, ids[3]);
    cr_assert_eq(visit("b").n, 1, "other scenarios keep their own");
    cr_assert_eq(stats().n_evicted[RUN_EVICT_COUNT], 2);
}

Test(runs, zero_history_runs_keeps_only_running_runs)
{
    reopen(0, 3600 * SEC, 1 << 30);
    record(TE_TRAINING_STARTED, "a", "t1", 1, 0, 0);
    record(TE_TRAINING_COMPLETED, "a", "t1", 2, 0, 1);
    record(TE_TRAINING_STARTED, "a", "t2", 1, 0, 2);
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 1);
    cr_assert_eq(vs.v[0].state, RUN_RUNNING);
}

Test(runs, ttl_drops_finished_runs_only)
{
    reopen(10, 60 * SEC, 1 << 30);
    record(TE_TRAINING_STARTED, "a", "old", 1, 0, 0);
    record(TE_TRAINING_COMPLETED, "a", "old", 2, 0, 1 * SEC);
    record(TE_TRAINING_STARTED, "a", "new", 1, 0, 2 * SEC);
    record(TE_TRAINING_COMPLETED, "a", "new", 2, 0, 50 * SEC);
    record(TE_TRAINING_STARTED, "a", "live", 1, 0, 0);
    runs_expire(store, 61 * SEC);
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 2);
    cr_assert_str_eq(vs.v[0].trainer, "new");
    cr_assert_str_eq(vs.v[1].trainer, "live");
    runs_expire(store, 1000 * SEC);
    vs = visit("a");
    cr_assert_eq(vs.n, 1);
    cr_assert_str_eq(vs.v[0].trainer, "live");
    cr_assert_eq(stats().n_evicted[RUN_EVICT_TTL], 2);
}

/* A running run with 20 progress events (fewer than a curve's bound, so the
 * store only grows), then three finished runs. Returns the store's bytes
 * just before the last event. */
static size_t fill_for_byte_cap(void)
{
    record(TE_TRAINING_STARTED, "a", "live", 1, 0, 0);
    for (int64_t e = 1; e <= 20; e++)
        record(TE_TRAINING_PROGRESS, "a", "live", (uint64_t)e + 1, e, e);
    size_t before_last = 0;
    for (uint64_t i = 0; i < 3; i++) {
        char t[8];
        snprintf(t, sizeof t, "f%llu", (unsigned long long)i);
        record(TE_TRAINING_STARTED, "a", t, 1, 0, 500 + (int64_t)i);
        before_last = stats().bytes;
        record(TE_TRAINING_COMPLETED, "a", t, 2, 0, 510 + (int64_t)i);
    }
    return before_last;
}

Test(runs, byte_cap_evicts_oldest_finished_then_thins_running_curves)
{
    reopen(100, 3600 * SEC, 1 << 30);
    size_t before_last = fill_for_byte_cap();
    /* a cap the last event passes: one finished run goes, the oldest */
    reopen(100, 3600 * SEC, before_last + 100);
    fill_for_byte_cap();
    struct views vs = visit("a");
    cr_assert_eq(vs.n, 3);
    cr_assert_str_eq(vs.v[0].trainer, "live");
    cr_assert_str_eq(vs.v[1].trainer, "f1", "the oldest finished run went first");
    cr_assert_eq(stats().n_evicted[RUN_EVICT_BYTES], 1);
    cr_assert_eq(stats().n_thinned, 0);
    cr_assert_leq(stats().bytes, limits.max_bytes);
    /* a cap below one running run: every finished run goes, then the curve thins */
    reopen(100, 3600 * SEC, 12000);
    record(TE_TRAINING_STARTED, "a", "f", 1, 0, 0);
    record(TE_TRAINING_COMPLETED, "a", "f", 2, 0, 1);
    record(TE_TRAINING_STARTED, "a", "live", 1, 0, 2);
    for (int64_t e = 1; e <= 400; e++)
        record(TE_TRAINING_PROGRESS, "a", "live", (uint64_t)e + 1, e, 2 + e);
    vs = visit("a");
    cr_assert_eq(vs.n, 1);
    cr_assert_not_null(vs.v[0].started, "a running run keeps its lifecycle");
    cr_assert_gt(stats().n_thinned, 0);
    cr_assert_lt(curve_n_points(vs.v[0].curve), 50);
    cr_assert_eq(curve_latest(vs.v[0].curve)->p.episode, 400, "and its exact latest");
}

Test(runs, the_store_holds_references_and_releases_them)
{
    struct te_event ev = event(TE_TRAINING_STARTED, "a", "t1", 1);
    struct packet *pkt = codec_event_packet(&ev);
    runs_record(store, &ev, pkt, 0);
    cr_assert_eq(pkt->refs, 2);
    runs_destroy(&store);
    cr_assert_eq(pkt->refs, 1);
    packet_unref(&pkt);
}

Test(runs, state_names)
{
    cr_assert_str_eq(run_state_name(RUN_RUNNING), "running");
    cr_assert_str_eq(run_state_name(RUN_SUPERSEDED), "superseded");
    cr_assert_str_eq(run_state_name(RUN_STATE_COUNT), "unknown");
}

/* ------------------------------------------------------------ another backend */

struct fake {
    uint64_t n_recorded;
    bool is_destroyed;
};

static uint64_t fake_record(void *impl, const struct te_event *ev, struct packet *pkt,
                            int64_t now_us)
{
    (void)ev, (void)pkt, (void)now_us;
    return ++((struct fake *)impl)->n_recorded;
}

static void fake_each(void *impl, const char *scenario, runs_visit_fn *fn, void *arg)
{
    (void)impl, (void)scenario, (void)fn, (void)arg;
}

static void fake_expire(void *impl, int64_t now_us)
{
    (void)impl, (void)now_us;
}

static void fake_stats(const void *impl, struct runs_stats *out)
{
    memset(out, 0, sizeof *out);
    out->bytes = ((const struct fake *)impl)->n_recorded;
}

static void fake_destroy(void *impl)
{
    ((struct fake *)impl)->is_destroyed = true;
}

Test(runs, callers_reach_any_backend_through_the_ops)
{
    static const struct runs_ops ops = {fake_record, fake_each, fake_expire, fake_stats,
                                        fake_destroy};
    struct fake f = {0};
    struct runs *r = runs_new(&ops, &f);
    struct te_event ev = event(TE_TRAINING_STARTED, "a", "t1", 1);
    cr_assert_eq(runs_record(r, &ev, NULL, 0), 1);
    cr_assert_eq(runs_record(r, &ev, NULL, 0), 2);
    struct runs_stats s;
    runs_stats(r, &s);
    cr_assert_eq(s.bytes, 2);
    runs_destroy(&r);
    cr_assert_null(r);
    cr_assert(f.is_destroyed);
}

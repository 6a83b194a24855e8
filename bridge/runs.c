#include "runs.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "xalloc.h"

#define KEY_CAP (2 * TE_MAX_NAME_LEN + 2)

/* An intrusive doubly-linked list node; a list is a sentinel node. */
struct link {
    struct link *prev, *next;
};

struct scenario;

struct run {
    struct run_view v; /* what readers see; points into this struct */
    char scenario[TE_MAX_NAME_LEN + 1];
    char trainer[TE_MAX_NAME_LEN + 1];
    struct codec_event started, terminal;
    struct packet *summary;
    uint64_t last_seq;
    size_t bytes; /* this run's share of the store's bytes */
    struct scenario *sc;
    struct link all;      /* store->all, creation order */
    struct link in_sc;    /* sc->runs, creation order */
    struct link finished; /* store->finished, end order; unlinked while running */
};

struct scenario {
    struct link runs;
    size_t n_runs;
    size_t n_finished;
};

struct mem {
    struct runs_limits lim;
    zhashx_t *current;   /* "scenario/trainer" -> its newest struct run */
    zhashx_t *scenarios; /* name -> struct scenario, owned */
    struct link all, finished;
    uint64_t next_id;
    struct runs_stats stats;
};

struct runs {
    const struct runs_ops *ops;
    void *impl;
};

#define CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* ------------------------------------------------------------ lists */

static void list_init(struct link *l)
{
    l->prev = l->next = l;
}

static bool list_empty(const struct link *l)
{
    return l->next == l;
}

static void list_append(struct link *l, struct link *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}

/* The analyzer does not follow these lists' invariant (run_free unlinks a
 * run from every list before freeing it) and reports a use after free here
 * and in oldest_finished_of; fuzz_runs under ASan checks the real thing. */
static void list_unlink(struct link *n)
{
    if (!n->next) // NOLINT(clang-analyzer-unix.Malloc): list invariant, see above
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

/* ------------------------------------------------------------ accounting */

static size_t run_bytes(const struct run *run)
{
    return sizeof *run + codec_event_bytes(&run->started) + codec_event_bytes(&run->terminal) +
           curve_bytes(run->v.curve);
}

static void account(struct mem *m, struct run *run)
{
    m->stats.bytes -= run->bytes;
    run->bytes = run_bytes(run);
    m->stats.bytes += run->bytes;
}

static void make_key(char key[KEY_CAP], const char *scenario, const char *trainer)
{
    snprintf(key, KEY_CAP, "%s/%s", scenario, trainer); /* '/' is in neither charset */
}

/* ------------------------------------------------------------ runs */

static struct scenario *scenario_of(struct mem *m, const char *name)
{
    struct scenario *sc = zhashx_lookup(m->scenarios, name);
    if (!sc) {
        sc = xcalloc(1, sizeof *sc);
        list_init(&sc->runs);
        zhashx_insert(m->scenarios, name, sc);
    }
    return sc;
}

static struct run *run_new(struct mem *m, const struct te_event *ev, int64_t now_us)
{
    struct run *run = xcalloc(1, sizeof *run);
    snprintf(run->scenario, sizeof run->scenario, "%s", ev->scenario);
    snprintf(run->trainer, sizeof run->trainer, "%s", ev->trainer);
    run->v = (struct run_view){.id = ++m->next_id,
                               .scenario = run->scenario,
                               .trainer = run->trainer,
                               .state = RUN_RUNNING,
                               .curve = curve_new(m->lim.max_points),
                               .summary = &run->summary,
                               .started_us = now_us};
    run->sc = scenario_of(m, run->scenario);
    list_append(&m->all, &run->all);
    list_append(&run->sc->runs, &run->in_sc);
    run->sc->n_runs++;
    m->stats.n_runs[RUN_RUNNING]++;
    char key[KEY_CAP];
    make_key(key, run->scenario, run->trainer);
    zhashx_update(m->current, key, run);
    account(m, run);
    return run;
}

static void run_free(struct mem *m, struct run *run)
{
    char key[KEY_CAP];
    make_key(key, run->scenario, run->trainer);
    if (zhashx_lookup(m->current, key) == run)
        zhashx_delete(m->current, key);
    list_unlink(&run->all);
    list_unlink(&run->in_sc);
    list_unlink(&run->finished);
    m->stats.n_runs[run->v.state]--;
    m->stats.bytes -= run->bytes;
    if (run->v.state != RUN_RUNNING)
        run->sc->n_finished--;
    if (--run->sc->n_runs == 0)
        zhashx_delete(m->scenarios, run->scenario);
    codec_event_fini(&run->started);
    codec_event_fini(&run->terminal);
    packet_unref(&run->summary);
    curve_destroy(&run->v.curve);
    free(run);
}

static void evict(struct mem *m, struct run *run, enum run_eviction why)
{
    m->stats.n_evicted[why]++;
    run_free(m, run);
}

/* The scenario's finished run that ended first (ties: created first). */
static struct run *oldest_finished_of(struct scenario *sc)
{
    struct run *oldest = NULL;
    for (struct link *l = sc->runs.next; l != &sc->runs; l = l->next) {
        struct run *run = CONTAINER(l, struct run, in_sc);
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): list invariant, see list_unlink
        if (run->v.state != RUN_RUNNING && (!oldest || run->v.ended_us < oldest->v.ended_us))
            oldest = run;
    }
    return oldest;
}

static void finish(struct mem *m, struct run *run, enum run_state state, int64_t now_us)
{
    m->stats.n_runs[run->v.state]--;
    m->stats.n_runs[state]++;
    run->v.state = state;
    run->v.ended_us = now_us;
    list_append(&m->finished, &run->finished);
    struct scenario *sc = run->sc;
    sc->n_finished++;
    while (sc->n_finished > m->lim.max_finished_per_scenario) {
        bool is_last = sc->n_runs <= 1;                    /* evicting it frees sc */
        evict(m, oldest_finished_of(sc), RUN_EVICT_COUNT); /* may be run itself */
        if (is_last)
            return;
    }
}

/* The running run with the largest curve, or NULL. */
static struct run *largest_running(struct mem *m)
{
    struct run *best = NULL;
    for (struct link *l = m->all.next; l != &m->all; l = l->next) {
        struct run *run = CONTAINER(l, struct run, all);
        if (run->v.state == RUN_RUNNING &&
            (!best || curve_bytes(run->v.curve) > curve_bytes(best->v.curve)))
            best = run;
    }
    return best;
}

/* The byte cap: oldest finished runs first, then thinner running curves. */
static void enforce_bytes(struct mem *m)
{
    while (m->stats.bytes > m->lim.max_bytes) {
        if (!list_empty(&m->finished)) {
            evict(m, CONTAINER(m->finished.next, struct run, finished), RUN_EVICT_BYTES);
            continue;
        }
        struct run *run = largest_running(m);
        if (!run || curve_thin(run->v.curve) == 0)
            return; /* only lifecycle events are left: they stay */
        m->stats.n_thinned++;
        packet_unref(&run->summary);
        account(m, run);
    }
}

/* The run ev belongs to, after closing one that ev supersedes. */
static struct run *run_for(struct mem *m, const struct te_event *ev, int64_t now_us)
{
    char key[KEY_CAP];
    make_key(key, ev->scenario, ev->trainer);
    struct run *run = zhashx_lookup(m->current, key);
    if (run && run->v.state == RUN_RUNNING &&
        (ev->type == TE_TRAINING_STARTED || (ev->seq == 1 && run->last_seq > 0))) {
        finish(m, run, RUN_SUPERSEDED, now_us);
        run = NULL;
    } else if (run && run->v.state != RUN_RUNNING) {
        run = NULL; /* a finished run takes no more events */
    }
    return run ? run : run_new(m, ev, now_us);
}

static enum run_state terminal_state(enum te_event_type type)
{
    switch (type) {
    case TE_TRAINING_COMPLETED:
        return RUN_COMPLETED;
    case TE_TRAINING_STOPPED:
        return RUN_STOPPED;
    case TE_TRAINING_ERROR:
        return RUN_FAILED;
    default:
        return RUN_RUNNING;
    }
}

/* ------------------------------------------------------------ the in-memory backend */

static uint64_t mem_record(void *impl, const struct te_event *ev, struct packet *pkt,
                           int64_t now_us)
{
    struct mem *m = impl;
    struct run *run = run_for(m, ev, now_us);
    uint64_t id = run->v.id;
    run->v.n_events++;
    run->last_seq = ev->seq;
    packet_unref(&run->summary);
    if (ev->type == TE_TRAINING_STARTED) {
        codec_event_fini(&run->started);
        codec_event_init(&run->started, pkt);
        run->v.started = &run->started;
    } else if (ev->type == TE_TRAINING_PROGRESS) {
        curve_add(run->v.curve, &ev->data.progress, pkt);
        run->v.n_progress++;
    } else {
        codec_event_fini(&run->terminal);
        codec_event_init(&run->terminal, pkt);
        run->v.terminal = &run->terminal;
    }
    account(m, run);
    enum run_state end = terminal_state(ev->type);
    if (end != RUN_RUNNING)
        finish(m, run, end, now_us); /* may evict run (history-runs 0) */
    enforce_bytes(m);
    return id;
}

static void mem_each(void *impl, const char *scenario, runs_visit_fn *fn, void *arg)
{
    struct mem *m = impl;
    if (strcmp(scenario, "*") == 0) {
        for (struct link *l = m->all.next; l != &m->all; l = l->next)
            fn(&CONTAINER(l, struct run, all)->v, arg);
        return;
    }
    struct scenario *sc = zhashx_lookup(m->scenarios, scenario);
    if (!sc)
        return;
    for (struct link *l = sc->runs.next; l != &sc->runs; l = l->next)
        fn(&CONTAINER(l, struct run, in_sc)->v, arg);
}

static void mem_expire(void *impl, int64_t now_us)
{
    struct mem *m = impl;
    struct link *next;
    for (struct link *l = m->finished.next; l != &m->finished; l = next) {
        next = l->next; /* evicting a run unlinks only its own nodes */
        struct run *run = CONTAINER(l, struct run, finished);
        if (now_us - run->v.ended_us < m->lim.ttl_us)
            return;
        evict(m, run, RUN_EVICT_TTL);
    }
}

static void mem_stats(const void *impl, struct runs_stats *out)
{
    const struct mem *m = impl;
    *out = m->stats;
}

static void mem_destroy(void *impl)
{
    struct mem *m = impl;
    struct link *next;
    for (struct link *l = m->all.next; l != &m->all; l = next) {
        next = l->next;
        run_free(m, CONTAINER(l, struct run, all));
    }
    zhashx_destroy(&m->current);
    zhashx_destroy(&m->scenarios);
    free(m);
}

static void free_scenario(void **item)
{
    free(*item);
    *item = NULL;
}

static const struct runs_ops mem_ops = {.record = mem_record,
                                        .each = mem_each,
                                        .expire = mem_expire,
                                        .stats = mem_stats,
                                        .destroy = mem_destroy};

/* ------------------------------------------------------------ public */

struct runs *runs_new_memory(const struct runs_limits *limits)
{
    struct mem *m = xcalloc(1, sizeof *m);
    m->lim = *limits;
    m->current = zhashx_new();
    m->scenarios = zhashx_new();
    zhashx_set_destructor(m->scenarios, free_scenario);
    list_init(&m->all);
    list_init(&m->finished);
    return runs_new(&mem_ops, m);
}

struct runs *runs_new(const struct runs_ops *ops, void *impl)
{
    struct runs *r = xcalloc(1, sizeof *r);
    r->ops = ops;
    r->impl = impl;
    return r;
}

void runs_destroy(struct runs **runs_p)
{
    if (!runs_p || !*runs_p)
        return;
    (*runs_p)->ops->destroy((*runs_p)->impl);
    free(*runs_p);
    *runs_p = NULL;
}

uint64_t runs_record(struct runs *r, const struct te_event *ev, struct packet *pkt, int64_t now_us)
{
    return r->ops->record(r->impl, ev, pkt, now_us);
}

void runs_each(struct runs *r, const char *scenario, runs_visit_fn *fn, void *arg)
{
    r->ops->each(r->impl, scenario, fn, arg);
}

void runs_expire(struct runs *r, int64_t now_us)
{
    r->ops->expire(r->impl, now_us);
}

void runs_stats(const struct runs *r, struct runs_stats *out)
{
    r->ops->stats(r->impl, out);
}

const char *run_state_name(enum run_state state)
{
    static const char *const names[RUN_STATE_COUNT] = {
        [RUN_RUNNING] = "running", [RUN_COMPLETED] = "completed",   [RUN_STOPPED] = "stopped",
        [RUN_FAILED] = "failed",   [RUN_SUPERSEDED] = "superseded",
    };
    return state < RUN_STATE_COUNT ? names[state] : "unknown";
}

/* runs: the bridge's memory of training runs, and the only per-run state.
 *
 * A run is (scenario, trainer) from its training_started (or the first event
 * seen, for a bridge that joined late) to its terminal event
 * (training_completed, training_stopped or training_error). A new
 * training_started for the same pair, or the trainer's seq going back to 1,
 * begins a new run; one that had not ended is closed as superseded. Per run
 * the store keeps the started event, a bounded curve of real progress events
 * (curve.c; its last point is the exact latest progress), the terminal
 * event and counts: references to the shared packets clients got.
 *
 * Finished runs are kept, per scenario the most recent max_finished_per_
 * scenario, each for at most ttl_us after it ended; all history together is
 * bounded by max_bytes: past it the oldest finished runs go first, then the
 * curves of running runs are thinned (curve_thin), never the started or
 * terminal event of a running run.
 *
 * The store sits behind struct runs_ops so that a durable or shared backend
 * (a file, Redis) can replace the in-memory one (runs_new_memory) without
 * touching its callers. Loop thread only. */
#ifndef TB_RUNS_H
#define TB_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "curve.h"
#include "trainevents.h"

enum run_state {
    RUN_RUNNING,
    RUN_COMPLETED,  /* training_completed */
    RUN_STOPPED,    /* training_stopped */
    RUN_FAILED,     /* training_error */
    RUN_SUPERSEDED, /* a new run of the same (scenario, trainer) began first */
    RUN_STATE_COUNT
};

enum run_eviction {
    RUN_EVICT_COUNT, /* more than max_finished_per_scenario finished runs */
    RUN_EVICT_TTL,   /* ended more than ttl_us ago */
    RUN_EVICT_BYTES, /* history passed max_bytes */
    RUN_EVICTION_COUNT
};

struct runs_limits {
    size_t max_points;                /* per curve (--history-points) */
    size_t max_finished_per_scenario; /* --history-runs; 0 keeps none */
    int64_t ttl_us;                   /* --history-ttl */
    size_t max_bytes;                 /* --history-bytes */
};

/* One run as a reader sees it. Borrowed: valid until the store changes. */
struct run_view {
    uint64_t id; /* unique in this store, increasing with creation */
    const char *scenario;
    const char *trainer;
    enum run_state state;
    struct codec_event *started;  /* NULL: not seen (a late-joined bridge) */
    struct curve *curve;          /* progress; curve_latest is the exact latest */
    struct codec_event *terminal; /* NULL while running or superseded */
    struct packet **summary;      /* a cache slot for one encoding of the whole run
                                     (training_history); the store empties it on change */
    uint64_t n_events;
    uint64_t n_progress;
    int64_t started_us; /* when the bridge saw its first event */
    int64_t ended_us;   /* when it finished, 0 while running */
};

struct runs_stats {
    size_t n_runs[RUN_STATE_COUNT];
    size_t bytes;
    uint64_t n_evicted[RUN_EVICTION_COUNT];
    uint64_t n_thinned; /* curves thinned for the byte cap */
};

typedef void runs_visit_fn(const struct run_view *run, void *arg);

/* A backend. record takes the event's numbers and a new reference to pkt
 * (its live packet) and returns the run's id; each visits the runs of one
 * scenario ("*": every scenario), oldest first; expire drops what aged out. */
struct runs_ops {
    uint64_t (*record)(void *impl, const struct te_event *ev, struct packet *pkt, int64_t now_us);
    void (*each)(void *impl, const char *scenario, runs_visit_fn *fn, void *arg);
    void (*expire)(void *impl, int64_t now_us);
    void (*stats)(const void *impl, struct runs_stats *out);
    void (*destroy)(void *impl);
};

struct runs;

/* The in-memory store. Caller frees with runs_destroy. */
struct runs *runs_new_memory(const struct runs_limits *limits);
/* Any backend: takes impl, which ops->destroy frees. */
struct runs *runs_new(const struct runs_ops *ops, void *impl);
void runs_destroy(struct runs **runs_p); /* NULL-safe; sets *runs_p = NULL */

/* Records a validated event (pkt: its live packet, borrowed; the store
 * keeps references). Returns the id of the run it belongs to. */
uint64_t runs_record(struct runs *r, const struct te_event *ev, struct packet *pkt, int64_t now_us);

/* Calls fn for each run of scenario ("*": all), oldest first. fn must not
 * record or expire. */
void runs_each(struct runs *r, const char *scenario, runs_visit_fn *fn, void *arg);

/* Drops finished runs older than the TTL (call periodically). */
void runs_expire(struct runs *r, int64_t now_us);

void runs_stats(const struct runs *r, struct runs_stats *out);

/* "running", "completed", "stopped", "failed", "superseded". */
const char *run_state_name(enum run_state state);

#endif

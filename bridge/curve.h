/* curve: one run's bounded learning curve. Owns at most max_points stored
 * training_progress events (each a struct codec_event: references to the
 * shared packets clients got, plus its numbers) chosen so the curve's shape
 * survives any run length:
 *
 * - The episode axis is cut into buckets of width w (first 1). A bucket
 *   keeps its last event and the events with its lowest and highest
 *   avg_reward (ties: the earlier event), so spikes survive.
 * - When more than max_points distinct events would be stored, w doubles:
 *   bucket pairs [2i, 2i+1] merge (last = the later's last; min/max = the
 *   more extreme, the earlier on ties); repeated until the bound holds.
 * - The first progress event is always kept, and the exact latest (it is
 *   the last of the last bucket).
 * - An episode at or below the latest (a job resumed from a checkpoint)
 *   first drops every stored event at or after it, then is added.
 *
 * Cost: O(1) amortised per event (a merge halves the buckets and happens
 * only after as many new buckets have filled again). Deterministic: the
 * points depend only on the sequence of (episode, avg_reward) added.
 * Loop thread only. */
#ifndef TB_CURVE_H
#define TB_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "trainevents.h"

#define CURVE_MIN_POINTS 8

struct curve_point {
    struct codec_event ev; /* the event as clients got it, and its replay shape */
    struct te_progress p;  /* its numbers (episode, avg_reward, ...) */
    unsigned n_roles;      /* first / a bucket's last, min, max: freed at 0 */
};

struct curve;

typedef void curve_visit_fn(struct curve_point *pt, void *arg);

/* max_points below CURVE_MIN_POINTS counts as CURVE_MIN_POINTS. Caller
 * frees with curve_destroy. */
struct curve *curve_new(size_t max_points);
void curve_destroy(struct curve **c_p); /* NULL-safe; sets *c_p = NULL */

/* Adds a progress event: p's numbers and a new reference to pkt (its live
 * packet). */
void curve_add(struct curve *c, const struct te_progress *p, struct packet *pkt);

/* Calls fn for every stored point in increasing episode order. fn must not
 * change the curve. */
void curve_each(struct curve *c, curve_visit_fn *fn, void *arg);

/* The latest point added (borrowed), or NULL if none. */
struct curve_point *curve_latest(const struct curve *c);

size_t curve_n_points(const struct curve *c);
int64_t curve_bucket_width(const struct curve *c);
/* Bytes held: points, their packets (every shape, codec_event_bytes), buckets. */
size_t curve_bytes(const struct curve *c);

/* Halves the curve's bound (not below CURVE_MIN_POINTS) and merges buckets
 * until it holds: the history byte cap's last resort for running runs.
 * Returns the bytes freed. */
size_t curve_thin(struct curve *c);

#endif

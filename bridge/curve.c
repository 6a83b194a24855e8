#include "curve.h"

#include <string.h>

#include "xalloc.h"

#define MAX_WIDTH (INT64_C(1) << 62)
#define BUCKET_MIN_CAP 16

struct bucket {
    int64_t index; /* floor(episode / width) */
    struct curve_point *last, *min, *max;
};

struct curve {
    size_t max_points;
    int64_t width;
    struct curve_point *first;
    struct bucket *buckets; /* increasing index */
    size_t n_buckets, cap_buckets;
    size_t n_points; /* distinct live points */
    size_t point_bytes;
};

/* ------------------------------------------------------------ points */

static struct curve_point *point_new(struct curve *c, const struct te_progress *p,
                                     struct packet *pkt)
{
    struct curve_point *pt = xcalloc(1, sizeof *pt);
    codec_event_init(&pt->ev, pkt);
    pt->p = *p;
    c->n_points++;
    c->point_bytes += sizeof *pt + codec_event_bytes(&pt->ev);
    return pt;
}

static struct curve_point *hold(struct curve_point *pt)
{
    pt->n_roles++;
    return pt;
}

/* Drops one role of *pt_p; the point goes with its last role. */
static void release(struct curve *c, struct curve_point **pt_p)
{
    struct curve_point *pt = *pt_p;
    *pt_p = NULL;
    if (!pt || --pt->n_roles > 0)
        return;
    c->n_points--;
    c->point_bytes -= sizeof *pt + codec_event_bytes(&pt->ev);
    codec_event_fini(&pt->ev);
    free(pt);
}

/* Replaces the role *slot with pt (no-op if the same point). */
static void assign(struct curve *c, struct curve_point **slot, struct curve_point *pt)
{
    if (*slot == pt)
        return;
    release(c, slot);
    *slot = hold(pt);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t episode_of(const struct curve_point *pt)
{
    return pt->p.episode;
}

/* ------------------------------------------------------------ buckets */

static void release_bucket(struct curve *c, struct bucket *b)
{
    release(c, &b->last);
    release(c, &b->min);
    release(c, &b->max);
}

static void append_bucket(struct curve *c, int64_t index, struct curve_point *pt)
{
    if (c->n_buckets == c->cap_buckets || !c->buckets) {
        c->cap_buckets = c->cap_buckets ? c->cap_buckets * 2 : BUCKET_MIN_CAP;
        c->buckets = xrealloc(c->buckets, c->cap_buckets * sizeof *c->buckets);
    }
    struct bucket *b = &c->buckets[c->n_buckets++];
    b->index = index;
    b->last = hold(pt);
    b->min = hold(pt);
    b->max = hold(pt);
}

/* Folds the later bucket b into a (same index at the new width). */
static void merge_into(struct curve *c, struct bucket *a, struct bucket *b)
{
    assign(c, &a->last, b->last);
    if (b->min->p.avg_reward < a->min->p.avg_reward)
        assign(c, &a->min, b->min);
    if (b->max->p.avg_reward > a->max->p.avg_reward)
        assign(c, &a->max, b->max);
    release_bucket(c, b);
}

/* Doubles the width once, merging the buckets that now share an index. */
static void double_width(struct curve *c)
{
    c->width *= 2;
    size_t out = 0;
    for (size_t i = 0; i < c->n_buckets; i++) {
        struct bucket *b = &c->buckets[i];
        int64_t index = floor_div(b->index, 2);
        if (out > 0 && c->buckets[out - 1].index == index) {
            merge_into(c, &c->buckets[out - 1], b);
            continue;
        }
        c->buckets[out] = *b;
        c->buckets[out].index = index;
        out++;
    }
    c->n_buckets = out;
}

static void enforce_bound(struct curve *c)
{
    while (c->n_points > c->max_points && c->width < MAX_WIDTH)
        double_width(c);
}

/* ------------------------------------------------------------ going back */

/* The bucket's points before episode, re-summarised; false if none is left. */
static bool keep_before(struct curve *c, struct bucket *b, int64_t episode)
{
    struct curve_point *kept[3];
    size_t n = 0;
    struct curve_point *roles[3] = {b->min, b->max, b->last};
    for (size_t i = 0; i < 3; i++) {
        bool is_dup = false;
        for (size_t j = 0; j < n; j++)
            is_dup |= kept[j] == roles[i];
        if (!is_dup && episode_of(roles[i]) < episode)
            kept[n++] = roles[i];
    }
    struct bucket nb = {.index = b->index};
    for (size_t i = 0; i < n; i++) {
        struct curve_point *pt = kept[i];
        if (!nb.last || episode_of(pt) > episode_of(nb.last))
            nb.last = pt;
        if (!nb.min || pt->p.avg_reward < nb.min->p.avg_reward ||
            (pt->p.avg_reward == nb.min->p.avg_reward && episode_of(pt) < episode_of(nb.min)))
            nb.min = pt;
        if (!nb.max || pt->p.avg_reward > nb.max->p.avg_reward ||
            (pt->p.avg_reward == nb.max->p.avg_reward && episode_of(pt) < episode_of(nb.max)))
            nb.max = pt;
    }
    if (n > 0) { /* take the new roles before dropping the old ones */
        hold(nb.last);
        hold(nb.min);
        hold(nb.max);
    }
    release_bucket(c, b);
    *b = nb;
    return n > 0;
}

/* Drops every stored point at or after episode. */
static void truncate_from(struct curve *c, int64_t episode)
{
    while (c->n_buckets > 0) {
        struct bucket *b = &c->buckets[c->n_buckets - 1];
        if (episode_of(b->last) < episode)
            break;
        if (keep_before(c, b, episode))
            break;
        c->n_buckets--;
    }
    if (c->first && episode_of(c->first) >= episode)
        release(c, &c->first);
}

/* ------------------------------------------------------------ public */

struct curve *curve_new(size_t max_points)
{
    struct curve *c = xcalloc(1, sizeof *c);
    c->max_points = max_points < CURVE_MIN_POINTS ? CURVE_MIN_POINTS : max_points;
    c->width = 1;
    return c;
}

void curve_destroy(struct curve **c_p)
{
    if (!c_p || !*c_p)
        return;
    struct curve *c = *c_p;
    for (size_t i = 0; i < c->n_buckets; i++)
        release_bucket(c, &c->buckets[i]);
    release(c, &c->first);
    free(c->buckets);
    free(c);
    *c_p = NULL;
}

void curve_add(struct curve *c, const struct te_progress *p, struct packet *pkt)
{
    struct curve_point *latest = curve_latest(c);
    if (latest && p->episode <= episode_of(latest))
        truncate_from(c, p->episode);
    struct curve_point *pt = point_new(c, p, pkt);
    if (!c->first)
        c->first = hold(pt);
    int64_t index = floor_div(p->episode, c->width);
    struct bucket *b = c->n_buckets ? &c->buckets[c->n_buckets - 1] : NULL;
    if (!b || b->index != index) {
        append_bucket(c, index, pt);
    } else {
        assign(c, &b->last, pt);
        if (p->avg_reward < b->min->p.avg_reward)
            assign(c, &b->min, pt);
        if (p->avg_reward > b->max->p.avg_reward)
            assign(c, &b->max, pt);
    }
    enforce_bound(c);
}

/* Sorts up to three points by episode (insertion sort). */
static void sort_by_episode(struct curve_point **pts, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && episode_of(pts[j]) < episode_of(pts[j - 1]); j--) {
            struct curve_point *t = pts[j];
            pts[j] = pts[j - 1];
            pts[j - 1] = t;
        }
}

void curve_each(struct curve *c, curve_visit_fn *fn, void *arg)
{
    if (c->first)
        fn(c->first, arg);
    for (size_t i = 0; i < c->n_buckets; i++) {
        const struct bucket *b = &c->buckets[i];
        struct curve_point *pts[3];
        size_t n = 0;
        struct curve_point *roles[3] = {b->min, b->max, b->last};
        for (size_t r = 0; r < 3; r++) {
            bool is_dup = roles[r] == c->first;
            for (size_t j = 0; j < n; j++)
                is_dup |= pts[j] == roles[r];
            if (!is_dup)
                pts[n++] = roles[r];
        }
        sort_by_episode(pts, n);
        for (size_t j = 0; j < n; j++)
            fn(pts[j], arg);
    }
}

struct curve_point *curve_latest(const struct curve *c)
{
    return c->n_buckets ? c->buckets[c->n_buckets - 1].last : NULL;
}

size_t curve_n_points(const struct curve *c)
{
    return c->n_points;
}

int64_t curve_bucket_width(const struct curve *c)
{
    return c->width;
}

size_t curve_bytes(const struct curve *c)
{
    return sizeof *c + c->point_bytes + c->cap_buckets * sizeof(struct bucket);
}

size_t curve_thin(struct curve *c)
{
    size_t before = curve_bytes(c);
    size_t half = c->max_points / 2;
    c->max_points = half < CURVE_MIN_POINTS ? CURVE_MIN_POINTS : half;
    enforce_bound(c);
    size_t after = curve_bytes(c);
    return before > after ? before - after : 0;
}

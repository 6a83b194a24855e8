#include "bench_hist.h"

#include <string.h>

#define LINEAR_BITS 10 /* 2^10 == BENCH_HIST_LINEAR */
#define SUB_BITS 6     /* 2^6 == BENCH_HIST_SUB */

static int bucket_of(uint64_t v)
{
    if (v < BENCH_HIST_LINEAR)
        return (int)v;
    int e = 63 - __builtin_clzll(v); /* >= LINEAR_BITS */
    int sub = (int)((v >> (e - SUB_BITS)) & (BENCH_HIST_SUB - 1));
    return BENCH_HIST_LINEAR + (e - LINEAR_BITS) * BENCH_HIST_SUB + sub;
}

/* The middle of bucket i's value range. */
static int64_t bucket_middle(int i)
{
    if (i < BENCH_HIST_LINEAR)
        return i;
    int e = (i - BENCH_HIST_LINEAR) / BENCH_HIST_SUB + LINEAR_BITS;
    int sub = (i - BENCH_HIST_LINEAR) % BENCH_HIST_SUB;
    uint64_t width = 1ULL << (e - SUB_BITS);
    uint64_t low = ((uint64_t)BENCH_HIST_SUB + (uint64_t)sub) * width;
    return (int64_t)(low + width / 2);
}

void bench_hist_reset(struct bench_hist *h)
{
    memset(h, 0, sizeof *h);
}

void bench_hist_add(struct bench_hist *h, int64_t us)
{
    if (us < 0)
        us = 0;
    h->counts[bucket_of((uint64_t)us)]++;
    h->n++;
    h->sum_us += (double)us;
    if (us > h->max_us)
        h->max_us = us;
}

int64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
    if (h->n == 0)
        return 0;
    if (q >= 1.0)
        return h->max_us;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if ((double)rank < q * (double)h->n)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < BENCH_HIST_N; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t mid = bucket_middle(i);
            return mid > h->max_us ? h->max_us : mid;
        }
    }
    return h->max_us;
}

double bench_hist_mean(const struct bench_hist *h)
{
    return h->n ? h->sum_us / (double)h->n : 0.0;
}

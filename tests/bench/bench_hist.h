/* bench_hist: a latency histogram in microseconds for the benchmarks.
 *
 * Log-linear buckets: exact below 1024 µs, then 64 buckets per power of two
 * (at most 1.6 % relative error), so one fixed array covers 0 µs to hours
 * with no allocation. Values below 0 (clock skew) count as 0. Owns nothing
 * but its counts; one thread. */
#ifndef TB_BENCH_HIST_H
#define TB_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_LINEAR 1024
#define BENCH_HIST_SUB 64
#define BENCH_HIST_N (BENCH_HIST_LINEAR + BENCH_HIST_SUB * 54)

struct bench_hist {
    uint64_t counts[BENCH_HIST_N];
    uint64_t n;
    int64_t max_us;
    double sum_us;
};

/* Empties the histogram. */
void bench_hist_reset(struct bench_hist *h);

/* Counts one value. */
void bench_hist_add(struct bench_hist *h, int64_t us);

/* The value at quantile q (0..1): the middle of the bucket holding the
 * ceil(q * n)-th smallest value, or the exact maximum for q >= 1. 0 when empty. */
int64_t bench_hist_quantile(const struct bench_hist *h, double q);

/* Mean of the values counted (exact), 0 when empty. */
double bench_hist_mean(const struct bench_hist *h);

#endif

/* metrics: the run store's figures and the client lag snapshot in the
 * Prometheus text. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(const struct metrics *m)
{
    size_t len;
    char *text = metrics_render_new(m, &len);
    cr_assert_eq(strlen(text), len);
    return text;
}

Test(metrics, renders_runs_by_state_history_bytes_and_evictions)
{
    struct metrics m;
    memset(&m, 0, sizeof m);
    m.runs.n_runs[RUN_RUNNING] = 3;
    m.runs.n_runs[RUN_SUPERSEDED] = 1;
    m.runs.bytes = 12345;
    m.runs.n_evicted[RUN_EVICT_TTL] = 7;
    m.counters[METRIC_PROGRESS_CONFLATED] = 42;
    char *text = render(&m);
    cr_assert_not_null(strstr(text, "trainbridge_runs{state=\"running\"} 3\n"));
    cr_assert_not_null(strstr(text, "trainbridge_runs{state=\"superseded\"} 1\n"));
    cr_assert_not_null(strstr(text, "trainbridge_history_bytes 12345\n"));
    cr_assert_not_null(strstr(text, "trainbridge_history_evictions_total{reason=\"ttl\"} 7\n"));
    cr_assert_not_null(strstr(text, "trainbridge_progress_conflated_total 42\n"));
    free(text);
}

Test(metrics, lag_snapshot_is_a_cumulative_histogram_with_fixed_buckets)
{
    struct metrics m;
    memset(&m, 0, sizeof m);
    metrics_lag_reset(&m);
    metrics_lag_observe(&m, 10, -1);
    metrics_lag_observe(&m, 20000, 0.5);
    metrics_lag_observe(&m, 5000000, 30);
    char *text = render(&m);
    cr_assert_not_null(strstr(text, "trainbridge_client_queued_bytes_bucket{le=\"1024\"} 1\n"));
    cr_assert_not_null(strstr(text, "trainbridge_client_queued_bytes_bucket{le=\"65536\"} 2\n"));
    cr_assert_not_null(strstr(text, "trainbridge_client_queued_bytes_bucket{le=\"+Inf\"} 3\n"));
    cr_assert_not_null(strstr(text, "trainbridge_client_queued_bytes_count 3\n"));
    cr_assert_not_null(strstr(text, "trainbridge_client_lag_seconds_bucket{le=\"1\"} 1\n"));
    cr_assert_not_null(strstr(text, "trainbridge_client_lag_seconds_bucket{le=\"+Inf\"} 2\n"));
    cr_assert_not_null(strstr(text, "trainbridge_client_lag_max_seconds 30.000000\n"));
    free(text);
    metrics_lag_reset(&m);
    text = render(&m);
    cr_assert_not_null(strstr(text, "trainbridge_client_queued_bytes_count 0\n"));
    free(text);
}

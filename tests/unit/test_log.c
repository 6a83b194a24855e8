/* log: levels and the rate limit on lines a peer can trigger: at most
 * LOG_LIMIT_PER_SEC lines per call site per second, then one line counting
 * what was suppressed when the next window opens. Output is captured through
 * Criterion's stderr redirection. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define CAPTURE_MAX 8192

static void capture(void)
{
    cr_redirect_stderr();
    log_set_level(LOG_LEVEL_INFO);
}

/* Everything written to stderr so far. */
static void read_captured(char *buf, size_t cap)
{
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

TestSuite(log, .init = capture);

Test(log, lines_below_the_level_are_not_written)
{
    log_set_level(LOG_LEVEL_WARN);
    log_info("test", "hidden %d", 1);
    log_debug("test", "hidden %d", 2);
    log_warn("test", "shown %d", 3);
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_str_eq(out, "warn test: shown 3\n");
}

Test(log, a_limited_site_passes_its_quota_then_counts_the_rest)
{
    struct log_limit limit = {0};
    for (int i = 0; i < 12; i++)
        log_msg_limited(&limit, LOG_LEVEL_WARN, "test", "line %d", i);
    cr_assert_eq(limit.n_in_window, LOG_LIMIT_PER_SEC);
    cr_assert_eq(limit.n_suppressed, 12 - LOG_LIMIT_PER_SEC);
    limit.window_start_ms -= 1000; /* the next window opens */
    log_msg_limited(&limit, LOG_LEVEL_WARN, "test", "after");
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_eq(count_lines(out, "warn test: line "), LOG_LIMIT_PER_SEC);
    cr_assert_not_null(strstr(out, "warn test: line 4\n"));
    cr_assert_null(strstr(out, "line 5"), "a line past the quota was written");
    cr_assert_not_null(strstr(out, "warn test: suppressed 7 similar lines\nwarn test: after\n"),
                       "got: %s", out);
    cr_assert_eq(limit.n_suppressed, 0);
}

static void peer_triggered(int i)
{
    log_warn_limited("peer", "bad packet %d", i);
}

Test(log, each_call_site_of_the_macro_has_its_own_quota)
{
    for (int i = 0; i < 20; i++) {
        peer_triggered(i);
        log_info_limited("other", "other site %d", i);
    }
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_eq(count_lines(out, "warn peer: bad packet "), LOG_LIMIT_PER_SEC);
    cr_assert_eq(count_lines(out, "info other: other site "), LOG_LIMIT_PER_SEC);
}

Test(log, a_limited_site_below_the_level_costs_no_quota)
{
    log_set_level(LOG_LEVEL_ERROR);
    for (int i = 0; i < 20; i++)
        log_info_limited("quiet", "hidden %d", i);
    log_set_level(LOG_LEVEL_INFO);
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_str_eq(out, "");
}

Test(log, level_names_round_trip)
{
    const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        enum log_level level;
        cr_assert_eq(log_level_parse(names[i], &level), 0);
        cr_assert_str_eq(log_level_name(level), names[i]);
    }
    enum log_level level;
    cr_assert_lt(log_level_parse("verbose", &level), 0);
}

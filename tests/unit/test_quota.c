/* quota: connection bounds (total and per address) and the per-client
 * packet rate, with time passed in. */
#include <criterion/criterion.h>

#include "quota.h"

Test(quota, admits_up_to_the_per_address_bound)
{
    struct quota *l = quota_new(100, 2);
    cr_assert_eq(quota_admit(l, "10.0.0.1"), QUOTA_OK);
    cr_assert_eq(quota_admit(l, "10.0.0.1"), QUOTA_OK);
    cr_assert_eq(quota_admit(l, "10.0.0.1"), QUOTA_PER_ADDR);
    cr_assert_eq(quota_admit(l, "10.0.0.2"), QUOTA_OK);
    cr_assert_eq(quota_n_from(l, "10.0.0.1"), 2);
    cr_assert_eq(quota_n_total(l), 3);
    quota_release(l, "10.0.0.1");
    cr_assert_eq(quota_admit(l, "10.0.0.1"), QUOTA_OK);
    quota_destroy(&l);
    cr_assert_null(l);
    quota_destroy(&l);
}

Test(quota, admits_up_to_the_total_bound)
{
    struct quota *l = quota_new(2, 10);
    cr_assert_eq(quota_admit(l, "::1"), QUOTA_OK);
    cr_assert_eq(quota_admit(l, "127.0.0.1"), QUOTA_OK);
    cr_assert_eq(quota_admit(l, "127.0.0.2"), QUOTA_TOTAL);
    cr_assert_eq(quota_n_from(l, "127.0.0.2"), 0, "a refusal counts nothing");
    quota_release(l, "::1");
    cr_assert_eq(quota_n_total(l), 1);
    cr_assert_eq(quota_admit(l, "127.0.0.2"), QUOTA_OK);
    quota_destroy(&l);
}

Test(quota, release_of_an_unknown_address_changes_nothing)
{
    struct quota *l = quota_new(5, 5);
    cr_assert_eq(quota_admit(l, "a"), QUOTA_OK);
    quota_release(l, "b");
    quota_release(l, "a");
    quota_release(l, "a");
    cr_assert_eq(quota_n_total(l), 0);
    cr_assert_eq(quota_n_from(l, "a"), 0);
    quota_destroy(&l);
}

/* Sends n packets spread over second s (ms resolution). Returns true if any
 * of them tripped the limit. */
static bool send_in_second(struct quota_rate *r, int64_t s, uint32_t n, uint32_t max)
{
    bool tripped = false;
    for (uint32_t i = 0; i < n; i++)
        tripped = quota_rate_note(r, s * 1000 + (int64_t)(i * 999 / (n ? n : 1)), max) || tripped;
    return tripped;
}

Test(quota, rate_closes_once_flooding_has_lasted_five_seconds)
{
    struct quota_rate r = {0};
    for (int64_t s = 100; s < 105; s++)
        cr_assert_not(send_in_second(&r, s, 11, 10), "second %lld", (long long)s);
    cr_assert(send_in_second(&r, 105, 11, 10), "5 s after the first packet of the flood");
}

Test(quota, rate_a_flood_starting_late_in_a_second_still_needs_five_seconds)
{
    struct quota_rate r = {0};
    for (int i = 0; i < 11; i++) /* 11 packets in the last 100 ms of second 99 */
        cr_assert_not(quota_rate_note(&r, 99900 + i, 10));
    for (int64_t s = 100; s < 104; s++)
        cr_assert_not(send_in_second(&r, s, 11, 10), "second %lld", (long long)s);
    bool tripped_early = false;
    for (int i = 0; i < 11; i++)
        tripped_early = quota_rate_note(&r, 104000 + i, 10) || tripped_early;
    cr_assert_not(tripped_early, "4.1 s of flooding is not 5 s");
    cr_assert(quota_rate_note(&r, 104900, 10));
}

Test(quota, rate_at_the_limit_never_trips)
{
    struct quota_rate r = {0};
    for (int64_t s = 100; s < 120; s++)
        cr_assert_not(send_in_second(&r, s, 10, 10));
}

Test(quota, rate_a_calm_or_silent_second_resets_the_run)
{
    struct quota_rate r = {0};
    for (int64_t s = 100; s < 104; s++)
        cr_assert_not(send_in_second(&r, s, 50, 10));
    cr_assert_not(send_in_second(&r, 104, 3, 10)); /* calm */
    for (int64_t s = 105; s < 109; s++)
        cr_assert_not(send_in_second(&r, s, 50, 10));
    /* second 109 silent, then hot again: the run starts over */
    for (int64_t s = 110; s < 115; s++)
        cr_assert_not(send_in_second(&r, s, 50, 10));
    cr_assert(send_in_second(&r, 115, 50, 10));
}

Test(quota, rate_one_burst_is_not_a_flood)
{
    struct quota_rate r = {0};
    cr_assert_not(send_in_second(&r, 100, 100000, 10));
    cr_assert_not(send_in_second(&r, 101, 1, 10));
}

/* fanout: refcounted packets and bounded queues of references. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"

Test(fanout, packet_holds_a_copy_with_headroom_and_nul)
{
    struct packet *p = packet_from_text("42[\"x\"]", 7);
    cr_assert_eq(p->len, 7);
    cr_assert_eq(p->refs, 1);
    cr_assert_eq(memcmp(packet_data(p), "42[\"x\"]", 7), 0);
    cr_assert_eq(packet_data(p)[7], '\0');
    cr_assert_eq(packet_data(p) - p->buf, LWS_PRE);
    packet_unref(&p);
    cr_assert_null(p);
}

Test(fanout, unref_is_null_safe_and_clears_the_pointer)
{
    struct packet *p = NULL;
    packet_unref(&p);
    packet_unref(NULL);
    cr_assert_null(p);
    p = packet_from_text("x", 1);
    struct packet *q = packet_ref(p);
    cr_assert_eq(q, p);
    cr_assert_eq(p->refs, 2);
    packet_unref(&q);
    cr_assert_null(q, "unref clears the caller's pointer");
    cr_assert_eq(p->refs, 1, "the other reference still holds the packet");
    cr_assert_eq(packet_data(p)[0], 'x');
    packet_unref(&p); /* the last one frees it: ASan/LeakSanitizer would see a leak otherwise */
    cr_assert_null(p);
}

Test(fanout, queue_shares_one_packet_between_queues)
{
    struct fanout_queue a, b;
    fanout_queue_init(&a, 1000);
    fanout_queue_init(&b, 1000);
    struct packet *p = packet_from_text("hello", 5);
    cr_assert_eq(fanout_queue_push(&a, p), 0);
    cr_assert_eq(fanout_queue_push(&b, p), 0);
    cr_assert_eq(p->refs, 3);
    cr_assert_eq(fanout_queue_peek(&a), p);
    cr_assert_eq(fanout_queue_peek(&b), p);
    fanout_queue_pop(&a);
    cr_assert_eq(p->refs, 2);
    fanout_queue_fini(&b);
    cr_assert_eq(p->refs, 1);
    fanout_queue_fini(&a);
    packet_unref(&p);
}

Test(fanout, queue_keeps_order_across_growth_and_wrap)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 1 << 20);
    struct packet *pk[100];
    for (int i = 0; i < 100; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d", i);
        pk[i] = packet_from_text(text, (size_t)n);
    }
    /* interleave pushes and pops so the ring wraps before it grows */
    int next_pop = 0;
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(fanout_queue_push(&q, pk[i]), 0);
        if (i % 3 == 2) {
            cr_assert_eq(fanout_queue_peek(&q), pk[next_pop++]);
            fanout_queue_pop(&q);
        }
    }
    while (!fanout_queue_empty(&q)) {
        cr_assert_eq(fanout_queue_peek(&q), pk[next_pop++]);
        fanout_queue_pop(&q);
    }
    cr_assert_eq(next_pop, 100);
    cr_assert_eq(q.bytes, 0);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(pk[i]->refs, 1);
        packet_unref(&pk[i]);
    }
    fanout_queue_fini(&q);
}

Test(fanout, push_past_the_bound_fails_and_queues_nothing)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 10);
    struct packet *p = packet_from_text("123456", 6);
    cr_assert_eq(fanout_queue_push(&q, p), 0);
    cr_assert_eq(fanout_queue_push(&q, p), -ENOBUFS);
    cr_assert_eq(q.n, 1);
    cr_assert_eq(q.bytes, 6);
    cr_assert_eq(p->refs, 2);
    fanout_queue_fini(&q);
    packet_unref(&p);
}

Test(fanout, empty_queue_takes_one_oversize_packet)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 4);
    struct packet *p = packet_from_text("0123456789", 10);
    cr_assert_eq(fanout_queue_push(&q, p), 0);
    cr_assert_eq(fanout_queue_push(&q, p), -ENOBUFS);
    fanout_queue_pop(&q);
    cr_assert_eq(fanout_queue_push(&q, p), 0);
    fanout_queue_fini(&q);
    packet_unref(&p);
}

Test(fanout, drained_queue_gives_a_large_ring_back)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 1 << 20);
    struct packet *p = packet_from_text("x", 1);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(fanout_queue_push(&q, p), 0);
    cr_assert_geq(q.cap, 1000);
    while (!fanout_queue_empty(&q))
        fanout_queue_pop(&q);
    cr_assert_null(q.ring);
    cr_assert_eq(q.cap, 0);
    cr_assert_eq(fanout_queue_push(&q, p), 0); /* still usable */
    fanout_queue_fini(&q);
    packet_unref(&p);
}

/* ------------------------------------------------------------ conflation */

/* "P<run>:<n>" for progress, "L<run>:<n>" for a lifecycle event; each 10
 * bytes long so byte counts are easy to read. */
static struct packet *event_packet(bool is_progress, uint64_t run, unsigned n)
{
    char text[16];
    snprintf(text, sizeof text, "%c%03llu:%05u", is_progress ? 'P' : 'L', (unsigned long long)run,
             n % 100000);
    struct packet *p = packet_from_text(text, 10);
    p->is_progress = is_progress;
    p->run_id = run;
    return p;
}

static int push_event(struct fanout_queue *q, bool is_progress, uint64_t run, unsigned n)
{
    struct packet *p = event_packet(is_progress, run, n);
    int rc = fanout_queue_push(q, p);
    packet_unref(&p);
    return rc;
}

static const char *text_at(const struct fanout_queue *q, size_t i)
{
    return (const char *)packet_data(fanout_queue_at(q, i));
}

Test(fanout, below_the_threshold_every_progress_is_kept)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 1000);
    fanout_queue_set_conflate_after(&q, 50);
    for (unsigned i = 0; i < 5; i++)
        cr_assert_eq(push_event(&q, true, 1, i), FANOUT_QUEUED);
    cr_assert_eq(q.n, 5);
    fanout_queue_fini(&q);
}

Test(fanout, past_the_threshold_progress_replaces_its_runs_older_one_in_place)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 1000);
    fanout_queue_set_conflate_after(&q, 30);
    push_event(&q, false, 1, 0); /* L1 started */
    push_event(&q, true, 1, 1);  /* P1:1 */
    push_event(&q, true, 2, 1);  /* P2:1 */
    push_event(&q, false, 3, 0); /* L3: 40 bytes now */
    cr_assert_eq(push_event(&q, true, 1, 2), FANOUT_CONFLATED);
    cr_assert_eq(push_event(&q, true, 2, 2), FANOUT_CONFLATED);
    cr_assert_eq(q.n, 4);
    cr_assert_eq(q.bytes, 40);
    cr_assert_str_eq(text_at(&q, 0), "L001:00000");
    cr_assert_str_eq(text_at(&q, 1), "P001:00002");
    cr_assert_str_eq(text_at(&q, 2), "P002:00002");
    cr_assert_str_eq(text_at(&q, 3), "L003:00000");
    fanout_queue_fini(&q);
}

Test(fanout, conflation_never_moves_progress_past_its_own_lifecycle_event)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 1000);
    fanout_queue_set_conflate_after(&q, 10);
    push_event(&q, true, 1, 1);
    push_event(&q, false, 1, 2); /* e.g. training_error that is not the end */
    cr_assert_eq(push_event(&q, true, 1, 3), FANOUT_QUEUED);
    cr_assert_eq(push_event(&q, false, 1, 4), FANOUT_QUEUED, "lifecycle is always appended");
    cr_assert_eq(q.n, 4);
    cr_assert_str_eq(text_at(&q, 0), "P001:00001");
    cr_assert_str_eq(text_at(&q, 2), "P001:00003");
    fanout_queue_fini(&q);
}

Test(fanout, only_what_cannot_be_conflated_hits_the_bound)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 40);
    fanout_queue_set_conflate_after(&q, 20);
    for (unsigned i = 0; i < 4; i++)
        cr_assert_eq(push_event(&q, true, i + 1, 0), FANOUT_QUEUED);
    for (unsigned i = 0; i < 1000; i++)
        cr_assert_eq(push_event(&q, true, (i % 4) + 1, i), FANOUT_CONFLATED);
    cr_assert_eq(push_event(&q, false, 1, 0), -ENOBUFS);
    cr_assert_eq(push_event(&q, true, 9, 0), -ENOBUFS, "a new run's progress is not conflatable");
    fanout_queue_fini(&q);
}

Test(fanout, replay_is_outside_the_bound_and_never_conflated)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 20);
    fanout_queue_set_conflate_after(&q, 10);
    for (unsigned i = 0; i < 100; i++) {
        struct packet *p = event_packet(true, 1, i);
        p->is_replay = true;
        cr_assert_eq(fanout_queue_push(&q, p), FANOUT_QUEUED);
        packet_unref(&p);
    }
    cr_assert_eq(q.replay_bytes, 1000);
    cr_assert_eq(push_event(&q, true, 1, 100), FANOUT_QUEUED, "replay is no older progress");
    cr_assert_eq(push_event(&q, true, 1, 101), FANOUT_CONFLATED);
    cr_assert_eq(q.n, 101);
    while (!fanout_queue_empty(&q))
        fanout_queue_pop(&q);
    cr_assert_eq(q.bytes, 0);
    cr_assert_eq(q.replay_bytes, 0);
    fanout_queue_fini(&q);
}

/* Random pushes and pops: what comes out keeps every lifecycle event in
 * order, and each run's progress only moves forward and never past its
 * run's next lifecycle event. */
Test(fanout, random_conflation_keeps_lifecycle_and_order)
{
    uint64_t rng = 12345;
    struct fanout_queue q;
    fanout_queue_init(&q, 400);
    fanout_queue_set_conflate_after(&q, 100);
    unsigned next_n = 0, n_lifecycle_in = 0, n_lifecycle_out = 0;
    int last_out[8];
    memset(last_out, -1, sizeof last_out);
    for (int step = 0; step < 20000; step++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned r = (unsigned)(rng >> 33);
        if (r % 10 < 7) {
            bool is_progress = r % 97 != 0;
            int rc = push_event(&q, is_progress, 1 + (r >> 8) % 7, next_n);
            cr_assert_geq(rc, 0, "the bound is never reached by progress of known runs");
            n_lifecycle_in += !is_progress;
            next_n++;
        } else {
            struct packet *p = fanout_queue_peek(&q);
            if (!p)
                continue;
            unsigned run = (unsigned)(packet_data(p)[3] - '0');
            int n = atoi((const char *)packet_data(p) + 5);
            cr_assert_gt(n, last_out[run], "run %u went back", run);
            last_out[run] = n;
            n_lifecycle_out += !p->is_progress;
            fanout_queue_pop(&q);
        }
    }
    while (!fanout_queue_empty(&q)) {
        n_lifecycle_out += !fanout_queue_peek(&q)->is_progress;
        fanout_queue_pop(&q);
    }
    cr_assert_eq(n_lifecycle_out, n_lifecycle_in);
    fanout_queue_fini(&q);
}

Test(fanout, replay_has_its_own_larger_bound)
{
    struct fanout_queue q;
    fanout_queue_init(&q, 10);
    struct packet *p = event_packet(true, 1, 0);
    p->is_replay = true;
    for (int i = 0; i < FANOUT_REPLAY_FACTOR; i++)
        cr_assert_eq(fanout_queue_push(&q, p), FANOUT_QUEUED);
    cr_assert_eq(fanout_queue_push(&q, p), -ENOBUFS);
    cr_assert_eq(push_event(&q, false, 2, 0), FANOUT_QUEUED, "live traffic has its own bound");
    fanout_queue_pop(&q);
    cr_assert_eq(fanout_queue_push(&q, p), FANOUT_QUEUED);
    packet_unref(&p);
    fanout_queue_fini(&q);
}

/* fanout: refcounted packets and bounded queues of references. */
#include <criterion/criterion.h>
#include <errno.h>
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

#include "deadline.h"

#include <string.h>

/* Deadlines due within this much of the earliest are expired together, so
 * sessions that connected in one burst cost one wake-up, not one each. */
#define COALESCE_US (5 * LWS_US_PER_MS)

static struct deadline *head_of(const struct deadline_queue *q)
{
    lws_dll2_t *first = lws_dll2_get_head((lws_dll2_owner_t *)&q->entries);
    return first ? lws_container_of(first, struct deadline, link) : NULL;
}

static void on_wake(lws_sorted_usec_list_t *sul);

/* Sets the wake-up for the earliest entry, unless it is set already (a
 * wake-up set for an earlier time finds nothing due and re-arms). */
static void arm(struct deadline_queue *q)
{
    struct deadline *head = head_of(q);
    if (!head || q->armed_for)
        return;
    lws_usec_t now = lws_now_usecs();
    q->armed_for = head->due;
    lws_sul_schedule(q->ctx, 0, &q->sul, on_wake, head->due > now ? head->due - now : 1);
}

static void on_wake(lws_sorted_usec_list_t *sul)
{
    struct deadline_queue *q = lws_container_of(sul, struct deadline_queue, sul);
    q->armed_for = 0;
    lws_usec_t limit = lws_now_usecs() + COALESCE_US;
    struct deadline *d;
    /* entries started during this loop go to the tail, due later than limit */
    while ((d = head_of(q)) != NULL && d->due <= limit) {
        lws_dll2_remove(&d->link);
        q->fn(d, q);
    }
    arm(q);
}

void deadline_queue_init(struct deadline_queue *q, struct lws_context *ctx, lws_usec_t delay_us,
                         deadline_fn *fn)
{
    memset(q, 0, sizeof *q);
    q->ctx = ctx;
    q->delay_us = delay_us;
    q->fn = fn;
}

static int let_go(struct lws_dll2 *link, void *user)
{
    (void)user;
    lws_dll2_remove(link);
    return 0;
}

void deadline_queue_fini(struct deadline_queue *q)
{
    lws_sul_cancel(&q->sul);
    q->armed_for = 0;
    lws_dll2_foreach_safe(&q->entries, NULL, let_go);
}

void deadline_start(struct deadline_queue *q, struct deadline *d)
{
    lws_dll2_remove(&d->link);
    d->due = lws_now_usecs() + q->delay_us;
    lws_dll2_add_tail(&d->link, &q->entries);
    arm(q);
}

void deadline_cancel(struct deadline *d)
{
    lws_dll2_remove(&d->link);
}

bool deadline_is_pending(const struct deadline *d)
{
    return d->link.owner != NULL;
}

/* deadline: many timers that share one delay, at O(1) each.
 *
 * Every Engine.IO session has a next ping, then a pong timeout, and until
 * its Socket.IO CONNECT a connect timeout, each at now + a delay that is the
 * same for every session. Appending such deadlines to a queue keeps the
 * queue sorted by due time, so adding, cancelling and expiring one is O(1),
 * and one lws_sul per queue wakes the loop for the earliest. (lws's own
 * timer list is sorted by insertion, O(timers) per insert: with a timer per
 * session, each heartbeat cost O(sessions).)
 *
 * Owns the order of its entries, not the entries: a struct deadline is
 * embedded in its owner and must be cancelled before the owner is freed.
 * Loop thread only. */
#ifndef TB_DEADLINE_H
#define TB_DEADLINE_H

#include <libwebsockets.h>
#include <stdbool.h>

struct deadline_queue;

struct deadline {
    lws_dll2_t link; /* in its queue, ordered by due */
    lws_usec_t due;
};

/* Called for each deadline that came due, already removed from q; it may
 * add it (or others) to any queue again. */
typedef void deadline_fn(struct deadline *d, struct deadline_queue *q);

struct deadline_queue {
    struct lws_context *ctx;
    lws_usec_t delay_us;
    deadline_fn *fn;
    lws_dll2_owner_t entries;
    lws_sorted_usec_list_t sul;
    lws_usec_t armed_for; /* due time the sul is set for; 0 = not set */
};

void deadline_queue_init(struct deadline_queue *q, struct lws_context *ctx, lws_usec_t delay_us,
                         deadline_fn *fn);
/* Cancels the wake-up; entries still queued are let go (not called). */
void deadline_queue_fini(struct deadline_queue *q);

/* (Re)starts d: due at now + q's delay, after every deadline already in q.
 * Removes it from whatever queue it was in first. */
void deadline_start(struct deadline_queue *q, struct deadline *d);

/* Takes d out of its queue, if it is in one. */
void deadline_cancel(struct deadline *d);

bool deadline_is_pending(const struct deadline *d);

#endif

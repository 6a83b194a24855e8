/* deadline: timers that share one delay, kept in FIFO order: they expire in
 * the order they were started, a restart moves one to the tail, a cancelled
 * one never fires, several due together expire in one wake-up, and a queue
 * re-arms itself for the next. Runs on a real lws context (poll loop). */
#include <criterion/criterion.h>
#include <libwebsockets.h>
#include <string.h>

#include "deadline.h"

#define N_TIMERS 8
#define DEADLINE_US (5 * LWS_US_PER_SEC)

static struct lws_context *lws;
static struct deadline timers[N_TIMERS];
static int fired[64], n_fired;

static void on_due(struct deadline *d, struct deadline_queue *q)
{
    (void)q;
    if (n_fired < 64)
        fired[n_fired++] = (int)(d - timers);
}

static void setup(void)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    lws_set_log_level(LLL_ERR, NULL);
    lws = lws_create_context(&info);
    cr_assert_not_null(lws);
    memset(timers, 0, sizeof timers);
    n_fired = 0;
}

static void teardown(void)
{
    lws_context_destroy(lws);
}

/* The test waits for things the loop does by itself; a 2 ms ticker keeps
 * lws's poll loop turning (see test_eio.c). */
static lws_sorted_usec_list_t sul_tick;
static void on_tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(lws, 0, sul, on_tick, 2 * LWS_US_PER_MS);
}

static bool run_until_fired(int n)
{
    lws_sul_schedule(lws, 0, &sul_tick, on_tick, 2 * LWS_US_PER_MS);
    lws_usec_t deadline = lws_now_usecs() + DEADLINE_US;
    while (n_fired < n && lws_now_usecs() < deadline)
        lws_service(lws, 0);
    lws_sul_cancel(&sul_tick);
    return n_fired >= n;
}

TestSuite(deadline, .init = setup, .fini = teardown);

Test(deadline, expire_in_the_order_they_were_started)
{
    struct deadline_queue q;
    deadline_queue_init(&q, lws, 20 * LWS_US_PER_MS, on_due);
    int order[] = {3, 1, 4, 0, 2};
    for (int i = 0; i < 5; i++)
        deadline_start(&q, &timers[order[i]]);
    for (int i = 0; i < 5; i++)
        cr_assert(deadline_is_pending(&timers[order[i]]));
    cr_assert(run_until_fired(5));
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(fired[i], order[i], "position %d: %d, want %d", i, fired[i], order[i]);
        cr_assert_not(deadline_is_pending(&timers[order[i]]));
    }
    deadline_queue_fini(&q);
}

Test(deadline, a_restart_moves_it_behind_the_others)
{
    struct deadline_queue q;
    deadline_queue_init(&q, lws, 10 * LWS_US_PER_MS, on_due);
    deadline_start(&q, &timers[0]);
    deadline_start(&q, &timers[1]);
    deadline_start(&q, &timers[0]); /* e.g. a pong came: the next ping is later */
    cr_assert(run_until_fired(2));
    cr_assert_eq(fired[0], 1);
    cr_assert_eq(fired[1], 0);
    deadline_queue_fini(&q);
}

Test(deadline, a_cancelled_deadline_never_fires)
{
    struct deadline_queue q;
    deadline_queue_init(&q, lws, 10 * LWS_US_PER_MS, on_due);
    deadline_start(&q, &timers[0]);
    deadline_start(&q, &timers[1]);
    deadline_cancel(&timers[0]);
    deadline_cancel(&timers[0]); /* twice is harmless */
    cr_assert_not(deadline_is_pending(&timers[0]));
    cr_assert(run_until_fired(1));
    cr_assert_eq(fired[0], 1);
    deadline_start(&q, &timers[2]);
    cr_assert(run_until_fired(2), "the queue re-armed for a deadline started later");
    cr_assert_eq(fired[1], 2);
    cr_assert_eq(n_fired, 2);
    deadline_queue_fini(&q);
}

static struct deadline_queue *chain_q;
static void on_due_restart(struct deadline *d, struct deadline_queue *q)
{
    on_due(d, q);
    if (n_fired < 3)
        deadline_start(chain_q, d); /* a heartbeat: due again after the delay */
}

Test(deadline, a_deadline_restarted_from_its_callback_fires_again)
{
    struct deadline_queue q;
    chain_q = &q;
    deadline_queue_init(&q, lws, 5 * LWS_US_PER_MS, on_due_restart);
    deadline_start(&q, &timers[5]);
    cr_assert(run_until_fired(3));
    cr_assert_eq(fired[2], 5);
    cr_assert_not(deadline_is_pending(&timers[5]));
    deadline_queue_fini(&q);
}

Test(deadline, fini_lets_go_of_what_is_queued)
{
    struct deadline_queue q;
    deadline_queue_init(&q, lws, 60 * LWS_US_PER_SEC, on_due);
    deadline_start(&q, &timers[0]);
    deadline_start(&q, &timers[1]);
    deadline_queue_fini(&q);
    cr_assert_not(deadline_is_pending(&timers[0]));
    cr_assert_not(deadline_is_pending(&timers[1]));
    cr_assert_eq(n_fired, 0);
}
